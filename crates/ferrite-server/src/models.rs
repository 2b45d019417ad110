//! The models a request may ask for with `?model=`: the server's own (the `--model` it was
//! started with), and every model shipped inside the binary, each loaded on first use. A
//! request names shipped models only: folders are chosen by whoever starts the server, never
//! by a request.

use std::sync::{Arc, OnceLock};

use ferrite_infer::{EmotionModel, Predictor};
use ferrite_model::{ModelSource, ShippedModel};

/// A request's model, as the batcher groups them: the server's own, or another shipped one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ModelChoice {
    /// The model the server was started with.
    #[default]
    Served,
    /// A shipped model other than the served one.
    Shipped(ShippedModel),
}

/// The server's model and the shipped ones, shared by the handlers and the pool.
pub struct ModelSet {
    predictor: Arc<Predictor>,
    shipped: [OnceLock<EmotionModel>; ShippedModel::ALL.len()],
}

impl ModelSet {
    /// The models of a server whose own model is `predictor`'s.
    pub fn new(predictor: Arc<Predictor>) -> ModelSet {
        ModelSet {
            predictor,
            shipped: Default::default(),
        }
    }

    /// The inference pipeline (the served model and the detector options).
    pub fn predictor(&self) -> &Predictor {
        &self.predictor
    }

    /// What `?model=NAME` asks for: `None` is the served model; a shipped model's name is
    /// that model (the served one when the server runs it); anything else is refused with
    /// the names that are offered.
    pub fn choose(&self, name: Option<&str>) -> Result<ModelChoice, String> {
        let Some(name) = name else {
            return Ok(ModelChoice::Served);
        };
        let model = ShippedModel::from_name(name).ok_or_else(|| {
            format!(
                "unknown model `{name}`: this server offers {}",
                ShippedModel::names()
            )
        })?;
        Ok(
            if *self.predictor.model().source() == ModelSource::Shipped(model) {
                ModelChoice::Served
            } else {
                ModelChoice::Shipped(model)
            },
        )
    }

    /// The model of `choice`, loaded on first use.
    pub fn get(&self, choice: ModelChoice) -> &EmotionModel {
        match choice {
            ModelChoice::Served => self.predictor.model(),
            ModelChoice::Shipped(model) => {
                let slot = ShippedModel::ALL
                    .iter()
                    .position(|&m| m == model)
                    .expect("ALL lists every shipped model");
                self.shipped[slot].get_or_init(|| EmotionModel::shipped_model(model))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_infer::PredictOptions;

    #[test]
    fn requests_name_shipped_models_and_the_served_one_is_not_loaded_twice() {
        let predictor =
            Predictor::new(EmotionModel::accurate(), PredictOptions::default()).unwrap();
        let models = ModelSet::new(Arc::new(predictor));
        assert_eq!(models.choose(None), Ok(ModelChoice::Served));
        assert_eq!(models.choose(Some("accurate")), Ok(ModelChoice::Served));
        let fast = models.choose(Some("fast")).unwrap();
        assert_eq!(fast, ModelChoice::Shipped(ShippedModel::Fast));
        assert_eq!(models.get(fast).card().arch.name, "fast-deep");
        assert_eq!(models.get(ModelChoice::Served).card().arch.name, "wide");
        for bad in ["/etc", "../models/ferrite", "Fast", ""] {
            let err = models.choose(Some(bad)).unwrap_err();
            assert!(err.contains("accurate, fast"), "{err}");
        }
    }
}
