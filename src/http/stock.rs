//! HTTP handlers and pages of the stock workflow: stock by SKU and by bin, ledger entries,
//! adjustments and transfers, bins, stock files, receiving and the sold-out report. Handlers
//! check who is asking (a badge; a manager's for adjustments, bins, imports and for taking a
//! bin below zero), then call `App`. The pages post to the same JSON API.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::esc;
use super::{lang_of, AppError, State};
use crate::config::Role;
use crate::domain::ledger::{bin_kind, StockChange};
use crate::i18n::{self, Lang};
use crate::imports;
use crate::labels;
use crate::storage::ledger::{self, Bin, EntryFilter};

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/stock", get(stock))
        .route("/api/v1/stock/sku/{sku}", get(stock_sku))
        .route("/api/v1/stock/bin/{bin}", get(stock_bin))
        .route("/api/v1/stock/entries", get(entries))
        .route("/api/v1/stock/check", get(check))
        .route("/api/v1/stock/adjust", post(adjust))
        .route("/api/v1/stock/transfer", post(transfer))
        .route("/api/v1/stock/import", post(import_stock))
        .route("/api/v1/stock/sold-out", get(sold_out))
        .route("/api/v1/stock/sold-out.csv", get(sold_out_csv))
        .route("/api/v1/stock/sold-out.xlsx", get(sold_out_xlsx))
        .route("/api/v1/bins", get(bins).post(save_bins))
        .route("/api/v1/bins/import", post(import_bins))
        .route("/api/v1/receipts", get(receipts).post(open_receipt))
        .route("/api/v1/receipts/{id}", get(receipt))
        .route("/api/v1/receipts/{id}/scan", post(receipt_scan))
        .route("/api/v1/receipts/{id}/close", post(close_receipt))
        .route("/api/v1/receipts/{id}/labels", get(receipt_labels))
        .route("/api/v1/receipts/{id}/labels/print", post(print_labels))
        .route("/manager/stock", get(stock_page))
        .route("/manager/stock/entries", get(entries_page))
        .route("/manager/bins", get(bins_page))
        .route("/manager/receiving", get(receiving_page))
        .route("/manager/receiving/{id}", get(receipt_page))
        .route("/manager/receiving/{id}/receipt", get(receipt_print))
}

pub(super) fn lang(q: &Q, h: &HeaderMap) -> Lang {
    lang_of(q.get("lang").map(String::as_str), h)
}

/// The operator behind a badge, or 403.
pub(super) fn operator(app: &State, badge: &str, lang: Lang) -> Result<String, AppError> {
    let badge = badge.trim();
    match app.config.operator(badge) {
        Some(o) => Ok(o.badge.clone()),
        None => Err(AppError::new(
            StatusCode::FORBIDDEN,
            "badge_required",
            i18n::tf(lang, "stock.error.unknown_badge", &[("badge", badge)]),
        )),
    }
}

/// A manager's badge, or 403 `manager_required`.
pub(super) fn manager(app: &State, badge: &str, lang: Lang) -> Result<String, AppError> {
    let badge = badge.trim();
    if app
        .config
        .operator(badge)
        .is_some_and(|o| o.role == Role::Manager)
    {
        Ok(badge.to_string())
    } else {
        Err(AppError::new(
            StatusCode::FORBIDDEN,
            "manager_required",
            i18n::t(lang, "refusal.manager_required"),
        ))
    }
}

fn badge_of(q: &Q, h: &HeaderMap) -> String {
    h.get("x-badge")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("badge").cloned())
        .unwrap_or_default()
}

fn require_reason(reason: &str, lang: Lang) -> Result<(), AppError> {
    if reason.trim().is_empty() {
        return Err(AppError::bad_request(
            "reason_required",
            i18n::t(lang, "error.reason_required"),
        ));
    }
    Ok(())
}

/// A ledger reason as people read it: system reasons are message keys.
pub(super) fn reason_text(lang: Lang, reason: &str) -> String {
    match reason.strip_prefix("system:") {
        Some(k) => i18n::t(lang, &format!("stock.reason.{k}")),
        None => reason.to_string(),
    }
}

