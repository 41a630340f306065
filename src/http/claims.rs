//! HTTP handlers and the page of claims against couriers: open a claim (from a return's
//! draft or on any shipment), photos (a photo whose QR code or barcode names a waybill is
//! linked to it), status and amounts (manager), the evidence pack PDF, and a shipment's
//! claims and photos. `/manager/claims` is the page.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::pages::{esc, lang_switch, page};
use super::stock::{lang, manager, operator};
use super::{AppError, State};
use crate::i18n::{self, Lang};
use crate::service::claims::{ClaimUpdate, OpenClaim, KINDS, STATUSES};
use crate::storage::claims as store;

type Q = Query<HashMap<String, String>>;

/// The routes of this workflow, merged into the app's router. (`GET /api/v1/claims` lists
/// the returns' claim drafts, in `returns.rs`.)
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/claims", post(open))
        .route("/api/v1/claims/list", get(list))
        .route("/api/v1/claims/{id}", get(show))
        .route("/api/v1/claims/{id}/status", post(update))
        .route("/api/v1/claims/{id}/photos", post(photo))
        .route("/api/v1/claims/{id}/pack.pdf", get(pack))
        .route("/api/v1/photos", post(loose_photo))
        .route("/api/v1/shipments/{waybill}/claims", get(of_shipment))
        .route("/manager/claims", get(page_handler))
}

fn badge_of(q: &Q, h: &HeaderMap) -> String {
    h.get("x-badge")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| q.get("badge").cloned())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct OpenBody {
    #[serde(flatten)]
    claim: OpenClaim,
    #[serde(default)]
    badge: String,
}

async fn open(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<OpenBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &b.badge, lang)?;
    Ok(Json(app.open_claim(b.claim, &who, lang).await?))
}

async fn list(AxState(app): AxState<State>, q: Q) -> Result<Json<Value>, AppError> {
    let pick = |k: &str| q.get(k).cloned().filter(|s| !s.is_empty());
    let claims = app.claims(pick("status"), pick("waybill")).await?;
    Ok(Json(json!({ "claims": claims })))
}

async fn show(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.claim_view(&id, lang(&q, &h)).await?))
}

#[derive(Deserialize)]
struct UpdateBody {
    #[serde(flatten)]
    update: ClaimUpdate,
    #[serde(default)]
    badge: String,
}

async fn update(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
    Json(b): Json<UpdateBody>,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = manager(&app, &b.badge, lang)?;
    Ok(Json(app.update_claim(&id, b.update, &who, lang).await?))
}

/// `POST /api/v1/claims/{id}/photos?badge=B` with the image as the body.
async fn photo(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &badge_of(&q, &h), lang)?;
    Ok(Json(
        app.claim_photo(Some(&id), body.to_vec(), &who, lang)
            .await?,
    ))
}

/// `POST /api/v1/photos?badge=B` with the image as the body: kept, and linked to the
/// shipment its QR code or barcode names.
async fn loose_photo(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AppError> {
    let lang = lang(&q, &h);
    let who = operator(&app, &badge_of(&q, &h), lang)?;
    Ok(Json(
        app.claim_photo(None, body.to_vec(), &who, lang).await?,
    ))
}

async fn pack(
    AxState(app): AxState<State>,
    Path(id): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let bytes = app.claim_pack(&id, lang(&q, &h)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"claim-{}.pdf\"", id.replace('"', "")),
            ),
        ],
        bytes,
    )
        .into_response())
}

async fn of_shipment(
    AxState(app): AxState<State>,
    Path(waybill): Path<String>,
) -> Result<Json<Value>, AppError> {
    Ok(Json(app.shipment_claims(&waybill).await?))
}

// ----- the page -------------------------------------------------------------------------

