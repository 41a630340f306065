//! Complete packs driven over HTTP against the real server process.

mod common;

use std::path::Path;
use std::time::Duration;

use common::TestServer;
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const TSHIRT_ALT: &str = "SKU-TS-WH-L";
const SOCKS: &str = "8801234567800";
const SOCKS_ALT: &str = "SKU-SK-3P";
const MUG: &str = "8801234567817";
const TEA: &str = "6901234567892";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

// ----- helpers ------------------------------------------------------------------------

/// The station's `pack` as the bench page sees it (null when nothing is open).
fn pack(s: &TestServer, station: &str) -> Value {
    let (status, v) = s.get(&format!("/api/v1/stations/{station}"));
    assert_eq!(status, 200, "station {station}: {v}");
    v["pack"].clone()
}

fn sign_in(s: &TestServer, station: &str) {
    assert_eq!(s.scan(station, PACKER)["action"], "signed_in");
}

fn open(s: &TestServer, station: &str, order: &str) -> Value {
    let v = s.scan(station, order);
    assert_eq!(v["action"], "order_opened", "open {order}: {v}");
    v
}

/// Scans `code` and checks it is refused with `code`, a message, and no change to the pack.
fn assert_refused(s: &TestServer, station: &str, scanned: &str, code: &str) -> Value {
    let before = pack(s, station);
    let v = s.scan(station, scanned);
    assert_eq!(v["verdict"], "refused", "scan {scanned:?}: {v}");
    assert_eq!(v["code"], code, "scan {scanned:?}: {v}");
    assert!(
        !v["message"].as_str().unwrap_or("").trim().is_empty(),
        "refusal without a message: {v}"
    );
    assert!(v["event_id"].as_i64().unwrap_or(0) > 0, "no event id: {v}");
    assert_eq!(
        pack(s, station),
        before,
        "a refused scan of {scanned:?} changed the pack"
    );
    v
}

fn order(s: &TestServer, no: &str) -> Value {
    let (status, v) = s.get(&format!("/api/v1/orders/{no}"));
    assert_eq!(status, 200, "order {no}: {v}");
    v
}

fn shipment(s: &TestServer, wb: &str) -> Value {
    let (status, v) = s.get(&format!("/api/v1/shipments/{wb}"));
    assert_eq!(status, 200, "shipment {wb}: {v}");
    v
}

