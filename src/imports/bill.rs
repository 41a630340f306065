//! Courier bills (월 정산서 / 月结账单) in, a domain `Bill` out. A statement is CSV or XLSX in
//! the courier's own layout: Korean or Chinese headers, title rows above the header, merged
//! cells (a date written once for the rows under it), subtotal rows per day and a total row
//! at the end. Each layout is data (`bills/*.toml`, embedded): which titles carry which field,
//! how dates, weights and money are written, which labels mark subtotal and total rows, and
//! which cell values mean a delivery, a return or a surcharge. The documented generic CSV
//! `waybill,ship_date,billed_weight_g,size_class,zone,amount,kind` is one more layout.
//!
//! Money is kept exactly as the bill writes it, in the currency's minor unit: an amount with
//! more decimals than the currency has is a problem, never rounded away. The whole file is
//! checked before anything is returned; every bad row is listed.

use std::borrow::Cow;
use std::io::Cursor;
use std::sync::OnceLock;

use calamine::{Data, Reader, Xlsx};
use serde::Deserialize;

use crate::domain::reconcile::{Bill, BillLine, ChargeKind};

use super::mapping::{clean_cell, find_header, resolve, Column, FieldSpec};
use super::table::{self, normalize_title, Loaded, Row};
use super::{whole_file, ImportError, ImportProblem};

/// How amounts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AmountUnit {
    /// Integer minor units (won, fen).
    Minor,
    /// Major units with up to the currency's decimals (12.50 yuan); thousands separators and
    /// currency signs allowed.
    Major,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WeightUnit {
    G,
    Kg,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BillFields {
    waybill: FieldSpec,
    #[serde(default)]
    ship_date: FieldSpec,
    #[serde(default)]
    billed_weight: FieldSpec,
    #[serde(default)]
    size_class: FieldSpec,
    #[serde(default)]
    zone: FieldSpec,
    amount: FieldSpec,
    #[serde(default)]
    kind: FieldSpec,
}

/// A column holding a second charge on the same row (a Korean statement's 도서산간 할증
/// beside the fare): a line of its own kind when the cell is not zero.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraAmount {
    titles: Vec<String>,
    kind: ChargeKindName,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ChargeKindName {
    Delivery,
    Return,
    Redelivery,
    Surcharge,
    Adjustment,
}

impl From<ChargeKindName> for ChargeKind {
    fn from(k: ChargeKindName) -> ChargeKind {
        match k {
            ChargeKindName::Delivery => ChargeKind::Delivery,
            ChargeKindName::Return => ChargeKind::Return,
            ChargeKindName::Redelivery => ChargeKind::Redelivery,
            ChargeKindName::Surcharge => ChargeKind::Surcharge,
            ChargeKindName::Adjustment => ChargeKind::Adjustment,
        }
    }
}

/// One statement layout (`bills/*.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BillLayout {
    pub name: String,
    /// The couriers whose statements look like this (empty: any courier).
    #[serde(default)]
    couriers: Vec<String>,
    /// Titles that must all be in the header row besides the waybill and amount columns
    /// (which always must) for a file to be taken as this layout.
    #[serde(default)]
    detect: Vec<String>,
    header_search_rows: usize,
    #[serde(default)]
    date_formats: Vec<String>,
    weight_unit: WeightUnit,
    amount_unit: AmountUnit,
    #[serde(default)]
    allow_gbk: bool,
    #[serde(default)]
    unquote_cells: bool,
    /// Fields whose blank cell means "the same as the row above" (merged cells).
    #[serde(default)]
    fill_down: Vec<String>,
    /// A row with one of these in any cell is the statement's total (its amount is the
    /// stated total).
    #[serde(default)]
    total_labels: Vec<String>,
    /// A row with one of these in any cell is a subtotal, skipped.
    #[serde(default)]
    subtotal_labels: Vec<String>,
    /// The kind of a row whose kind cell is blank or absent.
    #[serde(default = "default_kind")]
    default_kind: ChargeKindName,
    /// Kind cell values (as written) → kind; matched ignoring case and spaces.
    #[serde(default)]
    kinds: std::collections::BTreeMap<String, ChargeKindName>,
    #[serde(default)]
    extra_amounts: Vec<ExtraAmount>,
    fields: BillFields,
}

