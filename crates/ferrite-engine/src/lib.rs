//! Ferrite's own CPU engine for its CNNs: the layers of an [`ferrite_model::ArchSpec`] network,
//! forward and backward, on channels-last buffers, with matrix products on the `gemm` crate and
//! element-wise work on rayon. It reads and writes the same `model.safetensors` as the burn
//! reference model.

pub mod adam;
mod average;
mod buffers;
mod classify;
mod inference;
pub mod layers;
pub mod loss;
mod matmul;
mod net;
mod optim_state;
mod sgd;
mod simd;
mod weights;
mod worker;

pub use adam::Adam;
pub use average::WeightAverage;
pub use classify::{ensemble_log_probabilities, ensemble_probabilities};
pub use inference::InferenceNet;
pub use loss::{distillation_loss, softmax_cross_entropy};
pub use matmul::{matmul, Operand};
pub use net::{ConvLayer, Grads, HiddenLayer, Network, Trace};
pub use sgd::Sgd;
pub use weights::{dense_rows_to_nchw, WeightsError};
