//! Inference-only layers for small fully convolutional networks such as a face detector's
//! (MTCNN): unpadded ("valid") convolutions of any square kernel with stride 1, each followed by
//! a per-channel PReLU, and max pooling of any window and stride with PyTorch's `ceil_mode`.
//! Buffers are channels-last (NHWC), like the rest of the engine; `Map` carries the shape.

use crate::matmul::{matmul, Operand};

/// A batch of feature maps: `n x height x width x channels`, channels last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Map {
    /// The values, `n * height * width * channels` of them.
    pub data: Vec<f32>,
    /// Images in the batch.
    pub n: usize,
    /// Rows of each map.
    pub height: usize,
    /// Columns of each map.
    pub width: usize,
    /// Channels of each pixel.
    pub channels: usize,
}

impl Map {
    /// A map of the given shape over `data`.
    ///
    /// # Panics
    /// When `data` does not hold exactly that many values.
    pub fn new(data: Vec<f32>, n: usize, height: usize, width: usize, channels: usize) -> Map {
        assert_eq!(
            data.len(),
            n * height * width * channels,
            "map data does not match its shape"
        );
        Map {
            data,
            n,
            height,
            width,
            channels,
        }
    }
}

/// An unpadded convolution with stride 1 and a bias, optionally followed by a PReLU.
#[derive(Debug, Clone)]
pub struct ValidConv {
    /// `[(ky, kx, cin), cout]`, row-major: the im2col product's right operand.
    weight: Vec<f32>,
    bias: Vec<f32>,
    /// The PReLU's slope for negative values, per output channel; `None`: no activation.
    slopes: Option<Vec<f32>>,
    kernel: usize,
    cin: usize,
    cout: usize,
}

impl ValidConv {
    /// A convolution from PyTorch's layouts: `oihw` is `[cout, cin, kernel, kernel]`.
    ///
    /// # Panics
    /// When the lengths do not agree with `cin`, `cout` and `kernel`.
    pub fn from_oihw(
        oihw: &[f32],
        bias: &[f32],
        slopes: Option<&[f32]>,
        cin: usize,
        kernel: usize,
    ) -> ValidConv {
        let cout = bias.len();
        assert_eq!(oihw.len(), cout * cin * kernel * kernel, "conv weight size");
        if let Some(s) = slopes {
            assert_eq!(s.len(), cout, "one PReLU slope per output channel");
        }
        let mut weight = vec![0.0; oihw.len()];
        for o in 0..cout {
            for i in 0..cin {
                for ky in 0..kernel {
                    for kx in 0..kernel {
                        let row = (ky * kernel + kx) * cin + i;
                        weight[row * cout + o] = oihw[((o * cin + i) * kernel + ky) * kernel + kx];
                    }
                }
            }
        }
        ValidConv {
            weight,
            bias: bias.to_vec(),
            slopes: slopes.map(<[f32]>::to_vec),
            kernel,
            cin,
            cout,
        }
    }

    /// Output channels.
    pub fn cout(&self) -> usize {
        self.cout
    }

    /// The convolution of `x` (which must have `cin` channels and sides of at least the
    /// kernel's), the bias added and the PReLU applied. By im2col and one product; reading the
    /// input in place instead (one product per kernel row, the input's overlapping runs as the
    /// left operand) measured 1.1x slower on detection, its products being `kernel` times
    /// shallower.
    pub fn forward(&self, x: &Map) -> Map {
        assert_eq!(x.channels, self.cin, "conv input channels");
        let k = self.kernel;
        assert!(x.height >= k && x.width >= k, "map smaller than the kernel");
        let (oh, ow) = (x.height - k + 1, x.width - k + 1);
        let rows = x.n * oh * ow;
        let depth = k * k * self.cin;
        let mut y = vec![0.0; rows * self.cout];
        if k == 1 {
            matmul(
                rows,
                self.cout,
                depth,
                Operand::plain(&x.data),
                Operand::plain(&self.weight),
                &mut y,
                false,
            );
        } else {
            let cols = im2col(x, k, oh, ow);
            matmul(
                rows,
                self.cout,
                depth,
                Operand::plain(&cols),
                Operand::plain(&self.weight),
                &mut y,
                false,
            );
        }
        self.bias_and_activation(&mut y);
        Map::new(y, x.n, oh, ow, self.cout)
    }

    /// Adds the bias and applies the PReLU, branch-free so that it vectorises.
    fn bias_and_activation(&self, y: &mut [f32]) {
        crate::simd::vectorized(
            #[inline(always)]
            || match &self.slopes {
                Some(slopes) => {
                    for row in y.chunks_exact_mut(self.cout) {
                        for ((v, b), a) in row.iter_mut().zip(&self.bias).zip(slopes) {
                            let s = *v + b;
                            *v = s.max(0.0) + a * s.min(0.0);
                        }
                    }
                }
                None => {
                    for row in y.chunks_exact_mut(self.cout) {
                        for (v, b) in row.iter_mut().zip(&self.bias) {
                            *v += b;
                        }
                    }
                }
            },
        )
    }
}

/// Each output pixel's `k x k x cin` input window as one row, `(ky, kx, cin)` order.
fn im2col(x: &Map, k: usize, oh: usize, ow: usize) -> Vec<f32> {
    let c = x.channels;
    let run = k * c;
    let mut cols = Vec::with_capacity(x.n * oh * ow * k * run);
    for img in 0..x.n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ky in 0..k {
                    let at = ((img * x.height + oy + ky) * x.width + ox) * c;
                    cols.extend_from_slice(&x.data[at..at + run]);
                }
            }
        }
    }
    cols
}

