//! The label template model and its TOML parser.
//!
//! A template is data, not code: a label size and a list of elements placed in millimetres,
//! whose text comes from `{field.path}` placeholders filled from a JSON document. Parsing is
//! strict (unknown keys and kinds are errors) and every error names the file, the element and
//! the problem, because templates are edited by hand on site and a vague error wastes a
//! technician's afternoon. Parsing and filling do no I/O; `labels::load_template` reads files.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use super::barcode::Symbology;
use super::LabelError;

/// A parsed, validated label template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// The file name the template came from, used in every error message.
    pub file: String,
    /// A human title, for lists of templates.
    pub title: String,
    pub width_mm: f32,
    pub height_mm: f32,
    /// Names of the copies a document is printed in (e.g. the courier's and ours); every
    /// page is drawn once per copy, with `{@copy}` naming it. Empty: one copy.
    pub copies: Vec<String>,
    pub elements: Vec<Element>,
}

/// One element of a template: where it goes, when it is drawn, and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The element's position in the file, counted from 1 as a person reading it would.
    pub number: usize,
    /// An optional name, used in error messages and by tests that look an element up.
    pub name: Option<String>,
    pub x_mm: f32,
    pub y_mm: f32,
    pub w_mm: f32,
    pub h_mm: f32,
    /// Draw the element only when this field is present and non-empty.
    pub condition: Option<FieldPath>,
    /// Draw the element only when this field is absent or empty.
    pub unless: Option<FieldPath>,
    /// On which pages of a multi-page document the element is drawn.
    pub on_page: OnPage,
    pub kind: ElementKind,
}

/// The pages of a document an element appears on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnPage {
    #[default]
    All,
    First,
    Last,
}

/// What an element draws.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementKind {
    Text(TextSpec),
    /// A linear barcode: Code 128, EAN-13, Code 39 or ITF-14.
    Barcode(BarcodeSpec),
    Qr(QrSpec),
    DataMatrix(MatrixSpec),
    /// A filled rectangle: a horizontal or vertical rule, or a solid block.
    Line,
    /// A rectangle outline of the given stroke, or a solid block when `fill` is set.
    Box {
        thickness_mm: f32,
        fill: bool,
    },
    /// Rows drawn from an array of the data, continued onto more pages when they do not fit.
    Table(TableSpec),
}

impl ElementKind {
    /// The `kind` key that selects this variant in a template file.
    pub fn key(&self) -> &'static str {
        match self {
            ElementKind::Text(_) => "text",
            ElementKind::Barcode(b) => b.symbology.key(),
            ElementKind::Qr(_) => "qr",
            ElementKind::DataMatrix(_) => "datamatrix",
            ElementKind::Line => "line",
            ElementKind::Box { .. } => "box",
            ElementKind::Table(_) => "table",
        }
    }
}

/// Horizontal alignment of text lines inside their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

/// Vertical placement of a block of text lines inside their box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum VAlign {
    #[default]
    Top,
    Middle,
    Bottom,
}

/// A text element: what it says and how it is set.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSpec {
    pub value: Pattern,
    pub style: TextStyle,
}

/// How text is set: the font size it would like, the smallest it may shrink to, and how
/// many lines it may wrap onto.
#[derive(Debug, Clone, PartialEq)]
pub struct TextStyle {
    /// The font size (em height) in millimetres: a Hangul syllable or Hanzi is about this
    /// tall, a Latin capital about 0.73 of it.
    pub size_mm: f32,
    pub min_size_mm: f32,
    pub bold: bool,
    pub max_lines: u32,
    pub align: Align,
    pub valign: VAlign,
    /// White text on a black block filling the element's box.
    pub reverse: bool,
}

/// A linear barcode, optionally with its human-readable line underneath.
#[derive(Debug, Clone, PartialEq)]
pub struct BarcodeSpec {
    pub symbology: Symbology,
    pub value: Pattern,
    /// Size of the human-readable line; `None` draws bars only.
    pub text_size_mm: Option<f32>,
}

/// A QR code with its error-correction level.
#[derive(Debug, Clone, PartialEq)]
pub struct QrSpec {
    pub value: Pattern,
    pub ecc: QrEcc,
}

/// A Data Matrix (ECC 200, square).
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSpec {
    pub value: Pattern,
}

/// QR error-correction level, named as ZPL and the QR standard name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum QrEcc {
    L,
    #[default]
    M,
    Q,
    H,
}

impl QrEcc {
    pub fn letter(self) -> char {
        match self {
            QrEcc::L => 'L',
            QrEcc::M => 'M',
            QrEcc::Q => 'Q',
            QrEcc::H => 'H',
        }
    }
}

