//! Marketplace dispatch files (발송처리 / 批量发货). Which columns a marketplace wants, how
//! it names each courier and how it takes an order shipped in several parcels are data
//! (`dispatch/*.toml`, embedded, and replaced by a file of the same name in a site's
//! folder), because those formats are partly unconfirmed and change. This module is pure:
//! the caller reads the parcels and writes the bytes.
//!
//! Bundles: a parcel carrying several orders gives one row per order, each with the same
//! waybill. Partial shipments: an order in several parcels gives either one row (its first
//! parcel, in the file of the day that parcel was packed) or one row per parcel, as the
//! format's `partial` says. Void parcels never reach this module.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

/// CSV or XLSX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetKind {
    Csv,
    Xlsx,
}

impl SheetKind {
    pub fn parse(s: &str) -> Option<SheetKind> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(SheetKind::Csv),
            "xlsx" => Some(SheetKind::Xlsx),
            _ => None,
        }
    }
}

/// A dispatch file ready to download.
#[derive(Debug, Clone)]
pub struct DispatchFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub content_type: &'static str,
    pub rows: usize,
}

/// The warehouse's local date `date` (today when `None`): the date as written and its
/// span as UTC instants `[start, end)`. Dispatch files and hand-overs select by it.
pub fn day_bounds(tz_name: &str, date: Option<&str>) -> Result<(String, String, String), String> {
    let tz = jiff::tz::TimeZone::get(tz_name).map_err(|e| format!("time zone {tz_name}: {e}"))?;
    let day: jiff::civil::Date = match date.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse()
            .map_err(|_| format!("`{d}` is not a date (YYYY-MM-DD)"))?,
        None => jiff::Timestamp::now().to_zoned(tz.clone()).date(),
    };
    let start = day.to_zoned(tz.clone()).map_err(|e| e.to_string())?;
    let next = day
        .tomorrow()
        .and_then(|d| d.to_zoned(tz))
        .map_err(|e| e.to_string())?;
    Ok((
        day.to_string(),
        start.timestamp().to_string(),
        next.timestamp().to_string(),
    ))
}

/// The local date (YYYY-MM-DD) of a stored UTC time.
pub fn local_date(tz_name: &str, at: &str) -> String {
    let tz = jiff::tz::TimeZone::get(tz_name).unwrap_or(jiff::tz::TimeZone::UTC);
    at.parse::<jiff::Timestamp>()
        .map(|t| t.to_zoned(tz).date().to_string())
        .unwrap_or_else(|_| at.get(..10).unwrap_or(at).to_string())
}

/// How a format lists an order that left in several parcels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Partial {
    /// One row per order: its first parcel, in the file of the day it was packed.
    FirstParcel,
    /// One row per (order, parcel), each in the file of the day the parcel was packed.
    EveryParcel,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub title: String,
    pub value: String,
}

/// One marketplace's dispatch file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchFormat {
    pub name: String,
    pub channel: String,
    pub sheet: String,
    #[serde(default)]
    pub csv_bom: bool,
    pub partial: Partial,
    #[serde(rename = "column")]
    pub columns: Vec<Column>,
    /// Our courier code → the marketplace's name or code for it.
    pub couriers: BTreeMap<String, String>,
}

/// The built-in formats, by name.
const EMBEDDED: &[(&str, &str)] = &[
    ("smartstore", include_str!("dispatch/smartstore.toml")),
    ("coupang", include_str!("dispatch/coupang.toml")),
    ("taobao", include_str!("dispatch/taobao.toml")),
];

/// The names of the formats there are.
pub fn format_names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(n, _)| *n).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error("no dispatch format `{0}`")]
    UnknownFormat(String),
    #[error("{file}: {message}")]
    BadFormat { file: String, message: String },
    #[error("{file}: courier `{courier}` of waybill {waybill} has no name under [couriers]")]
    UnmappedCourier {
        file: String,
        courier: String,
        waybill: String,
    },
    #[error("writing the {0} file: {1}")]
    Write(&'static str, String),
}

