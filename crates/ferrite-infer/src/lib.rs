//! Ferrite inference: decode a photo, find every face, frame it like FER2013, and classify its
//! emotion with the shipped (embedded) model or any model directory.
//!
//! ```no_run
//! use ferrite_infer::{EmotionModel, PredictOptions, Predictor};
//! let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
//! let prediction = predictor.predict_bytes(&std::fs::read("photo.jpg").unwrap()).unwrap();
//! for face in &prediction.faces {
//!     println!("{:?}: {} ({:.0}%)", face.bbox, face.label, 100.0 * face.confidence);
//! }
//! ```

pub mod crop;
pub mod detect;
pub mod model;
pub mod predictor;
pub mod report;

pub use crop::{crop_face, Frame, Framing, FER_FRAMING};
pub use detect::{detect_faces, Detection, DetectorConfig};
pub use ferrite_data::{decode_file, decode_image, DecodeError, Tta, DEFAULT_MAX_PIXELS};
pub use ferrite_model::{ModelSource, ShippedModel};
pub use model::{EmotionModel, ModelLoadError};
pub use predictor::{
    Face, FaceBox, ImagePrediction, LocatedFaces, PredictOptions, Predictor, FACE_CROP_MAX_SIDE,
};
pub use report::{csv_field, FaceReport, ImageReport};
