//! Hand-over and dispatch (DESIGN.md workflow 5): manifests per courier per pick-up, parcels
//! scanned onto them, stray scans, closing with both printed copies, and the marketplace
//! dispatch files.
//!
//! A scan is decided inside its write job: the writer runs one job at a time, so "is this
//! parcel on another open manifest?" and putting it on this one cannot interleave with
//! another scan. Closing renders the PDF before its write (rendering is slow and must not
//! hold the writer); the write then checks that the manifest is still open with the same
//! parcels, so what was printed is what was recorded.

use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{now, App, Outcome, ServiceError};
use crate::config::Role;
use crate::domain::{codes, waybill};
use crate::exports::dispatch::{
    self, day_bounds, local_date, DispatchFile, DispatchFormat, ExportError, SheetKind, Shipped,
};
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage::handover::{self as store, Manifest, ManifestView, NewManifest, PendingParcel};
use crate::storage::{self, NewEvent, StorageError};

/// The hand-over manifest template (A4, the courier's copy and ours).
pub const MANIFEST_TEMPLATE: &str = "handover-manifest-a4.toml";

/// The station events of a hand-over carry when the caller names none: the dock.
pub const DEFAULT_STATION: &str = "handover";

/// Closings are taken one at a time (render, then record): two managers pressing "close"
/// on the same manifest get one closing and one "already closed".
fn closing_lock() -> &'static tokio::sync::Mutex<()> {
    static LOCK: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// Who acts at the hand-over, and where.
#[derive(Debug, Clone)]
struct Actor {
    badge: String,
    station: String,
}

impl Actor {
    fn new(badge: &str, station: Option<&str>) -> Actor {
        let station = station.map(str::trim).filter(|s| !s.is_empty());
        Actor {
            badge: badge.trim().to_string(),
            station: station.unwrap_or(DEFAULT_STATION).to_string(),
        }
    }
}

/// What the write job of a scan decided.
enum ScanDecision {
    Badge(String),
    Added { waybill: String, seq: i64 },
    AlreadyHere(String),
    OtherCourier { waybill: String, courier: String },
    Void(String),
    OnOther { waybill: String, manifest: String },
    HandedOver { waybill: String, manifest: String },
    Stray(String),
    Closed,
    NoBadge,
}

impl ScanDecision {
    fn code(&self) -> &'static str {
        match self {
            ScanDecision::Badge(_) => "signed_in",
            ScanDecision::Added { .. } => "added",
            ScanDecision::AlreadyHere(_) => "already_on_manifest",
            ScanDecision::OtherCourier { .. } => "other_courier",
            ScanDecision::Void(_) => "parcel_void",
            ScanDecision::OnOther { .. } => "on_other_manifest",
            ScanDecision::HandedOver { .. } => "already_handed_over",
            ScanDecision::Stray(_) => "stray",
            ScanDecision::Closed => "manifest_closed",
            ScanDecision::NoBadge => "badge_required",
        }
    }

    fn accepted(&self) -> bool {
        matches!(
            self,
            ScanDecision::Badge(_) | ScanDecision::Added { .. } | ScanDecision::AlreadyHere(_)
        )
    }
}

/// A recipient's name as couriers print it on lists: first and last character kept.
pub fn mask_name(name: &str) -> String {
    let chars: Vec<char> = name.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".into(),
        2 => format!("{}*", chars[0]),
        n => format!("{}{}{}", chars[0], "*".repeat(n - 2), chars[n - 1]),
    }
}

impl App {
    /// A courier's name in a language (the code when the courier is unknown).
    pub fn courier_name(&self, code: &str, lang: &str) -> String {
        waybill::rule(&self.rules, code)
            .map(|r| r.name(lang).to_string())
            .unwrap_or_else(|| code.to_string())
    }

    fn operator_name(&self, badge: &str) -> Option<String> {
        self.config.operator(badge).map(|o| o.name.clone())
    }

    fn is_manager_badge(&self, badge: &str) -> bool {
        self.config
            .operator(badge)
            .is_some_and(|o| o.role == Role::Manager)
    }

    fn tz(&self) -> &str {
        &self.config.warehouse.timezone
    }

