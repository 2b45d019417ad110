//! The tile transforms that run once per tile, written out for 8 channels at a time: the
//! input tile to the transformed domain (`B^T d B`), the products back to a 2x2 output block
//! (`A^T m A`), and the output gradient block to the transformed domain (`A dy A^T`). The
//! generic [`super::sandwich`] computes the same from the matrices, and tests hold the two
//! together; written out, a tile needs no temporary buffers and every step is a vector
//! operation.

/// Channels handled together: one AVX register of `f32`.
pub(super) const LANES: usize = 8;

/// Runs `f` with the best instruction set this CPU has (AVX2 and FMA on x86-64 where
/// available), detected at run time: the build itself targets baseline x86-64, where these
/// transforms compiled to 128-bit SSE with their arrays spilled to the stack. Everything `f`
/// does must be inlined into it to benefit, hence the `#[inline(always)]` throughout.
#[inline(always)]
pub(super) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(f)
}

/// Eight channels of one pixel.
type Lanes = [f32; LANES];

#[inline(always)]
fn load(src: &[f32], at: usize) -> Lanes {
    src[at..at + LANES].try_into().expect("a full set of lanes")
}

#[inline(always)]
fn store(dst: &mut [f32], at: usize, v: Lanes) {
    dst[at..at + LANES].copy_from_slice(&v);
}

#[inline(always)]
fn add(a: Lanes, b: Lanes) -> Lanes {
    std::array::from_fn(|l| a[l] + b[l])
}

#[inline(always)]
fn sub(a: Lanes, b: Lanes) -> Lanes {
    std::array::from_fn(|l| a[l] - b[l])
}

/// `max(a + b, 0)`: a bias, then ReLU.
#[inline(always)]
fn add_relu(a: Lanes, b: Lanes) -> Lanes {
    std::array::from_fn(|l| (a[l] + b[l]).max(0.0))
}

#[inline(always)]
fn neg(a: Lanes) -> Lanes {
    std::array::from_fn(|l| -a[l])
}

/// `B^T` applied to four values: `(d0 - d2, d1 + d2, d2 - d1, d1 - d3)`.
#[inline(always)]
fn input_1d([d0, d1, d2, d3]: [Lanes; 4]) -> [Lanes; 4] {
    [sub(d0, d2), add(d1, d2), sub(d2, d1), sub(d1, d3)]
}

/// `A^T` applied to four values: `(m0 + m1 + m2, m1 - m2 - m3)`.
#[inline(always)]
fn output_1d([m0, m1, m2, m3]: [Lanes; 4]) -> [Lanes; 2] {
    [add(add(m0, m1), m2), sub(sub(m1, m2), m3)]
}

/// `A` applied to two values: `(g0, g0 + g1, g0 - g1, -g1)`.
#[inline(always)]
fn output_grad_1d([g0, g1]: [Lanes; 2]) -> [Lanes; 4] {
    [g0, add(g0, g1), sub(g0, g1), neg(g1)]
}

/// Transforms one input tile. `rows[r]` holds the tile's row `r`: its 4 pixels of `cin`
/// channels, consecutive. Position `k` of the result goes to `out[k * plane..][..cin]`.
#[inline(always)]
pub(super) fn input_tile(rows: [&[f32]; 4], cin: usize, out: &mut [f32], plane: usize) {
    for c in (0..cin).step_by(LANES) {
        let d: [[Lanes; 4]; 4] =
            std::array::from_fn(|r| std::array::from_fn(|q| load(rows[r], q * cin + c)));
        // Down the columns, then along the rows.
        let columns: [[Lanes; 4]; 4] =
            std::array::from_fn(|q| input_1d([d[0][q], d[1][q], d[2][q], d[3][q]]));
        let transformed: [[Lanes; 4]; 4] =
            std::array::from_fn(|i| input_1d(std::array::from_fn(|q| columns[q][i])));
        for (i, row) in transformed.into_iter().enumerate() {
            for (j, v) in row.into_iter().enumerate() {
                store(out, (i * 4 + j) * plane + c, v);
            }
        }
    }
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
    for c in (0..cout).step_by(LANES) {
        let m: [[Lanes; 4]; 4] = std::array::from_fn(|i| {
            std::array::from_fn(|j| load(products, (i * 4 + j) * plane + c))
        });
        let columns: [[Lanes; 2]; 4] =
            std::array::from_fn(|j| output_1d([m[0][j], m[1][j], m[2][j], m[3][j]]));
        let epilogue = |v: Lanes| match bias_relu {
            Some(bias) => add_relu(v, load(bias, c)),
            None => v,
        };
        for (i, dst) in [(0, &mut *top), (1, &mut *bottom)] {
            let row = output_1d([columns[0][i], columns[1][i], columns[2][i], columns[3][i]]);
            store(dst, c, epilogue(row[0]));
            store(dst, cout + c, epilogue(row[1]));
        }
    }
}

/// Transforms one 2x2 block of the output gradient (pixel `(i, j)` at `pixels[i][j * cout..]`)
/// to the transformed domain: position `k` goes to `out[k * plane..][..cout]`.
#[inline(always)]
pub(super) fn output_grad_tile(pixels: [&[f32]; 2], cout: usize, out: &mut [f32], plane: usize) {
    for c in (0..cout).step_by(LANES) {
        let g: [[Lanes; 2]; 2] =
            std::array::from_fn(|i| std::array::from_fn(|j| load(pixels[i], j * cout + c)));
        let columns: [[Lanes; 4]; 2] = std::array::from_fn(|j| output_grad_1d([g[0][j], g[1][j]]));
        let transformed: [[Lanes; 4]; 4] =
            std::array::from_fn(|i| output_grad_1d([columns[0][i], columns[1][i]]));
        for (i, row) in transformed.into_iter().enumerate() {
            for (j, v) in row.into_iter().enumerate() {
                store(out, (i * 4 + j) * plane + c, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{sandwich, INPUT, OUTPUT, OUTPUT_ADJOINT};
    use super::*;

    /// Channels in the tests: two sets of lanes.
    const C: usize = 2 * LANES;
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
}
