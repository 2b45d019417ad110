//! GFLOP/s of the matrix products of the reference CNN's conv layers (batch 64), as the engine
//! calls them: forward, weight gradient and input gradient.
//! `cargo run --release -p ferrite-engine --example gemm_shapes`

use std::time::Instant;

use ferrite_engine::{matmul, Operand};

fn gflops(m: usize, n: usize, k: usize, at: bool, bt: bool) -> f64 {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
    let mut c = vec![0.0f32; m * n];
    let op = |d, t| if t { Operand::t(d) } else { Operand::plain(d) };
    matmul(m, n, k, op(&a, at), op(&b, bt), &mut c, false);
    let start = Instant::now();
    let mut reps = 0;
    while start.elapsed().as_secs_f64() < 0.5 {
        matmul(m, n, k, op(&a, at), op(&b, bt), &mut c, false);
        reps += 1;
    }
    2.0 * (m * n * k) as f64 * reps as f64 / start.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let batch = 64;
    for (side, cin, cout) in [
        (48, 1, 32),
        (48, 32, 32),
        (24, 32, 64),
        (24, 64, 64),
        (12, 64, 128),
        (12, 128, 128),
    ] {
        let rows = batch * side * side;
        let k = 9 * cin;
        println!(
            "{side}x{side} {cin:>3}->{cout:<3} fwd {:>6.1}  dw {:>6.1}  dx {:>6.1}  dx-as-conv {:>6.1}",
            gflops(rows, cout, k, false, false),
            gflops(k, cout, rows, true, false),
            gflops(rows, k, cout, false, true),
            gflops(rows, cin, 9 * cout, false, false),
        );
    }
}