    async fn record_refusal(
        &self,
        mut ev: NewEvent,
        code: &'static str,
        message: String,
    ) -> Result<Outcome, ServiceError> {
        ev.verdict = "refused".into();
        ev.reason = code.into();
        let id = self
            .db
            .write(move |c| storage::insert_event(c, &ev))
            .await?;
        Ok(Outcome {
            verdict: "refused",
            code: code.into(),
            action: String::new(),
            message,
            event_id: id,
            extra: Default::default(),
        })
    }

    async fn find_manifest(&self, number: &str, lang: Lang) -> Result<Manifest, ServiceError> {
        let n = number.trim().to_string();
        self.db
            .read(move |c| store::get_manifest(c, &n))
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(i18n::tf(
                    lang,
                    "handover.no_manifest",
                    &[("manifest", number)],
                ))
            })
    }

    /// Opens a manifest for `courier` (several may be open for one courier: one per pick-up).
    pub async fn open_manifest(
        &self,
        courier: &str,
        badge: &str,
        station: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let who = &Actor::new(badge, station);
        let courier = courier.trim().to_ascii_lowercase();
        if waybill::rule(&self.rules, &courier).is_none() {
            let known: Vec<&str> = self.rules.iter().map(|r| r.code.as_str()).collect();
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "handover.unknown_courier",
                &[("courier", &courier), ("known", &known.join(", "))],
            )));
        }
        let at = now();
        let ev = NewEvent {
            at: at.clone(),
            station: who.station.clone(),
            operator: who.badge.clone(),
            kind: "manifest_open",
            detail: json!({ "courier": courier }),
            ..Default::default()
        };
        if self.operator_name(&who.badge).is_none() {
            let msg = i18n::t(lang, "handover.badge_required");
            return self.record_refusal(ev, "badge_required", msg).await;
        }
        let (date, _, _) = day_bounds(self.tz(), None).map_err(ServiceError::BadRequest)?;
        let (who2, courier2) = (who.clone(), courier.clone());
        let (id, number) = self
            .db
            .write(move |c| {
                let n = store::manifests_on(c, &courier2, &date)? + 1;
                let number = format!(
                    "HM-{}-{}-{n}",
                    date.replace('-', ""),
                    courier2.to_ascii_uppercase()
                );
                store::insert_manifest(
                    c,
                    &NewManifest {
                        number: number.clone(),
                        courier: courier2.clone(),
                        local_date: date,
                        station: who2.station.clone(),
                        opened_at: at,
                        opened_by: who2.badge.clone(),
                    },
                )?;
                let mut ev = ev;
                ev.verdict = "accepted".into();
                ev.detail = json!({ "courier": courier2, "manifest": number });
                Ok((storage::insert_event(c, &ev)?, number))
            })
            .await?;
        Ok(Outcome::accepted(
            "manifest_opened",
            i18n::tf(
                lang,
                "handover.opened",
                &[
                    ("manifest", &number),
                    ("courier", &self.courier_name(&courier, lang.code())),
                ],
            ),
            id,
        )
        .with("manifest", &number)
        .with("courier", &courier))
    }

    /// A code scanned at the hand-over: an operator's badge (who scans from now on), a
    /// parcel for this manifest, or anything else (refused, and kept as a stray scan when it
    /// is not a packed parcel).
    pub async fn manifest_scan(
        &self,
        number: &str,
        raw: &str,
        badge: &str,
        station: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let who = &Actor::new(badge, station);
        let m = self.find_manifest(number, lang).await?;
        let code = codes::normalise(raw).code;
        if code.is_empty() {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "handover.empty_code",
            )));
        }
        let is_badge = self.operator_name(&code).is_some();
        let known_badge = self.operator_name(&who.badge).is_some();
        let at = now();
        let mut ev = NewEvent {
            at: at.clone(),
            station: who.station.clone(),
            operator: if is_badge {
                code.clone()
            } else {
                who.badge.clone()
            },
            kind: "manifest_scan",
            code: code.clone(),
            detail: json!({ "manifest": m.number, "raw": raw }),
            ..Default::default()
        };
        let (mid, mnum, courier, who2) = (m.id, m.number.clone(), m.courier.clone(), who.clone());
        let (decision, id, count, grams) = self
            .db
            .write(move |c| {
                let cur = store::get_manifest(c, &mnum)?
                    .ok_or_else(|| StorageError::Conflict(format!("manifest {mnum} vanished")))?;
                let decision = if is_badge {
                    ScanDecision::Badge(code.clone())
                } else if cur.status != "open" {
                    ScanDecision::Closed
                } else if !known_badge {
                    ScanDecision::NoBadge
                } else {
                    match store::parcel_facts(c, &code)? {
                        None => {
                            store::add_stray(
                                c,
                                mid,
                                &code,
                                "unknown",
                                &at,
                                &who2.badge,
                                &who2.station,
                            )?;
                            ScanDecision::Stray(code.clone())
                        }
                        Some(f) if f.status == "void" => {
                            store::add_stray(
                                c,
                                mid,
                                &code,
                                "void",
                                &at,
                                &who2.badge,
                                &who2.station,
                            )?;
                            ScanDecision::Void(f.waybill)
                        }
                        Some(f) if f.manifests.iter().any(|(n, _)| *n == cur.number) => {
                            ScanDecision::AlreadyHere(f.waybill)
                        }
                        Some(f) if f.courier != courier => ScanDecision::OtherCourier {
                            waybill: f.waybill,
                            courier: f.courier,
                        },
                        Some(f) => {
                            if let Some((n, _)) = f.manifests.iter().find(|(_, s)| s == "open") {
                                ScanDecision::OnOther {
                                    waybill: f.waybill.clone(),
                                    manifest: n.clone(),
                                }
                            } else if let Some((n, _)) = f.manifests.last() {
                                ScanDecision::HandedOver {
                                    waybill: f.waybill.clone(),
                                    manifest: n.clone(),
                                }
                            } else {
                                let seq = store::add_parcel(
                                    c,
                                    mid,
                                    &f.waybill,
                                    &at,
                                    &who2.badge,
                                    &who2.station,
                                )?;
                                ScanDecision::Added {
                                    waybill: f.waybill,
                                    seq,
                                }
                            }
                        }
                    }
                };
                ev.verdict = if decision.accepted() {
                    "accepted"
                } else {
                    "refused"
                }
                .into();
                ev.reason = decision.code().into();
                if let ScanDecision::Added { waybill, .. }
                | ScanDecision::AlreadyHere(waybill)
                | ScanDecision::OtherCourier { waybill, .. }
                | ScanDecision::Void(waybill)
                | ScanDecision::OnOther { waybill, .. }
                | ScanDecision::HandedOver { waybill, .. } = &decision
                {
                    ev.waybill = waybill.clone();
                }
                let id = storage::insert_event(c, &ev)?;
                let now = store::get_manifest(c, &cur.number)?.unwrap_or(cur);
                Ok((decision, id, now.parcels, now.total_grams))
            })
            .await?;
        let cname = |c: &str| self.courier_name(c, lang.code());
        let (verdict, action, message) = match &decision {
            ScanDecision::Badge(b) => (
                "accepted",
                "signed_in",
                i18n::tf(
                    lang,
                    "handover.signed_in",
                    &[("name", &self.operator_name(b).unwrap_or_default())],
                ),
            ),
            ScanDecision::Added { waybill, seq } => (
                "accepted",
                "parcel_added",
                i18n::tf(
                    lang,
                    "handover.added",
                    &[("waybill", waybill), ("n", &seq.to_string())],
                ),
            ),
            ScanDecision::AlreadyHere(w) => (
                "accepted",
                "already_on_manifest",
                i18n::tf(lang, "handover.already_on_manifest", &[("waybill", w)]),
            ),
            ScanDecision::OtherCourier { waybill, courier } => (
                "refused",
                "",
                i18n::tf(
                    lang,
                    "handover.other_courier",
                    &[
                        ("waybill", waybill),
                        ("courier", &cname(courier)),
                        ("manifest_courier", &cname(&m.courier)),
                    ],
                ),
            ),
            ScanDecision::Void(w) => (
                "refused",
                "",
                i18n::tf(lang, "handover.parcel_void", &[("waybill", w)]),
            ),
            ScanDecision::OnOther { waybill, manifest } => (
                "refused",
                "",
                i18n::tf(
                    lang,
                    "handover.on_other_manifest",
                    &[("waybill", waybill), ("manifest", manifest)],
                ),
            ),
            ScanDecision::HandedOver { waybill, manifest } => (
                "refused",
                "",
                i18n::tf(
                    lang,
                    "handover.already_handed_over",
                    &[("waybill", waybill), ("manifest", manifest)],
                ),
            ),
            ScanDecision::Stray(code) => (
                "refused",
                "",
                i18n::tf(lang, "handover.stray", &[("code", code)]),
            ),
            ScanDecision::Closed => (
                "refused",
                "",
                i18n::tf(lang, "handover.manifest_closed", &[("manifest", &m.number)]),
            ),
            ScanDecision::NoBadge => ("refused", "", i18n::t(lang, "handover.badge_required")),
        };
        let mut o = Outcome {
            verdict,
            code: if verdict == "refused" {
                decision.code().into()
            } else {
                String::new()
            },
            action: action.into(),
            message,
            event_id: id,
            extra: Default::default(),
        }
        .with("manifest", &m.number)
        .with("count", count)
        .with("total_grams", grams);
        if let ScanDecision::Badge(b) = &decision {
            o = o
                .with("badge", b)
                .with("operator", self.operator_name(b).unwrap_or_default());
        }
        Ok(o)
    }

    /// Takes a parcel off an open manifest (scanned by mistake, or voided since).
    pub async fn manifest_remove(
        &self,
        number: &str,
        waybill_no: &str,
        badge: &str,
        station: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let who = &Actor::new(badge, station);
        let m = self.find_manifest(number, lang).await?;
        let code = codes::normalise(waybill_no).code;
        let ev = NewEvent {
            at: now(),
            station: who.station.clone(),
            operator: who.badge.clone(),
            kind: "manifest_remove",
            code: code.clone(),
            waybill: code.clone(),
            detail: json!({ "manifest": m.number }),
            ..Default::default()
        };
        if self.operator_name(&who.badge).is_none() {
            let msg = i18n::t(lang, "handover.badge_required");
            return self.record_refusal(ev, "badge_required", msg).await;
        }
        let (mid, mnum, code2) = (m.id, m.number.clone(), code.clone());
        let (removed, open, id) = self
            .db
            .write(move |c| {
                let open = store::get_manifest(c, &mnum)?.is_some_and(|m| m.status == "open");
                let removed = open && store::remove_parcel(c, mid, &code2)?;
                let mut ev = ev;
                ev.verdict = if removed { "accepted" } else { "refused" }.into();
                ev.reason = match (open, removed) {
                    (false, _) => "manifest_closed",
                    (true, false) => "not_on_manifest",
                    _ => "removed",
                }
                .into();
                Ok((removed, open, storage::insert_event(c, &ev)?))
            })
            .await?;
        let (verdict, code_s, key) = match (open, removed) {
            (false, _) => ("refused", "manifest_closed", "handover.manifest_closed"),
            (true, false) => ("refused", "not_on_manifest", "handover.not_on_manifest"),
            _ => ("accepted", "", "handover.removed"),
        };
        Ok(Outcome {
            verdict,
            code: code_s.into(),
            action: if removed {
                "parcel_removed".into()
            } else {
                String::new()
            },
            message: i18n::tf(lang, key, &[("waybill", &code), ("manifest", &m.number)]),
            event_id: id,
            extra: Default::default(),
        })
    }

    /// A manifest with everything its page shows.
    pub async fn manifest_view(
        &self,
        number: &str,
        lang: Lang,
    ) -> Result<ManifestView, ServiceError> {
        let m = self.find_manifest(number, lang).await?;
        let (_, from, to) =
            day_bounds(self.tz(), Some(&m.local_date)).map_err(ServiceError::BadRequest)?;
        let (mid, courier) = (m.id, m.courier.clone());
        let (parcels_on, strays, pending) = self
            .db
            .read(move |c| {
                Ok((
                    store::manifest_parcels(c, mid)?,
                    store::manifest_strays(c, mid)?,
                    store::unmanifested(c, &courier, &from, &to)?,
                ))
            })
            .await?;
        Ok(ManifestView {
            manifest: m,
            parcels_on,
            strays,
            not_on_manifest: pending,
        })
    }

    /// Manifests, newest first (`status`: open or closed; all when `None`).
    pub async fn manifests(&self, status: Option<&str>) -> Result<Vec<Manifest>, ServiceError> {
        let status = status.map(str::to_string);
        Ok(self
            .db
            .read(move |c| store::list_manifests(c, status.as_deref(), 200))
            .await?)
    }

    /// Parcels packed on `date` (today when `None`) that are on no manifest, for one courier
    /// or all.
    pub async fn awaiting_handover(
        &self,
        courier: Option<&str>,
        date: Option<&str>,
    ) -> Result<Vec<PendingParcel>, ServiceError> {
        let (_, from, to) = day_bounds(self.tz(), date).map_err(ServiceError::BadRequest)?;
        let couriers: Vec<String> = match courier {
            Some(c) => vec![c.trim().to_ascii_lowercase()],
            None => self.rules.iter().map(|r| r.code.clone()).collect(),
        };
        Ok(self
            .db
            .read(move |c| {
                let mut out = Vec::new();
                for courier in &couriers {
                    out.extend(store::unmanifested(c, courier, &from, &to)?);
                }
                Ok(out)
            })
            .await?)
    }

    /// Closes a manifest. Parcels packed that day for its courier but not on it keep it
    /// open unless a manager's badge and a reason confirm leaving them off. The closing
    /// renders both copies (courier's and ours) to one PDF, kept with the manifest, and
    /// stamps each parcel's shipment with the manifest and the hand-over time.
    pub async fn close_manifest(
        &self,
        number: &str,
        badge: &str,
        station: Option<&str>,
        confirm_badge: Option<&str>,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let who = &Actor::new(badge, station);
        let _turn = closing_lock().lock().await;
        let view = self.manifest_view(number, lang).await?;
        let m = view.manifest.clone();
        let confirm = confirm_badge.map(str::trim).filter(|b| !b.is_empty());
        let mut ev = NewEvent {
            at: now(),
            station: who.station.clone(),
            operator: who.badge.clone(),
            kind: "manifest_close",
            detail: json!({ "manifest": m.number, "confirmed_by": confirm, "reason": reason }),
            ..Default::default()
        };
        let refuse = |code: &'static str, msg: String, extra: Option<(&'static str, Value)>| {
            self.refuse_close(ev.clone(), code, msg, m.number.clone(), extra)
        };
        if m.status != "open" {
            let msg = i18n::tf(lang, "handover.manifest_closed", &[("manifest", &m.number)]);
            return refuse("manifest_closed", msg, None).await;
        }
        if self.operator_name(&who.badge).is_none() {
            return refuse(
                "badge_required",
                i18n::t(lang, "handover.badge_required"),
                None,
            )
            .await;
        }
        if view.parcels_on.is_empty() {
            let msg = i18n::tf(lang, "handover.manifest_empty", &[("manifest", &m.number)]);
            return refuse("manifest_empty", msg, None).await;
        }
        let void: Vec<String> = view
            .parcels_on
            .iter()
            .filter(|p| p.status == "void")
            .map(|p| p.waybill.clone())
            .collect();
        if !void.is_empty() {
            let msg = i18n::tf(
                lang,
                "handover.void_on_manifest",
                &[("waybills", &void.join(", "))],
            );
            return refuse("void_on_manifest", msg, Some(("waybills", json!(void)))).await;
        }
        let missing: Vec<String> = view
            .not_on_manifest
            .iter()
            .map(|p| p.waybill.clone())
            .collect();
        let mut confirmed_by = String::new();
        if !missing.is_empty() {
            let list = missing.join(", ");
            let args = [("n", missing.len().to_string()), ("waybills", list)];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let extra = Some(("missing", json!(missing)));
            let Some(mgr) = confirm else {
                let msg = i18n::tf(lang, "handover.parcels_missing", &args);
                return refuse("parcels_missing", msg, extra).await;
            };
            if !self.is_manager_badge(mgr) {
                let msg = i18n::tf(lang, "handover.manager_required", &args);
                return refuse("manager_required", msg, extra).await;
            }
            if reason.trim().is_empty() {
                let msg = i18n::tf(lang, "handover.reason_required", &args);
                return refuse("reason_required", msg, extra).await;
            }
            confirmed_by = mgr.to_string();
        }

        // Both copies, rendered from what is on the manifest now.
        let data = self.manifest_data(&view);
        let dir = self.template_dir();
        let pdf = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            let t = labels::load_template(dir.as_deref(), MANIFEST_TEMPLATE)
                .map_err(|e| e.to_string())?;
            labels::render(&t, &data, labels::Format::Pdf).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?
        .map_err(|e| {
            ServiceError::BadRequest(i18n::tf(lang, "handover.render_failed", &[("error", &e)]))
        })?;

        let total: i64 = view.parcels_on.iter().map(|p| p.measured_grams).sum();
        let count = view.parcels_on.len() as i64;
        let closing = store::Closing {
            closed_at: ev.at.clone(),
            closed_by: who.badge.clone(),
            missing: missing.clone(),
            confirmed_by: confirmed_by.clone(),
            reason: if missing.is_empty() {
                String::new()
            } else {
                reason.trim().to_string()
            },
            total_grams: total,
            pdf,
        };
        ev.verdict = "accepted".into();
        ev.reason = if missing.is_empty() {
            "closed"
        } else {
            "closed_with_missing"
        }
        .into();
        ev.detail = json!({ "manifest": m.number, "parcels": count, "total_grams": total,
                            "missing": missing, "confirmed_by": confirmed_by, "reason": closing.reason });
        let (mid, mnum) = (m.id, m.number.clone());
        let id = self
            .db
            .write(move |c| {
                let cur = store::get_manifest(c, &mnum)?;
                let same = cur.as_ref().is_some_and(|x| {
                    x.status == "open" && x.parcels == count && x.total_grams == total
                });
                if !same {
                    return Err(StorageError::Conflict(format!(
                        "manifest {mnum} changed while it was being closed"
                    )));
                }
                store::close_manifest(c, mid, &closing)?;
                storage::insert_event(c, &ev)
            })
            .await
            .map_err(|e| match e {
                StorageError::Conflict(_) => ServiceError::BadRequest(i18n::tf(
                    lang,
                    "handover.changed_while_closing",
                    &[("manifest", &m.number)],
                )),
                e => e.into(),
            })?;
        let key = if missing.is_empty() {
            "handover.closed"
        } else {
            "handover.closed_with_missing"
        };
        Ok(Outcome::accepted(
            "manifest_closed",
            i18n::tf(
                lang,
                key,
                &[
                    ("manifest", &m.number),
                    ("count", &count.to_string()),
                    ("grams", &total.to_string()),
                    ("n", &missing.len().to_string()),
                ],
            ),
            id,
        )
        .with("manifest", &m.number)
        .with("count", count)
        .with("total_grams", total)
        .with("missing", &missing)
        .with("pdf_url", format!("/api/v1/manifests/{}/pdf", m.number)))
    }

    async fn refuse_close(
        &self,
        ev: NewEvent,
        code: &'static str,
        message: String,
        manifest: String,
        extra: Option<(&'static str, Value)>,
    ) -> Result<Outcome, ServiceError> {
        let mut o = self
            .record_refusal(ev, code, message)
            .await?
            .with("manifest", manifest);
        if let Some((k, v)) = extra {
            o = o.with(k, v);
        }
        Ok(o)
    }

    /// The data the manifest template is filled from.
    fn manifest_data(&self, v: &ManifestView) -> Value {
        let m = &v.manifest;
        // Printed for the courier: Korean couriers' names in Korean, Chinese ones in Chinese.
        let print_lang = if matches!(
            m.courier.as_str(),
            "sf" | "sto" | "zto" | "yto" | "yunda" | "ems"
        ) {
            "zh"
        } else {
            "ko"
        };
        let parcels: Vec<Value> = v
            .parcels_on
            .iter()
            .map(|p| {
                json!({
                    "waybill": p.waybill,
                    "orders": p.orders.join(", "),
                    "recipient": mask_name(&p.recipient),
                    "postcode": p.postcode,
                    "weight_g": p.measured_grams,
                })
            })
            .collect();
        json!({
            "manifest": m.number,
            "date": m.local_date,
            "courier": { "code": m.courier, "name": self.courier_name(&m.courier, print_lang) },
            "warehouse": { "name": self.config.warehouse.name, "address": self.config.warehouse.sender_address },
            "parcels": parcels,
        })
    }

    /// The PDF printed when the manifest was closed (both copies).
    pub async fn manifest_pdf(&self, number: &str, lang: Lang) -> Result<Vec<u8>, ServiceError> {
        let m = self.find_manifest(number, lang).await?;
        if m.status != "closed" {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "handover.pdf_after_close",
                &[("manifest", &m.number)],
            )));
        }
        let n = m.number.clone();
        self.db
            .read(move |c| store::manifest_pdf(c, &n))
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(i18n::tf(
                    lang,
                    "handover.no_manifest",
                    &[("manifest", number)],
                ))
            })
    }

    /// The dispatch file of one marketplace for the parcels packed on `date` (the
    /// warehouse's local date; today when `None`).
    pub async fn dispatch_file(
        &self,
        channel: &str,
        date: Option<&str>,
        kind: SheetKind,
        lang: Lang,
    ) -> Result<DispatchFile, ServiceError> {
        build_dispatch(
            &self.db,
            &self.data_dir,
            self.tz(),
            channel,
            date,
            kind,
            lang,
        )
        .await
    }
}

