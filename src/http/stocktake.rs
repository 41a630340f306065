//! HTTP handlers and pages of the monthly stocktake: the JSON API under
//! `/api/v1/stocktake` (window, status, cycles, counting, report, approval, closing, late
//! corrections, the PDF and XLSX report), the counter's page `/stocktake` (handheld or bench,
//! usable with a keyboard-wedge scanner alone: badge → location label → items → the label
//! again to submit), the manager's page `/manager/stocktake`, the shrinkage chart, and the
//! banner every manager page shows (reminder, open cycle, overdue).
//!
//! Blind counting is kept here too: nothing a counter's page or the counter API returns
//! carries a book quantity; only the manager's report does.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::{esc, lang_switch, page};
use super::{lang_of, AppError, State};
use crate::i18n::{self, Lang};
use crate::service::stocktake::{self as st, ApproveRequest, Correction};
use crate::service::{App, Outcome};

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/stocktake/window", get(window))
        .route("/api/v1/stocktake/status", get(status))
        .route("/api/v1/stocktake/cycles", get(history).post(open))
        .route("/api/v1/stocktake/cycles/{cycle}", get(cycle))
        .route("/api/v1/stocktake/cycles/{cycle}/report", get(report))
        .route(
            "/api/v1/stocktake/cycles/{cycle}/report.pdf",
            get(report_pdf),
        )
        .route(
            "/api/v1/stocktake/cycles/{cycle}/report.xlsx",
            get(report_xlsx),
        )
        .route("/api/v1/stocktake/cycles/{cycle}/approve", post(approve))
        .route("/api/v1/stocktake/cycles/{cycle}/close", post(close))
        .route(
            "/api/v1/stocktake/cycles/{cycle}/corrections",
            post(correct),
        )
        .route("/api/v1/stocktake/shrinkage", get(shrinkage))
        .route("/api/v1/stocktake/counter", get(counter))
        .route("/api/v1/stocktake/claim", post(claim_bin))
        .route("/api/v1/stocktake/tasks/{task}", get(task))
        .route("/api/v1/stocktake/tasks/{task}/claim", post(claim))
        .route("/api/v1/stocktake/tasks/{task}/scan", post(scan))
        .route("/api/v1/stocktake/tasks/{task}/submit", post(submit))
        .route("/api/v1/stocktake/tasks/{task}/release", post(release))
        .route("/stocktake", get(counter_page))
        .route("/manager/stocktake", get(manager_page))
        .route("/manager/stocktake/shrinkage.svg", get(shrinkage_svg))
}

fn lang(q: &Q, h: &HeaderMap) -> Lang {
    lang_of(q.get("lang").map(String::as_str), h)
}

/// An action's answer: 200 when done, otherwise the refusal (same body: verdict, code,
/// message) with a status that says what kind of problem it is.
fn answer(o: Outcome) -> Response {
    let status = if o.verdict == "accepted" {
        StatusCode::OK
    } else {
        match o.code.as_str() {
            "manager_required" | "badge_required" | "not_your_task" => StatusCode::FORBIDDEN,
            "no_task" | "no_cycle" => StatusCode::NOT_FOUND,
            "not_a_location"
            | "nothing_selected"
            | "bad_correction"
            | "unknown_zone"
            | "unknown_sku"
            | "reason_required"
            | "correction_reason_required" => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::CONFLICT,
        }
    };
    (status, Json(serde_json::to_value(o).unwrap_or_default())).into_response()
}

// ----- JSON API ---------------------------------------------------------------------------------

/// `GET /api/v1/stocktake/window?date=YYYY-MM-DD`: `{"opens","closes","time_zone"}`.
async fn window(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let tz = app.config.warehouse.timezone.clone();
    let w = st::window_of(&tz, q.get("date").map(String::as_str), app.stocktake_now()).map_err(
        |e| {
            AppError::bad_request(
                "bad_date",
                i18n::tf(lang, "stocktake.bad_date", &[("error", &e)]),
            )
        },
    )?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        st::window_line(w, &tz),
    )
        .into_response())
}

async fn status(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Json<Value>, AppError> {
    Ok(Json(app.stocktake_status(lang(&q, &h)).await?))
}

async fn history(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "cycles": app.stocktake_history().await? })))
}

#[derive(Deserialize)]
struct OpenBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    zones: Vec<String>,
}

async fn open(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<OpenBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_open(&b.badge, &b.zones, lang(&q, &h)).await?,
    ))
}

async fn cycle(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.stocktake_cycle(&cycle, lang(&q, &h)).await?))
}

async fn report(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let all = q.get("all").is_some_and(|v| v == "1" || v == "true");
    Ok(Json(app.stocktake_report(&cycle, all, lang(&q, &h)).await?))
}

async fn report_file(app: State, cycle: &str, pdf: bool, lang: Lang) -> Result<Response, AppError> {
    let f = app.stocktake_file(cycle, pdf, lang).await?;
    let disposition = if pdf { "inline" } else { "attachment" };
    Ok((
        [
            (header::CONTENT_TYPE, f.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("{disposition}; filename=\"{}\"", f.file_name),
            ),
        ],
        f.bytes,
    )
        .into_response())
}

async fn report_pdf(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    report_file(app, &cycle, true, lang(&q, &h)).await
}

async fn report_xlsx(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    report_file(app, &cycle, false, lang(&q, &h)).await
}

