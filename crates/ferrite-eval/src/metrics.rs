use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use ferrite_data::{Emotion, NUM_CLASSES};

/// A 7x7 confusion matrix: `counts[true][predicted]`, in label order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    /// Counts, rows = true label, columns = predicted label.
    pub counts: [[u64; NUM_CLASSES]; NUM_CLASSES],
}

impl ConfusionMatrix {
    /// Builds the matrix from pairs of (true, predicted) labels.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Emotion, Emotion)>) -> ConfusionMatrix {
        let mut m = ConfusionMatrix::default();
        for (t, p) in pairs {
            m.counts[t.index()][p.index()] += 1;
        }
        m
    }

    /// Total number of samples.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Rows divided by their sums (recall on the diagonal); all-zero rows stay zero.
    pub fn row_normalised(&self) -> [[f64; NUM_CLASSES]; NUM_CLASSES] {
        let mut out = [[0.0; NUM_CLASSES]; NUM_CLASSES];
        for (row, counts) in out.iter_mut().zip(&self.counts) {
            let sum: u64 = counts.iter().sum();
            if sum > 0 {
                for (o, &c) in row.iter_mut().zip(counts) {
                    *o = c as f64 / sum as f64;
                }
            }
        }
        out
    }
}

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Of the faces predicted as this class, the share that were.
    pub precision: f64,
    /// Of the faces of this class, the share found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of faces of this class.
    pub support: u64,
}

/// A full evaluation, serialised as `ferrite eval --format json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Share of faces classified correctly.
    pub accuracy: f64,
    /// Unweighted mean of the per-class F1.
    pub macro_f1: f64,
    /// Support-weighted mean of the per-class F1.
    pub weighted_f1: f64,
    /// Unweighted mean of the per-class precision.
    pub macro_precision: f64,
    /// Unweighted mean of the per-class recall (balanced accuracy).
    pub macro_recall: f64,
    /// Number of faces.
    pub n: u64,
    /// Labels in order.
    pub labels: Vec<String>,
    /// Metrics per label.
    pub per_class: BTreeMap<String, ClassMetrics>,
    /// Confusion counts, rows = true label, in `labels` order.
    pub confusion: [[u64; NUM_CLASSES]; NUM_CLASSES],
    /// Calibration of the probabilities (ECE, reliability bins), where they were measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<crate::Calibration>,
    /// The comparison with another model on the same faces (`ferrite eval --against`), where
    /// one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<crate::PairedComparison>,
}

impl EvalReport {
    /// Computes every metric from a confusion matrix.
    pub fn from_confusion(m: &ConfusionMatrix) -> EvalReport {
        let n = m.total();
        let correct: u64 = (0..NUM_CLASSES).map(|i| m.counts[i][i]).sum();
        let mut per_class = BTreeMap::new();
        let mut rows = Vec::with_capacity(NUM_CLASSES);
        for e in Emotion::ALL {
            let i = e.index();
            let tp = m.counts[i][i] as f64;
            let predicted: u64 = (0..NUM_CLASSES).map(|r| m.counts[r][i]).sum();
            let support: u64 = m.counts[i].iter().sum();
            let precision = ratio(tp, predicted as f64);
            let recall = ratio(tp, support as f64);
            let f1 = ratio(2.0 * precision * recall, precision + recall);
            let metrics = ClassMetrics {
                precision,
                recall,
                f1,
                support,
            };
            rows.push(metrics);
            per_class.insert(e.name().to_string(), metrics);
        }
        // Like scikit-learn, macro averages run over the labels that occur in the truth or the
        // predictions, so a dataset without some classes is not penalised for them.
        let present: Vec<&ClassMetrics> = rows
            .iter()
            .enumerate()
            .filter(|(i, r)| r.support > 0 || (0..NUM_CLASSES).any(|t| m.counts[t][*i] > 0))
            .map(|(_, r)| r)
            .collect();
        let mean = |f: fn(&ClassMetrics) -> f64| {
            present.iter().map(|r| f(r)).sum::<f64>() / present.len().max(1) as f64
        };
        let weighted_f1 = ratio(rows.iter().map(|r| r.f1 * r.support as f64).sum(), n as f64);
        EvalReport {
            accuracy: ratio(correct as f64, n as f64),
            macro_f1: mean(|r| r.f1),
            weighted_f1,
            macro_precision: mean(|r| r.precision),
            macro_recall: mean(|r| r.recall),
            n,
            labels: Emotion::names().iter().map(|s| s.to_string()).collect(),
            per_class,
            confusion: m.counts,
            calibration: None,
            comparison: None,
        }
    }

    /// The per-class metrics in label order.
    pub fn rows(&self) -> Vec<(Emotion, ClassMetrics)> {
        Emotion::ALL
            .iter()
            .map(|e| (*e, self.per_class[e.name()]))
            .collect()
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Emotion::*;

    #[test]
    fn metrics_match_hand_computation() {
        // 3 happy (2 right, 1 called sad), 2 sad (1 right, 1 called happy), 1 angry right.
        let pairs = [
            (Happy, Happy),
            (Happy, Happy),
            (Happy, Sad),
            (Sad, Sad),
            (Sad, Happy),
            (Angry, Angry),
        ];
        let r = EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs));
        assert_eq!(r.n, 6);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
        let happy = r.per_class["happy"];
        assert!((happy.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((happy.recall - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(happy.support, 3);
        let sad = r.per_class["sad"];
        assert!((sad.precision - 0.5).abs() < 1e-12);
        assert!((sad.f1 - 0.5).abs() < 1e-12);
        // Macro averages run over the classes present (angry, happy, sad), as scikit-learn does.
        let expected_macro = (1.0 + 2.0 / 3.0 + 0.5) / 3.0;
        assert!((r.macro_f1 - expected_macro).abs() < 1e-12);
        let expected_weighted = (1.0 * 1.0 + 3.0 * (2.0 / 3.0) + 2.0 * 0.5) / 6.0;
        assert!((r.weighted_f1 - expected_weighted).abs() < 1e-12);
        assert_eq!(r.confusion[Happy.index()][Sad.index()], 1);
    }

    #[test]
    fn normalised_rows_sum_to_one() {
        let m = ConfusionMatrix::from_pairs([(Fear, Fear), (Fear, Sad), (Fear, Sad)]);
        let norm = m.row_normalised();
        assert!((norm[Fear.index()].iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(norm[Happy.index()].iter().sum::<f64>(), 0.0);
    }
}
