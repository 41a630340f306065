//! The scanner driver against the pty simulator: codes, AIM identifiers, idle-gap framing,
//! unplugging and plugging back in, and spec strings.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;

use super::*;

/// Generous: the driver is quick, a loaded CI machine may not be.
const WAIT: Duration = Duration::from_secs(5);

fn config_for(sim: &ScannerSim, suffix: &str) -> ScannerConfig {
    let (serial, mut framing) = default_settings();
    framing.suffix = suffix.to_string();
    ScannerConfig {
        path: sim.path().to_path_buf(),
        serial,
        framing,
    }
}

async fn next(rx: &mut UnboundedReceiver<ScannerEvent>) -> ScannerEvent {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("an event in time")
        .expect("the driver is running")
}

/// Waits for the next event of the wanted kind, collecting the codes seen on the way.
async fn until(
    rx: &mut UnboundedReceiver<ScannerEvent>,
    codes: &mut Vec<String>,
    wanted: fn(&ScannerEvent) -> bool,
) -> ScannerEvent {
    loop {
        let e = next(rx).await;
        if let ScannerEvent::Code { raw, .. } = &e {
            codes.push(raw.clone());
        }
        if wanted(&e) {
            return e;
        }
    }
}

fn is_online(e: &ScannerEvent) -> bool {
    matches!(e, ScannerEvent::Online { .. })
}
fn is_offline(e: &ScannerEvent) -> bool {
    matches!(e, ScannerEvent::Offline { .. })
}
fn is_code(e: &ScannerEvent) -> bool {
    matches!(e, ScannerEvent::Code { .. })
}

#[tokio::test]
async fn codes_arrive_with_their_aim_identifier() {
    let mut sim = ScannerSim::in_temp_dir().expect("pty");
    let (handle, mut rx) = spawn(config_for(&sim, "CR")).expect("spawns");
    let mut codes = Vec::new();
    until(&mut rx, &mut codes, is_online).await;
    sim.type_code("8801234567893").expect("types");
    sim.type_with_aim("]C1", "0109501101530003\u{1d}10AB12")
        .expect("types");
    sim.set_suffix(b"\r\n");
    sim.type_with_aim("]E0", "8801234567893").expect("types");
    for _ in 0..3 {
        until(&mut rx, &mut codes, is_code).await;
    }
    assert_eq!(
        codes,
        vec![
            "8801234567893",
            "]C10109501101530003\u{1d}10AB12",
            "]E08801234567893"
        ]
    );
    // The caller normalises like keyboard input.
    let gs1 = crate::domain::codes::normalise(&codes[1]);
    assert_eq!(gs1.code, "09501101530003");
    assert_eq!(gs1.symbology.as_deref(), Some("]C1"));
    let status = handle.status();
    assert!(status.online);
    assert_eq!(status.codes, 3);
    assert_eq!(status.last_frame.as_deref(), Some("]E08801234567893<CR>"));
}

#[tokio::test]
async fn idle_gap_framing_over_the_pty() {
    let mut sim = ScannerSim::in_temp_dir().expect("pty");
    sim.set_suffix(b"");
    let (_handle, mut rx) = spawn(config_for(&sim, "none")).expect("spawns");
    let mut codes = Vec::new();
    until(&mut rx, &mut codes, is_online).await;
    sim.type_code("ABC-123").expect("types");
    until(&mut rx, &mut codes, is_code).await;
    assert_eq!(codes, vec!["ABC-123"]);
}

#[tokio::test]
async fn unplug_goes_offline_drops_the_partial_code_and_replug_resumes() {
    let mut sim = ScannerSim::in_temp_dir().expect("pty");
    let (handle, mut rx) = spawn(config_for(&sim, "CR")).expect("spawns");
    let mut codes = Vec::new();
    until(&mut rx, &mut codes, is_online).await;

    sim.type_code("FIRST").expect("types");
    until(&mut rx, &mut codes, is_code).await;

    // Half a code, then the cable is pulled.
    sim.write_raw(b"HALF-OF-A-CO").expect("types");
    // Let the driver read the half before the hang-up, as on a real line.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let pulled = Instant::now();
    sim.unplug().expect("unplugs");
    let offline = until(&mut rx, &mut codes, is_offline).await;
    assert!(
        pulled.elapsed() < Duration::from_secs(2),
        "offline after {:?}",
        pulled.elapsed()
    );
    let ScannerEvent::Offline { error, .. } = offline else {
        unreachable!()
    };
    assert!(error.contains("unplugged"), "{error}");
    assert!(!handle.status().online);

    // While unplugged the driver keeps trying; nothing else is reported.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(rx.try_recv().is_err(), "one offline event per outage");

    // Plugged back in: a code scanned before the driver reconnects is not lost.
    sim.replug().expect("replugs");
    sim.type_code("SECOND").expect("types");
    until(&mut rx, &mut codes, is_online).await;
    until(&mut rx, &mut codes, is_code).await;
    sim.type_code("THIRD").expect("types");
    until(&mut rx, &mut codes, is_code).await;

    assert_eq!(
        codes,
        vec!["FIRST", "SECOND", "THIRD"],
        "no half code, no duplicate"
    );
    assert!(handle.status().online);
    handle.stop();
}

