//! Photo in, faces with emotions out: decode, detect, frame, classify.

use image::{DynamicImage, GrayImage};
use rayon::prelude::*;

use ferrite_data::{
    decode_image, face_from_image, DecodeError, Emotion, Tta, DEFAULT_MAX_PIXELS, NUM_CLASSES,
};

use crate::crop::{crop_face, Framing, FER_FRAMING};
use crate::detect::{detect_faces, Detection, DetectorConfig};
use crate::model::EmotionModel;

/// Images whose longer side is at most this are taken to be face crops already: when no face
/// is found in them, the whole image is classified (FER2013's own images are 48x48).
pub const FACE_CROP_MAX_SIDE: u32 = 160;

/// How photos are read and faces found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictOptions {
    /// Face detector settings.
    pub detector: DetectorConfig,
    /// How a detector box becomes the model's frame.
    pub framing: Framing,
    /// Test-time augmentation: the views of each face whose probabilities are averaged
    /// (none, the mirror image, or ten crops).
    pub tta: Tta,
    /// Classify the whole image as one face, without detection.
    pub whole_image: bool,
    /// Largest image accepted, in pixels.
    pub max_pixels: u64,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions {
            detector: DetectorConfig::default(),
            framing: FER_FRAMING,
            tta: Tta::Off,
            whole_image: false,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// A face's box in the original image's pixels (clipped to the image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaceBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One face and its emotion.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// Where the face is.
    pub bbox: FaceBox,
    /// Probabilities in label order ([`Emotion::ALL`]).
    pub probabilities: [f32; NUM_CLASSES],
    /// The most probable emotion.
    pub label: Emotion,
    /// Its probability.
    pub confidence: f32,
}

/// Everything found in one image.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePrediction {
    /// Image width (after EXIF orientation).
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// Faces found, left to right.
    pub faces: Vec<Face>,
    /// True when the whole image was classified as one face (forced, or a small face crop
    /// in which the detector found nothing).
    pub whole_image: bool,
}

/// The faces of one image, found and framed but not yet classified: the first of the two
/// stages of a prediction. Classifying the faces of many images together (one engine call for
/// all of them, [`Predictor::classify_located`]) is what batching across requests is made of.
#[derive(Debug, Clone)]
pub struct LocatedFaces {
    width: u32,
    height: u32,
    boxes: Vec<FaceBox>,
    faces: Vec<Vec<u8>>,
    whole_image: bool,
}

impl LocatedFaces {
    /// The 48x48 faces to classify, in box order.
    pub fn faces(&self) -> &[Vec<u8>] {
        &self.faces
    }

    /// The prediction, given one probability row per face.
    fn into_prediction(
        self,
        probabilities: &mut impl Iterator<Item = [f32; NUM_CLASSES]>,
    ) -> ImagePrediction {
        ImagePrediction {
            width: self.width,
            height: self.height,
            faces: self
                .boxes
                .into_iter()
                .map(|bbox| face(bbox, probabilities.next().expect("one result per face")))
                .collect(),
            whole_image: self.whole_image,
        }
    }
}

/// The inference pipeline: a model plus options. Cheap to share between threads.
pub struct Predictor {
    model: EmotionModel,
    options: PredictOptions,
}

impl Predictor {
    /// A predictor; fails with the bad field's name if the detector settings are invalid.
    pub fn new(model: EmotionModel, options: PredictOptions) -> Result<Predictor, String> {
        options.detector.validate()?;
        Ok(Predictor { model, options })
    }

    /// The model in use.
    pub fn model(&self) -> &EmotionModel {
        &self.model
    }

    /// The options in use.
    pub fn options(&self) -> &PredictOptions {
        &self.options
    }

    /// Finds and classifies every face in one image.
    pub fn predict(&self, image: &DynamicImage) -> ImagePrediction {
        self.predict_batch(std::slice::from_ref(image))
            .pop()
            .expect("one prediction per image")
    }

    /// Decodes `bytes` (with the pixel limit) and predicts.
    pub fn predict_bytes(&self, bytes: &[u8]) -> Result<ImagePrediction, DecodeError> {
        self.predict_bytes_with(bytes, &self.options)
    }

    /// [`Predictor::predict_bytes`] with other options (e.g. per request; check them with
    /// `options.detector.validate()` to report bad settings).
    pub fn predict_bytes_with(
        &self,
        bytes: &[u8],
        options: &PredictOptions,
    ) -> Result<ImagePrediction, DecodeError> {
        let image = decode_image(bytes, options.max_pixels)?;
        Ok(self
            .predict_batch_with(std::slice::from_ref(&image), options)
            .pop()
            .expect("one prediction per image"))
    }

