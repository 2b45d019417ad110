//! `--model`, the same in every subcommand that uses a model: parsed once into a
//! [`ModelSource`] and resolved through [`ModelSource::resolve`], the one resolver.

use clap::Args;

use ferrite_model::{ModelSource, ShippedModel, MODEL_ENV};

/// The model a subcommand uses.
#[derive(Args, Clone, Debug)]
pub struct ModelArg {
    /// Model: a shipped model, `accurate` (the wide CNN, 687 MFLOP a face) or `fast` (60
    /// MFLOP, distilled from it), or a model folder (card.json + model.safetensors). Default:
    /// $FERRITE_MODEL if set, else `accurate`. Both shipped models are embedded in this binary.
    #[arg(long, value_name = "NAME|DIR")]
    model: Option<ModelSource>,
}

impl ModelArg {
    /// The model to use: `--model`, else `$FERRITE_MODEL`, else the shipped default.
    pub fn resolve(&self) -> anyhow::Result<ModelSource> {
        Ok(ModelSource::resolve(self.model.clone())?)
    }

    /// The model `--model` names, if it was given.
    pub fn given(&self) -> Option<&ModelSource> {
        self.model.as_ref()
    }

    /// The model of `--model` or `$FERRITE_MODEL` when either names one, else every shipped
    /// model (for measurements that compare them).
    pub fn resolve_or_every_shipped(&self) -> anyhow::Result<Vec<ModelSource>> {
        if self.model.is_some() || std::env::var_os(MODEL_ENV).is_some() {
            return Ok(vec![self.resolve()?]);
        }
        Ok(ShippedModel::ALL.map(ModelSource::Shipped).to_vec())
    }
}