const CSS: &str = "<style>
.claims form.inline{display:flex;gap:.6rem;align-items:end;flex-wrap:wrap}
.claims .msg{padding:.6rem 1rem;border-radius:.4rem;margin:.6rem 0}
.claims .msg.ok{background:#dcfce7;color:#14532d}.claims .msg.bad{background:#fee2e2;color:#7f1d1d}
.claims .photos img{max-width:180px;max-height:180px;margin:.3rem;border:1px solid #ccc}
.claims dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
</style>";

fn options(list: &[&str], prefix: &str, lang: Lang, selected: &str) -> String {
    list.iter()
        .map(|k| {
            let sel = if *k == selected { " selected" } else { "" };
            format!(
                "<option value=\"{k}\"{sel}>{}</option>",
                esc(&i18n::t(lang, &format!("{prefix}.{k}")))
            )
        })
        .collect()
}

async fn page_handler(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang(&q, &h);
    let t = |k: &str| esc(&i18n::t(lang, &format!("claims.{k}")));
    let lc = lang.code();
    let top = format!(
        "<header class=\"top\"><b>{wh}</b><nav><a href=\"/manager?lang={lc}\">{mgr}</a> · <a href=\"/manager/bills?lang={lc}\">{bills}</a> {sw}</nav></header>",
        wh = esc(&app.config.warehouse.name),
        mgr = esc(&i18n::t(lang, "manager.title")),
        bills = esc(&i18n::t(lang, "bills.title")),
        sw = lang_switch(lang, "/manager/claims"),
    );
    if let Some(key) = q.get("claim").filter(|s| !s.is_empty()) {
        let v = app.claim_view(key, lang).await?;
        let c = &v["claim"];
        let ev = &c["evidence"];
        let s = |v: &Value| {
            esc(v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
                .trim_matches('"'))
        };
        let photos: String = v["photos"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                format!(
                    "<a href=\"/api/v1/photos/{sha}\"><img src=\"/api/v1/photos/{sha}\" alt=\"{via}\" title=\"{via} {code}\"></a>",
                    sha = s(&p["sha256"]),
                    via = s(&p["via"]),
                    code = s(&p["code"])
                )
            })
            .collect();
        let history: String = v["history"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                format!(
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
                    s(&h["at"]),
                    esc(&i18n::t(lang, &format!("claims.status.{}", h["status"].as_str().unwrap_or("")))),
                    h["claimed"], h["accepted"], h["paid"], s(&h["by"]), s(&h["note"])
                )
            })
            .collect();
        let scans = ev["scans"].as_array().map(Vec::len).unwrap_or(0);
        let body = format!(
            "{top}<main class=\"claims\" data-lang=\"{lc}\" data-claim=\"{num}\"><p><a href=\"/manager/claims?lang={lc}\">{back}</a></p>\
             <h1>{l_claim} <code>{num}</code> · {courier}</h1>\
             <section class=\"card\"><dl><dt>{l_wb}</dt><dd><code id=\"waybill\">{wb}</code></dd><dt>{l_kind}</dt><dd>{kind}</dd>\
             <dt>{l_status}</dt><dd id=\"status\">{status}</dd><dt>{l_claimed}</dt><dd>{claimed}</dd><dt>{l_accepted}</dt><dd>{accepted}</dd>\
             <dt>{l_paid}</dt><dd>{paid}</dd><dt>{l_out}</dt><dd>{out}</dd><dt>{l_desc}</dt><dd>{desc}</dd></dl>\
             <p><a id=\"pack\" href=\"/api/v1/claims/{num}/pack.pdf?lang={lc}\">{l_pack}</a></p></section>\
             <section class=\"card\"><h2>{l_evidence}</h2><dl><dt>{l_measured}</dt><dd>{measured} g</dd><dt>{l_expected}</dt><dd>{expected} g (± {tol} g)</dd>\
             <dt>{l_packer}</dt><dd>{packer} {packer_name} · {station} · {packed}</dd><dt>{l_manifest}</dt><dd>{manifest}</dd><dt>{l_handed}</dt><dd>{handed}</dd>\
             <dt>{l_scans}</dt><dd>{scans}</dd></dl></section>\
             <section class=\"card\"><h2>{l_photos}</h2><div class=\"photos\" id=\"photos\">{photos}</div>\
             <form id=\"photo-form\" class=\"inline\"><label>{l_badge} <input name=\"badge\" autocomplete=\"off\"></label><input type=\"file\" name=\"file\" accept=\"image/*\" capture=\"environment\"><button>{l_upload}</button></form><div class=\"msg\" id=\"photo-msg\" hidden></div></section>\
             <section class=\"card\"><h2>{l_update}</h2><form id=\"update-form\" class=\"inline\">\
             <label>{l_status} <select name=\"status\">{statuses}</select></label>\
             <label>{l_claimed} <input name=\"claimed\" type=\"number\" min=\"0\" value=\"{claimed}\"></label>\
             <label>{l_accepted} <input name=\"accepted\" type=\"number\" min=\"0\" value=\"{accepted}\"></label>\
             <label>{l_paid} <input name=\"paid\" type=\"number\" min=\"0\" value=\"{paid}\"></label>\
             <label>{l_note} <input name=\"note\"></label><label>{l_badge} <input name=\"badge\" autocomplete=\"off\"></label>\
             <button>{l_update_button}</button></form><div class=\"msg\" id=\"update-msg\" hidden></div>\
             <h3>{l_history}</h3><table id=\"history\"><tr><th></th><th>{l_status}</th><th>{l_claimed}</th><th>{l_accepted}</th><th>{l_paid}</th><th></th><th>{l_note}</th></tr>{history}</table></section>\
             </main><script>{js}</script>",
            back = t("back"),
            l_claim = t("number"),
            num = s(&c["number"]),
            courier = esc(v["courier_name"].as_str().unwrap_or("")),
            l_wb = t("waybill"),
            wb = s(&c["waybill"]),
            l_kind = t("kind_label"),
            kind = esc(&i18n::t(lang, &format!("claims.kind.{}", c["kind"].as_str().unwrap_or("")))),
            l_status = t("status_label"),
            status = esc(&i18n::t(lang, &format!("claims.status.{}", c["status"].as_str().unwrap_or("")))),
            l_claimed = t("claimed"),
            claimed = c["claimed"],
            l_accepted = t("accepted"),
            accepted = c["accepted"],
            l_paid = t("paid"),
            paid = c["paid"],
            l_out = t("outstanding"),
            out = v["outstanding"],
            l_desc = t("description"),
            desc = s(&c["description"]),
            l_pack = t("pack"),
            l_evidence = t("evidence_title"),
            l_measured = t("measured"),
            measured = ev["measured_g"],
            l_expected = t("expected"),
            expected = ev["expected_g"],
            tol = ev["tolerance_g"],
            l_packer = t("packer"),
            packer = s(&ev["packer"]),
            packer_name = s(&ev["packer_name"]),
            station = s(&ev["station"]),
            packed = s(&ev["packed_at"]),
            l_manifest = t("manifest"),
            manifest = s(&ev["manifest"]),
            l_handed = t("handed_over"),
            handed = s(&ev["handed_over_at"]),
            l_scans = t("scans"),
            l_photos = t("photos_title"),
            l_badge = t("badge"),
            l_upload = t("photo_upload"),
            l_update = t("update_title"),
            statuses = options(&STATUSES, "claims.status", lang, c["status"].as_str().unwrap_or("")),
            l_note = t("note"),
            l_update_button = t("update_button"),
            l_history = t("history_title"),
            js = CLAIM_JS,
        );
        return Ok(page(lang, &i18n::t(lang, "claims.title"), CSS, &body));
    }

    let claims = app
        .claims(q.get("status").cloned().filter(|s| !s.is_empty()), None)
        .await?;
    let drafts = app.db.read(store::unopened_drafts).await?;
    let rows: String = claims
        .iter()
        .map(|c| {
            format!(
                "<tr><td><a href=\"/manager/claims?claim={n}&lang={lc}\"><code>{n}</code></a></td><td><code>{wb}</code></td><td>{courier}</td><td>{kind}</td><td>{status}</td><td class=\"num\">{cl}</td><td class=\"num\">{ac}</td><td class=\"num\">{pd}</td></tr>",
                n = esc(&c.number),
                wb = esc(&c.waybill),
                courier = esc(&app.courier_name(&c.courier, lc)),
                kind = esc(&i18n::t(lang, &format!("claims.kind.{}", c.kind))),
                status = esc(&i18n::t(lang, &format!("claims.status.{}", c.status))),
                cl = c.claimed,
                ac = c.accepted,
                pd = c.paid,
            )
        })
        .collect();
    let draft_rows: String = drafts
        .iter()
        .map(|(id, wb, courier, reason)| {
            format!(
                "<tr><td><code>{wb}</code></td><td>{c}</td><td>{r}</td><td><button type=\"button\" class=\"open-draft\" data-draft=\"{id}\">{l}</button></td></tr>",
                wb = esc(wb),
                c = esc(&app.courier_name(courier, lc)),
                r = esc(reason),
                l = t("open_draft"),
            )
        })
        .collect();
    let body = format!(
        "{top}<main class=\"claims\" data-lang=\"{lc}\"><h1>{title}</h1>\
         <section class=\"card\"><h2>{l_open}</h2><form id=\"open-form\" class=\"inline\">\
         <label>{l_wb} <input name=\"waybill\" autocomplete=\"off\"></label>\
         <label>{l_kind} <select name=\"kind\">{kinds}</select></label>\
         <label>{l_claimed} <input name=\"claimed\" type=\"number\" min=\"0\" value=\"0\"></label>\
         <label>{l_desc} <input name=\"description\"></label>\
         <label>{l_badge} <input name=\"badge\" id=\"badge\" autocomplete=\"off\"></label>\
         <button>{l_open_button}</button></form><div class=\"msg\" id=\"open-msg\" hidden></div></section>\
         <section class=\"card\"><h2>{l_drafts}</h2><table id=\"drafts\"><tr><th>{l_wb}</th><th></th><th>{l_desc}</th><th></th></tr>{draft_rows}</table></section>\
         <section class=\"card\"><h2>{l_photo}</h2><p>{l_photo_hint}</p><form id=\"loose-photo\" class=\"inline\"><input type=\"file\" name=\"file\" accept=\"image/*\" capture=\"environment\"><button>{l_upload}</button></form><div class=\"msg\" id=\"loose-msg\" hidden></div></section>\
         <section class=\"card\"><h2>{l_list}</h2><table id=\"claims\"><tr><th>{l_number}</th><th>{l_wb}</th><th></th><th>{l_kind}</th><th>{l_status}</th><th>{l_claimed}</th><th>{l_accepted}</th><th>{l_paid}</th></tr>{rows}</table></section>\
         </main><script>{js}</script>",
        title = t("title"),
        l_open = t("open_title"),
        l_wb = t("waybill"),
        l_kind = t("kind_label"),
        kinds = options(&KINDS, "claims.kind", lang, ""),
        l_claimed = t("claimed"),
        l_desc = t("description"),
        l_badge = t("badge"),
        l_open_button = t("open_button"),
        l_drafts = t("drafts_title"),
        l_photo = t("photo_title"),
        l_photo_hint = t("photo_hint"),
        l_upload = t("photo_upload"),
        l_list = t("list_title"),
        l_number = t("number"),
        l_status = t("status_label"),
        l_accepted = t("accepted"),
        l_paid = t("paid"),
        js = LIST_JS,
    );
    Ok(page(lang, &i18n::t(lang, "claims.title"), CSS, &body))
}

