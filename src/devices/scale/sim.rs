//! A simulated scale on a pseudo-terminal, speaking any profile's protocol with real
//! frames, for `packbench demo`, `packbench scale sim` and the tests.
//!
//! The simulator owns the master side of a pty pair and keeps a symlink (the path it
//! reports) pointing at the slave, `/dev/pts/N`, which a driver opens like any serial port.
//! A streaming profile gets a frame every interval (100 ms by default); a request-mode
//! profile gets a reply each time its poll command arrives. Weight, motion, overload and
//! noise (garbage bytes and cut frames between frames) are settable while it runs.
//! `unplug` closes the pty and removes the symlink, as pulling a USB cable does; `replug`
//! makes a new pair (with a new pts number) behind the same symlink path.
//!
//! A HID POS profile is simulated the same way: its 6-byte reports go through the pty, and
//! the driver reads the symlink as a plain file, as it reads `/dev/hidrawN`.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serialport::{SerialPort, TTYPort};

use super::profile::{CasFrame, Protocol, ScaleProfile};
use super::units::Unit;
use super::{and, ascii, cas, hid, mtsics, sma, toledo};
use super::{ScaleState, WeightKind};

/// What a simulated scale shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub grams: i64,
    /// In motion (not settled).
    pub motion: bool,
    /// `Ok`, `Overload` or `Underload`.
    pub state: ScaleState,
    pub kind: WeightKind,
    /// The unit the frames are written in.
    pub unit: Unit,
    /// Decimal places written.
    pub decimals: u32,
}

impl Sample {
    /// A settled gross weight in `unit`, with the usual number of decimals for it.
    pub fn new(grams: i64, unit: Unit) -> Sample {
        let decimals = match unit {
            Unit::Kg | Unit::Lb => 3,
            Unit::Oz | Unit::Ozt => 2,
            Unit::T | Unit::Ton => 4,
            _ => 1,
        };
        Sample {
            grams,
            motion: false,
            state: ScaleState::Ok,
            kind: WeightKind::Gross,
            unit,
            decimals,
        }
    }

    /// The usual sample for a profile: its default unit (or first accepted one), with the
    /// decimals its frames can carry.
    pub fn for_profile(grams: i64, profile: &ScaleProfile) -> Sample {
        let unit = profile
            .units
            .default
            .or_else(|| profile.units.accept.first().copied())
            .unwrap_or(Unit::G);
        let mut s = Sample::new(grams, unit);
        if matches!(profile.protocol, Protocol::CasPd2 | Protocol::HidPos) && unit == Unit::G {
            s.decimals = 0;
        }
        s
    }
}

/// The bytes `profile`'s scale sends for `sample`: one frame, or one reply to a poll.
pub fn encode(profile: &ScaleProfile, sample: &Sample) -> Vec<u8> {
    match profile.protocol {
        Protocol::CasCi => match profile.cas.as_ref().map(|c| c.frame) {
            Some(CasFrame::And18) => cas::encode_and18(sample),
            _ => cas::encode_ci22(sample),
        },
        Protocol::CasPd2 => cas::encode_pd2(sample),
        Protocol::MtSics => mtsics::encode(sample),
        Protocol::Toledo8217 => toledo::encode(sample),
        Protocol::And => and::encode(sample),
        Protocol::Sma => sma::encode(sample),
        Protocol::Ascii => ascii::encode(sample, profile),
        Protocol::HidPos => hid::encode(sample),
    }
}

/// A small deterministic generator for noise (no need for a random-number crate).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

struct Pty {
    master: TTYPort,
    /// Kept open so the pts stays usable while no driver has it open.
    _slave: TTYPort,
}

struct State {
    sample: Sample,
    noise: bool,
    interval: Duration,
    pty: Option<Pty>,
    inbox: Vec<u8>,
}

struct Shared {
    profile: ScaleProfile,
    link: PathBuf,
    state: Mutex<State>,
    stop: AtomicBool,
    frames: AtomicU64,
    polls: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A simulated scale on a pty. Dropping it stops it and removes its symlink.
pub struct ScaleSim {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    temp_dir: Option<PathBuf>,
}

fn plug(link: &Path) -> io::Result<Pty> {
    let (mut master, slave) = TTYPort::pair().map_err(io::Error::from)?;
    master
        .set_timeout(Duration::from_millis(10))
        .map_err(io::Error::from)?;
    let target = slave
        .name()
        .ok_or_else(|| io::Error::other("the pty has no name"))?;
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&target, &tmp)?;
    std::fs::rename(&tmp, link)?;
    Ok(Pty {
        master,
        _slave: slave,
    })
}

