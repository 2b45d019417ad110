//! 3x3 convolution, stride 1, padding 1, no bias (batch norm follows), on NHWC buffers.
//!
//! Forward and backward are matrix products over an im2col buffer built a chunk of output rows
//! at a time: a chunk small enough to stay in cache between im2col and the product, and a memory
//! bound whatever the batch size.

use rayon::prelude::*;

use super::winograd::{self, Tiles, Weight};
use crate::matmul::{matmul, matmul_single_thread, Operand};

/// Elements of im2col buffer per chunk and thread: 512 KB, half of a core's L2 here, so the
/// rows that im2col writes are still in cache when the product packs them. Whole-image chunks
/// of up to 32 MB trained the reference CNN at 55-60 img/s against 76-96 with chunks of 128K-512K
/// elements (`ferrite bench --engine ferrite`, alternating runs beside a training run).
const COL_BUDGET: usize = 128 << 10;

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
    fn rows(&self) -> usize {
        self.n * self.pixels()
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

/// Fills `col` with `rows` rows of `9 * cin`, output rows `first..first + rows` of the images
/// in `x` (NHWC), on the thread pool when `parallel`.
fn im2col(x: &[f32], s: &ConvShape, first: usize, rows: usize, col: &mut [f32], parallel: bool) {
    let (side, cin, k) = (s.side, s.cin, s.k());
    let fill_row = |(local, out): (usize, &mut [f32])| {
        let row = first + local;
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
    };
    let col = &mut col[..rows * k];
    if parallel {
        col.par_chunks_mut(k).enumerate().for_each(fill_row);
    } else {
        col.chunks_mut(k).enumerate().for_each(fill_row);
    }
}

/// The working buffers of one part of a batch.
#[derive(Debug, Default)]
pub(super) struct PartBuffers {
    /// The input rearranged for a product: im2col rows, or Winograd's transformed input tiles.
    pub(super) lowered: Vec<f32>,
    /// Winograd's other tiles: the products (forward) or the transformed output gradient.
    pub(super) paired: Vec<f32>,
    /// Winograd's partial sum of the transformed weight gradient.
    pub(super) grad: Vec<f32>,
}

/// How the convolutions that use a [`Scratch`] are computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ConvMethod {
    /// Winograd where it is the faster (enough channels and tiles): F(4x4, 3x3) where the side
    /// is a multiple of 4, F(2x2, 3x3) on other even sides; im2col elsewhere.
    #[default]
    Auto,
    /// im2col for every layer: the baseline that Winograd is measured against.
    Im2col,
    /// F(2x2, 3x3) wherever `Auto` takes Winograd: the method before F(4x4, 3x3), which that is
    /// measured against.
    TwoByTwo,
}

/// Working buffers kept between calls, so that a training step does not fault in fresh pages:
/// one set per part of a batch split across threads, and Winograd's transformed weight.
#[derive(Debug, Default)]
pub struct Scratch {
    parts: Vec<PartBuffers>,
    weight: Vec<f32>,
    method: ConvMethod,
}

impl Scratch {
    /// Empty buffers for convolutions computed by `method`.
    pub fn with_method(method: ConvMethod) -> Scratch {
        Scratch {
            method,
            ..Scratch::default()
        }
    }

    /// Which of Winograd's algorithms a convolution of shape `s` whose weight reaches it as
    /// `weight` takes, if any.
    pub(super) fn winograd(&self, s: &ConvShape, weight: Weight) -> Option<Tiles> {
        match self.method {
            ConvMethod::Auto => winograd::choose(s, weight),
            ConvMethod::Im2col => None,
            ConvMethod::TwoByTwo => winograd::choose(s, weight).map(|_| Tiles::Two),
        }
    }

    pub(super) fn buffers(&mut self, parts: usize) -> &mut [PartBuffers] {
        self.weight_and_buffers(parts).1
    }