#[derive(Deserialize)]
struct ApproveBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    all: bool,
    #[serde(default)]
    lines: Vec<i64>,
    #[serde(default)]
    bins: Vec<String>,
}

async fn approve(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ApproveBody>,
) -> Result<Response, AppError> {
    let req = ApproveRequest {
        all: b.all,
        lines: b.lines,
        bins: b.bins,
    };
    Ok(answer(
        app.stocktake_approve(&cycle, &b.badge, &req, lang(&q, &h))
            .await?,
    ))
}

#[derive(Deserialize)]
struct CloseBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    reason: String,
}

async fn close(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<CloseBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_close(&cycle, &b.badge, &b.reason, lang(&q, &h))
            .await?,
    ))
}

#[derive(Deserialize)]
struct CorrectionBody {
    #[serde(default)]
    badge: String,
    sku: String,
    bin: String,
    qty: i64,
    #[serde(default)]
    reason: String,
}

async fn correct(
    AxState(app): AxState<State>,
    Path(cycle): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<CorrectionBody>,
) -> Result<Response, AppError> {
    let k = Correction {
        sku: b.sku,
        bin: b.bin,
        qty: b.qty,
        reason: b.reason,
    };
    Ok(answer(
        app.stocktake_correct(&cycle, &b.badge, &k, lang(&q, &h))
            .await?,
    ))
}

async fn shrinkage(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(
        json!({ "months": app.stocktake_shrinkage(12).await? }),
    ))
}

/// `GET /api/v1/stocktake/counter?badge=B`: the counter's screen (no book quantities).
async fn counter(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let badge = q.get("badge").map(String::as_str).unwrap_or("").trim();
    let mut v = app
        .stocktake_counter(badge, q.get("cycle").map(String::as_str), lang)
        .await?;
    v["operator"] = match app.config.operator(badge) {
        Some(o) => json!({ "badge": o.badge, "name": o.name }),
        None => Value::Null,
    };
    Ok(Json(v))
}

#[derive(Deserialize)]
struct ClaimBinBody {
    #[serde(default)]
    badge: String,
    code: String,
    #[serde(default)]
    cycle: Option<String>,
}

async fn claim_bin(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ClaimBinBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_claim_bin(&b.code, &b.badge, b.cycle.as_deref(), lang(&q, &h))
            .await?,
    ))
}

async fn task(
    AxState(app): AxState<State>,
    Path(task): Path<i64>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let badge = q.get("badge").map(String::as_str).unwrap_or("");
    Ok(Json(
        app.stocktake_task_view(task, badge, lang(&q, &h)).await?,
    ))
}

#[derive(Deserialize)]
struct BadgeBody {
    #[serde(default)]
    badge: String,
}

async fn claim(
    AxState(app): AxState<State>,
    Path(task): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_claim(task, &b.badge, lang(&q, &h)).await?,
    ))
}

#[derive(Deserialize)]
struct ScanBody {
    #[serde(default)]
    badge: String,
    code: String,
    /// Units this scan counts (a typed quantity); one when absent.
    #[serde(default)]
    qty: Option<i64>,
}

async fn scan(
    AxState(app): AxState<State>,
    Path(task): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ScanBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_scan(task, &b.badge, &b.code, b.qty, lang(&q, &h))
            .await?,
    ))
}

async fn submit(
    AxState(app): AxState<State>,
    Path(task): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_submit(task, &b.badge, lang(&q, &h)).await?,
    ))
}

async fn release(
    AxState(app): AxState<State>,
    Path(task): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Response, AppError> {
    Ok(answer(
        app.stocktake_release(task, &b.badge, lang(&q, &h)).await?,
    ))
}

// ----- the banner -------------------------------------------------------------------------------

/// The stocktake banner every manager page shows: the reminder before the window, the open
/// cycle's progress, or the overdue cycle in red; empty when there is nothing to say.
pub async fn banner(app: &App, lang: Lang) -> String {
    let status = match app.stocktake_status(lang).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "stocktake status");
            return String::new();
        }
    };
    banner_html(&status, lang)
}

/// The banner from a status value (see `App::stocktake_status`).
pub fn banner_html(status: &Value, lang: Lang) -> String {
    let a = &status["alert"];
    let kind = a["kind"].as_str().unwrap_or("none");
    let (bg, fg) = match kind {
        "overdue" => ("#c62828", "#fff"),
        "open" => ("#1565c0", "#fff"),
        "reminder" => ("#e6a100", "#000"),
        _ => return String::new(),
    };
    format!(
        "<div id=\"stocktake-banner\" class=\"stocktake-banner {kind}\" data-kind=\"{kind}\" role=\"status\" \
         style=\"background:{bg};color:{fg};padding:.4em .8em;margin:.4em 0;border-radius:8px;font-weight:bold\">\
         {msg} <a style=\"color:{fg}\" href=\"/manager/stocktake?lang={lc}\">{link}</a></div>",
        msg = esc(a["message"].as_str().unwrap_or("")),
        lc = lang.code(),
        link = esc(&i18n::t(lang, "stocktake.banner_link")),
    )
}

// ----- the shrinkage chart ----------------------------------------------------------------------

