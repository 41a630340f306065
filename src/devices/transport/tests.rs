//! Every transport against a real counterpart: the TCP emulator (accepting, refusing,
//! dropping), a spool folder, a file, a pty standing in for a serial printer, and a fake
//! `lp` script.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;

use serialport::SerialPort;

use super::*;
use crate::devices::printer::PrinterEmulator;

const ZPL: &[u8] = b"^XA^CI28^PW812^LL1218^FO10,10^GB100,100,3^FS^XZ\n";
const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn specs_parse_and_print_back() {
    for (spec, expected) in [
        ("none", Transport::None),
        ("emulator", Transport::Emulator(None)),
        (
            "tcp://10.0.0.5:9100",
            Transport::Tcp {
                addr: "10.0.0.5:9100".into(),
            },
        ),
        (
            "tcp://printer-1",
            Transport::Tcp {
                addr: "printer-1:9100".into(),
            },
        ),
        (
            "tcp://[::1]",
            Transport::Tcp {
                addr: "[::1]:9100".into(),
            },
        ),
        (
            "file:/dev/usb/lp0",
            Transport::File {
                path: "/dev/usb/lp0".into(),
            },
        ),
        (
            "spool:/var/spool/labels",
            Transport::Spool {
                dir: "/var/spool/labels".into(),
            },
        ),
        (
            "lp:Zebra_ZD421",
            Transport::Lp {
                queue: "Zebra_ZD421".into(),
                raw: false,
                program: "lp".into(),
            },
        ),
    ] {
        assert_eq!(Transport::parse(spec).as_ref(), Ok(&expected), "{spec}");
    }
    assert_eq!(
        Transport::parse("tcp://10.0.0.5:9100").unwrap().to_string(),
        "tcp://10.0.0.5:9100"
    );
    assert_eq!(
        Transport::parse("lp:labels?raw=1").unwrap().to_string(),
        "lp:labels?raw=1"
    );
    let Ok(Transport::Serial { path, settings }) =
        Transport::parse("serial:/dev/ttyUSB0?baud=19200&flow=hardware&parity=even")
    else {
        panic!("a serial spec")
    };
    assert_eq!(path, PathBuf::from("/dev/ttyUSB0"));
    assert_eq!(settings.baud, 19200);
    assert_eq!(settings.flow_control, FlowControl::Hardware);
    assert_eq!(settings.parity, Parity::Even);
    assert_eq!(
        Transport::parse("serial:/dev/ttyUSB0").unwrap().to_string(),
        "serial:/dev/ttyUSB0?baud=9600"
    );

    for bad in [
        "tcp://",
        "tcp://host:99999",
        "tcp://host:0",
        "serial:",
        "serial:/dev/ttyUSB0?baud=fast",
        "serial:/dev/ttyUSB0?speed=1",
        "file:",
        "lp:",
        "lp:my queue",
        "lp:-x",
        "lp:q?color=1",
        "spool:",
        "http://printer",
        "ipp://printer/queue",
    ] {
        let e = Transport::parse(bad).expect_err(bad);
        assert!(e.contains(bad), "{e}");
    }
}

