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
    assert!(a.data.len() >= m * k, "lhs too small");
    assert!(b.data.len() >= k * n, "rhs too small");
    assert!(c.len() >= m * n, "dst too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // Strides of element (row, col): row stride rs, column stride cs.
    let (a_rs, a_cs) = if a.transposed {
        (1, m as isize)
    } else {
        (k as isize, 1)
    };
    let (b_rs, b_cs) = if b.transposed {
        (1, k as isize)
    } else {
        (n as isize, 1)
    };
    // SAFETY: the asserts above guarantee every index the strides reach is in bounds, and `c`
    // is borrowed mutably, so it does not alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
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
