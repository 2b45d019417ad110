use std::path::PathBuf;

/// Errors raised while reading a dataset. Each names the path or row at fault.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The dataset path does not exist.
    #[error("dataset path {0} does not exist")]
    Missing(PathBuf),
    /// The path exists but is not a layout Ferrite knows.
    #[error("{path}: {reason}")]
    Layout {
        /// The path at fault.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A row of a FER2013 CSV file is malformed.
    #[error("{path}, row {row}: {reason}")]
    CsvRow {
        /// The CSV file.
        path: PathBuf,
        /// The 1-based line number, counting the header.
        row: usize,
        /// What is wrong with the row.
        reason: String,
    },
    /// The split asked for does not exist in this dataset.
    #[error("{path}: split `{split}` is not available ({reason})")]
    SplitUnavailable {
        /// The dataset path.
        path: PathBuf,
        /// The split name.
        split: String,
        /// Why it is not available.
        reason: String,
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
