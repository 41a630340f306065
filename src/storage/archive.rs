//! The waybill archive's SQL: search over every shipment (ours and imported), what the
//! shipment page shows beyond the shipment itself, history imports, and the seals — a day's
//! canonical rows read for hashing, the seal chain, corrections and purges. The triggers of
//! migration 0009 refuse edits of sealed rows; this file holds the only paths that change a
//! sealed day (a correction, a purge), each of which leaves its own hashed record.

use std::collections::HashSet;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;

use super::{exec, query_row, Result, StorageError};
use crate::domain::seal::{self, Correction, DayHasher, SealHeader, SealShipment, GENESIS};

/// The statuses an archived shipment can have.
pub const STATUSES: [&str; 6] = [
    "shipped",
    "void",
    "returned",
    "lost",
    "damaged",
    "undeliverable",
];

// ----- search ------------------------------------------------------------------------------

/// What to look for; every field given narrows the search (all must hold).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// A waybill or the start of one.
    pub waybill: Option<String>,
    /// An order number or the start of one.
    pub order_no: Option<String>,
    /// Part of the recipient's name.
    pub name: Option<String>,
    /// The last digits of the recipient's phone (at least four).
    pub phone: Option<String>,
    /// Packed at or after (UTC, compared as `YYYY-MM-DDTHH:MM:SS`).
    pub from_utc: Option<String>,
    /// Packed before.
    pub until_utc: Option<String>,
    pub courier: Option<String>,
    pub status: Option<String>,
    pub imported: Option<bool>,
    pub limit: i64,
    pub offset: i64,
}

/// One search result.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveRow {
    pub waybill: String,
    pub courier: String,
    pub packed_at: String,
    pub status: String,
    pub imported: bool,
    pub station: String,
    pub packer: String,
    pub measured_grams: i64,
    pub size_class: String,
    pub postcode: String,
    pub recipient_name: String,
    pub phone_last4: String,
    pub order_nos: Vec<String>,
}

