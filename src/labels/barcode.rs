//! Barcode symbols as module patterns, shared by every renderer.
//!
//! Every barcode printed must scan back to its value, so the PNG, the PDF, the ZPL and the
//! TSPL must all draw the same symbol. Code 128 comes from `barcoders`, QR from `qrcode` and
//! Data Matrix from `datamatrix`; EAN-13, Code 39 and ITF-14 are encoded here from their
//! standards' tables (each is a page of code, and owning them lets the wide bars be exactly
//! three modules, which ZPL's `^BY` ratio 3.0 and TSPL's narrow/wide widths reproduce dot for
//! dot). This module chooses the Code 128 character set explicitly (barcoders does no
//! automatic switching and wants a set marker first) and tells the printers to use the same set.

use std::fmt;

use qrcode::{Color, EcLevel, QrCode};

use super::template::QrEcc;

/// The Code 128 character set a symbol starts in (and, here, stays in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSet {
    /// Printable ASCII, one character per symbol character.
    B,
    /// Digit pairs, two digits per symbol character: for even-length all-digit data.
    C,
}

impl CodeSet {
    /// Set C for an even number of digits, set B for other printable ASCII.
    pub fn for_data(data: &str) -> Result<CodeSet, String> {
        if data.is_empty() {
            return Err("Code 128 needs at least one character".to_string());
        }
        if data.len().is_multiple_of(2) && data.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(CodeSet::C);
        }
        match data.chars().find(|c| !(' '..='~').contains(c)) {
            Some(c) => Err(format!(
                "Code 128 set B encodes printable ASCII only; `{data}` contains {c:?}"
            )),
            None => Ok(CodeSet::B),
        }
    }

    /// The marker barcoders expects in front of the data.
    fn barcoders_marker(self) -> char {
        match self {
            CodeSet::B => '\u{0181}',
            CodeSet::C => '\u{0106}',
        }
    }

    /// ZPL's invocation code that starts a `^BC` field in this set.
    fn zpl_start(self) -> &'static str {
        match self {
            CodeSet::B => ">:",
            CodeSet::C => ">;",
        }
    }
}

/// The dark/light modules of a Code 128 symbol (start, data, check, stop; no quiet zone).
pub fn code128_modules(data: &str) -> Result<(CodeSet, Vec<bool>), String> {
    let set = CodeSet::for_data(data)?;
    let marked = format!("{}{data}", set.barcoders_marker());
    let symbol =
        barcoders::sym::code128::Code128::new(marked).map_err(|e| format!("Code 128: {e}"))?;
    Ok((set, symbol.encode().into_iter().map(|m| m == 1).collect()))
}

/// The `^FD` data for a ZPL `^BC` field (normal mode) that makes the printer start in the
/// same set as `code128_modules`, so printer and preview draw the same symbol. A literal `>`
/// is written `><` because `>` introduces invocation codes.
pub fn code128_zpl_data(data: &str, set: CodeSet) -> String {
    format!("{}{}", set.zpl_start(), data.replace('>', "><"))
}

/// The modules per side of the QR symbol `qr_modules` makes, without placing its modules.
pub fn qr_size(data: &str, ecc: QrEcc) -> Result<usize, String> {
    let bits =
        qrcode::bits::encode_auto(data.as_bytes(), level(ecc)).map_err(|e| format!("QR: {e}"))?;
    Ok(bits.version().width() as usize)
}

fn level(ecc: QrEcc) -> EcLevel {
    match ecc {
        QrEcc::L => EcLevel::L,
        QrEcc::M => EcLevel::M,
        QrEcc::Q => EcLevel::Q,
        QrEcc::H => EcLevel::H,
    }
}

/// A QR symbol as a square of dark/light modules, `size` per side, row by row.
pub fn qr_modules(data: &str, ecc: QrEcc) -> Result<(usize, Vec<bool>), String> {
    let code = QrCode::with_error_correction_level(data.as_bytes(), level(ecc))
        .map_err(|e| format!("QR: {e}"))?;
    let size = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((size, dark))
}

/// The linear symbologies a template can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symbology {
    Code128,
    Ean13,
    Code39,
    Itf14,
}

