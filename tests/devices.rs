//! The devices end to end: a real server process reads a scale simulator (CAS CI-200 frames)
//! and a scanner simulator through pseudo-terminals and prints to the TCP printer emulator.
//! Orders are packed with no weight posted over HTTP; every device is unplugged and plugged
//! back mid-flow; afterwards nothing is lost and nothing counted twice.

mod common;

use std::time::{Duration, Instant};

use common::TestServer;
use packbench::devices::printer::PrinterEmulator;
use packbench::devices::scale::{self, ScaleSim};
use packbench::devices::scanner::ScannerSim;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

fn view(srv: &TestServer) -> Value {
    let (status, v) = srv.get("/api/v1/stations/bench-1");
    assert_eq!(status, 200, "{v}");
    v
}

/// Polls the station until `ok` holds (up to 10 s); fails with what the station shows.
fn wait_for(srv: &TestServer, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = view(srv);
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; station: {:#}",
            json!({ "devices": v["device_detail"], "pack": v["pack"], "last": v["last"],
                    "print_failed": v["print_failed"] })
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn device(v: &Value, d: &str) -> String {
    v["devices"][d].as_str().unwrap_or("").to_string()
}

/// Types a code on the simulated scanner and waits until the station has answered it.
fn scan(srv: &TestServer, sim: &mut ScannerSim, code: &str) -> Value {
    let before = view(srv)["last"]["event_id"].as_i64().unwrap_or(0);
    sim.type_code(code).expect("type on the scanner");
    wait_for(srv, &format!("the verdict on {code}"), |v| {
        v["last"]["event_id"].as_i64().unwrap_or(0) > before
    })["last"]
        .clone()
}

fn scanned(v: &Value) -> i64 {
    v["pack"]["scanned"].as_i64().unwrap_or(-1)
}

fn events(srv: &TestServer, kind: &str) -> Vec<Value> {
    let (status, v) = srv.get("/api/v1/events?station=bench-1&limit=100000");
    assert_eq!(status, 200, "{v}");
    v["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packs_through_real_devices_and_survives_unplugging_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = scale::profile::find("cas-ci200", None).expect("cas profile");
    let scale = ScaleSim::start(&profile, dir.path().join("scale"), 0).expect("scale sim");
    let mut scanner = ScannerSim::new(dir.path().join("scanner")).expect("scanner sim");
    let printer = PrinterEmulator::start("127.0.0.1:0", None)
        .await
        .expect("printer emulator");
    let port = printer.addr().port();

    let fixture = std::fs::read_to_string(common::fixture("bench.toml")).expect("fixture");
    let config = fixture.replace(
        "id = \"bench-1\"\nprinter = \"emulator\"\nscale = \"api\"",
        &format!(
            "id = \"bench-1\"\nprinter = \"tcp://127.0.0.1:{port}\"\nscale = \"serial:{}?profile=cas-ci200\"\nscanner = \"serial:{}\"",
            scale.path().display(),
            scanner.path().display()
        ),
    );
    assert_ne!(config, fixture, "the fixture's bench-1 was rewritten");
    let config_path = dir.path().join("devices.toml");
    std::fs::write(&config_path, config).expect("write config");
    let srv = tokio::task::spawn_blocking(move || TestServer::start_with(&config_path))
        .await
        .unwrap();

    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        wait_for(&srv, "all three devices online", |v| {
            device(v, "scanner") == "online"
                && device(v, "scale") == "online"
                && device(v, "printer") == "online"
        });
        wait_for(&srv, "the scale's last frame on the panel", |v| {
            v["device_detail"]["scale"]["last_raw"]
                .as_str()
                .is_some_and(|r| !r.is_empty())
        });

        // Sign in and open an order on the serial scanner.
        assert_eq!(scan(&srv, &mut scanner, "B-PACK-01")["action"], "signed_in");
        assert_eq!(scan(&srv, &mut scanner, "T-1001")["action"], "order_opened");
        assert_eq!(
            scan(&srv, &mut scanner, "8801234567893")["action"],
            "item_counted"
        );

        // Unplug the scanner: offline within 2 s; plug it back: the next scan counts once.
        scanner.unplug().expect("unplug scanner");
        let t = Instant::now();
        wait_for(&srv, "the scanner offline", |v| {
            device(v, "scanner") == "offline"
        });
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "offline after {:?}",
            t.elapsed()
        );
        scanner.replug().expect("replug scanner");
        wait_for(&srv, "the scanner back", |v| {
            device(v, "scanner") == "online"
        });
        assert_eq!(
            scan(&srv, &mut scanner, "SKU-TS-WH-L")["action"],
            "item_counted"
        );
        assert_eq!(scanned(&view(&srv)), 2);

        // Unplug the scale before the parcel goes on it.
        scale.unplug();
        let t = Instant::now();
        wait_for(&srv, "the scale offline", |v| {
            device(v, "scale") == "offline"
        });
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "offline after {:?}",
            t.elapsed()
        );
        let last = scan(&srv, &mut scanner, "8801234567800");
        assert_eq!(last["action"], "pack_complete", "{last}");
        let expected = view(&srv)["pack"]["expected_grams"]
            .as_i64()
            .expect("expected");
        scale.replug().expect("replug scale");
        wait_for(&srv, "the scale back", |v| device(v, "scale") == "online");

        // The parcel goes on in motion, then settles: only the stable reading decides.
        scale.set_grams(expected + 400);
        scale.set_motion(true);
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            view(&srv)["pack"].is_object(),
            "a reading in motion decided nothing"
        );
        scale.set_grams(expected + 2);
        let v = wait_for(&srv, "the shipment", |v| v["last"]["action"] == "shipped");
        assert!(v["pack"].is_null());
        let shipped = events(&srv, "weight_check");
        assert_eq!(shipped.len(), 1, "one weight verdict: {shipped:#?}");
        assert_eq!(shipped[0]["detail"]["grams"].as_i64(), Some(expected + 2));
        let waybill = shipped[0]["waybill"].as_str().expect("waybill").to_string();
        let deadline = Instant::now() + WAIT;
        while printer.jobs().is_empty() {
            assert!(
                Instant::now() < deadline,
                "the label never reached the printer"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(printer.jobs().len(), 1);
        assert!(
            String::from_utf8_lossy(&printer.jobs()[0].bytes).contains(&waybill),
            "the printed job carries the waybill"
        );

        // The printer goes off: offline within 2 s; the next label fails, is shown, and is
        // printed when the printer is back, without packing again.
        scale.set_grams(0);
        drop(printer);
        let t = Instant::now();
        wait_for(&srv, "the printer offline", |v| {
            device(v, "printer") == "offline"
        });
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "offline after {:?}",
            t.elapsed()
        );
        assert_eq!(scan(&srv, &mut scanner, "T-1005")["action"], "order_opened");
        let pack = view(&srv)["pack"].clone();
        let lines = pack["orders"][0]["lines"]
            .as_array()
            .expect("lines")
            .clone();
        for line in &lines {
            let code = line["barcode"].as_str().expect("a barcode").to_string();
            for _ in 0..line["qty"].as_i64().unwrap() {
                scan(&srv, &mut scanner, &code);
                std::thread::sleep(Duration::from_millis(350));
            }
        }
        let expected = view(&srv)["pack"]["expected_grams"]
            .as_i64()
            .expect("weighing");
        scale.set_grams(expected);
        let v = wait_for(&srv, "the label that did not print", |v| {
            v["print_failed"].is_object()
        });
        let failed_waybill = v["print_failed"]["waybill"].as_str().unwrap().to_string();
        assert_eq!(device(&v, "printer"), "offline", "{:#}", v["device_detail"]);
        let printer = runtime.block_on(async {
            PrinterEmulator::start(&format!("127.0.0.1:{port}"), None)
                .await
                .expect("the printer comes back on its port")
        });
        wait_for(&srv, "the printer back", |v| {
            device(v, "printer") == "online"
        });
        let (status, o) = srv.post("/api/v1/stations/bench-1/retry-print", json!({}));
        assert_eq!(
            (status, o["action"].as_str()),
            (200, Some("printed")),
            "{o}"
        );
        assert!(view(&srv)["print_failed"].is_null());
        assert_eq!(printer.jobs().len(), 1);
        assert!(String::from_utf8_lossy(&printer.jobs()[0].bytes).contains(&failed_waybill));

        // Nothing lost, nothing twice: every scan typed was recorded once, two shipments.
        let scans: Vec<Value> = ["sign_in", "order", "item", "scan"]
            .iter()
            .flat_map(|k| events(&srv, k))
            .collect();
        assert_eq!(events(&srv, "item").len(), 5, "every item scanned once");
        let typed = 3
            + 3
            + lines
                .iter()
                .map(|l| l["qty"].as_i64().unwrap())
                .sum::<i64>();
        assert_eq!(scans.len() as i64, typed, "{scans:#?}");
        assert_eq!(events(&srv, "weight_check").len(), 2);
    })
    .await
    .unwrap();
}
