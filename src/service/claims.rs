//! Claims against the courier (분실·파손 배상 / 丢件破损索赔): a claim is opened on a shipment
//! (lost, damaged, short, wrong item, undeliverable), optionally from the claim draft a return
//! inspection made, and the dispatch evidence is attached by itself at that moment: measured
//! against expected weight, the scan log, the packer, the label, the manifest and hand-over
//! time. Photos are kept as content-hashed files; a photo whose QR code or Code 128 barcode
//! names a waybill is linked to that shipment (and its open claims) without anyone saying so.
//! Amounts claimed, accepted and paid and every status change are kept with their dates; open
//! claims feed the bill reconciliation's `claim_deduction`. The evidence pack prints as one
//! PDF: the claim and its evidence through the label engine, then the label and the photos.

use image::{imageops, GrayImage, Luma};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::returns::{image_type, PHOTO_LIMIT};
use super::{now, App, ServiceError};
use crate::camera;
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage;
use crate::storage::claims::{self as store, Claim, NewClaim};

/// The claim kinds, stable.
pub const KINDS: [&str; 5] = ["lost", "damaged", "short", "wrong_item", "undeliverable"];
/// The claim statuses, stable: open → submitted → accepted | rejected → paid → closed.
pub const STATUSES: [&str; 6] = [
    "open",
    "submitted",
    "accepted",
    "rejected",
    "paid",
    "closed",
];

const PACK_TEMPLATE: (&str, &str) = (
    "claim-pack-a4.toml",
    include_str!("../../label-templates/claim-pack-a4.toml"),
);

/// The working size photos are decoded at (longest side, pixels): large enough for a label
/// that fills a tenth of a phone photo, small enough to decode in a fraction of a second.
const WORKING_SIZES: [u32; 3] = [1000, 1600, 700];

fn bad(lang: Lang, key: &str, args: &[(&str, &str)]) -> ServiceError {
    ServiceError::BadRequest(i18n::tf(lang, key, args))
}

// ----- reading codes on photos -------------------------------------------------------------

/// Reads the QR codes and Code 128 barcodes on a photo, best first: greyscale, scaled to a
/// working size, contrast stretched, tried at each quarter turn (QR) and across a sweep of
/// angles (barcodes). Returns (symbology, text) pairs.
pub fn read_codes(bytes: &[u8]) -> Vec<(&'static str, String)> {
    let Ok(img) = image::load_from_memory(bytes) else {
        return Vec::new();
    };
    let grey = img.to_luma8();
    let mut out: Vec<(&'static str, String)> = Vec::new();
    fn push(out: &mut Vec<(&'static str, String)>, s: &'static str, t: String) {
        if !t.is_empty() && !out.iter().any(|(_, x)| *x == t) {
            out.push((s, t));
        }
    }
    for size in WORKING_SIZES {
        let g = camera::stretched(&camera::scaled(&grey, size));
        for turn in 0..4 {
            let r = match turn {
                0 => g.clone(),
                1 => imageops::rotate90(&g),
                2 => imageops::rotate180(&g),
                _ => imageops::rotate270(&g),
            };
            for code in qr_codes(&r) {
                push(&mut out, "qr", code);
            }
            if !out.is_empty() {
                return out;
            }
        }
    }
    // No QR: look for a barcode along lines at a sweep of angles.
    let g = camera::stretched(&camera::scaled(&grey, 1200));
    for step in 0..36 {
        let angle = step as f32 * 5.0;
        let r = if step == 0 {
            g.clone()
        } else {
            rotate(&g, angle)
        };
        for code in code128_scan(&r) {
            push(&mut out, "code128", code);
        }
        if !out.is_empty() {
            return out;
        }
    }
    out
}

/// Rotates about the centre by `deg` (white outside), nearest neighbour.
fn rotate(g: &GrayImage, deg: f32) -> GrayImage {
    let (w, h) = g.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let mut out = GrayImage::from_pixel(w, h, Luma([255]));
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let sx = c * dx + s * dy + cx;
            let sy = -s * dx + c * dy + cy;
            if sx >= 0.0 && sy >= 0.0 && (sx as u32) < w && (sy as u32) < h {
                out.put_pixel(x, y, *g.get_pixel(sx as u32, sy as u32));
            }
        }
    }
    out
}