/// Max pooling over `window x window` squares every `stride` pixels, with PyTorch's
/// `ceil_mode=True`: a last, partial window is pooled where it starts inside the map.
pub fn max_pool(x: &Map, window: usize, stride: usize) -> Map {
    let out_side = |side: usize| {
        let mut out = (side.saturating_sub(window)).div_ceil(stride) + 1;
        if (out - 1) * stride >= side {
            out -= 1;
        }
        out
    };
    let (oh, ow) = (out_side(x.height), out_side(x.width));
    let c = x.channels;
    let row_len = x.width * c;
    let mut y = vec![0.0; x.n * oh * ow * c];
    // Each output row: the elementwise maximum of its window's input rows (long runs that
    // vectorise), then of each output pixel's window of columns in that row.
    let mut rows_max = vec![0.0; row_len];
    crate::simd::vectorized(
        #[inline(always)]
        || {
            for (img, out_image) in y.chunks_exact_mut(oh * ow * c).enumerate() {
                let image = &x.data[img * x.height * row_len..][..x.height * row_len];
                for (oy, out_row) in out_image.chunks_exact_mut(ow * c).enumerate() {
                    let top = oy * stride;
                    let bottom = (top + window).min(x.height);
                    rows_max.copy_from_slice(&image[top * row_len..][..row_len]);
                    for row in image[(top + 1) * row_len..bottom * row_len].chunks_exact(row_len) {
                        for (m, v) in rows_max.iter_mut().zip(row) {
                            *m = m.max(*v);
                        }
                    }
                    for (ox, out) in out_row.chunks_exact_mut(c).enumerate() {
                        let left = ox * stride;
                        let right = (left + window).min(x.width);
                        out.copy_from_slice(&rows_max[left * c..][..c]);
                        for pixel in rows_max[(left + 1) * c..right * c].chunks_exact(c) {
                            for (o, v) in out.iter_mut().zip(pixel) {
                                *o = o.max(*v);
                            }
                        }
                    }
                }
            }
        },
    );
    Map::new(y, x.n, oh, ow, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of one pixel of one image of `x`.
    fn pixel(x: &Map, image: usize, y: usize, col: usize) -> &[f32] {
        let at = ((image * x.height + y) * x.width + col) * x.channels;
        &x.data[at..at + x.channels]
    }

    /// The convolution written as its definition, for comparison.
    fn direct(x: &Map, oihw: &[f32], bias: &[f32], k: usize) -> Vec<f32> {
        let cout = bias.len();
        let (oh, ow) = (x.height - k + 1, x.width - k + 1);
        let mut y = Vec::new();
        for img in 0..x.n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for (o, b) in bias.iter().enumerate() {
                        let mut s = *b;
                        for i in 0..x.channels {
                            for ky in 0..k {
                                for kx in 0..k {
                                    s += oihw[((o * x.channels + i) * k + ky) * k + kx]
                                        * pixel(x, img, oy + ky, ox + kx)[i];
                                }
                            }
                        }
                        y.push(s);
                    }
                }
            }
        }
        assert_eq!(y.len(), x.n * oh * ow * cout);
        y
    }

    fn values(len: usize, seed: f32) -> Vec<f32> {
        (0..len).map(|i| (i as f32 * 0.731 + seed).sin()).collect()
    }

    #[test]
    fn convolution_matches_its_definition_for_each_kernel_side() {
        for k in [1, 2, 3] {
            let x = Map::new(values(2 * 6 * 7 * 3, 0.3), 2, 6, 7, 3);
            let (oihw, bias) = (values(4 * 3 * k * k, 1.1), values(4, 2.0));
            let y = ValidConv::from_oihw(&oihw, &bias, None, 3, k).forward(&x);
            assert_eq!((y.n, y.height, y.width, y.channels), (2, 7 - k, 8 - k, 4));
            for (a, b) in y.data.iter().zip(direct(&x, &oihw, &bias, k)) {
                assert!((a - b).abs() < 1e-4, "kernel {k}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn prelu_scales_only_negative_values() {
        let x = Map::new(vec![1.0, -2.0], 1, 1, 1, 2);
        let conv =
            ValidConv::from_oihw(&[1.0, 0.0, 0.0, 1.0], &[0.0, 0.0], Some(&[0.5, 0.5]), 2, 1);
        assert_eq!(conv.forward(&x).data, vec![1.0, -1.0]);
    }

    #[test]
    fn pooling_keeps_pytorch_ceil_mode_sides() {
        // PyTorch: MaxPool2d(3, 2, ceil_mode=True) takes 22 -> 11, 9 -> 4; MaxPool2d(2, 2,
        // ceil_mode=True) takes 5 -> 3 and 4 -> 2.
        let side = |h: usize, w: usize, window: usize, stride: usize| {
            let y = max_pool(&Map::new(vec![0.0; h * w], 1, h, w, 1), window, stride);
            (y.height, y.width)
        };
        assert_eq!(side(22, 9, 3, 2), (11, 4));
        assert_eq!(side(5, 4, 2, 2), (3, 2));
        let x = Map::new((0..25).map(|v| v as f32).collect(), 1, 5, 5, 1);
        let y = max_pool(&x, 2, 2);
        assert_eq!(
            y.data,
            vec![6.0, 8.0, 9.0, 16.0, 18.0, 19.0, 21.0, 23.0, 24.0]
        );
    }
}
