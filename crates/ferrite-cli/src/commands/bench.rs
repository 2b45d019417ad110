use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;

use ferrite_data::{FACE_SIZE, NUM_CLASSES};
use ferrite_engine::{softmax_cross_entropy, Adam, InferenceNet, Network, Trace};
use ferrite_model::{ArchSpec, Engine};

use super::model_arg::ModelArg;

/// Both engines where this build has burn, else the gemm engine alone.
#[cfg(feature = "burn")]
const DEFAULT_ENGINES: &str = "ferrite,burn";
#[cfg(not(feature = "burn"))]
const DEFAULT_ENGINES: &str = "ferrite";

/// Arguments of `ferrite bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Architecture presets to measure (comma-separated).
    #[arg(long, default_value = "reference", value_delimiter = ',', value_parser = super::train::parse_arch)]
    arch: Vec<ArchSpec>,
    /// Training batch size.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Inference batch size for the throughput figure.
    #[arg(long, default_value_t = 256)]
    infer_batch: usize,
    /// Seconds to spend on each measurement (after one warm-up step).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Skip the training measurement.
    #[arg(long)]
    no_train: bool,
    /// Measure the inference pipeline instead (the model of --model, or every shipped model):
    /// face latency, batched faces/s, and detect + classify on a 640x480 photo.
    #[arg(long)]
    pipeline: bool,
    #[command(flatten)]
    model: ModelArg,
    /// Photo for the pipeline measurement (resized to 640x480 unless it is); default: a drawn
    /// scene.
    #[arg(long)]
    photo: Option<std::path::PathBuf>,
    /// Engines to measure: ferrite (the gemm engine), burn (the reference), or both.
    #[arg(long, default_value = DEFAULT_ENGINES, value_delimiter = ',')]
    engine: Vec<Engine>,
}

/// Runs `ferrite bench`: training img/s, batched inference img/s and batch-1 latency, per
/// engine and architecture, on synthetic faces (no dataset needed).
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let budget = Duration::from_secs_f64(args.seconds);
    let short = budget.min(Duration::from_secs(3));
    if args.pipeline {
        let sources = args.model.resolve_or_every_shipped()?;
        super::bench_pipeline::run(&sources, budget, args.infer_batch, args.photo.as_deref())?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} threads; batch {} (train), {} (inference)",
        rayon::current_num_threads(),
        args.batch_size,
        args.infer_batch
    );
    println!(
        "{:<8} {:<10} {:>8} {:>12} {:>12} {:>14}",
        "engine", "arch", "MFLOP", "train img/s", "infer img/s", "batch-1 ms"
    );
    for arch in &args.arch {
        let name = &arch.name;
        for engine in &args.engine {
            let (train, infer, latency) = match engine {
                Engine::Burn => super::bench_burn::measure(
                    arch,
                    (!args.no_train).then_some(args.batch_size),
                    args.infer_batch,
                    budget,
                    short,
                )?,
                Engine::Ferrite => {
                    let train = (!args.no_train)
                        .then(|| engine_train_throughput(arch, args.batch_size, budget));
                    let net = Network::new(arch, 1);
                    (
                        train,
                        engine_infer_throughput(&net, args.infer_batch, budget),
                        engine_infer_throughput(&net, 1, short),
                    )
                }
            };
            // `--no-train`: a dash where the training figure would be.
            let train = train.map_or("-".to_string(), |rate| format!("{rate:.1}"));
            println!(
                "{:<8} {:<10} {:>8.0} {:>12} {:>12.1} {:>14.2}",
                engine,
                name,
                arch.forward_macs() as f64 * 2e-6,
                train,
                infer,
                1000.0 / latency
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn synthetic_faces(n: usize) -> Vec<f32> {
    (0..n * FACE_SIZE * FACE_SIZE)
        .map(|i| ((i * 2654435761usize) >> 7) as f32 % 256.0 / 255.0)
        .collect()
}

/// Images per second of full training steps on the gemm engine.
fn engine_train_throughput(arch: &ArchSpec, batch: usize, budget: Duration) -> f64 {
    let mut net = Network::new(arch, 1);
    let mut adam = Adam::new(1e-7);
    let x = synthetic_faces(batch);
    let labels: Vec<usize> = (0..batch).map(|i| i % NUM_CLASSES).collect();
    let mut trace = Trace::default();
    let mut step = |net: &mut Network, seed: u64| {
        let logits = net.forward_train(&x, batch, seed, &mut trace);
        let (_, dlogits) = softmax_cross_entropy(&logits, &labels, &[1.0; NUM_CLASSES], 0.1);
        let grads = net.backward(&mut trace, &dlogits);
        adam.step(1e-3, net.params_mut(), &grads);
    };
    step(&mut net, 0);
    let start = Instant::now();
    let mut images = 0;
    while start.elapsed() < budget {
        step(&mut net, images as u64);
        images += batch;
    }
    images as f64 / start.elapsed().as_secs_f64()
}

/// Images per second of inference on the gemm engine (prepared once, as a loaded model is).
fn engine_infer_throughput(net: &Network, batch: usize, budget: Duration) -> f64 {
    let net = InferenceNet::new(net);
    let x = synthetic_faces(batch);
    let _ = net.logits(&x, batch);
    let start = Instant::now();
    let mut images = 0;
    while start.elapsed() < budget {
        let _ = net.logits(&x, batch);
        images += batch;
    }
    images as f64 / start.elapsed().as_secs_f64()
}
