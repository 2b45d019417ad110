//! How a training run updates the weights: the optimizer, its momentum and weight decay, the
//! running average of the weights that is validated and saved instead of the last step's, and
//! where each step's gradient is taken (sharpness-aware minimisation).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The optimizer of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Adam (betas 0.9, 0.999), as the report trained; cards before this option used it.
    #[default]
    Adam,
    /// Stochastic gradient descent with heavy-ball momentum.
    Sgd,
    /// Stochastic gradient descent with Nesterov momentum, as the best published FER2013 CNNs
    /// train.
    Nesterov,
}

impl Optimizer {
    /// The name `--optimizer` takes.
    pub fn name(self) -> &'static str {
        match self {
            Optimizer::Adam => "adam",
            Optimizer::Sgd => "sgd",
            Optimizer::Nesterov => "nesterov",
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl std::str::FromStr for Optimizer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "adam" => Ok(Optimizer::Adam),
            "sgd" => Ok(Optimizer::Sgd),
            "nesterov" => Ok(Optimizer::Nesterov),
            other => Err(format!("unknown optimizer `{other}` (adam, sgd, nesterov)")),
        }
    }
}

/// The momentum of SGD when none is given (PyTorch's usual choice).
pub const DEFAULT_MOMENTUM: f32 = 0.9;

fn default_momentum() -> f32 {
    DEFAULT_MOMENTUM
}

/// The update rule of a run. Every field has a default, so run configurations and cards
/// written before these options read as what those runs did (Adam, no decay, no average).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UpdateRule {
    /// The optimizer.
    #[serde(default)]
    pub optimizer: Optimizer,
    /// Momentum of `sgd` and `nesterov` (Adam has its betas).
    #[serde(default = "default_momentum")]
    pub momentum: f32,
    /// L2 penalty added to every parameter's gradient (PyTorch's `weight_decay`).
    #[serde(default)]
    pub weight_decay: f32,
    /// Decay of an exponential moving average of the weights (and batch-norm statistics),
    /// updated after every step; when set, the average is what is validated and saved.
    #[serde(default)]
    pub ema: Option<f32>,
    /// Radius of sharpness-aware minimisation (SAM; Foret et al., 2021): each step's gradient
    /// is taken at the weights moved this far (in L2 norm) up the batch's gradient, so the
    /// update favours weights whose whole neighbourhood has a low loss. Twice a step's cost.
    #[serde(default)]
    pub sam: Option<f32>,
}

impl Default for UpdateRule {
    fn default() -> Self {
        UpdateRule {
            optimizer: Optimizer::Adam,
            momentum: DEFAULT_MOMENTUM,
            weight_decay: 0.0,
            ema: None,
            sam: None,
        }
    }
}

impl UpdateRule {
    /// Checks the momentum, the decay and the average's decay.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(format!(
                "--momentum {} is out of range [0, 1)",
                self.momentum
            ));
        }
        if !(0.0..0.1).contains(&self.weight_decay) {
            return Err(format!(
                "--weight-decay {} is out of range [0, 0.1)",
                self.weight_decay
            ));
        }
        if let Some(decay) = self.ema {
            if !(decay > 0.0 && decay < 1.0) {
                return Err(format!("--ema {decay} is out of range (0, 1)"));
            }
        }
        if let Some(radius) = self.sam {
            if !(radius > 0.0 && radius <= 1.0) {
                return Err(format!("--sam {radius} is out of range (0, 1]"));
            }
        }
        Ok(())
    }

    /// The `ferrite train` options that repeat this rule (none for the defaults).
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.optimizer != Optimizer::Adam {
            args.push(format!("--optimizer {}", self.optimizer));
            if self.momentum != DEFAULT_MOMENTUM {
                args.push(format!("--momentum {}", self.momentum));
            }
        }
        if self.weight_decay > 0.0 {
            args.push(format!("--weight-decay {}", self.weight_decay));
        }
        if let Some(decay) = self.ema {
            args.push(format!("--ema {decay}"));
        }
        if let Some(radius) = self.sam {
            args.push(format!("--sam {radius}"));
        }
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_without_the_fields_reads_as_adam_without_an_average() {
        let rule: UpdateRule = serde_json::from_str("{}").unwrap();
        assert_eq!(rule, UpdateRule::default());
        assert!(rule.args().is_empty());
    }

    #[test]
    fn the_options_repeat_the_rule() {
        let rule = UpdateRule {
            optimizer: Optimizer::Nesterov,
            momentum: 0.95,
            weight_decay: 5e-4,
            ema: Some(0.999),
            sam: Some(0.05),
        };
        assert_eq!(
            rule.args().join(" "),
            "--optimizer nesterov --momentum 0.95 --weight-decay 0.0005 --ema 0.999 --sam 0.05"
        );
        let text = serde_json::to_string(&rule).unwrap();
        assert_eq!(serde_json::from_str::<UpdateRule>(&text).unwrap(), rule);
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        let bad = |rule: UpdateRule, flag: &str| {
            let e = rule.validate().unwrap_err();
            assert!(e.contains(flag), "{e}");
        };
        bad(
            UpdateRule {
                momentum: 1.0,
                ..Default::default()
            },
            "--momentum",
        );
        bad(
            UpdateRule {
                weight_decay: -1.0,
                ..Default::default()
            },
            "--weight-decay",
        );
        bad(
            UpdateRule {
                ema: Some(1.0),
                ..Default::default()
            },
            "--ema",
        );
        for radius in [0.0, -0.05, 1.5, f32::NAN] {
            bad(
                UpdateRule {
                    sam: Some(radius),
                    ..Default::default()
                },
                "--sam",
            );
        }
        assert!("adamw"
            .parse::<Optimizer>()
            .unwrap_err()
            .contains("nesterov"));
    }
}
