//! Where a model comes from, resolved in one place for every subcommand, the server and the
//! library: a model folder or the name of a model shipped inside the binary (`--model`), then
//! `$FERRITE_MODEL`, then the default shipped model. Shipped models are embedded with
//! `include_bytes!`, so a copied or installed binary works from any folder with no source tree
//! in reach.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::{ModelBundle, ModelCard, ModelError};

/// The environment variable that names the model when no `--model` is given.
pub const MODEL_ENV: &str = "FERRITE_MODEL";

/// A model embedded in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ShippedModel {
    /// The `wide` CNN: the most accurate model (`models/ferrite`, 687 MFLOP a face).
    #[default]
    Accurate,
    /// The `fast` CNN distilled from `accurate` (`models/fast`, 60 MFLOP a face): for many
    /// faces a second on a small CPU (webcam, video, a busy server).
    Fast,
}

impl ShippedModel {
    /// Every shipped model.
    pub const ALL: [ShippedModel; 2] = [ShippedModel::Accurate, ShippedModel::Fast];

    /// The name `--model` takes.
    pub fn name(self) -> &'static str {
        match self {
            ShippedModel::Accurate => "accurate",
            ShippedModel::Fast => "fast",
        }
    }

    /// The model's card and weights, as embedded at build time.
    fn files(self) -> (&'static str, &'static [u8]) {
        match self {
            ShippedModel::Accurate => (
                include_str!("../../../models/ferrite/card.json"),
                include_bytes!("../../../models/ferrite/model.safetensors"),
            ),
            ShippedModel::Fast => (
                include_str!("../../../models/fast/card.json"),
                include_bytes!("../../../models/fast/model.safetensors"),
            ),
        }
    }

    /// The embedded `card.json`, as text (what the browser's private mode fetches).
    pub fn card_json(self) -> &'static str {
        self.files().0
    }

    /// The embedded `model.safetensors`, as stored (float16: what the browser's private mode
    /// fetches); [`ShippedModel::bundle`] widens it to float32 for the engines.
    pub fn weights(self) -> &'static [u8] {
        self.files().1
    }

    /// The embedded card.
    pub fn card(self) -> ModelCard {
        ModelCard::parse(self.files().0).expect("an embedded model card is valid (tested)")
    }

    /// The embedded card and weights, widened to float32 (a copy, made once per load).
    pub fn bundle(self) -> ModelBundle {
        ModelBundle::new(self.card(), Cow::Borrowed(self.weights()))
            .expect("embedded weights are a valid safetensors file (tested)")
    }

    /// The shipped model called `name` (`accurate`, `fast`).
    pub fn from_name(name: &str) -> Option<ShippedModel> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The names of every shipped model, comma-separated.
    pub fn names() -> String {
        Self::ALL.map(|m| m.name()).join(", ")
    }
}

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelSource {
    /// A model embedded in the binary.
    Shipped(ShippedModel),
    /// A model directory (`card.json` + `model.safetensors`).
    Dir(PathBuf),
    /// `@NAME`: the model that the stage called `NAME` of a recipe made, `@previous` the stage
    /// before's (a stage's teacher can be the model it starts from, or one a few stages back).
    /// Only a recipe resolves it, to that stage's folder; anywhere else loading it is an error
    /// that says so.
    Stage(String),
}

/// The prefix of a recipe stage's model ([`ModelSource::Stage`]): `@NAME`.
const STAGE_PREFIX: char = '@';

impl Default for ModelSource {
    fn default() -> Self {
        ModelSource::Shipped(ShippedModel::default())
    }
}

impl FromStr for ModelSource {
    type Err = String;

    /// A shipped model's name (`accurate`, `fast`) names that model, `@NAME` a recipe stage's;
    /// anything else is a directory. A folder that has one of those names is reached with a
    /// path (`./accurate`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().is_empty() {
            return Err(format!(
                "an empty model name: give a model folder or one of {}",
                ShippedModel::names()
            ));
        }
        if let Some(stage) = s.strip_prefix(STAGE_PREFIX) {
            if stage.is_empty() {
                return Err(
                    "`@` needs a recipe stage's name (`@previous`: the stage before)".into(),
                );
            }
            return Ok(ModelSource::Stage(stage.to_string()));
        }
        Ok(match ShippedModel::from_name(s) {
            Some(model) => ModelSource::Shipped(model),
            None => ModelSource::Dir(PathBuf::from(s)),
        })
    }
}

/// Saved as the text that names it on a command line (`accurate`, or the folder).
impl serde::Serialize for ModelSource {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_arg())
    }
}

impl<'de> serde::Deserialize<'de> for ModelSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for ModelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelSource::Shipped(model) => {
                write!(f, "{} (shipped, embedded in the binary)", model.name())
            }
            ModelSource::Dir(dir) => write!(f, "{}", dir.display()),
            ModelSource::Stage(stage) => {
                write!(f, "{STAGE_PREFIX}{stage} (the model a recipe stage made)")
            }
        }
    }
}

impl ModelSource {
    /// The stage `@previous` names: the one before.
    pub const PREVIOUS_STAGE: &'static str = "previous";

