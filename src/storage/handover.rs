//! SQL of the hand-over workflow: manifests, the parcels scanned onto them, stray scans,
//! the parcels packed but not yet on a manifest, and the rows a marketplace dispatch file is
//! built from. Times are compared with `julianday` so stored UTC times with or without
//! fractions, or with an offset (historical imports), all compare by instant.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::Result;
use crate::domain::Grams;

/// A manifest as recorded.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Manifest {
    #[serde(skip)]
    pub id: i64,
    pub number: String,
    pub courier: String,
    pub status: String,
    pub local_date: String,
    pub station: String,
    pub opened_at: String,
    pub opened_by: String,
    pub closed_at: Option<String>,
    pub closed_by: String,
    /// Waybills packed that day for the courier that a manager allowed to be left off.
    pub missing: Vec<String>,
    pub confirmed_by: String,
    pub reason: String,
    /// Count and weight of the parcels on it (kept at closing; counted live while open).
    pub parcels: i64,
    pub total_grams: Grams,
}

/// A manifest with its parcels, stray scans and the parcels still waiting for it.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestView {
    #[serde(flatten)]
    pub manifest: Manifest,
    pub parcels_on: Vec<ManifestParcel>,
    pub strays: Vec<Stray>,
    /// Parcels packed on the manifest's day for its courier that are on no manifest.
    pub not_on_manifest: Vec<PendingParcel>,
}

/// A new manifest.
#[derive(Debug, Clone)]
pub struct NewManifest {
    pub number: String,
    pub courier: String,
    pub local_date: String,
    pub station: String,
    pub opened_at: String,
    pub opened_by: String,
}

/// A parcel on a manifest, with what the manifest prints about it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ManifestParcel {
    pub waybill: String,
    pub seq: i64,
    pub scanned_at: String,
    pub scanned_by: String,
    pub station: String,
    pub courier: String,
    pub status: String,
    pub packed_at: String,
    pub measured_grams: Grams,
    pub orders: Vec<String>,
    pub recipient: String,
    pub postcode: String,
}

/// A code scanned at a hand-over that is not a packed parcel.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Stray {
    pub code: String,
    pub reason: String,
    pub scanned_at: String,
    pub scanned_by: String,
    pub station: String,
}

/// A shipped parcel not on any manifest.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PendingParcel {
    pub waybill: String,
    pub courier: String,
    pub packed_at: String,
    pub station: String,
    pub packer: String,
    pub measured_grams: Grams,
    pub orders: Vec<String>,
}

/// What the hand-over needs to know about a scanned waybill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelFacts {
    pub waybill: String,
    pub courier: String,
    pub status: String,
    /// The manifests it is on: (number, status).
    pub manifests: Vec<(String, String)>,
}

const MANIFEST_COLS: &str = "id, number, courier, status, local_date, station, opened_at, opened_by, \
                             closed_at, closed_by, missing, confirmed_by, reason, \
     (SELECT count(*) FROM manifest_parcels p WHERE p.manifest_id = manifests.id), \
     (SELECT coalesce(sum(s.measured_g), 0) FROM manifest_parcels p JOIN shipments s ON s.waybill = p.waybill \
      WHERE p.manifest_id = manifests.id)";

fn manifest_row(r: &rusqlite::Row) -> rusqlite::Result<Manifest> {
    let missing: String = r.get(10)?;
    Ok(Manifest {
        id: r.get(0)?,
        number: r.get(1)?,
        courier: r.get(2)?,
        status: r.get(3)?,
        local_date: r.get(4)?,
        station: r.get(5)?,
        opened_at: r.get(6)?,
        opened_by: r.get(7)?,
        closed_at: r.get(8)?,
        closed_by: r.get(9)?,
        missing: serde_json::from_str(&missing).unwrap_or_default(),
        confirmed_by: r.get(11)?,
        reason: r.get(12)?,
        parcels: r.get(13)?,
        total_grams: r.get(14)?,
    })
}

/// How many manifests of `courier` were opened on `local_date` (numbers the next one).
pub fn manifests_on(c: &Connection, courier: &str, local_date: &str) -> Result<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM manifests WHERE courier = ?1 AND local_date = ?2",
        params![courier, local_date],
        |r| r.get(0),
    )?)
}

pub fn insert_manifest(c: &Connection, m: &NewManifest) -> Result<i64> {
    c.execute(
        "INSERT INTO manifests (number, courier, local_date, station, opened_at, opened_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            m.number,
            m.courier,
            m.local_date,
            m.station,
            m.opened_at,
            m.opened_by
        ],
    )?;
    Ok(c.last_insert_rowid())
}

pub fn get_manifest(c: &Connection, number: &str) -> Result<Option<Manifest>> {
    let sql = format!("SELECT {MANIFEST_COLS} FROM manifests WHERE number = ?1");
    Ok(c.query_row(&sql, [number], manifest_row).optional()?)
}

