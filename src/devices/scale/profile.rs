//! Scale profiles: what a scale model speaks, as data (`firmware-config/scales/*.toml`,
//! documented in `firmware-config/README.md`).
//!
//! A profile names the protocol family and its serial settings, whether the scale streams
//! or must be asked (and with which bytes, how often), which units it may send, and how many
//! stable readings in a row make a weight stable. Where a protocol detail could not be
//! confirmed from a source (DOMAIN.md marks it UNCONFIRMED) it is a setting here with the
//! best-known default, so a site corrects it by dropping a file, not by a new build.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::units::Unit;
use crate::devices::profile::{self as loader, ProfileError};

/// The profiles shipped with packbench, built into the binary.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "adam",
        include_str!("../../../firmware-config/scales/adam.toml"),
    ),
    (
        "and-fx",
        include_str!("../../../firmware-config/scales/and-fx.toml"),
    ),
    (
        "cas-ci200",
        include_str!("../../../firmware-config/scales/cas-ci200.toml"),
    ),
    (
        "cas-pd2",
        include_str!("../../../firmware-config/scales/cas-pd2.toml"),
    ),
    (
        "generic-ascii",
        include_str!("../../../firmware-config/scales/generic-ascii.toml"),
    ),
    (
        "hid-pos",
        include_str!("../../../firmware-config/scales/hid-pos.toml"),
    ),
    (
        "mettler-mtsics",
        include_str!("../../../firmware-config/scales/mettler-mtsics.toml"),
    ),
    (
        "nci-sma",
        include_str!("../../../firmware-config/scales/nci-sma.toml"),
    ),
    (
        "ohaus",
        include_str!("../../../firmware-config/scales/ohaus.toml"),
    ),
    (
        "toledo-8217",
        include_str!("../../../firmware-config/scales/toledo-8217.toml"),
    ),
];

/// Baud rates a serial scale may be set to.
pub const STANDARD_BAUDS: [u32; 12] = [
    300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400,
];

/// The protocol families packbench parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// CAS CI-200 series indicators: the 22-byte and 18-byte frames.
    #[serde(rename = "cas-ci")]
    CasCi,
    /// CAS PD-II, ECR type: `W` polling, STX-framed replies.
    #[serde(rename = "cas-pd2")]
    CasPd2,
    /// Mettler Toledo MT-SICS (`S`, `SI` replies).
    #[serde(rename = "mt-sics")]
    MtSics,
    /// Toledo 8217 "weight only" (`W` polling).
    #[serde(rename = "toledo-8217")]
    Toledo8217,
    /// A&D standard format (`ST,+00123.45  g`).
    #[serde(rename = "and")]
    And,
    /// NCI / SMA (SCP-0499 level 1 and the NCI SCP-01 reply).
    #[serde(rename = "sma")]
    Sma,
    /// A configurable ASCII weight line: a number, a unit, and markers given as data.
    #[serde(rename = "ascii")]
    Ascii,
    /// USB HID POS scale (usage page 0x8D) read from `/dev/hidrawN`.
    #[serde(rename = "hid-pos")]
    HidPos,
}

impl Protocol {
    /// The name a profile writes.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::CasCi => "cas-ci",
            Protocol::CasPd2 => "cas-pd2",
            Protocol::MtSics => "mt-sics",
            Protocol::Toledo8217 => "toledo-8217",
            Protocol::And => "and",
            Protocol::Sma => "sma",
            Protocol::Ascii => "ascii",
            Protocol::HidPos => "hid-pos",
        }
    }
}

