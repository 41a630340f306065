//! TSPL / TSPL2 output for TSC printers and their clones (Gprinter, HPRT, Xprinter).
//!
//! Printable-ASCII lines of text use the printer's built-in bitmap fonts (`TEXT`), chosen so
//! the glyph cell stays inside the line box the layout gave that line; every other line
//! (Korean, Chinese, symbols) is rasterised from the shipped font and sent as a `BITMAP`, as
//! ZPL's `^GFA` is, because which clones carry which Asian fonts, in which encoding, is not
//! known. The built-in font cell sizes are only documented for 203 dpi heads, so at any other
//! resolution all text goes as bitmaps. Barcodes and QR codes use the printer's own
//! `BARCODE` and `QRCODE` with the module width, the 3:1 wide ratio and (through `128M`) the
//! Code 128 start set pinned to what the preview draws; a Data Matrix goes as a bitmap, like
//! ZPL's. Lines and boxes are `BAR`s, and reverse text is a `REVERSE` over its box.
//!
//! A job is bytes, not text: `BITMAP` data is raw binary, 1 bits white and 0 bits black.

use std::io::Write as _;

use super::barcode::{CodeSet, Symbology};
use super::font::BASELINE;
use super::layout::{Bars, DotRect, Item, Layout, TextBlock, TextLine};
use super::raster::{self, Bitmap};
use super::template::{Align, LINE_HEIGHT};
use super::LabelError;

/// The built-in bitmap fonts `1`–`5`: name, cell width and cell height in dots (203 dpi).
const FONTS: [(&str, u32, u32); 5] = [
    ("1", 8, 12),
    ("2", 12, 20),
    ("3", 16, 24),
    ("4", 24, 32),
    ("5", 32, 48),
];

/// The largest multiplier tried for a built-in font.
const MAX_MUL: u32 = 4;

/// One job per layout (`SIZE` … `PRINT 1,1`), concatenated.
pub fn render(layouts: &[Layout]) -> Result<Vec<u8>, LabelError> {
    // A shipping label's job is about 17 KB; growing the buffer step by step from empty
    // costs more than the guess.
    let mut out = Vec::with_capacity(layouts.len() * 20 * 1024);
    for layout in layouts {
        format_one(layout, &mut out)?;
    }
    Ok(out)
}

/// A size in millimetres as TSPL's `SIZE` takes it: whole, or to a tenth.
fn mm(dots: u32, dots_per_mm: f32) -> String {
    let v = (dots as f32 / dots_per_mm * 10.0).round() / 10.0;
    if v.fract() == 0.0 {
        format!("{}", v as u32)
    } else {
        format!("{v:.1}")
    }
}

fn format_one(layout: &Layout, out: &mut Vec<u8>) -> Result<(), LabelError> {
    let dpm = layout.dots_per_mm();
    let builtin = (200..=210).contains(&layout.dpi);
    // Writing into a Vec cannot fail; the results are ignored on purpose.
    let _ = write!(
        out,
        "SIZE {} mm,{} mm\r\nGAP 3 mm,0 mm\r\nDIRECTION 1\r\nREFERENCE 0,0\r\nCLS\r\n",
        mm(layout.width, dpm),
        mm(layout.height, dpm)
    );
    // Bitmaps overwrite the dots under them (padding included), so they go first and
    // everything else is drawn over them; reverse boxes go last, over what they invert.
    let mut rest: Vec<u8> = Vec::new();
    let mut reverse: Vec<DotRect> = Vec::new();
    for item in &layout.items {
        match item {
            Item::Text(block) => {
                text(block, builtin, out, &mut rest)?;
                if block.reverse {
                    reverse.push(block.area);
                }
            }
            Item::Fill(r) => bar(*r, &mut rest),
            Item::Frame { rect: r, thickness } => {
                let t = (*thickness).min(r.w).min(r.h);
                bar(DotRect { h: t, ..*r }, &mut rest);
                bar(
                    DotRect {
                        y: r.y + r.h - t,
                        h: t,
                        ..*r
                    },
                    &mut rest,
                );
                bar(DotRect { w: t, ..*r }, &mut rest);
                bar(
                    DotRect {
                        x: r.x + r.w - t,
                        w: t,
                        ..*r
                    },
                    &mut rest,
                );
            }
            Item::Barcode(bars) => barcode(bars, &mut rest),
            Item::Qr(qr) => {
                let _ = write!(
                    rest,
                    "QRCODE {},{},{},{},A,0,\"{}\"\r\n",
                    qr.x,
                    qr.y,
                    qr.ecc.letter(),
                    qr.module,
                    quote(&qr.data)
                );
            }
            Item::Matrix(m) => bitmap(m.x, m.y, &m.bitmap(), out),
            Item::Graphic { x, y, bitmap: b } => bitmap(*x, *y, b, out),
        }
    }
    out.extend_from_slice(&rest);
    for r in reverse {
        let _ = write!(out, "REVERSE {},{},{},{}\r\n", r.x, r.y, r.w, r.h);
    }
    out.extend_from_slice(b"PRINT 1,1\r\n");
    Ok(())
}

