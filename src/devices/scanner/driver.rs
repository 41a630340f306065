//! Reads a serial (USB-CDC or RS-232) scanner on its own thread and reports what happens.
//!
//! The thread opens the port, frames the bytes with the profile's `Framer` and sends every
//! code, every change of state (online, offline with the reason) and every dropped partial
//! frame down a channel. When the port goes away (the cable is pulled: the read fails with a
//! hang-up, or the device path disappears) the scanner is reported offline at once, any
//! half-received code is dropped, and the thread tries to reopen the path with a backoff of
//! 100 ms doubling to 2 s, so a scanner that is plugged back in is read again within 2 s
//! with no restart. Nothing here panics on a device fault.

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use super::profile::{FramingSettings, SerialSettings};
use super::protocol::{escape_frame, FrameEvent, Framer};

/// How long one read waits: bounds how late an idle gap or a stop request is noticed.
const READ_SLICE: Duration = Duration::from_millis(20);

/// First and longest wait between attempts to reopen a missing port.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// What a serial scanner needs to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerConfig {
    /// The device path, e.g. `/dev/ttyACM0` or a stable `/dev/serial/by-id/...` link.
    pub path: PathBuf,
    pub serial: SerialSettings,
    pub framing: FramingSettings,
}

/// Something the scanner thread reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ScannerEvent {
    /// The port is open and being read.
    Online { port: String },
    /// The port is not readable; the thread keeps trying to reopen it.
    Offline { port: String, error: String },
    /// A complete code: `raw` without the framing (to be normalised with
    /// `domain::codes::normalise`), `frame` the received bytes made readable.
    Code { raw: String, frame: String },
    /// Bytes that did not make a complete code, and why.
    Dropped { frame: String, reason: String },
}

/// The scanner's state for a device panel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ScannerStatus {
    pub port: String,
    pub online: bool,
    /// Why it is offline, or the last problem.
    pub error: Option<String>,
    /// The last frame received (complete or dropped), made readable.
    pub last_frame: Option<String>,
    /// Codes delivered since the thread started.
    pub codes: u64,
}

/// The running scanner thread. Dropping it stops the thread.
pub struct ScannerHandle {
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<ScannerStatus>>,
    thread: Option<JoinHandle<()>>,
}

impl ScannerHandle {
    /// A snapshot of the scanner's state.
    pub fn status(&self) -> ScannerStatus {
        lock(&self.status).clone()
    }

    /// Stops the thread and waits for it (at most one read slice or backoff step).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ScannerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn lock(m: &Mutex<ScannerStatus>) -> std::sync::MutexGuard<'_, ScannerStatus> {
    // The status is plain data written field by field; a poisoned lock still holds a
    // usable value.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts reading the scanner on a new thread. Events arrive on the returned channel in
/// the order they happened; the thread ends when the handle is dropped.
pub fn spawn(
    config: ScannerConfig,
) -> io::Result<(ScannerHandle, mpsc::UnboundedReceiver<ScannerEvent>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let status = Arc::new(Mutex::new(ScannerStatus {
        port: config.path.display().to_string(),
        ..ScannerStatus::default()
    }));
    let worker = Worker {
        config,
        stop: Arc::clone(&stop),
        status: Arc::clone(&status),
        tx,
    };
    let thread = std::thread::Builder::new()
        .name("scanner".into())
        .spawn(move || worker.run())?;
    Ok((
        ScannerHandle {
            stop,
            status,
            thread: Some(thread),
        },
        rx,
    ))
}

struct Worker {
    config: ScannerConfig,
    stop: Arc<AtomicBool>,
    status: Arc<Mutex<ScannerStatus>>,
    tx: mpsc::UnboundedSender<ScannerEvent>,
}

impl Worker {
    fn port_name(&self) -> String {
        self.config.path.display().to_string()
    }

    fn stopped(&self) -> bool {
        // A closed channel means nobody listens any more: stop as well.
        self.stop.load(Ordering::SeqCst) || self.tx.is_closed()
    }

