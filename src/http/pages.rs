//! Server-rendered pages: the start page, the bench page a packer stands at all day, and the
//! manager page. No front-end build: HTML from Rust, one inline script per page that talks to
//! the same JSON API and listens to the station's server-sent events. Every visible string
//! comes from the message catalogue.

use std::collections::HashMap;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

use super::{lang_of, AppError, State};
use crate::i18n::{self, Lang};
use crate::service::App;
use crate::storage;

type Q = Query<HashMap<String, String>>;

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub(super) fn lang_switch(lang: Lang, path: &str) -> String {
    Lang::ALL
        .iter()
        .map(|l| {
            let label = i18n::t(*l, "lang.name");
            let cur = if *l == lang {
                " aria-current=\"true\" class=\"cur\""
            } else {
                ""
            };
            format!(
                "<a href=\"{path}?lang={}\" data-lang=\"{}\"{cur}>{}</a>",
                l.code(),
                l.code(),
                esc(&label)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The page frame: sets the `lang` cookie so the choice sticks across pages.
pub(super) fn page(lang: Lang, title: &str, head: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t}</title><style>{css}</style>{head}</head><body>{body}</body></html>",
        l = lang.code(),
        t = esc(title),
        css = include_str!("page.css"),
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

pub async fn start(AxState(app): AxState<State>, q: Q, h: HeaderMap) -> Result<Response, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let stations: String = app
        .config
        .stations
        .iter()
        .map(|s| {
            format!(
                "<li><a class=\"big\" href=\"/bench/{id}\">{id}</a> <span class=\"muted\">{name} · {courier}</span></li>",
                id = esc(&s.id),
                name = esc(&s.name),
                courier = esc(app.config.station_courier(s))
            )
        })
        .collect();
    let badges: String = app
        .config
        .operators
        .iter()
        .map(|o| {
            let role = i18n::t(
                lang,
                &format!(
                    "role.{}",
                    if o.role == crate::config::Role::Manager {
                        "manager"
                    } else {
                        "packer"
                    }
                ),
            );
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&o.badge),
                esc(&o.name),
                esc(&role)
            )
        })
        .collect();
    let ready = app
        .db
        .read(|c| storage::list_orders(c, Some("ready"), 12))
        .await?;
    let sample: String = ready
        .iter()
        .map(|o| {
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(&o.order_no),
                esc(&o.recipient_name),
                o.units
            )
        })
        .collect();
    let demo = if app.demo {
        format!("<section class=\"card\"><h2>{}</h2><p>{}</p><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{badges}</table>\
                 <h3>{}</h3><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>{sample}</table></section>",
            t("start.demo_title"), t("start.demo_help"), t("start.badge"), t("start.name"), t("start.role"),
            t("start.sample_orders"), t("start.order_no"), t("start.recipient"), t("start.units"))
    } else {
        String::new()
    };
    let body = format!(
        "<header class=\"top\"><b>{wh}</b><nav>{switch}</nav></header><main class=\"narrow\">\
         <h1>{title}</h1><section class=\"card\"><h2>{benches}</h2><ul class=\"stations\">{stations}</ul>\
         <p><a href=\"/manager\">{manager}</a> · <a href=\"/stocktake\">{count}</a> · <a href=\"/api/v1/openapi.json\">OpenAPI</a></p></section>{demo}</main>",
        wh = esc(&app.config.warehouse.name),
        switch = lang_switch(lang, "/"),
        title = t("start.title"),
        benches = t("start.benches"),
        manager = t("start.manager"),
        count = t("stocktake.counter.title"),
    );
    Ok(page(lang, &i18n::t(lang, "start.title"), "", &body))
}