/// The upper bound of a text prefix range: every string starting with `p` sorts below it
/// (SQLite compares text bytewise, and no UTF-8 text continues past U+10FFFF).
fn prefix_end(p: &str) -> String {
    format!("{p}\u{10FFFF}")
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Runs a search, newest first. Waybill, order and phone searches use indexes (the waybill
/// key, the order link index, the phone's last four digits); a name search reads the
/// shipments newest first until the page is full.
pub fn search(c: &Connection, q: &Search) -> Result<Vec<ArchiveRow>> {
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<SqlValue> = Vec::new();
    let arg = |args: &mut Vec<SqlValue>, v: String| {
        args.push(SqlValue::Text(v));
        format!("?{}", args.len())
    };
    if let Some(w) = &q.waybill {
        let a = arg(&mut args, w.clone());
        let b = arg(&mut args, prefix_end(w));
        wh.push(format!("s.waybill >= {a} AND s.waybill < {b}"));
    }
    if let Some(o) = &q.order_no {
        let a = arg(&mut args, o.clone());
        let b = arg(&mut args, prefix_end(o));
        wh.push(format!(
            "s.waybill IN (SELECT waybill FROM shipment_orders WHERE order_no >= {a} AND order_no < {b})"
        ));
    }
    if let Some(p) = &q.phone {
        let last4 = p[p.len().saturating_sub(4)..].to_string();
        let a = arg(&mut args, last4);
        let b = arg(&mut args, format!("%{p}"));
        wh.push(format!("s.phone_last4 = {a} AND s.phone_digits LIKE {b}"));
    }
    if let Some(n) = &q.name {
        let a = arg(&mut args, format!("%{}%", like_escape(n)));
        wh.push(format!("s.recipient_name LIKE {a} ESCAPE '\\'"));
    }
    if let Some(f) = &q.from_utc {
        let a = arg(&mut args, f.clone());
        wh.push(format!("s.packed_at >= {a}"));
    }
    if let Some(u) = &q.until_utc {
        let a = arg(&mut args, u.clone());
        wh.push(format!("s.packed_at < {a}"));
    }
    if let Some(v) = &q.courier {
        let a = arg(&mut args, v.clone());
        wh.push(format!("s.courier = {a}"));
    }
    if let Some(v) = &q.status {
        let a = arg(&mut args, v.clone());
        wh.push(format!("s.status = {a}"));
    }
    if let Some(i) = q.imported {
        wh.push(format!("s.imported = {}", i64::from(i)));
    }
    let filter = if wh.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wh.join(" AND "))
    };
    let sql = format!(
        "SELECT s.waybill, s.courier, s.packed_at, s.status, s.imported, s.station, s.packer,
                s.measured_g, s.size_class, s.postcode, s.recipient_name, s.phone_last4,
                (SELECT group_concat(order_no, char(31)) FROM
                   (SELECT order_no FROM shipment_orders WHERE waybill = s.waybill ORDER BY order_no))
         FROM shipments s {filter}
         ORDER BY s.packed_at DESC, s.waybill DESC LIMIT {} OFFSET {}",
        q.limit.clamp(1, 500),
        q.offset.max(0)
    );
    let mut st = c.prepare_cached(&sql)?;
    let rows = st
        .query_map(params_from_iter(args.iter()), |r| {
            let orders: Option<String> = r.get(12)?;
            Ok(ArchiveRow {
                waybill: r.get(0)?,
                courier: r.get(1)?,
                packed_at: r.get(2)?,
                status: r.get(3)?,
                imported: r.get::<_, i64>(4)? != 0,
                station: r.get(5)?,
                packer: r.get(6)?,
                measured_grams: r.get(7)?,
                size_class: r.get(8)?,
                postcode: r.get(9)?,
                recipient_name: r.get(10)?,
                phone_last4: r.get(11)?,
                order_nos: orders
                    .map(|o| o.split('\u{1f}').map(str::to_string).collect())
                    .unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

// ----- the shipment page ---------------------------------------------------------------------

/// What the archive knows of a shipment beyond [`super::Shipment`].
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveFacts {
    pub size_class: String,
    pub postcode: String,
    pub imported: bool,
    pub recipient_name: String,
    pub phone_last4: String,
    pub manifest: Option<ManifestRef>,
    pub handed_over_at: Option<String>,
    pub label_available: bool,
    pub sealed: Option<SealRef>,
    pub corrections: Vec<Correction>,
    pub photos: Vec<PhotoRef>,
    pub claim_drafts: Vec<super::returns::ClaimDraft>,
    /// Rows of the `claims` table (issue 7's claims), each as its columns; absent while
    /// that table does not exist.
    pub claims: Option<Vec<serde_json::Map<String, serde_json::Value>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ManifestRef {
    pub id: i64,
    pub number: String,
    pub status: String,
    pub closed_at: Option<String>,
    pub closed_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SealRef {
    pub seq: i64,
    pub day: String,
    pub hash: String,
    pub sealed_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoRef {
    pub sha256: String,
    pub content_type: String,
    pub bytes: i64,
    pub at: String,
    pub operator: String,
    pub return_id: Option<i64>,
    /// A bench camera's still: its station, moment (`contents`, `sealed`) and label check.
    pub station: String,
    pub moment: String,
    pub check: String,
}

/// The archive's facts of one shipment, or `None` if there is no such shipment.
pub fn facts(c: &Connection, waybill: &str) -> Result<Option<ArchiveFacts>> {
    let row = c
        .query_row(
            "SELECT s.size_class, s.postcode, s.imported, s.recipient_name, s.phone_last4,
                    s.handed_over_at, m.id, m.number, m.status, m.closed_at, m.closed_by,
                    (coalesce(length(s.label_job), 0) > 0 OR coalesce(length(s.label_zpl), 0) > 0
                     OR s.label_data <> ''),
                    s.packed_at
             FROM shipments s LEFT JOIN manifests m ON m.id = s.manifest_id
             WHERE s.waybill = ?1",
            [waybill],
            |r| {
                let manifest = match r.get::<_, Option<i64>>(6)? {
                    Some(id) => Some(ManifestRef {
                        id,
                        number: r.get(7)?,
                        status: r.get(8)?,
                        closed_at: r.get(9)?,
                        closed_by: r.get(10)?,
                    }),
                    None => None,
                };
                Ok((
                    ArchiveFacts {
                        size_class: r.get(0)?,
                        postcode: r.get(1)?,
                        imported: r.get::<_, i64>(2)? != 0,
                        recipient_name: r.get(3)?,
                        phone_last4: r.get(4)?,
                        manifest,
                        handed_over_at: r.get(5)?,
                        label_available: r.get(11)?,
                        sealed: None,
                        corrections: vec![],
                        photos: vec![],
                        claim_drafts: vec![],
                        claims: None,
                    },
                    r.get::<_, String>(12)?,
                ))
            },
        )
        .optional()?;
    let Some((mut f, packed_at)) = row else {
        return Ok(None);
    };
    f.sealed = seal_of(c, waybill, &packed_at)?;
    f.corrections = corrections_of(c, waybill)?;
    let mut st = c.prepare_cached(
        "SELECT sha256, content_type, bytes, at, operator, return_id FROM photos
         WHERE waybill = ?1 OR return_id IN (SELECT id FROM returns WHERE waybill = ?1)
         ORDER BY at, sha256",
    )?;
    f.photos = st
        .query_map([waybill], |r| {
            Ok(PhotoRef {
                sha256: r.get(0)?,
                content_type: r.get(1)?,
                bytes: r.get(2)?,
                at: r.get(3)?,
                operator: r.get(4)?,
                return_id: r.get(5)?,
                station: String::new(),
                moment: String::new(),
                check: String::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    f.photos.extend(
        super::camera::photos_of_shipment(c, waybill)?
            .into_iter()
            .map(|p| PhotoRef {
                sha256: p.sha256,
                content_type: "image/jpeg".into(),
                bytes: p.bytes,
                at: p.at,
                operator: p.operator,
                return_id: None,
                station: p.station,
                moment: p.moment,
                check: p.check_result,
            }),
    );
    f.photos.sort_by(|a, b| a.at.cmp(&b.at));
    f.claim_drafts = super::returns::claim_drafts(c, Some(waybill))?;
    f.claims = claims_of(c, waybill)?;
    Ok(Some(f))
}

/// Claims from the `claims` table when it exists (it belongs to the claims workflow; read
/// here column by column so the archive does not depend on its shape).
fn claims_of(
    c: &Connection,
    waybill: &str,
) -> Result<Option<Vec<serde_json::Map<String, serde_json::Value>>>> {
    let has: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claims')",
        [],
        |r| r.get(0),
    )?;
    if !has {
        return Ok(None);
    }
    let has_waybill: bool = c.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('claims') WHERE name = 'waybill')",
        [],
        |r| r.get(0),
    )?;
    if !has_waybill {
        return Ok(None);
    }
    let mut st = c.prepare("SELECT * FROM claims WHERE waybill = ?1 ORDER BY rowid")?;
    let names: Vec<String> = st.column_names().map(|s| s.to_string()).collect();
    let rows = st
        .query_map([waybill], |r| {
            let mut m = serde_json::Map::new();
            for (i, n) in names.iter().enumerate() {
                let v = match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                    rusqlite::types::ValueRef::Integer(i) => i.into(),
                    rusqlite::types::ValueRef::Real(f) => f.into(),
                    rusqlite::types::ValueRef::Text(t) => {
                        String::from_utf8_lossy(t).into_owned().into()
                    }
                    rusqlite::types::ValueRef::Blob(b) => format!("({} bytes)", b.len()).into(),
                };
                m.insert(n.clone(), v);
            }
            Ok(m)
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some(rows))
}

/// The day seal covering a time, if that day is sealed.
fn seal_of(c: &Connection, waybill: &str, packed_at: &str) -> Result<Option<SealRef>> {
    let by_day = query_row(
        c,
        "SELECT seq, day, hash, sealed_at FROM archive_seals
         WHERE kind = 'day' AND ?1 >= from_utc AND ?1 < until_utc",
        [packed_at],
        seal_ref,
    )
    .optional()?;
    if by_day.is_some() {
        return Ok(by_day);
    }
    // A shipment recorded into a sealed day afterwards is sealed by its correction.
    Ok(query_row(
        c,
        "SELECT id, day, hash, at FROM archive_corrections WHERE waybill = ?1 AND kind = 'insert'",
        [waybill],
        seal_ref,
    )
    .optional()?)
}

fn seal_ref(r: &rusqlite::Row) -> rusqlite::Result<SealRef> {
    Ok(SealRef {
        seq: r.get(0)?,
        day: r.get(1)?,
        hash: r.get(2)?,
        sealed_at: r.get(3)?,
    })
}

const CORR_COLS: &str =
    "id, waybill, day, kind, old_status, new_status, reason, detail, at, by, prev_hash";

fn correction_row(r: &rusqlite::Row) -> rusqlite::Result<(Correction, String)> {
    Ok((
        Correction {
            id: r.get(0)?,
            waybill: r.get(1)?,
            day: r.get(2)?,
            kind: r.get(3)?,
            old_status: r.get(4)?,
            new_status: r.get(5)?,
            reason: r.get(6)?,
            detail: r.get(7)?,
            at: r.get(8)?,
            by: r.get(9)?,
            prev_hash: r.get(10)?,
        },
        r.get(11)?,
    ))
}

/// The corrections of one shipment, oldest first.
pub fn corrections_of(c: &Connection, waybill: &str) -> Result<Vec<Correction>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {CORR_COLS}, hash FROM archive_corrections WHERE waybill = ?1 ORDER BY id"
    ))?;
    let v = st
        .query_map([waybill], correction_row)?
        .map(|r| r.map(|(c, _)| c))
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

// ----- history import -----------------------------------------------------------------------

/// A shipment from another system's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedShipment {
    pub line: usize,
    pub waybill: String,
    pub courier: String,
    /// UTC RFC 3339.
    pub shipped_at: String,
    /// The warehouse's local date of `shipped_at`.
    pub local_day: String,
    pub order_no: String,
    pub weight_g: i64,
    pub size_class: String,
    pub postcode: String,
    pub status: String,
}

/// Which of `waybills` the archive already holds.
pub fn existing_waybills(c: &Connection, waybills: &[String]) -> Result<HashSet<String>> {
    let mut st = c.prepare_cached("SELECT 1 FROM shipments WHERE waybill = ?1")?;
    let mut out = HashSet::new();
    for w in waybills {
        if st.exists([w])? {
            out.insert(w.clone());
        }
    }
    Ok(out)
}

/// What a history import recorded.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ImportOutcome {
    pub added: usize,
    /// Of `added`: shipments of days already sealed, recorded through a correction each.
    pub into_sealed_days: usize,
    pub pack_id: i64,
}

/// Records imported shipments, all in the caller's transaction: one pack row stands for the
/// import (shipments need one; it is `imported` and never open), each shipment with its
/// order link and its waybill marked used (or void). A waybill already in the archive is a
/// conflict and nothing is kept.
pub fn insert_imported(
    c: &Connection,
    rows: &[ImportedShipment],
    file: &str,
    at: &str,
    by: &str,
) -> Result<ImportOutcome> {
    exec(
        c,
        "INSERT INTO packs (station, operator, status, opened_at, closed_at, packaging)
         VALUES ('import', ?1, 'imported', ?2, ?2, ?3)",
        params![by, at, file],
    )?;
    let pack_id = c.last_insert_rowid();
    let sealed_until = sealed_until(c)?;
    let mut out = ImportOutcome {
        pack_id,
        ..Default::default()
    };
    for s in rows {
        let sealed = !sealed_until.is_empty() && cmp_key(&s.shipped_at) < sealed_until.as_str();
        if sealed {
            let line = SealShipment {
                waybill: s.waybill.clone(),
                courier: s.courier.clone(),
                packed_at: s.shipped_at.clone(),
                station: String::new(),
                packer: String::new(),
                expected_g: 0,
                tolerance_g: 0,
                measured_g: s.weight_g,
                packaging: String::new(),
                status: s.status.clone(),
                override_by: String::new(),
                override_reason: String::new(),
                label_template: String::new(),
                label_data: String::new(),
                size_class: s.size_class.clone(),
                postcode: s.postcode.clone(),
                imported: true,
                orders: if s.order_no.is_empty() {
                    vec![]
                } else {
                    vec![s.order_no.clone()]
                },
                items: vec![],
            }
            .line();
            append_correction(
                c,
                Correction {
                    id: 0,
                    waybill: s.waybill.clone(),
                    day: s.local_day.clone(),
                    kind: "insert".into(),
                    old_status: String::new(),
                    new_status: s.status.clone(),
                    reason: format!("imported from {file}"),
                    detail: line,
                    at: at.into(),
                    by: by.into(),
                    prev_hash: String::new(),
                },
            )?;
            out.into_sealed_days += 1;
        }
        let inserted = exec(
            c,
            "INSERT INTO shipments (waybill, courier, pack_id, station, packer, packed_at, expected_g,
                                    tolerance_g, measured_g, status, size_class, postcode, imported)
             VALUES (?1, ?2, ?3, '', '', ?4, 0, 0, ?5, ?6, ?7, ?8, 1)
             ON CONFLICT(waybill) DO NOTHING",
            params![
                s.waybill,
                s.courier,
                pack_id,
                s.shipped_at,
                s.weight_g,
                s.status,
                s.size_class,
                s.postcode
            ],
        )?;
        if inserted == 0 {
            return Err(StorageError::Conflict(format!(
                "line {}: waybill {} is already in the archive",
                s.line, s.waybill
            )));
        }
        if !s.order_no.is_empty() {
            exec(
                c,
                "INSERT INTO shipment_orders (waybill, order_no) VALUES (?1, ?2)",
                params![s.waybill, s.order_no],
            )?;
        }
        exec(
            c,
            "INSERT INTO waybills (number, courier, status, source, at) VALUES (?1, ?2, ?3, 'import', ?4)
             ON CONFLICT(number) DO NOTHING",
            params![
                s.waybill,
                s.courier,
                if s.status == "void" { "void" } else { "used" },
                at
            ],
        )?;
        out.added += 1;
    }
    Ok(out)
}

// ----- seals ------------------------------------------------------------------------------------

/// A stored UTC time as the sealed-range key: `YYYY-MM-DDTHH:MM:SS` (its first 19 bytes),
/// which sorts the same as the time whatever fraction and zone letter follow.
pub fn cmp_key(utc: &str) -> &str {
    utc.get(..19).unwrap_or(utc)
}

/// Every row stamped before this (a [`cmp_key`]) belongs to a sealed day; '' if none.
pub fn sealed_until(c: &Connection) -> Result<String> {
    Ok(query_row(
        c,
        "SELECT sealed_until FROM archive_state WHERE id = 1",
        [],
        |r| r.get(0),
    )?)
}

/// A seal as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Seal {
    #[serde(flatten)]
    pub header: SealHeader,
    pub hash: String,
}

const SEAL_COLS: &str = "seq, kind, day, tz, from_utc, until_utc, shipments, events, corr_id, \
                         corr_hash, content_hash, prev_hash, sealed_at, sealed_by, hash";

fn seal_row(r: &rusqlite::Row) -> rusqlite::Result<Seal> {
    Ok(Seal {
        header: SealHeader {
            seq: r.get(0)?,
            kind: r.get(1)?,
            day: r.get(2)?,
            tz: r.get(3)?,
            from_utc: r.get(4)?,
            until_utc: r.get(5)?,
            shipments: r.get(6)?,
            events: r.get(7)?,
            corr_id: r.get(8)?,
            corr_hash: r.get(9)?,
            content_hash: r.get(10)?,
            prev_hash: r.get(11)?,
            sealed_at: r.get(12)?,
            sealed_by: r.get(13)?,
        },
        hash: r.get(14)?,
    })
}

/// Every seal, in chain order.
pub fn seals(c: &Connection) -> Result<Vec<Seal>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {SEAL_COLS} FROM archive_seals ORDER BY seq"
    ))?;
    let v = st
        .query_map([], seal_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The newest seal, if any.
pub fn last_seal(c: &Connection) -> Result<Option<Seal>> {
    Ok(query_row(
        c,
        &format!("SELECT {SEAL_COLS} FROM archive_seals ORDER BY seq DESC LIMIT 1"),
        [],
        seal_row,
    )
    .optional()?)
}

/// The newest day seal, if any.
pub fn last_day_seal(c: &Connection) -> Result<Option<Seal>> {
    Ok(query_row(
        c,
        &format!(
            "SELECT {SEAL_COLS} FROM archive_seals WHERE kind = 'day' ORDER BY seq DESC LIMIT 1"
        ),
        [],
        seal_row,
    )
    .optional()?)
}

/// The earliest time any shipment or event was stamped, if the archive holds any.
pub fn first_record(c: &Connection) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT min(t) FROM (SELECT min(packed_at) AS t FROM shipments
                             UNION ALL SELECT min(at) FROM events WHERE at LIKE '____-__-__T%')",
        [],
        |r| r.get(0),
    )?)
}

