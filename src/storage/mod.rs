//! Storage: the only module that knows SQL. Functions take a `&Connection` (so the service
//! can put several into one write job, i.e. one transaction) and return domain values or
//! small view structs, never rows.

pub mod archive;
pub mod bills;
pub mod camera;
pub mod claims;
pub mod day;
mod db;
pub mod handover;
pub mod ledger;
pub mod returns;
pub mod stocktake;
pub mod waves;

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::domain::packing::{recipient_key, OrderStatus, Pack, PackLine, PackOrder, PackStatus};
use crate::domain::{CatalogItem, Flag, Grams, OrderRecord};

pub use db::{open_durable, Db};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema: {0}")]
    Schema(String),
    #[error("the write was not committed: {0}")]
    Commit(String),
    #[error("the database writer has stopped")]
    WriterGone,
    #[error("{0}")]
    Io(String),
    /// A business conflict found inside a write (e.g. a waybill taken meanwhile).
    #[error("{0}")]
    Conflict(String),
    /// A ledger posting would take a bin below zero without an override.
    #[error("{0}")]
    Shortfall(crate::domain::ledger::Shortfall),
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// Runs a statement through the connection's statement cache: the bench's hot paths run the
/// same few dozen statements thousands of times, and preparing each anew costs more than
/// running it.
fn exec(c: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(p)
}

/// `Connection::query_row` through the statement cache (see [`exec`]).
fn query_row<T>(
    c: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    c.prepare_cached(sql)?.query_row(p, f)
}

// ----- catalog -------------------------------------------------------------------------

/// What an import changed.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Orders already packed whose lines were left as they were.
    pub kept_packed: usize,
}

/// Inserts or updates catalog items and their barcodes. Importing the same file twice
/// changes nothing the second time. A barcode moves to the SKU that the file gives it.
pub fn upsert_catalog(c: &Connection, items: &[CatalogItem]) -> Result<ImportSummary> {
    let mut sum = ImportSummary::default();
    for it in items {
        let existing = get_catalog_item(c, &it.sku)?;
        match existing {
            Some(ref e) if e == it => {
                sum.unchanged += 1;
                continue;
            }
            Some(_) => sum.updated += 1,
            None => sum.added += 1,
        }
        exec(c,
            "INSERT INTO catalog_items (sku, name, unit_weight_g, location, cost, category, option)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(sku) DO UPDATE SET name = excluded.name, unit_weight_g = excluded.unit_weight_g,
               location = excluded.location, cost = excluded.cost, category = excluded.category,
               option = excluded.option",
            params![it.sku, it.name, it.unit_weight_g, it.location, it.cost, it.category, it.option],
        )?;
        exec(c, "DELETE FROM barcodes WHERE sku = ?1", [&it.sku])?;
        for b in &it.barcodes {
            exec(c,
                "INSERT INTO barcodes (code, sku) VALUES (?1, ?2) ON CONFLICT(code) DO UPDATE SET sku = excluded.sku",
                params![b, it.sku],
            )?;
        }
    }
    Ok(sum)
}

/// A `catalog_items` row (columns sku, name, unit_weight_g, location, cost, category,
/// option) without its barcodes.
fn catalog_row(r: &rusqlite::Row) -> rusqlite::Result<CatalogItem> {
    Ok(CatalogItem {
        sku: r.get(0)?,
        name: r.get(1)?,
        unit_weight_g: r.get(2)?,
        location: r.get(3)?,
        cost: r.get(4)?,
        category: r.get(5)?,
        option: r.get(6)?,
        barcodes: vec![],
    })
}

fn get_catalog_item(c: &Connection, sku: &str) -> Result<Option<CatalogItem>> {
    let item = c
        .query_row(
            "SELECT sku, name, unit_weight_g, location, cost, category, option FROM catalog_items WHERE sku = ?1",
            [sku],
            catalog_row,
        )
        .optional()?;
    let Some(mut item) = item else {
        return Ok(None);
    };
    let mut st = c.prepare_cached("SELECT code FROM barcodes WHERE sku = ?1 ORDER BY rowid")?;
    item.barcodes = st
        .query_map([sku], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(item))
}

