//! ZPL II output for Zebra printers and their many compatibles.
//!
//! Text is sent as graphics (`^GFA`) rasterised with the shipped font, because the built-in
//! Zebra fonts are Latin-only and which models carry an Asian font is unknown; graphics print
//! Korean and Chinese on any firmware. Barcodes use the printer's own `^BC` and `^BQ` so they
//! stay crisp, with the Code 128 set forced to the one the preview draws. Graphic data uses
//! Zebra's run-length compression, which shrinks a text-heavy label several times over.

use std::fmt::Write as _;

use super::barcode;
use super::layout::{Item, Layout, TextBlock};
use super::raster::{self, Bitmap};
use super::LabelError;

/// The `^BY` bar height pinned before each QR code (the firmware default), by which the
/// printer shifts a `^FO`-placed QR code down.
const QR_BY_HEIGHT: u32 = 10;

/// One `^XA`…`^XZ` format per layout, concatenated.
pub fn render(layouts: &[Layout]) -> Result<Vec<u8>, LabelError> {
    let mut out = String::new();
    for layout in layouts {
        format_one(layout, &mut out)?;
    }
    Ok(out.into_bytes())
}

fn format_one(layout: &Layout, out: &mut String) -> Result<(), LabelError> {
    // `write!` into a String cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "^XA");
    let _ = writeln!(out, "^CI28");
    let _ = writeln!(out, "^PW{}", layout.width);
    let _ = writeln!(out, "^LL{}", layout.height);
    let _ = writeln!(out, "^LH0,0");
    for item in &layout.items {
        match item {
            Item::Text(block) => text(block, out)?,
            Item::Fill(r) => {
                let _ = writeln!(
                    out,
                    "^FO{},{}^GB{},{},{}^FS",
                    r.x,
                    r.y,
                    r.w,
                    r.h,
                    r.w.min(r.h)
                );
            }
            Item::Frame { rect: r, thickness } => {
                let _ = writeln!(out, "^FO{},{}^GB{},{},{}^FS", r.x, r.y, r.w, r.h, thickness);
            }
            Item::Code128(bars) => {
                let data = barcode::code128_zpl_data(&bars.data, bars.set);
                let (fh, data) = field_data(&data);
                let _ = writeln!(
                    out,
                    "^FO{},{}^BY{}^BCN,{},N,N,N{fh}^FD{data}^FS",
                    bars.x, bars.y, bars.module, bars.bar_height
                );
            }
            Item::Qr(qr) => {
                // Zebra firmware moves a `^FO`-placed QR code down by the current `^BY` bar
                // height, which persists in the printer between jobs. Pin it and start the
                // field that much higher so the symbol lands where the layout put it.
                let (fh, data) = field_data(&qr.data);
                let _ = writeln!(
                    out,
                    "^BY2,3,{QR_BY_HEIGHT}^FO{},{}^BQN,2,{}{fh}^FD{}A,{data}^FS",
                    qr.x,
                    qr.y.saturating_sub(QR_BY_HEIGHT),
                    qr.module,
                    qr.ecc.letter()
                );
            }
        }
    }
    let _ = writeln!(out, "^PQ1");
    let _ = writeln!(out, "^XZ");
    Ok(())
}

/// Field data safe to put between `^FD` and `^FS`: if it holds a caret or tilde (which
/// would start a command), it is hex-escaped under `^FH`.
fn field_data(data: &str) -> (&'static str, String) {
    if !data.contains(['^', '~']) {
        return ("", data.to_string());
    }
    let mut escaped = String::with_capacity(data.len() + 8);
    for c in data.chars() {
        match c {
            '^' => escaped.push_str("_5E"),
            '~' => escaped.push_str("_7E"),
            '_' => escaped.push_str("_5F"),
            other => escaped.push(other),
        }
    }
    ("^FH_", escaped)
}

/// A text block as one `^GFA` graphic cropped to its ink.
fn text(block: &TextBlock, out: &mut String) -> Result<(), LabelError> {
    let area = block.area;
    let mut bitmap = Bitmap::new(area.w, area.h);
    raster::draw_text(&mut bitmap, block, area.x as f32, area.y as f32)?;
    let Some((left, top, right, bottom)) = bitmap.ink_bounds() else {
        return Ok(());
    };
    let bytes_per_row = (right - left).div_ceil(8);
    let rows: Vec<Vec<u8>> = (top..bottom)
        .map(|y| bitmap.packed_row(y, left, bytes_per_row))
        .collect();
    let total = bytes_per_row as usize * rows.len();
    let _ = writeln!(
        out,
        "^FO{},{}^GFA,{total},{total},{bytes_per_row},{}^FS",
        area.x + left,
        area.y + top,
        compress(&rows)
    );
    Ok(())
}

