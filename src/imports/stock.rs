//! Stock and bin files. A stock file (`packbench import stock FILE`) gives opening balances
//! or goods received, one line per SKU and bin: `sku,bin,qty[,reason]`. A bins file sets the
//! warehouse's locations: `code,zone,walk_seq,kind`. Both are checked whole first: every
//! problem is reported with its file, line and column, and nothing is stored unless there
//! are none. Headers may be in English, Korean or Chinese.

use std::collections::HashMap;

use crate::domain::ledger::{bin_kind, BinKind, StockLine};

use super::table::{self, normalize_title, Loaded, Row};
use super::values::parse_int;
use super::{whole_file, ImportError, ImportProblem};

/// A bins-file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinLine {
    pub code: String,
    pub zone: String,
    pub walk_seq: i64,
    pub kind: BinKind,
}

fn rows(file: &str, bytes: &[u8]) -> Result<Vec<Row>, ImportError> {
    let fail = |m: &str| ImportError::new(vec![whole_file(file, m)]);
    match table::load(file, bytes).map_err(|m| fail(&m))? {
        Loaded::Rows(r) => Ok(r),
        Loaded::Text(t) => table::decode_text(&t, false)
            .and_then(|(text, _)| table::parse_csv(&text))
            .map_err(|m| fail(&m)),
    }
}

/// Finds each wanted column (by any of its titles) in the first non-blank row.
fn header(
    file: &str,
    rows: &[Row],
    wanted: &[(&str, &[&str], bool)],
) -> Result<(usize, Vec<Option<usize>>), ImportError> {
    let at = rows
        .iter()
        .position(|r| !r.is_blank())
        .ok_or_else(|| ImportError::new(vec![whole_file(file, "the file has no rows")]))?;
    let titles: HashMap<String, usize> = rows[at]
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (normalize_title(c), i))
        .collect();
    let mut cols = Vec::new();
    let mut problems = Vec::new();
    for (name, aliases, required) in wanted {
        let found = aliases
            .iter()
            .find_map(|a| titles.get(&normalize_title(a)).copied());
        if found.is_none() && *required {
            problems.push(ImportProblem {
                file: file.into(),
                row: rows[at].line,
                column: (*name).into(),
                message: format!("the column `{name}` is missing"),
            });
        }
        cols.push(found);
    }
    if problems.is_empty() {
        Ok((at, cols))
    } else {
        Err(ImportError::new(problems))
    }
}

fn cell(row: &Row, col: Option<usize>) -> String {
    col.and_then(|i| row.cells.get(i))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

const SKU: &[&str] = &["sku", "상품코드", "商品编码", "货号"];
const BIN: &[&str] = &["bin", "location", "위치", "로케이션", "库位", "货位"];
const QTY: &[&str] = &["qty", "quantity", "수량", "数量"];
const REASON: &[&str] = &["reason", "사유", "原因", "备注"];

/// Reads a stock file. `known_sku` says whether a SKU is in the catalog.
pub fn read_stock(
    file: &str,
    bytes: &[u8],
    known_sku: &dyn Fn(&str) -> bool,
) -> Result<Vec<StockLine>, ImportError> {
    let rows = rows(file, bytes)?;
    let (at, cols) = header(
        file,
        &rows,
        &[
            ("sku", SKU, true),
            ("bin", BIN, true),
            ("qty", QTY, true),
            ("reason", REASON, false),
        ],
    )?;
    let title = |i: usize| ["sku", "bin", "qty", "reason"][i].to_string();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for row in rows[at + 1..].iter().filter(|r| !r.is_blank()) {
        let mut report = |i: usize, message: String| {
            problems.push(ImportProblem {
                file: file.into(),
                row: row.line,
                column: title(i),
                message,
            })
        };
        let sku = cell(row, cols[0]);
        if sku.is_empty() {
            report(0, "SKU is empty".into());
        } else if !known_sku(&sku) {
            report(0, format!("SKU `{sku}` is not in the catalog"));
        }
        let bin = cell(row, cols[1]);
        if bin.is_empty() {
            report(1, "bin is empty".into());
        } else if bin.len() > 64 || bin.chars().any(char::is_control) {
            report(1, format!("bin `{bin}` is not a bin code"));
        }
        let qty_text = cell(row, cols[2]);
        let qty = match parse_int(&qty_text) {
            Some(q) if q > 0 => q,
            _ => {
                report(
                    2,
                    format!("quantity `{qty_text}` is not a whole number above 0"),
                );
                0
            }
        };
        out.push(StockLine {
            sku,
            bin,
            qty,
            reason: cell(row, cols[3]),
        });
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(whole_file(file, "the file has a header but no lines"));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ImportError::new(problems))
    }
}

