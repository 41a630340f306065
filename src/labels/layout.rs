//! Pure layout: a template and its data become positioned items in printer dots.
//!
//! Everything that decides where ink goes happens here, once, so the ZPL, PDF and PNG
//! renderers only translate items into their own commands and cannot disagree about line
//! breaks or barcode sizes. Text that does not fit its box shrinks (down to its minimum
//! size) and wraps (up to its line limit), preferring a slightly smaller size on fewer lines
//! to a break; if it still does not fit, it is cut with an ellipsis and marked `truncated`.
//! It never overflows its box. No I/O happens here; the font
//! used for measuring is compiled into the binary.

use serde_json::Value;

use super::barcode::{self, CodeSet};
use super::font::{self, Metrics, BASELINE};
use super::template::{
    is_present, Align, Code128Spec, ElementKind, ElementRef, QrEcc, QrSpec, Template, TextStyle,
    VAlign, LINE_HEIGHT,
};
use super::LabelError;

/// The narrowest barcode module allowed, in millimetres; narrower bars do not scan reliably
/// off a thermal print.
pub const MIN_MODULE_MM: f32 = 0.25;

/// Code 128 quiet zone on each side, in modules, kept inside the element's box.
const CODE128_QUIET: u32 = 10;

/// QR quiet zone on each side, in modules, kept inside the element's box.
const QR_QUIET: u32 = 4;

/// The largest QR magnification ZPL's `^BQ` accepts.
const QR_MAX_MODULE: u32 = 10;

/// Gap between Code 128 bars and their human-readable line, in millimetres.
const HR_GAP_MM: f32 = 0.8;

/// Step by which text shrinks while looking for a size that fits, in dots.
const SHRINK_STEP_PX: f32 = 0.5;

/// Text stays on fewer lines if that keeps at least this fraction of the size more lines
/// would allow.
const SHRINK_BEFORE_WRAP: f32 = 0.9;

/// A laid-out label: its size in dots and what to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub dpi: u32,
    pub width: u32,
    pub height: u32,
    pub items: Vec<Item>,
}

impl Layout {
    pub fn dots_per_mm(&self) -> f32 {
        self.dpi as f32 / 25.4
    }

    /// The text block laid out for the named element, if it was drawn.
    pub fn text(&self, name: &str) -> Option<&TextBlock> {
        self.items.iter().find_map(|item| match item {
            Item::Text(t) if t.element.name.as_deref() == Some(name) => Some(t),
            _ => None,
        })
    }
}

/// A rectangle in dots, top-left origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DotRect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// One thing to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Text(TextBlock),
    Code128(Bars),
    Qr(QrBlock),
    /// A solid rectangle (lines and filled boxes).
    Fill(DotRect),
    /// A rectangle outline with a stroke of `thickness` dots, drawn inside `rect`.
    Frame {
        rect: DotRect,
        thickness: u32,
    },
}

/// Text fitted into its box.
#[derive(Debug, Clone, PartialEq)]
pub struct TextBlock {
    pub element: ElementRef,
    /// The element's box; every line lies inside it.
    pub area: DotRect,
    /// The font size chosen, in dots per em.
    pub em_px: f32,
    pub bold: bool,
    pub lines: Vec<TextLine>,
    /// Whether the text was made smaller than the template asked for.
    pub shrunk: bool,
    /// Whether text was cut off (with an ellipsis) because even the minimum size overflowed.
    pub truncated: bool,
    /// Characters the font has no glyph for; they print as an empty box.
    pub missing_glyphs: Vec<char>,
}

/// One line of text: its pen start and baseline in label dots, and its advance width.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub x: f32,
    pub baseline: f32,
    pub width: f32,
}

impl TextBlock {
    /// The box a line occupies: `(left, top, right, bottom)` in dots.
    pub fn line_box(&self, line: &TextLine) -> (f32, f32, f32, f32) {
        let top = line.baseline - BASELINE * self.em_px;
        (
            line.x,
            top,
            line.x + line.width,
            top + LINE_HEIGHT * self.em_px,
        )
    }
}

/// A Code 128 symbol placed on the label.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub element: ElementRef,
    /// The element's box, quiet zones and human-readable line included.
    pub area: DotRect,
    pub data: String,
    pub set: CodeSet,
    /// Left edge of the first bar (the quiet zone lies to its left, inside the box).
    pub x: u32,
    pub y: u32,
    /// Module (narrowest bar) width in dots.
    pub module: u32,
    pub bar_height: u32,
    pub modules: Vec<bool>,
}