/// Approved loss (red, below the axis) and gain (green, above) per month, drawn on the
/// server: 720×220.
pub fn shrinkage_chart(months: &[st::MonthShrinkage], title: &str, empty: &str) -> String {
    let max = months
        .iter()
        .map(|m| m.loss_value.abs().max(m.gain_value))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (axis, half) = (110.0, 80.0);
    let mut bars = String::new();
    let step = if months.is_empty() {
        0.0
    } else {
        (680.0 / months.len() as f64).min(90.0)
    };
    for (i, m) in months.iter().enumerate() {
        let x = 30.0 + i as f64 * step;
        let w = (step * 0.6).max(4.0);
        let gain = (m.gain_value as f64 / max * half).round();
        let loss = (m.loss_value.abs() as f64 / max * half).round();
        bars.push_str(&format!(
            "<rect class=\"gain\" x=\"{x:.0}\" y=\"{:.0}\" width=\"{w:.0}\" height=\"{gain:.0}\" fill=\"#2e7d32\"><title>{} +{}</title></rect>\
             <rect class=\"loss\" x=\"{x:.0}\" y=\"{axis:.0}\" width=\"{w:.0}\" height=\"{loss:.0}\" fill=\"#c62828\"><title>{} {}</title></rect>\
             <text x=\"{:.0}\" y=\"212\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            axis - gain,
            esc(&m.month),
            st::money(m.gain_value),
            esc(&m.month),
            st::money(m.loss_value),
            x + w / 2.0,
            esc(&m.month),
        ));
        if m.loss_value != 0 {
            bars.push_str(&format!(
                "<text x=\"{:.0}\" y=\"{:.0}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x + w / 2.0,
                axis + loss + 11.0,
                st::money(m.loss_value)
            ));
        }
    }
    if months.is_empty() {
        bars.push_str(&format!(
            "<text x=\"30\" y=\"100\" font-size=\"13\">{}</text>",
            esc(empty)
        ));
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"220\" viewBox=\"0 0 720 220\" font-family=\"sans-serif\">\
         <title>{}</title><line x1=\"25\" y1=\"{axis}\" x2=\"705\" y2=\"{axis}\" stroke=\"#555\"/>{bars}</svg>",
        esc(title)
    )
}

async fn shrinkage_svg(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let months = app.stocktake_shrinkage(12).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        shrinkage_chart(
            &months,
            &i18n::t(lang, "stocktake.chart_title"),
            &i18n::t(lang, "stocktake.no_history"),
        ),
    )
        .into_response())
}

// ----- the counter's page -----------------------------------------------------------------------

const COUNTER_CSS: &str = "<style>
main.count{max-width:46em;margin:auto}
main.count #step{font-size:1.5em;font-weight:bold;margin:.4em 0}
main.count #verdict{font-size:1.3em;padding:.3em .6em;border-radius:8px;margin:.3em 0}
main.count #verdict.ok{background:#dcfce7;color:#14532d}main.count #verdict.bad{background:#fee2e2;color:#7f1d1d;border:4px solid #c62828}
main.count #bin{font-size:2.2em}main.count .qty{font-size:1.8em;font-weight:bold;text-align:right}
main.count #units{font-size:2em}main.count #pending-qty{color:#1565c0;font-weight:bold}
main.count .todo button{margin:.2em;min-width:6em}main.count .found td{color:#7f1d1d}
</style>";

/// `/stocktake`: the counter's page. One scan field, always focused: the badge, then a
/// location label (or a task chosen below), then items (`x24` before an item counts 24 of
/// it; `x-1` takes one off), then the location label again (or Submit).
async fn counter_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, &format!("stocktake.counter.{k}")));
    let view = app.stocktake_counter("", None, lang).await?;
    let cycle = if view["cycle"].is_null() {
        t("no_cycle")
    } else {
        format!(
            "{} · {} ~ {}",
            esc(view["cycle"]["number"].as_str().unwrap_or("")),
            esc(view["cycle"]["opens"].as_str().unwrap_or("")),
            esc(view["cycle"]["closes"].as_str().unwrap_or(""))
        )
    };
    let msgs: serde_json::Map<String, Value> = i18n::with_prefix(lang, "stocktake.counter.")
        .into_iter()
        .map(|(k, v)| {
            (
                k.trim_start_matches("stocktake.counter.").to_string(),
                Value::String(v),
            )
        })
        .collect();
    let msgs = Value::Object(msgs).to_string().replace("</", "<\\/");
    let body = format!(
        "<header class=\"top\"><b>{wh}</b><span id=\"cycle\">{cycle}</span><nav>{sw}</nav></header>\
         <main class=\"count\" data-lang=\"{lc}\">\
         <form id=\"scan-form\" autocomplete=\"off\"><label for=\"scan\">{l_scan}</label>\
         <input id=\"scan\" name=\"code\" autofocus placeholder=\"{hint}\"></form>\
         <div id=\"verdict\" hidden></div>\
         <p>{l_counter}: <b id=\"counter\">—</b> <button type=\"button\" id=\"signout\" hidden>{l_signout}</button></p>\
         <p id=\"step\">{first_step}</p>\
         <section id=\"task\" class=\"card\" hidden><h2>{l_location} <b id=\"bin\"></b> <small id=\"round\"></small></h2>\
         <table id=\"lines\"></table><p>{l_units}: <b id=\"units\">0</b> <span id=\"pending-qty\"></span></p>\
         <p><button type=\"button\" id=\"submit\">{l_submit}</button> <button type=\"button\" id=\"release\" class=\"quiet\">{l_release}</button></p></section>\
         <section class=\"card todo\"><h2>{l_todo}</h2><div id=\"todo\"></div></section>\
         <p class=\"muted\">{l_help}</p></main><script>const M={msgs};{js}</script>",
        wh = esc(&app.config.warehouse.name),
        sw = lang_switch(lang, "/stocktake"),
        lc = lang.code(),
        l_scan = t("scan"),
        hint = t("hint"),
        l_counter = t("counter"),
        l_signout = t("signout"),
        first_step = t("step_badge"),
        l_location = t("location"),
        l_units = t("units"),
        l_submit = t("submit"),
        l_release = t("release"),
        l_todo = t("todo"),
        l_help = t("help"),
        js = COUNTER_JS,
    );
    Ok(page(
        lang,
        &i18n::t(lang, "stocktake.counter.title"),
        COUNTER_CSS,
        &body,
    ))
}

