//! HTTP handlers and the page of the monthly courier bill: upload a statement and get its
//! reconciliation (`POST /api/v1/bills`), look at a bill and its findings, accept a month
//! (manager), download the dispute list (XLSX/CSV) or print it (PDF), and the rate cards in
//! force. `/manager/bills` is the page: the upload form, the bills, one bill's report with its
//! findings drawn by category (server-rendered SVG) and the accept button.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::{esc, lang_switch, page};
use super::stock::{lang, manager};
use super::{AppError, State};
use crate::domain::reconcile::Category;
use crate::i18n::{self, Lang};
use crate::service::bills::{money, BillError, Request};

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/bills", get(list).post(upload))
        .route("/api/v1/bills/{id}", get(show))
        .route("/api/v1/bills/{id}/accept", post(accept))
        .route("/api/v1/bills/{id}/disputes", get(disputes))
        .route("/api/v1/bills/{id}/disputes.pdf", get(disputes_pdf))
        .route("/api/v1/rate-cards", get(cards))
        .route("/manager/bills", get(page_handler))
        .route("/manager/bills/chart.svg", get(chart))
}

/// A refused bill as the JSON error every handler answers with.
pub fn bill_error(e: BillError, lang: Lang) -> AppError {
    match e {
        BillError::Import(e) => AppError::bad_request(
            "bill_refused",
            i18n::tf(
                lang,
                "bills.error.refused",
                &[("n", &e.problems.len().to_string())],
            ),
        )
        .with_detail(json!({ "problems": e.problems })),
        BillError::Card(errors) => {
            let list: Vec<Value> = errors
                .iter()
                .map(|e| json!({ "file": e.file, "line": e.line, "message": e.message }))
                .collect();
            AppError::bad_request(
                "rate_card_invalid",
                i18n::tf(
                    lang,
                    "bills.error.card",
                    &[(
                        "error",
                        &errors.first().map(|e| e.to_string()).unwrap_or_default(),
                    )],
                ),
            )
            .with_detail(json!({ "problems": list }))
        }
        BillError::Reconcile(e) => AppError::bad_request("no_rate_card", e.to_string()),
        BillError::Refused {
            code: "month_locked",
            message,
        } => AppError::new(StatusCode::CONFLICT, "month_locked", message),
        BillError::Refused { code, message } => AppError::bad_request(code, message),
        BillError::Storage(e) => e.into(),
    }
}

fn badge_of(q: &Q, h: &HeaderMap) -> String {
    h.get("x-badge")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("badge").cloned())
        .unwrap_or_default()
}

fn id_of(s: &str, lang: Lang) -> Result<i64, AppError> {
    s.parse()
        .map_err(|_| AppError::not_found(i18n::tf(lang, "bills.error.no_bill", &[("id", s)])))
}

async fn list(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "bills": app.bills().await? })))
}

/// `POST /api/v1/bills?courier=C&month=YYYY-MM[&layout=L][&filename=F]` with the statement
/// as the body and a manager's badge (`x-badge` or `?badge=`).
async fn upload(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = manager(&app, &badge_of(&q, &h), lang)?;
    if body.is_empty() {
        return Err(AppError::bad_request(
            "no_file",
            i18n::t(lang, "bills.error.no_file"),
        ));
    }
    let req = Request {
        file_name: q
            .get("filename")
            .cloned()
            .unwrap_or_else(|| "bill.csv".into()),
        bytes: body.to_vec(),
        courier: q.get("courier").cloned().unwrap_or_default(),
        month: q.get("month").cloned().unwrap_or_default(),
        layout: q.get("layout").cloned().filter(|s| !s.is_empty()),
        by: who,
    };
    let (id, report) = app
        .reconcile_bill(req)
        .await
        .map_err(|e| bill_error(e, lang))?;
    Ok(Json(json!({ "bill_id": id, "report": report })))
}

async fn show(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let (bill, report) = app.bill(id_of(&id, lang)?).await?;
    Ok(Json(json!({ "bill": bill, "report": report })))
}

