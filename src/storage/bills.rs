//! SQL of courier bills: the archive as reconciliation reads it (our parcels with one
//! courier, with the weight, box, class and destination that price them), the statements
//! with their lines and reports, the charges of accepted months, and accepting a month.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::Result;
use crate::domain::reconcile::{BillLine, ChargeKind, OpenClaim};

/// One of our parcels with a courier, as the bill is checked against it. Borrowed from the
/// row being read: a million of them are turned into domain values without copying what is
/// only looked at.
#[derive(Debug, Clone)]
pub struct ArchiveRow<'a> {
    pub waybill: &'a str,
    pub status: &'a str,
    pub measured_g: i64,
    pub packaging: &'a str,
    pub size_class: &'a str,
    pub postcode: &'a str,
    pub packed_at: &'a str,
    pub handed_over_at: Option<&'a str>,
    pub imported: bool,
}

/// Every parcel of a courier, with the destination postcode of its first order when the
/// shipment itself has none. Streams through `f`.
pub fn archive_for(c: &Connection, courier: &str, mut f: impl FnMut(ArchiveRow<'_>)) -> Result<()> {
    let mut st = c.prepare(
        "SELECT s.waybill, s.status, s.measured_g, s.packaging, s.size_class,
                CASE WHEN s.postcode <> '' THEN s.postcode
                     ELSE coalesce((SELECT o.postcode FROM shipment_orders so JOIN orders o ON o.order_no = so.order_no
                                    WHERE so.waybill = s.waybill ORDER BY so.order_no LIMIT 1), '') END,
                s.packed_at, s.handed_over_at, s.imported
         FROM shipments s WHERE +s.courier = ?1",
    )?;
    // `+` keeps SQLite off the courier index: reading most of the table through an index
    // seeks the table once per row (2.9 s for a million rows here), a scan reads it in order
    // (1.0 s), and a courier's month is most of the table.
    let mut rows = st.query([courier])?;
    fn text<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
        Ok(r.get_ref(i)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?
            .unwrap_or(""))
    }
    while let Some(r) = rows.next()? {
        let handed = r
            .get_ref(7)?
            .as_str_or_null()
            .map_err(rusqlite::Error::from)?;
        f(ArchiveRow {
            waybill: text(r, 0)?,
            status: text(r, 1)?,
            measured_g: r.get(2)?,
            packaging: text(r, 3)?,
            size_class: text(r, 4)?,
            postcode: text(r, 5)?,
            packed_at: text(r, 6)?,
            handed_over_at: handed,
            imported: r.get::<_, i64>(8)? != 0,
        });
    }
    Ok(())
}

