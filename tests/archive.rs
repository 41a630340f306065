//! The waybill archive through the real server and CLI: search by every field (our own
//! parcels and imported history), the shipment page and API, the history import all or
//! nothing, sealing by the command and by the server's timer, corrections of sealed days
//! (a status change, a void, a late import), the triggers that refuse edits, a record
//! tampered with in the SQLite file and named by `archive verify`, and a purge that keeps the
//! chain verifiable.

mod common;

use std::io::Write;

use common::{fixture, TestServer};
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

fn ship(s: &TestServer, order: &str) -> String {
    assert_eq!(s.scan("bench-1", PACKER)["verdict"], "accepted");
    assert_eq!(
        s.scan("bench-1", order)["action"],
        "order_opened",
        "{order}"
    );
    assert_eq!(s.scan("bench-1", TSHIRT)["verdict"], "accepted");
    let v = s.weigh("bench-1", 190, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

fn search(s: &TestServer, query: &str) -> Vec<String> {
    let (st, v) = s.get(&format!("/api/v1/archive/shipments?{query}"));
    assert_eq!(st, 200, "{query}: {v}");
    v["shipments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["waybill"].as_str().unwrap().to_string())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p.to_str().unwrap().to_string()
}

/// The warehouse's (Seoul) date `days` ago.
fn days_ago(days: i64) -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
    jiff::Timestamp::now()
        .to_zoned(tz)
        .date()
        .checked_sub(jiff::Span::new().days(days))
        .unwrap()
}

fn get_text(s: &TestServer, path: &str) -> (u16, String) {
    match ureq::get(&s.url(path)).call() {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap_or_default()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

const HEADER: &str = "waybill,courier,shipped_at,order_no,weight_g,size_class,postcode,status\n";

#[test]
fn every_shipment_is_found_by_each_field() {
    let s = TestServer::start();
    let a = ship(&s, "T-1006"); // 최하은, 010-6666-7777
    let b = ship(&s, "T-1008"); // 강서연, 010-1111-2222
    let old = days_ago(100);
    let file = write(
        s.data(),
        "history.csv",
        &format!(
            "{HEADER}\
             510000000017,cj,{old} 10:00,H-2001,1200,소,06236,shipped\n\
             510000000028,CJ대한통운,{old} 11:30,H-2002,800,극소,63166,lost\n\
             520000000039,hanjin,{old}T23:59:00+09:00,,3000,중,,returned\n"
        ),
    );
    let out = s.cli_ok(&["import", "shipments", &file]);
    assert!(out.contains('3'), "{out}");

    // Waybill: exact and by its beginning (dashes and spaces ignored).
    assert_eq!(search(&s, &format!("waybill={a}")), vec![a.clone()]);
    let spaced = format!("{}-{}", &a[..4], &a[4..]);
    assert_eq!(search(&s, &format!("waybill={spaced}")), vec![a.clone()]);
    assert_eq!(
        sorted(search(&s, "waybill=5100")),
        vec!["510000000017", "510000000028"]
    );
    // Order number, exact and partial.
    assert_eq!(search(&s, "order_no=T-1008"), vec![b.clone()]);
    assert_eq!(
        sorted(search(&s, "order_no=T-100")),
        sorted(vec![a.clone(), b.clone()])
    );
    assert_eq!(search(&s, "order_no=H-2002"), vec!["510000000028"]);
    // Recipient name, partial.
    assert_eq!(
        search(&s, &format!("name={}", enc("하은"))),
        vec![a.clone()]
    );
    assert_eq!(
        search(&s, &format!("name={}", enc("강서"))),
        vec![b.clone()]
    );
    // Phone: the last 4 digits as couriers quote them, or more.
    assert_eq!(search(&s, "phone=7777"), vec![a.clone()]);
    assert_eq!(search(&s, "phone=6666-7777"), vec![a.clone()]);
    assert_eq!(search(&s, "phone=2222"), vec![b.clone()]);
    assert!(search(&s, "phone=5555-7777").is_empty());
    let (st, v) = s.get("/api/v1/archive/shipments?phone=777");
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("phone_too_short")),
        "{v}"
    );
    // Local date range.
    let today = days_ago(0);
    assert_eq!(
        sorted(search(&s, &format!("from={today}&to={today}"))),
        sorted(vec![a.clone(), b.clone()])
    );
    assert_eq!(
        sorted(search(&s, &format!("from={old}&to={old}"))),
        vec!["510000000017", "510000000028", "520000000039"]
    );
    let (st, v) = s.get(&format!("/api/v1/archive/shipments?from={today}&to={old}"));
    assert_eq!((st, v["code"].as_str()), (400, Some("bad_range")), "{v}");
    // Courier.
    assert_eq!(
        sorted(search(&s, "courier=cj")),
        vec!["510000000017", "510000000028"]
    );
    assert_eq!(search(&s, "courier=hanjin"), vec!["520000000039"]);
    // Status, including one of ours voided.
    let (st, v) = s.post(
        &format!("/api/v1/shipments/{b}/void"),
        json!({ "badge": MANAGER, "reason": "label smudged" }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(search(&s, "status=void"), vec![b.clone()]);
    assert_eq!(search(&s, "status=lost"), vec!["510000000028"]);
    assert_eq!(search(&s, "status=returned"), vec!["520000000039"]);
    let (st, v) = s.get("/api/v1/archive/shipments?status=gone");
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("unknown_status")),
        "{v}"
    );
    // A manager changes a status; a packer may not.
    let path = format!("/api/v1/archive/shipments/{a}/status");
    let (st, v) = s.post(
        &path,
        json!({ "badge": PACKER, "status": "damaged", "reason": "x" }),
    );
    assert_eq!(st, 403, "{v}");
    let (st, v) = s.post(
        &path,
        json!({ "badge": MANAGER, "status": "damaged", "reason": "box crushed" }),
    );
    assert_eq!((st, v["verdict"].as_str()), (200, Some("accepted")), "{v}");
    assert_eq!(search(&s, "status=damaged"), vec![a.clone()]);
    // Imported or packed here; combined fields; paging.
    assert_eq!(
        sorted(search(&s, "imported=yes")),
        vec!["510000000017", "510000000028", "520000000039"]
    );
    assert_eq!(
        search(&s, "imported=yes&courier=cj&status=lost"),
        vec!["510000000028"]
    );
    let (_, v) = s.get("/api/v1/archive/shipments?per_page=2");
    assert_eq!(v["shipments"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["has_more"], true, "{v}");
    let (_, v) = s.get("/api/v1/archive/shipments?per_page=2&page=3");
    assert_eq!(v["shipments"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["has_more"], false, "{v}");

    // The shipment API carries the archive's facts; an imported one is marked as such.
    let (st, v) = s.get(&format!("/api/v1/shipments/{a}"));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["archive"]["imported"], false, "{v}");
    assert_eq!(v["archive"]["label_available"], true, "{v}");
    assert_eq!(v["archive"]["recipient_name"], "최하은", "{v}");
    assert_eq!(
        v["archive"]["postcode"], "21984",
        "the order's postcode: {v}"
    );
    let (_, v) = s.get("/api/v1/shipments/510000000028");
    assert_eq!(v["archive"]["imported"], true, "{v}");
    assert_eq!(v["archive"]["size_class"], "극소", "{v}");
    assert_eq!(v["archive"]["postcode"], "63166", "{v}");
    assert_eq!(v["archive"]["label_available"], false, "{v}");
    assert_eq!(v["measured_grams"], 800, "{v}");

    // The pages: linked from /manager, results, the shipment page with its label image.
    let (_, html) = get_text(&s, "/manager?lang=en");
    assert!(
        html.contains("href=\"/manager/archive?lang=en\""),
        "no archive link"
    );
    let (st, html) = get_text(&s, "/manager/archive?phone=7777&lang=en");
    assert_eq!(st, 200);
    assert!(html.contains(&format!("data-waybill=\"{a}\"")), "{html}");
    assert!(!html.contains(&format!("data-waybill=\"{b}\"")), "{html}");
    let (st, html) = get_text(&s, &format!("/manager/archive/{a}?lang=ko"));
    assert_eq!(st, 200);
    assert!(
        html.contains(&format!("/api/v1/shipments/{a}/label?format=png")),
        "{html}"
    );
    assert!(
        html.contains("최하은") && html.contains("010-****-7777"),
        "{html}"
    );
    assert!(
        html.contains("id=\"events\"") && html.contains("id=\"claims\""),
        "{html}"
    );
    let (_, html) = get_text(&s, "/manager/archive/510000000028?lang=zh");
    assert!(
        html.contains("id=\"no-label\"") && html.contains("H-2002"),
        "{html}"
    );
    let (st, _) = get_text(&s, "/manager/archive/999999999999");
    assert_eq!(st, 404);
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[test]
fn a_history_file_is_imported_all_or_nothing() {
    let s = TestServer::start();
    let day = days_ago(60);
    let bad = write(
        s.data(),
        "bad.csv",
        &format!(
            "{HEADER}\
             610000000011,cj,{day} 09:00,H-1,500,,,shipped\n\
             610000000011,cj,{day} 09:05,H-2,500,,,shipped\n\
             610000000022,dhl,{day} 09:10,H-3,500,,,shipped\n\
             610000000033,cj,last tuesday,H-4,1.5,,123,misplaced\n\
             610000000044,cj,{day} 09:20,H-5,500,,,shipped\n"
        ),
    );
    let out = s.cli(&["import", "shipments", &bad]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "bad.csv:3: column `waybill`",
        "bad.csv:4: column `courier`",
        "bad.csv:5: column `shipped_at`",
        "bad.csv:5: column `weight_g`",
        "bad.csv:5: column `postcode`",
        "bad.csv:5: column `status`",
    ] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    // Nothing of it was kept, not even the good lines.
    assert!(search(&s, "imported=yes").is_empty());

    let good = write(
        s.data(),
        "good.csv",
        &format!(
            "{HEADER}\
             610000000011,cj,{day} 09:00,H-1,500,,,shipped\n\
             610000000044,lotte,{day}T09:20:00+09:00,H-5,700,,,undeliverable\n"
        ),
    );
    s.cli_ok(&["import", "shipments", &good]);
    assert_eq!(
        sorted(search(&s, "imported=yes")),
        vec!["610000000011", "610000000044"]
    );
    // The same file again: every line is already in the archive.
    let out = s.cli(&["import", "shipments", &good]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "good.csv:2: column `waybill`: waybill `610000000011` is already in the archive"
        ) && err.contains("good.csv:3: column `waybill`"),
        "{err}"
    );

    // The same through the API, which wants a manager's badge.
    let body = format!("{HEADER}610000000055,cj,{day} 10:00,H-6,300,,,shipped\n");
    let post = |badge: &str| match ureq::post(&s.url("/api/v1/import/shipments?filename=up.csv"))
        .set("x-badge", badge)
        .send_bytes(body.as_bytes())
    {
        Ok(r) => (r.status(), r.into_json::<Value>().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_json::<Value>().unwrap()),
        Err(e) => panic!("{e}"),
    };
    let (st, v) = post(PACKER);
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("manager_required")),
        "{v}"
    );
    let (st, v) = post(MANAGER);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["imported"]["added"], 1, "{v}");
    let (st, v) = post(MANAGER);
    assert_eq!(
        (st, v["code"].as_str()),
        (422, Some("import_refused")),
        "{v}"
    );
    assert_eq!(v["detail"]["problems"][0]["row"], 2, "{v}");
}