const CODE: &[&str] = &[
    "code",
    "bin",
    "location",
    "위치",
    "로케이션",
    "库位",
    "货位",
];
const ZONE: &[&str] = &["zone", "구역", "区域"];
const WALK: &[&str] = &["walk_seq", "walk", "순서", "顺序"];
const KIND: &[&str] = &["kind", "type", "종류", "类型"];

/// Reads a bins file.
pub fn read_bins(file: &str, bytes: &[u8]) -> Result<Vec<BinLine>, ImportError> {
    let rows = rows(file, bytes)?;
    let (at, cols) = header(
        file,
        &rows,
        &[
            ("code", CODE, true),
            ("zone", ZONE, false),
            ("walk_seq", WALK, false),
            ("kind", KIND, false),
        ],
    )?;
    let title = |i: usize| ["code", "zone", "walk_seq", "kind"][i].to_string();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in rows[at + 1..].iter().filter(|r| !r.is_blank()) {
        let mut report = |i: usize, message: String| {
            problems.push(ImportProblem {
                file: file.into(),
                row: row.line,
                column: title(i),
                message,
            })
        };
        let code = cell(row, cols[0]);
        if code.is_empty() {
            report(0, "bin code is empty".into());
        } else if let Some(first) = seen.get(&code) {
            report(0, format!("bin `{code}` is already on line {first}"));
        } else {
            seen.insert(code.clone(), row.line);
        }
        let walk_text = cell(row, cols[2]);
        let walk_seq = if walk_text.is_empty() {
            0
        } else {
            match parse_int(&walk_text) {
                Some(n) if n >= 0 => n,
                _ => {
                    report(
                        2,
                        format!("walk sequence `{walk_text}` is not a whole number (0 or more)"),
                    );
                    0
                }
            }
        };
        let kind_text = cell(row, cols[3]);
        let kind = bin_kind(&kind_text).unwrap_or_else(|| {
            report(
                3,
                format!(
                    "kind `{kind_text}` is not one of pick, reserve, receiving, quarantine, staging"
                ),
            );
            BinKind::Pick
        });
        out.push(BinLine {
            code,
            zone: cell(row, cols[1]),
            walk_seq,
            kind,
        });
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(whole_file(file, "the file has a header but no lines"));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ImportError::new(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stock_file_is_refused_whole_with_every_problem_located() {
        let known = |s: &str| s == "A";
        let ok = read_stock("s.csv", b"sku,bin,qty,reason\nA,A-1,5,opening\n", &known).unwrap();
        assert_eq!(ok[0].qty, 5);
        assert_eq!(ok[0].reason, "opening");
        let e = read_stock("s.csv", b"sku,bin,qty\nA,A-1,5\nB,,x\n", &known).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("s.csv:3: column `sku`: SKU `B` is not in the catalog"),
            "{text}"
        );
        assert!(
            text.contains("s.csv:3: column `bin`: bin is empty"),
            "{text}"
        );
        assert!(text.contains("s.csv:3: column `qty`"), "{text}");
        let e = read_stock("s.csv", "상품코드,위치\nA,A-1\n".as_bytes(), &known).unwrap_err();
        assert!(e.to_string().contains("`qty` is missing"), "{e}");
        let ok = read_stock("s.csv", "상품코드,위치,수량\nA,A-1,2\n".as_bytes(), &known).unwrap();
        assert_eq!(ok.len(), 1);
    }

    #[test]
    fn a_bins_file_sets_zone_walk_and_kind() {
        let b = read_bins(
            "b.csv",
            b"code,zone,walk_seq,kind\nA-1,A,2,pick\nQ-1,Q,,quarantine\n",
        )
        .unwrap();
        assert_eq!(b[1].kind, BinKind::Quarantine);
        assert_eq!(b[0].walk_seq, 2);
        let e = read_bins("b.csv", b"code,kind\nA-1,shelf\nA-1,\n").unwrap_err();
        assert_eq!(e.problems.len(), 2, "{e}");
    }
}
