//! `packbench bench --picklist`: how long a big wave takes to make and to print. A fresh
//! database gets 20,000 SKUs stocked in 2,000 bins and 5,000 ready orders (one to three lines
//! each, SKUs spread over the whole catalog); each round then makes the evening wave of all
//! of them (select, allocate every unit to a bin in walk order, record the plan: one write
//! job) and renders its pick list with the per-order slips to one PDF, and closes the wave
//! again so the next round starts from the same state. Figures, not a test.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::domain::ledger::{BinKind, EntryKind, Move};
use crate::domain::{CatalogItem, Flag, OrderLineRecord, OrderRecord};
use crate::i18n::Lang;
use crate::service::App;
use crate::storage::{self, ledger, waves};

/// The size of the benchmark's warehouse.
pub struct Size {
    pub skus: usize,
    pub bins: usize,
    pub orders: usize,
}

impl Default for Size {
    fn default() -> Self {
        Size {
            skus: 20_000,
            bins: 2_000,
            orders: 5_000,
        }
    }
}

/// One round's figures.
#[derive(Debug, Clone, Copy)]
pub struct Round {
    pub create: Duration,
    pub pdf: Duration,
    pub pdf_bytes: usize,
    /// Of `pdf`: laying out the pages, and encoding the PDF.
    pub layout: Duration,
    pub encode: Duration,
    pub pages: usize,
    pub lines: i64,
    pub orders: i64,
}

/// A small deterministic generator, so every run builds the same warehouse.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn bin_code(i: usize) -> String {
    // Zone A-D, 25 aisles, 20 bays: A-01-01 .. D-25-20.
    let zone = (b'A' + (i / 500) as u8) as char;
    format!("{zone}-{:02}-{:02}", (i % 500) / 20 + 1, i % 20 + 1)
}

/// Builds the warehouse in `dir` and returns the opened app.
fn populate(dir: &std::path::Path, size: &Size) -> Result<App> {
    let app = App::open(Config::demo(), dir.to_path_buf(), false)?;
    let at = crate::service::now();
    let items: Vec<CatalogItem> = (0..size.skus)
        .map(|i| CatalogItem {
            sku: format!("SKU-{i:05}"),
            name: format!("상품 {i}"),
            barcodes: vec![format!("880{i:010}")],
            unit_weight_g: 100 + (i % 400) as i64,
            location: bin_code(i % size.bins),
            cost: 1000,
            category: String::new(),
            option: if i % 3 == 0 {
                "L".into()
            } else {
                String::new()
            },
        })
        .collect();
    let bins = size.bins;
    let skus = size.skus;
    let at2 = at.clone();
    app.db.write_blocking(move |c| {
        let at = at2;
        storage::upsert_catalog(c, &items)?;
        for i in 0..bins {
            ledger::upsert_bin(
                c,
                &ledger::Bin {
                    code: bin_code(i),
                    zone: bin_code(i)[..1].to_string(),
                    walk_seq: 0,
                    kind: BinKind::Pick,
                },
                &at,
            )?;
        }
        let moves: Vec<Move> = (0..skus)
            .map(|i| Move {
                sku: format!("SKU-{i:05}"),
                bin: bin_code(i % bins),
                qty: 50,
            })
            .collect();
        ledger::post(
            c,
            &ledger::Posting {
                at: at.clone(),
                kind: EntryKind::Receipt,
                reference: "bench".into(),
                operator: "bench".into(),
                station: String::new(),
                reason: "opening balance".into(),
                override_by: String::new(),
                moves,
            },
        )?;
        Ok(())
    })?;
    let mut rng = Lcg(42);
    let orders: Vec<OrderRecord> = (0..size.orders)
        .map(|i| OrderRecord {
            order_no: format!("B-{i:06}"),
            channel: "smartstore".into(),
            paid_at: format!("2026-11-23T{:02}:{:02}:00Z", (i / 60) % 24, i % 60),
            recipient_name: format!("수령인 {i}"),
            recipient_phone: "010-0000-0000".into(),
            address: "서울특별시 강남구 테헤란로 123".into(),
            postcode: "06234".into(),
            note: String::new(),
            flag: Flag::None,
            courier: String::new(),
            waybill: String::new(),
            lines: (0..1 + rng.below(3))
                .map(|_| OrderLineRecord {
                    sku: format!("SKU-{:05}", rng.below(skus)),
                    qty: 1,
                })
                .collect(),
        })
        .collect();
    app.db
        .write_blocking(move |c| storage::upsert_orders(c, &orders, &at))?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(app.reload_catalog())?;
    Ok(app)
}

