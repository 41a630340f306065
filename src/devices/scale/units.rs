//! Weight units a scale may send, and the exact conversion of a decimal reading to whole
//! grams.
//!
//! A frame carries a decimal number as text (`+001.250`, `-0.0082`) or, on a USB HID scale,
//! an integer and a power of ten. Both become a `Decimal` (an integer mantissa and a count
//! of decimal places), and `to_grams` multiplies it by the unit's size in grams, written as
//! an exact fraction (1 lb = 453.59237 g by definition), in integer arithmetic. The result
//! is rounded once, to the nearest gram, halves away from zero: 1.0005 kg is 1001 g,
//! -0.5 g is -1 g, 1 oz (28.349523125 g) is 28 g. No floating point is involved, so the same
//! frame always gives the same grams.

use serde::{Deserialize, Serialize};

/// The most significant digits a weight may have (more is not a weight, it is noise).
const MAX_DIGITS: usize = 18;
/// The most decimal places kept; a HID exponent below -24 is not a real scale's.
const MAX_SCALE: u32 = 24;

/// A decimal number as written in a frame: `mantissa × 10^-scale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    pub mantissa: i128,
    pub scale: u32,
}

impl Decimal {
    /// Parses `[spaces] [+|-] [spaces] digits [. digits] [spaces]` (also `.5` and `5.`).
    /// Anything else (two points, a letter, no digit, more than 18 significant digits) is
    /// `None`: a malformed number never becomes a weight.
    pub fn parse(text: &str) -> Option<Decimal> {
        let t = text.trim_matches(' ');
        let (negative, rest) = match t.as_bytes().first()? {
            b'+' => (false, &t[1..]),
            b'-' => (true, &t[1..]),
            _ => (false, t),
        };
        let rest = rest.trim_start_matches(' ');
        let mut mantissa: i128 = 0;
        let mut scale = 0u32;
        let mut seen_point = false;
        let mut digits = 0usize;
        let mut significant = 0usize;
        for b in rest.bytes() {
            match b {
                b'0'..=b'9' => {
                    digits += 1;
                    if mantissa != 0 || b != b'0' {
                        significant += 1;
                    }
                    if significant > MAX_DIGITS || (seen_point && scale >= MAX_SCALE) {
                        return None;
                    }
                    mantissa = mantissa * 10 + i128::from(b - b'0');
                    if seen_point {
                        scale += 1;
                    }
                }
                b'.' if !seen_point => seen_point = true,
                _ => return None,
            }
        }
        if digits == 0 {
            return None;
        }
        Some(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            scale,
        })
    }

    /// `value × 10^exponent`, as a USB HID scale reports it. `None` when the exponent is
    /// beyond what any scale uses (below -24 or above 18).
    pub fn from_power_of_ten(value: i128, exponent: i32) -> Option<Decimal> {
        if exponent < 0 {
            let scale = exponent.unsigned_abs();
            (scale <= MAX_SCALE).then_some(Decimal {
                mantissa: value,
                scale,
            })
        } else {
            let factor = 10i128.checked_pow(u32::try_from(exponent).ok()?)?;
            (exponent <= MAX_DIGITS as i32).then_some(Decimal {
                mantissa: value.checked_mul(factor)?,
                scale: 0,
            })
        }
    }
}

/// A unit of weight a scale can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Milligram.
    Mg,
    /// Gram.
    G,
    /// Kilogram.
    Kg,
    /// Metric tonne.
    T,
    /// Metric carat (0.2 g).
    Ct,
    /// Grain (64.79891 mg).
    Gr,
    /// Pennyweight (24 grains).
    Dwt,
    /// Avoirdupois ounce (1/16 lb).
    Oz,
    /// Troy ounce (31.1034768 g).
    Ozt,
    /// Avoirdupois pound (453.59237 g).
    Lb,
    /// Short ton (2000 lb).
    Ton,
}

impl Unit {
    /// Every unit, in the order of the table above.
    pub const ALL: [Unit; 11] = [
        Unit::Mg,
        Unit::G,
        Unit::Kg,
        Unit::T,
        Unit::Ct,
        Unit::Gr,
        Unit::Dwt,
        Unit::Oz,
        Unit::Ozt,
        Unit::Lb,
        Unit::Ton,
    ];

    /// The unit a frame names, ignoring case: `g`, `kg`, `mg`, `t`, `ct`, `gr`/`gn`, `dwt`,
    /// `oz`, `ozt`, `lb`/`lbs`, `ton`. `None` for anything else (`pcs`, `%`, `mom`...).
    pub fn parse(text: &str) -> Option<Unit> {
        let t = text.trim().to_ascii_lowercase();
        Some(match t.as_str() {
            "mg" => Unit::Mg,
            "g" | "gm" => Unit::G,
            "kg" => Unit::Kg,
            "t" => Unit::T,
            "ct" => Unit::Ct,
            "gr" | "gn" => Unit::Gr,
            "dwt" => Unit::Dwt,
            "oz" => Unit::Oz,
            "ozt" => Unit::Ozt,
            "lb" | "lbs" => Unit::Lb,
            "ton" => Unit::Ton,
            _ => return None,
        })
    }

