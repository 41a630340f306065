//! Hand-over manifests and marketplace dispatch files, driven over HTTP against the real
//! server: parcels are packed at the benches first (bench-1 ships Lotte, bench-2 CJ), then
//! scanned onto manifests, and the dispatch files are read back as CSV and XLSX.

mod common;

use std::io::Read;

use common::{fixture, TestServer};
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const TSHIRT_ALT: &str = "SKU-TS-WH-L";
const SOCKS: &str = "8801234567800";
const SOCKS_ALT: &str = "SKU-SK-3P";
const TEA: &str = "6901234567892";
const MUG: &str = "8801234567817";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

fn start() -> TestServer {
    TestServer::start_with(&fixture("handover.toml"))
}

/// Packs one order at a station: opens it, scans `items` (never the same code twice in a
/// row, so the scanner debounce does not swallow one), weighs `grams`; returns the waybill.
fn ship(s: &TestServer, station: &str, orders: &[&str], items: &[&str], grams: i64) -> String {
    assert_eq!(s.scan(station, PACKER)["verdict"], "accepted");
    for o in orders {
        let v = s.scan(station, o);
        assert_eq!(v["verdict"], "accepted", "open {o}: {v}");
    }
    for code in items {
        let v = s.scan(station, code);
        assert_eq!(v["verdict"], "accepted", "scan {code}: {v}");
    }
    let v = s.weigh(station, grams, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().expect("waybill").to_string()
}

fn open_manifest(s: &TestServer, courier: &str) -> String {
    let (st, v) = s.post(
        "/api/v1/manifests?lang=en",
        json!({ "courier": courier, "badge": PACKER }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "accepted", "{v}");
    v["manifest"].as_str().expect("manifest number").to_string()
}

fn mscan(s: &TestServer, manifest: &str, code: &str) -> Value {
    let (st, v) = s.post(
        &format!("/api/v1/manifests/{manifest}/scan?lang=en"),
        json!({ "code": code, "badge": PACKER }),
    );
    assert_eq!(st, 200, "scan {code}: {v}");
    assert!(
        !v["message"].as_str().unwrap_or("").is_empty(),
        "no message: {v}"
    );
    assert!(v["event_id"].as_i64().unwrap_or(0) > 0, "no event: {v}");
    v
}

fn refused(v: &Value, code: &str) {
    assert_eq!(v["verdict"], "refused", "{v}");
    assert_eq!(v["code"], code, "{v}");
}

fn view(s: &TestServer, manifest: &str) -> Value {
    let (st, v) = s.get(&format!("/api/v1/manifests/{manifest}"));
    assert_eq!(st, 200, "{v}");
    v
}

fn close(s: &TestServer, manifest: &str, body: Value) -> Value {
    let (st, v) = s.post(&format!("/api/v1/manifests/{manifest}/close?lang=en"), body);
    assert_eq!(st, 200, "close: {v}");
    v
}

fn waybills(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|p| p["waybill"].as_str().unwrap_or("").to_string())
        .collect()
}

/// GET returning the status, the body bytes and a header.
fn get_bytes(s: &TestServer, path: &str) -> (u16, Vec<u8>, String) {
    let resp = match ureq::get(&s.url(path)).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = resp.status();
    let ctype = resp.header("content-type").unwrap_or("").to_string();
    let mut body = Vec::new();
    resp.into_reader().read_to_end(&mut body).expect("body");
    (status, body, ctype)
}

fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8 CSV");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("CSV row").iter().map(str::to_string).collect())
        .collect()
}

fn read_xlsx(bytes: &[u8]) -> (Vec<Vec<String>>, usize) {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).expect("open XLSX");
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).expect("sheet");
    let rows = range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    calamine::Data::String(s) => s.clone(),
                    other => panic!("cell {other:?} is not text"),
                })
                .collect()
        })
        .collect();
    let formulas = wb
        .worksheet_formula(&sheet)
        .expect("formulas")
        .used_cells()
        .filter(|(_, _, f)| !f.is_empty())
        .count();
    (rows, formulas)
}

