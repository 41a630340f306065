//! A&D standard format (FX-i / FZ-i; GF, EK and GX assumed the same: DOMAIN.md 1.5).
//!
//! A line is a 2-character header, a comma, 9 characters of data (sign, digits, decimal
//! point, zero padded) and a 3-character unit, right-aligned, then CR LF:
//! `ST,+00123.45  g`. The header says what the weight is (`ST`/`WT`/`QT` stable, `US`
//! unstable, `OL` overload, `PT` preset tare); the header lists are profile data. Data that
//! does not start with a sign is text (model, serial number); `EC,Exx` is an error reply.
//!
//! The 15 characters before the line end are read by position, so bytes left over from a
//! cut frame in front of a good one do not spoil it.

use super::frames::{self, status, unparsed, Found, Line, Lines};
use super::profile::{AndParams, ScaleProfile};
use super::sim::Sample;
use super::units::{format_in, Unit};
use super::{Frame, FrameParser, ScaleState, WeightKind};

const FRAME_LEN: usize = 15;

pub struct Parser {
    lines: Lines,
    headers: AndParams,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl Parser {
    pub fn new(profile: &ScaleProfile) -> Parser {
        Parser {
            lines: Lines::new(),
            headers: profile.and_params(),
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }
}

fn decode(line: &[u8], h: &AndParams, accept: &[Unit], default: Option<Unit>) -> Frame {
    let tail = &line[line.len().saturating_sub(FRAME_LEN)..];
    let is_weight = tail.len() == FRAME_LEN
        && frames::printable(tail)
        && tail[..2].iter().all(u8::is_ascii_uppercase)
        && tail[2] == b','
        && matches!(tail[3], b'+' | b'-');
    if is_weight {
        let text = std::str::from_utf8(tail).unwrap_or_default();
        let header = &text[..2];
        let has = |list: &Vec<String>| list.iter().any(|x| x == header);
        let (stable, state, kind) = if has(&h.overload) {
            (false, ScaleState::Overload, WeightKind::Unspecified)
        } else if has(&h.tare) {
            (true, ScaleState::Ok, WeightKind::Tare)
        } else if has(&h.stable) {
            (true, ScaleState::Ok, WeightKind::Unspecified)
        } else if has(&h.motion) {
            (false, ScaleState::Ok, WeightKind::Unspecified)
        } else {
            return unparsed(line);
        };
        return frames::reading(
            Found {
                number: &text[3..12],
                unit: Some(&text[12..]),
                stable,
                kind,
                state,
                at_zero: false,
            },
            accept,
            default,
            tail,
        );
    }
    // `EC,E02` and other replies with text.
    if line.len() >= 3
        && frames::printable(line)
        && line[..2].iter().all(u8::is_ascii_uppercase)
        && line[2] == b','
    {
        let text = std::str::from_utf8(line).unwrap_or_default();
        if let Some(code) = text.strip_prefix("EC,") {
            return status(ScaleState::Fault, format!("error {}", code.trim()), line);
        }
        if h.overload.iter().any(|o| text.starts_with(o.as_str())) {
            return status(ScaleState::Overload, "overload", line);
        }
        return status(ScaleState::Ok, text.trim(), line);
    }
    unparsed(line)
}

impl FrameParser for Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let (h, accept, default) = (&self.headers, &self.accept, self.default);
        self.lines.feed(bytes, |line| match line {
            Line::Text(l) => out.push(decode(l, h, accept, default)),
            Line::TooLong(l) => out.push(unparsed(l)),
        });
    }

    fn reset(&mut self, at_frame_start: bool) {
        self.lines.reset(at_frame_start);
    }
}

/// One standard-format line for the simulator.
pub fn encode(sample: &Sample) -> Vec<u8> {
    let header = match (sample.state, sample.motion) {
        (ScaleState::Overload, _) => "OL",
        (_, true) => "US",
        _ => "ST",
    };
    let (text, negative) = format_in(sample.grams, sample.unit, sample.decimals);
    let sign = if negative { '-' } else { '+' };
    format!("{header},{sign}{text:0>8}{:>3}\r\n", sample.unit.symbol()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_all, profile, readings, stable_grams};
    use super::*;

    #[test]
    fn standard_format_lines() {
        let p = profile("and-fx");
        let r = readings(
            &p,
            &[b"\r\nST,+00123.45  g\r\nUS,+00120.10  g\r\nST,-00001.25  g\r\nST,+0001.250 kg\r\n"],
        );
        let got: Vec<_> = r.iter().map(|r| (r.grams, r.stable)).collect();
        assert_eq!(got, [(123, true), (120, false), (-1, true), (1250, true)]);
        assert_eq!(r[0].raw, "ST,+00123.45  g");
        let r = readings(
            &p,
            &[b"\nST,+0002.205 lb\r\nST,+00016.00 oz\r\nPT,+00012.00  g\r\n"],
        );
        assert_eq!(
            r.iter().map(|r| r.grams).collect::<Vec<_>>(),
            [1000, 454, 12]
        );
        assert_eq!(r[2].kind, WeightKind::Tare);
    }

    #[test]
    fn overload_counting_errors_and_text() {
        let p = profile("and-fx");
        let f = feed_all(
            &p,
            &[b"\nOL,+1E19    g\r\nOL,+09999.99  g\r\nQT,+00000120 PC\r\nEC,E11\r\nTN,  FX-300i\r\n"],
        );
        assert!(
            matches!(
                &f[0],
                Frame::Status {
                    state: ScaleState::Overload,
                    ..
                }
            ),
            "{f:?}"
        );
        assert!(matches!(&f[1], Frame::Reading(r) if r.state == ScaleState::Overload && !r.stable));
        assert!(
            matches!(
                &f[2],
                Frame::Status {
                    state: ScaleState::Fault,
                    ..
                }
            ),
            "{f:?}"
        );
        assert!(
            matches!(&f[3], Frame::Status { state: ScaleState::Fault, message, .. } if message == "error E11")
        );
        assert!(
            matches!(
                &f[4],
                Frame::Status {
                    state: ScaleState::Ok,
                    ..
                }
            ),
            "{f:?}"
        );
    }

    #[test]
    fn cut_frames_and_garbage() {
        let p = profile("and-fx");
        let got = stable_grams(
            &p,
            &[
                b"+00123.45  g\r\n",
                b"ST,+001\xffST,+00200.00  g\r\n",
                b"ST,+0020x.00  g\r\nXX,+00300.00  g\r\n",
            ],
        );
        assert_eq!(got, [200]);
    }
}
