//! The monthly stocktake over HTTP against the real server, on a stocktake calendar that
//! runs from a pretended instant (`[stocktake] pretend_now`): a manager opens the cycle early
//! for two zones, two counters count blind, picking goes on during the window, a location
//! beyond the threshold is recounted by the other counter, part of the variances is approved
//! and posted, the cycle closes and locks, and a late correction is a normal adjustment.
//! The ledger after posting must equal the approved counts plus the movements after each
//! count, and unapproved lines must leave their stock as it was. Also: the cycle opens
//! itself at 00:00 local on the 28th (timer), and a restart after the window opens the
//! missed cycle, overdue.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};

use common::{fixture, TestServer};
use serde_json::{json, Value};

const MANAGER: &str = "B-MGR-01";
const C1: &str = "B-COUNT-01";
const C2: &str = "B-COUNT-02";
const TSHIRT: &str = "8801234567893";
const SOCKS: &str = "8801234567800";
const MUG: &str = "8801234567817";

/// The fixture configuration with two counters and the stocktake calendar pretending to be
/// at `now`; written next to the test's data.
fn config(dir: &Path, now: &str) -> PathBuf {
    let base = std::fs::read_to_string(fixture("bench.toml")).unwrap();
    let text = format!(
        "{base}\n[[operators]]\nbadge = \"{C1}\"\nname = \"이실사\"\nrole = \"packer\"\n\n\
         [[operators]]\nbadge = \"{C2}\"\nname = \"최실사\"\nrole = \"packer\"\n\n\
         [stocktake]\nreminder_days = 3\nrecount_units = 2\nrecount_percent = 10.0\nrecount_value = 50000\n\
         pretend_now = \"{now}\"\n"
    );
    let p = dir.join("stocktake.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn start(now: &str) -> (TestServer, tempfile::TempDir) {
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = config(cfg_dir.path(), now);
    (TestServer::start_with(&cfg), cfg_dir)
}

fn ok(s: &TestServer, path: &str, body: Value) -> Value {
    let (st, v) = s.post(path, body);
    assert_eq!(st, 200, "POST {path}: {v}");
    assert_eq!(v["verdict"], "accepted", "POST {path}: {v}");
    v
}

fn refused(s: &TestServer, path: &str, body: Value, status: u16, code: &str) -> Value {
    let (st, v) = s.post(path, body);
    assert_eq!(
        (st, v["code"].as_str().unwrap_or("")),
        (status, code),
        "POST {path}: {v}"
    );
    assert_eq!(v["verdict"], "refused", "{v}");
    assert!(!v["message"].as_str().unwrap_or("").is_empty(), "{v}");
    v
}

fn get_bytes(s: &TestServer, path: &str) -> (u16, Vec<u8>) {
    let resp = match ureq::get(&s.url(path)).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = resp.status();
    let mut body = Vec::new();
    resp.into_reader().read_to_end(&mut body).unwrap();
    (status, body)
}

fn get_text(s: &TestServer, path: &str) -> String {
    let (st, b) = get_bytes(s, path);
    assert_eq!(st, 200, "GET {path}");
    String::from_utf8(b).unwrap()
}

fn on_hand(s: &TestServer, bin: &str, sku: &str) -> i64 {
    let (_, v) = s.get(&format!("/api/v1/stock/bin/{bin}"));
    v["contents"][sku].as_i64().unwrap_or(0)
}

/// A pick during the window: `qty` units from `bin` to staging (a transfer by a packer).
fn pick(s: &TestServer, sku: &str, bin: &str, qty: i64) {
    let (st, v) = s.post(
        "/api/v1/stock/transfer",
        json!({ "badge": "B-PACK-01", "sku": sku, "from": bin, "to": "STAGING", "qty": qty, "reason": "picking" }),
    );
    assert_eq!(st, 200, "pick: {v}");
}

fn setup_stock(s: &TestServer) {
    let (st, v) = s.post(
        "/api/v1/bins",
        json!({ "badge": MANAGER, "bins": [
            { "code": "A-01-01", "zone": "A", "walk_seq": 1 },
            { "code": "A-01-02", "zone": "A", "walk_seq": 2 },
            { "code": "B-01-01", "zone": "B", "walk_seq": 3 },
            { "code": "C-01-01", "zone": "C", "walk_seq": 4 },
        ]}),
    );
    assert_eq!(st, 200, "{v}");
    let csv = "sku,bin,qty\nTS-WH-L,A-01-01,20\nSK-3P,A-01-01,10\nMUG-01,A-01-02,5\nSK-3P,B-01-01,30\nCN-TEA,C-01-01,4\n";
    let r = ureq::post(&s.url("/api/v1/stock/import?filename=opening.csv"))
        .set("x-badge", MANAGER)
        .send_string(csv)
        .expect("import opening stock");
    assert_eq!(r.status(), 200);
}

/// Scans at a task as a counter; returns the answer.
fn scan(s: &TestServer, task: i64, badge: &str, code: &str, qty: Option<i64>) -> Value {
    let mut body = json!({ "badge": badge, "code": code });
    if let Some(q) = qty {
        body["qty"] = json!(q);
    }
    ok(
        s,
        &format!("/api/v1/stocktake/tasks/{task}/scan?lang=en"),
        body,
    )
}

/// Nothing a counter is answered carries the book quantity.
fn assert_blind(v: &Value) {
    let text = v.to_string();
    assert!(
        !text.contains("\"book\""),
        "a counter saw a book quantity: {text}"
    );
}

fn line<'a>(report: &'a Value, bin: &str, sku: &str) -> &'a Value {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["bin"] == bin && l["sku"] == sku)
        .unwrap_or_else(|| panic!("no line {bin} {sku} in {report}"))
}

