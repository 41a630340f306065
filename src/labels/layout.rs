//! Pure layout: a template and its data become positioned items in printer dots.
//!
//! Everything that decides where ink goes happens here, once, so the ZPL, TSPL, PDF and PNG
//! renderers only translate items into their own commands and cannot disagree about line
//! breaks or barcode sizes. Text that does not fit its box shrinks (down to its minimum
//! size) and wraps (up to its line limit), preferring a slightly smaller size on fewer lines
//! to a break; if it still does not fit, it is cut with an ellipsis and marked `truncated`.
//! It never overflows its box. A document with a table becomes as many pages as its rows
//! need, each page repeating the other elements, once per copy. No I/O happens here; the
//! font used for measuring is compiled into the binary.

use std::cmp::Ordering;

use serde_json::Value;

use super::barcode::{self, CodeSet, Symbology};
use super::font::{self, Metrics, BASELINE};
use super::raster::Bitmap;
use super::template::{
    is_present_in, Align, BarcodeSpec, Element, ElementKind, ElementRef, OnPage, QrEcc, QrSpec,
    Scope, TableSpec, Template, TextStyle, VAlign, Walk, CELL_PAD_MM, LINE_HEIGHT,
};
use super::LabelError;

/// The narrowest barcode module allowed, in millimetres; narrower bars do not scan reliably
/// off a thermal print.
pub const MIN_MODULE_MM: f32 = 0.25;

/// QR quiet zone on each side, in modules, kept inside the element's box.
const QR_QUIET: u32 = 4;

/// Data Matrix quiet zone on each side, in modules (the standard asks for one).
const DM_QUIET: u32 = 2;

/// The largest QR magnification ZPL's `^BQ` accepts.
const QR_MAX_MODULE: u32 = 10;

/// Gap between barcode bars and their human-readable line, in millimetres.
const HR_GAP_MM: f32 = 0.8;

/// Thickness of the rule under a table's header and rows, in millimetres.
const TABLE_RULE_MM: f32 = 0.25;

/// Step by which text shrinks while looking for a size that fits, in dots.
const SHRINK_STEP_PX: f32 = 0.5;

/// Text stays on fewer lines if that keeps at least this fraction of the size more lines
/// would allow.
const SHRINK_BEFORE_WRAP: f32 = 0.9;

