//! The explorer: a web page for auditors and supervisors, served by every node on its API port
//! under `/explorer/` (and `/` redirects there). Hand-written HTML, CSS and JavaScript built
//! into the binary (`node/assets/explorer/`), so a node needs no other server and the page
//! loads nothing from outside (the departments' network is closed).
//!
//! These routes are unauthenticated: the page holds no data. Every data call the page makes is
//! an ordinary `/v1` request signed in the browser with the key the user loads (HELPERS'
//! request signature), and the page verifies inclusion proofs and checkpoint cosignatures
//! itself with WebCrypto (docs/FORMAT.md §Entry, §Merkle, §Checkpoint).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;

/// Where the explorer is served.
pub const PREFIX: &str = "/explorer/";

const INDEX_HTML: &str = include_str!("../../assets/explorer/index.html");
const APP_JS: &str = include_str!("../../assets/explorer/app.js");
const VERIFY_JS: &str = include_str!("../../assets/explorer/verify.js");
const APP_CSS: &str = include_str!("../../assets/explorer/app.css");

/// Nothing but this origin: no external fonts, scripts, images or connections.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// The explorer's static routes, and `/` redirecting to it.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to(PREFIX) }))
        .route("/explorer", get(|| async { Redirect::to(PREFIX) }))
        .route(
            "/explorer/",
            get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/explorer/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/explorer/verify.js",
            get(|| async { asset("text/javascript; charset=utf-8", VERIFY_JS) }),
        )
        .route(
            "/explorer/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
}
