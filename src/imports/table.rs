//! Turns a file's bytes into rows of text cells, each with its line (or sheet row) number,
//! whatever the container: CSV in UTF-8 (with or without BOM), UTF-16 with BOM, GBK where
//! the mapping allows it, or an XLSX/XLS workbook (first sheet). Everything after this works
//! on the same `Row`s, so CSV and Excel files are validated by one code path.

use std::io::Cursor;

use calamine::{Data, Reader, Xls, XlsError, Xlsx};

use super::gbk;

/// One row of the file: its 1-based line (CSV) or sheet row (Excel), and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

impl Row {
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| c.trim().is_empty())
    }
}

/// A file read far enough to know what it is: a workbook's rows already, or text still to
/// decode (the right text encoding depends on the channel).
pub(crate) enum Loaded {
    Rows(Vec<Row>),
    Text(Vec<u8>),
}

/// Which text encoding a CSV was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextEncoding {
    Utf8,
    Utf16,
    Gbk,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const CFB_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

pub(crate) const PASSWORD_MESSAGE: &str =
    "the file is password-protected: open it in Excel and save without a password";

/// Matches a header title loosely: case, spaces and a BOM do not matter.
pub(crate) fn normalize_title(title: &str) -> String {
    title
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Sorts a file into workbook or text, reading a workbook's first sheet. The error is a
/// whole-file problem message.
pub(crate) fn load(file_name: &str, bytes: &[u8]) -> Result<Loaded, String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the file is empty".to_string());
    }
    let lower = file_name.to_ascii_lowercase();
    if bytes.starts_with(CFB_MAGIC) {
        // An encrypted XLSX is an OLE compound file holding an `EncryptedPackage` stream; a
        // plain one is a legacy XLS workbook.
        if contains_utf16(bytes, "EncryptedPackage") || contains_utf16(bytes, "EncryptionInfo") {
            return Err(PASSWORD_MESSAGE.to_string());
        }
        return read_xls(bytes).map(Loaded::Rows);
    }
    if bytes.starts_with(ZIP_MAGIC) || lower.ends_with(".xlsx") || lower.ends_with(".xlsm") {
        return read_xlsx(bytes).map(Loaded::Rows);
    }
    Ok(Loaded::Text(bytes.to_vec()))
}

fn contains_utf16(haystack: &[u8], needle: &str) -> bool {
    let needle: Vec<u8> = needle.encode_utf16().flat_map(u16::to_le_bytes).collect();
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let mut book = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| format!("cannot read the file as an XLSX workbook: {e}"))?;
    match book.worksheet_range_at(0) {
        None => Err("the workbook has no sheet".to_string()),
        Some(Err(e)) => Err(format!("cannot read the first sheet: {e}")),
        Some(Ok(range)) => Ok(range_rows(&range)),
    }
}

fn read_xls(bytes: &[u8]) -> Result<Vec<Row>, String> {
    let mut book = match Xls::new(Cursor::new(bytes)) {
        Ok(book) => book,
        Err(XlsError::Password) => return Err(PASSWORD_MESSAGE.to_string()),
        Err(e) => return Err(format!("cannot read the file as an XLS workbook: {e}")),
    };
    match book.worksheet_range_at(0) {
        None => Err("the workbook has no sheet".to_string()),
        Some(Err(XlsError::Password)) => Err(PASSWORD_MESSAGE.to_string()),
        Some(Err(e)) => Err(format!("cannot read the first sheet: {e}")),
        Some(Ok(range)) => Ok(range_rows(&range)),
    }
}

/// A calamine range starts at its first used cell; rows and columns are re-based so that
/// `line` is the row number Excel shows and cell indices count from column A.
fn range_rows(range: &calamine::Range<Data>) -> Vec<Row> {
    let Some((first_row, first_col)) = range.start() else {
        return Vec::new();
    };
    range
        .rows()
        .enumerate()
        .map(|(i, cells)| {
            let mut row = vec![String::new(); first_col as usize];
            row.extend(cells.iter().map(cell_text));
            Row {
                line: first_row as usize + i + 1,
                cells: row,
            }
        })
        .filter(|row| !row.is_blank())
        .collect()
}

/// A cell as the text a CSV of the same sheet would hold. Dates become
/// `YYYY-MM-DD HH:MM:SS` (local time, no offset), whole numbers lose their `.0`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _ms) = dt.to_ymd_hms_milli();
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
        }
        Data::DateTime(dt) => float_text(dt.as_f64()),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// Whole numbers are written without a fraction as long as an `f64` holds them exactly
/// (below 2^53), which covers 16-digit marketplace order numbers stored as numbers.
fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// Decodes CSV bytes. UTF-8 (BOM or not) and UTF-16 with a BOM are always accepted; GBK
/// only when `allow_gbk`, because Korean CP949 bytes would also "decode" as GBK, into
/// nonsense. The error is a whole-file problem message.
pub(crate) fn decode_text(bytes: &[u8], allow_gbk: bool) -> Result<(String, TextEncoding), String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_string(), TextEncoding::Utf8))
            .map_err(|e| not_text(rest, e.valid_up_to(), "UTF-8"));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes).map(|s| (s, TextEncoding::Utf16));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes).map(|s| (s, TextEncoding::Utf16));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), TextEncoding::Utf8)),
        Err(e) if !allow_gbk => Err(format!(
            "{}; Korean Excel saves CSV as CP949: save it as \"CSV UTF-8\" or as XLSX",
            not_text(bytes, e.valid_up_to(), "UTF-8")
        )),
        Err(_) => gbk::decode(bytes)
            .map(|s| (s, TextEncoding::Gbk))
            .map_err(|at| not_text(bytes, at, "UTF-8 or GBK")),
    }
}

fn not_text(bytes: &[u8], at: usize, wanted: &str) -> String {
    let line = bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1;
    format!("the file is not {wanted} text (first bad byte on line {line})")
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, String> {
    if !bytes.len().is_multiple_of(2) {
        return Err("the file is not valid UTF-16 text (odd length)".to_string());
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .map_err(|_| "the file is not valid UTF-16 text".to_string())
}

/// Splits decoded CSV text into rows. The delimiter is a comma unless the first line has
/// more tabs than commas (Excel's "Unicode text" export). Blank lines are dropped; a
/// quoted field may span lines, and the row keeps the line it starts on.
pub(crate) fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let tabs = first_line.matches('\t').count();
    let commas = first_line.matches(',').count();
    let delimiter = if tabs > commas { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("cannot read the CSV: {e}"))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let row = Row {
            line,
            cells: record.iter().map(str::to_string).collect(),
        };
        if !row.is_blank() {
            rows.push(row);
        }
    }
    Ok(rows)
}
