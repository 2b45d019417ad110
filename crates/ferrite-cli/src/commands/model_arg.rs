//! `--model`, the same in every subcommand that uses a model: parsed once into a
//! [`ModelSource`] and resolved through [`ModelSource::resolve`], the one resolver.

use clap::Args;

use ferrite_model::ModelSource;

/// The model a subcommand uses.
#[derive(Args, Clone, Debug)]
pub struct ModelArg {
    /// Model: the name of a shipped model (accurate) or a model folder (card.json +
    /// model.safetensors). Default: $FERRITE_MODEL if set, else the shipped `accurate` model,
    /// embedded in this binary.
    #[arg(long, value_name = "NAME|DIR")]
    model: Option<ModelSource>,
}

impl ModelArg {
    /// The model to use: `--model`, else `$FERRITE_MODEL`, else the shipped default.
    pub fn resolve(&self) -> anyhow::Result<ModelSource> {
        Ok(ModelSource::resolve(self.model.clone())?)
    }
}
