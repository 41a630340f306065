//! `packbench label bench`: how fast the engine makes shipping labels, in each output.
//!
//! Figures, not tests: labels per second for ZPL, TSPL and PDF one label per job and 1,000
//! labels per job, the 1,000-label PDF's time and size, and the batch spread over every
//! core. Every timed job renders labels the engine has not seen before (label numbers keep
//! counting up from round to round): waybills, phones, orders, weights and packing times are
//! new on every label, while names, addresses, contents and notes recur about as often as
//! they do in a day's parcels and the sender and courier lines are the same on every label,
//! as they are for one warehouse. The data is made before the clock starts. ZPL and TSPL
//! keep each thread's encoded text blocks (`raster::cached_text`), so the report gives the
//! share of text blocks that came from that cache. `bench-baseline/` holds a Python script
//! that makes the same label with reportlab and python-barcode.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::raster::text_cache_stats;
use super::{load_template, render_many, Format, LabelError, RenderOptions, Template};

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub what: String,
    pub labels: usize,
    /// Time spent rendering (data preparation excluded).
    pub elapsed: Duration,
    /// Bytes of one job's output.
    pub bytes: usize,
    /// Labels in one job.
    pub labels_per_job: usize,
    /// Text blocks found in the thread's cache and made afresh while timing.
    pub text_blocks: (u64, u64),
}

impl Figure {
    pub fn per_second(&self) -> f64 {
        self.labels as f64 / self.elapsed.as_secs_f64()
    }
}

/// The sample Korean shipping label the benchmark's labels are made from.
pub fn sample() -> Value {
    serde_json::from_str(include_str!(
        "../../label-templates/samples/shipping-kr.json"
    ))
    .unwrap_or(Value::Null)
}

/// `count` different shipping labels, numbered from 0.
pub fn batch(count: usize) -> Vec<Value> {
    batch_from(0, count)
}

/// Shipping labels number `first` to `first + count - 1`. Waybill, phone, order numbers,
/// bundle count, weight and packing time follow the label number, so they are new on every
/// label; names (200), addresses, contents and the delivery note recur.
pub fn batch_from(first: usize, count: usize) -> Vec<Value> {
    const FAMILY: [&str; 10] = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
    const GIVEN: [&str; 20] = [
        "민지", "서준", "하은", "도윤", "지우", "예준", "서연", "시우", "수아", "주원", "지호",
        "하준", "채원", "은우", "지안", "유준", "다은", "건우", "소율", "현우",
    ];
    const ROADS: [&str; 6] = [
        "테헤란로",
        "세종대로",
        "올림픽로",
        "판교역로",
        "해운대로",
        "중앙대로",
    ];
    const ITEMS: [&str; 6] = [
        "티셔츠 L 화이트",
        "양말 x3",
        "후드티 XL 네이비",
        "볼캡 블랙",
        "에코백",
        "니트 장갑 M",
    ];
    let base = sample();
    (first..first + count)
        .map(|i| {
            let mut d = base.clone();
            // Lotte numbers: 11 digits and their mod-7 check digit.
            let body = 60_001_234_567u64 + i as u64 * 13;
            d["waybill"] = json!(format!("{body}{}", body % 7));
            d["recipient"]["name"] = json!(format!(
                "{}{}",
                FAMILY[i % FAMILY.len()],
                GIVEN[(i / FAMILY.len()) % GIVEN.len()]
            ));
            d["recipient"]["address"] = json!(format!(
                "서울특별시 강남구 {} {}, {}층 {}호",
                ROADS[i % ROADS.len()],
                100 + i % 400,
                1 + i % 20,
                100 + i % 50
            ));
            d["recipient"]["postcode"] = json!(format!("{:05}", 1_000 + (i * 37) % 60_000));
            d["recipient"]["phone_masked"] = json!(format!("010-****-{:04}", i % 10_000));
            d["items_summary"] = json!(format!(
                "{} x{}; {} x1",
                ITEMS[i % ITEMS.len()],
                1 + i % 3,
                ITEMS[(i / 3) % ITEMS.len()]
            ));
            d["note"] = json!(if i % 3 == 0 {
                "부재 시 경비실에 맡겨 주세요"
            } else {
                ""
            });
            let bundle = 1 + i % 3;
            d["orders"] = json!((0..bundle)
                .map(|k| format!("SS-{}", 100_000 + 3 * i + k))
                .collect::<Vec<_>>());
            d["bundle_count"] = json!(bundle);
            // One label every 15 seconds at each of four benches.
            let minutes = i / 16;
            d["packed_at"] = json!(format!(
                "2026-11-{:02} {:02}:{:02}",
                23 + minutes / 1440 % 7,
                minutes / 60 % 24,
                minutes % 60
            ));
            d["packer"] = json!(format!("B-PACK-{:02}", 1 + i % 4));
            d["weight_g"] = json!(500 + i % 3000);
            d
        })
        .collect()
}

