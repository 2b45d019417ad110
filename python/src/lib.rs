//! Ferrite in Python (`import ferrite`): the inference pipeline of `ferrite-infer` (decode,
//! detect, frame, classify on Ferrite's CPU engine, the shipped models embedded) and the video
//! analysis of `ferrite-video`, as a native module. The GIL is released while Rust works, and
//! Rust's threads do the parallel work; errors are Python exceptions with the CLI's messages.

use std::path::PathBuf;

use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};
use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray2, PyReadonlyArrayDyn};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rayon::prelude::*;

use ferrite_data::{Emotion, FACE_PIXELS, FACE_SIZE, NUM_CLASSES};
use ferrite_infer::{
    decode_file, decode_image, DetectorConfig, EmotionModel, FaceReport, ImageReport, ModelSource,
    PredictOptions, Tta, DEFAULT_MAX_PIXELS,
};
use ferrite_video::{FaceRow, FrameSampler, TrackerConfig, Video, VideoAnalyzer};

pyo3::create_exception!(
    _ferrite,
    FerriteError,
    PyValueError,
    "An input Ferrite cannot read, a setting it refuses, or a model it cannot load; the \
     message names it (a ValueError)."
);

/// One input as Python gave it, taken from the Python object while the GIL is held.
enum Input {
    Path(PathBuf),
    Bytes(Vec<u8>),
    Image(DynamicImage),
}

impl Input {
    /// A path (`str` or `os.PathLike`), `bytes`, or a uint8 numpy array: HxW gray, HxWx3 RGB
    /// or HxWx4 RGBA.
    fn from_object(obj: &Bound<'_, PyAny>) -> PyResult<Input> {
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(Input::Bytes(bytes.as_bytes().to_vec()));
        }
        if let Ok(array) = obj.extract::<PyReadonlyArrayDyn<'_, u8>>() {
            return image_from_array(&array).map(Input::Image);
        }
        if let Ok(path) = obj.extract::<PathBuf>() {
            return Ok(Input::Path(path));
        }
        Err(PyTypeError::new_err(format!(
            "an image is a path, bytes, or a uint8 numpy array (HxW gray, HxWx3 RGB), not {}",
            obj.get_type().name()?
        )))
    }

    /// The name reports give it.
    fn name(&self, index: usize) -> String {
        match self {
            Input::Path(path) => path.display().to_string(),
            Input::Bytes(_) => format!("bytes[{index}]"),
            Input::Image(_) => format!("array[{index}]"),
        }
    }

    /// The decoded image, or the error the CLI would print for it.
    fn decode(self, name: &str) -> Result<DynamicImage, String> {
        match self {
            Input::Path(path) => decode_file(&path, DEFAULT_MAX_PIXELS),
            Input::Bytes(bytes) => decode_image(&bytes, DEFAULT_MAX_PIXELS),
            Input::Image(image) => return Ok(image),
        }
        .map_err(|e| format!("{name}: {e}"))
    }
}

fn image_from_array(array: &PyReadonlyArrayDyn<'_, u8>) -> PyResult<DynamicImage> {
    let view = array.as_array();
    let shape = view.shape().to_vec();
    let pixels: Vec<u8> = view.iter().copied().collect();
    let bad = || {
        PyValueError::new_err(format!(
            "an image array is HxW (gray), HxWx3 (RGB) or HxWx4 (RGBA) uint8, not shape {shape:?}"
        ))
    };
    let (h, w) = match shape.as_slice() {
        [h, w] | [h, w, _] => (*h as u32, *w as u32),
        _ => return Err(bad()),
    };
    if h == 0 || w == 0 {
        return Err(bad());
    }
    match shape.get(2) {
        None => GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        Some(3) => RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
        Some(4) => RgbaImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgba8),
        Some(_) => None,
    }
    .ok_or_else(bad)
}

/// A face as the CLI's JSON has it: `box`, `label`, `confidence`, `probabilities`.
fn face_dict<'py>(py: Python<'py>, face: &FaceReport) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("box", face.bbox.to_vec())?;
    dict.set_item("label", &face.label)?;
    dict.set_item("confidence", face.confidence)?;
    let probabilities = PyDict::new(py);
    for emotion in Emotion::ALL {
        probabilities.set_item(emotion.name(), face.probabilities[emotion.name()])?;
    }
    dict.set_item("probabilities", probabilities)?;
    Ok(dict)
}

fn faces_list<'py>(py: Python<'py>, report: &ImageReport) -> PyResult<Bound<'py, PyList>> {
    let faces = report
        .faces
        .iter()
        .map(|f| face_dict(py, f))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, faces)
}

/// A Python `tta` argument: a bool (`True`: the mirror image) or a name (`"off"`, `"flip"`,
/// `"crops"`, `"zoom"`).
#[derive(FromPyObject)]
enum TtaArg {
    Flag(bool),
    Name(String),
}

