//! Who may talk to the server, checked on every request before any handler runs, the way
//! Jupyter does it: the Host header must name this machine when the server listens on a
//! loopback address (a page on another site that rebinds its DNS name to 127.0.0.1 sends its
//! own name and is refused); a request from another origin's page is refused unless
//! `--allow-origin` names that origin; and with an access token, every request must carry it
//! (`Authorization: Bearer`, `?token=`, or the cookie that a `?token=` URL sets).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// The cookie that carries the access token after a `?token=` URL was opened.
pub const TOKEN_COOKIE: &str = "ferrite_token";

/// The access rules of a server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// Accept only Host headers that name this machine (`localhost`, `*.localhost`, 127.x.x.x,
    /// `::1`): on for a server bound to a loopback address.
    pub loopback_hosts_only: bool,
    /// Origins (`scheme://host[:port]`) whose pages may call the server cross-origin.
    pub allowed_origins: Vec<String>,
    /// The token every request must carry, if set.
    pub token: Option<String>,
}

impl AccessPolicy {
    /// The rules for a server on a loopback address with no token and no other origins.
    pub fn loopback() -> AccessPolicy {
        AccessPolicy {
            loopback_hosts_only: true,
            ..AccessPolicy::default()
        }
    }
}

/// A random access token: 128 bits from the operating system, as 32 hex digits.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Middleware: refuses what the policy does not allow, answers CORS preflights of allowed
/// origins, and marks allowed cross-origin answers.
pub async fn check(
    State(policy): State<Arc<AccessPolicy>>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let host = header_text(headers, header::HOST).unwrap_or_default();
    if policy.loopback_hosts_only && !is_loopback_host(&host) {
        return refused(
            StatusCode::FORBIDDEN,
            format!(
                "Host `{host}` is not this machine: refused (a page on another site may be \
                 reaching this server through its DNS name); open http://127.0.0.1:PORT/"
            ),
        );
    }
    let cross_origin = match header_text(headers, header::ORIGIN) {
        Some(origin) if !is_same_origin(&origin, &host) => {
            if !policy.allowed_origins.contains(&origin) {
                return refused(
                    StatusCode::FORBIDDEN,
                    format!(
                        "a request from a page of {origin} was refused; start the server \
                         with --allow-origin {origin} to allow that site"
                    ),
                );
            }
            Some(origin)
        }
        _ => None,
    };
    if let (Some(origin), &Method::OPTIONS) = (&cross_origin, request.method()) {
        return with_cors(StatusCode::NO_CONTENT.into_response(), origin);
    }
    let mut set_cookie = false;
    if let Some(token) = &policy.token {
        match presented_token(&request, token) {
            Presented::Valid { from_query } => set_cookie = from_query,
            Presented::Missing => {
                return refused(
                    StatusCode::UNAUTHORIZED,
                    "this server needs its access token: open the URL it printed \
                     (ending in ?token=...), or send `Authorization: Bearer TOKEN`"
                        .into(),
                )
            }
        }
    }
    let mut response = next.run(request).await;
    if set_cookie {
        let token = policy.token.as_deref().unwrap_or_default();
        let cookie = format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    match cross_origin {
        Some(origin) => with_cors(response, &origin),
        None => response,
    }
}

fn refused(status: StatusCode, message: String) -> Response {
    ApiError { status, message }.into_response()
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers.get(name)?.to_str().ok().map(str::to_string)
}

/// The host part of a Host header (`[::1]:8080` -> `::1`, `localhost:8080` -> `localhost`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    host.rsplit_once(':').map_or(host, |(name, _port)| name)
}

/// Whether a Host header names this machine.
fn is_loopback_host(host: &str) -> bool {
    let name = host_name(host).to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `origin` (`http://host:port`) is the origin the request was sent to.
fn is_same_origin(origin: &str, host: &str) -> bool {
    ["http://", "https://"]
        .iter()
        .any(|scheme| origin.strip_prefix(scheme) == Some(host))
}

fn with_cors(mut response: Response, origin: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}

enum Presented {
    Valid { from_query: bool },
    Missing,
}

/// Whether the request carries `token` (compared in constant time), and where.
fn presented_token(request: &Request, token: &str) -> Presented {
    let headers = request.headers();
    let bearer = header_text(headers, header::AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string));
    let cookie = header_text(headers, header::COOKIE).and_then(|cookies| {
        cookies.split(';').find_map(|c| {
            c.trim()
                .strip_prefix(TOKEN_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
    });
    let query = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .map(str::to_string)
    });
    if [&bearer, &cookie]
        .into_iter()
        .flatten()
        .any(|t| same(t, token))
    {
        Presented::Valid { from_query: false }
    } else if query.is_some_and(|t| same(&t, token)) {
        Presented::Valid { from_query: true }
    } else {
        Presented::Missing
    }
}

/// Equality that takes the same time wherever the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_this_machine_and_others_are_not() {
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:8080",
            "app.localhost:9",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example.com",
            "evil.example.com:8080",
            "192.168.1.5:8080",
            "localhost.evil.com",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn same_origin_compares_the_whole_host() {
        assert!(is_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!is_same_origin("http://127.0.0.1:9999", "127.0.0.1:8080"));
        assert!(!is_same_origin("http://evil.com", "127.0.0.1:8080"));
    }

    #[test]
    fn tokens_are_long_random_and_compared_whole() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b) && !same(&a, &a[..31]));
    }
}
