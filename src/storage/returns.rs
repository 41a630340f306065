//! SQL of receiving and of returns and exchanges: receipts with their expected lines and
//! scans, returns with their inspected lines, photos, courier claim drafts, exchanges and
//! the order links that put all of it on an order's history. Stock itself moves only
//! through `ledger::post`, in the same write job as these rows.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{Event, Result};

// ----- receiving ---------------------------------------------------------------------------

/// A delivery being counted in.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    pub id: i64,
    pub number: String,
    pub supplier: String,
    pub bin: String,
    pub status: String,
    pub opened_at: String,
    pub opened_by: String,
    pub closed_at: Option<String>,
    pub closed_by: String,
    pub posting: i64,
}

/// One scan of a receipt (`sku` empty for a code nobody knows).
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptScan {
    pub id: i64,
    pub at: String,
    pub operator: String,
    pub code: String,
    pub sku: String,
    pub bin: String,
    pub qty: i64,
}

/// Numbers a new document of the day: `PREFIX-YYYYMMDD-N`.
fn next_number(c: &Connection, table: &str, prefix: &str, day: &str) -> Result<String> {
    let like = format!("{prefix}-{day}-%");
    let n: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE number LIKE ?1"),
        [&like],
        |r| r.get(0),
    )?;
    Ok(format!("{prefix}-{day}-{}", n + 1))
}

/// Opens a receipt with its expected lines; returns its id and number.
pub fn create_receipt(
    c: &Connection,
    day: &str,
    supplier: &str,
    bin: &str,
    expected: &BTreeMap<String, i64>,
    at: &str,
    by: &str,
) -> Result<(i64, String)> {
    let number = next_number(c, "receipts", "RC", day)?;
    c.execute(
        "INSERT INTO receipts (number, supplier, bin, opened_at, opened_by) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![number, supplier, bin, at, by],
    )?;
    let id = c.last_insert_rowid();
    for (sku, qty) in expected {
        c.execute(
            "INSERT INTO receipt_expected (receipt_id, sku, qty) VALUES (?1, ?2, ?3)",
            params![id, sku, qty],
        )?;
    }
    Ok((id, number))
}

fn receipt_row(r: &rusqlite::Row) -> rusqlite::Result<Receipt> {
    Ok(Receipt {
        id: r.get(0)?,
        number: r.get(1)?,
        supplier: r.get(2)?,
        bin: r.get(3)?,
        status: r.get(4)?,
        opened_at: r.get(5)?,
        opened_by: r.get(6)?,
        closed_at: r.get(7)?,
        closed_by: r.get(8)?,
        posting: r.get(9)?,
    })
}

const RECEIPT_COLS: &str =
    "id, number, supplier, bin, status, opened_at, opened_by, closed_at, closed_by, posting";

pub fn get_receipt(c: &Connection, id: i64) -> Result<Option<Receipt>> {
    Ok(c.query_row(
        &format!("SELECT {RECEIPT_COLS} FROM receipts WHERE id = ?1"),
        [id],
        receipt_row,
    )
    .optional()?)
}