#[derive(Deserialize)]
struct AcceptBody {
    #[serde(default)]
    badge: String,
}

async fn accept(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<AcceptBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = manager(&app, &b.badge, lang)?;
    Ok(Json(app.accept_bill(id_of(&id, lang)?, &who, lang).await?))
}

/// `GET /api/v1/bills/{id}/disputes?format=xlsx|csv`
async fn disputes(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let format = q.get("format").map(String::as_str).unwrap_or("xlsx");
    if format != "xlsx" && format != "csv" {
        return Err(AppError::bad_request(
            "bad_format",
            i18n::tf(lang, "handover.bad_format", &[("format", format)]),
        ));
    }
    let (name, bytes) = app.dispute_file(id_of(&id, lang)?, format, lang).await?;
    let ct = if format == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn disputes_pdf(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let bytes = app.dispute_pdf(id_of(&id, lang)?, lang).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], bytes).into_response())
}

async fn cards(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    match app.rate_cards() {
        Ok(cards) => Ok(Json(json!({ "cards": cards.iter().map(|c| json!({
            "courier": c.courier, "contract": c.contract, "currency": c.currency,
            "valid_from": c.valid_from, "valid_to": c.valid_to, "file": c.file,
            "pricing": if c.is_size_weight() { "size_weight" } else { "first_additional" },
        })).collect::<Vec<_>>() }))),
        Err(e) => Err(bill_error(BillError::Card(e), lang)),
    }
}

// ----- the page -------------------------------------------------------------------------

/// Findings by category: disputed amount per category as horizontal bars (SVG).
fn category_chart(counts: &[(Category, usize, i64)], lang: Lang) -> String {
    let max = counts.iter().map(|c| c.2).max().unwrap_or(0).max(1);
    let mut bars = String::new();
    for (i, (cat, n, amount)) in counts.iter().enumerate() {
        let y = 10 + i * 26;
        let w = (*amount as f64 / max as f64 * 380.0).round() as i64;
        bars.push_str(&format!(
            "<text x=\"210\" y=\"{ty}\" font-size=\"12\" text-anchor=\"end\">{label} ({n})</text>\
             <rect x=\"220\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"#b45309\"/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{amount}</text>",
            ty = y + 13,
            label = esc(&i18n::t(lang, &format!("bills.category.{}", cat.as_str()))),
            tx = 226 + w,
        ));
    }
    let h = 20 + counts.len() * 26;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{h}\" viewBox=\"0 0 720 {h}\" font-family=\"sans-serif\"><title>{}</title>{bars}</svg>",
        esc(&i18n::t(lang, "bills.by_category"))
    )
}

fn by_category(report: &crate::domain::reconcile::Report) -> Vec<(Category, usize, i64)> {
    Category::ALL
        .iter()
        .map(|c| {
            let fs = report.findings.iter().filter(|f| f.category == *c);
            let (n, sum) = fs.fold((0, 0), |(n, s), f| (n + 1, s + f.dispute));
            (*c, n, sum)
        })
        .collect()
}

async fn chart(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let id = id_of(q.get("bill").map(String::as_str).unwrap_or(""), lang)?;
    let (_, report) = app.bill(id).await?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        category_chart(&by_category(&report), lang),
    )
        .into_response())
}

