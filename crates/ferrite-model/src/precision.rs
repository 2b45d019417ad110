//! How a weights file stores its numbers. Every engine computes in float32, but a model may be
//! stored in float16: half the bytes in the binary, in a model folder and in what the browser's
//! private mode downloads, for 1-3 faces in 3,589 that change label with the shipped models
//! (README, "Half-precision weights"). A bundle's weights are widened to float32 once, when the
//! bundle is built, so nothing past this module ever sees float16.

use std::borrow::Cow;

use half::{bf16, f16};
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

/// Why a weights file cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum PrecisionError {
    /// The bytes are not a safetensors file.
    #[error("not a safetensors file: {0}")]
    Format(String),
    /// A float32 value is beyond float16's range (about 65,504), so storing it would lose it.
    #[error("tensor `{name}` holds {value}, beyond float16's range")]
    OutOfRange {
        /// The tensor.
        name: String,
        /// The first value out of range.
        value: f32,
    },
}

/// The safetensors file `bytes` with every float16 and bfloat16 tensor widened to float32 (its
/// metadata and other tensors kept); the bytes themselves, not copied, when every float tensor
/// is float32 already.
pub fn widen_to_f32(bytes: &[u8]) -> Result<Cow<'_, [u8]>, PrecisionError> {
    let file = parse(bytes)?;
    let narrow = |dtype| matches!(dtype, Dtype::F16 | Dtype::BF16);
    if !file.tensors().iter().any(|(_, view)| narrow(view.dtype())) {
        return Ok(Cow::Borrowed(bytes));
    }
    convert(bytes, &file, |_, view| {
        let data: Vec<f32> = match view.dtype() {
            Dtype::F16 => halves(view.data(), |b| f16::from_le_bytes(b).to_f32()),
            Dtype::BF16 => halves(view.data(), |b| bf16::from_le_bytes(b).to_f32()),
            _ => return Ok(None),
        };
        Ok(Some((
            Dtype::F32,
            data.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )))
    })
    .map(Cow::Owned)
}

/// The safetensors file `bytes` with every float32 weight matrix or kernel (a tensor of two or
/// more dimensions) stored as float16, rounded to the nearest; vectors (biases, batch-norm
/// scales and statistics) stay float32: they are a fraction of a percent of the bytes, and a
/// small running variance would lose its digits in float16. The metadata and other tensors are
/// kept. Refuses a value float16 cannot hold.
pub fn narrow_to_f16(bytes: &[u8]) -> Result<Vec<u8>, PrecisionError> {
    let file = parse(bytes)?;
    convert(bytes, &file, |name, view| {
        if view.dtype() != Dtype::F32 || view.shape().len() < 2 {
            return Ok(None);
        }
        let mut data = Vec::with_capacity(view.data().len() / 2);
        for b in view.data().chunks_exact(4) {
            let value = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let half = f16::from_f32(value);
            if half.is_infinite() && value.is_finite() {
                return Err(PrecisionError::OutOfRange {
                    name: name.to_string(),
                    value,
                });
            }
            data.extend_from_slice(&half.to_le_bytes());
        }
        Ok(Some((Dtype::F16, data)))
    })
}

/// Whether the safetensors file `bytes` stores any tensor in float16.
pub fn is_half_precision(bytes: &[u8]) -> Result<bool, PrecisionError> {
    let file = parse(bytes)?;
    let half = file
        .tensors()
        .iter()
        .any(|(_, view)| view.dtype() == Dtype::F16);
    Ok(half)
}

fn parse(bytes: &[u8]) -> Result<SafeTensors<'_>, PrecisionError> {
    SafeTensors::deserialize(bytes).map_err(|e| PrecisionError::Format(e.to_string()))
}

fn halves(data: &[u8], widen: impl Fn([u8; 2]) -> f32) -> Vec<f32> {
    data.chunks_exact(2).map(|b| widen([b[0], b[1]])).collect()
}

/// A new-dtype tensor: its type and little-endian bytes.
type Converted = Option<(Dtype, Vec<u8>)>;

