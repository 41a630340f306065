//! The bench camera's rules: when a still is taken and what the label check decides.
//!
//! Printing labels in batches invites the costliest packing error there is, order A's label
//! on order B's parcel. The sealed parcel's still shows its label, whose QR code carries the
//! waybill; comparing it with the pack's own waybill catches the swap before the parcel
//! leaves the bench. What the photo shows is read by an adapter (`crate::camera`); this file
//! only decides.

use serde::Serialize;

use super::codes;

/// The moments a station's camera takes a still.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Moment {
    /// The open box with every item in it (taken when the last item is scanned).
    Contents,
    /// The sealed parcel with its label on (taken after the label has printed); its label's
    /// QR code is checked against the pack's waybill.
    Sealed,
}

impl Moment {
    pub const ALL: [Moment; 2] = [Moment::Contents, Moment::Sealed];

    pub fn as_str(self) -> &'static str {
        match self {
            Moment::Contents => "contents",
            Moment::Sealed => "sealed",
        }
    }

    pub fn parse(s: &str) -> Option<Moment> {
        Moment::ALL.into_iter().find(|m| m.as_str() == s.trim())
    }
}

/// What the sealed parcel's still says about its label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LabelCheck {
    /// A QR code on the photo carries this pack's waybill.
    Match,
    /// The QR codes on the photo carry other waybills and none carries this one: the label of
    /// another parcel. `found` is the first other waybill read.
    Mismatch { found: String },
    /// No QR code could be read (label out of the frame, glare, blur): a soft warning.
    NoCode,
}

impl LabelCheck {
    /// The stable code of the result, as events and the API give it.
    pub fn code(&self) -> &'static str {
        match self {
            LabelCheck::Match => "label_match",
            LabelCheck::Mismatch { .. } => "label_mismatch",
            LabelCheck::NoCode => "label_no_code",
        }
    }
}

/// Compares the texts of the QR codes read on a photo with the pack's waybill. A QR's text is
/// normalised as a scan is (case, full-width digits, spaces and dashes inside the number), so
/// `6000-1234-5671` on a label printed elsewhere still matches `600012345671`. A photo that
/// shows this label and another (two parcels in view) is a match: this parcel's label is on.
pub fn check_label(waybill: &str, decoded: &[String]) -> LabelCheck {
    let want = number(waybill);
    let mut other = None;
    for text in decoded {
        let got = number(text);
        if got.is_empty() {
            continue;
        }
        if got == want {
            return LabelCheck::Match;
        }
        other.get_or_insert_with(|| text.trim().to_string());
    }
    match other {
        Some(found) => LabelCheck::Mismatch { found },
        None => LabelCheck::NoCode,
    }
}

fn number(s: &str) -> String {
    codes::normalise(s)
        .code
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .collect::<String>()
        .to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn the_label_check_decides_from_the_codes_read() {
        assert_eq!(
            check_label("600012345671", &v(&["600012345671"])),
            LabelCheck::Match
        );
        assert_eq!(
            check_label("600012345671", &v(&[" 6000-1234-5671\n"])),
            LabelCheck::Match
        );
        assert_eq!(
            check_label("600012345671", &v(&["600012345682"])),
            LabelCheck::Mismatch {
                found: "600012345682".into()
            }
        );
        // Two labels in view, one of them this parcel's: the right label is on.
        assert_eq!(
            check_label("600012345671", &v(&["600012345682", "600012345671"])),
            LabelCheck::Match
        );
        assert_eq!(check_label("600012345671", &[]), LabelCheck::NoCode);
        assert_eq!(
            check_label("600012345671", &v(&["", "  "])),
            LabelCheck::NoCode
        );
        assert_eq!(LabelCheck::NoCode.code(), "label_no_code");
    }

    #[test]
    fn moments_parse_by_name() {
        assert_eq!(Moment::parse("sealed"), Some(Moment::Sealed));
        assert_eq!(Moment::parse(" contents "), Some(Moment::Contents));
        assert_eq!(Moment::parse("box"), None);
    }
}
