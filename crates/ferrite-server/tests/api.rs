//! The REST API through the router (no network): predict with multipart and raw bodies, the
//! JSON errors, health, model, OpenAPI, EDA states and the embedded assets.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use ferrite_infer::{EmotionModel, PredictOptions, Predictor};
use ferrite_model::ShippedModel;
use ferrite_server::{
    router, AccessPolicy, AppState, InferencePool, ModelChoice, ModelSet, PoolConfig, VideoConfig,
};

fn app(data: Option<&std::path::Path>) -> axum::Router {
    app_with(data, AccessPolicy::loopback())
}

fn app_with(data: Option<&std::path::Path>, access: AccessPolicy) -> axum::Router {
    app_with_pool(data, access, PoolConfig::default())
}

fn app_with_pool(
    data: Option<&std::path::Path>,
    access: AccessPolicy,
    pool: PoolConfig,
) -> axum::Router {
    let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
    router(
        AppState::new(predictor, data, pool, VideoConfig::default()),
        1 << 20,
        access,
    )
}

/// Sends `request` as a browser on this machine would: to Host 127.0.0.1:8080 unless it names
/// another.
async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let (status, _, body) = exchange(app, request).await;
    (status, body)
}

async fn exchange(
    app: axum::Router,
    mut request: Request<Body>,
) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    if !request.headers().contains_key(header::HOST) {
        request
            .headers_mut()
            .insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
    }
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

