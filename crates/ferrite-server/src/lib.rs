//! Ferrite's dashboard and REST API (`ferrite serve`): Dataset EDA, Model Performance, the
//! Emotion Predictor, live webcam and batch analysis, all from one binary with embedded assets.
//! Uploads and webcam frames are processed in memory and never stored.

pub mod access;
mod api;
pub mod assets;
pub mod eda;
mod error;
pub mod live;
pub mod models;
pub mod pool;
pub mod video;
mod video_api;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

use ferrite_infer::{PredictOptions, Predictor, Tta};

pub use access::AccessPolicy;
pub use error::ApiError;
pub use live::{LiveConfig, LiveSessions};
pub use models::{ModelChoice, ModelSet};
pub use pool::{InferencePool, PoolConfig};
pub use video::{VideoConfig, VideoJobs};

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The inference pipeline (the served model and its options).
    pub predictor: Arc<Predictor>,
    /// The served model and the shipped ones a request may name.
    pub models: Arc<ModelSet>,
    /// The threads that run it for requests.
    pub pool: Arc<InferencePool>,
    /// The cached dataset analysis.
    pub eda: eda::EdaCache,
    /// The video thread and its results.
    pub videos: Arc<VideoJobs>,
    /// The live webcam sessions' thread.
    pub live: Arc<LiveSessions>,
}

impl AppState {
    /// The state of a server: starts the inference pool, the video and live threads and the
    /// dataset analysis.
    pub fn new(
        predictor: Predictor,
        data: Option<&std::path::Path>,
        pool: PoolConfig,
        video: VideoConfig,
    ) -> AppState {
        let predictor = Arc::new(predictor);
        let models = Arc::new(ModelSet::new(predictor.clone()));
        AppState {
            pool: Arc::new(InferencePool::start(models.clone(), pool)),
            videos: Arc::new(VideoJobs::start(models.clone(), video)),
            live: Arc::new(LiveSessions::start(models.clone(), LiveConfig::default())),
            models,
            predictor,
            eda: eda::start(data),
        }
    }
}

impl AppState {
    /// A request's options: the served ones with its `tta` and `min_face`, and the model its
    /// `?model=` names; the message names the bad parameter.
    pub(crate) fn request_options(
        &self,
        tta: Tta,
        min_face: Option<u32>,
        model: Option<&str>,
    ) -> Result<(PredictOptions, ModelChoice), String> {
        let mut options = PredictOptions {
            tta,
            ..*self.predictor.options()
        };
        if let Some(min_face) = min_face {
            options.detector.min_face = min_face;
        }
        options.detector.validate()?;
        Ok((options, self.models.choose(model)?))
    }
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
    /// Who may talk to the server.
    pub access: AccessPolicy,
    /// Inference threads, queue and time limit.
    pub pool: PoolConfig,
    /// Video upload limit, queue and kept results.
    pub video: VideoConfig,
}

/// The router: pages, assets and `/api/*`, behind the access checks of `access`.
pub fn router(state: AppState, max_upload_bytes: usize, access: AccessPolicy) -> Router {
    let max_video_bytes = state.videos.config().max_bytes;
    Router::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move { assets::serve("", &headers) }),
        )
        .route(
            "/assets/{*path}",
            get(|Path(path): Path<String>, headers: HeaderMap| async move {
                assets::serve(&path, &headers)
            }),
        )
        .route("/api/health", get(api::health))
        .route("/api/model", get(api::model))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/eda", get(api::eda))
        .route("/api/eda/samples/{label}", get(api::eda_samples))
        .route("/api/eda/mean/{label}", get(api::eda_mean))
        .route("/api/predict", post(api::predict))
        .route(
            "/api/video",
            post(video_api::submit).layer(DefaultBodyLimit::max(max_video_bytes)),
        )
        .route(
            "/api/video/{id}",
            get(video_api::status).delete(video_api::remove),
        )
        .route("/api/video/{id}/csv", get(video_api::csv))
        .route("/api/live/{session}", post(api::live))
        .fallback(|| async { ApiError::not_found("no such page or endpoint") })
        .layer(DefaultBodyLimit::max(max_upload_bytes))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(access),
            access::check,
        ))
        .with_state(state)
}

/// Binds, prints the address, and serves until Ctrl-C.
pub async fn serve(predictor: Predictor, config: ServerConfig) -> std::io::Result<()> {
    let state = AppState::new(predictor, config.data.as_deref(), config.pool, config.video);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    match &config.access.token {
        Some(token) => println!("Ferrite dashboard: http://{addr}/?token={token}"),
        None => println!("Ferrite dashboard: http://{addr}/"),
    }
    axum::serve(
        listener,
        router(state, config.max_upload_bytes, config.access.clone()),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
