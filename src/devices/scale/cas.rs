//! CAS indicators and scales (DOMAIN.md 1.4).
//!
//! **CI-200 series** (`cas-ci`): frames are found by their header, `ST|US|OL` `,` `GS|NT`
//! `,`, and then read by fixed length, not by line, because the 22-byte frame's device-ID
//! field can be one raw binary byte (device 10 is LF, 13 is CR) on real CI-200A units.
//!
//! * 22-byte frame: header, device ID (2 bytes, or 1), `,`, weight (8 bytes, decimal point
//!   and leading `-` included: `000013.5`), lamp byte (bit 6 stable, bit 0 at zero), unit
//!   (2), CR LF.
//! * 18-byte AND-compatible frame: header, weight (8, signed: `+001.250`), unit (2), CR LF.
//!
//! Stable is the `ST` header; `US` is motion and `OL` overload. A frame whose fields do not
//! have the shape above is dropped and the search for the next header resumes one byte on.
//!
//! **PD-II, ECR type** (`cas-pd2`): the host sends `W`; the reply is STX, the weight, CR. A
//! `?` first means no valid weight. The digits are in the profile's default unit (grams per
//! kortoaus/cas-scale; commas are dropped, as that library does). A reply with a weight is
//! taken as settled, since the scale answers `?` otherwise (UNCONFIRMED: the profile asks
//! for two equal replies in a row). An 18-byte reply shaped like the CI frames
//! (`ST,GS,+ 1.234 kg`, also UNCONFIRMED) is read by its header.

use super::frames::{self, status, unparsed, Found, CR, ETX, LF, MAX_FRAME, STX};
use super::profile::{CasFrame, ScaleProfile};
use super::sim::Sample;
use super::units::{format_in, Unit};
use super::{Frame, FrameParser, ScaleState, WeightKind};

/// One position of a fixed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Any byte (device ID, lamp).
    Any,
    Comma,
    /// A weight character: digit, space, point or sign.
    Weight,
    /// A unit character: a letter or a space.
    Unit,
    /// CR or LF.
    End,
}

/// The header is 6 bytes; these are the slots after it.
const AFTER_HEADER_18: [Slot; 11] = {
    use Slot::*;
    [
        Weight, Weight, Weight, Weight, Weight, Weight, Weight, Weight, Unit, Unit, End,
    ]
};
const AFTER_HEADER_22: [Slot; 15] = {
    use Slot::*;
    [
        Any, Any, Comma, Weight, Weight, Weight, Weight, Weight, Weight, Weight, Weight, Any, Unit,
        Unit, End,
    ]
};
const AFTER_HEADER_21: [Slot; 14] = {
    use Slot::*;
    [
        Any, Comma, Weight, Weight, Weight, Weight, Weight, Weight, Weight, Weight, Any, Unit,
        Unit, End,
    ]
};

fn fits(slot: Slot, b: u8) -> bool {
    match slot {
        Slot::Any => true,
        Slot::Comma => b == b',',
        Slot::Weight => b.is_ascii_digit() || matches!(b, b' ' | b'.' | b'+' | b'-'),
        Slot::Unit => b.is_ascii_alphabetic() || b == b' ',
        Slot::End => b == CR || b == LF,
    }
}

enum Try {
    /// A whole frame of this many bytes (its end byte excluded).
    Match(usize),
    More,
    No,
}

fn try_shape(after: &[Slot], buf: &[u8]) -> Try {
    for (i, slot) in after.iter().enumerate() {
        match buf.get(6 + i) {
            None => return Try::More,
            Some(&b) if !fits(*slot, b) => return Try::No,
            Some(_) => {}
        }
    }
    Try::Match(6 + after.len() - 1)
}

fn is_header(b: &[u8]) -> bool {
    b.len() >= 6
        && matches!(&b[0..2], b"ST" | b"US" | b"OL")
        && b[2] == b','
        && matches!(&b[3..5], b"GS" | b"NT")
        && b[5] == b','
}

