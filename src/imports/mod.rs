//! Marketplace and catalog files in, domain records out (`CatalogItem`, `OrderRecord`).
//!
//! A file is validated whole before anything is stored: every problem (line, column, what
//! is wrong) is collected and the file is refused unless there are none, so the caller can
//! write all records in one transaction and a file is never half-imported. Column mappings
//! are data (`mappings/*.toml`), because marketplaces rename and move columns; the code
//! only knows our fields. CSV and Excel files go through the same row checks. The formats
//! are described for users in `docs/imports.md`.

pub mod bill;
mod catalog;
mod gbk;
mod mapping;
mod orders;
mod shipments;
mod stock;
mod table;
mod values;

#[cfg(test)]
mod tests;

use std::fmt;

use jiff::tz::TimeZone;
use serde::Serialize;

use crate::domain::{CatalogItem, OrderRecord};

pub use shipments::read_shipments;
pub use stock::{read_bins, read_stock, BinLine};

use mapping::{detects, find_header, mappings, OrdersMapping};
use table::{Loaded, Row, TextEncoding};

/// One thing wrong with an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    pub file: String,
    /// The 1-based line in the file (the header is line 1 unless title rows sit above it),
    /// or the sheet row for a workbook. 0 means the file as a whole (unreadable, empty,
    /// password-protected, unknown format).
    pub row: usize,
    /// The column's header title as written in the file (or the expected title when the
    /// column is missing); empty when the problem is not about one column.
    pub column: String,
    pub message: String,
}

impl fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.row > 0 {
            write!(f, ":{}", self.row)?;
        }
        write!(f, ": ")?;
        if !self.column.is_empty() {
            write!(f, "column `{}`: ", self.column)?;
        }
        write!(f, "{}", self.message)
    }
}

/// A refused file: every problem found in it, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportError {
    pub problems: Vec<ImportProblem>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl ImportError {
    fn new(mut problems: Vec<ImportProblem>) -> Self {
        // Whole-file problems first, then by line; the sort is stable, so problems of one
        // line keep the column order they were found in.
        problems.sort_by_key(|p| p.row);
        ImportError { problems }
    }
}

/// Where an order file comes from, which decides its column mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The documented generic orders CSV (`docs/imports.md`).
    Generic,
    /// Naver Smartstore's order export.
    Smartstore,
    /// Taobao / Tmall seller order export.
    Taobao,
}

impl Channel {
    /// Parses a channel name as given on the command line or in the API.
    pub fn parse(s: &str) -> Option<Channel> {
        match s.trim().to_ascii_lowercase().as_str() {
            "generic" | "csv" => Some(Channel::Generic),
            "smartstore" | "naver" => Some(Channel::Smartstore),
            "taobao" | "tmall" => Some(Channel::Taobao),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Generic => "generic",
            Channel::Smartstore => "smartstore",
            Channel::Taobao => "taobao",
        }
    }

