//! The tile transforms that run once per tile, written out for 16 channels at a time on
//! AVX-512 and 8 elsewhere (a set of channels fills one register either way): the
//! input tile to the transformed domain (`B^T d B`), the products back to a 2x2 output block
//! (`A^T m A`), and the output gradient block to the transformed domain (`A dy A^T`). The
//! generic [`super::sandwich`] computes the same from the matrices, and tests hold the two
//! together; written out, a tile needs no temporary buffers and every step is a vector
//! operation.

/// Channels handled together at the least: one AVX register of `f32`. Channel counts on the
/// Winograd path are whole multiples of it.
pub(super) const LANES: usize = 8;

/// Channels handled together where the processor has AVX-512: one of its registers.
const WIDE_LANES: usize = 16;

/// Where the sets of [`WIDE_LANES`] channels end and those of [`LANES`] take over, for
/// `channels` channels: at 0 (all narrow) unless [`crate::simd::vectorized`] runs on AVX-512,
/// where 16-float arrays are one register each; on AVX2 they would be two, with twice the
/// spills.
#[inline(always)]
fn wide_end(channels: usize) -> usize {
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
type Lanes<const L: usize> = [f32; L];

#[inline(always)]
fn load<const L: usize>(src: &[f32], at: usize) -> Lanes<L> {
    src[at..at + L].try_into().expect("a full set of lanes")
}

#[inline(always)]
fn store<const L: usize>(dst: &mut [f32], at: usize, v: Lanes<L>) {
    dst[at..at + L].copy_from_slice(&v);
}

#[inline(always)]
fn add<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| a[l] + b[l])
}

#[inline(always)]
fn sub<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| a[l] - b[l])
}

/// Writes a transformed 4x4 tile of channels `c..c + L`: position `(i, j)` to
/// `out[(i * 4 + j) * plane + c..]`.
#[inline(always)]
fn store_positions<const L: usize>(
    out: &mut [f32],
    plane: usize,
    c: usize,
    transformed: [[Lanes<L>; 4]; 4],
) {
    for (i, row) in transformed.into_iter().enumerate() {
        for (j, v) in row.into_iter().enumerate() {
            store(out, (i * 4 + j) * plane + c, v);
        }
    }
}

/// `max(a + b, 0)`: a bias, then ReLU.
#[inline(always)]
fn add_relu<const L: usize>(a: Lanes<L>, b: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| (a[l] + b[l]).max(0.0))
}

#[inline(always)]
fn neg<const L: usize>(a: Lanes<L>) -> Lanes<L> {
    std::array::from_fn(|l| -a[l])
}

/// `B^T` applied to four values: `(d0 - d2, d1 + d2, d2 - d1, d1 - d3)`.
#[inline(always)]
fn input_1d<const L: usize>([d0, d1, d2, d3]: [Lanes<L>; 4]) -> [Lanes<L>; 4] {
    [sub(d0, d2), add(d1, d2), sub(d2, d1), sub(d1, d3)]
}

/// `A^T` applied to four values: `(m0 + m1 + m2, m1 - m2 - m3)`.
#[inline(always)]
fn output_1d<const L: usize>([m0, m1, m2, m3]: [Lanes<L>; 4]) -> [Lanes<L>; 2] {
    [add(add(m0, m1), m2), sub(sub(m1, m2), m3)]
}

/// `A` applied to two values: `(g0, g0 + g1, g0 - g1, -g1)`.
#[inline(always)]
fn output_grad_1d<const L: usize>([g0, g1]: [Lanes<L>; 2]) -> [Lanes<L>; 4] {
    [g0, add(g0, g1), sub(g0, g1), neg(g1)]
}

/// Transforms one input tile. `rows[r]` holds the tile's row `r`: its 4 pixels of `cin`
/// channels, consecutive. Position `k` of the result goes to `out[k * plane..][..cin]`.
#[inline(always)]
pub(super) fn input_tile(rows: [&[f32]; 4], cin: usize, out: &mut [f32], plane: usize) {
    let wide = wide_end(cin);
    for c in (0..wide).step_by(WIDE_LANES) {
        input_lanes::<WIDE_LANES>(rows, cin, c, out, plane);
    }
    for c in (wide..cin).step_by(LANES) {
        input_lanes::<LANES>(rows, cin, c, out, plane);
    }
}