/// A copy of the bench configuration keeping records for `years`.
fn config_with_retention(dir: &std::path::Path, years: i64) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(fixture("bench.toml")).unwrap();
    text.push_str(&format!("\n[archive]\nretention_years = {years}\n"));
    let p = dir.join(format!("retention-{years}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn verify(s: &TestServer) -> (bool, String) {
    let out = s.cli(&["archive", "verify"]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn days_are_sealed_corrected_verified_tampering_is_named_and_purges_keep_the_chain() {
    let cfg_dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_with(&config_with_retention(cfg_dir.path(), 0));
    let (d1, d2, d3) = (days_ago(40), days_ago(39), days_ago(20));
    let file = write(
        s.data(),
        "old.csv",
        &format!(
            "{HEADER}\
             710000000011,cj,{d1} 09:00,O-1,500,,,shipped\n\
             710000000022,cj,{d1} 18:00,O-2,600,,,shipped\n\
             710000000033,lotte,{d2} 09:00,O-3,700,,,shipped\n\
             710000000044,lotte,{d2} 23:59,O-4,800,,,shipped\n\
             710000000055,cj,{d3} 12:00,O-5,900,,,shipped\n"
        ),
    );
    s.cli_ok(&["import", "shipments", &file]);
    let ours = ship(&s, "T-1006");

    // The server seals what is due when it starts (and every hour after).
    s.restart();
    let due = 40 - 15 + 1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, v) = s.get("/api/v1/archive/status");
        if v["days_sealed"] == due {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not sealed by the server: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The command is idempotent.
    let out = s.cli_ok(&["archive", "seal"]);
    assert!(out.contains("Nothing to seal"), "{out}");
    let (ok, out) = verify(&s);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{due} days sealed, chain intact")),
        "{out}"
    );
    // Today's parcel is not sealed; an old one is, with its day.
    let (_, v) = s.get(&format!("/api/v1/shipments/{ours}"));
    assert!(v["archive"]["sealed"].is_null(), "{v}");
    let (_, v) = s.get("/api/v1/shipments/710000000033");
    assert_eq!(v["archive"]["sealed"]["day"], d2.to_string(), "{v}");

    // A sealed row cannot be edited in SQL while the triggers stand.
    let db = rusqlite::Connection::open(s.data().join("packbench.sqlite3")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let e = db
        .execute(
            "UPDATE shipments SET measured_g = 1 WHERE waybill = '710000000033'",
            [],
        )
        .unwrap_err();
    assert!(e.to_string().contains("archive_sealed"), "{e}");
    let e = db
        .execute("DELETE FROM shipments WHERE waybill = '710000000011'", [])
        .unwrap_err();
    assert!(e.to_string().contains("archive_sealed"), "{e}");

    // Changes to sealed days go in as corrections and the chain still verifies: a status
    // change, a void, and a late history line for a sealed day.
    let (st, v) = s.post(
        "/api/v1/archive/shipments/710000000011/status",
        json!({ "badge": MANAGER, "status": "lost", "reason": "courier reports loss" }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["correction"], 1, "{v}");
    let (st, v) = s.post(
        "/api/v1/shipments/710000000022/void",
        json!({ "badge": MANAGER, "reason": "never collected" }),
    );
    assert_eq!(st, 200, "{v}");
    let late = write(
        s.data(),
        "late.csv",
        &format!("{HEADER}710000000066,cj,{d1} 20:00,O-6,400,,,shipped\n"),
    );
    let out = s.cli_ok(&["import", "shipments", &late]);
    assert!(out.contains("(1 of them into sealed days"), "{out}");
    let (_, v) = s.get("/api/v1/shipments/710000000022");
    assert_eq!(v["status"], "void", "{v}");
    assert_eq!(v["archive"]["corrections"][0]["new_status"], "void", "{v}");
    let (ok, out) = verify(&s);
    assert!(ok, "after corrections: {out}");
    assert!(out.contains("3 corrections verified"), "{out}");
    let (_, html) = get_text(&s, "/manager/archive/710000000011?lang=en");
    assert!(html.contains("id=\"corrections\""), "{html}");

    // Tampering with a sealed record in the file (triggers dropped) is named by its day.
    db.execute_batch("DROP TRIGGER archive_sealed_shipment_update")
        .unwrap();
    db.execute(
        "UPDATE shipments SET measured_g = measured_g + 100 WHERE waybill = '710000000044'",
        [],
    )
    .unwrap();
    let (ok, out) = verify(&s);
    assert!(!ok, "{out}");
    assert!(out.contains(&d2.to_string()), "{out}");
    assert!(
        !out.contains(&d1.to_string()),
        "only the tampered day: {out}"
    );
    // Undone, it verifies again; a status edit bypassing the corrections is caught too.
    db.execute(
        "UPDATE shipments SET measured_g = measured_g - 100 WHERE waybill = '710000000044'",
        [],
    )
    .unwrap();
    assert!(verify(&s).0);
    db.execute(
        "UPDATE shipments SET status = 'shipped' WHERE waybill = '710000000011'",
        [],
    )
    .unwrap();
    let (ok, out) = verify(&s);
    assert!(!ok && out.contains(&d1.to_string()), "{out}");
    db.execute(
        "UPDATE shipments SET status = 'lost' WHERE waybill = '710000000011'",
        [],
    )
    .unwrap();
    // Put the guard back as the migration made it.
    let migration = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/storage/migrations/0009_archive.sql"),
    )
    .unwrap();
    let start = migration
        .find("CREATE TRIGGER archive_sealed_shipment_update")
        .unwrap();
    let end = start + migration[start..].find("END;").unwrap() + 4;
    db.execute_batch(&migration[start..end]).unwrap();
    assert!(verify(&s).0);
    drop(db);

    // Purging: refused inside the retention period, refused for days not sealed, then done.
    let five = config_with_retention(cfg_dir.path(), 5);
    let out = std::process::Command::new(common::BIN)
        .arg("--data")
        .arg(s.data())
        .arg("--config")
        .arg(&five)
        .args([
            "archive",
            "purge",
            "--before",
            &d2.to_string(),
            "--badge",
            MANAGER,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("kept 5 years"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = s.cli(&[
        "archive",
        "purge",
        "--before",
        &days_ago(3).to_string(),
        "--badge",
        MANAGER,
    ]);
    assert!(
        !out.status.success(),
        "days not sealed yet may not be purged"
    );
    let out = s.cli(&[
        "archive",
        "purge",
        "--before",
        &d2.to_string(),
        "--badge",
        PACKER,
    ]);
    assert!(!out.status.success(), "a packer may not purge");
    let out = s.cli_ok(&[
        "archive",
        "purge",
        "--before",
        &d2.to_string(),
        "--badge",
        MANAGER,
    ]);
    assert!(out.contains("3 shipments"), "{out}");
    assert!(search(&s, &format!("from={d1}&to={d1}")).is_empty());
    assert_eq!(
        sorted(search(&s, &format!("from={d2}&to={d2}"))),
        vec!["710000000033", "710000000044"]
    );
    let (ok, out) = verify(&s);
    assert!(ok, "after the purge: {out}");
    assert!(out.contains("1 of them purged"), "{out}");
    // Sealing goes on after a purge.
    let out = s.cli_ok(&["archive", "seal"]);
    assert!(out.contains("Nothing to seal"), "{out}");
    s.kill9();
}

#[test]
fn the_shipment_page_shows_return_photos_and_claims() {
    let s = TestServer::start();
    let wb = ship(&s, "T-1006");
    let label = ureq::get(&s.url(&format!("/api/v1/shipments/{wb}/label?format=png")))
        .call()
        .unwrap();
    let mut png = Vec::new();
    std::io::Read::read_to_end(&mut label.into_reader(), &mut png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let (st, v) = s.post("/api/v1/returns", json!({ "badge": PACKER, "code": wb }));
    assert_eq!(st, 200, "{v}");
    let id = v["return"]["id"].as_i64().unwrap();
    let r: Value = ureq::post(&s.url(&format!("/api/v1/returns/{id}/photos?badge={PACKER}")))
        .send_bytes(&png)
        .unwrap()
        .into_json()
        .unwrap();
    let sha = r["photo"].as_str().unwrap().to_string();
    let (st, v) = s.post(
        &format!("/api/v1/returns/{id}/lines"),
        json!({ "badge": PACKER, "order_no": "T-1006", "sku": "TS-WH-L", "condition": "damaged",
                "reason": "box crushed", "fault": "courier", "photos": [sha] }),
    );
    assert_eq!(st, 200, "{v}");

    let (_, v) = s.get(&format!("/api/v1/shipments/{wb}"));
    let a = &v["archive"];
    assert_eq!(a["photos"][0]["sha256"], sha.as_str(), "{v}");
    assert_eq!(a["claim_drafts"][0]["reason"], "box crushed", "{v}");
    assert!(a["claims"].is_null() || a["claims"].is_array(), "{v}");
    let (_, html) = get_text(&s, &format!("/manager/archive/{wb}?lang=en"));
    assert!(html.contains(&format!("/api/v1/photos/{sha}")), "{html}");
    assert!(
        html.contains("class=\"claim-draft\"") && html.contains("box crushed"),
        "{html}"
    );
}
