//! Barcode scanners read by the server: serial (USB-CDC or RS-232) scanners, their
//! profiles, a pty simulator and the `packbench scanner watch` diagnostic.
//!
//! Keyboard-wedge scanners type into the bench page and need nothing here; they stay the
//! default. A serial scanner is named in a station's configuration by a spec string
//! (`serial:/dev/ttyACM0?profile=honeywell`), read on its own thread by `driver`, framed by
//! `protocol`, and its raw codes are normalised by the caller with
//! `domain::codes::normalise`, exactly like keyboard input.

pub mod driver;
pub mod profile;
pub mod protocol;
pub mod sim;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use driver::{spawn, ScannerConfig, ScannerEvent, ScannerHandle, ScannerStatus};
pub use profile::ScannerProfile;
pub use sim::ScannerSim;

use crate::devices::transport::parse_query;
use crate::domain::codes;
use profile::{FlowControl, FramingSettings, Parity, SerialSettings};

/// How a station's scanner is attached, from its spec string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerSpec {
    /// `keyboard` (the default): a keyboard-wedge scanner typing into the bench page.
    Keyboard,
    /// `none`: no scanner.
    None,
    /// `sim`: the built-in pty simulator (demo and tests).
    Sim,
    /// `serial:PATH[?profile=NAME][&baud=N][&suffix=CR|LF|CRLF|TAB|none]`.
    Serial {
        path: PathBuf,
        profile: Option<String>,
        baud: Option<u32>,
        suffix: Option<String>,
    },
}

impl ScannerSpec {
    /// Parses a spec string; the error says what is wrong and what is expected.
    pub fn parse(spec: &str) -> Result<ScannerSpec, String> {
        let expected = "expected keyboard, none, sim or serial:/dev/ttyACM0?profile=NAME";
        match spec.trim() {
            "" | "keyboard" => return Ok(ScannerSpec::Keyboard),
            "none" => return Ok(ScannerSpec::None),
            "sim" => return Ok(ScannerSpec::Sim),
            _ => {}
        }
        let Some(rest) = spec.trim().strip_prefix("serial:") else {
            return Err(format!("scanner `{spec}`: {expected}"));
        };
        let (path, query) = parse_query(rest).map_err(|e| format!("scanner `{spec}`: {e}"))?;
        if path.is_empty() {
            return Err(format!(
                "scanner `{spec}`: the device path is missing; {expected}"
            ));
        }
        let mut profile = None;
        let mut baud = None;
        let mut suffix = None;
        for (key, value) in query {
            match key.as_str() {
                "profile" => profile = Some(value),
                "baud" => {
                    baud = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .filter(|b| *b > 0)
                            .ok_or_else(|| {
                                format!("scanner `{spec}`: baud `{value}` is not a number")
                            })?,
                    )
                }
                "suffix" => {
                    if !matches!(
                        value.to_ascii_uppercase().as_str(),
                        "CR" | "LF" | "CRLF" | "TAB" | "NONE"
                    ) {
                        return Err(format!(
                            "scanner `{spec}`: suffix `{value}` is not CR, LF, CRLF, TAB or none"
                        ));
                    }
                    suffix = Some(value)
                }
                other => {
                    return Err(format!(
                        "scanner `{spec}`: unknown option `{other}` (profile, baud, suffix)"
                    ))
                }
            }
        }
        Ok(ScannerSpec::Serial {
            path: PathBuf::from(path),
            profile,
            baud,
            suffix,
        })
    }

    /// The driver configuration for a serial spec, with its profile looked up in
    /// `profiles` (from `profile::load_all`). A spec without a profile reads 9600 8N1 with
    /// CR/LF framing, which suits most scanners in USB serial mode.
    pub fn serial_config(
        &self,
        profiles: &BTreeMap<String, ScannerProfile>,
    ) -> Result<Option<ScannerConfig>, String> {
        let ScannerSpec::Serial {
            path,
            profile,
            baud,
            suffix,
        } = self
        else {
            return Ok(None);
        };
        let (mut serial, mut framing) = match profile {
            Some(name) => {
                let p = profiles.get(name).ok_or_else(|| {
                    let known: Vec<&str> = profiles.keys().map(String::as_str).collect();
                    format!(
                        "unknown scanner profile `{name}`; known: {}",
                        known.join(", ")
                    )
                })?;
                (p.serial.clone(), p.framing.clone())
            }
            None => default_settings(),
        };
        if let Some(b) = baud {
            serial.baud = *b;
        }
        if let Some(s) = suffix {
            framing.suffix = s.clone();
        }
        Ok(Some(ScannerConfig {
            path: path.clone(),
            serial,
            framing,
        }))
    }
}

