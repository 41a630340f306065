//! USB HID POS scales, usage page 0x8D (Dymo, Stamps.com, Mettler Toledo BC, Fairbanks...;
//! DOMAIN.md 1.7), read from Linux `/dev/hidrawN` with plain file reads.
//!
//! Each input report is 6 bytes: report ID (3, or 4 on some), status, unit code, a signed
//! power of ten, and the weight as an unsigned 16-bit little-endian integer; the value is
//! `weight × 10^exponent` in the unit. Status 4 is a stable weight, 2 stable at zero, 3 in
//! motion, 5 under zero, 6 over the limit, 7 and 8 calibration or re-zeroing needed, 1 a
//! fault; the profile can remap these. The first report after the device opens may be
//! stale and is skipped. A hidraw read returns one whole report, but the parser also copes
//! with a byte stream (a report that does not check out is dropped one byte at a time until
//! one does).

use super::frames::status;
use super::profile::{HidParams, ScaleProfile};
use super::sim::Sample;
use super::units::{format_in, to_grams, Decimal, Unit};
use super::{Frame, FrameParser, Reading, ScaleState, WeightKind};

pub const REPORT_LEN: usize = 6;

/// The unit of a HID unit code; `None` for unknown (0), tael (5, which tael is not said)
/// and codes past the table.
pub fn unit_of(code: u8) -> Option<Unit> {
    Some(match code {
        1 => Unit::Mg,
        2 => Unit::G,
        3 => Unit::Kg,
        4 => Unit::Ct,
        6 => Unit::Gr,
        7 => Unit::Dwt,
        8 => Unit::T,
        9 => Unit::Ton,
        10 => Unit::Ozt,
        11 => Unit::Oz,
        12 => Unit::Lb,
        _ => return None,
    })
}

fn code_of(unit: Unit) -> u8 {
    match unit {
        Unit::Mg => 1,
        Unit::G => 2,
        Unit::Kg => 3,
        Unit::Ct => 4,
        Unit::Gr => 6,
        Unit::Dwt => 7,
        Unit::T => 8,
        Unit::Ton => 9,
        Unit::Ozt => 10,
        Unit::Oz => 11,
        Unit::Lb => 12,
    }
}

pub struct Parser {
    buf: Vec<u8>,
    params: HidParams,
    skip: u32,
    accept: Vec<Unit>,
}

impl Parser {
    pub fn new(profile: &ScaleProfile) -> Parser {
        let params = profile.hid_params();
        Parser {
            buf: Vec::with_capacity(REPORT_LEN),
            skip: params.skip_first,
            params,
            accept: profile.units.accept.clone(),
        }
    }

    fn known_status(&self, s: u8) -> bool {
        let p = &self.params;
        [
            &p.stable,
            &p.zero,
            &p.motion,
            &p.underload,
            &p.overload,
            &p.not_ready,
            &p.fault,
        ]
        .iter()
        .any(|l| l.contains(&s))
    }

    /// Whether 6 bytes are a report of this scale (so the stream is in step).
    fn plausible(&self, r: &[u8]) -> bool {
        self.params.report_ids.contains(&r[0])
            && self.known_status(r[1])
            && (r[2] <= 12 || (r[4] == 0 && r[5] == 0))
    }

    fn decode(&self, r: &[u8]) -> Frame {
        let raw: Vec<String> = r.iter().map(|b| format!("{b:02X}")).collect();
        let raw = raw.join(" ");
        let p = &self.params;
        let s = r[1];
        if p.fault.contains(&s) {
            return status(
                ScaleState::Fault,
                format!("scale fault (status {s})"),
                raw.as_bytes(),
            );
        }
        if p.not_ready.contains(&s) {
            return status(
                ScaleState::NotReady,
                format!("scale needs calibration or re-zeroing (status {s})"),
                raw.as_bytes(),
            );
        }
        let value = u16::from_le_bytes([r[4], r[5]]);
        let exponent = i32::from(r[3] as i8);
        // A zero weight is zero in any unit; some scales report unit 0 then.
        let unit = match (value, unit_of(r[2])) {
            (_, Some(u)) => u,
            (0, None) => Unit::G,
            (_, None) => {
                return status(
                    ScaleState::Fault,
                    format!("unit code {} is not a weight packbench knows", r[2]),
                    raw.as_bytes(),
                )
            }
        };
        if value != 0 && !self.accept.is_empty() && !self.accept.contains(&unit) {
            return status(
                ScaleState::Fault,
                format!("unit `{unit}` is not one this profile accepts"),
                raw.as_bytes(),
            );
        }
        let Some(grams) =
            Decimal::from_power_of_ten(i128::from(value), exponent).and_then(|d| to_grams(d, unit))
        else {
            return status(ScaleState::Fault, "weight out of range", raw.as_bytes());
        };
        let under = p.underload.contains(&s);
        let state = if p.overload.contains(&s) {
            ScaleState::Overload
        } else if under {
            ScaleState::Underload
        } else {
            ScaleState::Ok
        };
        let stable = p.stable.contains(&s) || p.zero.contains(&s);
        Frame::Reading(Reading {
            grams: if under { -grams } else { grams },
            stable: stable && state == ScaleState::Ok,
            kind: WeightKind::Unspecified,
            state,
            at_zero: p.zero.contains(&s),
            unit,
            raw,
        })
    }
}

