//! Scanner profiles: `firmware-config/scanners/*.toml`, one per maker family.
//!
//! A profile says how the scanner talks on a serial (USB-CDC or RS-232) port, how its codes
//! are framed, and which programming barcodes set it up the way the bench needs it (CR
//! suffix, AIM identifiers, the symbologies in use, USB serial mode, factory reset). Menu
//! codes differ by maker and model and most could not be checked against a maker's manual
//! (DOMAIN.md 2.1), so every barcode carries `confirmed`, and a site corrects a value by
//! dropping a file of the same name into its own profile directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::protocol::{Framer, FramerConfig, Framing};
use crate::devices::profile::{self, ProfileError};

/// The profiles shipped with packbench.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "honeywell",
        include_str!("../../../firmware-config/scanners/honeywell.toml"),
    ),
    (
        "zebra-symbol",
        include_str!("../../../firmware-config/scanners/zebra-symbol.toml"),
    ),
    (
        "generic-cn",
        include_str!("../../../firmware-config/scanners/generic-cn.toml"),
    ),
];

/// One scanner family.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerProfile {
    /// A human name for lists and the programming sheet.
    pub name: String,
    pub maker: String,
    /// Models the profile is meant for.
    #[serde(default)]
    pub models: Vec<String>,
    /// Where the facts come from, for the person who has to correct them.
    #[serde(default)]
    pub source: String,
    pub serial: SerialSettings,
    pub framing: FramingSettings,
    /// The programming barcodes, in the order they are to be scanned.
    #[serde(default, rename = "barcode")]
    pub barcodes: Vec<ProgrammingBarcode>,
}

/// Serial line settings. A USB-CDC scanner ignores them; an RS-232 one needs them right.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialSettings {
    pub baud: u32,
    #[serde(default = "default_data_bits")]
    pub data_bits: u8,
    #[serde(default)]
    pub parity: Parity,
    #[serde(default = "default_stop_bits")]
    pub stop_bits: u8,
    #[serde(default)]
    pub flow_control: FlowControl,
}

fn default_data_bits() -> u8 {
    8
}
fn default_stop_bits() -> u8 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Parity {
    #[default]
    None,
    Even,
    Odd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FlowControl {
    #[default]
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

impl SerialSettings {
    /// A `serialport` builder for `path` with these settings.
    pub fn builder(&self, path: &str) -> serialport::SerialPortBuilder {
        let data_bits = match self.data_bits {
            5 => serialport::DataBits::Five,
            6 => serialport::DataBits::Six,
            7 => serialport::DataBits::Seven,
            _ => serialport::DataBits::Eight,
        };
        let parity = match self.parity {
            Parity::None => serialport::Parity::None,
            Parity::Even => serialport::Parity::Even,
            Parity::Odd => serialport::Parity::Odd,
        };
        let stop_bits = if self.stop_bits == 2 {
            serialport::StopBits::Two
        } else {
            serialport::StopBits::One
        };
        let flow = match self.flow_control {
            FlowControl::None => serialport::FlowControl::None,
            FlowControl::Software => serialport::FlowControl::Software,
            FlowControl::Hardware => serialport::FlowControl::Hardware,
        };
        serialport::new(path, self.baud)
            .data_bits(data_bits)
            .parity(parity)
            .stop_bits(stop_bits)
            .flow_control(flow)
    }
}

/// How codes are framed on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramingSettings {
    /// `CR`, `LF`, `CRLF` or `TAB`: the suffix the scanner is programmed to send (the
    /// programming sheet sets CR); `none` frames by an idle gap instead.
    pub suffix: String,
    /// Characters the scanner sends before each code (`\u0002` escapes allowed), stripped
    /// when present. Not the AIM identifier, which is kept for normalisation.
    #[serde(default)]
    pub prefix: String,
    /// With `suffix = "none"`: the silence that ends a code.
    #[serde(default = "default_idle_gap_ms")]
    pub idle_gap_ms: u64,
    /// A partial code with no suffix after this long is dropped as incomplete.
    #[serde(default = "default_partial_timeout_ms")]
    pub partial_timeout_ms: u64,
    /// Whether the sheet turns AIM identifiers on, so codes arrive as `]C1…`, `]E0…`.
    #[serde(default)]
    pub aim_id: bool,
    /// Whether the model family has a USB serial (CDC-ACM) mode.
    #[serde(default)]
    pub usb_cdc: bool,
}

fn default_idle_gap_ms() -> u64 {
    50
}
fn default_partial_timeout_ms() -> u64 {
    500
}

impl FramingSettings {
    fn framing(&self) -> Option<Framing> {
        match self.suffix.to_ascii_uppercase().as_str() {
            "CR" | "LF" | "CRLF" => Some(Framing::Line),
            "TAB" => Some(Framing::Tab),
            "NONE" => Some(Framing::IdleGap(Duration::from_millis(self.idle_gap_ms))),
            _ => None,
        }
    }

    /// The framer configuration these settings describe.
    pub fn framer_config(&self) -> FramerConfig {
        FramerConfig {
            framing: self.framing().unwrap_or(Framing::Line),
            prefix: unescape(&self.prefix).unwrap_or_default().into_bytes(),
            partial_timeout: Duration::from_millis(self.partial_timeout_ms),
        }
    }

    /// A framer for these settings.
    pub fn framer(&self) -> Framer {
        Framer::new(self.framer_config())
    }
}

/// What a programming barcode sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    FactoryReset,
    EnterSetup,
    ExitSetup,
    UsbCdc,
    SuffixCr,
    AimId,
    Code128,
    Ean13,
    Qr,
    Gs1128,
    Other,
}

