//! 3x3 convolution by Winograd's minimal filtering (Lavin & Gray, 2016), on NHWC buffers: each
//! `m x m` block of output pixels comes from an `(m + 2) x (m + 2)` tile of input, and in the
//! transformed domain the convolution becomes `(m + 2)^2` independent matrix products over
//! channels. Two of the family, one file each: F(4x4, 3x3) (`f4.rs`: 2.25 multiply-adds per
//! pixel and channel pair, where im2col spends 9) for sides that are a multiple of 4, and F(2x2,
//! 3x3) (`f2.rs`: 4) for the other even ones; [`Tiling`] is what they differ by, and the driver
//! here is written once for both. The input gradient is a forward convolution (see
//! `conv::backward`) and takes this path too; the weight gradient is the same sum of products
//! read the other way round.
//!
//! Tiles are handled a chunk of tile rows at a time: a tile row (`m` output rows of one image)
//! writes a contiguous run of the output, so chunks split the output without overlap.

mod f2;
mod f4;
mod lanes;

use rayon::prelude::*;

use super::conv::{grown, ConvShape, PartBuffers, Scratch};
use crate::matmul::{matmul_views, View};
use f2::F2;
use f4::F4;
use lanes::{load, load_grid_row, load_strided, store_block_row, store_grid_column};
use lanes::{store_position_row, wide_end, Column, COLUMN, GRID, LANES, WIDE_LANES};

/// One of Winograd's algorithms F(m x m, 3x3): its tile sizes and its transforms. An algorithm
/// gives its matrices as one-dimensional transforms on columns of lanes; the tile transforms,
/// written once here, apply them down a tile's columns and then along its rows, for channels
/// `c..c + L` of one tile (`L` lanes: see `lanes.rs`), and the driver calls them for every set
/// of channels.
trait Tiling {
    /// Side of the block of output pixels a tile gives: the `m` of F(m x m, 3x3).
    const BLOCK: usize;
    /// Side of a tile of input.
    const TILE: usize = Self::BLOCK + 2;
    /// Positions in a transformed tile: one matrix product each.
    const POSITIONS: usize = Self::TILE * Self::TILE;

    /// `G g G^T` for a 3x3 grid of vectors of `len` floats (vector `k` at `k * stride`), into a
    /// `TILE x TILE` grid; `tmp` holds `3 * TILE * len`.
    fn transform_kernel(
        taps: (&[f32], usize),
        dst: (&mut [f32], usize),
        tmp: &mut [f32],
        len: usize,
    );

    /// `G^T du G`: the adjoint of [`Tiling::transform_kernel`], from a transformed gradient
    /// back to the 3x3 kernel's.
    fn kernel_grad(du: (&[f32], usize), dw: (&mut [f32], usize), tmp: &mut [f32], len: usize);

    /// `B^T` on the first `TILE` entries of a column: the input transform along one side.
    fn input_1d<const L: usize>(d: &Column<L>) -> Column<L>;

    /// `A^T` from the first `TILE` entries to the first `BLOCK`: the output transform along one
    /// side.
    fn output_1d<const L: usize>(m: &Column<L>) -> Column<L>;

    /// `A` from the first `BLOCK` entries to the first `TILE`: the output gradient's transform
    /// along one side.
    fn output_grad_1d<const L: usize>(g: &Column<L>) -> Column<L>;

    /// The input tile (`rows[r]`: its row `r`, `TILE` pixels of `cin` channels) in the
    /// transformed domain, channels `c..c + L`: position `k` to `out[k * plane + c..]`. Like the
    /// other transforms, it keeps what it computes between the two sides in `grid`
    /// ([`lanes::GRID`] floats).
    #[inline(always)]
    fn input_lanes<const L: usize>(
        rows: &[&[f32]],
        cin: usize,
        c: usize,
        out: &mut [f32],
        plane: usize,
        grid: &mut [f32],
    ) {
        // Down the columns of the tile, then along its rows.
        for q in 0..Self::TILE {
            let mut d = [[0.0; L]; COLUMN];
            for (d, row) in d.iter_mut().zip(rows) {
                *d = load(row, q * cin + c);
            }
            store_grid_column(grid, Self::TILE, q, &Self::input_1d(&d)[..Self::TILE]);
        }
        for i in 0..Self::TILE {
            let row = Self::input_1d(&load_grid_row::<L>(grid, Self::TILE, i));
            store_position_row(out, plane, c, i, &row[..Self::TILE]);
        }
    }