fn bar(r: DotRect, out: &mut Vec<u8>) {
    let _ = write!(out, "BAR {},{},{},{}\r\n", r.x, r.y, r.w, r.h);
}

/// A TSPL string literal's content: `"` is written `\["]`.
fn quote(s: &str) -> String {
    s.replace('"', "\\[\"]")
}

/// A linear barcode, bars only (the human-readable line is text of its own).
fn barcode(bars: &Bars, out: &mut Vec<u8>) {
    let (x, y, m, h) = (bars.x, bars.y, bars.module, bars.bar_height);
    let wide = m * super::barcode::WIDE as u32;
    let (kind, narrow, wide, data) = match bars.symbology {
        Symbology::Code128 => {
            // `128M` takes the start character from `!103`–`!105`, so the printer starts in
            // the set the preview uses. A `!` in the data would read as a control code, so
            // such data goes to the automatic `128` (same value, possibly other sets).
            if bars.data.contains('!') {
                ("128", m, m, bars.data.clone())
            } else {
                let start = match bars.set {
                    Some(CodeSet::C) => "!105",
                    _ => "!104",
                };
                ("128M", m, m, format!("{start}{}", bars.data))
            }
        }
        Symbology::Ean13 => ("EAN13", m, m, bars.data[..12].to_string()),
        // `39` is full ASCII on TSPL2 firmware, which encodes `$/+%` differently; `39S` is
        // the standard set. Other characters encode the same either way.
        Symbology::Code39 if bars.data.contains(['$', '/', '+', '%']) => {
            ("39S", m, wide, bars.data.clone())
        }
        Symbology::Code39 => ("39", m, wide, bars.data.clone()),
        // ITF-14 is Interleaved 2 of 5 over the fourteen digits, check digit included.
        Symbology::Itf14 => ("25", m, wide, bars.data.clone()),
    };
    let _ = write!(
        out,
        "BARCODE {x},{y},\"{kind}\",{h},0,0,{narrow},{wide},\"{}\"\r\n",
        quote(&data)
    );
}

/// A built-in font cell for a line: `(font, multiplier, cell width, cell height)`.
type Cell = (&'static str, u32, u32, u32);

/// The built-in font and multiplier for a printable-ASCII line: the tallest cell no taller
/// than the font size and its line box, whose run of characters fits the box's width.
fn builtin_cell(block: &TextBlock, line: &TextLine) -> Option<Cell> {
    let chars = line.text.chars().count() as u32;
    if chars == 0 || !line.text.chars().all(|c| (' '..='~').contains(&c)) {
        return None;
    }
    let bold = u32::from(block.bold);
    let max_h = block.em_px.min(LINE_HEIGHT * block.em_px).floor() as u32;
    let mut best: Option<Cell> = None;
    for (name, w, h) in FONTS {
        for mul in 1..=MAX_MUL {
            let (cw, ch) = (w * mul, h * mul);
            if ch > max_h || chars * cw + bold > block.area.w || ch > block.area.h {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, _, bw, bh)) => ch > bh || (ch == bh && cw > bw),
            };
            if better {
                best = Some((name, mul, cw, ch));
            }
        }
    }
    best
}

