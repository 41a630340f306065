//! HTTP handlers and pages of the returns workflow: open a returned parcel by what is
//! scanned on it, inspect its lines (restock, quarantine, claim draft, exchange), photos,
//! claim drafts; the returns bench page and the manager's list.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::esc;
use super::stock::{field, frame, lang, operator};
use super::{AppError, State};
use crate::i18n::{self, Lang};
use crate::storage::returns::{self as rs, Inspection};

type Q = axum::extract::Query<std::collections::HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/returns", get(list).post(open))
        .route("/api/v1/returns/{id}", get(view))
        .route("/api/v1/returns/{id}/lines", post(inspect))
        .route("/api/v1/returns/{id}/photos", post(photo_upload))
        .route("/api/v1/returns/{id}/close", post(close))
        .route("/api/v1/photos/{sha}", get(photo))
        .route("/api/v1/claims", get(claims))
        .route("/returns", get(bench_page))
        .route("/manager/returns", get(manager_page))
}

#[derive(Deserialize)]
struct OpenBody {
    #[serde(default)]
    badge: String,
    code: String,
    #[serde(default)]
    return_waybill: String,
    #[serde(default)]
    station: String,
}

async fn open(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<OpenBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(
        app.open_return(&b.code, &b.return_waybill, &who, &b.station, lang)
            .await?,
    ))
}

async fn list(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    Ok(Json(app.list_returns(q.get("status").cloned()).await?))
}

async fn view(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.return_view(id, lang(&q, &h)).await?))
}

#[derive(Deserialize)]
struct InspectBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    station: String,
    #[serde(flatten)]
    line: Inspection,
}

async fn inspect(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<InspectBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(
        app.inspect_line(id, &who, &b.station, b.line, lang).await?,
    ))
}

/// `POST /api/v1/returns/{id}/photos?badge=B` with the image as the body.
async fn photo_upload(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
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
    let who = operator(&app, &badge, lang)?;
    Ok(Json(app.save_photo(id, body.to_vec(), &who, lang).await?))
}

#[derive(Deserialize)]
struct BadgeBody {
    #[serde(default)]
    badge: String,
}

async fn close(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(app.close_return(id, &who, lang).await?))
}

async fn photo(
    AxState(app): AxState<State>,
    Path(sha): Path<String>,
) -> Result<Response, AppError> {
    let (bytes, ct) = app.photo(&sha).await?;
    Ok(([(header::CONTENT_TYPE, ct)], bytes).into_response())
}

async fn claims(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let wb = q.get("waybill").cloned();
    let list = app
        .db
        .read(move |c| rs::claim_drafts(c, wb.as_deref()))
        .await?;
    Ok(Json(json!({ "claims": list })))
}

// ----- pages ---------------------------------------------------------------------------------

fn options(lang: Lang, prefix: &str, values: &[&str]) -> String {
    values
        .iter()
        .map(|v| {
            format!(
                "<option value=\"{v}\">{}</option>",
                esc(&i18n::t(
                    lang,
                    &format!("{prefix}.{}", if v.is_empty() { "none" } else { v })
                ))
            )
        })
        .collect()
}

