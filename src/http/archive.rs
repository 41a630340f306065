//! HTTP handlers and pages of the waybill archive: the search API
//! (`GET /api/v1/archive/shipments`), a manager's status change, the sealing state, the
//! archive page `/manager/archive` (search form and results, history import, seals) and the
//! shipment page `/manager/archive/{waybill}` (contents, weights, packer, the label as
//! printed, events, hand-over, photos, claims, corrections). Searches are plain GET forms
//! rendered on the server; the two actions post to the JSON API.

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
use crate::service::archive::{SearchForm, SearchPage, SearchRefusal};
use crate::service::App;
use crate::storage;
use crate::storage::archive::{self as store, ArchiveFacts, STATUSES};

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/archive/shipments", get(search))
        .route(
            "/api/v1/archive/shipments/{waybill}/status",
            post(set_status),
        )
        .route("/api/v1/archive/status", get(status))
        .route("/manager/archive", get(archive_page))
        .route("/manager/archive/{waybill}", get(shipment_page))
}

fn lang(q: &Q, h: &HeaderMap) -> Lang {
    lang_of(q.get("lang").map(String::as_str), h)
}

fn form_of(q: &Q) -> SearchForm {
    let s = |k: &str| q.get(k).cloned().unwrap_or_default();
    SearchForm {
        waybill: s("waybill"),
        order_no: s("order_no"),
        name: s("name"),
        phone: s("phone"),
        from: s("from"),
        to: s("to"),
        courier: s("courier"),
        status: s("status"),
        imported: s("imported"),
        page: q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1),
        per_page: q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(50),
    }
}

fn refusal(r: SearchRefusal) -> AppError {
    AppError::bad_request(r.code, r.message).with_detail(json!({ "field": r.field }))
}

/// `GET /api/v1/archive/shipments?waybill=&order_no=&name=&phone=&from=&to=&courier=&status=&imported=&page=&per_page=`
async fn search(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let query = app.archive_query(&form_of(&q), lang).map_err(refusal)?;
    let page = app.archive_search(query).await?;
    Ok(Json(serde_json::to_value(page).unwrap_or_default()))
}

#[derive(Deserialize)]
struct StatusBody {
    #[serde(default)]
    badge: String,
    status: String,
    #[serde(default)]
    reason: String,
}

