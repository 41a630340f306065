//! The TOML configuration of a warehouse: stations (benches) and their devices, operators and
//! their badges, packaging types, weight tolerances, waybill number bands, courier rule
//! overrides, time zone and cut-off. `packbench demo` uses the embedded `demo.toml`; `serve`
//! reads the file given by `--config`. A bad file is refused at start with the problem named.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::devices::scanner::ScannerSpec;
use crate::devices::transport::Transport;
use crate::domain::waybill::{self, CourierRule};
use crate::domain::weight::Tolerance;
use crate::domain::Grams;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub warehouse: Warehouse,
    #[serde(default)]
    pub server: Server,
    #[serde(default)]
    pub scan: ScanSettings,
    /// The default weight tolerance; stations and categories may widen it.
    #[serde(default)]
    pub tolerance: ToleranceConfig,
    /// Per SKU category tolerance (`[categories.fragile] abs_g = 50`).
    #[serde(default)]
    pub categories: BTreeMap<String, ToleranceConfig>,
    #[serde(default)]
    pub packaging: Vec<Packaging>,
    #[serde(default)]
    pub operators: Vec<Operator>,
    #[serde(default)]
    pub stations: Vec<StationConfig>,
    #[serde(default)]
    pub waybill_bands: Vec<WaybillBand>,
    /// Corrections to the built-in courier rules (`[[courier]]` tables, see
    /// docs/waybills.md). Each replaces the built-in rule of its courier code; DOMAIN.md
    /// marks several rules UNCONFIRMED, so users must be able to correct them.
    #[serde(default, rename = "courier")]
    pub courier_overrides: Vec<CourierRule>,
    /// Where label templates are read from; the embedded copies are used when absent.
    #[serde(default)]
    pub label_templates: Option<String>,
    /// Named printers a station can use or a label can be redirected to.
    #[serde(default)]
    pub printers: Vec<PrinterConfig>,
    #[serde(default)]
    pub devices: DevicesConfig,
    /// The waybill archive: how long records are kept (see docs/archive.md).
    #[serde(default)]
    pub archive: ArchiveConfig,
    /// The monthly stocktake: reminder days, recount thresholds, default zones.
    #[serde(default)]
    pub stocktake: StocktakeConfig,
}

/// `[stocktake]`: how the monthly count is run (see docs/stocktake.md).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StocktakeConfig {
    /// The manager is reminded from this many days before the window opens (the 28th).
    #[serde(default = "default_reminder_days")]
    pub reminder_days: u32,
    /// A variance of more than this many units asks for a recount.
    #[serde(default = "default_recount_units")]
    pub recount_units: i64,
    /// A variance of more than this percent of the book quantity asks for a recount.
    #[serde(default = "default_recount_percent")]
    pub recount_percent: f64,
    /// A variance worth more than this (units x cost, minor units) asks for a recount.
    #[serde(default = "default_recount_value")]
    pub recount_value: i64,
    /// The zones a cycle that opens itself covers (empty: every bin except staging).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Rehearsals and tests only: the stocktake calendar runs as if the server had started
    /// at this instant (RFC 3339). Leave it out in production.
    #[serde(default)]
    pub pretend_now: Option<String>,
}

fn default_reminder_days() -> u32 {
    3
}
fn default_recount_units() -> i64 {
    2
}
fn default_recount_percent() -> f64 {
    10.0
}
fn default_recount_value() -> i64 {
    50_000
}

impl Default for StocktakeConfig {
    fn default() -> Self {
        StocktakeConfig {
            reminder_days: default_reminder_days(),
            recount_units: default_recount_units(),
            recount_percent: default_recount_percent(),
            recount_value: default_recount_value(),
            zones: Vec::new(),
            pretend_now: None,
        }
    }
}

impl StocktakeConfig {
    pub fn thresholds(&self) -> crate::domain::stocktake::Thresholds {
        crate::domain::stocktake::Thresholds {
            units: self.recount_units,
            percent: self.recount_percent,
            value: self.recount_value,
        }
    }
}

/// A named printer: where its jobs go and which profile (language, resolution) it has.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// A transport spec: `tcp://HOST[:PORT]`, `serial:PATH?baud=N`, `file:PATH`, `lp:QUEUE`,
    /// `spool:DIR`, `emulator` or `none`.
    pub spec: String,
    /// A printer profile from `firmware-config/printers/`.
    #[serde(default = "default_printer_profile")]
    pub profile: String,
}

