//! 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016), on NHWC
//! buffers: each 2x2 block of output pixels comes from a 4x4 tile of input, and in the
//! transformed domain the convolution becomes 16 independent matrix products over channels,
//! `16 * cin * cout` multiply-adds per tile where im2col spends `36 * cin * cout`. The input
//! gradient is a forward convolution (see `conv::backward`) and takes this path too; the weight
//! gradient is the same sum of products read the other way round.
//!
//! Tiles are handled a chunk of tile rows at a time: a tile row (two output rows of one image)
//! writes a contiguous run of the output, so chunks split the output without overlap.

mod lanes;

use rayon::prelude::*;

use super::conv::{grown, ConvShape, PartBuffers, Scratch};
use crate::matmul::{matmul_views, View};

/// Positions in a transformed tile (4 x 4).
const POSITIONS: usize = 16;

/// `B^T`: input tile (4 x 4) to the transformed domain, applied on both sides. This and the
/// other matrices only tests use are what [`lanes`] computes, written out.
#[cfg(test)]
const INPUT: [[f32; 4]; 4] = [
    [1.0, 0.0, -1.0, 0.0],
    [0.0, 1.0, 1.0, 0.0],
    [0.0, -1.0, 1.0, 0.0],
    [0.0, 1.0, 0.0, -1.0],
];

/// `G`: kernel (3 x 3) to the transformed domain.
const KERNEL: [[f32; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// `A^T`: transformed products back to the 2 x 2 output block.
#[cfg(test)]
const OUTPUT: [[f32; 4]; 2] = [[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, -1.0, -1.0]];

/// `A`: output gradient block (2 x 2) to the transformed domain (the adjoint of [`OUTPUT`]).
#[cfg(test)]
const OUTPUT_ADJOINT: [[f32; 2]; 4] = [[1.0, 0.0], [1.0, 1.0], [1.0, -1.0], [0.0, -1.0]];

/// `G^T`: transformed kernel gradient back to the 3 x 3 kernel (the adjoint of [`KERNEL`]).
const KERNEL_ADJOINT: [[f32; 4]; 3] = [
    [1.0, 0.5, 0.5, 0.0],
    [0.0, 0.5, -0.5, 0.0],
    [0.0, 0.5, 0.5, 1.0],
];

/// Fewest channels in and out for which Winograd beats im2col: the first layer of a network
/// (one input channel) stays on im2col, where the product is tiny and tiles would be mostly
/// transform.
const MIN_CHANNELS: usize = 16;

/// Fewest tiles for which Winograd beats im2col: with fewer, as for one face's 12x12 layers
/// (36 tiles), repacking the transformed weight (16/9 the size of the kernel) for each of 16
/// small products costs more than it saves. The forward passes of one face's 12x12 layers of
/// the `wide` preset took 1.05 and 2.41 ms on Winograd against 0.76 and 2.21 on im2col; four
/// faces' took 2.66 and 5.26 against 3.21 and 6.48 (timed as `examples/conv_methods.rs` does).
const MIN_TILES: usize = 64;

/// Floats of transformed tiles (both operands of the products) per chunk: 768 KB, inside a
/// core's 1 MB L2 here, so the tiles a transform writes are still cached when the products
/// read them.
const CHUNK_BUDGET: usize = 192 << 10;

/// Whether a convolution of shape `s` takes the Winograd path: an even side (whole 2x2
/// output blocks), and channels enough for the products to dominate, in whole sets of lanes.
pub(super) fn applies(s: &ConvShape) -> bool {
    let (_, tile_rows) = tile_grid(s);
    let tiles = tile_rows * s.side / 2;
    s.side.is_multiple_of(2) && channels_fit(s.cin) && channels_fit(s.cout) && tiles >= MIN_TILES
}

/// Whether `c` channels suit the Winograd path: enough of them, in whole sets of lanes.
pub(super) fn channels_fit(c: usize) -> bool {
    c >= MIN_CHANNELS && c.is_multiple_of(lanes::LANES)
}

/// Length of the transformed weight (and of its gradient): 16 positions of `cin x cout`.
fn transformed_len(s: &ConvShape) -> usize {
    POSITIONS * s.cin * s.cout
}

/// `dst[i][j] = sum over r, q of m[i][r] * m[j][q] * src[r][q]` for grids of vectors of `len`
/// floats (row-major, `I x I` in, `O x O` out, vector `k` at `k * stride` in its buffer):
/// `M X M^T`, one side at a time through `tmp`.
#[inline(always)]
fn sandwich<const O: usize, const I: usize>(
    m: &[[f32; I]; O],
    (src, src_stride): (&[f32], usize),
    (dst, dst_stride): (&mut [f32], usize),
    tmp: &mut [f32],
    len: usize,
) {
    // tmp[i][q] = sum over r of m[i][r] * src[r][q]
    for i in 0..O {
        for q in 0..I {
            let terms = m[i]
                .iter()
                .enumerate()
                .map(|(r, &coef)| (coef, &src[(r * I + q) * src_stride..][..len]));
            combine(&mut tmp[(i * I + q) * len..][..len], terms);
        }
    }
    // dst[i][j] = sum over q of m[j][q] * tmp[i][q]
    for i in 0..O {
        for j in 0..O {
            let terms = m[j]
                .iter()
                .enumerate()
                .map(|(q, &coef)| (coef, &tmp[(i * I + q) * len..][..len]));
            combine(&mut dst[(i * O + j) * dst_stride..][..len], terms);
        }
    }
}

/// `out = sum of coef * v` over `terms`, skipping zero coefficients.
#[inline(always)]
fn combine<'a>(out: &mut [f32], terms: impl Iterator<Item = (f32, &'a [f32])>) {
    let mut first = true;
    for (coef, v) in terms.filter(|(coef, _)| *coef != 0.0) {
        if first {
            out.iter_mut().zip(v).for_each(|(o, x)| *o = coef * x);
            first = false;
        } else {
            out.iter_mut().zip(v).for_each(|(o, x)| *o += coef * x);
        }
    }
    if first {
        out.fill(0.0);
    }
}

