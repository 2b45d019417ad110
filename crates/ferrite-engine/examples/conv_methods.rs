//! Milliseconds per conv layer of `wide`, forward and backward (weight and input gradients), by
//! im2col alone, by Winograd F(2x2, 3x3) wherever Winograd applies, and by the engine's choice
//! (F(4x4, 3x3) where the side is a multiple of 4), the three alternated and the best of several
//! runs kept, so that other work on the machine weighs on all alike.
//! `cargo run --release -p ferrite-engine --example conv_methods [BATCH] [RUNS] [INPUT_SIDE]
//! [fast]` (`INPUT_SIDE` 48, the default, or 40 for a network trained on 40x40 crops; `fast`
//! for that preset's layers instead of `wide`'s).

use std::time::Instant;

use ferrite_engine::layers::conv::{backward, forward, ConvGrads, ConvMethod, ConvShape, Scratch};

/// (side as a fraction of the input's, cin, cout) of the conv layers of `wide` (64-128-256)
/// after its first.
const WIDE: [(usize, usize, usize); 5] = [
    (1, 64, 64),
    (2, 64, 128),
    (2, 128, 128),
    (4, 128, 256),
    (4, 256, 256),
];

/// The same of `fast` (16-32-64-128).
const FAST: [(usize, usize, usize); 6] = [
    (2, 16, 32),
    (2, 32, 32),
    (4, 32, 64),
    (4, 64, 64),
    (8, 64, 128),
    (8, 128, 128),
];

/// The methods compared, in the order of the columns.
const METHODS: [ConvMethod; 3] = [ConvMethod::Im2col, ConvMethod::TwoByTwo, ConvMethod::Auto];

/// Best forward and backward milliseconds over `runs`, for each method, alternated.
fn best_times(s: &ConvShape, runs: usize) -> [[f64; 2]; 3] {
    let x: Vec<f32> = (0..s.n * s.side * s.side * s.cin)
        .map(|i| ((i * 7) % 13) as f32 * 0.1)
        .collect();
    let w: Vec<f32> = (0..9 * s.cin * s.cout)
        .map(|i| ((i * 5) % 11) as f32 * 0.01)
        .collect();
    let mut y = vec![0.0; s.n * s.side * s.side * s.cout];
    let (mut dx, mut dw) = (vec![0.0; x.len()], vec![0.0; w.len()]);
    let mut scratch = METHODS.map(Scratch::with_method);
    let mut best = [[f64::MAX; 2]; 3];
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
    let layers: &[(usize, usize, usize)] = match std::env::args().nth(4).as_deref() {
        Some("fast") => &FAST,
        _ => &WIDE,
    };
    let mut args = std::env::args().skip(1).take(3).map(|a| a.parse::<usize>());
    let mut next = |what: &str, default: usize| {
        args.next()
            .transpose()
            .unwrap_or_else(|_| panic!("{what}: a number"))
            .unwrap_or(default)
    };
    let (n, runs, input) = (next("BATCH", 64), next("RUNS", 8), next("INPUT_SIDE", 48));
    println!(
        "batch {n}, best of {runs}, {} threads",
        rayon::current_num_threads()
    );
    println!("layer              im2col fwd/bwd ms    F(2x2) fwd/bwd ms    chosen fwd/bwd ms    vs im2col  vs F(2x2)");
    let mut totals = [0.0; 3];
    for &(divisor, cin, cout) in layers {
        let side = input / divisor;
        let times = best_times(&ConvShape { n, side, cin, cout }, runs);
        let sums = times.map(|[f, b]| f + b);
        totals.iter_mut().zip(sums).for_each(|(t, s)| *t += s);
        print!("{side:>2}x{side:<2} {cin:>3} -> {cout:<3}");
        for [f, b] in times {
            print!("   {f:>8.2} {b:>8.2}  ");
        }
        println!("  {:>8.2}x {:>8.2}x", sums[0] / sums[2], sums[1] / sums[2]);
    }
    println!(
        "all layers        {:>17.2}    {:>17.2}    {:>17.2}    {:>8.2}x {:>8.2}x",
        totals[0],
        totals[1],
        totals[2],
        totals[0] / totals[2],
        totals[1] / totals[2]
    );
}