pub async fn bench(
    AxState(app): AxState<State>,
    Path(station): Path<String>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let view = app.station_view(&station, lang).await?;
    let messages: serde_json::Map<String, Value> = [
        "bench.", "refusal.", "action.", "device.", "flag.", "status.", "error.", "camera.",
    ]
    .iter()
    .flat_map(|p| i18n::with_prefix(lang, p))
    .map(|(k, v)| (k, Value::String(v)))
    .collect();
    let packaging: String = app
        .config
        .packaging
        .iter()
        .map(|p| format!("<button type=\"button\" class=\"pkg\" data-code=\"{c}\">{n} <small>{g} g</small></button>", c = esc(&p.code), n = esc(&p.name), g = p.tare_g))
        .collect();
    // The initial state is embedded so the page is complete before the live feed connects.
    let boot = json!({ "station": station, "view": view, "msg": messages, "lang": lang.code() });
    let boot = boot.to_string().replace("</", "<\\/");
    let body = fill(
        include_str!("bench.html"),
        &[
            ("station", esc(&station)),
            (
                "switch",
                lang_switch(lang, &format!("/bench/{}", esc(&station))),
            ),
            ("packaging", packaging),
            ("boot", boot),
        ],
        lang,
    );
    Ok(page(lang, &format!("{station} · packbench"), "", &body))
}

/// Fills a page template: `%%name%%` from `vars`, and `%%t:key%%` from the catalogue.
fn fill(template: &str, vars: &[(&str, String)], lang: Lang) -> String {
    let mut out = String::with_capacity(template.len() + 4096);
    let mut rest = template;
    while let Some(i) = rest.find("%%") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find("%%") else {
            out.push_str(&rest[i..]);
            return out;
        };
        let name = &after[..j];
        match name.strip_prefix("t:") {
            Some(key) => out.push_str(&esc(&i18n::t(lang, key))),
            None => match vars.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&format!("%%{name}%%")),
            },
        }
        rest = &after[j + 2..];
    }
    out.push_str(rest);
    out
}