#[test]
fn nothing_to_print_to_is_a_clear_error() {
    let e = Transport::None.send(ZPL).unwrap_err();
    assert_eq!(e.kind, FailureKind::Config);
    assert!(e.to_string().contains("no printer"), "{e}");
    let e = Transport::Emulator(None).send(ZPL).unwrap_err();
    assert!(e.to_string().contains("emulator is not running"), "{e}");
    let e = Transport::Spool { dir: "/tmp".into() }
        .send(b"")
        .unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_is_acknowledged_only_when_the_printer_took_the_job() {
    let printer = PrinterEmulator::start("127.0.0.1:0", None)
        .await
        .expect("starts");
    let t = Transport::parse(&format!("tcp://{}", printer.addr())).expect("spec");
    let emulated = Transport::parse("emulator")
        .expect("spec")
        .with_emulator(Some(printer.addr()));

    // Accepting: the job is stored before the send returns.
    let done = t
        .send_async(ZPL.to_vec(), None, LIMIT)
        .await
        .expect("accepted");
    assert!(done.detail.contains("bytes"), "{done:?}");
    emulated
        .send_async(ZPL.to_vec(), None, LIMIT)
        .await
        .expect("accepted");
    assert_eq!(printer.jobs().len(), 2);
    assert_eq!(printer.jobs()[0].bytes, ZPL);
    assert!(t.probe_async().await.is_online());

    // Refusing (reset at once) and dropping (accept, then close unread): never acknowledged,
    // whatever the job's size.
    for mode in ["refuse", "drop"] {
        printer.set_refuse(mode == "refuse");
        printer.set_drop(mode == "drop");
        for size in [ZPL.len(), 4 * 1024 * 1024] {
            let mut job = ZPL.to_vec();
            job.resize(size, b' ');
            let e = t
                .send_async(job, None, LIMIT)
                .await
                .expect_err("not acknowledged");
            assert_eq!(e.kind, FailureKind::Rejected, "{mode} {size}: {e}");
            assert!(e.to_string().contains(&printer.addr().to_string()), "{e}");
        }
    }
    assert_eq!(
        printer.jobs().len(),
        2,
        "nothing stored while refusing or dropping"
    );

    printer.set_drop(false);
    printer.set_refuse(false);
    t.send_async(ZPL.to_vec(), None, LIMIT)
        .await
        .expect("accepted again");
    assert_eq!(printer.jobs().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_that_is_off_is_offline() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let t = Transport::parse(&format!("tcp://127.0.0.1:{port}")).expect("spec");
    let e = t.send_async(ZPL.to_vec(), None, LIMIT).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Offline, "{e}");
    assert!(e.message.contains("cannot connect"), "{e}");
    let started = Instant::now();
    assert!(!t.probe_async().await.is_online());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn spool_renames_complete_files_into_the_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spool = dir.path().join("out");
    let t = Transport::parse(&format!("spool:{}", spool.display())).expect("spec");
    assert!(
        t.probe().is_online(),
        "a missing folder under an existing one is created"
    );
    let a = t
        .deliver(ZPL, Some("600012345671"), LIMIT)
        .expect("spooled");
    let b = t
        .deliver(ZPL, Some("600012345671"), LIMIT)
        .expect("spooled");
    let pdf = t.deliver(b"%PDF-1.7 ...", None, LIMIT).expect("spooled");
    assert_ne!(a.detail, b.detail, "the same name twice makes two files");
    assert!(a.detail.ends_with("-600012345671.zpl"), "{}", a.detail);
    assert!(pdf.detail.ends_with(".pdf"), "{}", pdf.detail);
    assert_eq!(std::fs::read(&a.detail).expect("written"), ZPL);
    let names: Vec<String> = std::fs::read_dir(&spool)
        .expect("folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "no temporary files: {names:?}"
    );
    // A hint with a path in it cannot escape the folder.
    let odd = t
        .deliver(ZPL, Some("../../etc/passwd"), LIMIT)
        .expect("spooled");
    assert!(Path::new(&odd.detail).starts_with(&spool), "{}", odd.detail);
}

#[test]
fn spool_into_an_unusable_place_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("write");
    let t = Transport::Spool {
        dir: blocker.join("sub"),
    };
    let e = t.send(ZPL).unwrap_err();
    assert_eq!(e.kind, FailureKind::Io, "{e}");
    assert!(!t.probe().is_online());
}

#[test]
fn a_device_file_is_written_and_flushed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dev = dir.path().join("lp0");
    std::fs::write(&dev, b"").expect("create");
    let t = Transport::parse(&format!("file:{}", dev.display())).expect("spec");
    assert!(t.probe().is_online());
    t.send(ZPL).expect("written");
    t.send(b"SIZE 50 mm,30 mm\r\nCLS\r\nPRINT 1\r\n")
        .expect("written");
    let got = std::fs::read(&dev).expect("read");
    assert!(
        got.starts_with(ZPL) && got.ends_with(b"PRINT 1\r\n"),
        "jobs are appended"
    );

    let missing = Transport::File {
        path: dir.path().join("lp9"),
    };
    let e = missing.send(ZPL).unwrap_err();
    assert_eq!(e.kind, FailureKind::Offline, "{e}");
    assert!(e.message.contains("not there"), "{e}");
    assert!(
        !dir.path().join("lp9").exists(),
        "a wrong path is never created"
    );
    assert!(!missing.probe().is_online());
}

