//! SQL of claims against couriers: the claim with its amounts and the dispatch evidence kept
//! when it was opened, its status history, its photos, and what was read on each photo (a
//! QR code or barcode naming a waybill, which links the photo to that shipment).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Result;

/// A claim as recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    pub id: i64,
    pub number: String,
    pub waybill: String,
    pub courier: String,
    pub kind: String,
    pub status: String,
    pub description: String,
    pub claimed: i64,
    pub accepted: i64,
    pub paid: i64,
    pub draft_id: Option<i64>,
    pub deducted_bill: Option<i64>,
    pub evidence: serde_json::Value,
    pub opened_at: String,
    pub opened_by: String,
    pub updated_at: String,
}

const COLS: &str =
    "id, number, waybill, courier, kind, status, description, claimed, accepted, paid,
    draft_id, deducted_bill, evidence, opened_at, opened_by, updated_at";

fn row(r: &rusqlite::Row) -> rusqlite::Result<Claim> {
    let evidence: String = r.get(12)?;
    Ok(Claim {
        id: r.get(0)?,
        number: r.get(1)?,
        waybill: r.get(2)?,
        courier: r.get(3)?,
        kind: r.get(4)?,
        status: r.get(5)?,
        description: r.get(6)?,
        claimed: r.get(7)?,
        accepted: r.get(8)?,
        paid: r.get(9)?,
        draft_id: r.get(10)?,
        deducted_bill: r.get(11)?,
        evidence: serde_json::from_str(&evidence).unwrap_or_default(),
        opened_at: r.get(13)?,
        opened_by: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

/// A claim to open.
#[derive(Debug, Clone)]
pub struct NewClaim {
    pub waybill: String,
    pub courier: String,
    pub kind: String,
    pub description: String,
    pub claimed: i64,
    pub draft_id: Option<i64>,
    pub evidence: serde_json::Value,
    pub at: String,
    pub by: String,
}

/// Opens a claim numbered `CL-YYYYMMDD-N` for the local `day`; records its first status.
pub fn insert_claim(c: &Connection, day: &str, n: &NewClaim) -> Result<i64> {
    let like = format!("CL-{day}-%");
    let count: i64 = c.query_row(
        "SELECT COUNT(*) FROM claims WHERE number LIKE ?1",
        [&like],
        |r| r.get(0),
    )?;
    let number = format!("CL-{day}-{}", count + 1);
    c.execute(
        "INSERT INTO claims (number, waybill, courier, kind, status, description, claimed, draft_id,
                             evidence, opened_at, opened_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?10, ?9)",
        params![
            number,
            n.waybill,
            n.courier,
            n.kind,
            n.description,
            n.claimed,
            n.draft_id,
            n.evidence.to_string(),
            n.at,
            n.by
        ],
    )?;
    let id = c.last_insert_rowid();
    c.execute(
        "INSERT INTO claim_history (claim_id, at, status, claimed, by, note) VALUES (?1, ?2, 'open', ?3, ?4, ?5)",
        params![id, n.at, n.claimed, n.by, n.description],
    )?;
    if let Some(d) = n.draft_id {
        c.execute(
            "UPDATE claim_drafts SET status = 'opened' WHERE id = ?1",
            [d],
        )?;
    }
    Ok(id)
}

/// A claim by its id or its number.
pub fn get_claim(c: &Connection, key: &str) -> Result<Option<Claim>> {
    let by_id = key.parse::<i64>().ok();
    Ok(c.query_row(
        &format!("SELECT {COLS} FROM claims WHERE id = ?1 OR number = ?2"),
        params![by_id, key],
        row,
    )
    .optional()?)
}

/// The claim opened from a return's draft, if any.
pub fn claim_of_draft(c: &Connection, draft_id: i64) -> Result<Option<Claim>> {
    Ok(c.query_row(
        &format!("SELECT {COLS} FROM claims WHERE draft_id = ?1"),
        [draft_id],
        row,
    )
    .optional()?)
}

/// Claims, newest first: all, or those in one status; of one waybill when given.
pub fn list_claims(
    c: &Connection,
    status: Option<&str>,
    waybill: Option<&str>,
    limit: i64,
) -> Result<Vec<Claim>> {
    let mut st = c.prepare(&format!(
        "SELECT {COLS} FROM claims WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR waybill = ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let v = st
        .query_map(params![status, waybill, limit], row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A step of a claim's history.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub at: String,
    pub status: String,
    pub claimed: i64,
    pub accepted: i64,
    pub paid: i64,
    pub by: String,
    pub note: String,
}

pub fn history(c: &Connection, claim_id: i64) -> Result<Vec<HistoryEntry>> {
    let mut st = c.prepare_cached(
        "SELECT at, status, claimed, accepted, paid, by, note FROM claim_history WHERE claim_id = ?1 ORDER BY id",
    )?;
    let v = st
        .query_map([claim_id], |r| {
            Ok(HistoryEntry {
                at: r.get(0)?,
                status: r.get(1)?,
                claimed: r.get(2)?,
                accepted: r.get(3)?,
                paid: r.get(4)?,
                by: r.get(5)?,
                note: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Sets a claim's status and amounts, and records the step.
#[allow(clippy::too_many_arguments)]
pub fn set_status(
    c: &Connection,
    id: i64,
    status: &str,
    claimed: i64,
    accepted: i64,
    paid: i64,
    at: &str,
    by: &str,
    note: &str,
) -> Result<()> {
    c.execute(
        "UPDATE claims SET status = ?2, claimed = ?3, accepted = ?4, paid = ?5, updated_at = ?6 WHERE id = ?1",
        params![id, status, claimed, accepted, paid, at],
    )?;
    c.execute(
        "INSERT INTO claim_history (claim_id, at, status, claimed, accepted, paid, by, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![id, at, status, claimed, accepted, paid, by, note],
    )?;
    Ok(())
}

/// A photo of a claim or linked to its shipment.
#[derive(Debug, Clone, Serialize)]
pub struct ClaimPhoto {
    pub sha256: String,
    pub content_type: String,
    pub bytes: i64,
    pub via: String,
    pub at: String,
    /// What was read on it (empty when nothing).
    pub code: String,
}

/// Keeps a photo's row (the file is written by the caller) with the waybill it names.
pub fn insert_photo(
    c: &Connection,
    sha: &str,
    path: &str,
    content_type: &str,
    bytes: i64,
    at: &str,
    by: &str,
) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO photos (sha256, path, content_type, bytes, at, operator)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![sha, path, content_type, bytes, at, by],
    )?;
    Ok(())
}

/// What was read on a photo: (symbology, code, waybill), if it was decoded before.
pub fn photo_code(c: &Connection, sha: &str) -> Result<Option<(String, String, String)>> {
    Ok(c.query_row(
        "SELECT symbology, code, waybill FROM photo_codes WHERE sha256 = ?1",
        [sha],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?)
}

/// Records what was read on a photo and, when it names a shipment, links the photo to it
/// (the archive's `photos.waybill`) and to that shipment's open claims.
pub fn set_photo_code(
    c: &Connection,
    sha: &str,
    symbology: &str,
    code: &str,
    waybill: &str,
    at: &str,
    by: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO photo_codes (sha256, symbology, code, waybill) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(sha256) DO UPDATE SET symbology = excluded.symbology, code = excluded.code,
           waybill = excluded.waybill",
        params![sha, symbology, code, waybill],
    )?;
    if !waybill.is_empty() {
        c.execute(
            "UPDATE photos SET waybill = ?2 WHERE sha256 = ?1 AND waybill = ''",
            params![sha, waybill],
        )?;
        let ids: Vec<i64> = c
            .prepare_cached(
                "SELECT id FROM claims WHERE waybill = ?1 AND status NOT IN ('closed', 'rejected', 'paid')",
            )?
            .query_map([waybill], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in ids {
            attach_photo(c, id, sha, symbology, at, by)?;
        }
    }
    Ok(())
}

/// Attaches a photo to a claim (once).
pub fn attach_photo(
    c: &Connection,
    claim_id: i64,
    sha: &str,
    via: &str,
    at: &str,
    by: &str,
) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO claim_photos (claim_id, sha256, via, at, by) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![claim_id, sha, via, at, by],
    )?;
    Ok(())
}

/// A claim's photos: attached to it, and any other photo linked to its waybill.
pub fn claim_photos(c: &Connection, claim_id: i64, waybill: &str) -> Result<Vec<ClaimPhoto>> {
    let mut st = c.prepare_cached(
        "SELECT p.sha256, p.content_type, p.bytes, cp.via, cp.at, coalesce(pc.code, '')
         FROM claim_photos cp JOIN photos p ON p.sha256 = cp.sha256
         LEFT JOIN photo_codes pc ON pc.sha256 = p.sha256
         WHERE cp.claim_id = ?1
         UNION
         SELECT p.sha256, p.content_type, p.bytes, coalesce(pc.symbology, 'link'), p.at, coalesce(pc.code, '')
         FROM photos p LEFT JOIN photo_codes pc ON pc.sha256 = p.sha256
         WHERE p.waybill = ?2 AND ?2 <> ''
           AND p.sha256 NOT IN (SELECT sha256 FROM claim_photos WHERE claim_id = ?1)
         ORDER BY 5",
    )?;
    let v = st
        .query_map(params![claim_id, waybill], |r| {
            Ok(ClaimPhoto {
                sha256: r.get(0)?,
                content_type: r.get(1)?,
                bytes: r.get(2)?,
                via: r.get(3)?,
                at: r.get(4)?,
                code: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The photos linked to a shipment's waybill (by a code read on them or by a claim).
pub fn waybill_photos(c: &Connection, waybill: &str) -> Result<Vec<ClaimPhoto>> {
    let mut st = c.prepare_cached(
        "SELECT p.sha256, p.content_type, p.bytes, coalesce(pc.symbology, ''), p.at, coalesce(pc.code, '')
         FROM photos p LEFT JOIN photo_codes pc ON pc.sha256 = p.sha256
         WHERE p.waybill = ?1
            OR p.sha256 IN (SELECT cp.sha256 FROM claim_photos cp JOIN claims cl ON cl.id = cp.claim_id
                            WHERE cl.waybill = ?1)
         ORDER BY p.at",
    )?;
    let v = st
        .query_map([waybill], |r| {
            Ok(ClaimPhoto {
                sha256: r.get(0)?,
                content_type: r.get(1)?,
                bytes: r.get(2)?,
                via: r.get(3)?,
                at: r.get(4)?,
                code: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A photo's file path under the data folder.
pub fn photo_path(c: &Connection, sha: &str) -> Result<Option<(String, String)>> {
    Ok(c.query_row(
        "SELECT path, content_type FROM photos WHERE sha256 = ?1",
        [sha],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// A return's claim draft: (id, waybill, courier, reason, lines JSON, photos JSON, status).
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: i64,
    pub waybill: String,
    pub courier: String,
    pub reason: String,
    pub lines: serde_json::Value,
    pub photos: Vec<String>,
}

pub fn get_draft(c: &Connection, id: i64) -> Result<Option<Draft>> {
    Ok(c.query_row(
        "SELECT id, waybill, courier, reason, lines, photos FROM claim_drafts WHERE id = ?1",
        [id],
        |r| {
            let lines: String = r.get(4)?;
            let photos: String = r.get(5)?;
            Ok(Draft {
                id: r.get(0)?,
                waybill: r.get(1)?,
                courier: r.get(2)?,
                reason: r.get(3)?,
                lines: serde_json::from_str(&lines).unwrap_or_default(),
                photos: serde_json::from_str(&photos).unwrap_or_default(),
            })
        },
    )
    .optional()?)
}

/// Drafts from return inspections not opened as claims yet.
pub fn unopened_drafts(c: &Connection) -> Result<Vec<(i64, String, String, String)>> {
    let mut st = c.prepare(
        "SELECT d.id, d.waybill, d.courier, d.reason FROM claim_drafts d
         WHERE NOT EXISTS (SELECT 1 FROM claims WHERE draft_id = d.id) ORDER BY d.id DESC LIMIT 200",
    )?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A shipment's hand-over: (manifest number, manifest closed_at, handed_over_at).
pub type Handover = (String, Option<String>, Option<String>);

/// The manifest and hand-over of a shipment.
pub fn handover_of(c: &Connection, waybill: &str) -> Result<Option<Handover>> {
    Ok(c.query_row(
        "SELECT m.number, m.closed_at, s.handed_over_at FROM shipments s
         JOIN manifests m ON m.id = s.manifest_id WHERE s.waybill = ?1",
        [waybill],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?)
}