/// One scale profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScaleProfile {
    /// The file name without `.toml` (set when loaded; not written in the file).
    #[serde(skip)]
    pub name: String,
    /// Make and models, for people.
    pub model: String,
    pub protocol: Protocol,
    /// Required for every protocol but `hid-pos`.
    pub serial: Option<SerialSettings>,
    #[serde(default)]
    pub request: RequestSettings,
    pub units: UnitSettings,
    #[serde(default)]
    pub stability: Stability,
    /// Only with `protocol = "cas-ci"`.
    pub cas: Option<CasParams>,
    /// Only with `protocol = "and"`.
    pub and: Option<AndParams>,
    /// Required with `protocol = "ascii"`.
    pub ascii: Option<AsciiParams>,
    /// Only with `protocol = "hid-pos"`.
    pub hid: Option<HidParams>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    None,
    Even,
    Odd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// How the serial line is set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialSettings {
    pub baud: u32,
    pub data_bits: u8,
    pub parity: Parity,
    pub stop_bits: u8,
    pub flow_control: FlowControl,
}

impl SerialSettings {
    /// A `serialport` builder for `path` with these settings (checked values; anything the
    /// check would refuse falls back to 8N1).
    pub fn builder(&self, path: &str) -> serialport::SerialPortBuilder {
        use serialport::{DataBits, StopBits};
        let data_bits = match self.data_bits {
            5 => DataBits::Five,
            6 => DataBits::Six,
            7 => DataBits::Seven,
            _ => DataBits::Eight,
        };
        let parity = match self.parity {
            Parity::None => serialport::Parity::None,
            Parity::Even => serialport::Parity::Even,
            Parity::Odd => serialport::Parity::Odd,
        };
        let flow = match self.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        };
        let stop = if self.stop_bits == 2 {
            StopBits::Two
        } else {
            StopBits::One
        };
        serialport::new(path, self.baud)
            .data_bits(data_bits)
            .parity(parity)
            .stop_bits(stop)
            .flow_control(flow)
    }
}

/// Streaming or request mode.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSettings {
    /// The scale sends frames by itself. When false, `poll` is sent every
    /// `poll_interval_ms` and the scale answers it.
    #[serde(default = "yes")]
    pub continuous: bool,
    /// The request for a reading (TOML escapes: `"\r\n"`, `"\u0002"`); ASCII only.
    #[serde(default)]
    pub poll: String,
    #[serde(default = "default_poll_interval")]
    pub poll_interval_ms: u64,
    /// Sent once after the port opens (and again while a streaming scale stays silent),
    /// e.g. `"SIR\r\n"` to start an A&D balance streaming.
    #[serde(default)]
    pub start: String,
    /// A scale that sends nothing for this long is reported offline though its port is
    /// still open (the scale is switched off behind a USB adapter); 0 turns this off, for
    /// scales that stay silent until a weight changes.
    #[serde(default = "default_offline_after")]
    pub offline_after_ms: u64,
}

fn yes() -> bool {
    true
}
fn default_poll_interval() -> u64 {
    500
}
fn default_offline_after() -> u64 {
    2000
}

impl Default for RequestSettings {
    fn default() -> Self {
        RequestSettings {
            continuous: true,
            poll: String::new(),
            poll_interval_ms: default_poll_interval(),
            start: String::new(),
            offline_after_ms: default_offline_after(),
        }
    }
}

/// The units the scale may send.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSettings {
    /// A frame in any other unit is refused (shown as a fault, never a weight).
    pub accept: Vec<Unit>,
    /// The unit of frames that name none (Toledo 8217, CAS PD-II, some ASCII lines).
    #[serde(default)]
    pub default: Option<Unit>,
}

/// When a weight counts as stable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stability {
    /// Stable only after this many stable readings of the same weight in a row (1: trust
    /// the scale's own flag).
    #[serde(default = "one")]
    pub confirm: u32,
}

fn one() -> u32 {
    1
}

impl Default for Stability {
    fn default() -> Self {
        Stability { confirm: 1 }
    }
}

/// Which CAS CI frame the indicator is set to send (F30/F34).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum CasFrame {
    /// Either, recognised by shape.
    #[serde(rename = "auto")]
    Auto,
    /// The 22-byte CAS frame (F30 = 0).
    #[serde(rename = "22")]
    Cas22,
    /// The 18-byte AND-compatible frame (F30 = 2).
    #[serde(rename = "18")]
    And18,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasParams {
    #[serde(default = "cas_auto")]
    pub frame: CasFrame,
}