// ----- JSON API ------------------------------------------------------------------------------

async fn stock(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "skus": app.stock_by_sku().await? })))
}

async fn stock_sku(
    AxState(app): AxState<State>,
    Path(sku): Path<String>,
) -> Result<Json<Value>, AppError> {
    let s = sku.clone();
    let (bins, available) = app
        .db
        .read(move |c| Ok((ledger::stock_of(c, &s)?, ledger::available(c, &s)?)))
        .await?;
    let on_hand: i64 = bins.iter().map(|b| b.on_hand).sum();
    Ok(Json(
        json!({ "sku": sku, "available": available, "on_hand": on_hand, "bins": bins }),
    ))
}

async fn stock_bin(
    AxState(app): AxState<State>,
    Path(bin): Path<String>,
) -> Result<Json<Value>, AppError> {
    let b = bin.clone();
    let (info, contents) = app
        .db
        .read(move |c| Ok((ledger::get_bin(c, &b)?, ledger::bin_contents(c, &b)?)))
        .await?;
    Ok(Json(
        json!({ "bin": bin, "info": info, "contents": contents }),
    ))
}

fn filter(q: &Q) -> EntryFilter {
    EntryFilter {
        sku: q.get("sku").cloned().unwrap_or_default(),
        bin: q.get("bin").cloned().unwrap_or_default(),
        reference: q.get("ref").cloned().unwrap_or_default(),
        limit: q
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(500)
            .min(5000),
    }
}

async fn entries(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let f = filter(&q);
    let list = app.db.read(move |c| ledger::entries(c, &f)).await?;
    let list: Vec<Value> = list
        .into_iter()
        .map(|e| {
            let mut v = json!(e);
            v["reason_text"] = json!(reason_text(lang, &e.reason));
            v
        })
        .collect();
    Ok(Json(json!({ "entries": list })))
}

async fn check(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    let problems = app.db.read(ledger::check).await?;
    let list: Vec<Value> = problems
        .iter()
        .map(
            |(s, b, bal, sum)| json!({ "sku": s, "bin": b, "balance": bal, "sum_of_entries": sum }),
        )
        .collect();
    Ok(Json(json!({ "ok": list.is_empty(), "problems": list })))
}

#[derive(Deserialize)]
struct ChangeBody {
    #[serde(default)]
    badge: String,
    sku: String,
    #[serde(default)]
    bin: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    qty: i64,
    #[serde(default)]
    reason: String,
    /// Allow the bin below zero (needs a manager's badge).
    #[serde(default)]
    allow_negative: bool,
}

async fn adjust(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ChangeBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = manager(&app, &b.badge, lang)?;
    require_reason(&b.reason, lang)?;
    let over = if b.allow_negative { who.as_str() } else { "" };
    let ch = StockChange {
        operator: &who,
        sku: b.sku.trim(),
        reason: &b.reason,
        override_by: over,
    };
    Ok(Json(app.adjust_stock(ch, &b.bin, b.qty, lang).await?))
}

async fn transfer(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ChangeBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = if b.allow_negative {
        manager(&app, &b.badge, lang)?
    } else {
        operator(&app, &b.badge, lang)?
    };
    require_reason(&b.reason, lang)?;
    let over = if b.allow_negative { who.as_str() } else { "" };
    let ch = StockChange {
        operator: &who,
        sku: b.sku.trim(),
        reason: &b.reason,
        override_by: over,
    };
    Ok(Json(
        app.transfer_stock(ch, &b.from, &b.to, b.qty, lang).await?,
    ))
}

fn import_error(e: imports::ImportError) -> AppError {
    AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_refused",
        e.to_string(),
    )
    .with_detail(json!({ "problems": e.problems }))
}

/// `POST /api/v1/stock/import?filename=F` with a stock file as the body (manager).
async fn import_stock(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = manager(&app, &badge_of(&q, &h), lang)?;
    let name = q
        .get("filename")
        .cloned()
        .unwrap_or_else(|| "stock.csv".into());
    let lines = imports::read_stock(&name, &body, &|s| app.knows_sku(s)).map_err(import_error)?;
    let n = lines.len();
    let posting = app.import_stock(lines, &who, &name).await?;
    Ok(Json(json!({ "lines": n, "posting": posting })))
}