/// [`input_tile`] for channels `c..c + L`.
#[inline(always)]
fn input_lanes<const L: usize>(
    rows: [&[f32]; 4],
    cin: usize,
    c: usize,
    out: &mut [f32],
    plane: usize,
) {
    let d: [[Lanes<L>; 4]; 4] =
        std::array::from_fn(|r| std::array::from_fn(|q| load(rows[r], q * cin + c)));
    // Down the columns, then along the rows.
    let columns: [[Lanes<L>; 4]; 4] =
        std::array::from_fn(|q| input_1d([d[0][q], d[1][q], d[2][q], d[3][q]]));
    let transformed: [[Lanes<L>; 4]; 4] =
        std::array::from_fn(|i| input_1d(std::array::from_fn(|q| columns[q][i])));
    store_positions(out, plane, c, transformed);
}

/// Turns one tile's products (position `k` at `products[k * plane..][..cout]`) into its 2x2
/// output block: pixel `(i, j)` goes to `pixels[i][j * cout..][..cout]`, through
/// `max(v + bias, 0)` when `bias_relu` gives the bias (inference's folded batch norm and ReLU,
/// applied while the block is in registers instead of in a pass of their own).
#[inline(always)]
pub(super) fn output_tile(
    products: &[f32],
    plane: usize,
    cout: usize,
    pixels: [&mut [f32]; 2],
    bias_relu: Option<&[f32]>,
) {
    let [top, bottom] = pixels;
    let wide = wide_end(cout);
    for c in (0..wide).step_by(WIDE_LANES) {
        let pixels = [&mut *top, &mut *bottom];
        output_lanes::<WIDE_LANES>(products, plane, cout, c, pixels, bias_relu);
    }
    for c in (wide..cout).step_by(LANES) {
        let pixels = [&mut *top, &mut *bottom];
        output_lanes::<LANES>(products, plane, cout, c, pixels, bias_relu);
    }
}

/// [`output_tile`] for channels `c..c + L`.
#[inline(always)]
fn output_lanes<const L: usize>(
    products: &[f32],
    plane: usize,
    cout: usize,
    c: usize,
    [top, bottom]: [&mut [f32]; 2],
    bias_relu: Option<&[f32]>,
) {
    let m: [[Lanes<L>; 4]; 4] =
        std::array::from_fn(|i| std::array::from_fn(|j| load(products, (i * 4 + j) * plane + c)));
    let columns: [[Lanes<L>; 2]; 4] =
        std::array::from_fn(|j| output_1d([m[0][j], m[1][j], m[2][j], m[3][j]]));
    let epilogue = |v: Lanes<L>| match bias_relu {
        Some(bias) => add_relu(v, load(bias, c)),
        None => v,
    };
    for (i, dst) in [(0, top), (1, bottom)] {
        let row = output_1d([columns[0][i], columns[1][i], columns[2][i], columns[3][i]]);
        store(dst, c, epilogue(row[0]));
        store(dst, cout + c, epilogue(row[1]));
    }
}

/// Transforms one 2x2 block of the output gradient (pixel `(i, j)` at `pixels[i][j * cout..]`)
/// to the transformed domain: position `k` goes to `out[k * plane..][..cout]`.
#[inline(always)]
pub(super) fn output_grad_tile(pixels: [&[f32]; 2], cout: usize, out: &mut [f32], plane: usize) {
    let wide = wide_end(cout);
    for c in (0..wide).step_by(WIDE_LANES) {
        output_grad_lanes::<WIDE_LANES>(pixels, cout, c, out, plane);
    }
    for c in (wide..cout).step_by(LANES) {
        output_grad_lanes::<LANES>(pixels, cout, c, out, plane);
    }
}

/// [`output_grad_tile`] for channels `c..c + L`.
#[inline(always)]
fn output_grad_lanes<const L: usize>(
    pixels: [&[f32]; 2],
    cout: usize,
    c: usize,
    out: &mut [f32],
    plane: usize,
) {
    let g: [[Lanes<L>; 2]; 2] =
        std::array::from_fn(|i| std::array::from_fn(|j| load(pixels[i], j * cout + c)));
    let columns: [[Lanes<L>; 4]; 2] = std::array::from_fn(|j| output_grad_1d([g[0][j], g[1][j]]));
    let transformed: [[Lanes<L>; 4]; 4] =
        std::array::from_fn(|i| output_grad_1d([columns[0][i], columns[1][i]]));
    store_positions(out, plane, c, transformed);
}

#[cfg(test)]
mod tests {
    use super::super::{sandwich, INPUT, OUTPUT, OUTPUT_ADJOINT};
    use super::*;

    /// Channels in the tests: three sets of lanes (on AVX-512, one wide set and one narrow).
    const C: usize = 3 * LANES;
    /// Distance between positions in the planes the tests use (three tiles' worth).
    const PLANE: usize = 3 * C;

    fn values(len: usize, mul: usize) -> Vec<f32> {
        (0..len).map(|i| ((i * mul) % 17) as f32 - 8.0).collect()
    }