    /// The transformed-weight buffer and `parts` sets of part buffers, borrowed together.
    pub(super) fn weight_and_buffers(
        &mut self,
        parts: usize,
    ) -> (&mut Vec<f32>, &mut [PartBuffers]) {
        if self.parts.len() < parts {
            self.parts.resize_with(parts, PartBuffers::default);
        }
        (&mut self.weight, &mut self.parts[..parts])
    }
}

/// Grows `scratch` to hold `len` elements (contents unspecified: every user overwrites them).
pub(super) fn grown(scratch: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if scratch.len() < len {
        scratch.resize(len, 0.0);
    }
    &mut scratch[..len]
}

/// How many parts a batch of `n` images is split into, one per thread. Batches smaller than
/// two images per thread stay whole, and each product inside is spread over the threads instead.
/// Whole parts keep every thread on its own im2col and product, with no synchronisation inside
/// them. With 2 threads the reference CNN trained at 95 img/s this way against 88 with parallel
/// products (three alternating 8-s runs each), and at 62 against 49 while another process
/// competed for the cores.
fn batch_parts(n: usize) -> usize {
    let threads = rayon::current_num_threads();
    if threads > 1 && n >= 2 * threads {
        threads
    } else {
        1
    }
}

/// The matrix product to use: spread over the thread pool, or on the calling thread alone.
fn product_on(parallel: bool) -> Product {
    if parallel {
        matmul
    } else {
        matmul_single_thread
    }
}

/// How a part of a batch is worked through: output rows per im2col chunk, and whether im2col
/// and the products use the thread pool or the calling thread alone.
#[derive(Debug, Clone, Copy)]
struct Chunking {
    rows: usize,
    parallel: bool,
}

impl Chunking {
    /// Chunks of [`COL_BUDGET`] elements per thread working on them.
    fn for_shape(s: &ConvShape, parallel: bool) -> Chunking {
        let threads = if parallel {
            rayon::current_num_threads()
        } else {
            1
        };
        Chunking {
            rows: (COL_BUDGET * threads / s.k()).clamp(1, s.rows().max(1)),
            parallel,
        }
    }
}

/// The shape of `images` of the images of `s`.
fn with_images(s: &ConvShape, images: usize) -> ConvShape {
    ConvShape { n: images, ..*s }
}

/// How a training step computes a convolution of shape `s` by default: `"im2col"`, `"F(2x2,
/// 3x3)"` or `"F(4x4, 3x3)"` (Winograd's). For tests that must know which paths they cover.
pub fn training_method(s: &ConvShape) -> &'static str {
    match Scratch::default().winograd(s, Weight::PerCall) {
        None => "im2col",
        Some(Tiles::Two) => "F(2x2, 3x3)",
        Some(Tiles::Four) => "F(4x4, 3x3)",
    }
}

/// `y (n*side*side x cout) = conv(x)`. `scratch` holds the working buffers between calls.
pub fn forward(x: &[f32], w: &[f32], s: &ConvShape, y: &mut [f32], scratch: &mut Scratch) {
    if let Some(tiles) = scratch.winograd(s, Weight::PerCall) {
        return winograd::forward(x, w, s, tiles, y, scratch);
    }
    forward_im2col(x, w, s, y, scratch, None);
}

/// `y = conv(x)` by im2col, through `max(v + bias, 0)` when `bias_relu` gives the bias: each
/// chunk of output rows right after its product, while it is in cache.
pub(super) fn forward_im2col(
    x: &[f32],
    w: &[f32],
    s: &ConvShape,
    y: &mut [f32],
    scratch: &mut Scratch,
    bias_relu: Option<&[f32]>,
) {
    let parts = batch_parts(s.n);
    if parts == 1 {
        let whole = Chunking::for_shape(s, true);
        let buffers = &mut scratch.buffers(1)[0].lowered;
        return forward_part(x, w, s, y, buffers, whole, bias_relu);
    }
    let per = s.n.div_ceil(parts);
    x[..s.n * s.pixels() * s.cin]
        .par_chunks(per * s.pixels() * s.cin)
        .zip(y[..s.n * s.pixels() * s.cout].par_chunks_mut(per * s.pixels() * s.cout))
        .zip(scratch.buffers(parts).par_iter_mut())
        .for_each(|((x, y), buffers)| {
            let part = with_images(s, x.len() / (s.pixels() * s.cin));
            let chunking = Chunking::for_shape(&part, false);
            forward_part(x, w, &part, y, &mut buffers.lowered, chunking, bias_relu);
        });
}

