//! `packbench bench --reconcile`: a month of 1,000,000 shipments with one courier and its
//! 1,000,000-line bill. A fresh database gets the shipments (set-based SQL; making them is not
//! what is measured), the bill is written as the generic CSV with findings planted at known
//! rates (unknown waybills, duplicates, overcharged classes, wrong prices, voided waybills, a
//! stated total that is off), and the rate card beside it. Then the reconciliation runs as
//! `packbench reconcile` runs it: the archive read from SQLite, the bill read and checked, the
//! matching; each phase timed, and the process's peak memory (VmHWM, reset before the run)
//! reported. The same files are left for `benches/reconcile/compare.sh`, which does the same
//! matching with DuckDB and pandas. Figures, not a test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::config::Config;
use crate::domain::reconcile::{self, Category};
use crate::service::bills;
use crate::storage;

/// The rate card of the benchmark (also written for the comparison scripts).
const CARD: &str = r#"courier = "cj"
contract = "bench"
currency = "KRW"
valid_from = "2026-01-01"
valid_to = "2026-12-31"
pricing = "size_weight"
[tolerance]
weight_g = 100
[[class]]
code = "S"
max_weight_g = 2000
price = 3000
[[class]]
code = "M"
max_weight_g = 5000
price = 4000
[[class]]
code = "L"
max_weight_g = 10000
price = 5000
[[surcharge]]
name = "제주"
postcodes = ["63000-63644"]
amount = 3000
"#;

fn class_of(g: i64) -> (&'static str, i64) {
    if g <= 2000 {
        ("S", 3000)
    } else if g <= 5000 {
        ("M", 4000)
    } else {
        ("L", 5000)
    }
}

fn weight(n: usize) -> i64 {
    300 + ((n as i64 * 7919) % 9500)
}

fn waybill(n: usize) -> String {
    format!("{:012}", 600_000_000_000u64 + n as u64)
}

/// Where the benchmark keeps its files.
pub fn dir() -> PathBuf {
    std::env::temp_dir().join("packbench-bench-reconcile")
}

/// Peak resident memory of this process (VmHWM), in kB.
fn peak_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets VmHWM to the current RSS (Linux: writing 5 to clear_refs).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Makes the database, the bill and the card; returns the planted counts.
fn generate(dir: &Path, n: usize) -> Result<Vec<(Category, usize)>> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("rate-cards"))?;
    std::fs::write(dir.join("rate-cards/bench.toml"), CARD)?;
    let db = storage::Db::open(dir)?;
    let count = n as i64;
    db.write_blocking(move |c| {
        c.execute(
            "INSERT INTO packs (id, station, operator, status, opened_at, closed_at) VALUES (1, 'import', 'bench', 'imported', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z')",
            [],
        )?;
        c.execute(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
             INSERT INTO shipments (waybill, courier, pack_id, station, packer, packed_at, expected_g, tolerance_g,
                                    measured_g, status, postcode, imported)
             SELECT printf('%012d', 600000000000 + i), 'cj', 1, 'import', '',
                    printf('2026-03-%02dT03:00:00Z', 1 + i % 28), 0, 0,
                    300 + ((i * 7919) % 9500),
                    CASE WHEN i % 5003 = 11 THEN 'void' ELSE 'shipped' END,
                    CASE WHEN i % 100 = 7 THEN '63100' ELSE '06234' END, 1
             FROM n",
            [count],
        )?;
        Ok(())
    })?;
    drop(db);
    // shipments.csv for the comparison scripts: the same rows.
    let mut s = std::io::BufWriter::new(std::fs::File::create(dir.join("shipments.csv"))?);
    writeln!(s, "waybill,status,measured_g,postcode,shipped_date")?;
    for i in 0..n {
        writeln!(
            s,
            "{},{},{},{},2026-03-{:02}",
            waybill(i),
            if i % 5003 == 11 { "void" } else { "shipped" },
            weight(i),
            if i % 100 == 7 { "63100" } else { "06234" },
            1 + i % 28
        )?;
    }
    s.flush()?;
    let mut b = std::io::BufWriter::new(std::fs::File::create(dir.join("bill.csv"))?);
    writeln!(
        b,
        "waybill,ship_date,billed_weight_g,size_class,zone,amount,kind"
    )?;
    let mut planted = vec![
        (Category::UnknownWaybill, 0),
        (Category::DuplicateCharge, 0),
        (Category::WeightOvercharge, 0),
        (Category::RateMismatch, 0),
        (Category::VoidCharged, 0),
        (Category::NotBilled, 0),
        (Category::TotalMismatch, 1),
    ];
    let mut bump = |c: Category| {
        if let Some(p) = planted.iter_mut().find(|p| p.0 == c) {
            p.1 += 1;
        }
    };
    let mut sum: i64 = 0;
    for i in 0..n {
        if i % 1999 == 5 {
            bump(Category::NotBilled);
            continue; // handed over, not billed
        }
        let g = weight(i);
        let (mut class, mut amount) = class_of(g);
        let jeju = i % 100 == 7;
        if jeju {
            amount += 3000;
        }
        let mut wb = waybill(i);
        if i % 1000 == 3 {
            wb = format!("{:012}", 700_000_000_000u64 + i as u64);
            bump(Category::UnknownWaybill);
            // Its own parcel is then absent from the bill.
            bump(Category::NotBilled);
        } else if i % 5003 == 11 {
            bump(Category::VoidCharged);
        } else if i % 1009 == 17 && class != "L" && g < 1800 {
            class = "L";
            amount = 5000 + if jeju { 3000 } else { 0 };
            bump(Category::WeightOvercharge);
        } else if i % 1013 == 19 {
            amount += 100;
            bump(Category::RateMismatch);
        }
        writeln!(
            b,
            "{wb},2026-03-{:02},{g},{class},,{amount},delivery",
            1 + i % 28
        )?;
        sum += amount;
        if i % 997 == 13 && wb == waybill(i) && i % 5003 != 11 {
            writeln!(
                b,
                "{wb},2026-03-{:02},{g},{class},,{amount},delivery",
                1 + i % 28
            )?;
            sum += amount;
            bump(Category::DuplicateCharge);
        }
    }
    writeln!(b, "TOTAL,,,,,{},", sum + 12_345)?;
    b.flush()?;
    Ok(planted)
}