fn cas_auto() -> CasFrame {
    CasFrame::Auto
}

/// The A&D header meanings (confirmed for FX-i/FZ-i; assumed for GF, EK, GX).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AndParams {
    #[serde(default = "and_stable")]
    pub stable: Vec<String>,
    #[serde(default = "and_motion")]
    pub motion: Vec<String>,
    #[serde(default = "and_overload")]
    pub overload: Vec<String>,
    #[serde(default = "and_tare")]
    pub tare: Vec<String>,
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}
fn and_stable() -> Vec<String> {
    strings(&["ST", "WT", "QT"])
}
fn and_motion() -> Vec<String> {
    strings(&["US"])
}
fn and_overload() -> Vec<String> {
    strings(&["OL"])
}
fn and_tare() -> Vec<String> {
    strings(&["PT"])
}

impl Default for AndParams {
    fn default() -> Self {
        AndParams {
            stable: and_stable(),
            motion: and_motion(),
            overload: and_overload(),
            tare: and_tare(),
        }
    }
}

/// How an ASCII line says a weight is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StableRule {
    /// Stable only when one of `stable_markers` is in the line (and no motion marker).
    Marker,
    /// Stable unless one of `motion_markers` is in the line: for scales that print only
    /// settled weights, or mark the others.
    NoMotionMarker,
}

/// The generic ASCII weight line: markers are whole tokens (split at spaces and commas),
/// matched exactly (case matters); every token of a line must be the number, its unit or
/// a known marker, or the line is refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsciiParams {
    pub stable_rule: StableRule,
    #[serde(default)]
    pub stable_markers: Vec<String>,
    #[serde(default)]
    pub motion_markers: Vec<String>,
    #[serde(default)]
    pub overload_markers: Vec<String>,
    #[serde(default)]
    pub underload_markers: Vec<String>,
    #[serde(default)]
    pub gross_markers: Vec<String>,
    #[serde(default)]
    pub net_markers: Vec<String>,
    #[serde(default)]
    pub tare_markers: Vec<String>,
    /// Tokens that may appear and mean nothing (a device number, a label).
    #[serde(default)]
    pub ignore_markers: Vec<String>,
    /// `[from, to]`: character columns (0-based, `to` excluded) that hold the number and
    /// unit, for a fixed-layout line; markers are looked for outside them.
    #[serde(default)]
    pub weight_columns: Option<[usize; 2]>,
}

impl AsciiParams {
    /// Every marker list with its key, for checks.
    pub fn marker_lists(&self) -> [(&'static str, &Vec<String>); 8] {
        [
            ("stable_markers", &self.stable_markers),
            ("motion_markers", &self.motion_markers),
            ("overload_markers", &self.overload_markers),
            ("underload_markers", &self.underload_markers),
            ("gross_markers", &self.gross_markers),
            ("net_markers", &self.net_markers),
            ("tare_markers", &self.tare_markers),
            ("ignore_markers", &self.ignore_markers),
        ]
    }
}

/// What the status byte of a HID POS report means (DOMAIN.md 1.7; some Dymo firmware is
/// said to differ, hence data).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HidParams {
    #[serde(default = "hid_report_ids")]
    pub report_ids: Vec<u8>,
    #[serde(default = "hid_stable")]
    pub stable: Vec<u8>,
    #[serde(default = "hid_zero")]
    pub zero: Vec<u8>,
    #[serde(default = "hid_motion")]
    pub motion: Vec<u8>,
    #[serde(default = "hid_underload")]
    pub underload: Vec<u8>,
    #[serde(default = "hid_overload")]
    pub overload: Vec<u8>,
    #[serde(default = "hid_not_ready")]
    pub not_ready: Vec<u8>,
    #[serde(default = "hid_fault")]
    pub fault: Vec<u8>,
    /// Reports ignored after the device opens (the first may be stale).
    #[serde(default = "hid_skip_first")]
    pub skip_first: u32,
}

