//! `ferrite serve`: the dashboard and REST API.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use ferrite_infer::{EmotionModel, PredictOptions, Predictor};
use ferrite_server::ServerConfig;

use super::model_arg::ModelArg;

/// Arguments of `ferrite serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on. The default serves this machine only; 0.0.0.0 exposes the
    /// dashboard (and uploads of faces) to the network.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    #[command(flatten)]
    model: ModelArg,
    /// Dataset for the EDA page (Kaggle layout, fer2013.csv, or class subfolders).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Largest upload accepted, in megabytes.
    #[arg(long, default_value_t = 64)]
    max_upload_mb: usize,
}

/// Runs `ferrite serve` until Ctrl-C.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let model = EmotionModel::from_source(&args.model.resolve()?)?;
    let predictor = Predictor::new(model, PredictOptions::default()).map_err(anyhow::Error::msg)?;
    if let Some(data) = &args.data {
        anyhow::ensure!(
            data.exists(),
            "{}: no such dataset folder or file",
            data.display()
        );
    }
    let config = ServerConfig {
        addr: SocketAddr::new(args.host, args.port),
        data: args.data,
        max_upload_bytes: args.max_upload_mb << 20,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime
        .block_on(ferrite_server::serve(predictor, config.clone()))
        .map_err(|e| anyhow::anyhow!("cannot serve on {}: {e}", config.addr))?;
    Ok(ExitCode::SUCCESS)
}