const COUNTER_JS: &str = r#"
(() => {
  const main = document.querySelector('main.count'), lang = main.dataset.lang;
  const $ = (id) => document.getElementById(id);
  const scan = $('scan'), verdict = $('verdict');
  let badge = sessionStorage.getItem('stocktake_badge') || '';
  let task = null, pendingQty = null, busy = false;
  const fill = (s, a) => s.replace(/\{(\w+)\}/g, (_, k) => (a && a[k] !== undefined) ? a[k] : '');
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
  const say = (o) => {
    verdict.hidden = false;
    verdict.textContent = o.message || '';
    verdict.dataset.code = o.code || o.action || '';
    verdict.className = o.verdict === 'refused' ? 'bad' : 'ok';
  };
  const call = async (method, path, body) => {
    const r = await fetch(path + (path.includes('?') ? '&' : '?') + 'lang=' + lang, {
      method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
    const o = await r.json();
    if (!r.ok && !o.verdict) return { verdict: 'refused', code: o.code, message: o.message };
    return o;
  };
  const render = (v) => {
    $('counter').textContent = v && v.operator ? v.operator.name + ' (' + v.operator.badge + ')' : '—';
    $('signout').hidden = !badge;
    task = v ? v.task : null;
    const box = $('task');
    if (!badge) { $('step').textContent = M.step_badge; box.hidden = true; }
    else if (!v.cycle) { $('step').textContent = M.no_cycle; box.hidden = true; }
    else if (!task) { $('step').textContent = M.step_location; box.hidden = true; }
    else {
      box.hidden = false;
      $('bin').textContent = task.bin;
      $('round').textContent = task.round === 2 ? M.recount_round : '';
      $('step').textContent = fill(task.bin_confirmed ? M.step_items : M.step_confirm, { bin: task.bin });
      const rows = task.counted.map((l) => `<tr data-sku="${esc(l.sku)}"><td><b>${esc(l.sku)}</b> ${esc(l.name)} ${esc(l.option)}</td><td class="qty">${l.qty}</td></tr>`)
        .concat(task.unknown.map((u) => `<tr class="found" data-code="${esc(u.code)}"><td>${esc(M.found)}: <code>${esc(u.code)}</code></td><td class="qty">${u.qty}</td></tr>`));
      $('lines').innerHTML = rows.join('');
      $('units').textContent = task.units;
    }
    $('pending-qty').textContent = pendingQty ? fill(M.next_counts, { n: pendingQty }) : '';
    const todo = (v && v.tasks) || [];
    $('todo').innerHTML = todo.length ? todo.map((t) =>
      `<button type="button" class="claim" data-task="${t.id}">${esc(t.bin)}${t.status === 'recount' ? ' ↻' : ''}</button>`).join('')
      : `<p class="muted">${esc(M.nothing_to_count)}</p>`;
    document.querySelectorAll('button.claim').forEach((b) => b.addEventListener('click', async () => {
      if (!badge) { say({ verdict: 'refused', message: M.step_badge }); return; }
      const o = await call('POST', `/api/v1/stocktake/tasks/${b.dataset.task}/claim`, { badge });
      say(o); await refresh();
    }));
  };
  const refresh = async () => {
    const v = await call('GET', '/api/v1/stocktake/counter?badge=' + encodeURIComponent(badge));
    if (badge && !v.operator) { badge = ''; sessionStorage.removeItem('stocktake_badge'); }
    render(v);
    return v;
  };
  const handle = async (code) => {
    const typed = code.match(/^[x*×]\s*(-?\d+)$/i);
    if (typed) {
      pendingQty = parseInt(typed[1], 10) || null;
      $('pending-qty').textContent = pendingQty ? fill(M.next_counts, { n: pendingQty }) : '';
      return;
    }
    if (!badge) {
      const v = await call('GET', '/api/v1/stocktake/counter?badge=' + encodeURIComponent(code));
      if (!v.operator) { say({ verdict: 'refused', code: 'badge_required', message: M.unknown_badge }); return; }
      badge = code; sessionStorage.setItem('stocktake_badge', badge);
      say({ verdict: 'accepted', action: 'signed_in', message: fill(M.signed_in, { name: v.operator.name }) });
      render(v);
      return;
    }
    let o;
    if (!task) {
      o = await call('POST', '/api/v1/stocktake/claim', { badge, code });
    } else {
      const body = { badge, code };
      if (pendingQty) body.qty = pendingQty;
      o = await call('POST', `/api/v1/stocktake/tasks/${task.id}/scan`, body);
      if (o.verdict === 'accepted' && (o.action === 'counted' || o.action === 'found')) pendingQty = null;
    }
    say(o);
    await refresh();
  };
  $('scan-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = scan.value.trim();
    scan.value = '';
    if (!code || busy) return;
    busy = true;
    try { await handle(code); } catch (err) { say({ verdict: 'refused', message: String(err) }); }
    busy = false;
    scan.focus();
  });
  $('submit').addEventListener('click', async () => {
    if (!task) return;
    say(await call('POST', `/api/v1/stocktake/tasks/${task.id}/submit`, { badge }));
    await refresh(); scan.focus();
  });
  $('release').addEventListener('click', async () => {
    if (!task) return;
    say(await call('POST', `/api/v1/stocktake/tasks/${task.id}/release`, { badge }));
    await refresh(); scan.focus();
  });
  $('signout').addEventListener('click', () => {
    badge = ''; sessionStorage.removeItem('stocktake_badge'); pendingQty = null; refresh(); scan.focus();
  });
  // The scan field keeps the focus: a keyboard-wedge scanner types into whatever has it.
  document.addEventListener('click', () => setTimeout(() => { if (document.activeElement.tagName !== 'BUTTON') scan.focus(); }, 0));
  setInterval(() => { if (document.activeElement !== scan && document.activeElement.tagName !== 'BUTTON') scan.focus(); }, 500);
  refresh().then(() => scan.focus());
})();
"#;

// ----- the manager's page -----------------------------------------------------------------------

const MANAGER_CSS: &str = "<style>
main.stocktake .inline{display:flex;gap:.6em;flex-wrap:wrap;align-items:end}
main.stocktake input{font:inherit;padding:.15em .4em}
main.stocktake table{font-size:.8em}main.stocktake td.neg{color:#c62828;font-weight:bold}main.stocktake td.pos{color:#2e7d32;font-weight:bold}
main.stocktake #msg{padding:.4em .8em;border-radius:6px}main.stocktake #msg.ok{background:#dcfce7}main.stocktake #msg.bad{background:#fee2e2}
</style>";

fn t_st(lang: Lang, k: &str) -> String {
    esc(&i18n::t(lang, &format!("stocktake.{k}")))
}

fn num_class(v: i64) -> &'static str {
    match v.signum() {
        -1 => "num neg",
        1 => "num pos",
        _ => "num",
    }
}

/// `/manager/stocktake`: the banner, opening a cycle (early, with zones), the open cycle's
/// progress (live), both counts of recounted locations, the variance review with approve
/// checkboxes, closing, the report files, late corrections, and the history with its chart.
async fn manager_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let lc = lang.code();
    let t = |k: &str| t_st(lang, k);
    let status = app.stocktake_status(lang).await?;
    let history = app.stocktake_history().await?;
    let chosen = q
        .get("cycle")
        .cloned()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            history
                .iter()
                .find(|c| c.cycle.status == "open")
                .or(history.first())
                .map(|c| c.cycle.month.clone())
        });
    let zones = app.db.read(crate::storage::stocktake::zones).await?;
    let open_card = if status["openable"].is_null() {
        String::new()
    } else {
        let boxes: String = zones
            .iter()
            .map(|(z, n)| {
                let label = if z.is_empty() { i18n::t(lang, "stocktake.no_zone") } else { z.clone() };
                format!(
                    "<label><input type=\"checkbox\" class=\"zone\" value=\"{v}\"> {l} <small>({n})</small></label>",
                    v = esc(z),
                    l = esc(&label)
                )
            })
            .collect();
        format!(
            "<section class=\"card\"><h2>{title}</h2><p>{hint}</p><form id=\"open-form\" class=\"inline\">{boxes}\
             <label>{l_badge} <input id=\"open-badge\" autocomplete=\"off\"></label>\
             <button type=\"submit\">{l_open}</button></form><p id=\"open-msg\" role=\"status\"></p></section>",
            title = esc(&i18n::tf(
                lang,
                "stocktake.open_title",
                &[
                    ("opens", status["openable"]["opens"].as_str().unwrap_or("")),
                    ("closes", status["openable"]["closes"].as_str().unwrap_or(""))
                ]
            )),
            hint = t("open_hint"),
            l_badge = t("manager_badge"),
            l_open = t("open_button"),
        )
    };
    let mut cycle_html = String::new();
    if let Some(key) = &chosen {
        let view = app.stocktake_cycle(key, lang).await?;
        let report = app.stocktake_report(key, false, lang).await?;
        let cy = &view["cycle"];
        let month = cy["month"].as_str().unwrap_or("").to_string();
        let open = cy["status"] == "open";
        let p = &view["progress"];
        let tasks: String = view["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|tk| {
                format!(
                    "<tr data-task=\"{id}\" data-status=\"{s}\"><td><b>{bin}</b></td><td>{zone}</td><td>{status}</td><td>{claimed}</td><td>{first}</td><td>{by}</td><td>{at}</td></tr>",
                    id = tk["id"],
                    s = esc(tk["status"].as_str().unwrap_or("")),
                    bin = esc(tk["bin"].as_str().unwrap_or("")),
                    zone = esc(tk["zone"].as_str().unwrap_or("")),
                    status = esc(&i18n::t(lang, &format!("stocktake.task_status.{}", tk["status"].as_str().unwrap_or("")))),
                    claimed = esc(tk["claimed_by"].as_str().unwrap_or("")),
                    first = esc(tk["first_counter"].as_str().unwrap_or("")),
                    by = esc(tk["counted_by"].as_str().unwrap_or("")),
                    at = esc(tk["counted_at"].as_str().unwrap_or("")),
                )
            })
            .collect();
        let lines: String = report["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| {
                let pending = l["status"] == "pending" && open;
                let check = if pending {
                    format!("<input type=\"checkbox\" class=\"approve\" value=\"{}\">", l["id"])
                } else {
                    String::new()
                };
                let v = l["variance"].as_i64().unwrap_or(0);
                let sku = if l["sku"].as_str().unwrap_or("").is_empty() {
                    format!("? <code>{}</code>", esc(l["code"].as_str().unwrap_or("")))
                } else {
                    esc(l["sku"].as_str().unwrap_or(""))
                };
                let counters = match (l["first_counter"].as_str(), l["counter"].as_str()) {
                    (Some(f), Some(c)) if !f.is_empty() && f != c => format!("{} / {}", esc(f), esc(c)),
                    (_, Some(c)) => esc(c),
                    _ => String::new(),
                };
                format!(
                    "<tr data-line=\"{id}\" data-status=\"{s}\"><td>{check}</td><td><b>{bin}</b></td><td>{sku}</td><td>{name} {opt}</td>\
                     <td class=\"num\">{book}</td><td class=\"num first\">{first}</td><td class=\"num\">{counted}</td>\
                     <td class=\"{vc}\">{v}</td><td class=\"{vc}\">{value}</td><td>{counters}</td><td>{status}</td></tr>",
                    id = l["id"],
                    s = esc(l["status"].as_str().unwrap_or("")),
                    bin = esc(l["bin"].as_str().unwrap_or("")),
                    name = esc(l["name"].as_str().unwrap_or("")),
                    opt = esc(l["option"].as_str().unwrap_or("")),
                    book = l["book"],
                    first = l["first_counted"].as_i64().map(|f| f.to_string()).unwrap_or_default(),
                    counted = l["counted"],
                    vc = num_class(v),
                    value = st::money(l["value"].as_i64().unwrap_or(0)),
                    status = esc(&i18n::t(lang, &format!("stocktake.line_status.{}", l["status"].as_str().unwrap_or("")))),
                )
            })
            .collect();
        let tot = &report["totals"];
        let actions = if open {
            format!(
                "<p class=\"inline\"><label>{l_badge} <input id=\"mgr-badge\" autocomplete=\"off\"></label>\
                 <button type=\"button\" id=\"approve-selected\">{l_sel}</button>\
                 <button type=\"button\" id=\"approve-all\">{l_all}</button></p>\
                 <p class=\"inline\"><label>{l_reason} <input id=\"close-reason\" autocomplete=\"off\" size=\"40\"></label>\
                 <button type=\"button\" id=\"close\">{l_close}</button></p>",
                l_badge = t("manager_badge"),
                l_sel = t("approve_selected"),
                l_all = t("approve_all"),
                l_reason = t("close_reason"),
                l_close = t("close_button"),
            )
        } else {
            format!(
                "<p>{closed}</p><h3>{l_corr}</h3><p class=\"muted\">{corr_hint}</p><form id=\"correct-form\" class=\"inline\">\
                 <label>SKU <input id=\"c-sku\" autocomplete=\"off\"></label><label>{l_bin} <input id=\"c-bin\" autocomplete=\"off\"></label>\
                 <label>{l_qty} <input id=\"c-qty\" type=\"number\" step=\"1\"></label>\
                 <label>{l_reason} <input id=\"c-reason\" autocomplete=\"off\"></label>\
                 <label>{l_badge} <input id=\"mgr-badge\" autocomplete=\"off\"></label><button type=\"submit\">{l_corr_btn}</button></form>",
                closed = esc(&i18n::tf(
                    lang,
                    "stocktake.closed_note",
                    &[
                        ("at", cy["closed_at"].as_str().unwrap_or("")),
                        ("by", cy["closed_by"].as_str().unwrap_or("")),
                        ("reason", cy["close_reason"].as_str().unwrap_or("")),
                    ]
                )),
                l_corr = t("correction_title"),
                corr_hint = t("correction_hint"),
                l_bin = t("col.bin"),
                l_qty = t("correction_qty"),
                l_reason = t("correction_reason"),
                l_badge = t("manager_badge"),
                l_corr_btn = t("correction_button"),
            )
        };
        cycle_html = format!(
            "<section class=\"card\" id=\"cycle\" data-cycle=\"{month}\" data-open=\"{open}\"><h2>{number} · {opens} ~ {closes} · {status}</h2>\
             <section class=\"tiles\"><div class=\"tile\"><b id=\"p-counted\">{counted}</b><span>{l_counted}</span></div>\
             <div class=\"tile\"><b id=\"p-tasks\">{total}</b><span>{l_tasks}</span></div>\
             <div class=\"tile\"><b id=\"p-counting\">{counting}</b><span>{l_counting}</span></div>\
             <div class=\"tile warn\"><b id=\"p-recount\">{recount}</b><span>{l_recount}</span></div></section>\
             <p><a id=\"pdf\" href=\"/api/v1/stocktake/cycles/{month}/report.pdf?lang={lc}\">{l_pdf}</a> · \
             <a id=\"xlsx\" href=\"/api/v1/stocktake/cycles/{month}/report.xlsx?lang={lc}\">{l_xlsx}</a></p></section>\
             <section class=\"card\"><h2>{l_review}</h2>\
             <p><b>{l_loss}</b> {loss_u} / {loss_v} · <b>{l_gain}</b> {gain_u} / {gain_v} · <b>{l_net}</b> {net} · {l_lines} {vlines} / {nlines}</p>\
             <table id=\"variances\"><tr><th><input type=\"checkbox\" id=\"select-all\"></th><th>{c_bin}</th><th>SKU</th><th>{c_item}</th><th>{c_book}</th><th>{c_first}</th><th>{c_counted}</th><th>{c_var}</th><th>{c_value}</th><th>{c_counter}</th><th>{c_status}</th></tr>{lines}</table>\
             {actions}<p id=\"msg\" role=\"status\"></p></section>\
             <section class=\"card\"><h2>{l_tasks_title}</h2><table id=\"tasks\"><tr><th>{c_bin}</th><th>{c_zone}</th><th>{c_status}</th><th>{c_claimed}</th><th>{c_first_counter}</th><th>{c_counter}</th><th>{c_at}</th></tr>{tasks}</table></section>",
            number = esc(cy["number"].as_str().unwrap_or("")),
            opens = esc(cy["opens"].as_str().unwrap_or("")),
            closes = esc(cy["closes"].as_str().unwrap_or("")),
            status = esc(&i18n::t(lang, &format!("stocktake.status.{}", cy["status"].as_str().unwrap_or("")))),
            counted = p["counted"],
            total = p["tasks"],
            counting = p["counting"],
            recount = p["recount"],
            l_counted = t("progress.counted"),
            l_tasks = t("progress.tasks"),
            l_counting = t("progress.counting"),
            l_recount = t("progress.recount"),
            l_pdf = t("pdf_link"),
            l_xlsx = t("xlsx_link"),
            l_review = t("review_title"),
            l_loss = t("loss"),
            l_gain = t("gain"),
            l_net = t("net"),
            l_lines = t("variance_lines"),
            loss_u = tot["loss_units"],
            loss_v = st::money(tot["loss_value"].as_i64().unwrap_or(0)),
            gain_u = tot["gain_units"],
            gain_v = st::money(tot["gain_value"].as_i64().unwrap_or(0)),
            net = st::money(report["net_value"].as_i64().unwrap_or(0)),
            vlines = tot["variance_lines"],
            nlines = tot["lines"],
            c_bin = t("col.bin"),
            c_item = t("col.name"),
            c_book = t("col.book"),
            c_first = t("col.first_counted"),
            c_counted = t("col.counted"),
            c_var = t("col.variance"),
            c_value = t("col.value"),
            c_counter = t("col.counter"),
            c_status = t("col.status"),
            c_zone = t("col.zone"),
            c_claimed = t("col.claimed_by"),
            c_first_counter = t("col.first_counter"),
            c_at = t("col.counted_at"),
            l_tasks_title = t("tasks_title"),
        );
    }
    let hist_rows: String = history
        .iter()
        .map(|s| {
            format!(
                "<tr><td><a href=\"/manager/stocktake?cycle={m}&lang={lc}\">{n}</a></td><td>{st}</td><td class=\"num\">{c} / {tk}</td>\
                 <td class=\"num neg\">{loss}</td><td class=\"num pos\">{gain}</td><td class=\"num\">{net}</td><td>{closed}</td>\
                 <td><a href=\"/api/v1/stocktake/cycles/{m}/report.pdf?lang={lc}\">PDF</a> · <a href=\"/api/v1/stocktake/cycles/{m}/report.xlsx?lang={lc}\">XLSX</a></td></tr>",
                m = esc(&s.cycle.month),
                n = esc(&s.cycle.number),
                st = esc(&i18n::t(lang, &format!("stocktake.status.{}", s.cycle.status))),
                c = s.counted,
                tk = s.tasks,
                loss = st::money(s.totals.approved_loss_value),
                gain = st::money(s.totals.approved_gain_value),
                net = st::money(s.totals.approved_loss_value + s.totals.approved_gain_value),
                closed = esc(s.cycle.closed_at.as_deref().unwrap_or("")),
            )
        })
        .collect();
    let hist = if history.is_empty() {
        format!("<p class=\"muted\">{}</p>", t("no_history"))
    } else {
        format!(
            "<table id=\"history\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>{hist_rows}</table>",
            t("col.cycle"),
            t("col.status"),
            t("progress.counted"),
            t("approved_loss"),
            t("approved_gain"),
            t("net"),
            t("col.closed_at"),
        )
    };
    let msgs = json!({
        "nothing_selected": i18n::t(lang, "stocktake.refusal.nothing_selected"),
    })
    .to_string()
    .replace("</", "<\\/");
    let body = format!(
        "<header class=\"top\"><b>{wh}</b><nav><a href=\"/manager?lang={lc}\">{l_manager}</a> {sw}</nav></header>\
         <main class=\"stocktake\" data-lang=\"{lc}\"><h1>{title}</h1>{banner}\
         <p>{window_text} · <a href=\"/stocktake?lang={lc}\">{l_counter}</a></p>{open_card}{cycle_html}\
         <section class=\"card\"><h2>{l_history}</h2><img src=\"/manager/stocktake/shrinkage.svg?lang={lc}\" alt=\"{l_chart}\" width=\"720\" height=\"220\">{hist}</section>\
         </main><script>const M={msgs};{js}</script>",
        wh = esc(&app.config.warehouse.name),
        l_manager = esc(&i18n::t(lang, "manager.title")),
        sw = lang_switch(lang, "/manager/stocktake"),
        title = t("title"),
        banner = banner_html(&status, lang),
        window_text = esc(&i18n::tf(
            lang,
            "stocktake.window_text",
            &[
                ("opens", status["window"]["opens"].as_str().unwrap_or("")),
                ("closes", status["window"]["closes"].as_str().unwrap_or("")),
                ("tz", status["window"]["time_zone"].as_str().unwrap_or("")),
            ]
        )),
        l_counter = t("counter_link"),
        l_history = t("history_title"),
        l_chart = t("chart_title"),
        js = MANAGER_JS,
    );
    Ok(page(
        lang,
        &i18n::t(lang, "stocktake.title"),
        MANAGER_CSS,
        &body,
    ))
}

