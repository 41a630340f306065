//! NCI / SMA scales (Weigh-Tronix, Brecknell, and others: DOMAIN.md 1.6).
//!
//! Both replies begin with LF, which is how the parser finds its place:
//!
//! * **SMA SCP-0499 level 1**, the reply to `<LF>W<CR>`:
//!   `<LF><s><r><n><m><f><xxxxxx.xxx><uuu><CR>`. `s` is the scale status (`Z` centre of
//!   zero, `O` over capacity, `U` under capacity, `E`/`I` zero or initial-zero error, `T`
//!   tare error, space none), `r` the range digit, `n` `G`ross/`T`are/`N`et, `m` `M` while
//!   in motion or a space, `f` reserved; then 10 characters of weight and a 3-character
//!   unit.
//! * **NCI SCP-01** (3825 and similar; chris-rudmin/serial-nci-scale): a weight reply
//!   `<LF>weight UU<CR><s1><s2><ETX>` and a status reply `<LF><s1><s2><CR><ETX>`. In `s1`
//!   bit 0 is motion, bit 1 at zero, bits 2-3 RAM/EEPROM errors; in `s2` bit 0 is under
//!   capacity, bit 1 over capacity, bits 2-3 ROM/calibration errors. `<LF>?<CR>` answers a
//!   command the scale does not know.

use super::frames::{self, status, unparsed, Found, CR, ETX, LF, MAX_FRAME};
use super::profile::ScaleProfile;
use super::sim::Sample;
use super::units::{format_in, Unit};
use super::{Frame, FrameParser, ScaleState, WeightKind};

enum Phase {
    /// Waiting for the LF that begins a reply.
    Idle,
    /// After LF, collecting up to CR.
    Body,
    /// After CR of a reply that was not SMA: the NCI status bytes and ETX may follow.
    Trailer,
}