async fn sold_out(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(
        json!({ "skus": app.db.read(ledger::sold_out).await? }),
    ))
}

async fn sold_out_file(app: State, lang: Lang, format: &str) -> Result<Response, AppError> {
    let bytes = app.sold_out_file(format, lang).await?;
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
                format!("attachment; filename=\"sold-out.{format}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn sold_out_csv(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    sold_out_file(app, lang(&q, &h), "csv").await
}

async fn sold_out_xlsx(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    sold_out_file(app, lang(&q, &h), "xlsx").await
}

async fn bins(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    Ok(Json(json!({ "bins": app.db.read(ledger::bins).await? })))
}

#[derive(Deserialize)]
struct BinBody {
    code: String,
    #[serde(default)]
    zone: String,
    #[serde(default)]
    walk_seq: i64,
    #[serde(default)]
    kind: String,
}

#[derive(Deserialize)]
struct BinsBody {
    #[serde(default)]
    badge: String,
    bins: Vec<BinBody>,
}

async fn save_bins(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BinsBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    manager(&app, &b.badge, lang)?;
    let mut out = Vec::new();
    for x in b.bins {
        let kind = bin_kind(&x.kind).ok_or_else(|| {
            AppError::bad_request(
                "bad_kind",
                i18n::tf(lang, "stock.error.bad_kind", &[("kind", &x.kind)]),
            )
        })?;
        out.push(Bin {
            code: x.code.trim().to_string(),
            zone: x.zone.trim().to_string(),
            walk_seq: x.walk_seq.max(0),
            kind,
        });
    }
    let n = app.save_bins(out, lang).await?;
    Ok(Json(
        json!({ "saved": n, "message": i18n::tf(lang, "stock.bins_saved", &[("count", &n.to_string())]) }),
    ))
}

/// `POST /api/v1/bins/import?filename=F` with a bins file (code,zone,walk_seq,kind).
async fn import_bins(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    manager(&app, &badge_of(&q, &h), lang)?;
    let name = q
        .get("filename")
        .cloned()
        .unwrap_or_else(|| "bins.csv".into());
    let lines = imports::read_bins(&name, &body).map_err(import_error)?;
    let bins = lines
        .into_iter()
        .map(|l| Bin {
            code: l.code,
            zone: l.zone,
            walk_seq: l.walk_seq,
            kind: l.kind,
        })
        .collect();
    let n = app.save_bins(bins, lang).await?;
    Ok(Json(json!({ "saved": n })))
}

#[derive(Deserialize)]
struct ExpectedLine {
    sku: String,
    qty: i64,
}

#[derive(Deserialize)]
struct ReceiptBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    supplier: String,
    #[serde(default)]
    bin: String,
    #[serde(default)]
    expected: Vec<ExpectedLine>,
    /// The expected list as typed or pasted: `SKU,qty` (or tab-separated) per line.
    #[serde(default)]
    expected_text: String,
}

async fn receipts(AxState(app): AxState<State>) -> Result<Json<Value>, AppError> {
    let list = app
        .db
        .read(|c| crate::storage::returns::list_receipts(c, 200))
        .await?;
    Ok(Json(json!({ "receipts": list })))
}

async fn open_receipt(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ReceiptBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    let mut expected: Vec<(String, i64)> = b.expected.into_iter().map(|l| (l.sku, l.qty)).collect();
    for (i, line) in b.expected_text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split([',', '\t', ' ']).filter(|p| !p.is_empty());
        let sku = parts.next().unwrap_or("").to_string();
        let qty = parts
            .next()
            .and_then(|q| q.parse::<i64>().ok())
            .ok_or_else(|| {
                AppError::bad_request(
                    "bad_expected",
                    i18n::tf(
                        lang,
                        "stock.error.expected_line",
                        &[("line", &(i + 1).to_string()), ("text", line)],
                    ),
                )
            })?;
        expected.push((sku, qty));
    }
    Ok(Json(
        app.open_receipt(&who, &b.supplier, &b.bin, expected, lang)
            .await?,
    ))
}

