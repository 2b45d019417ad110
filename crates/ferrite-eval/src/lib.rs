//! Evaluation metrics the way the field reports them: accuracy, the per-class classification
//! report (scikit-learn's layout), the confusion matrix, calibration, the paired comparison of two
//! models on the same faces, plots of them, and predictions drawn over photos.

mod annotate;
mod calibration;
mod compare;
mod metrics;
mod plot;
mod report;
mod timeline;

pub use annotate::{draw_boxes, emotion_colour, LabelledBox};
pub use calibration::{
    fit_temperature, fit_temperature_for_ece, tempered, Calibration, ReliabilityBin, BINS,
};
pub use compare::PairedComparison;
pub use metrics::{ClassMetrics, ConfusionMatrix, EvalReport};
pub use plot::{plot_confusion, plot_history, plot_reliability, HistoryPoint};
pub use report::classification_report_text;
pub use timeline::{plot_timeline, TrackSeries};