const MANAGER_JS: &str = r#"
(() => {
  const main = document.querySelector('main.stocktake'), lang = main.dataset.lang;
  const $ = (id) => document.getElementById(id);
  const sec = $('cycle'), cycle = sec && sec.dataset.cycle;
  const msg = $('msg');
  const say = (o) => { if (!msg) return; msg.textContent = o.message || ''; msg.dataset.code = o.code || o.action || '';
                       msg.className = o.verdict === 'accepted' ? 'ok' : 'bad'; };
  const post = async (path, body) => {
    const r = await fetch(path + '?lang=' + lang, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const o = await r.json();
    if (!r.ok && !o.verdict) return { verdict: 'refused', code: o.code, message: o.message };
    return o;
  };
  const after = (o) => { say(o); if (o.verdict === 'accepted') setTimeout(() => location.reload(), 700); };
  const badge = () => ($('mgr-badge') || {}).value ? $('mgr-badge').value.trim() : '';
  const of = $('open-form');
  if (of) of.addEventListener('submit', async (e) => {
    e.preventDefault();
    const zones = [...document.querySelectorAll('input.zone:checked')].map((b) => b.value);
    const o = await post('/api/v1/stocktake/cycles', { badge: $('open-badge').value.trim(), zones });
    const m = $('open-msg'); m.textContent = o.message || ''; m.dataset.code = o.code || o.action || '';
    if (o.verdict === 'accepted') location.href = '/manager/stocktake?cycle=' + o.month + '&lang=' + lang;
  });
  const all = $('select-all');
  if (all) all.addEventListener('change', () => document.querySelectorAll('input.approve').forEach((b) => { b.checked = all.checked; }));
  const as = $('approve-selected');
  if (as) as.addEventListener('click', async () => {
    const lines = [...document.querySelectorAll('input.approve:checked')].map((b) => parseInt(b.value, 10));
    if (!lines.length) { say({ verdict: 'refused', message: M.nothing_selected }); return; }
    after(await post(`/api/v1/stocktake/cycles/${cycle}/approve`, { badge: badge(), lines }));
  });
  const aa = $('approve-all');
  if (aa) aa.addEventListener('click', async () => after(await post(`/api/v1/stocktake/cycles/${cycle}/approve`, { badge: badge(), all: true })));
  const cl = $('close');
  if (cl) cl.addEventListener('click', async () => after(await post(`/api/v1/stocktake/cycles/${cycle}/close`, { badge: badge(), reason: $('close-reason').value })));
  const cf = $('correct-form');
  if (cf) cf.addEventListener('submit', async (e) => {
    e.preventDefault();
    after(await post(`/api/v1/stocktake/cycles/${cycle}/corrections`, { badge: badge(), sku: $('c-sku').value.trim(),
      bin: $('c-bin').value.trim(), qty: parseInt($('c-qty').value, 10) || 0, reason: $('c-reason').value }));
  });
  // The live count: progress every 5 s while the cycle is open.
  if (sec && sec.dataset.open === 'true') setInterval(async () => {
    if (document.hidden) return;
    const r = await fetch(`/api/v1/stocktake/cycles/${cycle}?lang=${lang}`);
    if (!r.ok) return;
    const v = await r.json();
    for (const k of ['counted', 'tasks', 'counting', 'recount']) { const el = $('p-' + k); if (el) el.textContent = v.progress[k]; }
  }, 5000);
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_draws_loss_below_and_gain_above_the_axis() {
        let months = vec![
            st::MonthShrinkage {
                month: "2026-10".into(),
                loss_value: -8000,
                gain_value: 2000,
            },
            st::MonthShrinkage {
                month: "2026-11".into(),
                loss_value: -4000,
                gain_value: 0,
            },
        ];
        let svg = shrinkage_chart(&months, "t", "none");
        assert_eq!(svg.matches("class=\"loss\"").count(), 2);
        assert!(
            svg.contains("height=\"80\""),
            "the biggest loss fills half: {svg}"
        );
        assert!(svg.contains("height=\"40\""));
        assert!(svg.contains("height=\"20\""));
        assert!(svg.contains("-8,000"));
        assert!(shrinkage_chart(&[], "t", "nothing yet").contains("nothing yet"));
    }

    #[test]
    fn the_banner_says_nothing_when_there_is_nothing_to_say() {
        let none = json!({ "alert": { "kind": "none", "message": "" } });
        assert_eq!(banner_html(&none, Lang::En), "");
        let overdue = json!({ "alert": { "kind": "overdue", "message": "<late>" } });
        let b = banner_html(&overdue, Lang::En);
        assert!(
            b.contains("data-kind=\"overdue\"") && b.contains("&lt;late&gt;"),
            "{b}"
        );
    }
}
