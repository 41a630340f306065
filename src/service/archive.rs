//! The waybill archive's workflow: search (local dates turned into UTC ranges in the
//! warehouse's zone), a shipment's archive facts, status changes (through a correction once
//! the day is sealed), history imports, and the seals — due days sealed by a timer in the
//! server and by `packbench archive seal`, `verify`, and the manager's explicit purge.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::json;

use super::{now, App, Outcome, ServiceError};
use crate::domain::seal;
use crate::i18n::{self, Lang};
use crate::imports::{self, ImportError};
use crate::storage::archive::{self as store, ArchiveRow, ImportOutcome, Search};
use crate::storage::{NewEvent, StorageError};

/// The most results one page of a search returns.
pub const MAX_PER_PAGE: i64 = 200;

/// A search as asked for (query parameters, form fields), before it is checked.
#[derive(Debug, Clone, Default)]
pub struct SearchForm {
    pub waybill: String,
    pub order_no: String,
    pub name: String,
    pub phone: String,
    /// Local dates `YYYY-MM-DD`, both included.
    pub from: String,
    pub to: String,
    pub courier: String,
    pub status: String,
    /// '', 'yes' or 'no'.
    pub imported: String,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

/// A search refused: a stable code, the field, and the message in the asker's language.
#[derive(Debug, Clone)]
pub struct SearchRefusal {
    pub code: &'static str,
    pub field: &'static str,
    pub message: String,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub page: i64,
    pub per_page: i64,
    pub has_more: bool,
    pub shipments: Vec<ArchiveRow>,
}

/// The warehouse's zone (UTC if the configured name is unknown, which config loading refuses).
fn zone(app: &App) -> TimeZone {
    TimeZone::get(&app.config.warehouse.timezone).unwrap_or(TimeZone::UTC)
}

/// The UTC range key (see [`store::cmp_key`]) of a local date's start.
pub fn day_start_key(tz: &TimeZone, day: Date) -> String {
    day.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// The local date of a stored UTC time.
pub fn local_day(tz: &TimeZone, utc: &str) -> Option<Date> {
    utc.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.to_zoned(tz.clone()).date())
}

fn today(tz: &TimeZone) -> Date {
    jiff::Timestamp::now().to_zoned(tz.clone()).date()
}

impl App {
    /// Checks a search form and turns it into a query: waybills and order numbers without
    /// spaces and dashes, the phone as its digits (at least four: the last digits as
    /// couriers quote them), local dates as the UTC range of those days.
    pub fn archive_query(&self, f: &SearchForm, lang: Lang) -> Result<Search, SearchRefusal> {
        let t = |k: &str| i18n::t(lang, &format!("archive.error.{k}"));
        let clean = |s: &str| -> Option<String> {
            let v: String = s
                .chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .collect();
            (!v.is_empty()).then_some(v)
        };
        let tz = zone(self);
        let date = |s: &str, field: &'static str| -> Result<Option<Date>, SearchRefusal> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<Date>().map(Some).map_err(|_| SearchRefusal {
                code: "bad_date",
                field,
                message: i18n::tf(lang, "archive.error.bad_date", &[("value", s)]),
            })
        };
        let from = date(&f.from, "from")?;
        let to = date(&f.to, "to")?;
        if let (Some(a), Some(b)) = (from, to) {
            if b < a {
                return Err(SearchRefusal {
                    code: "bad_range",
                    field: "to",
                    message: t("bad_range"),
                });
            }
        }
        let phone = if f.phone.trim().is_empty() {
            None
        } else {
            let digits: String = f.phone.chars().filter(char::is_ascii_digit).collect();
            if digits.len() < 4
                || digits.len() != f.phone.chars().filter(|c| c.is_alphanumeric()).count()
            {
                return Err(SearchRefusal {
                    code: "phone_too_short",
                    field: "phone",
                    message: t("phone_too_short"),
                });
            }
            Some(digits)
        };
        let status = match f.status.trim() {
            "" => None,
            s if store::STATUSES.contains(&s) => Some(s.to_string()),
            s => {
                return Err(SearchRefusal {
                    code: "unknown_status",
                    field: "status",
                    message: i18n::tf(lang, "archive.error.unknown_status", &[("value", s)]),
                })
            }
        };
        let imported = match f.imported.trim() {
            "" => None,
            "yes" | "true" | "1" => Some(true),
            "no" | "false" | "0" => Some(false),
            s => {
                return Err(SearchRefusal {
                    code: "bad_imported",
                    field: "imported",
                    message: i18n::tf(lang, "archive.error.bad_imported", &[("value", s)]),
                })
            }
        };
        let per_page = if f.per_page <= 0 {
            50
        } else {
            f.per_page.min(MAX_PER_PAGE)
        };
        let page = f.page.max(1);
        let name = f.name.trim();
        let courier = f.courier.trim().to_ascii_lowercase();
        Ok(Search {
            waybill: clean(&f.waybill),
            order_no: {
                let o = f.order_no.trim();
                (!o.is_empty()).then(|| o.to_string())
            },
            name: (!name.is_empty()).then(|| name.to_string()),
            phone,
            from_utc: from.map(|d| day_start_key(&tz, d)),
            until_utc: to.map(|d| day_start_key(&tz, d.tomorrow().unwrap_or(d))),
            courier: (!courier.is_empty()).then_some(courier),
            status,
            imported,
            // One more than the page, to know whether another follows.
            limit: per_page + 1,
            offset: (page - 1) * per_page,
        })
    }

    /// Runs a checked search.
    pub async fn archive_search(&self, q: Search) -> Result<SearchPage, ServiceError> {
        let per_page = q.limit - 1;
        let page = q.offset / per_page.max(1) + 1;
        let mut rows = self.db.read(move |c| store::search(c, &q)).await?;
        let has_more = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        Ok(SearchPage {
            page,
            per_page,
            has_more,
            shipments: rows,
        })
    }

    /// What the archive holds of one shipment beyond the shipment record.
    pub async fn archive_facts(
        &self,
        waybill: &str,
    ) -> Result<Option<store::ArchiveFacts>, ServiceError> {
        let wb = waybill.to_string();
        Ok(self.db.read(move |c| store::facts(c, &wb)).await?)
    }

    /// A manager sets a shipment's status: returned, lost, damaged, undeliverable, or back
    /// to shipped (a void goes through the void action, which also retires the number).
    /// Once the shipment's day is sealed the change is recorded as a correction.
    pub async fn set_shipment_status(
        &self,
        waybill: &str,
        status: &str,
        reason: &str,
        badge: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let status = status.trim().to_ascii_lowercase();
        if status == "void" {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "archive.error.void_elsewhere",
            )));
        }
        if !store::STATUSES.contains(&status.as_str()) {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "archive.error.unknown_status",
                &[("value", &status)],
            )));
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "error.reason_required",
            )));
        }
        let wb = waybill.to_string();
        let s = self
            .db
            .read(move |c| crate::storage::get_shipment(c, &wb))
            .await?
            .ok_or_else(|| ServiceError::NotFound(waybill.into()))?;
        let mut ev = NewEvent {
            at: now(),
            station: String::new(),
            operator: badge.into(),
            kind: "status_changed",
            waybill: waybill.into(),
            reason: reason.trim().into(),
            ..Default::default()
        };
        if !self.is_manager(badge) {
            return self
                .refuse(ev, crate::domain::packing::Refusal::ManagerRequired, lang)
                .await;
        }
        if s.status == "void" {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "refusal.waybill_void",
                &[("waybill", waybill)],
            )));
        }
        if s.status == status {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "archive.error.same_status",
                &[(
                    "status",
                    &i18n::t(lang, &format!("archive.status_name.{status}")),
                )],
            )));
        }
        ev.verdict = "accepted".into();
        ev.detail = json!({ "from": s.status, "to": status });
        let (wb, st, why, by, at) = (
            waybill.to_string(),
            status.clone(),
            reason.trim().to_string(),
            badge.to_string(),
            ev.at.clone(),
        );
        let (id, correction) = self
            .db
            .write(move |c| {
                let (_, corr) = store::set_status(c, &wb, &st, &why, &by, &at)?;
                if let Some(k) = corr {
                    ev.detail["correction"] = json!(k);
                }
                Ok((crate::storage::insert_event(c, &ev)?, corr))
            })
            .await?;
        Ok(Outcome::accepted(
            "status_changed",
            i18n::tf(
                lang,
                "archive.status_changed",
                &[
                    ("waybill", waybill),
                    (
                        "status",
                        &i18n::t(lang, &format!("archive.status_name.{status}")),
                    ),
                ],
            ),
            id,
        )
        .with("status", &status)
        .with("correction", correction))
    }

    /// Imports a history file (all or nothing). `Ok(Err(..))` lists every problem.
    pub async fn import_shipments(
        &self,
        file: &str,
        bytes: &[u8],
        by: &str,
    ) -> Result<Result<ImportOutcome, ImportError>, ServiceError> {
        let db = self.db.clone();
        let rules = self.rules.clone();
        let courier = move |s: &str| -> Option<String> {
            let s = s.trim();
            rules
                .iter()
                .find(|r| {
                    r.code.eq_ignore_ascii_case(s)
                        || [&r.name_ko, &r.name_zh, &r.name_en]
                            .iter()
                            .any(|n| !n.is_empty() && n.eq_ignore_ascii_case(s))
                })
                .map(|r| r.code.clone())
        };
        let in_archive = move |w: &[String]| {
            db.read_blocking(|c| store::existing_waybills(c, w))
                .unwrap_or_default()
        };
        let (file_name, bytes2, tz) = (
            file.to_string(),
            bytes.to_vec(),
            self.config.warehouse.timezone.clone(),
        );
        let read = tokio::task::spawn_blocking(move || {
            imports::read_shipments(&file_name, &bytes2, &tz, &courier, &in_archive)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let rows = match read {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        let n = rows.len();
        let ev = NewEvent {
            at: now(),
            operator: by.into(),
            kind: "shipments_imported",
            verdict: "accepted".into(),
            detail: json!({ "file": file, "shipments": n }),
            ..Default::default()
        };
        let (file, by) = (file.to_string(), by.to_string());
        let res = self
            .db
            .write(move |c| {
                let out = store::insert_imported(c, &rows, &file, &ev.at, &by)?;
                crate::storage::insert_event(c, &ev)?;
                Ok(out)
            })
            .await;
        match res {
            Ok(out) => Ok(Ok(out)),
            // Recorded meanwhile by someone else: refused like any duplicate.
            Err(StorageError::Conflict(m)) => Ok(Err(ImportError {
                problems: vec![imports::ImportProblem {
                    file: String::new(),
                    row: 0,
                    column: "waybill".into(),
                    message: m,
                }],
            })),
            Err(e) => Err(e.into()),
        }
    }

    /// Seals every local day that is due (at least 15 days old) and not sealed yet, oldest
    /// first, one write each so the benches never wait behind a long run. Idempotent: with
    /// nothing due it changes nothing. Returns the new seals.
    pub async fn seal_due(&self, by: &str) -> Result<Vec<store::Seal>, ServiceError> {
        let tz = zone(self);
        let last = seal::last_sealable(today(&tz));
        let (last_day, first) = self
            .db
            .read(|c| Ok((store::last_day_seal(c)?, store::first_record(c)?)))
            .await?;
        let mut day = match (last_day, first) {
            (Some(s), _) => match s.header.day.parse::<Date>() {
                Ok(d) => d.tomorrow().unwrap_or(d),
                Err(_) => return Ok(vec![]),
            },
            (None, Some(first)) => match local_day(&tz, &first) {
                Some(d) => d,
                None => return Ok(vec![]),
            },
            (None, None) => return Ok(vec![]),
        };
        let mut out = Vec::new();
        while day <= last {
            let (d, tzname) = (day.to_string(), self.config.warehouse.timezone.clone());
            let from = day_start_key(&tz, day);
            let until = day_start_key(&tz, day.tomorrow().unwrap_or(day));
            let (at, by) = (now(), by.to_string());
            let s = self
                .db
                .write(move |c| store::seal_day(c, &d, &tzname, &from, &until, &at, &by))
                .await?;
            out.push(s);
            day = match day.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        Ok(out)
    }

    /// Recomputes the whole chain (on a read connection).
    pub async fn verify_archive(&self) -> Result<store::Verification, ServiceError> {
        Ok(self.db.read(store::verify).await?)
    }

    /// The sealing state for the archive page.
    pub async fn archive_status(&self) -> Result<store::SealStatus, ServiceError> {
        Ok(self.db.read(store::status).await?)
    }

    /// A manager's explicit purge of every sealed day before `before` (local date). Refused
    /// inside the retention period (`[archive] retention_years`), for days not sealed yet,
    /// and when an earlier purge already reached that date.
    pub async fn purge_archive(
        &self,
        before: &str,
        badge: &str,
        lang: Lang,
    ) -> Result<store::Purged, ServiceError> {
        if !self.is_manager(badge) {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "refusal.manager_required",
            )));
        }
        let date: Date = before.trim().parse().map_err(|_| {
            ServiceError::BadRequest(i18n::tf(
                lang,
                "archive.error.bad_date",
                &[("value", before)],
            ))
        })?;
        let tz = zone(self);
        let years = self.config.archive.retention_years;
        let limit = seal::retention_limit(today(&tz), years);
        if date > limit {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "archive.error.inside_retention",
                &[("years", &years.to_string()), ("limit", &limit.to_string())],
            )));
        }
        let until = day_start_key(&tz, date);
        let (sealed, seals) = self
            .db
            .read(|c| Ok((store::sealed_until(c)?, store::seals(c)?)))
            .await?;
        if let Some(p) = seals
            .iter()
            .filter(|s| s.header.kind == "purge")
            .map(|s| s.header.day.clone())
            .max()
        {
            if p.as_str() >= before.trim() {
                return Err(ServiceError::BadRequest(i18n::tf(
                    lang,
                    "archive.error.already_purged",
                    &[("before", &p)],
                )));
            }
        }
        if sealed.is_empty() || until.as_str() > sealed.as_str() {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "archive.error.not_sealed",
                &[("before", &date.to_string())],
            )));
        }
        let (b, at, by) = (date.to_string(), now(), badge.to_string());
        let ev_at = at.clone();
        let ev_by = by.clone();
        let out = self
            .db
            .write(move |c| {
                let p = store::purge(c, &b, &until, &at, &by)?;
                crate::storage::insert_event(
                    c,
                    &NewEvent {
                        at: ev_at,
                        operator: ev_by,
                        kind: "archive_purged",
                        verdict: "accepted".into(),
                        detail: json!({ "before": b, "days": p.days, "shipments": p.shipments,
                                        "events": p.events }),
                        ..Default::default()
                    },
                )?;
                Ok(p)
            })
            .await?;
        Ok(out)
    }
}

