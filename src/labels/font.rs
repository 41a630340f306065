//! The one font every label uses, embedded in the binary and parsed on first use.
//!
//! Korean and Chinese must print on any printer and machine with no system fonts, so the
//! binary carries a subset of Noto Sans CJK SC (see `assets/fonts/make-subset.py`). The bytes
//! are part of the executable image and cost nothing until touched; the two parsed forms (the
//! rasteriser's and printpdf's) are built lazily behind `OnceLock`s so a server that never
//! prints pays no memory for them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale};

use super::raster::Bitmap;
use super::LabelError;

/// The shipped subset: Latin, all Hangul syllables, GB2312 and CJK punctuation.
pub static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/PackbenchSans-Regular.otf");

/// Pixel coverage at or above which a dot is printed. A little under one half keeps the thin
/// strokes of small CJK text from breaking up on a 203 dpi head.
const INK_THRESHOLD: f32 = 0.45;

/// Where the baseline sits below the top of a line box, as a fraction of the font size. With
/// `LINE_HEIGHT` 1.25 this leaves room above ideographs (which reach about 0.88 em) and below
/// Latin descenders (about 0.24 em).
pub const BASELINE: f32 = 0.98;

/// The rasteriser's view of the font, parsed on first use.
pub fn face() -> Result<&'static FontRef<'static>, LabelError> {
    static FACE: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FACE.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
        .ok_or_else(|| LabelError::Font("the embedded font does not parse".to_string()))
}

/// Builds the fonts' tables and parses printpdf's view of the font now, on a thread of its
/// own, so the first label or pick list after the server starts does not pay for them
/// (about a third of a second for the PDF font).
pub fn warm_up() {
    let _ = std::thread::Builder::new()
        .name("font-warm-up".into())
        .spawn(|| {
            if let Ok(f) = face() {
                Metrics::new(f).advance('가');
            }
            let _ = pdf_font();
        });
}

/// printpdf's view of the font, parsed on the first PDF and kept (about 6 MB), since every
/// later PDF needs it again.
///
/// printpdf looks every character up twice on save (once to collect the glyphs to subset,
/// once to encode the text), through the font's format 4 cmap, which it searches segment by
/// segment; the subset has thousands of segments (Hangul, GB2312). The parsed font's table is
/// swapped for a format 6 table of the whole Basic Multilingual Plane built from the same
/// cmap, which maps each character by index: the same glyphs, found in one step.
pub fn pdf_font() -> Result<&'static printpdf::ParsedFont, LabelError> {
    static PARSED: OnceLock<Option<printpdf::ParsedFont>> = OnceLock::new();
    PARSED
        .get_or_init(|| {
            let mut warnings = Vec::new();
            let mut parsed = printpdf::ParsedFont::from_bytes(FONT_BYTES, 0, &mut warnings)?;
            if let Ok(font) = face() {
                let mut ids: Vec<u16> = bmp_table(font).iter().map(|&(_, id, _)| id).collect();
                while ids.last() == Some(&0) {
                    ids.pop();
                }
                parsed.cmap_subtable = Some(allsorts::tables::cmap::owned::CmapSubtable::Format6 {
                    language: 0,
                    first_code: 0,
                    glyph_id_array: ids,
                });
            }
            Some(parsed)
        })
        .as_ref()
        .ok_or_else(|| LabelError::Font("printpdf cannot parse the embedded font".to_string()))
}

/// Font measurements in units of the font size (em), so one measurement serves every size.
pub struct Metrics<'f> {
    font: &'f FontRef<'static>,
    units_per_em: f32,
}

impl<'f> Metrics<'f> {
    pub fn new(font: &'f FontRef<'static>) -> Metrics<'f> {
        Metrics {
            font,
            units_per_em: font.units_per_em().unwrap_or(1000.0),
        }
    }

    /// The advance of one character in em.
    pub fn advance(&self, c: char) -> f32 {
        match bmp_table(self.font).get(c as usize) {
            Some(&(advance, _, _)) => advance,
            None => self.font.h_advance_unscaled(self.font.glyph_id(c)) / self.units_per_em,
        }
    }

    /// The advance of a string in em (no kerning: the subset carries none).
    pub fn width(&self, text: &str) -> f32 {
        text.chars().map(|c| self.advance(c)).sum()
    }

    /// Whether the font has a real glyph for `c` (not the .notdef box).
    pub fn covers(&self, c: char) -> bool {
        c.is_whitespace()
            || match bmp_table(self.font).get(c as usize) {
                Some(&(_, id, _)) => id != 0,
                None => self.font.glyph_id(c) != GlyphId(0),
            }
    }
}

/// The glyph for a character and its unscaled advance, from the table for the Basic
/// Multilingual Plane.
fn glyph_of(font: &FontRef<'static>, c: char) -> (GlyphId, f32) {
    match bmp_table(font).get(c as usize) {
        Some(&(_, id, advance)) => (GlyphId(id), f32::from(advance)),
        None => {
            let id = font.glyph_id(c);
            (id, font.h_advance_unscaled(id))
        }
    }
}

