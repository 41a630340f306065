//! Scan-code normalisation: turns what a scanner (or a person at a keyboard) sent into the key
//! that the rest of the program looks up.
//!
//! Scanners add suffixes (CR, LF), may prefix an AIM symbology identifier such as `]C1`, may
//! send GS1 element strings with several fields in one symbol, and a Korean or Chinese input
//! method can turn digits into full-width characters. All of that is undone here, as a pure
//! function, so that the bench, the imports and the tests agree on one meaning of "the code".
//! Sources: DOMAIN.md 2.2 (AIM identifiers) and 2.3 (GS1 element strings).

use serde::{Deserialize, Serialize};

/// The GS1 group separator (ASCII 29), which scanners send in place of a mid-symbol FNC1.
pub const GS: char = '\u{1d}';

/// The AIM identifiers that announce GS1 data (DOMAIN.md 2.2): GS1-128, GS1 DataBar and
/// composites, GS1 DataMatrix, GS1 QR and GS1 DotCode.
const GS1_SYMBOLOGIES: [&str; 7] = ["]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"];

/// One normalised scan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scanned {
    /// The key to look up: the GTIN-14 for GS1 data that carries AI 01 or 02, otherwise the
    /// cleaned text (case and inner spaces kept).
    pub code: String,
    /// The AIM symbology identifier that prefixed the data, for example `]C1`, if any.
    pub symbology: Option<String>,
    /// The GS1 element strings as (AI, value) pairs, in scan order, when the scan was GS1.
    pub gs1: Vec<(String, String)>,
}

impl Scanned {
    /// Returns the keys to try in the barcode table, in order, without duplicates.
    ///
    /// The code itself always comes first. For all-digit GTINs the equivalent shorter or longer
    /// forms follow: a GTIN-14 with leading zeros also gives its EAN-13, UPC-A (12-digit) and
    /// EAN-8 forms; a 13-digit EAN starting with 0 gives the UPC-A form; a 12-digit UPC-A gives
    /// the 13-digit form with a leading 0. Last come the zero-padded GTIN-14 forms of 8, 12 and
    /// 13-digit codes, for catalogs that store every barcode as a GTIN-14.
    pub fn lookup_keys(&self) -> Vec<String> {
        let code = self.code.as_str();
        let mut keys = vec![code.to_string()];
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return keys;
        }
        let mut push = |k: &str| {
            if !keys.iter().any(|existing| existing == k) {
                keys.push(k.to_string());
            }
        };
        match code.len() {
            14 => {
                if let Some(ean13) = code.strip_prefix('0') {
                    push(ean13);
                }
                if let Some(upc) = code.strip_prefix("00") {
                    push(upc);
                }
                if let Some(ean8) = code.strip_prefix("000000") {
                    push(ean8);
                }
            }
            13 => {
                if let Some(upc) = code.strip_prefix('0') {
                    push(upc);
                }
                push(&format!("0{code}"));
            }
            12 => {
                push(&format!("0{code}"));
                push(&format!("00{code}"));
            }
            8 => push(&format!("000000{code}")),
            _ => {}
        }
        keys
    }
}

/// Normalises one raw scan. Never panics, whatever the input.
///
/// Steps: full-width ASCII and the ideographic space become plain ASCII; surrounding CR, LF,
/// TAB and spaces are trimmed; an AIM prefix (`]` + code character + modifier) is stripped
/// into `symbology`; GS1 element strings are parsed when the symbology says GS1, when the data
/// starts with a GS, or when a bare string starting with `01` + 14 digits parses completely
/// as GS1 with a valid GTIN check digit.
pub fn normalise(raw: &str) -> Scanned {
    let text = fullwidth_to_ascii(raw);
    let text = trim_scan(&text);
    let (symbology, data) = split_aim(text);
    let data = trim_scan(data);

    let announced = symbology.is_some_and(|s| GS1_SYMBOLOGIES.contains(&s));
    let leading_gs = data.starts_with(GS);
    let payload = data.trim_start_matches(GS);

    if announced || leading_gs {
        // The scanner told us this is GS1, so keep every element read before any problem:
        // the GTIN at the front is still right even if a later field is damaged.
        let elements = match parse_gs1(payload) {
            Ok(all) => all,
            Err(partial) => partial,
        };
        if !elements.is_empty() {
            return gs1_scan(symbology, elements);
        }
    } else if symbology.is_none() && looks_like_bare_gs1(payload) {
        // Without an identifier, only a complete and consistent parse counts as GS1.
        if let Ok(elements) = parse_gs1(payload) {
            let gtin_ok = elements
                .first()
                .is_some_and(|(ai, v)| ai == "01" && gtin_check_ok(v));
            if gtin_ok {
                return gs1_scan(symbology, elements);
            }
        }
    }

    Scanned {
        code: payload.to_string(),
        symbology: symbology.map(str::to_string),
        gs1: Vec::new(),
    }
}