/// The newest receipts first.
pub fn list_receipts(c: &Connection, limit: i64) -> Result<Vec<Receipt>> {
    let mut st = c.prepare(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts ORDER BY id DESC LIMIT ?1"
    ))?;
    let v = st
        .query_map([limit], receipt_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

pub fn receipt_expected(c: &Connection, id: i64) -> Result<BTreeMap<String, i64>> {
    let mut st = c.prepare_cached("SELECT sku, qty FROM receipt_expected WHERE receipt_id = ?1")?;
    let v = st
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<BTreeMap<String, i64>>>()?;
    Ok(v)
}

pub fn receipt_scans(c: &Connection, id: i64) -> Result<Vec<ReceiptScan>> {
    let mut st = c.prepare_cached(
        "SELECT id, at, operator, code, sku, bin, qty FROM receipt_scans WHERE receipt_id = ?1 ORDER BY id",
    )?;
    let v = st
        .query_map([id], |r| {
            Ok(ReceiptScan {
                id: r.get(0)?,
                at: r.get(1)?,
                operator: r.get(2)?,
                code: r.get(3)?,
                sku: r.get(4)?,
                bin: r.get(5)?,
                qty: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

#[allow(clippy::too_many_arguments)]
pub fn add_receipt_scan(
    c: &Connection,
    id: i64,
    at: &str,
    operator: &str,
    code: &str,
    sku: &str,
    bin: &str,
    qty: i64,
) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO receipt_scans (receipt_id, at, operator, code, sku, bin, qty)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![id, at, operator, code, sku, bin, qty])?;
    Ok(c.last_insert_rowid())
}

pub fn set_receipt_bin(c: &Connection, id: i64, bin: &str) -> Result<()> {
    c.execute(
        "UPDATE receipts SET bin = ?2 WHERE id = ?1",
        params![id, bin],
    )?;
    Ok(())
}

pub fn close_receipt(c: &Connection, id: i64, at: &str, by: &str, posting: i64) -> Result<()> {
    c.execute(
        "UPDATE receipts SET status = 'closed', closed_at = ?2, closed_by = ?3, posting = ?4 WHERE id = ?1",
        params![id, at, by, posting],
    )?;
    Ok(())
}

// ----- returns -----------------------------------------------------------------------------

/// A returned parcel under inspection.
#[derive(Debug, Clone, Serialize)]
pub struct Return {
    pub id: i64,
    pub number: String,
    pub waybill: String,
    pub return_waybill: String,
    pub scanned: String,
    pub status: String,
    pub station: String,
    pub opened_at: String,
    pub opened_by: String,
    pub closed_at: Option<String>,
    pub closed_by: String,
}

/// One inspected line of a return.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReturnLine {
    pub id: i64,
    pub return_id: i64,
    pub order_no: String,
    pub sku: String,
    pub qty: i64,
    pub condition: String,
    pub outcome: String,
    pub bin: String,
    pub reason: String,
    pub fault: String,
    pub photos: Vec<String>,
    pub posting: i64,
    pub exchange_order: String,
    pub at: String,
    pub operator: String,
}

const RETURN_COLS: &str = "id, number, waybill, return_waybill, scanned, status, station, opened_at, opened_by, closed_at, closed_by";

fn return_row(r: &rusqlite::Row) -> rusqlite::Result<Return> {
    Ok(Return {
        id: r.get(0)?,
        number: r.get(1)?,
        waybill: r.get(2)?,
        return_waybill: r.get(3)?,
        scanned: r.get(4)?,
        status: r.get(5)?,
        station: r.get(6)?,
        opened_at: r.get(7)?,
        opened_by: r.get(8)?,
        closed_at: r.get(9)?,
        closed_by: r.get(10)?,
    })
}

#[allow(clippy::too_many_arguments)]
pub fn create_return(
    c: &Connection,
    day: &str,
    waybill: &str,
    return_waybill: &str,
    scanned: &str,
    station: &str,
    at: &str,
    by: &str,
) -> Result<(i64, String)> {
    let number = next_number(c, "returns", "RT", day)?;
    c.execute(
        "INSERT INTO returns (number, waybill, return_waybill, scanned, station, opened_at, opened_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![number, waybill, return_waybill, scanned, station, at, by],
    )?;
    Ok((c.last_insert_rowid(), number))
}

pub fn get_return(c: &Connection, id: i64) -> Result<Option<Return>> {
    Ok(c.query_row(
        &format!("SELECT {RETURN_COLS} FROM returns WHERE id = ?1"),
        [id],
        return_row,
    )
    .optional()?)
}

/// The open return of an original waybill, if one is being inspected.
pub fn open_return_of(c: &Connection, waybill: &str) -> Result<Option<Return>> {
    Ok(c.query_row(
        &format!("SELECT {RETURN_COLS} FROM returns WHERE waybill = ?1 AND status = 'open' ORDER BY id DESC LIMIT 1"),
        [waybill],
        return_row,
    )
    .optional()?)
}

/// The original waybill a return waybill was recorded against.
pub fn waybill_of_return_waybill(c: &Connection, return_waybill: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT waybill FROM returns WHERE return_waybill = ?1 ORDER BY id DESC LIMIT 1",
        [return_waybill],
        |r| r.get(0),
    )
    .optional()?)
}

/// Returns by status (`open`, `closed`, or every one), newest first.
pub fn list_returns(c: &Connection, status: Option<&str>, limit: i64) -> Result<Vec<Return>> {
    let mut st = c.prepare(&format!(
        "SELECT {RETURN_COLS} FROM returns WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"
    ))?;
    let v = st
        .query_map(params![status, limit], return_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

pub fn close_return(c: &Connection, id: i64, at: &str, by: &str) -> Result<()> {
    c.execute(
        "UPDATE returns SET status = 'closed', closed_at = ?2, closed_by = ?3 WHERE id = ?1",
        params![id, at, by],
    )?;
    Ok(())
}

fn line_row(r: &rusqlite::Row) -> rusqlite::Result<ReturnLine> {
    let photos: String = r.get(10)?;
    Ok(ReturnLine {
        id: r.get(0)?,
        return_id: r.get(1)?,
        order_no: r.get(2)?,
        sku: r.get(3)?,
        qty: r.get(4)?,
        condition: r.get(5)?,
        outcome: r.get(6)?,
        bin: r.get(7)?,
        reason: r.get(8)?,
        fault: r.get(9)?,
        photos: serde_json::from_str(&photos).unwrap_or_default(),
        posting: r.get(11)?,
        exchange_order: r.get(12)?,
        at: r.get(13)?,
        operator: r.get(14)?,
    })
}

const LINE_COLS: &str = "id, return_id, order_no, sku, qty, condition, outcome, bin, reason, fault, photos, posting, exchange_order, at, operator";

pub fn return_lines(c: &Connection, return_id: i64) -> Result<Vec<ReturnLine>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {LINE_COLS} FROM return_lines WHERE return_id = ?1 ORDER BY id"
    ))?;
    let v = st
        .query_map([return_id], line_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// Units of `sku` of `order_no` already inspected on any return.
pub fn returned_qty(c: &Connection, order_no: &str, sku: &str) -> Result<i64> {
    Ok(c.prepare_cached(
        "SELECT COALESCE(SUM(qty), 0) FROM return_lines WHERE order_no = ?1 AND sku = ?2",
    )?
    .query_row(params![order_no, sku], |r| r.get(0))?)
}

/// Records an inspected line (its stock posting is made by the caller in the same job).
pub fn insert_return_line(c: &Connection, l: &ReturnLine) -> Result<i64> {
    c.execute(
        "INSERT INTO return_lines (return_id, order_no, sku, qty, condition, outcome, bin, reason, fault,
                                   photos, posting, exchange_order, at, operator)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            l.return_id,
            l.order_no,
            l.sku,
            l.qty,
            l.condition,
            l.outcome,
            l.bin,
            l.reason,
            l.fault,
            serde_json::to_string(&l.photos).unwrap_or_else(|_| "[]".into()),
            l.posting,
            l.exchange_order,
            l.at,
            l.operator
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// Sets an order's flag (a return marks it purple, an exchange order is blue or on hold).
pub fn set_order_flag(c: &Connection, order_no: &str, flag: crate::domain::Flag) -> Result<()> {
    c.execute(
        "UPDATE orders SET flag = ?2 WHERE order_no = ?1",
        params![order_no, flag.as_str()],
    )?;
    Ok(())
}

/// The shipment's items of one order: what each of its order's lines shipped, by SKU.
/// (A bundle's shipment items are per parcel; the order's own lines say which are its.)
pub fn order_line_qty(c: &Connection, order_no: &str) -> Result<BTreeMap<String, i64>> {
    let mut st =
        c.prepare_cached("SELECT sku, SUM(qty) FROM order_lines WHERE order_no = ?1 GROUP BY sku")?;
    let v = st
        .query_map([order_no], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<BTreeMap<String, i64>>>()?;
    Ok(v)
}

// ----- photos ------------------------------------------------------------------------------

/// A stored photo.
#[derive(Debug, Clone, Serialize)]
pub struct Photo {
    pub sha256: String,
    pub path: String,
    pub content_type: String,
    pub bytes: i64,
    pub at: String,
}

pub fn insert_photo(c: &Connection, p: &Photo, operator: &str, return_id: i64) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO photos (sha256, path, content_type, bytes, at, operator, return_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            p.sha256,
            p.path,
            p.content_type,
            p.bytes,
            p.at,
            operator,
            return_id
        ],
    )?;
    Ok(())
}

pub fn get_photo(c: &Connection, sha256: &str) -> Result<Option<Photo>> {
    Ok(c.query_row(
        "SELECT sha256, path, content_type, bytes, at FROM photos WHERE sha256 = ?1",
        [sha256],
        |r| {
            Ok(Photo {
                sha256: r.get(0)?,
                path: r.get(1)?,
                content_type: r.get(2)?,
                bytes: r.get(3)?,
                at: r.get(4)?,
            })
        },
    )
    .optional()?)
}

// ----- claims ------------------------------------------------------------------------------

/// A claim against the courier, drafted at inspection.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimDraft {
    pub id: i64,
    pub return_id: i64,
    pub waybill: String,
    pub courier: String,
    pub reason: String,
    pub lines: serde_json::Value,
    pub photos: Vec<String>,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
}

/// Adds a line (and its photos) to the return's claim draft, creating the draft on first
/// use. Returns the draft's id.
#[allow(clippy::too_many_arguments)]
pub fn add_to_claim(
    c: &Connection,
    return_id: i64,
    waybill: &str,
    courier: &str,
    reason: &str,
    line: serde_json::Value,
    photos: &[String],
    at: &str,
    by: &str,
) -> Result<i64> {
    let existing: Option<(i64, String, String)> = c
        .query_row(
            "SELECT id, lines, photos FROM claim_drafts WHERE return_id = ?1",
            [return_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match existing {
        Some((id, lines, old)) => {
            let mut lines: Vec<serde_json::Value> =
                serde_json::from_str(&lines).unwrap_or_default();
            lines.push(line);
            let mut all: Vec<String> = serde_json::from_str(&old).unwrap_or_default();
            for p in photos {
                if !all.contains(p) {
                    all.push(p.clone());
                }
            }
            c.execute(
                "UPDATE claim_drafts SET lines = ?2, photos = ?3 WHERE id = ?1",
                params![
                    id,
                    serde_json::Value::from(lines).to_string(),
                    serde_json::to_string(&all).unwrap_or_default()
                ],
            )?;
            Ok(id)
        }
        None => {
            c.execute(
                "INSERT INTO claim_drafts (return_id, waybill, courier, reason, lines, photos, created_at, created_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    return_id,
                    waybill,
                    courier,
                    reason,
                    serde_json::Value::from(vec![line]).to_string(),
                    serde_json::to_string(photos).unwrap_or_default(),
                    at,
                    by
                ],
            )?;
            Ok(c.last_insert_rowid())
        }
    }
}

fn claim_row(r: &rusqlite::Row) -> rusqlite::Result<ClaimDraft> {
    let lines: String = r.get(5)?;
    let photos: String = r.get(6)?;
    Ok(ClaimDraft {
        id: r.get(0)?,
        return_id: r.get(1)?,
        waybill: r.get(2)?,
        courier: r.get(3)?,
        reason: r.get(4)?,
        lines: serde_json::from_str(&lines).unwrap_or_default(),
        photos: serde_json::from_str(&photos).unwrap_or_default(),
        status: r.get(7)?,
        created_at: r.get(8)?,
        created_by: r.get(9)?,
    })
}

const CLAIM_COLS: &str =
    "id, return_id, waybill, courier, reason, lines, photos, status, created_at, created_by";

/// Claim drafts, newest first (of one waybill when given).
pub fn claim_drafts(c: &Connection, waybill: Option<&str>) -> Result<Vec<ClaimDraft>> {
    let mut st = c.prepare(&format!(
        "SELECT {CLAIM_COLS} FROM claim_drafts WHERE (?1 IS NULL OR waybill = ?1) ORDER BY id DESC LIMIT 500"
    ))?;
    let v = st
        .query_map([waybill], claim_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

pub fn claim_of_return(c: &Connection, return_id: i64) -> Result<Option<ClaimDraft>> {
    Ok(c.query_row(
        &format!("SELECT {CLAIM_COLS} FROM claim_drafts WHERE return_id = ?1"),
        [return_id],
        claim_row,
    )
    .optional()?)
}

// ----- exchanges ---------------------------------------------------------------------------

/// An exchange order and what it replaces.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub order_no: String,
    pub original_order: String,
    pub original_waybill: String,
    pub return_id: i64,
    pub new_waybill: String,
    pub created_at: String,
}

pub fn insert_exchange(c: &Connection, e: &Exchange) -> Result<()> {
    c.execute(
        "INSERT INTO exchanges (order_no, original_order, original_waybill, return_id, new_waybill, created_at)
         VALUES (?1, ?2, ?3, ?4, '', ?5)",
        params![
            e.order_no,
            e.original_order,
            e.original_waybill,
            e.return_id,
            e.created_at
        ],
    )?;
    Ok(())
}

/// How many exchange orders an order already has (to number the next `ORDER-Xn`).
pub fn exchange_count(c: &Connection, original_order: &str) -> Result<i64> {
    Ok(c.query_row(
        "SELECT COUNT(*) FROM exchanges WHERE original_order = ?1",
        [original_order],
        |r| r.get(0),
    )?)
}

/// Exchanges of an order: those made for it and the one it is (if it is an exchange).
pub fn exchanges_of(c: &Connection, order_no: &str) -> Result<Vec<Exchange>> {
    let mut st = c.prepare_cached(
        "SELECT order_no, original_order, original_waybill, return_id, new_waybill, created_at
         FROM exchanges WHERE original_order = ?1 OR order_no = ?1 ORDER BY created_at, order_no",
    )?;
    let v = st
        .query_map([order_no], |r| {
            Ok(Exchange {
                order_no: r.get(0)?,
                original_order: r.get(1)?,
                original_waybill: r.get(2)?,
                return_id: r.get(3)?,
                new_waybill: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// Stamps the new parcel's waybill on the exchanges among a shipment's orders (run in the
/// shipment's transaction: one indexed update per order). A later void and repack stamps
/// the new number over the old.
pub fn link_exchange_waybill(c: &Connection, s: &super::Shipment) -> Result<()> {
    for o in &s.order_nos {
        c.prepare_cached("UPDATE exchanges SET new_waybill = ?2 WHERE order_no = ?1")?
            .execute(params![o, s.waybill])?;
    }
    Ok(())
}

// ----- order history -----------------------------------------------------------------------

/// Puts an event on an order's history.
pub fn link_event(c: &Connection, order_no: &str, event_id: i64) -> Result<()> {
    c.prepare_cached("INSERT OR IGNORE INTO order_events (order_no, event_id) VALUES (?1, ?2)")?
        .execute(params![order_no, event_id])?;
    Ok(())
}

/// Everything that happened to an order, oldest first: its packs' scans and readings, its
/// parcels' events (shipment, prints, void), and the events linked to it (returns,
/// exchanges).
pub fn order_history(c: &Connection, order_no: &str) -> Result<Vec<Event>> {
    let sql = format!(
        "SELECT {} FROM events WHERE id IN (
             SELECT e.id FROM events e JOIN pack_orders p ON e.pack_id = p.pack_id WHERE p.order_no = ?1
             UNION SELECT e.id FROM events e JOIN shipment_orders s ON e.waybill = s.waybill WHERE s.order_no = ?1
             UNION SELECT event_id FROM order_events WHERE order_no = ?1)
         ORDER BY id",
        super::EVENT_COLS
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map([order_no], super::event_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// A replacement line of an exchange.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct Replacement {
    pub sku: String,
    pub qty: i64,
}

/// One returned line as the inspector judged it.
#[derive(Debug, Clone, serde::Deserialize, Serialize)]
pub struct Inspection {
    pub order_no: String,
    pub sku: String,
    #[serde(default = "one")]
    pub qty: i64,
    /// good | damaged | wrong
    pub condition: String,
    /// The bin it goes to: a sellable bin for good goods (default: the SKU's home bin), a
    /// quarantine bin otherwise (default: QUARANTINE).
    #[serde(default)]
    pub bin: String,
    #[serde(default)]
    pub reason: String,
    /// '' | courier | customer | packing | supplier
    #[serde(default)]
    pub fault: String,
    #[serde(default)]
    pub photos: Vec<String>,
    /// Replacement lines when the customer asked for an exchange.
    #[serde(default)]
    pub exchange: Vec<Replacement>,
}

fn one() -> i64 {
    1
}