/// The weight `[(ky, kx, cin), cout]` in the transformed domain, one `cin x cout` plane per
/// position (`[16][cin][cout]`), into `u`.
fn transform_weight(w: &[f32], cin: usize, cout: usize, u: &mut Vec<f32>) {
    let plane = cin * cout;
    let u = grown(u, POSITIONS * plane);
    let mut tmp = vec![0.0; 4 * 3 * cout];
    crate::simd::vectorized(|| {
        for c in 0..cin {
            let taps = (&w[c * cout..], cin * cout);
            sandwich(&KERNEL, taps, (&mut u[c * cout..], plane), &mut tmp, cout);
        }
    });
}

/// The gradient of the transformed weight `du` (`[16][cin][cout]`) back in the kernel's layout
/// `[(ky, kx, cin), cout]`, in `dw` (overwritten).
fn weight_grad_from_transformed(du: &[f32], cin: usize, cout: usize, dw: &mut [f32]) {
    let plane = cin * cout;
    let mut tmp = vec![0.0; 3 * 4 * cout];
    crate::simd::vectorized(|| {
        for c in 0..cin {
            let taps = (&mut dw[c * cout..], plane);
            sandwich(
                &KERNEL_ADJOINT,
                (&du[c * cout..], plane),
                taps,
                &mut tmp,
                cout,
            );
        }
    });
}

/// Tiles per tile row, and tile rows in the images of `s`.
fn tile_grid(s: &ConvShape) -> (usize, usize) {
    let per_row = s.side / 2;
    (per_row, s.n * per_row)
}

/// Tile rows per chunk: as many as [`CHUNK_BUDGET`] allows, at least one.
fn rows_per_chunk(s: &ConvShape) -> usize {
    let (per_row, rows) = tile_grid(s);
    let per_tile_row = per_row * POSITIONS * (s.cin + s.cout);
    (CHUNK_BUDGET / per_tile_row).clamp(1, rows.max(1))
}

/// Where a tile's row of 4 input pixels comes from.
#[derive(Clone, Copy)]
enum PatchRow {
    /// Consecutive pixels of the input, from this offset.
    Input(usize),
    /// Above or below the image: zeros.
    Outside,
    /// Across the left or right border: gathered, zero padded, into the row's scratch.
    Padded,
}

