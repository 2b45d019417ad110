//! The emotion classifier behind inference: a model card plus the weights on Ferrite's CPU
//! engine. Models come from [`ModelSource`]: a folder, `$FERRITE_MODEL`, or a model shipped
//! inside the binary, so an installed binary works from any folder.

use ferrite_data::{Tta, NUM_CLASSES};
use ferrite_engine::{InferenceNet, Network};
use ferrite_model::{ModelBundle, ModelCard, ModelSource, ShippedModel};

/// Why a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    /// The folder, card or weights file is missing or unreadable, or `$FERRITE_MODEL` is bad.
    #[error(transparent)]
    Model(#[from] ferrite_model::ModelError),
    /// Weights that do not match the card's architecture.
    #[error("model weights of {model}: {reason}")]
    Weights {
        /// The model.
        model: ModelSource,
        /// What is wrong.
        reason: String,
    },
}

/// A loaded classifier: 48x48 faces in, 7 probabilities out.
pub struct EmotionModel {
    card: ModelCard,
    /// The network, batch norm folded and Winograd weights transformed once, at load.
    net: InferenceNet,
    source: ModelSource,
}

impl EmotionModel {
    /// The default model shipped inside this binary (`accurate`).
    pub fn shipped() -> EmotionModel {
        Self::shipped_model(ShippedModel::default())
    }

    /// The most accurate shipped model (the `wide` CNN, 687 MFLOP a face).
    pub fn accurate() -> EmotionModel {
        Self::shipped_model(ShippedModel::Accurate)
    }

    /// The fast shipped model (60 MFLOP a face, distilled from `accurate`): for webcams,
    /// video and busy servers on small CPUs.
    pub fn fast() -> EmotionModel {
        Self::shipped_model(ShippedModel::Fast)
    }

    /// A model shipped inside this binary.
    pub fn shipped_model(model: ShippedModel) -> EmotionModel {
        Self::from_source(&ModelSource::Shipped(model))
            .expect("the embedded weights match their card (tested)")
    }

    /// Loads the model `source`.
    pub fn from_source(source: &ModelSource) -> Result<EmotionModel, ModelLoadError> {
        Self::from_bundle(source.load()?, source.clone())
    }

    /// A model from a card and weights already in memory (e.g. fetched by a browser), which
    /// came from `source`.
    pub fn from_bundle(
        bundle: ModelBundle,
        source: ModelSource,
    ) -> Result<EmotionModel, ModelLoadError> {
        let net = Network::from_safetensors(&bundle.card.arch, &bundle.weights).map_err(|e| {
            ModelLoadError::Weights {
                model: source.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(EmotionModel {
            card: bundle.card,
            net: InferenceNet::new(&net),
            source,
        })
    }

    /// `choice` (a `--model` value) if given, else `$FERRITE_MODEL` if set, else the default
    /// shipped model ([`ModelSource::resolve`]).
    pub fn load(choice: Option<ModelSource>) -> Result<EmotionModel, ModelLoadError> {
        Self::from_source(&ModelSource::resolve(choice)?)
    }

    /// The model card.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// Where the model came from.
    pub fn source(&self) -> &ModelSource {
        &self.source
    }

    /// Where the model came from, in words: a folder, or a shipped model's name.
    pub fn origin(&self) -> String {
        self.source.to_string()
    }

    /// Probabilities (label order) for 48x48 faces: of the window the model reads (the whole
    /// face, or the centre crop of a model trained on crops), or averaged over the views of
    /// `tta` (the mirror image; ten crops; a closer view). They go through the card's
    /// temperature for `tta` when it has one ([`ferrite_model::TemperatureScaling`]).
    pub fn classify(&self, faces: &[&[u8]], tta: Tta) -> Vec<[f32; NUM_CLASSES]> {
        let mut probabilities = self.net.predict(faces, tta);
        if let Some(scaling) = &self.card.calibration {
            let kind = tta.for_side(self.card.arch.input_size);
            probabilities
                .iter_mut()
                .for_each(|p| scaling.apply(p, kind));
        }
        probabilities
    }
}