pub struct Parser {
    phase: Phase,
    body: Vec<u8>,
    trailer: Vec<u8>,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl Parser {
    pub fn new(profile: &ScaleProfile) -> Parser {
        Parser {
            phase: Phase::Idle,
            body: Vec::with_capacity(32),
            trailer: Vec::with_capacity(4),
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }

    fn raw(&self) -> Vec<u8> {
        let mut raw = vec![LF];
        raw.extend_from_slice(&self.body);
        if matches!(self.phase, Phase::Trailer) {
            raw.push(CR);
            raw.extend_from_slice(&self.trailer);
        }
        raw
    }

    fn sma(&self, raw: &[u8]) -> Option<Frame> {
        let b = &self.body;
        if !(17..=18).contains(&b.len()) || !frames::printable(b) {
            return None;
        }
        let (s, r, n, m) = (b[0], b[1], b[2], b[3]);
        if !b"ZOUEIT ".contains(&s)
            || !r.is_ascii_digit()
            || !b"GTNgn".contains(&n)
            || !b"M ".contains(&m)
        {
            return None;
        }
        let text = std::str::from_utf8(b).ok()?;
        let state = match s {
            b'O' => ScaleState::Overload,
            b'U' => ScaleState::Underload,
            b'E' | b'I' | b'T' => ScaleState::Fault,
            _ => ScaleState::Ok,
        };
        let kind = match n {
            b'N' | b'n' => WeightKind::Net,
            b'T' => WeightKind::Tare,
            _ => WeightKind::Gross,
        };
        Some(frames::reading(
            Found {
                number: &text[5..15],
                unit: Some(&text[15..]),
                stable: m == b' ',
                kind,
                state,
                at_zero: s == b'Z',
            },
            &self.accept,
            self.default,
            raw,
        ))
    }

    fn nci(&self, raw: &[u8]) -> Frame {
        let (s1, s2) = match (self.body.len(), &self.trailer[..]) {
            (2, []) => (self.body[0], self.body[1]),
            (n, [a, b]) if n > 2 => (*a, *b),
            _ => return unparsed(raw),
        };
        let motion = s1 & 0x01 != 0;
        let at_zero = s1 & 0x02 != 0;
        let state = if s2 & 0x02 != 0 {
            ScaleState::Overload
        } else if s2 & 0x01 != 0 {
            ScaleState::Underload
        } else if s1 & 0x0c != 0 || s2 & 0x0c != 0 {
            ScaleState::Fault
        } else {
            ScaleState::Ok
        };
        if self.trailer.is_empty() {
            let state = if state == ScaleState::Ok && motion {
                ScaleState::NotReady
            } else {
                state
            };
            let mut notes = Vec::new();
            for (on, what) in [
                (motion, "in motion"),
                (at_zero, "at zero"),
                (s1 & 0x0c != 0, "RAM/EEPROM error"),
                (s2 & 0x01 != 0, "under capacity"),
                (s2 & 0x02 != 0, "over capacity"),
                (s2 & 0x0c != 0, "ROM/calibration error"),
            ] {
                if on {
                    notes.push(what);
                }
            }
            let message = if notes.is_empty() {
                "status OK".to_string()
            } else {
                notes.join(", ")
            };
            return status(state, message, raw);
        }
        let b = &self.body;
        if !frames::printable(b) {
            return unparsed(raw);
        }
        let text = std::str::from_utf8(b).unwrap_or_default();
        let (number, unit) = text.split_at(text.len() - 2);
        frames::reading(
            Found {
                number,
                unit: Some(unit),
                stable: !motion,
                kind: WeightKind::Unspecified,
                state,
                at_zero,
            },
            &self.accept,
            self.default,
            raw,
        )
    }
}

impl FrameParser for Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for &b in bytes {
            match self.phase {
                Phase::Idle => {
                    if b == LF {
                        self.body.clear();
                        self.phase = Phase::Body;
                    }
                }
                Phase::Body => match b {
                    LF => self.body.clear(),
                    CR => {
                        let raw = self.raw();
                        if let Some(frame) = self.sma(&raw) {
                            out.push(frame);
                            self.phase = Phase::Idle;
                        } else if self.body == b"?" {
                            out.push(status(ScaleState::Fault, "command not understood", &raw));
                            self.phase = Phase::Idle;
                        } else if self.body.len() >= 2 {
                            self.trailer.clear();
                            self.phase = Phase::Trailer;
                        } else {
                            out.push(unparsed(&raw));
                            self.phase = Phase::Idle;
                        }
                    }
                    _ if self.body.len() >= MAX_FRAME => {
                        out.push(unparsed(&self.raw()));
                        self.phase = Phase::Idle;
                    }
                    _ => self.body.push(b),
                },
                Phase::Trailer => match b {
                    ETX => {
                        let raw = self.raw();
                        out.push(self.nci(&raw));
                        self.phase = Phase::Idle;
                    }
                    LF => {
                        out.push(unparsed(&self.raw()));
                        self.body.clear();
                        self.phase = Phase::Body;
                    }
                    _ if self.trailer.len() >= 2 => {
                        out.push(unparsed(&self.raw()));
                        self.phase = Phase::Idle;
                    }
                    _ => self.trailer.push(b),
                },
            }
        }
    }

    fn reset(&mut self, _at_frame_start: bool) {
        self.phase = Phase::Idle;
        self.body.clear();
        self.trailer.clear();
    }
}

/// An SMA level-1 reply for the simulator.
pub fn encode(sample: &Sample) -> Vec<u8> {
    let s = match sample.state {
        ScaleState::Overload => 'O',
        ScaleState::Underload => 'U',
        _ if sample.grams == 0 => 'Z',
        _ => ' ',
    };
    let n = match sample.kind {
        WeightKind::Net => 'N',
        WeightKind::Tare => 'T',
        _ => 'G',
    };
    let m = if sample.motion { 'M' } else { ' ' };
    let (text, negative) = format_in(sample.grams, sample.unit, sample.decimals);
    let value = if negative { format!("-{text}") } else { text };
    format!("\n{s}1{n}{m} {value:>10}{:<3}\r", sample.unit.symbol()).into_bytes()
}