/// Writes the transformed input tiles of tile rows `first..first + rows` into `planes`
/// (`[16][tile][cin]`), zero padding the image border.
fn transform_input(x: &[f32], s: &ConvShape, first: usize, rows: usize, planes: &mut [f32]) {
    let (per_row, _) = tile_grid(s);
    let cin = s.cin;
    let row_len = 4 * cin;
    let plane = rows * per_row * cin;
    let zeros = vec![0.0; row_len];
    let mut padded = vec![0.0; 4 * row_len];
    crate::simd::vectorized(|| {
        for tile in 0..rows * per_row {
            let row = first + tile / per_row;
            let (img, ty, tx) = (row / per_row, row % per_row, tile % per_row);
            let left = (2 * tx).wrapping_sub(1);
            let inside_columns = tx > 0 && tx + 1 < per_row;
            let sources: [PatchRow; 4] = std::array::from_fn(|r| {
                let y = (2 * ty + r).wrapping_sub(1);
                match (y < s.side, inside_columns) {
                    (false, _) => PatchRow::Outside,
                    (true, true) => PatchRow::Input(((img * s.side + y) * s.side + left) * cin),
                    (true, false) => PatchRow::Padded,
                }
            });
            for (r, scratch) in padded.chunks_mut(row_len).enumerate() {
                if matches!(sources[r], PatchRow::Padded) {
                    let y = 2 * ty + r - 1;
                    for (q, pixel) in scratch.chunks_mut(cin).enumerate() {
                        let xx = left.wrapping_add(q);
                        if xx < s.side {
                            pixel.copy_from_slice(
                                &x[((img * s.side + y) * s.side + xx) * cin..][..cin],
                            );
                        } else {
                            pixel.fill(0.0);
                        }
                    }
                }
            }
            let patch = std::array::from_fn(|r| match sources[r] {
                PatchRow::Input(at) => &x[at..at + row_len],
                PatchRow::Outside => &zeros[..],
                PatchRow::Padded => &padded[r * row_len..][..row_len],
            });
            lanes::input_tile(patch, cin, &mut planes[tile * cin..], plane);
        }
    });
}

/// Writes the transformed output gradient of tile rows `first..first + rows` into `planes`
/// (`[16][tile][cout]`).
fn transform_output_grad(dy: &[f32], s: &ConvShape, first: usize, rows: usize, planes: &mut [f32]) {
    let (per_row, _) = tile_grid(s);
    let cout = s.cout;
    let plane = rows * per_row * cout;
    crate::simd::vectorized(|| {
        for tile in 0..rows * per_row {
            let row = first + tile / per_row;
            let (img, ty, tx) = (row / per_row, row % per_row, tile % per_row);
            let pixels = std::array::from_fn(|i| {
                let at = ((img * s.side + 2 * ty + i) * s.side + 2 * tx) * cout;
                &dy[at..at + 2 * cout]
            });
            lanes::output_grad_tile(pixels, cout, &mut planes[tile * cout..], plane);
        }
    });
}

/// How the tile rows of `s` are shared out: one contiguous range per thread (never an empty
/// one), and the tile rows per range.
fn ranges(s: &ConvShape) -> (usize, usize) {
    let (_, tile_rows) = tile_grid(s);
    let ranges = rayon::current_num_threads().clamp(1, tile_rows.max(1));
    let per = tile_rows.div_ceil(ranges).max(1);
    (tile_rows.div_ceil(per).max(1), per)
}

/// `y = conv(x)` (NHWC), the tile rows shared out between the threads, whatever the batch size.
pub(super) fn forward(x: &[f32], w: &[f32], s: &ConvShape, y: &mut [f32], scratch: &mut Scratch) {
    let (ranges, _) = ranges(s);
    let (weight, parts) = scratch.weight_and_buffers(ranges);
    transform_weight(w, s.cin, s.cout, weight);
    forward_transformed(x, weight, s, y, parts, None);
}

