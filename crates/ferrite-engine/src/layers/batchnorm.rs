//! Batch normalisation fused with ReLU, over the channels of `[rows, channels]` buffers (NHWC
//! pixels or dense features alike). Each pass runs under `simd::vectorized`: its loops over the
//! channels, with every slice cut to the channel count so that no index needs a bounds check,
//! compile to AVX-512 or AVX2 where the processor has it.

use rayon::prelude::*;

use crate::simd::vectorized;

/// Batch norm parameters and running statistics of one layer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Scale.
    pub gamma: Vec<f32>,
    /// Shift.
    pub beta: Vec<f32>,
    /// Running mean (inference).
    pub running_mean: Vec<f32>,
    /// Running biased variance (inference), as burn keeps it.
    pub running_var: Vec<f32>,
}

/// Numerical-stability constant (burn's default).
pub const EPSILON: f32 = 1e-5;
/// Weight of the current batch in the running statistics (burn's default).
pub const MOMENTUM: f32 = 0.1;

/// What the backward pass needs from a training forward pass.
#[derive(Debug, Default)]
pub struct BnCache {
    /// Normalised input, `[rows, channels]`.
    pub xhat: Vec<f32>,
    /// `1 / sqrt(var + eps)` per channel.
    pub inv_std: Vec<f32>,
}

impl BatchNorm {
    /// A fresh layer: gamma 1, beta 0, running mean 0, running variance 1.
    pub fn new(channels: usize) -> BatchNorm {
        BatchNorm {
            gamma: vec![1.0; channels],
            beta: vec![0.0; channels],
            running_mean: vec![0.0; channels],
            running_var: vec![1.0; channels],
        }
    }

    fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// Training forward: batch statistics, running statistics updated, `out = relu(bn(x))`.
    pub fn forward_train(&mut self, x: &[f32], out: &mut [f32], cache: &mut BnCache) {
        let c = self.channels();
        let rows = x.len() / c;
        let (mean, var) = channel_stats(x, c);
        cache.inv_std = var.iter().map(|v| 1.0 / (v + EPSILON).sqrt()).collect();
        cache.xhat.resize(x.len(), 0.0);
        let (gamma, beta, inv_std) = (&self.gamma, &self.beta, &cache.inv_std);
        cache
            .xhat
            .par_chunks_mut(c * 64)
            .zip(out.par_chunks_mut(c * 64))
            .zip(x.par_chunks(c * 64))
            .for_each(|((xh, o), xs)| {
                vectorized(
                    #[inline(always)]
                    || {
                        let (mean, inv_std, gamma, beta) =
                            (&mean[..c], &inv_std[..c], &gamma[..c], &beta[..c]);
                        let rows = xh.chunks_exact_mut(c).zip(o.chunks_exact_mut(c));
                        for ((xh, o), xs) in rows.zip(xs.chunks_exact(c)) {
                            let (xh, o, xs) = (&mut xh[..c], &mut o[..c], &xs[..c]);
                            for j in 0..c {
                                let n = (xs[j] - mean[j]) * inv_std[j];
                                xh[j] = n;
                                o[j] = (gamma[j] * n + beta[j]).max(0.0);
                            }
                        }
                    },
                )
            });
        for j in 0..c {
            self.running_mean[j] = self.running_mean[j] * (1.0 - MOMENTUM) + mean[j] * MOMENTUM;
            self.running_var[j] = self.running_var[j] * (1.0 - MOMENTUM) + var[j] * MOMENTUM;
        }
        debug_assert_eq!(rows * c, x.len());
    }

    /// Inference forward in place: `x = relu(gamma * (x - mean) / sqrt(var + eps) + beta)`, as
    /// a pass of its own: the reference the fused inference layers are tested against (they
    /// fold it into their weights instead, [`crate::layers::fused`]).
    #[cfg(test)]
    pub fn forward_infer(&self, x: &mut [f32]) {
        let c = self.channels();
        let (scale, shift) = self.folded();
        x.par_chunks_mut(c * 64).for_each(|block| {
            for row in block.chunks_mut(c) {
                for j in 0..c {
                    row[j] = (row[j] * scale[j] + shift[j]).max(0.0);
                }
            }
        });
    }

    /// The affine form of inference batch norm: `scale * x + shift`.
    pub fn folded(&self) -> (Vec<f32>, Vec<f32>) {
        let scale: Vec<f32> = (0..self.channels())
            .map(|j| self.gamma[j] / (self.running_var[j] + EPSILON).sqrt())
            .collect();
        let shift = (0..self.channels())
            .map(|j| self.beta[j] - self.running_mean[j] * scale[j])
            .collect();
        (scale, shift)
    }

