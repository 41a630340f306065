//! Pieces the frame parsers share: a bounded line splitter, the escaping of raw frames for
//! display and audit, and the small field checks several protocols need.

use super::units::{to_grams, Decimal, Unit};
use super::{Frame, Reading, ScaleState, WeightKind};

/// The longest frame any supported protocol sends, with room to spare. A longer run with
/// no frame end is noise (or a wrong baud rate) and is dropped, so garbage never grows a
/// parser's memory past this.
pub const MAX_FRAME: usize = 128;

pub const STX: u8 = 0x02;
pub const ETX: u8 = 0x03;
pub const LF: u8 = b'\n';
pub const CR: u8 = b'\r';

/// Bytes as text: printable ASCII as is (a backslash doubled), anything else as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02X}")),
        }
    }
    s
}

/// Splits a stream into lines ended by CR or LF (CR LF gives one line: the empty line
/// between them is skipped). Starting out of sync, it drops everything up to the first line
/// end, so the tail of a frame that was cut when the port opened is never read as a frame.
/// A line longer than `MAX_FRAME` is dropped whole, up to its end.
pub struct Lines {
    buf: Vec<u8>,
    synced: bool,
    overflow: bool,
}

/// One complete line.
pub enum Line<'a> {
    Text(&'a [u8]),
    /// A line that was too long; its first bytes, for display.
    TooLong(&'a [u8]),
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            buf: Vec::with_capacity(MAX_FRAME),
            synced: false,
            overflow: false,
        }
    }

    pub fn reset(&mut self, at_frame_start: bool) {
        self.buf.clear();
        self.synced = at_frame_start;
        self.overflow = false;
    }

    /// Feeds bytes and calls `each` with every complete, non-empty line.
    pub fn feed(&mut self, bytes: &[u8], mut each: impl FnMut(Line<'_>)) {
        for &b in bytes {
            if b == CR || b == LF {
                if !self.synced {
                    self.synced = true;
                } else if self.overflow {
                    each(Line::TooLong(&self.buf));
                } else if !self.buf.is_empty() {
                    each(Line::Text(&self.buf));
                }
                self.buf.clear();
                self.overflow = false;
            } else if self.synced && !self.overflow {
                if self.buf.len() < MAX_FRAME {
                    self.buf.push(b);
                } else {
                    self.overflow = true;
                }
            }
        }
    }
}

/// An `Unparsed` frame for `bytes`.
pub fn unparsed(bytes: &[u8]) -> Frame {
    Frame::Unparsed { raw: escape(bytes) }
}

/// A `Status` frame.
pub fn status(state: ScaleState, message: impl Into<String>, raw: &[u8]) -> Frame {
    Frame::Status {
        state,
        message: message.into(),
        raw: escape(raw),
    }
}

/// Whether every byte is printable ASCII (or TAB).
pub fn printable(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| (0x20..=0x7e).contains(&b) || b == b'\t')
}

/// The parts of a reading a protocol found, before the unit checks.
pub struct Found<'a> {
    pub number: &'a str,
    pub unit: Option<&'a str>,
    pub stable: bool,
    pub kind: WeightKind,
    pub state: ScaleState,
    pub at_zero: bool,
}

/// Turns what a protocol found into a frame: the number must parse, the unit must be a
/// weight unit the profile accepts (or, when the frame names none, the profile's default).
/// A frame that fails these is refused: `Unparsed` when the number is malformed, a `Fault`
/// status when the unit is the problem, a status with the frame's state when an overload
/// carries no number. Never a stable reading.
pub fn reading(found: Found<'_>, accept: &[Unit], default: Option<Unit>, raw: &[u8]) -> Frame {
    let Some(value) = Decimal::parse(found.number) else {
        if found.state != ScaleState::Ok {
            let what = match found.state {
                ScaleState::Overload => "overload",
                ScaleState::Underload => "underload",
                _ => "no weight",
            };
            return status(found.state, what, raw);
        }
        return unparsed(raw);
    };
    let unit = match found.unit.map(str::trim).filter(|u| !u.is_empty()) {
        Some(text) => match Unit::parse(text) {
            Some(u) => u,
            None => {
                return status(
                    ScaleState::Fault,
                    format!("unit `{text}` is not a weight"),
                    raw,
                )
            }
        },
        None => match default {
            Some(u) => u,
            None => return unparsed(raw),
        },
    };
    if !accept.is_empty() && !accept.contains(&unit) {
        return status(
            ScaleState::Fault,
            format!("unit `{unit}` is not one this profile accepts"),
            raw,
        );
    }
    let Some(grams) = to_grams(value, unit) else {
        return unparsed(raw);
    };
    Frame::Reading(Reading {
        grams,
        stable: found.stable && found.state == ScaleState::Ok,
        kind: found.kind,
        state: found.state,
        at_zero: found.at_zero,
        unit,
        raw: escape(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(start: bool, chunks: &[&[u8]]) -> Vec<String> {
        let mut l = Lines::new();
        l.reset(start);
        let mut out = Vec::new();
        for c in chunks {
            l.feed(c, |line| match line {
                Line::Text(t) => out.push(escape(t)),
                Line::TooLong(t) => out.push(format!("LONG {}", t.len())),
            });
        }
        out
    }

    #[test]
    fn lines_skip_the_first_partial_line_unless_told_the_stream_starts_clean() {
        assert_eq!(lines(false, &[b"3.98 g\r\n  53.98 g\r\n"]), ["  53.98 g"]);
        assert_eq!(lines(true, &[b"3.98 g\r\n"]), ["3.98 g"]);
        assert_eq!(lines(true, &[b"a", b"b\r", b"\nc\n"]), ["ab", "c"]);
    }

    #[test]
    fn a_line_that_never_ends_is_bounded_and_dropped_whole() {
        let long = vec![b'x'; 10_000];
        assert_eq!(lines(true, &[&long, b"\nok\n"]), ["LONG 128", "ok"]);
    }

    #[test]
    fn escaping_keeps_text_and_shows_bytes() {
        assert_eq!(escape(b"ST,GS\x02\\\xff"), "ST,GS\\x02\\\\\\xFF");
    }
}