fn default_printer_profile() -> String {
    "zebra-zpl-203".into()
}

/// `[archive]`: retention of the sealed waybill archive.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// Years a sealed day is kept; `packbench archive purge` refuses anything younger.
    #[serde(default = "default_retention_years")]
    pub retention_years: i64,
}

fn default_retention_years() -> i64 {
    5
}

impl Default for ArchiveConfig {
    fn default() -> Self {
        ArchiveConfig {
            retention_years: default_retention_years(),
        }
    }
}

/// Where the device profiles are: the built-in ones, overlaid by the files of this folder.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DevicesConfig {
    /// A folder with `scales/`, `scanners/` and `printers/` sub-folders of `*.toml`
    /// profiles; a file there replaces the built-in profile of the same name.
    #[serde(default)]
    pub profiles: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Warehouse {
    #[serde(default = "default_name")]
    pub name: String,
    /// IANA zone used for the cut-off and every business-day rule.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Orders paid before this local time ship today (`HH:MM`).
    #[serde(default = "default_cutoff")]
    pub cutoff: String,
    #[serde(default)]
    pub sender_phone: String,
    #[serde(default)]
    pub sender_address: String,
    /// The courier used when a station names none.
    #[serde(default = "default_courier")]
    pub default_courier: String,
}

fn default_name() -> String {
    "packbench".into()
}
fn default_tz() -> String {
    "Asia/Seoul".into()
}
fn default_cutoff() -> String {
    "16:00".into()
}
fn default_courier() -> String {
    "cj".into()
}