/// A laid-out label or page: its size in dots and what to draw.
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

    /// Every text block, in drawing order.
    pub fn texts(&self) -> impl Iterator<Item = &TextBlock> {
        self.items.iter().filter_map(|item| match item {
            Item::Text(t) => Some(t),
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
    Barcode(Bars),
    Qr(QrBlock),
    Matrix(MatrixBlock),
    /// A solid rectangle (lines and filled boxes).
    Fill(DotRect),
    /// A rectangle outline with a stroke of `thickness` dots, drawn inside `rect`.
    Frame {
        rect: DotRect,
        thickness: u32,
    },
    /// Ready dots at a position: what a stored ZPL job's graphics replay as.
    Graphic {
        x: u32,
        y: u32,
        bitmap: Bitmap,
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
    /// White text on the box filled black.
    pub reverse: bool,
    pub align: Align,
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

/// A linear barcode placed on the label.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub element: ElementRef,
    /// The element's box, quiet zones and human-readable line included.
    pub area: DotRect,
    pub symbology: Symbology,
    /// The data as encoded (an EAN-13 or ITF-14 with its check digit).
    pub data: String,
    /// The Code 128 set, for Code 128.
    pub set: Option<CodeSet>,
    /// Left edge of the first bar (the quiet zone lies to its left, inside the box).
    pub x: u32,
    pub y: u32,
    /// Module (narrowest bar) width in dots; a wide bar is `barcode::WIDE` modules.
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
}

impl QrBlock {
    /// The symbol's modules, row by row. Computed when asked for: the printers encode QR
    /// codes themselves, so ZPL and TSPL jobs never need them.
    pub fn dark(&self) -> Vec<bool> {
        barcode::qr_modules(&self.data, self.ecc)
            .map(|(_, dark)| dark)
            .unwrap_or_default()
    }
}

/// A Data Matrix symbol placed on the label.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixBlock {
    pub element: ElementRef,
    pub data: String,
    pub x: u32,
    pub y: u32,
    /// Module size in dots.
    pub module: u32,
    pub columns: usize,
    pub rows: usize,
    pub dark: Vec<bool>,
}

impl MatrixBlock {
    /// The symbol as a bitmap of dots (how ZPL and TSPL receive it).
    pub fn bitmap(&self) -> Bitmap {
        let m = self.module;
        let mut bitmap = Bitmap::new(self.columns as u32 * m, self.rows as u32 * m);
        for row in 0..self.rows {
            for col in 0..self.columns {
                if self.dark[row * self.columns + col] {
                    bitmap.fill(col as u32 * m, row as u32 * m, m, m);
                }
            }
        }
        bitmap
    }
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

/// Lays a template out for `data` at `dpi` dots per inch: the first page of the first copy,
/// which for a label is the whole label. Documents use `layout_pages`.
pub fn layout(t: &Template, data: &Value, dpi: u32) -> Result<Layout, LabelError> {
    let mut pages = layout_pages(t, data, dpi)?;
    Ok(pages.swap_remove(0))
}

/// Lays a template out as every page it needs: a table's rows continue onto as many pages
/// as they fill, every page repeats the other elements, and the whole is drawn once per copy.
pub fn layout_pages(t: &Template, data: &Value, dpi: u32) -> Result<Vec<Layout>, LabelError> {
    let dots = Dots(dpi as f32 / 25.4);
    let metrics = Metrics::new(font::face()?);
    let root = Scope::root(data);
    let fail = |e: &Element, problem: String| LabelError::Render {
        file: t.file.clone(),
        element: ElementRef::of(e),
        problem,
    };
    // The table (at most one) decides the page count.
    let table = t.elements.iter().find_map(|e| match &e.kind {
        ElementKind::Table(spec) if drawn(e, &root) => Some((e, spec)),
        _ => None,
    });
    let (rows, per_page) = match table {
        None => (Vec::new(), 1),
        Some((e, spec)) => {
            let rows = table_rows(spec, &root).map_err(|p| fail(e, p))?;
            let header = if spec.header { spec.row_mm } else { 0.0 };
            let per_page = (((e.h_mm - header) + 0.01) / spec.row_mm).floor().max(1.0) as usize;
            (rows, per_page)
        }
    };
    let pages = rows.len().div_ceil(per_page).max(1);
    let copies: Vec<&str> = if t.copies.is_empty() {
        vec![""]
    } else {
        t.copies.iter().map(String::as_str).collect()
    };
    let mut out = Vec::with_capacity(pages * copies.len());
    for copy in copies {
        for page in 1..=pages {
            let scope = Scope {
                page,
                pages,
                copy,
                ..root.clone()
            };
            let mut items = Vec::new();
            for e in &t.elements {
                let on_this_page = match e.on_page {
                    OnPage::All => true,
                    OnPage::First => page == 1,
                    OnPage::Last => page == pages,
                };
                if !on_this_page || !drawn(e, &scope) {
                    continue;
                }
                let chunk = if matches!(e.kind, ElementKind::Table(_)) {
                    let start = (page - 1) * per_page;
                    &rows[start.min(rows.len())..(start + per_page).min(rows.len())]
                } else {
                    &[]
                };
                element(&metrics, e, &scope, chunk, dots, &mut items).map_err(|p| fail(e, p))?;
            }
            out.push(Layout {
                dpi,
                width: dots.of(t.width_mm),
                height: dots.of(t.height_mm),
                items,
            });
        }
    }
    Ok(out)
}

/// Whether an element's `if` and `unless` let it be drawn.
fn drawn(e: &Element, scope: &Scope) -> bool {
    e.condition.as_ref().is_none_or(|c| is_present_in(scope, c))
        && e.unless.as_ref().is_none_or(|c| !is_present_in(scope, c))
}

/// A table row: its item and its 1-based number in the sorted order.
type Row<'a> = (usize, &'a Value);

/// The table's rows, sorted as it asks.
fn table_rows<'a>(spec: &TableSpec, scope: &Scope<'a>) -> Result<Vec<Row<'a>>, String> {
    let items: &'a [Value] = match spec.rows.resolve(scope) {
        None => return Err(format!("the data has no field `{}`", spec.rows)),
        Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => return Err(format!("field `{}` is not an array", spec.rows)),
    };
    let mut rows: Vec<&'a Value> = items.iter().collect();
    if !spec.sort.is_empty() {
        let key = |v: &Value| -> Vec<String> {
            spec.sort
                .iter()
                .map(|p| match p.lookup(v) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                })
                .collect()
        };
        rows.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            ka.iter()
                .zip(&kb)
                .enumerate()
                .map(|(i, (x, y))| {
                    if i == 0 && spec.walk == Walk::Serpentine {
                        serpentine_cmp(x, y)
                    } else {
                        natural_cmp(x, y)
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i + 1, v))
        .collect())
}