/// The whole catalog with barcodes (loaded into memory at start and after each import).
pub fn load_catalog(c: &Connection) -> Result<Vec<CatalogItem>> {
    let mut barcodes: HashMap<String, Vec<String>> = HashMap::new();
    let mut st = c.prepare("SELECT code, sku FROM barcodes ORDER BY rowid")?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (code, sku) = row?;
        barcodes.entry(sku).or_default().push(code);
    }
    let mut st = c.prepare(
        "SELECT sku, name, unit_weight_g, location, cost, category, option FROM catalog_items ORDER BY sku",
    )?;
    let items = st
        .query_map([], catalog_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(items
        .into_iter()
        .map(|mut it| {
            it.barcodes = barcodes.remove(&it.sku).unwrap_or_default();
            it
        })
        .collect())
}

// ----- orders --------------------------------------------------------------------------

/// Inserts or updates imported orders. An order already being packed or packed keeps its
/// lines and status (the parcel is the truth by then); its note and flag are still updated,
/// because a late hold or instruction must reach the bench.
pub fn upsert_orders(c: &Connection, orders: &[OrderRecord], now: &str) -> Result<ImportSummary> {
    let mut sum = ImportSummary::default();
    for o in orders {
        let existing = get_order_record(c, &o.order_no)?;
        let status: Option<String> = c
            .query_row(
                "SELECT status FROM orders WHERE order_no = ?1",
                [&o.order_no],
                |r| r.get(0),
            )
            .optional()?;
        match (&existing, status.as_deref()) {
            (Some(e), _) if e == o => {
                sum.unchanged += 1;
                continue;
            }
            (Some(_), Some("packing" | "packed")) => {
                exec(
                    c,
                    "UPDATE orders SET note = ?2, flag = ?3 WHERE order_no = ?1",
                    params![o.order_no, o.note, o.flag.as_str()],
                )?;
                sum.kept_packed += 1;
                continue;
            }
            (Some(_), _) => sum.updated += 1,
            (None, _) => sum.added += 1,
        }
        exec(c,
            "INSERT INTO orders (order_no, channel, paid_at, recipient_name, recipient_phone, address, postcode,
                                 note, flag, courier, preprinted, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT(order_no) DO UPDATE SET channel = excluded.channel, paid_at = excluded.paid_at,
               recipient_name = excluded.recipient_name, recipient_phone = excluded.recipient_phone,
               address = excluded.address, postcode = excluded.postcode, note = excluded.note,
               flag = excluded.flag, courier = excluded.courier, preprinted = excluded.preprinted,
               imported_at = excluded.imported_at",
            params![
                o.order_no,
                o.channel,
                o.paid_at,
                o.recipient_name,
                o.recipient_phone,
                o.address,
                o.postcode,
                o.note,
                o.flag.as_str(),
                o.courier,
                o.waybill,
                now
            ],
        )?;
        exec(
            c,
            "DELETE FROM order_lines WHERE order_no = ?1",
            [&o.order_no],
        )?;
        for (i, l) in o.lines.iter().enumerate() {
            exec(
                c,
                "INSERT INTO order_lines (order_no, line_no, sku, qty) VALUES (?1, ?2, ?3, ?4)",
                params![o.order_no, i as i64 + 1, l.sku, l.qty],
            )?;
        }
    }
    Ok(sum)
}