/// A QR symbol placed on the label.
#[derive(Debug, Clone, PartialEq)]
pub struct QrBlock {
    pub element: ElementRef,
    pub data: String,
    pub ecc: QrEcc,
    pub x: u32,
    pub y: u32,
    /// Module size in dots.
    pub module: u32,
    /// Modules per side.
    pub size: usize,
    pub dark: Vec<bool>,
}

/// Converts template millimetres to dots at a given resolution.
#[derive(Debug, Clone, Copy)]
struct Dots(f32);

impl Dots {
    fn of(self, mm: f32) -> u32 {
        (mm * self.0).round().max(0.0) as u32
    }

    fn rect(self, x: f32, y: f32, w: f32, h: f32) -> DotRect {
        let (x0, y0) = (self.of(x), self.of(y));
        DotRect {
            x: x0,
            y: y0,
            w: self.of(x + w).saturating_sub(x0).max(1),
            h: self.of(y + h).saturating_sub(y0).max(1),
        }
    }
}

/// Lays a template out for `data` at `dpi` dots per inch.
pub fn layout(t: &Template, data: &Value, dpi: u32) -> Result<Layout, LabelError> {
    let dots = Dots(dpi as f32 / 25.4);
    let metrics = Metrics::new(font::face()?);
    let mut items = Vec::new();
    for e in &t.elements {
        if let Some(cond) = &e.condition {
            if !is_present(data, cond) {
                continue;
            }
        }
        let at = ElementRef::of(e);
        let fail = |problem: String| LabelError::Render {
            file: t.file.clone(),
            element: at.clone(),
            problem,
        };
        let area = dots.rect(e.x_mm, e.y_mm, e.w_mm, e.h_mm);
        match &e.kind {
            ElementKind::Text(spec) => {
                let text = spec.value.fill(data).map_err(fail)?;
                items.push(Item::Text(fit_text(
                    &metrics,
                    at.clone(),
                    area,
                    &text,
                    &spec.style,
                    dots,
                )));
            }
            ElementKind::Code128(spec) => {
                let value = spec.value.fill(data).map_err(fail)?;
                code128(&metrics, at.clone(), area, &value, spec, dots, &mut items)
                    .map_err(fail)?;
            }
            ElementKind::Qr(spec) => {
                let value = spec.value.fill(data).map_err(fail)?;
                items.push(Item::Qr(
                    qr(at.clone(), area, &value, spec, dots).map_err(fail)?,
                ));
            }
            ElementKind::Line => items.push(Item::Fill(area)),
            ElementKind::Box { thickness_mm, fill } => {
                if *fill {
                    items.push(Item::Fill(area));
                } else {
                    items.push(Item::Frame {
                        rect: area,
                        thickness: dots.of(*thickness_mm).max(1),
                    });
                }
            }
        }
    }
    Ok(Layout {
        dpi,
        width: dots.of(t.width_mm),
        height: dots.of(t.height_mm),
        items,
    })
}

/// Whether a break is allowed between two adjacent characters of a word. Ideographs and
/// kana break anywhere, except before closing and after opening punctuation; Hangul and
/// Latin break only at spaces (Korean is written with spaces between words).
fn break_between(a: char, b: char) -> bool {
    let ideographic = |c: char| {
        matches!(c as u32,
            0x2E80..=0x2FFF | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
    };
    let closing = |c: char| {
        matches!(
            c,
            '，' | '。'
                | '、'
                | '）'
                | '」'
                | '』'
                | '！'
                | '？'
                | '：'
                | '；'
                | '》'
                | '〉'
                | '】'
                | ','
                | '.'
                | ')'
                | ']'
                | '!'
                | '?'
                | ':'
                | ';'
                | '’'
                | '”'
                | '…'
                | '·'
        )
    };
    let opening = |c: char| {
        matches!(
            c,
            '（' | '「' | '『' | '《' | '〈' | '【' | '(' | '[' | '‘' | '“'
        )
    };
    (ideographic(a) || ideographic(b)) && !closing(b) && !opening(a)
}

/// A wrappable piece of a paragraph: its text and how many spaces separate it from the
/// piece before (kept, because templates use double spaces to set a label off its value).
struct Piece {
    text: String,
    spaces: usize,
}

fn pieces(paragraph: &str) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut current = String::new();
    let mut spaces = 0;
    let mut prev: Option<char> = None;
    for c in paragraph.chars() {
        if c.is_whitespace() {
            if !current.is_empty() {
                out.push(Piece {
                    text: std::mem::take(&mut current),
                    spaces,
                });
                spaces = 0;
            }
            spaces += 1;
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            if break_between(p, c) {
                out.push(Piece {
                    text: std::mem::take(&mut current),
                    spaces,
                });
                spaces = 0;
            }
        }
        current.push(c);
        prev = Some(c);
    }
    if !current.is_empty() {
        out.push(Piece {
            text: current,
            spaces,
        });
    }
    out
}