/// Charges billed in the courier's accepted months other than `month`.
pub fn earlier_charges(
    c: &Connection,
    courier: &str,
    month: &str,
) -> Result<Vec<(String, ChargeKind)>> {
    let mut st = c.prepare(
        "SELECT l.waybill, l.kind FROM bill_lines l JOIN bills b ON b.id = l.bill_id
         WHERE b.courier = ?1 AND b.status = 'accepted' AND b.month <> ?2 AND l.kind <> 'adjustment'",
    )?;
    let v = st
        .query_map(params![courier, month], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .filter_map(|r| match r {
            Ok((w, k)) => ChargeKind::parse(&k).map(|k| Ok((w, k))),
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Claims against the courier still open and not yet deducted from an accepted bill.
pub fn open_claims(c: &Connection, courier: &str) -> Result<Vec<OpenClaim>> {
    let mut st = c.prepare(
        "SELECT waybill, kind, CASE WHEN status = 'accepted' THEN accepted ELSE claimed END - paid
         FROM claims WHERE courier = ?1 AND status IN ('open', 'submitted', 'accepted')
           AND deducted_bill IS NULL ORDER BY id",
    )?;
    let v = st
        .query_map([courier], |r| {
            Ok(OpenClaim {
                waybill: r.get(0)?,
                kind: r.get(1)?,
                outstanding: r.get::<_, i64>(2)?.max(0),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The accepted bill of a courier's month, if the month is locked.
pub fn accepted_bill(c: &Connection, courier: &str, month: &str) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT id FROM bills WHERE courier = ?1 AND month = ?2 AND status = 'accepted'",
        params![courier, month],
        |r| r.get(0),
    )
    .optional()?)
}

/// A statement to keep.
#[derive(Debug, Clone)]
pub struct NewBill {
    pub courier: String,
    pub month: String,
    pub file_name: String,
    pub sha256: String,
    pub layout: String,
    pub currency: String,
    pub stated_total: Option<(usize, i64)>,
    pub line_count: usize,
    pub sum_of_lines: i64,
    pub expected_total: i64,
    pub disputed_total: i64,
    pub report: String,
    pub at: String,
    pub by: String,
}

/// Keeps a reconciled statement (a draft). The same file for the same month replaces its
/// earlier draft instead of piling up copies. Returns the bill's id.
pub fn insert_bill(c: &Connection, b: &NewBill, lines: &[BillLine]) -> Result<i64> {
    let old: Vec<i64> = c
        .prepare(
            "SELECT id FROM bills WHERE courier = ?1 AND month = ?2 AND sha256 = ?3 AND status = 'draft'",
        )?
        .query_map(params![b.courier, b.month, b.sha256], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in old {
        c.execute("DELETE FROM bill_lines WHERE bill_id = ?1", [id])?;
        c.execute("DELETE FROM bills WHERE id = ?1", [id])?;
    }
    c.execute(
        "INSERT INTO bills (courier, month, file_name, sha256, layout, currency, stated_total, stated_line,
                            line_count, sum_of_lines, expected_total, disputed_total, report, reconciled_at,
                            imported_at, imported_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14, ?15)",
        params![
            b.courier,
            b.month,
            b.file_name,
            b.sha256,
            b.layout,
            b.currency,
            b.stated_total.map(|t| t.1),
            b.stated_total.map(|t| t.0 as i64),
            b.line_count as i64,
            b.sum_of_lines,
            b.expected_total,
            b.disputed_total,
            b.report,
            b.at,
            b.by,
        ],
    )?;
    let id = c.last_insert_rowid();
    let mut ins = c.prepare_cached(
        "INSERT INTO bill_lines (bill_id, seq, line, waybill, ship_date, billed_weight_g, size_class, zone, amount, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (i, l) in lines.iter().enumerate() {
        ins.execute(params![
            id,
            i as i64,
            l.line as i64,
            l.waybill,
            l.ship_date,
            l.billed_weight_g,
            l.size_class,
            l.zone,
            l.amount,
            l.kind.as_str()
        ])?;
    }
    Ok(id)
}

/// A kept statement, without its lines.
#[derive(Debug, Clone, Serialize)]
pub struct BillRow {
    pub id: i64,
    pub courier: String,
    pub month: String,
    pub file_name: String,
    pub layout: String,
    pub currency: String,
    pub status: String,
    pub stated_total: Option<i64>,
    pub line_count: i64,
    pub sum_of_lines: i64,
    pub expected_total: i64,
    pub disputed_total: i64,
    pub reconciled_at: String,
    pub imported_at: String,
    pub imported_by: String,
    pub accepted_at: Option<String>,
    pub accepted_by: String,
    #[serde(skip)]
    pub report: String,
}

const BILL_COLS: &str = "id, courier, month, file_name, layout, currency, status, stated_total, line_count,
    sum_of_lines, expected_total, disputed_total, reconciled_at, imported_at, imported_by, accepted_at,
    accepted_by, report";

fn bill_row(r: &rusqlite::Row) -> rusqlite::Result<BillRow> {
    Ok(BillRow {
        id: r.get(0)?,
        courier: r.get(1)?,
        month: r.get(2)?,
        file_name: r.get(3)?,
        layout: r.get(4)?,
        currency: r.get(5)?,
        status: r.get(6)?,
        stated_total: r.get(7)?,
        line_count: r.get(8)?,
        sum_of_lines: r.get(9)?,
        expected_total: r.get(10)?,
        disputed_total: r.get(11)?,
        reconciled_at: r.get(12)?,
        imported_at: r.get(13)?,
        imported_by: r.get(14)?,
        accepted_at: r.get(15)?,
        accepted_by: r.get(16)?,
        report: r.get(17)?,
    })
}

pub fn get_bill(c: &Connection, id: i64) -> Result<Option<BillRow>> {
    Ok(c.query_row(
        &format!("SELECT {BILL_COLS} FROM bills WHERE id = ?1"),
        [id],
        bill_row,
    )
    .optional()?)
}

/// Bills, newest first.
pub fn list_bills(c: &Connection, limit: i64) -> Result<Vec<BillRow>> {
    let mut st = c.prepare(&format!(
        "SELECT {BILL_COLS} FROM bills ORDER BY month DESC, id DESC LIMIT ?1"
    ))?;
    let v = st
        .query_map([limit], bill_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A statement's lines in file order.
pub fn bill_lines(c: &Connection, id: i64) -> Result<Vec<BillLine>> {
    let mut st = c.prepare(
        "SELECT line, waybill, ship_date, billed_weight_g, size_class, zone, amount, kind
         FROM bill_lines WHERE bill_id = ?1 ORDER BY seq",
    )?;
    let v = st
        .query_map([id], |r| {
            Ok(BillLine {
                line: r.get::<_, i64>(0)? as usize,
                waybill: r.get(1)?,
                ship_date: r.get(2)?,
                billed_weight_g: r.get(3)?,
                size_class: r.get(4)?,
                zone: r.get(5)?,
                amount: r.get(6)?,
                kind: ChargeKind::parse(&r.get::<_, String>(7)?).unwrap_or(ChargeKind::Delivery),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Accepts a bill: locks its month and marks the claims it deducted. Fails with a
/// `Conflict` when the month is already locked.
pub fn accept(
    c: &Connection,
    id: i64,
    at: &str,
    by: &str,
    deducted_waybills: &[String],
) -> Result<()> {
    let (courier, month, status): (String, String, String) = c.query_row(
        "SELECT courier, month, status FROM bills WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if status == "accepted" {
        return Ok(());
    }
    if accepted_bill(c, &courier, &month)?.is_some() {
        return Err(super::StorageError::Conflict(format!(
            "{courier} {month} is already accepted"
        )));
    }
    c.execute(
        "UPDATE bills SET status = 'accepted', accepted_at = ?2, accepted_by = ?3 WHERE id = ?1",
        params![id, at, by],
    )?;
    let mut st = c.prepare_cached(
        "UPDATE claims SET deducted_bill = ?2, updated_at = ?3
         WHERE waybill = ?1 AND courier = ?4 AND deducted_bill IS NULL
           AND status IN ('open', 'submitted', 'accepted')",
    )?;
    for w in deducted_waybills {
        st.execute(params![w, id, at, courier])?;
    }
    Ok(())
}

/// The parcels of a courier's waybills, for the dispute list's columns (our weight, class).
pub fn parcels_of(
    c: &Connection,
    waybills: &[String],
) -> Result<std::collections::HashMap<String, (i64, String, String)>> {
    let mut out = std::collections::HashMap::new();
    let mut st = c.prepare_cached(
        "SELECT measured_g, size_class, packed_at FROM shipments WHERE waybill = ?1",
    )?;
    for w in waybills {
        if let Some(v) = st
            .query_row([w], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
        {
            out.insert(w.clone(), v);
        }
    }
    Ok(out)
}