/// A text block: built-in `TEXT` for the lines that can use it (into `rest`), one cropped
/// `BITMAP` for the others (into `bitmaps`).
fn text(
    block: &TextBlock,
    builtin: bool,
    bitmaps: &mut Vec<u8>,
    rest: &mut Vec<u8>,
) -> Result<(), LabelError> {
    let area = block.area;
    let mut raster_lines: Vec<&TextLine> = Vec::new();
    for line in &block.lines {
        let cell = if builtin {
            builtin_cell(block, line)
        } else {
            None
        };
        let Some((font, mul, cw, ch)) = cell else {
            raster_lines.push(line);
            continue;
        };
        let width = cw * line.text.chars().count() as u32 + u32::from(block.bold);
        let x = area.x
            + match block.align {
                Align::Left => 0,
                Align::Center => (area.w - width) / 2,
                Align::Right => area.w - width,
            };
        let top = line.baseline - BASELINE * block.em_px;
        let y = (top + (LINE_HEIGHT * block.em_px - ch as f32) / 2.0)
            .round()
            .clamp(area.y as f32, (area.y + area.h - ch) as f32) as u32;
        let passes: &[u32] = if block.bold { &[0, 1] } else { &[0] };
        for dx in passes {
            let _ = write!(
                rest,
                "TEXT {},{},\"{font}\",0,{mul},{mul},\"{}\"\r\n",
                x + dx,
                y,
                quote(&line.text)
            );
        }
    }
    if raster_lines.is_empty() {
        return Ok(());
    }
    // The bitmap is kept per thread (see `raster::cached_text`): which lines need one is
    // decided by the block and the resolution alone, so the same block gives the same bytes.
    let field = raster::cached_text(block, raster::Encoding::Tspl { builtin }, || {
        let mut field = Vec::new();
        if let Some(p) = raster::pack_lines(block, raster_lines.iter().copied())? {
            packed(p.x, p.y, p.bytes_per_row, p.width, &p.data, &mut field);
        }
        Ok(field)
    })?;
    bitmaps.extend_from_slice(&field);
    Ok(())
}

/// A whole bitmap placed at `(x, y)` as a `BITMAP` command.
fn bitmap(x: u32, y: u32, b: &Bitmap, out: &mut Vec<u8>) {
    let bytes_per_row = b.width().div_ceil(8);
    let data: Vec<u8> = (0..b.height())
        .flat_map(|row| b.packed_row(row, 0, bytes_per_row))
        .collect();
    packed(x, y, bytes_per_row, b.width(), &data, out);
}

/// Packed rows (1 black) of `width` dots placed at `(x, y)` as a `BITMAP` command in
/// overwrite mode; bits are inverted (TSPL prints 0 bits) and the padding past the right
/// edge is white.
fn packed(x: u32, y: u32, bytes_per_row: u32, width: u32, data: &[u8], out: &mut Vec<u8>) {
    let rows = data.len() / bytes_per_row.max(1) as usize;
    let _ = write!(out, "BITMAP {x},{y},{bytes_per_row},{rows},0,");
    let pad = (bytes_per_row * 8 - width) as u8;
    let start = out.len();
    out.extend(data.iter().map(|b| !b));
    if pad > 0 {
        for row in out[start..].chunks_mut(bytes_per_row as usize) {
            if let Some(last) = row.last_mut() {
                *last |= (1u8 << pad) - 1;
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_print_whole_or_to_a_tenth() {
        assert_eq!(mm(800, 8.0), "100");
        assert_eq!(mm(812, 203.0 / 25.4), "101.6");
    }

    #[test]
    fn quotes_are_escaped() {
        assert_eq!(quote("a\"b"), "a\\[\"]b");
    }

    #[test]
    fn bitmaps_are_inverted_and_padded_white() {
        let mut b = Bitmap::new(10, 1);
        b.set(0, 0);
        b.set(9, 0);
        let mut out = Vec::new();
        bitmap(5, 6, &b, &mut out);
        let head = b"BITMAP 5,6,2,1,0,";
        assert_eq!(&out[..head.len()], head);
        // Dot 0 black (bit 0), dots 1-7 white; dot 8 white, dot 9 black, padding white.
        assert_eq!(
            &out[head.len()..head.len() + 2],
            &[0b0111_1111, 0b1011_1111]
        );
    }
}