/// Seals due days now and then every hour while the server runs (the seal command does the
/// same on demand). A failure is logged and tried again at the next round.
pub fn spawn_sealer(app: Arc<App>) {
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        loop {
            match app.seal_due("system").await {
                Ok(s) if !s.is_empty() => {
                    tracing::info!(days = s.len(), last = %s[s.len() - 1].header.day, "archive days sealed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sealing the archive failed"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

/// The lines `packbench archive verify` prints and whether the chain is intact.
pub fn verify_report(v: &store::Verification, lang: Lang) -> (String, bool) {
    let mut out = String::new();
    if v.mismatches.is_empty() {
        out.push_str(&i18n::tf(
            lang,
            "archive.cli.intact",
            &[("days", &v.days_sealed.to_string())],
        ));
        out.push('\n');
        if v.days_purged > 0 || v.corrections > 0 {
            out.push_str(&i18n::tf(
                lang,
                "archive.cli.intact_detail",
                &[
                    ("purged", &v.days_purged.to_string()),
                    ("corrections", &v.corrections.to_string()),
                ],
            ));
            out.push('\n');
        }
        return (out, true);
    }
    let mut days: Vec<&str> = v
        .mismatches
        .iter()
        .map(|m| m.day.as_str())
        .filter(|d| !d.is_empty())
        .collect();
    days.sort_unstable();
    days.dedup();
    out.push_str(&i18n::tf(
        lang,
        "archive.cli.broken",
        &[("days", &days.join(", "))],
    ));
    out.push('\n');
    for m in &v.mismatches {
        let day = if m.day.is_empty() {
            "-"
        } else {
            m.day.as_str()
        };
        out.push_str(&format!("  {day}: {}\n", m.what));
    }
    (out, false)
}

/// Keeps the range key helpers honest: a local day's range in Seoul starts at 15:00 UTC
/// the day before.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_is_its_utc_range() {
        let tz = TimeZone::get("Asia/Seoul").unwrap();
        let d: Date = "2026-03-01".parse().unwrap();
        assert_eq!(day_start_key(&tz, d), "2026-02-28T15:00:00");
        assert_eq!(
            local_day(&tz, "2026-02-28T15:00:00.001Z").map(|d| d.to_string()),
            Some("2026-03-01".to_string())
        );
    }
}