async fn receipt(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.receipt_view(id, lang(&q, &h)).await?))
}

#[derive(Deserialize)]
struct ScanBody {
    #[serde(default)]
    badge: String,
    code: String,
    #[serde(default)]
    qty: Option<i64>,
    #[serde(default)]
    bin: String,
}

async fn receipt_scan(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<ScanBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(
        app.receipt_scan(id, &who, &b.code, b.qty.unwrap_or(1), &b.bin, lang)
            .await?,
    ))
}

#[derive(Deserialize)]
struct BadgeBody {
    #[serde(default)]
    badge: String,
    #[serde(default)]
    station: String,
    #[serde(default)]
    skus: Vec<String>,
}

async fn close_receipt(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(app.close_receipt(id, &who, lang).await?))
}

/// `GET /api/v1/receipts/{id}/labels?format=pdf|png&sku=A,B`: the SKU labels of what was
/// counted, one per unit, sorted by colour and size.
async fn receipt_labels(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let format: labels::Format = q
        .get("format")
        .map(String::as_str)
        .unwrap_or("pdf")
        .parse()
        .map_err(|e: String| AppError::bad_request("bad_format", e))?;
    let only: Vec<String> = q
        .get("sku")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let data = app.receipt_label_data(id, &only, lang).await?;
    let bytes = app.render_sku_labels(data, format, 203, lang).await?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes).into_response())
}

async fn print_labels(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<BadgeBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(
        app.print_sku_labels(id, &b.station, &b.skus, &who, lang)
            .await?,
    ))
}

// ----- pages ---------------------------------------------------------------------------------

