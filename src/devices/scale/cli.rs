//! `packbench scale ...`: the diagnostics a technician runs when installing a bench.
//!
//! `scale watch` prints one reading per line (JSON with `--json`) on stdout, and the
//! device's state changes, status replies and unreadable lines on stderr, so a pipe gets
//! readings only. `scale sim` puts a simulated scale on a pseudo-terminal, to try `watch`
//! (or a bench) with no hardware. `scale profiles` lists what is built in.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::driver::{check_port, ScaleDriver, ScaleEvent};
use super::profile::{self, LookupError, ScaleProfile};
use super::sim::ScaleSim;
use super::{Frame, Reading, ScaleState};

#[derive(Debug, clap::Subcommand)]
pub enum ScaleCmd {
    /// Print every reading from a scale, one per line, until Ctrl-C.
    Watch {
        /// The device: /dev/ttyUSB0, /dev/ttyACM0, /dev/hidraw0, ...
        #[arg(long)]
        port: String,
        /// A scale profile (see `packbench scale profiles`).
        #[arg(long)]
        profile: String,
        /// One JSON object per reading: {"grams":..,"stable":..,"raw":"..."}.
        #[arg(long)]
        json: bool,
        /// A directory of site profiles, overlaying the built-in ones.
        #[arg(long, alias = "profile-dir")]
        profiles: Option<PathBuf>,
    },
    /// Simulate a scale on a pseudo-terminal and print its path (for trying `scale watch`).
    Sim {
        /// A profile name, or a protocol name (cas-ci, mt-sics, toledo-8217, ...).
        #[arg(long, alias = "protocol")]
        profile: String,
        /// The weight shown.
        #[arg(long, default_value_t = 1250, allow_hyphen_values = true)]
        grams: i64,
        /// Where to put the symlink to the pty (a temporary path when absent).
        #[arg(long)]
        link: Option<PathBuf>,
        /// Garbage bytes between frames.
        #[arg(long)]
        noise: bool,
        /// A directory of site profiles, overlaying the built-in ones.
        #[arg(long, alias = "profile-dir")]
        profiles: Option<PathBuf>,
    },
    /// List the scale profiles.
    Profiles {
        /// A directory of site profiles, overlaying the built-in ones.
        #[arg(long, alias = "profile-dir")]
        profiles: Option<PathBuf>,
    },
}

/// What stops a scale command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Profile(#[from] LookupError),
    #[error("cannot open {port}: {error}")]
    Open { port: String, error: std::io::Error },
    #[error("cannot start the simulator: {0}")]
    Sim(std::io::Error),
}

/// Runs a `scale` subcommand.
pub fn run(cmd: ScaleCmd) -> Result<(), CliError> {
    match cmd {
        ScaleCmd::Watch {
            port,
            profile,
            json,
            profiles,
        } => watch(&port, &profile, json, profiles),
        ScaleCmd::Sim {
            profile,
            grams,
            link,
            noise,
            profiles,
        } => sim(&profile, grams, link, noise, profiles),
        ScaleCmd::Profiles { profiles } => {
            for (name, p) in
                profile::load_profiles(profiles.as_deref()).map_err(LookupError::from)?
            {
                let mode = if p.request.continuous {
                    "streams".to_string()
                } else {
                    format!("polled every {} ms", p.request.poll_interval_ms)
                };
                println!(
                    "{name:<16} {:<12} {mode:<22} {}",
                    p.protocol.name(),
                    p.model
                );
            }
            Ok(())
        }
    }
}

/// A reading as one line: JSON, or `1250 g  stable  gross  [ST,GS,+001.250kg]`.
pub fn reading_line(r: &Reading, json: bool) -> String {
    if json {
        return serde_json::to_string(r).unwrap_or_default();
    }
    let stability = if r.stable { "stable" } else { "moving" };
    let state = match r.state {
        ScaleState::Ok => String::new(),
        other => format!(
            "  {}",
            serde_json::to_string(&other)
                .unwrap_or_default()
                .trim_matches('"')
        ),
    };
    let kind = serde_json::to_string(&r.kind).unwrap_or_default();
    format!(
        "{:>8} g  {stability}  {}{state}  [{}]",
        r.grams,
        kind.trim_matches('"'),
        r.raw
    )
}

