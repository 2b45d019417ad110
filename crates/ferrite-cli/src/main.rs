//! `ferrite`: train, evaluate, benchmark and run Ferrite's facial emotion CNN.

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc keeps the engine's large per-step buffers mapped between steps instead of returning
/// them to the kernel and faulting in fresh zeroed pages each step as glibc's malloc does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Facial emotion recognition: read emotions from photos; train, evaluate and benchmark a CNN
/// on FER2013.
#[derive(Parser)]
#[command(name = "ferrite", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on FER2013 (or any folder of class subfolders). Boxed: its options are
    /// several times the size of any other command's.
    Train(Box<commands::train::TrainArgs>),
    /// Evaluate a model: accuracy, classification report, confusion matrix.
    Eval(commands::eval::EvalArgs),
    /// Measure training and inference throughput.
    Bench(commands::bench::BenchArgs),
    /// Find every face in photos, folders or globs and classify its emotion.
    Predict(commands::predict::PredictArgs),
    /// Serve the dashboard and REST API (http://127.0.0.1:8080 by default).
    Serve(commands::serve::ServeArgs),
    /// Show a model's card: architecture, training run and results.
    Model(commands::model::ModelArgs),
    /// Emotions over time in MP4/MOV videos: faces followed with track ids, per frame and per
    /// track.
    Video(commands::video::VideoArgs),
    /// Fit a model's temperature on PublicTest, so that its confidence can be trusted.
    Calibrate(commands::calibrate::CalibrateArgs),
    /// Write a model as a file other software runs: ONNX, for ONNX Runtime, OpenCV and others.
    Export(commands::export::ExportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Model(_) | Command::Eval(_) | Command::Predict(_)
    ) {
        stop_quietly_when_the_reader_leaves();
    }
    let result = match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Model(args) => commands::model::run(args),
        Command::Video(args) => commands::video::run(args),
        Command::Export(args) => commands::export::run(args),
        Command::Calibrate(args) => commands::calibrate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// For commands whose output is text for a terminal or a pipe (`ferrite predict DIR | head`):
/// when the reader closes the pipe, the process ends as `cat` or `grep` do, instead of
/// panicking in `println!` on the write error. Rust ignores SIGPIPE so that a write to a closed
/// socket or child pipe comes back as an error; `serve`, `video` and `train` keep that.
fn stop_quietly_when_the_reader_leaves() {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default disposition, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