/// Advance (in em), glyph and unscaled advance (in font units) of every Basic Multilingual
/// Plane character, built once: measuring text is the inner loop of fitting it, and a table
/// lookup beats the font's cmap search several times over.
fn bmp_table(font: &FontRef<'static>) -> &'static [(f32, u16, u16)] {
    static TABLE: OnceLock<Vec<(f32, u16, u16)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let upem = font.units_per_em().unwrap_or(1000.0);
        (0u32..0x1_0000)
            .map(|u| {
                let id = char::from_u32(u)
                    .map(|c| font.glyph_id(c))
                    .unwrap_or(GlyphId(0));
                let unscaled = font.h_advance_unscaled(id);
                (unscaled / upem, id.0, unscaled as u16)
            })
            .collect()
    })
}

/// The `PxScale` that makes the font's em `em_px` pixels tall. ab_glyph scales by the
/// ascent-to-descent height, which for this font is larger than the em.
fn scale_for(font: &FontRef<'static>, em_px: f32) -> PxScale {
    let upem = font.units_per_em().unwrap_or(1000.0);
    PxScale::from(em_px * font.height_unscaled() / upem)
}

/// Extra width that faux bold adds, in dots: the text is drawn twice this far apart.
pub fn bold_offset(em_px: f32) -> f32 {
    (em_px / 28.0).round().max(1.0)
}

/// A glyph's dots at one size: where its top-left dot lies relative to the pen on the
/// baseline, its size, and its rows as bits (most significant first, `words` per row).
#[derive(Debug)]
pub struct GlyphMask {
    pub left: i64,
    pub top: i64,
    pub width: u32,
    pub height: u32,
    pub words: usize,
    pub bits: Vec<u64>,
}

impl GlyphMask {
    fn rasterise(font: &FontRef<'static>, id: GlyphId, scale: PxScale) -> GlyphMask {
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(0.0, 0.0));
        let Some(outlined) = font.outline_glyph(glyph) else {
            return GlyphMask {
                left: 0,
                top: 0,
                width: 0,
                height: 0,
                words: 0,
                bits: Vec::new(),
            };
        };
        let b = outlined.px_bounds();
        let (width, height) = (b.width().max(0.0) as u32, b.height().max(0.0) as u32);
        let words = (width as usize).div_ceil(64);
        let mut bits = vec![0u64; words * height as usize];
        outlined.draw(|gx, gy, coverage| {
            if coverage >= INK_THRESHOLD && gx < width && gy < height {
                let i = gy as usize * words + gx as usize / 64;
                bits[i] |= 1u64 << (63 - gx % 64);
            }
        });
        GlyphMask {
            left: b.min.x as i64,
            top: b.min.y as i64,
            width,
            height,
            words,
            bits,
        }
    }

    /// The mask's row `y` as words.
    pub fn row(&self, y: u32) -> &[u64] {
        let start = y as usize * self.words;
        &self.bits[start..start + self.words]
    }
}

/// Masks already rasterised on this thread, by glyph and size. Labels print the same few
/// sizes over and over, so after the first labels almost every glyph comes from here.
type MaskCache = HashMap<(u16, u32), Rc<GlyphMask>, BuildHasherDefault<KeyHasher>>;

/// A multiply-and-rotate hasher for the cache's small integer keys: the keys are glyph ids
/// and float bits chosen by our own templates, so SipHash's flood resistance buys nothing
/// and costs a good share of a label's time.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

thread_local! {
    static MASKS: RefCell<MaskCache> = RefCell::new(HashMap::default());
}

/// Masks kept per thread before the cache starts afresh (a bound on memory, not a tuning).
const MASK_CACHE_LIMIT: usize = 60_000;

fn mask(cache: &mut MaskCache, font: &FontRef<'static>, id: GlyphId, em_px: f32) -> Rc<GlyphMask> {
    let key = (id.0, em_px.to_bits());
    if let Some(m) = cache.get(&key) {
        return Rc::clone(m);
    }
    if cache.len() >= MASK_CACHE_LIMIT {
        cache.clear();
    }
    let m = Rc::new(GlyphMask::rasterise(font, id, scale_for(font, em_px)));
    cache.insert(key, Rc::clone(&m));
    m
}

/// Calls `place(x, y, mask)` for every glyph of a line of text whose pen starts at `x` on
/// `baseline` (in dots), with the dot where the glyph's top-left corner goes. Glyphs are
/// placed on whole dots (the pen is rounded), which is what lets their masks be reused;
/// faux bold places every glyph twice, `bold_offset` apart.
pub fn for_each_glyph(
    font: &FontRef<'static>,
    x: f32,
    baseline: f32,
    text: &str,
    em_px: f32,
    bold: bool,
    mut place: impl FnMut(i64, i64, &GlyphMask),
) {
    // The same factor ab_glyph's `PxScaleFont::h_advance` applies, so pens land on the
    // same dots as they would through it.
    let h_scale = scale_for(font, em_px).x / font.height_unscaled();
    let passes: &[f32] = if bold {
        &[0.0, bold_offset(em_px)]
    } else {
        &[0.0]
    };
    let base = baseline.round() as i64;
    MASKS.with(|cache| {
        let mut cache = cache.borrow_mut();
        for &dx in passes {
            let mut pen = x + dx;
            for c in text.chars() {
                let (id, advance) = glyph_of(font, c);
                let m = mask(&mut cache, font, id, em_px);
                if m.width > 0 {
                    place(pen.round() as i64 + m.left, base + m.top, &m);
                }
                pen += h_scale * advance;
            }
        }
    });
}