fn default_kind() -> ChargeKindName {
    ChargeKindName::Delivery
}

const EMBEDDED: &[(&str, &str)] = &[
    ("kr-standard.toml", include_str!("bills/kr-standard.toml")),
    ("sf.toml", include_str!("bills/sf.toml")),
    ("cn-standard.toml", include_str!("bills/cn-standard.toml")),
    ("generic.toml", include_str!("bills/generic.toml")),
];

/// The embedded layouts, in the order detection tries them (generic last).
pub(crate) fn layouts() -> &'static [BillLayout] {
    static L: OnceLock<Vec<BillLayout>> = OnceLock::new();
    L.get_or_init(|| {
        EMBEDDED
            .iter()
            .map(|(name, text)| {
                toml::from_str(text).unwrap_or_else(|e| panic!("bills/{name} is invalid: {e}"))
            })
            .collect()
    })
}

/// The names of the built-in statement layouts.
pub fn layout_names() -> Vec<&'static str> {
    layouts().iter().map(|l| l.name.as_str()).collect()
}

/// Reads a courier's statement. `layout` names one (`generic`, `kr-standard`, `sf`, ...) or
/// `None` to recognise it from the headers among the layouts for `courier`. `decimals` is the
/// currency's minor-unit digits (from the courier's rate card). `Ok` only when every row is
/// valid.
pub fn read_bill(
    file: &str,
    bytes: &[u8],
    courier: &str,
    layout: Option<&str>,
    decimals: u32,
) -> Result<(Bill, String), ImportError> {
    let fail = |m: String| ImportError::new(vec![whole_file(file, &m)]);
    let candidates: Vec<&BillLayout> = match layout {
        Some(name) => {
            let l = layouts().iter().find(|l| l.name == name).ok_or_else(|| {
                fail(format!(
                    "unknown bill layout `{name}` (known: {})",
                    layout_names().join(", ")
                ))
            })?;
            vec![l]
        }
        None => layouts()
            .iter()
            .filter(|l| l.couriers.is_empty() || l.couriers.iter().any(|c| c == courier))
            .collect(),
    };
    let allow_gbk = candidates.iter().any(|l| l.allow_gbk);
    let source = load_source(file, bytes, allow_gbk).map_err(fail)?;
    // The header is looked for in the first rows; the rest is read as it is checked, so a
    // bill of a million lines is never held as cells all at once.
    let search = candidates
        .iter()
        .map(|l| l.header_search_rows)
        .max()
        .unwrap_or(1)
        .max(1);
    let (rows, mut rest): (Vec<Row>, Box<dyn Iterator<Item = Result<Row, String>> + '_>) =
        match &source {
            Source::Rows(all) => {
                let n = search.min(all.len());
                (
                    all[..n].to_vec(),
                    Box::new(all[n..].iter().cloned().map(Ok)),
                )
            }
            Source::Text(text) => {
                let mut it = csv_rows(text);
                let mut head = Vec::new();
                while head.len() < search {
                    match it.next() {
                        Some(Ok(r)) => head.push(r),
                        Some(Err(e)) => return Err(fail(e)),
                        None => break,
                    }
                }
                (head, Box::new(it))
            }
        };
    if rows.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    let found = candidates.iter().find_map(|l| {
        let specs = field_specs(l);
        let at = find_header(&specs, &rows, l.header_search_rows);
        let header = rows.get(at)?;
        let titles: Vec<String> = header.cells.iter().map(|c| normalize_title(c)).collect();
        let has = |spec: &FieldSpec| {
            spec.titles
                .iter()
                .any(|t| titles.contains(&normalize_title(t)))
        };
        let ok = has(&l.fields.waybill)
            && has(&l.fields.amount)
            && l.detect
                .iter()
                .all(|d| titles.contains(&normalize_title(d)));
        ok.then_some((*l, at))
    });
    let Some((layout, at)) = found else {
        let names: Vec<&str> = candidates.iter().map(|l| l.name.as_str()).collect();
        return Err(fail(format!(
            "cannot tell the statement's layout from its headers (tried {}); see docs/bills.md",
            names.join(", ")
        )));
    };
    let data = rows[at + 1..].iter().cloned().map(Ok).chain(&mut rest);
    read_rows(file, &rows[at], data, layout, decimals).map(|b| (b, layout.name.clone()))
}

/// A statement as read so far: a workbook's rows, or CSV text still to split.
enum Source {
    Rows(Vec<Row>),
    Text(String),
}

fn load_source(file: &str, bytes: &[u8], allow_gbk: bool) -> Result<Source, String> {
    let lower = file.to_ascii_lowercase();
    if bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".xlsx") {
        return read_xlsx_merged(bytes).map(Source::Rows);
    }
    match table::load(file, bytes)? {
        Loaded::Rows(rows) => Ok(Source::Rows(rows)),
        Loaded::Text(t) => Ok(Source::Text(table::decode_text(&t, allow_gbk)?.0)),
    }
}