/// Settings for a serial scanner with no profile: 9600 8N1, CR/LF framing.
pub fn default_settings() -> (SerialSettings, FramingSettings) {
    (
        SerialSettings {
            baud: 9600,
            data_bits: 8,
            parity: Parity::None,
            stop_bits: 1,
            flow_control: FlowControl::None,
        },
        FramingSettings {
            suffix: "CR".into(),
            prefix: String::new(),
            idle_gap_ms: 50,
            partial_timeout_ms: 500,
            aim_id: false,
            usb_cdc: true,
        },
    )
}

/// One line of `packbench scanner watch` output for an event: a code with its normalised
/// form and symbology, or a state change, as text or as a JSON object.
pub fn watch_line(event: &ScannerEvent, json: bool) -> String {
    match event {
        ScannerEvent::Code { raw, frame } => {
            let scanned = codes::normalise(raw);
            if json {
                serde_json::json!({
                    "event": "code",
                    "raw": raw,
                    "frame": frame,
                    "code": scanned.code,
                    "symbology": scanned.symbology,
                    "gs1": scanned.gs1,
                })
                .to_string()
            } else {
                let symbology = scanned
                    .symbology
                    .as_deref()
                    .map(|s| format!("  ({s} {})", symbology_name(s)))
                    .unwrap_or_default();
                format!("{}  ->  {}{symbology}", frame, scanned.code)
            }
        }
        other if json => serde_json::to_string(other).unwrap_or_default(),
        ScannerEvent::Online { port } => format!("# online: {port}"),
        ScannerEvent::Offline { port, error } => format!("# offline: {port}: {error}"),
        ScannerEvent::Dropped { frame, reason } => format!("# dropped {frame}: {reason}"),
    }
}

/// A name for an AIM symbology identifier (DOMAIN.md 2.2).
pub fn symbology_name(aim: &str) -> &'static str {
    match aim {
        "]C1" => "GS1-128",
        "]E0" => "EAN-13/UPC",
        "]E4" => "EAN-8",
        "]e0" => "GS1 DataBar",
        "]d2" => "GS1 DataMatrix",
        "]Q3" => "GS1 QR",
        "]I1" => "ITF-14",
        _ => match aim.as_bytes().get(1) {
            Some(b'A') => "Code 39",
            Some(b'C') => "Code 128",
            Some(b'E') => "EAN/UPC",
            Some(b'F') => "Codabar",
            Some(b'G') => "Code 93",
            Some(b'I') => "ITF",
            Some(b'L') => "PDF417",
            Some(b'Q') => "QR Code",
            Some(b'd') => "Data Matrix",
            Some(b'e') => "GS1 DataBar",
            Some(b'z') => "Aztec",
            _ => "other",
        },
    }
}

/// `packbench scanner watch`: reads the scanner at `port` and writes one line per event to
/// `out` until the output fails or the thread stops. Blocks; call it from a plain thread.
pub fn watch(
    port: &Path,
    profile: Option<&str>,
    profile_dir: Option<&Path>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    let profiles = profile::load_all(profile_dir).map_err(|e| e.to_string())?;
    let spec = ScannerSpec::Serial {
        path: port.to_path_buf(),
        profile: profile.map(str::to_string),
        baud: None,
        suffix: None,
    };
    let Some(config) = spec.serial_config(&profiles)? else {
        return Ok(());
    };
    let (_handle, mut rx) = spawn(config).map_err(|e| format!("cannot start: {e}"))?;
    while let Some(event) = rx.blocking_recv() {
        writeln!(out, "{}", watch_line(&event, json)).map_err(|e| e.to_string())?;
        let _ = out.flush();
    }
    Ok(())
}

#[cfg(test)]
mod tests;