/// Draws one line of text into `bitmap` with its pen starting at `x` on `baseline`, both in
/// the bitmap's dots. Dots outside the bitmap are clipped by the bitmap.
pub fn draw_line(
    font: &FontRef<'static>,
    bitmap: &mut Bitmap,
    x: f32,
    baseline: f32,
    text: &str,
    em_px: f32,
    bold: bool,
) {
    for_each_glyph(font, x, baseline, text, em_px, bold, |gx, gy, m| {
        for row in 0..m.height {
            for (k, &word) in m.row(row).iter().enumerate() {
                let mut w = word;
                while w != 0 {
                    let bit = w.leading_zeros() as i64;
                    w &= !(1u64 << (63 - bit));
                    bitmap.set(gx + k as i64 * 64 + bit, gy + i64::from(row));
                }
            }
        }
    });
}

/// The dot bounds of the ink of one line drawn as `draw_line` would, as
/// `(left, top, right, bottom)`, or `None` for a line with no ink. Tests use it to check that
/// text stays inside its box.
pub fn ink_bounds(
    font: &FontRef<'static>,
    x: f32,
    baseline: f32,
    text: &str,
    em_px: f32,
    bold: bool,
) -> Option<(f32, f32, f32, f32)> {
    let mut bounds: Option<(f32, f32, f32, f32)> = None;
    for_each_glyph(font, x, baseline, text, em_px, bold, |gx, gy, m| {
        let next = (
            gx as f32,
            gy as f32,
            (gx + i64::from(m.width)) as f32,
            (gy + i64::from(m.height)) as f32,
        );
        bounds = Some(match bounds {
            None => next,
            Some(a) => (
                a.0.min(next.0),
                a.1.min(next.1),
                a.2.max(next.2),
                a.3.max(next.3),
            ),
        });
    });
    bounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subset_covers_what_labels_print() {
        let font = face().expect("the embedded font parses");
        let m = Metrics::new(font);
        let sample = "김민지 서울특별시 강남구 테헤란로 123, 4층 롯데택배 뷁 \
                      张伟 北京市朝阳区建国路88号 顺丰速运 收件人 寄件人 ㈜ ₩1,000 「」，。！？：；";
        let missing: Vec<char> = sample.chars().filter(|&c| !m.covers(c)).collect();
        assert!(missing.is_empty(), "missing glyphs: {missing:?}");
        // Every Hangul syllable is in the subset.
        let hangul_missing = (0xAC00u32..=0xD7A3)
            .filter_map(char::from_u32)
            .filter(|&c| !m.covers(c))
            .count();
        assert_eq!(hangul_missing, 0);
        // A full-width ideograph is one em wide; a Latin digit about half.
        assert!((m.advance('张') - 1.0).abs() < 0.01);
        assert!(m.advance('1') > 0.4 && m.advance('1') < 0.7);
    }

    #[test]
    fn the_pdf_fonts_direct_table_maps_like_the_fonts_own_cmap() {
        let mut warnings = Vec::new();
        let original = printpdf::ParsedFont::from_bytes(FONT_BYTES, 0, &mut warnings).unwrap();
        let direct = pdf_font().unwrap();
        let mut mapped = 0;
        for u in 0u32..0x1_0000 {
            let ours = direct.lookup_glyph_index(u);
            match original.lookup_glyph_index(u) {
                Some(gid) if gid != 0 => {
                    assert_eq!(ours, Some(gid), "U+{u:04X}");
                    mapped += 1;
                }
                // Unmapped stays unmapped, or is the .notdef glyph the encoder falls back to.
                _ => assert!(matches!(ours, None | Some(0)), "U+{u:04X}: {ours:?}"),
            }
        }
        // Latin, every Hangul syllable (11,172) and GB2312's hanzi (6,763) at least.
        assert!(mapped > 18_000, "{mapped}");
        assert_eq!(direct.lookup_glyph_index(0x1F600), None);
    }

    #[test]
    fn text_is_drawn_at_the_requested_size() {
        let font = face().expect("font");
        let mut bitmap = Bitmap::new(200, 60);
        draw_line(font, &mut bitmap, 5.0, 45.0, "张伟", 40.0, false);
        let (l, t, r, b) = bitmap.ink_bounds().expect("some ink");
        // Two ideographs at a 40-dot em are a little under 80 dots wide and 35 tall.
        assert!(r - l > 60 && r - l <= 80, "width {}", r - l);
        assert!(b - t > 28 && b - t <= 40, "height {}", b - t);
    }
}
