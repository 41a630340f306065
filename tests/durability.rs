//! Acknowledged = durable: a real server process is killed with SIGKILL while benches are
//! scanning and weighing, and every event it acknowledged must be there after a restart.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::TestServer;
use serde_json::{json, Value};

/// What the server acknowledged: an event id and what must be stored under it.
#[derive(Debug, Clone)]
enum Acked {
    Scan { code: String, reason: String },
    Weight { grams: i64 },
}

/// One bench client: alternates unknown-code scans (refused, but recorded) with unstable
/// scale readings until a request fails or `stop` is set. Returns what was acknowledged.
fn client(
    base: String,
    station: &str,
    thread_no: usize,
    stop: Arc<AtomicBool>,
) -> Vec<(i64, Acked)> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build();
    let mut acked = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let (path, body, what) = if n.is_multiple_of(4) {
            let grams = 100 + (n as i64 % 900);
            (
                format!("{base}/api/v1/stations/{station}/weight"),
                json!({ "grams": grams, "stable": false }),
                Acked::Weight { grams },
            )
        } else {
            let code = format!("X-{thread_no}-{n}");
            (
                format!("{base}/api/v1/stations/{station}/scan"),
                json!({ "code": code }),
                Acked::Scan {
                    code,
                    reason: "unknown_code".into(),
                },
            )
        };
        let v: Value = match agent.post(&path).send_json(body) {
            Ok(r) if r.status() == 200 => match r.into_json() {
                Ok(v) => v,
                // The body was cut off by the kill: not acknowledged.
                Err(_) => break,
            },
            // Refused by HTTP status or connection lost (the server was killed): not
            // acknowledged; after the kill nothing more will be.
            _ => break,
        };
        let Some(id) = v["event_id"].as_i64() else {
            panic!("answer without an event id: {v}");
        };
        match &what {
            Acked::Scan { .. } => {
                assert_eq!(v["verdict"], "refused", "{v}");
                assert_eq!(v["code"], "unknown_code", "{v}");
            }
            Acked::Weight { .. } => assert_eq!(v["action"], "reading_recorded", "{v}"),
        }
        acked.push((id, what));
    }
    acked
}

#[test]
fn every_acknowledged_event_survives_kill_9() {
    let mut s = TestServer::start();
    for st in ["bench-1", "bench-2"] {
        assert_eq!(s.scan(st, "B-PACK-01")["action"], "signed_in");
    }

    // A shipment made before the kill.
    assert_eq!(s.scan("bench-1", "T-1006")["action"], "order_opened");
    assert_eq!(
        s.scan("bench-1", "8801234567893")["action"],
        "pack_complete"
    );
    let shipped = s.weigh("bench-1", 190, true);
    assert_eq!(shipped["action"], "shipped", "{shipped}");
    let wb = shipped["waybill"].as_str().unwrap().to_string();
    let shipment_before = s.get(&format!("/api/v1/shipments/{wb}")).1;

    // Item counts accepted before the kill: one T-shirt on bench-1, one pair of socks on bench-2.
    assert_eq!(s.scan("bench-1", "T-1001")["action"], "order_opened");
    assert_eq!(s.scan("bench-1", "8801234567893")["scanned"], 1);
    assert_eq!(s.scan("bench-2", "T-1005")["action"], "order_opened");
    assert_eq!(s.scan("bench-2", "8801234567800")["scanned"], 1);
    let pack1_before = s.get("/api/v1/stations/bench-1").1["pack"].clone();
    let pack2_before = s.get("/api/v1/stations/bench-2").1["pack"].clone();

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let base = s.base.clone();
            let stop = stop.clone();
            let station = if t % 2 == 0 { "bench-1" } else { "bench-2" };
            thread::spawn(move || client(base, station, t, stop))
        })
        .collect();

    thread::sleep(Duration::from_millis(1500));
    assert!(
        workers.iter().all(|w| !w.is_finished()),
        "a client stopped before the kill"
    );
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<(i64, Acked)> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("client thread"))
        .collect();
    let elapsed = started.elapsed();
    println!(
        "{} events acknowledged in {elapsed:?} before the kill",
        acked.len()
    );

    s.restart();
    let (status, v) = s.get("/api/v1/events?after=0&limit=100000");
    assert_eq!(status, 200, "{v}");
    let stored: HashMap<i64, Value> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_i64().unwrap(), e.clone()))
        .collect();

    assert!(
        acked.len() >= 300,
        "only {} events acknowledged in {elapsed:?}: the test proves little",
        acked.len()
    );
    let mut ids: Vec<i64> = acked.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        acked.len(),
        "two answers carried the same event id"
    );

    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for (id, what) in &acked {
        let Some(e) = stored.get(id) else {
            missing.push(*id);
            continue;
        };
        let ok = match what {
            Acked::Scan { code, reason } => {
                e["kind"] == "scan"
                    && e["code"] == code.as_str()
                    && e["verdict"] == "refused"
                    && e["reason"] == reason.as_str()
            }
            Acked::Weight { grams } => {
                e["kind"] == "weight"
                    && e["detail"]["grams"] == *grams
                    && e["detail"]["stable"] == false
            }
        };
        if !ok {
            wrong.push(format!("{what:?} stored as {e}"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged events lost after kill -9: {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(20)]
    );
    assert!(
        wrong.is_empty(),
        "events stored differently: {:?}",
        &wrong[..wrong.len().min(10)]
    );

    // The packs and the shipment made before the kill are as they were.
    let pack1 = s.get("/api/v1/stations/bench-1").1["pack"].clone();
    let pack2 = s.get("/api/v1/stations/bench-2").1["pack"].clone();
    assert_eq!(pack1["scanned"], 1, "{pack1}");
    assert_eq!(pack1["orders"][0]["order_no"], "T-1001");
    assert_eq!(pack2["scanned"], 1, "{pack2}");
    assert_eq!(pack2["orders"][0]["order_no"], "T-1005");
    assert_eq!(pack1, pack1_before);
    assert_eq!(pack2, pack2_before);
    let (status, sh) = s.get(&format!("/api/v1/shipments/{wb}"));
    assert_eq!(status, 200, "shipment {wb} lost: {sh}");
    assert_eq!(sh["order_no"], "T-1006");
    assert_eq!(sh["measured_grams"], 190);
    for k in [
        "waybill",
        "courier",
        "packer",
        "packed_at",
        "expected_grams",
        "items",
    ] {
        assert_eq!(sh[k], shipment_before[k], "{k}");
    }
    assert_eq!(s.get("/api/v1/orders/T-1006").1["status"], "packed");

    // The benches carry on where they stopped: the packer is still signed in and counting.
    let v = s.scan("bench-1", "SKU-TS-WH-L");
    assert_eq!(v["scanned"], 2, "{v}");
    assert!(v["event_id"].as_i64().unwrap() > *ids.last().unwrap());
}