/// Maps full-width ASCII (U+FF01 to U+FF5E) to ASCII and the ideographic space (U+3000) to a
/// space; every other character is kept.
pub fn fullwidth_to_ascii(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Trims the characters a scanner or keyboard adds around a code: CR, LF, TAB and spaces.
pub fn trim_scan(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, '\r' | '\n' | '\t' | ' '))
}

/// Splits an AIM symbology identifier off the front of `text`, if there is one.
///
/// An identifier is `]`, an ASCII letter (the code character) and an ASCII letter or digit
/// (the modifier). Anything else is left as data.
pub fn split_aim(text: &str) -> (Option<&str>, &str) {
    let b = text.as_bytes();
    if b.len() >= 3 && b[0] == b']' && b[1].is_ascii_alphabetic() && b[2].is_ascii_alphanumeric() {
        // The first three bytes are ASCII, so index 3 is a character boundary.
        (Some(&text[..3]), &text[3..])
    } else {
        (None, text)
    }
}

/// Returns true when the GS1 check digit (mod 10, weights 3 and 1 from the right) of an
/// all-digit GTIN-8, -12, -13 or -14 is right.
pub fn gtin_check_ok(gtin: &str) -> bool {
    let digits: Vec<u32> = gtin.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != gtin.len() || ![8, 12, 13, 14].contains(&digits.len()) {
        return false;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

/// Builds the result for a GS1 scan: the code is the GTIN of AI 01, else of AI 02, else the
/// SSCC of AI 00, else the elements written back as a human-readable string.
fn gs1_scan(symbology: Option<&str>, elements: Vec<(String, String)>) -> Scanned {
    let find = |ai: &str| {
        elements
            .iter()
            .find(|(a, _)| a == ai)
            .map(|(_, v)| v.clone())
    };
    let code = find("01")
        .or_else(|| find("02"))
        .or_else(|| find("00"))
        .unwrap_or_else(|| {
            elements
                .iter()
                .map(|(ai, v)| format!("({ai}){v}"))
                .collect::<String>()
        });
    Scanned {
        code,
        symbology: symbology.map(str::to_string),
        gs1: elements,
    }
}

/// A bare string is worth trying as GS1 only if it starts with AI 01 and 14 digits.
fn looks_like_bare_gs1(data: &str) -> bool {
    let b = data.as_bytes();
    b.len() >= 16 && b.starts_with(b"01") && b[2..16].iter().all(u8::is_ascii_digit)
}

/// How long the data of an AI is.
#[derive(Clone, Copy)]
enum Len {
    /// Exactly this many characters; no separator needed.
    Fixed(usize),
    /// Up to this many characters, ended by GS unless it is the last element.
    Var(usize),
}

/// Which characters the data of an AI may hold.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Digits only.
    Numeric,
    /// Digits only, and the value is a date YYMMDD (day 00 means "end of month").
    Date,
    /// Printable characters (GS1 allows a subset of ASCII; anything printable is accepted).
    Alnum,
    /// AI 421: three digits (ISO country) and then up to nine printable characters.
    CountryThenAlnum,
}

/// The AI table from DOMAIN.md 2.3 (python-stdnum gs1_ai.dat). Returns the AI's length in
/// digits, its data length and its kind, for the AI at the front of `s`.
fn lookup_ai(s: &str) -> Option<(usize, Len, Kind)> {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| c - b'0');
    let two = (digit(0)?, digit(1)?);
    let found = match two {
        (0, 0) => (2, Len::Fixed(18), Kind::Numeric),
        (0, 1) | (0, 2) => (2, Len::Fixed(14), Kind::Numeric),
        (1, 0) => (2, Len::Var(20), Kind::Alnum),
        (1, 1) | (1, 3) | (1, 5) | (1, 6) | (1, 7) => (2, Len::Fixed(6), Kind::Date),
        (2, 0) => (2, Len::Fixed(2), Kind::Numeric),
        (2, 1) => (2, Len::Var(20), Kind::Alnum),
        (3, 0) | (3, 7) => (2, Len::Var(8), Kind::Numeric),
        (3, 1) | (3, 3) => {
            // 310n (net weight) and 330n (gross weight); n is the number of decimals.
            let third = digit(2)?;
            let fourth = digit(3)?;
            let known = matches!((two.1, third), (1, 0) | (3, 0));
            if !known || fourth > 5 {
                return None;
            }
            (4, Len::Fixed(6), Kind::Numeric)
        }
        (4, 0) if digit(2)? == 0 => (3, Len::Var(30), Kind::Alnum),
        (4, 1) if digit(2)? <= 7 => (3, Len::Fixed(13), Kind::Numeric),
        (4, 2) if digit(2)? == 0 => (3, Len::Var(20), Kind::Alnum),
        (4, 2) if digit(2)? == 1 => (3, Len::Var(12), Kind::CountryThenAlnum),
        _ => return None,
    };
    Some(found)
}

