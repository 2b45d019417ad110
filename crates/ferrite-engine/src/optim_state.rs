//! The file format of an optimizer's state in a checkpoint: lists of per-parameter tensors
//! under a name each (`m.0`, `m.1`, ... for Adam's first moments), and the step count.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;

use crate::WeightsError;

/// Serialises `groups` (a name and one tensor per parameter each) and `step`.
pub(crate) fn write(groups: &[(&str, &[Vec<f32>])], step: u32) -> Vec<u8> {
    let bytes: Vec<(String, Vec<u8>, usize)> = groups
        .iter()
        .flat_map(|(name, tensors)| {
            tensors.iter().enumerate().map(move |(i, t)| {
                (
                    format!("{name}.{i}"),
                    t.iter().flat_map(|x| x.to_le_bytes()).collect(),
                    t.len(),
                )
            })
        })
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(name, data, len)| {
            let view = TensorView::new(Dtype::F32, vec![*len], data).expect("sizes match");
            (name.clone(), view)
        })
        .collect();
    let metadata = HashMap::from([("step".to_string(), step.to_string())]);
    safetensors::serialize(views, &Some(metadata)).expect("optimizer state serialises")
}

/// One tensor per parameter.
pub(crate) type TensorGroup = Vec<Vec<f32>>;

/// Reads what [`write`] wrote: the step count and the tensors of each group in `names`.
pub(crate) fn read(bytes: &[u8], names: &[&str]) -> Result<(u32, Vec<TensorGroup>), WeightsError> {
    let (_, header) =
        SafeTensors::read_metadata(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let step = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("step"))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| WeightsError::Missing("step".into()))?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let group = |prefix: &str| -> TensorGroup {
        (0..)
            .map_while(|i| file.tensor(&format!("{prefix}.{i}")).ok())
            .map(|t| {
                t.data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect()
    };
    Ok((step, names.iter().map(|name| group(name)).collect()))
}
