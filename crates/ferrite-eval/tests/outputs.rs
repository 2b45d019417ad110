//! The evaluation outputs end to end: JSON shape, text report and the PNG plots.

use ferrite_data::Emotion;
use ferrite_eval::{
    classification_report_text, plot_confusion, plot_history, ConfusionMatrix, EvalReport,
    HistoryPoint,
};

fn report() -> EvalReport {
    let pairs = Emotion::ALL.iter().flat_map(|&truth| {
        Emotion::ALL
            .iter()
            .map(move |&predicted| (truth, predicted))
            .chain(std::iter::repeat_n((truth, truth), 5))
    });
    EvalReport::from_confusion(&ConfusionMatrix::from_pairs(pairs))
}

#[test]
fn json_has_the_documented_fields_in_label_order() {
    let r = report();
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "n",
        "labels",
        "per_class",
        "confusion",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    assert_eq!(json["n"], 7 * 12);
    // 6 of each class's 12 faces are right.
    assert!((r.accuracy - 0.5).abs() < 1e-12);
    assert_eq!(json["confusion"][3][3], 6);
    assert_eq!(json["labels"][0], "angry");
    let back: EvalReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, r);
}

#[test]
fn text_report_lists_every_class() {
    let text = classification_report_text(&report());
    for e in Emotion::ALL {
        assert!(text.contains(e.name()), "{text}");
    }
}

#[test]
fn plots_are_written_as_png() {
    let dir = tempfile::tempdir().unwrap();
    let cm = dir.path().join("cm.png");
    plot_confusion(&report(), "test", &cm).unwrap();
    let img = image::open(&cm).unwrap();
    assert!(img.width() >= 800 && img.height() >= 700);

    let history: Vec<HistoryPoint> = (1..=5)
        .map(|epoch| HistoryPoint {
            epoch,
            loss: 2.0 / epoch as f64,
            acc: 0.2 * epoch as f64 - 0.1,
            val_loss: 2.2 / epoch as f64,
            val_acc: 0.18 * epoch as f64,
        })
        .collect();
    let curves = dir.path().join("curves.png");
    plot_history(&history, &curves).unwrap();
    assert!(image::open(&curves).unwrap().width() >= 1000);

    let err = plot_confusion(&report(), "x", &dir.path().join("missing/dir/cm.png"));
    assert!(err.is_err());
}