/// [`forward_im2col`] on the images of `x`, in chunks of output rows that bound the im2col
/// buffer.
fn forward_part(
    x: &[f32],
    w: &[f32],
    s: &ConvShape,
    y: &mut [f32],
    scratch: &mut Vec<f32>,
    chunking: Chunking,
    bias_relu: Option<&[f32]>,
) {
    for_each_chunk(x, s, scratch, chunking, |first, rows, col, product| {
        let y = &mut y[first * s.cout..][..rows * s.cout];
        product(
            rows,
            s.cout,
            s.k(),
            Operand::plain(col),
            Operand::plain(w),
            y,
            false,
        );
        if let Some(bias) = bias_relu {
            add_bias_relu(y, bias);
        }
    });
}

/// `v = max(v + bias[channel], 0)` over rows of `bias.len()` channels.
pub(super) fn add_bias_relu(y: &mut [f32], bias: &[f32]) {
    for row in y.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = (*v + b).max(0.0);
        }
    }
}

/// A matrix product as [`matmul`] takes it.
type Product = fn(usize, usize, usize, Operand, Operand, &mut [f32], bool);

/// Calls `f(first, rows, col, product)` for each chunk of output rows of the images in `x`:
/// `col` holds the im2col of rows `first..first + rows`, and `product` is the matrix product
/// the chunking asks for.
fn for_each_chunk(
    x: &[f32],
    s: &ConvShape,
    scratch: &mut Vec<f32>,
    chunking: Chunking,
    mut f: impl FnMut(usize, usize, &[f32], Product),
) {
    let Chunking {
        rows: chunk,
        parallel,
    } = chunking;
    let col = grown(scratch, chunk * s.k());
    let product = product_on(parallel);
    for first in (0..s.rows()).step_by(chunk) {
        let rows = chunk.min(s.rows() - first);
        im2col(x, s, first, rows, col, parallel);
        f(first, rows, &col[..rows * s.k()], product);
    }
}

/// The gradients a conv backward pass writes (overwritten).
pub struct ConvGrads<'a> {
    /// Gradient of the weight, `[9 * cin, cout]`.
    pub dw: &'a mut [f32],
    /// Gradient of the input, if wanted.
    pub dx: Option<&'a mut [f32]>,
}

/// The weight that convolves `dy` into `dx`: the kernel flipped in space with input and output
/// channels swapped, `[(ky, kx, cout), cin]` from `[(ky, kx, cin), cout]`.
fn flipped_weight(w: &[f32], cin: usize, cout: usize) -> Vec<f32> {
    let mut f = vec![0.0; 9 * cin * cout];
    for t in 0..9 {
        for c in 0..cin {
            for o in 0..cout {
                f[((8 - t) * cout + o) * cin + c] = w[(t * cin + c) * cout + o];
            }
        }
    }
    f
}

/// Backward: the weight gradient (by im2col or Winograd, as the forward pass) and, if asked,
/// `dx` as the forward convolution of `dy` with the flipped kernel: no scatter.
pub fn backward(
    x: &[f32],
    w: &[f32],
    dy: &[f32],
    s: &ConvShape,
    grads: ConvGrads,
    scratch: &mut Scratch,
) {
    let ConvGrads { dw, dx } = grads;
    if let Some(tiles) = scratch.winograd(s, Weight::PerCall) {
        winograd::weight_grad(x, dy, s, tiles, dw, scratch);
    } else {
        im2col_weight_grad(x, dy, s, dw, scratch);
    }
    let Some(dx) = dx else { return };
    // dx is the forward convolution of dy (cout channels in, cin out) with the flipped kernel.
    let back = ConvShape {
        n: s.n,
        side: s.side,
        cin: s.cout,
        cout: s.cin,
    };
    forward(dy, &flipped_weight(w, s.cin, s.cout), &back, dx, scratch);
}