impl ScaleSim {
    /// Starts a simulated scale for `profile` showing `grams` (settled), reachable at
    /// `link` (a symlink the simulator creates and keeps pointing at its pty).
    pub fn start(
        profile: &ScaleProfile,
        link: impl Into<PathBuf>,
        grams: i64,
    ) -> io::Result<ScaleSim> {
        let link = link.into();
        let pty = plug(&link)?;
        let shared = Arc::new(Shared {
            profile: profile.clone(),
            link,
            state: Mutex::new(State {
                sample: Sample::for_profile(grams, profile),
                noise: false,
                interval: Duration::from_millis(100),
                pty: Some(pty),
                inbox: Vec::new(),
            }),
            stop: AtomicBool::new(false),
            frames: AtomicU64::new(0),
            polls: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("scale-sim".into())
            .spawn(move || run(&s))?;
        Ok(ScaleSim {
            shared,
            thread: Some(thread),
            temp_dir: None,
        })
    }

    /// Like `start`, with the symlink in a new directory under the system's temporary
    /// directory (removed when the simulator is dropped).
    pub fn start_temp(profile: &ScaleProfile, grams: i64) -> io::Result<ScaleSim> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "packbench-scale-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut sim = ScaleSim::start(profile, dir.join("scale"), grams)?;
        sim.temp_dir = Some(dir);
        Ok(sim)
    }

    /// The path a driver opens (the symlink).
    pub fn path(&self) -> &Path {
        &self.shared.link
    }

    /// The path as a string, for `ScaleDriver::start`.
    pub fn port(&self) -> String {
        self.shared.link.display().to_string()
    }

    /// Shows `grams`, settled and in a normal state.
    pub fn set_grams(&self, grams: i64) {
        let mut st = self.shared.lock();
        st.sample.grams = grams;
        st.sample.motion = false;
        st.sample.state = ScaleState::Ok;
    }

    pub fn set_motion(&self, motion: bool) {
        self.shared.lock().sample.motion = motion;
    }

    /// `Ok`, `Overload` or `Underload`.
    pub fn set_state(&self, state: ScaleState) {
        self.shared.lock().sample.state = state;
    }

    /// Replaces everything the scale shows (unit and decimals included).
    pub fn set_sample(&self, sample: Sample) {
        self.shared.lock().sample = sample;
    }

    pub fn sample(&self) -> Sample {
        self.shared.lock().sample
    }

    /// Garbage bytes, and now and then a cut frame, before each frame.
    pub fn set_noise(&self, noise: bool) {
        self.shared.lock().noise = noise;
    }

    /// How often a streaming scale sends a frame.
    pub fn set_interval(&self, interval: Duration) {
        self.shared.lock().interval = interval.max(Duration::from_millis(5));
    }

    /// Pulls the cable: closes the pty and removes the symlink.
    pub fn unplug(&self) {
        let mut st = self.shared.lock();
        let _ = std::fs::remove_file(&self.shared.link);
        st.pty = None;
        st.inbox.clear();
    }

    /// Plugs it back: a new pty behind the same symlink path.
    pub fn replug(&self) -> io::Result<()> {
        let mut st = self.shared.lock();
        if st.pty.is_none() {
            st.pty = Some(plug(&self.shared.link)?);
        }
        Ok(())
    }

    /// Whether the cable is in.
    pub fn plugged(&self) -> bool {
        self.shared.lock().pty.is_some()
    }

    /// Frames (or replies) written so far.
    pub fn frames_sent(&self) -> u64 {
        self.shared.frames.load(Ordering::Relaxed)
    }

    /// Polls answered so far (request mode).
    pub fn polls_answered(&self) -> u64 {
        self.shared.polls.load(Ordering::Relaxed)
    }
}

impl Drop for ScaleSim {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.unplug();
        if let Some(dir) = &self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Writes one frame (with noise first when asked). A full pty buffer (no reader) drops it.
///
/// Noise is a run of high bytes (never a digit, a sign, or a frame start or end), now and
/// then after the first half of a frame, and ended by CR LF: to a line protocol it is one
/// bad line, to the others bytes to skip. Either way the frame after it must come through.
fn send(st: &mut State, profile: &ScaleProfile, rng: &mut XorShift, frames: &AtomicU64) {
    let frame = encode(profile, &st.sample);
    let mut bytes = Vec::new();
    if st.noise && profile.protocol != Protocol::HidPos {
        let r = rng.next();
        if r.is_multiple_of(4) {
            bytes.extend_from_slice(&frame[..frame.len() / 2]);
        }
        for i in 0..(1 + r % 8) {
            bytes.push(0x80 | ((r >> (8 * i)) as u8 & 0x7f).max(1));
        }
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(&frame);
    if let Some(pty) = st.pty.as_mut() {
        if pty.master.write(&bytes).is_ok() && !frame.is_empty() {
            frames.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn run(shared: &Shared) {
    let profile = &shared.profile;
    let poll = profile.request.poll.as_bytes();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ seed ^ u64::from(std::process::id()));
    let mut next = Instant::now();
    let mut buf = [0u8; 256];
    while !shared.stop.load(Ordering::Relaxed) {
        let mut st = shared.lock();
        if st.pty.is_none() {
            drop(st);
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        if profile.request.continuous {
            let now = Instant::now();
            if now >= next {
                send(&mut st, profile, &mut rng, &shared.frames);
                next = now + st.interval;
            }
            // Drain anything the driver sends (a start command) so the pty never fills.
            if let Some(pty) = st.pty.as_mut() {
                let _ = pty.master.set_timeout(Duration::from_millis(1));
                let _ = pty.master.read(&mut buf);
            }
            let wait = next.saturating_duration_since(Instant::now());
            drop(st);
            std::thread::sleep(wait.min(Duration::from_millis(10)));
            continue;
        }
        // Request mode: answer each poll.
        let Some(pty) = st.pty.as_mut() else { continue };
        let _ = pty.master.set_timeout(Duration::from_millis(10));
        let n = match pty.master.read(&mut buf) {
            Ok(n) => n,
            Err(_) => {
                drop(st);
                std::thread::yield_now();
                continue;
            }
        };
        st.inbox.extend_from_slice(&buf[..n]);
        while let Some(at) = find(&st.inbox, poll) {
            st.inbox.drain(..at + poll.len());
            shared.polls.fetch_add(1, Ordering::Relaxed);
            send(&mut st, profile, &mut rng, &shared.frames);
        }
        let keep = st.inbox.len().min(poll.len().saturating_sub(1).max(16));
        let cut = st.inbox.len() - keep;
        st.inbox.drain(..cut);
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