/// Opens T-1006 (one T-shirt, 180 g + 10 g bag), scans it and ships it at 190 g.
fn ship_t1006(s: &TestServer, station: &str) -> String {
    open(s, station, "T-1006");
    assert_eq!(s.scan(station, TSHIRT)["action"], "pack_complete");
    let v = s.weigh(station, 190, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().expect("waybill").to_string()
}

/// Scans T-1001's three units with codes that never repeat back to back.
fn scan_t1001_items(s: &TestServer, station: &str) {
    assert_eq!(s.scan(station, TSHIRT)["verdict"], "accepted");
    assert_eq!(s.scan(station, SOCKS)["verdict"], "accepted");
    let last = s.scan(station, TSHIRT_ALT);
    assert_eq!(last["action"], "pack_complete", "{last}");
}

/// Emulator spool files (`.zpl`) in the server's data directory.
/// The spooled jobs once there are at least `n` (labels print in the background, right
/// after the verdict); fails after 5 s.
fn wait_spooled(s: &TestServer, n: usize) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let jobs = spooled_zpl(s);
        if jobs.len() >= n {
            return jobs;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {n} labels printed",
            jobs.len()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn spooled_zpl(s: &TestServer) -> Vec<String> {
    let dir = s.data().join("printer-emulator");
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "zpl") {
                out.push(std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out
}

/// POST raw bytes (an import) returning (status, JSON).
fn post_bytes(s: &TestServer, path: &str, body: &[u8]) -> (u16, Value) {
    match ureq::post(&s.url(path)).send_bytes(body) {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

// ----- happy path ---------------------------------------------------------------------

#[test]
fn happy_path_packs_weighs_and_ships() {
    let s = TestServer::start();
    assert_eq!(s.scan("bench-1", "B-PACK-01")["action"], "signed_in");
    assert_eq!(s.scan("bench-1", "T-1001")["action"], "order_opened");
    assert_eq!(s.scan("bench-1", "8801234567893")["scanned"], 1);
    assert_eq!(s.scan("bench-1", "SKU-TS-WH-L")["scanned"], 2);
    let last = s.scan("bench-1", "8801234567800\r\n");
    assert_eq!(last["action"], "pack_complete");
    // 2 x 180 + 95 + 10 (bag) = 465 g
    let v = s.weigh("bench-1", 470, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let wb = v["waybill"].as_str().unwrap().to_string();
    let (_, sh) = s.get(&format!("/api/v1/shipments/{wb}"));
    assert_eq!(sh["order_no"], "T-1001");
    assert_eq!(sh["expected_grams"], 465);
    assert_eq!(sh["measured_grams"], 470);
    assert_eq!(sh["packer"], "B-PACK-01");
    assert_eq!(sh["courier"], "lotte");
}

// ----- refusals -----------------------------------------------------------------------

#[test]
fn refused_not_signed_in() {
    let s = TestServer::start();
    assert!(pack(&s, "bench-1").is_null());
    assert_refused(&s, "bench-1", "T-1001", "not_signed_in");
    assert_refused(&s, "bench-1", TSHIRT, "not_signed_in");
    assert!(pack(&s, "bench-1").is_null());
    assert_eq!(order(&s, "T-1001")["status"], "ready");
}

#[test]
fn refused_no_open_pack() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    assert_refused(&s, "bench-1", TSHIRT, "no_open_pack");
    assert_refused(&s, "bench-1", "PKG-BOX", "no_open_pack");
    assert!(pack(&s, "bench-1").is_null());
}

#[test]
fn refused_unknown_code() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    assert_refused(&s, "bench-1", "NO-SUCH-CODE", "unknown_code");
    open(&s, "bench-1", "T-1001");
    s.scan("bench-1", TSHIRT);
    let v = assert_refused(&s, "bench-1", "9999999999999", "unknown_code");
    assert!(
        v["message"].as_str().unwrap().contains("9999999999999"),
        "{v}"
    );
    assert_eq!(pack(&s, "bench-1")["scanned"], 1);
}

#[test]
fn refused_wrong_item() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    // The mug belongs to T-1002.
    assert_refused(&s, "bench-1", MUG, "wrong_item");
    s.scan("bench-1", TSHIRT);
    assert_refused(&s, "bench-1", TEA, "wrong_item");
    assert_eq!(pack(&s, "bench-1")["scanned"], 1);
}

#[test]
fn refused_over_scan() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    // One pair of socks is required; the second one (other barcode, so no debounce) is extra.
    assert_eq!(s.scan("bench-1", SOCKS)["scanned"], 1);
    let v = assert_refused(&s, "bench-1", SOCKS_ALT, "over_scan");
    assert!(!v["message"].as_str().unwrap().is_empty());
    let p = pack(&s, "bench-1");
    assert_eq!(p["scanned"], 1);
    assert_eq!(p["status"], "scanning");
}

#[test]
fn refused_order_on_hold() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    // T-1003 carries a yellow flag: on hold.
    assert_refused(&s, "bench-1", "T-1003", "order_on_hold");
    assert!(pack(&s, "bench-1").is_null());
    // Also with another order open.
    open(&s, "bench-1", "T-1001");
    assert_refused(&s, "bench-1", "T-1003", "order_on_hold");
    assert_eq!(order(&s, "T-1003")["status"], "ready");
}

#[test]
fn refused_already_packed_by_order_and_by_waybill() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    let wb = ship_t1006(&s, "bench-1");
    assert!(pack(&s, "bench-1").is_null());
    let v = assert_refused(&s, "bench-1", "T-1006", "already_packed");
    assert!(v["message"].as_str().unwrap().contains("T-1006"), "{v}");
    assert_refused(&s, "bench-1", &wb, "already_packed");
    // And with a pack open the parcel still does not come back.
    open(&s, "bench-1", "T-1001");
    s.scan("bench-1", TSHIRT);
    assert_refused(&s, "bench-1", "T-1006", "already_packed");
    assert_refused(&s, "bench-1", &wb, "already_packed");
    assert_eq!(order(&s, "T-1006")["status"], "packed");
}

#[test]
fn refused_pack_in_progress() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    sign_in(&s, "bench-2");
    open(&s, "bench-1", "T-1001");
    s.scan("bench-1", TSHIRT);
    // The order is being packed at bench-1: bench-2 cannot take it.
    assert_refused(&s, "bench-2", "T-1001", "pack_in_progress");
    assert!(pack(&s, "bench-2").is_null());
    // Also before any item is scanned there.
    assert_eq!(s.post("/api/v1/stations/bench-1/cancel", json!({})).0, 200);
    open(&s, "bench-1", "T-1001");
    // (Another code in between, or the same code again would be a debounced double read.)
    assert_refused(&s, "bench-2", "NO-SUCH-CODE", "unknown_code");
    assert_refused(&s, "bench-2", "T-1001", "pack_in_progress");
    assert_eq!(order(&s, "T-1001")["status"], "packing");
}

#[test]
fn refused_not_same_recipient() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    s.scan("bench-1", TSHIRT);
    // T-1002 goes to someone else and items are already in the parcel.
    assert_refused(&s, "bench-1", "T-1002", "not_same_recipient");
    let p = pack(&s, "bench-1");
    assert_eq!(p["orders"].as_array().unwrap().len(), 1);
    assert_eq!(p["orders"][0]["order_no"], "T-1001");
    assert_eq!(order(&s, "T-1002")["status"], "ready");
    // Nor can it join a complete parcel waiting for the scale.
    s.scan("bench-1", SOCKS);
    assert_eq!(s.scan("bench-1", TSHIRT_ALT)["action"], "pack_complete");
    assert_refused(&s, "bench-1", "T-1002", "not_same_recipient");
    assert_eq!(pack(&s, "bench-1")["status"], "weighing");
}

#[test]
fn switching_orders_before_any_item_is_allowed() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    open(&s, "bench-1", "T-1002");
    assert_eq!(pack(&s, "bench-1")["orders"][0]["order_no"], "T-1002");
    assert_eq!(order(&s, "T-1001")["status"], "ready");
}

