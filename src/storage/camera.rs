//! SQL of the bench camera: stills kept with their pack and shipment, and each shipment's
//! label check.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::Result;

/// A still as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BenchPhoto {
    pub id: i64,
    pub sha256: String,
    #[serde(skip)]
    pub path: String,
    pub bytes: i64,
    pub width: u32,
    pub height: u32,
    pub moment: String,
    pub station: String,
    pub operator: String,
    pub pack_id: Option<i64>,
    pub order_no: String,
    pub waybill: String,
    pub codes: Vec<String>,
    pub check_result: String,
    pub simulated: bool,
    pub at: String,
}

pub fn insert_photo(c: &Connection, p: &BenchPhoto) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO bench_photos (sha256, path, bytes, width, height, moment, station, operator,
                                   pack_id, order_no, waybill, codes, check_result, simulated, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params![
        p.sha256,
        p.path,
        p.bytes,
        p.width,
        p.height,
        p.moment,
        p.station,
        p.operator,
        p.pack_id,
        p.order_no,
        p.waybill,
        serde_json::to_string(&p.codes).unwrap_or_else(|_| "[]".into()),
        p.check_result,
        p.simulated,
        p.at,
    ])?;
    Ok(c.last_insert_rowid())
}

const COLS: &str = "id, sha256, path, bytes, width, height, moment, station, operator, pack_id,
                    order_no, waybill, codes, check_result, simulated, at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<BenchPhoto> {
    let codes: String = r.get(12)?;
    Ok(BenchPhoto {
        id: r.get(0)?,
        sha256: r.get(1)?,
        path: r.get(2)?,
        bytes: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        moment: r.get(6)?,
        station: r.get(7)?,
        operator: r.get(8)?,
        pack_id: r.get(9)?,
        order_no: r.get(10)?,
        waybill: r.get(11)?,
        codes: serde_json::from_str(&codes).unwrap_or_default(),
        check_result: r.get(13)?,
        simulated: r.get(14)?,
        at: r.get(15)?,
    })
}

/// Every still of a shipment, oldest first: those taken for its waybill and those taken
/// during its pack before the waybill existed.
pub fn photos_of_shipment(c: &Connection, waybill: &str) -> Result<Vec<BenchPhoto>> {
    let sql = format!(
        "SELECT {COLS} FROM bench_photos
         WHERE waybill = ?1
            OR pack_id = (SELECT pack_id FROM shipments WHERE waybill = ?1)
         ORDER BY at, id"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st.query_map(params![waybill], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A still by its content hash (the newest record of it).
pub fn photo_by_hash(c: &Connection, sha256: &str) -> Result<Option<BenchPhoto>> {
    let sql = format!("SELECT {COLS} FROM bench_photos WHERE sha256 = ?1 ORDER BY id DESC LIMIT 1");
    Ok(c.query_row(&sql, params![sha256], row).optional()?)
}

/// Records a shipment's label check ('' none, passed, mismatch, no_code, overridden).
pub fn set_label_check(c: &Connection, waybill: &str, state: &str) -> Result<()> {
    c.prepare_cached("UPDATE shipments SET label_check = ?2 WHERE waybill = ?1")?
        .execute(params![waybill, state])?;
    Ok(())
}

pub fn label_check(c: &Connection, waybill: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT label_check FROM shipments WHERE waybill = ?1",
        params![waybill],
        |r| r.get(0),
    )
    .optional()?)
}

/// The station's shipment whose label check found the wrong label and that nobody has
/// resolved since, with the waybill that was read on it: the bench stays stopped on it
/// across a restart.
pub fn open_mismatch(c: &Connection, station: &str) -> Result<Option<(String, String)>> {
    let found: Option<String> = c
        .query_row(
            "SELECT waybill FROM shipments WHERE station = ?1 AND label_check = 'mismatch'
             ORDER BY packed_at DESC LIMIT 1",
            params![station],
            |r| r.get(0),
        )
        .optional()?;
    let Some(waybill) = found else {
        return Ok(None);
    };
    let read = photos_of_shipment(c, &waybill)?
        .into_iter()
        .rev()
        .find(|p| p.check_result == "label_mismatch")
        .and_then(|p| p.codes.into_iter().next())
        .unwrap_or_default();
    Ok(Some((waybill, read)))
}

/// The station's most recent shipment other than `waybill` (the demo's swapped label).
pub fn other_shipment(c: &Connection, station: &str, waybill: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT waybill FROM shipments WHERE station = ?1 AND waybill <> ?2
             ORDER BY packed_at DESC LIMIT 1",
        params![station, waybill],
        |r| r.get(0),
    )
    .optional()?)
}
