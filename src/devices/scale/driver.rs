//! The scale driver: one thread per scale that owns the port, asks for readings when the
//! profile says so, and reports every frame and every change of the device's state.
//!
//! A serial scale is opened with `serialport` and the profile's line settings; a HID POS
//! scale (`/dev/hidrawN`) is opened as a plain file, non-blocking, so no system library is
//! needed. When the port fails or disappears (USB unplugged, a HID scale switching itself
//! off) the driver reports `Offline` at once, then tries to open it again after 100 ms,
//! doubling up to 2 s, for as long as it runs; when the path is back it reports `Online` and
//! readings resume. A port that stays open but goes silent (a scale switched off behind a
//! USB adapter) is reported offline after the profile's `offline_after_ms`. Nothing here
//! panics on a device fault, and nothing needs a restart.
//!
//! Events go to a callback on the driver's thread, so the caller chooses the channel
//! (`std::sync::mpsc`, or a tokio channel's `send`, which never blocks when unbounded).

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::profile::{self, LookupError, Protocol, ScaleProfile};
use super::{Frame, Reading, ScaleParser};

/// How long a serial read waits for a byte before the driver looks at its clock.
const READ_TIMEOUT: Duration = Duration::from_millis(50);
/// How long the driver sleeps when a non-blocking HID read finds nothing.
const HID_IDLE: Duration = Duration::from_millis(5);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// A session that lasted this long resets the backoff.
const SETTLED_SESSION: Duration = Duration::from_secs(5);

/// What the driver reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum ScaleEvent {
    /// The port is open (or the scale spoke again after a silence).
    Online { port: String },
    /// The port is gone, failed, or the scale is silent. Reported once per outage; the
    /// driver keeps trying and reports `Online` when the scale is back.
    Offline { error: String },
    /// A frame: a reading, a status reply, or a line the profile does not describe.
    Frame(Frame),
}

/// A snapshot of a scale for a device panel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceStatus {
    pub port: String,
    pub profile: String,
    pub online: bool,
    /// Why it is offline (the last error), when it is.
    pub error: Option<String>,
    /// The last frame received, as raw text.
    pub last_raw: Option<String>,
    pub last_reading: Option<Reading>,
    /// Bytes and well-formed frames (readings and status replies) received since the
    /// driver started: bytes with no frames mean a wrong profile or baud rate.
    pub bytes: u64,
    pub frames: u64,
}

struct Shared {
    stop: AtomicBool,
    status: Mutex<DeviceStatus>,
}

impl Shared {
    fn status(&self) -> MutexGuard<'_, DeviceStatus> {
        self.status.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}

/// A running scale driver. Dropping it stops the thread (within about 50 ms) and closes
/// the port.
pub struct ScaleDriver {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl ScaleDriver {
    /// Starts reading the scale at `port` (a serial device such as `/dev/ttyUSB0`, or
    /// `/dev/hidrawN` for a `hid-pos` profile) on its own thread; `sink` gets every event,
    /// on that thread. It never fails: a port that cannot be opened is an `Offline` event
    /// and is retried.
    pub fn start(
        port: &str,
        profile: ScaleProfile,
        sink: impl FnMut(ScaleEvent) + Send + 'static,
    ) -> ScaleDriver {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            status: Mutex::new(DeviceStatus {
                port: port.to_string(),
                profile: profile.name.clone(),
                ..Default::default()
            }),
        });
        let s = Arc::clone(&shared);
        let port = port.to_string();
        let thread = std::thread::Builder::new()
            .name(format!("scale {port}"))
            .spawn(move || run(&s, &port, &profile, Box::new(sink)))
            .ok();
        if thread.is_none() {
            shared.status().error = Some("could not start the driver thread".into());
        }
        ScaleDriver { shared, thread }
    }

    /// `start` with the events delivered to a channel.
    pub fn with_channel(
        port: &str,
        profile: ScaleProfile,
    ) -> (ScaleDriver, mpsc::Receiver<ScaleEvent>) {
        let (tx, rx) = mpsc::channel();
        let driver = ScaleDriver::start(port, profile, move |e| {
            let _ = tx.send(e);
        });
        (driver, rx)
    }

    /// The device's state now.
    pub fn status(&self) -> DeviceStatus {
        self.shared.status().clone()
    }

    /// Stops the driver and waits for its thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ScaleDriver {
    fn drop(&mut self) {
        self.halt();
    }
}

/// An open port.
trait Link: Send {
    /// Reads what arrived; `None` when nothing did within a short wait.
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
}

struct SerialLink(Box<dyn serialport::SerialPort>);

impl Link for SerialLink {
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.0.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the port closed",
            )),
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the device went away (hang-up)",
            )),
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(&mut self.0, bytes)
    }
}

struct HidLink(File);

