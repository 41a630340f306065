//! The devices of every bench at run time: which scanner, scale and printer each station
//! has, whether each is there, its last raw frame and its last error (the device panel of
//! the bench page), and the tasks that feed device input into the packing flow.
//!
//! A serial scanner's codes go through [`App::scan_from_device`] exactly like typed ones; a
//! scale's readings through [`App::weight`]. Printers are probed every second, so a printer
//! that is switched off shows offline within 2 s and online again when it returns. Drivers
//! reconnect by themselves with backoff; nothing here restarts the server or drops input.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::config::Config;
use crate::devices::scale::{self, Frame, ScaleDriver, ScaleEvent, ScaleSim};
use crate::devices::scanner::{self, ScannerEvent, ScannerSpec};
use crate::devices::transport::{DeviceState, Transport};
use crate::service::App;

/// One device's state for the panel.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DeviceStatus {
    /// `none`, `keyboard` (wedge scanner: the page is the device), `api` (readings posted
    /// over HTTP), `simulated`, `waiting` (not heard from yet), `online`, `offline` or
    /// `error` (there, but the last job failed).
    pub state: String,
    /// Where it is: the port, the transport spec.
    pub spec: String,
    /// The last frame received, made readable (scanner and scale).
    pub last_raw: String,
    /// Why it is offline or in error, or the last problem.
    pub error: String,
    /// When `state` last changed (RFC 3339).
    pub since: String,
}

impl DeviceStatus {
    fn new(state: &str, spec: &str) -> DeviceStatus {
        DeviceStatus {
            state: state.into(),
            spec: spec.into(),
            since: crate::service::now(),
            ..Default::default()
        }
    }

    /// Sets the state; returns whether anything a person would see changed.
    pub fn set(&mut self, state: &str, error: &str) -> bool {
        if self.state == state && self.error == error {
            return false;
        }
        if self.state != state {
            self.since = crate::service::now();
        }
        self.state = state.into();
        self.error = error.into();
        true
    }
}

/// The three devices of one station.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StationDevices {
    pub scanner: DeviceStatus,
    pub scale: DeviceStatus,
    pub printer: DeviceStatus,
}

/// Which device of a station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scanner,
    Scale,
    Printer,
}

/// Every station's devices, shared by the drivers' tasks and the pages.
#[derive(Debug, Default)]
pub struct DeviceBoard {
    stations: Mutex<BTreeMap<String, StationDevices>>,
}

