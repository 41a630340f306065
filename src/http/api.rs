//! JSON handlers of `/api/v1`. Each is thin: parse, call the service, shape the answer.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::stream::Stream;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{lang_of, stated_lang, AppError, State};
use crate::domain::waybill;
use crate::i18n;
use crate::imports;
use crate::storage;

type Q = Query<HashMap<String, String>>;

fn lang(q: &Q, h: &HeaderMap) -> i18n::Lang {
    lang_of(q.get("lang").map(String::as_str), h)
}

pub async fn health(AxState(app): AxState<State>) -> Json<Value> {
    Json(
        json!({ "status": "ok", "uptime_s": app.uptime().as_secs(), "catalog_items": app.catalog().len() }),
    )
}

pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

pub async fn stations(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let mut out = Vec::new();
    for id in app.station_ids() {
        out.push(app.station_view(&id, lang).await?);
    }
    Ok(Json(json!({ "stations": out })))
}

pub async fn station(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.station_view(&station, lang(&q, &h)).await?))
}

/// Server-sent events: the station's whole view, again after every change.
pub async fn station_stream(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, AppError> {
    let lang = lang(&q, &h);
    let rx = app.subscribe(&station)?;
    let first = app.station_view(&station, lang).await?;
    let stream = futures_util::stream::unfold(
        (app, station, rx, Some(first)),
        move |(app, station, mut rx, first)| async move {
            if let Some(v) = first {
                return Some((
                    Ok(SseEvent::default().event("station").data(v.to_string())),
                    (app, station, rx, None),
                ));
            }
            match rx.recv().await {
                Ok(()) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Coalesce a burst of changes into one update.
                    while rx.try_recv().is_ok() {}
                    let v = app.station_view(&station, lang).await.ok()?;
                    Some((
                        Ok(SseEvent::default().event("station").data(v.to_string())),
                        (app, station, rx, None),
                    ))
                }
                Err(_) => None,
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[derive(Deserialize)]
pub struct ScanBody {
    code: String,
}

pub async fn scan(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(body): Json<ScanBody>,
) -> Result<Json<Value>, AppError> {
    let o = app.scan(&station, &body.code, lang(&q, &h)).await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct WeightBody {
    grams: i64,
    #[serde(default)]
    stable: bool,
}

pub async fn weight(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(body): Json<WeightBody>,
) -> Result<Json<Value>, AppError> {
    let o = app
        .weight(
            &station,
            body.grams,
            body.stable,
            stated_lang(q.get("lang").map(String::as_str), &h),
        )
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct BadgeBody {
    badge: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    station: Option<String>,
}

pub async fn override_weight(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Json<Value>, AppError> {
    let o = app
        .override_weight(&station, b.badge.trim(), &b.reason, lang(&q, &h))
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

pub async fn cancel(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let o = app.cancel_pack(&station, lang(&q, &h)).await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

pub async fn sign_out(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let o = app.sign_out(&station, lang(&q, &h)).await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

pub async fn reprint(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Json<Value>, AppError> {
    let o = app
        .reprint(&waybill, b.badge.trim(), b.station.as_deref(), lang(&q, &h))
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

pub async fn void(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Json<Value>, AppError> {
    let o = app
        .void(&waybill, b.badge.trim(), &b.reason, lang(&q, &h))
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize, Default)]
pub struct PrintBody {
    /// A `[[printers]]` id or a station id; the station's own printer when absent.
    #[serde(default)]
    printer: Option<String>,
}

/// Sends the station's last label that did not print again, to its printer or another.
/// No manager is needed: the label never came out, so this is no duplicate.
pub async fn retry_print(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    body: Option<Json<PrintBody>>,
) -> Result<Json<Value>, AppError> {
    let printer = body.and_then(|Json(b)| b.printer);
    let o = app
        .retry_print(&station, printer.as_deref(), lang(&q, &h))
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct SimScale {
    grams: i64,
}

/// Demo: put a parcel of `grams` on the simulated scale. Like a real scale it reports a few
/// readings in motion before it settles, so the page shows the weight moving.
pub async fn sim_scale(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<SimScale>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let cfg = app
        .config
        .station(&station)
        .ok_or_else(|| AppError::not_found(format!("no station `{station}`")))?;
    let lang = lang(&q, &h);
    // A simulated serial scale: the frames go through the pty and the real driver.
    if let Some(sim) = app.running.get().and_then(|r| r.scale_sim(&station)) {
        tokio::spawn(async move {
            for g in [b.grams * 6 / 10, b.grams * 11 / 10, b.grams - 7] {
                sim.set_grams(g);
                sim.set_motion(true);
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            // Settled.
            sim.set_grams(b.grams);
        });
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({ "placed_grams": b.grams })),
        ));
    }
    if cfg.scale != "sim" {
        return Err(AppError::bad_request(
            "not_simulated",
            i18n::t(lang, "error.not_simulated"),
        ));
    }
    let app2 = app.clone();
    tokio::spawn(async move {
        let wobble = [b.grams * 6 / 10, b.grams * 11 / 10, b.grams - 7];
        for g in wobble {
            if app2.weight(&station, g, false, Some(lang)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let _ = app2.weight(&station, b.grams, true, Some(lang)).await;
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "placed_grams": b.grams })),
    ))
}

/// Demo: a code read by the station's simulated serial scanner.
pub async fn sim_scan(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(body): Json<ScanBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    if !app.demo {
        return Err(AppError::bad_request(
            "not_simulated",
            i18n::t(lang, "error.not_simulated"),
        ));
    }
    // A simulated serial scanner: the code goes through the pty and the real driver, and
    // the verdict reaches the page over its live feed.
    if let Some(sim) = app.running.get().and_then(|r| r.scanner_sim(&station)) {
        let typed = sim
            .lock()
            .map_err(|_| AppError::internal("the scanner simulator failed"))?
            .type_code(&body.code);
        typed.map_err(|e| AppError::internal(format!("the scanner simulator: {e}")))?;
        return Ok(Json(json!({ "typed": body.code })));
    }
    // A serial scanner ends each code with CR, as the profiles program it to.
    let o = app
        .scan(&station, &format!("{}\r", body.code), lang)
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

pub async fn orders(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let status = q.get("status").cloned();
    if let Some(s) = status.as_deref() {
        if !matches!(s, "ready" | "hold" | "packing" | "packed") {
            return Err(AppError::bad_request(
                "bad_status",
                format!("status `{s}` is not one of ready, hold, packing, packed"),
            ));
        }
    }
    let limit: i64 = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(500)
        .clamp(1, 10_000);
    let rows = app
        .db
        .read(move |c| storage::list_orders(c, status.as_deref(), limit))
        .await?;
    Ok(Json(json!({ "orders": rows })))
}

pub async fn order(
    AxState(app): AxState<State>,
    Path(order_no): Path<String>,
) -> Result<Json<Value>, AppError> {
    let no = order_no.clone();
    let o = app
        .db
        .read(move |c| storage::get_order(c, &no))
        .await?
        .ok_or_else(|| AppError::not_found(format!("order {order_no}")))?;
    let no = order_no.clone();
    let (history, exchanges) = app
        .db
        .read(move |c| {
            Ok((
                storage::returns::order_history(c, &no)?,
                storage::returns::exchanges_of(c, &no)?,
            ))
        })
        .await?;
    let catalog = app.catalog();
    let lines: Vec<Value> = o
        .record
        .lines
        .iter()
        .map(|l| {
            let item = catalog.item(&l.sku);
            json!({ "sku": l.sku, "qty": l.qty,
                    "name": item.map(|i| i.name.clone()).unwrap_or_default(),
                    "option": item.map(|i| i.option.clone()).unwrap_or_default(),
                    "barcodes": item.map(|i| i.barcodes.clone()).unwrap_or_default(),
                    "unit_weight_g": item.map(|i| i.unit_weight_g),
                    "location": item.map(|i| i.location.clone()).unwrap_or_default() })
        })
        .collect();
    let r = &o.record;
    Ok(Json(json!({
        "order_no": r.order_no, "channel": r.channel, "paid_at": r.paid_at,
        "recipient_name": r.recipient_name, "recipient_phone": r.recipient_phone,
        "address": r.address, "postcode": r.postcode, "note": r.note, "flag": r.flag,
        "preprinted_waybill": r.waybill,
        "status": o.status,
        "waybill": if o.shipped_waybill.is_empty() { Value::Null } else { json!(o.shipped_waybill) },
        "courier": if o.shipped_courier.is_empty() { Value::Null } else { json!(o.shipped_courier) },
        "lines": lines,
        "history": history, "exchanges": exchanges,
    })))
}

pub async fn shipment(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
) -> Result<Json<Value>, AppError> {
    let wb = waybill.clone();
    let (s, events) = app
        .db
        .read(move |c| {
            let Some(s) = storage::get_shipment(c, &wb)? else {
                return Ok(None);
            };
            let ev = storage::shipment_events(c, s.pack_id, &s.waybill)?;
            Ok(Some((s, ev)))
        })
        .await?
        .ok_or_else(|| AppError::not_found(format!("shipment {waybill}")))?;
    let mut v = serde_json::to_value(&s).unwrap_or_default();
    v["order_no"] = json!(s.order_nos.first());
    v["orders"] = json!(s.order_nos);
    v["events"] = json!(events);
    super::archive::extend_shipment(&app, &mut v).await?;
    Ok(Json(v))
}

/// `GET /api/v1/shipments/{waybill}/label?format=zpl|tspl|pdf|png`: the label exactly as
/// printed (reprints, previews, claims).
pub async fn label(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
    q: Q,
) -> Result<Response, AppError> {
    let format: crate::labels::Format = q
        .get("format")
        .map(String::as_str)
        .unwrap_or("zpl")
        .parse()
        .map_err(|e: String| AppError::bad_request("bad_format", e))?;
    let bytes = app.label(&waybill, format).await?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes).into_response())
}

pub async fn events(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let station = q.get("station").cloned();
    let after: i64 = q.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: i64 = q
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
        .clamp(1, 100_000);
    let ev = app
        .db
        .read(move |c| storage::list_events(c, station.as_deref(), after, limit))
        .await?;
    Ok(Json(json!({ "events": ev })))
}

pub async fn waybill_check(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let courier = q.get("courier").cloned().unwrap_or_default();
    let number = q.get("number").cloned().unwrap_or_default();
    let rule = waybill::rule(&app.rules, &courier)
        .ok_or_else(|| {
            AppError::bad_request("unknown_courier", format!("unknown courier `{courier}`"))
        })?
        .clone();
    let result = crate::waybills::check_one(&app.db, &rule, &number).await?;
    Ok(Json(serde_json::to_value(result).unwrap_or_default()))
}

/// Today's counts for the manager page: packed per station, pending, held.
pub async fn summary(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(super::pages::summary_json(&app).await?))
}

/// `POST /api/v1/import/catalog|orders?filename=F&channel=C` with the file as the body.
/// A manager badge is required (`X-Badge` header or `badge` query parameter).
pub async fn import(
    AxState(app): AxState<State>,
    Path(kind): Path<String>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let badge = h
        .get("x-badge")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("badge").cloned())
        .unwrap_or_default();
    if !app
        .config
        .operator(badge.trim())
        .is_some_and(|o| o.role == crate::config::Role::Manager)
    {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "manager_required",
            i18n::t(lang, "refusal.manager_required"),
        ));
    }
    let name = q
        .get("filename")
        .cloned()
        .unwrap_or_else(|| format!("upload.{kind}.csv"));
    let summary = match kind.as_str() {
        "catalog" => {
            let items = imports::read_catalog(&name, &body).map_err(import_error)?;
            app.import_catalog(items).await?
        }
        "orders" => {
            let channel = match q.get("channel") {
                Some(c) => Some(imports::Channel::parse(c).ok_or_else(|| {
                    AppError::bad_request("unknown_channel", format!("unknown channel `{c}`"))
                })?),
                None => None,
            };
            let tz = app.config.warehouse.timezone.clone();
            let known = |sku: &str| app.knows_sku(sku);
            let orders =
                imports::read_orders(&name, &body, channel, &tz, &known).map_err(import_error)?;
            app.import_orders(orders).await?
        }
        "shipments" => {
            let out = app
                .import_shipments(&name, &body, badge.trim())
                .await?
                .map_err(import_error)?;
            return Ok(Json(json!({ "imported": out })));
        }
        other => {
            return Err(AppError::not_found(format!(
                "no import of `{other}` (catalog, orders or shipments)"
            )))
        }
    };
    Ok(Json(json!({ "imported": summary })))
}

fn import_error(e: imports::ImportError) -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_refused",
        e.to_string(),
    )
    .with_detail(json!({ "problems": e.problems }))
}