/// ZPL's ASCII-hex graphic compression: runs of one hex digit become a count letter and the
/// digit (`G`–`Y` for 1–19, `g`–`z` for 20–400), `,` ends a row with zeros, `!` with ones,
/// and `:` repeats the row above.
pub fn compress(rows: &[Vec<u8>]) -> String {
    let mut out = String::new();
    let mut previous: Option<&Vec<u8>> = None;
    for row in rows {
        if previous == Some(row) {
            out.push(':');
            continue;
        }
        previous = Some(row);
        let hex: Vec<u8> = row
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0F])
            .map(|n| b"0123456789ABCDEF"[n as usize])
            .collect();
        let (body, tail) = match hex.iter().rposition(|&h| h != b'0') {
            None => (&hex[..0], Some(',')),
            Some(i) if i + 1 < hex.len() => (&hex[..=i], Some(',')),
            Some(_) => match hex.iter().rposition(|&h| h != b'F') {
                None => (&hex[..0], Some('!')),
                Some(i) if i + 1 < hex.len() => (&hex[..=i], Some('!')),
                Some(_) => (&hex[..], None),
            },
        };
        let mut i = 0;
        while i < body.len() {
            let digit = body[i];
            let mut run = 1;
            while i + run < body.len() && body[i + run] == digit {
                run += 1;
            }
            push_run(&mut out, run, digit as char);
            i += run;
        }
        if let Some(t) = tail {
            out.push(t);
        }
    }
    out
}

fn push_run(out: &mut String, mut run: usize, digit: char) {
    while run > 400 {
        out.push('z');
        out.push(digit);
        run -= 400;
    }
    if run >= 20 {
        out.push((b'g' + (run / 20 - 1) as u8) as char);
    }
    // A lone digit needs no count; a remainder of one after a lower-case count does.
    let rest = run % 20;
    if rest > 1 || (rest == 1 && run >= 20) {
        out.push((b'G' + (rest - 1) as u8) as char);
    }
    out.push(digit);
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Expands ZPL-compressed graphic data back into rows of `bytes_per_row` bytes.
    pub fn decompress(data: &str, bytes_per_row: usize) -> Result<Vec<Vec<u8>>, String> {
        let width = bytes_per_row * 2;
        let mut rows: Vec<Vec<u8>> = Vec::new();
        let mut row: Vec<u8> = Vec::new();
        let mut count = 0usize;
        let finish = |row: &mut Vec<u8>, rows: &mut Vec<Vec<u8>>| -> Result<(), String> {
            if row.len() != width {
                return Err(format!("row of {} hex digits, expected {width}", row.len()));
            }
            let bytes = row
                .chunks(2)
                .map(|p| (p[0] << 4) | p[1])
                .collect::<Vec<u8>>();
            rows.push(bytes);
            row.clear();
            Ok(())
        };
        for c in data.chars() {
            match c {
                'G'..='Y' => count += (c as usize) - ('G' as usize) + 1,
                'g'..='z' => count += ((c as usize) - ('g' as usize) + 1) * 20,
                ',' | '!' => {
                    let fill = if c == ',' { 0 } else { 15 };
                    row.resize(width, fill);
                    finish(&mut row, &mut rows)?;
                }
                ':' => {
                    let last = rows.last().cloned().ok_or("`:` on the first row")?;
                    rows.push(last);
                }
                _ => {
                    let digit = c.to_digit(16).ok_or(format!("bad character {c:?}"))? as u8;
                    for _ in 0..count.max(1) {
                        row.push(digit);
                    }
                    count = 0;
                    if row.len() == width {
                        finish(&mut row, &mut rows)?;
                    } else if row.len() > width {
                        return Err("row overflows".to_string());
                    }
                }
            }
        }
        if !row.is_empty() {
            return Err("data ends inside a row".to_string());
        }
        Ok(rows)
    }

    #[test]
    fn compression_round_trips() {
        let rows: Vec<Vec<u8>> = vec![
            vec![0; 10],
            vec![0xFF; 10],
            vec![0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0],
            vec![0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0],
            vec![0xF0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            (0..10).collect(),
            vec![0xAA; 10],
        ];
        let packed = compress(&rows);
        assert_eq!(decompress(&packed, 10), Ok(rows));
        // Long runs use the lower-case counts, including more than 400.
        let mut half = vec![0xFF; 225];
        half.extend(vec![0u8; 225]);
        let wide = vec![vec![0x77; 450], half];
        let packed = compress(&wide);
        assert!(packed.len() < 40, "{packed}");
        assert_eq!(decompress(&packed, 450), Ok(wide));
    }

    #[test]
    fn run_codes_match_the_zpl_table() {
        let code = |n| {
            let mut s = String::new();
            push_run(&mut s, n, 'A');
            s
        };
        assert_eq!(code(1), "A");
        assert_eq!(code(2), "HA");
        assert_eq!(code(19), "YA");
        assert_eq!(code(20), "gA");
        assert_eq!(code(21), "gGA");
        assert_eq!(code(400), "zA");
        assert_eq!(code(401), "zAA");
    }

    #[test]
    fn carets_in_data_are_escaped() {
        assert_eq!(field_data("600012345671"), ("", "600012345671".to_string()));
        assert_eq!(field_data("a^b_c~"), ("^FH_", "a_5Eb_5Fc_7E".to_string()));
    }
}
