//! Tests across protocols: helpers for the per-protocol tables, property tests (no byte
//! stream panics a parser; chunking never changes what it finds; a stable reading only ever
//! comes from a well-formed stable frame), and the simulator → pty → driver path with
//! unplug and replug.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::driver::ScaleEvent;
use super::profile::{find, Protocol, ScaleProfile, EMBEDDED};
use super::sim::{encode, Sample, ScaleSim};
use super::units::Unit;
use super::{Frame, Reading, ScaleDriver, ScaleParser, ScaleState, WeightKind};

pub fn profile(name: &str) -> ScaleProfile {
    find(name, None).unwrap()
}

/// Every frame found in `chunks`, fed in order to a parser that starts out of step.
pub fn feed_all(p: &ScaleProfile, chunks: &[&[u8]]) -> Vec<Frame> {
    let mut parser = ScaleParser::new(p);
    chunks.iter().flat_map(|c| parser.feed(c)).collect()
}

pub fn readings(p: &ScaleProfile, chunks: &[&[u8]]) -> Vec<Reading> {
    feed_all(p, chunks)
        .into_iter()
        .filter_map(|f| match f {
            Frame::Reading(r) => Some(r),
            _ => None,
        })
        .collect()
}

pub fn stable_grams(p: &ScaleProfile, chunks: &[&[u8]]) -> Vec<i64> {
    readings(p, chunks)
        .into_iter()
        .filter_map(|r| r.stable_grams())
        .collect()
}

fn names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(n, _)| *n).collect()
}

/// A sample each profile's frames can carry exactly (its unit, enough decimals).
fn sample(p: &ScaleProfile, grams: i64, motion: bool) -> Sample {
    let mut s = Sample::for_profile(grams, p);
    s.motion = motion;
    if matches!(s.unit, Unit::Kg) {
        s.decimals = 3;
    }
    s
}

/// Which grams a profile can send and get back exactly.
fn sendable(p: &ScaleProfile, grams: i64) -> bool {
    match p.protocol {
        // The 8217, the PD-II and the HID report carry no sign (a weight below zero is a
        // status); the 8217 and the PD-II have 5 to 7 digits.
        Protocol::Toledo8217 | Protocol::CasPd2 => (0..=99_999).contains(&grams),
        Protocol::HidPos => (0..=65_535).contains(&grams),
        _ => (-99_999..=99_999).contains(&grams),
    }
}

/// The frame preamble a parser that starts out of step needs (one frame end).
fn preamble(p: &ScaleProfile) -> &'static [u8] {
    match p.protocol {
        Protocol::HidPos => &[3, 4, 2, 0, 0, 0], // the skipped first report
        _ => b"\r\n",
    }
}

#[test]
fn every_profile_reads_back_what_its_simulator_writes() {
    for name in names() {
        let p = profile(name);
        for grams in [0i64, 1, 1250, 20_000, -250] {
            if !sendable(&p, grams) {
                continue;
            }
            let mut stream = preamble(&p).to_vec();
            for _ in 0..p.stability.confirm {
                stream.extend(encode(&p, &sample(&p, grams, false)));
            }
            let got = stable_grams(&p, &[&stream]);
            assert_eq!(got.last(), Some(&grams), "{name} {grams}");
            // In motion: never stable (a scale without a motion flag sends nothing).
            let mut stream = preamble(&p).to_vec();
            for _ in 0..3 {
                stream.extend(encode(&p, &sample(&p, grams, true)));
            }
            assert!(
                stable_grams(&p, &[&stream]).is_empty(),
                "{name} moving {grams}"
            );
        }
    }
}