fn face_png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(48, 48, |x, y| image::Luma([(x * 4 + y) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "ferrite-test-boundary";
    let mut body = Vec::new();
    for (field, file, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn post(uri: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn tta_takes_a_kind_and_refuses_unknown_ones_by_name() {
    let png = face_png();
    let mut answers = Vec::new();
    for tta in ["off", "flip", "true", "crops", "zoom"] {
        let uri = format!("/api/predict?tta={tta}");
        let (status, bytes) = send(app(None), post(&uri, "image/png", png.clone())).await;
        assert_eq!(status, StatusCode::OK, "tta={tta}");
        answers.push(json(&bytes)[0]["faces"][0]["probabilities"].clone());
    }
    assert_ne!(answers[0], answers[1], "flip averages in the mirror image");
    assert_eq!(answers[1], answers[2], "true is flip");
    assert_eq!(
        answers[1], answers[3],
        "on a whole-face model ten crops are the flip"
    );
    assert_ne!(answers[4], answers[1], "zoom adds a closer view");
    let (status, bytes) = send(app(None), post("/api/predict?tta=ten", "image/png", png)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("`ten`") && text.contains("crops"), "{text}");
}

#[tokio::test]
async fn predict_takes_multipart_and_raw_bodies() {
    let png = face_png();
    let (ct, body) = multipart(&[("image", "a.png", &png), ("image", "bad.jpg", b"nope")]);
    let (status, bytes) = send(app(None), post("/api/predict?tta=true", &ct, body)).await;
    assert_eq!(status, StatusCode::OK);
    let reports = json(&bytes);
    let reports = reports.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["file"], "a.png");
    assert_eq!(
        reports[0]["faces"][0]["box"],
        serde_json::json!([0, 0, 48, 48])
    );
    assert_eq!(
        reports[0]["faces"][0]["probabilities"]
            .as_object()
            .unwrap()
            .len(),
        7
    );
    assert!(reports[1]["error"]
        .as_str()
        .unwrap()
        .contains("not an image"));

    let (status, bytes) = send(app(None), post("/api/predict", "image/png", png.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&bytes)[0]["file"], "upload");

    // `?model=` picks a shipped model; each answers with its own probabilities.
    let mut answers = Vec::new();
    for model in ["accurate", "fast"] {
        let uri = format!("/api/predict?model={model}");
        let (status, bytes) = send(app(None), post(&uri, "image/png", png.clone())).await;
        assert_eq!(status, StatusCode::OK, "{model}");
        answers.push(json(&bytes)[0]["faces"][0]["probabilities"].clone());
    }
    assert_ne!(answers[0], answers[1]);
}

#[tokio::test]
async fn client_mistakes_are_json_4xx() {
    let cases = [
        post("/api/predict", "image/jpeg", Vec::new()),
        post("/api/predict?min_face=2", "image/png", face_png()),
        post("/api/predict?model=/etc", "image/png", face_png()),
        post("/api/predict?model=tiny", "image/png", face_png()),
        {
            let (ct, body) = multipart(&[("photo", "a.png", &face_png())]);
            post("/api/predict", &ct, body)
        },
    ];
    for request in cases {
        let (status, bytes) = send(app(None), request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(json(&bytes)["error"].as_str().unwrap().len() > 10);
    }
    let (status, bytes) = send(
        app(None),
        post("/api/predict", "image/jpeg", b"text".to_vec()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(json(&bytes)["error"].as_str().unwrap().contains("upload"));
    let huge = vec![0u8; 2 << 20];
    let (status, _) = send(app(None), post("/api/predict", "image/jpeg", huge)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, bytes) = send(
        app(None),
        Request::get("/api/nothing").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(json(&bytes)["error"].is_string());
}

#[tokio::test]
async fn health_model_openapi_and_assets() {
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let (status, bytes) = send(app(None), get("/api/health")).await;
    assert_eq!(status, StatusCode::OK);
    let health = json(&bytes);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["served_model"], "accurate");
    assert_eq!(health["models"], serde_json::json!(["accurate", "fast"]));
    let (_, bytes) = send(app(None), get("/api/model")).await;
    let model = json(&bytes);
    assert_eq!(model["card"]["labels"].as_array().unwrap().len(), 7);
    assert_eq!(model["card"]["arch"]["name"], "wide");
    let (_, bytes) = send(app(None), get("/api/model?model=fast")).await;
    assert_eq!(json(&bytes)["card"]["arch"]["name"], "fast-deep");
    let (status, _) = send(app(None), get("/api/model?model=nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(model["colours"]["happy"].as_str().unwrap().starts_with('#'));
    let (_, bytes) = send(app(None), get("/api/openapi.json")).await;
    assert!(json(&bytes)["paths"]["/api/predict"]["post"].is_object());
    let (status, bytes) = send(app(None), get("/")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(bytes).unwrap();
    // Relative, so that the static site (`ferrite export --format web`) works in any folder.
    assert!(html.contains("\"assets/vendor/chart.umd.min.js\""));
    assert!(
        !html.contains("https://"),
        "no asset may load from the network"
    );
    for asset in [
        "/assets/app.js",
        "/assets/app.css",
        "/assets/vendor/chart.umd.min.js",
        "/assets/private/worker.js",
        "/assets/private/ferrite.wasm",
        "/assets/private/model/card.json",
        "/assets/private/model/model.safetensors",
    ] {
        let (status, bytes) = send(app(None), get(asset)).await;
        assert_eq!(status, StatusCode::OK, "{asset}");
        assert!(bytes.len() > 1000, "{asset}");
    }
}

#[tokio::test]
async fn eda_says_how_to_get_data_then_serves_the_analysis() {
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let (_, bytes) = send(app(None), get("/api/eda")).await;
    let none = json(&bytes);
    assert_eq!(none["status"], "no-data");
    assert!(none["hint"].as_str().unwrap().contains("--data"));

    let dir = tempfile::tempdir().unwrap();
    for class in ["happy", "sad"] {
        let d = dir.path().join(class);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("a.png"), face_png()).unwrap();
    }
    let app = app(Some(dir.path()));
    let report = loop {
        let (_, bytes) = send(app.clone(), get("/api/eda")).await;
        let v = json(&bytes);
        match v["status"].as_str().unwrap() {
            "computing" => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            "ready" => break v["report"].clone(),
            other => panic!("{other}: {v}"),
        }
    };
    assert_eq!(report["splits"][0]["name"], "all");
    assert_eq!(report["splits"][0]["total"], 2);
    let (status, bytes) = send(app.clone(), get("/api/eda/mean/happy")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"\x89PNG"));
    let (status, _) = send(app, get("/api/eda/samples/bored")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn get_with(uri: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn other_sites_cannot_reach_a_loopback_server() {
    // DNS rebinding: a page on evil.example.com whose name now points at 127.0.0.1.
    let rebound = get_with("/api/model", &[(header::HOST, "evil.example.com:8080")]);
    let (status, body) = send(app(None), rebound).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(json(&body)["error"]
        .as_str()
        .unwrap()
        .contains("evil.example.com"));
    for host in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080"] {
        let (status, _) = send(app(None), get_with("/api/model", &[(header::HOST, host)])).await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }

    // A cross-origin POST from another site's page is refused before any work.
    let mut request = post("/api/predict", "image/png", face_png());
    request
        .headers_mut()
        .insert(header::ORIGIN, "http://evil.example.com".parse().unwrap());
    let (status, body) = send(app(None), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(json(&body)["error"]
        .as_str()
        .unwrap()
        .contains("--allow-origin"));

    // The dashboard's own page (same origin) is served.
    let mut request = post("/api/predict", "image/png", face_png());
    request
        .headers_mut()
        .insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
    assert_eq!(send(app(None), request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_allowed_origin_gets_cors_answers() {
    let origin = "https://app.example.com";
    let access = AccessPolicy {
        allowed_origins: vec![origin.into()],
        ..AccessPolicy::loopback()
    };
    let preflight = Request::options("/api/predict")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = exchange(app_with(None, access.clone()), preflight).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], origin);
    let mut request = post("/api/predict", "image/png", face_png());
    request
        .headers_mut()
        .insert(header::ORIGIN, origin.parse().unwrap());
    let (status, headers, _) = exchange(app_with(None, access), request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], origin);
}

#[tokio::test]
async fn a_token_guards_the_pages_and_the_api() {
    let access = AccessPolicy {
        loopback_hosts_only: false,
        allowed_origins: Vec::new(),
        token: Some("s3cret-token".into()),
    };
    let app = || app_with(None, access.clone());
    let host = (header::HOST, "192.168.1.20:8080");
    let (status, _) = send(app(), get_with("/api/model", std::slice::from_ref(&host))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = (header::AUTHORIZATION, "Bearer s3cret-tokem");
    let (status, _) = send(app(), get_with("/api/model", &[host.clone(), wrong])).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let bearer = (header::AUTHORIZATION, "Bearer s3cret-token");
    let (status, _) = send(app(), get_with("/api/model", &[host.clone(), bearer])).await;
    assert_eq!(status, StatusCode::OK);
    // The printed URL sets a cookie that the page's own requests then carry.
    let (status, headers, _) = exchange(
        app(),
        get_with("/?token=s3cret-token", std::slice::from_ref(&host)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let jar = cookie.split(';').next().unwrap().to_string();
    let (status, _) = send(
        app(),
        get_with("/api/health", &[host, (header::COOKIE, jar.as_str())]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_past_its_time_limit_is_told_to_retry() {
    let pool = PoolConfig {
        timeout: Duration::ZERO,
        ..PoolConfig::default()
    };
    let app = app_with_pool(None, AccessPolicy::loopback(), pool);
    let (status, headers, body) =
        exchange(app, post("/api/predict", "image/png", face_png())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert!(json(&body)["error"].as_str().unwrap().contains("limit"));
}

/// A photo that takes a worker milliseconds: a 640x480 scene.
fn photo_png() -> Vec<u8> {
    let img = image::GrayImage::from_fn(640, 480, |x, y| image::Luma([((x ^ y) % 251) as u8]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_full_queue_refuses_at_once_and_every_taken_request_is_answered() {
    let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
    let pool = InferencePool::start(
        Arc::new(ModelSet::new(Arc::new(predictor))),
        PoolConfig {
            workers: 1,
            queue: 2,
            ..PoolConfig::default()
        },
    );
    let photo = axum::body::Bytes::from(photo_png());
    let mut taken = Vec::new();
    let mut refused = 0;
    for i in 0..12 {
        match pool.submit(
            vec![(format!("p{i}"), photo.clone())],
            PredictOptions::default(),
            ModelChoice::Served,
        ) {
            Ok(reply) => taken.push(reply),
            Err(_) => refused += 1,
        }
    }
    // One in the worker's hands at most, two waiting: the rest are refused.
    assert!(refused >= 9, "{refused} refused");
    for reply in taken {
        let reports = reply.await.expect("every queued request is answered");
        assert_eq!(reports.len(), 1);
        assert!(reports[0].error.is_none());
    }
}

#[tokio::test]
async fn concurrent_requests_are_classified_together_with_the_same_results() {
    let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
    let fast = Predictor::new(EmotionModel::fast(), PredictOptions::default()).unwrap();
    let alone = [
        predictor.predict_bytes(&face_png()).unwrap(),
        fast.predict_bytes(&face_png()).unwrap(),
    ];
    let pool = InferencePool::start(
        Arc::new(ModelSet::new(Arc::new(predictor))),
        PoolConfig::default(),
    );
    let face = axum::body::Bytes::from(face_png());
    // Requests for the two models, interleaved: each is classified by the model it named.
    let choices = [
        ModelChoice::Served,
        ModelChoice::Shipped(ShippedModel::Fast),
    ];
    let replies: Vec<_> = (0..16)
        .map(|i| {
            let reply = pool
                .submit(
                    vec![(format!("f{i}"), face.clone())],
                    PredictOptions::default(),
                    choices[i % 2],
                )
                .unwrap();
            (i % 2, reply)
        })
        .collect();
    for (which, reply) in replies {
        let reports = reply.await.unwrap();
        let probabilities = &reports[0].faces[0].probabilities;
        for (k, emotion) in ferrite_data::Emotion::ALL.iter().enumerate() {
            let batched = probabilities[emotion.name()];
            let expected = alone[which].faces[0].probabilities[k];
            assert!(
                (batched - expected).abs() < 1e-5,
                "{which}: {batched} vs {expected}"
            );
        }
    }
    let (accurate, fast) = (&alone[0].faces[0], &alone[1].faces[0]);
    assert_ne!(accurate.probabilities, fast.probabilities);
}

/// An MP4 of `frames` textured frames (no faces) at 25 frames/s.
fn faceless_mp4(frames: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.mp4");
    let mut writer = ferrite_video::VideoWriter::create(&path, 160, 120).unwrap();
    for k in 0..frames {
        let frame = image::GrayImage::from_fn(160, 120, |x, y| {
            image::Luma([(100 + (x + y + k) % 50) as u8])
        });
        writer.push_gray(&frame, f64::from(k) * 0.04).unwrap();
    }
    writer.finish(0.04).unwrap();
    std::fs::read(path).unwrap()
}

fn video_app(video: VideoConfig) -> axum::Router {
    let predictor = Predictor::new(EmotionModel::fast(), PredictOptions::default()).unwrap();
    let state = AppState::new(predictor, None, PoolConfig::default(), video);
    router(state, 1 << 20, AccessPolicy::loopback())
}

/// Posts `body` (as `content_type`) to `uri`, then polls the job until it is done; returns its
/// id and its final status JSON.
async fn analysed_as(
    app: &axum::Router,
    uri: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (String, serde_json::Value) {
    let (status, bytes) = send(app.clone(), post(uri, content_type, body)).await;
    assert_eq!(
        status,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    let id = json(&bytes)["id"].as_str().unwrap().to_string();
    for _ in 0..600 {
        let request = Request::get(format!("/api/video/{id}"))
            .body(Body::empty())
            .unwrap();
        let (status, bytes) = send(app.clone(), request).await;
        assert_eq!(status, StatusCode::OK);
        let job = json(&bytes);
        if job["status"] == "done" {
            return (id, job);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the video job did not finish in 30 s");
}

async fn analysed(app: &axum::Router, uri: &str, body: Vec<u8>) -> (String, serde_json::Value) {
    analysed_as(app, uri, "video/mp4", body).await
}

#[tokio::test]
async fn videos_are_queued_analysed_and_reported() {
    let app = video_app(VideoConfig::default());
    let clip = faceless_mp4(10);
    let (_, job) = analysed(&app, "/api/video", clip.clone()).await;
    let report = &job["result"]["report"];
    assert_eq!(report["file"], "upload");
    assert_eq!(report["width"], 160);
    assert_eq!(report["frames_analysed"], 10);
    assert_eq!(job["result"]["rows"].as_array().unwrap().len(), 0);
    assert!(report.get("error").is_none(), "{report}");

    // Sampling by time stamps: 10 frames at 25 frames/s are 0.4 s; at 5 a second, 2 frames.
    let (id, job) = analysed(&app, "/api/video?fps=5&model=accurate", clip).await;
    assert_eq!(job["result"]["report"]["frames_analysed"], 2);

    // The CSV of a finished job, then the job forgotten.
    let url = format!("/api/video/{id}");
    let (status, bytes) = send(
        app.clone(),
        Request::get(format!("{url}/csv"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csv = String::from_utf8(bytes).unwrap();
    assert!(
        csv.starts_with("file,frame,time_s,track,x,y,width,height,label,confidence,angry,"),
        "{csv}"
    );
    let (status, _) = send(
        app.clone(),
        Request::delete(&url).body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(app.clone(), Request::get(&url).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_videos_and_settings_are_named() {
    let app = video_app(VideoConfig {
        max_bytes: 64 << 10,
        ..VideoConfig::default()
    });
    // Not a video: the job ends with an error that names the upload, not the temporary file.
    let (ct, body) = multipart(&[("video", "notes.mp4", b"not a video at all")]);
    let (_, job) = analysed_as(&app, "/api/video", &ct, body).await;
    let error = job["result"]["report"]["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.contains("notes.mp4") && !error.contains("ferrite-upload-"),
        "{error}"
    );

    // A truncated video: the error says where it stopped.
    let clip = faceless_mp4(20);
    let cut = clip[..clip.len() * 2 / 3].to_vec();
    let (_, job) = analysed(&app, "/api/video", cut).await;
    assert!(job["result"]["report"]["error"].is_string(), "{job}");

    for uri in [
        "/api/video?fps=0",
        "/api/video?fps=-2",
        "/api/video?smoothing=0",
        "/api/video?detect_every=0",
        "/api/video?model=nope",
        "/api/video?min_face=2",
    ] {
        let (status, bytes) = send(app.clone(), post(uri, "video/mp4", b"x".to_vec())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(json(&bytes)["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid query"));
    }
    let (status, _) = send(app.clone(), post("/api/video", "video/mp4", Vec::new())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        app.clone(),
        post("/api/video", "video/mp4", vec![0; 65 << 10]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = send(
        app.clone(),
        Request::get("/api/video/nope").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn scene_jpeg(shift: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(160, 120, |x, y| {
        image::Luma([(90 + (x + y + shift) % 60) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn live_sessions_number_their_frames_and_refuse_bad_input() {
    let app = app(None);
    for (i, session) in ["cam-1", "cam-1", "cam-1", "cam_2"].iter().enumerate() {
        let uri = format!("/api/live/{session}?model=fast");
        let (status, bytes) =
            send(app.clone(), post(&uri, "image/jpeg", scene_jpeg(i as u32))).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let report = json(&bytes);
        // Each session counts its own frames; a new one starts at 0.
        let expected = if *session == "cam-1" { i } else { 0 };
        assert_eq!(report["frame"], expected, "{report}");
        assert_eq!(report["width"], 160);
        assert_eq!(report["faces"], serde_json::json!([]));
    }
    let long = "x".repeat(65);
    for (uri, body, status) in [
        (
            format!("/api/live/{long}"),
            scene_jpeg(0),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/live/a.b".to_string(),
            scene_jpeg(0),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/live/ok?model=nope".to_string(),
            scene_jpeg(0),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/live/ok?min_face=1".to_string(),
            scene_jpeg(0),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/live/ok".to_string(),
            b"not a jpeg".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/api/live/ok".to_string(),
            Vec::new(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (got, bytes) = send(app.clone(), post(&uri, "image/jpeg", body)).await;
        assert_eq!(got, status, "{uri}: {}", String::from_utf8_lossy(&bytes));
        assert!(json(&bytes)["error"].is_string());
    }
}
