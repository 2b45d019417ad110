//! Layers prepared for inference: batch norm folded into the weight and a bias
//! (`w' = w * scale`, `b = shift`, per output channel), ReLU applied as each block of output
//! is written (Winograd's output transform, or each im2col chunk after its product) rather
//! than in passes of their own over the activations, and Winograd's transformed weight
//! computed once, when the model is loaded, instead of on every call.

use super::batchnorm::BatchNorm;
use super::conv::{self, ConvShape, Scratch};
use super::dense;
use super::winograd::{self, Weight};
use std::sync::OnceLock;

/// Batch norm (running statistics) folded into the weight before it, stored with the output
/// channel last (`[k, out]`: a conv's `[(ky, kx, cin), cout]` or a dense layer's `[in, out]`):
/// each output channel's weights scaled, and the shift as the bias.
pub fn fold_batch_norm(w: &[f32], bn: &BatchNorm, out: usize) -> (Vec<f32>, Vec<f32>) {
    let (scale, shift) = bn.folded();
    let weight = w
        .chunks_exact(out)
        .flat_map(|row| row.iter().zip(&scale).map(|(w, s)| w * s))
        .collect();
    (weight, shift)
}

/// A 3x3 conv, batch norm and ReLU as one layer: `y = max(conv(x, w') + b, 0)`.
#[derive(Debug, Clone)]
pub struct FusedConv {
    cin: usize,
    cout: usize,
    /// `[(ky, kx, cin), cout]`, batch norm's scale folded in.
    weight: Vec<f32>,
    /// The folded weight in the domain of each of Winograd's algorithms (F(2x2, 3x3)'s, then
    /// F(4x4, 3x3)'s), transformed the first time a call takes it.
    transformed: [OnceLock<Vec<f32>>; 2],
    /// Batch norm's shift.
    bias: Vec<f32>,
}

impl FusedConv {
    /// The conv of weight `w` (`[(ky, kx, cin), cout]`) followed by `bn` (running statistics)
    /// and ReLU.
    pub fn new(w: &[f32], bn: &BatchNorm, cin: usize, cout: usize) -> FusedConv {
        let (weight, bias) = fold_batch_norm(w, bn, cout);
        FusedConv {
            cin,
            cout,
            weight,
            transformed: Default::default(),
            bias,
        }
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        self.cout
    }

    /// `y (n x side x side x cout) = max(conv(x) + b, 0)`, every element overwritten.
    pub fn forward(&self, x: &[f32], n: usize, side: usize, y: &mut [f32], scratch: &mut Scratch) {
        let s = ConvShape {
            n,
            side,
            cin: self.cin,
            cout: self.cout,
        };
        if let Some(tiles) = scratch.winograd(&s, Weight::Cached) {
            let u = self.transformed[tiles as usize].get_or_init(|| {
                winograd::transformed_weight(&self.weight, self.cin, self.cout, tiles)
            });
            let parts = scratch.buffers(winograd::parts_for(&s, tiles));
            winograd::forward_transformed(x, u, &s, tiles, y, parts, Some(&self.bias));
        } else {
            conv::forward_im2col(x, &self.weight, &s, y, scratch, Some(&self.bias));
        }
    }
}

/// A dense layer, batch norm and ReLU as one: `y = max(x w' + b, 0)`.
#[derive(Debug, Clone)]
pub struct FusedDense {
    inp: usize,
    out: usize,
    /// `[in, out]`, batch norm's scale folded in.
    weight: Vec<f32>,
    /// Batch norm's shift.
    bias: Vec<f32>,
}

impl FusedDense {
    /// The dense layer of weight `w` (`[in, out]`, no bias) followed by `bn` and ReLU.
    pub fn new(w: &[f32], bn: &BatchNorm, inp: usize, out: usize) -> FusedDense {
        let (weight, bias) = fold_batch_norm(w, bn, out);
        FusedDense {
            inp,
            out,
            weight,
            bias,
        }
    }

    /// Output features.
    pub fn out(&self) -> usize {
        self.out
    }

    /// `y (n x out) = max(x w' + b, 0)`, every element overwritten.
    pub fn forward(&self, x: &[f32], n: usize, y: &mut [f32]) {
        dense::forward(x, &self.weight, None, n, self.inp, y);
        conv::add_bias_relu(y, &self.bias);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv::ConvMethod;

    /// Values in [-1, 1) from a simple generator: enough variety for sums to differ by layout.
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn batch_norm(c: usize, seed: u32) -> BatchNorm {
        let v = |k| values(c, seed + k);
        BatchNorm {
            gamma: v(1).iter().map(|g| 1.0 + 0.5 * g).collect(),
            beta: v(2),
            running_mean: v(3),
            running_var: v(4).iter().map(|v| 0.5 + v.abs()).collect(),
        }
    }

    fn assert_close(a: &[f32], b: &[f32]) {
        assert_eq!(a.len(), b.len());
        for (i, (a, b)) in a.iter().zip(b).enumerate() {
            assert!(
                (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                "at {i}: {a} vs {b}"
            );
        }
    }

    /// The fused layer against the training layers run one after another (conv, then batch
    /// norm and ReLU in their own pass), on Winograd's path and on im2col's.
    #[test]
    fn fused_conv_equals_conv_then_batch_norm() {
        // 40 channels at side 16 take F(4x4, 3x3) (16 tiles an image), 32 -> 64 at side 18
        // F(2x2, 3x3) (81 tiles); 8 -> 24 channels and one do not.
        let shapes = [
            (3, 16, 40, 40),
            (1, 18, 32, 64),
            (3, 12, 8, 24),
            (1, 6, 1, 16),
        ];
        for (n, side, cin, cout) in shapes {
            let s = ConvShape { n, side, cin, cout };
            let x = values(n * side * side * cin, 1);
            let w = values(9 * cin * cout, 2);
            let bn = batch_norm(cout, 3);
            let fused = FusedConv::new(&w, &bn, cin, cout);
            for method in [ConvMethod::Auto, ConvMethod::TwoByTwo, ConvMethod::Im2col] {
                let mut plain = vec![0.0; n * side * side * cout];
                conv::forward(&x, &w, &s, &mut plain, &mut Scratch::with_method(method));
                bn.forward_infer(&mut plain);
                let mut ours = vec![f32::NAN; plain.len()];
                fused.forward(&x, n, side, &mut ours, &mut Scratch::with_method(method));
                assert_close(&ours, &plain);
            }
        }
    }

    #[test]
    fn fused_dense_equals_dense_then_batch_norm() {
        let (n, inp, out) = (5, 12, 9);
        let (x, w, bn) = (values(n * inp, 4), values(inp * out, 5), batch_norm(out, 6));
        let mut plain = vec![0.0; n * out];
        dense::forward(&x, &w, None, n, inp, &mut plain);
        bn.forward_infer(&mut plain);
        let mut ours = vec![f32::NAN; plain.len()];
        FusedDense::new(&w, &bn, inp, out).forward(&x, n, &mut ours);
        assert_close(&ours, &plain);
    }
}
