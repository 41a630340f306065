//! HTTP of the bench camera: stills posted by the bench page (or made for a `sim` station),
//! a manager's override of a wrong label, and a shipment's stills.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use super::{lang_of, AppError, State};
use crate::camera;
use crate::i18n;

type Q = Query<HashMap<String, String>>;

pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/stations/{station}/photos", post(still))
        .route("/api/v1/stations/{station}/photos/simulate", post(simulate))
        .route(
            "/api/v1/stations/{station}/label-check/override",
            post(override_check),
        )
        .route("/api/v1/shipments/{waybill}/photos", get(photos))
}

/// The still as the request body (JPEG or PNG), `?moment=contents|sealed`.
async fn still(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let moment = q.get("moment").cloned().unwrap_or_default();
    let bytes = body.to_vec();
    let read = moment == "sealed";
    let still = tokio::task::spawn_blocking(move || camera::take_in_reading(&bytes, read))
        .await
        .map_err(|e| AppError::bad_request("photo_decode", e.to_string()))?
        .map_err(|e| {
            let msg = i18n::tf(
                lang,
                &format!("camera.error.{}", e.code()),
                &[
                    ("limit_mb", &(camera::STILL_LIMIT / 1024 / 1024).to_string()),
                    ("max", &camera::MAX_SIDE.to_string()),
                ],
            );
            AppError::bad_request(e.code(), &msg)
        })?;
    let o = app.bench_still(&station, &moment, still, lang).await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
struct SimulateBody {
    moment: String,
    #[serde(default)]
    swap: bool,
}

async fn simulate(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(body): Json<SimulateBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let o = app
        .simulated_still(&station, &body.moment, body.swap, lang)
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
struct OverrideBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    reason: String,
}

async fn override_check(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(body): Json<OverrideBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let o = app
        .override_label_check(&station, &body.badge, &body.reason, lang)
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

async fn photos(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.shipment_photos(&waybill).await?))
}
