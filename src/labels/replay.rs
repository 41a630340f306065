//! Replaying a stored ZPL job as layouts, so a label kept "exactly as printed" can be shown
//! as a PNG or sent to a TSPL printer without the data it was made from.
//!
//! Only the ZPL this engine writes is understood (`zpl.rs`): graphics (`^GFA`), boxes
//! (`^GB`, reverse-printed with `^FR`), Code 128, EAN-13, Code 39, ITF-14 (`^BC`, `^BE`,
//! `^B3`, `^B2` after `^BY`) and QR codes (`^BQ`). Barcodes are encoded again from their
//! field data, which gives the same modules the printer got. Anything else is an error
//! rather than a silently different picture.

use super::barcode::{self, CodeSet, Symbology};
use super::layout::{Bars, DotRect, Item, Layout, QrBlock};
use super::raster::{self, Bitmap};
use super::template::{ElementRef, QrEcc};
use super::zpl;
use super::LabelError;

/// The `^BY` height the QR fields of `zpl.rs` are placed above their symbol by.
const QR_BY_HEIGHT: u32 = 10;

/// Parses the formats of a ZPL job written by `zpl::render` at `dpi`.
pub fn zpl(job: &[u8], dpi: u32) -> Result<Vec<Layout>, LabelError> {
    let text = std::str::from_utf8(job)
        .map_err(|_| LabelError::Unsupported("the stored ZPL is not UTF-8".to_string()))?;
    let bad = |what: &str| LabelError::Unsupported(format!("stored ZPL: {what}"));
    let mut layouts = Vec::new();
    let mut current: Option<Layout> = None;
    let mut module = 2u32;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        let at = || ElementRef {
            number: number + 1,
            kind: "zpl".to_string(),
            name: None,
        };
        match line {
            "" | "^CI28" | "^LH0,0" | "^PQ1" => continue,
            "^XA" => {
                current = Some(Layout {
                    dpi,
                    width: 0,
                    height: 0,
                    items: Vec::new(),
                });
                continue;
            }
            "^XZ" => {
                layouts.push(current.take().ok_or_else(|| bad("^XZ without ^XA"))?);
                continue;
            }
            _ => {}
        }
        let layout = current
            .as_mut()
            .ok_or_else(|| bad(&format!("line {} is outside ^XA…^XZ", number + 1)))?;
        if let Some(w) = line.strip_prefix("^PW") {
            layout.width = w.parse().map_err(|_| bad(line))?;
            continue;
        }
        if let Some(h) = line.strip_prefix("^LL") {
            layout.height = h.parse().map_err(|_| bad(line))?;
            continue;
        }
        // `^BY2,3,10` pinned before a QR code's `^FO`.
        let (line, qr_pinned) = match line.strip_prefix(&format!("^BY2,3,{QR_BY_HEIGHT}")) {
            Some(rest) => (rest, true),
            None => (line, false),
        };
        let rest = line
            .strip_prefix("^FO")
            .and_then(|r| r.strip_suffix("^FS"))
            .ok_or_else(|| bad(&format!("unexpected line `{line}`")))?;
        let cmd = rest.find('^').ok_or_else(|| bad(line))?;
        let (x, y) = pair(&rest[..cmd]).ok_or_else(|| bad(line))?;
        let mut field = &rest[cmd..];
        if let Some(f) = field.strip_prefix("^BY") {
            let end = f.find('^').ok_or_else(|| bad(line))?;
            module = f[..end]
                .split(',')
                .next()
                .and_then(|m| m.parse().ok())
                .ok_or_else(|| bad(line))?;
            field = &f[end..];
        }
        let (head, data) = match field.split_once("^FD") {
            Some((head, data)) => (head, Some(data)),
            None => (field, None),
        };
        let (head, data) = match head.strip_suffix("^FH_") {
            Some(h) => (h, data.map(unescape)),
            None => (head, data.map(str::to_string)),
        };
        if let Some(g) = head.strip_prefix("^GFA,") {
            let mut parts = g.splitn(4, ',');
            let _total = parts.next();
            let _ = parts.next();
            let bpr: usize = parts
                .next()
                .and_then(|b| b.parse().ok())
                .ok_or_else(|| bad(line))?;
            let rows = zpl::decompress(parts.next().unwrap_or_default(), bpr)
                .map_err(|e| bad(&format!("graphic on line {}: {e}", number + 1)))?;
            let mut bitmap = Bitmap::new(bpr as u32 * 8, rows.len() as u32);
            for (r, row) in rows.iter().enumerate() {
                for (i, byte) in row.iter().enumerate() {
                    for bit in 0..8 {
                        if byte & (0x80 >> bit) != 0 {
                            bitmap.set((i * 8 + bit) as i64, r as i64);
                        }
                    }
                }
            }
            layout.items.push(Item::Graphic { x, y, bitmap });
        } else if let Some(b) = head.strip_prefix("^GB") {
            let reverse = b.ends_with("^FR");
            let nums: Vec<u32> = b
                .trim_end_matches("^FR")
                .split(',')
                .map(|v| v.parse().map_err(|_| bad(line)))
                .collect::<Result<_, _>>()?;
            let [w, h, t] = nums[..] else {
                return Err(bad(line));
            };
            let rect = DotRect { x, y, w, h };
            if reverse {
                invert(layout, rect)?;
            } else if t >= w.min(h) {
                layout.items.push(Item::Fill(rect));
            } else {
                layout.items.push(Item::Frame { rect, thickness: t });
            }
        } else if let Some(q) = head.strip_prefix("^BQN,2,") {
            let data = data.ok_or_else(|| bad(line))?;
            let m: u32 = q.parse().map_err(|_| bad(line))?;
            let (ecc, value) = match data.split_once("A,") {
                Some((e, v)) if e.len() == 1 => (e, v),
                _ => return Err(bad(line)),
            };
            let ecc = match ecc {
                "L" => QrEcc::L,
                "M" => QrEcc::M,
                "Q" => QrEcc::Q,
                "H" => QrEcc::H,
                _ => return Err(bad(line)),
            };
            let size = barcode::qr_size(value, ecc).map_err(|e| bad(&e))?;
            let y = if qr_pinned { y + QR_BY_HEIGHT } else { y };
            layout.items.push(Item::Qr(QrBlock {
                element: at(),
                data: value.to_string(),
                ecc,
                x,
                y,
                module: m,
                size,
            }));
        } else {
            let data = data.ok_or_else(|| bad(line))?;
            let (symbology, height, value) = if let Some(p) = head.strip_prefix("^BCN,") {
                let value = data
                    .strip_prefix(">;")
                    .or_else(|| data.strip_prefix(">:"))
                    .ok_or_else(|| bad(line))?
                    .replace("><", ">");
                (Symbology::Code128, p, value)
            } else if let Some(p) = head.strip_prefix("^BEN,") {
                (Symbology::Ean13, p, data.clone())
            } else if let Some(p) = head.strip_prefix("^B3N,N,") {
                (Symbology::Code39, p, data.clone())
            } else if let Some(p) = head.strip_prefix("^B2N,") {
                (Symbology::Itf14, p, data.clone())
            } else {
                return Err(bad(&format!("unexpected field `{head}`")));
            };
            let bar_height: u32 = height
                .split(',')
                .next()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| bad(line))?;
            let symbol = barcode::linear(symbology, &value).map_err(|e| bad(&e))?;
            if symbology == Symbology::Code128 {
                let set = if data.starts_with(">;") {
                    CodeSet::C
                } else {
                    CodeSet::B
                };
                if symbol.set != Some(set) {
                    return Err(bad(&format!("Code 128 `{value}` in an unexpected set")));
                }
            }
            let width = symbol.modules.len() as u32 * module;
            layout.items.push(Item::Barcode(Bars {
                element: at(),
                area: DotRect {
                    x,
                    y,
                    w: width,
                    h: bar_height,
                },
                symbology,
                data: symbol.data,
                set: symbol.set,
                x,
                y,
                module,
                bar_height,
                modules: symbol.modules,
            }));
        }
    }
    if current.is_some() {
        return Err(bad("the last format has no ^XZ"));
    }
    if layouts.is_empty() {
        return Err(bad("no ^XA…^XZ format"));
    }
    Ok(layouts)
}

fn pair(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(',')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Undoes `^FH_` hex escapes.
fn unescape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A reverse-printed box: the graphics wholly inside it are replaced by one graphic of the
/// box with their dots inverted (white text on black), as the printer shows it.
fn invert(layout: &mut Layout, rect: DotRect) -> Result<(), LabelError> {
    let inside = |x: u32, y: u32, b: &Bitmap| {
        x >= rect.x
            && y >= rect.y
            && x + b.width() <= rect.x + rect.w
            && y + b.height() <= rect.y + rect.h
    };
    let mut under = Layout {
        dpi: layout.dpi,
        width: rect.w,
        height: rect.h,
        items: Vec::new(),
    };
    layout.items.retain(|item| match item {
        Item::Graphic { x, y, bitmap } if inside(*x, *y, bitmap) => {
            under.items.push(Item::Graphic {
                x: x - rect.x,
                y: y - rect.y,
                bitmap: bitmap.clone(),
            });
            false
        }
        _ => true,
    });
    let mut bitmap = raster::paint(&under)?;
    bitmap.invert(0, 0, rect.w, rect.h);
    layout.items.push(Item::Graphic {
        x: rect.x,
        y: rect.y,
        bitmap,
    });
    Ok(())
}
