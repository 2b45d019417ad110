//! The REST API through the router (no network): predict with multipart and raw bodies, the
//! JSON errors, health, model, OpenAPI, EDA states and the embedded assets.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use ferrite_infer::{EmotionModel, PredictOptions, Predictor};
use ferrite_server::{eda, router, AppState};

fn app(data: Option<&std::path::Path>) -> axum::Router {
    let predictor = Predictor::new(EmotionModel::shipped(), PredictOptions::default()).unwrap();
    let state = AppState {
        predictor: Arc::new(predictor),
        eda: eda::start(data),
    };
    router(state, 1 << 20)
}

async fn send(app: axum::Router, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
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