impl Symbology {
    /// The `kind` key that selects this symbology in a template.
    pub fn key(self) -> &'static str {
        match self {
            Symbology::Code128 => "code128",
            Symbology::Ean13 => "ean13",
            Symbology::Code39 => "code39",
            Symbology::Itf14 => "itf14",
        }
    }

    /// Light modules required on each side of the symbol, kept inside the element's box.
    pub fn quiet_zone(self) -> u32 {
        match self {
            Symbology::Code128 | Symbology::Code39 | Symbology::Itf14 => 10,
            Symbology::Ean13 => 11,
        }
    }
}

impl fmt::Display for Symbology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Symbology::Code128 => "Code 128",
            Symbology::Ean13 => "EAN-13",
            Symbology::Code39 => "Code 39",
            Symbology::Itf14 => "ITF-14",
        })
    }
}

/// An encoded linear symbol: the data as printed (an EAN-13 or ITF-14 with its check digit),
/// the Code 128 set when it is Code 128, and the modules (a wide bar or space of Code 39 and
/// ITF-14 is three modules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linear {
    pub symbology: Symbology,
    pub data: String,
    pub set: Option<CodeSet>,
    pub modules: Vec<bool>,
}

/// Encodes `value` in a linear symbology; the error says why the value cannot be encoded.
pub fn linear(symbology: Symbology, value: &str) -> Result<Linear, String> {
    let (data, set, modules) = match symbology {
        Symbology::Code128 => {
            let (set, modules) = code128_modules(value)?;
            (value.to_string(), Some(set), modules)
        }
        Symbology::Ean13 => {
            let data = gtin_with_check(value, 13, "EAN-13")?;
            let modules = ean13_modules(&data);
            (data, None, modules)
        }
        Symbology::Code39 => (value.to_string(), None, code39_modules(value)?),
        Symbology::Itf14 => {
            let data = gtin_with_check(value, 14, "ITF-14")?;
            let modules = itf_modules(&data);
            (data, None, modules)
        }
    };
    Ok(Linear {
        symbology,
        data,
        set,
        modules,
    })
}

/// The GS1 mod-10 check digit of `digits` (weights 3 and 1 from the right).
pub fn gs1_check_digit(digits: &str) -> u32 {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    (10 - sum % 10) % 10
}

/// Accepts `len - 1` digits (the check digit is added) or `len` digits with a correct check
/// digit, and returns all `len` digits.
fn gtin_with_check(value: &str, len: usize, name: &str) -> Result<String, String> {
    if !value.bytes().all(|b| b.is_ascii_digit()) || !(len - 1..=len).contains(&value.len()) {
        return Err(format!(
            "{name} encodes {} digits (or {len} with the check digit); `{value}` is not that",
            len - 1
        ));
    }
    let body = &value[..len - 1];
    let check = gs1_check_digit(body);
    if value.len() == len {
        let given = u32::from(value.as_bytes()[len - 1] - b'0');
        if given != check {
            return Err(format!(
                "{name} `{value}` has check digit {given}, but its digits give {check}"
            ));
        }
    }
    Ok(format!("{body}{check}"))
}

/// The seven-module left-hand odd (L) patterns of EAN digits, as bits, most significant first.
const EAN_L: [u8; 10] = [
    0b0001101, 0b0011001, 0b0010011, 0b0111101, 0b0100011, 0b0110001, 0b0101111, 0b0111011,
    0b0110111, 0b0001011,
];

/// Which of the left half's six digits use the even (G) set, by the first digit; a set bit
/// (from the most significant of six) means G.
const EAN_PARITY: [u8; 10] = [
    0b000000, 0b001011, 0b001101, 0b001110, 0b010011, 0b011001, 0b011100, 0b010101, 0b010110,
    0b011010,
];

fn push_bits(out: &mut Vec<bool>, bits: u8, count: u32) {
    for i in (0..count).rev() {
        out.push(bits >> i & 1 == 1);
    }
}

/// The 95 modules of an EAN-13 symbol for 13 digits (check digit included).
fn ean13_modules(digits: &str) -> Vec<bool> {
    let d: Vec<usize> = digits.bytes().map(|b| usize::from(b - b'0')).collect();
    let mut out = Vec::with_capacity(95);
    push_bits(&mut out, 0b101, 3);
    for (i, &digit) in d[1..7].iter().enumerate() {
        let even = EAN_PARITY[d[0]] >> (5 - i) & 1 == 1;
        let l = EAN_L[digit];
        let pattern = if even {
            // G is R (the complement of L) read backwards.
            let r = !l & 0x7F;
            (0..7).fold(0u8, |acc, bit| acc << 1 | (r >> bit & 1))
        } else {
            l
        };
        push_bits(&mut out, pattern, 7);
    }
    push_bits(&mut out, 0b01010, 5);
    for &digit in &d[7..13] {
        push_bits(&mut out, !EAN_L[digit] & 0x7F, 7);
    }
    push_bits(&mut out, 0b101, 3);
    out
}

