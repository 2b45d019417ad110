//! 2x2 max pooling, stride 2, on NHWC buffers.

use rayon::prelude::*;

/// Forward: `y` is `n x side/2 x side/2 x c`; `arg` records which of the 4 inputs won.
pub fn forward(x: &[f32], n: usize, side: usize, c: usize, y: &mut [f32], arg: &mut [u8]) {
    let half = side / 2;
    y[..n * half * half * c]
        .par_chunks_mut(half * c)
        .zip(arg[..n * half * half * c].par_chunks_mut(half * c))
        .enumerate()
        .for_each(|(row, (yrow, arow))| {
            let img = row / half;
            let oy = row % half;
            for ox in 0..half {
                for j in 0..c {
                    let at = |dy: usize, dx: usize| {
                        x[((img * side + 2 * oy + dy) * side + 2 * ox + dx) * c + j]
                    };
                    let mut best = at(0, 0);
                    let mut which = 0u8;
                    for (k, (dy, dx)) in [(0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
                        let v = at(dy, dx);
                        if v > best {
                            best = v;
                            which = k as u8 + 1;
                        }
                    }
                    yrow[ox * c + j] = best;
                    arow[ox * c + j] = which;
                }
            }
        });
}

/// Inference forward: `y` as [`forward`] writes it, without recording the winners (no backward
/// pass follows), each output row the elementwise maximum of four runs of channels.
pub fn forward_infer(x: &[f32], n: usize, side: usize, c: usize, y: &mut [f32]) {
    let half = side / 2;
    y[..n * half * half * c]
        .par_chunks_mut(half * c)
        .enumerate()
        .for_each(|(row, yrow)| {
            let (img, oy) = (row / half, row % half);
            let input_row = |dy: usize| &x[(img * side + 2 * oy + dy) * side * c..][..side * c];
            let (upper, lower) = (input_row(0), input_row(1));
            for (ox, out) in yrow.chunks_exact_mut(c).enumerate() {
                let at = 2 * ox * c;
                let (a, b) = (&upper[at..at + 2 * c], &lower[at..at + 2 * c]);
                for (j, o) in out.iter_mut().enumerate() {
                    *o = a[j].max(a[c + j]).max(b[j]).max(b[c + j]);
                }
            }
        });
}

/// Backward: routes each output gradient to the input that won; `dx` is overwritten (an odd
/// side's last row and column, which no window reads, get zero).
pub fn backward(dy: &[f32], arg: &[u8], n: usize, side: usize, c: usize, dx: &mut [f32]) {
    let half = side / 2;
    dx[..n * side * side * c]
        .par_chunks_mut(side * c)
        .enumerate()
        .for_each(|(row, out)| {
            out.fill(0.0);
            let (img, y) = (row / side, row % side);
            let oy = y / 2;
            if oy >= half {
                return;
            }
            for ox in 0..half {
                for j in 0..c {
                    let o = ((img * half + oy) * half + ox) * c + j;
                    let w = arg[o] as usize;
                    let (dyy, dxx) = (w / 2, w % 2);
                    if dyy == y % 2 {
                        out[(2 * ox + dxx) * c + j] = dy[o];
                    }
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_maximum_and_routes_its_gradient_back() {
        // One 4x4 image, 2 channels: channel 1 is channel 0 negated.
        let mut x = vec![0.0; 16 * 2];
        for p in 0..16 {
            x[p * 2] = p as f32;
            x[p * 2 + 1] = -(p as f32);
        }
        let mut y = vec![0.0; 4 * 2];
        let mut arg = vec![0u8; 8];
        forward(&x, 1, 4, 2, &mut y, &mut arg);
        assert_eq!(y, vec![5.0, 0.0, 7.0, -2.0, 13.0, -8.0, 15.0, -10.0]);
        let mut fast = vec![0.0; 8];
        forward_infer(&x, 1, 4, 2, &mut fast);
        assert_eq!(fast, y, "inference pooling picks the same maxima");
        let dy: Vec<f32> = (1..=8).map(|v| v as f32).collect();
        let mut dx = vec![9.0; 32];
        backward(&dy, &arg, 1, 4, 2, &mut dx);
        assert_eq!(dx.iter().sum::<f32>(), dy.iter().sum::<f32>());
        assert_eq!(dx[5 * 2], 1.0, "pixel 5 won the first window of channel 0");
        assert_eq!(dx[1], 2.0, "pixel 0 won the first window of channel 1");
    }

    #[test]
    fn an_odd_side_drops_its_last_row_and_column() {
        // One 5x5 image, 1 channel, values rising along the rows: each window's winner is its
        // bottom-right pixel, and row 4 and column 4 are never read.
        let x: Vec<f32> = (0..25).map(|p| p as f32).collect();
        let (mut y, mut arg) = (vec![0.0; 4], vec![0u8; 4]);
        forward(&x, 1, 5, 1, &mut y, &mut arg);
        assert_eq!(y, [6.0, 8.0, 16.0, 18.0]);
        let mut fast = vec![0.0; 4];
        forward_infer(&x, 1, 5, 1, &mut fast);
        assert_eq!(fast, y);
        let mut dx = vec![9.0; 25];
        backward(&[1.0, 2.0, 3.0, 4.0], &arg, 1, 5, 1, &mut dx);
        let mut want = vec![0.0; 25];
        for (at, g) in [(6, 1.0), (8, 2.0), (16, 3.0), (18, 4.0)] {
            want[at] = g;
        }
        assert_eq!(dx, want);
    }
}
