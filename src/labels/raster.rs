//! A one-bit bitmap in printer dots, and painting a whole layout into one.
//!
//! A thermal head prints dots, on or off, so the preview and the text graphics sent to the
//! printer are both one-bit: the PNG shows exactly the dots the printer would burn, and ZPL
//! `^GFA` graphics are cut from the same kind of bitmap.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use super::font;
use super::layout::{Item, Layout, TextBlock, TextLine};
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

    /// Inverts a rectangle, clipped to the bitmap: black dots turn white and white black.
    pub fn invert(&mut self, x: u32, y: u32, w: u32, h: u32) {
        let x_end = x.saturating_add(w).min(self.width);
        let y_end = y.saturating_add(h).min(self.height);
        for row in y.min(y_end)..y_end {
            let start = row as usize * self.width as usize;
            for d in &mut self.dots[start + x.min(x_end) as usize..start + x_end as usize] {
                *d ^= 1;
            }
        }
    }

    /// Blackens every dot that is black in `other`, placed with its top-left corner at
    /// `(x, y)`.
    pub fn blit(&mut self, x: u32, y: u32, other: &Bitmap) {
        for oy in 0..other.height {
            for ox in 0..other.width {
                if other.get(ox, oy) {
                    self.set(i64::from(x + ox), i64::from(y + oy));
                }
            }
        }
    }

    /// The bitmap as 8-bit greyscale pixels (black 0, white 255), row by row.
    pub fn to_luma(&self) -> Vec<u8> {
        self.dots
            .iter()
            .map(|&d| if d != 0 { 0 } else { 255 })
            .collect()
    }
}

/// A text block's dots packed eight to a byte (most significant bit first, 1 black), cropped
/// to its ink: the form ZPL `^GFA` and TSPL `BITMAP` take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedText {
    /// Label dot of the top-left corner of the ink.
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub bytes_per_row: u32,
    /// `bytes_per_row * height` bytes, row after row.
    pub data: Vec<u8>,
}

impl PackedText {
    pub fn row(&self, y: u32) -> &[u8] {
        let start = (y * self.bytes_per_row) as usize;
        &self.data[start..start + self.bytes_per_row as usize]
    }
}

/// ORs `word` (64 dots, most significant first) into a row of words at dot column `col`,
/// dropping dots left of column 0 or past the row.
fn or_word(row: &mut [u64], col: i64, word: u64) {
    if word == 0 || col <= -64 {
        return;
    }
    if col < 0 {
        row[0] |= word << (-col);
        return;
    }
    let (i, shift) = ((col / 64) as usize, (col % 64) as u32);
    if i < row.len() {
        row[i] |= word >> shift;
    }
    if shift > 0 && i + 1 < row.len() {
        row[i + 1] |= word << (64 - shift);
    }
}

/// Rasterises some lines of a text block, clipped to the block's box, cropped to their ink.
/// `None` when they leave no ink.
pub fn pack_lines<'a>(
    block: &TextBlock,
    lines: impl IntoIterator<Item = &'a TextLine>,
) -> Result<Option<PackedText>, LabelError> {
    let face = font::face()?;
    let area = block.area;
    let (w, h) = (area.w, area.h);
    let words = (w as usize).div_ceil(64);
    let mut bits = vec![0u64; words * h as usize];
    // Rows any glyph touched: only they are scanned for ink.
    let (mut rows_from, mut rows_to) = (h, 0u32);
    for line in lines {
        font::for_each_glyph(
            face,
            line.x - area.x as f32,
            line.baseline - area.y as f32,
            &line.text,
            block.em_px,
            block.bold,
            |gx, gy, m| {
                let first = gy.clamp(0, i64::from(h)) as u32;
                let last = (gy + i64::from(m.height)).clamp(0, i64::from(h)) as u32;
                if first < last {
                    rows_from = rows_from.min(first);
                    rows_to = rows_to.max(last);
                }
                for r in 0..m.height {
                    let y = gy + i64::from(r);
                    if y < 0 || y >= i64::from(h) {
                        continue;
                    }
                    let row = &mut bits[y as usize * words..(y as usize + 1) * words];
                    for (k, &word) in m.row(r).iter().enumerate() {
                        or_word(row, gx + k as i64 * 64, word);
                    }
                }
            },
        );
    }
    // Clip at the right edge of the box, then find the ink.
    let tail = w % 64;
    let (mut top, mut bottom, mut left, mut right) = (u32::MAX, 0, u32::MAX, 0);
    for y in rows_from..rows_to {
        let row = &mut bits[y as usize * words..(y as usize + 1) * words];
        if tail != 0 {
            if let Some(last) = row.last_mut() {
                *last &= !0u64 << (64 - tail);
            }
        }
        for (k, &word) in row.iter().enumerate() {
            if word != 0 {
                top = top.min(y);
                bottom = y + 1;
                left = left.min(k as u32 * 64 + word.leading_zeros());
                right = right.max(k as u32 * 64 + 64 - word.trailing_zeros());
            }
        }
    }
    if bottom == 0 {
        return Ok(None);
    }
    // Crop on a byte boundary, so rows are copied a word at a time rather than shifted.
    let left = left / 8 * 8;
    let bytes_per_row = (right - left).div_ceil(8);
    let mut data = Vec::with_capacity((bytes_per_row * (bottom - top)) as usize);
    let (first_word, skip) = ((left / 64) as usize, (left % 64 / 8) as usize);
    for y in top..bottom {
        let row = &bits[y as usize * words..(y as usize + 1) * words];
        let start = data.len();
        for word in &row[first_word..] {
            data.extend_from_slice(&word.to_be_bytes());
        }
        // Drop the bytes left of the crop and past its right edge.
        data.drain(start..start + skip);
        data.truncate(start + bytes_per_row as usize);
    }
    Ok(Some(PackedText {
        x: area.x + left,
        y: area.y + top,
        width: right - left,
        height: bottom - top,
        bytes_per_row,
        data,
    }))
}

