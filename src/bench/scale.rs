//! `packbench bench --scale`: how long from a stable scale frame reaching the server's
//! serial port to the verdict leaving the server.
//!
//! The benchmark owns a pseudo-terminal pair and plays a CAS CI-200 scale on it (an empty
//! platform, a frame every 100 ms, as a real one streams), with the server's station reading
//! the other end through its scale driver. Each round opens a one-item order over HTTP, so
//! the pack waits for its weight, then writes one stable frame with the parcel's weight and
//! takes the time when its last byte has been written; the clock stops when the station's
//! live feed (the SSE stream the bench page listens to) delivers the verdict.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use http_body_util::BodyExt;
use serialport::{SerialPort, TTYPort};

use super::{import, new_client, scan, HttpClient, Latency, Server, WorkDir};
use crate::devices::scale::{self, sim::Sample};

const ITEM_GRAMS: i64 = 490;
const TARE_GRAMS: i64 = 10;
const ITEM_BARCODE: &str = "8800000000017";

fn config_toml(port: &Path) -> String {
    format!(
        "# Written by `packbench bench --scale`; removed when the benchmark ends.\n\
         [warehouse]\nname = \"packbench bench\"\ntimezone = \"Asia/Seoul\"\ndefault_courier = \"cj\"\n\n\
         [server]\nbind = \"127.0.0.1:0\"\n\n[scan]\ndebounce_ms = 0\n\n\
         [[packaging]]\ncode = \"PKG-BENCH\"\nname = \"Bench bag\"\ntare_g = {TARE_GRAMS}\ndefault = true\n\n\
         [[waybill_bands]]\ncourier = \"cj\"\nfirst = 36000000000\nlast = 36000999999\n\n\
         [[operators]]\nbadge = \"B-BENCH\"\nname = \"Bench packer\"\nrole = \"packer\"\n\n\
         [[stations]]\nid = \"scale-bench\"\nprinter = \"none\"\nscale = \"serial:{}?profile=cas-ci200\"\n",
        port.display()
    )
}

fn orders_csv(rounds: usize) -> String {
    let mut s = String::from(
        "order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag\n",
    );
    for i in 0..rounds {
        s.push_str(&format!(
            "SCALE-{i:05},generic,2026-11-23 09:00,Bench recipient,010-0000-0000,1 Bench road Seoul,04500,SCALE-ITEM,1,,\n"
        ));
    }
    s
}

/// The scale end of the pty: frames go out under a lock so the idle stream and a round's
/// weight frame never interleave.
struct FakeScale {
    master: Mutex<TTYPort>,
    profile: scale::ScaleProfile,
}

impl FakeScale {
    /// Writes one settled frame of `grams`; returns when its last byte was written.
    fn send(&self, grams: i64) -> Result<Instant> {
        let frame = scale::sim::encode(&self.profile, &Sample::for_profile(grams, &self.profile));
        let mut m = self.master.lock().unwrap_or_else(|p| p.into_inner());
        m.write_all(&frame)?;
        m.flush()?;
        Ok(Instant::now())
    }
}