    /// The usual symbol, as profiles and `scale watch` write it.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Mg => "mg",
            Unit::G => "g",
            Unit::Kg => "kg",
            Unit::T => "t",
            Unit::Ct => "ct",
            Unit::Gr => "gr",
            Unit::Dwt => "dwt",
            Unit::Oz => "oz",
            Unit::Ozt => "ozt",
            Unit::Lb => "lb",
            Unit::Ton => "ton",
        }
    }

    /// Grams in one unit, as an exact fraction `(numerator, denominator)`.
    fn grams_per_unit(self) -> (i128, i128) {
        match self {
            Unit::Mg => (1, 1000),
            Unit::G => (1, 1),
            Unit::Kg => (1000, 1),
            Unit::T => (1_000_000, 1),
            Unit::Ct => (1, 5),
            Unit::Gr => (6_479_891, 100_000_000),
            Unit::Dwt => (155_517_384, 100_000_000),
            Unit::Oz => (45_359_237, 1_600_000),
            Unit::Ozt => (311_034_768, 10_000_000),
            Unit::Lb => (45_359_237, 100_000),
            Unit::Ton => (90_718_474, 100),
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d > 0`).
fn div_round(n: i128, d: i128) -> i128 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

/// `value` (in `unit`) in whole grams, rounded to the nearest gram with halves away from
/// zero. `None` only when the result does not fit an `i64`.
pub fn to_grams(value: Decimal, unit: Unit) -> Option<i64> {
    let (num, den) = unit.grams_per_unit();
    let n = value.mantissa.checked_mul(num)?;
    let d = den.checked_mul(10i128.checked_pow(value.scale)?)?;
    i64::try_from(div_round(n, d)).ok()
}

/// `grams` written in `unit` with `decimals` places, rounded like `to_grams` (the text a
/// simulated scale shows), without a sign: `("1.250", false)` for 1250 g in kg.
pub fn format_in(grams: i64, unit: Unit, decimals: u32) -> (String, bool) {
    let (num, den) = unit.grams_per_unit();
    let scaled = div_round(i128::from(grams) * den * 10i128.pow(decimals), num.max(1));
    let negative = scaled < 0;
    let digits = scaled.unsigned_abs().to_string();
    let text = if decimals == 0 {
        digits
    } else {
        let d = decimals as usize;
        let padded = format!("{digits:0>width$}", width = d + 1);
        let (int, frac) = padded.split_at(padded.len() - d);
        format!("{int}.{frac}")
    };
    (text, negative)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(text: &str, unit: Unit) -> Option<i64> {
        to_grams(Decimal::parse(text)?, unit)
    }

    #[test]
    fn numbers_parse_exactly_or_not_at_all() {
        let cases: &[(&str, Option<(i128, u32)>)] = &[
            ("+00123.45", Some((12345, 2))),
            ("-0.0082", Some((-82, 4))),
            ("  13.5  ", Some((135, 1))),
            ("+  1.500", Some((1500, 3))),
            ("-   0.000", Some((0, 3))),
            (".5", Some((5, 1))),
            ("5.", Some((5, 0))),
            ("000013.5", Some((135, 1))),
            ("", None),
            ("+", None),
            (".", None),
            ("1.2.3", None),
            ("1 2", None),
            ("12kg", None),
            ("1E19", None),
            ("--1", None),
            ("1234567890123456789", None),
        ];
        for (text, want) in cases {
            let got = Decimal::parse(text).map(|d| (d.mantissa, d.scale));
            assert_eq!(got, *want, "{text:?}");
        }
    }

    #[test]
    fn units_convert_exactly_with_documented_rounding() {
        let cases: &[(&str, Unit, i64)] = &[
            ("1.250", Unit::Kg, 1250),
            ("-1.250", Unit::Kg, -1250),
            ("1.0005", Unit::Kg, 1001),
            ("-1.0005", Unit::Kg, -1001),
            ("1.0004", Unit::Kg, 1000),
            ("0.5", Unit::G, 1),
            ("-0.5", Unit::G, -1),
            ("0.49", Unit::G, 0),
            ("123.45", Unit::G, 123),
            ("1", Unit::Lb, 454),
            ("2.205", Unit::Lb, 1000),
            ("1", Unit::Oz, 28),
            ("16", Unit::Oz, 454),
            ("1000.0", Unit::Oz, 28350),
            ("1", Unit::Ozt, 31),
            ("500", Unit::Mg, 1),
            ("499", Unit::Mg, 0),
            ("5", Unit::Ct, 1),
            ("0.013", Unit::T, 13000),
            ("1", Unit::Ton, 907185),
            ("15.432", Unit::Gr, 1),
        ];
        for (text, unit, want) in cases {
            assert_eq!(g(text, *unit), Some(*want), "{text} {unit}");
        }
    }

    #[test]
    fn hid_powers_of_ten() {
        let d = Decimal::from_power_of_ten(10000, -1).unwrap();
        assert_eq!(to_grams(d, Unit::Oz), Some(28350));
        let d = Decimal::from_power_of_ten(12, 2).unwrap();
        assert_eq!(to_grams(d, Unit::G), Some(1200));
        assert!(Decimal::from_power_of_ten(1, -128).is_none());
        assert!(Decimal::from_power_of_ten(1, 127).is_none());
    }

    #[test]
    fn formatting_round_trips_in_metric_units() {
        assert_eq!(format_in(1250, Unit::Kg, 3), ("1.250".into(), false));
        assert_eq!(format_in(-50, Unit::Kg, 3), ("0.050".into(), true));
        assert_eq!(format_in(12345, Unit::G, 1), ("12345.0".into(), false));
        assert_eq!(format_in(1000, Unit::Lb, 3), ("2.205".into(), false));
        for grams in [-99_999i64, -1, 0, 1, 7, 1250, 65_535, 123_456] {
            for (unit, dec) in [(Unit::G, 0), (Unit::G, 2), (Unit::Kg, 3), (Unit::Lb, 4)] {
                let (text, neg) = format_in(grams, unit, dec);
                let text = if neg { format!("-{text}") } else { text };
                assert_eq!(g(&text, unit), Some(grams), "{grams} {unit} {text}");
            }
        }
    }
}