/// The CI-200 series parser.
pub struct CiParser {
    buf: Vec<u8>,
    frame: CasFrame,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl CiParser {
    pub fn new(profile: &ScaleProfile) -> CiParser {
        CiParser {
            buf: Vec::with_capacity(MAX_FRAME),
            frame: profile.cas.as_ref().map_or(CasFrame::Auto, |c| c.frame),
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }

    fn shapes(&self) -> &'static [&'static [Slot]] {
        match self.frame {
            CasFrame::Auto => &[&AFTER_HEADER_18, &AFTER_HEADER_22, &AFTER_HEADER_21],
            CasFrame::Cas22 => &[&AFTER_HEADER_22, &AFTER_HEADER_21],
            CasFrame::And18 => &[&AFTER_HEADER_18],
        }
    }

    fn decode(&self, f: &[u8]) -> Frame {
        let (weight, lamp, unit) = match f.len() {
            16 => (&f[6..14], None, &f[14..16]),
            20 => (&f[9..17], Some(f[17]), &f[18..20]),
            _ => (&f[8..16], Some(f[16]), &f[17..19]),
        };
        let state = match &f[0..2] {
            b"OL" => ScaleState::Overload,
            _ => ScaleState::Ok,
        };
        let kind = if &f[3..5] == b"NT" {
            WeightKind::Net
        } else {
            WeightKind::Gross
        };
        // The lamp byte always has bit 7 set; only then is its zero bit believed.
        let at_zero = lamp.is_some_and(|l| l & 0x80 != 0 && l & 0x01 != 0);
        let (Ok(number), Ok(unit)) = (std::str::from_utf8(weight), std::str::from_utf8(unit))
        else {
            return unparsed(f);
        };
        frames::reading(
            Found {
                number,
                unit: Some(unit),
                stable: &f[0..2] == b"ST",
                kind,
                state,
                at_zero,
            },
            &self.accept,
            self.default,
            f,
        )
    }
}

impl FrameParser for CiParser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for chunk in bytes.chunks(MAX_FRAME) {
            self.buf.extend_from_slice(chunk);
            loop {
                // Drop everything before the next header; keep a tail that may begin one.
                match (0..self.buf.len()).find(|&i| is_header(&self.buf[i..])) {
                    Some(i) => {
                        self.buf.drain(..i);
                    }
                    None => {
                        let keep = self.buf.len().min(5);
                        self.buf.drain(..self.buf.len() - keep);
                        break;
                    }
                }
                let mut waiting = false;
                let mut found = None;
                for shape in self.shapes() {
                    match try_shape(shape, &self.buf) {
                        Try::Match(n) => {
                            found = Some(n);
                            break;
                        }
                        Try::More => waiting = true,
                        Try::No => {}
                    }
                }
                match found {
                    Some(n) => {
                        out.push(self.decode(&self.buf[..n]));
                        self.buf.drain(..=n);
                    }
                    None if waiting => break,
                    None => {
                        self.buf.drain(..1);
                    }
                }
            }
        }
    }

    fn reset(&mut self, _at_frame_start: bool) {
        self.buf.clear();
    }
}

/// The PD-II (ECR type) parser.
pub struct Pd2Parser {
    buf: Vec<u8>,
    /// The next byte begins a frame (after STX, or after a CR once in step).
    synced: bool,
    overflow: bool,
    accept: Vec<Unit>,
    default: Option<Unit>,
}

impl Pd2Parser {
    pub fn new(profile: &ScaleProfile) -> Pd2Parser {
        Pd2Parser {
            buf: Vec::with_capacity(MAX_FRAME),
            synced: false,
            overflow: false,
            accept: profile.units.accept.clone(),
            default: profile.units.default,
        }
    }

    fn decode(&self, payload: &[u8], raw: &[u8]) -> Frame {
        if payload.first() == Some(&b'?') {
            return status(ScaleState::NotReady, "no valid weight", raw);
        }
        if !frames::printable(payload) {
            return unparsed(raw);
        }
        let text = std::str::from_utf8(payload).unwrap_or_default();
        if is_header(payload) {
            // `ST,GS,+  1.234 kg`: the weight runs to the first letter.
            let rest = &text[6..];
            let split = rest
                .find(|c: char| c.is_ascii_alphabetic())
                .unwrap_or(rest.len());
            let state = if text.starts_with("OL") {
                ScaleState::Overload
            } else {
                ScaleState::Ok
            };
            let kind = if &text[3..5] == "NT" {
                WeightKind::Net
            } else {
                WeightKind::Gross
            };
            return frames::reading(
                Found {
                    number: &rest[..split],
                    unit: Some(&rest[split..]),
                    stable: text.starts_with("ST"),
                    kind,
                    state,
                    at_zero: false,
                },
                &self.accept,
                self.default,
                raw,
            );
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'.' | b',' | b'+' | b'-'))
        {
            return unparsed(raw);
        }
        let number = text.replace(',', "");
        frames::reading(
            Found {
                number: &number,
                unit: None,
                stable: true,
                kind: WeightKind::Unspecified,
                state: ScaleState::Ok,
                at_zero: false,
            },
            &self.accept,
            self.default,
            raw,
        )
    }
}

