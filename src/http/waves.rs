//! HTTP handlers and pages of the waves workflow: the JSON API under `/api/v1/waves` (make a
//! wave, read it, its pick list PDF, scan-to-confirm picking, shortages, put-backs) and
//! `/api/v1/orders/{order_no}/cancel`; the manager's pages `/manager/waves` and
//! `/manager/waves/{wave}`, and the picker's page `/pick/{wave}`. Thin: parse, call `App`,
//! shape. Every visible word comes from the message catalogue.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::esc;
use super::{lang_of, AppError, State};
use crate::i18n::{self, Lang};
use crate::service::{App, Outcome};
use crate::storage::waves::WaveView;

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/waves", get(list).post(create))
        .route("/api/v1/waves/{wave}", get(show))
        .route("/api/v1/waves/{wave}/pick-list.pdf", get(pick_list))
        .route("/api/v1/waves/{wave}/scan", post(scan))
        .route("/api/v1/waves/{wave}/short", post(short))
        .route("/api/v1/waves/{wave}/put-back", post(put_back))
        .route("/api/v1/orders/{order_no}/cancel", post(cancel_order))
        .route("/api/v1/orders/{order_no}/release", post(release_hold))
        .route("/manager/waves", get(waves_page))
        .route("/manager/waves/{wave}", get(wave_page))
        .route("/pick/{wave}", get(pick_page))
}

fn lang(q: &Q, h: &HeaderMap) -> Lang {
    lang_of(q.get("lang").map(String::as_str), h)
}

/// A manager action's answer: 200 when done, otherwise the refusal with a status that says
/// what kind of problem it is (and the same body: verdict, code, message).
fn action_answer(o: Outcome) -> Response {
    let status = if o.verdict == "accepted" {
        StatusCode::OK
    } else {
        match o.code.as_str() {
            "manager_required" | "picker_required" => StatusCode::FORBIDDEN,
            "unknown_criterion" | "criterion_needs_value" | "reason_required" => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::CONFLICT,
        }
    };
    (status, Json(serde_json::to_value(o).unwrap_or_default())).into_response()
}

pub async fn list(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let limit = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .clamp(1, 10_000);
    Ok(Json(json!({ "waves": app.waves(limit).await? })))
}

#[derive(Deserialize)]
pub struct CreateBody {
    criterion: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    orders: Vec<String>,
    #[serde(default)]
    badge: String,
}

/// `POST /api/v1/waves {"criterion": "cutoff|channel|courier|evening|orders", "value",
/// "orders", "badge"}`: a manager makes a wave.
pub async fn create(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<CreateBody>,
) -> Result<Response, AppError> {
    let o = app
        .create_wave(
            &b.criterion,
            &b.value,
            &b.orders,
            b.badge.trim(),
            lang(&q, &h),
        )
        .await?;
    Ok(action_answer(o))
}

/// The wave as JSON, its lines with item names.
fn wave_json(app: &App, v: &WaveView) -> Value {
    let catalog = app.catalog();
    let picks: Vec<Value> = v
        .picks
        .iter()
        .map(|p| {
            let mut j = serde_json::to_value(p).unwrap_or_default();
            let item = catalog.item(&p.sku);
            j["name"] = json!(item.map(|i| i.name.as_str()).unwrap_or(""));
            j["option"] = json!(item.map(|i| i.option.as_str()).unwrap_or(""));
            j["barcodes"] = json!(item.map(|i| i.barcodes.clone()).unwrap_or_default());
            j
        })
        .collect();
    let mut j = serde_json::to_value(&v.summary).unwrap_or_default();
    j["order_list"] = json!(v.order_list);
    j["picks"] = json!(picks);
    j["put_back"] = json!(v.put_back);
    j["pick_list"] = json!(format!("/api/v1/waves/{}/pick-list.pdf", v.summary.number));
    j
}

pub async fn show(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
) -> Result<Json<Value>, AppError> {
    let v = app
        .wave(&wave)
        .await?
        .ok_or_else(|| AppError::not_found(format!("wave {wave}")))?;
    Ok(Json(wave_json(&app, &v)))
}

