//! `packbench bench --stocktake`: a stocktake cycle of 200,000 (SKU, location) lines. A
//! fresh database gets 20,000 bins holding 10 SKUs each (50,000 SKUs with costs), stock
//! for every pair, a cycle with a task per bin, and a count per pair (one in twenty off by
//! a few units) — generated with set-based SQL, since making them is not what is measured.
//! Then: the variance report (every line with book, counted, variance and value, item
//! names, totals and counters, as the report files are built from it; and the same as the
//! JSON the API answers), and posting every approved variance to the ledger in one
//! transaction. Targets: report under 1 s, posting under 2 s. Peak memory is the process's
//! VmHWM. Figures, not a test.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::i18n::Lang;
use crate::service::App;
use crate::storage::stocktake::{self as store, Selection};
use crate::storage::{self, ledger};

/// The size of the benchmark's warehouse.
pub struct Size {
    pub bins: usize,
    pub skus_per_bin: usize,
    pub skus: usize,
}

impl Default for Size {
    fn default() -> Self {
        Size {
            bins: 20_000,
            skus_per_bin: 10,
            skus: 50_000,
        }
    }
}

fn bin_code(i: usize) -> String {
    // Zones A-H, 50 aisles, 50 bays: A-01-01 .. H-50-50.
    let zone = (b'A' + (i / 2500) as u8) as char;
    format!("{zone}-{:02}-{:02}", (i % 2500) / 50 + 1, i % 50 + 1)
}

/// Peak resident memory of this process (VmHWM), in kB.
pub fn peak_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Builds the warehouse and a cycle whose every task is counted; returns the app and the
/// cycle.
fn populate(dir: &std::path::Path, size: &Size) -> Result<(App, store::Cycle)> {
    let app = App::open(Config::demo(), dir.to_path_buf(), false)?;
    let at = crate::service::now();
    let (bins, per, skus) = (size.bins, size.skus_per_bin, size.skus);
    let at2 = at.clone();
    app.db.write_blocking(move |c| {
        let at = at2;
        let mut cat = c.prepare(
            "INSERT INTO catalog_items (sku, name, unit_weight_g, location, cost, category, option)
             VALUES (?1, ?2, 100, ?3, ?4, '', ?5)",
        )?;
        for i in 0..skus {
            cat.execute(rusqlite::params![
                format!("SKU-{i:05}"),
                format!("상품 {i}"),
                bin_code(i % bins),
                500 + (i % 50) as i64 * 100,
                if i % 3 == 0 { "L" } else { "" },
            ])?;
        }
        let mut bin = c.prepare(
            "INSERT INTO bins (code, zone, walk_seq, kind, created_at) VALUES (?1, ?2, 0, 'pick', ?3)",
        )?;
        for i in 0..bins {
            let code = bin_code(i);
            bin.execute(rusqlite::params![code, &code[..1], at])?;
        }
        // Every pair gets stock: one receipt posting of bins × skus_per_bin entries.
        let mut entry = c.prepare(
            "INSERT INTO stock_entries (posting, at, sku, bin, qty, kind, ref, operator, reason)
             VALUES (1, ?1, ?2, ?3, ?4, 'receipt', 'bench', 'bench', 'opening balance')",
        )?;
        let mut stock =
            c.prepare("INSERT INTO stock (sku, bin, on_hand) VALUES (?1, ?2, ?3)")?;
        for b in 0..bins {
            let code = bin_code(b);
            for k in 0..per {
                let sku = format!("SKU-{:05}", (b * per + k * 7) % skus);
                let qty = 5 + ((b + k) % 40) as i64;
                entry.execute(rusqlite::params![at, sku, code, qty])?;
                stock.execute(rusqlite::params![sku, code, qty])?;
            }
        }
        Ok(())
    })?;
    let now = at.clone();
    let cycle = app.db.write_blocking(move |c| {
        let w = crate::domain::stocktake::window_for(
            now.parse::<jiff::Timestamp>()
                .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date())
                .unwrap_or(jiff::civil::date(2026, 11, 28)),
        );
        store::insert_cycle(
            c,
            &store::NewCycle {
                number: crate::domain::stocktake::cycle_number(w),
                month: w.month(),
                opens: w.opens.to_string(),
                closes: w.closes.to_string(),
                time_zone: "Asia/Seoul".into(),
                zones: vec![],
                opened_at: now.clone(),
                opened_by: "bench".into(),
            },
        )?;
        let cy = store::get_cycle(c, &w.month())?
            .ok_or_else(|| storage::StorageError::Conflict("the cycle is gone".into()))?;
        let snapshot = ledger::last_entry_id(c)?;
        // One count per pair: one line in twenty is off by -2..+2 (never below zero; some of
        // those by 0).
        c.execute(
            "INSERT INTO stocktake_counts (task_id, round, counter, submitted_at, snapshot)
             SELECT id, 1, 'B-COUNT', ?1, ?2 FROM stocktake_tasks WHERE cycle_id = ?3",
            rusqlite::params![now, snapshot, cy.id],
        )?;
        c.execute(
            "INSERT INTO stocktake_lines (cycle_id, task_id, bin, sku, book, counted, variance, cost,
                                          counted_at, counter, snapshot, status)
             SELECT t.cycle_id, t.id, t.bin, s.sku, s.on_hand,
                    MAX(0, s.on_hand + CASE WHEN s.rowid % 20 = 0 THEN (s.rowid / 20) % 5 - 2 ELSE 0 END),
                    MAX(0, s.on_hand + CASE WHEN s.rowid % 20 = 0 THEN (s.rowid / 20) % 5 - 2 ELSE 0 END) - s.on_hand,
                    ci.cost, ?1, 'B-COUNT', ?2, 'pending'
             FROM stocktake_tasks t JOIN stock s ON s.bin = t.bin
             JOIN catalog_items ci ON ci.sku = s.sku
             WHERE t.cycle_id = ?3",
            rusqlite::params![now, snapshot, cy.id],
        )?;
        c.execute(
            "UPDATE stocktake_tasks SET status = 'counted' WHERE cycle_id = ?1",
            [cy.id],
        )?;
        c.execute_batch("ANALYZE")?;
        Ok(cy)
    })?;
    Ok((app, cycle))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints its figures.