/// The script every stock, receiving and returns page shares: a `form[data-api]` posts its
/// fields as JSON (numbers for `data-num` fields, checkboxes as booleans), shows the
/// answer's message, and reloads (or goes to `data-next` with `{id}` filled).
const FORM_SCRIPT: &str = r#"<script>
document.querySelectorAll('form[data-api]').forEach(function (f) {
  f.addEventListener('submit', async function (e) {
    e.preventDefault();
    var body = {};
    f.querySelectorAll('input,select,textarea').forEach(function (el) {
      if (!el.name) return;
      if (el.type === 'checkbox') body[el.name] = el.checked;
      else if (el.dataset.num !== undefined) body[el.name] = el.value === '' ? null : Number(el.value);
      else if (el.dataset.list !== undefined) body[el.name] = el.value.split(/[\s,]+/).filter(Boolean);
      else body[el.name] = el.value;
    });
    var badge = localStorage.getItem('badge') || '';
    if (body.badge === undefined) body.badge = badge;
    if (body.badge) localStorage.setItem('badge', body.badge);
    var out = document.getElementById('out');
    var r = await fetch(f.dataset.api, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    var v = {};
    try { v = await r.json(); } catch (_) {}
    out.textContent = v.message || (r.ok ? 'OK' : r.status);
    out.className = r.ok && v.verdict !== 'refused' ? 'ok' : 'bad';
    if (r.ok && f.dataset.next) {
      var id = (v.receipt && v.receipt.id) || (v['return'] && v['return'].id) || '';
      location.href = f.dataset.next.replace('{id}', id);
    } else if (r.ok) { setTimeout(function () { location.reload(); }, 700); }
  });
});
document.querySelectorAll('input[name=badge]').forEach(function (el) {
  if (!el.value) el.value = localStorage.getItem('badge') || '';
});
</script>"#;

const PAGE_CSS: &str = "body{font:16px/1.4 system-ui,sans-serif;margin:1.5rem;color:#111}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border-bottom:1px solid #ddd;padding:.25rem .6rem;text-align:left}\
.num{text-align:right;font-variant-numeric:tabular-nums}.neg{color:#b00;font-weight:700}.muted{color:#666}\
form{margin:.5rem 0 1rem;display:flex;flex-wrap:wrap;gap:.4rem;align-items:end}label{display:flex;flex-direction:column;font-size:.85rem}\
input,select,textarea,button{font:inherit;padding:.3rem}#out{font-weight:700;min-height:1.4em}.ok{color:#070}.bad{color:#b00}\
nav a{margin-right:1rem}.flag-purple{color:#80c}.flag-blue{color:#06c}.flag-yellow{color:#a80}\
@media print{nav,form,#out,.noprint{display:none}}";

/// The page frame of the stock, receiving and returns pages.
pub(super) fn frame(lang: Lang, title: &str, body: &str) -> Response {
    let t = |k: &str| esc(&i18n::t(lang, k));
    let nav = format!(
        "<nav><a href=\"/manager\">{}</a><a href=\"/manager/stock\">{}</a><a href=\"/manager/bins\">{}</a>\
         <a href=\"/manager/receiving\">{}</a><a href=\"/manager/returns\">{}</a><a href=\"/returns\">{}</a></nav>",
        t("stock.nav.manager"),
        t("stock.nav.stock"),
        t("stock.nav.bins"),
        t("stock.nav.receiving"),
        t("stock.nav.returns"),
        t("stock.nav.return_bench"),
    );
    let html = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>{PAGE_CSS}</style></head><body>{nav}<h1>{title}</h1><div id=\"out\" role=\"status\"></div>{body}{FORM_SCRIPT}</body></html>",
        l = lang.code(),
        title = esc(title),
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

/// A labelled input for the page forms.
pub(super) fn field(lang: Lang, key: &str, name: &str, attrs: &str) -> String {
    format!(
        "<label>{}<input name=\"{name}\" {attrs}></label>",
        esc(&i18n::t(lang, key))
    )
}

async fn stock_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let skus = app.stock_by_sku().await?;
    let (sold, problems) = app
        .db
        .read(|c| Ok((ledger::sold_out(c)?, ledger::check(c)?)))
        .await?;
    let mut rows = String::new();
    for s in &skus {
        let sku = s["sku"].as_str().unwrap_or("");
        let bins: Vec<String> = s["bins"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| {
                let q = b["on_hand"].as_i64().unwrap_or(0);
                let cls = if q < 0 { " class=\"neg\"" } else { "" };
                format!(
                    "<a href=\"/manager/stock/entries?bin={bin}\"{cls}>{bin} {q}</a>",
                    bin = esc(b["bin"].as_str().unwrap_or(""))
                )
            })
            .collect();
        let neg = if s["negative"].as_bool().unwrap_or(false) {
            format!(" <span class=\"neg\">{}</span>", t("stock.to_count"))
        } else {
            String::new()
        };
        rows.push_str(&format!(
            "<tr><td><a href=\"/manager/stock/entries?sku={k}\">{k}</a></td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}{neg}</td></tr>",
            esc(s["name"].as_str().unwrap_or("")),
            esc(s["option"].as_str().unwrap_or("")),
            s["available"],
            s["on_hand"],
            bins.join(" · "),
            k = esc(sku)
        ));
    }
    let sold_rows: String = sold
        .iter()
        .map(|s| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(&s.sku),
                esc(&s.name),
                esc(&s.option),
                s.available
            )
        })
        .collect();
    let health = if problems.is_empty() {
        format!("<p class=\"ok\">{}</p>", t("stock.ledger_ok"))
    } else {
        format!(
            "<p class=\"bad\">{}</p>",
            esc(&i18n::tf(
                lang,
                "stock.ledger_problems",
                &[("count", &problems.len().to_string())]
            ))
        )
    };
    let body = format!(
        "{health}<table><tr><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>\
         <h2>{}</h2><p><a href=\"/api/v1/stock/sold-out.csv?lang={l}\">CSV</a> · <a href=\"/api/v1/stock/sold-out.xlsx?lang={l}\">XLSX</a></p>\
         <table><tr><th>SKU</th><th>{}</th><th>{}</th><th>{}</th></tr>{sold_rows}</table>\
         <h2>{}</h2><form data-api=\"/api/v1/stock/adjust\">{}{}{}{}{}<label>{}<input type=\"checkbox\" name=\"allow_negative\"></label><button>{}</button></form>\
         <h2>{}</h2><form data-api=\"/api/v1/stock/transfer\">{}{}{}{}{}{}<button>{}</button></form>",
        t("stock.col.name"),
        t("stock.col.option"),
        t("stock.col.available"),
        t("stock.col.on_hand"),
        t("stock.col.bins"),
        t("stock.soldout.title"),
        t("stock.col.name"),
        t("stock.col.option"),
        t("stock.col.available"),
        t("stock.adjust.title"),
        field(lang, "stock.col.badge", "badge", "required"),
        field(lang, "stock.col.sku", "sku", "required"),
        field(lang, "stock.col.bin", "bin", "required"),
        field(lang, "stock.col.qty", "qty", "type=\"number\" data-num required"),
        field(lang, "stock.col.reason", "reason", "required"),
        t("stock.adjust.allow_negative"),
        t("stock.adjust.submit"),
        t("stock.transfer.title"),
        field(lang, "stock.col.badge", "badge", "required"),
        field(lang, "stock.col.sku", "sku", "required"),
        field(lang, "stock.col.from", "from", "required"),
        field(lang, "stock.col.to", "to", "required"),
        field(lang, "stock.col.qty", "qty", "type=\"number\" min=\"1\" data-num required"),
        field(lang, "stock.col.reason", "reason", "required"),
        t("stock.transfer.submit"),
        l = lang.code(),
    );
    Ok(frame(lang, &i18n::t(lang, "stock.title"), &body))
}

