//! `ferrite serve`: the dashboard and REST API.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use ferrite_infer::{EmotionModel, PredictOptions, Predictor};
use ferrite_server::{access, AccessPolicy, PoolConfig, ServerConfig, VideoConfig};

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
    /// Largest photo upload accepted, in megabytes.
    #[arg(long, default_value_t = 64)]
    max_upload_mb: usize,
    /// Largest video upload accepted (Video page, POST /api/video), in megabytes. Videos are
    /// analysed one at a time from a temporary file that is removed when done.
    #[arg(long, default_value_t = 256)]
    max_video_mb: usize,
    /// Let pages of this origin (`https://app.example.com`, scheme, host and port) call the
    /// API from the browser; repeat for more. Other sites' requests are refused.
    #[arg(long, value_name = "ORIGIN", value_parser = parse_origin)]
    allow_origin: Vec<String>,
    /// Require this access token on every request (`Authorization: Bearer TOKEN`, or open the
    /// printed URL with `?token=`). Generated and printed when --host is not a loopback address.
    #[arg(long)]
    token: Option<String>,
    /// Threads that decode photos and find faces (default: one per core). Faces are classified
    /// by one batcher on all cores, together for requests that arrive within milliseconds.
    #[arg(long)]
    workers: Option<usize>,
    /// Requests that may wait for a worker; more are answered 503 with Retry-After.
    #[arg(long, default_value_t = 64)]
    queue: usize,
    /// Longest a prediction may take, queueing included, in seconds (503 after that).
    #[arg(long, default_value_t = 30.0)]
    request_timeout: f64,
}

/// The inference pool's settings, checked.
fn pool_config(workers: Option<usize>, queue: usize, timeout: f64) -> anyhow::Result<PoolConfig> {
    let defaults = PoolConfig::default();
    anyhow::ensure!(workers != Some(0), "--workers must be at least 1");
    anyhow::ensure!(queue >= 1, "--queue must be at least 1");
    anyhow::ensure!(
        timeout.is_finite() && timeout > 0.0,
        "--request-timeout must be a positive number of seconds"
    );
    Ok(PoolConfig {
        workers: workers.unwrap_or(defaults.workers),
        queue,
        timeout: std::time::Duration::from_secs_f64(timeout),
        ..defaults
    })
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after.
fn parse_origin(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| format!("`{text}` is not an origin: it starts with http:// or https://"))?;
    if rest.is_empty() || rest.contains('/') {
        return Err(format!(
            "`{text}` is not an origin: scheme, host and port only (https://app.example.com)"
        ));
    }
    Ok(text.to_string())
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
    let loopback = args.host.is_loopback();
    let token = match args.token {
        Some(token) if token.is_empty() => anyhow::bail!("--token is empty"),
        Some(token) => Some(token),
        None if !loopback => Some(access::new_token()),
        None => None,
    };
    let config = ServerConfig {
        addr: SocketAddr::new(args.host, args.port),
        data: args.data,
        max_upload_bytes: args.max_upload_mb << 20,
        access: AccessPolicy {
            loopback_hosts_only: loopback,
            allowed_origins: args.allow_origin,
            token,
        },
        pool: pool_config(args.workers, args.queue, args.request_timeout)?,
        video: VideoConfig {
            max_bytes: args.max_video_mb << 20,
            ..VideoConfig::default()
        },
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime
        .block_on(ferrite_server::serve(predictor, config.clone()))
        .map_err(|e| anyhow::anyhow!("cannot serve on {}: {e}", config.addr))?;
    Ok(ExitCode::SUCCESS)
}