    /// A tile's products (position `k` at `products.0[k * products.1 + c..]`) back to its
    /// `BLOCK x BLOCK` output pixels (pixel `(i, j)` at `block.0[i * block.1 + j * cout + c..]`),
    /// through `max(v + bias, 0)` when `bias_relu` gives the bias.
    #[inline(always)]
    fn output_lanes<const L: usize>(
        (products, plane): (&[f32], usize),
        cout: usize,
        c: usize,
        (y, row_len): (&mut [f32], usize),
        bias_relu: Option<&[f32]>,
        grid: &mut [f32],
    ) {
        let side = Self::TILE;
        for j in 0..side {
            let column = load_strided(products, j * plane + c, side * plane, side);
            store_grid_column(grid, side, j, &Self::output_1d::<L>(&column)[..Self::BLOCK]);
        }
        for i in 0..Self::BLOCK {
            let row = Self::output_1d(&load_grid_row::<L>(grid, side, i));
            store_block_row(
                &row[..Self::BLOCK],
                i,
                cout,
                c,
                (&mut *y, row_len),
                bias_relu,
            );
        }
    }

    /// A block of the output gradient (laid out as [`Tiling::output_lanes`] writes one) in the
    /// transformed domain, as [`Tiling::input_lanes`] writes it.
    #[inline(always)]
    fn output_grad_lanes<const L: usize>(
        (dy, row_len): (&[f32], usize),
        cout: usize,
        c: usize,
        out: &mut [f32],
        plane: usize,
        grid: &mut [f32],
    ) {
        let block = Self::BLOCK;
        for j in 0..block {
            let column = load_strided(dy, j * cout + c, row_len, block);
            store_grid_column(
                grid,
                block,
                j,
                &Self::output_grad_1d::<L>(&column)[..Self::TILE],
            );
        }
        for i in 0..Self::TILE {
            let row = Self::output_grad_1d(&load_grid_row::<L>(grid, block, i));
            store_position_row(out, plane, c, i, &row[..Self::TILE]);
        }
    }
}

/// Which of Winograd's algorithms a convolution takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tiles {
    /// F(2x2, 3x3).
    Two,
    /// F(4x4, 3x3).
    Four,
}

/// `f::<F2>(args)` or `f::<F4>(args)`, as `tiles` says: how the functions of this module that
/// take a [`Tiles`] reach their generic versions.
macro_rules! by_tiles {
    ($tiles:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $tiles {
            Tiles::Two => $f::<F2>($($arg),*),
            Tiles::Four => $f::<F4>($($arg),*),
        }
    };
}

/// Fewest channels in and out for Winograd: the first layer of a network (one input channel)
/// stays on im2col, where the product is tiny and tiles would be mostly transform. From 16 on,
/// Winograd measured faster at every batch size: `fast`'s 24x24 layers (16 -> 32, 32 -> 32) took
/// 0.041 and 0.036 ms for one face by F(4x4, 3x3) against im2col's 0.097 and 0.092, and 0.43
/// and 0.69 against 1.09 and 1.86 for 32 faces (weights transformed once).
const MIN_CHANNELS: usize = 16;

/// Fewest tiles for which Winograd beats the other methods when the weight is transformed on
/// every call (training), either algorithm: the transformed weight (16/9 and 4 times the
/// kernel's size) is written, and its gradient summed and transformed back, however few tiles
/// share it. Four faces' 12x12 layers of `wide` (36 tiles of 4x4, 144 of 2x2) took 1.56 + 3.71
/// and 3.22 + 8.77 ms forward + backward by F(4x4, 3x3), 1.18 + 2.88 and 2.33 + 5.97 by F(2x2,
/// 3x3), 1.67 + 3.90 and 3.46 + 8.24 by im2col; one face's (9 tiles, 36) 0.95 + 2.67 and 2.29 +
/// 6.04, 0.56 + 1.63 and 1.14 + 3.44, 0.55 + 1.42 and 1.10 + 2.93 (`examples/conv_methods.rs 4
/// 10`, `1 20`; 2-core AMD EPYC with AVX-512).
const MIN_TILES: usize = 64;