async fn entries_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let f = filter(&q);
    let what = [f.sku.as_str(), f.bin.as_str(), f.reference.as_str()]
        .into_iter()
        .filter(|x| !x.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    let list = app.db.read(move |c| ledger::entries(c, &f)).await?;
    let rows: String = list
        .iter()
        .map(|e| {
            let cls = if e.qty < 0 { " neg" } else { "" };
            format!(
                "<tr><td>{}</td><td><a href=\"?sku={sku}\">{sku}</a></td><td><a href=\"?bin={bin}\">{bin}</a></td>\
                 <td class=\"num{cls}\">{}</td><td>{}</td><td><a href=\"?ref={r}\">{r}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&e.at),
                e.qty,
                esc(&i18n::t(lang, &format!("stock.kind.{}", e.kind))),
                esc(&e.operator),
                esc(&reason_text(lang, &e.reason)),
                esc(&e.override_by),
                sku = esc(&e.sku),
                bin = esc(&e.bin),
                r = esc(&e.reference),
            )
        })
        .collect();
    let body = format!(
        "<p class=\"muted\">{}</p><table><tr><th>{}</th><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>",
        esc(&what),
        t("stock.col.when"),
        t("stock.col.bin"),
        t("stock.col.qty"),
        t("stock.col.kind"),
        t("stock.col.reference"),
        t("stock.col.who"),
        t("stock.col.reason"),
        t("stock.col.override"),
    );
    Ok(frame(lang, &i18n::t(lang, "stock.entries.title"), &body))
}

