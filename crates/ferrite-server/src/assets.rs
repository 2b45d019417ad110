//! The dashboard's files, embedded in the binary: it works offline, nothing loads from a CDN.
//! Among them the private mode's (`private/`): the WebAssembly module built by `build.rs`, its
//! worker, and the fast model's card and weights, so that a browser can read photos and webcam
//! frames by itself. Each file is answered with an `ETag` (a hash of its bytes), so that a
//! browser keeps what it has (4.7 MB for the private mode) and asks again only to revalidate.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::OnceLock;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use ferrite_model::ShippedModel;

/// The model the private mode runs in the browser.
pub const PRIVATE_MODEL: ShippedModel = ShippedModel::Fast;

/// An embedded file: its path under `/assets/` (the page itself is `""`), MIME type and bytes.
pub struct Asset {
    /// Where it is served, under `/assets/` (`""`: the page, at `/`).
    pub path: &'static str,
    /// Its MIME type.
    pub mime: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every embedded file.
pub fn all() -> &'static [Asset] {
    static ASSETS: OnceLock<Vec<Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        vec![
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
                mime: JS,
                bytes: include_bytes!("../assets/app.js"),
            },
            Asset {
                path: "vendor/chart.umd.min.js",
                mime: JS,
                bytes: include_bytes!("../assets/vendor/chart.umd.min.js"),
            },
            Asset {
                path: "private/worker.js",
                mime: JS,
                bytes: include_bytes!("../assets/private/worker.js"),
            },
            Asset {
                path: "private/ferrite.wasm",
                mime: "application/wasm",
                bytes: include_bytes!(concat!(env!("OUT_DIR"), "/ferrite.wasm")),
            },
            Asset {
                path: "private/model/card.json",
                mime: "application/json",
                bytes: PRIVATE_MODEL.card_json().as_bytes(),
            },
            Asset {
                path: "private/model/model.safetensors",
                mime: "application/octet-stream",
                bytes: PRIVATE_MODEL.weights(),
            },
        ]
    })
}

/// The file's entity tag: a hash of its bytes, computed once.
fn etag(index: usize) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    &TAGS.get_or_init(|| {
        all()
            .iter()
            .map(|a| {
                let mut hasher = DefaultHasher::new();
                a.bytes.hash(&mut hasher);
                format!("\"{:016x}-{:x}\"", hasher.finish(), a.bytes.len())
            })
            .collect()
    })[index]
}

/// The embedded file at `path` (without the leading `/assets/`), 304 if the browser's copy
/// (`If-None-Match`) is current, or 404.
pub fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(index) = all().iter().position(|a| a.path == path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let tag = etag(index);
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let validators = [(header::CACHE_CONTROL, "no-cache"), (header::ETAG, tag)];
    if cached {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    let asset = &all()[index];
    (
        [(header::CONTENT_TYPE, asset.mime)],
        validators,
        asset.bytes,
    )
        .into_response()
}

/// The dashboard as a static site (`ferrite export --format web`): `index.html`, marked
/// static (private mode only, no pages that need a server), and every file under `assets/`,
/// as (path in the site's folder, bytes).
pub fn static_site() -> Vec<(String, Vec<u8>)> {
    all()
        .iter()
        .map(|a| match a.path {
            "" => {
                let page = String::from_utf8_lossy(a.bytes);
                let marked =
                    page.replacen("<html lang=\"en\">", "<html lang=\"en\" data-static>", 1);
                ("index.html".to_string(), marked.into_bytes())
            }
            path => (format!("assets/{path}"), a.bytes.to_vec()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_site_is_marked_and_holds_the_private_mode() {
        let site = static_site();
        let page = &site.iter().find(|(p, _)| p == "index.html").unwrap().1;
        assert!(String::from_utf8_lossy(page).contains("<html lang=\"en\" data-static>"));
        for file in [
            "assets/app.js",
            "assets/private/worker.js",
            "assets/private/ferrite.wasm",
        ] {
            assert!(site.iter().any(|(p, _)| p == file), "{file}");
        }
        let wasm = &site.iter().find(|(p, _)| p.ends_with(".wasm")).unwrap().1;
        assert_eq!(&wasm[..4], b"\0asm", "a WebAssembly module");
    }

    /// The budget: the module and the model it loads, at most 5 MB together.
    #[test]
    fn the_private_mode_fits_its_size_budget() {
        let private: usize = all()
            .iter()
            .filter(|a| a.path.starts_with("private/"))
            .map(|a| a.bytes.len())
            .sum();
        assert!(private <= 5_000_000, "{private} bytes");
    }

    #[test]
    fn a_current_copy_is_not_sent_again() {
        let first = serve("private/ferrite.wasm", &HeaderMap::new());
        assert_eq!(first.status(), StatusCode::OK);
        let tag = first.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(
            serve("private/ferrite.wasm", &again).status(),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(serve("no/such", &again).status(), StatusCode::NOT_FOUND);
    }
}