fn get_order_record(c: &Connection, order_no: &str) -> Result<Option<OrderRecord>> {
    let rec = c
        .query_row(
            "SELECT order_no, channel, paid_at, recipient_name, recipient_phone, address, postcode, note, flag,
                    courier, preprinted FROM orders WHERE order_no = ?1",
            [order_no],
            |r| {
                Ok(OrderRecord {
                    order_no: r.get(0)?,
                    channel: r.get(1)?,
                    paid_at: r.get(2)?,
                    recipient_name: r.get(3)?,
                    recipient_phone: r.get(4)?,
                    address: r.get(5)?,
                    postcode: r.get(6)?,
                    note: r.get(7)?,
                    flag: Flag::parse(&r.get::<_, String>(8)?).unwrap_or_default(),
                    courier: r.get(9)?,
                    waybill: r.get(10)?,
                    lines: vec![],
                })
            },
        )
        .optional()?;
    let Some(mut rec) = rec else { return Ok(None) };
    rec.lines = order_lines(c, order_no)?;
    Ok(Some(rec))
}

fn order_lines(c: &Connection, order_no: &str) -> Result<Vec<crate::domain::OrderLineRecord>> {
    let mut st =
        c.prepare_cached("SELECT sku, qty FROM order_lines WHERE order_no = ?1 ORDER BY line_no")?;
    let lines = st
        .query_map([order_no], |r| {
            Ok(crate::domain::OrderLineRecord {
                sku: r.get(0)?,
                qty: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(lines)
}

/// An order with its status, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    #[serde(flatten)]
    pub record: OrderRecord,
    pub status: String,
    /// The waybill and courier it shipped under, once packed (empty before).
    pub shipped_waybill: String,
    pub shipped_courier: String,
}

pub fn get_order(c: &Connection, order_no: &str) -> Result<Option<OrderView>> {
    let Some(record) = get_order_record(c, order_no)? else {
        return Ok(None);
    };
    let (status, waybill): (String, String) = query_row(
        c,
        "SELECT status, waybill FROM orders WHERE order_no = ?1",
        [order_no],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let courier = if waybill.is_empty() {
        String::new()
    } else {
        query_row(
            c,
            "SELECT courier FROM shipments WHERE waybill = ?1",
            [&waybill],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or_default()
    };
    Ok(Some(OrderView {
        record,
        status,
        shipped_waybill: waybill,
        shipped_courier: courier,
    }))
}

/// The order as the packing rules need it.
pub fn pack_order(c: &Connection, order_no: &str) -> Result<Option<PackOrder>> {
    let Some(v) = get_order(c, order_no)? else {
        return Ok(None);
    };
    Ok(Some(to_pack_order(v)))
}

fn to_pack_order(v: OrderView) -> PackOrder {
    let r = v.record;
    PackOrder {
        recipient_key: recipient_key(
            &r.recipient_name,
            &r.recipient_phone,
            &r.address,
            &r.postcode,
        ),
        order_no: r.order_no,
        status: OrderStatus::parse(&v.status).unwrap_or(OrderStatus::Ready),
        flag: r.flag,
        note: r.note,
        recipient_name: r.recipient_name,
        waybill: v.shipped_waybill,
        lines: r
            .lines
            .into_iter()
            .map(|l| PackLine {
                sku: l.sku,
                qty: l.qty,
            })
            .collect(),
    }
}

/// The order a pre-printed waybill belongs to.
pub fn order_by_preprinted(c: &Connection, waybill: &str) -> Result<Option<String>> {
    Ok(query_row(
        c,
        "SELECT order_no FROM orders WHERE preprinted = ?1",
        [waybill],
        |r| r.get(0),
    )
    .optional()?)
}

/// One row of an order list.
#[derive(Debug, Clone, Serialize)]
pub struct OrderSummary {
    pub order_no: String,
    pub channel: String,
    pub paid_at: String,
    pub recipient_name: String,
    pub flag: Flag,
    pub note: String,
    pub status: String,
    pub units: i64,
    pub waybill: String,
    pub courier: String,
}

/// Orders by status (`ready` lists the packable ones: not held, not packed).
pub fn list_orders(c: &Connection, status: Option<&str>, limit: i64) -> Result<Vec<OrderSummary>> {
    let filter = match status {
        Some("ready") => "o.status = 'ready' AND o.flag <> 'yellow'",
        Some("hold") => "o.status = 'ready' AND o.flag = 'yellow'",
        Some("packing") => "o.status = 'packing'",
        Some("packed") => "o.status = 'packed'",
        _ => "1",
    };
    let sql = format!(
        "SELECT o.order_no, o.channel, o.paid_at, o.recipient_name, o.flag, o.note, o.status,
                (SELECT coalesce(sum(qty), 0) FROM order_lines l WHERE l.order_no = o.order_no),
                o.waybill, coalesce(s.courier, '')
         FROM orders o LEFT JOIN shipments s ON s.waybill = o.waybill
         WHERE {filter} ORDER BY o.paid_at, o.order_no LIMIT ?1"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map([limit], |r| {
            Ok(OrderSummary {
                order_no: r.get(0)?,
                channel: r.get(1)?,
                paid_at: r.get(2)?,
                recipient_name: r.get(3)?,
                flag: Flag::parse(&r.get::<_, String>(4)?).unwrap_or_default(),
                note: r.get(5)?,
                status: r.get(6)?,
                units: r.get(7)?,
                waybill: r.get(8)?,
                courier: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

pub fn set_order_status(
    c: &Connection,
    order_no: &str,
    status: OrderStatus,
    waybill: &str,
) -> Result<()> {
    exec(
        c,
        "UPDATE orders SET status = ?2, waybill = ?3 WHERE order_no = ?1",
        params![order_no, status.as_str(), waybill],
    )?;
    Ok(())
}

// ----- events --------------------------------------------------------------------------

/// An event to record. `detail` is a JSON object with whatever the kind needs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewEvent {
    pub at: String,
    pub station: String,
    pub operator: String,
    pub kind: &'static str,
    pub code: String,
    pub verdict: String,
    pub reason: String,
    pub pack_id: Option<i64>,
    pub waybill: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub station: String,
    pub operator: String,
    pub kind: String,
    pub code: String,
    pub verdict: String,
    pub reason: String,
    pub pack_id: Option<i64>,
    pub waybill: String,
    pub detail: serde_json::Value,
}

pub fn insert_event(c: &Connection, e: &NewEvent) -> Result<i64> {
    let detail = if e.detail.is_null() {
        "{}".to_string()
    } else {
        e.detail.to_string()
    };
    c.prepare_cached(
        "INSERT INTO events (at, station, operator, kind, code, verdict, reason, pack_id, waybill, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![e.at, e.station, e.operator, e.kind, e.code, e.verdict, e.reason, e.pack_id, e.waybill, detail])?;
    Ok(c.last_insert_rowid())
}

const EVENT_COLS: &str =
    "id, at, station, operator, kind, code, verdict, reason, pack_id, waybill, detail";

fn event_row(r: &rusqlite::Row) -> rusqlite::Result<Event> {
    let detail: String = r.get(10)?;
    Ok(Event {
        id: r.get(0)?,
        at: r.get(1)?,
        station: r.get(2)?,
        operator: r.get(3)?,
        kind: r.get(4)?,
        code: r.get(5)?,
        verdict: r.get(6)?,
        reason: r.get(7)?,
        pack_id: r.get(8)?,
        waybill: r.get(9)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
    })
}

/// Events after `after_id`, optionally for one station, oldest first.
pub fn list_events(
    c: &Connection,
    station: Option<&str>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<Event>> {
    let sql = format!(
        "SELECT {EVENT_COLS} FROM events WHERE id > ?1 AND (?2 IS NULL OR station = ?2) ORDER BY id LIMIT ?3"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map(params![after_id, station, limit], event_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// Every event of a shipment: its pack's scans and readings plus the waybill's own events.
pub fn shipment_events(c: &Connection, pack_id: i64, waybill: &str) -> Result<Vec<Event>> {
    let sql =
        format!("SELECT {EVENT_COLS} FROM events WHERE pack_id = ?1 OR waybill = ?2 ORDER BY id");
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map(params![pack_id, waybill], event_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

// ----- packs ---------------------------------------------------------------------------

pub fn create_pack(c: &Connection, station: &str, operator: &str, now: &str) -> Result<i64> {
    exec(
        c,
        "INSERT INTO packs (station, operator, status, opened_at) VALUES (?1, ?2, 'scanning', ?3)",
        params![station, operator, now],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn add_pack_order(c: &Connection, pack_id: i64, seq: usize, order_no: &str) -> Result<()> {
    exec(
        c,
        "INSERT OR IGNORE INTO pack_orders (pack_id, seq, order_no) VALUES (?1, ?2, ?3)",
        params![pack_id, seq as i64, order_no],
    )?;
    set_order_status(c, order_no, OrderStatus::Packing, "")
}

/// Writes the pack's counts, status and choices as they now are.
pub fn save_pack(c: &Connection, p: &Pack) -> Result<()> {
    c.prepare_cached(
        "UPDATE packs SET status = ?2, packaging = ?3, failed_measured_g = ?4 WHERE id = ?1",
    )?
    .execute(params![
        p.id,
        p.status.as_str(),
        p.packaging,
        p.failed_measured_g
    ])?;
    c.prepare_cached("DELETE FROM pack_counts WHERE pack_id = ?1")?
        .execute([p.id])?;
    let mut ins =
        c.prepare_cached("INSERT INTO pack_counts (pack_id, sku, scanned) VALUES (?1, ?2, ?3)")?;
    for (sku, n) in &p.counts {
        ins.execute(params![p.id, sku, n])?;
    }
    Ok(())
}

/// Records one SKU's new count (and the pack's status when it changed): the write of an
/// item scan, kept to one or two statements because it is the hottest write there is.
pub fn save_count(
    c: &Connection,
    pack_id: i64,
    sku: &str,
    scanned: i64,
    status: Option<PackStatus>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO pack_counts (pack_id, sku, scanned) VALUES (?1, ?2, ?3)
         ON CONFLICT(pack_id, sku) DO UPDATE SET scanned = excluded.scanned",
    )?
    .execute(params![pack_id, sku, scanned])?;
    if let Some(status) = status {
        c.prepare_cached("UPDATE packs SET status = ?2 WHERE id = ?1")?
            .execute(params![pack_id, status.as_str()])?;
    }
    Ok(())
}

/// Closes a pack as shipped or cancelled; cancelled orders go back to `ready`.
pub fn close_pack(c: &Connection, p: &Pack, status: &str, now: &str) -> Result<()> {
    exec(
        c,
        "UPDATE packs SET status = ?2, closed_at = ?3 WHERE id = ?1",
        params![p.id, status, now],
    )?;
    if status == "cancelled" {
        for o in &p.orders {
            set_order_status(c, &o.order_no, OrderStatus::Ready, "")?;
        }
    }
    Ok(())
}

/// Takes an order back out of the open pack (the packer switched orders before scanning).
pub fn remove_pack_order(c: &Connection, pack_id: i64, order_no: &str) -> Result<()> {
    exec(
        c,
        "DELETE FROM pack_orders WHERE pack_id = ?1 AND order_no = ?2",
        params![pack_id, order_no],
    )?;
    set_order_status(c, order_no, OrderStatus::Ready, "")
}

/// Open packs by station, as they were last recorded (used at start-up).
pub fn open_packs(c: &Connection) -> Result<Vec<(String, String, Pack)>> {
    let mut st = c.prepare(
        "SELECT id, station, operator, status, packaging, failed_measured_g FROM packs
         WHERE status IN ('scanning', 'weighing', 'recount') ORDER BY id",
    )?;
    let heads = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<Grams>>(5)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (id, station, operator, status, packaging, failed) in heads {
        let mut st =
            c.prepare_cached("SELECT order_no FROM pack_orders WHERE pack_id = ?1 ORDER BY seq")?;
        let nos: Vec<String> = st
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut orders = Vec::new();
        for no in nos {
            if let Some(o) = pack_order(c, &no)? {
                orders.push(o);
            }
        }
        let mut st = c.prepare_cached("SELECT sku, scanned FROM pack_counts WHERE pack_id = ?1")?;
        let counts: BTreeMap<String, i64> = st
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if orders.is_empty() {
            continue;
        }
        let status = PackStatus::parse(&status).unwrap_or(PackStatus::Scanning);
        out.push((
            station,
            operator,
            Pack {
                id,
                orders,
                counts,
                status,
                packaging,
                failed_measured_g: failed,
            },
        ));
    }
    Ok(out)
}

pub fn pack_waybill(c: &Connection, pack_id: i64) -> Result<Option<String>> {
    Ok(query_row(
        c,
        "SELECT waybill FROM packs WHERE id = ?1",
        [pack_id],
        |r| r.get(0),
    )
    .optional()?
    .flatten())
}

// ----- sessions ------------------------------------------------------------------------

pub fn set_session(c: &Connection, station: &str, operator: Option<&str>, now: &str) -> Result<()> {
    match operator {
        Some(op) => exec(c,
            "INSERT INTO station_sessions (station, operator, since) VALUES (?1, ?2, ?3)
             ON CONFLICT(station) DO UPDATE SET operator = excluded.operator, since = excluded.since",
            params![station, op, now],
        )?,
        None => exec(c, "DELETE FROM station_sessions WHERE station = ?1", [station])?,
    };
    Ok(())
}

pub fn sessions(c: &Connection) -> Result<HashMap<String, String>> {
    let mut st = c.prepare("SELECT station, operator FROM station_sessions")?;
    let m = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(m)
}

// ----- waybills ------------------------------------------------------------------------

/// What the archive knows of a waybill number.
pub fn waybill_status(c: &Connection, number: &str) -> Result<Option<String>> {
    Ok(query_row(
        c,
        "SELECT status FROM waybills WHERE number = ?1",
        [number],
        |r| r.get(0),
    )
    .optional()?)
}

/// Reserves the next serial of a courier's bands, skipping numbers already known (used,
/// void or imported). `make` turns a serial into the full number with its check digit.
/// Returns `None` when every band is used up.
pub fn reserve_from_bands(
    c: &Connection,
    courier: &str,
    bands: &[(u64, u64)],
    make: &dyn Fn(u64) -> Option<String>,
    now: &str,
) -> Result<Option<String>> {
    for &(first, last) in bands {
        exec(c,
            "INSERT OR IGNORE INTO band_cursors (courier, first, last, next) VALUES (?1, ?2, ?3, ?2)",
            params![courier, first as i64, last as i64],
        )?;
        let mut next: i64 = query_row(
            c,
            "SELECT next FROM band_cursors WHERE courier = ?1 AND first = ?2",
            params![courier, first as i64],
            |r| r.get(0),
        )?;
        while next as u64 <= last {
            let serial = next as u64;
            next += 1;
            let Some(number) = make(serial) else { continue };
            if waybill_status(c, &number)?.is_some() {
                continue;
            }
            exec(
                c,
                "UPDATE band_cursors SET next = ?3 WHERE courier = ?1 AND first = ?2",
                params![courier, first as i64, next],
            )?;
            exec(c,
                "INSERT INTO waybills (number, courier, status, source, at) VALUES (?1, ?2, 'reserved', 'band', ?3)",
                params![number, courier, now],
            )?;
            return Ok(Some(number));
        }
        exec(
            c,
            "UPDATE band_cursors SET next = ?3 WHERE courier = ?1 AND first = ?2",
            params![courier, first as i64, next],
        )?;
    }
    Ok(None)
}

/// Marks a pre-printed waybill as reserved for use (it came with the order).
pub fn reserve_preprinted(c: &Connection, number: &str, courier: &str, now: &str) -> Result<()> {
    exec(c,
        "INSERT INTO waybills (number, courier, status, source, at) VALUES (?1, ?2, 'reserved', 'preprinted', ?3)
         ON CONFLICT(number) DO NOTHING",
        params![number, courier, now],
    )?;
    Ok(())
}

pub fn set_pack_waybill(c: &Connection, pack_id: i64, waybill: &str) -> Result<()> {
    exec(
        c,
        "UPDATE packs SET waybill = ?2 WHERE id = ?1",
        params![pack_id, waybill],
    )?;
    Ok(())
}

pub fn set_waybill_status(c: &Connection, number: &str, status: &str) -> Result<()> {
    exec(
        c,
        "UPDATE waybills SET status = ?2 WHERE number = ?1",
        params![number, status],
    )?;
    Ok(())
}

// ----- shipments -----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct ShipmentItem {
    pub sku: String,
    pub qty: i64,
}

/// A shipment as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Shipment {
    pub waybill: String,
    pub courier: String,
    pub pack_id: i64,
    pub station: String,
    pub packer: String,
    pub packed_at: String,
    pub expected_grams: Grams,
    pub tolerance_grams: Grams,
    pub measured_grams: Grams,
    pub packaging: String,
    pub status: String,
    pub override_by: String,
    pub override_reason: String,
    pub label_template: String,
    pub order_nos: Vec<String>,
    pub items: Vec<ShipmentItem>,
}

/// Records a shipment; its label follows with [`set_label_job`] and [`set_printed_job`].
pub fn insert_shipment(c: &Connection, s: &Shipment) -> Result<()> {
    exec(c,
        "INSERT INTO shipments (waybill, courier, pack_id, station, packer, packed_at, expected_g, tolerance_g,
                                measured_g, packaging, status, override_by, override_reason, label_template)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            s.waybill,
            s.courier,
            s.pack_id,
            s.station,
            s.packer,
            s.packed_at,
            s.expected_grams,
            s.tolerance_grams,
            s.measured_grams,
            s.packaging,
            s.status,
            s.override_by,
            s.override_reason,
            s.label_template,
        ],
    )?;
    for o in &s.order_nos {
        exec(
            c,
            "INSERT INTO shipment_orders (waybill, order_no) VALUES (?1, ?2)",
            params![s.waybill, o],
        )?;
    }
    for it in &s.items {
        exec(
            c,
            "INSERT INTO shipment_items (waybill, sku, qty) VALUES (?1, ?2, ?3)",
            params![s.waybill, it.sku, it.qty],
        )?;
    }
    Ok(())
}

pub fn get_shipment(c: &Connection, waybill: &str) -> Result<Option<Shipment>> {
    let s = c
        .query_row(
            "SELECT waybill, courier, pack_id, station, packer, packed_at, expected_g, tolerance_g, measured_g,
                    packaging, status, override_by, override_reason, label_template
             FROM shipments WHERE waybill = ?1",
            [waybill],
            |r| {
                Ok(Shipment {
                    waybill: r.get(0)?,
                    courier: r.get(1)?,
                    pack_id: r.get(2)?,
                    station: r.get(3)?,
                    packer: r.get(4)?,
                    packed_at: r.get(5)?,
                    expected_grams: r.get(6)?,
                    tolerance_grams: r.get(7)?,
                    measured_grams: r.get(8)?,
                    packaging: r.get(9)?,
                    status: r.get(10)?,
                    override_by: r.get(11)?,
                    override_reason: r.get(12)?,
                    label_template: r.get(13)?,
                    order_nos: vec![],
                    items: vec![],
                })
            },
        )
        .optional()?;
    let Some(mut s) = s else { return Ok(None) };
    let mut st = c.prepare_cached(
        "SELECT order_no FROM shipment_orders WHERE waybill = ?1 ORDER BY order_no",
    )?;
    s.order_nos = st
        .query_map([waybill], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut st =
        c.prepare_cached("SELECT sku, qty FROM shipment_items WHERE waybill = ?1 ORDER BY sku")?;
    s.items = st
        .query_map([waybill], |r| {
            Ok(ShipmentItem {
                sku: r.get(0)?,
                qty: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(s))
}

/// The stored label of a shipment in `zpl` or `pdf`.
/// A shipment's label as printed: the job, its format (`zpl`/`tspl`) and resolution, the
/// template and the data it was filled from.
#[derive(Debug, Clone)]
pub struct LabelJob {
    pub template: String,
    pub data: String,
    pub job: Vec<u8>,
    pub format: String,
    pub dpi: u32,
}

/// Records the job a shipment's label was printed as (same transaction as the shipment).
pub fn set_label_job(c: &Connection, waybill: &str, l: &LabelJob) -> Result<()> {
    exec(
        c,
        "UPDATE shipments SET label_data = ?2, label_job = ?3, label_format = ?4, label_dpi = ?5
         WHERE waybill = ?1",
        params![waybill, l.data, l.job, l.format, l.dpi],
    )?;
    Ok(())
}

/// Keeps the job a shipment's label was printed as (and, for ZPL, the legacy column too).
pub fn set_printed_job(c: &Connection, waybill: &str, job: &[u8], zpl: bool) -> Result<()> {
    exec(
        c,
        "UPDATE shipments SET label_job = ?2, label_zpl = CASE WHEN ?3 THEN ?2 ELSE label_zpl END
         WHERE waybill = ?1",
        params![waybill, job, zpl],
    )?;
    Ok(())
}

pub fn label_job(c: &Connection, waybill: &str) -> Result<Option<LabelJob>> {
    Ok(c
        .query_row(
            "SELECT label_template, label_data, coalesce(label_job, label_zpl, x''), label_format, label_dpi
             FROM shipments WHERE waybill = ?1",
            [waybill],
            |r| {
                Ok(LabelJob {
                    template: r.get(0)?,
                    data: r.get(1)?,
                    job: r.get(2)?,
                    format: r.get(3)?,
                    dpi: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// Voids a shipment: the waybill is retired and the orders may be packed again.
pub fn void_shipment(c: &Connection, waybill: &str) -> Result<Vec<String>> {
    exec(
        c,
        "UPDATE shipments SET status = 'void' WHERE waybill = ?1",
        [waybill],
    )?;
    set_waybill_status(c, waybill, "void")?;
    let mut st = c.prepare_cached("SELECT order_no FROM shipment_orders WHERE waybill = ?1")?;
    let orders: Vec<String> = st
        .query_map([waybill], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for o in &orders {
        exec(
            c,
            "UPDATE orders SET status = 'ready', waybill = '' WHERE order_no = ?1 AND waybill = ?2",
            params![o, waybill],
        )?;
    }
    Ok(orders)
}

/// Counts for the manager page: shipments packed since `since` (UTC), by station.
pub fn packed_since(c: &Connection, since: &str) -> Result<BTreeMap<String, i64>> {
    let mut st = c.prepare_cached(
        "SELECT station, count(*) FROM shipments WHERE packed_at >= ?1 AND status = 'shipped' GROUP BY station",
    )?;
    let m = st
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(m)
}

/// Packed shipments per local hour bucket since `since`, for the throughput chart:
/// returns packed_at timestamps (the caller buckets them in the warehouse time zone).
pub fn packed_times_since(c: &Connection, since: &str) -> Result<Vec<String>> {
    let mut st =
        c.prepare_cached("SELECT packed_at FROM shipments WHERE packed_at >= ?1 AND status = 'shipped' ORDER BY packed_at")?;
    let v = st
        .query_map([since], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}