async fn bins_page(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let bins = app.db.read(ledger::bins).await?;
    let rows: String = bins
        .iter()
        .map(|b| {
            format!(
                "<tr><td><a href=\"/manager/stock/entries?bin={c}\">{c}</a></td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                esc(&b.zone),
                b.walk_seq,
                esc(&i18n::t(lang, &format!("stock.bin_kind.{}", b.kind.as_str()))),
                c = esc(&b.code)
            )
        })
        .collect();
    let kinds: String = ["pick", "reserve", "receiving", "quarantine", "staging"]
        .iter()
        .map(|k| {
            format!(
                "<option value=\"{k}\">{}</option>",
                esc(&i18n::t(lang, &format!("stock.bin_kind.{k}")))
            )
        })
        .collect();
    let body = format!(
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>\
         <h2>{}</h2><form id=\"bin\">{}{}{}{}<label>{}<select name=\"kind\">{kinds}</select></label><button>{}</button></form>\
         <h2>{}</h2><p class=\"muted\">code,zone,walk_seq,kind</p><form id=\"binfile\">{}<input type=\"file\" name=\"file\" accept=\".csv,.xlsx\"><button>{}</button></form>\
         <script>
         document.getElementById('bin').addEventListener('submit', async function (e) {{
           e.preventDefault(); var f = e.target;
           localStorage.setItem('badge', f.badge.value);
           var r = await fetch('/api/v1/bins', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }},
             body: JSON.stringify({{ badge: f.badge.value, bins: [{{ code: f.code.value, zone: f.zone.value, walk_seq: Number(f.walk_seq.value || 0), kind: f.kind.value }}] }}) }});
           var v = await r.json(); var o = document.getElementById('out'); o.textContent = v.message; o.className = r.ok ? 'ok' : 'bad';
           if (r.ok) setTimeout(function () {{ location.reload(); }}, 500);
         }});
         document.getElementById('binfile').addEventListener('submit', async function (e) {{
           e.preventDefault(); var f = e.target; var file = f.file.files[0]; if (!file) return;
           var r = await fetch('/api/v1/bins/import?filename=' + encodeURIComponent(file.name) + '&badge=' + encodeURIComponent(f.badge.value), {{ method: 'POST', body: file }});
           var v = await r.json(); var o = document.getElementById('out'); o.textContent = v.message || v.saved; o.className = r.ok ? 'ok' : 'bad';
           if (r.ok) setTimeout(function () {{ location.reload(); }}, 500);
         }});
         </script>",
        t("stock.col.bin"),
        t("stock.col.zone"),
        t("stock.col.walk_seq"),
        t("stock.col.kind"),
        t("stock.bins.edit"),
        field(lang, "stock.col.badge", "badge", "required"),
        field(lang, "stock.col.bin", "code", "required"),
        field(lang, "stock.col.zone", "zone", ""),
        field(lang, "stock.col.walk_seq", "walk_seq", "type=\"number\" min=\"0\""),
        t("stock.col.kind"),
        t("stock.bins.save"),
        t("stock.bins.import"),
        field(lang, "stock.col.badge", "badge", "required"),
        t("stock.bins.upload"),
    );
    Ok(frame(lang, &i18n::t(lang, "stock.bins.title"), &body))
}

async fn receiving_page(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let list = app
        .db
        .read(|c| crate::storage::returns::list_receipts(c, 100))
        .await?;
    let rows: String = list
        .iter()
        .map(|r| {
            format!(
                "<tr><td><a href=\"/manager/receiving/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                r.id,
                esc(&r.number),
                esc(&r.supplier),
                esc(&i18n::t(lang, &format!("stock.status.{}", r.status))),
                esc(&r.opened_at)
            )
        })
        .collect();
    let body = format!(
        "<h2>{}</h2><form data-api=\"/api/v1/receipts\" data-next=\"/manager/receiving/{{id}}\">{}{}{}\
         <label>{}<textarea name=\"expected_text\" rows=\"4\" placeholder=\"SKU,qty\"></textarea></label><button>{}</button></form>\
         <table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>",
        t("stock.receiving.open"),
        field(lang, "stock.col.badge", "badge", "required"),
        field(lang, "stock.col.supplier", "supplier", ""),
        field(lang, "stock.col.bin", "bin", ""),
        t("stock.receiving.expected"),
        t("stock.receiving.start"),
        t("stock.col.receipt"),
        t("stock.col.supplier"),
        t("stock.col.status"),
        t("stock.col.when"),
    );
    Ok(frame(lang, &i18n::t(lang, "stock.receiving.title"), &body))
}

fn receipt_table(lang: Lang, v: &Value) -> String {
    let t = |k: &str| esc(&i18n::t(lang, k));
    let rows: String = v["lines"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let d = l["diff"].as_i64().unwrap_or(0);
            let cls = if d != 0 { " neg" } else { "" };
            let bins: Vec<String> = l["bins"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(b, q)| format!("{} {q}", esc(b)))
                .collect();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num{cls}\">{d:+}</td><td>{}</td></tr>",
                esc(l["sku"].as_str().unwrap_or("")),
                esc(l["name"].as_str().unwrap_or("")),
                esc(l["option"].as_str().unwrap_or("")),
                l["expected"],
                l["counted"],
                bins.join(" · ")
            )
        })
        .collect();
    let unknown: Vec<String> = v["unknown"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| esc(u["code"].as_str().unwrap_or("")))
        .collect();
    let unknown = if unknown.is_empty() {
        String::new()
    } else {
        format!(
            "<p class=\"bad\">{}: {}</p>",
            t("stock.receiving.unknown_codes"),
            unknown.join(", ")
        )
    };
    format!(
        "<table><tr><th>SKU</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{rows}</table>{unknown}\
         <p>{}</p>",
        t("stock.col.name"),
        t("stock.col.option"),
        t("stock.col.expected"),
        t("stock.col.counted"),
        t("stock.col.diff"),
        t("stock.col.bins"),
        esc(&i18n::tf(
            lang,
            "stock.receiving.totals",
            &[
                ("counted", &v["counted_units"].to_string()),
                ("expected", &v["expected_units"].to_string()),
                ("over", &v["over_units"].to_string()),
                ("short", &v["short_units"].to_string()),
            ]
        )),
    )
}

