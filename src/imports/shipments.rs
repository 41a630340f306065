//! Shipment history from another system (`packbench import shipments FILE`): the generic
//! CSV (or XLSX) `waybill,courier,shipped_at,order_no,weight_g,size_class,postcode,status`,
//! so a business can search and reconcile its months before packbench. Checked whole first:
//! every problem is reported with its file, line and column (a waybill twice in the file, or
//! already in the archive, is one), and nothing is stored unless there are none. Headers may
//! be in English, Korean or Chinese; `docs/imports.md` describes the format.

use std::collections::{HashMap, HashSet};

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::table::{self, normalize_title, Loaded, Row};
use super::values::parse_int;
use super::{whole_file, ImportError, ImportProblem};
use crate::storage::archive::{ImportedShipment, STATUSES};

/// The columns: our name, the titles accepted for it, and whether it must be there.
const COLUMNS: [(&str, &[&str], bool); 8] = [
    (
        "waybill",
        &[
            "waybill",
            "운송장번호",
            "송장번호",
            "운송장",
            "运单号",
            "快递单号",
        ],
        true,
    ),
    (
        "courier",
        &["courier", "택배사", "택배사코드", "快递公司", "快递"],
        true,
    ),
    (
        "shipped_at",
        &["shipped_at", "발송일시", "발송일", "出库时间", "发货时间"],
        true,
    ),
    ("order_no", &["order_no", "주문번호", "订单号"], false),
    ("weight_g", &["weight_g", "중량", "무게", "重量"], false),
    (
        "size_class",
        &["size_class", "크기", "규격", "尺寸", "规格"],
        false,
    ),
    ("postcode", &["postcode", "우편번호", "邮编"], false),
    ("status", &["status", "상태", "状态"], false),
];

/// The longest waybill accepted (couriers' numbers are 10 to 15 digits; room for prefixes).
const MAX_WAYBILL: usize = 40;

/// Reads a history file. `tz` is the warehouse's IANA zone, for local `shipped_at` values.
/// `courier` maps a courier as written (code or name) to our code, `None` if unknown;
/// `in_archive` says whether a waybill is already recorded.
pub fn read_shipments(
    file: &str,
    bytes: &[u8],
    tz: &str,
    courier: &dyn Fn(&str) -> Option<String>,
    in_archive: &dyn Fn(&[String]) -> HashSet<String>,
) -> Result<Vec<ImportedShipment>, ImportError> {
    let fail = |m: &str| ImportError::new(vec![whole_file(file, m)]);
    let zone = TimeZone::get(tz).map_err(|_| fail(&format!("unknown time zone `{tz}`")))?;
    let rows = match table::load(file, bytes).map_err(|m| fail(&m))? {
        Loaded::Rows(r) => r,
        Loaded::Text(t) => table::decode_text(&t, false)
            .and_then(|(text, _)| table::parse_csv(&text))
            .map_err(|m| fail(&m))?,
    };
    let at = rows
        .iter()
        .position(|r| !r.is_blank())
        .ok_or_else(|| fail("the file has no rows"))?;
    let titles: HashMap<String, usize> = rows[at]
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (normalize_title(c), i))
        .collect();
    let mut cols = Vec::new();
    let mut problems = Vec::new();
    for (name, aliases, required) in COLUMNS {
        let found = aliases
            .iter()
            .find_map(|a| titles.get(&normalize_title(a)).copied());
        if found.is_none() && required {
            problems.push(ImportProblem {
                file: file.into(),
                row: rows[at].line,
                column: name.into(),
                message: format!("the column `{name}` is missing"),
            });
        }
        cols.push(found);
    }
    if !problems.is_empty() {
        return Err(ImportError::new(problems));
    }
    let mut out = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for row in rows[at + 1..].iter().filter(|r| !r.is_blank()) {
        if let Some(s) = read_row(file, row, &cols, &zone, courier, &mut problems) {
            if let Some(first) = first_line.get(&s.waybill) {
                problems.push(ImportProblem {
                    file: file.into(),
                    row: row.line,
                    column: "waybill".into(),
                    message: format!(
                        "waybill `{}` is already on line {first} of this file",
                        s.waybill
                    ),
                });
            } else {
                first_line.insert(s.waybill.clone(), row.line);
                out.push(s);
            }
        }
    }
    if out.is_empty() && problems.is_empty() {
        problems.push(whole_file(file, "the file has a header but no shipments"));
    }
    let known = in_archive(&out.iter().map(|s| s.waybill.clone()).collect::<Vec<_>>());
    for s in out.iter().filter(|s| known.contains(&s.waybill)) {
        problems.push(ImportProblem {
            file: file.into(),
            row: s.line,
            column: "waybill".into(),
            message: format!("waybill `{}` is already in the archive", s.waybill),
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ImportError::new(problems))
    }
}