#[test]
fn overload_is_never_a_stable_weight() {
    for name in names() {
        let p = profile(name);
        let mut s = sample(&p, 5000, false);
        s.state = ScaleState::Overload;
        let mut stream = preamble(&p).to_vec();
        for _ in 0..3 {
            stream.extend(encode(&p, &s));
        }
        let frames = feed_all(&p, &[&stream]);
        let silent_on_overload = p.protocol == Protocol::CasPd2
            || p.ascii
                .as_ref()
                .is_some_and(|a| a.overload_markers.is_empty());
        if silent_on_overload {
            continue; // the PD-II only says `?`; an ASCII scale with no marker cannot say
        }
        assert!(
            frames
                .iter()
                .all(|f| !matches!(f, Frame::Reading(r) if r.stable)),
            "{name}: {frames:?}"
        );
        assert!(
            frames.iter().any(|f| match f {
                Frame::Reading(r) => r.state == ScaleState::Overload,
                Frame::Status { state, .. } => *state == ScaleState::Overload,
                _ => false,
            }),
            "{name}: {frames:?}"
        );
    }
}

#[test]
fn units_convert_in_every_protocol_that_names_them() {
    for name in [
        "cas-ci200",
        "mettler-mtsics",
        "and-fx",
        "nci-sma",
        "generic-ascii",
        "hid-pos",
    ] {
        let p = profile(name);
        for (unit, grams) in [
            (Unit::Kg, 1250i64),
            (Unit::Lb, 1000),
            (Unit::Oz, 454),
            (Unit::G, 800),
        ] {
            let mut s = Sample::new(grams, unit);
            if p.protocol == Protocol::HidPos && unit == Unit::G {
                s.decimals = 0;
            }
            let mut stream = preamble(&p).to_vec();
            stream.extend(encode(&p, &s));
            let r = readings(&p, &[&stream]);
            assert_eq!(r.len(), 1, "{name} {unit}");
            assert_eq!((r[0].grams, r[0].unit), (grams, unit), "{name} {unit}");
        }
    }
}

/// A stream of frames with garbage between them. Garbage holds no digit, sign, frame start
/// or frame end, so it cannot form a frame of its own (it may still spoil the frame after
/// it). A stray sign right before a line with no start byte would read as the line's sign:
/// no parser can tell, which is why the ASCII protocols ask for confirmation where they can.
/// A profile index, the parts (grams, in motion, garbage before it) and the cuts.
type Stream = (usize, Vec<(i64, bool, Vec<u8>)>, Vec<usize>);

fn stream_strategy() -> impl Strategy<Value = Stream> {
    let garbage = proptest::collection::vec(
        any::<u8>().prop_filter("no digit, sign or frame byte", |b| {
            !b.is_ascii_digit() && ![0x02, 0x03, b'\r', b'\n', b'?', b'+', b'-'].contains(b)
        }),
        0..12,
    );
    let part = (-99_999i64..99_999, any::<bool>(), garbage);
    (
        0..EMBEDDED.len(),
        proptest::collection::vec(part, 1..12),
        proptest::collection::vec(0usize..400, 0..12),
        any::<bool>(),
    )
        .prop_map(|(which, mut parts, cuts, clean)| {
            // Half the streams carry no garbage, so every frame must come through.
            if clean {
                for part in &mut parts {
                    part.2.clear();
                }
            }
            (which, parts, cuts)
        })
}

fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0;
    for c in cuts {
        out.push(&bytes[at..c]);
        at = c;
    }
    out.push(&bytes[at..]);
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_byte_stream_panics_a_parser(
        which in 0..EMBEDDED.len(),
        data in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0usize..600, 0..8),
    ) {
        let p = profile(EMBEDDED[which].0);
        let frames = feed_all(&p, &split(&data, &cuts));
        for f in frames {
            prop_assert!(f.raw().len() <= 4 * 128 + 16);
        }
    }

    #[test]
    fn chunking_never_changes_what_is_found(
        (which, parts, cuts) in stream_strategy(),
    ) {
        let p = profile(EMBEDDED[which].0);
        let mut bytes = preamble(&p).to_vec();
        for (grams, motion, garbage) in &parts {
            bytes.extend(garbage);
            if sendable(&p, *grams) {
                bytes.extend(encode(&p, &sample(&p, *grams, *motion)));
            }
        }
        let whole = feed_all(&p, &[&bytes]);
        let pieces = feed_all(&p, &split(&bytes, &cuts));
        prop_assert_eq!(whole, pieces);
    }

    #[test]
    fn a_stable_reading_is_always_an_inserted_stable_frame(
        (which, parts, cuts) in stream_strategy(),
    ) {
        let p = profile(EMBEDDED[which].0);
        let mut bytes = preamble(&p).to_vec();
        let mut inserted = Vec::new();
        for (grams, motion, garbage) in &parts {
            // A hidraw read is one whole report: garbage cannot precede a report there.
            if p.protocol != Protocol::HidPos {
                bytes.extend(garbage);
            }
            if sendable(&p, *grams) {
                bytes.extend(encode(&p, &sample(&p, *grams, *motion)));
                if !motion {
                    inserted.push(*grams);
                }
            }
        }
        let got = stable_grams(&p, &split(&bytes, &cuts));
        for g in &got {
            prop_assert!(inserted.contains(g), "{} reported {} from {:?}", p.name, g, inserted);
        }
        // With no garbage at all, every stable frame (after confirmation) comes through.
        let clean = parts
            .iter()
            .all(|(g, _, garbage)| (garbage.is_empty() || p.protocol == Protocol::HidPos) && sendable(&p, *g));
        if clean && p.stability.confirm == 1 {
            prop_assert_eq!(got, inserted);
        }
    }
}

