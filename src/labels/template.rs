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
    pub kind: ElementKind,
}

/// What an element draws.
#[derive(Debug, Clone, PartialEq)]
pub enum ElementKind {
    Text(TextSpec),
    Code128(Code128Spec),
    Qr(QrSpec),
    /// A filled rectangle: a horizontal or vertical rule, or a solid block.
    Line,
    /// A rectangle outline of the given stroke, or a solid block when `fill` is set.
    Box {
        thickness_mm: f32,
        fill: bool,
    },
}

impl ElementKind {
    /// The `kind` key that selects this variant in a template file.
    pub fn key(&self) -> &'static str {
        match self {
            ElementKind::Text(_) => "text",
            ElementKind::Code128(_) => "code128",
            ElementKind::Qr(_) => "qr",
            ElementKind::Line => "line",
            ElementKind::Box { .. } => "box",
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
}

/// A Code 128 barcode, optionally with its human-readable line underneath.
#[derive(Debug, Clone, PartialEq)]
pub struct Code128Spec {
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
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// A value string split into literal text and `{field.path}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Field(FieldPath),
}

impl Pattern {
    /// Parses a value string; `{{` and `}}` stand for literal braces.
    pub fn parse(s: &str) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = s.chars().peekable();
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
                    pieces.push(Piece::Field(FieldPath::parse(&name)?));
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
        Ok(Pattern(pieces))
    }

    /// Fills the placeholders from `data`; the error names the missing or unusable field.
    pub fn fill(&self, data: &Value) -> Result<String, String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Literal(s) => out.push_str(s),
                Piece::Field(path) => {
                    let value = path
                        .lookup(data)
                        .ok_or_else(|| format!("the data has no field `{path}`"))?;
                    out.push_str(&display_value(value).map_err(|e| format!("field `{path}` {e}"))?);
                }
            }
        }
        Ok(out)
    }
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
    match path.lookup(data) {
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
// parsed patterns and resolved defaults, and so unknown keys are rejected per kind.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    #[serde(default)]
    title: String,
    width_mm: f32,
    height_mm: f32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawText {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
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
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCode128 {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
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
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
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
struct RawLine {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
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
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
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

/// The kinds a template may use, listed in errors about unknown kinds.
pub const KINDS: &[&str] = &["text", "code128", "qr", "line", "box"];

/// Line height as a multiple of the font size; the layout and the validation agree on it.
pub const LINE_HEIGHT: f32 = 1.25;

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
        Ok(Template {
            file: file.to_string(),
            title: header.title,
            width_mm: header.width_mm,
            height_mm: header.height_mm,
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
    let value = toml::Value::Table(table);
    let de = |e: toml::de::Error| (at(&kind), e.message().to_string());
    let pattern = |s: &str| Pattern::parse(s).map_err(|p| (at(&kind), p));
    let condition = |c: Option<String>| match c {
        None => Ok(None),
        Some(c) => FieldPath::parse(&c)
            .map(Some)
            .map_err(|p| (at(&kind), format!("`if`: {p}"))),
    };
    let element = match kind.as_str() {
        "text" => {
            let r = RawText::deserialize(value).map_err(de)?;
            let min_size_mm = r
                .min_size_mm
                .unwrap_or_else(|| r.size_mm.min((r.size_mm * 0.5).max(2.5)));
            Element {
                number,
                name: r.name,
                x_mm: r.x_mm,
                y_mm: r.y_mm,
                w_mm: r.w_mm,
                h_mm: r.h_mm,
                condition: condition(r.condition)?,
                kind: ElementKind::Text(TextSpec {
                    value: pattern(&r.value)?,
                    style: TextStyle {
                        size_mm: r.size_mm,
                        min_size_mm,
                        bold: r.bold,
                        max_lines: r.max_lines,
                        align: r.align,
                        valign: r.valign,
                    },
                }),
            }
        }
        "code128" => {
            let r = RawCode128::deserialize(value).map_err(de)?;
            Element {
                number,
                name: r.name,
                x_mm: r.x_mm,
                y_mm: r.y_mm,
                w_mm: r.w_mm,
                h_mm: r.h_mm,
                condition: condition(r.condition)?,
                kind: ElementKind::Code128(Code128Spec {
                    value: pattern(&r.value)?,
                    text_size_mm: r.human_readable.then_some(r.text_size_mm),
                }),
            }
        }
        "qr" => {
            let r = RawQr::deserialize(value).map_err(de)?;
            Element {
                number,
                name: r.name,
                x_mm: r.x_mm,
                y_mm: r.y_mm,
                w_mm: r.w_mm,
                h_mm: r.h_mm,
                condition: condition(r.condition)?,
                kind: ElementKind::Qr(QrSpec {
                    value: pattern(&r.value)?,
                    ecc: r.ecc,
                }),
            }
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
            Element {
                number,
                name: r.name,
                x_mm: r.x_mm,
                y_mm: r.y_mm,
                w_mm,
                h_mm,
                condition: condition(r.condition)?,
                kind: ElementKind::Line,
            }
        }
        "box" => {
            let r = RawBox::deserialize(value).map_err(de)?;
            if r.thickness_mm <= 0.0 {
                return Err((
                    at(&kind),
                    "thickness_mm must be greater than zero".to_string(),
                ));
            }
            Element {
                number,
                name: r.name,
                x_mm: r.x_mm,
                y_mm: r.y_mm,
                w_mm: r.w_mm,
                h_mm: r.h_mm,
                condition: condition(r.condition)?,
                kind: ElementKind::Box {
                    thickness_mm: r.thickness_mm,
                    fill: r.fill,
                },
            }
        }
        other => {
            return Err((
                at(other),
                format!(
                    "unknown kind `{other}` (expected one of {})",
                    KINDS.join(", ")
                ),
            ))
        }
    };
    Ok(element)
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
        ElementKind::Text(TextSpec { style: t, .. }) => {
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
            if t.min_size_mm * LINE_HEIGHT > e.h_mm + EDGE_SLACK_MM {
                return Err(format!(
                    "h_mm {} is too short for one line at min_size_mm {} (needs {:.2} mm)",
                    e.h_mm,
                    t.min_size_mm,
                    t.min_size_mm * LINE_HEIGHT
                ));
            }
        }
        ElementKind::Code128(c) => {
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
        ElementKind::Qr(_) | ElementKind::Line => {}
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
        assert_eq!(kinds, KINDS);
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