async fn receipt_page(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let v = app.receipt_view(id, lang).await?;
    let r = &v["receipt"];
    let open = r["status"] == "open";
    let stations: String = app
        .station_ids()
        .iter()
        .map(|s| format!("<option>{}</option>", esc(s)))
        .collect();
    let actions = if open {
        format!(
            "<form data-api=\"/api/v1/receipts/{id}/scan\">{}{}{}{}<button>{}</button></form>\
             <form data-api=\"/api/v1/receipts/{id}/close\">{}<button>{}</button></form>",
            field(lang, "stock.col.badge", "badge", "required"),
            field(
                lang,
                "stock.col.code",
                "code",
                "required autofocus autocomplete=\"off\""
            ),
            field(
                lang,
                "stock.col.qty",
                "qty",
                "type=\"number\" min=\"1\" value=\"1\" data-num"
            ),
            field(lang, "stock.col.bin", "bin", ""),
            t("stock.receiving.count"),
            field(lang, "stock.col.badge", "badge", "required"),
            t("stock.receiving.close"),
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p>{} · {} · {} <b>{}</b></p>{actions}{}\
         <h2>{}</h2><p><a href=\"/api/v1/receipts/{id}/labels?format=pdf\">PDF</a> · <a href=\"/api/v1/receipts/{id}/labels?format=png\">PNG</a> · \
         <a href=\"/manager/receiving/{id}/receipt\">{}</a></p>\
         <form data-api=\"/api/v1/receipts/{id}/labels/print\">{}<label>{}<select name=\"station\">{stations}</select></label>\
         <label>SKU<input name=\"skus\" data-list></label><button>{}</button></form>",
        esc(r["number"].as_str().unwrap_or("")),
        esc(r["supplier"].as_str().unwrap_or("")),
        esc(&i18n::t(lang, &format!("stock.status.{}", r["status"].as_str().unwrap_or("")))),
        esc(r["bin"].as_str().unwrap_or("")),
        receipt_table(lang, &v),
        t("stock.receiving.labels"),
        t("stock.receiving.print_receipt"),
        field(lang, "stock.col.badge", "badge", "required"),
        t("stock.col.station"),
        t("stock.receiving.print_labels"),
    );
    Ok(frame(lang, &i18n::t(lang, "stock.receiving.title"), &body))
}

/// The printable receipt (入库单): lines sorted by colour and size, with signatures.
async fn receipt_print(
    AxState(app): AxState<State>,
    Path(id): Path<i64>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let v = app.receipt_view(id, lang).await?;
    let r = &v["receipt"];
    let body = format!(
        "<p>{} · {} · {} {}</p>{}<p>{} ________ &nbsp; {} ________</p><button class=\"noprint\" onclick=\"print()\">{}</button>",
        esc(r["number"].as_str().unwrap_or("")),
        esc(r["supplier"].as_str().unwrap_or("")),
        esc(r["opened_at"].as_str().unwrap_or("")),
        esc(r["closed_at"].as_str().unwrap_or("")),
        receipt_table(lang, &v),
        t("stock.receiving.received_by"),
        t("stock.receiving.checked_by"),
        t("stock.receiving.print"),
    );
    Ok(frame(
        lang,
        &i18n::t(lang, "stock.receiving.receipt_title"),
        &body,
    ))
}
