//! Area resampling through an integral image: every pyramid level and every window MTCNN's
//! networks read is an average of whole input pixels (PyTorch's `interpolate(mode="area")`,
//! which facenet-pytorch uses), each output pixel four lookups in one table of sums instead of a
//! resize per level and per window.

use image::GrayImage;

/// Sums of the pixels above and to the left of each point: `(width + 1) x (height + 1)`.
pub(crate) struct Integral {
    sums: Vec<u64>,
    width: usize,
    height: usize,
}

impl Integral {
    /// The table of `image`.
    pub(crate) fn new(image: &GrayImage) -> Integral {
        let (width, height) = (image.width() as usize, image.height() as usize);
        let stride = width + 1;
        let mut sums = vec![0u64; stride * (height + 1)];
        for (y, row) in image.as_raw().chunks_exact(width.max(1)).enumerate() {
            let mut run = 0u64;
            for (x, &v) in row.iter().enumerate() {
                run += u64::from(v);
                sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + run;
            }
        }
        Integral {
            sums,
            width,
            height,
        }
    }

    /// The image's width.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// The image's height.
    pub(crate) fn height(&self) -> usize {
        self.height
    }

    /// Sum of the pixels of `[x0, x1) x [y0, y1)`, the part outside the image counting as 0.
    fn sum(&self, x0: i64, y0: i64, x1: i64, y1: i64) -> u64 {
        let clamp_x = |v: i64| v.clamp(0, self.width as i64) as usize;
        let clamp_y = |v: i64| v.clamp(0, self.height as i64) as usize;
        let (x0, x1, y0, y1) = (clamp_x(x0), clamp_x(x1), clamp_y(y0), clamp_y(y1));
        if x1 <= x0 || y1 <= y0 {
            return 0;
        }
        let stride = self.width + 1;
        self.sums[y1 * stride + x1] + self.sums[y0 * stride + x0]
            - self.sums[y0 * stride + x1]
            - self.sums[y1 * stride + x0]
    }

    /// The region `side_w x side_h` at `(x, y)` (whole pixels; it may reach outside the image,
    /// where pixels are 0) resampled to `out_w x out_h` by area, each value passed through
    /// `f` and appended to `out`, row by row. Output pixel `i` averages input pixels
    /// `floor(i * in / out) .. ceil((i + 1) * in / out)`, as PyTorch's adaptive average does.
    pub(crate) fn resample(
        &self,
        (x, y): (i64, i64),
        (side_w, side_h): (usize, usize),
        (out_w, out_h): (usize, usize),
        f: impl Fn(f32) -> f32,
        out: &mut Vec<f32>,
    ) {
        let span = |i: usize, input: usize, output: usize| {
            let start = i * input / output;
            let end = ((i + 1) * input).div_ceil(output);
            (start as i64, end as i64)
        };
        let columns: Vec<(i64, i64)> = (0..out_w).map(|i| span(i, side_w, out_w)).collect();
        for oy in 0..out_h {
            let (r0, r1) = span(oy, side_h, out_h);
            for &(c0, c1) in &columns {
                let area = ((r1 - r0) * (c1 - c0)) as f32;
                let total = self.sum(x + c0, y + r0, x + c1, y + r1) as f32;
                out.push(f(total / area));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_averages_whole_pixels_and_counts_outside_as_zero() {
        let image = GrayImage::from_fn(4, 2, |x, _| image::Luma([(x * 10) as u8]));
        let integral = Integral::new(&image);
        let mut out = Vec::new();
        integral.resample((0, 0), (4, 2), (2, 1), |v| v, &mut out);
        assert_eq!(out, vec![5.0, 25.0]);
        out.clear();
        // Half the region lies left of the image.
        integral.resample((-2, 0), (4, 2), (1, 1), |v| v, &mut out);
        assert_eq!(out, vec![2.5]);
        out.clear();
        // 3 -> 2 overlaps the middle pixel, as PyTorch's area mode does.
        integral.resample((0, 0), (3, 1), (2, 1), |v| v, &mut out);
        assert_eq!(out, vec![5.0, 15.0]);
    }
}
