//! `packbench bench --camera`: how long reading a bench photo's label QR code takes and how
//! many synthetic photos are read at each distortion level, at 720p and 1080p. The photos are
//! made before the clock starts (the printed label on a parcel, `camera::synth`) and encoded
//! as a browser would send them. Two clocks: reading the QR code on the prepared picture, and
//! the server's whole work on a sealed still but the database write (decode, re-encode on a
//! second thread while the code is read).

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::camera::{self, synth};
use crate::domain::camera::{check_label, LabelCheck};
use crate::labels;

/// Photos per level and size.
const PER_LEVEL: u64 = 8;

pub fn run() -> Result<()> {
    let waybill = "600010000004";
    let template = labels::load_template(None, "shipping-kr-4x6.toml")?;
    let mut data = labels::bench::sample();
    data["waybill"] = serde_json::json!(waybill);
    let png = labels::render(&template, &data, labels::Format::Png)?;
    let label = synth::grey_of_png(&png).ok_or_else(|| anyhow::anyhow!("label PNG"))?;
    println!(
        "camera: the label's QR code on synthetic photos, {PER_LEVEL} per level and size \
         (taking the still in + reading it)"
    );
    for (w, h) in [(1280u32, 720u32), (1920, 1080)] {
        let mut read_times: Vec<Duration> = Vec::new();
        let mut take_times: Vec<Duration> = Vec::new();
        println!("  {w}x{h}:");
        for (li, (name, pose)) in synth::levels().iter().enumerate() {
            let mut ok = 0;
            let mut level_times = Vec::new();
            for seed in 0..PER_LEVEL {
                let jpeg =
                    synth::jpeg(&synth::photo(&label, w, h, pose, seed * 97 + li as u64), 92);
                // Reading alone, then the server's whole work on a sealed still (decode,
                // re-encode on a second thread while reading).
                let grey = camera::take_in(&jpeg)?.grey;
                let t0 = Instant::now();
                let codes = camera::read_qr(&grey);
                let t1 = Instant::now();
                let still = camera::take_in_reading(&jpeg, true)?;
                let t2 = Instant::now();
                read_times.push(t1 - t0);
                take_times.push(t2 - t1);
                level_times.push(t2 - t1);
                if check_label(waybill, &codes) == LabelCheck::Match
                    && check_label(waybill, still.codes.as_deref().unwrap_or_default())
                        == LabelCheck::Match
                {
                    ok += 1;
                }
            }
            level_times.sort();
            println!(
                "    {name:<24} read {ok}/{PER_LEVEL} ({:>3.0} %)   median {:>6.1} ms per photo",
                ok as f64 * 100.0 / PER_LEVEL as f64,
                ms(level_times[level_times.len() / 2])
            );
        }
        read_times.sort();
        take_times.sort();
        println!(
            "    all levels: reading the QR p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms; \
             the whole still (decode, re-encode, read) p50 {:.1} ms, p90 {:.1} ms \
             (target under 100 ms per 1080p photo)",
            ms(read_times[read_times.len() / 2]),
            ms(read_times[read_times.len() * 9 / 10]),
            ms(*read_times.last().unwrap_or(&Duration::ZERO)),
            ms(take_times[take_times.len() / 2]),
            ms(take_times[take_times.len() * 9 / 10]),
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