fn hid_report_ids() -> Vec<u8> {
    vec![3, 4]
}
fn hid_stable() -> Vec<u8> {
    vec![4]
}
fn hid_zero() -> Vec<u8> {
    vec![2]
}
fn hid_motion() -> Vec<u8> {
    vec![3]
}
fn hid_underload() -> Vec<u8> {
    vec![5]
}
fn hid_overload() -> Vec<u8> {
    vec![6]
}
fn hid_not_ready() -> Vec<u8> {
    vec![7, 8]
}
fn hid_fault() -> Vec<u8> {
    vec![1]
}
fn hid_skip_first() -> u32 {
    1
}

impl Default for HidParams {
    fn default() -> Self {
        HidParams {
            report_ids: hid_report_ids(),
            stable: hid_stable(),
            zero: hid_zero(),
            motion: hid_motion(),
            underload: hid_underload(),
            overload: hid_overload(),
            not_ready: hid_not_ready(),
            fault: hid_fault(),
            skip_first: hid_skip_first(),
        }
    }
}

impl ScaleProfile {
    /// The A&D parameters (the defaults when the table is absent).
    pub fn and_params(&self) -> AndParams {
        self.and.clone().unwrap_or_default()
    }

    /// The HID parameters (the defaults when the table is absent).
    pub fn hid_params(&self) -> HidParams {
        self.hid.clone().unwrap_or_default()
    }
}

/// Parses one profile file and checks it; errors name the file, line and column.
pub fn parse_profile(file: &str, src: &str) -> Result<ScaleProfile, ProfileError> {
    loader::parse(file, src, check)
}

/// Every scale profile: the built-in ones overlaid by the `*.toml` files of `dir`.
pub fn load_profiles(dir: Option<&Path>) -> Result<BTreeMap<String, ScaleProfile>, ProfileError> {
    let mut all = loader::load_all(EMBEDDED, dir, parse_profile)?;
    for (name, p) in all.iter_mut() {
        p.name = name.clone();
    }
    Ok(all)
}

/// Why a profile could not be had by name.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Bad(#[from] ProfileError),
    #[error("unknown scale profile `{name}`; known: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
}

/// The profile called `name` (built in, or from `dir`).
pub fn find(name: &str, dir: Option<&Path>) -> Result<ScaleProfile, LookupError> {
    let mut all = load_profiles(dir)?;
    all.remove(name).ok_or_else(|| LookupError::Unknown {
        name: name.to_string(),
        known: all.keys().cloned().collect(),
    })
}