/// Code 39 characters and their nine elements (bar, space, bar, ...), `1` wide and `0`
/// narrow, from the standard's table.
const CODE39: [(char, &str); 44] = [
    ('0', "000110100"),
    ('1', "100100001"),
    ('2', "001100001"),
    ('3', "101100000"),
    ('4', "000110001"),
    ('5', "100110000"),
    ('6', "001110000"),
    ('7', "000100101"),
    ('8', "100100100"),
    ('9', "001100100"),
    ('A', "100001001"),
    ('B', "001001001"),
    ('C', "101001000"),
    ('D', "000011001"),
    ('E', "100011000"),
    ('F', "001011000"),
    ('G', "000001101"),
    ('H', "100001100"),
    ('I', "001001100"),
    ('J', "000011100"),
    ('K', "100000011"),
    ('L', "001000011"),
    ('M', "101000010"),
    ('N', "000010011"),
    ('O', "100010010"),
    ('P', "001010010"),
    ('Q', "000000111"),
    ('R', "100000110"),
    ('S', "001000110"),
    ('T', "000010110"),
    ('U', "110000001"),
    ('V', "011000001"),
    ('W', "111000000"),
    ('X', "010010001"),
    ('Y', "110010000"),
    ('Z', "011010000"),
    ('-', "010000101"),
    ('.', "110000100"),
    (' ', "011000100"),
    ('$', "010101000"),
    ('/', "010100010"),
    ('+', "010001010"),
    ('%', "000101010"),
    ('*', "010010100"),
];

/// Width of a wide Code 39 / ITF element in modules (a 3:1 ratio).
pub const WIDE: usize = 3;

fn push_elements(out: &mut Vec<bool>, elements: &str, first_dark: bool) {
    let mut dark = first_dark;
    for e in elements.bytes() {
        let width = if e == b'1' { WIDE } else { 1 };
        out.extend(std::iter::repeat_n(dark, width));
        dark = !dark;
    }
}

/// Code 39 without a check character: `*`, the data, `*`, one narrow space between
/// characters. Upper-case letters, digits, space and `-.$/+%` only.
fn code39_modules(data: &str) -> Result<Vec<bool>, String> {
    if data.is_empty() {
        return Err("Code 39 needs at least one character".to_string());
    }
    let pattern = |c: char| CODE39.iter().find(|(k, _)| *k == c).map(|(_, p)| *p);
    if let Some(c) = data.chars().find(|&c| c == '*' || pattern(c).is_none()) {
        return Err(format!(
            "Code 39 encodes A-Z, 0-9, space and -.$/+% only; `{data}` contains {c:?}"
        ));
    }
    let mut out = Vec::new();
    for c in std::iter::once('*')
        .chain(data.chars())
        .chain(std::iter::once('*'))
    {
        if !out.is_empty() {
            out.push(false);
        }
        push_elements(&mut out, pattern(c).unwrap_or_default(), true);
    }
    Ok(out)
}

/// Interleaved 2 of 5 over an even number of digits: start (narrow bar, space, bar, space),
/// digit pairs (the first digit in the bars, the second in the spaces), stop (wide bar,
/// narrow space, narrow bar).
fn itf_modules(digits: &str) -> Vec<bool> {
    const DIGITS: [&str; 10] = [
        "00110", "10001", "01001", "11000", "00101", "10100", "01100", "00011", "10010", "01010",
    ];
    let d: Vec<usize> = digits.bytes().map(|b| usize::from(b - b'0')).collect();
    let mut out = Vec::new();
    push_elements(&mut out, "0000", true);
    for pair in d.chunks(2) {
        let (a, b) = (DIGITS[pair[0]].as_bytes(), DIGITS[pair[1]].as_bytes());
        let mixed: String = (0..5).flat_map(|i| [a[i] as char, b[i] as char]).collect();
        push_elements(&mut out, &mixed, true);
    }
    push_elements(&mut out, "100", true);
    out
}

