//! The video endpoints: `POST /api/video` queues an upload and answers 202 with the job's
//! address; `GET /api/video/{id}` says how far it is and, when done, gives the report, the
//! per-track summaries and every face row; `GET /api/video/{id}/csv` gives the rows as
//! `ferrite video --format csv` writes them; `DELETE /api/video/{id}` forgets a result.

use std::io::Write;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use ferrite_infer::Tta;
use ferrite_video::{csv_header, write_csv_error, write_csv_rows, FrameSampler, TrackerConfig};

use crate::api::uploads;
use crate::error::ApiError;
use crate::video::{JobStatus, VideoRefusal, VideoSettings};
use crate::AppState;

/// Query options of `POST /api/video`.
#[derive(Debug, Default, Deserialize)]
pub struct VideoQuery {
    /// Frames a second to analyse (default: every frame).
    fps: Option<f64>,
    /// Run the detector every this many analysed frames.
    detect_every: Option<usize>,
    /// Weight of the newest frame in each track's moving average (1: none).
    smoothing: Option<f32>,
    /// Smallest face to look for, in pixels.
    min_face: Option<u32>,
    /// Test-time augmentation: `flip` (or `true`), `crops`, `zoom`, `off` (or `false`, the
    /// default).
    #[serde(default)]
    tta: Tta,
    /// A shipped model (`accurate`, `fast`) instead of the server's own.
    model: Option<String>,
}

impl VideoQuery {
    /// The settings, checked; the message names the bad parameter.
    fn settings(&self, state: &AppState) -> Result<VideoSettings, String> {
        let defaults = TrackerConfig::default();
        let tracking = TrackerConfig {
            detect_every: self.detect_every.unwrap_or(defaults.detect_every),
            smoothing: self.smoothing.unwrap_or(defaults.smoothing),
            ..defaults
        };
        tracking.validate()?;
        FrameSampler::new(self.fps)?;
        let (options, model) =
            state.request_options(self.tta, self.min_face, self.model.as_deref())?;
        Ok(VideoSettings {
            options,
            tracking,
            fps: self.fps,
            model,
        })
    }
}

/// `POST /api/video`: 202 with `{"id", "status_url"}`; 400 for bad settings or no video, 413
/// over the size limit, 503 when every queue place is taken.
pub async fn submit(
    State(state): State<AppState>,
    Query(query): Query<VideoQuery>,
    request: Request,
) -> Result<Response, ApiError> {
    let settings = query
        .settings(&state)
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let mut files = uploads(request, "video").await?;
    if files.len() > 1 {
        return Err(ApiError::bad_request(
            "one video per request: send each in a request of its own",
        ));
    }
    let (name, bytes) = files.remove(0);
    let id = state
        .videos
        .submit(name, bytes, settings)
        .map_err(|VideoRefusal::Busy| {
            ApiError::busy("the server is busy with other videos; try again later")
        })?;
    let status_url = format!("/api/video/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, status_url.clone())],
        Json(serde_json::json!({"id": id, "status_url": status_url})),
    )
        .into_response())
}

fn job(state: &AppState, id: &str) -> Result<JobStatus, ApiError> {
    state.videos.status(id).ok_or_else(|| {
        ApiError::not_found(format!(
            "no video job `{id}` (results are kept for the last {} videos)",
            state.videos.config().kept
        ))
    })
}

/// `GET /api/video/{id}`: `{"status": "queued" | "running" | "done", ...}`.
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobStatus>, ApiError> {
    Ok(Json(job(&state, &id)?))
}

/// `GET /api/video/{id}/csv`: the rows of a finished job as CSV (409 while it runs).
pub async fn csv(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let JobStatus::Done { result } = job(&state, &id)? else {
        return Err(ApiError {
            status: StatusCode::CONFLICT,
            message: "the video is still being analysed".into(),
        });
    };
    let mut out = Vec::new();
    let file = &result.report.file;
    let written = writeln!(out, "{}", csv_header())
        .and_then(|()| write_csv_rows(&mut out, file, &result.rows))
        .and_then(|()| match &result.report.error {
            Some(error) => write_csv_error(&mut out, file, error),
            None => Ok(()),
        });
    written.map_err(|e| ApiError::internal(format!("writing the CSV: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"ferrite-video.csv\"".to_string(),
            ),
        ],
        out,
    )
        .into_response())
}

/// `DELETE /api/video/{id}`: forgets a finished job (204; 404 when there is none).
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.videos.remove(&id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no finished video job `{id}`")))
    }
}
