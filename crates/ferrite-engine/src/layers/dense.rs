//! Fully connected layers: `y = x w (+ b)`, with `w` stored `[in, out]` as burn stores it.

use crate::matmul::{matmul, Operand};

/// Forward: `y (n x out) = x (n x in) w (+ bias)`.
pub fn forward(x: &[f32], w: &[f32], bias: Option<&[f32]>, n: usize, inp: usize, y: &mut [f32]) {
    let out = w.len() / inp;
    matmul(n, out, inp, Operand::plain(x), Operand::plain(w), y, false);
    if let Some(b) = bias {
        for row in y.chunks_mut(out) {
            for (v, b) in row.iter_mut().zip(b) {
                *v += b;
            }
        }
    }
}

/// Where a dense layer's backward pass writes its gradients (all overwritten).
pub struct DenseGrads<'a> {
    /// Gradient of the weight, `[in, out]`.
    pub dw: &'a mut [f32],
    /// Gradient of the bias, if the layer has one.
    pub db: Option<&'a mut [f32]>,
    /// Gradient of the input, if wanted.
    pub dx: Option<&'a mut [f32]>,
}

/// Backward: `dw = x^T dy`, `db = sum(dy)`, and `dx = dy w^T`.
pub fn backward(x: &[f32], w: &[f32], dy: &[f32], n: usize, inp: usize, grads: DenseGrads) {
    let out = w.len() / inp;
    let DenseGrads { dw, db, dx } = grads;
    matmul(inp, out, n, Operand::t(x), Operand::plain(dy), dw, false);
    if let Some(db) = db {
        db.fill(0.0);
        for row in dy.chunks(out) {
            for (d, v) in db.iter_mut().zip(row) {
                *d += v;
            }
        }
    }
    if let Some(dx) = dx {
        matmul(n, inp, out, Operand::plain(dy), Operand::t(w), dx, false);
    }
}
