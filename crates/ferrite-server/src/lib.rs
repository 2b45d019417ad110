//! Ferrite's dashboard and REST API (`ferrite serve`): Dataset EDA, Model Performance, the
//! Emotion Predictor, live webcam and batch analysis, all from one binary with embedded assets.
//! Uploads and webcam frames are processed in memory and never stored.

mod api;
mod assets;
pub mod eda;
mod error;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path};
use axum::routing::{get, post};
use axum::Router;

use ferrite_infer::Predictor;

pub use error::ApiError;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The inference pipeline.
    pub predictor: Arc<Predictor>,
    /// The cached dataset analysis.
    pub eda: eda::EdaCache,
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (127.0.0.1 unless told otherwise).
    pub addr: SocketAddr,
    /// Dataset for the EDA page.
    pub data: Option<PathBuf>,
    /// Largest request body, in bytes.
    pub max_upload_bytes: usize,
}

/// The router: pages, assets and `/api/*`.
pub fn router(state: AppState, max_upload_bytes: usize) -> Router {
    Router::new()
        .route("/", get(|| async { assets::serve("") }))
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>| async move { assets::serve(&path) }),
        )
        .route("/api/health", get(api::health))
        .route("/api/model", get(api::model))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/eda", get(api::eda))
        .route("/api/eda/samples/{label}", get(api::eda_samples))
        .route("/api/eda/mean/{label}", get(api::eda_mean))
        .route("/api/predict", post(api::predict))
        .fallback(|| async { ApiError::not_found("no such page or endpoint") })
        .layer(DefaultBodyLimit::max(max_upload_bytes))
        .with_state(state)
}

/// Binds, prints the address, and serves until Ctrl-C.
pub async fn serve(predictor: Predictor, config: ServerConfig) -> std::io::Result<()> {
    let state = AppState {
        predictor: Arc::new(predictor),
        eda: eda::start(config.data.as_deref()),
    };
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    println!("Ferrite dashboard: http://{addr}/");
    axum::serve(listener, router(state, config.max_upload_bytes))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