impl DispatchFormat {
    /// Parses a format file and checks every column's `value`.
    pub fn parse(file: &str, text: &str) -> Result<DispatchFormat, ExportError> {
        let f: DispatchFormat = toml::from_str(text).map_err(|e| ExportError::BadFormat {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        if f.columns.is_empty() {
            return Err(ExportError::BadFormat {
                file: file.into(),
                message: "no [[column]]".into(),
            });
        }
        for c in &f.columns {
            if Field::parse(&c.value).is_none() {
                return Err(ExportError::BadFormat {
                    file: file.into(),
                    message: format!(
                        "column `{}`: value `{}` is not order_no, waybill, courier, courier_code, \
                         packed_date or text:…",
                        c.title, c.value
                    ),
                });
            }
        }
        Ok(f)
    }

    /// The format `name`: `dir/dispatch/NAME.toml` when that file exists (a site's
    /// correction), else the built-in one.
    pub fn load(dir: Option<&Path>, name: &str) -> Result<DispatchFormat, ExportError> {
        let Some((_, text)) = EMBEDDED.iter().find(|(n, _)| *n == name) else {
            return Err(ExportError::UnknownFormat(name.to_string()));
        };
        if let Some(dir) = dir {
            let path = dir.join("dispatch").join(format!("{name}.toml"));
            if path.is_file() {
                let own = std::fs::read_to_string(&path).map_err(|e| ExportError::BadFormat {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?;
                return DispatchFormat::parse(&path.display().to_string(), &own);
            }
        }
        DispatchFormat::parse(&format!("dispatch/{name}.toml"), text)
    }
}

enum Field<'a> {
    OrderNo,
    Waybill,
    Courier,
    CourierCode,
    PackedDate,
    Text(&'a str),
}

impl Field<'_> {
    fn parse(v: &str) -> Option<Field<'_>> {
        Some(match v {
            "order_no" => Field::OrderNo,
            "waybill" => Field::Waybill,
            "courier" => Field::Courier,
            "courier_code" => Field::CourierCode,
            "packed_date" => Field::PackedDate,
            _ => Field::Text(v.strip_prefix("text:")?),
        })
    }
}

/// An (order, parcel) pair: every non-void parcel of the orders that had one packed in the
/// selected period, including their parcels packed outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    pub order_no: String,
    pub waybill: String,
    pub courier: String,
    /// The local date (YYYY-MM-DD) the parcel was packed.
    pub packed_date: String,
    /// Packed inside the selected period.
    pub in_period: bool,
    /// Orders before this one in time: the caller gives each order's parcels oldest first.
    pub order_seq: usize,
}

/// The rows of the file: which (order, parcel) pairs it lists, in order number order and
/// each order's parcels oldest first.
pub fn select(partial: Partial, parcels: &[Shipped]) -> Vec<Shipped> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut sorted: Vec<&Shipped> = parcels.iter().collect();
    sorted.sort_by(|a, b| (&a.order_no, a.order_seq).cmp(&(&b.order_no, b.order_seq)));
    for p in sorted {
        match partial {
            Partial::EveryParcel => {
                if p.in_period {
                    out.push(p.clone());
                }
            }
            Partial::FirstParcel => {
                // Only the order's first parcel counts; it is listed when it falls in the
                // period (otherwise the order was dispatched in an earlier file).
                if seen.insert(p.order_no.clone()) && p.in_period {
                    out.push(p.clone());
                }
            }
        }
    }
    out
}

/// The header and cells of the file, every value as text.
pub fn table(
    format: &DispatchFormat,
    file: &str,
    rows: &[Shipped],
) -> Result<Vec<Vec<String>>, ExportError> {
    let mut out = vec![format.columns.iter().map(|c| c.title.clone()).collect()];
    for r in rows {
        let mut line = Vec::with_capacity(format.columns.len());
        for c in &format.columns {
            let v = match Field::parse(&c.value) {
                Some(Field::OrderNo) => r.order_no.clone(),
                Some(Field::Waybill) => r.waybill.clone(),
                Some(Field::CourierCode) => r.courier.clone(),
                Some(Field::PackedDate) => r.packed_date.clone(),
                Some(Field::Text(t)) => t.to_string(),
                Some(Field::Courier) => {
                    format.couriers.get(&r.courier).cloned().ok_or_else(|| {
                        ExportError::UnmappedCourier {
                            file: file.to_string(),
                            courier: r.courier.clone(),
                            waybill: r.waybill.clone(),
                        }
                    })?
                }
                None => {
                    return Err(ExportError::BadFormat {
                        file: file.to_string(),
                        message: format!("column `{}`: bad value `{}`", c.title, c.value),
                    })
                }
            };
            line.push(v);
        }
        out.push(line);
    }
    Ok(out)
}

