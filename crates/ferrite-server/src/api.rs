//! The REST API the pages use: predict, health, model, EDA, and the OpenAPI description.
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use ferrite_data::Emotion;
use ferrite_infer::{ImageReport, PredictOptions, Tta};
use ferrite_model::ShippedModel;

use crate::eda::EdaState;
use crate::error::ApiError;
use crate::live::LiveSettings;
use crate::pool::Refusal;
use crate::AppState;
use ferrite_video::LiveReport;

/// The OpenAPI 3.1 description of this API.
const OPENAPI: &str = include_str!("openapi.json");

/// Query options of `POST /api/predict`.
#[derive(Debug, Default, Deserialize)]
pub struct PredictQuery {
    /// Test-time augmentation: `flip` (or `true`: the mirror image), `crops` (ten crops),
    /// `zoom` (the face and a closer view, each mirrored), `off` (or `false`, the default).
    #[serde(default)]
    tta: Tta,
    /// Classify the whole image as one face.
    #[serde(default)]
    whole_image: bool,
    /// Smallest face to look for, in pixels.
    min_face: Option<u32>,
    /// A shipped model (`accurate`, `fast`) instead of the server's own.
    model: Option<String>,
}

/// Query options of `GET /api/model`.
#[derive(Debug, Default, Deserialize)]
pub struct ModelQuery {
    /// A shipped model (`accurate`, `fast`) instead of the server's own.
    model: Option<String>,
}

use crate::pool::Uploads;

/// Reads the files of a request: multipart fields named `field` (`image`, `video`), or the
/// raw body.
pub(crate) async fn uploads(request: Request, field: &str) -> Result<Uploads, ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if !is_multipart {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| ApiError {
                status: e.status(),
                message: format!("cannot read the body: {}", e.body_text()),
            })?;
        if body.is_empty() {
            return Err(ApiError::bad_request(format!(
                "no {field}: send multipart/form-data with a field named `{field}`, or the file's bytes as the body"
            )));
        }
        return Ok(vec![("upload".into(), body)]);
    }
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError {
            status: e.status(),
            message: e.body_text(),
        })?;
    let mut out = Vec::new();
    while let Some(part) = multipart.next_field().await.map_err(|e| ApiError {
        status: e.status(),
        message: e.body_text(),
    })? {
        if part.name() != Some(field) {
            continue;
        }
        let name = part
            .file_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{field}-{}", out.len() + 1));
        let bytes = part.bytes().await.map_err(|e| ApiError {
            status: e.status(),
            message: e.body_text(),
        })?;
        out.push((name, bytes));
    }
    if out.is_empty() {
        return Err(ApiError::bad_request(format!(
            "no {field}: the multipart form has no field named `{field}`"
        )));
    }
    Ok(out)
}

/// `POST /api/predict`: a JSON array with one object per image, as `ferrite predict --format
/// json` prints. A single image that cannot be read is a 422 with `{"error": ...}`.
pub async fn predict(
    State(state): State<AppState>,
    Query(query): Query<PredictQuery>,
    request: Request,
) -> Result<Json<Vec<ImageReport>>, ApiError> {
    let (options, model) = state
        .request_options(query.tta, query.min_face, query.model.as_deref())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let options = PredictOptions {
        whole_image: query.whole_image,
        ..options
    };
    let images = uploads(request, "image").await?;
    let pending = state
        .pool
        .submit(images, options, model)
        .map_err(|Refusal::Busy| {
            ApiError::busy("the server is busy: every inference queue place is taken; try again")
        })?;
    let limit = state.pool.config().timeout;
    let started = std::time::Instant::now();
    let too_late = || {
        ApiError::busy(format!(
            "the prediction took longer than the server's limit of {} s; try again",
            limit.as_secs_f64()
        ))
    };
    let reports = match tokio::time::timeout(limit, pending).await {
        Ok(Ok(reports)) => reports,
        // The pool drops a request that outlived its limit before a worker reached it.
        Ok(Err(_)) if started.elapsed() >= limit => return Err(too_late()),
        Ok(Err(_)) => return Err(ApiError::internal("prediction failed (an internal error)")),
        Err(_) => return Err(too_late()),
    };
    if let [only] = reports.as_slice() {
        if let Some(error) = &only.error {
            return Err(ApiError::unprocessable(format!("{}: {error}", only.file)));
        }
    }
    Ok(Json(reports))
}

/// Query options of `POST /api/live/{session}`.
#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    /// Smallest face to look for, in pixels.
    min_face: Option<u32>,
    /// A shipped model (`accurate`, `fast`) instead of the server's own.
    model: Option<String>,
}