#[test]
fn refused_awaiting_weight() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    scan_t1001_items(&s, "bench-1");
    assert_eq!(pack(&s, "bench-1")["status"], "weighing");
    assert_refused(&s, "bench-1", SOCKS, "awaiting_weight");
    assert_refused(&s, "bench-1", MUG, "awaiting_weight");
    assert_eq!(pack(&s, "bench-1")["scanned"], 3);
}

// ----- codes --------------------------------------------------------------------------

#[test]
fn scanned_codes_are_normalised() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    let cases: &[(&str, &str)] = &[
        ("]E08801234567893", "TS-WH-L"),
        ("]C1010880123456789310LOT1", "TS-WH-L"),
        ("\u{1d}010880123456789310LOT1", "TS-WH-L"),
        ("８８０１２３４５６７８９３", "TS-WH-L"),
        ("8801234567800\r\n", "SK-3P"),
        ("SKU-SK-3P\t", "SK-3P"),
        ("  SKU-TS-WH-L\r", "TS-WH-L"),
    ];
    for (raw, sku) in cases {
        // A fresh pack each time, so every form counts from zero.
        if !pack(&s, "bench-1").is_null() {
            let (st, v) = s.post("/api/v1/stations/bench-1/cancel", json!({}));
            assert_eq!(st, 200, "{v}");
        }
        open(&s, "bench-1", "T-1001");
        let v = s.scan("bench-1", raw);
        assert_eq!(v["verdict"], "accepted", "{raw:?}: {v}");
        assert_eq!(v["sku"], *sku, "{raw:?}: {v}");
        assert_eq!(v["scanned"], 1, "{raw:?}: {v}");
        assert_eq!(pack(&s, "bench-1")["scanned"], 1, "{raw:?}");
    }
    // Order numbers go through the same cleaning.
    let (st, _) = s.post("/api/v1/stations/bench-1/cancel", json!({}));
    assert_eq!(st, 200);
    assert_eq!(s.scan("bench-1", "T-1001\r\n")["action"], "order_opened");
}

#[test]
fn double_reads_within_the_debounce_window_count_once() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    assert_eq!(s.scan("bench-1", TSHIRT)["scanned"], 1);
    let dup = s.scan("bench-1", TSHIRT);
    assert_eq!(dup["verdict"], "accepted", "{dup}");
    assert_eq!(dup["action"], "duplicate_ignored", "{dup}");
    assert_eq!(pack(&s, "bench-1")["scanned"], 1);
    // The same code with a scanner suffix is still the same read.
    assert_eq!(
        s.scan("bench-1", "8801234567893\r")["action"],
        "duplicate_ignored"
    );
    assert_eq!(pack(&s, "bench-1")["scanned"], 1);
    // After the window (300 ms in the fixture) the same code is a new unit.
    std::thread::sleep(Duration::from_millis(400));
    let again = s.scan("bench-1", TSHIRT);
    assert_eq!(again["action"], "item_counted", "{again}");
    assert_eq!(again["scanned"], 2);
    assert_eq!(pack(&s, "bench-1")["scanned"], 2);
}

// ----- weight -------------------------------------------------------------------------

#[test]
fn weight_failure_asks_for_a_recount_then_ships() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    scan_t1001_items(&s, "bench-1");
    let p = pack(&s, "bench-1");
    assert_eq!(p["expected_grams"], 465);

    let v = s.weigh("bench-1", 200, true);
    assert_eq!(v["verdict"], "refused", "{v}");
    assert_eq!(v["code"], "weight_out_of_tolerance", "{v}");
    assert_eq!(v["expected_grams"], 465);
    assert_eq!(v["measured_grams"], 200);
    assert_eq!(v["diff_grams"], -265);
    assert!(!v["message"].as_str().unwrap().is_empty());

    let p = pack(&s, "bench-1");
    assert_eq!(p["status"], "recount", "{p}");
    assert_eq!(p["scanned"], 0, "{p}");
    assert_eq!(p["failed_measured_grams"], 200);
    for line in p["orders"][0]["lines"].as_array().unwrap() {
        assert_eq!(line["scanned"], 0, "{line}");
    }
    assert_eq!(order(&s, "T-1001")["status"], "packing");

    // During a recount a stable reading decides nothing.
    let r = s.weigh("bench-1", 465, true);
    assert_eq!(r["action"], "reading_recorded", "{r}");
    assert_eq!(pack(&s, "bench-1")["status"], "recount");

    scan_t1001_items(&s, "bench-1");
    assert_eq!(pack(&s, "bench-1")["status"], "weighing");

    // An unstable reading at the right weight never decides.
    for g in [300, 465, 466] {
        let r = s.weigh("bench-1", g, false);
        assert_eq!(r["verdict"], "accepted", "{r}");
        assert_eq!(r["action"], "reading_recorded", "{r}");
    }
    assert_eq!(pack(&s, "bench-1")["status"], "weighing");
    assert_eq!(order(&s, "T-1001")["status"], "packing");
    let (_, packed) = s.get("/api/v1/orders?status=packed");
    assert!(packed["orders"].as_array().unwrap().is_empty(), "{packed}");

    let v = s.weigh("bench-1", 470, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let wb = v["waybill"].as_str().unwrap();
    let sh = shipment(&s, wb);
    assert_eq!(sh["measured_grams"], 470);
    assert_eq!(sh["expected_grams"], 465);
    let events = sh["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "weight_out_of_tolerance" && e["verdict"] == "refused"),
        "the failed check is on the record: {sh}"
    );
    assert!(pack(&s, "bench-1").is_null());
    assert_eq!(order(&s, "T-1001")["status"], "packed");
}

