//! The dashboard's files, embedded in the binary: it works offline, nothing loads from a CDN.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// An embedded file: its path under `/`, MIME type and bytes.
struct Asset {
    path: &'static str,
    mime: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "",
        mime: "text/html; charset=utf-8",
        bytes: include_bytes!("../assets/index.html"),
    },
    Asset {
        path: "app.css",
        mime: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/app.css"),
    },
    Asset {
        path: "app.js",
        mime: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/app.js"),
    },
    Asset {
        path: "vendor/chart.umd.min.js",
        mime: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/vendor/chart.umd.min.js"),
    },
];

/// The embedded file at `path` (without the leading `/`), or 404.
pub fn serve(path: &str) -> Response {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.mime),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            a.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