/// Session ids the live endpoint takes: 1-64 letters, digits, `-` or `_`.
fn valid_session(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `POST /api/live/{session}`: one webcam frame of a session, its faces followed by track
/// and smoothed over the session's frames (as `ferrite video` does); 422 for a frame that is
/// not an image, 503 when the live queue is full.
pub async fn live(
    State(state): State<AppState>,
    Path(session): Path<String>,
    Query(query): Query<LiveQuery>,
    request: Request,
) -> Result<Json<LiveReport>, ApiError> {
    if !valid_session(&session) {
        return Err(ApiError::bad_request(
            "a session id is 1-64 letters, digits, `-` or `_`",
        ));
    }
    let (options, model) = state
        .request_options(Tta::Off, query.min_face, query.model.as_deref())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let (_, bytes) = uploads(request, "image").await?.remove(0);
    let pending = state
        .live
        .submit(session, bytes, LiveSettings { options, model })
        .map_err(|Refusal::Busy| ApiError::busy("the live queue is full; try again"))?;
    match tokio::time::timeout(state.pool.config().timeout, pending).await {
        Ok(Ok(Ok(report))) => Ok(Json(report)),
        Ok(Ok(Err(e))) => Err(ApiError::unprocessable(format!("frame: {e}"))),
        Ok(Err(_)) => Err(ApiError::internal(
            "the frame was dropped (an internal error)",
        )),
        Err(_) => Err(ApiError::busy(
            "the frame took longer than the server's limit",
        )),
    }
}

/// `GET /api/health`: the served model, and the shipped models `?model=` may name.
pub async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    let served = state.predictor.model().source();
    Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "model": state.predictor.model().origin(),
        "served_model": served.to_arg(),
        "models": ShippedModel::ALL.map(|m| m.name()),
    }))
}

/// `GET /api/model[?model=NAME]`: the model card, where it came from, each training leg's
/// recipe as `ferrite train` options, and the label colours.
pub async fn model(
    State(state): State<AppState>,
    Query(query): Query<ModelQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let choice = state
        .models
        .choose(query.model.as_deref())
        .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
    let model = state.models.get(choice);
    let colours: serde_json::Map<String, serde_json::Value> = Emotion::ALL
        .iter()
        .map(|&e| {
            let (r, g, b) = ferrite_eval::emotion_colour(e);
            (
                e.name().to_string(),
                format!("#{r:02x}{g:02x}{b:02x}").into(),
            )
        })
        .collect();
    let card = model.card();
    let commands: Vec<String> = card
        .training
        .legs
        .iter()
        .map(|leg| leg.recipe.command_line(leg.engine, leg.device))
        .collect();
    Ok(Json(serde_json::json!({
        "origin": model.origin(),
        "card": card,
        "leg_commands": commands,
        "colours": colours,
    })))
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /api/eda`: `{"status": "no-data" | "computing" | "ready" | "failed", ...}`.
pub async fn eda(State(state): State<AppState>) -> Json<serde_json::Value> {
    let guard = state.eda.read().expect("EDA lock");
    Json(match &*guard {
        EdaState::NoData => serde_json::json!({
            "status": "no-data",
            "hint": "start the server with --data DIR (a FER2013 folder in the Kaggle layout, fer2013.csv, or any folder of class subfolders)",
        }),
        EdaState::Computing(dir) => {
            serde_json::json!({"status": "computing", "source": dir.display().to_string()})
        }
        EdaState::Failed(e) => serde_json::json!({"status": "failed", "error": e}),
        EdaState::Ready(eda) => serde_json::json!({"status": "ready", "report": eda.report}),
    })
}

/// Which EDA picture.
#[derive(Clone, Copy)]
pub enum EdaPicture {
    /// A row of sample faces.
    Samples,
    /// The mean face.
    Mean,
}

/// `GET /api/eda/samples/{label}` and `/api/eda/mean/{label}`: PNG pictures per class.
pub async fn eda_picture(
    state: AppState,
    which: EdaPicture,
    label: String,
) -> Result<Response, ApiError> {
    let emotion = Emotion::from_name(label.trim_end_matches(".png"))
        .ok_or_else(|| ApiError::not_found(format!("unknown class `{label}`")))?;
    let guard = state.eda.read().expect("EDA lock");
    let EdaState::Ready(eda) = &*guard else {
        return Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the dataset analysis is not ready".into(),
        });
    };
    let pictures = match which {
        EdaPicture::Samples => &eda.samples,
        EdaPicture::Mean => &eda.mean_faces,
    };
    let png = pictures[&emotion].clone();
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// Route handler for sample rows.
pub async fn eda_samples(
    State(state): State<AppState>,
    Path(label): Path<String>,
) -> Result<Response, ApiError> {
    eda_picture(state, EdaPicture::Samples, label).await
}

/// Route handler for mean faces.
pub async fn eda_mean(
    State(state): State<AppState>,
    Path(label): Path<String>,
) -> Result<Response, ApiError> {
    eda_picture(state, EdaPicture::Mean, label).await
}
