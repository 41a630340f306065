//! Waves and picking through the HTTP API of the real server: a wave by each criterion, an
//! order refused for a second open wave, the pick list in walk order (JSON and the PDF's text
//! layer), a shortage holding its order (at creation and while picking), scan-to-confirm
//! refusing a wrong bin and a wrong item, and an order cancelled after picking whose goods
//! are put back before the wave closes.
//!
//! Stock is set up with the ledger's own storage functions on the server's database file (a
//! receipt posting, as the receiving flow makes one); every action under test goes through
//! HTTP.

mod common;

use common::TestServer;
use packbench::domain::ledger::{BinKind, EntryKind, Move};
use packbench::storage::ledger;
use serde_json::{json, Value};

const MANAGER: &str = "B-MGR-01";
const PICKER: &str = "B-PACK-01";
const TS: &str = "8801234567893"; // TS-WH-L, catalog location A-01-01
const SK: &str = "8801234567800"; // SK-3P
const MUG: &str = "8801234567817"; // MUG-01

fn db(srv: &TestServer) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(srv.data().join("packbench.sqlite3")).expect("open db");
    c.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    c
}

/// Receives stock: (sku, bin, walk_seq, qty) — one receipt posting.
fn receive(srv: &TestServer, stock: &[(&str, &str, i64, i64)]) {
    let mut c = db(srv);
    let tx = c.transaction().expect("transaction");
    let at = "2026-11-23T00:00:00Z";
    for (_, bin, seq, _) in stock {
        ledger::upsert_bin(
            &tx,
            &ledger::Bin {
                code: bin.to_string(),
                zone: String::new(),
                walk_seq: *seq,
                kind: BinKind::Pick,
            },
            at,
        )
        .expect("bin");
    }
    let moves = stock
        .iter()
        .map(|(sku, bin, _, q)| Move {
            sku: sku.to_string(),
            bin: bin.to_string(),
            qty: *q,
        })
        .collect();
    ledger::post(
        &tx,
        &ledger::Posting {
            at: at.into(),
            kind: EntryKind::Receipt,
            reference: "test".into(),
            operator: MANAGER.into(),
            station: String::new(),
            reason: "test stock".into(),
            override_by: String::new(),
            moves,
        },
    )
    .expect("receipt");
    tx.commit().expect("commit");
}

fn on_hand(srv: &TestServer, sku: &str, bin: &str) -> i64 {
    ledger::on_hand(&db(srv), sku, bin).expect("on hand")
}

fn create(srv: &TestServer, body: Value) -> (u16, Value) {
    srv.post("/api/v1/waves?lang=en", body)
}

fn create_ok(srv: &TestServer, body: Value) -> Value {
    let (status, v) = create(srv, body.clone());
    assert_eq!(status, 200, "wave {body}: {v}");
    assert_eq!(v["verdict"], "accepted", "{v}");
    let n = v["wave"]["number"]
        .as_str()
        .expect("wave number")
        .to_string();
    let (status, w) = srv.get(&format!("/api/v1/waves/{n}"));
    assert_eq!(status, 200, "{w}");
    w
}

