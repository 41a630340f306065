//! The HTTP face: the JSON API under `/api/v1` and the server-rendered pages. Routes are
//! grouped by who calls them (benches, managers, everyone). `app(state)` builds the router so
//! tests can call it without a socket; `serve` binds it.

mod api;
mod archive;
mod bills;
mod camera;
mod claims;
mod day;
mod error;
mod handover;
mod pages;
mod returns;
mod stock;
mod stocktake;
mod waves;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;

use crate::i18n::Lang;
use crate::service::App;

pub use error::AppError;

pub type State = Arc<App>;

pub fn app(state: State) -> Router {
    let bench = Router::new()
        .route("/api/v1/stations", get(api::stations))
        .route("/api/v1/stations/{station}", get(api::station))
        .route(
            "/api/v1/stations/{station}/stream",
            get(api::station_stream),
        )
        .route("/api/v1/stations/{station}/scan", post(api::scan))
        .route("/api/v1/stations/{station}/weight", post(api::weight))
        .route("/api/v1/stations/{station}/cancel", post(api::cancel))
        .route("/api/v1/stations/{station}/signout", post(api::sign_out))
        .route(
            "/api/v1/stations/{station}/retry-print",
            post(api::retry_print),
        )
        .route("/api/v1/stations/{station}/sim/scale", post(api::sim_scale))
        .route("/api/v1/stations/{station}/sim/scan", post(api::sim_scan));
    let manager = Router::new()
        .route(
            "/api/v1/stations/{station}/override",
            post(api::override_weight),
        )
        .route("/api/v1/shipments/{waybill}/reprint", post(api::reprint))
        .route("/api/v1/shipments/{waybill}/void", post(api::void))
        .route("/api/v1/import/{kind}", post(api::import));
    let read = Router::new()
        .route("/api/v1/health", get(api::health))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/orders", get(api::orders))
        .route("/api/v1/orders/{order_no}", get(api::order))
        .route("/api/v1/shipments/{waybill}", get(api::shipment))
        .route("/api/v1/shipments/{waybill}/label", get(api::label))
        .route("/api/v1/events", get(api::events))
        .route("/api/v1/waybills/check", get(api::waybill_check))
        .route("/api/v1/summary", get(api::summary));
    let pages = Router::new()
        .route("/", get(pages::start))
        .route("/bench/{station}", get(pages::bench))
        .route("/manager", get(pages::manager))
        .route("/manager/throughput.svg", get(pages::throughput_svg));
    bench
        .merge(manager)
        .merge(read)
        .merge(pages)
        .merge(stock::routes())
        .merge(waves::routes())
        .merge(handover::routes())
        .merge(returns::routes())
        .merge(bills::routes())
        .merge(camera::routes())
        .merge(claims::routes())
        .merge(day::routes())
        .merge(stocktake::routes())
        .merge(archive::routes())
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
        .layer(axum::middleware::from_fn(too_large_as_json))
        .with_state(state)
}

/// The largest request body: a marketplace export or a bill of a busy month, or a photo
/// (which the returns workflow caps lower itself, with its own message).
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// A body over [`UPLOAD_LIMIT`] is refused before any handler sees it; the refusal is made
/// the same JSON error as every other, in the request's language.
async fn too_large_as_json(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let lang = lang_of(
        req.uri()
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang="))),
        req.headers(),
    );
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if res.status() != axum::http::StatusCode::PAYLOAD_TOO_LARGE || is_json {
        return res;
    }
    AppError::new(
        axum::http::StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        crate::i18n::tf(
            lang,
            "error.too_large",
            &[("mb", &(UPLOAD_LIMIT >> 20).to_string())],
        ),
    )
    .into_response()
}

/// The language of a request: `?lang=`, then the `lang` cookie, then `Accept-Language`,
/// then English.
pub fn lang_of(query: Option<&str>, headers: &HeaderMap) -> Lang {
    stated_lang(query, headers).unwrap_or_default()
}

/// The language a request asks for, if it says one at all (a scale adapter posting readings
/// usually does not; its verdicts then speak the language of the station's page).
pub fn stated_lang(query: Option<&str>, headers: &HeaderMap) -> Option<Lang> {
    if let Some(l) = query.and_then(Lang::parse) {
        return Some(l);
    }
    let cookie = headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for part in cookie.split(';') {
        if let Some(v) = part.trim().strip_prefix("lang=") {
            if let Some(l) = Lang::parse(v) {
                return Some(l);
            }
        }
    }
    headers
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
}

