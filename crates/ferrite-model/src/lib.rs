//! Ferrite's emotion CNN, defined once: the architecture spec ([`ArchSpec`]), its burn
//! implementation ([`FerNet`]), the model directory on disk ([`ModelBundle`]: weights in
//! safetensors plus a JSON model card) and a batch classifier for 48x48 faces ([`Classifier`]).

mod arch;
mod bundle;
mod card;
mod classifier;
mod engine;
mod error;
mod net;

pub use arch::{ArchSpec, BlockSpec};
pub use bundle::{default_model_dir, write_atomically, ModelBundle, CARD_FILE, WEIGHTS_FILE};
pub use card::{ModelCard, FORMAT_VERSION};
pub use classifier::Classifier;
pub use engine::Engine;
pub use error::ModelError;
pub use net::FerNet;

/// The device the burn reference engine runs on for CPU work (the Flex backend).
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