impl TtaArg {
    fn parse(self) -> PyResult<Tta> {
        match self {
            TtaArg::Flag(on) => Ok(Tta::from(on)),
            TtaArg::Name(name) => name.parse().map_err(PyValueError::new_err),
        }
    }
}

/// Detector and TTA options from the Python arguments.
fn predict_options(tta: TtaArg, min_face: u32) -> PyResult<PredictOptions> {
    Ok(PredictOptions {
        tta: tta.parse()?,
        detector: DetectorConfig {
            min_face,
            ..DetectorConfig::default()
        },
        ..PredictOptions::default()
    })
}

fn model_source(model: &str) -> PyResult<ModelSource> {
    model.parse().map_err(FerriteError::new_err)
}

/// Finds every face in images and reads its emotion.
///
/// `Predictor(model="accurate", tta=False, min_face=40)`: `model` is a shipped model
/// (`accurate`, `fast`) or a model folder; `tta` averages each face with its mirror image
/// (`True` or `"flip"`), over ten crops (`"crops"`, for a model trained on crops) or with a
/// closer view of it too (`"zoom"`: four passes, the most accurate for the shipped models);
/// `min_face` is the smallest face looked for, in pixels.
#[pyclass(frozen, module = "ferrite")]
struct Predictor {
    inner: ferrite_infer::Predictor,
}

#[pymethods]
impl Predictor {
    #[new]
    #[pyo3(signature = (model = "accurate", tta = TtaArg::Flag(false), min_face = 40))]
    fn new(py: Python<'_>, model: &str, tta: TtaArg, min_face: u32) -> PyResult<Predictor> {
        let source = model_source(model)?;
        let options = predict_options(tta, min_face)?;
        let inner = py
            .detach(|| {
                let model = EmotionModel::from_source(&source).map_err(|e| e.to_string())?;
                ferrite_infer::Predictor::new(model, options)
            })
            .map_err(FerriteError::new_err)?;
        Ok(Predictor { inner })
    }

    /// Where the model came from: a shipped model's name, or its folder.
    #[getter]
    fn model(&self) -> String {
        self.inner.model().source().to_arg()
    }

    /// The faces of one image (a path, bytes, or a uint8 numpy array HxW / HxWx3): a list of
    /// dicts with `box` `[x, y, width, height]`, `label`, `confidence` and `probabilities`.
    fn predict<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let input = Input::from_object(image)?;
        let name = input.name(0);
        let report = py
            .detach(|| {
                let image = input.decode(&name)?;
                Ok::<_, String>(ImageReport::ok(&name, &self.inner.predict(&image)))
            })
            .map_err(FerriteError::new_err)?;
        faces_list(py, &report)
    }

    /// The faces of many images at once (decoded and searched in parallel, all faces
    /// classified together): one list of faces per image, in order. The first image that
    /// cannot be read raises `FerriteError` naming it; with `return_errors=True` (as in
    /// `asyncio.gather`) its entry is that `FerriteError` instead, and the others are kept.
    #[pyo3(signature = (images, return_errors = false))]
    fn predict_batch<'py>(
        &self,
        py: Python<'py>,
        images: &Bound<'py, PyAny>,
        return_errors: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let mut inputs = Vec::new();
        for (index, item) in images.try_iter()?.enumerate() {
            match Input::from_object(&item?) {
                Ok(input) => inputs.push(Ok((input.name(index), input))),
                Err(e) if return_errors => inputs.push(Err(format!("item {index}: {e}"))),
                Err(e) => return Err(e),
            }
        }
        let reports = py.detach(|| self.reports(inputs));
        let mut entries = Vec::with_capacity(reports.len());
        for report in reports {
            match report {
                Ok(report) => entries.push(faces_list(py, &report)?.into_any()),
                Err(e) if return_errors => entries.push(
                    FerriteError::new_err(e)
                        .into_value(py)
                        .into_bound(py)
                        .into_any(),
                ),
                Err(e) => return Err(FerriteError::new_err(e)),
            }
        }
        PyList::new(py, entries)
    }

    /// Probabilities for 48x48 face crops (a uint8 array Nx48x48, already framed like
    /// FER2013's faces): an Nx7 float32 array in label order (`ferrite.LABELS`).
    fn classify_faces<'py>(
        &self,
        py: Python<'py>,
        faces: PyReadonlyArrayDyn<'py, u8>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let view = faces.as_array();
        let shape = view.shape().to_vec();
        if shape.len() != 3 || shape[1] != FACE_SIZE || shape[2] != FACE_SIZE {
            return Err(PyValueError::new_err(format!(
                "faces are an Nx48x48 uint8 array, not shape {shape:?}"
            )));
        }
        let pixels: Vec<u8> = view.iter().copied().collect();
        let n = shape[0];
        let tta = self.inner.options().tta;
        let probabilities = py.detach(|| {
            let crops: Vec<&[u8]> = pixels.chunks_exact(FACE_PIXELS).collect();
            self.inner.model().classify(&crops, tta)
        });
        let flat: Vec<f32> = probabilities.into_iter().flatten().collect();
        let array = Array2::from_shape_vec((n, NUM_CLASSES), flat)
            .expect("one row of probabilities per face");
        Ok(array.into_pyarray(py))
    }
}

