//! Returns and exchanges through the real server: a returned parcel found by its order or
//! waybill, lines restocked or quarantined with photos and a courier claim draft, a bundle
//! returned order by order, exchanges packed as new parcels linked to the original, and an
//! exchange whose replacement is out of stock created on hold. The ledger stays clean.

mod common;

use common::TestServer;
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const SOCKS: &str = "8801234567800";
const SOCKS_ALT: &str = "SKU-SK-3P";
const TEA: &str = "6901234567892";
const MUG: &str = "8801234567817";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

fn ledger_clean(s: &TestServer) {
    let (_, v) = s.get("/api/v1/stock/check");
    assert_eq!(v["ok"], true, "ledger check: {v}");
}

fn ship(s: &TestServer, orders: &[&str], items: &[&str], grams: i64) -> String {
    for o in orders {
        let v = s.scan("bench-1", o);
        assert_eq!(v["verdict"], "accepted", "{o}: {v}");
    }
    for i in items {
        assert_eq!(s.scan("bench-1", i)["verdict"], "accepted", "{i}");
    }
    let v = s.weigh("bench-1", grams, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

fn open_return(s: &TestServer, code: &str) -> Value {
    let (st, v) = s.post("/api/v1/returns", json!({ "badge": PACKER, "code": code }));
    assert_eq!(st, 200, "{v}");
    v
}

fn inspect(s: &TestServer, id: i64, body: Value) -> (u16, Value) {
    let mut b = body;
    b["badge"] = json!(PACKER);
    s.post(&format!("/api/v1/returns/{id}/lines"), b)
}

fn order(s: &TestServer, no: &str) -> Value {
    let (st, v) = s.get(&format!("/api/v1/orders/{no}"));
    assert_eq!(st, 200, "{v}");
    v
}

fn history_kinds(o: &Value) -> Vec<String> {
    o["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[test]
fn returned_lines_go_back_to_stock_or_quarantine_with_photos_and_a_claim_draft() {
    let s = TestServer::start();
    s.scan("bench-1", PACKER);
    let wb = ship(&s, &["T-1001"], &[TSHIRT, SOCKS, "SKU-TS-WH-L"], 470);
    let v = open_return(&s, "T-1001");
    let id = v["return"]["id"].as_i64().unwrap();
    assert_eq!(v["return"]["waybill"], wb.as_str());
    assert_eq!(v["orders"][0]["order_no"], "T-1001");
    // The same parcel scanned again (by its waybill) picks up the same inspection.
    assert_eq!(open_return(&s, &wb)["return"]["id"], id);

    let r = ureq::post(&s.url(&format!("/api/v1/returns/{id}/photos?badge={PACKER}")))
        .send_bytes(PNG)
        .unwrap();
    let photo: Value = r.into_json().unwrap();
    let sha = photo["photo"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    assert!(s
        .data()
        .join(format!("photos/{}/{sha}.png", &sha[..2]))
        .is_file());
    match ureq::post(&s.url(&format!("/api/v1/returns/{id}/photos?badge={PACKER}")))
        .send_bytes(b"<script>")
    {
        Err(ureq::Error::Status(400, _)) => {}
        other => panic!("a non-image must be refused: {other:?}"),
    }

    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1001", "sku": "TS-WH-L", "qty": 1, "condition": "good" }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["bin"], "A-01-01");
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1001", "sku": "SK-3P", "condition": "damaged",
        "reason": "box crushed", "fault": "courier", "photos": [sha] }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["bin"], "QUARANTINE");
    assert!(v["claim_draft"].as_i64().is_some(), "{v}");
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1001", "sku": "TS-WH-L", "qty": 2, "condition": "good" }),
    );
    assert_eq!(st, 400, "only one more T-shirt can come back: {v}");
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1001", "sku": "TS-WH-L", "condition": "wrong" }),
    );
    assert_eq!(st, 400, "a reason is required for a bad line: {v}");

    let (_, stock) = s.get("/api/v1/stock/sku/SK-3P");
    let q = stock["bins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["bin"] == "QUARANTINE")
        .unwrap()
        .clone();
    assert_eq!(
        (q["on_hand"].as_i64(), q["kind"].as_str()),
        (Some(1), Some("quarantine"))
    );
    assert_eq!(
        stock["available"], -1,
        "shipped beyond stock, quarantine not sellable: {stock}"
    );
    let (_, claims) = s.get(&format!("/api/v1/claims?waybill={wb}"));
    let c = &claims["claims"][0];
    assert_eq!(c["courier"], "lotte");
    assert_eq!(c["lines"][0]["sku"], "SK-3P");
    assert_eq!(c["photos"][0], sha.as_str());

    let o = order(&s, "T-1001");
    assert_eq!(o["flag"], "purple");
    let kinds = history_kinds(&o);
    for k in ["order", "shipment", "return_opened", "return_line"] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    let (st, v) = s.post(
        &format!("/api/v1/returns/{id}/close"),
        json!({ "badge": PACKER }),
    );
    assert_eq!(st, 200, "{v}");
    let (st, _) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1001", "sku": "TS-WH-L", "condition": "good" }),
    );
    assert_eq!(st, 400, "a closed return takes no more lines");
    let page = ureq::get(&s.url(&format!("/returns?id={id}")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(page.contains("T-1001"));
    ledger_clean(&s);
}

#[test]
fn a_bundle_is_returned_line_by_line_per_order() {
    let s = TestServer::start();
    s.scan("bench-1", PACKER);
    let wb = ship(&s, &["T-1004", "T-1005"], &[TEA, SOCKS, SOCKS_ALT], 500);
    let v = open_return(&s, &wb);
    let id = v["return"]["id"].as_i64().unwrap();
    let orders: Vec<&str> = v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_no"].as_str().unwrap())
        .collect();
    assert_eq!(orders, ["T-1004", "T-1005"]);
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1004", "sku": "SK-3P", "condition": "good" }),
    );
    assert_eq!(st, 400, "the socks belong to T-1005: {v}");
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1004", "sku": "CN-TEA", "condition": "good" }),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1005", "sku": "SK-3P", "qty": 2, "condition": "good", "bin": "B-01-01" }),
    );
    assert_eq!(st, 200, "{v}");
    // The tea shipped beyond recorded stock (-1 at its home bin); its return brings it to 0.
    let (_, tea) = s.get("/api/v1/stock/entries?sku=CN-TEA");
    let e = &tea["entries"][0];
    assert_eq!(
        (e["kind"].as_str(), e["bin"].as_str(), e["qty"].as_i64()),
        (Some("return_to_stock"), Some("D-01-01"), Some(1))
    );
    let (_, tea) = s.get("/api/v1/stock/sku/CN-TEA");
    assert_eq!(tea["on_hand"], 0, "{tea}");
    for no in ["T-1004", "T-1005"] {
        let o = order(&s, no);
        assert_eq!(o["flag"], "purple", "{no}");
        let lines: Vec<String> = o["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "return_line")
            .map(|e| e["detail"]["order_no"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            lines,
            [no],
            "each order's history has its own returned line"
        );
    }
    ledger_clean(&s);
}

#[test]
fn an_exchange_is_packed_as_a_new_parcel_linked_to_the_original() {
    let s = TestServer::start();
    let (st, _) = s.post(
        "/api/v1/stock/adjust",
        json!({ "badge": MANAGER, "sku": "TS-WH-L",
        "bin": "A-01-01", "qty": 5, "reason": "opening" }),
    );
    assert_eq!(st, 200);
    s.scan("bench-1", PACKER);
    let wb = ship(&s, &["T-1006"], &[TSHIRT], 190);
    let id = open_return(&s, "T-1006")["return"]["id"].as_i64().unwrap();
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1006", "sku": "TS-WH-L", "condition": "good",
        "exchange": [{ "sku": "TS-WH-L", "qty": 1 }] }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["exchange_order"], "T-1006-X1");
    assert_eq!(v["exchange_on_hold"], false);
    assert_eq!(order(&s, "T-1006")["flag"], "blue");
    let x = order(&s, "T-1006-X1");
    assert_eq!(
        (x["flag"].as_str(), x["status"].as_str()),
        (Some("blue"), Some("ready"))
    );
    assert_eq!(x["recipient_name"], order(&s, "T-1006")["recipient_name"]);

    let wb2 = ship(&s, &["T-1006-X1"], &[TSHIRT], 190);
    assert_ne!(wb, wb2);
    let o = order(&s, "T-1006");
    let ex = &o["exchanges"][0];
    assert_eq!(ex["order_no"], "T-1006-X1");
    assert_eq!(ex["original_waybill"], wb.as_str());
    assert_eq!(ex["new_waybill"], wb2.as_str());
    assert!(history_kinds(&o).iter().any(|k| k == "exchange_created"));
    assert!(history_kinds(&order(&s, "T-1006-X1"))
        .iter()
        .any(|k| k == "exchange_created"));
    ledger_clean(&s);
}