/// Compares strings with runs of digits compared as numbers: `A-2` < `A-10`.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    if a.is_empty() || b.is_empty() {
        return a.cmp(b);
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for ((da, sa), (db, sb)) in ca.iter().zip(&cb) {
        let o = if *da && *db {
            let (ta, tb) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            sa.cmp(sb)
        };
        if o.is_ne() {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// Compares locations `zone-aisle-bay-level…` in a serpentine walk: by zone and aisle, then
/// by bay ascending in odd aisles and descending in even ones, then by the rest.
pub fn serpentine_cmp(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    };
    let (pa, pb) = (parts(a), parts(b));
    let get = |p: &[String], i: usize| p.get(i).cloned().unwrap_or_default();
    for i in 0..2 {
        let o = natural_cmp(&get(&pa, i), &get(&pb, i));
        if o.is_ne() {
            return o;
        }
    }
    let aisle: u64 = get(&pa, 1)
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(1);
    let bay = natural_cmp(&get(&pa, 2), &get(&pb, 2));
    let bay = if aisle.is_multiple_of(2) {
        bay.reverse()
    } else {
        bay
    };
    bay.then_with(|| natural_cmp(a, b))
}

/// Lays out one element (a table: the given rows) in a scope.
fn element(
    metrics: &Metrics,
    e: &Element,
    scope: &Scope,
    rows: &[Row],
    dots: Dots,
    items: &mut Vec<Item>,
) -> Result<(), String> {
    let at = ElementRef::of(e);
    let area = dots.rect(e.x_mm, e.y_mm, e.w_mm, e.h_mm);
    match &e.kind {
        ElementKind::Text(spec) => {
            let text = spec.value.fill_in(scope)?;
            items.push(Item::Text(fit_text(
                metrics,
                at,
                area,
                &text,
                &spec.style,
                dots,
            )));
        }
        ElementKind::Barcode(spec) => {
            let value = spec.value.fill_in(scope)?;
            linear(metrics, at, area, &value, spec, dots, items)?;
        }
        ElementKind::Qr(spec) => {
            let value = spec.value.fill_in(scope)?;
            items.push(Item::Qr(qr(at, area, &value, spec, dots)?));
        }
        ElementKind::DataMatrix(spec) => {
            let value = spec.value.fill_in(scope)?;
            items.push(Item::Matrix(datamatrix(at, area, &value, dots)?));
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
        ElementKind::Table(spec) => table(metrics, e, spec, scope, rows, dots, items)?,
    }
    Ok(())
}

/// Draws a table's header and rows: each cell is a text box inside its column, padded left
/// and right, with a thin rule under the header and (if asked) under every row.
fn table(
    metrics: &Metrics,
    e: &Element,
    spec: &TableSpec,
    scope: &Scope,
    rows: &[Row],
    dots: Dots,
    items: &mut Vec<Item>,
) -> Result<(), String> {
    let rule = dots.of(TABLE_RULE_MM).max(1);
    let cell = |col: usize, y_mm: f32| -> DotRect {
        let x_mm = e.x_mm + spec.columns[..col].iter().map(|c| c.w_mm).sum::<f32>();
        let mut r = dots.rect(
            x_mm + CELL_PAD_MM,
            y_mm,
            spec.columns[col].w_mm - 2.0 * CELL_PAD_MM,
            spec.row_mm,
        );
        r.h = r.h.saturating_sub(rule).max(1);
        r
    };
    let cell_ref = |what: String| ElementRef {
        number: e.number,
        kind: "table".to_string(),
        name: Some(match &e.name {
            Some(n) => format!("{n} {what}"),
            None => what,
        }),
    };
    let full_row = |y_mm: f32| dots.rect(e.x_mm, y_mm, e.w_mm, spec.row_mm);
    let mut y_mm = e.y_mm;
    if spec.header {
        for (i, c) in spec.columns.iter().enumerate() {
            let style = TextStyle {
                bold: true,
                ..c.style.clone()
            };
            items.push(Item::Text(fit_text(
                metrics,
                cell_ref(format!("header {}", i + 1)),
                cell(i, y_mm),
                &c.title,
                &style,
                dots,
            )));
        }
        let r = full_row(y_mm);
        items.push(Item::Fill(DotRect {
            y: r.y + r.h.saturating_sub(rule),
            h: rule,
            ..r
        }));
        y_mm += spec.row_mm;
    }
    for &(n, item) in rows {
        let row_scope = scope.with_item(item, n);
        for (i, c) in spec.columns.iter().enumerate() {
            let text = c
                .value
                .fill_in(&row_scope)
                .map_err(|p| format!("row {n}, column {} ({}): {p}", i + 1, c.title))?;
            items.push(Item::Text(fit_text(
                metrics,
                cell_ref(format!("row {n} column {}", i + 1)),
                cell(i, y_mm),
                &text,
                &c.style,
                dots,
            )));
        }
        if spec.rules {
            let r = full_row(y_mm);
            items.push(Item::Fill(DotRect {
                y: r.y + r.h.saturating_sub(rule),
                h: rule.div_ceil(2),
                ..r
            }));
        }
        y_mm += spec.row_mm;
    }
    Ok(())
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

/// A text's paragraphs split into wrappable pieces once, with each piece's width in em, so
/// that trying many sizes does not split and measure the text again for each.
struct Measured {
    space: f32,
    paragraphs: Vec<Vec<(Piece, f32)>>,
}

impl Measured {
    fn new(m: &Metrics, text: &str) -> Measured {
        Measured {
            space: m.advance(' '),
            paragraphs: text
                .split('\n')
                .map(|p| {
                    pieces(p)
                        .into_iter()
                        .map(|piece| {
                            let w = m.width(&piece.text);
                            (piece, w)
                        })
                        .collect()
                })
                .collect(),
        }
    }

    /// Whether `wrap(m, text, max_em, max_lines)` would succeed: the same greedy filling,
    /// step for step and with the same arithmetic, counting lines instead of making them.
    fn fits(&self, m: &Metrics, max_em: f32, max_lines: usize) -> bool {
        let mut lines = 0usize;
        for paragraph in &self.paragraphs {
            let mut empty = true;
            let mut width = 0.0f32;
            for (piece, w) in paragraph {
                let w = *w;
                let gap_count = if empty { 0 } else { piece.spaces };
                let gap = gap_count as f32 * self.space;
                if width + gap + w <= max_em {
                    width += gap + w;
                    empty = false;
                    continue;
                }
                if !empty {
                    lines += 1;
                    width = 0.0;
                    empty = true;
                }
                for c in piece.text.chars() {
                    let cw = m.advance(c);
                    if width + cw > max_em && !empty {
                        lines += 1;
                        width = 0.0;
                    }
                    empty = false;
                    width += cw;
                }
                if lines > max_lines {
                    return false;
                }
            }
            lines += 1;
            if lines > max_lines {
                return false;
            }
        }
        true
    }
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
    // The text is split and measured once; each size tried only counts lines, and the lines
    // themselves are made once, for the size chosen.
    let measured = Measured::new(m, &text);
    let largest_fit = |lines: usize| -> Option<(f32, usize)> {
        let mut em = max_px;
        while em >= min_px - 1e-3 {
            if lines as f32 * LINE_HEIGHT * em <= h + 1e-3 {
                let max_em = (w - bold_extra(em)) / em;
                if measured.fits(m, max_em, lines) {
                    return Some((em, lines));
                }
            }
            em -= SHRINK_STEP_PX;
        }
        None
    };
    let fits: Vec<(f32, usize)> = (1..=spec.max_lines as usize)
        .filter_map(largest_fit)
        .collect();
    // Shrink before wrapping: take the fewest lines whose size is close to the best size, so
    // a long name prints a little smaller on one line rather than breaking in two.
    let best = fits.iter().map(|(em, _)| *em).fold(0.0, f32::max);
    let chosen = fits
        .into_iter()
        .find(|(em, _)| *em >= best * SHRINK_BEFORE_WRAP)
        .and_then(|(em, lines)| {
            let max_em = (w - bold_extra(em)) / em;
            wrap(m, &text, max_em, lines).map(|found| (em, found))
        });
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
        reverse: spec.reverse,
        align: spec.align,
        lines,
        shrunk: em < max_px - 1e-3,
        truncated,
        missing_glyphs,
    }
}

fn linear(
    m: &Metrics,
    element: ElementRef,
    area: DotRect,
    value: &str,
    spec: &BarcodeSpec,
    dots: Dots,
    items: &mut Vec<Item>,
) -> Result<(), String> {
    let symbol = barcode::linear(spec.symbology, value)?;
    let quiet = spec.symbology.quiet_zone();
    let total = symbol.modules.len() as u32 + 2 * quiet;
    let module = area.w / total;
    let min_module = dots.of(MIN_MODULE_MM).max(1);
    if module < min_module {
        return Err(format!(
            "{} of `{}` needs {:.1} mm at the {MIN_MODULE_MM} mm module; the box is {:.1} mm wide",
            spec.symbology,
            symbol.data,
            (total * min_module) as f32 / dots.0,
            area.w as f32 / dots.0
        ));
    }
    let text_h = spec
        .text_size_mm
        .map(|s| dots.of(s * LINE_HEIGHT + HR_GAP_MM))
        .unwrap_or(0);
    let bar_height = area.h.saturating_sub(text_h).max(1);
    let width = symbol.modules.len() as u32 * module;
    let x = area.x + (area.w - width) / 2;
    items.push(Item::Barcode(Bars {
        element: element.clone(),
        area,
        symbology: spec.symbology,
        data: symbol.data.clone(),
        set: symbol.set,
        x,
        y: area.y,
        module,
        bar_height,
        modules: symbol.modules,
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
            reverse: false,
        };
        items.push(Item::Text(fit_text(
            m,
            element,
            text_area,
            &symbol.data,
            &style,
            dots,
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
    let size = barcode::qr_size(value, spec.ecc)?;
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
    })
}

fn datamatrix(
    element: ElementRef,
    area: DotRect,
    value: &str,
    dots: Dots,
) -> Result<MatrixBlock, String> {
    let (columns, rows, dark) = barcode::datamatrix_modules(value)?;
    let across = (columns.max(rows)) as u32 + 2 * DM_QUIET;
    let module = area.w.min(area.h) / across;
    let min_module = dots.of(MIN_MODULE_MM).max(1);
    if module < min_module {
        return Err(format!(
            "a Data Matrix of {columns} modules needs a {:.1} mm square at the {MIN_MODULE_MM} mm module; the box is {:.1} mm",
            (across * min_module) as f32 / dots.0,
            area.w.min(area.h) as f32 / dots.0
        ));
    }
    Ok(MatrixBlock {
        element,
        data: value.to_string(),
        x: area.x + (area.w - columns as u32 * module) / 2,
        y: area.y + (area.h - rows as u32 * module) / 2,
        module,
        columns,
        rows,
        dark,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_lines_agrees_with_wrapping() {
        let m = Metrics::new(font::face().expect("font"));
        let texts = [
            "서울특별시 강남구 테헤란로 123, 4층",
            "품목  티셔츠 L 화이트 x2; 양말 x1; 후드티 XL 네이비 x1; 모자 프리 블랙 x3",
            "남궁민수아버지와어머니의긴이름",
            "北京市朝阳区建国路88号（国贸大厦）「收件人」",
            "first line\n\nthird   line with  spaces",
            "",
        ];
        for text in texts {
            let measured = Measured::new(&m, text);
            for tenth in 5..400 {
                let max_em = tenth as f32 / 10.0;
                for lines in 1..=4 {
                    assert_eq!(
                        measured.fits(&m, max_em, lines),
                        wrap(&m, text, max_em, lines).is_some(),
                        "{text:?} in {max_em} em on {lines} lines"
                    );
                }
            }
        }
    }
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
        assert!(matches!(ok.items[0], Item::Barcode(Bars { module: 2, .. })));
        let err = layout(&t, &json!({"v": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}), 203)
            .expect_err("too long")
            .to_string();
        assert!(
            err.contains("element #1 (code128)") && err.contains("needs"),
            "{err}"
        );
    }
}
