//! A configurable ASCII weight line, for scales whose output is "a number, a unit, and
//! some markers": Ohaus (`    53.98 g`), Adam (`  1.234kg`), the CAS-like
//! `ST,GS,+  1.500kg` of indicators with no public manual, and whatever a site meets.
//!
//! A line ends at CR or LF (a leading STX and a trailing ETX are dropped). It is split into
//! tokens at spaces, tabs and commas. Exactly one token is the number (a sign may stand
//! alone before it), the unit follows it, attached or as the next token, or the profile's
//! default applies; every other token must be one of the profile's markers, or the line is
//! refused. With `weight_columns` the number and unit are read from fixed columns instead,
//! and only the rest of the line is searched for markers. No regular expressions: the rules
//! are data a user can correct.
//!
//! Stability is the profile's `stable_rule`: `marker` (stable only with a stable marker and
//! no motion marker) or `no-motion-marker` (stable unless a motion marker is present).
//!
//! A line protocol with no start byte cannot tell a stray byte in front of a line from the
//! line itself: a garbled byte makes the line unreadable (refused), but a lone `-` or digit
//! of line noise glued to the front of a weight would read as part of it. The first line
//! after the port opens is dropped for that reason, and profiles whose scales give no
//! stability flag ask for two equal readings in a row (`confirm`).

use super::frames::{self, status, unparsed, Found, Line, Lines, ETX, STX};
use super::profile::{AsciiParams, ScaleProfile, StableRule};
use super::sim::Sample;
use super::units::{format_in, Unit};
use super::{Frame, FrameParser, ScaleState, WeightKind};

pub struct Parser {
    lines: Lines,
    params: AsciiParams,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl Parser {
    pub fn new(profile: &ScaleProfile) -> Parser {
        Parser {
            lines: Lines::new(),
            params: profile.ascii.clone().unwrap_or(AsciiParams {
                stable_rule: StableRule::Marker,
                stable_markers: Vec::new(),
                motion_markers: Vec::new(),
                overload_markers: Vec::new(),
                underload_markers: Vec::new(),
                gross_markers: Vec::new(),
                net_markers: Vec::new(),
                tare_markers: Vec::new(),
                ignore_markers: Vec::new(),
                weight_columns: None,
            }),
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }
}

/// `+1.500kg` → (`+1.500`, `kg`); `None` unless the token is a number with an optional
/// all-letter suffix.
fn number_token(tok: &str) -> Option<(&str, &str)> {
    let body = tok.strip_prefix(['+', '-']).unwrap_or(tok);
    let end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, suffix) = body.split_at(end);
    if !num.bytes().any(|b| b.is_ascii_digit()) || !suffix.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return None;
    }
    let sign_len = tok.len() - body.len();
    Some((&tok[..sign_len + end], suffix))
}

fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split([' ', ',', '\t']).filter(|t| !t.is_empty())
}