    /// The model to use: `choice` (from `--model`) if given, else `$FERRITE_MODEL` if set, else
    /// the default shipped model.
    pub fn resolve(choice: Option<ModelSource>) -> Result<ModelSource, ModelError> {
        Self::resolve_with(choice, std::env::var_os(MODEL_ENV))
    }

    /// [`ModelSource::resolve`] with the environment's value passed in.
    fn resolve_with(
        choice: Option<ModelSource>,
        env: Option<std::ffi::OsString>,
    ) -> Result<ModelSource, ModelError> {
        if let Some(choice) = choice {
            return Ok(choice);
        }
        match env {
            None => Ok(ModelSource::default()),
            Some(value) => {
                let text = value.to_str().ok_or_else(|| ModelError::Env {
                    reason: format!("{value:?} is not valid UTF-8"),
                })?;
                text.parse().map_err(|reason| ModelError::Env { reason })
            }
        }
    }

    /// The text that names this source on a command line (`accurate`, or the folder).
    pub fn to_arg(&self) -> String {
        match self {
            ModelSource::Shipped(model) => model.name().to_string(),
            ModelSource::Dir(dir) => dir.display().to_string(),
            ModelSource::Stage(stage) => format!("{STAGE_PREFIX}{stage}"),
        }
    }

    /// The model directory, for a model on disk.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            ModelSource::Shipped(_) | ModelSource::Stage(_) => None,
            ModelSource::Dir(dir) => Some(dir),
        }
    }

    /// The model's card only (cheap).
    pub fn read_card(&self) -> Result<ModelCard, ModelError> {
        match self {
            ModelSource::Shipped(model) => Ok(model.card()),
            ModelSource::Dir(dir) => ModelBundle::read_card(dir),
            ModelSource::Stage(stage) => Err(ModelError::OutsideRecipe {
                stage: stage.clone(),
            }),
        }
    }

    /// The model's card and weights.
    pub fn load(&self) -> Result<ModelBundle, ModelError> {
        match self {
            ModelSource::Shipped(model) => Ok(model.bundle()),
            ModelSource::Dir(dir) => ModelBundle::read(dir),
            ModelSource::Stage(stage) => Err(ModelError::OutsideRecipe {
                stage: stage.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shipped_models_and_everything_else_is_a_folder() {
        assert_eq!(
            "accurate".parse::<ModelSource>(),
            Ok(ModelSource::Shipped(ShippedModel::Accurate))
        );
        assert_eq!(
            "fast".parse::<ModelSource>(),
            Ok(ModelSource::Shipped(ShippedModel::Fast))
        );
        assert_eq!(
            "./accurate".parse::<ModelSource>(),
            Ok(ModelSource::Dir("./accurate".into()))
        );
        assert_eq!(
            "runs/wide".parse::<ModelSource>(),
            Ok(ModelSource::Dir("runs/wide".into()))
        );
        assert!("".parse::<ModelSource>().is_err());
        let previous = "@previous".parse::<ModelSource>().unwrap();
        assert_eq!(previous, ModelSource::Stage("previous".into()));
        assert_eq!(previous.to_arg(), "@previous", "saved as it is written");
        for err in [previous.load().err(), previous.read_card().err()] {
            let err = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains("only in a later stage of a recipe"), "{err:?}");
        }
        assert_eq!(
            "@cpu-11".parse::<ModelSource>(),
            Ok(ModelSource::Stage("cpu-11".into()))
        );
        assert!("@".parse::<ModelSource>().is_err());
    }

    #[test]
    fn the_flag_wins_over_the_environment_which_wins_over_the_default() {
        let flag = ModelSource::Dir("a".into());
        let env = Some("b".into());
        assert_eq!(
            ModelSource::resolve_with(Some(flag.clone()), env.clone()).unwrap(),
            flag
        );
        assert_eq!(
            ModelSource::resolve_with(None, env).unwrap(),
            ModelSource::Dir("b".into())
        );
        assert_eq!(
            ModelSource::resolve_with(None, Some("accurate".into())).unwrap(),
            ModelSource::Shipped(ShippedModel::Accurate)
        );
        assert_eq!(
            ModelSource::resolve_with(None, None).unwrap(),
            ModelSource::default()
        );
        let err = ModelSource::resolve_with(None, Some("".into())).unwrap_err();
        assert!(err.to_string().contains("FERRITE_MODEL"), "{err}");
    }

    #[test]
    fn every_shipped_model_is_embedded_whole() {
        for model in ShippedModel::ALL {
            let bundle = model.bundle();
            assert!(!bundle.card.training.legs.is_empty(), "{}", model.name());
            assert_eq!(
                Some(bundle.card.arch.name.as_str()),
                match model {
                    ShippedModel::Accurate => Some("wide"),
                    ShippedModel::Fast => Some("fast-deep"),
                }
            );
            // Stored in float16, handed to the engines in float32.
            assert!(crate::is_half_precision(model.weights()).unwrap());
            assert!(!crate::is_half_precision(&bundle.weights).unwrap());
        }
        let digests = ShippedModel::ALL.map(|m| m.bundle().weights_sha256());
        assert!(digests.iter().all(|d| d.len() == 64), "{digests:?}");
        assert_ne!(digests[0], digests[1], "each model its own digest");
        assert_eq!(digests[0], ShippedModel::Accurate.bundle().weights_sha256());
    }
}