/// A shipment row as sealed: the status is rewound to what it was before its first status
/// correction, so a sealed day recomputes to the same hash after corrections.
fn seal_shipment(c: &Connection, r: &rusqlite::Row) -> rusqlite::Result<SealShipment> {
    let waybill: String = r.get(0)?;
    let current: String = r.get(9)?;
    let first_old: Option<String> = c
        .prepare_cached(
            "SELECT old_status FROM archive_corrections WHERE waybill = ?1 AND kind = 'status'
             ORDER BY id LIMIT 1",
        )?
        .query_row([&waybill], |r| r.get(0))
        .optional()?;
    let mut orders: Vec<String> = c
        .prepare_cached("SELECT order_no FROM shipment_orders WHERE waybill = ?1")?
        .query_map([&waybill], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    orders.sort();
    let mut items: Vec<(String, i64)> = c
        .prepare_cached("SELECT sku, qty FROM shipment_items WHERE waybill = ?1")?
        .query_map([&waybill], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    items.sort();
    Ok(SealShipment {
        waybill,
        courier: r.get(1)?,
        packed_at: r.get(2)?,
        station: r.get(3)?,
        packer: r.get(4)?,
        expected_g: r.get(5)?,
        tolerance_g: r.get(6)?,
        measured_g: r.get(7)?,
        packaging: r.get(8)?,
        status: first_old.unwrap_or(current),
        override_by: r.get(10)?,
        override_reason: r.get(11)?,
        label_template: r.get(12)?,
        label_data: r.get(13)?,
        size_class: r.get(14)?,
        postcode: r.get(15)?,
        imported: r.get::<_, i64>(16)? != 0,
        orders,
        items,
    })
}

const SHIP_COLS: &str = "waybill, courier, packed_at, station, packer, expected_g, tolerance_g, \
     measured_g, packaging, status, override_by, override_reason, label_template, label_data, \
     size_class, postcode, imported";

/// Hashes one day's canonical content: the shipments packed in `[from, until)` (those
/// recorded later through an `insert` correction are sealed by it instead), in waybill
/// order, then the events of the range in id order.
pub fn day_content(
    c: &Connection,
    day: &str,
    tz: &str,
    from_utc: &str,
    until_utc: &str,
) -> Result<(String, i64, i64)> {
    let mut h = DayHasher::new(day, tz, from_utc, until_utc);
    let mut st = c.prepare_cached(&format!(
        "SELECT {SHIP_COLS} FROM shipments
         WHERE packed_at >= ?1 AND packed_at < ?2
           AND waybill NOT IN (SELECT waybill FROM archive_corrections WHERE kind = 'insert')
         ORDER BY waybill"
    ))?;
    let mut rows = st.query(params![from_utc, until_utc])?;
    while let Some(r) = rows.next()? {
        h.shipment(&seal_shipment(c, r)?);
    }
    let mut st = c.prepare_cached(
        "SELECT id, at, station, operator, kind, code, verdict, reason, pack_id, waybill, detail
         FROM events WHERE at >= ?1 AND at < ?2 ORDER BY id",
    )?;
    let mut rows = st.query(params![from_utc, until_utc])?;
    while let Some(r) = rows.next()? {
        h.event(&seal::SealEvent {
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
            detail: r.get(10)?,
        });
    }
    let (s, e) = (h.shipments, h.events);
    Ok((h.finish(), s, e))
}

/// The newest correction's id and hash (0 and '' when there is none).
fn correction_head(c: &Connection) -> Result<(i64, String)> {
    Ok(query_row(
        c,
        "SELECT id, hash FROM archive_corrections ORDER BY id DESC LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?
    .unwrap_or((0, String::new())))
}

fn append_seal(c: &Connection, mut h: SealHeader) -> Result<Seal> {
    let last = last_seal(c)?;
    h.seq = last.as_ref().map_or(1, |s| s.header.seq + 1);
    h.prev_hash = last.map_or_else(|| GENESIS.to_string(), |s| s.hash);
    let (corr_id, corr_hash) = correction_head(c)?;
    h.corr_id = corr_id;
    h.corr_hash = corr_hash;
    let hash = h.hash();
    exec(
        c,
        &format!(
            "INSERT INTO archive_seals ({SEAL_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ),
        params![
            h.seq,
            h.kind,
            h.day,
            h.tz,
            h.from_utc,
            h.until_utc,
            h.shipments,
            h.events,
            h.corr_id,
            h.corr_hash,
            h.content_hash,
            h.prev_hash,
            h.sealed_at,
            h.sealed_by,
            hash
        ],
    )?;
    Ok(Seal { header: h, hash })
}

/// Seals one local day: hashes its content, appends the seal to the chain and moves the
/// sealed boundary to the day's end. The day must follow the last sealed day (or start the
/// chain); a day already sealed is refused as a conflict.
#[allow(clippy::too_many_arguments)]
pub fn seal_day(
    c: &Connection,
    day: &str,
    tz: &str,
    from_utc: &str,
    until_utc: &str,
    at: &str,
    by: &str,
) -> Result<Seal> {
    let until = sealed_until(c)?;
    if !until.is_empty() && from_utc < until.as_str() {
        return Err(StorageError::Conflict(format!("{day} is already sealed")));
    }
    let (content_hash, shipments, events) = day_content(c, day, tz, from_utc, until_utc)?;
    let seal = append_seal(
        c,
        SealHeader {
            seq: 0,
            kind: "day".into(),
            day: day.into(),
            tz: tz.into(),
            from_utc: from_utc.into(),
            until_utc: until_utc.into(),
            shipments,
            events,
            corr_id: 0,
            corr_hash: String::new(),
            content_hash,
            prev_hash: String::new(),
            sealed_at: at.into(),
            sealed_by: by.into(),
        },
    )?;
    exec(
        c,
        "UPDATE archive_state SET sealed_until = ?1 WHERE id = 1",
        [until_utc],
    )?;
    Ok(seal)
}

/// Appends a correction to the chain; returns its id.
pub fn append_correction(c: &Connection, mut k: Correction) -> Result<i64> {
    let (last_id, last_hash) = correction_head(c)?;
    k.id = last_id + 1;
    k.prev_hash = if last_id == 0 {
        GENESIS.to_string()
    } else {
        last_hash
    };
    let hash = k.hash();
    exec(
        c,
        &format!(
            "INSERT INTO archive_corrections ({CORR_COLS}, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ),
        params![
            k.id,
            k.waybill,
            k.day,
            k.kind,
            k.old_status,
            k.new_status,
            k.reason,
            k.detail,
            k.at,
            k.by,
            k.prev_hash,
            hash
        ],
    )?;
    Ok(k.id)
}

/// The sealed day a shipment belongs to, if it is sealed: its day seal, or the correction
/// that recorded it into a sealed day.
fn sealed_day_of(c: &Connection, waybill: &str, packed_at: &str) -> Result<Option<String>> {
    let until = sealed_until(c)?;
    if until.is_empty() || cmp_key(packed_at) >= until.as_str() {
        return Ok(None);
    }
    Ok(Some(
        seal_of(c, waybill, packed_at)?
            .map(|s| s.day)
            .unwrap_or_default(),
    ))
}

/// Before a shipment's status changes: when its day is sealed, appends the correction that
/// lets the change through (the triggers refuse it otherwise). Returns the correction's id,
/// or `None` when the day is not sealed and the row may simply be updated.
pub fn correct_if_sealed(
    c: &Connection,
    waybill: &str,
    new_status: &str,
    reason: &str,
    by: &str,
    at: &str,
) -> Result<Option<i64>> {
    let row: Option<(String, String)> = query_row(
        c,
        "SELECT packed_at, status FROM shipments WHERE waybill = ?1",
        [waybill],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?;
    let Some((packed_at, old)) = row else {
        return Ok(None);
    };
    let Some(day) = sealed_day_of(c, waybill, &packed_at)? else {
        return Ok(None);
    };
    Ok(Some(append_correction(
        c,
        Correction {
            id: 0,
            waybill: waybill.into(),
            day,
            kind: "status".into(),
            old_status: old,
            new_status: new_status.into(),
            reason: reason.into(),
            detail: String::new(),
            at: at.into(),
            by: by.into(),
            prev_hash: String::new(),
        },
    )?))
}

/// Sets a shipment's status (a return, a loss, damage, undeliverable, or back to shipped),
/// through a correction when its day is sealed. Returns the old status and the correction.
pub fn set_status(
    c: &Connection,
    waybill: &str,
    status: &str,
    reason: &str,
    by: &str,
    at: &str,
) -> Result<(String, Option<i64>)> {
    let old: String = query_row(
        c,
        "SELECT status FROM shipments WHERE waybill = ?1",
        [waybill],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StorageError::Conflict(format!("no shipment {waybill}")))?;
    let corr = correct_if_sealed(c, waybill, status, reason, by, at)?;
    exec(
        c,
        "UPDATE shipments SET status = ?2 WHERE waybill = ?1",
        params![waybill, status],
    )?;
    Ok((old, corr))
}

// ----- verification ------------------------------------------------------------------------------

/// What `archive verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    pub days_sealed: i64,
    pub days_purged: i64,
    pub corrections: i64,
    pub mismatches: Vec<seal::Mismatch>,
}

/// Recomputes every seal and correction: the chain links, each day's content (except days
/// an explicit purge removed), each correction's hash, and that each corrected shipment
/// still has the status its last correction gave it.
pub fn verify(c: &Connection) -> Result<Verification> {
    let all = seals(c)?;
    let purged_before = all
        .iter()
        .filter(|s| s.header.kind == "purge")
        .map(|s| s.header.day.clone())
        .max()
        .unwrap_or_default();
    let mut out = Verification::default();
    let mut stored = Vec::with_capacity(all.len());
    let mut last_day_until = String::new();
    for s in &all {
        let h = &s.header;
        let recomputed = if h.kind == "day" {
            out.days_sealed += 1;
            last_day_until = h.until_utc.clone();
            if h.day < purged_before {
                out.days_purged += 1;
                None
            } else {
                Some(day_content(c, &h.day, &h.tz, &h.from_utc, &h.until_utc)?)
            }
        } else {
            None
        };
        stored.push(seal::StoredSeal {
            header: h.clone(),
            hash: s.hash.clone(),
            recomputed,
        });
    }
    out.mismatches = seal::check_chain(&stored);
    // A purge seal stands for the day seals before it: recompute what it says of them.
    for (i, s) in all.iter().enumerate() {
        if s.header.kind != "purge" {
            continue;
        }
        let purged: Vec<&Seal> = all[..i]
            .iter()
            .filter(|d| d.header.kind == "day" && d.header.day < s.header.day)
            .collect();
        let want = seal::purge_content(
            &s.header.day,
            purged.len() as i64,
            purged.last().map_or("", |d| d.hash.as_str()),
        );
        if want != s.header.content_hash {
            out.mismatches.push(seal::Mismatch {
                day: s.header.day.clone(),
                seq: s.header.seq,
                what: "the purge seal does not match the day seals it stands for".into(),
            });
        }
    }
    let until = sealed_until(c)?;
    if until != last_day_until {
        out.mismatches.push(seal::Mismatch {
            day: String::new(),
            seq: 0,
            what: format!(
                "the sealed boundary is `{until}` but the last day seal ends at `{last_day_until}`"
            ),
        });
    }
    verify_corrections(c, &all, &purged_before, &mut out)?;
    Ok(out)
}

fn verify_corrections(
    c: &Connection,
    seals: &[Seal],
    purged_before: &str,
    out: &mut Verification,
) -> Result<()> {
    let mut st = c.prepare(&format!(
        "SELECT {CORR_COLS}, hash FROM archive_corrections ORDER BY id"
    ))?;
    let all: Vec<(Correction, String)> = st
        .query_map([], correction_row)?
        .collect::<rusqlite::Result<_>>()?;
    out.corrections = all.len() as i64;
    let mut prev = GENESIS.to_string();
    let mut hashes = std::collections::HashMap::new();
    for (i, (k, hash)) in all.iter().enumerate() {
        let bad = |what: String| seal::Mismatch {
            day: k.day.clone(),
            seq: 0,
            what: format!("correction {} ({}): {what}", k.id, k.waybill),
        };
        if k.id != i as i64 + 1 {
            out.mismatches
                .push(bad(format!("numbered {} where {} was due", k.id, i + 1)));
        }
        if k.prev_hash != prev || k.hash() != *hash {
            out.mismatches
                .push(bad("its hash does not match the correction chain".into()));
        }
        hashes.insert(k.id, hash.clone());
        prev = hash.clone();
    }
    // Each seal fixed the corrections chain as it stood then.
    for s in seals {
        let h = &s.header;
        if h.corr_id == 0 {
            continue;
        }
        if hashes.get(&h.corr_id) != Some(&h.corr_hash) {
            out.mismatches.push(seal::Mismatch {
                day: h.day.clone(),
                seq: h.seq,
                what: format!(
                    "correction {} is not the one this seal recorded (the corrections were changed)",
                    h.corr_id
                ),
            });
        }
    }
    // Each corrected shipment is as its corrections say.
    let mut seen = HashSet::new();
    for (k, _) in all.iter().rev() {
        if !seen.insert(k.waybill.clone()) || k.day.as_str() < purged_before {
            continue;
        }
        let cols = format!("SELECT {SHIP_COLS} FROM shipments WHERE waybill = ?1");
        let row = c
            .query_row(&cols, [&k.waybill], |r| {
                Ok((r.get::<_, String>(9)?, seal_shipment(c, r)?))
            })
            .optional()?;
        let Some((status, sealed)) = row else {
            out.mismatches.push(seal::Mismatch {
                day: k.day.clone(),
                seq: 0,
                what: format!("shipment {} is corrected but missing", k.waybill),
            });
            continue;
        };
        if status != k.new_status {
            out.mismatches.push(seal::Mismatch {
                day: k.day.clone(),
                seq: 0,
                what: format!(
                    "shipment {} has status {status} but its last correction says {}",
                    k.waybill, k.new_status
                ),
            });
        }
        if let Some((ins, _)) = all
            .iter()
            .find(|(i, _)| i.waybill == k.waybill && i.kind == "insert")
        {
            if ins.detail != sealed.line() {
                out.mismatches.push(seal::Mismatch {
                    day: ins.day.clone(),
                    seq: 0,
                    what: format!(
                        "shipment {} does not match the record of its import (correction {})",
                        k.waybill, ins.id
                    ),
                });
            }
        }
    }
    Ok(())
}

// ----- purge ---------------------------------------------------------------------------------------

/// What a purge removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Purged {
    pub days: i64,
    pub shipments: i64,
    pub events: i64,
    pub orders_anonymised: i64,
    pub seal: Option<Seal>,
}

/// Removes every record before `until_utc` (the local start of `before`): shipments with
/// their contents, order links and manifest lines, and events; the recipients of orders
/// that only those shipments carried are blanked. Then appends a purge seal standing for
/// the day seals before `before`, so the chain still verifies. The caller has checked
/// retention and that the days are sealed.
pub fn purge(c: &Connection, before: &str, until_utc: &str, at: &str, by: &str) -> Result<Purged> {
    exec(
        c,
        "INSERT INTO archive_purge_gate (until_utc) VALUES (?1)",
        [until_utc],
    )?;
    let orders = exec(
        c,
        "UPDATE orders SET recipient_name = '', recipient_phone = '', address = ''
         WHERE order_no IN (SELECT so.order_no FROM shipment_orders so JOIN shipments s ON s.waybill = so.waybill
                            WHERE s.packed_at < ?1)
           AND NOT EXISTS (SELECT 1 FROM shipment_orders so JOIN shipments s ON s.waybill = so.waybill
                           WHERE so.order_no = orders.order_no AND s.packed_at >= ?1)",
        [until_utc],
    )? as i64;
    for sql in [
        "DELETE FROM manifest_parcels WHERE waybill IN (SELECT waybill FROM shipments WHERE packed_at < ?1)",
        "DELETE FROM shipment_items WHERE waybill IN (SELECT waybill FROM shipments WHERE packed_at < ?1)",
        "DELETE FROM shipment_orders WHERE waybill IN (SELECT waybill FROM shipments WHERE packed_at < ?1)",
        "DELETE FROM order_events WHERE event_id IN (SELECT id FROM events WHERE at < ?1)",
    ] {
        exec(c, sql, [until_utc])?;
    }
    let shipments = exec(c, "DELETE FROM shipments WHERE packed_at < ?1", [until_utc])? as i64;
    let events = exec(c, "DELETE FROM events WHERE at < ?1", [until_utc])? as i64;
    exec(c, "DELETE FROM archive_purge_gate", [])?;
    let days: Vec<Seal> = seals(c)?
        .into_iter()
        .filter(|s| s.header.kind == "day" && s.header.day.as_str() < before)
        .collect();
    let content = seal::purge_content(
        before,
        days.len() as i64,
        days.last().map_or("", |d| d.hash.as_str()),
    );
    let seal = append_seal(
        c,
        SealHeader {
            seq: 0,
            kind: "purge".into(),
            day: before.into(),
            tz: String::new(),
            from_utc: String::new(),
            until_utc: until_utc.into(),
            shipments,
            events,
            corr_id: 0,
            corr_hash: String::new(),
            content_hash: content,
            prev_hash: String::new(),
            sealed_at: at.into(),
            sealed_by: by.into(),
        },
    )?;
    Ok(Purged {
        days: days.len() as i64,
        shipments,
        events,
        orders_anonymised: orders,
        seal: Some(seal),
    })
}

/// The archive's sealing state for the pages: days sealed, the last seal, corrections.
#[derive(Debug, Clone, Serialize)]
pub struct SealStatus {
    pub days_sealed: i64,
    pub last: Option<Seal>,
    pub last_day: Option<String>,
    pub corrections: i64,
    pub shipments: i64,
    pub imported: i64,
}

pub fn status(c: &Connection) -> Result<SealStatus> {
    let days_sealed: i64 = c.query_row(
        "SELECT count(*) FROM archive_seals WHERE kind = 'day'",
        [],
        |r| r.get(0),
    )?;
    let corrections: i64 =
        c.query_row("SELECT count(*) FROM archive_corrections", [], |r| r.get(0))?;
    let (shipments, imported): (i64, i64) = c.query_row(
        "SELECT count(*), coalesce(sum(imported), 0) FROM shipments",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(SealStatus {
        days_sealed,
        last_day: last_day_seal(c)?.map(|s| s.header.day),
        last: last_seal(c)?,
        corrections,
        shipments,
        imported,
    })
}