#[tokio::test]
async fn a_scanner_that_is_not_there_is_offline_until_it_appears() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("scanner");
    let (serial, framing) = default_settings();
    let (handle, mut rx) = spawn(ScannerConfig {
        path: link.clone(),
        serial,
        framing,
    })
    .expect("spawns");
    let first = next(&mut rx).await;
    assert!(is_offline(&first), "{first:?}");
    let mut sim = ScannerSim::new(&link).expect("plugs in");
    let mut codes = Vec::new();
    until(&mut rx, &mut codes, is_online).await;
    sim.type_code("HELLO").expect("types");
    until(&mut rx, &mut codes, is_code).await;
    assert_eq!(codes, vec!["HELLO"]);
    drop(handle);
}

#[test]
fn specs_parse() {
    assert_eq!(ScannerSpec::parse("keyboard"), Ok(ScannerSpec::Keyboard));
    assert_eq!(ScannerSpec::parse(""), Ok(ScannerSpec::Keyboard));
    assert_eq!(ScannerSpec::parse("none"), Ok(ScannerSpec::None));
    assert_eq!(ScannerSpec::parse("sim"), Ok(ScannerSpec::Sim));
    assert_eq!(
        ScannerSpec::parse("serial:/dev/ttyACM0?profile=honeywell&baud=115200"),
        Ok(ScannerSpec::Serial {
            path: "/dev/ttyACM0".into(),
            profile: Some("honeywell".into()),
            baud: Some(115200),
            suffix: None,
        })
    );
    assert_eq!(
        ScannerSpec::parse("serial:/dev/serial/by-id/usb-Honeywell-if00"),
        Ok(ScannerSpec::Serial {
            path: "/dev/serial/by-id/usb-Honeywell-if00".into(),
            profile: None,
            baud: None,
            suffix: None,
        })
    );
    for bad in [
        "usb",
        "serial:",
        "serial:/dev/ttyACM0?baud=fast",
        "serial:/dev/ttyACM0?speed=9600",
        "serial:/dev/ttyACM0?suffix=ETX",
        "serial:/dev/ttyACM0?profile",
    ] {
        let e = ScannerSpec::parse(bad).expect_err(bad);
        assert!(e.contains(bad.split('?').next().unwrap_or(bad)), "{e}");
    }
}

#[test]
fn a_spec_picks_its_profile_and_overrides() {
    let profiles = profile::load_all(None).expect("profiles");
    let spec = ScannerSpec::parse("serial:/dev/ttyACM0?profile=honeywell&suffix=none").unwrap();
    let config = spec.serial_config(&profiles).unwrap().expect("serial");
    assert_eq!(config.serial.baud, 115200);
    assert_eq!(config.framing.suffix, "none");
    let unknown = ScannerSpec::parse("serial:/dev/ttyACM0?profile=acme").unwrap();
    let e = unknown.serial_config(&profiles).unwrap_err();
    assert!(e.contains("acme") && e.contains("honeywell"), "{e}");
    assert_eq!(ScannerSpec::Keyboard.serial_config(&profiles), Ok(None));
}

#[test]
fn watch_lines_show_raw_and_normalised() {
    let e = ScannerEvent::Code {
        raw: "]C10109501101530003".into(),
        frame: "]C10109501101530003<CR>".into(),
    };
    let line = watch_line(&e, false);
    assert!(
        line.contains("09501101530003") && line.contains("GS1-128"),
        "{line}"
    );
    let json: serde_json::Value = serde_json::from_str(&watch_line(&e, true)).expect("json");
    assert_eq!(json["code"], "09501101530003");
    assert_eq!(json["symbology"], "]C1");
    assert_eq!(json["raw"], "]C10109501101530003");
    let off = ScannerEvent::Offline {
        port: "/dev/ttyACM0".into(),
        error: "gone".into(),
    };
    let json: serde_json::Value = serde_json::from_str(&watch_line(&off, true)).expect("json");
    assert_eq!(json["event"], "offline");
}

/// A writer that keeps lines and fails after `limit` of them, which ends `watch`.
struct Lines {
    text: std::sync::Arc<std::sync::Mutex<String>>,
    limit: usize,
}

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut text = self.text.lock().expect("lock");
        if text.matches('\n').count() >= self.limit {
            return Err(std::io::Error::other("enough"));
        }
        text.push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn watch_prints_codes_from_a_real_port() {
    let mut sim = ScannerSim::in_temp_dir().expect("pty");
    sim.type_with_aim("]E0", "8801234567893").expect("types");
    let text = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let mut out = Lines {
        text: std::sync::Arc::clone(&text),
        limit: 2,
    };
    let port = sim.path().to_path_buf();
    let watcher =
        std::thread::spawn(move || watch(&port, Some("honeywell"), None, false, &mut out));
    let started = Instant::now();
    while text.lock().expect("lock").matches('\n').count() < 2 && started.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    // One more event makes the writer fail and `watch` return.
    sim.type_code("X").expect("types");
    let result = watcher.join().expect("watch thread");
    assert!(result.is_err(), "the failing writer ends the watch");
    let text = text.lock().expect("lock").clone();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# online: "), "{text}");
    assert_eq!(
        lines[1],
        "]E08801234567893<CR>  ->  8801234567893  (]E0 EAN-13/UPC)"
    );
    assert!(watch(
        Path::new("/dev/null"),
        Some("acme"),
        None,
        true,
        &mut Vec::new()
    )
    .is_err());
}