/// Greedy line filling in em units. Returns the lines, or `None` as soon as more than
/// `max_lines` would be needed.
fn wrap(m: &Metrics, text: &str, max_em: f32, max_lines: usize) -> Option<Vec<String>> {
    let space = m.advance(' ');
    let mut lines: Vec<String> = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut width = 0.0f32;
        for piece in pieces(paragraph) {
            let w = m.width(&piece.text);
            let gap_count = if line.is_empty() { 0 } else { piece.spaces };
            let gap = gap_count as f32 * space;
            if width + gap + w <= max_em {
                line.extend(std::iter::repeat_n(' ', gap_count));
                line.push_str(&piece.text);
                width += gap + w;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                width = 0.0;
            }
            // The piece starts a new line; a piece wider than a line is split by character.
            for c in piece.text.chars() {
                let cw = m.advance(c);
                if width + cw > max_em && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    width = 0.0;
                }
                line.push(c);
                width += cw;
            }
            if lines.len() > max_lines {
                return None;
            }
        }
        lines.push(line);
        if lines.len() > max_lines {
            return None;
        }
    }
    Some(lines)
}

/// Cuts `line` so that it plus an ellipsis fits in `max_em`.
fn with_ellipsis(m: &Metrics, line: &str, max_em: f32) -> String {
    let mut chars: Vec<char> = line.trim_end().chars().collect();
    loop {
        let candidate: String = chars.iter().collect::<String>() + "…";
        if m.width(&candidate) <= max_em || chars.is_empty() {
            return candidate;
        }
        chars.pop();
    }
}

fn fit_text(
    m: &Metrics,
    element: ElementRef,
    area: DotRect,
    text: &str,
    spec: &TextStyle,
    dots: Dots,
) -> TextBlock {
    let max_px = spec.size_mm * dots.0;
    let min_px = spec.min_size_mm * dots.0;
    let (w, h) = (area.w as f32, area.h as f32);
    let text = text.replace("\r\n", "\n").replace(['\r', '\t'], " ");
    let missing_glyphs: Vec<char> = {
        let mut v: Vec<char> = text
            .chars()
            .filter(|&c| c != '\n' && !m.covers(c))
            .collect();
        v.dedup();
        v
    };
    let bold_extra = |em: f32| {
        if spec.bold {
            font::bold_offset(em)
        } else {
            0.0
        }
    };

    // For each line count, find the largest size at which the text fits in that many lines
    // and in the box's height, trying sizes from the largest down. Faux bold widens each
    // line, so its extra width is taken off the measure.
    let largest_fit = |lines: usize| -> Option<(f32, Vec<String>)> {
        let mut em = max_px;
        while em >= min_px - 1e-3 {
            if lines as f32 * LINE_HEIGHT * em <= h + 1e-3 {
                let max_em = (w - bold_extra(em)) / em;
                if let Some(found) = wrap(m, &text, max_em, lines) {
                    return Some((em, found));
                }
            }
            em -= SHRINK_STEP_PX;
        }
        None
    };
    let fits: Vec<(f32, Vec<String>)> = (1..=spec.max_lines as usize)
        .filter_map(largest_fit)
        .collect();
    // Shrink before wrapping: take the fewest lines whose size is close to the best size, so
    // a long name prints a little smaller on one line rather than breaking in two.
    let best = fits.iter().map(|(em, _)| *em).fold(0.0, f32::max);
    let chosen = fits
        .into_iter()
        .find(|(em, _)| *em >= best * SHRINK_BEFORE_WRAP);
    let mut truncated = false;
    let (em, lines) = match chosen {
        Some(found) => found,
        None => {
            // Nothing fits even at the minimum size: keep what fits and mark the cut.
            let em = min_px.min(h / LINE_HEIGHT);
            let allowed = (((h + 1e-3) / (LINE_HEIGHT * em)).floor() as usize)
                .clamp(1, spec.max_lines as usize);
            let max_em = (w - bold_extra(em)) / em;
            let mut lines = wrap(m, &text, max_em, usize::MAX).unwrap_or_default();
            if lines.len() > allowed {
                lines.truncate(allowed);
                truncated = true;
            }
            if let Some(last) = lines.last_mut() {
                if truncated || m.width(last) > max_em {
                    *last = with_ellipsis(m, last, max_em);
                    truncated = true;
                }
            }
            (em, lines)
        }
    };

    let block_h = lines.len() as f32 * LINE_HEIGHT * em;
    let top = area.y as f32
        + match spec.valign {
            VAlign::Top => 0.0,
            VAlign::Middle => ((h - block_h) / 2.0).max(0.0),
            VAlign::Bottom => (h - block_h).max(0.0),
        };
    let lines = lines
        .into_iter()
        .enumerate()
        .filter(|(_, s)| !s.is_empty())
        .map(|(i, s)| {
            let width = m.width(&s) * em + bold_extra(em);
            let x = area.x as f32
                + match spec.align {
                    Align::Left => 0.0,
                    Align::Center => ((w - width) / 2.0).max(0.0),
                    Align::Right => (w - width).max(0.0),
                };
            TextLine {
                text: s,
                x,
                baseline: top + (i as f32 * LINE_HEIGHT + BASELINE) * em,
                width,
            }
        })
        .collect();
    TextBlock {
        element,
        area,
        em_px: em,
        bold: spec.bold,
        lines,
        shrunk: em < max_px - 1e-3,
        truncated,
        missing_glyphs,
    }
}