const CSS: &str = "<style>
.bills form.inline{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap}
.bills #msg{padding:.6rem 1rem;border-radius:.4rem;margin:.6rem 0}
.bills #msg.ok{background:#dcfce7;color:#14532d}.bills #msg.bad{background:#fee2e2;color:#7f1d1d}
.bills tr.accepted td{background:#f0fdf4}
.bills .tiles{display:flex;gap:1.5rem;flex-wrap:wrap}.bills .tiles div{font-size:1.1rem}.bills .tiles b{display:block;font-size:1.8rem}
.bills ul.problems{color:#7f1d1d}
</style>";

async fn page_handler(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, &format!("bills.{k}")));
    let lc = lang.code();
    let top = format!(
        "<header class=\"top\"><b>{wh}</b><nav><a href=\"/manager?lang={lc}\">{mgr}</a> · <a href=\"/manager/claims?lang={lc}\">{claims}</a> {sw}</nav></header>",
        wh = esc(&app.config.warehouse.name),
        mgr = esc(&i18n::t(lang, "manager.title")),
        claims = esc(&i18n::t(lang, "claims.title")),
        sw = lang_switch(lang, "/manager/bills"),
    );
    if let Some(id) = q.get("bill").filter(|s| !s.is_empty()) {
        let id = id_of(id, lang)?;
        let (b, report) = app.bill(id).await?;
        let cur = &b.currency;
        let limit = 1000;
        let rows: String = report
            .findings
            .iter()
            .take(limit)
            .map(|f| {
                format!(
                    "<tr data-category=\"{c}\"><td class=\"num\">{line}</td><td><code>{wb}</code></td><td>{cat}</td><td class=\"num\">{billed}</td><td class=\"num\">{exp}</td><td class=\"num\">{d}</td></tr>",
                    c = f.category.as_str(),
                    line = f.bill_line.map(|l| l.to_string()).unwrap_or_default(),
                    wb = esc(&f.waybill),
                    cat = esc(&i18n::t(lang, &format!("bills.category.{}", f.category.as_str()))),
                    billed = money(f.billed, cur),
                    exp = money(f.expected, cur),
                    d = money(f.dispute, cur),
                )
            })
            .collect();
        let more = if report.findings.len() > limit {
            format!(
                "<p>{}</p>",
                esc(&i18n::tf(
                    lang,
                    "bills.more_findings",
                    &[("n", &(report.findings.len() - limit).to_string())]
                ))
            )
        } else {
            String::new()
        };
        let accept = if b.status == "accepted" {
            format!(
                "<p id=\"locked\">{}</p>",
                esc(&i18n::tf(
                    lang,
                    "bills.locked",
                    &[
                        ("at", b.accepted_at.as_deref().unwrap_or("")),
                        ("by", &b.accepted_by)
                    ]
                ))
            )
        } else {
            format!(
                "<form id=\"accept-form\" class=\"inline\"><p>{hint}</p><label>{l_badge} <input id=\"badge\" autocomplete=\"off\"></label><button type=\"submit\">{l_accept}</button></form>",
                hint = t("accept_hint"),
                l_badge = t("badge"),
                l_accept = t("accept"),
            )
        };
        let body = format!(
            "{top}<main class=\"bills\" data-lang=\"{lc}\" data-bill=\"{id}\"><p><a href=\"/manager/bills?lang={lc}\">{back}</a></p>\
             <h1>{title} · {courier} {month}</h1><p>{file} · {status}</p>\
             <section class=\"card tiles\"><div><b id=\"lines\">{lines}</b>{l_lines}</div><div><b id=\"stated\">{stated}</b>{l_stated}</div>\
             <div><b id=\"sum\">{sum}</b>{l_sum}</div><div><b id=\"expected\">{expected}</b>{l_expected}</div><div><b id=\"disputed\">{disputed}</b>{l_disputed}</div></section>\
             <section class=\"card\"><h2>{l_chart}</h2><img src=\"/manager/bills/chart.svg?bill={id}&lang={lc}\" alt=\"{l_chart}\"></section>\
             <section class=\"card\"><p><a id=\"xlsx\" href=\"/api/v1/bills/{id}/disputes?format=xlsx&lang={lc}\">{l_xlsx}</a> · <a href=\"/api/v1/bills/{id}/disputes?format=csv&lang={lc}\">{l_csv}</a> · <a id=\"pdf\" href=\"/api/v1/bills/{id}/disputes.pdf?lang={lc}\">{l_pdf}</a></p>{accept}<div id=\"msg\" hidden></div></section>\
             <section class=\"card\"><h2>{l_findings} ({n})</h2><table id=\"findings\"><tr><th>{c_line}</th><th>{c_wb}</th><th>{c_cat}</th><th>{c_billed}</th><th>{c_exp}</th><th>{c_d}</th></tr>{rows}</table>{more}</section></main>\
             <script>{js}</script>",
            back = t("back"),
            title = t("title"),
            courier = esc(&app.courier_name(&b.courier, lc)),
            month = esc(&b.month),
            file = esc(&b.file_name),
            status = t(&format!("status.{}", b.status)),
            lines = report.bill_lines,
            stated = report.stated_total.map(|v| money(v, cur)).unwrap_or_else(|| "—".into()),
            sum = money(report.sum_of_lines, cur),
            expected = money(report.expected_total, cur),
            disputed = money(report.disputed_total, cur),
            l_lines = t("lines"),
            l_stated = t("stated_total"),
            l_sum = t("sum_of_lines"),
            l_expected = t("expected_total"),
            l_disputed = t("disputed_total"),
            l_chart = t("by_category"),
            l_xlsx = t("download_xlsx"),
            l_csv = t("download_csv"),
            l_pdf = t("print_pdf"),
            l_findings = t("findings"),
            n = report.findings.len(),
            c_line = esc(&i18n::t(lang, "bills.col.line")),
            c_wb = esc(&i18n::t(lang, "bills.col.waybill")),
            c_cat = esc(&i18n::t(lang, "bills.col.category")),
            c_billed = esc(&i18n::t(lang, "bills.col.billed")),
            c_exp = esc(&i18n::t(lang, "bills.col.expected")),
            c_d = esc(&i18n::t(lang, "bills.col.dispute")),
            js = BILL_JS,
        );
        return Ok(page(lang, &i18n::t(lang, "bills.title"), CSS, &body));
    }

    let bills = app.bills().await?;
    let bill_rows: String = bills
        .iter()
        .map(|b| {
            format!(
                "<tr class=\"{st}\"><td><a href=\"/manager/bills?bill={id}&lang={lc}\">{month}</a></td><td>{courier}</td><td>{file}</td><td class=\"num\">{lines}</td><td class=\"num\">{sum}</td><td class=\"num\">{d}</td><td>{status}</td></tr>",
                st = esc(&b.status),
                id = b.id,
                month = esc(&b.month),
                courier = esc(&app.courier_name(&b.courier, lc)),
                file = esc(&b.file_name),
                lines = b.line_count,
                sum = money(b.sum_of_lines, &b.currency),
                d = money(b.disputed_total, &b.currency),
                status = t(&format!("status.{}", b.status)),
            )
        })
        .collect();
    let couriers: String = app
        .rules
        .iter()
        .map(|r| {
            format!(
                "<option value=\"{c}\">{}</option>",
                esc(r.name(lc)),
                c = esc(&r.code)
            )
        })
        .collect();
    let layouts: String = crate::imports::bill::layout_names()
        .iter()
        .map(|n| format!("<option value=\"{n}\">{n}</option>"))
        .collect();
    let cards = match app.rate_cards() {
        Ok(cards) => cards
            .iter()
            .map(|c| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td><code>{}</code></td></tr>",
                    esc(&app.courier_name(&c.courier, lc)),
                    esc(&c.contract),
                    esc(&c.valid_from),
                    esc(&c.valid_to),
                    esc(&c.currency),
                    esc(&c.file)
                )
            })
            .collect::<String>(),
        Err(e) => format!(
            "<tr><td colspan=\"5\" class=\"bad\">{}<ul class=\"problems\">{}</ul></td></tr>",
            t("cards_error"),
            e.iter().map(|e| format!("<li>{}</li>", esc(&e.to_string()))).collect::<String>()
        ),
    };
    let month = jiff::Timestamp::now()
        .to_zoned(
            jiff::tz::TimeZone::get(&app.config.warehouse.timezone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
        )
        .strftime("%Y-%m")
        .to_string();
    let body = format!(
        "{top}<main class=\"bills\" data-lang=\"{lc}\"><h1>{title}</h1>\
         <section class=\"card\"><h2>{l_upload}</h2><form id=\"upload-form\" class=\"inline\">\
         <label>{l_courier} <select id=\"courier\">{couriers}</select></label>\
         <label>{l_month} <input id=\"month\" type=\"month\" value=\"{month}\"></label>\
         <label>{l_layout} <select id=\"layout\"><option value=\"\">{l_auto}</option>{layouts}</select></label>\
         <label>{l_file} <input id=\"file\" type=\"file\" accept=\".csv,.xlsx,.txt\"></label>\
         <label>{l_badge} <input id=\"badge\" autocomplete=\"off\"></label>\
         <button type=\"submit\">{l_go}</button></form><div id=\"msg\" hidden></div><ul id=\"problems\" class=\"problems\"></ul></section>\
         <section class=\"card\"><h2>{l_list}</h2><table id=\"bills\"><tr><th>{l_month}</th><th>{l_courier}</th><th>{l_file}</th><th>{l_lines}</th><th>{l_sum}</th><th>{l_disputed}</th><th></th></tr>{bill_rows}</table></section>\
         <section class=\"card\"><h2>{l_cards}</h2><p>{l_cards_hint}</p><table id=\"cards\"><tr><th>{l_courier}</th><th>{l_contract}</th><th>{l_valid}</th><th></th><th>{l_file}</th></tr>{cards}</table></section>\
         </main><script>{js}</script>",
        title = t("title"),
        l_upload = t("upload_title"),
        l_courier = t("courier"),
        l_month = t("month"),
        l_layout = t("layout"),
        l_auto = t("layout_auto"),
        l_file = t("file"),
        l_badge = t("badge"),
        l_go = t("reconcile"),
        l_list = t("list_title"),
        l_lines = t("lines"),
        l_sum = t("sum_of_lines"),
        l_disputed = t("disputed_total"),
        l_cards = t("cards_title"),
        l_cards_hint = t("cards_hint"),
        l_contract = t("card_contract"),
        l_valid = t("card_valid"),
        js = LIST_JS,
    );
    Ok((
        StatusCode::OK,
        page(lang, &i18n::t(lang, "bills.title"), CSS, &body),
    )
        .into_response())
}