#[test]
fn a_serial_printer_gets_every_byte() {
    let (mut master, slave) = serialport::TTYPort::pair().expect("pty");
    let name = slave.name().expect("name");
    let t = Transport::parse(&format!("serial:{name}?baud=115200")).expect("spec");
    assert!(t.probe().is_online());
    let job: Vec<u8> = ZPL.iter().copied().cycle().take(3000).collect();
    let expected = job.clone();
    // Read on another thread: the pty's buffer is smaller than some jobs.
    let reader = std::thread::spawn(move || {
        master
            .set_timeout(Duration::from_millis(200))
            .expect("timeout");
        let mut got = Vec::new();
        let mut buf = [0u8; 512];
        let until = Instant::now() + LIMIT;
        while got.len() < expected.len() && Instant::now() < until {
            match master.read(&mut buf) {
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("reading the master: {e}"),
            }
        }
        got
    });
    t.send(&job).expect("sent");
    assert_eq!(reader.join().expect("reader"), job);
    drop(slave);

    let gone = Transport::parse("serial:/dev/packbench-no-such-tty").expect("spec");
    let e = gone.send(ZPL).unwrap_err();
    assert_eq!(e.kind, FailureKind::Offline, "{e}");
}

/// Writes an executable script `name` into `dir` and returns its path.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

#[test]
fn lp_is_acknowledged_when_it_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lp = script(
        dir.path(),
        "lp",
        r#"here=$(dirname "$0")
echo "$@" > "$here/args"
cat > "$here/job"
echo "request id is labels-42 (1 file(s))""#,
    );
    let t = Transport::Lp {
        queue: "labels".into(),
        raw: true,
        program: lp,
    };
    let pdf = b"%PDF-1.7 a label".to_vec();
    let done = t.deliver(&pdf, None, LIMIT).expect("printed");
    assert_eq!(done.detail, "request id is labels-42 (1 file(s))");
    assert_eq!(std::fs::read(dir.path().join("job")).expect("job"), pdf);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("args"))
            .expect("args")
            .trim(),
        "-d labels -o raw"
    );
}

#[test]
fn lp_failing_or_missing_is_not_acknowledged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lp = script(
        dir.path(),
        "lp",
        r#"cat > /dev/null
echo "lp: The printer or class does not exist." >&2
exit 1"#,
    );
    let t = Transport::Lp {
        queue: "nope".into(),
        raw: false,
        program: lp,
    };
    let e = t.send(b"%PDF-1.7").unwrap_err();
    assert_eq!(e.kind, FailureKind::Rejected, "{e}");
    assert!(
        e.message.contains("exit 1") && e.message.contains("does not exist"),
        "{e}"
    );

    let missing = Transport::Lp {
        queue: "labels".into(),
        raw: false,
        program: dir.path().join("no-lp-here"),
    };
    let e = missing.send(b"%PDF-1.7").unwrap_err();
    assert_eq!(e.kind, FailureKind::Config, "{e}");
    assert!(e.message.contains("not installed"), "{e}");
    assert!(!missing.probe().is_online(), "no lpstat beside it");

    // A queue CUPS reports as disabled is offline.
    let lpstat_dir = tempfile::tempdir().expect("temp dir");
    script(
        lpstat_dir.path(),
        "lpstat",
        r#"echo "printer labels disabled since Mon - Paused""#,
    );
    let paused = Transport::Lp {
        queue: "labels".into(),
        raw: false,
        program: lpstat_dir.path().join("lp"),
    };
    assert!(!paused.probe().is_online());
}

#[test]
fn an_lp_that_hangs_times_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lp = script(dir.path(), "lp", "cat > /dev/null\nsleep 5");
    let t = Transport::Lp {
        queue: "labels".into(),
        raw: false,
        program: lp,
    };
    let started = Instant::now();
    let e = t
        .deliver(b"%PDF", None, Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Timeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}