#[test]
fn an_exchange_whose_replacement_is_out_of_stock_is_created_on_hold() {
    let s = TestServer::start();
    s.scan("bench-1", PACKER);
    ship(&s, &["T-1002"], &[MUG], 390);
    let id = open_return(&s, "T-1002")["return"]["id"].as_i64().unwrap();
    let (st, v) = inspect(
        &s,
        id,
        json!({ "order_no": "T-1002", "sku": "MUG-01", "condition": "damaged",
        "reason": "handle broken", "fault": "packing", "exchange": [{ "sku": "MUG-01", "qty": 1 }] }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["exchange_order"], "T-1002-X1");
    assert_eq!(v["exchange_on_hold"], true);
    assert_eq!(v["short"][0]["sku"], "MUG-01");
    assert!(v["message"].as_str().unwrap().contains("T-1002-X1"), "{v}");
    assert!(
        v["claim_draft"].is_null(),
        "our packing's fault is no courier claim"
    );
    let x = order(&s, "T-1002-X1");
    assert_eq!(x["flag"], "yellow");
    let refused = s.scan("bench-1", "T-1002-X1");
    assert_eq!(refused["code"], "order_on_hold", "{refused}");
    let (_, q) = s.get("/api/v1/stock/bin/QUARANTINE");
    assert_eq!(q["contents"]["MUG-01"], 1);
    let (st, v) = s.post(
        "/api/v1/returns",
        json!({ "badge": PACKER, "code": "NO-SUCH-PARCEL" }),
    );
    assert_eq!(st, 404, "{v}");
    ledger_clean(&s);
}
