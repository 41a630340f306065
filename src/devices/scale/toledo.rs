//! Toledo 8217 "weight only" protocol, as Odoo's IoT box speaks it (DOMAIN.md 1.3).
//!
//! The host sends `W` (no terminator). The scale answers with a weight only when it can
//! give a usable one: STX, optional spaces, digits with a decimal point, an optional `N`
//! (net), CR; the number is in the profile's default unit (kg in Odoo). Otherwise it sends
//! a status: STX, `?`, one status byte, CR, with bits 0 in motion, 1 over capacity,
//! 2 negative, 3 outside the zero-capture range, 4 centre of zero, 5 net. The status byte is
//! read by position (it may be any value, even CR), and bits 6 and 7 are ignored.
//!
//! A weight reply is therefore a stable reading; a status reply is never a weight.

use super::frames::{self, status, unparsed, Found, CR, MAX_FRAME, STX};
use super::profile::ScaleProfile;
use super::sim::Sample;
use super::units::{format_in, Unit};
use super::{Frame, FrameParser, ScaleState, WeightKind};

pub struct Parser {
    /// The bytes after STX, while inside a frame.
    buf: Vec<u8>,
    in_frame: bool,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl Parser {
    pub fn new(profile: &ScaleProfile) -> Parser {
        Parser {
            buf: Vec::with_capacity(16),
            in_frame: false,
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }

    fn weight(&self, body: &[u8]) -> Frame {
        let mut raw = vec![STX];
        raw.extend_from_slice(body);
        let (number, net) = match body.strip_suffix(b"N") {
            Some(n) => (n, true),
            None => (body, false),
        };
        let digits_ok = number.iter().any(u8::is_ascii_digit)
            && number
                .iter()
                .all(|&b| b.is_ascii_digit() || b == b'.' || b == b' ');
        let (true, Ok(number)) = (digits_ok, std::str::from_utf8(number)) else {
            return unparsed(&raw);
        };
        frames::reading(
            Found {
                number,
                unit: None,
                stable: true,
                kind: if net {
                    WeightKind::Net
                } else {
                    WeightKind::Gross
                },
                state: ScaleState::Ok,
                at_zero: false,
            },
            &self.accept,
            self.default,
            &raw,
        )
    }
}

fn describe(bits: u8) -> (ScaleState, String) {
    let names = [
        "in motion",
        "over capacity",
        "negative",
        "outside the zero-capture range",
        "at centre of zero",
        "net weight",
    ];
    let set: Vec<&str> = (0..6)
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| names[i])
        .collect();
    let state = if bits & 0b10 != 0 {
        ScaleState::Overload
    } else if bits & 0b100 != 0 {
        ScaleState::Underload
    } else if bits & 0b1001 != 0 {
        ScaleState::NotReady
    } else {
        ScaleState::Ok
    };
    let message = if set.is_empty() {
        "no weight (status OK)".to_string()
    } else {
        format!("no weight: {}", set.join(", "))
    };
    (state, message)
}

impl FrameParser for Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for &b in bytes {
            if !self.in_frame {
                if b == STX {
                    self.in_frame = true;
                    self.buf.clear();
                }
                continue;
            }
            // Inside a frame: `?` then the status byte then CR, or a weight then CR.
            let status_reply = self
                .buf
                .iter()
                .position(|&c| c != b' ')
                .map(|i| self.buf[i])
                == Some(b'?');
            if status_reply {
                let q = self.buf.iter().position(|&c| c == b'?').unwrap_or(0);
                if self.buf.len() == q + 1 {
                    self.buf.push(b); // the status byte, whatever it is
                    continue;
                }
                let mut raw = vec![STX];
                raw.extend_from_slice(&self.buf);
                if b == CR {
                    let (state, message) = describe(self.buf[q + 1] & 0x3f);
                    out.push(status(state, message, &raw));
                } else {
                    out.push(unparsed(&raw));
                }
                self.in_frame = b == STX;
                self.buf.clear();
                continue;
            }
            match b {
                CR => {
                    if !self.buf.is_empty() {
                        out.push(self.weight(&self.buf));
                    }
                    self.in_frame = false;
                }
                STX => self.buf.clear(),
                _ if self.buf.len() >= MAX_FRAME => {
                    self.in_frame = false;
                    out.push(unparsed(&self.buf));
                }
                _ => self.buf.push(b),
            }
        }
    }

    fn reset(&mut self, _at_frame_start: bool) {
        self.in_frame = false;
        self.buf.clear();
    }
}

/// The reply to `W` for the simulator: a weight when settled, else a status.
pub fn encode(sample: &Sample) -> Vec<u8> {
    let mut bits = 0u8;
    if sample.motion {
        bits |= 1;
    }
    if sample.state == ScaleState::Overload {
        bits |= 2;
    }
    if sample.grams < 0 || sample.state == ScaleState::Underload {
        bits |= 4;
    }
    if bits != 0 {
        return vec![STX, b'?', 0x40 | bits, CR];
    }
    let (text, _) = format_in(sample.grams, sample.unit, sample.decimals);
    let net = if sample.kind == WeightKind::Net {
        "N"
    } else {
        ""
    };
    format!("\x02{text:>7}{net}\r").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_all, profile, readings, stable_grams};
    use super::*;

    #[test]
    fn weight_and_status_replies() {
        let p = profile("toledo-8217");
        let r = readings(&p, &[b"\x02  1.250\r", b"\x02 0.500N\r", b"\x020.000\r"]);
        assert_eq!(
            r.iter().map(|r| r.grams).collect::<Vec<_>>(),
            [1250, 500, 0]
        );
        assert!(r.iter().all(|r| r.stable));
        assert_eq!(r[1].kind, WeightKind::Net);
        let f = feed_all(&p, &[b"\x02?A\r\x02?B\r\x02?D\r\x02?\x0d\r\x02?@\r"]);
        let states: Vec<_> = f
            .iter()
            .map(|f| match f {
                Frame::Status { state, .. } => *state,
                other => panic!("{other:?}"),
            })
            .collect();
        use ScaleState::*;
        assert_eq!(states, [NotReady, Overload, Underload, Underload, Ok]);
    }

    #[test]
    fn split_and_noisy_replies() {
        let p = profile("toledo-8217");
        let bytes = b"\xfe\x02 1.2\x02  2.000\r garbage \x02?A\r\x02 3.5\r";
        let mut one_by_one: Vec<&[u8]> = Vec::new();
        for i in 0..bytes.len() {
            one_by_one.push(&bytes[i..=i]);
        }
        assert_eq!(stable_grams(&p, &one_by_one), [2000, 3500]);
        for bad in [
            &b"\x021.2.3\r"[..],
            b"\x02 1.2x\r",
            b"\x02 \r",
            b"\x02-1.0\r",
        ] {
            assert!(stable_grams(&p, &[bad]).is_empty(), "{bad:?}");
        }
    }
}