/// Does a spreadsheet program read this cell as a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return before one)?
pub fn looks_like_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A CSV cell that never becomes a formula: such a value gets a leading apostrophe, the
/// spreadsheet programs' own "this is text" mark.
pub fn escape_csv_cell(s: &str) -> String {
    if looks_like_formula(s) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// The table as CSV (RFC 4180 quoting, CRLF, a UTF-8 byte order mark when asked).
pub fn to_csv(table: &[Vec<String>], bom: bool) -> Result<Vec<u8>, ExportError> {
    let mut buf = Vec::new();
    if bom {
        buf.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(buf);
    for row in table {
        w.write_record(row.iter().map(|c| escape_csv_cell(c)))
            .map_err(|e| ExportError::Write("CSV", e.to_string()))?;
    }
    w.into_inner()
        .map_err(|e| ExportError::Write("CSV", e.to_string()))
}

/// The table as an XLSX workbook of one sheet. Every cell is a text cell (order and
/// waybill numbers keep their digits and leading zeros); a value that looks like a formula
/// is also marked with Excel's quote prefix, so editing the cell never turns it into one.
pub fn to_xlsx(table: &[Vec<String>], sheet: &str) -> Result<Vec<u8>, ExportError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| ExportError::Write("XLSX", e.to_string());
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(err)?;
    let header = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let quoted = Format::new().set_num_format("@").set_quote_prefix();
    for (r, row) in table.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            let f = if r == 0 {
                &header
            } else if looks_like_formula(v) {
                &quoted
            } else {
                &text
            };
            ws.write_string_with_format(r as u32, c as u16, v, f)
                .map_err(err)?;
        }
    }
    for c in 0..table.first().map_or(0, Vec::len) {
        let widest = table
            .iter()
            .filter_map(|row| row.get(c))
            .map(|v| v.chars().count())
            .max()
            .unwrap_or(8);
        ws.set_column_width(c as u16, (widest as f64 * 1.6 + 2.0).min(60.0))
            .map_err(err)?;
    }
    wb.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(order: &str, wb: &str, seq: usize, in_period: bool) -> Shipped {
        Shipped {
            order_no: order.into(),
            waybill: wb.into(),
            courier: "lotte".into(),
            packed_date: "2026-11-23".into(),
            in_period,
            order_seq: seq,
        }
    }

    #[test]
    fn a_local_day_is_its_utc_span() {
        let (day, from, to) = day_bounds("Asia/Seoul", Some("2026-11-23")).unwrap();
        assert_eq!(day, "2026-11-23");
        assert_eq!(from, "2026-11-22T15:00:00Z");
        assert_eq!(to, "2026-11-23T15:00:00Z");
        assert!(day_bounds("Asia/Seoul", Some("23/11/2026")).is_err());
        assert_eq!(
            local_date("Asia/Seoul", "2026-11-22T15:00:00.5Z"),
            "2026-11-23"
        );
        assert_eq!(
            local_date("Asia/Seoul", "2026-11-22T14:59:59Z"),
            "2026-11-22"
        );
    }

    #[test]
    fn every_built_in_format_parses_and_maps_the_usual_couriers() {
        for name in format_names() {
            let f = DispatchFormat::load(None, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(f.name, name);
            for courier in ["cj", "hanjin", "lotte", "epost", "logen"] {
                assert!(f.couriers.contains_key(courier), "{name} lacks {courier}");
            }
        }
        assert!(matches!(
            DispatchFormat::load(None, "ebay"),
            Err(ExportError::UnknownFormat(_))
        ));
    }

    #[test]
    fn bundles_and_partial_shipments_follow_the_format() {
        // share a parcel (a bundle); B-1 left in two parcels, the first one on
        // an earlier day; C-1 in two parcels on the same day.
        let parcels = vec![
            p("A-1", "W1", 0, true),
            p("A-2", "W1", 0, true),
            p("B-1", "W0", 0, false),
            p("B-1", "W2", 1, true),
            p("C-1", "W3", 0, true),
            p("C-1", "W4", 1, true),
        ];
        let rows = |partial| -> Vec<(String, String)> {
            select(partial, &parcels)
                .into_iter()
                .map(|s| (s.order_no, s.waybill))
                .collect()
        };
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            rows(Partial::FirstParcel),
            vec![pair("A-1", "W1"), pair("A-2", "W1"), pair("C-1", "W3")]
        );
        assert_eq!(
            rows(Partial::EveryParcel),
            vec![
                pair("A-1", "W1"),
                pair("A-2", "W1"),
                pair("B-1", "W2"),
                pair("C-1", "W3"),
                pair("C-1", "W4")
            ]
        );
    }

    #[test]
    fn cells_that_look_like_formulas_stay_text() {
        for (raw, want) in [
            ("=1+1", "'=1+1"),
            ("+82", "'+82"),
            ("-5", "'-5"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=x", "'\t=x"),
            ("600010000001", "600010000001"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(escape_csv_cell(raw), want, "{raw:?}");
        }
        let csv = to_csv(&[vec!["h".into()], vec!["=HYPERLINK(\"x\")".into()]], false).unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "h\r\n\"'=HYPERLINK(\"\"x\"\")\"\r\n"
        );
    }

    #[test]
    fn an_unmapped_courier_is_named_with_its_waybill() {
        let f = DispatchFormat::load(None, "coupang").unwrap();
        let mut r = p("A-1", "SF123", 0, true);
        r.courier = "sf".into();
        let e = table(&f, "dispatch/coupang.toml", &[r]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "dispatch/coupang.toml: courier `sf` of waybill SF123 has no name under [couriers]"
        );
    }

    #[test]
    fn a_format_with_a_bad_value_is_refused_with_the_column() {
        let e = DispatchFormat::parse(
            "x.toml",
            "name='x'\nchannel='x'\nsheet='s'\npartial='first_parcel'\n[[column]]\ntitle='A'\nvalue='orderno'\n[couriers]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("column `A`"), "{e}");
    }
}