/// The checks serde cannot make; each problem is `(key, message)`.
fn check(p: &ScaleProfile) -> Vec<(String, String)> {
    let mut bad: Vec<(String, String)> = Vec::new();
    let mut say = |key: &str, msg: String| bad.push((key.to_string(), msg));
    if p.model.trim().is_empty() {
        say("model", "must name the scale".into());
    }
    match (&p.serial, p.protocol) {
        (None, Protocol::HidPos) => {}
        (Some(_), Protocol::HidPos) => say(
            "protocol",
            "a hid-pos scale has no [serial] settings; remove the table".into(),
        ),
        (None, _) => say(
            "protocol",
            "a serial scale needs a [serial] table (baud, data_bits, parity, stop_bits, flow_control)"
                .into(),
        ),
        (Some(s), _) => {
            if !STANDARD_BAUDS.contains(&s.baud) {
                say(
                    "serial.baud",
                    format!(
                        "{} is not a standard rate; use one of {}",
                        s.baud,
                        STANDARD_BAUDS.map(|b| b.to_string()).join(", ")
                    ),
                );
            }
            if !(5..=8).contains(&s.data_bits) {
                say("serial.data_bits", "must be 5, 6, 7 or 8".into());
            }
            if !(1..=2).contains(&s.stop_bits) {
                say("serial.stop_bits", "must be 1 or 2".into());
            }
        }
    }
    let r = &p.request;
    if !r.poll.is_ascii() {
        say(
            "request.poll",
            "must be ASCII (write bytes as \\u00NN)".into(),
        );
    }
    if !r.start.is_ascii() {
        say(
            "request.start",
            "must be ASCII (write bytes as \\u00NN)".into(),
        );
    }
    if !r.continuous && r.poll.is_empty() {
        say(
            "request.continuous",
            "a scale in request mode (continuous = false) needs a poll command".into(),
        );
    }
    if p.protocol == Protocol::HidPos && (!r.poll.is_empty() || !r.continuous) {
        say(
            "request.poll",
            "a hid-pos scale is read, not polled: leave poll empty and continuous = true".into(),
        );
    }
    if !(50..=60_000).contains(&r.poll_interval_ms) {
        say(
            "request.poll_interval_ms",
            "must be between 50 and 60000".into(),
        );
    }
    if r.offline_after_ms != 0 && !(500..=600_000).contains(&r.offline_after_ms) {
        say(
            "request.offline_after_ms",
            "must be 0 (never) or between 500 and 600000".into(),
        );
    }
    if p.units.accept.is_empty() {
        say("units.accept", "must list at least one unit".into());
    }
    if let Some(d) = p.units.default {
        if !p.units.accept.contains(&d) {
            say(
                "units.default",
                format!("`{d}` must also be in units.accept"),
            );
        }
    } else if matches!(p.protocol, Protocol::Toledo8217 | Protocol::CasPd2) {
        say(
            "units.accept",
            "this protocol's frames carry no unit: set units.default".into(),
        );
    }
    if !(1..=10).contains(&p.stability.confirm) {
        say("stability.confirm", "must be between 1 and 10".into());
    }
    let tables = [
        ("cas", p.cas.is_some(), Protocol::CasCi),
        ("and", p.and.is_some(), Protocol::And),
        ("ascii", p.ascii.is_some(), Protocol::Ascii),
        ("hid", p.hid.is_some(), Protocol::HidPos),
    ];
    for (table, present, owner) in tables {
        if present && p.protocol != owner {
            say(
                "protocol",
                format!(
                    "the [{table}] table is for protocol \"{}\", not \"{}\"",
                    owner.name(),
                    p.protocol.name()
                ),
            );
        }
    }
    if p.protocol == Protocol::Ascii {
        match &p.ascii {
            None => say(
                "protocol",
                "protocol \"ascii\" needs an [ascii] table (stable_rule and markers)".into(),
            ),
            Some(a) => check_ascii(a, &mut say),
        }
    }
    if let Some(a) = &p.and {
        for (key, list) in [
            ("and.stable", &a.stable),
            ("and.motion", &a.motion),
            ("and.overload", &a.overload),
            ("and.tare", &a.tare),
        ] {
            if list.iter().any(|h| h.len() != 2 || !h.is_ascii()) {
                say(key, "A&D headers are two ASCII characters".into());
            }
        }
    }
    if let Some(h) = &p.hid {
        if h.report_ids.is_empty() {
            say("hid.report_ids", "must list at least one report id".into());
        }
        if h.skip_first > 10 {
            say("hid.skip_first", "must be 10 or fewer".into());
        }
    }
    bad
}