/// Manifests, newest first, optionally of one status.
pub fn list_manifests(c: &Connection, status: Option<&str>, limit: i64) -> Result<Vec<Manifest>> {
    let sql = format!(
        "SELECT {MANIFEST_COLS} FROM manifests WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2"
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map(params![status, limit], manifest_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

/// The orders of a shipment, in order-number order.
fn shipment_orders(c: &Connection, waybill: &str) -> Result<Vec<String>> {
    let mut st = c.prepare_cached(
        "SELECT order_no FROM shipment_orders WHERE waybill = ?1 ORDER BY order_no",
    )?;
    let v = st
        .query_map([waybill], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The parcels on a manifest in scanning order.
pub fn manifest_parcels(c: &Connection, manifest_id: i64) -> Result<Vec<ManifestParcel>> {
    let mut st = c.prepare_cached(
        "SELECT p.waybill, p.seq, p.scanned_at, p.scanned_by, p.station, s.courier, s.status,
                s.packed_at, s.measured_g,
                coalesce((SELECT o.recipient_name FROM shipment_orders so JOIN orders o ON o.order_no = so.order_no
                          WHERE so.waybill = p.waybill ORDER BY so.order_no LIMIT 1), ''),
                coalesce((SELECT o.postcode FROM shipment_orders so JOIN orders o ON o.order_no = so.order_no
                          WHERE so.waybill = p.waybill ORDER BY so.order_no LIMIT 1), '')
         FROM manifest_parcels p JOIN shipments s ON s.waybill = p.waybill
         WHERE p.manifest_id = ?1 ORDER BY p.seq",
    )?;
    let mut rows: Vec<ManifestParcel> = st
        .query_map([manifest_id], |r| {
            Ok(ManifestParcel {
                waybill: r.get(0)?,
                seq: r.get(1)?,
                scanned_at: r.get(2)?,
                scanned_by: r.get(3)?,
                station: r.get(4)?,
                courier: r.get(5)?,
                status: r.get(6)?,
                packed_at: r.get(7)?,
                measured_grams: r.get(8)?,
                orders: vec![],
                recipient: r.get(9)?,
                postcode: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    for p in &mut rows {
        p.orders = shipment_orders(c, &p.waybill)?;
    }
    Ok(rows)
}

/// The stray scans of a manifest, in scanning order.
pub fn manifest_strays(c: &Connection, manifest_id: i64) -> Result<Vec<Stray>> {
    let mut st = c.prepare_cached(
        "SELECT code, reason, scanned_at, scanned_by, station FROM manifest_strays
         WHERE manifest_id = ?1 ORDER BY id",
    )?;
    let v = st
        .query_map([manifest_id], |r| {
            Ok(Stray {
                code: r.get(0)?,
                reason: r.get(1)?,
                scanned_at: r.get(2)?,
                scanned_by: r.get(3)?,
                station: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A waybill's shipment (courier, status) and the manifests it is on; `None` when no
/// shipment has that waybill.
pub fn parcel_facts(c: &Connection, waybill: &str) -> Result<Option<ParcelFacts>> {
    let s: Option<(String, String)> = c
        .query_row(
            "SELECT courier, status FROM shipments WHERE waybill = ?1",
            [waybill],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((courier, status)) = s else {
        return Ok(None);
    };
    let mut st = c.prepare_cached(
        "SELECT m.number, m.status FROM manifest_parcels p JOIN manifests m ON m.id = p.manifest_id
         WHERE p.waybill = ?1 ORDER BY m.id",
    )?;
    let manifests = st
        .query_map([waybill], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(ParcelFacts {
        waybill: waybill.to_string(),
        courier,
        status,
        manifests,
    }))
}

/// Puts a parcel on a manifest as its next one; returns its position.
pub fn add_parcel(
    c: &Connection,
    manifest_id: i64,
    waybill: &str,
    at: &str,
    by: &str,
    station: &str,
) -> Result<i64> {
    let seq: i64 = c.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM manifest_parcels WHERE manifest_id = ?1",
        [manifest_id],
        |r| r.get(0),
    )?;
    c.execute(
        "INSERT INTO manifest_parcels (manifest_id, waybill, seq, scanned_at, scanned_by, station)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![manifest_id, waybill, seq, at, by, station],
    )?;
    Ok(seq)
}

/// Takes a parcel off an open manifest; false when it was not on it.
pub fn remove_parcel(c: &Connection, manifest_id: i64, waybill: &str) -> Result<bool> {
    Ok(c.execute(
        "DELETE FROM manifest_parcels WHERE manifest_id = ?1 AND waybill = ?2",
        params![manifest_id, waybill],
    )? > 0)
}

pub fn add_stray(
    c: &Connection,
    manifest_id: i64,
    code: &str,
    reason: &str,
    at: &str,
    by: &str,
    station: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO manifest_strays (manifest_id, code, reason, scanned_at, scanned_by, station)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![manifest_id, code, reason, at, by, station],
    )?;
    Ok(())
}

/// Shipped parcels of `courier` packed in `[from, to)` (UTC instants) that are on no
/// manifest at all, oldest first.
pub fn unmanifested(
    c: &Connection,
    courier: &str,
    from: &str,
    to: &str,
) -> Result<Vec<PendingParcel>> {
    let mut st = c.prepare_cached(
        "SELECT s.waybill, s.courier, s.packed_at, s.station, s.packer, s.measured_g FROM shipments s
         WHERE s.courier = ?1 AND s.status <> 'void'
           AND julianday(s.packed_at) >= julianday(?2) AND julianday(s.packed_at) < julianday(?3)
           AND NOT EXISTS (SELECT 1 FROM manifest_parcels p WHERE p.waybill = s.waybill)
         ORDER BY julianday(s.packed_at), s.waybill",
    )?;
    let mut rows: Vec<PendingParcel> = st
        .query_map(params![courier, from, to], |r| {
            Ok(PendingParcel {
                waybill: r.get(0)?,
                courier: r.get(1)?,
                packed_at: r.get(2)?,
                station: r.get(3)?,
                packer: r.get(4)?,
                measured_grams: r.get(5)?,
                orders: vec![],
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    for p in &mut rows {
        p.orders = shipment_orders(c, &p.waybill)?;
    }
    Ok(rows)
}

/// What closing a manifest fixes.
#[derive(Debug, Clone)]
pub struct Closing {
    pub closed_at: String,
    pub closed_by: String,
    pub missing: Vec<String>,
    pub confirmed_by: String,
    pub reason: String,
    pub total_grams: Grams,
    pub pdf: Vec<u8>,
}

/// Closes a manifest: its totals and PDF are kept, and every parcel on it records the
/// manifest and the hand-over time. Returns how many shipments were stamped.
pub fn close_manifest(c: &Connection, manifest_id: i64, k: &Closing) -> Result<usize> {
    let missing = serde_json::to_string(&k.missing).unwrap_or_else(|_| "[]".into());
    let parcels: i64 = c.query_row(
        "SELECT count(*) FROM manifest_parcels WHERE manifest_id = ?1",
        [manifest_id],
        |r| r.get(0),
    )?;
    c.execute(
        "UPDATE manifests SET status = 'closed', closed_at = ?2, closed_by = ?3, missing = ?4,
                confirmed_by = ?5, reason = ?6, parcels = ?7, total_g = ?8, pdf = ?9
         WHERE id = ?1 AND status = 'open'",
        params![
            manifest_id,
            k.closed_at,
            k.closed_by,
            missing,
            k.confirmed_by,
            k.reason,
            parcels,
            k.total_grams,
            k.pdf
        ],
    )?;
    let stamped = c.execute(
        "UPDATE shipments SET manifest_id = ?1, handed_over_at = ?2
         WHERE waybill IN (SELECT waybill FROM manifest_parcels WHERE manifest_id = ?1)",
        params![manifest_id, k.closed_at],
    )?;
    Ok(stamped)
}

/// The PDF kept when a manifest was closed.
pub fn manifest_pdf(c: &Connection, number: &str) -> Result<Option<Vec<u8>>> {
    Ok(c.query_row(
        "SELECT pdf FROM manifests WHERE number = ?1 AND pdf IS NOT NULL",
        [number],
        |r| r.get(0),
    )
    .optional()?)
}

/// The manifest a shipment was handed over on, and when.
pub fn shipment_handover(c: &Connection, waybill: &str) -> Result<Option<(String, String)>> {
    Ok(c.query_row(
        "SELECT m.number, s.handed_over_at FROM shipments s JOIN manifests m ON m.id = s.manifest_id
         WHERE s.waybill = ?1 AND s.handed_over_at IS NOT NULL",
        [waybill],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// One (order, parcel) pair a dispatch file may list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchParcel {
    pub order_no: String,
    pub waybill: String,
    pub courier: String,
    pub packed_at: String,
    /// Packed inside the selected period (the others are the order's other parcels).
    pub in_period: bool,
}

/// Every non-void parcel of every `channel` order that has a non-void parcel packed in
/// `[from, to)`, each order's parcels oldest first.
pub fn dispatch_parcels(
    c: &Connection,
    channel: &str,
    from: &str,
    to: &str,
) -> Result<Vec<DispatchParcel>> {
    let mut st = c.prepare_cached(
        "SELECT so.order_no, s.waybill, s.courier, s.packed_at,
                julianday(s.packed_at) >= julianday(?2) AND julianday(s.packed_at) < julianday(?3)
         FROM shipment_orders so
         JOIN shipments s ON s.waybill = so.waybill
         JOIN orders o ON o.order_no = so.order_no
         WHERE o.channel = ?1 AND s.status <> 'void'
           AND so.order_no IN (
               SELECT so2.order_no FROM shipment_orders so2 JOIN shipments s2 ON s2.waybill = so2.waybill
               WHERE s2.status <> 'void'
                 AND julianday(s2.packed_at) >= julianday(?2) AND julianday(s2.packed_at) < julianday(?3))
         ORDER BY so.order_no, julianday(s.packed_at), s.waybill",
    )?;
    let v = st
        .query_map(params![channel, from, to], |r| {
            Ok(DispatchParcel {
                order_no: r.get(0)?,
                waybill: r.get(1)?,
                courier: r.get(2)?,
                packed_at: r.get(3)?,
                in_period: r.get::<_, i64>(4)? != 0,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}