/// Fewest tiles for F(4x4, 3x3) when the weight was transformed once (inference): one face's
/// 24x24 layers of `wide` (36 tiles) took 0.14 and 0.25 ms against F(2x2, 3x3)'s 0.22 and 0.42
/// and im2col's 0.56 and 1.01; its 12x12 layers (9 tiles) 0.19 and 0.97 against F(2x2, 3x3)'s
/// 0.20 and 0.57.
const MIN_CACHED_TILES_FOUR: usize = 36;

/// Fewest tiles for F(2x2, 3x3) when the weight was transformed once: one face's 6x6 layers of
/// `fast` (9 tiles) took 0.043 and 0.042 ms against im2col's 0.10 and 0.10.
const MIN_CACHED_TILES_TWO: usize = 9;

/// How the weight of a convolution reaches the Winograd path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Weight {
    /// Transformed on every call (training, where it changes after each step).
    PerCall,
    /// Transformed once and kept (inference).
    Cached,
}

/// Floats of transformed tiles (both operands of the products) per chunk: 768 KB, inside a
/// core's 1 MB L2 here, so the tiles a transform writes are still cached when the products
/// read them. Chunks of twice and four times as much measured the same.
const CHUNK_BUDGET: usize = 192 << 10;

/// The Winograd algorithm a convolution of shape `s` takes, if any: channels enough, in whole
/// sets of lanes, tiles enough for how `weight` is transformed,
/// and then F(4x4, 3x3) where the side is a multiple of 4, F(2x2, 3x3) where it is even.
pub(super) fn choose(s: &ConvShape, weight: Weight) -> Option<Tiles> {
    if !(channels_fit(s.cin) && channels_fit(s.cout)) {
        return None;
    }
    let (min_four, min_two) = match weight {
        Weight::PerCall => (MIN_TILES, MIN_TILES),
        Weight::Cached => (MIN_CACHED_TILES_FOUR, MIN_CACHED_TILES_TWO),
    };
    let tiles = |block: usize| s.n * (s.side / block) * (s.side / block);
    if s.side.is_multiple_of(4) && tiles(4) >= min_four {
        Some(Tiles::Four)
    } else if s.side.is_multiple_of(2) && tiles(2) >= min_two {
        Some(Tiles::Two)
    } else {
        None
    }
}

/// Whether `c` channels suit the Winograd path: enough of them, in whole sets of lanes.
fn channels_fit(c: usize) -> bool {
    c >= MIN_CHANNELS && c.is_multiple_of(LANES)
}

/// Length of the transformed weight (and of its gradient): a `cin x cout` plane per position.
fn transformed_len<T: Tiling>(s: &ConvShape) -> usize {
    T::POSITIONS * s.cin * s.cout
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
/// position (`[positions][cin][cout]`), into `u`.
fn transform_weight<T: Tiling>(w: &[f32], cin: usize, cout: usize, u: &mut Vec<f32>) {
    let plane = cin * cout;
    let u = grown(u, T::POSITIONS * plane);
    let mut tmp = vec![0.0; T::TILE * 3 * cout];
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for c in 0..cin {
                let taps = (&w[c * cout..], plane);
                T::transform_kernel(taps, (&mut u[c * cout..], plane), &mut tmp, cout);
            }
        },
    );
}

/// The gradient of the transformed weight `du` (`[positions][cin][cout]`) back in the kernel's
/// layout `[(ky, kx, cin), cout]`, in `dw` (overwritten).
fn weight_grad_from_transformed<T: Tiling>(du: &[f32], cin: usize, cout: usize, dw: &mut [f32]) {
    let plane = cin * cout;
    let mut tmp = vec![0.0; 3 * T::TILE * cout];
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for c in 0..cin {
                let taps = (&mut dw[c * cout..], plane);
                T::kernel_grad((&du[c * cout..], plane), taps, &mut tmp, cout);
            }
        },
    );
}

/// Tiles per tile row, and tile rows in the images of `s`.
fn tile_grid<T: Tiling>(s: &ConvShape) -> (usize, usize) {
    let per_row = s.side / T::BLOCK;
    (per_row, s.n * per_row)
}

/// Tile rows per chunk: as many as [`CHUNK_BUDGET`] allows, at least one.
fn rows_per_chunk<T: Tiling>(s: &ConvShape) -> usize {
    let (per_row, rows) = tile_grid::<T>(s);
    let per_tile_row = per_row * T::POSITIONS * (s.cin + s.cout);
    (CHUNK_BUDGET / per_tile_row).clamp(1, rows.max(1))
}