/// Today's figures: packed per station since local midnight, orders pending and held.
pub async fn summary_json(app: &App) -> Result<Value, AppError> {
    let tz =
        jiff::tz::TimeZone::get(&app.config.warehouse.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let midnight = jiff::Timestamp::now()
        .to_zoned(tz)
        .start_of_day()
        .map(|z| z.timestamp().to_string())
        .unwrap_or_default();
    let since = midnight.clone();
    let (packed, ready, hold, times) = app
        .db
        .read(move |c| {
            Ok((
                storage::packed_since(c, &since)?,
                storage::list_orders(c, Some("ready"), 100_000)?,
                storage::list_orders(c, Some("hold"), 100_000)?.len(),
                storage::packed_times_since(c, &since)?,
            ))
        })
        .await?;
    let cutoff = app.cutoff_minutes_left();
    let today_cutoff = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(cutoff);
    let due_today = ready
        .iter()
        .filter(|o| {
            o.paid_at
                .parse::<jiff::Timestamp>()
                .is_ok_and(|p| p <= today_cutoff)
        })
        .count();
    Ok(json!({
        "since": midnight,
        "packed_by_station": packed,
        "packed_total": packed.values().sum::<i64>(),
        "ready": ready.len(),
        "due_before_cutoff": due_today,
        "hold": hold,
        "cutoff": app.config.warehouse.cutoff,
        "cutoff_minutes_left": cutoff,
        "packed_times": times.len(),
    }))
}

pub async fn manager(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let t = |k: &str| esc(&i18n::t(lang, k));
    let s = summary_json(&app).await?;
    let mut rows = String::new();
    for id in app.station_ids() {
        let v = app.station_view(&id, lang).await?;
        let who = v["operator"]["name"].as_str().unwrap_or("—");
        let order = v["pack"]["orders"][0]["order_no"].as_str().unwrap_or("—");
        let packed = s["packed_by_station"][&id].as_i64().unwrap_or(0);
        rows.push_str(&format!(
            "<tr><td><a href=\"/bench/{id}\">{id}</a></td><td>{}</td><td>{}</td><td class=\"num\">{packed}</td><td>{}</td></tr>",
            esc(who),
            esc(order),
            esc(v["devices"]["printer"].as_str().unwrap_or("")),
            id = esc(&id)
        ));
    }
    let left = s["cutoff_minutes_left"].as_i64().unwrap_or(0);
    let cutoff_text = if left >= 0 {
        i18n::tf(
            lang,
            "manager.cutoff_in",
            &[
                ("h", &(left / 60).to_string()),
                ("m", &(left % 60).to_string()),
                ("cutoff", s["cutoff"].as_str().unwrap_or("")),
            ],
        )
    } else {
        i18n::tf(
            lang,
            "manager.cutoff_passed",
            &[("cutoff", s["cutoff"].as_str().unwrap_or(""))],
        )
    };
    let ready = app
        .db
        .read(|c| storage::list_orders(c, Some("ready"), 200))
        .await?;
    let pending: String = ready
        .iter()
        .map(|o| {
            let flag = if o.flag == crate::domain::Flag::None { String::new() } else { format!("<span class=\"flag {f}\">{}</span>", esc(&i18n::t(lang, &format!("flag.{}", o.flag.as_str()))), f = o.flag.as_str()) };
            format!("<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{flag}</td></tr>", esc(&o.order_no), esc(&o.paid_at), esc(&o.recipient_name), o.units)
        })
        .collect();
    let body = format!(
        "<header class=\"top\"><b>{wh}</b><span>{cutoff_text}</span><nav>{switch}</nav></header><main>\
         <h1>{title}</h1><p><a href=\"/manager/handover?lang={lc}\">{l_handover}</a> · <a href=\"/manager/waves?lang={lc}\">{l_waves}</a> · <a href=\"/manager/day?lang={lc}\">{l_day}</a> · <a href=\"/manager/stock?lang={lc}\">{l_stock}</a> · <a href=\"/manager/receiving?lang={lc}\">{l_receiving}</a> · <a href=\"/manager/returns?lang={lc}\">{l_returns}</a> · <a href=\"/manager/bills?lang={lc}\">{l_bills}</a> · <a href=\"/manager/claims?lang={lc}\">{l_claims}</a> · <a href=\"/manager/stocktake?lang={lc}\">{l_stocktake}</a> · <a href=\"/manager/archive?lang={lc}\">{l_archive}</a></p>\
         {stocktake_banner}<section class=\"tiles\"><div class=\"tile\"><b id=\"packed\">{packed}</b><span>{l_packed}</span></div>\
         <div class=\"tile\"><b>{due}</b><span>{l_due}</span></div><div class=\"tile\"><b>{ready_n}</b><span>{l_ready}</span></div>\
         <div class=\"tile warn\"><b>{hold}</b><span>{l_hold}</span></div></section>\
         <section class=\"card\"><h2>{l_throughput}</h2><img src=\"/manager/throughput.svg?lang={lc}\" alt=\"{l_throughput}\" width=\"720\" height=\"200\"></section>\
         <section class=\"card\"><h2>{l_stations}</h2><table><tr><th>{l_station}</th><th>{l_packer}</th><th>{l_open}</th><th>{l_packed}</th><th>{l_printer}</th></tr>{rows}</table></section>\
         {import}\
         <section class=\"card\"><h2>{l_pending}</h2><table><tr><th>{l_order}</th><th>{l_paid}</th><th>{l_recipient}</th><th>{l_units}</th><th></th></tr>{pending}</table></section></main>",
        import = import_card(lang),
        wh = esc(&app.config.warehouse.name),
        cutoff_text = esc(&cutoff_text),
        switch = lang_switch(lang, "/manager"),
        title = t("manager.title"),
        l_handover = t("handover.title"),
        l_waves = t("waves.link"),
        l_day = t("day.link"),
        l_stock = t("stock.title"),
        l_receiving = t("stock.receiving.title"),
        l_returns = t("returns.manager_title"),
        l_bills = t("bills.title"),
        l_claims = t("claims.title"),
        l_stocktake = t("stocktake.title"),
        stocktake_banner = super::stocktake::banner(&app, lang).await,
        l_archive = t("archive.title"),
        packed = s["packed_total"],
        due = s["due_before_cutoff"],
        ready_n = s["ready"],
        hold = s["hold"],
        lc = lang.code(),
        l_packed = t("manager.packed_today"),
        l_due = t("manager.due_today"),
        l_ready = t("manager.ready"),
        l_hold = t("manager.hold"),
        l_throughput = t("manager.throughput"),
        l_stations = t("manager.stations"),
        l_station = t("manager.station"),
        l_packer = t("manager.packer"),
        l_open = t("manager.open_order"),
        l_printer = t("manager.printer"),
        l_pending = t("manager.pending"),
        l_order = t("start.order_no"),
        l_paid = t("manager.paid_at"),
        l_recipient = t("start.recipient"),
        l_units = t("start.units"),
    );
    Ok(page(lang, &i18n::t(lang, "manager.title"), "", &body))
}

/// The manager page's import form: a catalog or orders file sent to the import API with the
/// manager's badge, an upload bar, then the summary or every problem by row and column.
fn import_card(lang: Lang) -> String {
    let keys = [
        "no_file",
        "uploading",
        "checking",
        "done",
        "refused",
        "failed",
    ];
    let messages: serde_json::Map<String, Value> = keys
        .iter()
        .map(|k| (k.to_string(), json!(i18n::t(lang, &format!("import.{k}")))))
        .collect();
    let messages = Value::Object(messages).to_string().replace("</", "<\\/");
    fill(
        include_str!("import.html"),
        &[("messages", messages), ("lang", lang.code().to_string())],
        lang,
    )
}

/// Parcels packed per local hour today, as an SVG bar chart drawn on the server.
pub async fn throughput_svg(
    AxState(app): AxState<State>,
    q: Q,
    h: HeaderMap,
) -> Result<Response, AppError> {
    let lang = lang_of(q.get("lang").map(String::as_str), &h);
    let tz =
        jiff::tz::TimeZone::get(&app.config.warehouse.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let since = jiff::Timestamp::now()
        .to_zoned(tz.clone())
        .start_of_day()
        .map(|z| z.timestamp().to_string())
        .unwrap_or_default();
    let times = app
        .db
        .read(move |c| storage::packed_times_since(c, &since))
        .await?;
    let mut hours = [0u32; 24];
    for t in times {
        if let Ok(ts) = t.parse::<jiff::Timestamp>() {
            hours[ts.to_zoned(tz.clone()).hour() as usize] += 1;
        }
    }
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        bar_chart(&hours, &i18n::t(lang, "manager.per_hour")),
    )
        .into_response())
}

