//! `packbench label bench`: how fast the engine makes shipping labels, in each output.
//!
//! Figures, not tests: labels per second for ZPL, TSPL and PDF one label at a time, the same
//! for a batch of 1,000 different labels (different waybills, names, addresses and contents,
//! so no cache sees the same text twice except the template's own captions), the 1,000-label
//! PDF's time and size, and the batch spread over every core. `bench-baseline/` holds a
//! Python script that makes the same label with reportlab and python-barcode.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{load_template, render, render_many, Format, LabelError, RenderOptions, Template};

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub what: String,
    pub labels: usize,
    pub elapsed: Duration,
    pub bytes: usize,
}

impl Figure {
    pub fn per_second(&self) -> f64 {
        self.labels as f64 / self.elapsed.as_secs_f64()
    }
}

/// The sample Korean shipping label the benchmark renders.
pub fn sample() -> Value {
    serde_json::from_str(include_str!(
        "../../label-templates/samples/shipping-kr.json"
    ))
    .unwrap_or(Value::Null)
}

/// `count` different shipping labels: waybills, names, addresses, items and notes vary.
pub fn batch(count: usize) -> Vec<Value> {
    const FAMILY: [&str; 10] = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"];
    const GIVEN: [&str; 10] = [
        "민지", "서준", "하은", "도윤", "지우", "예준", "서연", "시우", "수아", "주원",
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
    (0..count)
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
            d["weight_g"] = json!(500 + i % 3000);
            d
        })
        .collect()
}

fn time<F: FnMut() -> Result<usize, LabelError>>(
    what: &str,
    labels_per_call: usize,
    min: Duration,
    mut f: F,
) -> Result<Figure, LabelError> {
    // One call to warm the caches (font parsing, glyph cache) before timing.
    let mut bytes = f()?;
    let started = Instant::now();
    let mut calls = 0usize;
    while calls == 0 || started.elapsed() < min {
        bytes = f()?;
        calls += 1;
    }
    Ok(Figure {
        what: what.to_string(),
        labels: calls * labels_per_call,
        elapsed: started.elapsed(),
        bytes,
    })
}

/// Runs every measurement for at least `min` each and returns the figures.
pub fn run(min: Duration, batch_size: usize) -> Result<Vec<Figure>, LabelError> {
    let t: Template = load_template(None, "shipping-kr-4x6.toml")?;
    let one = sample();
    let many = batch(batch_size);
    let options = RenderOptions::default();
    let mut figures = Vec::new();
    for format in [Format::Zpl, Format::Tspl, Format::Pdf] {
        figures.push(time(
            &format!("{} single label", format.extension()),
            1,
            min,
            || render(&t, &one, format).map(|b| b.len()),
        )?);
    }
    for format in [Format::Zpl, Format::Tspl, Format::Pdf] {
        figures.push(time(
            &format!("{} batch of {batch_size}", format.extension()),
            batch_size,
            min,
            || render_many(&t, &many, format, &options).map(|b| b.len()),
        )?);
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    for format in [Format::Zpl, Format::Tspl] {
        figures.push(parallel(&t, &many, format, threads, min)?);
    }
    Ok(figures)
}

/// The batch split over `threads` long-lived threads (as a server's blocking pool would run
/// it), each rendering its share over and over for `min` after one warm-up round.
fn parallel(
    t: &Template,
    data: &[Value],
    format: Format,
    threads: usize,
    min: Duration,
) -> Result<Figure, LabelError> {
    let chunk = data.len().div_ceil(threads.max(1)).max(1);
    let barrier = std::sync::Barrier::new(data.chunks(chunk).count());
    let results: Vec<Result<(usize, usize, Duration), LabelError>> = std::thread::scope(|s| {
        let handles: Vec<_> = data
            .chunks(chunk)
            .map(|part| {
                let barrier = &barrier;
                s.spawn(move || {
                    let options = RenderOptions::default();
                    let bytes = render_many(t, part, format, &options)?.len();
                    barrier.wait();
                    let started = Instant::now();
                    let mut labels = 0;
                    while labels == 0 || started.elapsed() < min {
                        render_many(t, part, format, &options)?;
                        labels += part.len();
                    }
                    Ok((labels, bytes, started.elapsed()))
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
            "{} batch of {} on {threads} threads",
            format.extension(),
            data.len()
        ),
        labels: 0,
        elapsed: Duration::ZERO,
        bytes: 0,
    };
    for r in results {
        let (labels, bytes, elapsed) = r?;
        figure.labels += labels;
        figure.bytes += bytes;
        figure.elapsed = figure.elapsed.max(elapsed);
    }
    Ok(figure)
}

/// The figures as the lines `packbench label bench` prints.
pub fn report(figures: &[Figure]) -> String {
    let mut out = String::new();
    for f in figures {
        out.push_str(&format!(
            "{:<40} {:>10.0} labels/s  {:>9.3} ms/label  {:>10} bytes ({:.1} KB/label)\n",
            f.what,
            f.per_second(),
            f.elapsed.as_secs_f64() * 1000.0 / f.labels as f64,
            f.bytes,
            f.bytes as f64 / 1024.0 / (f.bytes_labels() as f64),
        ));
    }
    out
}

impl Figure {
    /// How many labels `bytes` holds (one call's output).
    fn bytes_labels(&self) -> usize {
        if self.what.contains("batch of ") {
            self.what
                .split("batch of ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(1)
        } else {
            1
        }
    }
}