/// GS1 elements as (AI, value) pairs.
type Elements = Vec<(String, String)>;

/// Parses a GS1 element string (without AIM prefix or leading GS). On failure returns the
/// elements read before the problem as the error value.
fn parse_gs1(data: &str) -> Result<Elements, Elements> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        // Some scanners also send GS after fixed-length fields; that is harmless.
        rest = rest.trim_start_matches(GS);
        if rest.is_empty() {
            return if out.is_empty() { Err(out) } else { Ok(out) };
        }
        let Some((ai_len, len, kind)) = lookup_ai(rest) else {
            return Err(out);
        };
        let ai = &rest[..ai_len];
        let after = &rest[ai_len..];
        let (value, next) = match len {
            Len::Fixed(n) => match after.char_indices().nth(n) {
                Some((end, _)) => (&after[..end], &after[end..]),
                None if after.chars().count() == n => (after, ""),
                None => return Err(out),
            },
            Len::Var(max) => {
                let end = after.find(GS).unwrap_or(after.len());
                let value = &after[..end];
                if value.is_empty() || value.chars().count() > max {
                    return Err(out);
                }
                (value, &after[end..])
            }
        };
        if !value_ok(value, kind) {
            return Err(out);
        }
        out.push((ai.to_string(), value.to_string()));
        rest = next;
    }
}