/// Runs the benchmark and prints its figures.
pub fn run(n: usize) -> Result<()> {
    let dir = dir();
    println!(
        "reconcile benchmark: {n} shipments, a bill of about {n} lines (files in {})",
        dir.display()
    );
    let t = Instant::now();
    let planted = generate(&dir, n).context("generating the month")?;
    println!("  generated in {:.1} s", t.elapsed().as_secs_f64());

    reset_peak();
    let base_kb = peak_kb().unwrap_or(0);
    let config = Config::demo();
    let db = storage::Db::open(&dir)?;
    let total = Instant::now();
    let t = Instant::now();
    let cards = bills::load_rate_cards(&dir).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // As `packbench reconcile` does: the bill on one thread, the archive on another.
    let bytes = std::fs::read(dir.join("bill.csv"))?;
    let (parsed, (archive, t_archive)) = std::thread::scope(|scope| {
        let parse = scope.spawn(|| {
            let t = Instant::now();
            let r = crate::imports::bill::read_bill("bill.csv", &bytes, "cj", Some("generic"), 0);
            (r, t.elapsed())
        });
        let a = bills::load_archive(&db, &config, "cj");
        let t_archive = t.elapsed();
        (parse.join(), (a, t_archive))
    });
    let (bill, t_bill) = match parsed {
        Ok((Ok((bill, _)), t)) => (bill, t),
        Ok((Err(e), _)) => anyhow::bail!("{e}"),
        Err(_) => anyhow::bail!("reading the bill panicked"),
    };
    let archive = archive?;
    drop(bytes);
    let t_both = t.elapsed();
    let t = Instant::now();
    let report = reconcile::reconcile(&reconcile::Input {
        courier: "cj",
        month: "2026-03",
        bill: &bill,
        archive: &archive,
        cards: &cards,
        earlier: &[],
        claims: &[],
    })?;
    let t_match = t.elapsed();
    let t_total = total.elapsed();
    let peak = peak_kb().unwrap_or(0);

    println!(
        "  archive read from SQLite: {:>8.3} s ({} parcels)",
        t_archive.as_secs_f64(),
        archive.len()
    );
    println!(
        "  bill read and checked:    {:>8.3} s ({} lines)",
        t_bill.as_secs_f64(),
        bill.lines.len()
    );
    println!(
        "  both, side by side:       {:>8.3} s",
        t_both.as_secs_f64()
    );
    println!(
        "  matching and pricing:     {:>8.3} s",
        t_match.as_secs_f64()
    );
    println!(
        "  total:                    {:>8.3} s",
        t_total.as_secs_f64()
    );
    println!(
        "  peak memory (VmHWM):      {:>8.1} MB (process before the run: {:.1} MB)",
        peak as f64 / 1024.0,
        base_kb as f64 / 1024.0
    );
    println!("  findings by category (found / planted):");
    let mut all_match = true;
    for c in Category::ALL {
        if c == Category::ClaimDeduction {
            continue;
        }
        let found = report.findings.iter().filter(|f| f.category == c).count();
        let want = planted.iter().find(|p| p.0 == c).map_or(0, |p| p.1);
        all_match &= found == want;
        println!("    {:<18} {found:>7} / {want}", c.as_str());
    }
    println!(
        "  disputed total: {} of {}",
        report.disputed_total, report.sum_of_lines
    );
    if !all_match {
        anyhow::bail!("the findings do not match what was planted");
    }
    println!("  compare: benches/reconcile/compare.sh {}", dir.display());
    Ok(())
}