/// Where a tile's row of input pixels comes from.
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
/// (`[positions][tile][cin]`), zero padding the image border.
fn transform_input<T: Tiling>(
    x: &[f32],
    s: &ConvShape,
    first: usize,
    rows: usize,
    planes: &mut [f32],
) {
    let (per_row, _) = tile_grid::<T>(s);
    let (cin, block) = (s.cin, T::BLOCK);
    let row_len = T::TILE * cin;
    let plane = rows * per_row * cin;
    let zeros = vec![0.0; row_len];
    let mut padded = vec![0.0; T::TILE * row_len];
    let mut grid = [0.0; GRID];
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for tile in 0..rows * per_row {
                let row = first + tile / per_row;
                let (img, ty, tx) = (row / per_row, row % per_row, tile % per_row);
                let left = (block * tx).wrapping_sub(1);
                let inside_columns = tx > 0 && tx + 1 < per_row;
                let mut sources = [PatchRow::Outside; COLUMN];
                for (r, source) in sources[..T::TILE].iter_mut().enumerate() {
                    let y = (block * ty + r).wrapping_sub(1);
                    *source = match (y < s.side, inside_columns) {
                        (false, _) => PatchRow::Outside,
                        (true, true) => PatchRow::Input(((img * s.side + y) * s.side + left) * cin),
                        (true, false) => PatchRow::Padded,
                    };
                }
                for (r, scratch) in padded.chunks_mut(row_len).enumerate() {
                    if matches!(sources[r], PatchRow::Padded) {
                        let y = block * ty + r - 1;
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
                let patch: [&[f32]; COLUMN] = std::array::from_fn(|r| match sources[r] {
                    PatchRow::Input(at) => &x[at..at + row_len],
                    PatchRow::Outside => &zeros[..],
                    PatchRow::Padded => &padded[r * row_len..][..row_len],
                });
                let (patch, out) = (&patch[..T::TILE], &mut planes[tile * cin..]);
                let wide = wide_end(cin);
                for c in (0..wide).step_by(WIDE_LANES) {
                    T::input_lanes::<WIDE_LANES>(patch, cin, c, out, plane, &mut grid);
                }
                for c in (wide..cin).step_by(LANES) {
                    T::input_lanes::<LANES>(patch, cin, c, out, plane, &mut grid);
                }
            }
        },
    );
}

/// Writes the transformed output gradient of tile rows `first..first + rows` into `planes`
/// (`[positions][tile][cout]`).
fn transform_output_grad<T: Tiling>(
    dy: &[f32],
    s: &ConvShape,
    first: usize,
    rows: usize,
    planes: &mut [f32],
) {
    let (per_row, _) = tile_grid::<T>(s);
    let cout = s.cout;
    let plane = rows * per_row * cout;
    let row_len = s.side * cout;
    let mut grid = [0.0; GRID];
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for tile in 0..rows * per_row {
                let row = first + tile / per_row;
                let (img, ty, tx) = (row / per_row, row % per_row, tile % per_row);
                let at = ((img * s.side + T::BLOCK * ty) * s.side + T::BLOCK * tx) * cout;
                let (block, out) = ((&dy[at..], row_len), &mut planes[tile * cout..]);
                let wide = wide_end(cout);
                for c in (0..wide).step_by(WIDE_LANES) {
                    T::output_grad_lanes::<WIDE_LANES>(block, cout, c, out, plane, &mut grid);
                }
                for c in (wide..cout).step_by(LANES) {
                    T::output_grad_lanes::<LANES>(block, cout, c, out, plane, &mut grid);
                }
            }
        },
    );
}

/// How the tile rows of `s` are shared out: one contiguous range per thread (never an empty
/// one), and the tile rows per range.
fn ranges<T: Tiling>(s: &ConvShape) -> (usize, usize) {
    let (_, tile_rows) = tile_grid::<T>(s);
    let ranges = rayon::current_num_threads().clamp(1, tile_rows.max(1));
    let per = tile_rows.div_ceil(ranges).max(1);
    (tile_rows.div_ceil(per).max(1), per)
}

/// `y = conv(x)` (NHWC) by `tiles`, the tile rows shared out between the threads, whatever the
/// batch size.
pub(super) fn forward(
    x: &[f32],
    w: &[f32],
    s: &ConvShape,
    tiles: Tiles,
    y: &mut [f32],
    scratch: &mut Scratch,
) {
    by_tiles!(tiles, forward_by(x, w, s, y, scratch))
}

