//! Row-major matrix products on the `gemm` crate, with transposes expressed as strides (no copies).

use gemm::Parallelism;

/// A row-major matrix operand: `rows x cols` stored in `data`, optionally read transposed.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    /// The stored elements, row-major as stored.
    pub data: &'a [f32],
    /// Whether to use the transpose of the stored matrix.
    pub transposed: bool,
}

impl<'a> Operand<'a> {
    /// The stored matrix as is.
    pub fn plain(data: &'a [f32]) -> Self {
        Operand {
            data,
            transposed: false,
        }
    }

    /// The transpose of the stored matrix.
    pub fn t(data: &'a [f32]) -> Self {
        Operand {
            data,
            transposed: true,
        }
    }
}

/// `c (m x n) = a (m x k) * b (k x n)`, or `c += a * b` when `accumulate`. `a` and `b` are
/// row-major as stored; a transposed operand is stored `k x m` (resp. `n x k`).
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
    c: &mut [f32],
    accumulate: bool,
) {
    let threads = rayon::current_num_threads();
    let parallelism = if threads > 1 && m * n * k > 32 * 1024 {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    };
    product(m, n, k, a, b, c, accumulate, parallelism);
}

/// [`matmul`] on the calling thread alone, for callers that already split work across threads.
pub fn matmul_single_thread(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
    c: &mut [f32],
    accumulate: bool,
) {
    product(m, n, k, a, b, c, accumulate, Parallelism::None);
}

/// A matrix read through strides: element `(row, col)` is `data[row * rs + col * cs]`.
#[derive(Clone, Copy)]
pub struct View<'a> {
    /// The elements the strides reach into.
    pub data: &'a [f32],
    /// Distance between consecutive rows.
    pub rs: usize,
    /// Distance between consecutive columns.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix whose rows are `width` apart.
    pub fn rows(data: &'a [f32], width: usize) -> Self {
        View {
            data,
            rs: width,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix whose rows are `width` apart.
    pub fn columns(data: &'a [f32], width: usize) -> Self {
        View {
            data,
            rs: 1,
            cs: width,
        }
    }

    /// The `rows x cols` matrix `operand` as stored (`cols x rows` if it is transposed).
    fn of(operand: Operand<'a>, rows: usize, cols: usize) -> Self {
        if operand.transposed {
            View {
                data: operand.data,
                rs: 1,
                cs: rows,
            }
        } else {
            View {
                data: operand.data,
                rs: cols,
                cs: 1,
            }
        }
    }

    /// Whether every element of a `rows x cols` matrix lies inside `data`.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

#[allow(clippy::too_many_arguments)]
fn product(
    m: usize,
    n: usize,
    k: usize,
    a: Operand,
    b: Operand,
    c: &mut [f32],
    accumulate: bool,
    parallelism: Parallelism,
) {
    let (a, b) = (View::of(a, m, k), View::of(b, k, n));
    strided_product(m, n, k, a, b, c, n, accumulate, parallelism);
}

/// `c = a * b` (`m x n`, rows `c_rs` apart in `c`), or `c += a * b` when `accumulate`, for
/// operands read through any strides, on the calling thread (its callers split the work across
/// threads themselves).
#[allow(clippy::too_many_arguments)]
pub fn matmul_views(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
) {
    strided_product(m, n, k, a, b, c, c_rs, accumulate, Parallelism::None);
}

#[allow(clippy::too_many_arguments)]
fn strided_product(
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    c: &mut [f32],
    c_rs: usize,
    accumulate: bool,
    parallelism: Parallelism,
) {
    assert!(a.holds(m, k), "lhs too small for its strides");
    assert!(b.holds(k, n), "rhs too small for its strides");
    let dst = View {
        data: c,
        rs: c_rs,
        cs: 1,
    };
    assert!(c_rs >= n && dst.holds(m, n), "dst too small for its stride");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.chunks_mut(c_rs)
                .take(m)
                .for_each(|row| row[..n].fill(0.0));
        }
        return;
    }
    // SAFETY: the asserts above guarantee every index the strides reach is in bounds, the rows
    // of `c` do not overlap (`c_rs >= n`), and `c` is borrowed mutably, so it does not alias
    // `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], at: bool, b: &[f32], bt: bool) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if at { a[p * m + i] } else { a[i * k + p] };
                    let bv = if bt { b[j * k + p] } else { b[p * n + j] };
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    #[test]
    fn all_transpose_combinations_match_the_naive_product() {
        let (m, n, k) = (37, 23, 51);
        let a: Vec<f32> = (0..m * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
        let b: Vec<f32> = (0..k * n).map(|i| ((i * 5) % 11) as f32 - 5.0).collect();
        for (at, bt) in [(false, false), (true, false), (false, true), (true, true)] {
            let mut c = vec![1.0; m * n];
            let op = |d, t| Operand {
                data: d,
                transposed: t,
            };
            matmul(m, n, k, op(&a, at), op(&b, bt), &mut c, false);
            assert_eq!(c, naive(m, n, k, &a, at, &b, bt), "at {at} bt {bt}");
            c.fill(1.0);
            matmul_single_thread(m, n, k, op(&a, at), op(&b, bt), &mut c, false);
            assert_eq!(
                c,
                naive(m, n, k, &a, at, &b, bt),
                "single thread, at {at} bt {bt}"
            );
            matmul(m, n, k, op(&a, at), op(&b, bt), &mut c, true);
            let twice: Vec<f32> = naive(m, n, k, &a, at, &b, bt)
                .iter()
                .map(|v| 2.0 * v)
                .collect();
            assert_eq!(c, twice);
        }
    }
}
