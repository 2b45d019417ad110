//! A running average of a network's weights: Polyak averaging in its exponential form (the
//! "EMA" of timm and TensorFlow), over the trainable tensors and the batch-norm statistics.

use ferrite_model::ArchSpec;

use crate::layers::batchnorm::BatchNorm;
use crate::{Network, WeightsError};

/// An exponential moving average of a network's weights, updated after each step:
/// `avg = d * avg + (1 - d) * weights` with `d = min(decay, (1 + t) / (10 + t))` at update `t`,
/// so that the first updates, when the average still holds the starting weights, move it
/// quickly.
#[derive(Debug, Clone)]
pub struct WeightAverage {
    /// The decay the warm-up rises to.
    pub decay: f32,
    updates: u64,
    net: Network,
}

impl WeightAverage {
    /// An average that starts at `net`'s weights.
    pub fn new(decay: f32, net: &Network) -> WeightAverage {
        WeightAverage {
            decay,
            updates: 0,
            net: net.clone(),
        }
    }

    /// Moves the average towards `net`'s current weights.
    pub fn update(&mut self, net: &Network) {
        let t = self.updates as f32;
        let d = self.decay.min((1.0 + t) / (10.0 + t));
        self.updates += 1;
        for (avg, now) in tensors_mut(&mut self.net).into_iter().zip(tensors(net)) {
            for (a, &x) in avg.iter_mut().zip(now) {
                *a = d * *a + (1.0 - d) * x;
            }
        }
    }

    /// The averaged network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// Updates so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Restores an average of `updates` updates whose weights are `bytes` (a
    /// `model.safetensors` of `arch`).
    pub fn from_safetensors(
        decay: f32,
        updates: u64,
        arch: &ArchSpec,
        bytes: &[u8],
    ) -> Result<WeightAverage, WeightsError> {
        Ok(WeightAverage {
            decay,
            updates,
            net: Network::from_safetensors(arch, bytes)?,
        })
    }
}

fn bn_tensors(bn: &BatchNorm) -> [&[f32]; 4] {
    [&bn.gamma, &bn.beta, &bn.running_mean, &bn.running_var]
}

fn bn_tensors_mut(bn: &mut BatchNorm) -> [&mut [f32]; 4] {
    [
        &mut bn.gamma,
        &mut bn.beta,
        &mut bn.running_mean,
        &mut bn.running_var,
    ]
}

/// Every tensor of `net`'s state, in the order of [`tensors_mut`].
fn tensors(net: &Network) -> Vec<&[f32]> {
    let mut out: Vec<&[f32]> = Vec::new();
    for layer in net.blocks.iter().flatten() {
        out.push(&layer.weight);
        out.extend(bn_tensors(&layer.bn));
    }
    for layer in &net.hidden {
        out.push(&layer.weight);
        out.extend(bn_tensors(&layer.bn));
    }
    out.push(&net.classifier_weight);
    out.push(&net.classifier_bias);
    out
}

fn tensors_mut(net: &mut Network) -> Vec<&mut [f32]> {
    let mut out: Vec<&mut [f32]> = Vec::new();
    for layer in net.blocks.iter_mut().flatten() {
        out.push(&mut layer.weight);
        out.extend(bn_tensors_mut(&mut layer.bn));
    }
    for layer in &mut net.hidden {
        out.push(&mut layer.weight);
        out.extend(bn_tensors_mut(&mut layer.bn));
    }
    out.push(&mut net.classifier_weight);
    out.push(&mut net.classifier_bias);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_average_lags_behind_and_converges_to_fixed_weights() {
        let arch = ArchSpec::fast();
        let start = Network::new(&arch, 1);
        let target = Network::new(&arch, 2);
        let mut avg = WeightAverage::new(0.9, &start);
        avg.update(&target);
        // The first update uses d = 1/10: nine tenths of the way to the new weights.
        let (a, s, t) = (
            avg.network().classifier_bias[0],
            start.classifier_bias[0],
            target.classifier_bias[0],
        );
        assert!((a - (0.1 * s + 0.9 * t)).abs() < 1e-6);
        for _ in 0..300 {
            avg.update(&target);
        }
        let gap = (avg.network().blocks[1][0].bn.running_var[3]
            - target.blocks[1][0].bn.running_var[3])
            .abs()
            + (avg.network().hidden[0].weight[17] - target.hidden[0].weight[17]).abs();
        assert!(gap < 1e-6, "{gap}");
        assert_eq!(avg.updates(), 301);
    }
}