fn check_ascii(a: &AsciiParams, say: &mut impl FnMut(&str, String)) {
    if a.stable_rule == StableRule::Marker && a.stable_markers.is_empty() {
        say(
            "ascii.stable_rule",
            "\"marker\" needs at least one entry in stable_markers".into(),
        );
    }
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (key, list) in a.marker_lists() {
        for m in list {
            let full = format!("ascii.{key}");
            if m.is_empty() || !m.is_ascii() || m.contains([' ', ',', '\t']) {
                say(
                    &full,
                    format!("marker {m:?} must be ASCII with no space or comma"),
                );
            } else if super::units::Decimal::parse(m).is_some() {
                say(&full, format!("marker {m:?} reads as a number"));
            } else if let Some(other) = seen.insert(m, key) {
                say(&full, format!("marker {m:?} is also in {other}"));
            }
        }
    }
    if let Some([from, to]) = a.weight_columns {
        if from >= to || to > super::frames::MAX_FRAME {
            say(
                "ascii.weight_columns",
                format!("[from, to] needs from < to <= {}", super::frames::MAX_FRAME),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_loads() {
        let all = load_profiles(None).unwrap();
        for name in [
            "adam",
            "and-fx",
            "cas-ci200",
            "cas-pd2",
            "generic-ascii",
            "hid-pos",
            "mettler-mtsics",
            "nci-sma",
            "ohaus",
            "toledo-8217",
        ] {
            assert_eq!(all[name].name, name);
        }
        assert_eq!(all.len(), EMBEDDED.len());
    }

    const GOOD: &str = "model = \"x\"\nprotocol = \"cas-ci\"\n\n[serial]\nbaud = 9600\ndata_bits = 8\nparity = \"none\"\nstop_bits = 1\nflow_control = \"none\"\n\n[units]\naccept = [\"kg\"]\n";

    fn err(src: &str) -> ProfileError {
        parse_profile("p.toml", src).unwrap_err()
    }

    #[test]
    fn mistakes_point_at_their_line() {
        assert!(parse_profile("p.toml", GOOD).is_ok());
        let e = err(&GOOD.replace("baud = 9600", "baud = 9601"));
        assert_eq!(e.line, 5, "{e}");
        assert!(e.message.contains("standard"), "{e}");
        let e = err(&GOOD.replace("parity = \"none\"", "parity = \"mark\""));
        assert_eq!(e.line, 7, "{e}");
        let e = err(&GOOD.replace("stop_bits = 1", "stop_bits = 1\nspeed = 3"));
        assert_eq!(e.line, 9, "{e}");
        let e = err(&GOOD.replace("\"cas-ci\"", "\"cas-cx\""));
        assert_eq!(e.line, 2, "{e}");
        let e = err(&format!("{GOOD}[request]\ncontinuous = false\n"));
        assert_eq!(e.line, 14, "{e}");
        assert!(e.message.contains("poll"), "{e}");
        let e = err(&format!("{GOOD}[ascii]\nstable_rule = \"marker\"\n"));
        assert!(e.message.contains("[ascii]"), "{e}");
        let e = err(&GOOD.replace("protocol = \"cas-ci\"", "protocol = \"toledo-8217\""));
        assert!(e.message.contains("units.default"), "{e}");
    }

    #[test]
    fn ascii_markers_are_checked() {
        let base = GOOD.replace("\"cas-ci\"", "\"ascii\"");
        let e = err(&format!(
            "{base}[ascii]\nstable_rule = \"marker\"\nstable_markers = [\"ST\"]\nmotion_markers = [\"ST\"]\n"
        ));
        assert_eq!(e.line, 16, "{e}");
        assert!(e.message.contains("also in"), "{e}");
        let e = err(&format!("{base}[ascii]\nstable_rule = \"marker\"\n"));
        assert_eq!(e.line, 14, "{e}");
    }

    #[test]
    fn a_site_file_overrides_a_built_in_profile() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("cas-ci200.toml"),
            GOOD.replace("baud = 9600", "baud = 19200"),
        )
        .unwrap();
        let p = find("cas-ci200", Some(dir.path())).unwrap();
        assert_eq!(p.serial.unwrap().baud, 19200);
        match find("nope", None) {
            Err(LookupError::Unknown { known, .. }) => assert!(known.contains(&"ohaus".into())),
            other => panic!("{other:?}"),
        }
    }
}