fn picking(w: &Value) -> Vec<String> {
    let mut v: Vec<String> = w["order_list"]
        .as_array()
        .expect("order_list")
        .iter()
        .filter(|o| o["state"] == "picking")
        .map(|o| o["order_no"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn order_state(w: &Value, no: &str) -> String {
    w["order_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_no"] == no)
        .unwrap_or_else(|| panic!("{no} not in the wave: {w}"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Imports orders with the manager's badge through the import API.
fn import_orders(srv: &TestServer, csv: &str) {
    let r = ureq::post(&srv.url(&format!(
        "/api/v1/import/orders?filename=extra.csv&badge={MANAGER}"
    )))
    .send_bytes(csv.as_bytes())
    .expect("import orders");
    assert_eq!(r.status(), 200);
}

fn pick(srv: &TestServer, wave: &str, code: &str, bin: &str, picker: &str) -> Value {
    let (status, v) = srv.post(
        &format!("/api/v1/waves/{wave}/scan?lang=en"),
        json!({ "code": code, "bin": bin, "picker": picker }),
    );
    assert_eq!(status, 200, "scan {code} at {bin}: {v}");
    v
}

fn events(srv: &TestServer, kind: &str) -> Vec<Value> {
    let (_, v) = srv.get("/api/v1/events?limit=10000");
    v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

#[test]
fn a_wave_by_each_criterion_takes_only_its_orders() {
    let srv = TestServer::start();
    // Two more orders: one paid tomorrow (after today's cut-off, whatever day the test runs)
    // and one for another courier paid before it.
    let tz = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    let tomorrow = jiff::Timestamp::now()
        .to_zoned(tz.clone())
        .date()
        .tomorrow()
        .unwrap();
    let earlier = jiff::Timestamp::now()
        .to_zoned(tz)
        .date()
        .yesterday()
        .unwrap();
    import_orders(
        &srv,
        &format!(
            "order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag,courier\n\
             T-2001,smartstore,{tomorrow} 10:00,한지민,010-3333-4444,서울특별시 종로구 세종대로 1,03154,SK-3P,1,,,\n\
             T-2002,smartstore,{earlier} 10:00,윤서아,010-5555-1212,대전광역시 서구 둔산로 100,35242,MUG-01,1,,,cj\n"
        ),
    );

    let w = create_ok(
        &srv,
        json!({ "criterion": "channel", "value": "taobao", "badge": MANAGER }),
    );
    assert_eq!(picking(&w), ["T-1004", "T-1005"], "{w}");
    assert_eq!(w["criterion"], "channel");
    // No stock is recorded for any SKU yet: every line is at its catalog location, and the
    // wave says so.
    assert!(w["untracked_lines"].as_i64().unwrap() > 0, "{w}");
    assert!(w["picks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["bin"] == "D-01-01" && p["sku"] == "CN-TEA" && p["tracked"] == false));

    let w = create_ok(
        &srv,
        json!({ "criterion": "courier", "value": "cj", "badge": MANAGER }),
    );
    assert_eq!(picking(&w), ["T-2002"], "{w}");

    // Cut-off: the rest paid before today's cut-off; the held T-1003 and tomorrow's T-2001 not.
    let w = create_ok(&srv, json!({ "criterion": "cutoff", "badge": MANAGER }));
    assert_eq!(
        picking(&w),
        ["T-1001", "T-1002", "T-1006", "T-1007", "T-1008"],
        "{w}"
    );

    // The evening batch: everything ready that is in no wave yet.
    let w = create_ok(&srv, json!({ "criterion": "evening", "badge": MANAGER }));
    assert_eq!(picking(&w), ["T-2001"], "{w}");

    let (status, v) = create(&srv, json!({ "criterion": "evening", "badge": MANAGER }));
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("no_orders")),
        "{v}"
    );
    let (status, v) = create(&srv, json!({ "criterion": "channel", "badge": MANAGER }));
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("criterion_needs_value")),
        "{v}"
    );
    let (_, list) = srv.get("/api/v1/waves");
    assert_eq!(list["waves"].as_array().unwrap().len(), 4, "{list}");
}

#[test]
fn an_order_in_an_open_wave_is_refused_for_another_wave() {
    let srv = TestServer::start();
    let w = create_ok(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1001"], "badge": MANAGER }),
    );
    let first = w["number"].as_str().unwrap().to_string();
    let (status, v) = create(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1006", "T-1001"], "badge": MANAGER }),
    );
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["code"], "order_in_open_wave", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("T-1001") && msg.contains(&first), "{msg}");
    // Nothing of the refused wave was made: T-1006 is still free.
    let (_, list) = srv.get("/api/v1/waves");
    assert_eq!(list["waves"].as_array().unwrap().len(), 1);
    let (status, v) = create(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1003"], "badge": MANAGER }),
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("order_on_hold")),
        "{v}"
    );
    let (status, v) = create(&srv, json!({ "criterion": "evening", "badge": PICKER }));
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("manager_required")),
        "{v}"
    );
    // The evening batch leaves out the order already in a wave.
    let w = create_ok(&srv, json!({ "criterion": "evening", "badge": MANAGER }));
    assert!(!picking(&w).contains(&"T-1001".to_string()), "{w}");
    assert!(picking(&w).contains(&"T-1006".to_string()), "{w}");
    let refused = events(&srv, "wave_create");
    assert!(
        refused.iter().any(|e| e["reason"] == "order_in_open_wave"),
        "the refusal is on record: {refused:?}"
    );
}