/// The list page's script: the statement is posted as the body with the manager's badge;
/// a refusal lists every bad row.
const LIST_JS: &str = r#"
(() => {
  const lang = document.querySelector('main.bills').dataset.lang;
  const msg = document.getElementById('msg'), problems = document.getElementById('problems');
  document.getElementById('upload-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = document.getElementById('file').files[0];
    problems.innerHTML = '';
    if (!f) { msg.hidden = false; msg.className = 'bad'; msg.textContent = '…'; return; }
    msg.hidden = false; msg.className = ''; msg.textContent = '…';
    const q = new URLSearchParams({ courier: document.getElementById('courier').value,
      month: document.getElementById('month').value, layout: document.getElementById('layout').value,
      filename: f.name, lang });
    const r = await fetch('/api/v1/bills?' + q, { method: 'POST', body: f,
      headers: { 'x-badge': document.getElementById('badge').value.trim() } });
    const o = await r.json();
    if (r.ok) { location.href = `/manager/bills?bill=${o.bill_id}&lang=${lang}`; return; }
    msg.className = 'bad'; msg.textContent = o.message;
    for (const p of ((o.detail || {}).problems || [])) {
      const li = document.createElement('li');
      li.textContent = `${p.file}:${p.row ?? p.line}: ${p.column ? p.column + ': ' : ''}${p.message}`;
      problems.appendChild(li);
    }
  });
})();
"#;

/// The bill page's script: accepting the month with a manager's badge.
const BILL_JS: &str = r#"
(() => {
  const main = document.querySelector('main.bills');
  const form = document.getElementById('accept-form');
  if (!form) return;
  const msg = document.getElementById('msg');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch(`/api/v1/bills/${main.dataset.bill}/accept?lang=${main.dataset.lang}`, { method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ badge: document.getElementById('badge').value.trim() }) });
    const o = await r.json();
    msg.hidden = false; msg.className = r.ok ? 'ok' : 'bad'; msg.textContent = o.message;
    if (r.ok) setTimeout(() => location.reload(), 600);
  });
})();
"#;