fn code128(
    m: &Metrics,
    element: ElementRef,
    area: DotRect,
    value: &str,
    spec: &Code128Spec,
    dots: Dots,
    items: &mut Vec<Item>,
) -> Result<(), String> {
    let (set, modules) = barcode::code128_modules(value)?;
    let total = modules.len() as u32 + 2 * CODE128_QUIET;
    let module = area.w / total;
    let min_module = dots.of(MIN_MODULE_MM).max(1);
    if module < min_module {
        return Err(format!(
            "Code 128 of `{value}` needs {:.1} mm at the {MIN_MODULE_MM} mm module; the box is {:.1} mm wide",
            (total * min_module) as f32 / dots.0,
            area.w as f32 / dots.0
        ));
    }
    let text_h = spec
        .text_size_mm
        .map(|s| dots.of(s * LINE_HEIGHT + HR_GAP_MM))
        .unwrap_or(0);
    let bar_height = area.h.saturating_sub(text_h).max(1);
    let width = modules.len() as u32 * module;
    let x = area.x + (area.w - width) / 2;
    items.push(Item::Code128(Bars {
        element: element.clone(),
        area,
        data: value.to_string(),
        set,
        x,
        y: area.y,
        module,
        bar_height,
        modules,
    }));
    if let Some(size_mm) = spec.text_size_mm {
        let text_area = DotRect {
            x: area.x,
            y: area.y + bar_height + dots.of(HR_GAP_MM),
            w: area.w,
            h: area
                .h
                .saturating_sub(bar_height + dots.of(HR_GAP_MM))
                .max(1),
        };
        let style = TextStyle {
            size_mm,
            min_size_mm: size_mm.min(2.0),
            bold: false,
            max_lines: 1,
            align: Align::Center,
            valign: VAlign::Top,
        };
        items.push(Item::Text(fit_text(
            m, element, text_area, value, &style, dots,
        )));
    }
    Ok(())
}

