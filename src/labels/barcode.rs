//! Barcode symbols as module patterns, shared by every renderer.
//!
//! Every barcode printed must scan back to its value, so the PNG, the PDF and the ZPL must
//! all draw the same symbol. The module patterns come from `barcoders` (Code 128) and
//! `qrcode`; this module chooses the Code 128 character set explicitly (barcoders does no
//! automatic switching and wants a set marker first) and tells ZPL to use the same set.

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

/// A QR symbol as a square of dark/light modules, `size` per side, row by row.
pub fn qr_modules(data: &str, ecc: QrEcc) -> Result<(usize, Vec<bool>), String> {
    let level = match ecc {
        QrEcc::L => EcLevel::L,
        QrEcc::M => EcLevel::M,
        QrEcc::Q => EcLevel::Q,
        QrEcc::H => EcLevel::H,
    };
    let code = QrCode::with_error_correction_level(data.as_bytes(), level)
        .map_err(|e| format!("QR: {e}"))?;
    let size = code.width();
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((size, dark))
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