    fn mapping(self) -> &'static OrdersMapping {
        let m = mappings();
        match self {
            Channel::Generic => &m.generic,
            Channel::Smartstore => &m.smartstore,
            Channel::Taobao => &m.taobao,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Channels in the order detection tries them: the marketplaces first, because their
/// headers are distinctive, then the generic format.
const DETECTION_ORDER: [Channel; 3] = [Channel::Smartstore, Channel::Taobao, Channel::Generic];

/// Reads a catalog file (generic catalog CSV or XLSX). `Ok` only when the whole file is
/// valid.
pub fn read_catalog(file_name: &str, bytes: &[u8]) -> Result<Vec<CatalogItem>, ImportError> {
    let rows = match table::load(file_name, bytes) {
        Ok(Loaded::Rows(rows)) => rows,
        Ok(Loaded::Text(text)) => table::decode_text(&text, false)
            .and_then(|(text, _)| table::parse_csv(&text))
            .map_err(|m| ImportError::new(vec![whole_file(file_name, &m)]))?,
        Err(m) => return Err(ImportError::new(vec![whole_file(file_name, &m)])),
    };
    let (items, problems) = catalog::read(file_name, &rows, &mappings().catalog);
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(ImportError::new(problems))
    }
}

/// Reads an order file. With `channel` `None` the format is recognised from the headers.
/// `tz` is the warehouse's IANA zone, used for local times in the generic format (the
/// marketplace mappings name their own zone). `known_sku` says whether a SKU is in the
/// catalog. `Ok` only when the whole file is valid; rows the mapping says to skip (for
/// example cancelled or shipped orders) are left out without a problem.
pub fn read_orders(
    file_name: &str,
    bytes: &[u8],
    channel: Option<Channel>,
    tz: &str,
    known_sku: &dyn Fn(&str) -> bool,
) -> Result<Vec<OrderRecord>, ImportError> {
    let fail = |m: &str| ImportError::new(vec![whole_file(file_name, m)]);
    let (channel, rows) = rows_for(file_name, bytes, channel).map_err(|m| fail(&m))?;
    let mapping = channel.mapping();
    let zone_name = if mapping.time_zone.is_empty() {
        tz
    } else {
        mapping.time_zone.as_str()
    };
    let zone = TimeZone::get(zone_name).map_err(|_| {
        fail(&format!(
            "unknown time zone `{zone_name}` (expected an IANA name such as Asia/Seoul)"
        ))
    })?;
    let cx = orders::Context {
        file: file_name,
        mapping,
        zone: &zone,
        known_sku,
    };
    let (orders, problems) = orders::read(&cx, &rows);
    if problems.is_empty() {
        Ok(orders)
    } else {
        Err(ImportError::new(problems))
    }
}

/// Recognises an order file's format from its header row, or `None` if no mapping fits.
pub fn detect_channel(file_name: &str, bytes: &[u8]) -> Option<Channel> {
    rows_for(file_name, bytes, None).ok().map(|(c, _)| c)
}

/// Loads a file's rows for an order import and settles its channel. Text is decoded as the
/// channel allows: GBK only for mappings that say so (Taobao), and when detecting, a GBK
/// reading is kept only if it turns out to be such a file.
fn rows_for(
    file_name: &str,
    bytes: &[u8],
    channel: Option<Channel>,
) -> Result<(Channel, Vec<Row>), String> {
    let text = match table::load(file_name, bytes)? {
        Loaded::Rows(rows) => {
            let channel = match channel {
                Some(c) => c,
                None => detect(&rows).ok_or_else(unknown_format)?,
            };
            return Ok((channel, rows));
        }
        Loaded::Text(text) => text,
    };
    if let Some(c) = channel {
        let (text, _) = table::decode_text(&text, c.mapping().allow_gbk)?;
        return Ok((c, table::parse_csv(&text)?));
    }
    let (text, encoding) = table::decode_text(&text, true)?;
    let rows = table::parse_csv(&text)?;
    match detect(&rows) {
        Some(c) if encoding != TextEncoding::Gbk || c.mapping().allow_gbk => Ok((c, rows)),
        _ if encoding == TextEncoding::Gbk => Err(format!(
            "{} (the file is not UTF-8; if it is a Korean CP949 file, save it as \"CSV UTF-8\")",
            unknown_format()
        )),
        _ => Err(unknown_format()),
    }
}

fn detect(rows: &[Row]) -> Option<Channel> {
    DETECTION_ORDER.into_iter().find(|c| {
        let mapping = c.mapping();
        let specs = mapping.fields.all();
        let at = find_header(&specs, rows, mapping.header_search_rows);
        rows.get(at).is_some_and(|header| detects(mapping, header))
    })
}

fn unknown_format() -> String {
    "cannot tell the file's format from its headers: expected the generic orders CSV, a \
     Smartstore or a Taobao export (or name the channel)"
        .to_string()
}

/// A problem with the file as a whole.
fn whole_file(file: &str, message: &str) -> ImportProblem {
    ImportProblem {
        file: file.to_string(),
        row: 0,
        column: String::new(),
        message: message.to_string(),
    }
}