#[test]
fn manager_override_ships_a_failed_pack_with_a_reason() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1001");
    scan_t1001_items(&s, "bench-1");
    let v = s.weigh("bench-1", 200, true);
    assert_eq!(v["code"], "weight_out_of_tolerance", "{v}");
    let path = "/api/v1/stations/bench-1/override";

    let before = pack(&s, "bench-1");
    let (st, v) = s.post(path, json!({ "badge": PACKER, "reason": "looks fine" }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "refused", "{v}");
    assert_eq!(v["code"], "manager_required", "{v}");
    assert_eq!(pack(&s, "bench-1"), before);

    let (st, v) = s.post(path, json!({ "badge": MANAGER, "reason": "  " }));
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.post(path, json!({ "badge": MANAGER }));
    assert_eq!(st, 400, "{v}");
    assert_eq!(pack(&s, "bench-1"), before);

    let reason = "mug box is heavier than catalog, checked by hand";
    let (st, v) = s.post(path, json!({ "badge": MANAGER, "reason": reason }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["action"], "override_shipped", "{v}");
    let wb = v["waybill"].as_str().expect("waybill").to_string();

    let sh = shipment(&s, &wb);
    assert_eq!(sh["override_by"], MANAGER, "{sh}");
    assert_eq!(sh["override_reason"], reason, "{sh}");
    assert_eq!(sh["measured_grams"], 200, "{sh}");
    assert_eq!(sh["expected_grams"], 465, "{sh}");
    assert_eq!(sh["packer"], PACKER, "{sh}");
    assert_eq!(sh["status"], "shipped");
    assert!(pack(&s, "bench-1").is_null());
    assert_eq!(order(&s, "T-1001")["status"], "packed");

    // Nothing left to override.
    let (st, v) = s.post(path, json!({ "badge": MANAGER, "reason": reason }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "refused", "{v}");
}

#[test]
fn fragile_category_widens_the_tolerance() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    // The station tolerance alone (20 g): a T-shirt parcel 70 g heavy fails.
    open(&s, "bench-1", "T-1006");
    s.scan("bench-1", TSHIRT);
    let v = s.weigh("bench-1", 190 + 70, true);
    assert_eq!(v["code"], "weight_out_of_tolerance", "{v}");
    assert_eq!(v["tolerance_grams"], 20, "{v}");
    s.post("/api/v1/stations/bench-1/cancel", json!({}));

    // The mug is fragile (80 g / 5 %): 380 + 10 = 390 g expected, 460 g passes.
    open(&s, "bench-1", "T-1002");
    assert_eq!(s.scan("bench-1", MUG)["action"], "pack_complete");
    let p = pack(&s, "bench-1");
    assert_eq!(p["expected_grams"], 390, "{p}");
    assert_eq!(p["tolerance_grams"], 80, "{p}");
    let v = s.weigh("bench-1", 460, true);
    assert_eq!(v["action"], "shipped", "{v}");
    assert_eq!(v["diff_grams"], 70);
    assert_eq!(v["tolerance_grams"], 80);
}

#[test]
fn fragile_tolerance_still_has_a_limit() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1002");
    s.scan("bench-1", MUG);
    let v = s.weigh("bench-1", 390 + 81, true);
    assert_eq!(v["code"], "weight_out_of_tolerance", "{v}");
    assert_eq!(v["diff_grams"], 81);
}

#[test]
fn red_flag_note_is_shown_when_the_order_opens() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    let v = open(&s, "bench-1", "T-1002");
    assert_eq!(v["flag"], "red", "{v}");
    assert_eq!(v["note"], "선물 포장해 주세요", "{v}");
    let p = pack(&s, "bench-1");
    assert_eq!(p["orders"][0]["order_no"], "T-1002");
    assert_eq!(p["orders"][0]["flag"], "red", "{p}");
    assert_eq!(p["orders"][0]["note"], "선물 포장해 주세요", "{p}");
}

// ----- reprint and void ---------------------------------------------------------------