/// Runs `rounds` weighings and prints the latency figures.
pub fn run(rounds: usize) -> Result<()> {
    if rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let exe = std::env::current_exe().context("cannot find the packbench executable")?;
    let work = WorkDir::create()?;
    let dir = work.path();
    let (master, slave) = TTYPort::pair().context("opening a pseudo-terminal pair")?;
    let pts = slave.name().context("the pty has no name")?;
    let link = dir.join("scale");
    std::os::unix::fs::symlink(&pts, &link)?;
    let profile = scale::profile::find("cas-ci200", None)?;
    let fake = Arc::new(FakeScale {
        master: Mutex::new(master),
        profile,
    });

    let data = dir.join("data");
    let config = dir.join("bench.toml");
    let catalog = dir.join("catalog.csv");
    let orders = dir.join("orders.csv");
    std::fs::write(&config, config_toml(&link))?;
    std::fs::write(
        &catalog,
        format!(
            "sku,name,barcodes,unit_weight_g,location,cost\n\
             SCALE-ITEM,Bench parcel,{ITEM_BARCODE},{ITEM_GRAMS},R-01,1000\n"
        ),
    )?;
    std::fs::write(&orders, orders_csv(rounds))?;
    import(&exe, &data, &config, "catalog", &catalog)?;
    import(&exe, &data, &config, "orders", &orders)?;

    // An empty platform, streamed as a real scale does, for as long as the benchmark runs.
    let stop = Arc::new(AtomicBool::new(false));
    let idle = {
        let (fake, stop) = (fake.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = fake.send(0);
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut server = Server::start(&exe, &data, &config, dir)?;
    let client = new_client(2);
    rt.block_on(server.wait_healthy(&client))?;
    let result = rt.block_on(rounds_against(&server.base, &client, &fake, rounds));
    stop.store(true, Ordering::Relaxed);
    let _ = idle.join();
    server.check_alive()?;
    drop(server);
    drop(slave);
    let mut latencies = result?;

    let l = Latency::of(&mut latencies);
    println!(
        "packbench bench --scale ({} build): {rounds} parcels weighed through CAS CI-200 frames on a pty",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "stable frame's last byte on the pty -> verdict on the station's live feed: \
         p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        super::ms(l.p50),
        super::ms(l.p99),
        super::ms(l.max)
    );
    println!(
        "(the scale driver, the weight check, the durable commit of the shipment, the SSE push)"
    );
    Ok(())
}

async fn rounds_against(
    base: &str,
    client: &HttpClient,
    fake: &FakeScale,
    rounds: usize,
) -> Result<Vec<u64>> {
    let scan_uri: hyper::Uri = format!("{base}/api/v1/stations/scale-bench/scan").parse()?;
    scan(client, &scan_uri, "B-BENCH")
        .await
        .map_err(|e| anyhow::anyhow!("signing in: {e}"))?;
    // The live feed, read as the page reads it.
    let feed_client = new_client(1);
    let req = hyper::Request::get(format!("{base}/api/v1/stations/scale-bench/stream"))
        .body(http_body_util::Full::new(hyper::body::Bytes::new()))?;
    let mut feed = feed_client.request(req).await?.into_body();
    let mut pending = String::new();
    let mut latencies = Vec::with_capacity(rounds);
    let mut last_seen = 0i64;
    for i in 0..rounds {
        for code in [format!("SCALE-{i:05}"), ITEM_BARCODE.to_string()] {
            scan(client, &scan_uri, &code)
                .await
                .map_err(|e| anyhow::anyhow!("round {i}: {e}"))?;
        }
        // Let the feed catch up with the scans before the clock starts.
        drain(&mut feed, &mut pending, Duration::from_millis(20)).await?;
        let t0 = fake.send(ITEM_GRAMS + TARE_GRAMS)?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let Ok(frame) = tokio::time::timeout_at(deadline, feed.frame()).await else {
                let station =
                    get_text(client, &format!("{base}/api/v1/stations/scale-bench")).await;
                let events = get_text(client, &format!("{base}/api/v1/events?limit=100000")).await;
                let tail: Vec<&str> = events.rsplitn(6, "},{").collect();
                bail!(
                    "round {i}: no verdict within 10 s; the station: {station}; its last events: {}",
                    tail.join(" | ")
                );
            };
            let Some(frame) = frame else {
                bail!("round {i}: the live feed ended");
            };
            let Ok(data) = frame?.into_data() else {
                continue;
            };
            pending.push_str(&String::from_utf8_lossy(&data));
            if let Some(id) = shipped_event(&mut pending, last_seen) {
                latencies.push(t0.elapsed().as_nanos() as u64);
                last_seen = id;
                break;
            }
        }
        // The parcel comes off.
        fake.send(0)?;
    }
    Ok(latencies)
}

/// A GET's body as text, or what went wrong (for failure messages).
async fn get_text(client: &HttpClient, url: &str) -> String {
    let Ok(req) =
        hyper::Request::get(url).body(http_body_util::Full::new(hyper::body::Bytes::new()))
    else {
        return "(bad request)".into();
    };
    match client.request(req).await {
        Ok(resp) => match resp.into_body().collect().await {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    }
}

/// Reads whatever the feed sends until it is quiet for `quiet`, and forgets it.
async fn drain(
    feed: &mut hyper::body::Incoming,
    pending: &mut String,
    quiet: Duration,
) -> Result<()> {
    while let Ok(frame) = tokio::time::timeout(quiet, feed.frame()).await {
        match frame {
            Some(f) => drop(f?),
            None => bail!("the live feed ended"),
        }
    }
    pending.clear();
    Ok(())
}

/// The id of a `shipped` verdict newer than `after` among the complete SSE events in
/// `pending` (which are consumed; an incomplete last event stays).
fn shipped_event(pending: &mut String, after: i64) -> Option<i64> {
    let mut found = None;
    while let Some(end) = pending.find("\n\n") {
        let event: String = pending.drain(..end + 2).collect();
        for line in event.lines() {
            if let Some(data) = line.strip_prefix("data:") {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim()) {
                    let id = v["last"]["event_id"].as_i64().unwrap_or(0);
                    if v["last"]["action"] == "shipped" && id > after {
                        found = Some(id);
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shipped_verdict_is_found_in_the_feed_and_older_ones_are_not() {
        let mut s = String::from(
            "event: station\ndata: {\"last\":{\"action\":\"shipped\",\"event_id\":4}}\n\n\
             event: station\ndata: {\"last\":{\"action\":\"item_counted\",\"event_id\":7}}\n\nevent: sta",
        );
        assert_eq!(shipped_event(&mut s, 4), None);
        assert_eq!(s, "event: sta");
        let mut s = String::from(
            "event: station\ndata: {\"last\":{\"action\":\"shipped\",\"event_id\":9}}\n\n",
        );
        assert_eq!(shipped_event(&mut s, 4), Some(9));
    }

    #[test]
    fn the_generated_files_are_valid() {
        crate::config::Config::parse("bench.toml", &config_toml(Path::new("/dev/null")))
            .expect("valid");
        assert_eq!(orders_csv(3).lines().count(), 4);
    }
}
