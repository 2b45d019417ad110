//! Ferrite's CNN on burn 0.22: the reference implementation that the engine is tested against
//! (`tests/parity.rs`), `ferrite train --engine burn` and `ferrite eval --engine burn`, and the
//! GPU path through burn's wgpu backend on Vulkan (the `vulkan` feature).
//!
//! Invariant: this is the only crate of the inference side's dependency graph that names burn,
//! and nothing on that side depends on it: the engine, inference and the server build without
//! it. The CLI reaches it through `ferrite-train`'s `burn` feature.

mod classifier;
mod net;
mod weights;

pub use classifier::{faces_to_tensor, Classifier};
pub use net::FerNet;
pub use weights::{load_net, net_to_safetensors};

/// The device the burn reference engine runs on for CPU work (the Flex backend).
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
