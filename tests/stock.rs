//! The stock ledger through the real server: stock files, shipping and voiding moving stock,
//! receiving against an expected list, adjustments and transfers, bins, and the sold-out
//! report with its export. After every flow the ledger check must be clean.

mod common;

use common::TestServer;
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

fn ledger_clean(s: &TestServer) {
    let (st, v) = s.get("/api/v1/stock/check");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["ok"], true, "ledger check: {v}");
}

fn stock_file(s: &TestServer, text: &str) -> String {
    let p = s.data().join("stock-in.csv");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn sku(s: &TestServer, sku: &str) -> Value {
    let (st, v) = s.get(&format!("/api/v1/stock/sku/{sku}"));
    assert_eq!(st, 200, "{v}");
    v
}

fn entries(s: &TestServer, q: &str) -> Vec<Value> {
    let (st, v) = s.get(&format!("/api/v1/stock/entries?{q}"));
    assert_eq!(st, 200, "{v}");
    v["entries"].as_array().unwrap().clone()
}

fn ship_t(s: &TestServer, order: &str, grams: i64) -> String {
    assert_eq!(s.scan("bench-1", order)["action"], "order_opened");
    assert_eq!(s.scan("bench-1", TSHIRT)["action"], "pack_complete");
    let v = s.weigh("bench-1", grams, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

#[test]
fn shipping_takes_stock_beyond_stock_is_recorded_and_void_restores_staging() {
    let s = TestServer::start();
    let f = stock_file(
        &s,
        "sku,bin,qty,reason\nTS-WH-L,A-01-01,1,opening\nSK-3P,B-01-01,5,opening\n",
    );
    let out = s.cli_ok(&["import", "stock", &f]);
    assert!(out.contains('2'), "{out}");
    assert_eq!(sku(&s, "TS-WH-L")["available"], 1);
    ledger_clean(&s);

    assert_eq!(s.scan("bench-1", PACKER)["action"], "signed_in");
    let wb1 = ship_t(&s, "T-1006", 190);
    let v = sku(&s, "TS-WH-L");
    assert_eq!(v["available"], 0, "{v}");
    let e = entries(&s, &format!("ref={wb1}"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0]["kind"].as_str(), e[0]["qty"].as_i64()),
        (Some("ship"), Some(-1))
    );
    assert_eq!(e[0]["override_by"], "");
    let (_, so) = s.get("/api/v1/stock/sold-out");
    assert!(
        so["skus"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["sku"] == "TS-WH-L"),
        "{so}"
    );

    // Nothing left: the parcel still ships, and the ledger says why the bin is negative.
    let wb2 = ship_t(&s, "T-1008", 190);
    let e = entries(&s, &format!("ref={wb2}"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0]["bin"], "A-01-01");
    assert_eq!(e[0]["qty"], -1);
    assert_eq!(e[0]["override_by"], "system");
    assert_eq!(e[0]["reason"], "system:shipped_beyond_stock");
    assert!(
        !e[0]["reason_text"].as_str().unwrap().starts_with("stock."),
        "{e:?}"
    );
    let v = sku(&s, "TS-WH-L");
    assert_eq!(v["on_hand"], -1, "{v}");
    let (_, all) = s.get("/api/v1/stock");
    let ts = all["skus"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["sku"] == "TS-WH-L")
        .unwrap()
        .clone();
    assert_eq!(ts["negative"], true, "{ts}");
    ledger_clean(&s);

    // A void puts the parcel's goods back at the bench (staging) and the order back to ready.
    let (st, v) = s.post(
        &format!("/api/v1/shipments/{wb2}/void"),
        json!({ "badge": MANAGER, "reason": "label on the wrong box" }),
    );
    assert_eq!(st, 200, "{v}");
    let (_, bin) = s.get("/api/v1/stock/bin/STAGING");
    assert_eq!(bin["contents"]["TS-WH-L"], 1, "{bin}");
    assert_eq!(bin["info"]["kind"], "staging");
    let (_, o) = s.get("/api/v1/orders/T-1008");
    assert_eq!(o["status"], "ready");
    ledger_clean(&s);

    // Packed again: the unit comes out of staging first, no override needed.
    let wb3 = ship_t(&s, "T-1008", 190);
    let e = entries(&s, &format!("ref={wb3}"));
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0]["bin"].as_str(), e[0]["override_by"].as_str()),
        (Some("STAGING"), Some(""))
    );
    ledger_clean(&s);
}

#[test]
fn a_bad_stock_file_is_refused_whole_with_file_line_and_column() {
    let s = TestServer::start();
    let f = stock_file(
        &s,
        "sku,bin,qty\nTS-WH-L,A-01-01,3\nNOPE,A-01-01,2\nSK-3P,B-01-01,x\n",
    );
    let out = s.cli(&["import", "stock", &f]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stock-in.csv:3: column `sku`: SKU `NOPE` is not in the catalog"),
        "{err}"
    );
    assert!(err.contains("stock-in.csv:4: column `qty`"), "{err}");
    assert_eq!(
        sku(&s, "TS-WH-L")["available"],
        0,
        "nothing of a refused file is posted"
    );
}