/// [`forward`] by the algorithm `T`.
fn forward_by<T: Tiling>(
    x: &[f32],
    w: &[f32],
    s: &ConvShape,
    y: &mut [f32],
    scratch: &mut Scratch,
) {
    let (ranges, _) = ranges::<T>(s);
    let (weight, parts) = scratch.weight_and_buffers(ranges);
    transform_weight::<T>(w, s.cin, s.cout, weight);
    forward_transformed_by::<T>(x, weight, s, y, parts, None);
}

/// The weight `[(ky, kx, cin), cout]` in the transformed domain of `tiles`
/// (`[positions][cin][cout]`), for [`forward_transformed`]: inference transforms each weight
/// once, when it is first used.
pub(super) fn transformed_weight(w: &[f32], cin: usize, cout: usize, tiles: Tiles) -> Vec<f32> {
    let mut u = Vec::new();
    by_tiles!(tiles, transform_weight(w, cin, cout, &mut u));
    u
}

/// `y = conv(x)` by `tiles` from its transformed weight `u`, through `max(v + bias, 0)` when
/// `bias_relu` is given; `parts` holds a set of buffers per thread ([`parts_for`]).
pub(super) fn forward_transformed(
    x: &[f32],
    u: &[f32],
    s: &ConvShape,
    tiles: Tiles,
    y: &mut [f32],
    parts: &mut [PartBuffers],
    bias_relu: Option<&[f32]>,
) {
    by_tiles!(tiles, forward_transformed_by(x, u, s, y, parts, bias_relu))
}

/// [`forward_transformed`] by the algorithm `T`.
fn forward_transformed_by<T: Tiling>(
    x: &[f32],
    u: &[f32],
    s: &ConvShape,
    y: &mut [f32],
    parts: &mut [PartBuffers],
    bias_relu: Option<&[f32]>,
) {
    let (_, per) = ranges::<T>(s);
    let (_, tile_rows) = tile_grid::<T>(s);
    let out_len = T::BLOCK * s.side * s.cout;
    y[..tile_rows * out_len]
        .par_chunks_mut(per * out_len)
        .zip(parts.par_iter_mut())
        .enumerate()
        .for_each(|(range, (y, buffers))| {
            forward_range::<T>(x, u, s, range * per, y, buffers, bias_relu)
        });
}

/// Sets of part buffers [`forward_transformed`] needs for shape `s` and `tiles`.
pub(super) fn parts_for(s: &ConvShape, tiles: Tiles) -> usize {
    by_tiles!(tiles, ranges(s)).0
}

/// The output of the tile rows from `first` on that `y` holds, chunk by chunk: transformed
/// input tiles, one product per position with the transformed weight `u`, output transform.
fn forward_range<T: Tiling>(
    x: &[f32],
    u: &[f32],
    s: &ConvShape,
    first: usize,
    y: &mut [f32],
    buffers: &mut PartBuffers,
    bias_relu: Option<&[f32]>,
) {
    let (per_row, _) = tile_grid::<T>(s);
    let out_len = T::BLOCK * s.side * s.cout;
    let chunk = rows_per_chunk::<T>(s);
    let (cin, cout) = (s.cin, s.cout);
    for (index, y) in y.chunks_mut(chunk * out_len).enumerate() {
        let rows = y.len() / out_len;
        let tiles = rows * per_row;
        let input = grown(&mut buffers.lowered, T::POSITIONS * tiles * cin);
        transform_input::<T>(x, s, first + index * chunk, rows, input);
        let products = grown(&mut buffers.paired, T::POSITIONS * tiles * cout);
        for (position, product) in products.chunks_mut(tiles * cout).enumerate() {
            let a = View::rows(&input[position * tiles * cin..], cin);
            let b = View::rows(&u[position * cin * cout..], cout);
            matmul_views(tiles, cout, cin, a, b, product, cout, false);
        }
        write_output::<T>(products, s, rows, y, bias_relu);
    }
}

