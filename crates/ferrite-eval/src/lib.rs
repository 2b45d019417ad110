//! Evaluation metrics the way the field reports them: accuracy, the per-class classification
//! report (scikit-learn's layout), the confusion matrix, plots of them, and predictions drawn
//! over photos.

mod annotate;
mod metrics;
mod plot;
mod report;
mod timeline;

pub use annotate::{draw_boxes, emotion_colour, LabelledBox};
pub use metrics::{ClassMetrics, ConfusionMatrix, EvalReport};
pub use plot::{plot_confusion, plot_history, HistoryPoint};
pub use report::classification_report_text;
pub use timeline::{plot_timeline, TrackSeries};
