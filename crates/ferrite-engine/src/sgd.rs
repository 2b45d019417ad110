//! Stochastic gradient descent with momentum, on the engine's flat parameter list.

use crate::{optim_state, WeightsError};

/// SGD with heavy-ball or Nesterov momentum and an L2 penalty, as PyTorch's `torch.optim.SGD`
/// with dampening 0 (and burn's `SgdConfig` with the same settings): `g += decay * p`;
/// `v = momentum * v + g` (`v = g` on the first step); `p -= lr * (g + momentum * v)` with
/// Nesterov, `p -= lr * v` without.
#[derive(Debug, Clone, Default)]
pub struct Sgd {
    /// The momentum factor.
    pub momentum: f32,
    /// Nesterov's look-ahead form of momentum.
    pub nesterov: bool,
    /// L2 penalty added to each gradient.
    pub weight_decay: f32,
    step: u32,
    velocity: Vec<Vec<f32>>,
}

impl Sgd {
    /// SGD with `momentum` (Nesterov's when `nesterov`) and `weight_decay`.
    pub fn new(momentum: f32, nesterov: bool, weight_decay: f32) -> Sgd {
        Sgd {
            momentum,
            nesterov,
            weight_decay,
            ..Sgd::default()
        }
    }

    /// One update of every parameter tensor with its gradient.
    pub fn step(&mut self, lr: f32, params: Vec<&mut [f32]>, grads: &[Vec<f32>]) {
        let first = self.velocity.is_empty();
        if first {
            self.velocity = grads.iter().map(|g| vec![0.0; g.len()]).collect();
        }
        self.step += 1;
        let (mu, decay) = (self.momentum, self.weight_decay);
        for ((p, g), v) in params.into_iter().zip(grads).zip(&mut self.velocity) {
            for i in 0..p.len() {
                let g = g[i] + decay * p[i];
                v[i] = if first { g } else { mu * v[i] + g };
                let update = if self.nesterov { g + mu * v[i] } else { v[i] };
                p[i] -= lr * update;
            }
        }
    }

    /// Serialises the velocities and step count (for checkpoints).
    pub fn to_safetensors(&self) -> Vec<u8> {
        optim_state::write(&[("velocity", &self.velocity)], self.step)
    }

    /// Restores the state written by [`Sgd::to_safetensors`]; the hyper-parameters are
    /// `template`'s.
    pub fn from_safetensors(bytes: &[u8], template: &Sgd) -> Result<Sgd, WeightsError> {
        let (step, mut groups) = optim_state::read(bytes, &["velocity"])?;
        Ok(Sgd {
            step,
            velocity: groups.pop().unwrap_or_default(),
            ..template.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps on f(p) = p^2 / 2 (gradient p) from p = 1, against the formulas by hand.
    #[test]
    fn nesterov_steps_follow_pytorch() {
        let (lr, mu) = (0.1f32, 0.9f32);
        let mut sgd = Sgd::new(mu, true, 0.0);
        let mut p = vec![1.0f32];
        sgd.step(lr, vec![&mut p], &[vec![1.0]]);
        // v = 1; p = 1 - 0.1 * (1 + 0.9 * 1) = 0.81.
        assert!((p[0] - 0.81).abs() < 1e-6, "{}", p[0]);
        let g = p[0];
        sgd.step(lr, vec![&mut p], &[vec![g]]);
        let v = mu * 1.0 + g;
        let expected = 0.81 - lr * (g + mu * v);
        assert!((p[0] - expected).abs() < 1e-6, "{} vs {expected}", p[0]);
    }

    #[test]
    fn weight_decay_pulls_towards_zero_without_a_gradient() {
        let mut sgd = Sgd::new(0.0, false, 0.5);
        let mut p = vec![2.0f32];
        sgd.step(0.1, vec![&mut p], &[vec![0.0]]);
        assert!((p[0] - 1.9).abs() < 1e-6);
    }

    #[test]
    fn the_state_survives_a_checkpoint() {
        let mut sgd = Sgd::new(0.9, true, 1e-4);
        let mut p = vec![1.0f32, -2.0];
        sgd.step(0.1, vec![&mut p], &[vec![0.5, 0.25]]);
        let mut restored =
            Sgd::from_safetensors(&sgd.to_safetensors(), &Sgd::new(0.9, true, 1e-4)).unwrap();
        let (mut a, mut b) = (p.clone(), p.clone());
        sgd.step(0.1, vec![&mut a], &[vec![0.1, 0.1]]);
        restored.step(0.1, vec![&mut b], &[vec![0.1, 0.1]]);
        assert_eq!(a, b);
    }
}
