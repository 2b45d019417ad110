//! Training Ferrite's CNN: on-the-fly augmentation and mixup, class-weighted label-smoothed
//! loss, Adam or SGD with Nesterov momentum, a running average of the weights, plateau, cosine
//! or one-cycle schedules, per-epoch checkpoints with resume, Keras-like
//! progress, history saved as CSV, JSON and PNG, and the model card's training record.
//!
//! A run ([`TrainingRun`]) trains on Ferrite's gemm engine, or on burn (CPU, or a GPU with the
//! `vulkan` feature) in builds with the `burn` feature; without it, `Engine::Burn` is refused
//! with a message that says how to build it.

mod augment;
mod batches;
mod checkpoint;
mod class_weights;
mod config;
mod error;
mod init;
mod learner;
mod mixup;
mod plan;
mod progress;
mod provenance;
mod record;
mod run;
mod schedule;
mod stages;
mod teacher;

pub use augment::Augmenter;
pub use class_weights::{class_weights, ClassWeighting};
pub use config::TrainConfig;
pub use error::TrainError;
pub use ferrite_model::TrainDevice;
pub use run::{train, TrainOutcome, TrainingRun};
pub use schedule::{LrSchedule, Plateau};
pub use stages::{RecipeOutcome, Stage, StagedRecipe};

/// What a lean build (without the `burn` feature) says when burn is asked for.
pub const NO_BURN: &str = "this build has no burn engine (a lean build): use --engine ferrite, \
                           or rebuild with default features (`cargo build --release`)";