fn decode(line: &[u8], p: &AsciiParams, accept: &[Unit], default: Option<Unit>) -> Frame {
    let body = line.strip_prefix(&[STX]).unwrap_or(line);
    let body = body.strip_suffix(&[ETX]).unwrap_or(body);
    if !frames::printable(body) {
        return unparsed(line);
    }
    let text = std::str::from_utf8(body).unwrap_or_default();
    let is_marker = |t: &str| {
        p.marker_lists()
            .iter()
            .any(|(_, l)| l.iter().any(|m| m == t))
    };

    let mut markers: Vec<&str> = Vec::new();
    let mut number: Option<String> = None;
    let mut unit: Option<&str> = None;
    if let Some([from, to]) = p.weight_columns {
        if text.len() < from {
            return unparsed(line);
        }
        let field = &text[from..to.min(text.len())];
        let split = field
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(field.len());
        number = Some(field[..split].to_string());
        unit = Some(field[split..].trim()).filter(|u| !u.is_empty());
        for t in tokens(&text[..from]).chain(tokens(&text[to.min(text.len())..])) {
            if !is_marker(t) {
                return unparsed(line);
            }
            markers.push(t);
        }
    } else {
        let toks: Vec<&str> = tokens(text).collect();
        let mut sign: Option<&str> = None;
        let mut i = 0;
        while i < toks.len() {
            let t = toks[i];
            i += 1;
            if is_marker(t) {
                markers.push(t);
                continue;
            }
            if number.is_none() {
                if (t == "+" || t == "-") && sign.is_none() {
                    sign = Some(t);
                    continue;
                }
                if let Some((num, suffix)) = number_token(t) {
                    if sign.is_some() && num.starts_with(['+', '-']) {
                        return unparsed(line);
                    }
                    number = Some(format!("{}{num}", sign.unwrap_or("")));
                    if !suffix.is_empty() {
                        unit = Some(suffix);
                    } else if let Some(next) = toks.get(i) {
                        if !is_marker(next) && next.bytes().all(|b| b.is_ascii_alphabetic()) {
                            unit = Some(next);
                            i += 1;
                        }
                    }
                    continue;
                }
            }
            return unparsed(line);
        }
        if sign.is_some() && number.is_none() {
            return unparsed(line);
        }
    }

    let has = |list: &Vec<String>| markers.iter().any(|m| list.iter().any(|x| x == m));
    let motion = has(&p.motion_markers);
    let state = if has(&p.overload_markers) {
        ScaleState::Overload
    } else if has(&p.underload_markers) {
        ScaleState::Underload
    } else {
        ScaleState::Ok
    };
    let Some(number) = number.filter(|n| !n.trim().is_empty()) else {
        return match (state, motion) {
            (ScaleState::Ok, false) => unparsed(line),
            (ScaleState::Ok, true) => status(ScaleState::NotReady, "in motion", line),
            (s, _) => status(s, "no weight", line),
        };
    };
    let stable = !motion
        && match p.stable_rule {
            StableRule::Marker => has(&p.stable_markers),
            StableRule::NoMotionMarker => true,
        };
    let kind = if has(&p.net_markers) {
        WeightKind::Net
    } else if has(&p.tare_markers) {
        WeightKind::Tare
    } else if has(&p.gross_markers) {
        WeightKind::Gross
    } else {
        WeightKind::Unspecified
    };
    frames::reading(
        Found {
            number: &number,
            unit,
            stable,
            kind,
            state,
            at_zero: false,
        },
        accept,
        default,
        line,
    )
}

impl FrameParser for Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let (p, accept, default) = (&self.params, &self.accept, self.default);
        self.lines.feed(bytes, |line| match line {
            Line::Text(l) => out.push(decode(l, p, accept, default)),
            Line::TooLong(l) => out.push(unparsed(l)),
        });
    }

    fn reset(&mut self, at_frame_start: bool) {
        self.lines.reset(at_frame_start);
    }
}

