use crate::EvalReport;

/// The classification report as scikit-learn prints it, followed by the confusion matrix
/// (counts, then row-normalised).
pub fn classification_report_text(r: &EvalReport) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{:>14} {:>9} {:>9} {:>9} {:>9}\n\n",
        "", "precision", "recall", "f1-score", "support"
    ));
    for (e, m) in r.rows() {
        s.push_str(&format!(
            "{:>14} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
            e.name(),
            m.precision,
            m.recall,
            m.f1,
            m.support
        ));
    }
    s.push('\n');
    s.push_str(&format!(
        "{:>14} {:>9} {:>9} {:>9.4} {:>9}\n",
        "accuracy", "", "", r.accuracy, r.n
    ));
    s.push_str(&format!(
        "{:>14} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
        "macro avg", r.macro_precision, r.macro_recall, r.macro_f1, r.n
    ));
    let rows = r.rows();
    let n = r.n.max(1) as f64;
    let wp: f64 = rows
        .iter()
        .map(|(_, m)| m.precision * m.support as f64)
        .sum::<f64>()
        / n;
    let wr: f64 = rows
        .iter()
        .map(|(_, m)| m.recall * m.support as f64)
        .sum::<f64>()
        / n;
    s.push_str(&format!(
        "{:>14} {:>9.4} {:>9.4} {:>9.4} {:>9}\n",
        "weighted avg", wp, wr, r.weighted_f1, r.n
    ));
    s.push_str("\nConfusion matrix (rows = true, columns = predicted)\n");
    s.push_str(&matrix_header(&r.labels));
    for (label, row) in r.labels.iter().zip(&r.confusion) {
        s.push_str(&format!("{label:>9}"));
        for c in row {
            s.push_str(&format!(" {c:>8}"));
        }
        s.push('\n');
    }
    s.push_str("\nRow-normalised\n");
    s.push_str(&matrix_header(&r.labels));
    for (label, row) in r.labels.iter().zip(&r.confusion) {
        let sum: u64 = row.iter().sum();
        s.push_str(&format!("{label:>9}"));
        for &c in row {
            let v = if sum > 0 { c as f64 / sum as f64 } else { 0.0 };
            s.push_str(&format!(" {v:>8.3}"));
        }
        s.push('\n');
    }
    s
}

fn matrix_header(labels: &[String]) -> String {
    let mut s = format!("{:>9}", "");
    for l in labels {
        s.push_str(&format!(" {:>8}", l));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConfusionMatrix;
    use ferrite_data::Emotion::*;

    #[test]
    fn report_has_sklearn_rows_and_the_matrix() {
        let m = ConfusionMatrix::from_pairs([(Happy, Happy), (Sad, Happy)]);
        let text = classification_report_text(&EvalReport::from_confusion(&m));
        for needle in [
            "precision",
            "recall",
            "f1-score",
            "support",
            "accuracy",
            "macro avg",
            "weighted avg",
            "Confusion matrix",
            "Row-normalised",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
        let happy_line = text
            .lines()
            .find(|l| l.trim_start().starts_with("happy"))
            .unwrap();
        assert!(happy_line.contains("0.5000"), "{happy_line}");
    }
}