/// Runs `rounds` rounds and prints each and the range.
pub fn run(rounds: usize) -> Result<()> {
    let size = Size::default();
    let dir = tempfile_dir()?;
    println!(
        "pick list: {} orders over {} SKUs in {} bins (building the warehouse...)",
        size.orders, size.skus, size.bins
    );
    let t = Instant::now();
    let app = populate(dir.path(), &size)?;
    println!("  built in {:.1} s", t.elapsed().as_secs_f64());
    let rt = tokio::runtime::Runtime::new()?;
    let mut all = Vec::new();
    for i in 0..rounds.max(1) {
        let r = rt.block_on(round(&app))?;
        println!(
            "  round {}: wave of {} orders, {} lines: create {:>6.1} ms, pick list PDF {:>6.1} ms \
             ({} pages, {:.1} MB; layout {:.0} ms, PDF encoding {:.0} ms), total {:>6.1} ms",
            i + 1,
            r.orders,
            r.lines,
            ms(r.create),
            ms(r.pdf),
            r.pages,
            r.pdf_bytes as f64 / 1e6,
            ms(r.layout),
            ms(r.encode),
            ms(r.create + r.pdf)
        );
        all.push(r);
    }
    let totals: Vec<f64> = all.iter().map(|r| ms(r.create + r.pdf)).collect();
    let min = totals.iter().cloned().fold(f64::MAX, f64::min);
    let max = totals.iter().cloned().fold(0.0, f64::max);
    println!(
        "  total (create + PDF): {min:.0} to {max:.0} ms over {} rounds (target under 1,000 ms)",
        all.len()
    );
    drop(dir);
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn tempfile_dir() -> Result<TempDir> {
    let base = std::env::temp_dir().join(format!("packbench-picklist-{}", std::process::id()));
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    Ok(TempDir(base))
}

/// A scratch directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One round: make the evening wave, render its pick list, close it again.
async fn round(app: &App) -> Result<Round> {
    let t = Instant::now();
    let o = app
        .create_wave("evening", "", &[], manager_badge(app)?, Lang::Ko)
        .await?;
    let create = t.elapsed();
    if o.verdict != "accepted" {
        bail!("the wave was refused: {} {}", o.code, o.message);
    }
    let number = o.extra["wave"]["number"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let t = Instant::now();
    let (pdf, times) = app
        .pick_list_pdf_timed(&number, Lang::Ko)
        .await?
        .context("the wave just made is gone")?;
    let pdf_time = t.elapsed();
    if !pdf.starts_with(b"%PDF") {
        bail!("the pick list is not a PDF");
    }
    let w = o.extra["wave"].clone();
    let key = number.clone();
    app.db
        .write(move |c| {
            let w = waves::find_wave(c, &key)?.context_missing(&key)?;
            waves::close_wave(c, w.id, &crate::service::now())
        })
        .await?;
    Ok(Round {
        create,
        pdf: pdf_time,
        pdf_bytes: pdf.len(),
        layout: times.layout,
        encode: times.encode,
        pages: times.pages,
        lines: w["lines"].as_i64().unwrap_or(0),
        orders: w["orders"].as_i64().unwrap_or(0),
    })
}

fn manager_badge(app: &App) -> Result<&str> {
    app.config
        .operators
        .iter()
        .find(|o| o.role == crate::config::Role::Manager)
        .map(|o| o.badge.as_str())
        .context("the configuration has no manager badge")
}

trait Missing<T> {
    fn context_missing(self, key: &str) -> storage::Result<T>;
}

impl<T> Missing<T> for Option<T> {
    fn context_missing(self, key: &str) -> storage::Result<T> {
        self.ok_or_else(|| storage::StorageError::Conflict(format!("wave {key} is gone")))
    }
}