impl Link for HidLink {
    fn read_some(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.0.read(buf) {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the device closed",
            )),
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                std::thread::sleep(HID_IDLE);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

// `O_NONBLOCK | O_NOCTTY` (std has no constants for them and `libc` is not a dependency):
// a HID read must never block the driver's thread, and a tty opened as a plain file (a
// simulated HID scale on a pty) must never become the process's controlling terminal.
#[cfg(all(target_os = "linux", any(target_arch = "mips", target_arch = "mips64")))]
const OPEN_FLAGS: i32 = 0x80 | 0x800;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "sparc", target_arch = "sparc64")
))]
const OPEN_FLAGS: i32 = 0x4000 | 0x8000;
#[cfg(all(
    target_os = "linux",
    not(any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))
))]
const OPEN_FLAGS: i32 = 0o4000 | 0o400;
#[cfg(not(target_os = "linux"))]
const OPEN_FLAGS: i32 = 0x4 | 0x20000;

/// Opens `port` for `profile`: the first thing the driver does, and what `scale watch`
/// checks before it starts.
fn open_link(port: &str, profile: &ScaleProfile) -> io::Result<Box<dyn Link>> {
    if profile.protocol == Protocol::HidPos {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(OPEN_FLAGS)
            .open(port)?;
        return Ok(Box::new(HidLink(file)));
    }
    let settings = profile.serial.as_ref().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the profile has no serial settings",
        )
    })?;
    let port = settings
        .builder(port)
        .timeout(READ_TIMEOUT)
        .open()
        .map_err(io::Error::from)?;
    // Bytes that arrived before the port was set up are stale or garbled.
    let _ = port.clear(serialport::ClearBuffer::Input);
    Ok(Box::new(SerialLink(port)))
}

/// Checks that `port` opens for `profile` (and closes it again).
pub fn check_port(port: &str, profile: &ScaleProfile) -> io::Result<()> {
    open_link(port, profile).map(drop)
}

type Sink = Box<dyn FnMut(ScaleEvent) + Send>;