/// Rewrites `file` (parsed from `bytes`) with each tensor passed through `change`, which gives
/// the tensor's new type and bytes, or `None` to keep it as it is.
fn convert(
    bytes: &[u8],
    file: &SafeTensors<'_>,
    change: impl Fn(&str, &TensorView<'_>) -> Result<Converted, PrecisionError>,
) -> Result<Vec<u8>, PrecisionError> {
    let mut tensors = Vec::new();
    for (name, view) in file.tensors() {
        let converted = change(&name, &view)?;
        tensors.push((name, view, converted));
    }
    let views = tensors.iter().map(|(name, view, converted)| {
        let view = match converted {
            Some((dtype, data)) => TensorView::new(*dtype, view.shape().to_vec(), data)
                .expect("a converted tensor keeps its element count"),
            None => view.clone(),
        };
        (name.as_str(), view)
    });
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| PrecisionError::Format(e.to_string()))?;
    safetensors::serialize(views, header.metadata())
        .map_err(|e| PrecisionError::Format(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A file of the matrix `w` (`values`, one row), a float32 vector `b` and a byte vector.
    fn file(values: &[f32], metadata: Option<HashMap<String, String>>) -> Vec<u8> {
        let data: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        let view = TensorView::new(Dtype::F32, vec![1, values.len()], &data).unwrap();
        let bias = 1e-6f32.to_le_bytes();
        let vector = TensorView::new(Dtype::F32, vec![1], &bias).unwrap();
        let ids = TensorView::new(Dtype::U8, vec![2], &[7, 9]).unwrap();
        safetensors::serialize([("w", view), ("b", vector), ("ids", ids)], &metadata).unwrap()
    }

    fn values(bytes: &[u8], name: &str) -> (Dtype, Vec<u8>) {
        let file = SafeTensors::deserialize(bytes).unwrap();
        let view = file.tensor(name).unwrap();
        (view.dtype(), view.data().to_vec())
    }

    #[test]
    fn a_float32_file_is_borrowed_not_copied() {
        let bytes = file(&[1.0, -2.5], None);
        assert!(matches!(widen_to_f32(&bytes).unwrap(), Cow::Borrowed(_)));
        assert!(!is_half_precision(&bytes).unwrap());
    }

    #[test]
    fn float16_halves_the_size_and_widens_back_within_its_precision() {
        let weights: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
        let original = file(&weights, Some(metadata.clone()));
        let half = narrow_to_f16(&original).unwrap();
        assert!(half.len() < original.len() * 6 / 10, "{}", half.len());
        assert!(is_half_precision(&half).unwrap());
        assert_eq!(values(&half, "ids"), (Dtype::U8, vec![7, 9]), "kept");
        let vector = (Dtype::F32, 1e-6f32.to_le_bytes().to_vec());
        assert_eq!(values(&half, "b"), vector, "vectors stay float32");

        let wide = widen_to_f32(&half).unwrap();
        let (dtype, data) = values(&wide, "w");
        assert_eq!(dtype, Dtype::F32);
        for (b, &x) in data.chunks_exact(4).zip(&weights) {
            let y = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            assert!((x - y).abs() <= x.abs() / 1024.0, "{x} -> {y}");
        }
        let (_, header) = SafeTensors::read_metadata(&wide).unwrap();
        assert_eq!(header.metadata(), &Some(metadata));
    }

    #[test]
    fn a_value_float16_cannot_hold_is_refused_by_name() {
        let err = narrow_to_f16(&file(&[1.0, 1e6], None)).unwrap_err();
        assert!(err.to_string().contains("`w` holds 1000000"), "{err}");
    }

    #[test]
    fn bfloat16_widens_too() {
        let data: Vec<u8> = [1.5f32, -0.25]
            .iter()
            .flat_map(|&x| bf16::from_f32(x).to_le_bytes())
            .collect();
        let view = TensorView::new(Dtype::BF16, vec![2], &data).unwrap();
        let bytes = safetensors::serialize([("w", view)], &None).unwrap();
        let (dtype, data) = values(&widen_to_f32(&bytes).unwrap(), "w");
        assert_eq!(dtype, Dtype::F32);
        assert_eq!(data, [1.5f32, -0.25].map(f32::to_le_bytes).concat());
    }

    #[test]
    fn bytes_that_are_not_safetensors_are_an_error() {
        assert!(matches!(
            widen_to_f32(b"not a weights file"),
            Err(PrecisionError::Format(_))
        ));
    }
}