impl FrameParser for Pd2Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for &b in bytes {
            match b {
                STX => {
                    self.buf.clear();
                    self.buf.push(STX);
                    self.synced = true;
                    self.overflow = false;
                }
                CR => {
                    if self.synced && !self.overflow {
                        let raw = std::mem::take(&mut self.buf);
                        let payload: &[u8] = raw.strip_prefix(&[STX]).unwrap_or(&raw);
                        let payload = payload.strip_suffix(&[ETX]).unwrap_or(payload);
                        if !payload.is_empty() {
                            out.push(self.decode(payload, &raw));
                        }
                        self.buf = raw;
                    }
                    self.buf.clear();
                    self.synced = true;
                    self.overflow = false;
                }
                LF => {}
                _ if self.synced && !self.overflow => {
                    if self.buf.len() < MAX_FRAME {
                        self.buf.push(b);
                    } else {
                        self.overflow = true;
                    }
                }
                _ => {}
            }
        }
    }

    fn reset(&mut self, at_frame_start: bool) {
        self.buf.clear();
        self.synced = at_frame_start;
        self.overflow = false;
    }
}

/// The weight written into `width` bytes, zero padded after an optional sign.
fn padded(sample: &Sample, width: usize, plus: bool) -> String {
    let (text, negative) = format_in(sample.grams, sample.unit, sample.decimals);
    let sign = if negative {
        "-"
    } else if plus {
        "+"
    } else {
        ""
    };
    let digits = width.saturating_sub(sign.len());
    format!("{sign}{text:0>digits$}")
}

/// Two-byte unit field, right-aligned (`kg`, ` g`).
fn unit2(unit: Unit) -> String {
    format!("{:>2}", unit.symbol())
}

fn header(sample: &Sample) -> String {
    let status = match (sample.state, sample.motion) {
        (ScaleState::Overload, _) => "OL",
        (_, true) => "US",
        _ => "ST",
    };
    let kind = if sample.kind == WeightKind::Net {
        "NT"
    } else {
        "GS"
    };
    format!("{status},{kind},")
}

/// A 22-byte CI frame for the simulator (device ID 01).
pub fn encode_ci22(sample: &Sample) -> Vec<u8> {
    let mut lamp = 0x80u8;
    if !sample.motion && sample.state == ScaleState::Ok {
        lamp |= 0x40;
    }
    if sample.kind != WeightKind::Net {
        lamp |= 0x04;
    }
    if sample.grams == 0 {
        lamp |= 0x01;
    }
    let mut f = format!("{}01,{}", header(sample), padded(sample, 8, false)).into_bytes();
    f.push(lamp);
    f.extend_from_slice(unit2(sample.unit).as_bytes());
    f.extend_from_slice(b"\r\n");
    f
}

/// An 18-byte AND-compatible CI frame for the simulator.
pub fn encode_and18(sample: &Sample) -> Vec<u8> {
    format!(
        "{}{}{}\r\n",
        header(sample),
        padded(sample, 8, true),
        unit2(sample.unit)
    )
    .into_bytes()
}