/// A second parcel of an order (the rest of its lines sent later), recorded straight in the
/// database the way an imported historical shipment would be: the bench never splits an
/// order, but the archive may hold orders that left in two parcels.
fn second_parcel(s: &TestServer, order: &str, first: &str, second: &str) {
    let db = rusqlite::Connection::open(s.data().join("packbench.sqlite3")).expect("open db");
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let n = db
        .execute(
            "INSERT INTO shipments (waybill, courier, pack_id, station, packer, packed_at, expected_g,
                                    tolerance_g, measured_g, status)
             SELECT ?2, courier, pack_id, station, packer,
                    strftime('%Y-%m-%dT%H:%M:%fZ', julianday(packed_at) + 1.0 / 86400), 100, 20, 100, 'shipped'
             FROM shipments WHERE waybill = ?1",
            rusqlite::params![first, second],
        )
        .expect("insert second parcel");
    assert_eq!(n, 1);
    db.execute(
        "INSERT INTO shipment_orders (waybill, order_no) VALUES (?1, ?2)",
        rusqlite::params![second, order],
    )
    .expect("link second parcel");
}

// ----- manifests ----------------------------------------------------------------------

#[test]
fn parcels_are_scanned_onto_a_manifest_with_every_edge_case_refused_in_words() {
    let s = start();
    let a = ship(&s, "bench-1", &["T-1006"], &[TSHIRT], 190);
    let b = ship(
        &s,
        "bench-1",
        &["T-1001"],
        &[TSHIRT, SOCKS, TSHIRT_ALT],
        465,
    );
    let voided = ship(&s, "bench-1", &["T-1008"], &[TSHIRT], 190);
    let cj = ship(&s, "bench-2", &["T-1007"], &[SOCKS], 105);
    let (st, v) = s.post(
        &format!("/api/v1/shipments/{voided}/void"),
        json!({ "badge": MANAGER, "reason": "label damaged" }),
    );
    assert_eq!(st, 200, "{v}");

    // Before any manifest, both live Lotte parcels wait for the hand-over.
    let (_, w) = s.get("/api/v1/manifests/awaiting?courier=lotte");
    assert_eq!(waybills(&w["parcels"]), vec![a.clone(), b.clone()], "{w}");

    let m = open_manifest(&s, "lotte");
    assert!(m.starts_with("HM-") && m.ends_with("-LOTTE-1"), "{m}");

    // Without a badge nothing is put on it.
    let (_, v) = s.post(
        &format!("/api/v1/manifests/{m}/scan?lang=en"),
        json!({ "code": a }),
    );
    refused(&v, "badge_required");

    let v = mscan(&s, &m, &a);
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["action"], "parcel_added");
    assert_eq!(
        (v["count"].clone(), v["total_grams"].clone()),
        (json!(1), json!(190))
    );

    // Twice: counted once, and it says so.
    let v = mscan(&s, &m, &a);
    assert_eq!(v["action"], "already_on_manifest", "{v}");
    assert_eq!(v["count"], 1, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("counted once"),
        "{v}"
    );

    // Another courier's parcel: refused, naming the courier.
    let v = mscan(&s, &m, &cj);
    refused(&v, "other_courier");
    assert!(
        v["message"].as_str().unwrap().contains("CJ Logistics"),
        "{v}"
    );

    // A void shipment: refused, and kept as a stray scan.
    let v = mscan(&s, &m, &voided);
    refused(&v, "parcel_void");

    // A code that is no parcel at all: recorded as a stray.
    let v = mscan(&s, &m, "NOT-A-PARCEL-77");
    refused(&v, "stray");

    let mv = view(&s, &m);
    assert_eq!(waybills(&mv["parcels_on"]), vec![a.clone()], "{mv}");
    assert_eq!(waybills(&mv["not_on_manifest"]), vec![b.clone()], "{mv}");
    let strays: Vec<(String, String)> = mv["strays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["code"].as_str().unwrap().to_string(),
                x["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        strays,
        vec![
            (voided.clone(), "void".to_string()),
            ("NOT-A-PARCEL-77".to_string(), "unknown".to_string())
        ]
    );
    assert_eq!(mv["parcels"], 1);
    assert_eq!(mv["total_grams"], 190);

    // A parcel cannot be on two open manifests.
    let m2 = open_manifest(&s, "lotte");
    assert_ne!(m, m2);
    let v = mscan(&s, &m2, &a);
    refused(&v, "on_other_manifest");
    assert!(v["message"].as_str().unwrap().contains(&m), "{v}");

    // Closing with a parcel of the day missing needs a manager's badge and a reason.
    let v = close(&s, &m, json!({ "badge": PACKER }));
    refused(&v, "parcels_missing");
    assert_eq!(v["missing"], json!([b]), "{v}");
    assert!(v["message"].as_str().unwrap().contains(&b), "{v}");
    let v = close(
        &s,
        &m,
        json!({ "badge": PACKER, "confirm_badge": PACKER, "reason": "late" }),
    );
    refused(&v, "manager_required");
    let v = close(
        &s,
        &m,
        json!({ "badge": PACKER, "confirm_badge": MANAGER, "reason": " " }),
    );
    refused(&v, "reason_required");
    assert_eq!(view(&s, &m)["status"], "open");
    let (_, pdf_early) = s.get(&format!("/api/v1/manifests/{m}/pdf"));
    assert_eq!(pdf_early["code"], "bad_request", "{pdf_early}");

    let v = close(
        &s,
        &m,
        json!({ "badge": PACKER, "confirm_badge": MANAGER, "reason": "parcel goes with the evening pick-up" }),
    );
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["count"], 1);
    assert_eq!(v["total_grams"], 190);
    let pdf_url = v["pdf_url"].as_str().unwrap().to_string();
    let (st, pdf, ctype) = get_bytes(&s, &pdf_url);
    assert_eq!(st, 200);
    assert_eq!(ctype, "application/pdf");
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    std::fs::write(common::artefacts().join("handover-manifest.pdf"), &pdf).unwrap();

    // Closed: read-only, listed, its shipment records the manifest and the hand-over time.
    let mv = view(&s, &m);
    assert_eq!(mv["status"], "closed");
    assert_eq!(mv["confirmed_by"], MANAGER);
    assert_eq!(mv["missing"], json!([b]));
    let (_, h) = s.get(&format!("/api/v1/shipments/{a}/handover"));
    assert_eq!(h["manifest"], m.as_str(), "{h}");
    assert!(
        h["handed_over_at"].as_str().unwrap_or("").len() >= 20,
        "{h}"
    );
    let (_, h) = s.get(&format!("/api/v1/shipments/{b}/handover"));
    assert_eq!(h["manifest"], Value::Null, "{h}");
    refused(&mscan(&s, &m, &b), "manifest_closed");
    let (_, list) = s.get("/api/v1/manifests?status=closed");
    let closed: Vec<&str> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["number"].as_str().unwrap())
        .collect();
    assert_eq!(closed, vec![m.as_str()]);
    // The PDF can be downloaded again, the same bytes.
    assert_eq!(get_bytes(&s, &pdf_url).1, pdf);

    // The handed-over parcel cannot go on another manifest; the missing one can.
    refused(&mscan(&s, &m2, &a), "already_handed_over");
    let v = mscan(&s, &m2, &b);
    assert_eq!(v["action"], "parcel_added", "{v}");
    let v = close(&s, &m2, json!({ "badge": PACKER }));
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["missing"], json!([]), "{v}");

    // An empty manifest is not closed.
    let m3 = open_manifest(&s, "lotte");
    refused(
        &close(&s, &m3, json!({ "badge": PACKER })),
        "manifest_empty",
    );

    // Every action is an event with station, operator and time.
    let (_, ev) = s.get("/api/v1/events?station=handover&limit=500");
    let events = ev["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for k in ["manifest_open", "manifest_scan", "manifest_close"] {
        assert!(kinds.contains(&k), "no {k} event: {kinds:?}");
    }
    let closing = events
        .iter()
        .find(|e| e["kind"] == "manifest_close" && e["verdict"] == "accepted")
        .expect("the closing event");
    assert_eq!(closing["operator"], PACKER);
    assert_eq!(closing["detail"]["confirmed_by"], MANAGER);
    assert!(!closing["at"].as_str().unwrap().is_empty());
    let refusals = events
        .iter()
        .filter(|e| e["kind"] == "manifest_scan" && e["verdict"] == "refused")
        .count();
    assert!(refusals >= 5, "{refusals} refused scans recorded");
}