    /// Finds faces in many images in parallel, then classifies all of them in batches.
    pub fn predict_batch(&self, images: &[DynamicImage]) -> Vec<ImagePrediction> {
        self.predict_batch_with(images, &self.options)
    }

    /// [`Predictor::predict_batch`] with other options.
    pub fn predict_batch_with(
        &self,
        images: &[DynamicImage],
        options: &PredictOptions,
    ) -> Vec<ImagePrediction> {
        let located: Vec<LocatedFaces> =
            images.par_iter().map(|img| locate(img, options)).collect();
        self.classify_located(located, options.tta)
    }

    /// The first stage: decodes `bytes` (with the pixel limit), finds and frames its faces.
    pub fn locate_bytes(
        &self,
        bytes: &[u8],
        options: &PredictOptions,
    ) -> Result<LocatedFaces, DecodeError> {
        Ok(locate(&decode_image(bytes, options.max_pixels)?, options))
    }

    /// The second stage: classifies the faces of all `located` images in one engine call.
    pub fn classify_located(&self, located: Vec<LocatedFaces>, tta: Tta) -> Vec<ImagePrediction> {
        self.model.classify_located(located, tta)
    }
}

impl EmotionModel {
    /// The second stage of a prediction with this model: classifies the faces of all
    /// `located` images in one engine call (a server that offers several models locates once,
    /// then classifies with the model each request asked for).
    pub fn classify_located(&self, located: Vec<LocatedFaces>, tta: Tta) -> Vec<ImagePrediction> {
        let faces: Vec<&[u8]> = located
            .iter()
            .flat_map(|l| l.faces.iter().map(Vec::as_slice))
            .collect();
        let mut probabilities = self.classify(&faces, tta).into_iter();
        located
            .into_iter()
            .map(|l| l.into_prediction(&mut probabilities))
            .collect()
    }
}

/// Detects and frames the faces of one image (or takes the whole image as one face).
fn locate(image: &DynamicImage, options: &PredictOptions) -> LocatedFaces {
    let (width, height) = (image.width(), image.height());
    let whole = |whole_image| LocatedFaces {
        width,
        height,
        boxes: vec![FaceBox {
            x: 0,
            y: 0,
            width,
            height,
        }],
        faces: vec![face_from_image(image)],
        whole_image,
    };
    if options.whole_image {
        return whole(true);
    }
    let gray: GrayImage = image.to_luma8();
    let mut detections = detect_faces(&gray, &options.detector);
    if detections.is_empty() && width.max(height) <= FACE_CROP_MAX_SIDE {
        return whole(true);
    }
    detections.sort_by(|a, b| a.x.total_cmp(&b.x));
    let frames: Vec<_> = detections
        .iter()
        .map(|d| options.framing.frame(d))
        .collect();
    LocatedFaces {
        width,
        height,
        boxes: detections
            .iter()
            .map(|d| FaceBox::clipped(d, width, height))
            .collect(),
        faces: frames.iter().map(|f| crop_face(&gray, f)).collect(),
        whole_image: false,
    }
}

impl FaceBox {
    /// A detection's box in whole pixels, clipped to a `width` x `height` image.
    pub fn clipped(d: &Detection, width: u32, height: u32) -> FaceBox {
        let x0 = d.x.round().clamp(0.0, width as f32) as u32;
        let y0 = d.y.round().clamp(0.0, height as f32) as u32;
        let x1 = (d.x + d.width).round().clamp(0.0, width as f32) as u32;
        let y1 = (d.y + d.height).round().clamp(0.0, height as f32) as u32;
        FaceBox {
            x: x0,
            y: y0,
            width: x1.saturating_sub(x0),
            height: y1.saturating_sub(y0),
        }
    }
}

fn face(bbox: FaceBox, probabilities: [f32; NUM_CLASSES]) -> Face {
    let label = Emotion::most_likely(&probabilities);
    Face {
        bbox,
        probabilities,
        label,
        confidence: probabilities[label.index()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_are_clipped_to_the_image() {
        let d = Detection {
            x: -5.0,
            y: 10.0,
            width: 30.0,
            height: 100.0,
            score: 1.0,
        };
        let b = FaceBox::clipped(&d, 20, 50);
        assert_eq!(
            b,
            FaceBox {
                x: 0,
                y: 10,
                width: 20,
                height: 40
            }
        );
    }

    #[test]
    fn top_label_is_the_largest_probability() {
        let f = face(
            FaceBox {
                x: 0,
                y: 0,
                width: 1,
                height: 1,
            },
            [0.1, 0.0, 0.0, 0.6, 0.1, 0.1, 0.1],
        );
        assert_eq!(f.label, Emotion::Happy);
        assert_eq!(f.confidence, 0.6);
    }
}