/// Turns the products of `rows` tile rows (`[positions][tile][cout]`) into their output pixels
/// in `y`, which starts at the first of those rows (through `max(v + bias, 0)` with
/// `bias_relu`).
fn write_output<T: Tiling>(
    products: &[f32],
    s: &ConvShape,
    rows: usize,
    y: &mut [f32],
    bias_relu: Option<&[f32]>,
) {
    let (per_row, _) = tile_grid::<T>(s);
    let cout = s.cout;
    let plane = rows * per_row * cout;
    let row_len = s.side * cout;
    let block_width = T::BLOCK * cout;
    let mut grid = [0.0; GRID];
    // Each tile row writes `BLOCK` output rows: its own run of `y`.
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for (row, out) in y[..rows * T::BLOCK * row_len]
                .chunks_mut(T::BLOCK * row_len)
                .enumerate()
            {
                for tx in 0..per_row {
                    let tile = row * per_row + tx;
                    let products = (&products[tile * cout..], plane);
                    let block = &mut out[tx * block_width..];
                    let wide = wide_end(cout);
                    for c in (0..wide).step_by(WIDE_LANES) {
                        let block = (&mut *block, row_len);
                        T::output_lanes::<WIDE_LANES>(
                            products, cout, c, block, bias_relu, &mut grid,
                        );
                    }
                    for c in (wide..cout).step_by(LANES) {
                        let block = (&mut *block, row_len);
                        T::output_lanes::<LANES>(products, cout, c, block, bias_relu, &mut grid);
                    }
                }
            }
        },
    );
}

/// `dw` (overwritten) for `y = conv(x)` by `tiles` and the output gradient `dy`: each thread
/// sums the transformed gradient over its tile rows, and the sum goes back to the kernel's
/// layout.
pub(super) fn weight_grad(
    x: &[f32],
    dy: &[f32],
    s: &ConvShape,
    tiles: Tiles,
    dw: &mut [f32],
    scratch: &mut Scratch,
) {
    by_tiles!(tiles, weight_grad_by(x, dy, s, dw, scratch))
}

/// [`weight_grad`] by the algorithm `T`.
fn weight_grad_by<T: Tiling>(
    x: &[f32],
    dy: &[f32],
    s: &ConvShape,
    dw: &mut [f32],
    scratch: &mut Scratch,
) {
    let (ranges, per) = ranges::<T>(s);
    let (_, parts) = scratch.weight_and_buffers(ranges);
    let (_, tile_rows) = tile_grid::<T>(s);
    parts
        .par_iter_mut()
        .enumerate()
        .for_each(|(range, buffers)| {
            let first = range * per;
            let rows = per.min(tile_rows.saturating_sub(first));
            weight_grad_range::<T>(x, dy, s, first, rows, buffers);
        });
    let len = transformed_len::<T>(s);
    let (total, others) = parts.split_first_mut().expect("at least one range");
    let total = &mut total.grad[..len];
    for other in others {
        total
            .iter_mut()
            .zip(&other.grad[..len])
            .for_each(|(a, b)| *a += b);
    }
    weight_grad_from_transformed::<T>(total, s.cin, s.cout, dw);
}

