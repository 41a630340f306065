//! The HTTP face: the JSON API under `/api/v1` and the server-rendered pages. Routes are
//! grouped by who calls them (benches, managers, everyone). `app(state)` builds the router so
//! tests can call it without a socket; `serve` binds it.

mod api;
mod day;
mod error;
mod handover;
mod pages;
mod returns;
mod stock;
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
        .merge(day::routes())
        .with_state(state)
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
