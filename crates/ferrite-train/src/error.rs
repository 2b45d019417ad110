use std::path::PathBuf;

use ferrite_data::DataError;

/// Why a training run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The configuration is invalid.
    #[error("invalid training configuration: {0}")]
    Config(String),
    /// The data could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The loss became NaN or infinite.
    #[error("loss became {value} at epoch {epoch}, step {step}; the last good checkpoint is kept in {checkpoint}")]
    NonFinite {
        /// Epoch (1-based).
        epoch: usize,
        /// Step within the epoch (1-based).
        step: usize,
        /// The loss value.
        value: f32,
        /// Where the last good checkpoint is.
        checkpoint: PathBuf,
    },
    /// Saving or loading a file failed.
    #[error("{0}")]
    Io(String),
}