/// The transformed weight gradient of tile rows `first..first + rows`,
/// `[positions][cin][cout]` in `buffers.grad` (overwritten), chunk by chunk.
fn weight_grad_range<T: Tiling>(
    x: &[f32],
    dy: &[f32],
    s: &ConvShape,
    first: usize,
    rows: usize,
    buffers: &mut PartBuffers,
) {
    let (per_row, _) = tile_grid::<T>(s);
    let chunk = rows_per_chunk::<T>(s);
    let (cin, cout) = (s.cin, s.cout);
    let du = grown(&mut buffers.grad, transformed_len::<T>(s));
    if rows == 0 {
        du.fill(0.0);
    }
    // The first chunk's products overwrite `du`, the others add to it: no pass clearing it
    // first (F(4x4, 3x3)'s is 36 planes of `cin x cout`, 9 MB at 256 -> 256; clearing it was 4%
    // of a training step of `wide`).
    for start in (first..first + rows).step_by(chunk) {
        let rows = chunk.min(first + rows - start);
        let tiles = rows * per_row;
        let input = grown(&mut buffers.lowered, T::POSITIONS * tiles * cin);
        transform_input::<T>(x, s, start, rows, input);
        let grads = grown(&mut buffers.paired, T::POSITIONS * tiles * cout);
        transform_output_grad::<T>(dy, s, start, rows, grads);
        for (position, du) in du.chunks_mut(cin * cout).enumerate() {
            let a = View::columns(&input[position * tiles * cin..], cin);
            let b = View::rows(&grads[position * tiles * cout..], cout);
            matmul_views(cin, cout, tiles, a, b, du, cout, start > first);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `(i * mul) % 17 - 8` for `i` in `0..len`: small integers, exact in f32.
    fn values(len: usize, mul: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * mul) % 17) as f32 - 8.0).collect()
    }

    /// Checks `A^T [(G g G^T) . (B^T d B)] A` against the valid correlation of a `T x T` tile
    /// `d` with a 3x3 kernel `g` (one channel in and out), to `tolerance` relative to the
    /// largest output.
    pub(in crate::layers::winograd) fn check_single_tile<const T: usize, const B: usize>(
        input: &[[f32; T]; T],
        kernel: &[[f32; 3]; T],
        output: &[[f32; T]; B],
        tolerance: f32,
    ) {
        let d = values(T * T, 7);
        let g = values(9, 5);
        let (mut v, mut u, mut y) = (vec![0.0; T * T], vec![0.0; T * T], vec![0.0; B * B]);
        let mut tmp = vec![0.0; T * T];
        sandwich(input, (&d, 1), (&mut v, 1), &mut tmp, 1);
        sandwich(kernel, (&g, 1), (&mut u, 1), &mut tmp, 1);
        let m: Vec<f32> = u.iter().zip(&v).map(|(a, b)| a * b).collect();
        sandwich(output, (&m, 1), (&mut y, 1), &mut tmp, 1);
        let direct: Vec<f32> = (0..B * B)
            .map(|at| {
                let (i, j) = (at / B, at % B);
                (0..9)
                    .map(|tap| g[tap] * d[(i + tap / 3) * T + j + tap % 3])
                    .sum()
            })
            .collect();
        let scale = direct.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (at, (got, want)) in y.iter().zip(&direct).enumerate() {
            assert!(
                (got - want).abs() <= tolerance * scale,
                "output {at}: {got} vs {want}"
            );
        }
    }

    /// Channels in the tests: three sets of lanes (at 16 lanes, one wide set and one narrow).
    const C: usize = 3 * LANES;
    /// Distance between positions in the planes the tests use (three tiles' worth).
    const PLANE: usize = 3 * C;

    /// Runs `f(c, wide)` over the channels of the tests two ways (all sets of 8 lanes; one of
    /// 16 then one of 8) and returns what each wrote into a buffer of `len` floats. The wide
    /// kernels run on every processor (plain Rust; one register a set only on AVX-512), so both
    /// widths are checked whatever this machine has.
    fn at_both_widths(len: usize, f: impl Fn(&mut [f32], usize, bool)) -> [Vec<f32>; 2] {
        let (mut narrow, mut mixed) = (vec![0.0; len], vec![0.0; len]);
        for c in (0..C).step_by(LANES) {
            f(&mut narrow, c, false);
        }
        f(&mut mixed, 0, true);
        f(&mut mixed, WIDE_LANES, false);
        [narrow, mixed]
    }

    /// Checks the written-out transforms of `T` (tile side `S`, block side `B`) against the
    /// matrices, at 8 lanes and at 16, to `tolerance` relative to the largest value.
    pub(in crate::layers::winograd) fn check_transforms<
        T: Tiling,
        const S: usize,
        const B: usize,
    >(
        input: &[[f32; S]; S],
        output: &[[f32; S]; B],
        output_adjoint: &[[f32; B]; S],
        tolerance: f32,
    ) {
        assert_eq!((T::TILE, T::BLOCK), (S, B));
        let close = |got: &[f32], want: &[f32], what: &str| {
            let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            for (i, (a, b)) in got.iter().zip(want).enumerate() {
                assert!(
                    (a - b).abs() <= tolerance * scale,
                    "{what}[{i}]: {a} vs {b}"
                );
            }
        };
        // The positions of tile 1 in planes `PLANE` apart, one vector of `C` after the other.
        let tile_one = |planes: &[f32]| -> Vec<f32> {
            (0..S * S)
                .flat_map(|k| planes[k * PLANE + C..][..C].to_vec())
                .collect()
        };
        let mut tmp = vec![0.0; S * S * C];

        let patch = values(S * S * C, 7);
        let rows: Vec<&[f32]> = patch.chunks(S * C).collect();
        let mut want = vec![0.0; S * S * C];
        sandwich(input, (&patch, C), (&mut want, C), &mut tmp, C);
        for got in at_both_widths(S * S * PLANE, |out, c, wide| match wide {
            true => {
                T::input_lanes::<WIDE_LANES>(&rows, C, c, &mut out[C..], PLANE, &mut [0.0; GRID])
            }
            false => T::input_lanes::<LANES>(&rows, C, c, &mut out[C..], PLANE, &mut [0.0; GRID]),
        }) {
            close(&tile_one(&got), &want, "input transform");
        }

        let planes = values(S * S * PLANE, 5);
        let bias = values(C, 3);
        let products = tile_one(&planes);
        let mut want = vec![0.0; B * B * C];
        sandwich(output, (&products, C), (&mut want, C), &mut tmp, C);
        let with_bias: Vec<f32> = want
            .iter()
            .enumerate()
            .map(|(i, v)| (v + bias[i % C]).max(0.0))
            .collect();
        for (bias_relu, want) in [(None, &want), (Some(&bias[..]), &with_bias)] {
            let products = (&planes[C..], PLANE);
            for got in at_both_widths(B * B * C, |y, c, wide| match wide {
                true => T::output_lanes::<WIDE_LANES>(
                    products,
                    C,
                    c,
                    (y, B * C),
                    bias_relu,
                    &mut [0.0; GRID],
                ),
                false => T::output_lanes::<LANES>(
                    products,
                    C,
                    c,
                    (y, B * C),
                    bias_relu,
                    &mut [0.0; GRID],
                ),
            }) {
                close(&got, want, "output transform");
            }
        }

        let block = values(B * B * C, 3);
        let mut want = vec![0.0; S * S * C];
        sandwich(output_adjoint, (&block, C), (&mut want, C), &mut tmp, C);
        for got in at_both_widths(S * S * PLANE, |out, c, wide| match wide {
            true => T::output_grad_lanes::<WIDE_LANES>(
                (&block, B * C),
                C,
                c,
                &mut out[C..],
                PLANE,
                &mut [0.0; GRID],
            ),
            false => T::output_grad_lanes::<LANES>(
                (&block, B * C),
                C,
                c,
                &mut out[C..],
                PLANE,
                &mut [0.0; GRID],
            ),
        }) {
            close(&tile_one(&got), &want, "output gradient transform");
        }
    }

    #[test]
    fn the_algorithm_follows_the_side_channels_and_tiles() {
        let s = |n, side, cin, cout| ConvShape { n, side, cin, cout };
        let per_call = |shape| choose(&shape, Weight::PerCall);
        assert_eq!(per_call(s(1, 48, 64, 64)), Some(Tiles::Four));
        assert_eq!(per_call(s(8, 12, 128, 256)), Some(Tiles::Four));
        assert_eq!(
            per_call(s(4, 12, 128, 256)),
            Some(Tiles::Two),
            "36 4x4 tiles, 144 2x2"
        );
        assert_eq!(
            per_call(s(1, 12, 128, 256)),
            None,
            "36 2x2 tiles are too few"
        );
        assert_eq!(
            per_call(s(3, 10, 64, 64)),
            Some(Tiles::Two),
            "no 4x4 blocks in 10"
        );
        assert_eq!(
            per_call(s(1, 48, 1, 64)),
            None,
            "a first layer stays on im2col"
        );
        assert_eq!(
            per_call(s(9, 3, 64, 64)),
            None,
            "an odd side has no whole blocks"
        );
        assert_eq!(per_call(s(1, 48, 64, 8)), None, "too few output channels");
        assert_eq!(per_call(s(1, 48, 64, 36)), None, "not whole sets of lanes");
        assert_eq!(per_call(s(64, 24, 16, 32)), Some(Tiles::Four));
        let cached = |shape| choose(&shape, Weight::Cached);
        assert_eq!(
            cached(s(1, 24, 128, 128)),
            Some(Tiles::Four),
            "36 tiles, weight kept"
        );
        assert_eq!(
            cached(s(1, 12, 128, 256)),
            Some(Tiles::Two),
            "9 4x4 tiles, 36 2x2"
        );
        assert_eq!(cached(s(1, 6, 64, 128)), Some(Tiles::Two), "9 tiles");
        assert_eq!(cached(s(1, 4, 128, 256)), None, "4 tiles are too few");
    }
}
