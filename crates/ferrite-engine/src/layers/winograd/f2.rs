//! F(2x2, 3x3): each 2x2 block of output pixels from a 4x4 tile of input, 16 multiply-adds per
//! channel pair and block (4 a pixel) where im2col spends 36. Its transforms have coefficients
//! 0 and +-1 only, so they are exact; the layers whose side is not a multiple of 4 take it.

use super::lanes::{add, column, neg, sub, Column};
use super::{sandwich, Tiling};

/// `B^T`: input tile (4 x 4) to the transformed domain, applied on both sides. This and the
/// other matrices only tests use are what the hand-written transforms compute, written out.
#[cfg(test)]
pub(super) const INPUT: [[f32; 4]; 4] = [
    [1.0, 0.0, -1.0, 0.0],
    [0.0, 1.0, 1.0, 0.0],
    [0.0, -1.0, 1.0, 0.0],
    [0.0, 1.0, 0.0, -1.0],
];

/// `G`: kernel (3 x 3) to the transformed domain.
pub(super) const KERNEL: [[f32; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// `A^T`: transformed products back to the 2 x 2 output block.
#[cfg(test)]
pub(super) const OUTPUT: [[f32; 4]; 2] = [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]];

/// `G^T`: transformed kernel gradient back to the 3 x 3 kernel (the adjoint of [`KERNEL`]).
pub(super) const KERNEL_ADJOINT: [[f32; 4]; 3] = [
    [1.0, 0.5, 0.5, 0.0],
    [0.0, 0.5, -0.5, 0.0],
    [0.0, 0.5, 0.5, 1.0],
];

/// Winograd's F(2x2, 3x3).
pub(super) struct F2;

impl Tiling for F2 {
    const BLOCK: usize = 2;

    #[inline(always)]
    fn transform_kernel(
        taps: (&[f32], usize),
        dst: (&mut [f32], usize),
        tmp: &mut [f32],
        len: usize,
    ) {
        sandwich(&KERNEL, taps, dst, tmp, len);
    }

    #[inline(always)]
    fn kernel_grad(du: (&[f32], usize), dw: (&mut [f32], usize), tmp: &mut [f32], len: usize) {
        sandwich(&KERNEL_ADJOINT, du, dw, tmp, len);
    }

    /// `(d0 - d2, d1 + d2, d2 - d1, d1 - d3)`.
    #[inline(always)]
    fn input_1d<const L: usize>(d: &Column<L>) -> Column<L> {
        let [d0, d1, d2, d3, ..] = *d;
        column([sub(d0, d2), add(d1, d2), sub(d2, d1), sub(d1, d3)])
    }

    /// `(m0 + m1 + m2, m1 - m2 - m3)`.
    #[inline(always)]
    fn output_1d<const L: usize>(m: &Column<L>) -> Column<L> {
        let [m0, m1, m2, m3, ..] = *m;
        column([add(add(m0, m1), m2), sub(sub(m1, m2), m3)])
    }

    /// `(g0, g0 + g1, g0 - g1, -g1)`.
    #[inline(always)]
    fn output_grad_1d<const L: usize>(g: &Column<L>) -> Column<L> {
        let [g0, g1, ..] = *g;
        column([g0, add(g0, g1), sub(g0, g1), neg(g1)])
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check_single_tile, check_transforms};
    use super::*;

    /// `A`: output gradient block (2 x 2) to the transformed domain (the adjoint of [`OUTPUT`]).
    const OUTPUT_ADJOINT: [[f32; 2]; 4] = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [0.0, -1.0]];

    #[test]
    fn the_transforms_convolve_a_single_tile() {
        // Coefficients 0, +-1/2 and +-1 on small integers: exact.
        check_single_tile(&INPUT, &KERNEL, &OUTPUT, 0.0);
    }

    #[test]
    fn the_adjoint_transforms_are_transposes() {
        for (i, row) in OUTPUT.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert_eq!(OUTPUT_ADJOINT[j][i], v);
            }
        }
        for (i, row) in KERNEL.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                assert_eq!(KERNEL_ADJOINT[j][i], v);
            }
        }
    }

    #[test]
    fn the_written_out_transforms_match_the_matrices_at_both_widths() {
        check_transforms::<F2, 4, 2>(&INPUT, &OUTPUT, &OUTPUT_ADJOINT, 0.0);
    }
}