/// The units that moved at `bin` for `sku` after ledger entry `snapshot`, leaving out the
/// stocktake's own adjustments.
fn moved_after(s: &TestServer, bin: &str, sku: &str, snapshot: i64, cycle: &str) -> i64 {
    let (_, v) = s.get(&format!(
        "/api/v1/stock/entries?bin={bin}&sku={sku}&limit=5000"
    ));
    v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"].as_i64().unwrap() > snapshot && e["reference"] != cycle)
        .map(|e| e["qty"].as_i64().unwrap())
        .sum()
}

#[test]
fn a_whole_cycle_with_two_counters_picking_a_recount_a_partial_approval_and_the_lock() {
    // The 26th, two days before the window: the reminder, and the manager may open early.
    let (s, _cfg) = start("2026-11-26T10:00:00+09:00");
    setup_stock(&s);

    let (_, status) = s.get("/api/v1/stocktake/status?lang=en");
    assert_eq!(status["alert"]["kind"], "reminder", "{status}");
    assert_eq!(status["alert"]["days"], 2, "{status}");
    assert_eq!(status["openable"]["opens"], "2026-11-28", "{status}");
    let (_, day) = s.get("/api/v1/day?lang=en");
    assert_eq!(
        day["stocktake"]["alert"]["kind"], "reminder",
        "{}",
        day["stocktake"]
    );
    let manager_page = get_text(&s, "/manager?lang=en");
    assert!(
        manager_page.contains("data-kind=\"reminder\""),
        "no reminder on /manager"
    );

    // The window API and the CLI.
    let (_, w) = s.get("/api/v1/stocktake/window?date=2028-02-03");
    assert_eq!(
        w,
        json!({"opens": "2028-02-28", "closes": "2028-02-29", "time_zone": "Asia/Seoul"})
    );
    let out = s.cli_ok(&["stocktake", "window", "--date", "2026-02-10", "--json"]);
    assert_eq!(
        out.trim(),
        r#"{"opens":"2026-02-28","closes":"2026-02-28","time_zone":"Asia/Seoul"}"#
    );

    // Opening needs a manager; the manager opens zones A and B (C stays out).
    refused(
        &s,
        "/api/v1/stocktake/cycles?lang=en",
        json!({ "badge": C1, "zones": ["A"] }),
        403,
        "manager_required",
    );
    refused(
        &s,
        "/api/v1/stocktake/cycles?lang=en",
        json!({ "badge": MANAGER, "zones": ["Q"] }),
        422,
        "unknown_zone",
    );
    let o = ok(
        &s,
        "/api/v1/stocktake/cycles?lang=en",
        json!({ "badge": MANAGER, "zones": ["A", "B"] }),
    );
    assert_eq!(
        (o["cycle"].as_str(), o["tasks"].as_i64()),
        (Some("ST-2026-11"), Some(3)),
        "{o}"
    );
    refused(
        &s,
        "/api/v1/stocktake/cycles?lang=en",
        json!({ "badge": MANAGER }),
        409,
        "cycle_exists",
    );
    let (_, cycle) = s.get("/api/v1/stocktake/cycles/2026-11");
    let bins: Vec<&str> = cycle["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["bin"].as_str().unwrap())
        .collect();
    assert_eq!(bins, ["A-01-01", "A-01-02", "B-01-01"]);
    assert!(get_text(&s, "/manager/day?lang=en").contains("data-kind=\"open\""));

    // Counter 1 claims A-01-01 by scanning its label, counts 20 T-shirts (one scan, then a
    // typed 19), 9 socks (typed) and an unknown code.
    let c = ok(
        &s,
        "/api/v1/stocktake/claim?lang=en",
        json!({ "badge": C1, "code": "A-01-01" }),
    );
    assert_blind(&c);
    let a1 = c["task"]["id"].as_i64().unwrap();
    assert_eq!(c["task"]["bin_confirmed"], true);
    scan(&s, a1, C1, TSHIRT, None);
    scan(&s, a1, C1, TSHIRT, Some(19));
    scan(&s, a1, C1, SOCKS, Some(9));
    let v = scan(&s, a1, C1, "LOOSE-THING-7", None);
    assert_eq!(v["action"], "found", "{v}");
    assert_blind(&v);
    // Another location's label while counting is refused; units never go below zero.
    refused(
        &s,
        &format!("/api/v1/stocktake/tasks/{a1}/scan?lang=en"),
        json!({ "badge": C1, "code": "B-01-01" }),
        409,
        "other_location",
    );
    refused(
        &s,
        &format!("/api/v1/stocktake/tasks/{a1}/scan?lang=en"),
        json!({ "badge": C1, "code": SOCKS, "qty": -10 }),
        409,
        "below_zero",
    );
    // Somebody else cannot scan into C1's task, nor read it.
    refused(
        &s,
        &format!("/api/v1/stocktake/tasks/{a1}/scan?lang=en"),
        json!({ "badge": C2, "code": SOCKS }),
        403,
        "not_your_task",
    );
    let (st, _) = s.get(&format!("/api/v1/stocktake/tasks/{a1}?badge={C2}"));
    assert_eq!(st, 404);
    let (_, mine) = s.get(&format!("/api/v1/stocktake/tasks/{a1}?badge={C1}"));
    assert_blind(&mine);
    assert_eq!(mine["units"], 29, "{mine}");
    // Scanning the label again submits: socks -1 is within every threshold.
    let v = scan(&s, a1, C1, "A-01-01", None);
    assert_eq!(v["action"], "submitted", "{v}");
    // Picking goes on: 2 T-shirts leave A-01-01 after its count.
    pick(&s, "TS-WH-L", "A-01-01", 2);

    // A-01-02: counter 1 counts 2 mugs of 5 (one is really missing, and he missed two):
    // beyond the threshold, so it goes back for a recount.
    let c = ok(
        &s,
        "/api/v1/stocktake/claim?lang=en",
        json!({ "badge": C1, "code": "A-01-02" }),
    );
    let a2 = c["task"]["id"].as_i64().unwrap();
    scan(&s, a2, C1, MUG, None);
    scan(&s, a2, C1, MUG, None);
    let v = ok(
        &s,
        &format!("/api/v1/stocktake/tasks/{a2}/submit?lang=en"),
        json!({ "badge": C1 }),
    );
    assert_eq!(v["action"], "recount_needed", "{v}");
    refused(
        &s,
        &format!("/api/v1/stocktake/tasks/{a2}/claim?lang=en"),
        json!({ "badge": C1 }),
        409,
        "same_counter",
    );
    let (_, report) = s.get("/api/v1/stocktake/cycles/2026-11/report");
    let first = line(&report, "A-01-02", "MUG-01");
    assert_eq!(
        (first["status"].as_str(), first["counted"].as_i64()),
        (Some("recount"), Some(2)),
        "{first}"
    );
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/approve?lang=en",
        json!({ "badge": MANAGER, "lines": [first["id"]] }),
        409,
        "lines_not_pending",
    );

    // A mug is picked before the recount; counter 2 then counts the 3 that are there.
    pick(&s, "MUG-01", "A-01-02", 1);
    let c = ok(
        &s,
        &format!("/api/v1/stocktake/tasks/{a2}/claim?lang=en"),
        json!({ "badge": C2 }),
    );
    assert_blind(&c);
    assert_eq!(c["task"]["units"], 0, "the second count starts blind: {c}");
    scan(&s, a2, C2, "A-01-02", None);
    scan(&s, a2, C2, MUG, Some(3));
    let v = ok(
        &s,
        &format!("/api/v1/stocktake/tasks/{a2}/submit?lang=en"),
        json!({ "badge": C2 }),
    );
    assert_eq!(v["action"], "submitted", "the second count is final: {v}");
    // And one more leaves after the recount.
    pick(&s, "MUG-01", "A-01-02", 1);

    // B-01-01: counter 2 counts 28 socks of 30 (claimed from the list, label first).
    let b1 = cycle["tasks"][2]["id"].as_i64().unwrap();
    ok(
        &s,
        &format!("/api/v1/stocktake/tasks/{b1}/claim?lang=en"),
        json!({ "badge": C2 }),
    );
    refused(
        &s,
        &format!("/api/v1/stocktake/tasks/{b1}/scan?lang=en"),
        json!({ "badge": C2, "code": SOCKS }),
        409,
        "scan_location_first",
    );
    scan(&s, b1, C2, "B-01-01", None);
    scan(&s, b1, C2, SOCKS, Some(28));
    ok(
        &s,
        &format!("/api/v1/stocktake/tasks/{b1}/submit?lang=en"),
        json!({ "badge": C2 }),
    );

    // The manager's report: both counts of the recounted location, values at cost.
    let (_, report) = s.get("/api/v1/stocktake/cycles/2026-11/report?all=1");
    let mug = line(&report, "A-01-02", "MUG-01");
    assert_eq!(mug["first_counted"], 2, "{mug}");
    assert_eq!(mug["counted"], 3, "{mug}");
    assert_eq!(mug["book"], 4, "the ledger as of the recount: {mug}");
    assert_eq!(mug["variance"], -1);
    assert_eq!(mug["value"], -3200);
    assert_eq!(
        (mug["first_counter"].as_str(), mug["counter"].as_str()),
        (Some(C1), Some(C2))
    );
    let socks_a = line(&report, "A-01-01", "SK-3P");
    assert_eq!(
        (socks_a["book"].as_i64(), socks_a["variance"].as_i64()),
        (Some(10), Some(-1))
    );
    let ts = line(&report, "A-01-01", "TS-WH-L");
    assert_eq!(
        (ts["book"].as_i64(), ts["variance"].as_i64()),
        (Some(20), Some(0))
    );
    let unknown = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "LOOSE-THING-7")
        .expect("the unknown code is listed");
    assert_eq!(unknown["status"], "unknown");
    assert_eq!(report["totals"]["loss_units"], -4, "{}", report["totals"]);
    assert_eq!(report["totals"]["loss_value"], -2100 - 3200 - 2 * 2100);
    assert_eq!(report["counters"].as_array().unwrap().len(), 2);

    // Partial approval: the A lines, by id; B-01-01 stays pending.
    let ids: Vec<Value> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["bin"].as_str().unwrap().starts_with("A-") && l["status"] == "pending")
        .map(|l| l["id"].clone())
        .collect();
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/approve?lang=en",
        json!({ "badge": C1, "lines": ids }),
        403,
        "manager_required",
    );
    let a = ok(
        &s,
        "/api/v1/stocktake/cycles/2026-11/approve?lang=en",
        json!({ "badge": MANAGER, "lines": ids }),
    );
    assert_eq!(a["approved"]["lines"], 3, "{a}");
    assert_eq!(
        a["approved"]["entries"], 2,
        "only lines with a variance post: {a}"
    );

    // The ledger equals the approved counts plus the movements after each count.
    let (_, report) = s.get("/api/v1/stocktake/cycles/2026-11/report?all=1");
    for l in report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["status"] == "approved")
    {
        let (bin, sku) = (l["bin"].as_str().unwrap(), l["sku"].as_str().unwrap());
        let after = moved_after(&s, bin, sku, l["snapshot"].as_i64().unwrap(), "ST-2026-11");
        assert_eq!(
            on_hand(&s, bin, sku),
            l["counted"].as_i64().unwrap() + after,
            "{bin} {sku}: counted {} + moved after {after}",
            l["counted"]
        );
    }
    assert_eq!(
        on_hand(&s, "A-01-01", "TS-WH-L"),
        18,
        "20 counted, 2 picked after"
    );
    assert_eq!(on_hand(&s, "A-01-01", "SK-3P"), 9);
    assert_eq!(
        on_hand(&s, "A-01-02", "MUG-01"),
        2,
        "3 counted, 1 picked after"
    );
    assert_eq!(on_hand(&s, "B-01-01", "SK-3P"), 30, "unapproved: unchanged");
    assert_eq!(
        on_hand(&s, "C-01-01", "CN-TEA"),
        4,
        "out of scope: unchanged"
    );
    let (_, check) = s.get("/api/v1/stock/check");
    assert_eq!(check["ok"], true, "{check}");
    // The adjustments are dated at their counts and refer to the cycle.
    let (_, entries) = s.get("/api/v1/stock/entries?ref=ST-2026-11");
    let entries = entries["entries"].as_array().unwrap().clone();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e["kind"], "adjustment");
        let l = line(
            &report,
            e["bin"].as_str().unwrap(),
            e["sku"].as_str().unwrap(),
        );
        assert_eq!(e["at"], l["counted_at"], "{e}");
        assert!(e["at"].as_str().unwrap().starts_with("2026-11-26"), "{e}");
    }
    // Approving the same lines again is refused.
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/approve?lang=en",
        json!({ "badge": MANAGER, "lines": [ids[0]] }),
        409,
        "lines_not_pending",
    );

    // Closing with a line unapproved needs a reason; then the cycle is locked.
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/close?lang=en",
        json!({ "badge": MANAGER }),
        422,
        "reason_required",
    );
    let o = ok(
        &s,
        "/api/v1/stocktake/cycles/2026-11/close?lang=en",
        json!({ "badge": MANAGER, "reason": "B-01-01 to be checked with the supplier" }),
    );
    assert_eq!(o["unapproved"], 1, "{o}");
    refused(
        &s,
        &format!("/api/v1/stocktake/tasks/{b1}/claim?lang=en"),
        json!({ "badge": C1 }),
        409,
        "cycle_closed",
    );
    refused(
        &s,
        "/api/v1/stocktake/claim?lang=en",
        json!({ "badge": C1, "code": "A-01-01", "cycle": "2026-11" }),
        409,
        "cycle_closed",
    );
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/approve?lang=en",
        json!({ "badge": MANAGER, "all": true }),
        409,
        "cycle_closed",
    );
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/close?lang=en",
        json!({ "badge": MANAGER, "reason": "again" }),
        409,
        "cycle_closed",
    );
    assert_eq!(on_hand(&s, "B-01-01", "SK-3P"), 30);

    // The archived report: PDF and XLSX.
    let (st, pdf) = get_bytes(&s, "/api/v1/stocktake/cycles/2026-11/report.pdf?lang=ko");
    assert_eq!(st, 200);
    assert!(pdf.starts_with(b"%PDF"), "not a PDF");
    let (st, xlsx) = get_bytes(&s, "/api/v1/stocktake/cycles/2026-11/report.xlsx?lang=en");
    assert_eq!(st, 200);
    {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("XLSX");
        let sheet = wb.sheet_names()[0].clone();
        let range = wb.worksheet_range(&sheet).unwrap();
        let rows: Vec<Vec<String>> = range
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        assert!(rows.len() >= 5, "{rows:?}");
        assert!(
            rows.iter()
                .any(|r| r[0] == "A-01-02" && r[2] == "MUG-01" && r[9] == "-1"),
            "{rows:?}"
        );
    }

    // A late correction is a normal adjustment with a reason.
    refused(
        &s,
        "/api/v1/stocktake/cycles/2026-11/corrections?lang=en",
        json!({ "badge": MANAGER, "sku": "SK-3P", "bin": "B-01-01", "qty": -2, "reason": "" }),
        422,
        "correction_reason_required",
    );
    ok(
        &s,
        "/api/v1/stocktake/cycles/2026-11/corrections?lang=en",
        json!({ "badge": MANAGER, "sku": "SK-3P", "bin": "B-01-01", "qty": -2, "reason": "two pairs found damaged after closing" }),
    );
    assert_eq!(on_hand(&s, "B-01-01", "SK-3P"), 28);

    // History and the chart.
    let (_, hist) = s.get("/api/v1/stocktake/cycles");
    let h = &hist["cycles"][0];
    assert_eq!(
        (h["number"].as_str(), h["status"].as_str()),
        (Some("ST-2026-11"), Some("closed")),
        "{hist}"
    );
    assert_eq!(h["totals"]["approved_loss_value"], -2100 - 3200, "{h}");
    let svg = get_text(&s, "/manager/stocktake/shrinkage.svg");
    assert!(svg.starts_with("<svg") && svg.contains("2026-11"), "{svg}");
    let page = get_text(&s, "/manager/stocktake?lang=ko");
    assert!(page.contains("ST-2026-11") && page.contains("shrinkage.svg"));
    let (_, status) = s.get("/api/v1/stocktake/status");
    assert_eq!(
        status["alert"]["kind"], "none",
        "closed: nothing to remind: {status}"
    );
}

