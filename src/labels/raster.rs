//! A one-bit bitmap in printer dots, and painting a whole layout into one.
//!
//! A thermal head prints dots, on or off, so the preview and the text graphics sent to the
//! printer are both one-bit: the PNG shows exactly the dots the printer would burn, and ZPL
//! `^GFA` graphics are cut from the same kind of bitmap.

use super::font;
use super::layout::{Item, Layout, TextBlock};
use super::LabelError;

/// A bitmap of `width` x `height` dots, one byte per dot (0 white, 1 black) for simplicity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    width: u32,
    height: u32,
    dots: Vec<u8>,
}

impl Bitmap {
    pub fn new(width: u32, height: u32) -> Bitmap {
        Bitmap {
            width,
            height,
            dots: vec![0; width as usize * height as usize],
        }
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Blackens one dot; dots outside the bitmap are ignored.
    pub fn set(&mut self, x: i64, y: i64) {
        if x >= 0
            && y >= 0
            && (x as u64) < u64::from(self.width)
            && (y as u64) < u64::from(self.height)
        {
            self.dots[y as usize * self.width as usize + x as usize] = 1;
        }
    }

    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width
            && y < self.height
            && self.dots[y as usize * self.width as usize + x as usize] != 0
    }

    /// Blackens a rectangle, clipped to the bitmap.
    pub fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        let x_end = x.saturating_add(w).min(self.width);
        let y_end = y.saturating_add(h).min(self.height);
        for row in y.min(y_end)..y_end {
            let start = row as usize * self.width as usize;
            self.dots[start + x.min(x_end) as usize..start + x_end as usize].fill(1);
        }
    }

    /// The smallest `(left, top, right, bottom)` (right and bottom exclusive) holding every
    /// black dot, or `None` for a blank bitmap.
    pub fn ink_bounds(&self) -> Option<(u32, u32, u32, u32)> {
        let mut bounds: Option<(u32, u32, u32, u32)> = None;
        for y in 0..self.height {
            for x in 0..self.width {
                if self.get(x, y) {
                    bounds = Some(match bounds {
                        None => (x, y, x + 1, y + 1),
                        Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x + 1), b.max(y + 1)),
                    });
                }
            }
        }
        bounds
    }

    /// One row packed eight dots to a byte, most significant bit first, as ZPL `^GF` and
    /// TSPL `BITMAP` want it (with 1 meaning black in ZPL).
    pub fn packed_row(&self, y: u32, x_from: u32, bytes: u32) -> Vec<u8> {
        (0..bytes)
            .map(|i| {
                (0..8).fold(0u8, |acc, bit| {
                    let x = x_from + i * 8 + bit;
                    acc | (u8::from(self.get(x, y)) << (7 - bit))
                })
            })
            .collect()
    }

    /// The bitmap as 8-bit greyscale pixels (black 0, white 255), row by row.
    pub fn to_luma(&self) -> Vec<u8> {
        self.dots
            .iter()
            .map(|&d| if d != 0 { 0 } else { 255 })
            .collect()
    }
}

/// Draws a text block's lines into `bitmap`, whose top-left corner is at label dot
/// `(origin_x, origin_y)`.
pub fn draw_text(
    bitmap: &mut Bitmap,
    block: &TextBlock,
    origin_x: f32,
    origin_y: f32,
) -> Result<(), LabelError> {
    let face = font::face()?;
    for line in &block.lines {
        font::draw_line(
            face,
            bitmap,
            line.x - origin_x,
            line.baseline - origin_y,
            &line.text,
            block.em_px,
            block.bold,
        );
    }
    Ok(())
}

/// Paints every item of a layout into one label-sized bitmap.
pub fn paint(layout: &Layout) -> Result<Bitmap, LabelError> {
    let mut bitmap = Bitmap::new(layout.width, layout.height);
    for item in &layout.items {
        match item {
            Item::Text(block) => draw_text(&mut bitmap, block, 0.0, 0.0)?,
            Item::Fill(r) => bitmap.fill(r.x, r.y, r.w, r.h),
            Item::Frame {
                rect: r,
                thickness: t,
            } => {
                let t = *t;
                bitmap.fill(r.x, r.y, r.w, t);
                bitmap.fill(r.x, r.y + r.h.saturating_sub(t), r.w, t);
                bitmap.fill(r.x, r.y, t, r.h);
                bitmap.fill(r.x + r.w.saturating_sub(t), r.y, t, r.h);
            }
            Item::Code128(bars) => {
                for (i, &dark) in bars.modules.iter().enumerate() {
                    if dark {
                        bitmap.fill(
                            bars.x + i as u32 * bars.module,
                            bars.y,
                            bars.module,
                            bars.bar_height,
                        );
                    }
                }
            }
            Item::Qr(qr) => {
                for row in 0..qr.size {
                    for col in 0..qr.size {
                        if qr.dark[row * qr.size + col] {
                            bitmap.fill(
                                qr.x + col as u32 * qr.module,
                                qr.y + row as u32 * qr.module,
                                qr.module,
                                qr.module,
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(bitmap)
}