    fn send(&self, event: ScannerEvent) {
        let _ = self.tx.send(event);
    }

    fn run(self) {
        let mut framer = self.config.framing.framer();
        let mut backoff = BACKOFF_START;
        // Offline is reported once per outage (and once at the start when the port is not
        // there); later failed attempts only update the status.
        let mut offline_reported = false;
        while !self.stopped() {
            match self.open() {
                Ok(port) => {
                    backoff = BACKOFF_START;
                    self.went_online();
                    let error = self.read_until_gone(port, &mut framer);
                    if let Some(dropped) = framer.reset() {
                        self.deliver(dropped);
                    }
                    if self.stopped() {
                        break;
                    }
                    self.went_offline(&error, true);
                    offline_reported = true;
                }
                Err(error) => {
                    self.went_offline(&error, !offline_reported);
                    offline_reported = true;
                    self.pause(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    fn open(&self) -> Result<Box<dyn serialport::SerialPort>, String> {
        let path = self.port_name();
        if !self.config.path.exists() {
            return Err(format!("{path} is not there (unplugged?)"));
        }
        self.config
            .serial
            .builder(&path)
            .timeout(READ_SLICE)
            .open()
            .map_err(|e| format!("cannot open {path}: {e}"))
    }

    fn went_online(&self) {
        {
            let mut s = lock(&self.status);
            s.online = true;
            s.error = None;
        }
        tracing::info!(port = %self.port_name(), "scanner online");
        self.send(ScannerEvent::Online {
            port: self.port_name(),
        });
    }

    fn went_offline(&self, error: &str, report: bool) {
        {
            let mut s = lock(&self.status);
            s.online = false;
            s.error = Some(error.to_string());
        }
        if !report {
            return;
        }
        tracing::warn!(port = %self.port_name(), error, "scanner offline");
        self.send(ScannerEvent::Offline {
            port: self.port_name(),
            error: error.to_string(),
        });
    }

    /// Sleeps for `d` in short slices so a stop request is not kept waiting.
    fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(READ_SLICE));
        }
    }

    /// Reads until the port fails or disappears; returns why.
    fn read_until_gone(
        &self,
        mut port: Box<dyn serialport::SerialPort>,
        framer: &mut Framer,
    ) -> String {
        let mut buf = [0u8; 1024];
        let mut last_check = Instant::now();
        loop {
            if self.stopped() {
                return "stopped".into();
            }
            match port.read(&mut buf) {
                Ok(0) => return "the port reported end of data (unplugged?)".into(),
                Ok(n) => {
                    for event in framer.feed(&buf[..n], Instant::now()) {
                        self.deliver(event);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    for event in framer.tick(Instant::now()) {
                        self.deliver(event);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return format!("reading {}: {e} (unplugged?)", self.port_name()),
            }
            // Some USB serial drivers keep a dead descriptor quiet instead of failing it;
            // the device node going away tells as well.
            if last_check.elapsed() >= Duration::from_millis(250) {
                last_check = Instant::now();
                if !self.config.path.exists() {
                    return format!("{} disappeared (unplugged?)", self.port_name());
                }
            }
        }
    }

    fn deliver(&self, event: FrameEvent) {
        match event {
            FrameEvent::Code { raw, frame } => {
                let frame = escape_frame(&frame);
                {
                    let mut s = lock(&self.status);
                    s.codes += 1;
                    s.last_frame = Some(frame.clone());
                }
                self.send(ScannerEvent::Code { raw, frame });
            }
            FrameEvent::Dropped { frame, reason } => {
                let frame = escape_frame(&frame);
                lock(&self.status).last_frame = Some(frame.clone());
                tracing::warn!(port = %self.port_name(), %frame, reason = reason.describe(), "scanner bytes dropped");
                self.send(ScannerEvent::Dropped {
                    frame,
                    reason: reason.describe().to_string(),
                });
            }
        }
    }
}