fn qr(
    element: ElementRef,
    area: DotRect,
    value: &str,
    spec: &QrSpec,
    dots: Dots,
) -> Result<QrBlock, String> {
    if value.is_empty() {
        return Err("a QR code needs data".to_string());
    }
    let (size, dark) = barcode::qr_modules(value, spec.ecc)?;
    let side = area.w.min(area.h);
    let module = (side / (size as u32 + 2 * QR_QUIET)).min(QR_MAX_MODULE);
    let min_module = dots.of(MIN_MODULE_MM).max(1);
    if module < min_module {
        return Err(format!(
            "a QR code of {size} modules needs a {:.1} mm square at the {MIN_MODULE_MM} mm module; the box is {:.1} mm",
            ((size as u32 + 2 * QR_QUIET) * min_module) as f32 / dots.0,
            side as f32 / dots.0
        ));
    }
    let symbol = size as u32 * module;
    Ok(QrBlock {
        element,
        data: value.to_string(),
        ecc: spec.ecc,
        x: area.x + (area.w - symbol) / 2,
        y: area.y + (area.h - symbol) / 2,
        module,
        size,
        dark,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text_template(w_mm: f32, h_mm: f32, size_mm: f32, max_lines: u32) -> Template {
        Template::parse(
            "t.toml",
            &format!(
                "width_mm = 100\nheight_mm = 100\n[[element]]\nkind = \"text\"\nname = \"t\"\n\
                 x_mm = 5\ny_mm = 5\nw_mm = {w_mm}\nh_mm = {h_mm}\nsize_mm = {size_mm}\n\
                 max_lines = {max_lines}\nvalue = \"{{v}}\"\n"
            ),
        )
        .expect("template")
    }

    fn fit(t: &Template, v: &str) -> TextBlock {
        layout(t, &json!({ "v": v }), 203)
            .expect("layout")
            .text("t")
            .expect("drawn")
            .clone()
    }

    #[test]
    fn short_text_keeps_its_size() {
        let block = fit(&text_template(50.0, 10.0, 5.0, 1), "김민지");
        assert!(!block.shrunk && !block.truncated);
        assert_eq!(block.lines.len(), 1);
        assert!((block.em_px - 5.0 * 203.0 / 25.4).abs() < 0.01);
    }

    #[test]
    fn long_text_shrinks_then_wraps_then_truncates() {
        let one_line = fit(
            &text_template(30.0, 7.0, 5.0, 1),
            "서울특별시 강남구 테헤란로",
        );
        assert!(one_line.shrunk && !one_line.truncated);
        assert_eq!(one_line.lines.len(), 1);

        let wrapped = fit(
            &text_template(30.0, 14.0, 5.0, 3),
            "서울특별시 강남구 테헤란로 123",
        );
        assert!(wrapped.lines.len() > 1);
        // Korean wraps at spaces: no line starts or ends inside a word.
        let joined: Vec<&str> = wrapped.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(joined.join(" "), "서울특별시 강남구 테헤란로 123");

        let cut = fit(&text_template(20.0, 4.0, 3.0, 1), &"가".repeat(60));
        assert!(cut.truncated);
        assert!(cut.lines[0].text.ends_with('…'));
    }

    #[test]
    fn a_little_shrinking_is_preferred_to_a_break() {
        // 15 syllables in a 60 mm box fit one line at 4.0 mm, two lines at 4.4 mm: one line.
        let name = "남궁민수아버지와어머니의긴이름";
        let block = fit(&text_template(60.0, 11.0, 8.0, 2), name);
        assert_eq!(block.lines.len(), 1);
        assert!(block.shrunk && !block.truncated);
        // Much more text than one line can hold at a readable size wraps instead.
        let block = fit(
            &text_template(60.0, 11.0, 8.0, 2),
            &format!("{name} {name}"),
        );
        assert_eq!(block.lines.len(), 2);
    }

    #[test]
    fn chinese_wraps_between_ideographs_but_not_before_closing_punctuation() {
        let block = fit(
            &text_template(22.0, 20.0, 4.0, 4),
            "北京市朝阳区建国路八十八号，现代城小区",
        );
        assert!(block.lines.len() > 1);
        for line in &block.lines {
            assert!(!line.text.starts_with('，'), "{:?}", line.text);
        }
    }

    #[test]
    fn hard_line_breaks_are_kept() {
        let block = fit(&text_template(80.0, 20.0, 4.0, 3), "첫 줄\n둘째 줄");
        let lines: Vec<&str> = block.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(lines, ["첫 줄", "둘째 줄"]);
    }

    #[test]
    fn barcodes_that_do_not_fit_are_errors() {
        let t = Template::parse(
            "t.toml",
            "width_mm = 40\nheight_mm = 20\n[[element]]\nkind = \"code128\"\nx_mm = 0\ny_mm = 0\n\
             w_mm = 40\nh_mm = 15\nvalue = \"{v}\"\n",
        )
        .expect("template");
        let ok = layout(&t, &json!({"v": "600012345671"}), 203).expect("fits");
        assert!(matches!(ok.items[0], Item::Code128(Bars { module: 2, .. })));
        let err = layout(&t, &json!({"v": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}), 203)
            .expect_err("too long")
            .to_string();
        assert!(
            err.contains("element #1 (code128)") && err.contains("needs"),
            "{err}"
        );
    }
}