const LIST_JS: &str = r#"
(() => {
  const lang = document.querySelector('main.claims').dataset.lang;
  const show = (id, ok, text) => { const m = document.getElementById(id); m.hidden = false; m.className = 'msg ' + (ok ? 'ok' : 'bad'); m.textContent = text; };
  const openClaim = async (body) => {
    const r = await fetch(`/api/v1/claims?lang=${lang}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const o = await r.json();
    if (r.ok) { location.href = `/manager/claims?claim=${o.claim.number}&lang=${lang}`; return; }
    show('open-msg', false, o.message);
  };
  document.getElementById('open-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.target;
    openClaim({ waybill: f.waybill.value.trim(), kind: f.kind.value, claimed: Number(f.claimed.value || 0),
                description: f.description.value, badge: f.badge.value.trim() });
  });
  document.querySelectorAll('.open-draft').forEach((b) => b.addEventListener('click', () =>
    openClaim({ draft_id: Number(b.dataset.draft), badge: document.getElementById('badge').value.trim() })));
  document.getElementById('loose-photo').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = e.target.file.files[0];
    if (!file) return;
    const r = await fetch(`/api/v1/photos?lang=${lang}`, { method: 'POST', body: file,
      headers: { 'x-badge': document.getElementById('badge').value.trim() } });
    const o = await r.json();
    show('loose-msg', r.ok, o.message);
  });
})();
"#;

const CLAIM_JS: &str = r#"
(() => {
  const main = document.querySelector('main.claims');
  const lang = main.dataset.lang, num = main.dataset.claim;
  const show = (id, ok, text) => { const m = document.getElementById(id); m.hidden = false; m.className = 'msg ' + (ok ? 'ok' : 'bad'); m.textContent = text; };
  document.getElementById('photo-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = e.target.file.files[0];
    if (!file) return;
    const r = await fetch(`/api/v1/claims/${encodeURIComponent(num)}/photos?lang=${lang}`, { method: 'POST', body: file,
      headers: { 'x-badge': e.target.badge.value.trim() } });
    const o = await r.json();
    show('photo-msg', r.ok, o.message);
    if (r.ok) setTimeout(() => location.reload(), 800);
  });
  document.getElementById('update-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    const r = await fetch(`/api/v1/claims/${encodeURIComponent(num)}/status?lang=${lang}`, { method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: f.status.value, claimed: Number(f.claimed.value), accepted: Number(f.accepted.value),
                             paid: Number(f.paid.value), note: f.note.value, badge: f.badge.value.trim() }) });
    const o = await r.json();
    show('update-msg', r.ok, r.ok ? '✓' : o.message);
    if (r.ok) setTimeout(() => location.reload(), 600);
  });
})();
"#;
