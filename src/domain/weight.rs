//! The weight check (DESIGN.md §3): expected = sum of unit weights + packaging tare;
//! tolerance = max(absolute grams, per-mille of expected), taking the widest of the station's
//! and the categories present; only a stable reading decides. Seed 004 is why this exists:
//! a short shipment is found by "the waybill's recorded weight" (售后 2, 少货: 查快递单称重重量).

use serde::Serialize;

use super::Grams;

/// A tolerance: the larger of `abs_g` and `per_mille`/1000 of the expected weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tolerance {
    pub abs_g: Grams,
    pub per_mille: i64,
}

impl Tolerance {
    /// The band half-width in grams for an expected weight (percentages round up, so a
    /// tolerance is never narrower than configured).
    pub fn grams(self, expected: Grams) -> Grams {
        let pct = (expected.max(0) * self.per_mille + 999) / 1000;
        self.abs_g.max(pct)
    }
}

/// The widest band of the given tolerances for `expected` (a fragile item in the parcel
/// widens the band for the whole parcel; nothing narrows the station's own band).
pub fn band(expected: Grams, tolerances: &[Tolerance]) -> Grams {
    tolerances
        .iter()
        .map(|t| t.grams(expected))
        .max()
        .unwrap_or(0)
}

/// Expected parcel weight: `(unit weight, qty)` pairs plus the packaging tare.
pub fn expected(lines: impl IntoIterator<Item = (Grams, i64)>, tare: Grams) -> Grams {
    lines.into_iter().map(|(w, q)| w * q).sum::<Grams>() + tare
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WeightCheck {
    pub expected_g: Grams,
    pub tolerance_g: Grams,
    pub measured_g: Grams,
    /// measured − expected: negative means lighter (something missing?).
    pub diff_g: Grams,
    pub pass: bool,
}

/// A stable reading at or below this is an empty platform (the scale's zero, a receipt
/// left on it): it is recorded but never decides a pack. Otherwise a scale that settles
/// at zero after being plugged back in, or after the last parcel came off, would fail the
/// pack waiting for its parcel.
pub const EMPTY_PLATFORM_G: Grams = 5;

/// Whether a stable reading may decide a verdict: something is on the scale.
pub fn is_parcel(measured_g: Grams) -> bool {
    measured_g > EMPTY_PLATFORM_G
}

/// Decides a stable reading against the expected weight and band.
pub fn check(expected_g: Grams, tolerance_g: Grams, measured_g: Grams) -> WeightCheck {
    let diff_g = measured_g - expected_g;
    WeightCheck {
        expected_g,
        tolerance_g,
        measured_g,
        diff_g,
        pass: diff_g.abs() <= tolerance_g,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_the_larger_of_absolute_and_percent() {
        let t = Tolerance {
            abs_g: 30,
            per_mille: 30,
        };
        // (expected, band)
        for (e, b) in [
            (0, 30),
            (500, 30),
            (1000, 30),
            (1001, 31),
            (2000, 60),
            (10_000, 300),
        ] {
            assert_eq!(t.grams(e), b, "expected {e}");
        }
    }

    #[test]
    fn the_widest_tolerance_wins() {
        let station = Tolerance {
            abs_g: 30,
            per_mille: 30,
        };
        let fragile = Tolerance {
            abs_g: 60,
            per_mille: 50,
        };
        assert_eq!(band(1000, &[station]), 30);
        assert_eq!(band(1000, &[station, fragile]), 60);
        assert_eq!(band(2000, &[station, fragile]), 100);
        assert_eq!(band(2000, &[]), 0);
    }

    #[test]
    fn checks_both_sides_of_the_band() {
        let e = expected([(200, 2), (150, 1)], 15);
        assert_eq!(e, 565);
        // (measured, pass, diff)
        for (m, pass, diff) in [
            (565, true, 0),
            (595, true, 30),
            (596, false, 31),
            (535, true, -30),
            (534, false, -31),
            (365, false, -200),
        ] {
            let c = check(e, 30, m);
            assert_eq!((c.pass, c.diff_g), (pass, diff), "measured {m}");
        }
    }

    #[test]
    fn an_empty_platform_is_no_parcel() {
        assert!(!is_parcel(0));
        assert!(!is_parcel(EMPTY_PLATFORM_G));
        assert!(!is_parcel(-3));
        assert!(is_parcel(EMPTY_PLATFORM_G + 1));
    }
}
