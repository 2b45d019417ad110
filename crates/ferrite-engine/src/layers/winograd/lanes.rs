//! What the hand-written tile transforms of [`super::f2`] and [`super::f4`] are made of: a set of
//! channels of one pixel as an array that fills one register (16 floats where the processor has
//! AVX-512, 8 elsewhere), and the vector operations on it. Written this way, a tile's transform
//! needs no temporary buffers and every step is a vector operation once
//! [`crate::simd::vectorized`] compiles it for the processor.

/// Channels handled together at the least: one AVX register of `f32`. Channel counts on the
/// Winograd path are whole multiples of it.
pub(super) const LANES: usize = 8;

/// Channels handled together where the processor has AVX-512: one of its registers.
pub(super) const WIDE_LANES: usize = 16;

/// Where the sets of [`WIDE_LANES`] channels end and those of [`LANES`] take over, for
/// `channels` channels: at 0 (all narrow) unless [`crate::simd::vectorized`] runs on AVX-512,
/// where 16-float arrays are one register each; on AVX2 they would be two, with twice the
/// spills. (Callers loop over the two kinds of sets themselves: passing the per-set work as
/// closures left them uninlined, outside `vectorized`'s instruction set, and moving their
/// arrays through `memmove` took a third of the time.)
#[inline(always)]
pub(super) fn wide_end(channels: usize) -> usize {
    if has_avx512() {
        channels / WIDE_LANES * WIDE_LANES
    } else {
        0
    }
}

/// Whether [`crate::simd::vectorized`] dispatches to AVX-512 here (detected once).
fn has_avx512() -> bool {
    static DETECTED: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
        #[cfg(target_arch = "x86_64")]
        return matches!(pulp::Arch::new(), pulp::Arch::V4(_));
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    });
    *DETECTED
}

/// `L` channels of one pixel.
pub(super) type Lanes<const L: usize> = [f32; L];

#[inline(always)]
pub(super) fn load<const L: usize>(src: &[f32], at: usize) -> Lanes<L> {
    src[at..at + L].try_into().expect("a full set of lanes")
}

#[inline(always)]
pub(super) fn store<const L: usize>(dst: &mut [f32], at: usize, v: Lanes<L>) {
    dst[at..at + L].copy_from_slice(&v);
}

#[inline(always)]
pub(super) fn add<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| a[l] + b[l])
}

#[inline(always)]
pub(super) fn sub<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| a[l] - b[l])
}

#[inline(always)]
pub(super) fn neg<const L: usize>(a: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| -a[l])
}

/// `k * a + b`.
#[inline(always)]
pub(super) fn scale_add<const L: usize>(k: f32, a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| k * a[l] + b[l])
}

/// `max(a + b, 0)`: a bias, then ReLU.
#[inline(always)]
fn add_relu<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| (a[l] + b[l]).max(0.0))
}

/// `v`, through `max(v + bias, 0)` for channels `c..c + L` when `bias_relu` gives the bias
/// (inference's folded batch norm and ReLU, applied while an output block is in registers
/// instead of in a pass of their own).
#[inline(always)]
fn epilogue<const L: usize>(v: Lanes<L>, bias_relu: Option<&[f32]>, c: usize) -> Lanes<L> {
    match bias_relu {
        Some(bias) => add_relu(v, load(bias, c)),
        None => v,
    }
}

/// Entries of the longest column a transform works on: a side of F(4x4, 3x3)'s 6x6 tile. The
/// shorter algorithm's columns use the first entries only.
pub(super) const COLUMN: usize = 6;

/// A column (or row) of a tile: `COLUMN` sets of lanes, the first ones used.
pub(super) type Column<const L: usize> = [Lanes<L>; COLUMN];

/// `values` as the first entries of a column, the rest zero.
#[inline(always)]
pub(super) fn column<const L: usize, const N: usize>(values: [Lanes<L>; N]) -> Column<L> {
    let mut c = [[0.0; L]; COLUMN];
    c[..N].copy_from_slice(&values);
    c
}

/// Floats of the scratch grid a tile's transform keeps between its two sides: a full grid of
/// columns of [`WIDE_LANES`]. A grid of arrays on the stack instead was cleared (`memset`) or
/// moved (`memmove`) on every tile, 5-10% of a training step.
pub(super) const GRID: usize = COLUMN * COLUMN * WIDE_LANES;

/// Writes the first `values.len()` transformed values of channels `c..c + L` as position row
/// `i` of a tile of that side: position `(i, j)` to `out[(i * side + j) * plane + c..]`.
#[inline(always)]
pub(super) fn store_position_row<const L: usize>(
    out: &mut [f32],
    plane: usize,
    c: usize,
    i: usize,
    values: &[Lanes<L>],
) {
    let side = values.len();
    for (j, &v) in values.iter().enumerate() {
        store(out, (i * side + j) * plane + c, v);
    }
}

/// Writes row `i` of an output block, channels `c..c + L`: pixel `(i, j)` to
/// `dst[i * row_len + j * channels + c..]`, each through [`epilogue`].
#[inline(always)]
pub(super) fn store_block_row<const L: usize>(
    row: &[Lanes<L>],
    i: usize,
    channels: usize,
    c: usize,
    (dst, row_len): (&mut [f32], usize),
    bias_relu: Option<&[f32]>,
) {
    for (j, &v) in row.iter().enumerate() {
        store(
            dst,
            i * row_len + j * channels + c,
            epilogue(v, bias_relu, c),
        );
    }
}

/// `count` sets of lanes `stride` apart from `src[at]`, as the first entries of a column.
#[inline(always)]
pub(super) fn load_strided<const L: usize>(
    src: &[f32],
    at: usize,
    stride: usize,
    count: usize,
) -> Column<L> {
    // A loop over a zeroed array, not `std::array::from_fn`, which was left uninlined.
    let mut v = [[0.0; L]; COLUMN];
    for (k, v) in v.iter_mut().take(count).enumerate() {
        *v = load(src, at + k * stride);
    }
    v
}

/// Stores `values` as column `q` of a grid of `columns` columns of `L` lanes: entry `(i, q)`
/// at `grid[(i * columns + q) * L..]`.
#[inline(always)]
pub(super) fn store_grid_column<const L: usize>(
    grid: &mut [f32],
    columns: usize,
    q: usize,
    values: &[Lanes<L>],
) {
    for (i, &v) in values.iter().enumerate() {
        store(grid, (i * columns + q) * L, v);
    }
}

/// Row `i` of the grid [`store_grid_column`] fills, as the first `columns` entries of a column.
#[inline(always)]
pub(super) fn load_grid_row<const L: usize>(grid: &[f32], columns: usize, i: usize) -> Column<L> {
    load_strided(grid, i * columns * L, L, columns)
}
