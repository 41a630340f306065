//! The bench camera: stills of the open box and of the sealed parcel, kept with the shipment,
//! and the label-swap check on the sealed one (`domain::camera`).
//!
//! A still arrives from the bench page (the browser's camera) or, at a `sim` station, is made
//! here from the label that printed, laid onto a synthetic photo. Either way it goes through
//! `camera::take_in` (checked, re-encoded) and is kept as a content-hashed file. A sealed
//! still's QR codes decide the check: the right waybill passes with an event; another waybill
//! stops the bench (`label_mismatch`, naming both) until a still shows the right label or a
//! manager overrides; no code read is a warning, and the still is kept all the same.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{now, App, Outcome, ServiceError};
use crate::camera::{self, synth, Still};
use crate::domain::camera::{check_label, LabelCheck, Moment};
use crate::domain::packing::Refusal;
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage::camera::{self as store, BenchPhoto};
use crate::storage::{self, NewEvent, StorageError};

impl App {
    /// Writes `bytes` to `rel` under the data folder, once (a content-hashed name never
    /// changes content), through a temporary file that is synced and renamed, so a crash
    /// leaves either the whole file or none.
    pub(crate) async fn keep_file(&self, rel: &str, bytes: Vec<u8>) -> Result<(), ServiceError> {
        let path = self.data_dir.join(rel);
        let p2 = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if p2.exists() {
                return Ok(());
            }
            if let Some(dir) = p2.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = p2.with_extension("part");
            std::fs::write(&tmp, &bytes)?;
            std::fs::File::open(&tmp)?.sync_all()?;
            std::fs::rename(&tmp, &p2)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?
        .map_err(|e| ServiceError::Storage(StorageError::Io(format!("{}: {e}", path.display()))))
    }

    /// A still posted by the bench page for `moment`, already taken in (`camera::take_in`).
    pub async fn bench_still(
        &self,
        station: &str,
        moment: &str,
        still: Still,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let moment = self.still_moment(moment, lang)?;
        self.record_still(station, moment, still, false, lang).await
    }