#[test]
fn reprint_keeps_the_number_and_prints_again() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    let wb = ship_t1006(&s, "bench-1");
    let before: Vec<String> = wait_spooled(&s, 1);
    assert_eq!(
        before.iter().filter(|z| z.contains(&wb)).count(),
        1,
        "first label spooled"
    );

    let path = format!("/api/v1/shipments/{wb}/reprint");
    let (st, v) = s.post(&path, json!({ "badge": PACKER }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "refused", "{v}");
    assert_eq!(v["code"], "manager_required", "{v}");
    assert_eq!(
        spooled_zpl(&s).len(),
        before.len(),
        "a refused reprint printed"
    );

    let (st, v) = s.post(&path, json!({ "badge": MANAGER }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["action"], "reprinted", "{v}");
    assert_eq!(v["waybill"], wb.as_str());
    assert_eq!(v["print"]["ok"], true, "{v}");

    let after = spooled_zpl(&s);
    assert_eq!(after.len(), before.len() + 1, "one more printer job");
    assert_eq!(after.iter().filter(|z| z.contains(&wb)).count(), 2);
    assert!(after.iter().all(|z| z.contains("^XA")));

    let sh = shipment(&s, &wb);
    assert_eq!(sh["waybill"], wb.as_str());
    assert_eq!(sh["status"], "shipped");

    // The label in every format, exactly as printed: the ZPL is the printed job itself.
    let label = |format: &str| -> Vec<u8> {
        let r = ureq::get(&s.url(&format!("/api/v1/shipments/{wb}/label?format={format}")))
            .call()
            .unwrap_or_else(|e| panic!("label as {format}: {e}"));
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes).unwrap();
        bytes
    };
    let zpl = String::from_utf8(label("zpl")).expect("zpl text");
    assert!(after.contains(&zpl), "the ZPL served is the job printed");
    assert!(String::from_utf8_lossy(&label("tspl")).starts_with("SIZE "));
    assert!(label("pdf").starts_with(b"%PDF"));
    let png = label("png");
    assert!(png.starts_with(b"\x89PNG"));
    let img = image::load_from_memory(&png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert!(
        grids
            .iter()
            .any(|g| g.decode().is_ok_and(|(_, text)| text.contains(&wb))),
        "the preview's QR code carries the waybill"
    );
    let (status, _) = s.get(&format!("/api/v1/shipments/{wb}/label?format=bmp"));
    assert_eq!(status, 400);

    // A shipment recorded before the label's data was kept has only its ZPL: the other
    // formats replay that job, so the preview still shows the label as printed.
    let db = rusqlite::Connection::open(s.data().join("packbench.sqlite3")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    db.execute(
        "UPDATE shipments SET label_data = '', label_job = NULL WHERE waybill = ?1",
        [&wb],
    )
    .unwrap();
    drop(db);
    assert_eq!(String::from_utf8(label("zpl")).unwrap(), zpl);
    let png = label("png");
    let img = image::load_from_memory(&png)
        .expect("a replayed PNG")
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    assert!(
        prepared
            .detect_grids()
            .iter()
            .any(|g| g.decode().is_ok_and(|(_, text)| text.contains(&wb))),
        "the replayed preview's QR code carries the waybill"
    );
    let events = sh["events"].as_array().unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "reprint"
            && e["verdict"] == "accepted"
            && e["waybill"] == wb.as_str()),
        "no reprint event: {sh}"
    );
    // The event id the reprint answered with is the reprint's own event.
    let (_, all) = s.get("/api/v1/events?after=0&limit=100000");
    let ev = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == v["event_id"])
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(ev["kind"], "reprint", "{ev}");
}

/// Reprints from several managers at once (and benches scanning meanwhile): each answer must
/// carry the id of the event that records that reprint, so no two answers share an id.
#[test]
fn concurrent_reprints_answer_their_own_event_ids() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    sign_in(&s, "bench-2");
    let wb = ship_t1006(&s, "bench-1");
    let stop = Arc::new(AtomicBool::new(false));
    let scanners: Vec<_> = ["bench-1", "bench-2"]
        .iter()
        .map(|st| {
            let stop = stop.clone();
            let url = s.url(&format!("/api/v1/stations/{st}/scan"));
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let _ = ureq::post(&url).send_json(json!({ "code": format!("BUSY-{n}") }));
                }
            })
        })
        .collect();
    let reprinters: Vec<_> = (0..4)
        .map(|_| {
            let url = s.url(&format!("/api/v1/shipments/{wb}/reprint"));
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for _ in 0..40 {
                    let v: Value = ureq::post(&url)
                        .send_json(json!({ "badge": MANAGER }))
                        .expect("reprint")
                        .into_json()
                        .expect("json");
                    assert_eq!(v["action"], "reprinted", "{v}");
                    ids.push(v["event_id"].as_i64().expect("event id"));
                }
                ids
            })
        })
        .collect();
    let mut answered: Vec<i64> = reprinters
        .into_iter()
        .flat_map(|t| t.join().expect("reprinter"))
        .collect();
    stop.store(true, Ordering::Relaxed);
    for t in scanners {
        t.join().unwrap();
    }
    answered.sort_unstable();

    let (_, all) = s.get("/api/v1/events?after=0&limit=100000");
    let recorded: Vec<i64> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["kind"] == "reprint" && e["verdict"] == "accepted" && e["waybill"] == wb.as_str()
        })
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(recorded.len(), 160, "every reprint is recorded once");
    let mut shared = answered.clone();
    shared.dedup();
    assert_eq!(
        answered,
        recorded,
        "reprint answers carry other events' ids ({} distinct ids for {} reprints)",
        shared.len(),
        answered.len()
    );
}

