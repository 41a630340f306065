//! ZPL II output for Zebra printers and their many compatibles.
//!
//! Text is sent as graphics (`^GFA`) rasterised with the shipped font, because the built-in
//! Zebra fonts are Latin-only and which models carry an Asian font is unknown; graphics print
//! Korean and Chinese on any firmware. Linear barcodes and QR codes use the printer's own
//! `^BC`, `^BE`, `^B3`, `^B2` and `^BQ` so they stay crisp, with the module width, the 3:1
//! wide ratio and the Code 128 set forced to what the preview draws. Reverse text is a
//! `^FR` box over the text. Graphic data uses Zebra's run-length compression, which shrinks a
//! text-heavy label several times over.

use std::io::Write as _;

use super::barcode::{self, CodeSet, Symbology};
use super::layout::{Bars, Item, Layout, TextBlock};
use super::raster::{self, Bitmap};
use super::LabelError;

/// The `^BY` bar height pinned before each QR code (the firmware default), by which the
/// printer shifts a `^FO`-placed QR code down.
const QR_BY_HEIGHT: u32 = 10;

/// One `^XA`…`^XZ` format per layout, concatenated.
pub fn render(layouts: &[Layout]) -> Result<Vec<u8>, LabelError> {
    // A shipping label's job is about 20 KB; growing the buffer step by step from empty
    // costs more than the guess.
    let mut out = Vec::with_capacity(layouts.len() * 24 * 1024);
    for layout in layouts {
        format_one(layout, &mut out)?;
    }
    Ok(out)
}

fn format_one(layout: &Layout, out: &mut Vec<u8>) -> Result<(), LabelError> {
    // `write!` into a Vec cannot fail; the results are ignored on purpose.
    let _ = writeln!(out, "^XA");
    let _ = writeln!(out, "^CI28");
    let _ = writeln!(out, "^PW{}", layout.width);
    let _ = writeln!(out, "^LL{}", layout.height);
    let _ = writeln!(out, "^LH0,0");
    for item in &layout.items {
        match item {
            Item::Text(block) => {
                text(block, out)?;
                if block.reverse {
                    // A reverse-printed solid box turns what lies under it inside out:
                    // white text on black.
                    let r = block.area;
                    let _ = writeln!(
                        out,
                        "^FO{},{}^GB{},{},{}^FR^FS",
                        r.x,
                        r.y,
                        r.w,
                        r.h,
                        r.w.min(r.h)
                    );
                }
            }
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
            Item::Barcode(bars) => barcode_field(bars, out),
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
            // A Data Matrix goes as a graphic: the printer's own encoder may choose another
            // encodation than the preview's, and a graphic prints on any firmware.
            Item::Matrix(m) => graphic(m.x, m.y, &m.bitmap(), out),
            Item::Graphic { x, y, bitmap } => graphic(*x, *y, bitmap, out),
        }
    }
    let _ = writeln!(out, "^PQ1");
    let _ = writeln!(out, "^XZ");
    Ok(())
}