/// The weight `[(ky, kx, cin), cout]` in the transformed domain (`[16][cin][cout]`), for
/// [`forward_transformed`]: inference transforms each weight once, when the model is loaded.
pub(super) fn transformed_weight(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut u = Vec::new();
    transform_weight(w, cin, cout, &mut u);
    u
}

/// `y = conv(x)` from the transformed weight `u`, through `max(v + bias, 0)` when `bias_relu`
/// is given; `parts` holds a set of buffers per thread ([`ranges`]).
pub(super) fn forward_transformed(
    x: &[f32],
    u: &[f32],
    s: &ConvShape,
    y: &mut [f32],
    parts: &mut [PartBuffers],
    bias_relu: Option<&[f32]>,
) {
    let (_, per) = ranges(s);
    let (_, tile_rows) = tile_grid(s);
    let out_len = 2 * s.side * s.cout;
    y[..tile_rows * out_len]
        .par_chunks_mut(per * out_len)
        .zip(parts.par_iter_mut())
        .enumerate()
        .for_each(|(range, (y, buffers))| {
            forward_range(x, u, s, range * per, y, buffers, bias_relu)
        });
}

/// Sets of part buffers [`forward_transformed`] needs for shape `s`.
pub(super) fn parts_for(s: &ConvShape) -> usize {
    ranges(s).0
}

/// The output of the tile rows from `first` on that `y` holds, chunk by chunk: transformed
/// input tiles, one product per position with the transformed weight `u`, output transform.
fn forward_range(
    x: &[f32],
    u: &[f32],
    s: &ConvShape,
    first: usize,
    y: &mut [f32],
    buffers: &mut PartBuffers,
    bias_relu: Option<&[f32]>,
) {
    let (per_row, _) = tile_grid(s);
    let out_len = 2 * s.side * s.cout;
    let chunk = rows_per_chunk(s);
    let (cin, cout) = (s.cin, s.cout);
    for (index, y) in y.chunks_mut(chunk * out_len).enumerate() {
        let rows = y.len() / out_len;
        let tiles = rows * per_row;
        let input = grown(&mut buffers.lowered, POSITIONS * tiles * cin);
        transform_input(x, s, first + index * chunk, rows, input);
        let products = grown(&mut buffers.paired, POSITIONS * tiles * cout);
        for (position, product) in products.chunks_mut(tiles * cout).enumerate() {
            let a = View::rows(&input[position * tiles * cin..], cin);
            let b = View::rows(&u[position * cin * cout..], cout);
            matmul_views(tiles, cout, cin, a, b, product, cout, false);
        }
        write_output(products, s, rows, y, bias_relu);
    }
}

/// Turns the products of `rows` tile rows (`[16][tile][cout]`) into their output pixels in
/// `y`, which starts at the first of those rows (through `max(v + bias, 0)` with `bias_relu`).
fn write_output(
    products: &[f32],
    s: &ConvShape,
    rows: usize,
    y: &mut [f32],
    bias_relu: Option<&[f32]>,
) {
    let (per_row, _) = tile_grid(s);
    let cout = s.cout;
    let plane = rows * per_row * cout;
    let row_len = s.side * cout;
    // Each tile row writes two output rows: the first and second halves of its run of `y`.
    crate::simd::vectorized(|| {
        for (row, out) in y[..rows * 2 * row_len].chunks_mut(2 * row_len).enumerate() {
            let (top, bottom) = out.split_at_mut(row_len);
            for (tx, (top, bottom)) in top
                .chunks_mut(2 * cout)
                .zip(bottom.chunks_mut(2 * cout))
                .enumerate()
            {
                let tile = row * per_row + tx;
                let pixels = [top, bottom];
                lanes::output_tile(&products[tile * cout..], plane, cout, pixels, bias_relu);
            }
        }
    });
}