/// The order a table's rows are printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Walk {
    /// Ascending by the sort keys, numbers inside them compared as numbers (`A-2` before
    /// `A-10`).
    #[default]
    Ascending,
    /// A picker's walk through a warehouse: locations `zone-aisle-bay-...` ascending by zone
    /// and aisle, bays ascending in odd aisles and descending in even ones, so the picker
    /// goes up one aisle and down the next.
    Serpentine,
}

/// A table: one row per item of an array in the data.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    /// The array the rows come from.
    pub rows: FieldPath,
    /// Row fields to sort by, most significant first; empty keeps the data's order.
    pub sort: Vec<FieldPath>,
    pub walk: Walk,
    pub row_mm: f32,
    /// A header row of column titles (repeated on every page).
    pub header: bool,
    /// A thin rule under every row.
    pub rules: bool,
    pub columns: Vec<Column>,
}

/// One column of a table: its title, what each row prints in it, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub title: String,
    pub value: Pattern,
    pub w_mm: f32,
    pub style: TextStyle,
}

/// A dotted path into the JSON data, such as `recipient.name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(Vec<String>);

impl FieldPath {
    /// Parses `a.b.c`; each segment is ASCII letters, digits, `_` or `-`.
    pub fn parse(s: &str) -> Result<FieldPath, String> {
        let segments: Vec<String> = s.trim().split('.').map(str::to_string).collect();
        let valid = |seg: &String| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if segments.iter().all(valid) {
            Ok(FieldPath(segments))
        } else {
            Err(format!(
                "`{s}` is not a field path (expected names joined by dots, e.g. `recipient.name`)"
            ))
        }
    }

    /// The value at this path, or `None` when some segment is missing.
    pub fn lookup<'a>(&self, data: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(data, |v, seg| match v {
            Value::Object(map) => map.get(seg),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
    }

    /// The value at this path in a scope: in the current row or section item first (when it
    /// has the path's first name), then in the whole document.
    pub fn resolve<'a>(&self, scope: &Scope<'a>) -> Option<&'a Value> {
        for item in scope.items.iter().rev() {
            if let Value::Object(map) = item {
                if map.contains_key(&self.0[0]) {
                    return self.lookup(item);
                }
            }
        }
        self.lookup(scope.root)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// What a pattern is filled from: the document, the items of the loops and table rows it is
/// inside (innermost last), the row number, and the page and copy being drawn.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub root: &'a Value,
    pub items: Vec<&'a Value>,
    /// The 1-based number of the current table row or loop item.
    pub n: Option<usize>,
    pub page: usize,
    pub pages: usize,
    /// The name of the copy being drawn (`copies` in the template), or empty.
    pub copy: &'a str,
}

impl<'a> Scope<'a> {
    /// The scope of a one-page, one-copy label.
    pub fn root(data: &'a Value) -> Scope<'a> {
        Scope {
            root: data,
            items: Vec::new(),
            n: None,
            page: 1,
            pages: 1,
            copy: "",
        }
    }

    /// The same scope inside a loop item or table row.
    pub fn with_item(&self, item: &'a Value, n: usize) -> Scope<'a> {
        let mut inner = self.clone();
        inner.items.push(item);
        inner.n = Some(n);
        inner
    }
}

/// A value string split into literal text, `{field.path}` placeholders and sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field(FieldPath, Filter),
    /// `{.}`: the current loop item itself.
    Item,
    /// `{@n}`, `{@page}`, `{@pages}`, `{@copy}`.
    Special(Special),
    /// `{#path}…{/path}` (or `{^path}…{/path}` when inverted).
    Section {
        path: FieldPath,
        inverted: bool,
        body: Vec<Piece>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    N,
    Page,
    Pages,
    Copy,
}

/// What is printed of a field: its value, the number of items of an array (`|count`), or
/// the sum of one numeric field over an array's items (`|sum:weight_g`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    Value,
    Count,
    Sum(FieldPath),
}

impl Pattern {
    /// Parses a value string; `{{` and `}}` stand for literal braces.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let mut chars = s.chars().peekable();
        let (pieces, end) = parse_pieces(s, &mut chars)?;
        if let Some(end) = end {
            return Err(format!("`{{/{end}}}` closes no section in value `{s}`"));
        }
        Ok(Pattern(pieces))
    }

    /// Fills the placeholders from `data`; the error names the missing or unusable field.
    pub fn fill(&self, data: &Value) -> Result<String, String> {
        self.fill_in(&Scope::root(data))
    }

    /// Fills the placeholders in a scope (inside a table row, on a page of a document).
    pub fn fill_in(&self, scope: &Scope) -> Result<String, String> {
        let mut out = String::new();
        fill_pieces(&self.0, scope, &mut out)?;
        Ok(out)
    }

    /// Whether the pattern is one literal with no placeholders.
    pub fn literal(&self) -> Option<&str> {
        match self.0.as_slice() {
            [] => Some(""),
            [Piece::Literal(s)] => Some(s),
            _ => None,
        }
    }
}