/// An NCI SCP-01 weight reply (tests).
#[cfg(test)]
pub fn encode_nci(sample: &Sample) -> Vec<u8> {
    let (text, negative) = format_in(sample.grams, sample.unit, sample.decimals);
    let value = if negative { format!("-{text}") } else { text };
    let unit = sample.unit.symbol().to_ascii_uppercase();
    let mut s1 = 0x30u8;
    if sample.motion {
        s1 |= 1;
    }
    if sample.grams == 0 {
        s1 |= 2;
    }
    let s2 = match sample.state {
        ScaleState::Overload => 0x32,
        ScaleState::Underload => 0x31,
        _ => 0x30,
    };
    let mut f = format!("\n{value:>8}{unit:>2}\r").into_bytes();
    f.extend_from_slice(&[s1, s2, ETX]);
    f
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_all, profile, readings, stable_grams};
    use super::*;

    #[test]
    fn sma_replies() {
        let p = profile("nci-sma");
        let r = readings(
            &p,
            &[b"\n 1G       2.500lb \r\n 1GM      2.400lb \r\nZ1G       0.000kg \r\n 1N      -1.250kg \r"],
        );
        let got: Vec<_> = r.iter().map(|r| (r.grams, r.stable, r.at_zero)).collect();
        assert_eq!(
            got,
            [
                (1134, true, false),
                (1089, false, false),
                (0, true, true),
                (-1250, true, false)
            ]
        );
        assert_eq!(r[3].kind, WeightKind::Net);
        assert_eq!(r[0].raw, "\\x0A 1G       2.500lb ");
        let f = feed_all(&p, &[b"\nO1G      99.999kg \r\nE1G       0.000kg \r?\r"]);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(matches!(&f[0], Frame::Reading(r) if r.state == ScaleState::Overload && !r.stable));
        assert!(matches!(&f[1], Frame::Reading(r) if r.state == ScaleState::Fault && !r.stable));
        let f = feed_all(&p, &[b"\n?\r"]);
        assert!(matches!(
            &f[0],
            Frame::Status {
                state: ScaleState::Fault,
                ..
            }
        ));
    }

    #[test]
    fn nci_replies() {
        let p = profile("nci-sma");
        let r = readings(
            &p,
            &[b"\n  2.50LB\r00\x03\n  2.40LB\r10\x03\n  0.00LB\r20\x03"],
        );
        let got: Vec<_> = r.iter().map(|r| (r.grams, r.stable, r.at_zero)).collect();
        assert_eq!(
            got,
            [(1134, true, false), (1089, false, false), (0, true, true)]
        );
        let mut s = Sample::new(-1250, Unit::Kg);
        s.kind = WeightKind::Net;
        assert_eq!(encode_nci(&s), b"\n  -1.250KG\r00\x03");
        let r = readings(&p, &[&encode_nci(&s)]);
        assert_eq!(
            (r[0].grams, r[0].stable, r[0].at_zero),
            (-1250, true, false)
        );
        let f = feed_all(&p, &[b"\n12.00KG\r02\x03\n10\r\x03"]);
        assert!(matches!(&f[0], Frame::Reading(r) if r.state == ScaleState::Overload && !r.stable));
        assert!(
            matches!(
                &f[1],
                Frame::Status {
                    state: ScaleState::NotReady,
                    ..
                }
            ),
            "{f:?}"
        );
    }

    #[test]
    fn garbage_and_cut_replies() {
        let p = profile("nci-sma");
        let got = stable_grams(
            &p,
            &[
                b"\xff 1G  ",
                b"\n 1G  \n 1G       2.500lb \r",
                b"\n 1G       2.5.0lb \r\n  2.50LB\r0",
                b"0x\n 1G       3.000kg \r",
            ],
        );
        assert_eq!(got, [1134, 3000]);
    }
}
