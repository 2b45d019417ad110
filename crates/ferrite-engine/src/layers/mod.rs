//! The layers of Ferrite's CNNs, forward and backward, on channels-last (NHWC) buffers.

pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod dropout;
pub mod fused;
pub mod pool;
pub mod valid;
mod winograd;
