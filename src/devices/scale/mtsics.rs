//! Mettler Toledo MT-SICS (DOMAIN.md 1.2): whitespace-separated tokens, each reply ended
//! by CR LF.
//!
//! A weight reply repeats the command (`S`, `SI`; `SIR` streams the same reply), then a
//! status, the value and the unit: `S S      123.45 g` is stable, `S D      120.10 g` is
//! in motion (dynamic). `S I` means busy or not ready yet (ask again), `S +` and `S -` over
//! and under the range. `ES`, `ET` and `EL` are syntax, transmission and logic errors. A tare
//! reply (`T S 12.3 g`, `TA A 12.3 g`) is a tare reading; other `A` replies are information.
//! Every other line is refused.

use super::frames::{self, status, unparsed, Found, Line, Lines};
use super::profile::ScaleProfile;
use super::sim::Sample;
use super::units::{format_in, Unit};
use super::{Frame, FrameParser, ScaleState, WeightKind};

pub struct Parser {
    lines: Lines,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl Parser {
    pub fn new(profile: &ScaleProfile) -> Parser {
        Parser {
            lines: Lines::new(),
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }
}

fn decode(line: &[u8], accept: &[Unit], default: Option<Unit>) -> Frame {
    if !frames::printable(line) {
        return unparsed(line);
    }
    let text = std::str::from_utf8(line).unwrap_or_default();
    let tokens: Vec<&str> = text.split_ascii_whitespace().collect();
    let weight = |rest: &[&str], stable: bool, kind: WeightKind| {
        let (number, unit) = match rest {
            [] => return unparsed(line),
            [n] => ((*n).to_string(), None),
            [n @ .., u] => (n.join(" "), Some(*u)),
        };
        frames::reading(
            Found {
                number: &number,
                unit,
                stable,
                kind,
                state: ScaleState::Ok,
                at_zero: false,
            },
            accept,
            default,
            line,
        )
    };
    match tokens[..] {
        ["ES"] => status(
            ScaleState::Fault,
            "syntax error: command not understood",
            line,
        ),
        ["ET"] => status(ScaleState::Fault, "transmission error", line),
        ["EL"] => status(ScaleState::Fault, "logic error: command cannot run", line),
        ["S" | "SI" | "SIR", "S", ref rest @ ..] => weight(rest, true, WeightKind::Unspecified),
        ["S" | "SI" | "SIR", "D", ref rest @ ..] => weight(rest, false, WeightKind::Unspecified),
        ["T", "S", ref rest @ ..] | ["TA", "A", ref rest @ ..] if !rest.is_empty() => {
            weight(rest, true, WeightKind::Tare)
        }
        [_, "I"] => status(ScaleState::NotReady, "busy or not ready yet", line),
        [_, "+"] => status(ScaleState::Overload, "over the weighing range", line),
        [_, "-"] => status(ScaleState::Underload, "under the weighing range", line),
        [_, "A", ..] => status(ScaleState::Ok, text.trim(), line),
        _ => unparsed(line),
    }
}

impl FrameParser for Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let (accept, default) = (&self.accept, self.default);
        self.lines.feed(bytes, |line| match line {
            Line::Text(l) => out.push(decode(l, accept, default)),
            Line::TooLong(l) => out.push(unparsed(l)),
        });
    }

    fn reset(&mut self, at_frame_start: bool) {
        self.lines.reset(at_frame_start);
    }
}

/// The reply to `SI` for the simulator.
pub fn encode(sample: &Sample) -> Vec<u8> {
    match sample.state {
        ScaleState::Overload => return b"S +\r\n".to_vec(),
        ScaleState::Underload => return b"S -\r\n".to_vec(),
        ScaleState::NotReady | ScaleState::Fault => return b"S I\r\n".to_vec(),
        ScaleState::Ok => {}
    }
    let (text, negative) = format_in(sample.grams, sample.unit, sample.decimals);
    let value = if negative { format!("-{text}") } else { text };
    let flag = if sample.motion { 'D' } else { 'S' };
    format!("S {flag} {value:>10} {}\r\n", sample.unit.symbol()).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_all, profile, readings, stable_grams};
    use super::*;

    #[test]
    fn weight_replies() {
        let p = profile("mettler-mtsics");
        let r = readings(
            &p,
            &[b"\r\nS S      123.45 g\r\nS D      120.10 g\r\nS S     -0.0082 kg\r\n"],
        );
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].grams, r[0].stable), (123, true));
        assert_eq!((r[1].grams, r[1].stable), (120, false));
        assert_eq!((r[2].grams, r[2].stable), (-8, true));
        assert_eq!(r[0].raw, "S S      123.45 g");
        let r = readings(&p, &[b"\nSI S 2.205 lb\r\nS S 16.00 oz\r\nT S 12.0 g\r\n"]);
        assert_eq!(
            r.iter().map(|r| r.grams).collect::<Vec<_>>(),
            [1000, 454, 12]
        );
        assert_eq!(r[2].kind, WeightKind::Tare);
    }

    #[test]
    fn status_and_error_replies() {
        let p = profile("mettler-mtsics");
        let f = feed_all(&p, &[b"\nS I\r\nS +\r\nS -\r\nES\r\nEL\r\nZ A\r\n"]);
        let states: Vec<_> = f
            .iter()
            .map(|f| match f {
                Frame::Status { state, .. } => *state,
                other => panic!("{other:?}"),
            })
            .collect();
        use ScaleState::*;
        assert_eq!(states, [NotReady, Overload, Underload, Fault, Fault, Ok]);
    }

    #[test]
    fn malformed_lines_are_refused() {
        let p = profile("mettler-mtsics");
        for bad in [
            &b"\nS S 12.3.4 g\r\n"[..],
            b"\nS S\r\n",
            b"\nS X 12.3 g\r\n",
            b"\nS S 12.3 pcs\r\n",
            b"\nS S 1\xff2.3 g\r\n",
            b"\nS S 12 3 g\r\n",
        ] {
            assert!(stable_grams(&p, &[bad]).is_empty(), "{bad:?}");
        }
        // The tail of a cut reply, when the port opened mid-line, is not a reply.
        assert!(stable_grams(&p, &[b"S S 123.45 g\r\n"]).is_empty());
    }
}