fn qr_codes(g: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(g.clone());
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|grid| grid.decode().ok().map(|(_, text)| text.trim().to_string()))
        .collect()
}

/// Code 128 widths of each symbol value (bar, space, bar, space, bar, space); 106 is stop.
const C128: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "233111",
];

/// The symbol value whose widths best match six runs (normalised to 11 modules), if close.
fn symbol(runs: &[f32]) -> Option<usize> {
    let total: f32 = runs.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let unit = total / 11.0;
    let mut best = (f32::MAX, 0usize);
    for (v, pat) in C128.iter().enumerate() {
        let err: f32 = pat
            .bytes()
            .zip(runs)
            .map(|(p, r)| ((p - b'0') as f32 - r / unit).abs())
            .sum();
        if err < best.0 {
            best = (err, v);
        }
    }
    (best.0 < 1.6).then_some(best.1)
}

/// Decodes Code 128 (sets B and C, with shifts between them) along horizontal lines.
fn code128_scan(g: &GrayImage) -> Vec<String> {
    let (w, h) = g.dimensions();
    let mut found: Vec<String> = Vec::new();
    let mut y = h / 8;
    while y < h * 7 / 8 {
        let row: Vec<u8> = (0..w).map(|x| g.get_pixel(x, y)[0]).collect();
        // Local threshold: the row's own mid grey.
        let (mn, mx) = row
            .iter()
            .fold((255u8, 0u8), |(a, b), &v| (a.min(v), b.max(v)));
        if mx.saturating_sub(mn) > 60 {
            let t = (mn as u16 + mx as u16) / 2;
            let mut runs: Vec<(bool, f32)> = Vec::new();
            for &v in &row {
                let dark = (v as u16) < t;
                match runs.last_mut() {
                    Some((d, n)) if *d == dark => *n += 1.0,
                    _ => runs.push((dark, 1.0)),
                }
            }
            // Read both ways: a label upside down gives the runs backwards.
            let mut back = runs.clone();
            back.reverse();
            for s in decode_runs(&runs).into_iter().chain(decode_runs(&back)) {
                if !found.contains(&s) {
                    found.push(s);
                }
            }
        }
        y += 3;
    }
    found
}

fn decode_runs(runs: &[(bool, f32)]) -> Vec<String> {
    let mut out = Vec::new();
    for start in 0..runs.len() {
        if !runs[start].0 || runs.len() < start + 19 {
            continue;
        }
        let widths: Vec<f32> = runs[start..start + 6].iter().map(|r| r.1).collect();
        let Some(first) = symbol(&widths) else {
            continue;
        };
        if !(103..=105).contains(&first) {
            continue;
        }
        // A quiet zone before the start symbol.
        let unit = widths.iter().sum::<f32>() / 11.0;
        if start > 0 && runs[start - 1].1 < unit * 5.0 {
            continue;
        }
        let mut values = vec![first];
        let mut i = start + 6;
        let mut ok = false;
        while i + 6 <= runs.len() {
            let ws: Vec<f32> = runs[i..i + 6].iter().map(|r| r.1).collect();
            let Some(v) = symbol(&ws) else { break };
            if v == 106 {
                ok = true;
                break;
            }
            values.push(v);
            i += 6;
        }
        if !ok || values.len() < 3 {
            continue;
        }
        let check = values.pop().unwrap_or(0);
        let sum: usize = values[0]
            + values
                .iter()
                .enumerate()
                .skip(1)
                .map(|(k, v)| k * v)
                .sum::<usize>();
        if sum % 103 != check {
            continue;
        }
        let mut text = String::new();
        let mut set = match values[0] {
            105 => 'C',
            104 => 'B',
            _ => 'A',
        };
        for &v in &values[1..] {
            match (set, v) {
                ('C', 0..=99) => text.push_str(&format!("{v:02}")),
                ('B', 0..=94) => text.push((b' ' + v as u8) as char),
                ('A', 0..=63) => text.push((b' ' + v as u8) as char),
                (_, 99) => set = 'C',
                (_, 100) => set = 'B',
                (_, 101) => set = 'A',
                _ => {}
            }
        }
        if !text.is_empty() {
            out.push(text);
        }
    }
    out
}

