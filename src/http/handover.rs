//! HTTP handlers and pages of the hand-over workflow: the manifest API under
//! `/api/v1/manifests`, the dispatch file download `/api/v1/dispatch`, and the hand-over page
//! `/manager/handover` where the parcels are scanned onto a manifest at the dock. The page is
//! rendered on the server; its script posts scans to the same API and swaps in the live part
//! of the page (`?part=live`) after each one, so every string still comes from the catalogue.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::esc;
use super::{lang_of, AppError, State};
use crate::exports::dispatch::{self, SheetKind};
use crate::i18n::{self, Lang};
use crate::service::App;
use crate::storage::handover::{self as store, ManifestView};

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/manifests", get(list).post(open))
        .route("/api/v1/manifests/awaiting", get(awaiting))
        .route("/api/v1/manifests/{number}", get(show))
        .route("/api/v1/manifests/{number}/scan", post(scan))
        .route("/api/v1/manifests/{number}/remove", post(remove))
        .route("/api/v1/manifests/{number}/close", post(close))
        .route("/api/v1/manifests/{number}/pdf", get(pdf))
        .route(
            "/api/v1/shipments/{waybill}/handover",
            get(shipment_handover),
        )
        .route("/api/v1/dispatch", get(dispatch_file))
        .route("/manager/handover", get(page))
}

fn lang(q: &Q, h: &HeaderMap) -> Lang {
    lang_of(q.get("lang").map(String::as_str), h)
}

fn outcome(o: crate::service::Outcome) -> Json<Value> {
    Json(serde_json::to_value(o).unwrap_or_default())
}

async fn list(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let status = q
        .get("status")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let manifests = app.manifests(status).await?;
    Ok(Json(json!({ "manifests": manifests })))
}

#[derive(Deserialize)]
struct OpenBody {
    courier: String,
    #[serde(default)]
    badge: String,
    #[serde(default)]
    station: Option<String>,
}

async fn open(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<OpenBody>,
) -> Result<Json<Value>, AppError> {
    Ok(outcome(
        app.open_manifest(&b.courier, &b.badge, b.station.as_deref(), lang(&q, &h))
            .await?,
    ))
}

async fn awaiting(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let parcels = app
        .awaiting_handover(
            q.get("courier")
                .map(String::as_str)
                .filter(|s| !s.is_empty()),
            q.get("date").map(String::as_str),
        )
        .await?;
    Ok(Json(json!({ "count": parcels.len(), "parcels": parcels })))
}

async fn show(
    AxState(app): AxState<State>,
    Path(number): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let v = app.manifest_view(&number, lang).await?;
    let mut out = serde_json::to_value(&v).unwrap_or_default();
    out["courier_name"] = json!(app.courier_name(&v.manifest.courier, lang.code()));
    out["pdf_url"] = json!(pdf_url(&v));
    Ok(Json(out))
}

#[derive(Deserialize)]
struct ScanBody {
    code: String,
    #[serde(default)]
    badge: String,
    #[serde(default)]
    station: Option<String>,
}

async fn scan(
    AxState(app): AxState<State>,
    Path(number): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ScanBody>,
) -> Result<Json<Value>, AppError> {
    Ok(outcome(
        app.manifest_scan(
            &number,
            &b.code,
            &b.badge,
            b.station.as_deref(),
            lang(&q, &h),
        )
        .await?,
    ))
}

#[derive(Deserialize)]
struct RemoveBody {
    waybill: String,
    #[serde(default)]
    badge: String,
    #[serde(default)]
    station: Option<String>,
}

async fn remove(
    AxState(app): AxState<State>,
    Path(number): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<RemoveBody>,
) -> Result<Json<Value>, AppError> {
    Ok(outcome(
        app.manifest_remove(
            &number,
            &b.waybill,
            &b.badge,
            b.station.as_deref(),
            lang(&q, &h),
        )
        .await?,
    ))
}

#[derive(Deserialize)]
struct CloseBody {
    #[serde(default)]
    badge: String,
    /// A manager's badge confirming that parcels packed that day are left off.
    #[serde(default)]
    confirm_badge: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    station: Option<String>,
}

async fn close(
    AxState(app): AxState<State>,
    Path(number): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<CloseBody>,
) -> Result<Json<Value>, AppError> {
    Ok(outcome(
        app.close_manifest(
            &number,
            &b.badge,
            b.station.as_deref(),
            b.confirm_badge.as_deref(),
            &b.reason,
            lang(&q, &h),
        )
        .await?,
    ))
}

