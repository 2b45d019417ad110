//! Ferrite in the browser: the dashboard's private mode. The same face detector, framing,
//! tracker and model code as the server, compiled to WebAssembly (wasm32 with SIMD128), so a
//! photo or a webcam frame is read inside the page and nothing leaves it.
//!
//! [`PrivateMode`] is the whole of it, in plain Rust (the tests run it natively); `abi.rs`
//! exports it to JavaScript as a handful of functions over byte buffers (no bindings
//! generator: the page's worker, `assets/private/worker.js`, is the other half). The model is
//! not compiled in: the page fetches the fast model's card and weights, which the server
//! already embeds, and hands them to [`PrivateMode::load`].

#[cfg(target_arch = "wasm32")]
mod abi;

use ferrite_infer::{
    DecodeError, EmotionModel, ImageReport, ModelSource, PredictOptions, Predictor, ShippedModel,
    Tta,
};
use ferrite_model::{ModelBundle, ModelCard};
use ferrite_video::{LiveReport, LiveSession};
use image::{DynamicImage, RgbaImage};

/// The private mode's state: the predictor, and the camera session being followed.
pub struct PrivateMode {
    /// Loaded once per page and kept for its life (the live session borrows its model).
    predictor: &'static Predictor,
    live: Option<LiveSession<'static>>,
}

impl PrivateMode {
    /// Loads the model from its card (`card.json`'s bytes) and weights (`model.safetensors`'s),
    /// with the server's default detector settings. The model is taken to be the shipped
    /// `fast` one, which is what the dashboard fetches.
    pub fn load(card_json: &[u8], weights: &[u8]) -> Result<PrivateMode, String> {
        let card = std::str::from_utf8(card_json)
            .map_err(|_| "card.json: not UTF-8 text".to_string())
            .and_then(|text| ModelCard::parse(text).map_err(|e| format!("card.json: {e}")))?;
        let bundle = ModelBundle::new(card, weights.to_vec().into())
            .map_err(|e| format!("model.safetensors: {e}"))?;
        let model = EmotionModel::from_bundle(bundle, ModelSource::Shipped(ShippedModel::Fast))
            .map_err(|e| e.to_string())?;
        let predictor = Predictor::new(model, PredictOptions::default())?;
        Ok(PrivateMode {
            predictor: Box::leak(Box::new(predictor)),
            live: None,
        })
    }

    /// Finds and classifies the faces of one photo (`bytes` as uploaded), reported as `POST
    /// /api/predict` reports it, decoded by the server's own decoder so that the results are
    /// the server's; a photo that cannot be read is a report with its `error`. TIFF and WebP
    /// are left out of the module (about 200 KB): for them the answer is
    /// [`Photo::NeedsPixels`], and the page decodes the photo itself for
    /// [`PrivateMode::predict_pixels`].
    pub fn predict(&self, file: &str, bytes: &[u8], tta: Tta) -> Photo {
        match self.predictor.predict_bytes_with(bytes, &self.options(tta)) {
            Ok(prediction) => Photo::Report(ImageReport::ok(file, &prediction)),
            Err(DecodeError::FormatNotInBuild(format)) => Photo::NeedsPixels(format),
            Err(e) => Photo::Report(ImageReport::failed(file, e)),
        }
    }

    /// Finds and classifies the faces of a photo the page decoded: `rgba`, `width` x `height`.
    pub fn predict_pixels(
        &self,
        file: &str,
        rgba: &[u8],
        width: u32,
        height: u32,
        tta: Tta,
    ) -> Result<ImageReport, String> {
        let limit = self.predictor.options().max_pixels;
        if width as u64 * height as u64 > limit {
            return Err(format!(
                "{file}: image is {width}x{height}, over the limit of {limit} pixels"
            ));
        }
        let image = DynamicImage::ImageRgba8(rgba_image(rgba, width, height)?);
        let prediction = self
            .predictor
            .predict_batch_with(&[image], &self.options(tta));
        Ok(ImageReport::ok(file, &prediction[0]))
    }

    fn options(&self, tta: Tta) -> PredictOptions {
        PredictOptions {
            tta,
            ..*self.predictor.options()
        }
    }

    /// Starts following a new camera session (faces no smaller than `min_face` pixels), as
    /// the server's `POST /api/live/{session}?min_face=` does for a new session.
    pub fn live_start(&mut self, min_face: u32) -> Result<(), String> {
        let mut options = *self.predictor.options();
        options.detector.min_face = min_face;
        self.live = Some(LiveSession::new(self.predictor.model(), options)?);
        Ok(())
    }

    /// The session's next frame: `rgba` as a canvas's `getImageData` gives it, `width` x
    /// `height`, taken `time_s` seconds after the session started.
    pub fn live_frame(
        &mut self,
        rgba: &[u8],
        width: u32,
        height: u32,
        time_s: f64,
    ) -> Result<LiveReport, String> {
        let live = self
            .live
            .as_mut()
            .ok_or("no camera session: start one first")?;
        let gray = DynamicImage::ImageRgba8(rgba_image(rgba, width, height)?).to_luma8();
        Ok(live.frame(gray, time_s))
    }
}

/// What [`PrivateMode::predict`] made of a photo.
#[derive(Debug)]
pub enum Photo {
    /// The photo's report (its faces, or its error).
    Report(ImageReport),
    /// A format left out of the module (`"TIFF"`, `"WebP"`): the page decodes it.
    NeedsPixels(&'static str),
}

/// `rgba` (as a canvas's `getImageData` gives it) as an image of `width` x `height`.
fn rgba_image(rgba: &[u8], width: u32, height: u32) -> Result<RgbaImage, String> {
    if width == 0 || height == 0 {
        return Err(format!("frame: {width}x{height} has no pixels"));
    }
    let expected = width as u64 * height as u64 * 4;
    if rgba.len() as u64 != expected {
        return Err(format!(
            "frame: {} bytes for {width}x{height} RGBA ({expected} expected)",
            rgba.len()
        ));
    }
    RgbaImage::from_raw(width, height, rgba.to_vec()).ok_or_else(|| "frame: bad size".into())
}

/// Lets the matrix products use WebAssembly's 128-bit SIMD (gemm leaves it off unless told,
/// since a browser without SIMD128 would fail to compile the module). Called once, before the
/// first product.
pub fn enable_simd() {
    gemm_common::set_wasm_simd128(cfg!(target_feature = "simd128"));
}