/// `GET /api/v1/waves/{wave}/pick-list.pdf?lang=ko|zh|en`.
pub async fn pick_list(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let pdf = app
        .pick_list_pdf(&wave, lang(&q, &h))
        .await?
        .ok_or_else(|| AppError::not_found(format!("wave {wave}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "inline; filename=\"{}-pick-list.pdf\"",
                    wave.replace('"', "")
                ),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct ScanBody {
    code: String,
    #[serde(default)]
    bin: String,
    #[serde(default)]
    picker: String,
}

/// `POST /api/v1/waves/{wave}/scan {"code", "bin", "picker"}`: answers like a bench scan,
/// `verdict: accepted | refused` with a stable `code`.
pub async fn scan(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ScanBody>,
) -> Result<Json<Value>, AppError> {
    let o = app
        .pick_scan(&wave, &b.code, &b.bin, b.picker.trim(), lang(&q, &h))
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct ShortBody {
    bin: String,
    /// The SKU or one of its barcodes.
    #[serde(alias = "sku")]
    code: String,
    #[serde(default)]
    picker: String,
}

/// `POST /api/v1/waves/{wave}/short {"bin", "sku", "picker"}`: the bin holds fewer units than
/// the list says.
pub async fn short(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ShortBody>,
) -> Result<Json<Value>, AppError> {
    let o = app
        .pick_short(&wave, &b.bin, &b.code, b.picker.trim(), lang(&q, &h))
        .await?;
    Ok(Json(serde_json::to_value(o).unwrap_or_default()))
}

#[derive(Deserialize)]
pub struct PutBackBody {
    order_no: String,
    badge: String,
    /// Another bin to put the goods in (the bins they came from when absent).
    #[serde(default)]
    bin: Option<String>,
}

pub async fn put_back(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<PutBackBody>,
) -> Result<Response, AppError> {
    let o = app
        .put_back(
            &wave,
            b.order_no.trim(),
            b.badge.trim(),
            b.bin.as_deref(),
            lang(&q, &h),
        )
        .await?;
    Ok(action_answer(o))
}

#[derive(Deserialize)]
pub struct CancelBody {
    badge: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/orders/{order_no}/cancel {"badge", "reason"}`: the manager cancels an order.
pub async fn cancel_order(
    AxState(app): AxState<State>,
    Path(order_no): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<CancelBody>,
) -> Result<Response, AppError> {
    let o = app
        .cancel_order(&order_no, b.badge.trim(), &b.reason, lang(&q, &h))
        .await?;
    Ok(action_answer(o))
}

/// `POST /api/v1/orders/{order_no}/release {"badge", "reason"}`: the manager takes an order
/// off hold.
pub async fn release_hold(
    AxState(app): AxState<State>,
    Path(order_no): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<CancelBody>,
) -> Result<Response, AppError> {
    let o = app
        .release_hold(&order_no, b.badge.trim(), &b.reason, lang(&q, &h))
        .await?;
    Ok(action_answer(o))
}

// ----- pages ---------------------------------------------------------------------------

/// The page frame (the same look as the other pages), setting the `lang` cookie.
fn page(lang: Lang, title: &str, path: &str, body: &str, script: &str) -> Response {
    let switch: String = Lang::ALL
        .iter()
        .map(|l| {
            let cur = if *l == lang { " class=\"cur\"" } else { "" };
            format!(
                "<a href=\"{path}?lang={c}\" data-lang=\"{c}\"{cur}>{}</a> ",
                esc(&i18n::t(*l, "lang.name")),
                c = l.code()
            )
        })
        .collect();
    let html = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{css}{own}</style></head><body>\
         <header class=\"top\"><b>{t}</b><a href=\"/manager\">{manager}</a><nav>{switch}</nav></header>\
         <main>{body}</main><script>{script}</script></body></html>",
        l = lang.code(),
        t = esc(title),
        css = include_str!("page.css"),
        own = WAVES_CSS,
        manager = esc(&i18n::t(lang, "start.manager")),
    );
    (
        [(
            header::SET_COOKIE,
            format!("lang={}; Path=/; SameSite=Lax", lang.code()),
        )],
        Html(html),
    )
        .into_response()
}

const WAVES_CSS: &str = "form.wave { display: flex; flex-wrap: wrap; gap: .6em 1.2em; align-items: end; }
form.wave label { display: flex; flex-direction: column; font-size: .9em; color: #444; }
form.wave select, form.wave input, .putback input { font: inherit; padding: .2em .4em; margin-top: .2em; }
#wave-status.good, .msg.good { color: var(--ok); font-weight: bold; } #wave-status.bad, .msg.bad { color: var(--bad); font-weight: bold; }
tr.held td, tr.cancelled td { background: #fff3c4; } tr.done td { background: #c9ecca; } tr.here td { outline: 3px solid #0b57d0; }
.pickbar { display: flex; gap: 1.5em; flex-wrap: wrap; font-size: 1.2em; } .pickbar b { font-size: 1.3em; }
#verdict { margin: .4em 0; } #verdict:empty { display: none; }
";

/// Messages a page's script needs, as a JSON object (safe inside `<script>`).
fn messages(lang: Lang, keys: &[&str]) -> String {
    let m: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!(i18n::t(lang, k))))
        .collect();
    Value::Object(m).to_string().replace("</", "<\\/")
}

fn state_text(lang: Lang, state: &str) -> String {
    i18n::t(lang, &format!("waves.state_{state}"))
}

fn reason_text(lang: Lang, r: &Value) -> String {
    let s = |k: &str| match &r[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match r["reason"].as_str() {
        Some("shortage") if r.get("bin").is_some() => i18n::tf(
            lang,
            "waves.reason_shortage_bin",
            &[("sku", &s("sku")), ("bin", &s("bin"))],
        ),
        Some("shortage") => i18n::tf(
            lang,
            "waves.reason_shortage",
            &[
                ("sku", &s("sku")),
                ("needed", &s("needed")),
                ("available", &s("available")),
            ],
        ),
        Some("cancelled") => i18n::tf(lang, "waves.reason_cancelled", &[("reason", &s("note"))]),
        _ => String::new(),
    }
}

pub async fn waves_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let waves = app.waves(200).await?;
    let rows: String = waves
        .iter()
        .map(|w| {
            format!(
                "<tr data-wave=\"{n}\"><td><a href=\"/manager/waves/{n}\">{n}</a></td><td>{crit}</td><td>{status}</td>\
                 <td class=\"num\">{o}</td><td class=\"num\">{held}</td><td class=\"num\">{lines}</td><td class=\"num\">{picked} / {units}</td>\
                 <td><a class=\"pdf\" href=\"/api/v1/waves/{n}/pick-list.pdf?lang={lc}\">{pdf}</a></td></tr>",
                n = esc(&w.number),
                crit = esc(&format!(
                    "{} {}",
                    i18n::t(lang, &format!("waves.criterion_{}", w.criterion)),
                    w.value
                )),
                status = t(&format!("waves.status_{}", w.status)),
                o = w.orders,
                held = w.held,
                lines = w.lines,
                picked = w.picked,
                units = w.units,
                lc = lang.code(),
                pdf = t("waves.pick_list"),
            )
        })
        .collect();
    let table = if waves.is_empty() {
        format!("<p id=\"no-waves\">{}</p>", t("waves.none"))
    } else {
        format!(
            "<table id=\"waves\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{} / {}</th><th></th></tr>{rows}</table>",
            t("waves.number"), t("waves.criterion"), t("waves.status"), t("waves.orders"),
            t("waves.held"), t("waves.lines"), t("waves.picked"), t("waves.units")
        )
    };
    let options: String = ["evening", "cutoff", "channel", "courier", "orders"]
        .iter()
        .map(|c| {
            format!(
                "<option value=\"{c}\">{}</option>",
                t(&format!("waves.criterion_{c}"))
            )
        })
        .collect();
    let body = format!(
        "<h1>{title}</h1><section class=\"card\"><h2>{new}</h2>\
         <form class=\"wave\" id=\"new-wave\"><label>{l_crit}<select id=\"criterion\">{options}</select></label>\
         <label>{l_value}<input id=\"value\" autocomplete=\"off\"></label>\
         <label>{l_badge}<input id=\"badge\" autocomplete=\"off\"></label>\
         <button type=\"submit\" id=\"create\">{create}</button></form>\
         <p id=\"wave-status\" role=\"status\"></p><p id=\"wave-link\" hidden><a id=\"pick-list-link\" href=\"#\">{pdf}</a> · \
         <a id=\"wave-page-link\" href=\"#\"></a></p></section>\
         <section class=\"card\"><h2>{title}</h2>{table}</section>",
        title = t("waves.title"),
        new = t("waves.new"),
        l_crit = t("waves.criterion"),
        l_value = t("waves.value"),
        l_badge = t("waves.badge"),
        create = t("waves.create"),
        pdf = t("waves.pick_list"),
    );
    let script = format!(
        "const M = {msgs}; const LANG = '{lc}';
const form = document.getElementById('new-wave'), status = document.getElementById('wave-status');
form.addEventListener('submit', async (e) => {{
  e.preventDefault();
  const criterion = document.getElementById('criterion').value, value = document.getElementById('value').value.trim();
  const body = {{ criterion, value, badge: document.getElementById('badge').value.trim(),
                 orders: criterion === 'orders' ? value.split(/[\\s,]+/).filter(Boolean) : [] }};
  status.className = ''; status.textContent = M['waves.working'];
  try {{
    const r = await fetch('/api/v1/waves?lang=' + LANG, {{ method: 'POST', headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify(body) }});
    const v = await r.json();
    status.textContent = v.message || v.code; status.dataset.code = v.code || v.action || '';
    status.className = v.verdict === 'accepted' ? 'good' : 'bad';
    if (v.verdict === 'accepted') {{
      const n = v.wave.number, link = document.getElementById('pick-list-link'), page = document.getElementById('wave-page-link');
      link.href = v.pick_list + '?lang=' + LANG; page.href = '/manager/waves/' + n; page.textContent = n;
      document.getElementById('wave-link').hidden = false;
    }}
  }} catch (err) {{ status.className = 'bad'; status.textContent = M['waves.failed'].replace('{{error}}', err); }}
}});",
        msgs = messages(lang, &["waves.working", "waves.failed"]),
        lc = lang.code(),
    );
    Ok(page(
        lang,
        &i18n::t(lang, "waves.title"),
        "/manager/waves",
        &body,
        &script,
    ))
}

pub async fn wave_page(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let v = app
        .wave(&wave)
        .await?
        .ok_or_else(|| AppError::not_found(format!("wave {wave}")))?;
    let w = &v.summary;
    let catalog = app.catalog();
    let held: String = v
        .order_list
        .iter()
        .filter(|o| o.state != "picking")
        .map(|o| {
            format!(
                "<tr class=\"{st}\" data-order=\"{no}\"><td><code>{no}</code></td><td>{state}</td><td>{reason}</td><td>{who}</td></tr>",
                st = esc(&o.state),
                no = esc(&o.order_no),
                state = esc(&state_text(lang, &o.state)),
                reason = esc(&reason_text(lang, &o.reason)),
                who = esc(&o.recipient_name),
            )
        })
        .collect();
    let held = if held.is_empty() {
        format!("<p>{}</p>", t("waves.nothing_held"))
    } else {
        format!(
            "<table id=\"held\"><tr><th>{}</th><th>{}</th><th></th><th>{}</th></tr>{held}</table>",
            t("waves.order"),
            t("waves.state"),
            t("waves.recipient")
        )
    };
    let mut back_orders: Vec<&str> = v.put_back.iter().map(|p| p.order_no.as_str()).collect();
    back_orders.dedup();
    let put_back: String = back_orders
        .iter()
        .map(|no| {
            let items: Vec<String> = v
                .put_back
                .iter()
                .filter(|p| p.order_no == *no)
                .map(|p| format!("{} ×{} → {}", p.sku, p.qty, p.bin))
                .collect();
            format!(
                "<tr data-order=\"{n}\"><td><code>{n}</code></td><td>{}</td>\
                 <td><button type=\"button\" class=\"put-back\" data-order=\"{n}\">{}</button></td></tr>",
                esc(&items.join(", ")),
                t("waves.put_back"),
                n = esc(no)
            )
        })
        .collect();
    let put_back = if put_back.is_empty() {
        format!("<p>{}</p>", t("waves.nothing_to_put_back"))
    } else {
        format!(
            "<p>{}</p><p class=\"putback\"><label>{} <input id=\"pb-badge\" autocomplete=\"off\"></label></p><table id=\"put-back\">{put_back}</table>",
            t("waves.to_put_back_help"),
            t("waves.badge")
        )
    };
    let orders: String = v
        .order_list
        .iter()
        .filter(|o| o.state == "picking")
        .map(|o| {
            format!(
                "<tr class=\"{cls}\"><td class=\"num\">{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                o.slip,
                esc(&o.order_no),
                esc(&o.recipient_name),
                o.units,
                esc(&i18n::t(lang, &format!("waves.ostatus_{}", o.status))),
                cls = if o.status == "packed" { "done" } else { "" },
            )
        })
        .collect();
    let lines: String = v
        .picks
        .iter()
        .filter(|p| p.qty > 0 || p.short > 0)
        .map(|p| {
            let name = catalog.item(&p.sku).map(|i| i.name.as_str()).unwrap_or("");
            format!(
                "<tr class=\"{cls}\" data-sku=\"{sku}\" data-bin=\"{bin}\"><td class=\"num\">{}</td><td><b>{bin}</b>{mark}</td><td>{sku}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                p.seq,
                esc(name),
                p.qty,
                p.picked,
                p.short,
                cls = if p.picked >= p.qty && p.qty > 0 { "done" } else if p.short > 0 { "held" } else { "" },
                bin = esc(&p.bin),
                sku = esc(&p.sku),
                mark = if p.tracked { "" } else { " *" },
            )
        })
        .collect();
    let untracked = if w.untracked_lines > 0 {
        format!(
            "<p class=\"msg bad\">* {}</p>",
            esc(&i18n::tf(
                lang,
                "waves.untracked_note",
                &[("count", &w.untracked_lines.to_string())]
            ))
        )
    } else {
        String::new()
    };
    let closed = if w.status == "closed" {
        format!(
            "<p class=\"msg good\" id=\"closed\">{}</p>",
            t("waves.closed_note")
        )
    } else {
        String::new()
    };
    let n = esc(&w.number);
    let body = format!(
        "<p><a href=\"/manager/waves\">← {back}</a></p><h1>{l_wave} {n}</h1>{closed}\
         <p><a id=\"pick-list-link\" href=\"/api/v1/waves/{n}/pick-list.pdf?lang={lc}\">{pdf}</a> · <a href=\"/pick/{n}\">{picker}</a></p>\
         <section class=\"tiles\"><div class=\"tile\"><b>{orders_n}</b><span>{l_orders}</span></div>\
         <div class=\"tile\"><b>{picked} / {units}</b><span>{l_picked}</span></div>\
         <div class=\"tile warn\"><b id=\"held-count\">{held_n}</b><span>{l_held}</span></div>\
         <div class=\"tile warn\"><b>{cancelled_n}</b><span>{l_cancelled}</span></div></section>\
         <section class=\"card\"><h2>{l_holds}</h2>{held}</section>\
         <section class=\"card\"><h2>{l_back}</h2><p id=\"pb-status\" role=\"status\"></p>{put_back}</section>\
         <section class=\"card\"><h2>{l_cancel}</h2><form class=\"wave\" id=\"cancel\"><label>{l_order}<input id=\"c-order\" autocomplete=\"off\"></label>\
         <label>{l_reason}<input id=\"c-reason\" autocomplete=\"off\"></label><label>{l_badge}<input id=\"c-badge\" autocomplete=\"off\"></label>\
         <button type=\"submit\">{l_cancel_btn}</button></form><p id=\"c-status\" role=\"status\"></p></section>\
         <section class=\"card\"><h2>{l_lines}</h2>{untracked}<table id=\"lines\"><tr><th>#</th><th>{l_bin}</th><th>{l_sku}</th><th>{l_item}</th><th>{l_qty}</th><th>{l_picked}</th><th>{l_short}</th></tr>{lines}</table></section>\
         <section class=\"card\"><h2>{l_orders}</h2><table id=\"orders\"><tr><th>{l_slip}</th><th>{l_order}</th><th>{l_recipient}</th><th>{l_units}</th><th>{l_status}</th></tr>{orders}</table></section>",
        back = t("waves.back"),
        l_wave = t("waves.number"),
        lc = lang.code(),
        pdf = t("waves.pick_list"),
        picker = t("waves.picker_page"),
        orders_n = w.orders,
        picked = w.picked,
        units = w.units,
        held_n = w.held,
        cancelled_n = w.cancelled,
        l_orders = t("waves.orders"),
        l_picked = t("waves.picked"),
        l_held = t("waves.held"),
        l_cancelled = t("waves.cancelled"),
        l_holds = t("waves.holds_title"),
        l_back = t("waves.to_put_back"),
        l_cancel = t("waves.cancel_title"),
        l_order = t("waves.order"),
        l_reason = t("waves.cancel_reason"),
        l_badge = t("waves.badge"),
        l_cancel_btn = t("waves.cancel_order"),
        l_lines = t("waves.lines"),
        l_bin = t("waves.bin"),
        l_sku = t("waves.sku"),
        l_item = t("waves.item"),
        l_qty = t("waves.qty"),
        l_short = t("waves.short"),
        l_slip = t("waves.slip"),
        l_recipient = t("waves.recipient"),
        l_units = t("waves.units"),
        l_status = t("waves.order_status"),
    );
    let script = format!(
        "const M = {msgs}; const LANG = '{lc}', WAVE = {wave};
async function post(url, body, out) {{
  out.className = ''; out.textContent = M['waves.working'];
  try {{
    const r = await fetch(url + '?lang=' + LANG, {{ method: 'POST', headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify(body) }});
    const v = await r.json();
    out.textContent = v.message || v.code; out.dataset.code = v.code || v.action || '';
    out.className = v.verdict === 'accepted' ? 'good' : 'bad';
    if (v.verdict === 'accepted') setTimeout(() => location.reload(), 800);
  }} catch (err) {{ out.className = 'bad'; out.textContent = M['waves.failed'].replace('{{error}}', err); }}
}}
document.querySelectorAll('button.put-back').forEach(b => b.addEventListener('click', () =>
  post('/api/v1/waves/' + encodeURIComponent(WAVE) + '/put-back',
       {{ order_no: b.dataset.order, badge: document.getElementById('pb-badge').value.trim() }},
       document.getElementById('pb-status'))));
document.getElementById('cancel').addEventListener('submit', (e) => {{
  e.preventDefault();
  const no = document.getElementById('c-order').value.trim();
  post('/api/v1/orders/' + encodeURIComponent(no) + '/cancel',
       {{ badge: document.getElementById('c-badge').value.trim(), reason: document.getElementById('c-reason').value }},
       document.getElementById('c-status'));
}});",
        msgs = messages(lang, &["waves.working", "waves.failed"]),
        lc = lang.code(),
        wave = json!(w.number).to_string().replace("</", "<\\/"),
    );
    Ok(page(
        lang,
        &format!("{} {}", i18n::t(lang, "waves.number"), w.number),
        &format!("/manager/waves/{}", w.number),
        &body,
        &script,
    ))
}

/// The picker's page: scan a badge, a bin, then the items; a Short button on each line of
/// the bin the picker is at. Codes typed or read by a keyboard-wedge scanner end with Enter.
pub async fn pick_page(
    AxState(app): AxState<State>,
    Path(wave): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let v = app
        .wave(&wave)
        .await?
        .ok_or_else(|| AppError::not_found(format!("wave {wave}")))?;
    let body = format!(
        "<h1>{title} {n}</h1><p class=\"muted\">{help}</p>\
         <div class=\"pickbar\"><span>{l_picker}: <b id=\"picker\">{no_picker}</b></span><span>{l_bin}: <b id=\"bin\">{no_bin}</b></span>\
         <span>{l_left}: <b id=\"left\"></b></span></div>\
         <form id=\"scan-form\"><label for=\"scan\">{scan}</label><input id=\"scan\" autocomplete=\"off\" autofocus></form>\
         <div id=\"verdict\" class=\"verdict\" role=\"status\"></div>\
         <section class=\"card\"><table id=\"lines\"><thead><tr><th>{l_bin}</th><th>{l_sku}</th><th>{l_item}</th><th>{l_qty}</th><th></th></tr></thead><tbody></tbody></table></section>",
        title = t("waves.pick.title"),
        n = esc(&v.summary.number),
        help = t("waves.pick.help"),
        l_picker = t("waves.pick.picker"),
        no_picker = t("waves.pick.no_picker"),
        l_bin = t("waves.pick.at_bin"),
        no_bin = t("waves.pick.no_bin"),
        l_left = t("waves.pick.remaining"),
        scan = t("waves.pick.scan"),
        l_sku = t("waves.sku"),
        l_item = t("waves.item"),
        l_qty = t("waves.qty"),
    );
    let script = format!(
        "const M = {msgs}; const LANG = '{lc}', WAVE = {wave};
let picker = sessionStorage.getItem('picker') || '', pickerName = sessionStorage.getItem('pickerName') || '', bin = '';
const field = document.getElementById('scan'), verdict = document.getElementById('verdict');
function show(v) {{
  verdict.textContent = v.message || v.code; verdict.dataset.code = v.code || v.action || '';
  verdict.className = 'verdict ' + (v.verdict === 'accepted' ? 'ok' : 'bad');
}}
function esc(s) {{ return String(s).replace(/[&<>\"']/g, c => '&#' + c.charCodeAt(0) + ';'); }}
async function refresh() {{
  const w = await (await fetch('/api/v1/waves/' + encodeURIComponent(WAVE))).json();
  document.getElementById('picker').textContent = pickerName || M['waves.pick.no_picker'];
  document.getElementById('bin').textContent = bin || M['waves.pick.no_bin'];
  const open = (w.picks || []).filter(p => p.qty - p.picked - p.short > 0);
  document.getElementById('left').textContent = open.reduce((n, p) => n + p.qty - p.picked - p.short, 0);
  document.querySelector('#lines tbody').innerHTML = open.map(p =>
    `<tr data-sku=\"${{esc(p.sku)}}\" data-bin=\"${{esc(p.bin)}}\" class=\"${{p.bin.toUpperCase() === bin.toUpperCase() ? 'here' : ''}}\">` +
    `<td><b>${{esc(p.bin)}}</b></td><td>${{esc(p.sku)}}</td><td>${{esc(p.name)}} ${{esc(p.option)}}</td>` +
    `<td class=\"num\"><span class=\"got\">${{p.picked}}</span> / <span class=\"need\">${{p.qty}}</span></td>` +
    `<td>${{p.bin.toUpperCase() === bin.toUpperCase() ? `<button type=\"button\" class=\"short\" data-sku=\"${{esc(p.sku)}}\">${{esc(M['waves.pick.short_button'])}}</button>` : ''}}</td></tr>`).join('');
  document.querySelectorAll('button.short').forEach(b => b.addEventListener('click', async () => {{
    const r = await fetch('/api/v1/waves/' + encodeURIComponent(WAVE) + '/short?lang=' + LANG, {{ method: 'POST',
      headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify({{ bin, sku: b.dataset.sku, picker }}) }});
    show(await r.json()); await refresh(); field.focus();
  }}));
}}
document.getElementById('scan-form').addEventListener('submit', async (e) => {{
  e.preventDefault();
  const code = field.value.trim(); field.value = '';
  if (!code) return;
  try {{
    const r = await fetch('/api/v1/waves/' + encodeURIComponent(WAVE) + '/scan?lang=' + LANG, {{ method: 'POST',
      headers: {{ 'content-type': 'application/json' }}, body: JSON.stringify({{ code, bin, picker }}) }});
    const v = await r.json();
    if (v.action === 'signed_in') {{ picker = v.picker.badge; pickerName = v.picker.name;
      sessionStorage.setItem('picker', picker); sessionStorage.setItem('pickerName', pickerName); }}
    if (v.action === 'at_bin') bin = v.bin;
    show(v);
  }} catch (err) {{ show({{ verdict: 'refused', message: M['waves.failed'].replace('{{error}}', err) }}); }}
  await refresh(); field.focus();
}});
document.addEventListener('click', (e) => {{ if (e.target.tagName !== 'BUTTON' && e.target.tagName !== 'A') field.focus(); }});
refresh();",
        msgs = messages(
            lang,
            &["waves.failed", "waves.pick.no_picker", "waves.pick.no_bin", "waves.pick.short_button"]
        ),
        lc = lang.code(),
        wave = json!(v.summary.number).to_string().replace("</", "<\\/"),
    );
    Ok(page(
        lang,
        &format!("{} {}", i18n::t(lang, "waves.pick.title"), v.summary.number),
        &format!("/pick/{}", v.summary.number),
        &body,
        &script,
    ))
}