#[test]
fn void_retires_the_waybill_and_the_order_is_packed_again() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    let wb = ship_t1006(&s, "bench-1");
    let path = format!("/api/v1/shipments/{wb}/void");

    let (st, v) = s.post(&path, json!({ "badge": PACKER, "reason": "label damaged" }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["code"], "manager_required", "{v}");
    let (st, v) = s.post(&path, json!({ "badge": MANAGER, "reason": "" }));
    assert_eq!(st, 400, "{v}");
    assert_eq!(shipment(&s, &wb)["status"], "shipped");

    let (st, v) = s.post(
        &path,
        json!({ "badge": MANAGER, "reason": "label damaged" }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["action"], "voided", "{v}");

    let sh = shipment(&s, &wb);
    assert_eq!(sh["status"], "void", "{sh}");
    assert!(
        sh["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "void" && e["verdict"] == "accepted"),
        "no void event: {sh}"
    );
    let o = order(&s, "T-1006");
    assert_eq!(o["status"], "ready", "{o}");
    let (_, ready) = s.get("/api/v1/orders?status=ready");
    assert!(ready["orders"]
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["order_no"] == "T-1006"));

    let out = s.cli(&["waybill", "check", "--courier", "lotte", &wb]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("void"), "{}", stdout(&out));

    // A void label is not printed again, nor voided twice.
    let (st, v) = s.post(
        &format!("/api/v1/shipments/{wb}/reprint"),
        json!({ "badge": MANAGER }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "refused", "{v}");
    assert_eq!(v["code"], "waybill_void", "{v}");
    let (st, _) = s.post(&path, json!({ "badge": MANAGER, "reason": "again" }));
    assert_eq!(st, 400);

    // The order packs again under a new number.
    open(&s, "bench-1", "T-1006");
    assert_eq!(s.scan("bench-1", TSHIRT_ALT)["action"], "pack_complete");
    let v = s.weigh("bench-1", 190, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let wb2 = v["waybill"].as_str().unwrap().to_string();
    assert_ne!(wb2, wb, "a void number was used again");
    let o = order(&s, "T-1006");
    assert_eq!(o["status"], "packed");
    assert_eq!(o["waybill"], wb2.as_str());
    assert_eq!(shipment(&s, &wb)["status"], "void");
    assert_eq!(shipment(&s, &wb2)["status"], "shipped");
}

// ----- bundle -------------------------------------------------------------------------

#[test]
fn bundle_of_two_orders_ships_as_one_parcel() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1004");
    let v = s.scan("bench-1", "T-1005");
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["action"], "bundled", "{v}");
    assert_eq!(v["bundle"], json!(["T-1004", "T-1005"]));
    let p = pack(&s, "bench-1");
    assert_eq!(p["orders"].as_array().unwrap().len(), 2);
    assert_eq!(p["required"], 3);
    // 300 (tea) + 2 x 95 (socks) + 10 (bag) = 500 g
    assert_eq!(p["expected_grams"], 500);

    assert_eq!(s.scan("bench-1", TEA)["action"], "item_counted");
    assert_eq!(s.scan("bench-1", SOCKS)["action"], "item_counted");
    assert_eq!(s.scan("bench-1", SOCKS_ALT)["action"], "pack_complete");
    let v = s.weigh("bench-1", 505, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let wb = v["waybill"].as_str().unwrap().to_string();

    let sh = shipment(&s, &wb);
    assert_eq!(sh["orders"], json!(["T-1004", "T-1005"]), "{sh}");
    let items = sh["items"].as_array().unwrap();
    let qty = |sku: &str| {
        items
            .iter()
            .find(|i| i["sku"] == sku)
            .map(|i| i["qty"].clone())
    };
    assert_eq!(qty("CN-TEA"), Some(json!(1)), "{sh}");
    assert_eq!(qty("SK-3P"), Some(json!(2)), "{sh}");
    assert_eq!(sh["expected_grams"], 500);

    for no in ["T-1004", "T-1005"] {
        let o = order(&s, no);
        assert_eq!(o["status"], "packed", "{o}");
        assert_eq!(o["waybill"], wb.as_str(), "{o}");
        assert_eq!(o["courier"], "lotte", "{o}");
    }
}

// ----- orders and imports -------------------------------------------------------------

#[test]
fn the_same_recipients_order_joins_a_complete_parcel() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    open(&s, "bench-1", "T-1004");
    assert_eq!(s.scan("bench-1", TEA)["action"], "pack_complete");
    assert_eq!(pack(&s, "bench-1")["status"], "weighing");
    let v = s.scan("bench-1", "T-1005");
    assert_eq!(v["action"], "bundled", "{v}");
    let p = pack(&s, "bench-1");
    assert_eq!(p["status"], "scanning", "{p}");
    assert_eq!(p["scanned"], 1);
    assert_eq!(p["required"], 3);
    // A reading now decides nothing: the parcel is not complete any more.
    assert_eq!(s.weigh("bench-1", 310, true)["action"], "reading_recorded");
    s.scan("bench-1", SOCKS);
    assert_eq!(s.scan("bench-1", SOCKS_ALT)["action"], "pack_complete");
    let v = s.weigh("bench-1", 500, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let sh = shipment(&s, v["waybill"].as_str().unwrap());
    assert_eq!(sh["orders"], json!(["T-1004", "T-1005"]), "{sh}");
}

#[test]
fn orders_api_lists_ready_orders_and_gives_lines() {
    let s = TestServer::start();
    sign_in(&s, "bench-1");
    ship_t1006(&s, "bench-1");
    let (st, v) = s.get("/api/v1/orders?status=ready");
    assert_eq!(st, 200, "{v}");
    let nos: Vec<&str> = v["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_no"].as_str().unwrap())
        .collect();
    for no in ["T-1001", "T-1002", "T-1004", "T-1005", "T-1007", "T-1008"] {
        assert!(nos.contains(&no), "{no} missing from {nos:?}");
    }
    assert!(
        !nos.contains(&"T-1003"),
        "held order listed as ready: {nos:?}"
    );
    assert!(
        !nos.contains(&"T-1006"),
        "packed order listed as ready: {nos:?}"
    );

    let (_, packed) = s.get("/api/v1/orders?status=packed");
    let packed = packed["orders"].as_array().unwrap();
    assert_eq!(packed.len(), 1);
    assert_eq!(packed[0]["order_no"], "T-1006");

    let o = order(&s, "T-1001");
    assert_eq!(o["status"], "ready");
    let lines = o["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{o}");
    let ts = lines
        .iter()
        .find(|l| l["sku"] == "TS-WH-L")
        .expect("TS-WH-L line");
    assert_eq!(ts["qty"], 2);
    assert_eq!(ts["unit_weight_g"], 180);
    let bc: Vec<&str> = ts["barcodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    assert!(bc.contains(&TSHIRT) && bc.contains(&TSHIRT_ALT), "{bc:?}");
    let sk = lines
        .iter()
        .find(|l| l["sku"] == "SK-3P")
        .expect("SK-3P line");
    assert_eq!(sk["qty"], 1);
    assert_eq!(sk["unit_weight_g"], 95);
    assert!(sk["barcodes"].as_array().unwrap().contains(&json!(SOCKS)));

    let (st, _) = s.get("/api/v1/orders/NO-SUCH-ORDER");
    assert_eq!(st, 404);
    let (st, _) = s.get("/api/v1/orders?status=bogus");
    assert_eq!(st, 400);
}

#[test]
fn reimporting_the_same_orders_changes_nothing() {
    let s = TestServer::start();
    let before = order(&s, "T-1001");
    let path = common::fixture("orders.csv");
    let out = s.cli_ok(&["import", "orders", path.to_str().unwrap()]);
    assert!(out.contains("0 new, 0 updated, 8 unchanged"), "{out}");
    assert_eq!(order(&s, "T-1001"), before);
    // The same through the API.
    let body = std::fs::read(&path).unwrap();
    let (st, v) = post_bytes(
        &s,
        "/api/v1/import/orders?filename=orders.csv&badge=B-MGR-01",
        &body,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["imported"]["added"], 0, "{v}");
    assert_eq!(v["imported"]["updated"], 0, "{v}");
    assert_eq!(v["imported"]["unchanged"], 8, "{v}");
}

const BAD_ORDERS: &str = "\
order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag
X-2001,smartstore,2026-11-23 09:00,홍길동,010-1234-0000,서울 중구 1,04524,TS-WH-L,1,,
X-2002,smartstore,2026-11-23 09:00,홍길동,010-1234-0000,서울 중구 1,04524,NOPE-SKU,1,,
X-2003,smartstore,2026-11-23 09:00,홍길동,010-1234-0000,서울 중구 1,04524,SK-3P,two,,
,smartstore,2026-11-23 09:00,홍길동,010-1234-0000,서울 중구 1,04524,SK-3P,1,,
X-2005,smartstore,not a date,홍길동,010-1234-0000,서울 중구 1,04524,SK-3P,1,,
";

/// (line, column) of each problem in `BAD_ORDERS`.
const BAD_PROBLEMS: &[(usize, &str)] = &[(3, "sku"), (4, "qty"), (5, "order_no"), (6, "paid_at")];

fn write_bad(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("bad.csv");
    std::fs::write(&p, BAD_ORDERS).unwrap();
    p
}

#[test]
fn a_bad_orders_file_is_refused_whole_through_the_cli() {
    let s = TestServer::start();
    let bad = write_bad(s.data());
    let out = s.cli(&["import", "orders", bad.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(!out.status.success(), "bad file imported: {}", stdout(&out));
    for (row, col) in BAD_PROBLEMS {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("bad.csv:{row}:")))
            .unwrap_or_else(|| panic!("no problem for line {row} in:\n{err}"));
        assert!(
            line.contains(&format!("`{col}`")),
            "line {row} names no column {col}: {line}"
        );
    }
    let (st, _) = s.get("/api/v1/orders/X-2001");
    assert_eq!(st, 404, "half imported");
}

#[test]
fn a_bad_orders_file_is_refused_whole_through_the_api() {
    let s = TestServer::start();
    let (st, v) = post_bytes(
        &s,
        "/api/v1/import/orders?filename=bad.csv&badge=B-MGR-01",
        BAD_ORDERS.as_bytes(),
    );
    assert_eq!(st, 422, "{v}");
    let problems = v["detail"]["problems"].as_array().expect("problems");
    assert!(!problems.is_empty(), "{v}");
    for (row, col) in BAD_PROBLEMS {
        assert!(
            problems
                .iter()
                .any(|p| p["row"] == *row && p["column"] == *col && p["file"] == "bad.csv"),
            "no problem at line {row} column {col}: {v}"
        );
    }
    let (st, _) = s.get("/api/v1/orders/X-2001");
    assert_eq!(st, 404, "half imported");
}

#[test]
fn api_import_needs_a_manager_badge() {
    let s = TestServer::start();
    let good = "\
order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag
X-3001,smartstore,2026-11-23 09:00,홍길동,010-1234-0000,서울 중구 1,04524,TS-WH-L,1,,
";
    let (st, v) = post_bytes(
        &s,
        "/api/v1/import/orders?filename=good.csv",
        good.as_bytes(),
    );
    assert_eq!(st, 403, "{v}");
    let (st, v) = post_bytes(
        &s,
        "/api/v1/import/orders?filename=good.csv&badge=B-PACK-01",
        good.as_bytes(),
    );
    assert_eq!(st, 403, "{v}");
    assert_eq!(s.get("/api/v1/orders/X-3001").0, 404);
    let (st, v) = post_bytes(
        &s,
        "/api/v1/import/orders?filename=good.csv&badge=B-MGR-01",
        good.as_bytes(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["imported"]["added"], 1, "{v}");
    assert_eq!(order(&s, "X-3001")["status"], "ready");
}

// ----- waybill CLI --------------------------------------------------------------------

#[test]
fn waybill_check_cli_reports_each_number() {
    let s = TestServer::start();
    let out = s.cli(&[
        "waybill",
        "check",
        "--courier",
        "lotte",
        "600012345671",
        "600012345672",
        "6000123",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("600012345671")
            && lines[0].contains("valid")
            && !lines[0].contains("invalid"),
        "{text}"
    );
    assert!(
        lines[1].starts_with("600012345672") && lines[1].contains("invalid"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("6000123") && lines[2].contains("invalid"),
        "{text}"
    );

    // 60001234568 mod 7 = 2.
    let out = s.cli(&[
        "waybill",
        "check",
        "--courier",
        "lotte",
        "600012345671",
        "600012345682",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 2);

    // A number this server used is reported as used.
    sign_in(&s, "bench-1");
    let wb = ship_t1006(&s, "bench-1");
    let out = s.cli(&["waybill", "check", "--courier", "lotte", &wb]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("used"), "{}", stdout(&out));
}

#[test]
fn a_courier_out_of_numbers_refuses_the_verdict_and_keeps_the_pack() {
    // One number left in the band: the first parcel takes it, the second cannot ship.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bench.toml");
    let text = std::fs::read_to_string(common::fixture("bench.toml")).unwrap();
    assert!(text.contains("last = 60001000999"));
    std::fs::write(
        &cfg,
        text.replace("last = 60001000999", "last = 60001000000"),
    )
    .unwrap();
    let s = TestServer::start_with(&cfg);
    sign_in(&s, "bench-1");
    for (order, grams) in [("T-1006", 190), ("T-1008", 190)] {
        assert_eq!(s.scan("bench-1", order)["action"], "order_opened");
        assert_eq!(s.scan("bench-1", "SKU-TS-WH-L")["action"], "pack_complete");
        let v = s.weigh("bench-1", grams, true);
        if order == "T-1006" {
            assert_eq!(v["action"], "shipped", "{v}");
            continue;
        }
        assert_eq!(v["verdict"], "refused", "{v}");
        assert_eq!(v["code"], "no_waybill", "{v}");
        assert!(v["message"].as_str().unwrap().contains("lotte"), "{v}");
    }
    // Nothing of the second parcel was recorded but the refusal: the pack waits for a number.
    let p = pack(&s, "bench-1");
    assert_eq!(p["status"], "weighing", "{p}");
    let o = order(&s, "T-1008");
    assert_eq!(o["status"], "packing", "{o}");
    assert!(o["waybill"].is_null(), "{o}");
    let refused = o["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(refused["reason"], "no_waybill", "{o}");
    assert_eq!(
        refused["kind"], "weight",
        "the refusal keeps the reading's kind: {o}"
    );
}

#[test]
fn uploads_are_taken_up_to_the_limit_and_a_larger_one_is_a_json_refusal() {
    let s = TestServer::start();
    // A 3 MB catalog (beyond axum's own 2 MB default) reaches the importer, which reads it.
    let mut big = String::from("sku,name,barcodes,unit_weight_g,location,cost\n");
    let mut n = 0;
    while big.len() < 3 << 20 {
        big.push_str(&format!(
            "BIG-{n:06},Big item {n},{},100,Z-{n},1000\n",
            990_000_000 + n
        ));
        n += 1;
    }
    let (code, v) = post_bytes(
        &s,
        "/api/v1/import/catalog?filename=big.csv&badge=B-MGR-01",
        big.as_bytes(),
    );
    assert_eq!(code, 200, "{v}");
    // Over the limit: refused before any handler, as JSON in the asked language.
    let huge = vec![b'x'; 33 << 20];
    let (code, v) = post_bytes(
        &s,
        "/api/v1/import/catalog?filename=huge.csv&badge=B-MGR-01&lang=ko",
        &huge,
    );
    assert_eq!(code, 413);
    assert_eq!(v["code"], "too_large", "{v}");
    assert!(v["message"].as_str().unwrap().contains("32MB"), "{v}");
}
