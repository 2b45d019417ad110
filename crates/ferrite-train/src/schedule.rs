use std::f64::consts::PI;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the learning rate moves during training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LrSchedule {
    /// Constant, divided by `factor` when validation loss stops improving (Keras'
    /// ReduceLROnPlateau, as the report used).
    Plateau,
    /// Linear warm-up for the first epoch, then cosine decay to 1% of the base rate.
    Cosine,
    /// One-cycle: warm-up over the first 30% of steps to the base rate, cosine down after.
    OneCycle,
}

impl FromStr for LrSchedule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "plateau" => Ok(LrSchedule::Plateau),
            "cosine" => Ok(LrSchedule::Cosine),
            "one-cycle" | "onecycle" => Ok(LrSchedule::OneCycle),
            other => Err(format!(
                "unknown schedule `{other}` (plateau, cosine, one-cycle)"
            )),
        }
    }
}

impl LrSchedule {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            LrSchedule::Plateau => "plateau",
            LrSchedule::Cosine => "cosine",
            LrSchedule::OneCycle => "one-cycle",
        }
    }

    /// Learning rate at `step` of `total` steps (`steps_per_epoch` per epoch), before any
    /// plateau reduction.
    pub fn lr_at(self, base: f64, step: usize, total: usize, steps_per_epoch: usize) -> f64 {
        let t = step as f64;
        let total = total.max(1) as f64;
        let floor = base * 0.01;
        match self {
            LrSchedule::Plateau => base,
            LrSchedule::Cosine => {
                let warm = steps_per_epoch.max(1) as f64;
                if t < warm {
                    base * (t + 1.0) / warm
                } else {
                    let p = ((t - warm) / (total - warm).max(1.0)).min(1.0);
                    floor + 0.5 * (base - floor) * (1.0 + (PI * p).cos())
                }
            }
            LrSchedule::OneCycle => {
                let peak = 0.3 * total;
                if t < peak {
                    let p = t / peak;
                    base * 0.04 + (base - base * 0.04) * 0.5 * (1.0 - (PI * p).cos())
                } else {
                    let p = ((t - peak) / (total - peak).max(1.0)).min(1.0);
                    floor + 0.5 * (base - floor) * (1.0 + (PI * p).cos())
                }
            }
        }
    }
}

/// ReduceLROnPlateau state: tracks the best validation loss and the current multiplier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    /// Multiplier applied to the scheduled rate.
    pub scale: f64,
    /// Best validation loss seen (none before the first epoch).
    pub best: Option<f64>,
    /// Epochs since the best.
    pub waited: usize,
    /// Epochs without improvement before reducing.
    pub patience: usize,
    /// Reduction factor.
    pub factor: f64,
    /// Smallest multiplier allowed.
    pub min_scale: f64,
}

impl Plateau {
    /// Keras-like defaults: patience 3, factor 0.5, never below 1/64 of the base rate.
    pub fn new(patience: usize) -> Plateau {
        Plateau {
            scale: 1.0,
            best: None,
            waited: 0,
            patience,
            factor: 0.5,
            min_scale: 1.0 / 64.0,
        }
    }

    /// Records an epoch's validation loss; returns true when the rate was reduced.
    pub fn observe(&mut self, val_loss: f64) -> bool {
        if self.best.is_none_or(|best| val_loss < best - 1e-4) {
            self.best = Some(val_loss);
            self.waited = 0;
            return false;
        }
        self.waited += 1;
        if self.waited >= self.patience && self.scale > self.min_scale {
            self.scale = (self.scale * self.factor).max(self.min_scale);
            self.waited = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_warms_up_then_decays_to_one_percent() {
        let s = LrSchedule::Cosine;
        assert!(s.lr_at(1e-3, 0, 1000, 100) < 2e-5);
        assert!((s.lr_at(1e-3, 99, 1000, 100) - 1e-3).abs() < 1e-9);
        assert!(s.lr_at(1e-3, 500, 1000, 100) < 1e-3);
        assert!((s.lr_at(1e-3, 1000, 1000, 100) - 1e-5).abs() < 1e-9);
    }

    #[test]
    fn one_cycle_peaks_at_thirty_percent() {
        let s = LrSchedule::OneCycle;
        let peak = s.lr_at(1e-3, 300, 1000, 100);
        assert!((peak - 1e-3).abs() < 1e-9);
        assert!(s.lr_at(1e-3, 100, 1000, 100) < peak);
        assert!(s.lr_at(1e-3, 900, 1000, 100) < peak);
    }

    #[test]
    fn plateau_halves_after_patience() {
        let mut p = Plateau::new(2);
        assert!(!p.observe(1.0));
        assert!(!p.observe(1.1));
        assert!(p.observe(1.2));
        assert_eq!(p.scale, 0.5);
        assert!(!p.observe(0.9));
        assert_eq!(p.best, Some(0.9));
    }
}