#[test]
fn refusals_speak_the_requested_language_and_unknown_things_are_named() {
    let s = start();
    let cj = ship(&s, "bench-2", &["T-1007"], &[SOCKS], 105);
    let m = open_manifest(&s, "lotte");
    let (_, v) = s.post(
        &format!("/api/v1/manifests/{m}/scan?lang=ko"),
        json!({ "code": cj, "badge": PACKER }),
    );
    refused(&v, "other_courier");
    assert!(v["message"].as_str().unwrap().contains("CJ대한통운"), "{v}");
    let (_, v) = s.post(
        &format!("/api/v1/manifests/{m}/scan?lang=zh"),
        json!({ "code": cj, "badge": PACKER }),
    );
    assert!(v["message"].as_str().unwrap().contains("CJ大韩通运"), "{v}");

    let (st, v) = s.post(
        "/api/v1/manifests?lang=en",
        json!({ "courier": "dhl", "badge": PACKER }),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("dhl"), "{v}");
    let (st, v) = s.get("/api/v1/manifests/HM-NOPE?lang=en");
    assert_eq!(st, 404, "{v}");
    assert!(v["message"].as_str().unwrap().contains("HM-NOPE"), "{v}");
    let (_, v) = s.post(
        "/api/v1/manifests?lang=en",
        json!({ "courier": "lotte", "badge": "B-NOBODY" }),
    );
    refused(&v, "badge_required");
}