/// A PD-II reply for the simulator: STX, five digits in the sample's unit, CR; `?` while
/// the weight is moving or out of range.
pub fn encode_pd2(sample: &Sample) -> Vec<u8> {
    if sample.motion || sample.state != ScaleState::Ok || sample.grams < 0 {
        return b"\x02?    \r".to_vec();
    }
    let (text, _) = format_in(sample.grams, sample.unit, sample.decimals);
    format!("\x02{text:0>5}\r").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::super::frames::escape;
    use super::super::tests::{feed_all, profile, readings, stable_grams};
    use super::*;

    #[test]
    fn ci_22_byte_frames() {
        let p = profile("cas-ci200");
        type Case<'a> = (&'a [u8], Option<i64>, bool, ScaleState, WeightKind);
        let cases: &[Case] = &[
            (
                b"ST,GS,01,0001.250\xc4kg\r\n",
                Some(1250),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"US,GS,01,0001.240\x84kg\r\n",
                Some(1240),
                false,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"ST,NT,01,-001.250\xc0kg\r\n",
                Some(-1250),
                true,
                ScaleState::Ok,
                WeightKind::Net,
            ),
            (
                b"ST,GS,01,000013.5\xc4kg\r\n",
                Some(13500),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"ST,GS,01,00001250\xc4 g\r\n",
                Some(1250),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"ST,GS,01,0002.205\xc4lb\r\n",
                Some(1000),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"ST,GS,01,0016.000\xc4oz\r\n",
                Some(454),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"OL,GS,01,0060.020\x84kg\r\n",
                Some(60020),
                false,
                ScaleState::Overload,
                WeightKind::Gross,
            ),
            // The device ID as one raw binary byte (device 10 = LF, 13 = CR).
            (
                b"ST,GS,\x0a,0001.250\xc4kg\r\n",
                Some(1250),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
            (
                b"ST,GS,\x0d,0001.250\xc4kg\r\n",
                Some(1250),
                true,
                ScaleState::Ok,
                WeightKind::Gross,
            ),
        ];
        for (bytes, grams, stable, state, kind) in cases {
            let r = readings(&p, &[bytes]);
            assert_eq!(r.len(), 1, "{}", escape(bytes));
            assert_eq!(Some(r[0].grams), *grams, "{}", escape(bytes));
            assert_eq!(r[0].stable, *stable, "{}", escape(bytes));
            assert_eq!(r[0].state, *state, "{}", escape(bytes));
            assert_eq!(r[0].kind, *kind, "{}", escape(bytes));
        }
        let zero = readings(&p, &[b"ST,GS,01,0000.000\xc5kg\r\n"]);
        assert!(zero[0].at_zero && zero[0].stable && zero[0].grams == 0);
    }

    #[test]
    fn ci_18_byte_frames() {
        let p = profile("cas-ci200");
        let r = readings(&p, &[b"ST,GS,+001.250kg\r\n", b"US,GS,-000.020kg\r\n"]);
        assert_eq!((r[0].grams, r[0].stable), (1250, true));
        assert_eq!((r[1].grams, r[1].stable), (-20, false));
        assert_eq!(r[0].raw, "ST,GS,+001.250kg");
        let r = readings(&p, &[b"ST,GS,+  1.500kg\r\n"]);
        assert_eq!(r[0].grams, 1500);
    }

    #[test]
    fn ci_refuses_bad_fields_and_units() {
        let p = profile("cas-ci200");
        for bad in [
            &b"ST,GS,+001.2x0kg\r\n"[..],
            b"ST,GS,+001.250kg  \r\n",
            b"ST,GS,01,0001.2.0\xc4kg\r\n",
            b"ST,XX,+001.250kg\r\n",
            b"ST,GS,+001.250\r\n",
        ] {
            assert!(stable_grams(&p, &[bad]).is_empty(), "{}", escape(bad));
        }
        // A unit that is not a weight is a fault, never a reading.
        let f = feed_all(&p, &[b"ST,GS,+0000012pc\r\n"]);
        assert!(
            matches!(
                f[..],
                [Frame::Status {
                    state: ScaleState::Fault,
                    ..
                }]
            ),
            "{f:?}"
        );
    }

    #[test]
    fn ci_resynchronises_after_garbage_and_cut_frames() {
        let p = profile("cas-ci200");
        let got = stable_grams(
            &p,
            &[
                b"\xff\x00ST,GS,+00",
                b"ST,GS,+001.250kg\r\nST,GS,01,00",
                b"\x13ST,GS,01,0002.000\xc4kg\r\n",
            ],
        );
        assert_eq!(got, [1250, 2000]);
    }

    #[test]
    fn pd2_replies() {
        let p = profile("cas-pd2");
        let f = feed_all(&p, &[b"\x0201250\r", b"\x02?    \r", b"\x0201250\r"]);
        assert!(
            matches!(&f[0], Frame::Reading(r) if r.grams == 1250 && !r.stable),
            "{f:?}"
        );
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
        // Two equal replies in a row are needed (the profile's confirm = 2).
        let r = readings(&p, &[b"\x0201250\r\x0201250\r\x0201251\r"]);
        assert_eq!(
            r.iter().map(|r| r.stable).collect::<Vec<_>>(),
            [false, true, false]
        );
        let r = readings(&p, &[b"\x02ST,GS,+ 1.234 kg\r\x02ST,GS,+ 1.234 kg\r"]);
        assert_eq!((r[1].grams, r[1].stable), (1234, true));
        assert!(stable_grams(&p, &[b"\x0212a45\r\x0212a45\r"]).is_empty());
    }
}