/// The symbology a programming barcode is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetSymbology {
    Code128,
    Qr,
}

/// One programming barcode.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammingBarcode {
    pub setting: Setting,
    pub label: Labels,
    pub symbology: SheetSymbology,
    /// The data the barcode encodes; empty when it is not known (then `confirmed` must be
    /// false and the sheet says where to find it).
    pub value: String,
    /// Code 128 only: start the symbol with FNC3, as some makers mark menu codes.
    #[serde(default)]
    pub fnc3: bool,
    /// True only when the value was checked against the maker's manual or a real scanner.
    pub confirmed: bool,
    /// Where the value comes from, or what to check.
    #[serde(default)]
    pub note: String,
}

/// A label in the three languages of the product.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    pub en: String,
    pub ko: String,
    pub zh: String,
}

impl Labels {
    /// The label for a language code (`ko`, `zh`, anything else is English).
    pub fn get(&self, lang: &str) -> &str {
        match lang {
            "ko" => &self.ko,
            "zh" => &self.zh,
            _ => &self.en,
        }
    }
}

/// Parses one scanner profile; errors name the file and the line.
pub fn parse(file: &str, src: &str) -> Result<ScannerProfile, ProfileError> {
    let p: ScannerProfile = profile::parse(file, src, check)?;
    // Problems inside one `[[barcode]]` entry are located here, since the same key appears
    // in every entry.
    for (i, b) in p.barcodes.iter().enumerate() {
        if let Some((field, message)) = check_barcode(b) {
            let (line, column) = barcode_field_line(src, i, field).unwrap_or((0, 0));
            return Err(ProfileError {
                file: file.into(),
                line,
                column,
                message: format!("barcode {} ({}): {field}: {message}", i + 1, b.label.en),
            });
        }
    }
    Ok(p)
}

fn check(p: &ScannerProfile) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if p.serial.baud == 0 {
        problems.push(("serial.baud".into(), "must be above 0".into()));
    }
    if !(5..=8).contains(&p.serial.data_bits) {
        problems.push(("serial.data_bits".into(), "must be 5, 6, 7 or 8".into()));
    }
    if !(1..=2).contains(&p.serial.stop_bits) {
        problems.push(("serial.stop_bits".into(), "must be 1 or 2".into()));
    }
    if p.framing.framing().is_none() {
        problems.push((
            "framing.suffix".into(),
            format!("`{}` is not CR, LF, CRLF, TAB or none", p.framing.suffix),
        ));
    }
    if let Err(e) = unescape(&p.framing.prefix) {
        problems.push(("framing.prefix".into(), e));
    }
    if p.framing.idle_gap_ms == 0 || p.framing.idle_gap_ms > 2000 {
        problems.push((
            "framing.idle_gap_ms".into(),
            "must be between 1 and 2000".into(),
        ));
    }
    if p.framing.partial_timeout_ms == 0 || p.framing.partial_timeout_ms > 10_000 {
        problems.push((
            "framing.partial_timeout_ms".into(),
            "must be between 1 and 10000".into(),
        ));
    }
    problems
}

/// The first problem of one programming barcode, as `(field, message)`.
fn check_barcode(b: &ProgrammingBarcode) -> Option<(&'static str, String)> {
    if b.value.is_empty() && b.confirmed {
        return Some((
            "confirmed",
            "a barcode with no value cannot be confirmed".into(),
        ));
    }
    if b.symbology == SheetSymbology::Code128 {
        if let Some(c) = b.value.chars().find(|c| !(' '..='~').contains(c)) {
            return Some((
                "value",
                format!("Code 128 programming codes take printable ASCII only, not {c:?}"),
            ));
        }
    }
    if b.fnc3 && b.symbology != SheetSymbology::Code128 {
        return Some(("fnc3", "only a Code 128 barcode can carry FNC3".into()));
    }
    None
}