// ----- dispatch files -----------------------------------------------------------------

#[test]
fn dispatch_files_list_bundles_and_partial_shipments_and_leave_out_void_parcels() {
    let s = start();
    // Coupang orders from a generic file; one order number starts with `=`.
    let extra = s.data().join("coupang-orders.csv");
    std::fs::write(
        &extra,
        "order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag\n\
         =C-2001,coupang,2026-11-23 09:00,한가람,010-3333-4444,서울특별시 종로구 세종대로 1,03154,MUG-01,1,,\n",
    )
    .unwrap();
    s.cli_ok(&[
        "import",
        "orders",
        extra.to_str().unwrap(),
        "--channel",
        "generic",
    ]);

    let bundle = ship(
        &s,
        "bench-1",
        &["T-1004", "T-1005"],
        &[TEA, SOCKS, SOCKS_ALT],
        505,
    );
    let t1006 = ship(&s, "bench-1", &["T-1006"], &[TSHIRT], 190);
    let t1001 = ship(
        &s,
        "bench-1",
        &["T-1001"],
        &[TSHIRT, SOCKS, TSHIRT_ALT],
        465,
    );
    let voided = ship(&s, "bench-1", &["T-1008"], &[TSHIRT], 190);
    let (st, v) = s.post(
        &format!("/api/v1/shipments/{voided}/void"),
        json!({ "badge": MANAGER, "reason": "wrong address" }),
    );
    assert_eq!(st, 200, "{v}");
    let cj = ship(&s, "bench-2", &["T-1007"], &[SOCKS], 105);
    let coupang = ship(&s, "bench-1", &["=C-2001"], &[MUG], 390);
    // T-1006 and T-1004 each sent a second parcel later the same day.
    second_parcel(&s, "T-1006", &t1006, "600019999998");
    second_parcel(&s, "T-1004", &bundle, "600019999999");

    // Smartstore: one row per order, the first parcel only (its format's `partial`).
    let (st, body, ctype) = get_bytes(&s, "/api/v1/dispatch?channel=smartstore&format=csv");
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(body.starts_with("\u{feff}".as_bytes()), "no BOM");
    let rows = parse_csv(&body);
    assert_eq!(
        rows[0],
        vec!["상품주문번호", "배송방법", "택배사", "송장번호"]
    );
    let got: Vec<(String, String, String)> = rows[1..]
        .iter()
        .map(|r| (r[0].clone(), r[2].clone(), r[3].clone()))
        .collect();
    let row = |o: &str, c: &str, w: &str| (o.to_string(), c.to_string(), w.to_string());
    assert_eq!(
        got,
        vec![
            row("T-1001", "롯데택배", &t1001),
            row("T-1006", "롯데택배", &t1006),
            row("T-1007", "CJ대한통운", &cj),
        ],
        "void {voided} must be left out"
    );

    // Taobao as XLSX: the bundle gives a row per order with the same waybill, and every
    // parcel of a partial shipment is a row.
    let (st, body, _) = get_bytes(&s, "/api/v1/dispatch?channel=taobao&format=xlsx");
    assert_eq!(st, 200);
    let (rows, formulas) = read_xlsx(&body);
    assert_eq!(formulas, 0);
    assert_eq!(rows[0], vec!["订单编号", "物流公司", "运单号"]);
    assert_eq!(
        rows[1..].to_vec(),
        vec![
            vec!["T-1004".to_string(), "乐天快递".into(), bundle.clone()],
            vec![
                "T-1004".to_string(),
                "乐天快递".into(),
                "600019999999".into()
            ],
            vec!["T-1005".to_string(), "乐天快递".into(), bundle.clone()],
        ]
    );

    // Coupang: its own courier codes; a value starting with `=` never becomes a formula.
    let (_, body, _) = get_bytes(&s, "/api/v1/dispatch?channel=coupang&format=csv");
    let rows = parse_csv(&body);
    assert_eq!(
        rows[1..].to_vec(),
        vec![vec![
            "'=C-2001".to_string(),
            "HYUNDAI".into(),
            coupang.clone()
        ]]
    );
    let (_, body, _) = get_bytes(&s, "/api/v1/dispatch?channel=coupang&format=xlsx");
    let (rows, formulas) = read_xlsx(&body);
    assert_eq!(formulas, 0, "a cell became a formula");
    assert_eq!(
        rows[1],
        vec!["=C-2001".to_string(), "HYUNDAI".into(), coupang]
    );

    // Selection by the warehouse's date: nothing was packed on another day.
    let (_, body, _) = get_bytes(
        &s,
        "/api/v1/dispatch?channel=smartstore&format=csv&date=2020-01-02",
    );
    assert_eq!(parse_csv(&body).len(), 1, "only the header");

    // The CLI writes the same file.
    let out = s.data().join("smartstore.csv");
    s.cli_ok(&[
        "export",
        "dispatch",
        "--channel",
        "smartstore",
        "--format",
        "csv",
        "--out",
        out.to_str().unwrap(),
    ]);
    let (_, api, _) = get_bytes(&s, "/api/v1/dispatch?channel=smartstore&format=csv");
    assert_eq!(std::fs::read(&out).unwrap(), api);

    // Unknown channel or file type: refused, naming it.
    let (st, v) = s.get("/api/v1/dispatch?channel=ebay&format=csv&lang=en");
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("ebay"), "{v}");
    let (st, v) = s.get("/api/v1/dispatch?channel=smartstore&format=pdf&lang=en");
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("pdf"), "{v}");
}

