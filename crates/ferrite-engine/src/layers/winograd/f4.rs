//! F(4x4, 3x3): each 4x4 block of output pixels from a 6x6 tile of input, 36 multiply-adds per
//! channel pair and block (2.25 a pixel, against F(2x2, 3x3)'s 4 and im2col's 9). The matrices
//! are Lavin & Gray's, on the points 0, +-1, +-2 and infinity: the kernel transform has
//! fractions (1/6, 1/24) that float rounds, so results differ from the direct sum by a few
//! units in the last place of the largest term, where F(2x2, 3x3)'s are exact on small integers.

use super::lanes::{add, column, scale_add, sub, Column};
use super::{sandwich, Tiling};

/// `B^T`: input tile (6 x 6) to the transformed domain, applied on both sides. This and the
/// other matrix only tests use are what the hand-written transforms compute, written out.
#[cfg(test)]
pub(super) const INPUT: [[f32; 6]; 6] = [
    [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
    [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
    [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
    [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
    [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
    [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
];

/// `G`: kernel (3 x 3) to the transformed domain.
pub(super) const KERNEL: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// `A^T`: transformed products back to the 4 x 4 output block.
#[cfg(test)]
pub(super) const OUTPUT: [[f32; 6]; 4] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
];

/// `G^T`: transformed kernel gradient back to the 3 x 3 kernel (the adjoint of [`KERNEL`]).
pub(super) const KERNEL_ADJOINT: [[f32; 6]; 3] = [
    [
        1.0 / 4.0,
        -1.0 / 6.0,
        -1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 24.0,
        0.0,
    ],
    [0.0, -1.0 / 6.0, 1.0 / 6.0, 1.0 / 12.0, -1.0 / 12.0, 0.0],
    [0.0, -1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0],
];

/// Winograd's F(4x4, 3x3).
pub(super) struct F4;

impl Tiling for F4 {
    const BLOCK: usize = 4;

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

    /// In 12 additions and 6 multiplications by a constant: `4 d0 - 5 d2 + d4`,
    /// `(d4 - 4 d2) +- (d3 - 4 d1)`, `(d4 - d2) +- 2 (d3 - d1)`, `4 d1 - 5 d3 + d5`.
    #[inline(always)]
    fn input_1d<const L: usize>(d: &Column<L>) -> Column<L> {
        let [d0, d1, d2, d3, d4, d5] = *d;
        let (a, b) = (scale_add(-4.0, d2, d4), scale_add(-4.0, d1, d3));
        let (e, f) = (sub(d4, d2), sub(d3, d1));
        [
            scale_add(4.0, d0, scale_add(-5.0, d2, d4)),
            add(a, b),
            sub(a, b),
            scale_add(2.0, f, e),
            scale_add(-2.0, f, e),
            scale_add(4.0, d1, scale_add(-5.0, d3, d5)),
        ]
    }

    /// With `p, q = m1 +- m2` and `r, s = m3 +- m4`: `(m0 + p + r, q + 2 s, p + 4 r,
    /// q + 8 s + m5)`.
    #[inline(always)]
    fn output_1d<const L: usize>(m: &Column<L>) -> Column<L> {
        let [m0, m1, m2, m3, m4, m5] = *m;
        let (p, q) = (add(m1, m2), sub(m1, m2));
        let (r, s) = (add(m3, m4), sub(m3, m4));
        column([
            add(add(m0, p), r),
            scale_add(2.0, s, q),
            scale_add(4.0, r, p),
            add(scale_add(8.0, s, q), m5),
        ])
    }

    /// `g0`, `(g0 + g2) +- (g1 + g3)`, `(g0 + 4 g2) +- 2 (g1 + 4 g3)`, `g3`.
    #[inline(always)]
    fn output_grad_1d<const L: usize>(g: &Column<L>) -> Column<L> {
        let [g0, g1, g2, g3, ..] = *g;
        let (a, b) = (add(g0, g2), add(g1, g3));
        let (e, f) = (scale_add(4.0, g2, g0), scale_add(4.0, g3, g1));
        [
            g0,
            add(a, b),
            sub(a, b),
            scale_add(2.0, f, e),
            scale_add(-2.0, f, e),
            g3,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check_single_tile, check_transforms};
    use super::*;

    /// `A`: output gradient block (4 x 4) to the transformed domain (the adjoint of [`OUTPUT`]).
    const OUTPUT_ADJOINT: [[f32; 4]; 6] = [
        [1.0, 0.0, 0.0, 0.0],
        [1.0, 1.0, 1.0, 1.0],
        [1.0, -1.0, 1.0, -1.0],
        [1.0, 2.0, 4.0, 8.0],
        [1.0, -2.0, 4.0, -8.0],
        [0.0, 0.0, 0.0, 1.0],
    ];

    #[test]
    fn the_transforms_convolve_a_single_tile() {
        check_single_tile(&INPUT, &KERNEL, &OUTPUT, 1e-5);
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
        // The input and output transforms have integer coefficients: exact on integers.
        check_transforms::<F4, 6, 4>(&INPUT, &OUTPUT, &OUTPUT_ADJOINT, 0.0);
    }
}