fn watch(port: &str, name: &str, json: bool, dir: Option<PathBuf>) -> Result<(), CliError> {
    let p = profile::find(name, dir.as_deref())?;
    check_port(port, &p).map_err(|error| CliError::Open {
        port: port.to_string(),
        error,
    })?;
    eprintln!(
        "watching {port} as {} ({}); Ctrl-C to stop",
        p.name, p.model
    );
    let (driver, rx) = ScaleDriver::with_channel(port, p.clone());
    let started = Instant::now();
    let mut hinted = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(ScaleEvent::Frame(Frame::Reading(r))) => println!("{}", reading_line(&r, json)),
            Ok(ScaleEvent::Frame(Frame::Status {
                state,
                message,
                raw,
            })) => eprintln!("status: {message} ({state:?}) [{raw}]"),
            Ok(ScaleEvent::Frame(Frame::Unparsed { raw })) => {
                eprintln!("not a {} frame: [{raw}]", p.name)
            }
            Ok(ScaleEvent::Online { port }) => eprintln!("online: {port}"),
            Ok(ScaleEvent::Offline { error }) => eprintln!("offline: {error}"),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
        }
        if !hinted && started.elapsed() > Duration::from_secs(3) {
            let st = driver.status();
            if st.bytes > 0 && st.frames == 0 {
                eprintln!(
                    "hint: {} bytes arrived but none formed a {} frame: check the profile, baud rate and parity",
                    st.bytes,
                    p.protocol.name()
                );
                hinted = true;
            } else if st.bytes == 0 && !p.request.continuous {
                eprintln!(
                    "hint: no reply to the poll {:?}: check the cable, baud rate and the scale's interface setting",
                    p.request.poll
                );
                hinted = true;
            }
        }
    }
}

/// A profile by name, or the first one that speaks the named protocol.
fn profile_or_protocol(
    name: &str,
    dir: Option<&std::path::Path>,
) -> Result<ScaleProfile, CliError> {
    match profile::find(name, dir) {
        Ok(p) => Ok(p),
        Err(LookupError::Unknown { name: n, known }) => profile::load_profiles(dir)
            .map_err(LookupError::from)?
            .into_values()
            .find(|p| p.protocol.name() == name)
            .ok_or(CliError::Profile(LookupError::Unknown { name: n, known })),
        Err(e) => Err(e.into()),
    }
}

fn sim(
    name: &str,
    grams: i64,
    link: Option<PathBuf>,
    noise: bool,
    dir: Option<PathBuf>,
) -> Result<(), CliError> {
    let p = profile_or_protocol(name, dir.as_deref())?;
    let sim = match link {
        Some(link) => ScaleSim::start(&p, link, grams),
        None => ScaleSim::start_temp(&p, grams),
    }
    .map_err(CliError::Sim)?;
    sim.set_noise(noise);
    println!("{}", sim.path().display());
    eprintln!(
        "simulating {} ({}) at {} g. Try: packbench scale watch --port {} --profile {}",
        p.name,
        p.model,
        grams,
        sim.path().display(),
        p.name
    );
    eprintln!("type a weight in grams and Enter; m = motion on/off, o = overload, u = unplug, r = replug, q = quit");
    let mut motion = false;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "q" => return Ok(()),
            "m" => {
                motion = !motion;
                sim.set_motion(motion);
            }
            "o" => sim.set_state(ScaleState::Overload),
            "u" => sim.unplug(),
            "r" => sim.replug().map_err(CliError::Sim)?,
            "" => {}
            other => match other.parse::<i64>() {
                Ok(g) => {
                    motion = false;
                    sim.set_grams(g);
                }
                Err(_) => eprintln!("? {other}"),
            },
        }
        eprintln!("now: {:?}, plugged: {}", sim.sample(), sim.plugged());
    }
    // No terminal to read from: serve until killed.
    loop {
        std::thread::park();
    }
}