/// `dw` (overwritten) for `y = conv(x)` and the output gradient `dy`: each thread sums the
/// transformed gradient over its tile rows, and the sum goes back to the kernel's layout.
pub(super) fn weight_grad(
    x: &[f32],
    dy: &[f32],
    s: &ConvShape,
    dw: &mut [f32],
    scratch: &mut Scratch,
) {
    let (ranges, per) = ranges(s);
    let (_, parts) = scratch.weight_and_buffers(ranges);
    let (_, tile_rows) = tile_grid(s);
    parts
        .par_iter_mut()
        .enumerate()
        .for_each(|(range, buffers)| {
            let first = range * per;
            let rows = per.min(tile_rows.saturating_sub(first));
            weight_grad_range(x, dy, s, first, rows, buffers);
        });
    let len = transformed_len(s);
    let (total, others) = parts.split_first_mut().expect("at least one range");
    let total = &mut total.grad[..len];
    for other in others {
        total
            .iter_mut()
            .zip(&other.grad[..len])
            .for_each(|(a, b)| *a += b);
    }
    weight_grad_from_transformed(total, s.cin, s.cout, dw);
}

/// The transformed weight gradient of tile rows `first..first + rows`, `[16][cin][cout]` in
/// `buffers.grad` (overwritten), chunk by chunk.
fn weight_grad_range(
    x: &[f32],
    dy: &[f32],
    s: &ConvShape,
    first: usize,
    rows: usize,
    buffers: &mut PartBuffers,
) {
    let (per_row, _) = tile_grid(s);
    let chunk = rows_per_chunk(s);
    let (cin, cout) = (s.cin, s.cout);
    let du = grown(&mut buffers.grad, transformed_len(s));
    du.fill(0.0);
    for start in (first..first + rows).step_by(chunk) {
        let rows = chunk.min(first + rows - start);
        let tiles = rows * per_row;
        let input = grown(&mut buffers.lowered, POSITIONS * tiles * cin);
        transform_input(x, s, start, rows, input);
        let grads = grown(&mut buffers.paired, POSITIONS * tiles * cout);
        transform_output_grad(dy, s, start, rows, grads);
        for (position, du) in du.chunks_mut(cin * cout).enumerate() {
            let a = View::columns(&input[position * tiles * cin..], cin);
            let b = View::rows(&grads[position * tiles * cout..], cout);
            matmul_views(cin, cout, tiles, a, b, du, cout, true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transforms_convolve_a_single_tile() {
        // One channel in and out: y = A^T [(G g G^T) . (B^T d B)] A is the 2x2 valid
        // correlation of the 4x4 tile d with the 3x3 kernel g.
        let d: Vec<f32> = (0..16).map(|v| (v * 7 % 11) as f32 - 5.0).collect();
        let g: Vec<f32> = (0..9).map(|v| (v * 5 % 7) as f32 - 3.0).collect();
        let (mut v, mut u, mut y) = (vec![0.0; 16], vec![0.0; 16], vec![0.0; 4]);
        let mut tmp = vec![0.0; 16];
        sandwich(&INPUT, (&d, 1), (&mut v, 1), &mut tmp, 1);
        sandwich(&KERNEL, (&g, 1), (&mut u, 1), &mut tmp, 1);
        let m: Vec<f32> = u.iter().zip(&v).map(|(a, b)| a * b).collect();
        sandwich(&OUTPUT, (&m, 1), (&mut y, 1), &mut tmp, 1);
        for i in 0..2 {
            for j in 0..2 {
                let direct: f32 = (0..3)
                    .flat_map(|ky| (0..3).map(move |kx| (ky, kx)))
                    .map(|(ky, kx)| g[ky * 3 + kx] * d[(i + ky) * 4 + j + kx])
                    .sum();
                assert_eq!(y[i * 2 + j], direct, "output ({i}, {j})");
            }
        }
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
    fn only_even_sides_with_enough_channels_and_tiles_apply() {
        let s = |n, side, cin, cout| ConvShape { n, side, cin, cout };
        assert!(applies(&s(1, 48, 64, 64)));
        assert!(applies(&s(4, 12, 128, 256)));
        assert!(!applies(&s(1, 12, 128, 256)), "36 tiles are too few");
        assert!(!applies(&s(1, 48, 1, 64)), "a first layer stays on im2col");
        assert!(
            !applies(&s(9, 3, 64, 64)),
            "an odd side has no whole 2x2 blocks"
        );
        assert!(!applies(&s(1, 48, 64, 8)), "too few output channels");
        assert!(!applies(&s(1, 48, 64, 20)), "not whole sets of lanes");
    }
}