impl DeviceBoard {
    /// The initial board: each device as configured, before any driver has reported.
    pub fn from_config(config: &Config) -> DeviceBoard {
        let mut stations = BTreeMap::new();
        for s in &config.stations {
            let scanner = match ScannerSpec::parse(&s.scanner) {
                Ok(ScannerSpec::Keyboard) => DeviceStatus::new("keyboard", "keyboard"),
                Ok(ScannerSpec::None) => DeviceStatus::new("none", "none"),
                Ok(ScannerSpec::Sim) => DeviceStatus::new("waiting", "sim"),
                _ => DeviceStatus::new("waiting", &s.scanner),
            };
            let scale = match s.scale.as_str() {
                "none" => DeviceStatus::new("none", "none"),
                "sim" => DeviceStatus::new("simulated", "sim"),
                "api" => DeviceStatus::new("api", "api"),
                other => DeviceStatus::new("waiting", other),
            };
            let printer = config.station_printer(s);
            let printer = if printer.spec == "none" {
                DeviceStatus::new("none", "none")
            } else {
                DeviceStatus::new("waiting", &printer.spec)
            };
            stations.insert(
                s.id.clone(),
                StationDevices {
                    scanner,
                    scale,
                    printer,
                },
            );
        }
        DeviceBoard {
            stations: Mutex::new(stations),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StationDevices>> {
        self.stations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot of one station's devices.
    pub fn station(&self, station: &str) -> StationDevices {
        self.lock().get(station).cloned().unwrap_or_default()
    }

    /// Changes one device; returns whether the change is visible (so the page is told).
    pub fn update(
        &self,
        station: &str,
        kind: Kind,
        f: impl FnOnce(&mut DeviceStatus) -> bool,
    ) -> bool {
        let mut all = self.lock();
        let Some(d) = all.get_mut(station) else {
            return false;
        };
        f(match kind {
            Kind::Scanner => &mut d.scanner,
            Kind::Scale => &mut d.scale,
            Kind::Printer => &mut d.printer,
        })
    }

    /// Records a device's state (and error); true when it changed.
    pub fn set(&self, station: &str, kind: Kind, state: &str, error: &str) -> bool {
        self.update(station, kind, |d| d.set(state, error))
    }
}

/// Keeps the device simulators and drivers alive for as long as the server runs.
#[derive(Default)]
pub struct Running {
    _scanners: Vec<scanner::ScannerHandle>,
    _scales: Vec<ScaleDriver>,
    scanner_sims: BTreeMap<String, Arc<Mutex<scanner::ScannerSim>>>,
    scale_sims: BTreeMap<String, Arc<ScaleSim>>,
}

impl Running {
    /// The simulated scanner of a station whose scanner is `sim`.
    pub fn scanner_sim(&self, station: &str) -> Option<Arc<Mutex<scanner::ScannerSim>>> {
        self.scanner_sims.get(station).cloned()
    }

    /// The simulated serial scale of a station whose scale is `sim:PROFILE`.
    pub fn scale_sim(&self, station: &str) -> Option<Arc<ScaleSim>> {
        self.scale_sims.get(station).cloned()
    }
}

/// Checks a station's scale setting: `none`, `api`, `sim` (driven from the page),
/// `sim:PROFILE` (a simulated serial scale speaking PROFILE's frames), `serial:PATH?profile=`
/// or `hid:PATH`.
pub fn check_scale_spec(spec: &str) -> Result<(), String> {
    match spec {
        "none" | "api" | "sim" => Ok(()),
        s if s.starts_with("sim:") => Ok(()),
        s => scale::parse_spec(s).map(|_| ()).map_err(|e| e.to_string()),
    }
}

/// The site's folder of one kind of profile, when the site has one (a site that corrects
/// only its scales has no `printers/` folder, and needs none).
fn site_profiles(dir: &Option<std::path::PathBuf>, kind: &str) -> Option<std::path::PathBuf> {
    dir.as_ref().map(|d| d.join(kind)).filter(|d| d.is_dir())
}

/// Starts every configured device driver and the printer monitors. Call once, inside the
/// runtime, after the app is built; keep the returned value alive.
pub fn start(app: &Arc<App>) -> anyhow::Result<Running> {
    let profiles_dir = app.config.devices.profiles.clone();
    if let Some(d) = profiles_dir.as_ref().filter(|d| !d.is_dir()) {
        anyhow::bail!(
            "[devices] profiles = {}: no such folder (it holds scales/, scanners/ and printers/)",
            d.display()
        );
    }
    let scanner_profiles =
        scanner::profile::load_all(site_profiles(&profiles_dir, "scanners").as_deref())?;
    let mut running = Running::default();
    for s in &app.config.stations {
        let spec = ScannerSpec::parse(&s.scanner).map_err(anyhow::Error::msg)?;
        let config = match &spec {
            ScannerSpec::Sim => {
                let sim = scanner::ScannerSim::in_temp_dir()?;
                let (serial, framing) = scanner::default_settings();
                let config = scanner::ScannerConfig {
                    path: sim.path().to_path_buf(),
                    serial,
                    framing,
                };
                running
                    .scanner_sims
                    .insert(s.id.clone(), Arc::new(Mutex::new(sim)));
                Some(config)
            }
            other => other
                .serial_config(&scanner_profiles)
                .map_err(|e| anyhow::anyhow!("station `{}`: {e}", s.id))?,
        };
        if let Some(config) = config {
            let (handle, events) = scanner::spawn(config)?;
            running._scanners.push(handle);
            tokio::spawn(scanner_events(app.clone(), s.id.clone(), events));
        }
    }
    let scale_dir = site_profiles(&profiles_dir, "scales");
    scale::load_profiles(scale_dir.as_deref())?;
    for s in &app.config.stations {
        let (port, profile) = if let Some(name) = s.scale.strip_prefix("sim:") {
            let profile = scale::profile::find(name, scale_dir.as_deref())
                .map_err(|e| anyhow::anyhow!("station `{}`: {e}", s.id))?;
            let sim = ScaleSim::start_temp(&profile, 0)?;
            let port = sim.path().display().to_string();
            running.scale_sims.insert(s.id.clone(), Arc::new(sim));
            (port, profile)
        } else if matches!(s.scale.as_str(), "none" | "api" | "sim") {
            continue;
        } else {
            let spec = scale::parse_spec(&s.scale)?;
            let profile = spec
                .load_profile(scale_dir.as_deref())
                .map_err(|e| anyhow::anyhow!("station `{}`: {e}", s.id))?;
            (spec.port, profile)
        };
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        running
            ._scales
            .push(ScaleDriver::start(&port, profile, move |e| {
                let _ = tx.send(e);
            }));
        tokio::spawn(scale_events(app.clone(), s.id.clone(), rx));
    }
    let printer_profiles = crate::devices::printer::load_profiles(
        site_profiles(&profiles_dir, "printers").as_deref(),
    )?;
    for s in &app.config.stations {
        let p = app.config.station_printer(s);
        if p.spec != "none" && !printer_profiles.contains_key(&p.profile) {
            let known: Vec<&str> = printer_profiles.keys().map(String::as_str).collect();
            anyhow::bail!(
                "printer `{}` of station `{}`: unknown profile `{}`; known: {}",
                p.id,
                s.id,
                p.profile,
                known.join(", ")
            );
        }
    }
    let _ = app.printer_profiles.set(printer_profiles);
    // One monitor per printer spec, reporting to every station that uses it.
    let mut printers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &app.config.stations {
        let p = app.config.station_printer(s);
        if p.spec != "none" {
            printers.entry(p.spec).or_default().push(s.id.clone());
        }
    }
    for (spec, stations) in printers {
        let transport = Transport::parse(&spec)
            .map_err(anyhow::Error::msg)?
            .with_emulator(app.emulator);
        tokio::spawn(printer_monitor(app.clone(), transport, stations));
    }
    Ok(running)
}

/// Feeds a serial scanner's codes into the station, and its state into the board.
async fn scanner_events(
    app: Arc<App>,
    station: String,
    mut events: tokio::sync::mpsc::UnboundedReceiver<ScannerEvent>,
) {
    while let Some(ev) = events.recv().await {
        let changed = match &ev {
            ScannerEvent::Online { .. } => app.devices.set(&station, Kind::Scanner, "online", ""),
            ScannerEvent::Offline { error, .. } => {
                app.devices.set(&station, Kind::Scanner, "offline", error)
            }
            ScannerEvent::Dropped { frame, reason } => {
                app.devices.update(&station, Kind::Scanner, |d| {
                    d.last_raw = frame.clone();
                    d.error = reason.clone();
                    true
                })
            }
            ScannerEvent::Code { raw, frame } => {
                app.devices.update(&station, Kind::Scanner, |d| {
                    d.last_raw = frame.clone();
                    false
                });
                if let Err(e) = app.scan_from_device(&station, raw).await {
                    tracing::error!(station, error = %e, "a scanned code could not be handled");
                }
                false
            }
        };
        if changed {
            app.notify_devices(&station);
        }
    }
}

/// Unstable readings (a parcel being put down) reach the bench at most this often; stable
/// ones and changes of stability always do.
const MOTION_EVERY: Duration = Duration::from_millis(200);

/// Feeds a scale's readings into the weight check and its state into the board. A scale
/// streams the same frame many times a second: only a change (weight or stability) is
/// passed on, so a parcel left on the scale from the last pack never decides the next one.
async fn scale_events(
    app: Arc<App>,
    station: String,
    mut events: tokio::sync::mpsc::UnboundedReceiver<ScaleEvent>,
) {
    let mut last: Option<(i64, bool)> = None;
    let mut last_sent = tokio::time::Instant::now() - MOTION_EVERY;
    while let Some(ev) = events.recv().await {
        let changed = match ev {
            ScaleEvent::Online { .. } => app.devices.set(&station, Kind::Scale, "online", ""),
            ScaleEvent::Offline { error } => {
                last = None;
                app.devices.set(&station, Kind::Scale, "offline", &error)
            }
            ScaleEvent::Frame(Frame::Reading(r)) => {
                let stable = r.stable_grams().is_some();
                let problem = match r.state {
                    scale::ScaleState::Ok => String::new(),
                    other => format!("{other:?}").to_lowercase(),
                };
                app.devices.update(&station, Kind::Scale, |d| {
                    d.last_raw = r.raw.clone();
                    d.set("online", &problem)
                });
                let key = (r.grams, stable);
                let now = tokio::time::Instant::now();
                if last != Some(key) && (stable || now - last_sent >= MOTION_EVERY) {
                    last = Some(key);
                    last_sent = now;
                    if let Err(e) = app
                        .weight_from_device(&station, r.grams, stable, &r.raw)
                        .await
                    {
                        tracing::error!(station, error = %e, "a scale reading could not be handled");
                    }
                }
                // `weight` told the page.
                false
            }
            ScaleEvent::Frame(Frame::Status { message, raw, .. }) => {
                app.devices.update(&station, Kind::Scale, |d| {
                    d.last_raw = raw;
                    d.error = message;
                    true
                })
            }
            ScaleEvent::Frame(Frame::Unparsed { raw }) => app.devices.update(&station, Kind::Scale, |d| {
                d.last_raw = raw;
                d.error = "a frame this profile does not describe: check the profile and the baud rate".into();
                true
            }),
        };
        if changed {
            app.notify_devices(&station);
        }
    }
}

/// How often a printer is looked at; with the probe's own limit (0.7 s) a printer that goes
/// away shows offline within 2 s.
const PROBE_EVERY: Duration = Duration::from_secs(1);

async fn printer_monitor(app: Arc<App>, transport: Transport, stations: Vec<String>) {
    loop {
        let state = transport.probe_async().await;
        for s in &stations {
            let changed = app.devices.update(s, Kind::Printer, |d| match &state {
                // A printer that is there keeps showing the failure of its last job
                // until a job goes through.
                DeviceState::Online if d.state == "error" => false,
                DeviceState::Online => d.set("online", ""),
                DeviceState::Offline { reason } => d.set("offline", reason),
            });
            if changed {
                app.notify_devices(s);
            }
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