/// The printer language a cached text block was encoded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// A ZPL `^GFA` field.
    Zpl,
    /// TSPL `BITMAP` commands for the lines not printed with a built-in font; the flag says
    /// whether built-in fonts were usable (203 dpi).
    Tspl { builtin: bool },
}

/// Everything a text block's dots depend on: its box, size, weight and each line's text and
/// position (alignment and wrapping are already in the positions).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct BlockKey {
    encoding: Encoding,
    area: (u32, u32, u32, u32),
    em_px: u32,
    bold: bool,
    lines: Vec<(String, u32, u32)>,
}

impl BlockKey {
    fn of(block: &TextBlock, encoding: Encoding) -> BlockKey {
        let a = block.area;
        BlockKey {
            encoding,
            area: (a.x, a.y, a.w, a.h),
            em_px: block.em_px.to_bits(),
            bold: block.bold,
            lines: block
                .lines
                .iter()
                .map(|l| (l.text.clone(), l.x.to_bits(), l.baseline.to_bits()))
                .collect(),
        }
    }
}

/// Encoded text blocks kept on this thread, and the bytes they hold.
#[derive(Default)]
struct BlockCache {
    blocks: HashMap<BlockKey, Rc<[u8]>>,
    bytes: usize,
}

/// Bytes of encoded text kept per thread before the cache starts afresh (a bound on
/// memory: a few hundred labels' worth of recurring lines).
const BLOCK_CACHE_BYTES: usize = 4 << 20;

thread_local! {
    static BLOCKS: RefCell<BlockCache> = RefCell::new(BlockCache::default());
    static BLOCK_STATS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A text block encoded for a printer language, from this thread's cache or made by `make`
/// and kept. The same block (same text, size, box and line positions) always gives the
/// same dots, so the same bytes: the sender's line, the courier's name and the template's
/// captions are rasterised once per thread rather than once per label.
pub fn cached_text(
    block: &TextBlock,
    encoding: Encoding,
    make: impl FnOnce() -> Result<Vec<u8>, LabelError>,
) -> Result<Rc<[u8]>, LabelError> {
    let key = BlockKey::of(block, encoding);
    if let Some(found) = BLOCKS.with(|c| c.borrow().blocks.get(&key).cloned()) {
        BLOCK_STATS.with(|s| s.set((s.get().0 + 1, s.get().1)));
        return Ok(found);
    }
    BLOCK_STATS.with(|s| s.set((s.get().0, s.get().1 + 1)));
    let made: Rc<[u8]> = make()?.into();
    BLOCKS.with(|c| {
        let mut c = c.borrow_mut();
        if c.bytes + made.len() > BLOCK_CACHE_BYTES {
            c.blocks.clear();
            c.bytes = 0;
        }
        c.bytes += made.len();
        c.blocks.insert(key, Rc::clone(&made));
    });
    Ok(made)
}

/// How many text blocks this thread found in its cache and how many it had to make, since
/// the thread started (the benchmark reports the share it found).
pub fn text_cache_stats() -> (u64, u64) {
    BLOCK_STATS.with(Cell::get)
}

/// Draws a text block's lines into `bitmap`, whose top-left corner is at label dot
/// `(origin_x, origin_y)`, clipped to the block's box, exactly as the printers get them.
pub fn draw_text(
    bitmap: &mut Bitmap,
    block: &TextBlock,
    origin_x: f32,
    origin_y: f32,
) -> Result<(), LabelError> {
    if let Some(p) = pack_lines(block, &block.lines)? {
        blit_packed(bitmap, &p, origin_x as i64, origin_y as i64);
    }
    Ok(())
}

fn blit_packed(bitmap: &mut Bitmap, p: &PackedText, origin_x: i64, origin_y: i64) {
    for y in 0..p.height {
        for (i, &byte) in p.row(y).iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    bitmap.set(
                        i64::from(p.x) + (i * 8 + bit) as i64 - origin_x,
                        i64::from(p.y + y) - origin_y,
                    );
                }
            }
        }
    }
}

/// Paints every item of a layout into one label-sized bitmap.
pub fn paint(layout: &Layout) -> Result<Bitmap, LabelError> {
    let mut bitmap = Bitmap::new(layout.width, layout.height);
    for item in &layout.items {
        match item {
            Item::Text(block) => {
                draw_text(&mut bitmap, block, 0.0, 0.0)?;
                if block.reverse {
                    let a = block.area;
                    bitmap.invert(a.x, a.y, a.w, a.h);
                }
            }
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
            Item::Barcode(bars) => {
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
                let dark = qr.dark();
                for row in 0..qr.size {
                    for col in 0..qr.size {
                        if dark[row * qr.size + col] {
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
            Item::Matrix(m) => bitmap.blit(m.x, m.y, &m.bitmap()),
            Item::Graphic { x, y, bitmap: g } => bitmap.blit(*x, *y, g),
        }
    }
    Ok(bitmap)
}