impl Predictor {
    /// Decodes the readable inputs in parallel and classifies all their faces together: one
    /// report or error per input, in order.
    fn reports(
        &self,
        inputs: Vec<Result<(String, Input), String>>,
    ) -> Vec<Result<ImageReport, String>> {
        let decoded: Vec<Result<(String, DynamicImage), String>> = inputs
            .into_par_iter()
            .map(|input| {
                let (name, input) = input?;
                let image = input.decode(&name)?;
                Ok((name, image))
            })
            .collect();
        let mut names = Vec::with_capacity(decoded.len());
        let mut images = Vec::new();
        for entry in decoded {
            names.push(entry.map(|(name, image)| {
                images.push(image);
                name
            }));
        }
        let mut predictions = self.inner.predict_batch(&images).into_iter();
        names
            .into_iter()
            .map(|name| {
                let name = name?;
                let prediction = predictions
                    .next()
                    .expect("one prediction per decoded image");
                Ok(ImageReport::ok(&name, &prediction))
            })
            .collect()
    }
}

/// The rows of `ferrite video --format csv` for one video, as a list of dicts (one per face per
/// analysed frame): `file`, `frame`, `time_s`, `track`, `x`, `y`, `width`, `height`, `label`,
/// `confidence`, one probability per emotion, `smoothed_label`, `smoothed_confidence`. Raises
/// `FerriteError` for a file that cannot be read, or one that stops early (naming where); with
/// `partial=True` the answer is `(rows, error)` instead, `error` None or the message, and the
/// rows of the frames read before a stop are kept (settings and models still raise).
#[pyfunction]
#[pyo3(signature = (path, fps = None, model = "accurate", detect_every = 5, smoothing = 0.3, min_face = 40, tta = TtaArg::Flag(false), partial = false))]
#[allow(clippy::too_many_arguments)]
fn analyze_video<'py>(
    py: Python<'py>,
    path: PathBuf,
    fps: Option<f64>,
    model: &str,
    detect_every: usize,
    smoothing: f32,
    min_face: u32,
    tta: TtaArg,
    partial: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let source = model_source(model)?;
    let tracking = TrackerConfig {
        detect_every,
        smoothing,
        ..TrackerConfig::default()
    };
    let options = predict_options(tta, min_face)?;
    let (rows, error) = py
        .detach(|| {
            let model = EmotionModel::from_source(&source).map_err(|e| e.to_string())?;
            let mut sampler = FrameSampler::new(fps)?;
            let mut analyzer = VideoAnalyzer::new(&model, options, tracking)?;
            let mut rows = Vec::new();
            let error = (|| {
                for frame in Video::open(&path).map_err(|e| e.to_string())? {
                    let frame = frame.map_err(|e| e.to_string())?;
                    if sampler.take(frame.time_s) {
                        rows.extend(analyzer.push(frame).into_iter().flat_map(|f| f.rows));
                    }
                }
                Ok::<_, String>(())
            })()
            .err();
            rows.extend(analyzer.finish().into_iter().flat_map(|f| f.rows));
            Ok::<_, String>((rows, error))
        })
        .map_err(FerriteError::new_err)?;
    let file = path.display().to_string();
    let dicts = PyList::new(
        py,
        rows.iter()
            .map(|r| video_row_dict(py, &file, r))
            .collect::<PyResult<Vec<_>>>()?,
    )?;
    match (partial, error) {
        (true, error) => Ok((dicts, error).into_pyobject(py)?.into_any()),
        (false, None) => Ok(dicts.into_any()),
        (false, Some(error)) => Err(FerriteError::new_err(error)),
    }
}

/// One row of `ferrite video --format csv` as a dict.
fn video_row_dict<'py>(py: Python<'py>, file: &str, r: &FaceRow) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("file", file)?;
    dict.set_item("frame", r.frame)?;
    dict.set_item("time_s", r.time_s)?;
    dict.set_item("track", r.track)?;
    dict.set_item("x", r.bbox.x)?;
    dict.set_item("y", r.bbox.y)?;
    dict.set_item("width", r.bbox.width)?;
    dict.set_item("height", r.bbox.height)?;
    dict.set_item("label", r.label.name())?;
    dict.set_item("confidence", r.probabilities[r.label.index()])?;
    for emotion in Emotion::ALL {
        dict.set_item(emotion.name(), r.probabilities[emotion.index()])?;
    }
    dict.set_item("smoothed_label", r.smoothed_label.name())?;
    dict.set_item("smoothed_confidence", r.smoothed[r.smoothed_label.index()])?;
    Ok(dict)
}

/// The native module behind `import ferrite`.
#[pymodule]
fn _ferrite(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Predictor>()?;
    m.add_function(wrap_pyfunction!(analyze_video, m)?)?;
    m.add("FerriteError", m.py().get_type::<FerriteError>())?;
    m.add("LABELS", Emotion::names().to_vec())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