/// CSV rows one at a time (comma, or tab when the first line has more tabs), blank rows
/// left out; each keeps the line it starts on.
fn csv_rows(text: &str) -> impl Iterator<Item = Result<Row, String>> + '_ {
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = if first_line.matches('\t').count() > first_line.matches(',').count() {
        b'\t'
    } else {
        b','
    };
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    reader
        .into_records()
        .map(|r| {
            let record = r.map_err(|e| format!("cannot read the CSV: {e}"))?;
            let line = record.position().map_or(0, |p| p.line() as usize);
            Ok(Row {
                line,
                cells: record.iter().map(str::to_string).collect(),
            })
        })
        .filter(|r| !matches!(r, Ok(row) if row.is_blank()))
}

fn field_specs(l: &BillLayout) -> Vec<&FieldSpec> {
    let f = &l.fields;
    vec![
        &f.waybill,
        &f.ship_date,
        &f.billed_weight,
        &f.size_class,
        &f.zone,
        &f.amount,
        &f.kind,
    ]
}

/// A workbook's first sheet, with merged cells filled in from their top-left cell.
fn read_xlsx_merged(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let mut book = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| format!("cannot read the file as an XLSX workbook: {e}"))?;
    let merges = book.merge_cells_by_sheet_id(0).unwrap_or_default();
    let range = match book.worksheet_range_at(0) {
        None => return Err("the workbook has no sheet".to_string()),
        Some(Err(e)) => return Err(format!("cannot read the first sheet: {e}")),
        Some(Ok(r)) => r,
    };
    let Some((r0, c0)) = range.start() else {
        return Ok(Vec::new());
    };
    let (height, width) = range.get_size();
    let mut grid: Vec<Vec<String>> = (0..height)
        .map(|r| {
            let mut row = vec![String::new(); c0 as usize];
            row.extend((0..width).map(|c| range.get((r, c)).map(cell_text).unwrap_or_default()));
            row
        })
        .collect();
    for m in merges {
        let (top, left) = m.start;
        let (bottom, right) = m.end;
        let Some(value) = top
            .checked_sub(r0)
            .and_then(|r| grid.get(r as usize))
            .and_then(|row| row.get(left as usize))
            .cloned()
        else {
            continue;
        };
        for r in top..=bottom {
            let Some(row) = r.checked_sub(r0).and_then(|r| grid.get_mut(r as usize)) else {
                continue;
            };
            for c in left..=right {
                if let Some(cell) = row.get_mut(c as usize) {
                    if cell.is_empty() {
                        *cell = value.clone();
                    }
                }
            }
        }
    }
    Ok(grid
        .into_iter()
        .enumerate()
        .map(|(i, cells)| Row {
            line: r0 as usize + i + 1,
            cells,
        })
        .filter(|r| !r.is_blank())
        .collect())
}

fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.is_finite() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                format!("{}", *f as i64)
            } else {
                // Shortest text that reads back as the same number: 12.5, not 12.500000001.
                format!("{f}")
            }
        }
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, ..) = dt.to_ymd_hms_milli();
            format!("{y:04}-{mo:02}-{d:02}")
        }
        Data::DateTime(dt) => format!("{}", dt.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The names of a layout's fields, in the order they are read (as `fill_down` names them).
const FIELD_NAMES: [&str; 7] = [
    "waybill",
    "ship_date",
    "billed_weight",
    "size_class",
    "zone",
    "amount",
    "kind",
];

/// The first non-empty of the cells at `cols`, trimmed (and, with `unquote`, without the
/// `="..."` or `'` spreadsheet users wrap numbers in), borrowed from the row.
fn cell<'r>(row: &'r Row, cols: &[usize], unquote: bool) -> &'r str {
    for &i in cols {
        let mut v = row.cells.get(i).map_or("", |c| {
            c.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
        });
        if unquote {
            if let Some(inner) = v.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
                v = inner.trim();
            } else if let Some(rest) = v.strip_prefix('\'') {
                v = rest.trim();
            }
        }
        if !v.is_empty() {
            return v;
        }
    }
    ""
}

/// Parses money as written into minor units. `Err` says what is wrong.
fn parse_money(s: &str, unit: AmountUnit, decimals: u32) -> Result<i64, String> {
    let mut t: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '₩' | '¥' | '￥' | '원' | '元' | '$'))
        .collect();
    let mut negative = false;
    if t.starts_with('(') && t.ends_with(')') && t.len() > 2 {
        negative = true;
        t = t[1..t.len() - 1].to_string();
    }
    if let Some(r) = t.strip_prefix('-').or_else(|| t.strip_prefix('−')) {
        negative = !negative;
        t = r.to_string();
    }
    if unit == AmountUnit::Minor {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`{s}` is not a whole amount in minor units (won, fen)"
            ));
        }
        let v: i64 = t.parse().map_err(|_| format!("`{s}` is too large"))?;
        return Ok(if negative { -v } else { v });
    }
    // Thousands separators: commas between groups of three digits.
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    let groups: Vec<&str> = int.split(',').collect();
    let grouped_ok = groups.len() == 1
        || (!groups[0].is_empty()
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3));
    let digits: String = groups.concat();
    if digits.is_empty()
        || !grouped_ok
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("`{s}` is not an amount"));
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > decimals as usize {
        return Err(format!(
            "`{s}` has more decimals than the currency ({decimals}): the bill's own rounding is kept, so fix the cell"
        ));
    }
    let scale = 10i64.pow(decimals);
    let whole: i64 = digits.parse().map_err(|_| format!("`{s}` is too large"))?;
    let mut f = frac.to_string();
    while f.len() < decimals as usize {
        f.push('0');
    }
    let part: i64 = if f.is_empty() {
        0
    } else {
        f.parse().unwrap_or(0)
    };
    let v = whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(part))
        .ok_or_else(|| format!("`{s}` is too large"))?;
    Ok(if negative { -v } else { v })
}

/// Parses a weight into grams. Kilograms may have up to three decimals.
fn parse_weight(s: &str, unit: WeightUnit) -> Result<i64, String> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = t.to_ascii_lowercase();
    let (num, unit) = if let Some(n) = lower.strip_suffix("kg") {
        (n.to_string(), WeightUnit::Kg)
    } else if let Some(n) = lower.strip_suffix('g') {
        (n.to_string(), WeightUnit::G)
    } else {
        (lower, unit)
    };
    let (int, frac) = num.split_once('.').unwrap_or((&num, ""));
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!("`{s}` is not a weight"));
    }
    match unit {
        WeightUnit::G => {
            if !frac.trim_end_matches('0').is_empty() {
                return Err(format!("`{s}` is not a whole number of grams"));
            }
            int.parse().map_err(|_| format!("`{s}` is too large"))
        }
        WeightUnit::Kg => {
            let frac = frac.trim_end_matches('0');
            if frac.len() > 3 {
                return Err(format!("`{s}` is finer than a gram"));
            }
            let mut f = frac.to_string();
            while f.len() < 3 {
                f.push('0');
            }
            let whole: i64 = int.parse().map_err(|_| format!("`{s}` is too large"))?;
            Ok(whole * 1000 + f.parse::<i64>().unwrap_or(0))
        }
    }
}