/// Line and column of `field = ` inside the `index`-th (0-based) `[[barcode]]` table.
fn barcode_field_line(src: &str, index: usize, field: &str) -> Option<(usize, usize)> {
    let mut seen = None;
    for (i, line) in src.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("[[barcode]]") {
            seen = Some(seen.map_or(0, |n| n + 1));
            continue;
        }
        if t.starts_with('[') && !t.starts_with("[barcode.") {
            if seen == Some(index) {
                return None;
            }
            continue;
        }
        if seen == Some(index) {
            if let Some(rest) = t.strip_prefix(field) {
                if rest.trim_start().starts_with('=') {
                    return Some((i + 1, line.len() - t.len() + 1));
                }
            }
        }
    }
    None
}

/// Every scanner profile: the built-in ones overlaid by `dir/scanners/*.toml` semantics —
/// pass the directory that holds the scanner files themselves.
pub fn load_all(dir: Option<&Path>) -> Result<BTreeMap<String, ScannerProfile>, ProfileError> {
    profile::load_all(EMBEDDED, dir, parse)
}

/// One profile by name, from the built-in set overlaid by `dir`.
pub fn load(dir: Option<&Path>, name: &str) -> Result<ScannerProfile, ProfileError> {
    let mut all = load_all(dir)?;
    let known: Vec<String> = all.keys().cloned().collect();
    all.remove(name).ok_or_else(|| ProfileError {
        file: format!("scanner profile `{name}`"),
        line: 0,
        column: 0,
        message: format!("no such profile; known: {}", known.join(", ")),
    })
}

/// Turns `\r`, `\n`, `\t`, `\\` and `\uXXXX` escapes into characters (TOML basic strings
/// already do this; the function also serves literal strings and spec strings).
pub fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let ch = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("`\\u{hex}` is not a character"))?;
                out.push(ch);
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}`",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_profiles_load() {
        let all = load_all(None).expect("built-in scanner profiles parse");
        assert_eq!(
            all.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["generic-cn", "honeywell", "zebra-symbol"]
        );
        for (name, p) in &all {
            // Every profile covers the settings the bench needs.
            for needed in [
                Setting::FactoryReset,
                Setting::SuffixCr,
                Setting::AimId,
                Setting::Code128,
                Setting::Ean13,
                Setting::Qr,
                Setting::Gs1128,
            ] {
                assert!(
                    p.barcodes.iter().any(|b| b.setting == needed),
                    "{name}: no {needed:?} barcode"
                );
            }
            if p.framing.usb_cdc {
                assert!(
                    p.barcodes.iter().any(|b| b.setting == Setting::UsbCdc),
                    "{name}"
                );
            }
            for b in &p.barcodes {
                assert!(!b.label.ko.is_empty() && !b.label.zh.is_empty(), "{name}");
            }
            assert_eq!(p.framing.framer_config().framing, Framing::Line, "{name}");
        }
    }

    #[test]
    fn an_unknown_key_points_at_its_line() {
        let src = EMBEDDED[0]
            .1
            .replacen("[serial]", "[serial]\nspeed = 9600", 1);
        let e = parse("honeywell.toml", &src).unwrap_err();
        let line = src
            .lines()
            .position(|l| l.starts_with("speed"))
            .expect("inserted")
            + 1;
        assert_eq!(e.line, line, "{e}");
        assert!(e.message.contains("speed"), "{e}");
    }

    #[test]
    fn a_bad_value_points_at_its_line() {
        let src = EMBEDDED[0]
            .1
            .replacen("suffix = \"CR\"", "suffix = \"CRCR\"", 1);
        let e = parse("honeywell.toml", &src).unwrap_err();
        let line = src
            .lines()
            .position(|l| l.trim_start().starts_with("suffix = \"CRCR\""))
            .expect("replaced")
            + 1;
        assert_eq!(e.line, line, "{e}");
        assert!(e.to_string().contains("honeywell.toml, line"), "{e}");
    }

    #[test]
    fn a_bad_barcode_points_at_its_own_entry() {
        // Break the third barcode only: the error must name its line, not the first one's.
        let src = EMBEDDED[0].1;
        let mut entries = 0;
        let mut target = 0;
        let lines: Vec<String> = src
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if l.starts_with("[[barcode]]") {
                    entries += 1;
                }
                if entries == 3 && l.starts_with("value = ") && target == 0 {
                    target = i + 1;
                    "value = \"é\"".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect();
        let e = parse("honeywell.toml", &lines.join("\n")).unwrap_err();
        assert_eq!(e.line, target, "{e}");
        assert!(e.message.starts_with("barcode 3"), "{e}");
    }

    #[test]
    fn a_site_file_overrides_a_built_in_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = EMBEDDED[0].1.replacen("baud = 115200", "baud = 9600", 1);
        std::fs::write(dir.path().join("honeywell.toml"), src).expect("write");
        let p = load(Some(dir.path()), "honeywell").expect("loads");
        assert_eq!(p.serial.baud, 9600);
        assert!(load(Some(dir.path()), "nope").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(unescape("\\u0002X\\r").as_deref(), Ok("\u{2}X\r"));
        assert!(unescape("\\q").is_err());
        assert!(unescape("\\uZZZZ").is_err());
    }
}
