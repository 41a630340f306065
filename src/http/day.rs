//! The manager's day page (`/manager/day`) and its JSON (`GET /api/v1/day`): orders against
//! today's cut-off drawn as one bar, open waves, stations and packers' throughput, parcels
//! awaiting hand-over per courier, returns to inspect and holds. The page reloads its
//! figures every 20 seconds.

use std::collections::HashMap;

use axum::extract::{Query, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::Value;

use super::pages::{esc, lang_switch, page};
use super::{lang_of, AppError, State};
use crate::i18n::{self, Lang};

type Q = Query<HashMap<String, String>>;

/// The routes of the day page.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/api/v1/day", get(day_json))
        .route("/manager/day", get(day_page))
}

async fn day_json(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Json<Value>, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    Ok(Json(app.day(lang).await?))
}

/// The order states in the order the bar draws them, with their colours.
const STATES: [(&str, &str); 4] = [
    ("packed", "#2e7d32"),
    ("packing", "#1565c0"),
    ("ready", "#9e9e9e"),
    ("cancelled", "#6d4c41"),
];

/// Orders due today (paid before the cut-off) as one horizontal bar, a segment per state,
/// with the held ones hatched over it: how much of today's work is done at a glance.
pub fn due_bar_svg(day: &Value, lang: Lang) -> String {
    let count = |status: &str| -> i64 {
        day["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["status"] == status)
            .map(|s| s["due_today"].as_i64().unwrap_or(0))
            .sum()
    };
    let total: i64 = STATES.iter().map(|(s, _)| count(s)).sum();
    let (w, h) = (720.0, 56.0);
    let mut x = 0.0;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(&i18n::t(lang, "day.due_bar"))
    );
    out.push_str(&format!(
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"28\" fill=\"#eeeeee\"/>"
    ));
    let mut legend = String::new();
    let mut lx = 0.0;
    for (status, colour) in STATES {
        let n = count(status);
        let seg = if total > 0 {
            w * n as f64 / total as f64
        } else {
            0.0
        };
        if seg > 0.0 {
            out.push_str(&format!(
                "<rect class=\"seg-{status}\" x=\"{x:.1}\" y=\"0\" width=\"{seg:.1}\" height=\"28\" fill=\"{colour}\"><title>{} {n}</title></rect>",
                esc(&i18n::t(lang, &format!("day.state.{status}")))
            ));
        }
        x += seg;
        let label = format!("{} {n}", i18n::t(lang, &format!("day.state.{status}")));
        legend.push_str(&format!(
            "<rect x=\"{lx:.0}\" y=\"38\" width=\"12\" height=\"12\" fill=\"{colour}\"/>\
             <text x=\"{:.0}\" y=\"49\" font-size=\"13\">{}</text>",
            lx + 16.0,
            esc(&label)
        ));
        lx += 28.0 + 9.0 * label.chars().count() as f64;
    }
    if total == 0 {
        out.push_str(&format!(
            "<text x=\"8\" y=\"19\" font-size=\"13\">{}</text>",
            esc(&i18n::t(lang, "day.nothing_due"))
        ));
    }
    out.push_str(&legend);
    out.push_str("</svg>");
    out
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => esc(s),
        Value::Null => "—".into(),
        other => esc(&other.to_string()),
    }
}