async fn pdf(
    AxState(app): AxState<State>,
    Path(number): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let bytes = app.manifest_pdf(&number, lang(&q, &h)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.pdf\"", number.replace('"', "")),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn shipment_handover(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
) -> Result<Json<Value>, AppError> {
    let wb = waybill.clone();
    let found = app
        .db
        .read(move |c| store::shipment_handover(c, &wb))
        .await?;
    Ok(Json(match found {
        Some((manifest, at)) => {
            json!({ "waybill": waybill, "manifest": manifest, "handed_over_at": at })
        }
        None => json!({ "waybill": waybill, "manifest": null, "handed_over_at": null }),
    }))
}

/// `GET /api/v1/dispatch?channel=smartstore|coupang|taobao&date=YYYY-MM-DD&format=csv|xlsx`
async fn dispatch_file(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let format = q.get("format").map(String::as_str).unwrap_or("xlsx");
    let kind = SheetKind::parse(format).ok_or_else(|| {
        AppError::bad_request(
            "bad_format",
            i18n::tf(lang, "handover.bad_format", &[("format", format)]),
        )
    })?;
    let channel = q.get("channel").map(String::as_str).unwrap_or("");
    let date = q.get("date").map(String::as_str);
    let f = app.dispatch_file(channel, date, kind, lang).await?;
    Ok((
        [
            (header::CONTENT_TYPE, f.content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", f.file_name),
            ),
            (
                header::HeaderName::from_static("x-dispatch-rows"),
                f.rows.to_string(),
            ),
        ],
        f.bytes,
    )
        .into_response())
}

/// Where a closed manifest's PDF is downloaded (none while it is open).
fn pdf_url(v: &ManifestView) -> Option<String> {
    (v.manifest.status == "closed").then(|| format!("/api/v1/manifests/{}/pdf", v.manifest.number))
}

// ----- the page -------------------------------------------------------------------------

const CSS: &str = "
.handover .scanrow{display:flex;gap:.6rem;align-items:center;flex-wrap:wrap}
.handover #scan{font-size:1.6rem;padding:.4rem .6rem;min-width:18rem}
.handover .who{font-size:1.1rem}
.handover .totals{display:flex;gap:2rem;font-size:1.3rem}
.handover .totals b{font-size:2.6rem;display:block}
.handover #msg{padding:.6rem 1rem;border-radius:.4rem;font-size:1.3rem;margin:.6rem 0}
.handover #msg.ok{background:#dcfce7;color:#14532d}
.handover #msg.warn{background:#fef3c7;color:#78350f}
.handover #msg.bad{background:#fee2e2;color:#7f1d1d}
.handover tr.void td{text-decoration:line-through;color:#991b1b}
.handover .missing{border-left:.4rem solid #d97706}
.handover .stray{border-left:.4rem solid #dc2626}
.handover #confirm input{font-size:1.1rem;margin:.2rem .4rem}
.handover form.inline{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap}
";

fn frame(lang: Lang, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{css}{own}</style></head><body>{body}</body></html>",
        l = lang.code(),
        t = esc(title),
        css = include_str!("page.css"),
        own = CSS,
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

fn switch(lang: Lang, query: &str) -> String {
    Lang::ALL
        .iter()
        .map(|l| {
            let cur = if *l == lang { " class=\"cur\"" } else { "" };
            format!(
                "<a href=\"/manager/handover?{query}lang={c}\"{cur}>{}</a>",
                esc(&i18n::t(*l, "lang.name")),
                c = l.code()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `/manager/handover`: the open and closed manifests, opening one, the dispatch files;
/// `?manifest=NUMBER`: that manifest, its scan field and its live lists.
async fn page(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, &format!("handover.{k}")));
    let number = q
        .get("manifest")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty());
    if let Some(number) = number {
        let v = app.manifest_view(number, lang).await?;
        let live = live_part(&app, &v, lang);
        if q.get("part").map(String::as_str) == Some("live") {
            return Ok(Html(live).into_response());
        }
        let scan = if v.manifest.status == "open" {
            format!(
                "<section class=\"card\"><form id=\"scan-form\" class=\"scanrow\" autocomplete=\"off\">\
                 <label for=\"scan\">{l_scan}</label><input id=\"scan\" name=\"code\" placeholder=\"{hint}\" autofocus>\
                 <span class=\"who\">{l_op}: <b id=\"operator\">{nobody}</b></span></form>\
                 <div id=\"msg\" hidden></div>\
                 <p><button id=\"close\" type=\"button\">{l_close}</button></p>\
                 <form id=\"confirm\" hidden><h3>{l_confirm_title}</h3><p id=\"missing-list\"></p>\
                 <label>{l_mgr} <input id=\"mgr\" autocomplete=\"off\"></label>\
                 <label>{l_reason} <input id=\"reason\" autocomplete=\"off\"></label>\
                 <button id=\"confirm-close\" type=\"submit\">{l_confirm}</button></form></section>",
                l_scan = t("scan"),
                hint = t("scan_hint"),
                l_op = t("operator"),
                nobody = t("nobody"),
                l_close = t("close"),
                l_confirm_title = t("confirm_title"),
                l_mgr = t("manager_badge"),
                l_reason = t("reason"),
                l_confirm = t("confirm"),
            )
        } else {
            "<div id=\"msg\" hidden></div>".to_string()
        };
        let body = format!(
            "<header class=\"top\"><b>{wh}</b><nav><a href=\"/manager/handover?lang={lc}\">{back}</a> {sw}</nav></header>\
             <main class=\"handover\" data-manifest=\"{num}\" data-lang=\"{lc}\">\
             <h1>{l_manifest} <code>{num}</code> · {courier}</h1>{scan}<div id=\"live\">{live}</div></main>\
             <script>{js}</script>",
            wh = esc(&app.config.warehouse.name),
            lc = lang.code(),
            back = t("back"),
            sw = switch(lang, &format!("manifest={}&", esc(number))),
            l_manifest = t("manifest"),
            num = esc(&v.manifest.number),
            courier = esc(&app.courier_name(&v.manifest.courier, lang.code())),
            js = MANIFEST_JS,
        );
        return Ok(frame(
            lang,
            &format!(
                "{} {}",
                i18n::t(lang, "handover.manifest"),
                v.manifest.number
            ),
            &body,
        ));
    }

    let open = app.manifests(Some("open")).await?;
    let closed = app.manifests(Some("closed")).await?;
    let awaiting = app.awaiting_handover(None, None).await?;
    let mut per_courier: Vec<(String, usize, i64)> = Vec::new();
    for p in &awaiting {
        match per_courier.iter_mut().find(|(c, _, _)| *c == p.courier) {
            Some(e) => {
                e.1 += 1;
                e.2 += p.measured_grams;
            }
            None => per_courier.push((p.courier.clone(), 1, p.measured_grams)),
        }
    }
    let courier_name = |c: &str| {
        crate::domain::waybill::rule(&app.rules, c)
            .map(|r| r.name(lang.code()).to_string())
            .unwrap_or_else(|| c.to_string())
    };
    let awaiting_rows: String = per_courier
        .iter()
        .map(|(c, n, g)| {
            format!(
                "<tr data-courier=\"{c}\"><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{g}</td></tr>",
                esc(&courier_name(c)),
                c = esc(c)
            )
        })
        .collect();
    let row = |m: &store::Manifest| {
        let pdf = if m.status == "closed" {
            format!(
                "<a href=\"/api/v1/manifests/{n}/pdf\">{}</a>",
                t("pdf"),
                n = esc(&m.number)
            )
        } else {
            String::new()
        };
        format!(
            "<tr><td><a href=\"/manager/handover?manifest={n}&lang={lc}\"><code>{n}</code></a></td><td>{c}</td>\
             <td class=\"num\">{p}</td><td class=\"num\">{g}</td><td>{o}</td><td>{cl}</td><td>{pdf}</td></tr>",
            n = esc(&m.number),
            lc = lang.code(),
            c = esc(&courier_name(&m.courier)),
            p = m.parcels,
            g = m.total_grams,
            o = esc(&local_time(&app, &m.opened_at)),
            cl = esc(&m.closed_at.as_deref().map(|t| local_time(&app, t)).unwrap_or_default()),
        )
    };
    let head = format!(
        "<tr><th>{}</th><th>{}</th><th>{}</th><th>{} ({})</th><th>{}</th><th>{}</th><th></th></tr>",
        t("manifest"),
        t("courier"),
        t("parcels"),
        t("weight"),
        t("grams"),
        t("opened_at"),
        t("closed_at")
    );
    let couriers: String = app
        .rules
        .iter()
        .map(|r| {
            let sel = if r.code == app.config.warehouse.default_courier {
                " selected"
            } else {
                ""
            };
            format!(
                "<option value=\"{c}\"{sel}>{}</option>",
                esc(r.name(lang.code())),
                c = esc(&r.code)
            )
        })
        .collect();
    let channels: String = dispatch::format_names()
        .iter()
        .map(|c| format!("<option value=\"{c}\">{c}</option>"))
        .collect();
    let (today, _, _) =
        dispatch::day_bounds(&app.config.warehouse.timezone, None).map_err(AppError::internal)?;
    let body = format!(
        "<header class=\"top\"><b>{wh}</b><nav><a href=\"/manager?lang={lc}\">{mgr}</a> {sw}</nav></header>\
         <main class=\"handover\" data-lang=\"{lc}\"><h1>{title}</h1>\
         <section class=\"card\"><h2>{l_open_title}</h2><form id=\"open-form\" class=\"inline\">\
         <label>{l_courier} <select id=\"courier\">{couriers}</select></label>\
         <label>{l_badge} <input id=\"badge\" autocomplete=\"off\"></label>\
         <button type=\"submit\">{l_open}</button></form><div id=\"msg\" hidden></div></section>\
         <section class=\"card\"><h2>{l_awaiting}</h2><table id=\"awaiting\"><tr><th>{l_courier}</th><th>{l_parcels}</th><th>{l_weight} ({l_g})</th></tr>{awaiting_rows}</table></section>\
         <section class=\"card\"><h2>{l_open_m}</h2><table id=\"open-manifests\">{head}{open_rows}</table></section>\
         <section class=\"card\"><h2>{l_closed_m}</h2><table id=\"closed-manifests\">{head}{closed_rows}</table></section>\
         <section class=\"card\"><h2>{l_dispatch}</h2><p>{l_dispatch_hint}</p>\
         <form id=\"dispatch-form\" class=\"inline\" method=\"get\" action=\"/api/v1/dispatch\">\
         <label>{l_channel} <select name=\"channel\">{channels}</select></label>\
         <label>{l_date} <input type=\"date\" name=\"date\" value=\"{today}\"></label>\
         <label>{l_file} <select name=\"format\"><option value=\"xlsx\">XLSX</option><option value=\"csv\">CSV</option></select></label>\
         <input type=\"hidden\" name=\"lang\" value=\"{lc}\"><button type=\"submit\">{l_download}</button></form></section>\
         </main><script>{js}</script>",
        wh = esc(&app.config.warehouse.name),
        lc = lang.code(),
        mgr = esc(&i18n::t(lang, "manager.title")),
        sw = switch(lang, ""),
        title = t("title"),
        l_open_title = t("open_title"),
        l_courier = t("courier"),
        l_badge = esc(&i18n::t(lang, "start.badge")),
        l_open = t("open_button"),
        l_awaiting = t("awaiting"),
        l_parcels = t("parcels"),
        l_weight = t("weight"),
        l_g = t("grams"),
        l_open_m = t("open_manifests"),
        l_closed_m = t("closed_manifests"),
        open_rows = open.iter().map(row).collect::<String>(),
        closed_rows = closed.iter().map(row).collect::<String>(),
        l_dispatch = t("dispatch_title"),
        l_dispatch_hint = t("dispatch_hint"),
        l_channel = t("channel"),
        l_date = t("date"),
        l_file = t("file_type"),
        l_download = t("download"),
        js = LIST_JS,
    );
    Ok(frame(lang, &i18n::t(lang, "handover.title"), &body))
}

/// The part of a manifest's page that changes with each scan: totals and the three lists.
fn live_part(app: &App, v: &ManifestView, lang: Lang) -> String {
    let t = |k: &str| esc(&i18n::t(lang, &format!("handover.{k}")));
    let m = &v.manifest;
    let total: i64 = v.parcels_on.iter().map(|p| p.measured_grams).sum();
    let none = |cols: usize| format!("<tr><td colspan=\"{cols}\">{}</td></tr>", t("none"));
    let on: String = if v.parcels_on.is_empty() {
        none(5)
    } else {
        v.parcels_on
            .iter()
            .map(|p| {
                format!(
                    "<tr data-waybill=\"{w}\" class=\"{cls}\"><td class=\"num\">{n}</td><td><code>{w}</code></td><td>{o}</td><td class=\"num\">{g}</td><td>{at}</td></tr>",
                    w = esc(&p.waybill),
                    cls = if p.status == "void" { "void" } else { "" },
                    n = p.seq,
                    o = esc(&p.orders.join(", ")),
                    g = p.measured_grams,
                    at = esc(&local_time(app, &p.scanned_at)),
                )
            })
            .collect()
    };
    let pending: String = if v.not_on_manifest.is_empty() {
        none(4)
    } else {
        v.not_on_manifest
            .iter()
            .map(|p| {
                format!(
                    "<tr data-waybill=\"{w}\"><td><code>{w}</code></td><td>{o}</td><td class=\"num\">{g}</td><td>{at} · {st}</td></tr>",
                    w = esc(&p.waybill),
                    o = esc(&p.orders.join(", ")),
                    g = p.measured_grams,
                    at = esc(&local_time(app, &p.packed_at)),
                    st = esc(&p.station),
                )
            })
            .collect()
    };
    let strays: String = if v.strays.is_empty() {
        none(3)
    } else {
        v.strays
            .iter()
            .map(|s| {
                let why = if s.reason == "void" { t("stray_void") } else { t("stray_unknown") };
                format!(
                    "<tr data-code=\"{c}\"><td><code>{c}</code></td><td>{why}</td><td>{at} · {by}</td></tr>",
                    c = esc(&s.code),
                    at = esc(&local_time(app, &s.scanned_at)),
                    by = esc(&s.scanned_by),
                )
            })
            .collect()
    };
    let status = if m.status == "closed" {
        let by = app
            .config
            .operator(&m.closed_by)
            .map(|o| o.name.clone())
            .unwrap_or_else(|| m.closed_by.clone());
        let mut s = format!(
            "<p id=\"read-only\">{}</p>",
            esc(&i18n::tf(
                lang,
                "handover.read_only",
                &[
                    (
                        "closed_at",
                        &m.closed_at
                            .as_deref()
                            .map(|t| local_time(app, t))
                            .unwrap_or_default()
                    ),
                    ("closed_by", &by)
                ]
            ))
        );
        if !m.missing.is_empty() {
            s.push_str(&format!(
                "<p class=\"missing\">{}</p>",
                esc(&i18n::tf(
                    lang,
                    "handover.missing_confirmed",
                    &[
                        ("by", &m.confirmed_by),
                        ("reason", &m.reason),
                        ("waybills", &m.missing.join(", "))
                    ]
                ))
            ));
        }
        if let Some(url) = &pdf_url(v) {
            s.push_str(&format!(
                "<p><a id=\"pdf\" href=\"{}\">{}</a></p>",
                esc(url),
                t("pdf")
            ));
        }
        s
    } else {
        String::new()
    };
    format!(
        "<section class=\"card\" data-status=\"{st}\"><div class=\"totals\">\
         <div><b id=\"count\">{count}</b>{l_parcels}</div><div><b id=\"total\">{total}</b>{l_weight} ({l_g})</div></div>{status}</section>\
         <section class=\"card\"><h2>{l_on}</h2><table id=\"on-manifest\"><tr><th>#</th><th>{l_wb}</th><th>{l_orders}</th><th>{l_g}</th><th>{l_scanned}</th></tr>{on}</table></section>\
         <section class=\"card missing\"><h2>{l_pending}</h2><table id=\"not-on-manifest\"><tr><th>{l_wb}</th><th>{l_orders}</th><th>{l_g}</th><th>{l_packed}</th></tr>{pending}</table></section>\
         <section class=\"card stray\"><h2>{l_strays}</h2><table id=\"strays\"><tr><th>{l_code}</th><th>{l_why}</th><th></th></tr>{strays}</table></section>",
        st = esc(&m.status),
        count = v.parcels_on.len(),
        l_parcels = t("parcels"),
        l_weight = t("weight"),
        l_g = t("grams"),
        l_on = t("on_manifest"),
        l_wb = t("waybill"),
        l_orders = t("orders"),
        l_scanned = t("scanned_at"),
        l_pending = t("not_on_manifest_title"),
        l_packed = t("packed_at"),
        l_strays = t("strays"),
        l_code = t("code"),
        l_why = t("why"),
    )
}

/// A stored UTC time as the warehouse's local `YYYY-MM-DD HH:MM`.
fn local_time(app: &App, at: &str) -> String {
    let tz =
        jiff::tz::TimeZone::get(&app.config.warehouse.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    at.parse::<jiff::Timestamp>()
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| at.to_string())
}

/// The manifest page's script: the badge scanned first is who scans (kept for the tab),
/// each code goes to the scan API, the verdict is shown and the live part reloaded;
/// closing asks for a manager's badge and a reason when parcels are missing.
const MANIFEST_JS: &str = r#"
(() => {
  const main = document.querySelector('main.handover');
  const num = main.dataset.manifest, lang = main.dataset.lang;
  const api = (p) => `/api/v1/manifests/${encodeURIComponent(num)}${p}?lang=${lang}`;
  const msg = document.getElementById('msg');
  const scan = document.getElementById('scan');
  const who = document.getElementById('operator');
  let badge = sessionStorage.getItem('handover_badge') || '';
  if (badge && who) who.textContent = sessionStorage.getItem('handover_name') || badge;
  const show = (o) => {
    msg.hidden = false;
    msg.textContent = o.message;
    msg.dataset.code = o.code || o.action || '';
    msg.className = o.verdict === 'refused' ? 'bad' : (o.action === 'already_on_manifest' ? 'warn' : 'ok');
  };
  const post = async (path, body) => {
    const r = await fetch(api(path), { method: 'POST', headers: { 'content-type': 'application/json' },
                                      body: JSON.stringify(body) });
    const o = await r.json();
    if (!r.ok) return { verdict: 'refused', code: o.code, message: o.message };
    return o;
  };
  const reload = async () => {
    const r = await fetch(`/manager/handover?manifest=${encodeURIComponent(num)}&part=live&lang=${lang}`);
    if (r.ok) document.getElementById('live').innerHTML = await r.text();
  };
  const focus = () => { if (scan && document.activeElement !== scan && !document.getElementById('confirm').contains(document.activeElement)) scan.focus(); };
  if (scan) {
    document.addEventListener('click', () => setTimeout(focus, 0));
    document.getElementById('scan-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const code = scan.value.trim();
      scan.value = '';
      if (!code) return;
      const o = await post('/scan', { code, badge });
      if (o.action === 'signed_in') {
        badge = o.badge;
        sessionStorage.setItem('handover_badge', badge);
        sessionStorage.setItem('handover_name', o.operator);
        who.textContent = o.operator;
      }
      show(o);
      await reload();
    });
    const confirm = document.getElementById('confirm');
    const close = async (extra) => {
      const o = await post('/close', Object.assign({ badge }, extra));
      show(o);
      if (o.verdict === 'accepted') {
        location.href = `/manager/handover?manifest=${encodeURIComponent(num)}&lang=${lang}`;
        return;
      }
      if (o.missing && o.missing.length) {
        confirm.hidden = false;
        document.getElementById('missing-list').textContent = o.missing.join(', ');
        document.getElementById('mgr').focus();
      }
      await reload();
    };
    document.getElementById('close').addEventListener('click', (e) => { e.stopPropagation(); close({}); });
    confirm.addEventListener('click', (e) => e.stopPropagation());
    confirm.addEventListener('submit', (e) => {
      e.preventDefault();
      close({ confirm_badge: document.getElementById('mgr').value.trim(),
              reason: document.getElementById('reason').value.trim() });
    });
    focus();
  }
})();
"#;

/// The list page's script: opening a manifest with the badge typed or scanned.
const LIST_JS: &str = r#"
(() => {
  const lang = document.querySelector('main.handover').dataset.lang;
  const badge = document.getElementById('badge');
  badge.value = sessionStorage.getItem('handover_badge') || '';
  const msg = document.getElementById('msg');
  document.getElementById('open-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch(`/api/v1/manifests?lang=${lang}`, { method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ courier: document.getElementById('courier').value, badge: badge.value.trim() }) });
    const o = await r.json();
    if (r.ok && o.verdict === 'accepted') {
      sessionStorage.setItem('handover_badge', badge.value.trim());
      location.href = `/manager/handover?manifest=${encodeURIComponent(o.manifest)}&lang=${lang}`;
      return;
    }
    msg.hidden = false;
    msg.className = 'bad';
    msg.textContent = o.message;
  });
})();
"#;