#[test]
fn receiving_counts_against_expected_and_posts_one_receipt() {
    let s = TestServer::start();
    let (st, v) = s.post(
        "/api/v1/receipts",
        json!({ "badge": PACKER, "supplier": "동대문 도매", "expected_text": "TS-WH-L,3\nSK-3P 2" }),
    );
    assert_eq!(st, 200, "{v}");
    let id = v["receipt"]["id"].as_i64().unwrap();
    assert!(
        v["receipt"]["number"].as_str().unwrap().starts_with("RC-"),
        "{v}"
    );
    let scan = |code: &str, qty: i64, bin: &str| {
        let (st, v) = s.post(
            &format!("/api/v1/receipts/{id}/scan"),
            json!({ "badge": PACKER, "code": code, "qty": qty, "bin": bin }),
        );
        assert_eq!(st, 200, "{v}");
        v
    };
    assert_eq!(scan(TSHIRT, 1, "")["bin"], "A-01-01", "home bin by default");
    assert_eq!(scan("SKU-TS-WH-L", 1, "")["counted"], 2);
    assert_eq!(scan("SK-3P", 3, "R-01")["bin"], "R-01");
    let unknown = scan("4006381333931", 1, "");
    assert_eq!(unknown["verdict"], "refused");
    assert_eq!(unknown["code"], "unknown_code");
    assert!(!unknown["message"].as_str().unwrap().is_empty());
    // Scans are not stock until the receipt closes.
    assert_eq!(sku(&s, "TS-WH-L")["available"], 0);

    let (st, v) = s.post(
        &format!("/api/v1/receipts/{id}/close"),
        json!({ "badge": PACKER }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["counted_units"], 5);
    assert_eq!(v["over_units"], 1);
    assert_eq!(v["short_units"], 1);
    assert_eq!(v["unknown"].as_array().unwrap().len(), 1, "{v}");
    let ts = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == "TS-WH-L")
        .unwrap()
        .clone();
    assert_eq!(
        (
            ts["expected"].as_i64(),
            ts["counted"].as_i64(),
            ts["diff"].as_i64()
        ),
        (Some(3), Some(2), Some(-1))
    );
    assert_eq!(sku(&s, "TS-WH-L")["available"], 2);
    assert_eq!(sku(&s, "SK-3P")["bins"][0]["bin"], "R-01");
    let number = v["receipt"]["number"].as_str().unwrap();
    let e = entries(&s, &format!("ref={number}"));
    assert_eq!(e.len(), 2);
    assert!(
        e.iter()
            .all(|x| x["kind"] == "receipt" && x["posting"] == e[0]["posting"]),
        "{e:?}"
    );
    ledger_clean(&s);

    let (st, again) = s.post(
        &format!("/api/v1/receipts/{id}/close"),
        json!({ "badge": PACKER }),
    );
    assert_eq!(st, 400, "{again}");

    // Labels for the goods counted, and the printable receipt.
    let pdf = ureq::get(&s.url(&format!("/api/v1/receipts/{id}/labels?format=pdf")))
        .call()
        .unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut pdf.into_reader(), &mut bytes).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "labels are a PDF");
    let (st, v) = s.post(
        &format!("/api/v1/receipts/{id}/labels/print"),
        json!({ "badge": PACKER, "station": "bench-1", "skus": ["SK-3P"] }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["labels"], 3);
    let page = ureq::get(&s.url(&format!("/manager/receiving/{id}/receipt?lang=ko")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        page.contains(number) && page.contains("입고"),
        "receipt page"
    );
    let a = page.find("SK-3P").unwrap();
    let b = page.find("TS-WH-L").unwrap();
    assert!(
        a < b,
        "lines sorted by colour/size (no option before 화이트)"
    );
}

#[test]
fn adjustments_need_a_manager_and_going_negative_needs_an_override() {
    let s = TestServer::start();
    let adj = |badge: &str, qty: i64, allow: bool, reason: &str| {
        s.post(
            "/api/v1/stock/adjust",
            json!({ "badge": badge, "sku": "MUG-01", "bin": "C-01-01", "qty": qty,
                    "reason": reason, "allow_negative": allow }),
        )
    };
    let (st, v) = adj(PACKER, 4, false, "found in returns area");
    assert_eq!(st, 403, "{v}");
    assert_eq!(v["code"], "manager_required");
    let (st, v) = adj(MANAGER, 4, false, "");
    assert_eq!(st, 400, "a reason is required: {v}");
    let (st, v) = adj(MANAGER, 4, false, "found in returns area");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["on_hand"], 4);
    let (st, v) = adj(MANAGER, -6, false, "broken");
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["code"], "insufficient_stock");
    let (st, v) = adj(MANAGER, -6, true, "broken, count later");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["on_hand"], -2);
    let e = entries(&s, "sku=MUG-01");
    assert_eq!(e[0]["override_by"], MANAGER);
    assert_eq!(e[0]["operator"], MANAGER);
    assert_eq!(e[0]["reason"], "broken, count later");
    ledger_clean(&s);

    // Transfers: any badge, but never below zero without a manager.
    let (st, _) = adj(MANAGER, 5, false, "recount");
    assert_eq!(st, 200);
    let tr = |badge: &str, qty: i64, allow: bool| {
        s.post(
            "/api/v1/stock/transfer",
            json!({ "badge": badge, "sku": "MUG-01", "from": "C-01-01", "to": "C-09-09",
                    "qty": qty, "reason": "reslot", "allow_negative": allow }),
        )
    };
    let (st, v) = tr(PACKER, 9, false);
    assert_eq!(st, 409, "{v}");
    let (st, v) = tr(PACKER, 9, true);
    assert_eq!(st, 403, "{v}");
    let (st, v) = tr(PACKER, 2, false);
    assert_eq!(st, 200, "{v}");
    let (_, b) = s.get("/api/v1/stock/bin/C-09-09");
    assert_eq!(b["contents"]["MUG-01"], 2);
    let (st, v) = tr("B-NOBODY", 1, false);
    assert_eq!(st, 403, "{v}");
    ledger_clean(&s);
}