fn positions(text: &str, words: &[&str]) -> Vec<usize> {
    words
        .iter()
        .map(|w| {
            text.match_indices(w)
                .find(|(i, _)| {
                    let after = text[i + w.len()..].chars().next();
                    !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
                })
                .map(|(i, _)| i)
                .unwrap_or_else(|| panic!("{w} is not in the pick list text:\n{text}"))
        })
        .collect()
}

#[test]
fn the_pick_list_walks_the_bins_in_order_in_json_and_pdf() {
    let srv = TestServer::start();
    // Z-1 has walk sequence 1 (first); the others by code, numbers as numbers: A-2 < A-10.
    receive(
        &srv,
        &[
            ("TS-WH-L", "A-10", 0, 5),
            ("TS-WH-L", "A-2", 0, 2),
            ("SK-3P", "Z-1", 1, 3),
            ("MUG-01", "B-1", 0, 4),
        ],
    );
    let w = create_ok(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1001", "T-1002", "T-1006", "T-1008"], "badge": MANAGER }),
    );
    let lines: Vec<(String, String, i64)> = w["picks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["bin"].as_str().unwrap().to_string(),
                p["sku"].as_str().unwrap().to_string(),
                p["qty"].as_i64().unwrap(),
            )
        })
        .collect();
    let expect = [
        ("Z-1", "SK-3P", 1),
        ("A-2", "TS-WH-L", 2),
        ("A-10", "TS-WH-L", 2),
        ("B-1", "MUG-01", 1),
    ];
    assert_eq!(
        lines,
        expect
            .iter()
            .map(|(b, s, q)| (b.to_string(), s.to_string(), *q))
            .collect::<Vec<_>>()
    );
    assert_eq!(w["untracked_lines"], 0);
    // Making the wave moved no stock.
    assert_eq!(on_hand(&srv, "TS-WH-L", "A-2"), 2);

    let n = w["number"].as_str().unwrap();
    let r = ureq::get(&srv.url(&format!("/api/v1/waves/{n}/pick-list.pdf?lang=en")))
        .call()
        .expect("pick list");
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    let mut pdf = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let path = common::artefacts().join("wave-pick-list.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) reads the PDF");
    assert!(out.status.success(), "pdftotext: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    // The list (first page) has the bins in walk order; the slips follow it.
    let list_end = text.find('\u{c}').unwrap_or(text.len());
    let list = &text[..list_end];
    assert!(list.contains("Pick list") && list.contains(n), "{list}");
    let p = positions(list, &["Z-1", "A-2", "A-10", "B-1"]);
    assert!(
        p.windows(2).all(|w| w[0] < w[1]),
        "bins out of walk order {p:?}:\n{list}"
    );
    let slips = &text[list_end..];
    for no in ["T-1001", "T-1002", "T-1006", "T-1008"] {
        assert!(slips.contains(no), "no slip for {no}:\n{slips}");
    }
    // The Korean list is the same layout in Korean.
    let (status, _) = srv.get(&format!("/api/v1/waves/{n}/pick-list.pdf?lang=ko"));
    assert_eq!(status, 200);
}

