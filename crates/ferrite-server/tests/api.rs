//! The REST API through the router (no network): predict with multipart and raw bodies, the
//! JSON errors, health, model, OpenAPI, EDA states and the embedded assets.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use ferrite_infer::{EmotionModel, PredictOptions, Predictor};
use ferrite_server::{router, AccessPolicy, AppState, InferencePool, PoolConfig};

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
    router(AppState::new(predictor, data, pool), 1 << 20, access)
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

    let (status, bytes) = send(app(None), post("/api/predict", "image/png", png)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&bytes)[0]["file"], "upload");
}

#[tokio::test]
async fn client_mistakes_are_json_4xx() {
    let cases = [
        post("/api/predict", "image/jpeg", Vec::new()),
        post("/api/predict?min_face=2", "image/png", face_png()),
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
    assert_eq!(json(&bytes)["status"], "ok");
    let (_, bytes) = send(app(None), get("/api/model")).await;
    let model = json(&bytes);
    assert_eq!(model["card"]["labels"].as_array().unwrap().len(), 7);
    assert!(model["colours"]["happy"].as_str().unwrap().starts_with('#'));
    let (_, bytes) = send(app(None), get("/api/openapi.json")).await;
    assert!(json(&bytes)["paths"]["/api/predict"]["post"].is_object());
    let (status, bytes) = send(app(None), get("/")).await;
    assert_eq!(status, StatusCode::OK);
    let html = String::from_utf8(bytes).unwrap();
    assert!(html.contains("/assets/vendor/chart.umd.min.js"));
    assert!(
        !html.contains("https://"),
        "no asset may load from the network"
    );
    for asset in [
        "/assets/app.js",
        "/assets/app.css",
        "/assets/vendor/chart.umd.min.js",
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
        Arc::new(predictor),
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
    let alone = predictor.predict_bytes(&face_png()).unwrap();
    let pool = InferencePool::start(Arc::new(predictor), PoolConfig::default());
    let face = axum::body::Bytes::from(face_png());
    let replies: Vec<_> = (0..16)
        .map(|i| {
            pool.submit(
                vec![(format!("f{i}"), face.clone())],
                PredictOptions::default(),
            )
            .unwrap()
        })
        .collect();
    for reply in replies {
        let reports = reply.await.unwrap();
        let probabilities = &reports[0].faces[0].probabilities;
        for (k, emotion) in ferrite_data::Emotion::ALL.iter().enumerate() {
            let batched = probabilities[emotion.name()];
            assert!((batched - alone.faces[0].probabilities[k]).abs() < 1e-5);
        }
    }
}