/// The returns bench: scan a parcel, then one form per line to inspect it.
async fn bench_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let scan = format!(
        "<form data-api=\"/api/v1/returns\" data-next=\"/returns?id={{id}}\">{}{}{}<button>{}</button></form>",
        field(lang, "stock.col.badge", "badge", "required"),
        field(lang, "returns.scan_parcel", "code", "required autofocus autocomplete=\"off\""),
        field(lang, "returns.return_waybill", "return_waybill", ""),
        t("returns.open"),
    );
    let mut body = scan;
    if let Some(id) = q.get("id").and_then(|i| i.parse::<i64>().ok()) {
        let v = app.return_view(id, lang).await?;
        let r = &v["return"];
        let open = r["status"] == "open";
        body.push_str(&format!(
            "<h2>{} · {} {} · {}</h2>",
            esc(r["number"].as_str().unwrap_or("")),
            esc(v["courier"].as_str().unwrap_or("")),
            esc(r["waybill"].as_str().unwrap_or("")),
            esc(&i18n::t(
                lang,
                &format!("stock.status.{}", r["status"].as_str().unwrap_or(""))
            ))
        ));
        for o in v["orders"].as_array().into_iter().flatten() {
            let no = o["order_no"].as_str().unwrap_or("");
            let flag = o["flag"].as_str().unwrap_or("none");
            body.push_str(&format!(
                "<h3 class=\"flag-{flag}\">{} <span class=\"muted\">{}</span></h3>",
                esc(no),
                esc(&i18n::t(lang, &format!("returns.flag.{flag}")))
            ));
            for l in o["lines"].as_array().into_iter().flatten() {
                let sku = l["sku"].as_str().unwrap_or("");
                let left = l["qty"].as_i64().unwrap_or(0) - l["returned"].as_i64().unwrap_or(0);
                body.push_str(&format!(
                    "<p><b>{}</b> {} {} — {}</p>",
                    esc(sku),
                    esc(l["name"].as_str().unwrap_or("")),
                    esc(l["option"].as_str().unwrap_or("")),
                    esc(&i18n::tf(
                        lang,
                        "returns.line_counts",
                        &[
                            ("qty", &l["qty"].to_string()),
                            ("returned", &l["returned"].to_string())
                        ]
                    ))
                ));
                if open && left > 0 {
                    body.push_str(&format!(
                        "<form data-api=\"/api/v1/returns/{id}/lines\"><input type=\"hidden\" name=\"order_no\" value=\"{}\">\
                         <input type=\"hidden\" name=\"sku\" value=\"{}\">{}{}\
                         <label>{}<select name=\"condition\">{}</select></label>{}{}\
                         <label>{}<select name=\"fault\">{}</select></label>\
                         <label>{}<input name=\"photos\" data-list></label><button>{}</button></form>",
                        esc(no),
                        esc(sku),
                        field(lang, "stock.col.badge", "badge", "required"),
                        field(lang, "stock.col.qty", "qty", &format!("type=\"number\" min=\"1\" max=\"{left}\" value=\"1\" data-num")),
                        t("returns.condition"),
                        options(lang, "returns.condition_of", &["good", "damaged", "wrong"]),
                        field(lang, "stock.col.bin", "bin", &format!("placeholder=\"{}\"", esc(l["home_bin"].as_str().unwrap_or("")))),
                        field(lang, "stock.col.reason", "reason", ""),
                        t("returns.fault"),
                        options(lang, "returns.fault_of", &["", "courier", "customer", "packing", "supplier"]),
                        t("returns.photos"),
                        t("returns.inspect"),
                    ));
                }
            }
        }
        let inspected: String = v["inspected"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                let photos: String = l["photos"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(|p| format!("<a href=\"/api/v1/photos/{p}\">📷</a>", p = esc(p)))
                    .collect();
                format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{photos}</td></tr>",
                    esc(l["order_no"].as_str().unwrap_or("")),
                    esc(l["sku"].as_str().unwrap_or("")),
                    l["qty"],
                    esc(&i18n::t(lang, &format!("returns.condition_of.{}", l["condition"].as_str().unwrap_or("")))),
                    esc(l["bin"].as_str().unwrap_or("")),
                    esc(l["reason"].as_str().unwrap_or("")),
                    esc(l["exchange_order"].as_str().unwrap_or("")),
                )
            })
            .collect();
        body.push_str(&format!(
            "<h2>{}</h2><table><tr><th>{}</th><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{inspected}</table>",
            t("returns.inspected"),
            t("returns.order"),
            t("stock.col.qty"),
            t("returns.condition"),
            t("stock.col.bin"),
            t("stock.col.reason"),
            t("returns.exchange_order"),
            t("returns.photos"),
        ));
        if open {
            body.push_str(&format!(
                "<h2>{}</h2><form id=\"ph\">{}<input type=\"file\" name=\"file\" accept=\"image/*\" capture=\"environment\"><button>{}</button></form>\
                 <form data-api=\"/api/v1/returns/{id}/close\">{}<button>{}</button></form>\
                 <script>document.getElementById('ph').addEventListener('submit', async function (e) {{
                   e.preventDefault(); var f = e.target; var file = f.file.files[0]; if (!file) return;
                   var r = await fetch('/api/v1/returns/{id}/photos?badge=' + encodeURIComponent(f.badge.value), {{ method: 'POST', body: file }});
                   var v = await r.json(); var o = document.getElementById('out');
                   o.textContent = v.photo || v.message; o.className = r.ok ? 'ok' : 'bad';
                   if (r.ok) document.querySelectorAll('input[name=photos]').forEach(function (i) {{ i.value = (i.value ? i.value + ' ' : '') + v.photo; }});
                 }});</script>",
                t("returns.photos"),
                field(lang, "stock.col.badge", "badge", "required"),
                t("returns.upload"),
                field(lang, "stock.col.badge", "badge", "required"),
                t("returns.close"),
            ));
        }
    }
    Ok(frame(lang, &i18n::t(lang, "returns.title"), &body))
}

/// Returns waiting for inspection, closed ones and the claim drafts.
async fn manager_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let v = app.list_returns(None).await?;
    let rows: String = v["returns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "<tr><td><a href=\"/returns?id={}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r["id"],
                esc(r["number"].as_str().unwrap_or("")),
                esc(r["waybill"].as_str().unwrap_or("")),
                esc(&i18n::t(lang, &format!("stock.status.{}", r["status"].as_str().unwrap_or("")))),
                esc(r["opened_at"].as_str().unwrap_or("")),
                esc(r["opened_by"].as_str().unwrap_or("")),
            )
        })
        .collect();
    let claims: String = v["claims"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(c["waybill"].as_str().unwrap_or("")),
                esc(c["courier"].as_str().unwrap_or("")),
                esc(c["reason"].as_str().unwrap_or("")),
                c["lines"].as_array().map(Vec::len).unwrap_or(0),
                c["photos"].as_array().map(Vec::len).unwrap_or(0),
                esc(c["created_at"].as_str().unwrap_or("")),
            )
        })
        .collect();
    let body = format!(
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>\
         <h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{claims}</table>",
        t("returns.number"),
        t("returns.waybill"),
        t("stock.col.status"),
        t("stock.col.when"),
        t("stock.col.who"),
        t("returns.claims"),
        t("returns.waybill"),
        t("returns.courier"),
        t("stock.col.reason"),
        t("returns.lines"),
        t("returns.photos"),
        t("stock.col.when"),
    );
    Ok(frame(lang, &i18n::t(lang, "returns.manager_title"), &body))
}