/// Reads a date into `YYYY-MM-DD` (a date-time keeps its date).
fn parse_date(s: &str, formats: &[String]) -> Result<String, String> {
    let t = s.trim();
    let head = t.get(..10).unwrap_or(t);
    if let Ok(d) = head.parse::<jiff::civil::Date>() {
        return Ok(d.to_string());
    }
    for f in formats {
        if let Ok(d) = jiff::civil::Date::strptime(f, t) {
            return Ok(d.to_string());
        }
        if let Ok(dt) = jiff::civil::DateTime::strptime(f, t) {
            return Ok(dt.date().to_string());
        }
    }
    Err(format!("cannot read `{s}` as a date (e.g. 2026-03-05)"))
}

fn read_rows(
    file: &str,
    header: &Row,
    data: impl Iterator<Item = Result<Row, String>>,
    layout: &BillLayout,
    decimals: u32,
) -> Result<Bill, ImportError> {
    let f = &layout.fields;
    let (cols, mut problems) = resolve(
        [
            &f.waybill,
            &f.ship_date,
            &f.billed_weight,
            &f.size_class,
            &f.zone,
            &f.amount,
            &f.kind,
        ],
        header,
        file,
    );
    // Where each field is: the columns present for its titles, in the mapping's order (a
    // row takes the first non-empty), looked up once rather than for every row.
    let header_norm: Vec<String> = header.cells.iter().map(|c| normalize_title(c)).collect();
    let present = |spec: &FieldSpec| -> Vec<usize> {
        spec.titles
            .iter()
            .filter_map(|t| {
                let t = normalize_title(t);
                header_norm.iter().position(|h| !h.is_empty() && *h == t)
            })
            .collect()
    };
    let fidx: [Vec<usize>; 7] = [
        present(&f.waybill),
        present(&f.ship_date),
        present(&f.billed_weight),
        present(&f.size_class),
        present(&f.zone),
        present(&f.amount),
        present(&f.kind),
    ];
    let extra: Vec<(Column, ChargeKind)> = layout
        .extra_amounts
        .iter()
        .map(|e| {
            let spec = FieldSpec {
                titles: e.titles.clone(),
                ..Default::default()
            };
            let ([c], _) = resolve([&spec], header, file);
            (c, e.kind.into())
        })
        .filter(|(c, _)| c.present())
        .collect();
    if !problems.is_empty() {
        return Err(ImportError::new(problems));
    }
    let fill: Vec<&str> = layout.fill_down.iter().map(String::as_str).collect();
    let labels =
        |list: &[String]| -> Vec<String> { list.iter().map(|l| normalize_title(l)).collect() };
    let (totals, subtotals) = (
        labels(&layout.total_labels),
        labels(&layout.subtotal_labels),
    );
    let kinds: Vec<(String, ChargeKind)> = layout
        .kinds
        .iter()
        .map(|(k, v)| (normalize_title(k), (*v).into()))
        .collect();
    let mut lines = Vec::new();
    let mut stated: Option<(usize, i64)> = None;
    let mut last: [String; 7] = Default::default();
    let unq = layout.unquote_cells;
    let problem = |row: &Row, column: &str, message: String| ImportProblem {
        file: file.to_string(),
        row: row.line,
        column: column.to_string(),
        message,
    };
    for row in data {
        let row = match row {
            Ok(r) => r,
            Err(m) => {
                problems.push(whole_file(file, &m));
                break;
            }
        };
        let row = &row;
        // A label is short text; amounts and waybills are not compared with the lists.
        let labelled = |list: &[String]| {
            !list.is_empty()
                && row.cells.iter().any(|c| {
                    let t = c.trim();
                    !t.is_empty()
                        && t.len() <= 40
                        && !t.as_bytes()[0].is_ascii_digit()
                        && list.contains(&normalize_title(t))
                })
        };
        // The field's value borrowed from the row and the title of its column.
        let get = |i: usize| -> (&str, &str) { (cell(row, &fidx[i], unq), cols[i].title()) };
        let (wb, _) = get(0);
        let is_total = wb.eq_ignore_ascii_case("total") || labelled(&totals);
        if !is_total && labelled(&subtotals) {
            continue;
        }
        if is_total {
            let (amount, title) = get(5);
            match parse_money(amount, layout.amount_unit, decimals) {
                Ok(v) if stated.is_none() => stated = Some((row.line, v)),
                Ok(_) => problems.push(problem(row, title, "a second total row".into())),
                Err(m) => problems.push(problem(row, title, m)),
            }
            continue;
        }
        // Values, filled down from the row above where the layout says cells are merged.
        let mut vals: [(Cow<str>, &str); 7] = std::array::from_fn(|i| {
            let (v, t) = get(i);
            (Cow::Borrowed(v), t)
        });
        for (i, name) in FIELD_NAMES.iter().enumerate() {
            if !fill.contains(name) {
                continue;
            }
            if vals[i].0.is_empty() {
                vals[i].0 = Cow::Owned(last[i].clone());
            } else {
                last[i] = vals[i].0.to_string();
            }
        }
        let [(wb, wb_t), (date, date_t), (weight, weight_t), (class, _), (zone, _), (amount, amount_t), (kind, kind_t)] =
            vals;
        let mut bad = false;
        let kind = if kind.is_empty() {
            layout.default_kind.into()
        } else {
            let k = normalize_title(&kind);
            match kinds
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| *v)
                .or_else(|| ChargeKind::parse(&kind))
            {
                Some(v) => v,
                None => {
                    let known: Vec<&str> = layout.kinds.keys().map(String::as_str).collect();
                    let mut msg = format!(
                        "`{kind}` is not a charge kind (delivery, return, redelivery, surcharge, adjustment"
                    );
                    if !known.is_empty() {
                        msg.push_str(&format!("; or {}", known.join(", ")));
                    }
                    msg.push(')');
                    problems.push(problem(row, kind_t, msg));
                    bad = true;
                    ChargeKind::Adjustment
                }
            }
        };
        let wb = clean_cell(&wb, true);
        let (class, zone) = (class.into_owned(), zone.into_owned());
        if wb.is_empty() && kind != ChargeKind::Adjustment {
            problems.push(problem(row, wb_t, "the waybill is blank".into()));
            bad = true;
        } else if !wb.is_empty() && !wb.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            problems.push(problem(
                row,
                wb_t,
                format!("`{wb}` is not a waybill number"),
            ));
            bad = true;
        }
        let ship_date = if date.is_empty() {
            String::new()
        } else {
            match parse_date(&date, &layout.date_formats) {
                Ok(d) => d,
                Err(m) => {
                    problems.push(problem(row, date_t, m));
                    bad = true;
                    String::new()
                }
            }
        };
        let billed_weight_g = if weight.is_empty() {
            None
        } else {
            match parse_weight(&weight, layout.weight_unit) {
                Ok(g) => Some(g),
                Err(m) => {
                    problems.push(problem(row, weight_t, m));
                    bad = true;
                    None
                }
            }
        };
        let amount = if amount.is_empty() {
            problems.push(problem(row, amount_t, "the amount is blank".into()));
            bad = true;
            0
        } else {
            match parse_money(&amount, layout.amount_unit, decimals) {
                Ok(v) => v,
                Err(m) => {
                    problems.push(problem(row, amount_t, m));
                    bad = true;
                    0
                }
            }
        };
        let mut more = Vec::new();
        for (c, k) in &extra {
            let (v, t) = c.get(row, unq);
            if v.is_empty() {
                continue;
            }
            match parse_money(&v, layout.amount_unit, decimals) {
                Ok(0) => {}
                Ok(x) => more.push((x, *k)),
                Err(m) => {
                    problems.push(problem(row, t, m));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let base = BillLine {
            line: row.line,
            waybill: wb,
            ship_date,
            billed_weight_g,
            size_class: class,
            zone,
            amount,
            kind,
        };
        lines.push(base.clone());
        for (x, k) in more {
            lines.push(BillLine {
                amount: x,
                kind: k,
                ..base.clone()
            });
        }
    }
    if lines.is_empty() && problems.is_empty() {
        problems.push(whole_file(file, "the statement has no charge lines"));
    }
    if problems.is_empty() {
        Ok(Bill {
            lines,
            stated_total: stated,
        })
    } else {
        Err(ImportError::new(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_as_bills_write_it() {
        use AmountUnit::*;
        let ok = [
            ("3100", Minor, 0, 3100),
            ("-500", Minor, 0, -500),
            ("3,100", Major, 0, 3100),
            ("₩3,100", Major, 0, 3100),
            ("12.50", Major, 2, 1250),
            ("12.5", Major, 2, 1250),
            ("(2.00)", Major, 2, -200),
            ("1,234,567.8", Major, 2, 123_456_780),
            ("12元", Major, 2, 1200),
        ];
        for (s, u, d, want) in ok {
            assert_eq!(parse_money(s, u, d), Ok(want), "{s}");
        }
        for (s, u, d) in [
            ("12.345", Major, 2),
            ("12.5", Major, 0),
            ("1,20", Major, 0),
            ("abc", Major, 0),
            ("12.5", Minor, 2),
            ("", Minor, 0),
        ] {
            assert!(parse_money(s, u, d).is_err(), "{s}");
        }
    }

    #[test]
    fn weights_in_grams_or_kilograms() {
        assert_eq!(parse_weight("1.25", WeightUnit::Kg), Ok(1250));
        assert_eq!(parse_weight("1.25kg", WeightUnit::G), Ok(1250));
        assert_eq!(parse_weight("800", WeightUnit::G), Ok(800));
        assert_eq!(parse_weight("2", WeightUnit::Kg), Ok(2000));
        assert!(parse_weight("1.2345", WeightUnit::Kg).is_err());
        assert!(parse_weight("1.5", WeightUnit::G).is_err());
        assert!(parse_weight("x", WeightUnit::G).is_err());
    }

    #[test]
    fn every_embedded_layout_parses() {
        assert!(layout_names().contains(&"generic"));
        assert_eq!(layouts().last().map(|l| l.name.as_str()), Some("generic"));
    }

    #[test]
    fn generic_csv_with_total_and_every_bad_row_listed() {
        let good = "waybill,ship_date,billed_weight_g,size_class,zone,amount,kind\n\
                    600000000001,2026-03-02,1500,극소,,3100,delivery\n\
                    600000000001,2026-03-02,,,,3000,surcharge\n\
                    ,,,,,-1000,adjustment\n\
                    TOTAL,,,,,5100,\n";
        let (b, layout) = read_bill("b.csv", good.as_bytes(), "cj", None, 0).unwrap();
        assert_eq!(layout, "generic");
        assert_eq!(b.lines.len(), 3);
        assert_eq!(b.stated_total, Some((5, 5100)));
        assert_eq!(b.lines[1].kind, ChargeKind::Surcharge);
        assert_eq!(b.lines[0].billed_weight_g, Some(1500));
        let bad = "waybill,ship_date,billed_weight_g,size_class,zone,amount,kind\n\
                   600000000001,2026-03-02,1500,극소,,3100,delivery\n\
                   600000000002,2026-13-02,1500,극소,,3100,delivery\n\
                   600000000003,2026-03-02,1.5,극소,,3100,delivery\n\
                   600000000004,2026-03-02,1500,극소,,31.5,delivery\n\
                   ,2026-03-02,1500,극소,,3100,delivery\n\
                   600000000006,2026-03-02,1500,극소,,3100,pickup\n";
        let e = read_bill("b.csv", bad.as_bytes(), "cj", Some("generic"), 0).unwrap_err();
        let rows: Vec<usize> = e.problems.iter().map(|p| p.row).collect();
        assert_eq!(rows, vec![3, 4, 5, 6, 7], "{e}");
    }
}
