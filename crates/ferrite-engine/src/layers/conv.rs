//! 3x3 convolution, stride 1, padding 1, no bias (batch norm follows), on NHWC buffers.
//!
//! Forward and backward are matrix products over an im2col buffer built a chunk of images at a
//! time, which bounds memory whatever the batch size.

use rayon::prelude::*;

use crate::matmul::{matmul, Operand};

/// Elements of im2col buffer per chunk (about 32 MB of f32).
const COL_BUDGET: usize = 8 << 20;

/// Shape of a conv layer's input: `n` images of `side x side` with `cin` channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Images in the batch.
    pub n: usize,
    /// Height and width.
    pub side: usize,
    /// Input channels.
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
}

impl ConvShape {
    fn pixels(&self) -> usize {
        self.side * self.side
    }
    fn k(&self) -> usize {
        9 * self.cin
    }
    fn images_per_chunk(&self) -> usize {
        (COL_BUDGET / (self.pixels() * self.k()).max(1)).clamp(1, self.n.max(1))
    }
}

/// Converts burn's weight layout `[cout, cin, 3, 3]` to the engine's `[(ky, kx, cin), cout]`.
pub fn weight_from_oihw(oihw: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut w = vec![0.0; 9 * cin * cout];
    for o in 0..cout {
        for c in 0..cin {
            for t in 0..9 {
                w[(t * cin + c) * cout + o] = oihw[(o * cin + c) * 9 + t];
            }
        }
    }
    w
}

/// Converts the engine's weight layout back to burn's `[cout, cin, 3, 3]`.
pub fn weight_to_oihw(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut oihw = vec![0.0; 9 * cin * cout];
    for o in 0..cout {
        for c in 0..cin {
            for t in 0..9 {
                oihw[(o * cin + c) * 9 + t] = w[(t * cin + c) * cout + o];
            }
        }
    }
    oihw
}

/// Fills `col` (`images * side * side` rows of `9 * cin`) from `x` (those images, NHWC).
fn im2col(x: &[f32], s: &ConvShape, images: usize, col: &mut [f32]) {
    let (side, cin, k) = (s.side, s.cin, s.k());
    col[..images * s.pixels() * k]
        .par_chunks_mut(k)
        .enumerate()
        .for_each(|(row, out)| {
            let img = row / s.pixels();
            let h = (row % s.pixels()) / side;
            let w = row % side;
            for ky in 0..3 {
                let y = h + ky;
                for kx in 0..3 {
                    let xx = w + kx;
                    let dst = &mut out[(ky * 3 + kx) * cin..(ky * 3 + kx + 1) * cin];
                    if y == 0 || y > side || xx == 0 || xx > side {
                        dst.fill(0.0);
                    } else {
                        let src = ((img * side + y - 1) * side + xx - 1) * cin;
                        dst.copy_from_slice(&x[src..src + cin]);
                    }
                }
            }
        });
}

/// Adds `col` gradients back onto `dx` (those images, NHWC), one image per task.
fn col2im_add(col: &[f32], s: &ConvShape, images: usize, dx: &mut [f32]) {
    let (side, cin, k, px) = (s.side, s.cin, s.k(), s.pixels());
    dx[..images * px * cin]
        .par_chunks_mut(px * cin)
        .enumerate()
        .for_each(|(img, dimg)| {
            for h in 0..side {
                for w in 0..side {
                    let row = &col[((img * side + h) * side + w) * k..][..k];
                    for ky in 0..3 {
                        let y = h + ky;
                        if y == 0 || y > side {
                            continue;
                        }
                        for kx in 0..3 {
                            let xx = w + kx;
                            if xx == 0 || xx > side {
                                continue;
                            }
                            let dst = &mut dimg[((y - 1) * side + xx - 1) * cin..][..cin];
                            let src = &row[(ky * 3 + kx) * cin..][..cin];
                            for (d, v) in dst.iter_mut().zip(src) {
                                *d += v;
                            }
                        }
                    }
                }
            }
        });
}

/// `y (n*side*side x cout) = conv(x)`.
pub fn forward(x: &[f32], w: &[f32], s: &ConvShape, y: &mut [f32]) {
    let chunk = s.images_per_chunk();
    let mut col = vec![0.0; chunk * s.pixels() * s.k()];
    for start in (0..s.n).step_by(chunk) {
        let images = chunk.min(s.n - start);
        let rows = images * s.pixels();
        im2col(&x[start * s.pixels() * s.cin..], s, images, &mut col);
        matmul(
            rows,
            s.cout,
            s.k(),
            Operand::plain(&col),
            Operand::plain(w),
            &mut y[start * s.pixels() * s.cout..][..rows * s.cout],
            false,
        );
    }
}

/// Backward: `dw = col(x)^T dy` (overwritten) and, if asked, `dx = col2im(dy w^T)` (overwritten).
pub fn backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    s: &ConvShape,
    dw: &mut [f32],
    mut dx: Option<&mut [f32]>,
) {
    let chunk = s.images_per_chunk();
    let mut col = vec![0.0; chunk * s.pixels() * s.k()];
    if let Some(dx) = dx.as_deref_mut() {
        dx[..s.n * s.pixels() * s.cin].fill(0.0);
    }
    for (i, start) in (0..s.n).step_by(chunk).enumerate() {
        let images = chunk.min(s.n - start);
        let rows = images * s.pixels();
        let dy_chunk = &dy[start * s.pixels() * s.cout..][..rows * s.cout];
        im2col(&x[start * s.pixels() * s.cin..], s, images, &mut col);
        matmul(
            s.k(),
            s.cout,
            rows,
            Operand::t(&col[..rows * s.k()]),
            Operand::plain(dy_chunk),
            dw,
            i > 0,
        );
        if let Some(dx) = dx.as_deref_mut() {
            matmul(
                rows,
                s.k(),
                s.cout,
                Operand::plain(dy_chunk),
                Operand::t(w),
                &mut col,
                false,
            );
            col2im_add(&col, s, images, &mut dx[start * s.pixels() * s.cin..]);
        }
    }
}
