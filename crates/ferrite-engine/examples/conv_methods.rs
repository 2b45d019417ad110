//! Milliseconds per conv layer of the presets, forward and backward (weight and input
//! gradients), by im2col alone against the engine's choice (Winograd where it applies), the
//! two alternated and the best of several runs kept, so that other work on the machine
//! weighs on both alike.
//! `cargo run --release -p ferrite-engine --example conv_methods [BATCH] [RUNS]`

use std::time::Instant;

use ferrite_engine::layers::conv::{backward, forward, ConvGrads, ConvMethod, ConvShape, Scratch};

/// (side, cin, cout) of the conv layers of `wide` (64-128-256) after its first.
const LAYERS: [(usize, usize, usize); 5] = [
    (48, 64, 64),
    (24, 64, 128),
    (24, 128, 128),
    (12, 128, 256),
    (12, 256, 256),
];

/// Best forward and backward milliseconds over `runs`, for each method, alternated.
fn best_times(s: &ConvShape, runs: usize) -> [[f64; 2]; 2] {
    let x: Vec<f32> = (0..s.n * s.side * s.side * s.cin)
        .map(|i| ((i * 7) % 13) as f32 * 0.1)
        .collect();
    let w: Vec<f32> = (0..9 * s.cin * s.cout)
        .map(|i| ((i * 5) % 11) as f32 * 0.01)
        .collect();
    let mut y = vec![0.0; s.n * s.side * s.side * s.cout];
    let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    let mut scratch = [ConvMethod::Im2col, ConvMethod::Auto].map(Scratch::with_method);
    let mut best = [[f64::MAX; 2]; 2];
    for _ in 0..runs {
        for (best, scratch) in best.iter_mut().zip(&mut scratch) {
            let start = Instant::now();
            forward(&x, &w, s, &mut y, scratch);
            best[0] = best[0].min(start.elapsed().as_secs_f64() * 1e3);
            let start = Instant::now();
            let grads = ConvGrads {
                dw: &mut dw,
                dx: Some(&mut dx),
            };
            backward(&x, &w, &y, s, grads, scratch);
            best[1] = best[1].min(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    best
}

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let n = args
        .next()
        .transpose()
        .expect("BATCH: a number")
        .unwrap_or(64);
    let runs = args
        .next()
        .transpose()
        .expect("RUNS: a number")
        .unwrap_or(8);
    println!(
        "batch {n}, best of {runs}, {} threads",
        rayon::current_num_threads()
    );
    println!("layer              im2col fwd/bwd ms    chosen fwd/bwd ms    speed-up");
    let mut totals = [0.0; 2];
    for (side, cin, cout) in LAYERS {
        let [im2col, chosen] = best_times(&ConvShape { n, side, cin, cout }, runs);
        let (a, b) = (im2col[0] + im2col[1], chosen[0] + chosen[1]);
        totals[0] += a;
        totals[1] += b;
        println!(
            "{side:>2}x{side:<2} {cin:>3} -> {cout:<3}   {:>8.2} {:>8.2}    {:>8.2} {:>8.2}    {:.2}x",
            im2col[0],
            im2col[1],
            chosen[0],
            chosen[1],
            a / b
        );
    }
    println!(
        "all five          {:>17.2}    {:>17.2}    {:.2}x",
        totals[0],
        totals[1],
        totals[0] / totals[1]
    );
}