impl FrameParser for Parser {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        for &b in bytes {
            self.buf.push(b);
            if self.buf.len() < REPORT_LEN {
                continue;
            }
            if !self.plausible(&self.buf) {
                self.buf.remove(0);
                continue;
            }
            if self.skip > 0 {
                self.skip -= 1;
            } else {
                out.push(self.decode(&self.buf));
            }
            self.buf.clear();
        }
    }

    fn reset(&mut self, _at_frame_start: bool) {
        self.buf.clear();
        self.skip = self.params.skip_first;
    }
}

/// A report for the simulator, in the sample's unit and decimals (fewer decimals when the
/// value would not fit 16 bits).
pub fn encode(sample: &Sample) -> Vec<u8> {
    let status = match (sample.state, sample.motion) {
        (ScaleState::Overload, _) => 6,
        (ScaleState::Underload, _) => 5,
        _ if sample.grams < 0 => 5,
        (_, true) => 3,
        _ if sample.grams == 0 => 2,
        _ => 4,
    };
    let mut decimals = sample.decimals;
    loop {
        let (text, _) = format_in(sample.grams, sample.unit, decimals);
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let value = digits.parse::<u32>().unwrap_or(u32::MAX);
        if let Ok(v) = u16::try_from(value) {
            let [lo, hi] = v.to_le_bytes();
            let exponent = -(decimals as i8);
            return vec![3, status, code_of(sample.unit), exponent as u8, lo, hi];
        }
        if decimals == 0 {
            return vec![3, 6, code_of(sample.unit), 0, 0xff, 0xff];
        }
        decimals -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{feed_all, profile, readings};
    use super::*;

    #[test]
    fn reports() {
        let p = profile("hid-pos");
        // The first report is skipped (it may be stale).
        let r = readings(
            &p,
            &[
                &[3, 4, 2, 0, 0xe2, 0x04],
                &[3, 4, 11, 0xff, 0x10, 0x27],
                &[3, 3, 2, 0, 0xe2, 0x04],
            ],
        );
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].grams, r[0].stable, r[0].unit),
            (28350, true, Unit::Oz)
        );
        assert_eq!(r[0].raw, "03 04 0B FF 10 27");
        assert_eq!((r[1].grams, r[1].stable), (1250, false));
        let stale: &[u8] = &[3, 2, 2, 0, 0, 0];
        let r = readings(
            &p,
            &[
                stale,
                &[3, 2, 0, 0, 0, 0],
                &[4, 4, 3, 0xfd, 0xe2, 0x04],
                &[3, 4, 12, 0xfe, 0xdc, 0x05],
                &[3, 5, 2, 0, 20, 0],
            ],
        );
        let got: Vec<_> = r
            .iter()
            .map(|r| (r.grams, r.stable, r.at_zero, r.state))
            .collect();
        use ScaleState::*;
        assert_eq!(
            got,
            [
                (0, true, true, Ok),
                (1250, true, false, Ok),
                (6804, true, false, Ok),
                (-20, false, false, Underload)
            ]
        );
    }

    #[test]
    fn faults_and_garbage() {
        let p = profile("hid-pos");
        let f = feed_all(
            &p,
            &[
                &[3, 4, 2, 0, 0, 0],
                &[3, 6, 2, 0, 0x10, 0x27, 3, 1, 0, 0, 0, 0, 3, 7, 2, 0, 0, 0],
            ],
        );
        assert!(matches!(&f[0], Frame::Reading(r) if r.state == ScaleState::Overload && !r.stable));
        assert!(matches!(
            &f[1],
            Frame::Status {
                state: ScaleState::Fault,
                ..
            }
        ));
        assert!(matches!(
            &f[2],
            Frame::Status {
                state: ScaleState::NotReady,
                ..
            }
        ));
        // Garbage before a report, and a report split byte by byte.
        let mut chunks: Vec<Vec<u8>> = vec![vec![3, 4, 2, 0, 0, 0], vec![0xff, 0x00, 0x09]];
        for b in [3u8, 4, 2, 0, 0xe2, 0x04] {
            chunks.push(vec![b]);
        }
        let chunks: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        let r = readings(&p, &chunks);
        assert_eq!(r.iter().map(|r| r.grams).collect::<Vec<_>>(), [1250]);
        // Unit 5 (tael) is not converted.
        let f = feed_all(&p, &[&[3, 2, 2, 0, 0, 0], &[3, 4, 5, 0, 1, 0]]);
        assert!(
            matches!(
                &f[0],
                Frame::Status {
                    state: ScaleState::Fault,
                    ..
                }
            ),
            "{f:?}"
        );
    }
}