fn cell(row: &Row, col: Option<usize>) -> String {
    col.and_then(|i| row.cells.get(i))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// One row, or `None` with its problems recorded.
fn read_row(
    file: &str,
    row: &Row,
    cols: &[Option<usize>],
    zone: &TimeZone,
    courier_of: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ImportProblem>,
) -> Option<ImportedShipment> {
    let before = problems.len();
    let mut report = |i: usize, message: String| {
        problems.push(ImportProblem {
            file: file.into(),
            row: row.line,
            column: COLUMNS[i].0.into(),
            message,
        })
    };
    let waybill: String = cell(row, cols[0])
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .collect();
    if waybill.is_empty() {
        report(0, "the waybill is empty".into());
    } else if waybill.len() > MAX_WAYBILL || !waybill.chars().all(|c| c.is_ascii_alphanumeric()) {
        report(
            0,
            format!(
                "`{waybill}` is not a waybill number (letters and digits, at most {MAX_WAYBILL})"
            ),
        );
    }
    let courier_text = cell(row, cols[1]);
    let courier = if courier_text.is_empty() {
        report(1, "the courier is empty".into());
        String::new()
    } else {
        match courier_of(&courier_text) {
            Some(c) => c,
            None => {
                report(1, format!("`{courier_text}` is not a courier packbench knows (use its code, e.g. cj, lotte, sf)"));
                String::new()
            }
        }
    };
    let shipped_text = cell(row, cols[2]);
    let (shipped_at, local_day) = match shipped_at(&shipped_text, zone) {
        Ok(v) => v,
        Err(m) => {
            report(2, m);
            (String::new(), String::new())
        }
    };
    let order_no = cell(row, cols[3]);
    if order_no.chars().any(char::is_control) || order_no.len() > 64 {
        report(3, format!("`{order_no}` is not an order number"));
    }
    let weight_text = cell(row, cols[4]);
    let weight_g = if weight_text.is_empty() {
        0
    } else {
        match parse_int(&weight_text) {
            Some(g) if (0..=1_000_000).contains(&g) => g,
            _ => {
                report(
                    4,
                    format!("`{weight_text}` is not a weight in whole grams (0 to 1000000)"),
                );
                0
            }
        }
    };
    let size_class = cell(row, cols[5]);
    if size_class.chars().count() > 16 || size_class.chars().any(char::is_control) {
        report(
            5,
            format!("`{size_class}` is not a size class (at most 16 characters)"),
        );
    }
    let postcode = cell(row, cols[6]);
    let postcode_ok = postcode.is_empty()
        || (matches!(postcode.len(), 5 | 6) && postcode.bytes().all(|b| b.is_ascii_digit()));
    if !postcode_ok {
        report(
            6,
            format!("`{postcode}` is not a postcode (5 digits in Korea, 6 in China)"),
        );
    }
    let status_text = cell(row, cols[7]).to_ascii_lowercase();
    let status = if status_text.is_empty() {
        "shipped".to_string()
    } else if STATUSES.contains(&status_text.as_str()) {
        status_text
    } else {
        report(
            7,
            format!(
                "`{status_text}` is not a status (one of {})",
                STATUSES.join(", ")
            ),
        );
        String::new()
    };
    if problems.len() > before {
        return None;
    }
    Some(ImportedShipment {
        line: row.line,
        waybill,
        courier,
        shipped_at,
        local_day,
        order_no,
        weight_g,
        size_class,
        postcode,
        status,
    })
}

/// `shipped_at` as UTC RFC 3339 and the warehouse's local date: RFC 3339 with an offset is
/// taken as is; `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` and `YYYY-MM-DD HH:MM:SS` (also with a `T`)
/// are local times in `zone` (a bare date is its midnight).
pub(crate) fn shipped_at(s: &str, zone: &TimeZone) -> Result<(String, String), String> {
    if s.is_empty() {
        return Err("shipped_at is empty".into());
    }
    let local_of = |ts: Timestamp| ts.to_zoned(zone.clone()).date().to_string();
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok((ts.to_string(), local_of(ts)));
    }
    let civil = if s.len() == 10 {
        s.parse::<Date>()
            .ok()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
    } else {
        [
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%dT%H:%M:%S",
        ]
        .iter()
        .find_map(|f| DateTime::strptime(f, s).ok())
    };
    let Some(civil) = civil else {
        return Err(format!(
            "cannot read `{s}` as a time (accepted: RFC 3339 such as 2026-03-01T09:30:00+09:00, \
             or local YYYY-MM-DD, YYYY-MM-DD HH:MM, YYYY-MM-DD HH:MM:SS)"
        ));
    };
    let ts = zone
        .to_timestamp(civil)
        .map_err(|e| format!("`{s}` is not a valid local time: {e}"))?;
    Ok((ts.to_string(), civil.date().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn couriers(s: &str) -> Option<String> {
        match s.to_ascii_lowercase().as_str() {
            "cj" | "cj대한통운" => Some("cj".into()),
            "lotte" => Some("lotte".into()),
            _ => None,
        }
    }

    fn none(_: &[String]) -> HashSet<String> {
        HashSet::new()
    }

    #[test]
    fn a_good_file_reads_with_local_and_offset_times() {
        let csv = "waybill,courier,shipped_at,order_no,weight_g,size_class,postcode,status\n\
                   3600-0000-0006,CJ,2026-03-01,A-1,1200,소,06236,shipped\n\
                   360000000017,lotte,2026-03-01 23:30,A-2,,,,lost\n\
                   360000000028,cj대한통운,2026-03-01T00:10:00+09:00,,500,M,310000,\n";
        let v = read_shipments("h.csv", csv.as_bytes(), "Asia/Seoul", &couriers, &none).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].waybill, "360000000006");
        assert_eq!(v[0].shipped_at, "2026-02-28T15:00:00Z");
        assert_eq!(v[0].local_day, "2026-03-01");
        assert_eq!(v[1].shipped_at, "2026-03-01T14:30:00Z");
        assert_eq!((v[1].status.as_str(), v[1].weight_g), ("lost", 0));
        assert_eq!(v[2].local_day, "2026-03-01");
        assert_eq!((v[2].status.as_str(), v[2].line), ("shipped", 4));
    }

    #[test]
    fn every_bad_row_is_named_by_line_and_column() {
        let csv = "waybill,courier,shipped_at,order_no,weight_g,size_class,postcode,status\n\
                   360000000006,cj,2026-03-01,A-1,100,,,\n\
                   360000000006,cj,2026-03-01,A-1,100,,,\n\
                   ,dhl,yesterday,A-3,1.5kg,,1234,gone\n";
        let in_archive = |w: &[String]| -> HashSet<String> {
            w.iter().filter(|w| w.ends_with("06")).cloned().collect()
        };
        let e = read_shipments(
            "h.csv",
            csv.as_bytes(),
            "Asia/Seoul",
            &couriers,
            &in_archive,
        )
        .unwrap_err();
        let got: Vec<(usize, &str)> = e
            .problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "waybill"),
                (3, "waybill"),
                (4, "waybill"),
                (4, "courier"),
                (4, "shipped_at"),
                (4, "weight_g"),
                (4, "postcode"),
                (4, "status"),
            ],
            "{e}"
        );
        assert!(
            e.problems[0].message.contains("already in the archive"),
            "{e}"
        );
        assert!(e.problems[1].message.contains("line 2"), "{e}");
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = read_shipments(
            "h.csv",
            b"waybill,shipped_at\n1,2026-01-01\n",
            "Asia/Seoul",
            &couriers,
            &none,
        )
        .unwrap_err();
        assert_eq!(e.problems.len(), 1, "{e}");
        assert_eq!(e.problems[0].column, "courier");
    }
}