#[test]
fn bins_are_edited_and_imported_by_a_manager() {
    let s = TestServer::start();
    let (st, v) = s.post(
        "/api/v1/bins",
        json!({ "badge": PACKER, "bins": [{ "code": "Q-1", "kind": "quarantine" }] }),
    );
    assert_eq!(st, 403, "{v}");
    let (st, v) = s.post(
        "/api/v1/bins",
        json!({ "badge": MANAGER, "bins": [{ "code": "Q-1", "zone": "Q", "walk_seq": 9, "kind": "quarantine" }] }),
    );
    assert_eq!(st, 200, "{v}");
    let body = b"code,zone,walk_seq,kind\nA-01-01,A,1,pick\nR-01,R,2,reserve\n";
    let r = ureq::post(&s.url(&format!(
        "/api/v1/bins/import?filename=bins.csv&badge={MANAGER}"
    )))
    .send_bytes(body)
    .unwrap();
    assert_eq!(r.status(), 200);
    let bad = ureq::post(&s.url(&format!(
        "/api/v1/bins/import?filename=bins.csv&badge={MANAGER}"
    )))
    .send_bytes(b"code,kind\nX-1,shelf\n");
    match bad {
        Err(ureq::Error::Status(422, r)) => {
            let v: Value = r.into_json().unwrap();
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .contains("bins.csv:2: column `kind`"),
                "{v}"
            );
        }
        other => panic!("expected 422, got {other:?}"),
    }
    let (_, v) = s.get("/api/v1/bins");
    let codes: Vec<&str> = v["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["A-01-01", "R-01", "Q-1"], "walk order");
    for page in [
        "/manager/stock",
        "/manager/bins",
        "/manager/receiving",
        "/manager/stock/entries?sku=MUG-01",
    ] {
        let r = ureq::get(&s.url(page)).call().unwrap();
        assert_eq!(r.status(), 200, "{page}");
    }
}

#[test]
fn the_sold_out_export_lists_skus_at_zero_and_escapes_formulas() {
    let s = TestServer::start();
    let catalog = "sku,name,barcodes,unit_weight_g,location,cost,category,option\n\
                   EVIL-1,\"=HYPERLINK(\"\"http://x\"\")\",2000000000015,100,E-01,100,,+82 / @L\n";
    let r = ureq::post(&s.url("/api/v1/import/catalog?filename=c.csv"))
        .set("x-badge", MANAGER)
        .send_bytes(catalog.as_bytes())
        .unwrap();
    assert_eq!(r.status(), 200);
    for (qty, reason) in [(2, "opening"), (-2, "sold")] {
        let (st, v) = s.post(
            "/api/v1/stock/adjust",
            json!({ "badge": MANAGER, "sku": "EVIL-1", "bin": "E-01", "qty": qty, "reason": reason }),
        );
        assert_eq!(st, 200, "{v}");
    }
    let (st, v) = s.post(
        "/api/v1/stock/adjust",
        json!({ "badge": MANAGER, "sku": "MUG-01", "bin": "C-01-01", "qty": 3, "reason": "opening" }),
    );
    assert_eq!(st, 200, "{v}");
    let (_, so) = s.get("/api/v1/stock/sold-out");
    let list: Vec<&str> = so["skus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["sku"].as_str().unwrap())
        .collect();
    assert_eq!(
        list,
        ["EVIL-1"],
        "MUG-01 still has stock; untouched SKUs are not listed"
    );

    let csv = ureq::get(&s.url("/api/v1/stock/sold-out.csv?lang=ko"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(csv.contains("상품코드"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'+82 / @L"), "{csv}");
    assert!(
        !csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"),
        "{csv}"
    );
    let xlsx = ureq::get(&s.url("/api/v1/stock/sold-out.xlsx"))
        .call()
        .unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut xlsx.into_reader(), &mut bytes).unwrap();
    assert!(bytes.starts_with(b"PK"), "an XLSX is a zip");
    ledger_clean(&s);
}