// ----- through a pty -------------------------------------------------------------------

/// Waits for an event matching `want`, up to a generous deadline.
fn wait_for(
    rx: &std::sync::mpsc::Receiver<ScaleEvent>,
    what: &str,
    want: impl Fn(&ScaleEvent) -> bool,
) -> ScaleEvent {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("no {what} within 10 s"),
        }
    }
}

fn stable_reading(grams: i64) -> impl Fn(&ScaleEvent) -> bool {
    move |e| matches!(e, ScaleEvent::Frame(Frame::Reading(r)) if r.stable && r.grams == grams)
}

#[test]
fn simulated_scales_reach_the_driver_and_survive_unplugging() {
    // One streaming and one request-mode protocol, through a real pty.
    for name in ["cas-ci200", "toledo-8217"] {
        let p = profile(name);
        let sim = ScaleSim::start_temp(&p, 1250).unwrap();
        sim.set_interval(Duration::from_millis(20));
        sim.set_noise(true);
        let (driver, rx) = ScaleDriver::with_channel(&sim.port(), p.clone());
        wait_for(&rx, "online", |e| matches!(e, ScaleEvent::Online { .. }));
        wait_for(&rx, "1250 g", stable_reading(1250));
        sim.set_motion(true);
        wait_for(&rx, "motion", |e| {
            matches!(e, ScaleEvent::Frame(Frame::Reading(r)) if !r.stable)
                || matches!(
                    e,
                    ScaleEvent::Frame(Frame::Status {
                        state: ScaleState::NotReady,
                        ..
                    })
                )
        });
        sim.set_grams(-20);
        if name == "cas-ci200" {
            wait_for(&rx, "-20 g", stable_reading(-20));
        }
        sim.set_grams(2000);
        wait_for(&rx, "2000 g", stable_reading(2000));

        let unplugged = Instant::now();
        sim.unplug();
        wait_for(&rx, "offline", |e| matches!(e, ScaleEvent::Offline { .. }));
        assert!(!driver.status().online);
        let took = unplugged.elapsed();
        assert!(took < Duration::from_secs(5), "offline after {took:?}");
        // While unplugged, readings stop; then the scale comes back at another pts.
        std::thread::sleep(Duration::from_millis(300));
        sim.set_grams(3000);
        sim.replug().unwrap();
        wait_for(&rx, "online again", |e| {
            matches!(e, ScaleEvent::Online { .. })
        });
        wait_for(&rx, "3000 g", stable_reading(3000));
        let st = driver.status();
        assert!(st.online && st.frames > 0, "{st:?}");
        driver.stop();
    }
}

#[test]
fn a_hid_scale_read_as_a_file_with_its_stale_first_report() {
    let p = profile("hid-pos");
    let sim = ScaleSim::start_temp(&p, 1250).unwrap();
    sim.set_interval(Duration::from_millis(20));
    let (driver, rx) = ScaleDriver::with_channel(&sim.port(), p);
    wait_for(&rx, "1250 g", stable_reading(1250));
    // Switching itself off: the device disappears, and comes back.
    sim.unplug();
    wait_for(&rx, "offline", |e| matches!(e, ScaleEvent::Offline { .. }));
    sim.set_grams(700);
    sim.replug().unwrap();
    wait_for(&rx, "700 g", stable_reading(700));
    drop(driver);
}