/// Checks a value against the character rules of its AI.
fn value_ok(value: &str, kind: Kind) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let printable = |s: &str| s.chars().all(|c| !c.is_control());
    match kind {
        Kind::Numeric => digits(value),
        Kind::Date => {
            if !digits(value) || value.len() != 6 {
                return false;
            }
            let month: u32 = value[2..4].parse().unwrap_or(0);
            let day: u32 = value[4..6].parse().unwrap_or(99);
            (1..=12).contains(&month) && day <= 31
        }
        Kind::Alnum => printable(value),
        Kind::CountryThenAlnum => {
            value.len() > 3
                && value.is_char_boundary(3)
                && digits(&value[..3])
                && printable(&value[3..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, v)| (a.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn table_of_scans() {
        // (raw, expected code, expected symbology, expected GS1 elements)
        type Case<'a> = (&'a str, &'a str, Option<&'a str>, &'a [(&'a str, &'a str)]);
        let cases: &[Case] = &[
            ("ORD-1001\r\n", "ORD-1001", None, &[]),
            ("  ORD 1001\t", "ORD 1001", None, &[]),
            ("abc-xyz", "abc-xyz", None, &[]),
            ("８８０１２３４５６７８９０", "8801234567890", None, &[]),
            ("ＳＫＵ－ａ１\u{3000}", "SKU-a1", None, &[]),
            ("]E08801234567893", "8801234567893", Some("]E0"), &[]),
            ("]E08801234567893\r", "8801234567893", Some("]E0"), &[]),
            ("]E4 96385074", "96385074", Some("]E4"), &[]),
            ("]C0ORD-77", "ORD-77", Some("]C0"), &[]),
            (
                "]Q1https://example.com/x",
                "https://example.com/x",
                Some("]Q1"),
                &[],
            ),
            (
                "]C10109501101530003\u{1d}17250101",
                "09501101530003",
                Some("]C1"),
                &[("01", "09501101530003"), ("17", "250101")],
            ),
            // A damaged tail after the GTIN keeps the GTIN.
            (
                "]C10109501101530003\u{1d}...",
                "09501101530003",
                Some("]C1"),
                &[("01", "09501101530003")],
            ),
            (
                "]C1010950110153000317250101\u{1d}10ABC123\u{1d}21X9",
                "09501101530003",
                Some("]C1"),
                &[
                    ("01", "09501101530003"),
                    ("17", "250101"),
                    ("10", "ABC123"),
                    ("21", "X9"),
                ],
            ),
            (
                "]C101095011015300031725010110ABC123\u{1d}21X9",
                "09501101530003",
                Some("]C1"),
                &[
                    ("01", "09501101530003"),
                    ("17", "250101"),
                    ("10", "ABC123"),
                    ("21", "X9"),
                ],
            ),
            (
                "]C101095011015300031725010110ABC123\u{1d}21X9\r\n",
                "09501101530003",
                Some("]C1"),
                &[
                    ("01", "09501101530003"),
                    ("17", "250101"),
                    ("10", "ABC123"),
                    ("21", "X9"),
                ],
            ),
            (
                "]d2010950110153000310LOT9\u{1d}3103001250",
                "09501101530003",
                Some("]d2"),
                &[("01", "09501101530003"), ("10", "LOT9"), ("3103", "001250")],
            ),
            (
                "]Q30209501101530003372",
                "09501101530003",
                Some("]Q3"),
                &[("02", "09501101530003"), ("37", "2")],
            ),
            (
                "\u{1d}0109501101530003",
                "09501101530003",
                None,
                &[("01", "09501101530003")],
            ),
            (
                "]C100395011015300000008",
                "395011015300000008",
                Some("]C1"),
                &[("00", "395011015300000008")],
            ),
            (
                "]C1421410ABC\u{1d}400PO-1",
                "(421)410ABC(400)PO-1",
                Some("]C1"),
                &[("421", "410ABC"), ("400", "PO-1")],
            ),
            // Bare GS1: complete parse and valid GTIN.
            (
                "010950110153000317250101",
                "09501101530003",
                None,
                &[("01", "09501101530003"), ("17", "250101")],
            ),
            // Bare digits with a wrong GTIN check digit stay as typed.
            ("0109501101530004", "0109501101530004", None, &[]),
            // Bare digits whose tail is not GS1 stay as typed.
            ("01095011015300039999", "01095011015300039999", None, &[]),
            // A GS1 identifier with nothing parseable keeps the text.
            ("]C1hello", "hello", Some("]C1"), &[]),
            ("", "", None, &[]),
            ("\r\n", "", None, &[]),
            ("]", "]", None, &[]),
            ("]C", "]C", None, &[]),
        ];
        assert!(cases.len() >= 15);
        for (raw, code, sym, gs1) in cases {
            let s = normalise(raw);
            assert_eq!(s.code, *code, "code of {raw:?}");
            assert_eq!(s.symbology.as_deref(), *sym, "symbology of {raw:?}");
            assert_eq!(s.gs1, pairs(gs1), "GS1 elements of {raw:?}");
        }
    }

    #[test]
    fn lookup_keys_try_equivalent_gtin_forms() {
        let keys = |code: &str| {
            Scanned {
                code: code.to_string(),
                ..Scanned::default()
            }
            .lookup_keys()
        };
        assert_eq!(
            keys("09501101530003"),
            vec!["09501101530003", "9501101530003"]
        );
        assert_eq!(
            keys("00012345678905"),
            vec!["00012345678905", "0012345678905", "012345678905"]
        );
        assert_eq!(
            keys("0012345678905"),
            vec!["0012345678905", "012345678905", "00012345678905"]
        );
        assert_eq!(
            keys("012345678905"),
            vec!["012345678905", "0012345678905", "00012345678905"]
        );
        assert_eq!(
            keys("8801234567893"),
            vec!["8801234567893", "08801234567893"]
        );
        assert_eq!(keys("96385074"), vec!["96385074", "00000096385074"]);
        assert_eq!(
            keys("00000096385074"),
            vec![
                "00000096385074",
                "0000096385074",
                "000096385074",
                "96385074"
            ]
        );
        assert_eq!(keys("ORD-1001"), vec!["ORD-1001"]);
        assert_eq!(keys(""), vec![""]);
        let scanned = normalise("]C10109501101530003\u{1d}17250101");
        assert_eq!(scanned.lookup_keys()[1], "9501101530003");
    }

    #[test]
    fn gtin_check_digits() {
        assert!(gtin_check_ok("09501101530003"));
        assert!(gtin_check_ok("8801234567893"));
        assert!(gtin_check_ok("012345678905"));
        assert!(gtin_check_ok("96385074"));
        assert!(!gtin_check_ok("8801234567890"));
        assert!(!gtin_check_ok("88012345678x3"));
        assert!(!gtin_check_ok(""));
    }

    /// A small xorshift generator, so the property test needs no extra crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    #[test]
    fn normalise_never_panics_on_arbitrary_input() {
        // The alphabet leans towards the characters that drive the parser's branches.
        let alphabet: Vec<char> = "0123456789]CEdQJe1203\u{1d}\r\n\t ABCxyz-./é한中\u{3000}８Ａ\u{0}\u{7f}\u{ff5e}\u{ff01}"
            .chars()
            .collect();
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for round in 0..5000 {
            let len = (rng.next() % 40) as usize;
            let mut s = String::new();
            if round % 3 == 0 {
                s.push_str("]C1");
            } else if round % 3 == 1 {
                s.push_str("01");
            }
            for _ in 0..len {
                let pick = rng.next();
                if pick.is_multiple_of(10) {
                    // Now and then any Unicode scalar value at all.
                    if let Some(c) = char::from_u32((pick >> 8) as u32 % 0x11_0000) {
                        s.push(c);
                    }
                } else {
                    s.push(alphabet[(pick >> 8) as usize % alphabet.len()]);
                }
            }
            let scanned = normalise(&s);
            let _ = scanned.lookup_keys();
        }
    }
}