/// A line for the simulator, laid out after the profile's rule: `ST,GS,+   1.500kg` when
/// stability is marked, `    53.98 g` (and the motion marker after it) otherwise. A scale
/// with no motion marker prints nothing while the weight moves.
pub fn encode(sample: &Sample, profile: &ScaleProfile) -> Vec<u8> {
    let Some(p) = &profile.ascii else {
        return Vec::new();
    };
    let first = |l: &Vec<String>| l.first().cloned();
    let (text, negative) = format_in(sample.grams, sample.unit, sample.decimals);
    let unit = sample.unit.symbol();
    let state_marker = match sample.state {
        ScaleState::Overload => first(&p.overload_markers),
        ScaleState::Underload => first(&p.underload_markers),
        _ => None,
    };
    let motion_marker = if sample.motion {
        match first(&p.motion_markers) {
            Some(m) => Some(m),
            None => return Vec::new(),
        }
    } else {
        None
    };
    match p.stable_rule {
        StableRule::Marker => {
            let mut prefix: Vec<String> = Vec::new();
            prefix.extend(
                state_marker
                    .or(motion_marker)
                    .or_else(|| first(&p.stable_markers)),
            );
            let kind = match sample.kind {
                WeightKind::Net => first(&p.net_markers),
                WeightKind::Tare => first(&p.tare_markers),
                _ => first(&p.gross_markers),
            };
            prefix.extend(kind);
            let sign = if negative { '-' } else { '+' };
            format!("{},{sign}{text:>8}{unit}\r\n", prefix.join(",")).into_bytes()
        }
        StableRule::NoMotionMarker => {
            let sign = if negative { "-" } else { "" };
            let mut line = format!("{sign}{text:>9} {unit}");
            for m in [motion_marker, state_marker].into_iter().flatten() {
                line.push(' ');
                line.push_str(&m);
            }
            line.push_str("\r\n");
            line.into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_all, profile, readings, stable_grams};
    use super::*;

    #[test]
    fn generic_marker_lines() {
        let p = profile("generic-ascii");
        let r = readings(
            &p,
            &[b"\nST,GS,+  1.500kg\r\nUS,GS,+  1.480kg\r\nST,NT,-  0.250kg\r\nST,GS,+001.250kg\r\n"],
        );
        let got: Vec<_> = r.iter().map(|r| (r.grams, r.stable, r.kind)).collect();
        use WeightKind::*;
        assert_eq!(
            got,
            [
                (1500, true, Gross),
                (1480, false, Gross),
                (-250, true, Net),
                (1250, true, Gross)
            ]
        );
        let f = feed_all(&p, &[b"\nOL,GS,+  9.999kg\r\nOL,GS\r\n"]);
        assert!(matches!(&f[0], Frame::Reading(r) if r.state == ScaleState::Overload && !r.stable));
        assert!(matches!(
            &f[1],
            Frame::Status {
                state: ScaleState::Overload,
                ..
            }
        ));
    }

    #[test]
    fn ohaus_and_adam_lines() {
        let ohaus = profile("ohaus");
        let r = readings(
            &ohaus,
            &[b"\n    53.98 g     \r\n       0.01     g     \r\n    53.50 g  ?\r\n"],
        );
        let got: Vec<_> = r.iter().map(|r| (r.grams, r.stable)).collect();
        // confirm = 2 in the Ohaus profile: the first settled line is not yet stable.
        assert_eq!(got, [(54, false), (0, false), (54, false)]);
        let got = stable_grams(&ohaus, &[b"\n  2.205 lb\r\n  2.205 lb\r\n"]);
        assert_eq!(got, [1000]);
        let adam = profile("adam");
        let got = stable_grams(&adam, &[b"\n  1.234kg\r\n  0.500kg\r\n-  0.020kg\r\n"]);
        assert_eq!(got, [1234, 500, -20]);
    }

    #[test]
    fn lines_with_anything_unexpected_are_refused() {
        let p = profile("generic-ascii");
        for bad in [
            &b"\nST,GS,+  1.5.0kg\r\n"[..],
            b"\nST,GS,X,+  1.500kg\r\n",
            b"\nST,GS,+  1.500kg 2\r\n",
            b"\nST,GS,12+  1.500kg\r\n",
            b"\nST,GS,+  1.500kgx1\r\n",
            b"\nST,US,GS,+  1.500kg\r\n",
            b"\nGS,+  1.500kg\r\n",
            b"\nST,GS,+ + 1.500kg\r\n",
            b"\nST,GS,+\xb01.500kg\r\n",
            b"\nST,GS,+  1.500pcs\r\n",
        ] {
            assert!(
                stable_grams(&p, &[bad]).is_empty(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn fixed_columns() {
        let mut p = profile("generic-ascii");
        let a = p.ascii.as_mut().unwrap();
        a.weight_columns = Some([6, 16]);
        let got = stable_grams(&p, &[b"\nST,GS,+  1.500kg\r\nST,GS,  12.5 g ,X\r\n"]);
        assert_eq!(got, [1500]);
    }
}