#[test]
fn a_port_that_is_not_there_is_offline_then_found() {
    let p = profile("and-fx");
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("scale");
    let (driver, rx) = ScaleDriver::with_channel(&link.display().to_string(), p.clone());
    match wait_for(&rx, "offline", |e| matches!(e, ScaleEvent::Offline { .. })) {
        ScaleEvent::Offline { error } => assert!(error.contains("cannot open"), "{error}"),
        _ => unreachable!(),
    }
    let sim = ScaleSim::start(&p, &link, 410).unwrap();
    sim.set_interval(Duration::from_millis(20));
    wait_for(&rx, "410 g", stable_reading(410));
    drop(driver);
}

#[test]
fn a_silent_scale_is_reported_offline_and_back() {
    let mut p = profile("cas-ci200");
    p.request.offline_after_ms = 500;
    let sim = ScaleSim::start_temp(&p, 100).unwrap();
    sim.set_interval(Duration::from_millis(20));
    let (driver, rx) = ScaleDriver::with_channel(&sim.port(), p);
    wait_for(&rx, "100 g", stable_reading(100));
    sim.set_interval(Duration::from_secs(3600));
    match wait_for(&rx, "offline", |e| matches!(e, ScaleEvent::Offline { .. })) {
        ScaleEvent::Offline { error } => assert!(error.contains("no data"), "{error}"),
        _ => unreachable!(),
    }
    drop(driver);
    drop(sim);
}

#[test]
fn specs_name_a_port_and_a_profile() {
    use super::driver::parse_spec;
    let s = parse_spec("serial:/dev/ttyUSB0?profile=cas-ci200").unwrap();
    assert_eq!(
        (s.port.as_str(), s.profile.as_str(), s.hid),
        ("/dev/ttyUSB0", "cas-ci200", false)
    );
    assert_eq!(s.load_profile(None).unwrap().name, "cas-ci200");
    let s = parse_spec("hid:/dev/hidraw0").unwrap();
    assert_eq!((s.profile.as_str(), s.hid), ("hid-pos", true));
    assert!(s.load_profile(None).is_ok());
    for bad in [
        "/dev/ttyUSB0",
        "usb:/dev/ttyUSB0?profile=adam",
        "serial:/dev/ttyUSB0",
        "serial:?profile=adam",
        "serial:/dev/ttyUSB0?baud=9600",
    ] {
        assert!(parse_spec(bad).is_err(), "{bad}");
    }
    let e = parse_spec("serial:/dev/x?profile=nope")
        .unwrap()
        .load_profile(None)
        .unwrap_err();
    assert!(e.to_string().contains("known: adam"), "{e}");
    let e = parse_spec("hid:/dev/x?profile=adam")
        .unwrap()
        .load_profile(None)
        .unwrap_err();
    assert!(e.to_string().contains("serial"), "{e}");
}

#[test]
fn readings_serialise_for_the_page_and_the_cli() {
    let r = Reading {
        grams: 1250,
        stable: true,
        kind: WeightKind::Gross,
        state: ScaleState::Ok,
        at_zero: false,
        unit: Unit::Kg,
        raw: "ST,GS,+001.250kg".into(),
    };
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"grams": 1250, "stable": true, "kind": "gross", "state": "ok",
            "at_zero": false, "unit": "kg", "raw": "ST,GS,+001.250kg"})
    );
    let e = serde_json::to_value(ScaleEvent::Frame(Frame::Reading(r))).unwrap();
    assert_eq!(
        (e["event"].as_str(), e["type"].as_str()),
        (Some("frame"), Some("reading"))
    );
    assert_eq!(e["grams"], 1250);
    let e = serde_json::to_value(ScaleEvent::Offline {
        error: "gone".into(),
    })
    .unwrap();
    assert_eq!(e, serde_json::json!({"event": "offline", "error": "gone"}));
}
