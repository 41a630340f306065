//! The manager's day page through the HTTP API: what it counts after a parcel is packed, and
//! the page itself in every language with its bar drawn.

mod common;

use common::TestServer;
use serde_json::Value;

fn day(s: &TestServer) -> Value {
    let (code, d) = s.get("/api/v1/day");
    assert_eq!(code, 200, "{d}");
    d
}

fn due(d: &Value, status: &str) -> i64 {
    d["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == status)
        .map(|s| s["due_today"].as_i64().unwrap())
        .sum()
}

#[test]
fn the_day_counts_orders_packers_parcels_awaiting_and_holds() {
    let s = TestServer::start();
    let before = day(&s);
    let ready_before = due(&before, "ready");
    assert!(ready_before > 0, "{before}");
    assert_eq!(due(&before, "packed"), 0);
    assert!(before["packers"].as_array().unwrap().is_empty());
    let holds: Vec<&str> = before["holds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["order_no"].as_str().unwrap())
        .collect();
    assert_eq!(
        holds,
        ["T-1003"],
        "the yellow-flagged order is on hold: {before}"
    );

    assert_eq!(s.scan("bench-1", "B-PACK-01")["action"], "signed_in");
    assert_eq!(s.scan("bench-1", "T-1006")["action"], "order_opened");
    assert_eq!(s.scan("bench-1", "SKU-TS-WH-L")["action"], "pack_complete");
    let v = s.weigh("bench-1", 190, true);
    assert_eq!(v["action"], "shipped", "{v}");

    let after = day(&s);
    assert_eq!(due(&after, "packed"), 1, "{after}");
    assert_eq!(due(&after, "ready"), ready_before - 1, "{after}");
    assert_eq!(
        after["due_today_open"],
        after["due_today"].as_i64().unwrap() - 1
    );
    let p = &after["packers"][0];
    assert_eq!(p["badge"], "B-PACK-01", "{after}");
    assert_eq!(p["name"], "김포장");
    assert_eq!(p["station"], "bench-1");
    assert_eq!(p["parcels"], 1);
    let a = &after["awaiting_handover"][0];
    assert_eq!(a["courier"], "lotte", "{after}");
    assert_eq!(a["parcels"], 1);
    assert_eq!(a["grams"], 190);
    let st = after["stations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["station"] == "bench-1")
        .unwrap();
    assert_eq!(st["packed_today"], 1, "{st}");
    assert_eq!(st["operator"]["badge"], "B-PACK-01", "{st}");
    assert!(after["returns_to_inspect"].as_array().unwrap().is_empty());
}

#[test]
fn the_day_page_draws_the_due_bar_in_every_language() {
    let s = TestServer::start();
    for (lang, title, held) in [
        ("en", "Today", "Orders on hold"),
        ("ko", "오늘 현황", "보류 주문"),
        ("zh", "今日概况", "暂停发货订单"),
    ] {
        let r = ureq::get(&s.url(&format!("/manager/day?lang={lang}")))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.into_string().unwrap();
        assert!(html.contains(title), "{lang}: {html}");
        assert!(html.contains(held), "{lang}");
        assert!(html.contains("<svg"), "{lang}: the due bar is drawn");
        assert!(
            html.contains("class=\"seg-ready\""),
            "{lang}: ready orders drawn"
        );
        assert!(html.contains("T-1003"), "{lang}: the held order is listed");
        if lang == "ko" {
            assert!(
                html.contains("스캐너: 키보드"),
                "device states are translated: {html}"
            );
        }
        let leaked = html
            .match_indices("day.")
            .any(|(i, _)| !html[..i].ends_with(|c: char| c.is_alphabetic()));
        assert!(
            !leaked,
            "{lang}: a message key leaked into the page: {html}"
        );
    }
    let manager = ureq::get(&s.url("/manager?lang=en"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        manager.contains("/manager/day"),
        "the manager page links the day page"
    );
}

#[test]
fn a_manager_releases_a_hold_and_the_bench_can_pack_the_order() {
    let s = TestServer::start();
    let release = |badge: &str, reason: &str| {
        s.post(
            "/api/v1/orders/T-1003/release",
            serde_json::json!({ "badge": badge, "reason": reason }),
        )
    };
    assert_eq!(s.scan("bench-1", "B-PACK-01")["action"], "signed_in");
    assert_eq!(s.scan("bench-1", "T-1003")["code"], "order_on_hold");

    let (code, v) = release("B-PACK-01", "stock arrived");
    assert_eq!(
        (code, v["code"].as_str()),
        (403, Some("manager_required")),
        "{v}"
    );
    let (code, v) = release("B-MGR-01", " ");
    assert_eq!(
        (code, v["code"].as_str()),
        (422, Some("reason_required")),
        "{v}"
    );
    let (code, v) = release("B-MGR-01", "stock arrived");
    assert_eq!(
        (code, v["action"].as_str()),
        (200, Some("hold_released")),
        "{v}"
    );
    let (code, v) = release("B-MGR-01", "again");
    assert_eq!(
        (code, v["code"].as_str()),
        (409, Some("not_on_hold")),
        "{v}"
    );
    let (code, _) = s.post(
        "/api/v1/orders/NO-SUCH/release",
        serde_json::json!({ "badge": "B-MGR-01", "reason": "x" }),
    );
    assert_eq!(code, 404);

    assert!(day(&s)["holds"].as_array().unwrap().is_empty());
    let (_, o) = s.get("/api/v1/orders/T-1003");
    assert_eq!(o["flag"], "none", "{o}");
    // The same code read again inside the scanner's debounce window would count once.
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(s.scan("bench-1", "T-1003")["action"], "order_opened");
}