/// A dispatch file from the database, for the server and the CLI alike.
pub async fn build_dispatch(
    db: &storage::Db,
    data_dir: &std::path::Path,
    tz: &str,
    channel: &str,
    date: Option<&str>,
    kind: SheetKind,
    lang: Lang,
) -> Result<DispatchFile, ServiceError> {
    let channel = channel.trim().to_ascii_lowercase();
    let export_err = |e: ExportError| {
        let msg = match &e {
            ExportError::UnknownFormat(name) => i18n::tf(
                lang,
                "handover.unknown_channel",
                &[
                    ("channel", name),
                    ("known", &dispatch::format_names().join(", ")),
                ],
            ),
            ExportError::UnmappedCourier {
                file,
                courier,
                waybill,
            } => i18n::tf(
                lang,
                "handover.unmapped_courier",
                &[("file", file), ("courier", courier), ("waybill", waybill)],
            ),
            other => other.to_string(),
        };
        ServiceError::BadRequest(msg)
    };
    let format = DispatchFormat::load(Some(data_dir), &channel).map_err(export_err)?;
    let (day, from, to) = day_bounds(tz, date).map_err(|e| {
        ServiceError::BadRequest(i18n::tf(lang, "handover.bad_date", &[("error", &e)]))
    })?;
    let ch = format.channel.clone();
    let parcels = db
        .read(move |c| store::dispatch_parcels(c, &ch, &from, &to))
        .await?;
    let mut seq = 0;
    let mut last_order = String::new();
    let shipped: Vec<Shipped> = parcels
        .into_iter()
        .map(|p| {
            if p.order_no != last_order {
                seq = 0;
                last_order = p.order_no.clone();
            } else {
                seq += 1;
            }
            Shipped {
                packed_date: local_date(tz, &p.packed_at),
                order_no: p.order_no,
                waybill: p.waybill,
                courier: p.courier,
                in_period: p.in_period,
                order_seq: seq,
            }
        })
        .collect();
    let rows = dispatch::select(format.partial, &shipped);
    let file = format!("dispatch/{channel}.toml");
    let table = dispatch::table(&format, &file, &rows).map_err(export_err)?;
    let (bytes, ext, content_type) = match kind {
        SheetKind::Csv => (
            dispatch::to_csv(&table, format.csv_bom).map_err(export_err)?,
            "csv",
            "text/csv; charset=utf-8",
        ),
        SheetKind::Xlsx => (
            dispatch::to_xlsx(&table, &format.sheet).map_err(export_err)?,
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
    };
    Ok(DispatchFile {
        bytes,
        file_name: format!("dispatch-{channel}-{day}.{ext}"),
        content_type,
        rows: rows.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_masked_for_the_courier_list() {
        for (raw, want) in [
            ("김민지", "김*지"),
            ("王芳", "王*"),
            ("남궁민수", "남**수"),
            ("A", "*"),
            ("", ""),
        ] {
            assert_eq!(mask_name(raw), want, "{raw}");
        }
    }
}