// ----- the claim workflow ------------------------------------------------------------------

/// What a claim is opened with.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OpenClaim {
    #[serde(default)]
    pub waybill: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub claimed: i64,
    /// A return inspection's claim draft to open as this claim.
    #[serde(default)]
    pub draft_id: Option<i64>,
}

/// A change of a claim's status or amounts.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ClaimUpdate {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub claimed: Option<i64>,
    #[serde(default)]
    pub accepted: Option<i64>,
    #[serde(default)]
    pub paid: Option<i64>,
    #[serde(default)]
    pub note: String,
}

impl App {
    /// Opens a claim. From a draft: its waybill, courier and reason, and the draft's photos;
    /// the draft opened twice gives the same claim, never a second one. A claim on a waybill
    /// whose return drafted one takes that draft.
    pub async fn open_claim(
        &self,
        req: OpenClaim,
        by: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let mut req = req;
        if let Some(d) = req.draft_id {
            let found = self
                .db
                .read(move |c| Ok((store::get_draft(c, d)?, store::claim_of_draft(c, d)?)))
                .await?;
            let (draft, existing) = found;
            let draft = draft
                .ok_or_else(|| bad(lang, "claims.error.no_draft", &[("id", &d.to_string())]))?;
            if let Some(cl) = existing {
                return self.claim_view(&cl.id.to_string(), lang).await;
            }
            if req.waybill.trim().is_empty() {
                req.waybill = draft.waybill.clone();
            }
            if req.description.trim().is_empty() {
                req.description = draft.reason.clone();
            }
            if req.kind.trim().is_empty() {
                req.kind = "damaged".into();
            }
        }
        let kind = req.kind.trim().to_ascii_lowercase();
        if !KINDS.contains(&kind.as_str()) {
            return Err(bad(
                lang,
                "claims.error.kind",
                &[("kind", &kind), ("kinds", &KINDS.join(", "))],
            ));
        }
        if req.claimed < 0 {
            return Err(bad(lang, "claims.error.amount", &[]));
        }
        let waybill: String = req.waybill.chars().filter(|c| !c.is_whitespace()).collect();
        let wb = waybill.clone();
        let (shipment, events, handover, drafts) = self
            .db
            .read(move |c| {
                let s = storage::get_shipment(c, &wb)?;
                let ev = match &s {
                    Some(s) => storage::shipment_events(c, s.pack_id, &wb)?,
                    None => vec![],
                };
                Ok((
                    s,
                    ev,
                    store::handover_of(c, &wb)?,
                    store::unopened_drafts(c)?,
                ))
            })
            .await?;
        let shipment = shipment
            .ok_or_else(|| bad(lang, "claims.error.no_shipment", &[("waybill", &waybill)]))?;
        let draft_id = req.draft_id.or_else(|| {
            drafts
                .iter()
                .find(|(_, w, _, _)| *w == waybill)
                .map(|(id, ..)| *id)
        });
        // The dispatch evidence as it stands now.
        let scans: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({ "at": e.at, "kind": e.kind, "code": e.code, "verdict": e.verdict,
                             "reason": e.reason, "station": e.station, "operator": e.operator })
            })
            .collect();
        let (manifest, manifest_closed, handed_over) = handover
            .map(|(m, c, h)| (m, c.unwrap_or_default(), h.unwrap_or_default()))
            .unwrap_or_default();
        let packer_name = self
            .config
            .operator(&shipment.packer)
            .map(|o| o.name.clone())
            .unwrap_or_default();
        let evidence = json!({
            "waybill": shipment.waybill, "courier": shipment.courier,
            "packed_at": shipment.packed_at, "station": shipment.station,
            "packer": shipment.packer, "packer_name": packer_name,
            "expected_g": shipment.expected_grams, "tolerance_g": shipment.tolerance_grams,
            "measured_g": shipment.measured_grams,
            "diff_g": shipment.measured_grams - shipment.expected_grams,
            "packaging": shipment.packaging, "status": shipment.status,
            "override_by": shipment.override_by, "override_reason": shipment.override_reason,
            "label_template": shipment.label_template,
            "orders": shipment.order_nos, "items": shipment.items,
            "manifest": manifest, "manifest_closed_at": manifest_closed, "handed_over_at": handed_over,
            "scans": scans,
        });
        let draft_photos = match draft_id {
            Some(d) => {
                self.db
                    .read(move |c| {
                        Ok(store::get_draft(c, d)?
                            .map(|d| d.photos)
                            .unwrap_or_default())
                    })
                    .await?
            }
            None => vec![],
        };
        let day = super::stock::local_day(&self.config.warehouse.timezone);
        let new = NewClaim {
            waybill: waybill.clone(),
            courier: shipment.courier.clone(),
            kind,
            description: req.description.trim().to_string(),
            claimed: req.claimed,
            draft_id,
            evidence,
            at: now(),
            by: by.to_string(),
        };
        let at = new.at.clone();
        let who = by.to_string();
        let id = self
            .db
            .write(move |c| {
                if let Some(d) = new.draft_id {
                    if let Some(cl) = store::claim_of_draft(c, d)? {
                        return Ok(cl.id);
                    }
                }
                let id = store::insert_claim(c, &day, &new)?;
                for p in &draft_photos {
                    if c.query_row("SELECT 1 FROM photos WHERE sha256 = ?1", [p], |_| Ok(())).is_ok() {
                        store::attach_photo(c, id, p, "upload", &at, &who)?;
                    }
                }
                // Photos that already name this waybill belong to the claim too.
                let linked: Vec<(String, String)> = c
                    .prepare("SELECT p.sha256, coalesce(pc.symbology, 'upload') FROM photos p LEFT JOIN photo_codes pc ON pc.sha256 = p.sha256 WHERE p.waybill = ?1")?
                    .query_map([&new.waybill], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                for (sha, via) in linked {
                    store::attach_photo(c, id, &sha, &via, &at, &who)?;
                }
                Ok(id)
            })
            .await?;
        self.claim_view(&id.to_string(), lang).await
    }

    /// A claim with its history, photos and the evidence kept with it.
    pub async fn claim_view(&self, key: &str, lang: Lang) -> Result<Value, ServiceError> {
        let k = key.to_string();
        let found = self
            .db
            .read(move |c| {
                let Some(cl) = store::get_claim(c, &k)? else {
                    return Ok(None);
                };
                let h = store::history(c, cl.id)?;
                let p = store::claim_photos(c, cl.id, &cl.waybill)?;
                Ok(Some((cl, h, p)))
            })
            .await?;
        let Some((cl, history, photos)) = found else {
            return Err(ServiceError::NotFound(i18n::tf(
                lang,
                "claims.error.not_found",
                &[("claim", key)],
            )));
        };
        let outstanding = outstanding(&cl);
        Ok(json!({ "claim": cl, "history": history, "photos": photos,
                   "outstanding": outstanding,
                   "courier_name": self.courier_name(&cl.courier, lang.code()),
                   "pack_url": format!("/api/v1/claims/{}/pack.pdf", cl.number) }))
    }

    /// Claims, newest first.
    pub async fn claims(
        &self,
        status: Option<String>,
        waybill: Option<String>,
    ) -> Result<Vec<Claim>, ServiceError> {
        Ok(self
            .db
            .read(move |c| store::list_claims(c, status.as_deref(), waybill.as_deref(), 500))
            .await?)
    }

    /// Changes a claim's status and amounts (a manager's badge checked by the caller).
    pub async fn update_claim(
        &self,
        key: &str,
        u: ClaimUpdate,
        by: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let k = key.to_string();
        let cl = self
            .db
            .read(move |c| store::get_claim(c, &k))
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(i18n::tf(lang, "claims.error.not_found", &[("claim", key)]))
            })?;
        let status = u
            .status
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| cl.status.clone());
        if !STATUSES.contains(&status.as_str()) {
            return Err(bad(
                lang,
                "claims.error.status",
                &[("status", &status), ("statuses", &STATUSES.join(", "))],
            ));
        }
        let claimed = u.claimed.unwrap_or(cl.claimed);
        let accepted = u.accepted.unwrap_or(cl.accepted);
        let paid = u.paid.unwrap_or(cl.paid);
        if claimed < 0 || accepted < 0 || paid < 0 {
            return Err(bad(lang, "claims.error.amount", &[]));
        }
        if accepted > claimed || paid > accepted.max(claimed) {
            return Err(bad(lang, "claims.error.amounts_order", &[]));
        }
        let (at, who, note, id) = (now(), by.to_string(), u.note.trim().to_string(), cl.id);
        self.db
            .write(move |c| {
                store::set_status(c, id, &status, claimed, accepted, paid, &at, &who, &note)
            })
            .await?;
        self.claim_view(&cl.id.to_string(), lang).await
    }

    /// Keeps a photo (content-hashed under the data folder), reads any QR code or barcode on
    /// it and links it to the shipment it names; attached to `claim` when given. Returns the
    /// photo's hash, what was read and the waybill it was linked to.
    pub async fn claim_photo(
        &self,
        claim: Option<&str>,
        bytes: Vec<u8>,
        by: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let claim = match claim {
            Some(k) => {
                let k2 = k.to_string();
                Some(
                    self.db
                        .read(move |c| store::get_claim(c, &k2))
                        .await?
                        .ok_or_else(|| {
                            ServiceError::NotFound(i18n::tf(
                                lang,
                                "claims.error.not_found",
                                &[("claim", k)],
                            ))
                        })?,
                )
            }
            None => None,
        };
        if bytes.is_empty() || bytes.len() > PHOTO_LIMIT {
            return Err(bad(
                lang,
                "returns.error.photo_size",
                &[("limit_mb", &(PHOTO_LIMIT / 1024 / 1024).to_string())],
            ));
        }
        let Some((content_type, ext)) = image_type(&bytes) else {
            return Err(bad(lang, "returns.error.photo_type", &[]));
        };
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let rel = format!("photos/{}/{sha}.{ext}", &sha[..2]);
        let size = bytes.len() as i64;
        let s2 = sha.clone();
        let known = self.db.read(move |c| store::photo_code(c, &s2)).await?;
        let decoded = known.is_some();
        self.keep_file(&rel, bytes.clone()).await?;
        let codes =
            tokio::task::spawn_blocking(move || if decoded { vec![] } else { read_codes(&bytes) })
                .await
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        // The first code read that names a shipment of ours.
        let cands = codes.clone();
        let hit = self
            .db
            .read(move |c| {
                for (sym, code) in &cands {
                    let clean: String =
                        code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
                    for k in [code.as_str(), clean.as_str()] {
                        if storage::get_shipment(c, k)?.is_some() {
                            return Ok(Some((*sym, code.clone(), k.to_string())));
                        }
                    }
                }
                Ok(None)
            })
            .await?;
        let (at, who) = (now(), by.to_string());
        let (sha2, claim_id) = (sha.clone(), claim.as_ref().map(|c| c.id));
        let record = hit.clone();
        let first = codes.first().cloned();
        self.db
            .write(move |c| {
                store::insert_photo(c, &sha2, &rel, content_type, size, &at, &who)?;
                if let Some(id) = claim_id {
                    store::attach_photo(c, id, &sha2, "upload", &at, &who)?;
                }
                if !decoded {
                    let (sym, code, wb) = match (&record, &first) {
                        (Some((s, code, wb)), _) => (*s, code.clone(), wb.clone()),
                        (None, Some((s, code))) => (*s, code.clone(), String::new()),
                        (None, None) => ("", String::new(), String::new()),
                    };
                    store::set_photo_code(c, &sha2, sym, &code, &wb, &at, &who)?;
                }
                Ok(())
            })
            .await?;
        let s3 = sha.clone();
        let (sym, code, waybill) = self
            .db
            .read(move |c| store::photo_code(c, &s3))
            .await?
            .unwrap_or_default();
        let mut message = if waybill.is_empty() {
            i18n::t(lang, "claims.photo_kept")
        } else {
            i18n::tf(lang, "claims.photo_linked", &[("waybill", &waybill)])
        };
        if let Some(cl) = &claim {
            if !waybill.is_empty() && waybill != cl.waybill {
                message = i18n::tf(
                    lang,
                    "claims.photo_other_waybill",
                    &[("waybill", &waybill), ("claim_waybill", &cl.waybill)],
                );
            }
        }
        Ok(
            json!({ "photo": sha, "content_type": content_type, "bytes": size,
                   "symbology": sym, "code": code, "waybill": waybill, "message": message }),
        )
    }

    /// The photos linked to a shipment and its claims.
    pub async fn shipment_claims(&self, waybill: &str) -> Result<Value, ServiceError> {
        let wb = waybill.to_string();
        let (claims, photos) = self
            .db
            .read(move |c| {
                Ok((
                    store::list_claims(c, None, Some(&wb), 100)?,
                    store::waybill_photos(c, &wb)?,
                ))
            })
            .await?;
        Ok(json!({ "waybill": waybill, "claims": claims, "photos": photos }))
    }

    /// The evidence pack: one PDF with the claim, its amounts and history, the dispatch
    /// record and scan log (label engine, `claim-pack-a4.toml`), then the label as printed and
    /// each photo on a page of its own.
    pub async fn claim_pack(&self, key: &str, lang: Lang) -> Result<Vec<u8>, ServiceError> {
        let v = self.claim_view(key, lang).await?;
        let cl: Claim = serde_json::from_value(v["claim"].clone())
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let tz = jiff::tz::TimeZone::get(&self.config.warehouse.timezone)
            .unwrap_or(jiff::tz::TimeZone::UTC);
        let local = |s: &str| -> String {
            s.parse::<jiff::Timestamp>()
                .map(|t| {
                    t.to_zoned(tz.clone())
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_else(|_| s.to_string())
        };
        let ev = &cl.evidence;
        let t: serde_json::Map<String, Value> = [
            "title",
            "claim",
            "waybill",
            "courier",
            "kind",
            "status",
            "opened",
            "claimed",
            "accepted",
            "paid",
            "description",
            "dispatch",
            "packed",
            "packer",
            "station",
            "expected",
            "measured",
            "diff",
            "packaging",
            "override",
            "orders",
            "manifest",
            "handed_over",
            "scan_log",
            "history",
            "photos",
            "label",
            "at",
            "event",
            "code",
            "verdict",
            "page",
        ]
        .iter()
        .map(|k| {
            (
                k.to_string(),
                json!(i18n::t(lang, &format!("claims.pdf.{k}"))),
            )
        })
        .collect();
        let scans: Vec<Value> = ev["scans"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| json!({ "at": local(s["at"].as_str().unwrap_or("")), "kind": s["kind"],
                             "code": s["code"], "verdict": s["verdict"],
                             "who": format!("{} {}", s["station"].as_str().unwrap_or(""), s["operator"].as_str().unwrap_or("")) }))
            .collect();
        let history: Vec<String> = v["history"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| {
                format!(
                    "{} {} ({} / {} / {}) {} {}",
                    local(h["at"].as_str().unwrap_or("")),
                    i18n::t(
                        lang,
                        &format!("claims.status.{}", h["status"].as_str().unwrap_or(""))
                    ),
                    h["claimed"],
                    h["accepted"],
                    h["paid"],
                    h["by"].as_str().unwrap_or(""),
                    h["note"].as_str().unwrap_or("")
                )
            })
            .collect();
        let photos = v["photos"].as_array().cloned().unwrap_or_default();
        let data = json!({
            "t": t,
            "number": cl.number, "waybill": cl.waybill,
            "courier": v["courier_name"],
            "kind": i18n::t(lang, &format!("claims.kind.{}", cl.kind)),
            "status": i18n::t(lang, &format!("claims.status.{}", cl.status)),
            "opened_at": local(&cl.opened_at), "opened_by": cl.opened_by,
            "claimed": cl.claimed, "accepted": cl.accepted, "paid": cl.paid,
            "description": cl.description,
            "packed_at": local(ev["packed_at"].as_str().unwrap_or("")),
            "packer": format!("{} {}", ev["packer"].as_str().unwrap_or(""), ev["packer_name"].as_str().unwrap_or("")),
            "station": ev["station"], "expected_g": ev["expected_g"], "tolerance_g": ev["tolerance_g"],
            "measured_g": ev["measured_g"], "diff_g": ev["diff_g"], "packaging": ev["packaging"],
            "override": format!("{} {}", ev["override_by"].as_str().unwrap_or(""), ev["override_reason"].as_str().unwrap_or("")).trim().to_string(),
            "orders": ev["orders"],
            "manifest": ev["manifest"],
            "handed_over_at": local(ev["handed_over_at"].as_str().unwrap_or("")),
            "history": history.join("\n"),
            "photo_count": photos.len(),
            "warehouse": { "name": self.config.warehouse.name },
            "scans": scans,
        });
        let template = self.doc_template(PACK_TEMPLATE)?;
        let text_pdf = tokio::task::spawn_blocking(move || {
            labels::render(&template, &data, labels::Format::Pdf)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        // The label as printed, then the photos.
        let mut images: Vec<(String, Vec<u8>)> = Vec::new();
        if let Ok(png) = self.label(&cl.waybill, labels::Format::Png).await {
            images.push((
                format!("{} {}", i18n::t(lang, "claims.pdf.label"), cl.waybill),
                png,
            ));
        }
        for p in &photos {
            let sha = p["sha256"].as_str().unwrap_or("").to_string();
            let s2 = sha.clone();
            if let Some((path, _)) = self.db.read(move |c| store::photo_path(c, &s2)).await? {
                if let Ok(bytes) = tokio::fs::read(self.data_dir.join(&path)).await {
                    images.push((
                        format!(
                            "{} {}",
                            i18n::t(lang, "claims.pdf.photos"),
                            &sha[..12.min(sha.len())]
                        ),
                        bytes,
                    ));
                }
            }
        }
        tokio::task::spawn_blocking(move || append_images(&text_pdf, &images))
            .await
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?
            .map_err(ServiceError::BadRequest)
    }
}

/// What is still owed on a claim: the accepted amount once accepted, else the claimed one,
/// less what was paid.
pub fn outstanding(c: &Claim) -> i64 {
    match c.status.as_str() {
        "rejected" | "closed" => 0,
        "accepted" | "paid" => (c.accepted - c.paid).max(0),
        _ => (c.claimed - c.paid).max(0),
    }
}

/// Appends one A4 page per image (fitted inside the margins) to a PDF.
fn append_images(pdf: &[u8], images: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    use printpdf::{
        Mm, Op, PdfDocument, PdfPage, PdfSaveOptions, Pt, RawImage, RawImageData, RawImageFormat,
        XObjectTransform,
    };
    let mut base = lopdf::Document::load_mem(pdf).map_err(|e| format!("reading the pack: {e}"))?;
    if images.is_empty() {
        let mut out = Vec::new();
        base.save_to(&mut out).map_err(|e| e.to_string())?;
        return Ok(out);
    }
    let mut doc = PdfDocument::new("evidence");
    let mut pages = Vec::new();
    for (_, bytes) in images {
        let Ok(img) = image::load_from_memory(bytes) else {
            continue;
        };
        let rgb = img.to_rgb8();
        let (w, h) = rgb.dimensions();
        let raw = RawImage {
            pixels: RawImageData::U8(rgb.into_raw()),
            width: w as usize,
            height: h as usize,
            data_format: RawImageFormat::RGB8,
            tag: Vec::new(),
        };
        let id = doc.add_image(&raw);
        // Fit in 180 × 257 mm, centred on the page.
        let dpi = (w as f32 / (180.0 / 25.4))
            .max(h as f32 / (257.0 / 25.4))
            .max(1.0);
        let (iw, ih) = (w as f32 / dpi * 25.4, h as f32 / dpi * 25.4);
        let x = (210.0 - iw) / 2.0;
        let y = (297.0 - ih) / 2.0;
        let to_pt = |mm: f32| Pt(mm * 72.0 / 25.4);
        let ops = vec![Op::UseXobject {
            id,
            transform: XObjectTransform {
                translate_x: Some(to_pt(x)),
                translate_y: Some(to_pt(y)),
                dpi: Some(dpi),
                ..Default::default()
            },
        }];
        pages.push(PdfPage::new(Mm(210.0), Mm(297.0), ops));
    }
    let mut warnings = Vec::new();
    let extra = doc
        .with_pages(pages)
        .to_lopdf_document(&PdfSaveOptions::default(), &mut warnings);
    merge_into(&mut base, extra)?;
    let mut out = Vec::new();
    base.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Moves every page of `extra` to the end of `base`'s page tree.
fn merge_into(base: &mut lopdf::Document, mut extra: lopdf::Document) -> Result<(), String> {
    use lopdf::Object;
    extra.renumber_objects_with(base.max_id + 1);
    base.max_id = extra.max_id;
    let pages_id = base
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| format!("the pack has no page tree: {e}"))?;
    let extra_pages: Vec<lopdf::ObjectId> = extra.get_pages().into_values().collect();
    for (id, obj) in extra.objects {
        base.objects.insert(id, obj);
    }
    for p in &extra_pages {
        if let Ok(Object::Dictionary(d)) = base.get_object_mut(*p) {
            d.set("Parent", Object::Reference(pages_id));
        }
    }
    let pages = base
        .get_object_mut(pages_id)
        .and_then(Object::as_dict_mut)
        .map_err(|e| e.to_string())?;
    let mut kids = pages
        .get(b"Kids")
        .and_then(Object::as_array)
        .cloned()
        .unwrap_or_default();
    kids.extend(extra_pages.iter().map(|p| Object::Reference(*p)));
    let count = kids.len() as i64;
    pages.set("Kids", Object::Array(kids));
    pages.set("Count", Object::Integer(count));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_code128_reads_back_from_a_rotated_noisy_image() {
        // The label engine's own Code 128, drawn large, rotated 20° and speckled.
        let value = "600012345671";
        let (_, modules) = crate::labels::barcode::code128_modules(value).unwrap();
        let (mw, h) = (4u32, 120u32);
        let width = (modules.len() as u32 + 20) * mw;
        let mut img = GrayImage::from_pixel(width + 200, h + 200, Luma([235]));
        for (i, m) in modules.iter().enumerate() {
            if *m {
                for x in 0..mw {
                    for y in 0..h {
                        img.put_pixel(100 + (10 + i as u32) * mw + x, 100 + y, Luma([20]));
                    }
                }
            }
        }
        let mut seed = 7u64;
        for p in img.pixels_mut() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let n = ((seed >> 33) % 40) as i32 - 20;
            p[0] = (p[0] as i32 + n).clamp(0, 255) as u8;
        }
        let r = rotate(&img, 20.0);
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(r)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let codes = read_codes(&png);
        assert!(
            codes.iter().any(|(s, c)| *s == "code128" && c == value),
            "{codes:?}"
        );
    }
}
