use std::path::PathBuf;

/// Errors raised while loading or saving a model directory.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model directory or one of its files is missing.
    #[error("model {path}: {what} not found")]
    Missing {
        /// The missing path.
        path: PathBuf,
        /// What was expected there.
        what: &'static str,
    },
    /// The model card is unreadable or from an incompatible version.
    #[error("model card {path}: {reason}")]
    Card {
        /// The card file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The weights do not match the architecture in the card.
    #[error("model weights {path}: {reason}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// `$FERRITE_MODEL` does not name a model.
    #[error("FERRITE_MODEL: {reason}")]
    Env {
        /// What is wrong with its value.
        reason: String,
    },
    /// `@NAME` (a recipe stage's model) outside a recipe, where no stage made it.
    #[error(
        "@{stage} names the model a stage of a recipe made (@previous: the stage before): it \
         has a meaning only in a later stage of a recipe (`ferrite train --recipe`)"
    )]
    OutsideRecipe {
        /// The stage's name, as written after `@`.
        stage: String,
    },
    /// An I/O error on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The path at fault.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}