/// Parses pieces up to the end of the string or a `{/name}`, which is returned.
fn parse_pieces(
    s: &str,
    chars: &mut std::iter::Peekable<std::str::Chars>,
) -> Result<(Vec<Piece>, Option<String>), String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some(ch) => name.push(ch),
                        None => return Err(format!("unclosed `{{` in value `{s}`")),
                    }
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                let name = name.trim();
                if let Some(end) = name.strip_prefix('/') {
                    return Ok((pieces, Some(end.trim().to_string())));
                }
                let section = name
                    .strip_prefix('#')
                    .map(|p| (p, false))
                    .or_else(|| name.strip_prefix('^').map(|p| (p, true)));
                if let Some((path, inverted)) = section {
                    let path = FieldPath::parse(path)?;
                    let (body, end) = parse_pieces(s, chars)?;
                    if end.as_deref() != Some(path.to_string().as_str()) {
                        return Err(format!(
                            "section `{{#{path}}}` is not closed by `{{/{path}}}` in value `{s}`"
                        ));
                    }
                    pieces.push(Piece::Section {
                        path,
                        inverted,
                        body,
                    });
                    continue;
                }
                pieces.push(match name {
                    "." => Piece::Item,
                    "@n" => Piece::Special(Special::N),
                    "@page" => Piece::Special(Special::Page),
                    "@pages" => Piece::Special(Special::Pages),
                    "@copy" => Piece::Special(Special::Copy),
                    other if other.starts_with('@') => {
                        return Err(format!(
                            "unknown `{{{other}}}` (expected @n, @page, @pages or @copy)"
                        ))
                    }
                    other => {
                        let (path, filter) = match other.split_once('|') {
                            None => (other, Filter::Value),
                            Some((path, "count")) => (path, Filter::Count),
                            Some((path, f)) => match f.strip_prefix("sum:") {
                                Some(field) => (path, Filter::Sum(FieldPath::parse(field)?)),
                                None => {
                                    return Err(format!(
                                        "unknown filter `|{f}` (expected |count or |sum:field)"
                                    ))
                                }
                            },
                        };
                        Piece::Field(FieldPath::parse(path)?, filter)
                    }
                });
            }
            '}' => {
                return Err(format!(
                    "stray `}}` in value `{s}` (write `}}}}` for a literal brace)"
                ))
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok((pieces, None))
}

fn fill_pieces(pieces: &[Piece], scope: &Scope, out: &mut String) -> Result<(), String> {
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(s),
            Piece::Field(path, filter) => {
                let value = path
                    .resolve(scope)
                    .ok_or_else(|| format!("the data has no field `{path}`"))?;
                let text = match filter {
                    Filter::Value => display_value(value),
                    Filter::Count => match value {
                        Value::Array(items) => Ok(items.len().to_string()),
                        _ => Err("is not an array, so it has no |count".to_string()),
                    },
                    Filter::Sum(field) => sum(value, field),
                }
                .map_err(|e| format!("field `{path}` {e}"))?;
                out.push_str(&text);
            }
            Piece::Item => {
                let item = scope.items.last().ok_or("`{.}` is used outside a loop")?;
                out.push_str(&display_value(item).map_err(|e| format!("the loop item {e}"))?);
            }
            Piece::Special(s) => match s {
                Special::N => out.push_str(
                    &scope
                        .n
                        .ok_or("`{@n}` is used outside a loop or table")?
                        .to_string(),
                ),
                Special::Page => out.push_str(&scope.page.to_string()),
                Special::Pages => out.push_str(&scope.pages.to_string()),
                Special::Copy => out.push_str(scope.copy),
            },
            Piece::Section {
                path,
                inverted,
                body,
            } => {
                let present = is_present_in(scope, path);
                if *inverted {
                    if !present {
                        fill_pieces(body, scope, out)?;
                    }
                    continue;
                }
                if !present {
                    continue;
                }
                match path.resolve(scope) {
                    Some(Value::Array(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            fill_pieces(body, &scope.with_item(item, i + 1), out)?;
                        }
                    }
                    Some(value @ Value::Object(_)) => {
                        fill_pieces(body, &scope.with_item(value, 1), out)?
                    }
                    _ => fill_pieces(body, scope, out)?,
                }
            }
        }
    }
    Ok(())
}

/// The sum of `field` over the items of an array, printed as an integer when it is one.
fn sum(value: &Value, field: &FieldPath) -> Result<String, String> {
    let Value::Array(items) = value else {
        return Err("is not an array, so it has no |sum".to_string());
    };
    let mut total = 0.0f64;
    let mut integral = true;
    for item in items {
        match field.lookup(item) {
            Some(Value::Number(n)) => {
                integral &= n.is_i64() || n.is_u64();
                total += n.as_f64().unwrap_or(0.0);
            }
            None | Some(Value::Null) => {}
            Some(other) => return Err(format!("has an item whose `{field}` is {other}")),
        }
    }
    Ok(if integral {
        format!("{}", total as i64)
    } else {
        format!("{}", (total * 1000.0).round() / 1000.0)
    })
}