/// Renders jobs of `per_job` new labels for at least `min` (after one warm-up job) and
/// returns the time spent rendering. `next` is the first label number to use.
fn time(
    t: &Template,
    what: String,
    format: Format,
    per_job: usize,
    next: &mut usize,
    min: Duration,
) -> Result<Figure, LabelError> {
    let options = RenderOptions::default();
    // Enough labels for a good many jobs are made at a time, outside the clock.
    let stock = per_job.max(500);
    let mut data: Vec<Value> = Vec::new();
    let mut used = 0;
    let mut take = |next: &mut usize| -> Vec<Value> {
        if used + per_job > data.len() {
            data = batch_from(*next, stock);
            *next += stock;
            used = 0;
        }
        used += per_job;
        data[used - per_job..used].to_vec()
    };
    let warm = take(next);
    let mut bytes = render_many(t, &warm, format, &options)?.len();
    let stats_before = text_cache_stats();
    let mut elapsed = Duration::ZERO;
    let mut labels = 0;
    while labels == 0 || elapsed < min {
        let job = take(next);
        let started = Instant::now();
        bytes = render_many(t, &job, format, &options)?.len();
        elapsed += started.elapsed();
        labels += per_job;
    }
    let stats = text_cache_stats();
    Ok(Figure {
        what,
        labels,
        elapsed,
        bytes,
        labels_per_job: per_job,
        text_blocks: (stats.0 - stats_before.0, stats.1 - stats_before.1),
    })
}

/// Runs every measurement for at least `min` each and returns the figures.
pub fn run(min: Duration, batch_size: usize) -> Result<Vec<Figure>, LabelError> {
    let t: Template = load_template(None, "shipping-kr-4x6.toml")?;
    let mut next = 0usize;
    let mut figures = Vec::new();
    for format in [Format::Zpl, Format::Tspl, Format::Pdf] {
        let what = format!("{} single label", format.extension());
        figures.push(time(&t, what, format, 1, &mut next, min)?);
    }
    for format in [Format::Zpl, Format::Tspl, Format::Pdf] {
        let what = format!("{} batch of {batch_size}", format.extension());
        figures.push(time(&t, what, format, batch_size, &mut next, min)?);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for format in [Format::Zpl, Format::Tspl] {
        figures.push(parallel(&t, batch_size, format, threads, &mut next, min)?);
    }
    Ok(figures)
}

/// Batches on `threads` long-lived threads at once (as a server's blocking pool would run
/// them), each thread rendering batches of new labels for `min` after one warm-up batch.
/// The figure is every thread's labels over the longest thread's rendering time.
fn parallel(
    t: &Template,
    batch_size: usize,
    format: Format,
    threads: usize,
    next: &mut usize,
    min: Duration,
) -> Result<Figure, LabelError> {
    let threads = threads.max(1);
    // Each thread numbers its labels from its own range, far apart from the others'.
    let first = *next;
    let span = 100_000_000usize;
    *next += threads * span;
    let barrier = std::sync::Barrier::new(threads);
    let results: Vec<Result<Figure, LabelError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut next = first + k * span;
                    let warm = batch_from(next, batch_size);
                    next += batch_size;
                    render_many(t, &warm, format, &RenderOptions::default())?;
                    barrier.wait();
                    time(t, String::new(), format, batch_size, &mut next, min)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(LabelError::Encode("a bench thread panicked".into())))
            })
            .collect()
    });
    let mut figure = Figure {
        what: format!(
            "{} batch of {batch_size}, {threads} threads",
            format.extension()
        ),
        labels: 0,
        elapsed: Duration::ZERO,
        bytes: 0,
        labels_per_job: batch_size,
        text_blocks: (0, 0),
    };
    for r in results {
        let f = r?;
        figure.labels += f.labels;
        figure.bytes = f.bytes;
        figure.elapsed = figure.elapsed.max(f.elapsed);
        figure.text_blocks.0 += f.text_blocks.0;
        figure.text_blocks.1 += f.text_blocks.1;
    }
    Ok(figure)
}

/// The figures as the lines `packbench label bench` prints: labels per second, time per
/// label, one job's size and its size per label, and for ZPL and TSPL the share of text
/// blocks that came from the thread's cache.
pub fn report(figures: &[Figure]) -> String {
    let mut out = String::new();
    for f in figures {
        let (found, made) = f.text_blocks;
        let cached = if found + made > 0 {
            format!(
                "  text from cache {:>3.0}%",
                100.0 * found as f64 / (found + made) as f64
            )
        } else {
            String::new()
        };
        out.push_str(&format!(
            "{:<32} {:>8.0} labels/s  {:>7.3} ms/label  {:>9} bytes/job ({:>5.1} KB/label){cached}\n",
            f.what,
            f.per_second(),
            f.elapsed.as_secs_f64() * 1000.0 / f.labels as f64,
            f.bytes,
            f.bytes as f64 / 1024.0 / f.labels_per_job.max(1) as f64,
        ));
    }
    out
}