/// A Data Matrix (ECC 200, square) as dark/light modules, finder pattern included:
/// `(columns, rows, dark)`, row by row.
pub fn datamatrix_modules(data: &str) -> Result<(usize, usize, Vec<bool>), String> {
    if data.is_empty() {
        return Err("a Data Matrix needs data".to_string());
    }
    let code = datamatrix::DataMatrix::encode(
        data.as_bytes(),
        datamatrix::SymbolList::default().enforce_square(),
    )
    .map_err(|e| format!("Data Matrix: {e:?}"))?;
    let bitmap = code.bitmap();
    Ok((bitmap.width(), bitmap.height(), bitmap.bits().to_vec()))
}
#[cfg(test)]
pub mod tests {
    use super::*;

    /// Bar and space widths (in modules) of Code 128 symbol values 0 to 106, from the
    /// standard's table; 106 is the stop pattern with its final bar.
    const PATTERNS: [&str; 107] = [
        "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
        "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
        "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
        "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
        "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
        "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
        "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
        "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
        "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
        "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
        "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
        "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
    ];

    /// A small independent Code 128 decoder over module runs: it checks the start, the
    /// mod-103 check character and the stop, and decodes sets B and C (no switching).
    pub fn decode_code128(modules: &[bool]) -> Result<String, String> {
        // Turn the modules into run widths, starting with the first bar.
        let first = modules.iter().position(|&m| m).ok_or("no bars")?;
        let last = modules.iter().rposition(|&m| m).ok_or("no bars")?;
        let mut runs = Vec::new();
        let mut i = first;
        while i <= last {
            let colour = modules[i];
            let start = i;
            while i <= last && modules[i] == colour {
                i += 1;
            }
            runs.push((i - start).to_string());
        }
        if runs.len() < 19 || (runs.len() - 7) % 6 != 0 {
            return Err(format!(
                "{} runs is not a whole number of symbols",
                runs.len()
            ));
        }
        let (body, stop) = runs.split_at(runs.len() - 7);
        if stop.concat() != PATTERNS[106] {
            return Err("no stop pattern".to_string());
        }
        let values: Vec<usize> = body
            .chunks(6)
            .map(|c| {
                let p = c.concat();
                PATTERNS[..106]
                    .iter()
                    .position(|&q| q == p)
                    .ok_or(format!("unknown symbol {p}"))
            })
            .collect::<Result<_, _>>()?;
        let (check, data) = values.split_last().ok_or("empty")?;
        let sum: usize = data.iter().enumerate().map(|(i, v)| v * i.max(1)).sum();
        if sum % 103 != *check {
            return Err("bad check character".to_string());
        }
        let (start, rest) = data.split_first().ok_or("empty")?;
        match start {
            104 => rest
                .iter()
                .map(|&v| char::from_u32(v as u32 + 32).ok_or("bad value".to_string()))
                .collect(),
            105 => Ok(rest.iter().map(|v| format!("{v:02}")).collect()),
            other => Err(format!("unsupported start {other}")),
        }
    }

    #[test]
    fn code128_round_trips_in_both_sets() {
        for (data, set) in [
            ("600012345671", CodeSet::C),
            ("60001234567", CodeSet::B),
            ("SS-1001", CodeSet::B),
            ("a>b ~Z", CodeSet::B),
            ("00", CodeSet::C),
        ] {
            let (got_set, modules) = code128_modules(data).expect("encodes");
            assert_eq!(got_set, set, "{data}");
            assert_eq!(decode_code128(&modules).as_deref(), Ok(data), "{data}");
        }
        // Set C is denser: 12 digits take 6 symbol characters instead of 12.
        let c = code128_modules("600012345671").expect("C").1.len();
        let b = code128_modules("60001234567").expect("B").1.len();
        assert!(c < b);
    }

    #[test]
    fn code128_refuses_what_it_cannot_encode() {
        assert!(code128_modules("").is_err());
        assert!(code128_modules("김민지").is_err());
        assert!(code128_modules("tab\there").is_err());
    }

    #[test]
    fn zpl_data_starts_in_the_same_set() {
        assert_eq!(
            code128_zpl_data("600012345671", CodeSet::C),
            ">;600012345671"
        );
        assert_eq!(code128_zpl_data("A>B", CodeSet::B), ">:A><B");
    }

    #[test]
    fn qr_modules_are_square() {
        let (size, dark) = qr_modules("600012345671", QrEcc::M).expect("encodes");
        assert_eq!(size, 21);
        assert_eq!(dark.len(), 21 * 21);
        // The top-left finder pattern's corner module is dark.
        assert!(dark[0]);
    }
}
