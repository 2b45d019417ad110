//! Ferrite's emotion CNN as data, with no engine attached: the architecture spec
//! ([`ArchSpec`]), the model card with its typed training record ([`ModelCard`],
//! [`TrainingRecord`]), the model directory on disk ([`ModelBundle`]: safetensors weights plus
//! the card) and where a model comes from ([`ModelSource`]: a folder, `$FERRITE_MODEL`, or a
//! model embedded in the binary).
//!
//! Invariant: this crate depends on no tensor library. The engines that run a model
//! (`ferrite-engine`, and burn in `ferrite-burn`) read the same weights bytes from a bundle,
//! always float32: a file stored in float16 is widened once, here ([`widen_to_f32`]), when the
//! bundle is built.

mod arch;
mod bundle;
mod calibration;
mod card;
mod engine;
mod error;
mod precision;
mod source;
mod training;
mod update;

pub use arch::{ArchSpec, BlockSpec};
pub use bundle::{write_atomically, ModelBundle, CARD_FILE, WEIGHTS_FILE};
pub use calibration::{temper, CalibrationObjective, TemperatureScaling, TtaTemperature};
pub use card::{ModelCard, FORMAT_VERSION};
pub use engine::{Engine, TrainDevice};
pub use error::ModelError;
pub use precision::{is_half_precision, narrow_to_f16, widen_to_f32, PrecisionError};
pub use source::{ModelSource, ShippedModel, MODEL_ENV};
pub use training::{
    DataRecord, Distillation, EpochRecord, Recipe, Sitting, TeacherTargets, TrainingLeg,
    TrainingRecord,
};
pub use update::{Optimizer, UpdateRule, DEFAULT_MOMENTUM};