#[test]
fn a_site_corrects_a_dispatch_format_with_its_own_file() {
    let s = start();
    let t1006 = ship(&s, "bench-1", &["T-1006"], &[TSHIRT], 190);
    let dir = s.data().join("dispatch");
    std::fs::create_dir_all(&dir).unwrap();
    let own = include_str!("../src/exports/dispatch/smartstore.toml")
        .replace("lotte = \"롯데택배\"", "lotte = \"롯데글로벌로지스\"");
    std::fs::write(dir.join("smartstore.toml"), own).unwrap();
    let (_, body, _) = get_bytes(&s, "/api/v1/dispatch?channel=smartstore&format=csv");
    let rows = parse_csv(&body);
    assert_eq!(rows[1][2], "롯데글로벌로지스");
    assert_eq!(rows[1][3], t1006);

    // A courier the format cannot name is an error naming the file, courier and waybill.
    std::fs::write(
        dir.join("smartstore.toml"),
        include_str!("../src/exports/dispatch/smartstore.toml")
            .replace("lotte = \"롯데택배\"\n", ""),
    )
    .unwrap();
    let (st, v) = s.get("/api/v1/dispatch?channel=smartstore&format=csv&lang=en");
    assert_eq!(st, 400, "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("smartstore.toml") && msg.contains("lotte") && msg.contains(&t1006),
        "{msg}"
    );
}
