//! FER2013 data for Ferrite: emotion labels, dataset readers (Kaggle folder layout, the original
//! `fer2013.csv`, any folder of class subfolders) and the one preprocessing path shared by
//! training, evaluation and inference.

mod csv_reader;
mod dataset;
mod decode;
mod error;
mod folder_reader;
mod labels;
mod preprocess;
mod views;

pub use dataset::{
    load_dataset, lowercase_hex, Dataset, Sample, SkippedFile, Split, ValidationSplit,
};
pub use decode::{
    decode_file, decode_image, has_image_extension, DecodeError, DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
};
pub use error::DataError;
pub use labels::{Emotion, NUM_CLASSES};
pub use preprocess::{face_from_image, face_to_input, FACE_PIXELS, FACE_SIZE};
pub use views::{FaceView, Tta};