    /// The 16 positions of tile 1 in planes `PLANE` apart, one vector of `C` after the other.
    fn tile_one(planes: &[f32]) -> Vec<f32> {
        (0..16)
            .flat_map(|k| planes[k * PLANE + C..][..C].to_vec())
            .collect()
    }

    #[test]
    fn the_input_transform_matches_the_matrix() {
        let patch = values(16 * C, 7);
        let rows = std::array::from_fn(|r| &patch[r * 4 * C..][..4 * C]);
        let mut planes = vec![0.0; 16 * PLANE];
        input_tile(rows, C, &mut planes[C..], PLANE);
        let (mut want, mut tmp) = (vec![0.0; 16 * C], vec![0.0; 16 * C]);
        sandwich(&INPUT, (&patch, C), (&mut want, C), &mut tmp, C);
        assert_eq!(tile_one(&planes), want);
    }

    #[test]
    fn the_output_transform_matches_the_matrix() {
        let planes = values(16 * PLANE, 5);
        let (mut top, mut bottom) = (vec![0.0; 2 * C], vec![0.0; 2 * C]);
        output_tile(&planes[C..], PLANE, C, [&mut top, &mut bottom], None);
        let (mut want, mut tmp) = (vec![0.0; 4 * C], vec![0.0; 8 * C]);
        let products = tile_one(&planes);
        sandwich(&OUTPUT, (&products, C), (&mut want, C), &mut tmp, C);
        assert_eq!([top, bottom].concat(), want);
    }

    #[test]
    fn the_output_gradient_transform_matches_the_matrix() {
        let block = values(4 * C, 3);
        let pixels = [&block[..2 * C], &block[2 * C..]];
        let mut planes = vec![0.0; 16 * PLANE];
        output_grad_tile(pixels, C, &mut planes[C..], PLANE);
        let (mut want, mut tmp) = (vec![0.0; 16 * C], vec![0.0; 8 * C]);
        sandwich(&OUTPUT_ADJOINT, (&block, C), (&mut want, C), &mut tmp, C);
        assert_eq!(tile_one(&planes), want);
    }

    /// The wide kernels run on every processor (plain Rust; one register a set only on
    /// AVX-512), so they are checked here whatever this machine has: channels 0..16 wide and
    /// 16..24 narrow against all three sets narrow.
    #[test]
    fn sixteen_lanes_compute_what_eight_do() {
        let patch = values(16 * C, 7);
        let rows = std::array::from_fn(|r| &patch[r * 4 * C..][..4 * C]);
        let (mut mixed, mut narrow) = (vec![0.0; 16 * PLANE], vec![0.0; 16 * PLANE]);
        input_lanes::<WIDE_LANES>(rows, C, 0, &mut mixed, PLANE);
        input_lanes::<LANES>(rows, C, WIDE_LANES, &mut mixed, PLANE);
        for c in (0..C).step_by(LANES) {
            input_lanes::<LANES>(rows, C, c, &mut narrow, PLANE);
        }
        assert_eq!(mixed, narrow, "input transform");

        let planes = values(16 * PLANE, 5);
        let bias = values(C, 3);
        let mut mixed = (vec![0.0; 2 * C], vec![0.0; 2 * C]);
        let mut narrow = mixed.clone();
        for (c, wide) in [(0, true), (WIDE_LANES, false)] {
            let pixels = [&mut mixed.0[..], &mut mixed.1[..]];
            if wide {
                output_lanes::<WIDE_LANES>(&planes, PLANE, C, c, pixels, Some(&bias));
            } else {
                output_lanes::<LANES>(&planes, PLANE, C, c, pixels, Some(&bias));
            }
        }
        for c in (0..C).step_by(LANES) {
            let pixels = [&mut narrow.0[..], &mut narrow.1[..]];
            output_lanes::<LANES>(&planes, PLANE, C, c, pixels, Some(&bias));
        }
        assert_eq!(mixed, narrow, "output transform");

        let block = values(4 * C, 3);
        let pixels = [&block[..2 * C], &block[2 * C..]];
        let (mut mixed, mut narrow) = (vec![0.0; 16 * PLANE], vec![0.0; 16 * PLANE]);
        output_grad_lanes::<WIDE_LANES>(pixels, C, 0, &mut mixed, PLANE);
        output_grad_lanes::<LANES>(pixels, C, WIDE_LANES, &mut mixed, PLANE);
        for c in (0..C).step_by(LANES) {
            output_grad_lanes::<LANES>(pixels, C, c, &mut narrow, PLANE);
        }
        assert_eq!(mixed, narrow, "output gradient transform");
    }
}
