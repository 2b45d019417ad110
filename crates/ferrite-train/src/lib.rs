//! Training Ferrite's CNN on burn: on-the-fly augmentation, class-weighted label-smoothed loss,
//! Adam/AdamW with plateau, cosine or one-cycle schedules, per-epoch checkpoints with resume,
//! Keras-like progress, and history saved as CSV, JSON and PNG.

mod augment;
mod checkpoint;
mod class_weights;
mod config;
mod learner;
mod loss;
mod schedule;
mod trainer;

pub use augment::Augmenter;
pub use class_weights::{class_weights, ClassWeighting};
pub use config::{TrainConfig, TrainDevice};
pub use schedule::{LrSchedule, Plateau};
pub use trainer::{train, TrainError, TrainOutcome};