/// How a JSON value appears on a label: strings as they are, numbers in JSON form, arrays
/// joined with ", ", null as nothing. An object has no sensible printed form.
fn display_value(value: &Value) -> Result<String, String> {
    Ok(match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Result<Vec<String>, String> = items.iter().map(display_value).collect();
            parts?
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        }
        Value::Object(_) => return Err("is an object, not a printable value".to_string()),
    })
}

/// Whether a field counts as present for an element's `if`: missing, null, false, an empty
/// or all-blank string, and an empty array or object all count as absent.
pub fn is_present(data: &Value, path: &FieldPath) -> bool {
    is_present_in(&Scope::root(data), path)
}

/// `is_present` inside a scope (a table row, a loop item).
pub fn is_present_in(scope: &Scope, path: &FieldPath) -> bool {
    match path.resolve(scope) {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Which element an error is about, shown as `element #3 (text "recipient_name")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementRef {
    pub number: usize,
    pub kind: String,
    pub name: Option<String>,
}

impl ElementRef {
    pub fn of(e: &Element) -> ElementRef {
        ElementRef {
            number: e.number,
            kind: e.kind.key().to_string(),
            name: e.name.clone(),
        }
    }
}

impl fmt::Display for ElementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "element #{} ({}", self.number, self.kind)?;
        if let Some(name) = &self.name {
            write!(f, " \"{name}\"")?;
        }
        f.write_str(")")
    }
}

// The raw shapes serde reads. They are separate from the model so that the model can hold
// parsed patterns and resolved defaults, and so unknown keys are rejected per kind. The keys
// every kind shares (`name`, `if`, `unless`, `on_page`) are taken out first.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    #[serde(default)]
    title: String,
    width_mm: f32,
    height_mm: f32,
    #[serde(default)]
    copies: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCommon {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
    #[serde(default)]
    unless: Option<String>,
    #[serde(default)]
    on_page: OnPage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    x_mm: f32,
    y_mm: f32,
    w_mm: f32,
    h_mm: f32,
    value: String,
    size_mm: f32,
    min_size_mm: Option<f32>,
    #[serde(default)]
    bold: bool,
    #[serde(default = "one")]
    max_lines: u32,
    #[serde(default)]
    align: Align,
    #[serde(default)]
    valign: VAlign,
    #[serde(default)]
    reverse: bool,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBarcode {
    x_mm: f32,
    y_mm: f32,
    w_mm: f32,
    h_mm: f32,
    value: String,
    #[serde(default = "default_hr")]
    human_readable: bool,
    #[serde(default = "default_hr_size")]
    text_size_mm: f32,
}

fn default_hr() -> bool {
    true
}

fn default_hr_size() -> f32 {
    3.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQr {
    x_mm: f32,
    y_mm: f32,
    w_mm: f32,
    h_mm: f32,
    value: String,
    #[serde(default)]
    ecc: QrEcc,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatrix {
    x_mm: f32,
    y_mm: f32,
    w_mm: f32,
    h_mm: f32,
    value: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    x_mm: f32,
    y_mm: f32,
    w_mm: Option<f32>,
    h_mm: Option<f32>,
    #[serde(default = "default_line")]
    thickness_mm: f32,
}

fn default_line() -> f32 {
    0.4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBox {
    x_mm: f32,
    y_mm: f32,
    w_mm: f32,
    h_mm: f32,
    #[serde(default = "default_box")]
    thickness_mm: f32,
    #[serde(default)]
    fill: bool,
}

fn default_box() -> f32 {
    0.5
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    x_mm: f32,
    y_mm: f32,
    w_mm: f32,
    h_mm: f32,
    rows: String,
    #[serde(default)]
    sort: Vec<String>,
    #[serde(default)]
    walk: Walk,
    row_mm: f32,
    size_mm: f32,
    min_size_mm: Option<f32>,
    #[serde(default = "default_hr")]
    header: bool,
    #[serde(default = "default_hr")]
    rules: bool,
    #[serde(default)]
    column: Vec<RawColumn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    #[serde(default)]
    title: String,
    value: String,
    w_mm: f32,
    size_mm: Option<f32>,
    min_size_mm: Option<f32>,
    #[serde(default)]
    bold: bool,
    #[serde(default = "one")]
    max_lines: u32,
    #[serde(default)]
    align: Align,
}

/// The kinds a template may use, listed in errors about unknown kinds.
pub const KINDS: &[&str] = &[
    "text",
    "code128",
    "ean13",
    "code39",
    "itf14",
    "qr",
    "datamatrix",
    "line",
    "box",
    "table",
];

/// Line height as a multiple of the font size; the layout and the validation agree on it.
pub const LINE_HEIGHT: f32 = 1.25;

/// Padding inside a table cell, left and right, in millimetres.
pub const CELL_PAD_MM: f32 = 0.8;

/// Slack allowed when checking that an element lies inside the label, in millimetres, so a
/// box drawn exactly to the edge is not rejected for a rounding error.
const EDGE_SLACK_MM: f32 = 0.01;

impl Template {
    /// Parses and validates a template; `file` is only used to name errors.
    pub fn parse(file: &str, text: &str) -> Result<Template, LabelError> {
        let err = |element: Option<ElementRef>, problem: String| LabelError::Template {
            file: file.to_string(),
            element,
            problem,
        };
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            err(
                None,
                format!("not valid TOML: {}", e.to_string().trim_end()),
            )
        })?;
        let raw_elements = match table.remove("element") {
            None => Vec::new(),
            Some(toml::Value::Array(items)) => items,
            Some(_) => {
                return Err(err(
                    None,
                    "`element` must be an array of tables, written `[[element]]`".to_string(),
                ))
            }
        };
        let header = RawHeader::deserialize(toml::Value::Table(table))
            .map_err(|e| err(None, e.message().to_string()))?;
        if !(header.width_mm > 0.0 && header.height_mm > 0.0) {
            return Err(err(
                None,
                "width_mm and height_mm must be greater than zero".to_string(),
            ));
        }
        let mut elements = Vec::with_capacity(raw_elements.len());
        for (i, raw) in raw_elements.into_iter().enumerate() {
            let number = i + 1;
            let element =
                parse_element(number, raw).map_err(|(at, problem)| err(Some(at), problem))?;
            check_element(&element, header.width_mm, header.height_mm)
                .map_err(|problem| err(Some(ElementRef::of(&element)), problem))?;
            elements.push(element);
        }
        if elements
            .iter()
            .filter(|e| matches!(e.kind, ElementKind::Table(_)))
            .count()
            > 1
        {
            return Err(err(
                None,
                "a template may have one table (it decides how many pages a document takes)"
                    .to_string(),
            ));
        }
        Ok(Template {
            file: file.to_string(),
            title: header.title,
            width_mm: header.width_mm,
            height_mm: header.height_mm,
            copies: header.copies,
            elements,
        })
    }

    /// The element with this name, if any.
    pub fn element(&self, name: &str) -> Option<&Element> {
        self.elements
            .iter()
            .find(|e| e.name.as_deref() == Some(name))
    }
}

/// The default smallest size text may shrink to: half its size, but not below 2.5 mm.
fn default_min(size_mm: f32) -> f32 {
    size_mm.min((size_mm * 0.5).max(2.5))
}

fn parse_element(number: usize, raw: toml::Value) -> Result<Element, (ElementRef, String)> {
    let unknown = |kind: &str, problem: String| {
        (
            ElementRef {
                number,
                kind: kind.to_string(),
                name: None,
            },
            problem,
        )
    };
    let toml::Value::Table(mut table) = raw else {
        return Err(unknown("?", "an element must be a table".to_string()));
    };
    let name = table
        .get("name")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let at = |kind: &str| ElementRef {
        number,
        kind: kind.to_string(),
        name: name.clone(),
    };
    let kind = match table.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => return Err((at("?"), "`kind` must be a string".to_string())),
        None => {
            return Err((
                at("?"),
                format!("missing `kind` (one of {})", KINDS.join(", ")),
            ))
        }
    };
    let mut common_table = toml::Table::new();
    for key in ["name", "if", "unless", "on_page"] {
        if let Some(v) = table.remove(key) {
            common_table.insert(key.to_string(), v);
        }
    }
    let de = |e: toml::de::Error| (at(&kind), e.message().to_string());
    let common = RawCommon::deserialize(toml::Value::Table(common_table)).map_err(de)?;
    let value = toml::Value::Table(table);
    let pattern = |s: &str| Pattern::parse(s).map_err(|p| (at(&kind), p));
    let path = |key: &str, c: Option<String>| match c {
        None => Ok(None),
        Some(c) => FieldPath::parse(&c)
            .map(Some)
            .map_err(|p| (at(&kind), format!("`{key}`: {p}"))),
    };
    let element = |x_mm, y_mm, w_mm, h_mm, kind| -> Result<Element, (ElementRef, String)> {
        Ok(Element {
            number,
            name: common.name.clone(),
            x_mm,
            y_mm,
            w_mm,
            h_mm,
            condition: path("if", common.condition.clone())?,
            unless: path("unless", common.unless.clone())?,
            on_page: common.on_page,
            kind,
        })
    };
    let symbology = match kind.as_str() {
        "code128" => Some(Symbology::Code128),
        "ean13" => Some(Symbology::Ean13),
        "code39" => Some(Symbology::Code39),
        "itf14" => Some(Symbology::Itf14),
        _ => None,
    };
    if let Some(symbology) = symbology {
        let r = RawBarcode::deserialize(value).map_err(de)?;
        return element(
            r.x_mm,
            r.y_mm,
            r.w_mm,
            r.h_mm,
            ElementKind::Barcode(BarcodeSpec {
                symbology,
                value: pattern(&r.value)?,
                text_size_mm: r.human_readable.then_some(r.text_size_mm),
            }),
        );
    }
    match kind.as_str() {
        "text" => {
            let r = RawText::deserialize(value).map_err(de)?;
            element(
                r.x_mm,
                r.y_mm,
                r.w_mm,
                r.h_mm,
                ElementKind::Text(TextSpec {
                    value: pattern(&r.value)?,
                    style: TextStyle {
                        size_mm: r.size_mm,
                        min_size_mm: r.min_size_mm.unwrap_or_else(|| default_min(r.size_mm)),
                        bold: r.bold,
                        max_lines: r.max_lines,
                        align: r.align,
                        valign: r.valign,
                        reverse: r.reverse,
                    },
                }),
            )
        }
        "qr" => {
            let r = RawQr::deserialize(value).map_err(de)?;
            element(
                r.x_mm,
                r.y_mm,
                r.w_mm,
                r.h_mm,
                ElementKind::Qr(QrSpec {
                    value: pattern(&r.value)?,
                    ecc: r.ecc,
                }),
            )
        }
        "datamatrix" => {
            let r = RawMatrix::deserialize(value).map_err(de)?;
            element(
                r.x_mm,
                r.y_mm,
                r.w_mm,
                r.h_mm,
                ElementKind::DataMatrix(MatrixSpec {
                    value: pattern(&r.value)?,
                }),
            )
        }
        "line" => {
            let r = RawLine::deserialize(value).map_err(de)?;
            let t = r.thickness_mm;
            let (w_mm, h_mm) = match (r.w_mm, r.h_mm) {
                (Some(w), None) => (w, t),
                (None, Some(h)) => (t, h),
                _ => {
                    return Err((
                        at(&kind),
                        "a line takes exactly one of w_mm (horizontal) or h_mm (vertical)"
                            .to_string(),
                    ))
                }
            };
            if t <= 0.0 {
                return Err((
                    at(&kind),
                    "thickness_mm must be greater than zero".to_string(),
                ));
            }
            element(r.x_mm, r.y_mm, w_mm, h_mm, ElementKind::Line)
        }
        "box" => {
            let r = RawBox::deserialize(value).map_err(de)?;
            if r.thickness_mm <= 0.0 {
                return Err((
                    at(&kind),
                    "thickness_mm must be greater than zero".to_string(),
                ));
            }
            element(
                r.x_mm,
                r.y_mm,
                r.w_mm,
                r.h_mm,
                ElementKind::Box {
                    thickness_mm: r.thickness_mm,
                    fill: r.fill,
                },
            )
        }
        "table" => {
            let r = RawTable::deserialize(value).map_err(de)?;
            let rows =
                FieldPath::parse(&r.rows).map_err(|p| (at(&kind), format!("`rows`: {p}")))?;
            let sort = r
                .sort
                .iter()
                .map(|s| FieldPath::parse(s).map_err(|p| (at(&kind), format!("`sort`: {p}"))))
                .collect::<Result<Vec<_>, _>>()?;
            if r.column.is_empty() {
                return Err((
                    at(&kind),
                    "a table needs at least one `[[element.column]]`".to_string(),
                ));
            }
            let columns = r
                .column
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let size_mm = c.size_mm.unwrap_or(r.size_mm);
                    let min_size_mm = c
                        .min_size_mm
                        .or(r.min_size_mm.map(|m| m.min(size_mm)))
                        .unwrap_or_else(|| default_min(size_mm));
                    Ok(Column {
                        title: c.title,
                        value: Pattern::parse(&c.value)
                            .map_err(|p| (at(&kind), format!("column {}: {p}", i + 1)))?,
                        w_mm: c.w_mm,
                        style: TextStyle {
                            size_mm,
                            min_size_mm,
                            bold: c.bold,
                            max_lines: c.max_lines,
                            align: c.align,
                            valign: VAlign::Middle,
                            reverse: false,
                        },
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            element(
                r.x_mm,
                r.y_mm,
                r.w_mm,
                r.h_mm,
                ElementKind::Table(TableSpec {
                    rows,
                    sort,
                    walk: r.walk,
                    row_mm: r.row_mm,
                    header: r.header,
                    rules: r.rules,
                    columns,
                }),
            )
        }
        other => Err((
            at(other),
            format!(
                "unknown kind `{other}` (expected one of {})",
                KINDS.join(", ")
            ),
        )),
    }
}

/// Checks a text style against the height it has to fit in.
fn check_style(t: &TextStyle, h_mm: f32) -> Result<(), String> {
    if t.size_mm <= 0.0 || t.min_size_mm <= 0.0 {
        return Err("size_mm and min_size_mm must be greater than zero".to_string());
    }
    if t.min_size_mm > t.size_mm {
        return Err(format!(
            "min_size_mm ({}) is larger than size_mm ({})",
            t.min_size_mm, t.size_mm
        ));
    }
    if t.max_lines == 0 {
        return Err("max_lines must be at least 1".to_string());
    }
    if t.min_size_mm * LINE_HEIGHT > h_mm + EDGE_SLACK_MM {
        return Err(format!(
            "h_mm {h_mm} is too short for one line at min_size_mm {} (needs {:.2} mm)",
            t.min_size_mm,
            t.min_size_mm * LINE_HEIGHT
        ));
    }
    Ok(())
}

/// Checks that an element is inside the label and its sizes make sense.
fn check_element(e: &Element, width_mm: f32, height_mm: f32) -> Result<(), String> {
    let finite = [e.x_mm, e.y_mm, e.w_mm, e.h_mm]
        .iter()
        .all(|v| v.is_finite());
    if !finite || e.w_mm <= 0.0 || e.h_mm <= 0.0 {
        return Err("w_mm and h_mm must be greater than zero".to_string());
    }
    if e.x_mm < 0.0
        || e.y_mm < 0.0
        || e.x_mm + e.w_mm > width_mm + EDGE_SLACK_MM
        || e.y_mm + e.h_mm > height_mm + EDGE_SLACK_MM
    {
        return Err(format!(
            "lies outside the {width_mm} x {height_mm} mm label (x {}..{} mm, y {}..{} mm)",
            e.x_mm,
            e.x_mm + e.w_mm,
            e.y_mm,
            e.y_mm + e.h_mm
        ));
    }
    match &e.kind {
        ElementKind::Text(TextSpec { style, .. }) => check_style(style, e.h_mm)?,
        ElementKind::Barcode(c) => {
            if let Some(s) = c.text_size_mm {
                if s <= 0.0 || s * LINE_HEIGHT >= e.h_mm * 0.6 {
                    return Err(format!(
                        "text_size_mm {s} leaves too little height for the bars in h_mm {}",
                        e.h_mm
                    ));
                }
            }
        }
        ElementKind::Box { thickness_mm, .. } => {
            if thickness_mm * 2.0 > e.w_mm.min(e.h_mm) {
                return Err(format!(
                    "thickness_mm {thickness_mm} is more than half the box; use fill = true"
                ));
            }
        }
        ElementKind::Table(t) => {
            if t.row_mm <= 0.0 {
                return Err("row_mm must be greater than zero".to_string());
            }
            let header = if t.header { t.row_mm } else { 0.0 };
            if header + t.row_mm > e.h_mm + EDGE_SLACK_MM {
                return Err(format!(
                    "h_mm {} holds no row of {} mm (with the header)",
                    e.h_mm, t.row_mm
                ));
            }
            let total: f32 = t.columns.iter().map(|c| c.w_mm).sum();
            if total > e.w_mm + EDGE_SLACK_MM {
                return Err(format!(
                    "the columns are {total} mm wide together; the table is {} mm",
                    e.w_mm
                ));
            }
            for (i, c) in t.columns.iter().enumerate() {
                if c.w_mm <= CELL_PAD_MM * 2.0 {
                    return Err(format!("column {}: w_mm {} is too narrow", i + 1, c.w_mm));
                }
                check_style(&c.style, t.row_mm).map_err(|p| format!("column {}: {p}", i + 1))?;
            }
        }
        ElementKind::Qr(_) | ElementKind::DataMatrix(_) | ElementKind::Line => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problem(text: &str) -> String {
        match Template::parse("t.toml", text) {
            Ok(_) => "parsed".to_string(),
            Err(e) => e.to_string(),
        }
    }

    const HEAD: &str = "width_mm = 100\nheight_mm = 150\n";

    #[test]
    fn parses_every_kind() {
        let t = Template::parse(
            "t.toml",
            &format!(
                "{HEAD}
[[element]]
kind = \"text\"
name = \"to\"
x_mm = 2
y_mm = 2
w_mm = 50
h_mm = 10
size_mm = 5
value = \"{{recipient.name}} 님\"
if = \"recipient.name\"
[[element]]
kind = \"code128\"
x_mm = 0
y_mm = 20
w_mm = 100
h_mm = 20
value = \"{{waybill}}\"
[[element]]
kind = \"qr\"
x_mm = 60
y_mm = 100
w_mm = 30
h_mm = 30
value = \"{{waybill}}\"
ecc = \"Q\"
[[element]]
kind = \"line\"
x_mm = 0
y_mm = 50
w_mm = 100
[[element]]
kind = \"box\"
x_mm = 0
y_mm = 0
w_mm = 100
h_mm = 150
"
            ),
        )
        .expect("the template parses");
        assert_eq!(t.elements.len(), 5);
        let kinds: Vec<&str> = t.elements.iter().map(|e| e.kind.key()).collect();
        assert_eq!(kinds, ["text", "code128", "qr", "line", "box"]);
        assert_eq!(t.elements[3].h_mm, 0.4);
        let to = t.element("to").expect("named element");
        let ElementKind::Text(spec) = &to.kind else {
            panic!("text expected")
        };
        assert_eq!(spec.style.min_size_mm, 2.5);
        assert_eq!(
            spec.value.fill(&json!({"recipient": {"name": "김민지"}})),
            Ok("김민지 님".to_string())
        );
    }

    #[test]
    fn errors_name_file_element_and_problem() {
        let cases: &[(&str, &str)] = &[
            ("width_mm = ", "t.toml: not valid TOML"),
            ("height_mm = 10", "t.toml: missing field `width_mm`"),
            (
                "[[element]]\nkind = \"barcode\"\nname = \"wb\"",
                "t.toml: element #1 (barcode \"wb\"): unknown kind `barcode`",
            ),
            (
                "[[element]]\nkind = \"text\"\nx_mm = 0\ny_mm = 0\nw_mm = 10\nh_mm = 10\nvalue = \"a\"",
                "t.toml: element #1 (text): missing field `size_mm`",
            ),
            (
                "[[element]]\nkind = \"box\"\nx_mm = 0\ny_mm = 0\nw_mm = 10\nh_mm = 10\ncolour = 1",
                "t.toml: element #1 (box): unknown field `colour`",
            ),
            (
                "[[element]]\nkind = \"line\"\nx_mm = 0\ny_mm = 0\nw_mm = 10\n[[element]]\nkind = \"box\"\nx_mm = 95\ny_mm = 0\nw_mm = 10\nh_mm = 10",
                "t.toml: element #2 (box): lies outside the 100 x 150 mm label",
            ),
            (
                "[[element]]\nkind = \"text\"\nx_mm = 0\ny_mm = 0\nw_mm = 10\nh_mm = 10\nsize_mm = 3\nvalue = \"{a\"",
                "t.toml: element #1 (text): unclosed `{`",
            ),
            (
                "[[element]]\nkind = \"text\"\nx_mm = 0\ny_mm = 0\nw_mm = 10\nh_mm = 2\nsize_mm = 3\nvalue = \"a\"",
                "too short for one line",
            ),
            (
                "[[element]]\nkind = \"qr\"\nx_mm = 0\ny_mm = 0\nw_mm = 10\nh_mm = 10\nvalue = \"a\"\nif = \"no te\"",
                "`if`: `no te` is not a field path",
            ),
        ];
        for (body, expected) in cases {
            let text = if body.starts_with("width") || body.starts_with("height") {
                body.to_string()
            } else {
                format!("{HEAD}{body}")
            };
            let got = problem(&text);
            assert!(
                got.contains(expected),
                "{body:?}: got {got:?}, expected {expected:?}"
            );
        }
    }

    #[test]
    fn patterns_fill_and_report_missing_fields() {
        let data = json!({"a": {"b": 7}, "list": ["x", "y"], "n": null, "o": {}});
        let fill = |p: &str| Pattern::parse(p).and_then(|p| p.fill(&data));
        assert_eq!(fill("{a.b} g"), Ok("7 g".to_string()));
        assert_eq!(fill("{list}"), Ok("x, y".to_string()));
        assert_eq!(fill("{list.1}"), Ok("y".to_string()));
        assert_eq!(fill("[{n}]"), Ok("[]".to_string()));
        assert_eq!(fill("{{literal}}"), Ok("{literal}".to_string()));
        assert_eq!(
            fill("{a.c}"),
            Err("the data has no field `a.c`".to_string())
        );
        assert!(fill("{o}").is_err());
        assert!(fill("a } b").is_err());
    }

    #[test]
    fn presence_follows_emptiness() {
        let data = json!({"s": "x", "blank": "  ", "z": 0, "e": [], "f": false});
        let present = |p: &str| is_present(&data, &FieldPath::parse(p).expect("path"));
        assert!(present("s"));
        assert!(present("z"));
        assert!(!present("blank"));
        assert!(!present("e"));
        assert!(!present("f"));
        assert!(!present("missing"));
    }
}