#[test]
fn the_cycle_opens_itself_at_midnight_on_the_28th_and_a_restart_never_misses_one() {
    // Seconds before 00:00 local on the 28th (UTC is still the 27th at 15:00).
    let (mut s, cfg) = start("2026-11-27T23:59:56+09:00");
    setup_stock(&s);
    let (_, st) = s.get("/api/v1/stocktake/status");
    assert_eq!(st["alert"]["kind"], "reminder", "{st}");
    assert!(st["open_cycles"].as_array().unwrap().is_empty());
    // The timer opens it at midnight, for every bin (no zones configured).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(12);
    loop {
        let (_, events) = s.get("/api/v1/events?limit=500");
        let opened = events["events"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["kind"] == "stocktake_open");
        if opened {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cycle did not open itself"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (_, cycle) = s.get("/api/v1/stocktake/cycles/2026-11");
    assert_eq!(cycle["cycle"]["opened_by"], "system", "{cycle}");
    assert_eq!(
        cycle["tasks"].as_array().unwrap().len(),
        4,
        "every bin but staging: {cycle}"
    );

    // The server is down over the end of the window and comes back on December 2nd: the
    // November cycle is overdue everywhere a manager looks.
    config(cfg.path(), "2026-12-02T09:00:00+09:00");
    s.restart();
    let (_, st) = s.get("/api/v1/stocktake/status?lang=en");
    assert_eq!(st["alert"]["kind"], "overdue", "{st}");
    assert!(
        st["alert"]["message"]
            .as_str()
            .unwrap()
            .contains("ST-2026-11"),
        "{st}"
    );
    for page in [
        "/manager?lang=en",
        "/manager/day?lang=en",
        "/manager/stocktake?lang=en",
    ] {
        assert!(
            get_text(&s, page).contains("data-kind=\"overdue\""),
            "{page} shows no overdue banner"
        );
    }
    let (_, day) = s.get("/api/v1/day");
    assert_eq!(day["stocktake"]["alert"]["kind"], "overdue");
}

#[test]
fn a_server_that_was_off_on_the_28th_opens_the_missed_cycle_when_it_comes_back() {
    let (mut s, cfg) = start("2026-11-20T09:00:00+09:00");
    setup_stock(&s);
    let (_, st) = s.get("/api/v1/stocktake/status");
    assert_eq!(st["alert"]["kind"], "none", "{st}");
    config(cfg.path(), "2026-11-29T09:00:00+09:00");
    s.restart();
    let (_, hist) = s.get("/api/v1/stocktake/cycles");
    let cycles = hist["cycles"].as_array().unwrap();
    assert_eq!(cycles.len(), 1, "{hist}");
    assert_eq!(
        (cycles[0]["month"].as_str(), cycles[0]["opened_by"].as_str()),
        (Some("2026-11"), Some("system"))
    );
    // Not openable by hand any more, and early opening before the reminder is refused.
    refused(
        &s,
        "/api/v1/stocktake/cycles?lang=en",
        json!({ "badge": MANAGER }),
        409,
        "cycle_exists",
    );
}