/// A 24-bar chart, 720×200, with the hour under each bar and the count above non-empty ones.
pub fn bar_chart(hours: &[u32; 24], title: &str) -> String {
    let max = (*hours.iter().max().unwrap_or(&0)).max(1);
    let mut bars = String::new();
    for (h, n) in hours.iter().enumerate() {
        let x = 30 + h * 28;
        let height = (*n as f64 / max as f64 * 140.0).round() as u32;
        let y = 170 - height;
        bars.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"20\" height=\"{height}\" fill=\"#2e7d32\"/>"
        ));
        bars.push_str(&format!(
            "<text x=\"{}\" y=\"188\" font-size=\"11\" text-anchor=\"middle\">{h}</text>",
            x + 10
        ));
        if *n > 0 {
            bars.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{n}</text>",
                x + 10,
                y - 3
            ));
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"200\" viewBox=\"0 0 720 200\" font-family=\"sans-serif\">\
         <title>{}</title><line x1=\"25\" y1=\"170\" x2=\"705\" y2=\"170\" stroke=\"#555\"/>{bars}</svg>",
        esc(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn chart_has_a_bar_per_hour_scaled_to_the_busiest() {
        let mut h = [0u32; 24];
        h[9] = 10;
        h[10] = 5;
        let svg = bar_chart(&h, "t");
        assert_eq!(svg.matches("<rect").count(), 24);
        assert!(
            svg.contains("height=\"140\""),
            "the busiest hour fills the chart"
        );
        assert!(svg.contains("height=\"70\""));
    }
}
