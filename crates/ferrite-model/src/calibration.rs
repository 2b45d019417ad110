//! Temperature scaling (Guo et al., 2017): a model's probabilities made honest after training
//! by one number, fitted on a validation split. `p' = softmax(log p / T)`: `T > 1` softens an
//! over-confident model, `T < 1` sharpens an under-confident one; the most probable emotion
//! never changes.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use ferrite_data::Tta;
use serde::{Deserialize, Serialize};

/// What a temperature is chosen to minimise on its split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalibrationObjective {
    /// The negative log-likelihood of the labels (Guo et al.'s choice; cards before this field
    /// were all fitted so).
    #[default]
    Likelihood,
    /// The expected calibration error itself (15 bins): for a model whose miscalibration differs
    /// by confidence, where the likeliest temperature leaves the error high.
    Ece,
}

impl fmt::Display for CalibrationObjective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CalibrationObjective::Likelihood => "likelihood",
            CalibrationObjective::Ece => "ece",
        })
    }
}

impl FromStr for CalibrationObjective {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "likelihood" | "nll" => Ok(CalibrationObjective::Likelihood),
            "ece" => Ok(CalibrationObjective::Ece),
            other => Err(format!(
                "unknown calibration objective {other:?}: likelihood or ece"
            )),
        }
    }
}

/// A model's temperature, as its card records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemperatureScaling {
    /// The temperature every probability the model gives goes through.
    pub temperature: f32,
    /// The split it was fitted on (never the one reported as the model's figure).
    pub fitted_on: String,
    /// What the temperature minimises on that split.
    #[serde(default)]
    pub objective: CalibrationObjective,
    /// Expected calibration error on that split before scaling (15 bins).
    pub ece_before: f64,
    /// And after.
    pub ece_after: f64,
    /// Temperatures fitted for probabilities averaged over a test-time augmentation's views
    /// (`ferrite calibrate --tta KIND`), by its name (`flip`, `zoom`, ...): an average of
    /// several views is softer than one view, so it needs a temperature of its own. A kind
    /// without one uses `temperature`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub with_tta: BTreeMap<String, TtaTemperature>,
}

/// A temperature fitted for one test-time augmentation, on the single view's split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TtaTemperature {
    /// The temperature the averaged probabilities go through.
    pub temperature: f32,
    /// What it minimises on the split.
    pub objective: CalibrationObjective,
    /// Expected calibration error of the averaged probabilities on the split, before scaling.
    pub ece_before: f64,
    /// And after.
    pub ece_after: f64,
}

impl TemperatureScaling {
    /// The temperature for probabilities averaged over `tta`'s views: the one fitted for that
    /// augmentation, else the single view's.
    pub fn temperature_for(&self, tta: Tta) -> f32 {
        self.with_tta
            .get(tta.name())
            .map_or(self.temperature, |t| t.temperature)
    }

    /// Scales one face's probabilities (label order, summing to 1), averaged over `tta`'s
    /// views, in place.
    pub fn apply(&self, p: &mut [f32], tta: Tta) {
        temper(p, self.temperature_for(tta));
    }
}

/// `p = softmax(log p / t)` in place: the probabilities a softmax of the logits divided by `t`
/// gives (the log-sum-exp the logits lost cancels out).
pub fn temper(p: &mut [f32], t: f32) {
    let logs: Vec<f32> = p.iter().map(|&v| v.max(1e-30).ln() / t).collect();
    let max = logs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (v, l) in p.iter_mut().zip(&logs) {
        *v = (l - max).exp();
        sum += *v;
    }
    p.iter_mut().for_each(|v| *v /= sum);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_softens_or_sharpens_but_keeps_the_order() {
        let p = [0.7, 0.2, 0.1];
        let mut soft = p;
        temper(&mut soft, 2.0);
        let mut sharp = p;
        temper(&mut sharp, 0.5);
        assert!(soft[0] < p[0] && sharp[0] > p[0]);
        for q in [soft, sharp] {
            assert!((q.iter().sum::<f32>() - 1.0).abs() < 1e-6);
            assert!(q[0] > q[1] && q[1] > q[2]);
        }
        let mut same = p;
        temper(&mut same, 1.0);
        assert!(same.iter().zip(&p).all(|(a, b)| (a - b).abs() < 1e-6));
        // softmax(log p / 2) is proportional to sqrt(p).
        let norm: f32 = p.iter().map(|v: &f32| v.sqrt()).sum();
        assert!((soft[0] - 0.7f32.sqrt() / norm).abs() < 1e-6);
    }

    #[test]
    fn an_augmentation_uses_its_own_temperature_or_the_single_views() {
        let mut scaling = TemperatureScaling {
            temperature: 1.1,
            fitted_on: "public-test".into(),
            objective: CalibrationObjective::Likelihood,
            ece_before: 0.03,
            ece_after: 0.02,
            with_tta: BTreeMap::new(),
        };
        let older_card = serde_json::to_string(&scaling).unwrap();
        assert!(!older_card.contains("with_tta"), "{older_card}");
        let zoom = TtaTemperature {
            temperature: 0.9,
            objective: CalibrationObjective::Ece,
            ece_before: 0.035,
            ece_after: 0.014,
        };
        scaling.with_tta.insert(Tta::Zoom.name().into(), zoom);
        assert_eq!(scaling.temperature_for(Tta::Zoom), 0.9);
        assert_eq!(scaling.temperature_for(Tta::Flip), 1.1);
        assert_eq!(scaling.temperature_for(Tta::Off), 1.1);
        let mut p = [0.6, 0.3, 0.1];
        scaling.apply(&mut p, Tta::Zoom);
        let mut expected = [0.6, 0.3, 0.1];
        temper(&mut expected, 0.9);
        assert_eq!(p, expected);
        let read: TemperatureScaling =
            serde_json::from_str(&serde_json::to_string(&scaling).unwrap()).unwrap();
        assert_eq!(read, scaling);
        let read_old: TemperatureScaling = serde_json::from_str(&older_card).unwrap();
        assert!(read_old.with_tta.is_empty());
    }
}
