//! `packbench bench --archive`: the waybill archive at size. A fresh database gets 2,000,000
//! shipments spread over a year (each with its order link, one content line and its
//! `shipment` event: one transaction, prepared statements), then times the archive search
//! the API runs — by exact waybill, by waybill prefix, by the phone's last four digits and
//! by part of a name — and sealing and verifying days of about 5,500 shipments each.
//! Figures, not a test.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rusqlite::params;

use crate::storage::{self, archive};

/// Shipments in the benchmark's archive.
pub const SHIPMENTS: usize = 2_000_000;
/// Days they are spread over.
const DAYS: usize = 365;

/// A small deterministic generator, so every run builds the same archive.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The i-th shipment's waybill: 12 digits, scattered so that time order is not key order.
fn waybill(i: usize) -> String {
    // 999,999,937 is prime, so i -> i * K mod P is a bijection below P.
    let p: u64 = 999_999_937;
    format!("36{:010}", (i as u64).wrapping_mul(7_919_777) % p)
}

const FAMILY: [&str; 10] = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
const GIVEN: [&str; 12] = [
    "민준", "서연", "도윤", "지우", "하준", "서윤", "예준", "하은", "시우", "지민", "王芳", "李伟",
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Times `f` once per query; returns (p50, p99, max, rows found in total).
fn time_queries(
    queries: &[archive::Search],
    c: &rusqlite::Connection,
) -> Result<(Duration, Duration, Duration, usize)> {
    let mut times = Vec::with_capacity(queries.len());
    let mut found = 0;
    for q in queries {
        let t = Instant::now();
        let rows = archive::search(c, q)?;
        times.push(t.elapsed());
        found += rows.len();
    }
    times.sort();
    Ok((
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        *times.last().unwrap_or(&Duration::ZERO),
        found,
    ))
}

/// Builds the archive and prints the figures.
pub fn run() -> Result<()> {
    let dir = tempfile_dir()?;
    println!("archive benchmark in {}", dir.display());
    // Migrations through the normal path, then a bulk connection of our own.
    drop(storage::Db::open(&dir)?);
    let path = dir.join("packbench.sqlite3");
    let mut c = storage::open_durable(&path)?;
    c.pragma_update(None, "synchronous", "OFF")?;
    let t0 = Instant::now();
    let first_day = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24 * (DAYS as i64 + 20)))
        .context("clock")?;
    let tz = jiff::tz::TimeZone::get("Asia/Seoul")?;
    let day0 = first_day.to_zoned(tz.clone()).date();
    let base = day0.to_zoned(tz.clone())?.timestamp();
    let mut rng = Lcg(7);
    {
        let tx = c.transaction()?;
        tx.execute(
            "INSERT INTO packs (id, station, operator, status, opened_at) VALUES (1, 'bench-1', 'B-PACK-01', 'shipped', '2020-01-01T00:00:00Z')",
            [],
        )?;
        let mut ship = tx.prepare(
            "INSERT INTO shipments (waybill, courier, pack_id, station, packer, packed_at, expected_g, tolerance_g,
                                    measured_g, status, recipient_name, phone_digits, phone_last4, postcode)
             VALUES (?1, ?2, 1, ?3, 'B-PACK-01', ?4, ?5, 25, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        let mut link =
            tx.prepare("INSERT INTO shipment_orders (waybill, order_no) VALUES (?1, ?2)")?;
        let mut item =
            tx.prepare("INSERT INTO shipment_items (waybill, sku, qty) VALUES (?1, ?2, ?3)")?;
        let mut event = tx.prepare(
            "INSERT INTO events (at, station, operator, kind, verdict, waybill, detail)
             VALUES (?1, ?2, 'B-PACK-01', 'shipment', 'accepted', ?3, '{}')",
        )?;
        let couriers = ["cj", "lotte", "hanjin", "epost", "logen"];
        for i in 0..SHIPMENTS {
            // Day `i * DAYS / N`, from 08:00 local on, spread over the working day.
            let day = (i * DAYS / SHIPMENTS) as i64;
            let within = (i * DAYS % SHIPMENTS) as i64 * 50_000 / SHIPMENTS as i64;
            let millis = (day * 86_400 + 8 * 3600 + within) * 1000 + rng.below(1000) as i64;
            let at = (base + jiff::SignedDuration::from_millis(millis)).to_string();
            let w = waybill(i);
            let phone = format!("010{:08}", rng.below(100_000_000));
            let name = format!(
                "{}{}",
                FAMILY[rng.below(FAMILY.len() as u64) as usize],
                GIVEN[rng.below(GIVEN.len() as u64) as usize]
            );
            let expected = 200 + rng.below(3000) as i64;
            ship.execute(params![
                w,
                couriers[i % couriers.len()],
                format!("bench-{}", i % 20 + 1),
                at,
                expected,
                expected + rng.below(40) as i64 - 20,
                if i % 97 == 0 { "void" } else { "shipped" },
                name,
                phone,
                &phone[phone.len() - 4..],
                format!("{:05}", rng.below(64_000))
            ])?;
            link.execute(params![w, format!("B-{i:08}")])?;
            item.execute(params![
                w,
                format!("SKU-{:05}", rng.below(20_000)),
                1 + rng.below(3) as i64
            ])?;
            event.execute(params![at, format!("bench-{}", i % 20 + 1), w])?;
            if i % 200_000 == 199_999 {
                eprintln!("  {} shipments ...", i + 1);
            }
        }
        drop((ship, link, item, event));
        tx.commit()?;
    }
    let built = t0.elapsed();
    // No ANALYZE: a warehouse's database never runs one, so the planner works as it would there.
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {SHIPMENTS} shipments (with order links, contents and events) in {:.1} s; database {:.0} MB",
        built.as_secs_f64(),
        bytes as f64 / 1e6
    );

    let n = 2_000;
    let page = |s: archive::Search| archive::Search { limit: 51, ..s };
    let mut rng = Lcg(11);
    let by_waybill: Vec<archive::Search> = (0..n)
        .map(|_| {
            page(archive::Search {
                waybill: Some(waybill(rng.below(SHIPMENTS as u64) as usize)),
                ..Default::default()
            })
        })
        .collect();
    let by_prefix: Vec<archive::Search> = (0..n)
        .map(|_| {
            page(archive::Search {
                waybill: Some(waybill(rng.below(SHIPMENTS as u64) as usize)[..9].to_string()),
                ..Default::default()
            })
        })
        .collect();
    let by_phone: Vec<archive::Search> = (0..n)
        .map(|_| {
            page(archive::Search {
                phone: Some(format!("{:04}", rng.below(10_000))),
                ..Default::default()
            })
        })
        .collect();
    let by_name: Vec<archive::Search> = (0..50)
        .map(|i| {
            page(archive::Search {
                name: Some(GIVEN[i % GIVEN.len()].to_string()),
                ..Default::default()
            })
        })
        .collect();
    let rare_name: Vec<archive::Search> = (0..10)
        .map(|_| {
            page(archive::Search {
                name: Some("없는이름".into()),
                ..Default::default()
            })
        })
        .collect();
    // One warm-up pass over the phone index, as a server that has run a while has it cached.
    time_queries(&by_phone[..200], &c)?;
    println!("\nsearch (the API's query, a page of 50 newest first), {n} queries each:");
    for (what, qs) in [
        ("waybill, exact", &by_waybill),
        ("waybill, first 9 digits", &by_prefix),
        ("phone, last 4 digits", &by_phone),
        ("name, part (common)", &by_name),
        ("name, part (no match: full scan)", &rare_name),
    ] {
        let (p50, p99, max, found) = time_queries(qs, &c)?;
        println!(
            "  {what:<34} p50 {:>10}  p99 {:>10}  max {:>10}  ({:.1} rows per query)",
            ms(p50),
            ms(p99),
            ms(max),
            found as f64 / qs.len() as f64
        );
    }

    // Sealing: the first ten days, one transaction each, as the server's sealer does.
    let mut seal_times = Vec::new();
    let mut per_day = 0;
    for k in 0..10 {
        let day = day0.checked_add(jiff::Span::new().days(k))?;
        let from = crate::service::archive::day_start_key(&tz, day);
        let until = crate::service::archive::day_start_key(&tz, day.tomorrow()?);
        let t = Instant::now();
        let tx = c.transaction()?;
        let s = archive::seal_day(
            &tx,
            &day.to_string(),
            "Asia/Seoul",
            &from,
            &until,
            "bench",
            "bench",
        )?;
        tx.commit()?;
        seal_times.push(t.elapsed());
        per_day = s.header.shipments;
    }
    let t = Instant::now();
    let v = archive::verify(&c)?;
    let verify = t.elapsed();
    seal_times.sort();
    println!(
        "\nsealing a day (~{per_day} shipments and as many events): median {}, max {}; verifying {} sealed days: {} ({} mismatches)",
        ms(percentile(&seal_times, 0.5)),
        ms(*seal_times.last().unwrap_or(&Duration::ZERO)),
        v.days_sealed,
        ms(verify),
        v.mismatches.len()
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("packbench-archive-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