#[test]
fn a_shortage_at_creation_holds_the_order_and_tells_the_manager() {
    let srv = TestServer::start();
    receive(&srv, &[("SK-3P", "B-01-01", 0, 1)]);
    // T-1005 (two socks, paid first) cannot be had in full; T-1007 (one) can.
    let w = create_ok(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1005", "T-1007"], "badge": MANAGER }),
    );
    assert_eq!(picking(&w), ["T-1007"], "{w}");
    assert_eq!(order_state(&w, "T-1005"), "held");
    assert_eq!(order_state(&w, "T-1007"), "picking");
    assert_eq!(w["held"], 1);
    let (_, o) = srv.get("/api/v1/orders/T-1005");
    assert_eq!(o["flag"], "yellow", "{o}");
    let held = events(&srv, "order_held");
    assert!(
        held.iter().any(|e| e["code"] == "T-1005"
            && e["detail"]["sku"] == "SK-3P"
            && e["detail"]["available"] == 1),
        "{held:?}"
    );
    // The manager sees it on the wave page; the bench refuses the held order.
    let n = w["number"].as_str().unwrap();
    let page = ureq::get(&srv.url(&format!("/manager/waves/{n}?lang=en")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains("T-1005") && page.contains("short of SK-3P"),
        "{page}"
    );
    srv.scan("bench-1", PICKER);
    let v = srv.scan("bench-1", "T-1005");
    assert_eq!(v["code"], "order_on_hold", "{v}");
}

#[test]
fn scan_to_confirm_refuses_wrong_bins_and_items_and_a_short_holds_the_order() {
    let srv = TestServer::start();
    receive(
        &srv,
        &[
            ("TS-WH-L", "A-2", 0, 2),
            ("TS-WH-L", "A-10", 0, 5),
            ("SK-3P", "Z-1", 0, 1),
        ],
    );
    let w = create_ok(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1001", "T-1006"], "badge": MANAGER }),
    );
    let n = w["number"].as_str().unwrap().to_string();
    let refused = |v: &Value, code: &str| {
        assert_eq!(v["verdict"], "refused", "{v}");
        assert_eq!(v["code"], code, "{v}");
        assert!(!v["message"].as_str().unwrap().is_empty());
    };

    refused(&pick(&srv, &n, TS, "A-2", ""), "picker_required");
    let v = pick(&srv, &n, PICKER, "", "");
    assert_eq!(v["action"], "signed_in", "{v}");
    refused(&pick(&srv, &n, TS, "", PICKER), "scan_bin_first");
    let v = pick(&srv, &n, "A-10", "", PICKER);
    assert_eq!(v["action"], "at_bin", "{v}");
    // Socks are picked at Z-1, not here; the mug is not in this wave at all.
    let v = pick(&srv, &n, SK, "A-10", PICKER);
    refused(&v, "wrong_bin");
    assert!(v["message"].as_str().unwrap().contains("Z-1"), "{v}");
    refused(&pick(&srv, &n, MUG, "A-10", PICKER), "wrong_item");
    refused(&pick(&srv, &n, "NOPE-123", "A-10", PICKER), "unknown_code");
    // Nothing moved.
    assert_eq!(on_hand(&srv, "SK-3P", "Z-1"), 1);
    assert_eq!(on_hand(&srv, "TS-WH-L", "A-10"), 5);

    // The right item at the right bin counts up and moves the unit to STAGING.
    let v = pick(&srv, &n, TS, "A-2", PICKER);
    assert_eq!(
        (v["action"].as_str(), v["picked"].as_i64()),
        (Some("picked"), Some(1)),
        "{v}"
    );
    assert_eq!(v["order_no"], "T-1001");
    assert_eq!(on_hand(&srv, "TS-WH-L", "A-2"), 1);
    assert_eq!(on_hand(&srv, "TS-WH-L", "STAGING"), 1);
    let v = pick(&srv, &n, TS, "A-2", PICKER);
    assert_eq!(v["picked"], 2, "{v}");
    // A-2 is done: a third shirt there is refused and sent to A-10.
    let v = pick(&srv, &n, TS, "A-2", PICKER);
    refused(&v, "wrong_bin");
    assert_eq!(on_hand(&srv, "TS-WH-L", "A-2"), 0);

    // Z-1 is empty after all: short. T-1001 needed it, so T-1001 is held.
    let (status, v) = srv.post(
        &format!("/api/v1/waves/{n}/short?lang=en"),
        json!({ "bin": "Z-1", "sku": "SK-3P", "picker": PICKER }),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["action"], "short_recorded", "{v}");
    assert_eq!(v["held"], json!(["T-1001"]), "{v}");
    let (_, o) = srv.get("/api/v1/orders/T-1001");
    assert_eq!(o["flag"], "yellow");
    let (_, w) = srv.get(&format!("/api/v1/waves/{n}"));
    assert_eq!(order_state(&w, "T-1001"), "held");
    assert_eq!(order_state(&w, "T-1006"), "picking");
    // Its two shirts wait in STAGING to be put back.
    let back: Vec<(String, i64)> = w["put_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["bin"].as_str().unwrap().to_string(),
                p["qty"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(back, [("A-2".to_string(), 2)], "{w}");
    assert!(events(&srv, "order_held")
        .iter()
        .any(|e| e["code"] == "T-1001"));
}

#[test]
fn an_order_cancelled_after_picking_is_put_back_and_the_wave_closes() {
    let srv = TestServer::start();
    receive(&srv, &[("TS-WH-L", "A-2", 0, 5), ("SK-3P", "Z-1", 0, 5)]);
    let w = create_ok(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1001", "T-1006"], "badge": MANAGER }),
    );
    let n = w["number"].as_str().unwrap().to_string();
    pick(&srv, &n, "A-2", "", PICKER);
    for i in 1..=3 {
        let v = pick(&srv, &n, TS, "A-2", PICKER);
        assert_eq!(v["picked"], i, "{v}");
    }
    pick(&srv, &n, "Z-1", "", PICKER);
    let v = pick(&srv, &n, SK, "Z-1", PICKER);
    assert_eq!(v["action"], "picked", "{v}");
    assert_eq!(on_hand(&srv, "TS-WH-L", "STAGING"), 3);
    assert_eq!(on_hand(&srv, "SK-3P", "STAGING"), 1);

    // Cancelling needs a manager and a reason.
    let cancel = |badge: &str, reason: &str| {
        srv.post(
            "/api/v1/orders/T-1001/cancel?lang=en",
            json!({ "badge": badge, "reason": reason }),
        )
    };
    let (status, v) = cancel(PICKER, "buyer cancelled");
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("manager_required")),
        "{v}"
    );
    let (status, v) = cancel(MANAGER, " ");
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("reason_required")),
        "{v}"
    );
    let (status, v) = cancel(MANAGER, "buyer cancelled");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["to_put_back"], 3, "{v}");
    let (_, o) = srv.get("/api/v1/orders/T-1001");
    assert_eq!(o["status"], "cancelled", "{o}");
    let (status, v) = cancel(MANAGER, "again");
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("cannot_cancel")),
        "{v}"
    );

    // A cancelled order cannot be packed.
    srv.scan("bench-1", PICKER);
    let v = srv.scan("bench-1", "T-1001");
    assert_eq!(v["code"], "order_cancelled", "{v}");

    // The wave page lists its goods to put back.
    let (_, w) = srv.get(&format!("/api/v1/waves/{n}"));
    assert_eq!(order_state(&w, "T-1001"), "cancelled");
    let mut back: Vec<(String, String, i64)> = w["put_back"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["sku"].as_str().unwrap().to_string(),
                p["bin"].as_str().unwrap().to_string(),
                p["qty"].as_i64().unwrap(),
            )
        })
        .collect();
    back.sort();
    assert_eq!(
        back,
        [
            ("SK-3P".to_string(), "Z-1".to_string(), 1),
            ("TS-WH-L".to_string(), "A-2".to_string(), 2)
        ]
    );
    let page = ureq::get(&srv.url(&format!("/manager/waves/{n}?lang=en")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains("To put back") && page.contains("data-order=\"T-1001\""),
        "{page}"
    );

    // T-1006 is packed at the bench; the wave still waits for the put-back.
    let v = srv.scan("bench-1", "T-1006");
    assert_eq!(v["action"], "order_opened", "{v}");
    srv.scan("bench-1", TS);
    let v = srv.weigh("bench-1", 190, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let (_, w) = srv.get(&format!("/api/v1/waves/{n}"));
    assert_eq!(w["status"], "open", "{w}");

    // The put-back posts one transfer STAGING -> the bins, and the wave closes.
    let (status, v) = srv.post(
        &format!("/api/v1/waves/{n}/put-back?lang=en"),
        json!({ "order_no": "T-1001", "badge": PICKER }),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["units"].as_i64(), v["wave_closed"].as_bool()),
        (Some(3), Some(true)),
        "{v}"
    );
    assert_eq!(
        on_hand(&srv, "TS-WH-L", "A-2"),
        4,
        "5 - 3 picked + 2 put back"
    );
    assert_eq!(on_hand(&srv, "SK-3P", "Z-1"), 5);
    assert_eq!(on_hand(&srv, "SK-3P", "STAGING"), 0);
    let (_, w) = srv.get(&format!("/api/v1/waves/{n}"));
    assert_eq!(w["status"], "closed", "{w}");
    assert!(w["put_back"].as_array().unwrap().is_empty());
    let (status, v) = srv.post(
        &format!("/api/v1/waves/{n}/put-back?lang=en"),
        json!({ "order_no": "T-1001", "badge": PICKER }),
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("nothing_to_put_back")),
        "{v}"
    );
    // The ledger still holds: every balance is the sum of its entries.
    assert!(ledger::check(&db(&srv)).unwrap().is_empty());
    // The order closed with the wave is free for a later wave again? No: it is cancelled.
    let (status, v) = create(
        &srv,
        json!({ "criterion": "orders", "orders": ["T-1001"], "badge": MANAGER }),
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("order_not_ready")),
        "{v}"
    );
}
