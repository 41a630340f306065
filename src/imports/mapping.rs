//! Column mappings as data. Each marketplace export is described by a TOML file in
//! `mappings/` (embedded in the binary) that says which header titles carry which of our
//! fields, which are required, and how timestamps are written. Keeping this out of the code
//! means a renamed column is a one-line data change, and the mapping is what the docs
//! describe.

use std::sync::OnceLock;

use serde::Deserialize;

use super::table::{normalize_title, Row};
use super::ImportProblem;

/// Whether a field's column must be present, and whether its cells may be blank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Required {
    /// The column is optional.
    #[default]
    No,
    /// The column must be present; its cells may be blank.
    Column,
    /// The column must be present and its cells must not be blank.
    Value,
}

/// One of our fields: the header titles that may carry it, in order of preference.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSpec {
    /// Accepted titles. A title `a+b` means "columns a and b joined with a space".
    #[serde(default)]
    pub titles: Vec<String>,
    #[serde(default)]
    pub required: Required,
    /// When set, the non-empty values of all present columns are joined with this text
    /// instead of taking the first non-empty one.
    #[serde(default)]
    pub join: Option<String>,
}

impl FieldSpec {
    fn all_titles(&self) -> impl Iterator<Item = &str> {
        self.titles.iter().flat_map(|t| t.split('+'))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogFields {
    pub sku: FieldSpec,
    pub name: FieldSpec,
    pub barcodes: FieldSpec,
    pub unit_weight_g: FieldSpec,
    pub location: FieldSpec,
    pub cost: FieldSpec,
    #[serde(default)]
    pub category: FieldSpec,
    #[serde(default)]
    pub option: FieldSpec,
}

impl CatalogFields {
    pub fn all(&self) -> [&FieldSpec; 8] {
        [
            &self.sku,
            &self.name,
            &self.barcodes,
            &self.unit_weight_g,
            &self.location,
            &self.cost,
            &self.category,
            &self.option,
        ]
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CatalogMapping {
    pub header_search_rows: usize,
    pub barcode_separator: String,
    pub fields: CatalogFields,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderFields {
    pub order_no: FieldSpec,
    #[serde(default)]
    pub channel: FieldSpec,
    pub paid_at: FieldSpec,
    pub recipient_name: FieldSpec,
    pub recipient_phone: FieldSpec,
    pub address: FieldSpec,
    #[serde(default)]
    pub postcode: FieldSpec,
    pub sku: FieldSpec,
    pub qty: FieldSpec,
    #[serde(default)]
    pub note: FieldSpec,
    #[serde(default)]
    pub flag: FieldSpec,
    #[serde(default)]
    pub courier: FieldSpec,
    #[serde(default)]
    pub waybill: FieldSpec,
    #[serde(default)]
    pub status: FieldSpec,
}

impl OrderFields {
    pub fn all(&self) -> [&FieldSpec; 14] {
        [
            &self.order_no,
            &self.channel,
            &self.paid_at,
            &self.recipient_name,
            &self.recipient_phone,
            &self.address,
            &self.postcode,
            &self.sku,
            &self.qty,
            &self.note,
            &self.flag,
            &self.courier,
            &self.waybill,
            &self.status,
        ]
    }
}

/// Which order statuses are imported and which are left out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Statuses {
    #[serde(default)]
    pub import: Vec<String>,
    #[serde(default)]
    pub skip: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrdersMapping {
    /// The mapping's name, used in messages that point the user at the file.
    pub name: String,
    /// The channel written on every order; blank means "from the channel column".
    pub channel: String,
    /// The zone of timestamps without an offset; blank means the warehouse's zone.
    pub time_zone: String,
    /// `strptime` formats tried in order (jiff's syntax).
    pub time_formats: Vec<String>,
    pub header_search_rows: usize,
    /// Titles that, all present in the header row, identify this format.
    pub detect: Vec<String>,
    #[serde(default)]
    pub unquote_cells: bool,
    #[serde(default)]
    pub postcode_from_address: bool,
    #[serde(default)]
    pub allow_gbk: bool,
    pub fields: OrderFields,
    #[serde(default)]
    pub statuses: Statuses,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GenericFile {
    catalog: CatalogMapping,
    orders: OrdersMapping,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Courier {
    pub code: String,
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CourierFile {
    courier: Vec<Courier>,
}

/// All embedded mappings, parsed once.
pub(crate) struct Mappings {
    pub catalog: CatalogMapping,
    pub generic: OrdersMapping,
    pub smartstore: OrdersMapping,
    pub taobao: OrdersMapping,
    pub couriers: Vec<Courier>,
}

/// The embedded mappings. They are compiled in and covered by tests, so a parse failure
/// is a build mistake, not a user error.
pub(crate) fn mappings() -> &'static Mappings {
    static MAPPINGS: OnceLock<Mappings> = OnceLock::new();
    MAPPINGS.get_or_init(|| {
        let generic: GenericFile = toml::from_str(include_str!("mappings/generic.toml"))
            .expect("mappings/generic.toml is valid");
        let couriers: CourierFile = toml::from_str(include_str!("mappings/couriers.toml"))
            .expect("mappings/couriers.toml is valid");
        Mappings {
            catalog: generic.catalog,
            generic: generic.orders,
            smartstore: toml::from_str(include_str!("mappings/smartstore.toml"))
                .expect("mappings/smartstore.toml is valid"),
            taobao: toml::from_str(include_str!("mappings/taobao.toml"))
                .expect("mappings/taobao.toml is valid"),
            couriers: couriers.courier,
        }
    })
}

/// Maps a courier name as written in a file to our courier code, or `None` if unknown.
pub(crate) fn courier_code(name: &str) -> Option<&'static str> {
    let wanted = normalize_title(name);
    if wanted.is_empty() {
        return None;
    }
    let couriers = &mappings().couriers;
    if let Some(c) = couriers.iter().find(|c| c.code == wanted) {
        return Some(&c.code);
    }
    couriers
        .iter()
        .find(|c| {
            c.names
                .iter()
                .any(|n| wanted.starts_with(&normalize_title(n)))
        })
        .map(|c| c.code.as_str())
}

/// One place a field's value comes from: one column, or several joined with a space.
#[derive(Debug, Clone)]
struct Source {
    columns: Vec<usize>,
    /// The header title(s) as written in the file, for problem reports.
    title: String,
}

/// A field resolved against a file's header row.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    sources: Vec<Source>,
    join: Option<String>,
    pub required: Required,
    /// The mapping's first title, used to name the column when it is missing.
    pub wanted: String,
}

impl Column {
    /// True when at least one of the accepted columns is in the file.
    pub fn present(&self) -> bool {
        !self.sources.is_empty()
    }

    /// True when the value must not be blank (and the column is there to check).
    pub fn value_required(&self) -> bool {
        self.required == Required::Value && self.present()
    }

    /// The title to name in a problem: the file's title when present, else the wanted one.
    pub fn title(&self) -> &str {
        self.sources.first().map_or(&self.wanted, |s| &s.title)
    }

    /// The field's value in `row` (trimmed; unwrapped when `unquote`) and the title of the
    /// column it came from. A blank value is named after the first present column.
    pub fn get(&self, row: &Row, unquote: bool) -> (String, &str) {
        let cell = |i: usize| clean_cell(row.cells.get(i).map_or("", String::as_str), unquote);
        let mut found: Vec<(String, &str)> = Vec::new();
        for source in &self.sources {
            let parts: Vec<String> = source
                .columns
                .iter()
                .map(|&i| cell(i))
                .filter(|v| !v.is_empty())
                .collect();
            if !parts.is_empty() {
                found.push((parts.join(" "), &source.title));
                if self.join.is_none() {
                    break;
                }
            }
        }
        match (&self.join, found.len()) {
            (_, 0) => (String::new(), self.title()),
            (Some(sep), _) => {
                let title = found[0].1;
                let joined: Vec<String> = found.into_iter().map(|(v, _)| v).collect();
                (joined.join(sep), title)
            }
            (None, _) => found.swap_remove(0),
        }
    }
}

/// Trims a cell and, when `unquote` is set, removes the wrappers spreadsheet users put
/// around numbers to keep them as text: `="123"`, `'123` and tabs.
pub(crate) fn clean_cell(cell: &str, unquote: bool) -> String {
    let mut s = cell.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if unquote {
        if let Some(inner) = s.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
            s = inner;
        } else if let Some(rest) = s.strip_prefix('\'') {
            s = rest;
        }
        s = s.trim();
    }
    s.to_string()
}

/// Resolves every field of a mapping against a header row. Returns the columns in the
/// order given, plus one problem per required column that is missing.
pub(crate) fn resolve<const N: usize>(
    fields: [&FieldSpec; N],
    header: &Row,
    file: &str,
) -> ([Column; N], Vec<ImportProblem>) {
    let titles: Vec<String> = header.cells.iter().map(|c| normalize_title(c)).collect();
    let find = |t: &str| {
        let t = normalize_title(t);
        titles.iter().position(|h| !h.is_empty() && *h == t)
    };
    let mut problems = Vec::new();
    let columns = fields.map(|spec| {
        let mut sources = Vec::new();
        for title in &spec.titles {
            let parts: Option<Vec<usize>> = title.split('+').map(find).collect();
            if let Some(columns) = parts {
                let title = columns
                    .iter()
                    .map(|&i| clean_cell(&header.cells[i], false))
                    .collect::<Vec<_>>()
                    .join("+");
                sources.push(Source { columns, title });
            }
        }
        let column = Column {
            sources,
            join: spec.join.clone(),
            required: spec.required,
            wanted: spec.titles.first().cloned().unwrap_or_default(),
        };
        if spec.required != Required::No && !column.present() {
            let mut message = "required column is missing".to_string();
            if spec.titles.len() > 1 {
                message.push_str(&format!(" (accepted titles: {})", spec.titles.join(", ")));
            }
            problems.push(ImportProblem {
                file: file.to_string(),
                row: header.line,
                column: column.wanted.clone(),
                message,
            });
        }
        column
    });
    (columns, problems)
}

/// How many cells of `row` are titles this mapping knows: used to find the header row.
pub(crate) fn score_header(fields: &[&FieldSpec], row: &Row) -> usize {
    let known: Vec<String> = fields
        .iter()
        .flat_map(|f| f.all_titles())
        .map(normalize_title)
        .collect();
    row.cells
        .iter()
        .map(|c| normalize_title(c))
        .filter(|c| !c.is_empty() && known.contains(c))
        .count()
}

/// Finds the header row: among the first `search_rows` rows, the one carrying the most known
/// titles (the first such row on a tie). Falls back to the first row.
pub(crate) fn find_header(fields: &[&FieldSpec], rows: &[Row], search_rows: usize) -> usize {
    let mut best = (0, 0);
    for (i, row) in rows.iter().enumerate().take(search_rows.max(1)) {
        let score = score_header(fields, row);
        if score > best.1 {
            best = (i, score);
        }
    }
    best.0
}

/// True when every `detect` title of a mapping is in the row.
pub(crate) fn detects(mapping: &OrdersMapping, row: &Row) -> bool {
    let titles: Vec<String> = row.cells.iter().map(|c| normalize_title(c)).collect();
    !mapping.detect.is_empty()
        && mapping
            .detect
            .iter()
            .all(|d| titles.contains(&normalize_title(d)))
}