pub fn run() -> Result<()> {
    let size = Size::default();
    let lines = size.bins * size.skus_per_bin;
    println!(
        "stocktake: {} bins x {} SKUs = {lines} (SKU, location) lines, {} SKUs in the catalogue",
        size.bins, size.skus_per_bin, size.skus
    );
    let dir = std::env::temp_dir().join(format!("packbench-stocktake-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = measure(&dir, &size);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Resets the process's peak resident memory to its current size (Linux 4.0+), so each
/// phase's VmHWM is its own.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mb(kb: Option<u64>) -> String {
    kb.map(|kb| format!("{:.1} MB", kb as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn measure(dir: &std::path::Path, size: &Size) -> Result<()> {
    let t = Instant::now();
    let (app, cycle) = populate(dir, size)?;
    println!(
        "  built in {:.1} s (peak so far {})",
        t.elapsed().as_secs_f64(),
        mb(peak_kb())
    );
    let id = cycle.id;
    let phases = reset_peak();

    // The report as the files are built from it: every line with its item's name, totals,
    // counters.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(app.reload_catalog())?;
    let t = Instant::now();
    let (report, totals, counters) = rt.block_on(app.stocktake_report_lines(id))?;
    let report_time = t.elapsed();
    if report.len() != size.bins * size.skus_per_bin {
        bail!("the report has {} lines", report.len());
    }
    if report.iter().any(|l| l.name.is_empty()) {
        bail!("a report line has no item name");
    }
    let variance_lines = report.iter().filter(|l| l.variance != 0).count();
    drop(report);
    let report_peak = peak_kb();

    // Posting: approve every line, one transaction, set-based.
    reset_peak();
    let cy = cycle.clone();
    let t = Instant::now();
    let approved = app.db.write_blocking(move |c| {
        store::approve(
            c,
            &cy,
            &Selection {
                all: true,
                ..Selection::default()
            },
            "B-MGR-01",
            &crate::service::now(),
            "stocktake bench",
        )
    })?;
    let post_time = t.elapsed();
    let post_peak = peak_kb();
    let problems = app.db.read_blocking(ledger::check)?;
    if !problems.is_empty() {
        bail!(
            "the ledger does not hold after posting: {:?}",
            &problems[..problems.len().min(5)]
        );
    }

    // The same report through the service, as the API's JSON of every line (`?all=1`).
    reset_peak();
    let t = Instant::now();
    let json = rt.block_on(app.stocktake_report(&cycle.month, true, Lang::Ko))?;
    let json_time = t.elapsed();
    let json_lines = json["lines"].as_array().map_or(0, Vec::len);
    drop(json);
    let json_peak = peak_kb();

    println!(
        "  variance report: {:.0} ms for {} lines ({variance_lines} with a variance; loss {} / gain {} units; {} counter) — target < 1000 ms; peak {}",
        ms(report_time),
        totals.lines,
        totals.loss_units,
        totals.gain_units,
        counters.len(),
        mb(report_peak),
    );
    println!(
        "  posting: {:.0} ms for {} approved lines, {} adjustment entries in one posting (one transaction) — target < 2000 ms; peak {}",
        ms(post_time),
        approved.lines,
        approved.entries,
        mb(post_peak),
    );
    println!(
        "  (report as the API's JSON of all lines: {:.0} ms for {json_lines} lines; peak {})",
        ms(json_time),
        mb(json_peak),
    );
    if !phases {
        println!("  (peaks are of the whole run: /proc/self/clear_refs could not be written)");
    }
    let ok = report_time < Duration::from_secs(1) && post_time < Duration::from_secs(2);
    println!("  targets {}", if ok { "met" } else { "NOT met" });
    Ok(())
}