/// `POST /api/v1/archive/shipments/{waybill}/status` `{badge, status, reason}` (manager).
async fn set_status(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<StatusBody>,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let o = app
        .set_shipment_status(&waybill, &b.status, &b.reason, b.badge.trim(), lang)
        .await?;
    let code = if o.verdict == "refused" {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    Ok((code, Json(serde_json::to_value(o).unwrap_or_default())).into_response())
}

/// `GET /api/v1/archive/status`: days sealed, the last seal, corrections, retention.
async fn status(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    let s = app.archive_status().await?;
    let mut v = serde_json::to_value(&s).unwrap_or_default();
    v["retention_years"] = json!(app.config.archive.retention_years);
    v["seal_after_days"] = json!(crate::domain::seal::SEAL_AFTER_DAYS);
    Ok(Json(v))
}

/// Adds the archive's facts to the shipment JSON of `GET /api/v1/shipments/{waybill}`.
pub(super) async fn extend_shipment(app: &App, v: &mut Value) -> Result<(), AppError> {
    let Some(w) = v["waybill"].as_str().map(str::to_string) else {
        return Ok(());
    };
    if let Some(f) = app.archive_facts(&w).await? {
        v["archive"] = serde_json::to_value(&f).unwrap_or_default();
    }
    Ok(())
}

// ----- pages --------------------------------------------------------------------------------

const CSS: &str = "
.archive form.search{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end}
.archive form label{display:flex;flex-direction:column;font-size:.9rem;gap:.15rem}
.archive form input,.archive form select{font:inherit;padding:.3rem .4rem}
.archive .facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem;margin:0}
.archive .facts dt{color:var(--muted)}
.archive .facts dd{margin:0}
.archive .status{padding:.1rem .5rem;border-radius:.3rem;background:#e5e7eb}
.archive .status.void,.archive .status.lost,.archive .status.damaged,.archive .status.undeliverable{background:#fee2e2;color:#7f1d1d}
.archive .status.returned{background:#fef3c7;color:#78350f}
.archive .status.shipped{background:#dcfce7;color:#14532d}
.archive .imported{font-size:.8rem;padding:.05rem .4rem;border:1px solid #94a3b8;border-radius:.3rem;color:#475569}
.archive .bad{color:#b91c1c}.archive .ok{color:#15803d}
.archive .photos{display:flex;flex-wrap:wrap;gap:.6rem}
.archive .photos img{height:8rem;border:1px solid #ccc}
.archive .pager{display:flex;gap:1rem}
.archive code.hash{font-size:.8rem;word-break:break-all}
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

/// Language links that keep the page's own query.
fn switch(lang: Lang, path: &str, query: &str) -> String {
    Lang::ALL
        .iter()
        .map(|l| {
            let cur = if *l == lang { " class=\"cur\"" } else { "" };
            format!(
                "<a href=\"{path}?{query}lang={c}\" data-lang=\"{c}\"{cur}>{}</a>",
                esc(&i18n::t(*l, "lang.name")),
                c = l.code()
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn top(app: &App, lang: Lang, path: &str, query: &str) -> String {
    format!(
        "<header class=\"top\"><b>{wh}</b><a href=\"/manager?lang={lc}\">{mgr}</a>\
         <a href=\"/manager/archive?lang={lc}\">{arch}</a><nav>{sw}</nav></header>",
        wh = esc(&app.config.warehouse.name),
        lc = lang.code(),
        mgr = esc(&i18n::t(lang, "manager.title")),
        arch = esc(&i18n::t(lang, "archive.title")),
        sw = switch(lang, path, query),
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

fn status_badge(lang: Lang, status: &str) -> String {
    format!(
        "<span class=\"status {s}\" data-status=\"{s}\">{}</span>",
        esc(&i18n::t(lang, &format!("archive.status_name.{status}"))),
        s = esc(status)
    )
}

/// Query-string encoding of a form value.
fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// `/manager/archive`: the search form and its results, the history import, the seals.
async fn archive_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, &format!("archive.{k}")));
    let form = form_of(&q);
    let keys = [
        "waybill", "order_no", "name", "phone", "from", "to", "courier", "status", "imported",
    ];
    let asked = keys
        .iter()
        .any(|k| q.get(*k).is_some_and(|v| !v.trim().is_empty()));
    let kept: String = keys
        .iter()
        .filter_map(|k| {
            q.get(*k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}&", enc(v)))
        })
        .collect();
    let (results, error) = if asked {
        match app.archive_query(&form, lang) {
            Ok(query) => (Some(app.archive_search(query).await?), None),
            Err(r) => (None, Some(r)),
        }
    } else {
        (None, None)
    };
    let input = |name: &str, label: &str, kind: &str, extra: &str| {
        format!(
            "<label>{}<input type=\"{kind}\" name=\"{name}\" id=\"f-{name}\" value=\"{}\" {extra}></label>",
            t(label),
            esc(q.get(name).map(String::as_str).unwrap_or(""))
        )
    };
    let select = |name: &str, label: &str, options: &[(String, String)]| {
        let cur = q.get(name).map(String::as_str).unwrap_or("");
        let opts: String = std::iter::once((String::new(), i18n::t(lang, "archive.any")))
            .chain(options.iter().cloned())
            .map(|(v, l)| {
                let sel = if v == cur { " selected" } else { "" };
                format!("<option value=\"{}\"{sel}>{}</option>", esc(&v), esc(&l))
            })
            .collect();
        format!(
            "<label>{}<select name=\"{name}\" id=\"f-{name}\">{opts}</select></label>",
            t(label)
        )
    };
    let couriers: Vec<(String, String)> = app
        .rules
        .iter()
        .map(|r| (r.code.clone(), r.name(lang.code()).to_string()))
        .collect();
    let statuses: Vec<(String, String)> = STATUSES
        .iter()
        .map(|s| {
            (
                s.to_string(),
                i18n::t(lang, &format!("archive.status_name.{s}")),
            )
        })
        .collect();
    let imported = vec![
        ("yes".to_string(), i18n::t(lang, "archive.imported_yes")),
        ("no".to_string(), i18n::t(lang, "archive.imported_no")),
    ];
    let search_form = format!(
        "<section class=\"card\"><h2>{l_search}</h2>\
         <form class=\"search\" id=\"search\" method=\"get\" action=\"/manager/archive\">\
         {wb}{order}{name}{phone}{from}{to}{courier}{status}{imported}\
         <input type=\"hidden\" name=\"lang\" value=\"{lc}\">\
         <button type=\"submit\" id=\"search-submit\">{l_go}</button></form>\
         <p class=\"muted\">{l_hint}</p></section>",
        l_search = t("search"),
        wb = input("waybill", "waybill", "text", "autofocus"),
        order = input("order_no", "order_no", "text", ""),
        name = input("name", "recipient", "text", ""),
        phone = input("phone", "phone", "text", "inputmode=\"numeric\""),
        from = input("from", "from", "date", ""),
        to = input("to", "to", "date", ""),
        courier = select("courier", "courier", &couriers),
        status = select("status", "status", &statuses),
        imported = select("imported", "source", &imported),
        lc = lang.code(),
        l_go = t("search_button"),
        l_hint = t("search_hint"),
    );
    let results_html = match (&results, &error) {
        (_, Some(e)) => format!(
            "<section class=\"card\"><p class=\"bad\" id=\"search-error\" data-code=\"{}\">{}</p></section>",
            e.code,
            esc(&e.message)
        ),
        (Some(p), _) => results_table(&app, lang, p, &kept),
        _ => String::new(),
    };
    let status = app.archive_status().await?;
    let seals = format!(
        "<section class=\"card\" id=\"seals\"><h2>{l_seals}</h2><dl class=\"facts\">\
         <dt>{l_count}</dt><dd id=\"seal-count\">{shipments} ({l_imp}: {imp})</dd>\
         <dt>{l_days}</dt><dd id=\"days-sealed\">{days}</dd>\
         <dt>{l_last}</dt><dd>{last}</dd>\
         <dt>{l_corr}</dt><dd>{corr}</dd>\
         <dt>{l_ret}</dt><dd>{ret}</dd></dl><p class=\"muted\">{l_hint}</p></section>",
        l_seals = t("seals_title"),
        l_count = t("shipments_count"),
        shipments = status.shipments,
        l_imp = t("imported_yes"),
        imp = status.imported,
        l_days = t("days_sealed"),
        days = status.days_sealed,
        l_last = t("last_seal"),
        last = match &status.last {
            Some(s) => format!(
                "{} ({}) <code class=\"hash\">{}</code>",
                esc(&s.header.day),
                esc(&i18n::t(
                    lang,
                    &format!("archive.seal_kind.{}", s.header.kind)
                )),
                esc(&s.hash)
            ),
            None => t("none_sealed"),
        },
        l_corr = t("corrections"),
        corr = status.corrections,
        l_ret = t("retention"),
        ret = esc(&i18n::tf(
            lang,
            "archive.retention_years",
            &[("years", &app.config.archive.retention_years.to_string())]
        )),
        l_hint = esc(&i18n::tf(
            lang,
            "archive.seals_hint",
            &[("days", &crate::domain::seal::SEAL_AFTER_DAYS.to_string())]
        )),
    );
    let import = format!(
        "<section class=\"card\" id=\"history\"><h2>{l_title}</h2><p>{l_hint}</p>\
         <form id=\"import-form\" class=\"import\" autocomplete=\"off\">\
         <label>{l_file}<input type=\"file\" id=\"import-file\" accept=\".csv,.xlsx,.txt\"></label>\
         <label>{l_badge}<input type=\"password\" id=\"import-badge\" autocomplete=\"off\"></label>\
         <button type=\"submit\">{l_go}</button></form>\
         <p id=\"import-status\" role=\"status\"></p>\
         <table id=\"import-problems\" hidden><thead><tr><th>{l_row}</th><th>{l_col}</th><th>{l_prob}</th></tr></thead><tbody></tbody></table>\
         </section>",
        l_title = t("import_title"),
        l_hint = t("import_hint"),
        l_file = esc(&i18n::t(lang, "import.file")),
        l_badge = esc(&i18n::t(lang, "import.badge")),
        l_go = esc(&i18n::t(lang, "import.submit")),
        l_row = esc(&i18n::t(lang, "import.row")),
        l_col = esc(&i18n::t(lang, "import.column")),
        l_prob = esc(&i18n::t(lang, "import.problem")),
    );
    let messages = json!({
        "no_file": i18n::t(lang, "import.no_file"),
        "done": i18n::t(lang, "archive.import_done"),
        "refused": i18n::t(lang, "import.refused"),
    })
    .to_string()
    .replace("</", "<\\/");
    let body = format!(
        "{top}<main class=\"archive\" data-lang=\"{lc}\"><h1>{title}</h1>{search_form}{results_html}{import}{seals}</main>\
         <script>const MSG = {messages};{IMPORT_JS}</script>",
        top = top(&app, lang, "/manager/archive", &kept),
        lc = lang.code(),
        title = t("title"),
    );
    Ok(frame(lang, &i18n::t(lang, "archive.title"), &body))
}

fn results_table(app: &App, lang: Lang, p: &SearchPage, kept: &str) -> String {
    let t = |k: &str| esc(&i18n::t(lang, &format!("archive.{k}")));
    let rows: String = if p.shipments.is_empty() {
        format!("<tr><td colspan=\"8\">{}</td></tr>", t("no_results"))
    } else {
        p.shipments
            .iter()
            .map(|s| {
                let phone = if s.phone_last4.is_empty() {
                    String::new()
                } else {
                    format!("****{}", esc(&s.phone_last4))
                };
                let imp = if s.imported {
                    format!(" <span class=\"imported\">{}</span>", t("imported_yes"))
                } else {
                    String::new()
                };
                format!(
                    "<tr data-waybill=\"{w}\"><td><a href=\"/manager/archive/{wu}?lang={lc}\"><code>{w}</code></a>{imp}</td>\
                     <td>{at}</td><td>{courier}</td><td>{status}</td><td>{orders}</td><td>{name}</td><td>{phone}</td>\
                     <td class=\"num\">{g}</td></tr>",
                    w = esc(&s.waybill),
                    wu = enc(&s.waybill),
                    lc = lang.code(),
                    at = esc(&local_time(app, &s.packed_at)),
                    courier = esc(&app.courier_name(&s.courier, lang.code())),
                    status = status_badge(lang, &s.status),
                    orders = esc(&s.order_nos.join(", ")),
                    name = esc(&s.recipient_name),
                    g = s.measured_grams,
                )
            })
            .collect()
    };
    let mut pager = String::new();
    if p.page > 1 {
        pager.push_str(&format!(
            "<a id=\"prev\" href=\"/manager/archive?{kept}page={}&lang={}\">{}</a>",
            p.page - 1,
            lang.code(),
            t("prev")
        ));
    }
    if p.has_more {
        pager.push_str(&format!(
            "<a id=\"next\" href=\"/manager/archive?{kept}page={}&lang={}\">{}</a>",
            p.page + 1,
            lang.code(),
            t("next")
        ));
    }
    format!(
        "<section class=\"card\"><h2>{l_results}</h2><table id=\"results\"><tr><th>{l_wb}</th><th>{l_packed}</th>\
         <th>{l_courier}</th><th>{l_status}</th><th>{l_orders}</th><th>{l_recipient}</th><th>{l_phone}</th><th>{l_g}</th></tr>{rows}</table>\
         <p class=\"pager\">{pager}</p></section>",
        l_results = esc(&i18n::tf(
            lang,
            "archive.results_page",
            &[("page", &p.page.to_string())]
        )),
        l_wb = t("waybill"),
        l_packed = t("packed_at"),
        l_courier = t("courier"),
        l_status = t("status"),
        l_orders = t("order_no"),
        l_recipient = t("recipient"),
        l_phone = t("phone"),
        l_g = t("weight_g"),
    )
}

/// `/manager/archive/{waybill}`: everything the archive holds of one shipment.
async fn shipment_page(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, &format!("archive.{k}")));
    let wb = waybill.clone();
    let found = app
        .db
        .read(move |c| {
            let Some(s) = storage::get_shipment(c, &wb)? else {
                return Ok(None);
            };
            let events = storage::shipment_events(c, s.pack_id, &s.waybill)?;
            let mut orders = Vec::new();
            for o in &s.order_nos {
                orders.push((o.clone(), storage::get_order(c, o)?));
            }
            let facts = store::facts(c, &wb)?;
            Ok(Some((s, events, orders, facts)))
        })
        .await?;
    let Some((s, events, orders, Some(f))) = found else {
        let body = format!(
            "{top}<main class=\"archive\"><h1>{w}</h1><section class=\"card\"><p class=\"bad\" id=\"not-found\">{msg}</p></section></main>",
            top = top(&app, lang, &format!("/manager/archive/{}", enc(&waybill)), ""),
            w = esc(&waybill),
            msg = esc(&i18n::tf(lang, "archive.not_found", &[("waybill", &waybill)])),
        );
        let mut r = frame(lang, &waybill, &body);
        *r.status_mut() = StatusCode::NOT_FOUND;
        return Ok(r);
    };
    let catalog = app.catalog();
    let dash = "—";
    let or_dash = |v: &str| {
        if v.is_empty() {
            dash.to_string()
        } else {
            esc(v)
        }
    };
    let packer = app
        .config
        .operator(&s.packer)
        .map(|o| format!("{} ({})", o.name, s.packer))
        .unwrap_or_else(|| s.packer.clone());
    let diff = s.measured_grams - s.expected_grams;
    let weights = if f.imported {
        format!("{} g", s.measured_grams)
    } else {
        esc(&i18n::tf(
            lang,
            "archive.weights_line",
            &[
                ("expected", &s.expected_grams.to_string()),
                ("tolerance", &s.tolerance_grams.to_string()),
                ("measured", &s.measured_grams.to_string()),
                ("diff", &format!("{diff:+}")),
            ],
        ))
    };
    let sealed = match &f.sealed {
        Some(x) => format!(
            "<span id=\"sealed\">{}</span> <code class=\"hash\">{}</code>",
            esc(&i18n::tf(lang, "archive.sealed_on", &[("day", &x.day)])),
            esc(&x.hash)
        ),
        None => format!(
            "<span id=\"sealed\">{}</span>",
            esc(&i18n::tf(
                lang,
                "archive.not_sealed_yet",
                &[("days", &crate::domain::seal::SEAL_AFTER_DAYS.to_string())]
            ))
        ),
    };
    let override_line = if s.override_by.is_empty() {
        String::new()
    } else {
        format!(
            "<dt>{}</dt><dd>{} — {}</dd>",
            t("override"),
            esc(&s.override_by),
            esc(&s.override_reason)
        )
    };
    let summary = format!(
        "<section class=\"card\" id=\"summary\"><dl class=\"facts\">\
         <dt>{l_status}</dt><dd>{status}</dd>\
         <dt>{l_courier}</dt><dd>{courier}</dd>\
         <dt>{l_packed}</dt><dd id=\"packed-at\">{packed}</dd>\
         <dt>{l_station}</dt><dd>{station}</dd>\
         <dt>{l_packer}</dt><dd id=\"packer\">{packer}</dd>\
         <dt>{l_weight}</dt><dd id=\"weights\">{weights}</dd>\
         <dt>{l_packaging}</dt><dd>{packaging}</dd>{override_line}\
         <dt>{l_size}</dt><dd>{size}</dd><dt>{l_postcode}</dt><dd>{postcode}</dd>\
         <dt>{l_source}</dt><dd id=\"source\">{source}</dd>\
         <dt>{l_seal}</dt><dd>{sealed}</dd></dl></section>",
        l_status = t("status"),
        status = status_badge(lang, &s.status),
        l_courier = t("courier"),
        courier = esc(&app.courier_name(&s.courier, lang.code())),
        l_packed = t("packed_at"),
        packed = esc(&local_time(&app, &s.packed_at)),
        l_station = t("station"),
        station = or_dash(&s.station),
        l_packer = t("packer"),
        packer = or_dash(&packer),
        l_weight = t("weights"),
        l_packaging = t("packaging"),
        packaging = or_dash(&s.packaging),
        l_size = t("size_class"),
        size = or_dash(&f.size_class),
        l_postcode = t("postcode"),
        postcode = or_dash(&f.postcode),
        l_source = t("source"),
        source = if f.imported {
            t("source_imported")
        } else {
            t("source_packed")
        },
        l_seal = t("seal"),
    );
    let order_rows: String = orders
        .iter()
        .map(|(no, o)| match o {
            Some(o) => format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(no),
                esc(&o.record.channel),
                esc(&o.record.recipient_name),
                esc(&crate::service::mask_phone(&o.record.recipient_phone)),
                esc(&o.record.postcode),
            ),
            None => format!(
                "<tr><td><code>{}</code></td><td colspan=\"4\" class=\"muted\">{}</td></tr>",
                esc(no),
                t("order_unknown")
            ),
        })
        .collect();
    let item_rows: String = if s.items.is_empty() {
        format!("<tr><td colspan=\"3\">{}</td></tr>", t("no_items"))
    } else {
        s.items
            .iter()
            .map(|it| {
                let item = catalog.item(&it.sku);
                let name = item
                    .map(|i| {
                        if i.option.is_empty() {
                            i.name.clone()
                        } else {
                            format!("{} {}", i.name, i.option)
                        }
                    })
                    .unwrap_or_default();
                format!(
                    "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td></tr>",
                    esc(&it.sku),
                    esc(&name),
                    it.qty
                )
            })
            .collect()
    };
    let contents = format!(
        "<section class=\"card\" id=\"contents\"><h2>{l_contents}</h2>\
         <table id=\"orders\"><tr><th>{l_order}</th><th>{l_channel}</th><th>{l_recipient}</th><th>{l_phone}</th><th>{l_postcode}</th></tr>{order_rows}</table>\
         <table id=\"items\"><tr><th>SKU</th><th>{l_item}</th><th>{l_qty}</th></tr>{item_rows}</table></section>",
        l_contents = t("contents"),
        l_order = t("order_no"),
        l_channel = t("channel"),
        l_recipient = t("recipient"),
        l_phone = t("phone"),
        l_postcode = t("postcode"),
        l_item = t("item"),
        l_qty = t("qty"),
    );
    let wu = enc(&s.waybill);
    let label = if f.label_available {
        format!(
            "<section class=\"card\" id=\"label\"><h2>{l_label}</h2><figure class=\"label-preview\">\
             <img id=\"label-preview\" src=\"/api/v1/shipments/{wu}/label?format=png\" alt=\"{l_label}\">\
             <figcaption>{l_caption}<br><a href=\"/api/v1/shipments/{wu}/label?format=pdf\">PDF</a> · \
             <a href=\"/api/v1/shipments/{wu}/label?format=zpl\">ZPL</a></figcaption></figure></section>",
            l_label = t("label"),
            l_caption = t("label_caption"),
        )
    } else {
        format!(
            "<section class=\"card\" id=\"label\"><h2>{}</h2><p class=\"muted\" id=\"no-label\">{}</p></section>",
            t("label"),
            t("no_label")
        )
    };
    let event_rows: String = if events.is_empty() {
        format!(
            "<tr><td colspan=\"7\">{}</td></tr>",
            if f.imported {
                t("no_events_imported")
            } else {
                t("none")
            }
        )
    } else {
        events
            .iter()
            .map(|e| {
                format!(
                    "<tr class=\"{v}\"><td>{at}</td><td>{kind}</td><td>{st}</td><td>{op}</td><td><code>{code}</code></td><td>{v}</td><td>{reason}</td></tr>",
                    at = esc(&local_time(&app, &e.at)),
                    kind = esc(&e.kind),
                    st = esc(&e.station),
                    op = esc(&e.operator),
                    code = esc(&e.code),
                    v = esc(&e.verdict),
                    reason = esc(&e.reason),
                )
            })
            .collect()
    };
    let events_html = format!(
        "<section class=\"card\" id=\"events\"><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{event_rows}</table></section>",
        t("events"),
        t("time"),
        t("kind"),
        t("station"),
        t("operator"),
        t("code"),
        t("verdict"),
        t("reason"),
    );
    let handover = match &f.manifest {
        Some(m) => format!(
            "<dl class=\"facts\"><dt>{l_m}</dt><dd><a id=\"manifest\" href=\"/manager/handover?manifest={mu}&lang={lc}\">{mn}</a> ({ms})</dd>\
             <dt>{l_at}</dt><dd id=\"handed-over\">{at}</dd><dt>{l_by}</dt><dd>{by}</dd></dl>",
            l_m = t("manifest"),
            mu = enc(&m.number),
            lc = lang.code(),
            mn = esc(&m.number),
            ms = esc(&i18n::t(lang, &format!("archive.manifest_status.{}", m.status))),
            l_at = t("handed_over_at"),
            at = f
                .handed_over_at
                .as_deref()
                .map(|a| esc(&local_time(&app, a)))
                .unwrap_or_else(|| dash.into()),
            l_by = t("signed_by"),
            by = or_dash(&m.closed_by),
        ),
        None => format!("<p class=\"muted\" id=\"handed-over\">{}</p>", t("not_handed_over")),
    };
    let handover = format!(
        "<section class=\"card\" id=\"handover\"><h2>{}</h2>{handover}</section>",
        t("handover")
    );
    let photos: String = if f.photos.is_empty() {
        format!("<p class=\"muted\">{}</p>", t("no_photos"))
    } else {
        let imgs: String = f
            .photos
            .iter()
            .map(|p| {
                // A bench still says when, where and by whom, and what the label check read.
                let caption = [
                    local_time(&app, &p.at),
                    if p.moment.is_empty() {
                        String::new()
                    } else {
                        i18n::t(lang, &format!("camera.moment_{}", p.moment))
                    },
                    p.station.clone(),
                    p.operator.clone(),
                    if p.check.is_empty() {
                        String::new()
                    } else {
                        i18n::t(lang, &format!("camera.check.{}", p.check))
                    },
                ]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
                format!(
                    "<figure><a href=\"/api/v1/photos/{sha}\"><img src=\"/api/v1/photos/{sha}\" alt=\"{alt}\" title=\"{at}\"></a><figcaption class=\"muted\">{caption}</figcaption></figure>",
                    sha = esc(&p.sha256),
                    alt = esc(&p.sha256[..p.sha256.len().min(12)]),
                    at = esc(&local_time(&app, &p.at)),
                    caption = esc(&caption),
                )
            })
            .collect();
        format!("<div class=\"photos\">{imgs}</div>")
    };
    let photos = format!(
        "<section class=\"card\" id=\"photos\"><h2>{}</h2>{photos}</section>",
        t("photos")
    );
    let claims = claims_html(&app, lang, &f);
    let corrections = corrections_html(&app, lang, &f);
    let options: String = STATUSES
        .iter()
        .filter(|st| **st != "void" && **st != s.status.as_str())
        .map(|st| {
            format!(
                "<option value=\"{st}\">{}</option>",
                esc(&i18n::t(lang, &format!("archive.status_name.{st}")))
            )
        })
        .collect();
    let change = if s.status == "void" {
        String::new()
    } else {
        format!(
            "<section class=\"card\" id=\"change\"><h2>{l_title}</h2><p class=\"muted\">{l_hint}</p>\
             <form id=\"status-form\" class=\"search\" autocomplete=\"off\">\
             <label>{l_status}<select id=\"new-status\">{options}</select></label>\
             <label>{l_reason}<input id=\"status-reason\" type=\"text\" required></label>\
             <label>{l_badge}<input id=\"status-badge\" type=\"password\"></label>\
             <button type=\"submit\">{l_go}</button></form><p id=\"status-msg\" role=\"status\"></p></section>",
            l_title = t("change_title"),
            l_hint = t("change_hint"),
            l_status = t("status"),
            l_reason = t("reason"),
            l_badge = t("manager_badge"),
            l_go = t("change_button"),
        )
    };
    let body = format!(
        "{top}<main class=\"archive\" data-lang=\"{lc}\" data-waybill=\"{w}\"><h1><code>{w}</code> {status}</h1>\
         {summary}{contents}{label}{handover}{events_html}{photos}{claims}{corrections}{change}</main>\
         <script>{STATUS_JS}</script>",
        top = top(&app, lang, &format!("/manager/archive/{wu}"), ""),
        lc = lang.code(),
        w = esc(&s.waybill),
        status = status_badge(lang, &s.status),
    );
    Ok(frame(lang, &s.waybill, &body))
}

fn claims_html(app: &App, lang: Lang, f: &ArchiveFacts) -> String {
    let t = |k: &str| esc(&i18n::t(lang, &format!("archive.{k}")));
    let mut rows = String::new();
    for d in &f.claim_drafts {
        rows.push_str(&format!(
            "<tr class=\"claim-draft\"><td>{kind}</td><td>{reason}</td><td>{status}</td><td>{at}</td><td>{lines}</td></tr>",
            kind = t("claim_draft"),
            reason = esc(&d.reason),
            status = esc(&d.status),
            at = esc(&local_time(app, &d.created_at)),
            lines = esc(&i18n::tf(
                lang,
                "archive.claim_lines",
                &[("lines", &d.lines.as_array().map_or(0, Vec::len).to_string()), ("photos", &d.photos.len().to_string())]
            )),
        ));
    }
    for c in f.claims.iter().flatten() {
        let get = |k: &str| -> String {
            match c.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            }
        };
        let kind = ["kind", "reason", "type"]
            .iter()
            .map(|k| get(k))
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        // The claims workflow keeps amounts in minor units as `claimed`, `accepted`, `paid`.
        let amounts: Vec<String> = ["claimed", "accepted", "paid"]
            .iter()
            .filter_map(|k| {
                let v = get(k);
                (!v.is_empty())
                    .then(|| i18n::tf(lang, &format!("archive.amount_{k}"), &[("amount", &v)]))
            })
            .collect();
        let at = ["opened_at", "created_at", "at"]
            .iter()
            .map(|k| get(k))
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        rows.push_str(&format!(
            "<tr class=\"claim\"><td>{l} {number}</td><td>{kind}</td><td>{status}</td><td>{at}</td><td>{amounts}</td></tr>",
            l = t("claim"),
            number = esc(&get("number")),
            kind = esc(&kind),
            status = esc(&get("status")),
            at = esc(&local_time(app, &at)),
            amounts = esc(&amounts.join(", ")),
        ));
    }
    if rows.is_empty() {
        rows = format!("<tr><td colspan=\"5\">{}</td></tr>", t("no_claims"));
    }
    format!(
        "<section class=\"card\" id=\"claims\"><h2>{}</h2><table><tr><th></th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>{rows}</table></section>",
        t("claims"),
        t("reason"),
        t("status"),
        t("time"),
    )
}

fn corrections_html(app: &App, lang: Lang, f: &ArchiveFacts) -> String {
    if f.corrections.is_empty() {
        return String::new();
    }
    let t = |k: &str| esc(&i18n::t(lang, &format!("archive.{k}")));
    let rows: String = f
        .corrections
        .iter()
        .map(|k| {
            let what = if k.kind == "insert" {
                t("correction_insert")
            } else {
                esc(&i18n::tf(
                    lang,
                    "archive.correction_status",
                    &[
                        ("from", &i18n::t(lang, &format!("archive.status_name.{}", k.old_status))),
                        ("to", &i18n::t(lang, &format!("archive.status_name.{}", k.new_status))),
                    ],
                ))
            };
            format!(
                "<tr><td class=\"num\">{}</td><td>{}</td><td>{what}</td><td>{}</td><td>{}</td></tr>",
                k.id,
                esc(&local_time(app, &k.at)),
                esc(&k.reason),
                esc(&k.by)
            )
        })
        .collect();
    format!(
        "<section class=\"card\" id=\"corrections\"><h2>{}</h2><p class=\"muted\">{}</p><table><tr><th>#</th><th>{}</th><th></th><th>{}</th><th>{}</th></tr>{rows}</table></section>",
        t("corrections"),
        t("corrections_hint"),
        t("time"),
        t("reason"),
        t("operator"),
    )
}

/// The archive page's history import: the file goes to the import API with the badge.
const IMPORT_JS: &str = r#"
(() => {
  const main = document.querySelector('main.archive');
  const lang = main.dataset.lang;
  const form = document.getElementById('import-form');
  const status = document.getElementById('import-status');
  const problems = document.getElementById('import-problems');
  const badge = document.getElementById('import-badge');
  badge.value = sessionStorage.getItem('archive_badge') || '';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = document.getElementById('import-file').files[0];
    problems.hidden = true;
    problems.tBodies[0].replaceChildren();
    if (!file) { status.textContent = MSG.no_file; status.className = 'bad'; return; }
    sessionStorage.setItem('archive_badge', badge.value.trim());
    const q = new URLSearchParams({ filename: file.name, lang });
    const r = await fetch(`/api/v1/import/shipments?${q}`, { method: 'POST',
      headers: { 'x-badge': badge.value.trim(), 'content-type': 'application/octet-stream' }, body: file });
    const o = await r.json();
    if (r.ok) {
      status.className = 'ok';
      status.textContent = MSG.done.replace('{added}', o.imported.added);
      return;
    }
    status.className = 'bad';
    status.textContent = o.message;
    const list = (o.detail && o.detail.problems) || [];
    for (const p of list) {
      const tr = problems.tBodies[0].insertRow();
      tr.insertCell().textContent = p.row || '';
      tr.insertCell().textContent = p.column || '';
      tr.insertCell().textContent = p.message;
    }
    problems.hidden = list.length === 0;
    if (list.length) status.textContent = MSG.refused;
  });
})();
"#;

/// The shipment page's status change: a manager's badge, the new status and a reason.
const STATUS_JS: &str = r#"
(() => {
  const main = document.querySelector('main.archive');
  const form = document.getElementById('status-form');
  if (!form) return;
  const msg = document.getElementById('status-msg');
  const badge = document.getElementById('status-badge');
  badge.value = sessionStorage.getItem('archive_badge') || '';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    sessionStorage.setItem('archive_badge', badge.value.trim());
    const r = await fetch(`/api/v1/archive/shipments/${encodeURIComponent(main.dataset.waybill)}/status?lang=${main.dataset.lang}`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ badge: badge.value.trim(), status: document.getElementById('new-status').value,
                             reason: document.getElementById('status-reason').value.trim() }) });
    const o = await r.json();
    msg.textContent = o.message;
    msg.className = r.ok && o.verdict === 'accepted' ? 'ok' : 'bad';
    if (r.ok && o.verdict === 'accepted') setTimeout(() => location.reload(), 600);
  });
})();
"#;