impl Default for Warehouse {
    fn default() -> Self {
        Warehouse {
            name: default_name(),
            timezone: default_tz(),
            cutoff: default_cutoff(),
            sender_phone: String::new(),
            sender_address: String::new(),
            default_courier: default_courier(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    #[serde(default = "default_bind")]
    pub bind: String,
}

fn default_bind() -> String {
    "127.0.0.1:8080".into()
}

impl Default for Server {
    fn default() -> Self {
        Server {
            bind: default_bind(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSettings {
    /// A second identical code within this window is a scanner double-read and not counted.
    #[serde(default = "default_debounce")]
    pub debounce_ms: u64,
}

fn default_debounce() -> u64 {
    300
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            debounce_ms: default_debounce(),
        }
    }
}

/// A tolerance as written in the file: absolute grams and a percentage of the expected weight.
/// The effective tolerance is the larger of the two.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToleranceConfig {
    pub abs_g: Grams,
    #[serde(default)]
    pub pct: f64,
}

impl Default for ToleranceConfig {
    fn default() -> Self {
        ToleranceConfig {
            abs_g: 30,
            pct: 3.0,
        }
    }
}

impl ToleranceConfig {
    pub fn to_domain(self) -> Tolerance {
        Tolerance {
            abs_g: self.abs_g,
            per_mille: (self.pct * 10.0).round() as i64,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Packaging {
    /// The code printed on the shelf of boxes/bags; scanning it at the bench picks the type.
    pub code: String,
    pub name: String,
    pub tare_g: Grams,
    #[serde(default)]
    pub default: bool,
    /// Outside length, width and height in cm, for the courier's size class and volumetric
    /// weight (bill reconciliation); leave out for bags.
    #[serde(default)]
    pub dims_cm: Option<[u32; 3]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Packer,
    Manager,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    pub badge: String,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Courier code whose waybills this bench prints; the warehouse default when empty.
    #[serde(default)]
    pub courier: String,
    /// The id of a `[[printers]]` entry, or a transport spec used with the default
    /// profile: `tcp://host:port` (raw 9100), `serial:PATH`, `file:PATH`, `lp:QUEUE`,
    /// `spool:DIR`, `emulator` (the built-in TCP 9100 emulator, demo and tests) or `none`.
    #[serde(default = "default_printer")]
    pub printer: String,
    /// `keyboard` (a keyboard-wedge scanner typing into the page; the default), `none`,
    /// `sim` (the built-in simulated serial scanner) or `serial:PATH?profile=NAME`.
    #[serde(default = "default_scanner")]
    pub scanner: String,
    /// `api` (readings posted by a browser-attached scale or another program; the default),
    /// `serial:PATH?profile=NAME` or `hid:/dev/hidrawN` (a scale read by the server),
    /// `sim` (a simulated scale driven from the page), `sim:PROFILE` (a simulated serial
    /// scale speaking PROFILE's frames into a pseudo-terminal) or `none`.
    #[serde(default = "default_scale")]
    pub scale: String,
    #[serde(default)]
    pub tolerance: Option<ToleranceConfig>,
    /// The bench camera: `none` (the default), `browser` (the bench page's camera: a USB
    /// webcam over the bench or the PC's own) or `sim` (stills made by the server from the
    /// printed label, for the demo and tests: no camera needed).
    #[serde(default = "default_camera")]
    pub camera: String,
    /// When the camera takes a still: `contents` (the open box, once the last item is in)
    /// and `sealed` (the labelled parcel, after its label printed; its QR code is checked
    /// against the pack's waybill).
    #[serde(default = "default_camera_moments")]
    pub camera_moments: Vec<String>,
    /// How long after the label printed the sealed still is taken, in milliseconds: the time
    /// a packer needs to put the label on and the parcel under the camera.
    #[serde(default = "default_camera_delay")]
    pub camera_delay_ms: u64,
}

fn default_camera() -> String {
    "none".into()
}
fn default_camera_moments() -> Vec<String> {
    vec!["contents".into(), "sealed".into()]
}
fn default_camera_delay() -> u64 {
    2500
}

impl StationConfig {
    /// Whether this station's camera takes a still at `moment`.
    pub fn camera_takes(&self, moment: crate::domain::camera::Moment) -> bool {
        self.camera != "none" && self.camera_moments.iter().any(|m| m == moment.as_str())
    }
}

fn default_printer() -> String {
    "none".into()
}
fn default_scanner() -> String {
    "keyboard".into()
}
fn default_scale() -> String {
    "api".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WaybillBand {
    pub courier: String,
    /// First and last serial of the band the courier allocated (without the check digit).
    pub first: u64,
    pub last: u64,
}

/// A configuration problem, with the file it came from.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

impl Config {
    /// The printer a station prints on: its `[[printers]]` entry, or an unnamed printer
    /// with the default profile when the station gives a spec.
    pub fn station_printer(&self, station: &StationConfig) -> PrinterConfig {
        self.printer(&station.printer)
            .cloned()
            .unwrap_or_else(|| PrinterConfig {
                id: station.printer.clone(),
                name: String::new(),
                spec: station.printer.clone(),
                profile: default_printer_profile(),
            })
    }

    /// A `[[printers]]` entry by id.
    pub fn printer(&self, id: &str) -> Option<&PrinterConfig> {
        self.printers.iter().find(|p| p.id == id)
    }

    /// The configuration `packbench demo` runs with.
    pub fn demo() -> Config {
        Config::parse("demo.toml (embedded)", include_str!("demo.toml"))
            .expect("the embedded demo configuration is valid")
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            message: e.to_string(),
        })?;
        Config::parse(&file, &src)
    }

    /// Parses and checks a configuration. TOML errors carry the line and column.
    pub fn parse(file: &str, src: &str) -> Result<Config, ConfigError> {
        let cfg: Config = toml::from_str(src).map_err(|e| ConfigError {
            file: file.into(),
            message: e.to_string(),
        })?;
        let problems = cfg.check();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigError {
                file: file.into(),
                message: problems.join("; "),
            })
        }
    }

    fn check(&self) -> Vec<String> {
        let mut p = Vec::new();
        if jiff::tz::TimeZone::get(&self.warehouse.timezone).is_err() {
            p.push(format!(
                "warehouse.timezone `{}` is not an IANA time zone",
                self.warehouse.timezone
            ));
        }
        if parse_hhmm(&self.warehouse.cutoff).is_none() {
            p.push(format!(
                "warehouse.cutoff `{}` is not HH:MM",
                self.warehouse.cutoff
            ));
        }
        for r in &self.courier_overrides {
            for problem in r.problems() {
                p.push(format!("courier `{}`: {problem}", r.code));
            }
        }
        let rules = self.courier_rules();
        let mut seen = std::collections::HashSet::new();
        for s in &self.stations {
            if !seen.insert(&s.id) {
                p.push(format!("station `{}` is defined twice", s.id));
            }
            if !s.courier.is_empty() && waybill::rule(&rules, &s.courier).is_none() {
                p.push(format!(
                    "station `{}`: unknown courier `{}`",
                    s.id, s.courier
                ));
            }
            if let Err(e) = crate::hub::check_scale_spec(&s.scale) {
                p.push(format!("station `{}`: {e}", s.id));
            }
            if !self.printers.iter().any(|pr| pr.id == s.printer) {
                if let Err(e) = Transport::parse(&s.printer) {
                    p.push(format!(
                        "station `{}`: printer `{}` is no [[printers]] id and no spec: {e}",
                        s.id, s.printer
                    ));
                }
            }
            if let Err(e) = ScannerSpec::parse(&s.scanner) {
                p.push(format!("station `{}`: {e}", s.id));
            }
            if !["none", "browser", "sim"].contains(&s.camera.as_str()) {
                p.push(format!(
                    "station `{}`: camera `{}` is not one of none, browser, sim",
                    s.id, s.camera
                ));
            }
            for m in &s.camera_moments {
                if crate::domain::camera::Moment::parse(m).is_none() {
                    p.push(format!(
                        "station `{}`: camera moment `{m}` is not one of contents, sealed",
                        s.id
                    ));
                }
            }
        }
        let mut printer_ids = std::collections::HashSet::new();
        for pr in &self.printers {
            if !printer_ids.insert(&pr.id) {
                p.push(format!("printer `{}` is defined twice", pr.id));
            }
            if let Err(e) = Transport::parse(&pr.spec) {
                p.push(format!("printer `{}`: {e}", pr.id));
            }
        }
        let mut badges = std::collections::HashSet::new();
        for o in &self.operators {
            if !badges.insert(&o.badge) {
                p.push(format!("badge `{}` is given to two operators", o.badge));
            }
        }
        if self.packaging.iter().filter(|k| k.default).count() > 1 {
            p.push("more than one packaging type is marked default".into());
        }
        for b in &self.waybill_bands {
            if waybill::rule(&rules, &b.courier).is_none() {
                p.push(format!("waybill band for unknown courier `{}`", b.courier));
            }
            if b.first > b.last {
                p.push(format!(
                    "waybill band {}: first {} is after last {}",
                    b.courier, b.first, b.last
                ));
            }
        }
        let st = &self.stocktake;
        if st.reminder_days > 27 {
            p.push(format!(
                "stocktake.reminder_days {} is more than 27",
                st.reminder_days
            ));
        }
        if st.recount_units < 0
            || st.recount_value < 0
            || st.recount_percent.is_nan()
            || st.recount_percent < 0.0
        {
            p.push("stocktake recount thresholds must not be negative".into());
        }
        if let Some(t) = &st.pretend_now {
            if t.parse::<jiff::Timestamp>().is_err() {
                p.push(format!(
                    "stocktake.pretend_now `{t}` is not an RFC 3339 instant"
                ));
            }
        }
        if waybill::rule(&rules, &self.warehouse.default_courier).is_none() {
            p.push(format!(
                "warehouse.default_courier `{}` is unknown",
                self.warehouse.default_courier
            ));
        }
        p
    }

    /// The built-in courier rules with this file's corrections applied.
    pub fn courier_rules(&self) -> Vec<CourierRule> {
        waybill::merge_rules(waybill::default_rules(), self.courier_overrides.clone())
    }

    pub fn station(&self, id: &str) -> Option<&StationConfig> {
        self.stations.iter().find(|s| s.id == id)
    }

    pub fn operator(&self, badge: &str) -> Option<&Operator> {
        self.operators.iter().find(|o| o.badge == badge)
    }

    pub fn station_courier<'a>(&'a self, s: &'a StationConfig) -> &'a str {
        if s.courier.is_empty() {
            &self.warehouse.default_courier
        } else {
            &s.courier
        }
    }

    pub fn default_packaging(&self) -> Option<&Packaging> {
        self.packaging
            .iter()
            .find(|p| p.default)
            .or(self.packaging.first())
    }

    /// The cut-off as minutes after local midnight.
    pub fn cutoff_minutes(&self) -> i64 {
        parse_hhmm(&self.warehouse.cutoff).unwrap_or(16 * 60)
    }
}

/// `HH:MM` → minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_is_valid() {
        let c = Config::demo();
        assert_eq!(c.stations.len(), 3);
        assert!(c.operator("B-PACK-01").is_some());
        assert!(c.operator("B-MGR-01").is_some());
    }

    #[test]
    fn bad_config_names_the_problem() {
        let e = Config::parse("x.toml", "[warehouse]\ntimezone = \"Mars/Base\"\n").unwrap_err();
        assert!(e.to_string().contains("Mars/Base"), "{e}");
        let e = Config::parse("x.toml", "[warehouse]\nnmae = 1\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