/// Binds the router and serves until the process ends.
pub async fn serve(state: State, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(no_delay(listener), app(state)).await
}

/// Every accepted connection with `TCP_NODELAY`: a verdict pushed on a bench's live feed is
/// a few small writes, and with Nagle's algorithm one in seven or so waited for the browser's
/// delayed ACK (`packbench bench --scale`: p99 22 ms without, 5 to 8 ms with).
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> axum::serve::TapIo<
    tokio::net::TcpListener,
    impl FnMut(&mut tokio::net::TcpStream) + Send + 'static,
> {
    use axum::serve::ListenerExt;
    listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY on a connection");
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The routing functions a method router is built from, and the OpenAPI operation each
    /// stands for.
    const METHODS: [&str; 8] = [
        "get", "post", "put", "delete", "patch", "head", "options", "trace",
    ];

    /// The text from `open` (just after an opening parenthesis) to its matching closing
    /// parenthesis, skipping string literals.
    fn balanced(s: &str, open: usize) -> &str {
        let b = s.as_bytes();
        let (mut depth, mut i, mut in_str) = (1usize, open, false);
        while i < b.len() {
            match b[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'(' if !in_str => depth += 1,
                b')' if !in_str => {
                    depth -= 1;
                    if depth == 0 {
                        return &s[open..i];
                    }
                }
                _ => {}
            }
            i += 1;
        }
        panic!("unbalanced parentheses after byte {open}");
    }

    /// The routing functions called at the top level of a method router expression such as
    /// `get(a).post(b)` or `axum::routing::put(c)`.
    fn methods_of(expr: &str) -> Vec<String> {
        let b = expr.as_bytes();
        let (mut out, mut depth, mut i, mut in_str) = (Vec::new(), 0usize, 0, false);
        while i < b.len() {
            match b[i] {
                b'\\' if in_str => i += 1,
                b'"' => in_str = !in_str,
                b'(' if !in_str => {
                    if depth == 0 {
                        let start = expr[..i]
                            .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                            .map_or(0, |p| p + 1);
                        out.push(expr[start..i].to_string());
                    }
                    depth += 1;
                }
                b')' if !in_str => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        out
    }

    /// Every `(path, method)` routed under `/api/` in one router file's source (its test
    /// module and whole-line comments left out).
    fn api_routes(file: &str, src: &str) -> Vec<(String, String)> {
        let code = src.split("#[cfg(test)]").next().unwrap_or("");
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !code.contains(".nest("),
            "{file}: nested routers are not understood by this test; teach it the prefix"
        );
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(p) = code[from..].find(".route(") {
            let open = from + p + ".route(".len();
            let args = balanced(&code, open);
            from = open + args.len();
            let args = args.trim_start();
            let Some(rest) = args.strip_prefix('"') else {
                panic!("{file}: a route whose path is not a string literal: {args}");
            };
            let end = rest.find('"').expect("unterminated path");
            let path = &rest[..end];
            if !path.starts_with("/api/") {
                continue;
            }
            let expr = rest[end + 1..].trim_start();
            let expr = expr.strip_prefix(',').unwrap_or(expr);
            let methods = methods_of(expr);
            assert!(!methods.is_empty(), "{file}: no method for {path}");
            for m in methods {
                assert!(
                    METHODS.contains(&m.as_str()),
                    "{file}: `{m}(..)` on {path} is not a method this test knows"
                );
                out.push((path.to_string(), m));
            }
        }
        out
    }

    #[test]
    fn every_api_route_is_in_openapi() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
        let mut routes = BTreeSet::new();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        for f in &files {
            let src = std::fs::read_to_string(f).unwrap();
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            routes.extend(api_routes(&name, &src));
        }
        // The reader must see the routes it is meant to check, in every form they take.
        for want in [
            ("/api/v1/health", "get"),
            ("/api/v1/stations/{station}/stream", "get"),
            ("/api/v1/bins", "post"),
            ("/api/v1/returns", "get"),
            ("/api/v1/returns", "post"),
        ] {
            assert!(
                routes.contains(&(want.0.to_string(), want.1.to_string())),
                "the route reader missed {want:?}"
            );
        }
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("openapi.json")).unwrap())
                .expect("openapi.json is valid JSON");
        let missing: Vec<String> = routes
            .iter()
            .filter(|(path, m)| doc["paths"][path.as_str()][m.as_str()].is_null())
            .map(|(path, m)| format!("{} {path}", m.to_uppercase()))
            .collect();
        assert!(
            missing.is_empty(),
            "{} routed /api/ operation(s) missing from src/http/openapi.json:\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }
}