    /// Backward through ReLU and batch norm: `dout` becomes `dx` in place; `dgamma`, `dbeta`
    /// are overwritten. The ReLU's mask comes from `cache.xhat` (its input was
    /// `gamma * xhat + beta`, computed as the forward pass did), so the forward output need not be
    /// read, and no pass of its own applies it.
    pub fn backward(
        &self,
        dout: &mut [f32],
        cache: &BnCache,
        dgamma: &mut [f32],
        dbeta: &mut [f32],
    ) {
        let c = self.channels();
        let rows = (dout.len() / c) as f32;
        let (gamma, beta) = (&self.gamma, &self.beta);
        let (gamma, beta) = (&gamma[..c], &beta[..c]);
        let through_relu = |d: f32, xh: f32, j: usize| {
            if gamma[j] * xh + beta[j] > 0.0 {
                d
            } else {
                0.0
            }
        };
        let (sum_d, sum_dx) = dout
            .par_chunks(c * 64)
            .zip(cache.xhat.par_chunks(c * 64))
            .fold(
                || (vec![0.0f64; c], vec![0.0f64; c]),
                |(mut sd, mut sdx), (d, xh)| {
                    vectorized(
                        #[inline(always)]
                        || {
                            let (sd, sdx) = (&mut sd[..c], &mut sdx[..c]);
                            for (d, xh) in d.chunks_exact(c).zip(xh.chunks_exact(c)) {
                                let (d, xh) = (&d[..c], &xh[..c]);
                                for j in 0..c {
                                    let d = through_relu(d[j], xh[j], j);
                                    sd[j] += d as f64;
                                    sdx[j] += (d * xh[j]) as f64;
                                }
                            }
                        },
                    );
                    (sd, sdx)
                },
            )
            .reduce(|| (vec![0.0; c], vec![0.0; c]), add_pairs);
        for j in 0..c {
            dbeta[j] = sum_d[j] as f32;
            dgamma[j] = sum_dx[j] as f32;
        }
        let k: Vec<f32> = (0..c)
            .map(|j| self.gamma[j] * cache.inv_std[j] / rows)
            .collect();
        dout.par_chunks_mut(c * 64)
            .zip(cache.xhat.par_chunks(c * 64))
            .for_each(|(d, xh)| {
                vectorized(
                    #[inline(always)]
                    || {
                        let (k, dbeta, dgamma) = (&k[..c], &dbeta[..c], &dgamma[..c]);
                        for (d, xh) in d.chunks_exact_mut(c).zip(xh.chunks_exact(c)) {
                            let (d, xh) = (&mut d[..c], &xh[..c]);
                            for j in 0..c {
                                let g = through_relu(d[j], xh[j], j);
                                d[j] = k[j] * (rows * g - dbeta[j] - xh[j] * dgamma[j]);
                            }
                        }
                    },
                )
            });
    }
}

fn add_pairs(
    (mut a, mut b): (Vec<f64>, Vec<f64>),
    (c, d): (Vec<f64>, Vec<f64>),
) -> (Vec<f64>, Vec<f64>) {
    for (x, y) in a.iter_mut().zip(c) {
        *x += y;
    }
    for (x, y) in b.iter_mut().zip(d) {
        *x += y;
    }
    (a, b)
}

/// Per-channel mean and biased variance of `[rows, c]`, accumulated in f64.
fn channel_stats(x: &[f32], c: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = (x.len() / c) as f64;
    let (sum, sq) = x
        .par_chunks(c * 64)
        .fold(
            || (vec![0.0f64; c], vec![0.0f64; c]),
            |(mut s, mut q), block| {
                vectorized(
                    #[inline(always)]
                    || {
                        let (s, q) = (&mut s[..c], &mut q[..c]);
                        for row in block.chunks_exact(c) {
                            let row = &row[..c];
                            for j in 0..c {
                                let v = row[j] as f64;
                                s[j] += v;
                                q[j] += v * v;
                            }
                        }
                    },
                );
                (s, q)
            },
        )
        .reduce(|| (vec![0.0; c], vec![0.0; c]), add_pairs);
    let mean: Vec<f64> = sum.iter().map(|s| s / rows).collect();
    let var = sq
        .iter()
        .zip(&mean)
        .map(|(q, m)| ((q / rows - m * m).max(0.0)) as f32)
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), var)
}