/// A table of `rows` with the given headers, or the `empty` message when there are none.
fn table(lang: Lang, heads: &[&str], rows: Vec<Vec<String>>, empty: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"muted\">{}</p>", esc(&i18n::t(lang, empty)));
    }
    let mut s = String::from("<table><tr>");
    for h in heads {
        s.push_str(&format!("<th>{}</th>", esc(&i18n::t(lang, h))));
    }
    s.push_str("</tr>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            s.push_str(&format!("<td>{c}</td>"));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

/// A device's state in the page's language (the bench's device panel says the same words).
fn device_state(lang: Lang, state: &Value) -> String {
    match state.as_str() {
        Some(s) if !s.is_empty() => esc(&i18n::t(lang, &format!("device.{s}"))),
        _ => "—".into(),
    }
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v[key].as_array().into_iter().flatten()
}

async fn day_page(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Response, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let d = app.day(lang).await?;
    let t = |k: &str| esc(&i18n::t(lang, k));
    let lc = lang.code();
    let waves = table(
        lang,
        &[
            "day.wave",
            "day.orders",
            "day.picked",
            "day.short",
            "day.held",
        ],
        list(&d, "waves")
            .map(|w| {
                vec![
                    format!(
                        "<a href=\"/manager/waves/{n}?lang={lc}\">{n}</a>",
                        n = cell(&w["number"])
                    ),
                    cell(&w["orders"]),
                    format!("{} / {}", cell(&w["picked"]), cell(&w["units"])),
                    cell(&w["short"]),
                    cell(&w["held"]),
                ]
            })
            .collect(),
        "day.no_waves",
    );
    let stations = table(
        lang,
        &[
            "day.station",
            "day.packer",
            "day.open_order",
            "day.packed",
            "day.devices",
        ],
        list(&d, "stations")
            .map(|s| {
                let dev = &s["devices"];
                let warn = if s["print_failed"].is_null() {
                    String::new()
                } else {
                    format!(
                        " <span class=\"flag yellow\">{}</span>",
                        t("day.print_failed")
                    )
                };
                vec![
                    format!(
                        "<a href=\"/bench/{id}?lang={lc}\">{id}</a>",
                        id = cell(&s["station"])
                    ),
                    cell(&s["operator"]["name"]),
                    cell(&s["open_order"]),
                    cell(&s["packed_today"]),
                    format!(
                        "{}: {} · {}: {} · {}: {}{warn}",
                        t("day.scanner"),
                        device_state(lang, &dev["scanner"]),
                        t("day.scale"),
                        device_state(lang, &dev["scale"]),
                        t("day.printer"),
                        device_state(lang, &dev["printer"])
                    ),
                ]
            })
            .collect(),
        "day.no_stations",
    );
    let packers = table(
        lang,
        &[
            "day.packer",
            "day.station",
            "day.parcels",
            "day.per_hour",
            "day.last_at",
        ],
        list(&d, "packers")
            .map(|p| {
                vec![
                    cell(&p["name"]),
                    cell(&p["station"]),
                    cell(&p["parcels"]),
                    cell(&p["per_hour"]),
                    cell(&p["last_at"]),
                ]
            })
            .collect(),
        "day.no_parcels",
    );
    let awaiting = table(
        lang,
        &["day.courier", "day.parcels", "day.weight_kg", "day.oldest"],
        list(&d, "awaiting_handover")
            .map(|a| {
                vec![
                    format!(
                        "<a href=\"/manager/handover?lang={lc}\">{}</a>",
                        cell(&a["courier"])
                    ),
                    cell(&a["parcels"]),
                    format!("{:.1}", a["grams"].as_i64().unwrap_or(0) as f64 / 1000.0),
                    cell(&a["oldest_packed_at"]),
                ]
            })
            .collect(),
        "day.nothing_awaiting",
    );
    let returns = table(
        lang,
        &["day.return", "day.waybill", "day.lines", "day.opened_at"],
        list(&d, "returns_to_inspect")
            .map(|r| {
                vec![
                    format!(
                        "<a href=\"/manager/returns?lang={lc}\">{}</a>",
                        cell(&r["number"])
                    ),
                    cell(&r["waybill"]),
                    cell(&r["lines"]),
                    cell(&r["opened_at"]),
                ]
            })
            .collect(),
        "day.no_returns",
    );
    let holds = table(
        lang,
        &[
            "day.order",
            "day.paid_at",
            "day.recipient",
            "day.note",
            "day.release",
        ],
        list(&d, "holds")
            .map(|o| {
                vec![
                    format!("<code>{}</code>", cell(&o["order_no"])),
                    cell(&o["paid_at"]),
                    cell(&o["recipient_name"]),
                    cell(&o["note"]),
                    format!(
                        "<button type=\"button\" class=\"release\" data-order=\"{}\">{}</button>",
                        cell(&o["order_no"]),
                        t("day.release")
                    ),
                ]
            })
            .collect(),
        "day.no_holds",
    );
    let left = d["cutoff_minutes_left"].as_i64().unwrap_or(0);
    let cutoff_text = if left >= 0 {
        i18n::tf(
            lang,
            "day.cutoff_in",
            &[
                ("h", &(left / 60).to_string()),
                ("m", &(left % 60).to_string()),
                ("cutoff", d["cutoff"].as_str().unwrap_or("")),
            ],
        )
    } else {
        i18n::tf(
            lang,
            "day.cutoff_passed",
            &[("cutoff", d["cutoff"].as_str().unwrap_or(""))],
        )
    };
    let due_open = d["due_today_open"].as_i64().unwrap_or(0);
    let n_holds = list(&d, "holds").count();
    let n_returns = list(&d, "returns_to_inspect").count();
    let n_awaiting: i64 = list(&d, "awaiting_handover")
        .map(|a| a["parcels"].as_i64().unwrap_or(0))
        .sum();
    let body = format!(
        "<header class=\"top\"><b>{wh}</b><span>{cutoff}</span><nav>{switch}</nav></header><main>\
         <h1>{title}</h1><p><a href=\"/manager?lang={lc}\">{l_manager}</a></p>{stocktake}\
         <section class=\"tiles\"><div class=\"tile{due_cls}\"><b id=\"due-open\">{due_open}</b><span>{l_due_open}</span></div>\
         <div class=\"tile\"><b id=\"awaiting\">{n_awaiting}</b><span>{l_awaiting}</span></div>\
         <div class=\"tile\"><b id=\"returns\">{n_returns}</b><span>{l_returns}</span></div>\
         <div class=\"tile{hold_cls}\"><b id=\"holds\">{n_holds}</b><span>{l_holds}</span></div></section>\
         <section class=\"card\"><h2>{l_due}</h2>{bar}</section>\
         <section class=\"card\"><h2>{l_waves}</h2>{waves}</section>\
         <section class=\"card\"><h2>{l_stations}</h2>{stations}</section>\
         <section class=\"card\"><h2>{l_packers}</h2>{packers}</section>\
         <section class=\"card\"><h2>{l_awaiting}</h2>{awaiting}</section>\
         <section class=\"card\"><h2>{l_returns}</h2>{returns}</section>\
         <section class=\"card\" id=\"holds-card\"><h2>{l_holds}</h2>\
         <p><label>{l_badge} <input id=\"r-badge\" autocomplete=\"off\"></label> \
         <label>{l_reason} <input id=\"r-reason\" autocomplete=\"off\"></label></p>{holds}\
         <p id=\"r-status\" role=\"status\"></p></section></main>\
         <script>\
         var busy=false;\
         setInterval(function(){{if(!document.hidden&&!busy&&!document.getElementById('r-badge').value)location.reload();}},20000);\
         document.querySelectorAll('button.release').forEach(function(b){{b.addEventListener('click',function(){{\
           busy=true;var st=document.getElementById('r-status');\
           fetch('/api/v1/orders/'+encodeURIComponent(b.dataset.order)+'/release?lang={lc}',{{method:'POST',headers:{{'content-type':'application/json'}},\
             body:JSON.stringify({{badge:document.getElementById('r-badge').value.trim(),reason:document.getElementById('r-reason').value}})}})\
           .then(function(r){{return r.json();}}).then(function(v){{st.textContent=v.message||'';busy=false;\
             if(v.verdict==='accepted')setTimeout(function(){{location.reload();}},800);}})\
           .catch(function(e){{st.textContent=String(e);busy=false;}});}});}});\
         </script>",
        wh = esc(&app.config.warehouse.name),
        cutoff = esc(&cutoff_text),
        switch = lang_switch(lang, "/manager/day"),
        title = t("day.title"),
        stocktake = super::stocktake::banner_html(&d["stocktake"], lang),
        l_manager = t("day.back"),
        due_cls = if due_open > 0 && left < 60 { " warn" } else { "" },
        hold_cls = if n_holds > 0 { " warn" } else { "" },
        l_due_open = t("day.due_open"),
        l_awaiting = t("day.awaiting"),
        l_returns = t("day.returns"),
        l_holds = t("day.holds"),
        l_due = t("day.due_bar"),
        bar = due_bar_svg(&d, lang),
        l_waves = t("day.waves"),
        l_stations = t("day.stations"),
        l_packers = t("day.packers"),
        l_badge = t("day.manager_badge"),
        l_reason = t("day.release_reason"),
    );
    Ok(page(lang, &i18n::t(lang, "day.title"), "", &body))
}