    /// A still made here for a `sim` station: the label that printed last (or, with `swap`,
    /// the label of the shipment before it, as if the two had been mixed up) on a synthetic
    /// photo of a parcel; for the contents moment, an open box.
    pub async fn simulated_still(
        &self,
        station: &str,
        moment: &str,
        swap: bool,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let moment = self.still_moment(moment, lang)?;
        let cfg = self.station_cfg(station)?.clone();
        if cfg.camera != "sim" {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "camera.error.not_sim",
            )));
        }
        let label_png = match moment {
            Moment::Contents => None,
            Moment::Sealed => {
                let waybill = {
                    let st = self.state(station)?.lock().await;
                    st.label_mismatch
                        .as_ref()
                        .map(|(w, _)| w.clone())
                        .or_else(|| st.last_waybill.clone())
                }
                .ok_or_else(|| {
                    ServiceError::BadRequest(i18n::t(lang, "camera.error.no_shipment"))
                })?;
                let shown = if swap {
                    let (st2, wb) = (station.to_string(), waybill.clone());
                    self.db
                        .read(move |c| storage::camera::other_shipment(c, &st2, &wb))
                        .await?
                        .ok_or_else(|| {
                            ServiceError::BadRequest(i18n::t(lang, "camera.error.no_other"))
                        })?
                } else {
                    waybill
                };
                Some(self.label(&shown, labels::Format::Png).await?)
            }
        };
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let jpeg = tokio::task::spawn_blocking(move || {
            let label = label_png
                .as_deref()
                .and_then(synth::grey_of_png)
                .unwrap_or_else(|| image::GrayImage::from_pixel(500, 700, image::Luma([236])));
            let levels = synth::levels();
            // An easy pose most of the time; now and then a turned or tilted one.
            let (_, pose) = levels[(seed % 4) as usize];
            synth::jpeg(&synth::photo(&label, 1920, 1080, &pose, seed), 90)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let read = moment == Moment::Sealed;
        let still = tokio::task::spawn_blocking(move || camera::take_in_reading(&jpeg, read))
            .await
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        self.record_still(station, moment, still, true, lang).await
    }

    fn still_moment(&self, moment: &str, lang: Lang) -> Result<Moment, ServiceError> {
        Moment::parse(moment).ok_or_else(|| {
            ServiceError::BadRequest(i18n::tf(lang, "camera.error.moment", &[("moment", moment)]))
        })
    }

    /// Reads the still (a sealed one), keeps it and its event, and updates the bench.
    async fn record_still(
        &self,
        station: &str,
        moment: Moment,
        still: Still,
        simulated: bool,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        self.station_cfg(station)?;
        let Still {
            jpeg,
            width,
            height,
            grey,
            codes,
        } = still;
        // A sealed still taken in without reading its codes is read here.
        let codes = match codes {
            Some(codes) => codes,
            None if moment == Moment::Sealed => {
                tokio::task::spawn_blocking(move || camera::read_qr(&grey))
                    .await
                    .map_err(|e| ServiceError::BadRequest(e.to_string()))?
            }
            None => Vec::new(),
        };
        let sha: String = Sha256::digest(&jpeg)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let rel = format!("photos/{}/{sha}.jpg", &sha[..2]);
        let size = jpeg.len() as i64;
        self.keep_file(&rel, jpeg).await?;

        let mut st = self.state(station)?.lock().await;
        let at = now();
        let mut photo = BenchPhoto {
            id: 0,
            sha256: sha.clone(),
            path: rel,
            bytes: size,
            width,
            height,
            moment: moment.as_str().into(),
            station: station.into(),
            operator: st.badge(),
            pack_id: None,
            order_no: String::new(),
            waybill: String::new(),
            codes: codes.clone(),
            check_result: String::new(),
            simulated,
            at: at.clone(),
        };
        let mut ev = NewEvent {
            at,
            station: station.into(),
            operator: st.badge(),
            kind: "photo",
            verdict: "accepted".into(),
            detail: json!({ "moment": moment.as_str(), "photo": sha, "codes": codes,
                            "simulated": simulated }),
            ..Default::default()
        };
        let (outcome_verdict, code, message, label_state) = match moment {
            Moment::Contents => {
                let pack = st.pack.as_ref().ok_or_else(|| {
                    ServiceError::BadRequest(i18n::t(lang, "camera.error.no_pack"))
                })?;
                photo.pack_id = Some(pack.id);
                photo.order_no = pack.order_nos().join(",");
                ev.pack_id = Some(pack.id);
                ev.reason = "contents".into();
                (
                    "accepted",
                    "photo_kept",
                    i18n::t(lang, "camera.contents_kept"),
                    None,
                )
            }
            Moment::Sealed => {
                let waybill = st
                    .label_mismatch
                    .as_ref()
                    .map(|(w, _)| w.clone())
                    .or_else(|| st.last_waybill.clone())
                    .ok_or_else(|| {
                        ServiceError::BadRequest(i18n::t(lang, "camera.error.no_shipment"))
                    })?;
                let check = check_label(&waybill, &codes);
                photo.waybill = waybill.clone();
                photo.check_result = check.code().into();
                ev.waybill = waybill.clone();
                ev.reason = check.code().into();
                match check {
                    LabelCheck::Match => (
                        "accepted",
                        "label_match",
                        i18n::tf(lang, "camera.label_match", &[("waybill", &waybill)]),
                        Some("passed"),
                    ),
                    LabelCheck::Mismatch { found } => {
                        ev.verdict = "refused".into();
                        let r = Refusal::LabelMismatch {
                            expected: waybill.clone(),
                            found: found.clone(),
                        };
                        (
                            "refused",
                            "label_mismatch",
                            super::refusal_message(&r, lang),
                            Some("mismatch"),
                        )
                    }
                    LabelCheck::NoCode => (
                        "warning",
                        "label_no_code",
                        i18n::tf(lang, "camera.label_no_code", &[("waybill", &waybill)]),
                        // A still that shows no code does not clear a mismatch.
                        (st.label_mismatch.is_none()).then_some("no_code"),
                    ),
                }
            }
        };
        let (p2, e2, wb) = (photo.clone(), ev.clone(), photo.waybill.clone());
        let event_id = self
            .db
            .write(move |c| {
                store::insert_photo(c, &p2)?;
                if let Some(state) = label_state {
                    store::set_label_check(c, &wb, state)?;
                }
                storage::insert_event(c, &e2)
            })
            .await?;
        match label_state {
            Some("passed") => st.label_mismatch = None,
            Some("mismatch") => {
                let found = codes.first().cloned().unwrap_or_default();
                st.label_mismatch = Some((photo.waybill.clone(), found));
            }
            _ => {}
        }
        let outcome = Outcome {
            verdict: outcome_verdict,
            code: code.into(),
            action: if outcome_verdict == "refused" {
                String::new()
            } else {
                code.into()
            },
            message,
            event_id,
            extra: Default::default(),
        }
        .with("photo", &sha)
        .with("moment", moment.as_str())
        .with("codes", &codes)
        .with("waybill", &photo.waybill);
        st.last = Some(super::Verdict::from(&outcome));
        drop(st);
        self.notify(station);
        Ok(outcome)
    }

    /// A manager lets the parcel go with the label the camera saw as wrong (a reprinted
    /// label that reads badly, a QR damaged in the sticking), with a reason.
    pub async fn override_label_check(
        &self,
        station: &str,
        badge: &str,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        self.station_cfg(station)?;
        if !self.is_manager(badge) {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "refusal.manager_required",
            )));
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "camera.error.reason",
            )));
        }
        let mut st = self.state(station)?.lock().await;
        let Some((waybill, found)) = st.label_mismatch.clone() else {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "camera.error.no_mismatch",
            )));
        };
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: badge.into(),
            kind: "override",
            verdict: "accepted".into(),
            reason: "label_mismatch".into(),
            waybill: waybill.clone(),
            detail: json!({ "found": found, "override_reason": reason }),
            ..Default::default()
        };
        let wb = waybill.clone();
        let id = self
            .db
            .write(move |c| {
                store::set_label_check(c, &wb, "overridden")?;
                storage::insert_event(c, &ev)
            })
            .await?;
        st.label_mismatch = None;
        let outcome = Outcome::accepted(
            "label_overridden",
            i18n::tf(lang, "camera.overridden", &[("waybill", &waybill)]),
            id,
        );
        st.last = Some(super::Verdict::from(&outcome));
        drop(st);
        self.notify(station);
        Ok(outcome)
    }

    /// The stills of a shipment, oldest first, with their times, station and packer, and the
    /// shipment's label check.
    pub async fn shipment_photos(&self, waybill: &str) -> Result<Value, ServiceError> {
        let wb = waybill.to_string();
        let (check, photos) = self
            .db
            .read(move |c| {
                let check = store::label_check(c, &wb)?;
                Ok((check, store::photos_of_shipment(c, &wb)?))
            })
            .await?;
        let check = check.ok_or_else(|| ServiceError::NotFound(waybill.into()))?;
        let photos: Vec<Value> = photos
            .into_iter()
            .map(|p| {
                let url = format!("/api/v1/photos/{}", p.sha256);
                let mut v = serde_json::to_value(&p).unwrap_or(Value::Null);
                v["url"] = json!(url);
                v
            })
            .collect();
        Ok(json!({ "waybill": waybill, "label_check": check, "photos": photos }))
    }
}