/// A linear barcode with the printer's own command, bars only (the human-readable line is
/// a text graphic), module width pinned with `^BY` and wide bars three modules wide.
fn barcode_field(bars: &Bars, out: &mut Vec<u8>) {
    let (x, y, m, h) = (bars.x, bars.y, bars.module, bars.bar_height);
    match bars.symbology {
        Symbology::Code128 => {
            let set = bars.set.unwrap_or(CodeSet::B);
            let data = barcode::code128_zpl_data(&bars.data, set);
            let (fh, data) = field_data(&data);
            let _ = writeln!(out, "^FO{x},{y}^BY{m}^BCN,{h},N,N,N{fh}^FD{data}^FS");
        }
        Symbology::Ean13 => {
            // The printer adds the check digit to the twelve it is given.
            let _ = writeln!(
                out,
                "^FO{x},{y}^BY{m}^BEN,{h},N,N^FD{}^FS",
                &bars.data[..12]
            );
        }
        Symbology::Code39 => {
            let _ = writeln!(out, "^FO{x},{y}^BY{m},3.0^B3N,N,{h},N,N^FD{}^FS", bars.data);
        }
        Symbology::Itf14 => {
            let _ = writeln!(out, "^FO{x},{y}^BY{m},3.0^B2N,{h},N,N,N^FD{}^FS", bars.data);
        }
    }
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

/// A text block as one `^GFA` graphic cropped to its ink. The encoded field is kept per
/// thread (see `raster::cached_text`), so text that recurs from label to label (the sender,
/// the courier's name, the template's captions) is rasterised and encoded once.
fn text(block: &TextBlock, out: &mut Vec<u8>) -> Result<(), LabelError> {
    let field = raster::cached_text(block, raster::Encoding::Zpl, || {
        let mut field = Vec::new();
        if let Some(p) = raster::pack_lines(block, &block.lines)? {
            write_packed(p.x, p.y, p.bytes_per_row, &p.data, &mut field);
        }
        Ok(field)
    })?;
    out.extend_from_slice(&field);
    Ok(())
}

/// A whole bitmap as one `^GFA` graphic at `(x, y)`.
fn graphic(x: u32, y: u32, bitmap: &Bitmap, out: &mut Vec<u8>) {
    let bytes_per_row = bitmap.width().div_ceil(8);
    let data: Vec<u8> = (0..bitmap.height())
        .flat_map(|row| bitmap.packed_row(row, 0, bytes_per_row))
        .collect();
    write_packed(x, y, bytes_per_row, &data, out);
}

/// Packed rows placed at `(x, y)` as a `^GFA` field.
fn write_packed(x: u32, y: u32, bytes_per_row: u32, data: &[u8], out: &mut Vec<u8>) {
    let total = data.len();
    let _ = write!(out, "^FO{x},{y}^GFA,{total},{total},{bytes_per_row},");
    compress_into(data, bytes_per_row as usize, out);
    out.extend_from_slice(b"^FS\n");
}

/// ZPL's ASCII-hex graphic compression: runs of one hex digit become a count letter and the
/// digit (`G`–`Y` for 1–19, `g`–`z` for 20–400), `,` ends a row with zeros, `!` with ones,
/// and `:` repeats the row above.
pub fn compress(rows: &[Vec<u8>]) -> String {
    let mut out = Vec::new();
    let bytes_per_row = rows.first().map_or(0, Vec::len);
    let flat: Vec<u8> = rows.concat();
    compress_into(&flat, bytes_per_row, &mut out);
    // Every byte written is ASCII.
    String::from_utf8_lossy(&out).into_owned()
}

/// `compress` over rows of `bytes_per_row` bytes laid end to end, appended to `out`.
///
/// Runs are counted a byte at a time (a byte whose two digits are equal, as 00 and FF are,
/// extends a run by two digits), long runs of one byte are skipped eight bytes at a time,
/// the count letters come from a table and the output is written into room made for the
/// worst case beforehand. The output is the same as counting digit by digit.
pub fn compress_into(data: &[u8], bytes_per_row: usize, out: &mut Vec<u8>) {
    if bytes_per_row == 0 {
        return;
    }
    // At worst two digits a byte and one mark a row: a run of n digits never takes more
    // than n characters.
    let start = out.len();
    out.resize(start + data.len() * 2 + data.len() / bytes_per_row + 2, 0);
    let buf = &mut out[start..];
    let mut pos = 0;
    let mut previous: Option<&[u8]> = None;
    for row in data.chunks(bytes_per_row) {
        if previous == Some(row) {
            buf[pos] = b':';
            pos += 1;
            continue;
        }
        previous = Some(row);
        // The row ends in a `,` (zeros) or `!` (ones) where that saves digits.
        let (body, tail) = match row.iter().rposition(|&b| b != 0) {
            None => (&row[..0], Some(b',')),
            Some(i) if i + 1 < row.len() => (&row[..=i], Some(b',')),
            Some(_) => match row.iter().rposition(|&b| b != 0xFF) {
                None => (&row[..0], Some(b'!')),
                Some(i) if i + 1 < row.len() => (&row[..=i], Some(b'!')),
                Some(_) => (row, None),
            },
        };
        let mut digit = 0u8;
        let mut count = 0usize;
        let mut i = 0;
        while i < body.len() {
            let b = body[i];
            let (hi, lo) = (b >> 4, b & 0x0F);
            if hi == lo {
                // A run of bytes whose two digits are the same (00, FF, …).
                let n = same_bytes(&body[i..], b);
                if hi != digit {
                    pos = put_run(buf, pos, digit, count);
                    digit = hi;
                    count = 0;
                }
                count += 2 * n;
                i += n;
            } else {
                if hi == digit {
                    pos = put_run(buf, pos, digit, count + 1);
                } else {
                    pos = put_run(buf, pos, digit, count);
                    buf[pos] = HEX[hi as usize];
                    pos += 1;
                }
                digit = lo;
                count = 1;
                i += 1;
            }
        }
        pos = put_run(buf, pos, digit, count);
        if let Some(t) = tail {
            buf[pos] = t;
            pos += 1;
        }
    }
    out.truncate(start + pos);
}

/// Writes a run of `count` copies of hex digit `digit` at `pos` (nothing for an empty
/// run) and returns the position after it. The run's `count` characters of room are enough.
#[inline(always)]
fn put_run(buf: &mut [u8], mut pos: usize, digit: u8, mut count: usize) -> usize {
    let d = HEX[digit as usize];
    match count {
        0 => pos,
        1 => {
            buf[pos] = d;
            pos + 1
        }
        _ => {
            while count > 400 {
                buf[pos] = b'z';
                buf[pos + 1] = d;
                pos += 2;
                count -= 400;
            }
            let (code, len) = RUN_CODES[count];
            // The second letter is written even when unused; the digit overwrites it.
            buf[pos] = code[0];
            buf[pos + 1] = code[1];
            pos += len as usize;
            buf[pos] = d;
            pos + 1
        }
    }
}

/// How many bytes at the start of `s` equal `b` (at least one: `s[0]` is `b`).
#[inline]
fn same_bytes(s: &[u8], b: u8) -> usize {
    let pattern = u64::from_ne_bytes([b; 8]);
    let mut n = 0;
    while let Some(chunk) = s.get(n..n + 8) {
        let word = u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
        let differ = word ^ pattern;
        if differ != 0 {
            // The first differing byte in memory order.
            let byte = if cfg!(target_endian = "little") {
                differ.trailing_zeros()
            } else {
                differ.leading_zeros()
            } / 8;
            return n + byte as usize;
        }
        n += 8;
    }
    n + s[n..].iter().take_while(|&&c| c == b).count()
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The count letters for runs of 1 to 400: up to two letters and how many there are.
static RUN_CODES: [([u8; 2], u8); 401] = run_codes();

const fn run_codes() -> [([u8; 2], u8); 401] {
    let mut table = [([0u8; 2], 0u8); 401];
    let mut run = 2;
    while run <= 400 {
        let mut code = [0u8; 2];
        let mut len = 0;
        if run >= 20 {
            code[0] = b'g' + (run / 20 - 1) as u8;
            len = 1;
        }
        // A lone digit needs no count; a remainder of one after a lower-case count does.
        let rest = run % 20;
        if rest > 1 || (rest == 1 && run >= 20) {
            code[len] = b'G' + (rest - 1) as u8;
            len += 1;
        }
        table[run] = (code, len as u8);
        run += 1;
    }
    table
}

/// Expands ZPL-compressed graphic data back into rows of `bytes_per_row` bytes (the inverse
/// of `compress`, used to replay stored jobs and by tests).
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

#[cfg(test)]
pub mod tests {
    use super::*;

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
        let code = |n: usize| {
            let mut s = vec![0u8; n + 2];
            let end = put_run(&mut s, 0, 0xA, n);
            s.truncate(end);
            String::from_utf8(s).expect("ASCII")
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