/// `dw = col(x)^T dy` over the batch: each thread sums its part, and the partial sums are
/// added at the end.
fn im2col_weight_grad(x: &[f32], dy: &[f32], s: &ConvShape, dw: &mut [f32], scratch: &mut Scratch) {
    let parts = batch_parts(s.n);
    if parts == 1 {
        let whole = Chunking::for_shape(s, true);
        return weight_grad_part(x, dy, s, dw, &mut scratch.buffers(1)[0].lowered, whole);
    }
    let per = s.n.div_ceil(parts);
    let partials: Vec<Vec<f32>> = x[..s.n * s.pixels() * s.cin]
        .par_chunks(per * s.pixels() * s.cin)
        .zip(dy[..s.n * s.pixels() * s.cout].par_chunks(per * s.pixels() * s.cout))
        .zip(scratch.buffers(parts).par_iter_mut())
        .map(|((x, dy), buffers)| {
            let part = with_images(s, x.len() / (s.pixels() * s.cin));
            let mut dw = vec![0.0; 9 * s.cin * s.cout];
            let chunking = Chunking::for_shape(&part, false);
            weight_grad_part(x, dy, &part, &mut dw, &mut buffers.lowered, chunking);
            dw
        })
        .collect();
    dw.copy_from_slice(&partials[0]);
    for partial in &partials[1..] {
        dw.iter_mut().zip(partial).for_each(|(a, b)| *a += b);
    }
}

