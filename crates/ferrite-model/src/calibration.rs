//! Temperature scaling (Guo et al., 2017): a model's probabilities made honest after training
//! by one number, fitted on a validation split. `p' = softmax(log p / T)`: `T > 1` softens an
//! over-confident model, `T < 1` sharpens an under-confident one; the most probable emotion
//! never changes.

use std::fmt;
use std::str::FromStr;

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
}

impl TemperatureScaling {
    /// Scales one face's probabilities (label order, summing to 1) in place.
    pub fn apply(&self, p: &mut [f32]) {
        temper(p, self.temperature);
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
}