fn sleep_unless_stopped(shared: &Shared, d: Duration) {
    let until = Instant::now() + d;
    while !shared.stopped() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

fn run(shared: &Shared, port: &str, profile: &ScaleProfile, mut sink: Sink) {
    let mut parser = ScaleParser::new(profile);
    let mut backoff = BACKOFF_FIRST;
    // Whether the current outage was reported (the first failed open is, too).
    let mut reported = false;
    while !shared.stopped() {
        match open_link(port, profile) {
            Ok(mut link) => {
                {
                    let mut st = shared.status();
                    st.online = true;
                    st.error = None;
                }
                sink(ScaleEvent::Online {
                    port: port.to_string(),
                });
                let began = Instant::now();
                let ended = session(shared, link.as_mut(), &mut parser, profile, port, &mut sink);
                drop(link);
                let Some(Ended {
                    error,
                    reported: said,
                }) = ended
                else {
                    break;
                };
                {
                    let mut st = shared.status();
                    st.online = false;
                    st.error = Some(error.clone());
                }
                if !said {
                    sink(ScaleEvent::Offline { error });
                }
                reported = true;
                backoff = if began.elapsed() >= SETTLED_SESSION {
                    BACKOFF_FIRST
                } else {
                    (backoff * 2).min(BACKOFF_MAX)
                };
                sleep_unless_stopped(shared, BACKOFF_FIRST);
            }
            Err(e) => {
                let error = format!("cannot open {port}: {e}");
                {
                    let mut st = shared.status();
                    st.online = false;
                    st.error = Some(error.clone());
                }
                if !reported {
                    sink(ScaleEvent::Offline { error });
                    reported = true;
                }
                sleep_unless_stopped(shared, backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    shared.status().online = false;
}

/// How often an open port's device path is checked for having gone away.
const PATH_CHECK: Duration = Duration::from_millis(250);

/// How a session with an open port ended.
struct Ended {
    error: String,
    /// The scale had already been reported offline (it was silent).
    reported: bool,
}

/// Reads (and polls) until the port fails (`Some`) or the driver stops (`None`).
fn session(
    shared: &Shared,
    link: &mut dyn Link,
    parser: &mut ScaleParser,
    profile: &ScaleProfile,
    port: &str,
    sink: &mut Sink,
) -> Option<Ended> {
    let req = &profile.request;
    let polling = !req.continuous && !req.poll.is_empty();
    let interval = Duration::from_millis(req.poll_interval_ms);
    let offline_after = Duration::from_millis(req.offline_after_ms);
    // In request mode the input was just cleared and the scale speaks only when asked, so
    // the first byte begins a frame; a streaming scale may be caught mid-frame.
    parser.reset(polling);
    let now = Instant::now();
    let mut last_rx = now;
    let mut next_poll = now;
    let mut last_start = now;
    let mut silent = false;
    let failed = |error: String, silent: bool| {
        Some(Ended {
            error,
            reported: silent,
        })
    };
    if !req.start.is_empty() {
        if let Err(e) = link.send(req.start.as_bytes()) {
            return failed(format!("write failed: {e}"), silent);
        }
    }
    let mut buf = [0u8; 512];
    // A pty or USB serial port whose other end went away often reads as plain silence, not
    // as an error: the device path is watched too, and its disappearance (or a symlink now
    // pointing at another device) ends the session so the port is opened afresh.
    let device = std::fs::canonicalize(port).ok();
    let mut last_path_check = now;
    while !shared.stopped() {
        let now = Instant::now();
        if now - last_path_check >= PATH_CHECK {
            last_path_check = now;
            if std::fs::canonicalize(port).ok() != device {
                return failed(format!("{port} went away (unplugged?)"), silent);
            }
        }
        if polling && now >= next_poll {
            if let Err(e) = link.send(req.poll.as_bytes()) {
                return failed(format!("write failed: {e}"), silent);
            }
            next_poll = now + interval;
        }
        match link.read_some(&mut buf) {
            Ok(Some(n)) => {
                last_rx = Instant::now();
                if silent {
                    silent = false;
                    shared.status().online = true;
                    shared.status().error = None;
                    sink(ScaleEvent::Online {
                        port: port.to_string(),
                    });
                }
                let frames = parser.feed(&buf[..n]);
                {
                    let mut st = shared.status();
                    st.bytes += n as u64;
                    st.frames += frames
                        .iter()
                        .filter(|f| !matches!(f, Frame::Unparsed { .. }))
                        .count() as u64;
                    for f in &frames {
                        st.last_raw = Some(f.raw().to_string());
                        if let Frame::Reading(r) = f {
                            st.last_reading = Some(r.clone());
                        }
                    }
                }
                for f in frames {
                    sink(ScaleEvent::Frame(f));
                }
            }
            Ok(None) => {}
            Err(e) => return failed(e.to_string(), silent),
        }
        let quiet = last_rx.elapsed();
        if !offline_after.is_zero() && !silent && quiet >= offline_after {
            silent = true;
            let error = format!(
                "no data from the scale for {:.1} s (switched off, or a wrong profile?)",
                quiet.as_secs_f64()
            );
            {
                let mut st = shared.status();
                st.online = false;
                st.error = Some(error.clone());
            }
            sink(ScaleEvent::Offline { error });
        }
        // A streaming scale that went quiet may have been power-cycled: start it again.
        if !polling
            && !req.start.is_empty()
            && quiet >= Duration::from_secs(1)
            && last_start.elapsed() >= Duration::from_secs(1)
        {
            last_start = Instant::now();
            if let Err(e) = link.send(req.start.as_bytes()) {
                return failed(format!("write failed: {e}"), silent);
            }
        }
    }
    None
}

/// Where a station's scale is, as its configuration writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleSpec {
    /// The device path.
    pub port: String,
    /// The profile name.
    pub profile: String,
    /// `hid:` rather than `serial:`.
    pub hid: bool,
}

/// A scale spec that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("scale `{spec}`: {message} (write `serial:/dev/ttyUSB0?profile=cas-ci200` or `hid:/dev/hidraw0`)")]
    Syntax { spec: String, message: String },
    #[error(transparent)]
    Profile(#[from] LookupError),
    #[error("scale `{spec}`: profile `{profile}` is {what}")]
    Mismatch {
        spec: String,
        profile: String,
        what: &'static str,
    },
}

/// Reads a station's scale setting: `serial:PATH?profile=NAME` or `hid:PATH` (profile
/// `hid-pos` unless `?profile=` names another).
pub fn parse_spec(spec: &str) -> Result<ScaleSpec, SpecError> {
    let bad = |message: &str| SpecError::Syntax {
        spec: spec.to_string(),
        message: message.to_string(),
    };
    let (scheme, rest) = spec
        .split_once(':')
        .ok_or_else(|| bad("no `serial:` or `hid:` in front of the path"))?;
    let hid = match scheme {
        "serial" => false,
        "hid" => true,
        _ => return Err(bad(&format!("unknown kind `{scheme}`"))),
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(bad("no device path"));
    }
    let mut profile = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("profile", v)) if !v.is_empty() => profile = Some(v.to_string()),
            _ => {
                return Err(bad(&format!(
                    "unknown setting `{pair}` (only profile=NAME)"
                )))
            }
        }
    }
    let profile = match (profile, hid) {
        (Some(p), _) => p,
        (None, true) => "hid-pos".to_string(),
        (None, false) => return Err(bad("a serial scale needs ?profile=NAME")),
    };
    Ok(ScaleSpec {
        port: path.to_string(),
        profile,
        hid,
    })
}

impl ScaleSpec {
    /// The spec's profile (built in or from `dir`), checked against the kind of port.
    pub fn load_profile(&self, dir: Option<&Path>) -> Result<ScaleProfile, SpecError> {
        let p = profile::find(&self.profile, dir)?;
        let is_hid = p.protocol == Protocol::HidPos;
        if is_hid != self.hid {
            return Err(SpecError::Mismatch {
                spec: format!("{}:{}", if self.hid { "hid" } else { "serial" }, self.port),
                profile: self.profile.clone(),
                what: if is_hid {
                    "for USB HID scales: write hid:PATH"
                } else {
                    "for serial scales: write serial:PATH?profile=NAME"
                },
            });
        }
        Ok(p)
    }
}