/// `dw = col(x)^T dy` over the images of `x`, accumulated chunk by chunk of output rows.
fn weight_grad_part(
    x: &[f32],
    dy: &[f32],
    s: &ConvShape,
    dw: &mut [f32],
    scratch: &mut Vec<f32>,
    chunking: Chunking,
) {
    for_each_chunk(x, s, scratch, chunking, |first, rows, col, product| {
        product(
            s.k(),
            s.cout,
            rows,
            Operand::t(col),
            Operand::plain(&dy[first * s.cout..][..rows * s.cout]),
            dw,
            first > 0,
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `len` small integers centred on zero (`(i * mul) % modulo - modulo / 2`): exact in f32.
    fn pattern(len: usize, mul: usize, modulo: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * mul) % modulo) as f32 - (modulo / 2) as f32)
            .collect()
    }

    #[test]
    fn weight_layouts_round_trip() {
        let oihw: Vec<f32> = (0..9 * 3 * 4).map(|v| v as f32).collect();
        let w = weight_from_oihw(&oihw, 3, 4);
        assert_eq!(weight_to_oihw(&w, 3, 4), oihw);
        // Output 1, input 2, tap (ky=0, kx=1) lands at row (1 * 3 + 2), column 1.
        assert_eq!(w[(3 + 2) * 4 + 1], oihw[(3 + 2) * 9 + 1]);
    }

    /// The input pixel feeding output `(h, w)` through tap `(ky, kx)`, if inside the image.
    fn source(s: &ConvShape, h: usize, w: usize, ky: usize, kx: usize) -> Option<usize> {
        let (y, x) = ((h + ky).checked_sub(1)?, (w + kx).checked_sub(1)?);
        (y < s.side && x < s.side).then_some(y * s.side + x)
    }

    /// Forward pass, weight gradient and input gradient by their definitions, one term at a time.
    fn direct(x: &[f32], w: &[f32], dy: &[f32], s: &ConvShape) -> [Vec<f32>; 3] {
        let (mut y, mut dw, mut dx) = (vec![0.0; dy.len()], vec![0.0; w.len()], vec![0.0; x.len()]);
        for img in 0..s.n {
            for (h, wx) in (0..s.side).flat_map(|h| (0..s.side).map(move |w| (h, w))) {
                let out = img * s.pixels() + h * s.side + wx;
                for (ky, kx) in (0..3).flat_map(|ky| (0..3).map(move |kx| (ky, kx))) {
                    let Some(src) = source(s, h, wx, ky, kx) else {
                        continue;
                    };
                    let src = img * s.pixels() + src;
                    for c in 0..s.cin {
                        for o in 0..s.cout {
                            let tap = ((ky * 3 + kx) * s.cin + c) * s.cout + o;
                            y[out * s.cout + o] += x[src * s.cin + c] * w[tap];
                            dw[tap] += x[src * s.cin + c] * dy[out * s.cout + o];
                            dx[src * s.cin + c] += w[tap] * dy[out * s.cout + o];
                        }
                    }
                }
            }
        }
        [y, dw, dx]
    }

    /// Forward pass, weight gradient and input gradient as the engine computes them.
    fn engine(
        x: &[f32],
        w: &[f32],
        dy: &[f32],
        s: &ConvShape,
        method: ConvMethod,
    ) -> [Vec<f32>; 3] {
        let mut scratch = Scratch::with_method(method);
        let mut y = vec![0.0; dy.len()];
        forward(x, w, s, &mut y, &mut scratch);
        let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
        let grads = ConvGrads {
            dw: &mut dw,
            dx: Some(&mut dx),
        };
        backward(x, w, dy, s, grads, &mut scratch);
        [y, dw, dx]
    }

    /// Asserts `got` matches `want` to a tolerance relative to `want`'s largest magnitude.
    fn assert_close(got: &[f32], want: &[f32], tolerance: f32, what: &str) {
        let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!(
                (a - b).abs() <= tolerance * scale,
                "{what}[{i}]: {a} vs {b}"
            );
        }
    }

    #[test]
    fn every_method_matches_the_definitions_of_convolution_and_its_gradients() {
        // (n, side, cin, cout, the Winograd algorithm taken)
        let shapes = [
            (2, 5, 2, 3, None),
            (2, 7, 40, 40, None),
            (2, 6, 40, 41, None),
            (2, 8, 16, 24, None),
            (1, 16, 40, 40, Some(Tiles::Two)),
            (5, 8, 32, 64, Some(Tiles::Two)),
            (4, 16, 64, 32, Some(Tiles::Four)),
            (8, 12, 40, 40, Some(Tiles::Four)),
            (4, 16, 16, 16, Some(Tiles::Four)),
            (2, 48, 16, 16, Some(Tiles::Four)),
            (12, 12, 64, 40, Some(Tiles::Four)),
            (12, 24, 40, 40, Some(Tiles::Four)),
        ];
        for (n, side, cin, cout, tiles) in shapes {
            let s = ConvShape { n, side, cin, cout };
            assert_eq!(winograd::choose(&s, Weight::PerCall), tiles, "{s:?}");
            let x = pattern(n * side * side * cin, 7, 11);
            let w = pattern(9 * cin * cout, 5, 7);
            let dy = pattern(n * side * side * cout, 3, 13);
            let want = direct(&x, &w, &dy, &s);
            for method in [ConvMethod::Auto, ConvMethod::TwoByTwo, ConvMethod::Im2col] {
                let got = engine(&x, &w, &dy, &s, method);
                for (i, what) in ["y", "dw", "dx"].iter().enumerate() {
                    // F(4x4, 3x3)'s kernel transform rounds (1/6, 1/24): 2.3e-5 at worst here.
                    let tolerance = match (method, tiles) {
                        (ConvMethod::Auto, Some(Tiles::Four)) => 1e-4,
                        _ => 1e-5,
                    };
                    let what = format!("{what} of {s:?} by {method:?}");
                    assert_close(&got[i], &want[i], tolerance, &what);
                }
            }
        }
    }

    #[test]
    fn input_gradient_is_the_adjoint_of_the_forward_pass() {
        // conv is linear in x, so <conv(x), dy> must equal <x, dx(dy)> for any x and dy.
        let s = ConvShape {
            n: 3,
            side: 6,
            cin: 4,
            cout: 5,
        };
        let x: Vec<f32> = pattern(3 * 36 * 4, 7, 13);
        let dy: Vec<f32> = pattern(3 * 36 * 5, 3, 11);
        let w: Vec<f32> = pattern(9 * 4 * 5, 5, 9);
        let mut y = vec![0.0; dy.len()];
        forward(&x, &w, &s, &mut y, &mut Scratch::default());
        let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
        let grads = ConvGrads {
            dw: &mut dw,
            dx: Some(&mut dx),
        };
        backward(&x, &w, &dy, &s, grads, &mut Scratch::default());
        let lhs: f64 = y.iter().zip(&dy).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
        assert!(
            (lhs - rhs).abs() < 1e-6 * lhs.abs().max(1.0),
            "{lhs} vs {rhs}"
        );
        // And <conv(x), dy> is linear in w too: <w, dw> equals it as well.
        let by_w: f64 = w.iter().zip(&dw).map(|(a, b)| (a * b) as f64).sum();
        assert!(
            (lhs - by_w).abs() < 1e-6 * lhs.abs().max(1.0),
            "{lhs} vs {by_w}"
        );
    }

    #[test]
    fn a_batch_split_across_threads_gives_the_same_results() {
        let s = ConvShape {
            n: 9,
            side: 6,
            cin: 3,
            cout: 4,
        };
        let x: Vec<f32> = pattern(9 * 36 * 3, 7, 13);
        let dy: Vec<f32> = pattern(9 * 36 * 4, 3, 11);
        let w: Vec<f32> = pattern(9 * 3 * 4, 5, 9);
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                assert_eq!(batch_parts(s.n), threads);
                let mut scratch = Scratch::default();
                let mut y = vec![0.0; dy.len()];
                forward(&x, &w, &s, &mut y, &mut scratch);
                let (mut dw, mut dx) = (vec![0.0; w.len()], vec![0.0; x.len()]);
                let grads = ConvGrads {
                    dw: &mut dw,
                    dx: Some(&mut dx),
                };
                backward(&x, &w, &dy, &s, grads, &mut scratch);
                (y, dw, dx)
            })
        };
        let (whole, split) = (run(1), run(4));
        // Integer-valued data: every sum is exact, whatever the order.
        assert_eq!(whole, split);
    }

    #[test]
    fn chunks_that_cut_through_images_give_the_same_results() {
        let s = ConvShape {
            n: 3,
            side: 5,
            cin: 2,
            cout: 3,
        };
        let x: Vec<f32> = pattern(3 * 25 * 2, 7, 13);
        let dy: Vec<f32> = pattern(3 * 25 * 3, 3, 11);
        let w: Vec<f32> = pattern(9 * 2 * 3, 5, 9);
        let run = |rows: usize, parallel: bool| {
            let chunking = Chunking { rows, parallel };
            let (mut col, mut y, mut dw) = (Vec::new(), vec![0.0; dy.len()], vec![0.0; w.len()]);
            forward_part(&x, &w, &s, &mut y, &mut col, chunking, None);
            weight_grad_part(&x, &dy, &s, &mut dw, &mut col, chunking);
            (y, dw)
        };
        let whole = run(s.rows(), false);
        // 7 rows: chunks end mid-row and mid-image, and the last one is short (75 = 10 x 7 + 5).
        assert_eq!(run(7, false), whole);
        assert_eq!(run(7, true), whole);
        assert_eq!(run(1, false), whole);
    }
}
