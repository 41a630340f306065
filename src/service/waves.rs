//! The waves workflow: `impl App` methods (see ARCHITECTURE.md). Making a wave, picking with
//! the scanner, a shortage, cancelling an order and putting its picked goods back each run
//! their rules and record their effects (plan rows, ledger postings, flags, events) in one
//! write job, so an answered action is durable and a refused one writes only its event. The
//! pick list is rendered on demand from the stored plan, like a label from its data.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::{now, App, Outcome, ServiceError};
use crate::domain::codes;
use crate::domain::ledger::{EntryKind, Move, STAGING_BIN};
use crate::domain::packing::OrderStatus;
use crate::domain::wave::{self, Criterion, Refusal, Selection};
use crate::domain::Flag;
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage::ledger::{self as ledger_db, Posting};
use crate::storage::waves::{self as db, WaveSummary, WaveView};
use crate::storage::{self, NewEvent, StorageError};

/// The pick list's layouts, built in: a site may put its own copy in its template folder.
const PICK_LIST_TEMPLATE: (&str, &str) = (
    "wave-pick-list-a4.toml",
    include_str!("../../label-templates/wave-pick-list-a4.toml"),
);
const PICK_SLIPS_TEMPLATE: (&str, &str) = (
    "wave-pick-slips-a4.toml",
    include_str!("../../label-templates/wave-pick-slips-a4.toml"),
);
/// Slips on one A4 sheet of the slip template.
const SLIPS_PER_SHEET: usize = 8;

/// The message of a wave refusal.
pub fn refusal_message(r: &Refusal, lang: Lang) -> String {
    let args = r.args();
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    i18n::tf(lang, &format!("waves.refusal.{}", r.code()), &args)
}

fn refused(r: &Refusal, lang: Lang, event_id: i64) -> Outcome {
    Outcome {
        verdict: "refused",
        code: r.code().into(),
        action: String::new(),
        message: refusal_message(r, lang),
        event_id,
        extra: Default::default(),
    }
}

/// What a write job decided: done (its event id and result) or refused (its event id).
type Decided<T> = Result<(i64, T), (Refusal, i64)>;

/// Records a refusal's event inside the job and hands the refusal back.
fn refuse_in<T>(
    c: &rusqlite::Connection,
    mut ev: NewEvent,
    r: Refusal,
) -> storage::Result<Decided<T>> {
    ev.verdict = "refused".into();
    ev.reason = r.code().into();
    ev.detail["args"] = json!(r.args().into_iter().collect::<BTreeMap<&str, String>>());
    let id = storage::insert_event(c, &ev)?;
    Ok(Err((r, id)))
}

/// The event of a manager's action on an order (cancel, release), before it is decided.
fn order_action_event(kind: &'static str, order_no: &str, badge: &str, reason: &str) -> NewEvent {
    NewEvent {
        at: now(),
        operator: badge.into(),
        kind,
        code: order_no.into(),
        reason: reason.trim().into(),
        detail: json!({ "order_no": order_no, "reason": reason.trim() }),
        ..Default::default()
    }
}

/// An order action's job answers a missing order as a conflict: to the caller it is a 404.
fn unknown_order_is_not_found<T>(
    decided: storage::Result<Decided<T>>,
) -> Result<Decided<T>, ServiceError> {
    match decided {
        Err(StorageError::Conflict(m)) => Err(ServiceError::NotFound(m)),
        other => Ok(other?),
    }
}

/// Closes the wave when it is done, with its event. Returns whether it closed now.
fn close_if_complete(c: &rusqlite::Connection, w: &WaveSummary, at: &str) -> storage::Result<bool> {
    if w.status != "open" || !db::is_complete(c, w.id)? {
        return Ok(false);
    }
    db::close_wave(c, w.id, at)?;
    storage::insert_event(
        c,
        &NewEvent {
            at: at.into(),
            kind: "wave_closed",
            code: w.number.clone(),
            verdict: "accepted".into(),
            detail: json!({ "wave": w.number }),
            ..Default::default()
        },
    )?;
    Ok(true)
}

/// Takes an order out of a wave as held for a shortage: yellow flag, event, plan released.
fn hold_order(
    c: &rusqlite::Connection,
    w: &WaveSummary,
    order_no: &str,
    reason: Value,
    ev: &NewEvent,
) -> storage::Result<()> {
    db::release_order(c, w.id, order_no, "held", &reason)?;
    db::set_flag(c, order_no, Flag::Yellow)?;
    hold_event(c, ev, w, order_no, reason)
}

impl App {
    fn warehouse_tz(&self) -> jiff::tz::TimeZone {
        jiff::tz::TimeZone::get(&self.config.warehouse.timezone).unwrap_or(jiff::tz::TimeZone::UTC)
    }

    fn is_operator(&self, badge: &str) -> bool {
        self.config.operator(badge).is_some()
    }

    /// Makes a wave from the ready orders the criterion selects (`kind`: cutoff, channel,
    /// courier, evening or orders), allocating every unit to a bin in walk order. Orders that
    /// cannot be had in full are held (yellow) and the manager is told by their events.
    pub async fn create_wave(
        &self,
        kind: &str,
        value: &str,
        orders: &[String],
        badge: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let at = now();
        let ev = NewEvent {
            at: at.clone(),
            operator: badge.into(),
            kind: "wave_create",
            code: kind.into(),
            detail: json!({ "criterion": kind, "value": value, "orders": orders }),
            ..Default::default()
        };
        let criterion = if !self.is_manager(badge) {
            Err(Refusal::ManagerRequired)
        } else {
            Criterion::parse(kind, value, orders)
        };
        let criterion = match criterion {
            Ok(c) => c,
            Err(r) => return self.write_refusal(ev, r, lang).await,
        };
        let tz = self.warehouse_tz();
        let now_ts: jiff::Timestamp = at.parse().unwrap_or_else(|_| jiff::Timestamp::now());
        let local_date = now_ts.to_zoned(tz.clone()).date().to_string();
        let cutoff = wave::cutoff_instant(now_ts, &tz, self.config.cutoff_minutes()).to_string();
        let default_courier = self.config.warehouse.default_courier.clone();
        let by = badge.to_string();
        let decided = self
            .db
            .write(move |c| -> storage::Result<Decided<WaveSummary>> {
                if let Criterion::Orders(list) = &criterion {
                    for no in list {
                        let refusal = match db::order_standing(c, no)? {
                            None => Some(Refusal::OrderNotReady {
                                order_no: no.clone(),
                                status: "unknown".into(),
                            }),
                            Some((_, _, Some(wave))) => Some(Refusal::OrderInOpenWave {
                                order_no: no.clone(),
                                wave,
                            }),
                            Some((status, _, None)) if status != "ready" => {
                                Some(Refusal::OrderNotReady {
                                    order_no: no.clone(),
                                    status,
                                })
                            }
                            Some((_, flag, None)) if flag.is_hold() => Some(Refusal::OrderHeld {
                                order_no: no.clone(),
                            }),
                            Some(_) => None,
                        };
                        if let Some(r) = refusal {
                            return refuse_in(c, ev, r);
                        }
                    }
                }
                let selection = Selection {
                    cutoff_utc: &cutoff,
                    default_courier: &default_courier,
                };
                let candidates: Vec<_> = db::free_candidates(c)?
                    .into_iter()
                    .filter(|o| wave::selects(&criterion, o, &selection))
                    .collect();
                if candidates.is_empty() {
                    return refuse_in(c, ev, Refusal::NoOrders);
                }
                let mut skus: Vec<&str> = candidates
                    .iter()
                    .flat_map(|o| o.lines.iter().map(|(s, _)| s.as_str()))
                    .collect();
                skus.sort_unstable();
                skus.dedup();
                let stock = db::stock_for(c, &skus)?;
                let plan = wave::plan(&candidates, &stock);
                let number = db::next_number(c, &local_date)?;
                let value = criterion.value();
                let id = db::insert_wave(
                    c,
                    &db::NewWave {
                        number: &number,
                        criterion: criterion.kind(),
                        value: &value,
                        local_date: &local_date,
                        at: &ev.at,
                        by: &by,
                    },
                    &plan,
                )?;
                let summary = db::find_wave(c, &id.to_string())?
                    .ok_or_else(|| StorageError::Conflict(format!("wave {number} vanished")))?;
                let mut ev = ev;
                for h in &plan.held {
                    let reason = json!({ "reason": "shortage", "sku": h.sku, "needed": h.needed,
                                         "available": h.available });
                    hold_event(c, &ev, &summary, &h.order_no, reason)?;
                }
                ev.verdict = "accepted".into();
                ev.code = number.clone();
                ev.detail["wave"] = json!(number);
                ev.detail["included"] = json!(plan.included.len());
                ev.detail["held"] =
                    json!(plan.held.iter().map(|h| &h.order_no).collect::<Vec<_>>());
                ev.detail["lines"] = json!(plan.picks.len());
                let eid = storage::insert_event(c, &ev)?;
                Ok(Ok((eid, summary)))
            })
            .await?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, w)) => {
                let mut msg = i18n::tf(
                    lang,
                    "waves.created",
                    &[
                        ("wave", &w.number),
                        ("orders", &w.orders.to_string()),
                        ("lines", &w.lines.to_string()),
                        ("units", &w.units.to_string()),
                    ],
                );
                if w.held > 0 {
                    msg.push(' ');
                    msg.push_str(&i18n::tf(
                        lang,
                        "waves.created_held",
                        &[("held", &w.held.to_string())],
                    ));
                }
                Ok(Outcome::accepted("wave_created", msg, id)
                    .with(
                        "pick_list",
                        format!("/api/v1/waves/{}/pick-list.pdf", w.number),
                    )
                    .with("wave", &w))
            }
        }
    }

    /// A manager action needs a manager's badge and a reason.
    fn manager_with_reason(&self, badge: &str, reason: &str) -> Option<Refusal> {
        if !self.is_manager(badge) {
            Some(Refusal::ManagerRequired)
        } else if reason.trim().is_empty() {
            Some(Refusal::ReasonRequired)
        } else {
            None
        }
    }

    async fn write_refusal(
        &self,
        ev: NewEvent,
        r: Refusal,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let decided = self.db.write(move |c| refuse_in::<()>(c, ev, r)).await?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, ())) => Ok(Outcome::accepted("", String::new(), id)),
        }
    }

    /// The newest waves.
    pub async fn waves(&self, limit: i64) -> Result<Vec<WaveSummary>, ServiceError> {
        Ok(self.db.read(move |c| db::list_waves(c, limit)).await?)
    }

    /// A wave by number or id with its orders, lines and put-backs; a wave found done (every
    /// order packed or put back) is closed on the way.
    pub async fn wave(&self, key: &str) -> Result<Option<WaveView>, ServiceError> {
        let k = key.to_string();
        let found = self
            .db
            .read(move |c| {
                let Some(view) = db::wave_view(c, &k)? else {
                    return Ok(None);
                };
                let done = view.summary.status == "open" && db::is_complete(c, view.summary.id)?;
                Ok(Some((view, done)))
            })
            .await?;
        let Some((view, done)) = found else {
            return Ok(None);
        };
        // Reading is enough while the wave is not done; only closing it is a write.
        if !done {
            return Ok(Some(view));
        }
        let (k, at, summary) = (key.to_string(), now(), view.summary.clone());
        let closed = self
            .db
            .write(move |c| close_if_complete(c, &summary, &at))
            .await?;
        if !closed {
            return Ok(Some(view));
        }
        Ok(self.db.read(move |c| db::wave_view(c, &k)).await?)
    }

    /// One scan on the picker's page: a badge signs the picker in, a bin code says where the
    /// picker stands, an item scanned at that bin counts up its line and moves the unit from
    /// the bin to STAGING in the ledger. A wrong bin or item is refused and changes nothing.
    pub async fn pick_scan(
        &self,
        key: &str,
        raw: &str,
        bin: &str,
        picker: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let scanned = codes::normalise(raw);
        let code = scanned.code.clone();
        let at = now();
        let mut ev = NewEvent {
            at: at.clone(),
            operator: picker.into(),
            kind: "pick_scan",
            code: code.clone(),
            detail: json!({ "raw": raw, "bin": bin, "wave": key }),
            ..Default::default()
        };
        if let Some(op) = self.config.operator(&code).cloned() {
            ev.kind = "pick_sign_in";
            ev.operator = op.badge.clone();
            ev.verdict = "accepted".into();
            let id = self
                .db
                .write(move |c| storage::insert_event(c, &ev))
                .await?;
            return Ok(Outcome::accepted(
                "signed_in",
                i18n::tf(lang, "waves.pick.signed_in", &[("name", &op.name)]),
                id,
            )
            .with("picker", &op));
        }
        let catalog = self.catalog();
        let sku = catalog.sku_for(&scanned).map(str::to_string);
        let picker_known = self.is_operator(picker);
        let (key, bin, picker) = (key.to_string(), bin.trim().to_string(), picker.to_string());
        let decided = self
            .db
            .write(move |c| -> storage::Result<Decided<Value>> {
                let Some(w) = db::find_wave(c, &key)? else {
                    return Err(StorageError::Conflict(format!("no wave {key}")));
                };
                ev.detail["wave"] = json!(w.number);
                if w.status != "open" {
                    return refuse_in(c, ev, Refusal::WaveClosed { wave: w.number });
                }
                let lines = db::pick_lines(c, w.id)?;
                // A bin of this wave's list: the picker is there now.
                if let Some(l) = lines.iter().find(|l| l.bin.eq_ignore_ascii_case(&code)) {
                    let here: Vec<_> = lines
                        .iter()
                        .filter(|x| x.bin == l.bin && x.open() > 0)
                        .map(|x| json!({ "sku": x.sku, "qty": x.qty, "picked": x.picked }))
                        .collect();
                    ev.kind = "pick_bin";
                    ev.verdict = "accepted".into();
                    let id = storage::insert_event(c, &ev)?;
                    return Ok(Ok((id, json!({ "action": "at_bin", "bin": l.bin, "lines": here }))));
                }
                if db::is_bin(c, &code)? {
                    return refuse_in(c, ev, Refusal::NothingAtBin { bin: code });
                }
                let Some(sku) = sku else {
                    return refuse_in(c, ev, Refusal::UnknownCode { code });
                };
                ev.detail["sku"] = json!(sku);
                if !picker_known {
                    return refuse_in(c, ev, Refusal::PickerRequired);
                }
                if bin.is_empty() {
                    return refuse_in(c, ev, Refusal::ScanBinFirst);
                }
                let pick_id = match wave::check_pick(&lines, &bin, &sku) {
                    Ok(id) => id,
                    Err(r) => return refuse_in(c, ev, r),
                };
                let line = db::pick_row(c, pick_id)?
                    .ok_or_else(|| StorageError::Conflict(format!("pick line {pick_id} vanished")))?;
                let allocs = db::allocations(c, pick_id)?;
                let Some(i) = wave::assign_unit(&allocs) else {
                    return refuse_in(
                        c,
                        ev,
                        Refusal::OverPick { sku, bin: line.bin, qty: line.qty },
                    );
                };
                let order_no = allocs[i].order_no.clone();
                if line.tracked {
                    let posting = Posting {
                        at: ev.at.clone(),
                        kind: EntryKind::Pick,
                        reference: w.number.clone(),
                        operator: picker.clone(),
                        station: String::new(),
                        reason: format!("wave {} order {order_no}", w.number),
                        override_by: String::new(),
                        moves: vec![
                            Move { sku: sku.clone(), bin: line.bin.clone(), qty: -1 },
                            Move { sku: sku.clone(), bin: STAGING_BIN.into(), qty: 1 },
                        ],
                    };
                    match ledger_db::post(c, &posting) {
                        Ok(_) => {}
                        Err(StorageError::Shortfall(_)) => {
                            return refuse_in(c, ev, Refusal::LedgerShort { sku, bin: line.bin });
                        }
                        Err(e) => return Err(e),
                    }
                }
                db::count_pick(c, pick_id, &order_no)?;
                ev.kind = "pick";
                ev.verdict = "accepted".into();
                ev.detail["order_no"] = json!(order_no);
                ev.detail["bin"] = json!(line.bin);
                let id = storage::insert_event(c, &ev)?;
                let left: i64 = db::pick_lines(c, w.id)?.iter().map(|l| l.open()).sum();
                Ok(Ok((
                    id,
                    json!({ "action": "picked", "sku": sku, "bin": line.bin, "picked": line.picked + 1,
                            "qty": line.qty, "order_no": order_no, "wave_left": left }),
                )))
            })
            .await?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, v)) => {
                let action = v["action"].as_str().unwrap_or_default().to_string();
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let n = |k: &str| v[k].as_i64().unwrap_or_default().to_string();
                let msg = if action == "at_bin" {
                    i18n::tf(
                        lang,
                        "waves.pick.at_bin_now",
                        &[
                            ("bin", &s("bin")),
                            (
                                "count",
                                &v["lines"].as_array().map_or(0, Vec::len).to_string(),
                            ),
                        ],
                    )
                } else if v["wave_left"].as_i64() == Some(0) {
                    i18n::t(lang, "waves.pick.all_picked")
                } else {
                    i18n::tf(
                        lang,
                        "waves.pick.counted",
                        &[
                            ("sku", &s("sku")),
                            ("bin", &s("bin")),
                            ("picked", &n("picked")),
                            ("qty", &n("qty")),
                        ],
                    )
                };
                let mut o = Outcome::accepted(
                    if action == "at_bin" {
                        "at_bin"
                    } else {
                        "picked"
                    },
                    msg,
                    id,
                );
                if let Value::Object(m) = v {
                    for (k, val) in m {
                        if k != "action" {
                            o = o.with(&k, val);
                        }
                    }
                }
                Ok(o)
            }
        }
    }

    /// The picker finds fewer units at a bin than the list says: the line is short by what is
    /// left, and every order those units were for is held (yellow) with an event for the
    /// manager; what was picked for them waits in STAGING to be put back.
    pub async fn pick_short(
        &self,
        key: &str,
        bin: &str,
        raw: &str,
        picker: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let scanned = codes::normalise(raw);
        let catalog = self.catalog();
        let sku = catalog
            .sku_for(&scanned)
            .map(str::to_string)
            .unwrap_or_else(|| scanned.code.clone());
        let ev = NewEvent {
            at: now(),
            operator: picker.into(),
            kind: "pick_short",
            code: sku.clone(),
            detail: json!({ "bin": bin, "sku": sku, "wave": key }),
            ..Default::default()
        };
        let picker_known = self.is_operator(picker);
        let (key, bin) = (key.to_string(), bin.trim().to_string());
        let decided = self
            .db
            .write(move |c| -> storage::Result<Decided<Value>> {
                let Some(w) = db::find_wave(c, &key)? else {
                    return Err(StorageError::Conflict(format!("no wave {key}")));
                };
                let mut ev = ev;
                ev.detail["wave"] = json!(w.number);
                if w.status != "open" {
                    return refuse_in(c, ev, Refusal::WaveClosed { wave: w.number });
                }
                if !picker_known {
                    return refuse_in(c, ev, Refusal::PickerRequired);
                }
                if bin.is_empty() {
                    return refuse_in(c, ev, Refusal::ScanBinFirst);
                }
                let lines = db::pick_lines(c, w.id)?;
                if !lines.iter().any(|l| l.bin.eq_ignore_ascii_case(&bin)) {
                    return refuse_in(c, ev, Refusal::NothingAtBin { bin });
                }
                let Some(line) = lines
                    .iter()
                    .find(|l| l.bin.eq_ignore_ascii_case(&bin) && l.sku == sku && l.open() > 0)
                else {
                    return refuse_in(c, ev, Refusal::WrongItem { sku, bin });
                };
                let short = line.open();
                db::record_short(c, line.id, short)?;
                let allocs = db::allocations(c, line.id)?;
                let held = wave::short_orders(&allocs);
                for no in &held {
                    let reason = json!({ "reason": "shortage", "sku": line.sku, "bin": line.bin,
                                         "short": short });
                    hold_order(c, &w, no, reason, &ev)?;
                }
                ev.verdict = "accepted".into();
                ev.detail["short"] = json!(short);
                ev.detail["held"] = json!(held);
                let id = storage::insert_event(c, &ev)?;
                close_if_complete(c, &w, &ev.at)?;
                Ok(Ok((
                    id,
                    json!({ "sku": line.sku, "bin": line.bin, "short": short, "held": held }),
                )))
            })
            .await?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, v)) => {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let held = v["held"].as_array().map_or(0, Vec::len);
                let msg = i18n::tf(
                    lang,
                    "waves.pick.short_done",
                    &[
                        ("sku", &s("sku")),
                        ("bin", &s("bin")),
                        ("short", &v["short"].to_string()),
                        ("held", &held.to_string()),
                    ],
                );
                Ok(Outcome::accepted("short_recorded", msg, id)
                    .with("short", &v["short"])
                    .with("held", &v["held"]))
            }
        }
    }

    /// The manager cancels an order (badge and reason). A cancelled order is never packed;
    /// if it is in an open wave, its unpicked units come off the pick list and its picked
    /// units are listed to be put back.
    pub async fn cancel_order(
        &self,
        order_no: &str,
        badge: &str,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let ev = order_action_event("order_cancel", order_no, badge, reason);
        if let Some(r) = self.manager_with_reason(badge, reason) {
            return self.write_refusal(ev, r, lang).await;
        }
        let no = order_no.to_string();
        let decided = self
            .db
            .write(move |c| -> storage::Result<Decided<Value>> {
                let Some((status, _, _)) = db::order_standing(c, &no)? else {
                    return Err(StorageError::Conflict(format!("there is no order {no}")));
                };
                if status != "ready" {
                    return refuse_in(
                        c,
                        ev,
                        Refusal::CannotCancel {
                            order_no: no,
                            status,
                        },
                    );
                }
                let mut ev = ev;
                storage::set_order_status(c, &no, OrderStatus::Cancelled, "")?;
                let mut wave_no = Value::Null;
                let mut units = 0;
                if let Some((wid, number)) = db::open_wave_of(c, &no)? {
                    let why =
                        json!({ "reason": "cancelled", "note": ev.reason, "by": ev.operator });
                    db::release_order(c, wid, &no, "cancelled", &why)?;
                    units = db::to_put_back(c, wid, Some(&no))?
                        .iter()
                        .map(|p| p.qty)
                        .sum();
                    wave_no = json!(number);
                    if let Some(w) = db::find_wave(c, &wid.to_string())? {
                        close_if_complete(c, &w, &ev.at)?;
                    }
                }
                ev.kind = "order_cancelled";
                ev.verdict = "accepted".into();
                ev.detail["wave"] = wave_no.clone();
                ev.detail["to_put_back"] = json!(units);
                let id = storage::insert_event(c, &ev)?;
                Ok(Ok((id, json!({ "wave": wave_no, "to_put_back": units }))))
            })
            .await;
        let decided = unknown_order_is_not_found(decided)?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, v)) => {
                let units = v["to_put_back"].as_i64().unwrap_or(0);
                let msg = if units > 0 {
                    i18n::tf(
                        lang,
                        "waves.order_cancelled_put_back",
                        &[
                            ("order_no", order_no),
                            ("units", &units.to_string()),
                            ("wave", v["wave"].as_str().unwrap_or_default()),
                        ],
                    )
                } else {
                    i18n::tf(lang, "waves.order_cancelled", &[("order_no", order_no)])
                };
                Ok(Outcome::accepted("order_cancelled", msg, id)
                    .with("order_no", order_no)
                    .with("wave", &v["wave"])
                    .with("to_put_back", units))
            }
        }
    }

    /// Takes an order off hold (its yellow flag) once the reason is dealt with, e.g. the
    /// missing stock arrived: it is ready again and can go into the next wave. Manager only,
    /// with a reason; recorded as an event on the order.
    pub async fn release_hold(
        &self,
        order_no: &str,
        badge: &str,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let ev = order_action_event("hold_release", order_no, badge, reason);
        if let Some(r) = self.manager_with_reason(badge, reason) {
            return self.write_refusal(ev, r, lang).await;
        }
        let no = order_no.to_string();
        let decided = self
            .db
            .write(move |c| -> storage::Result<Decided<()>> {
                let Some(order) = storage::get_order(c, &no)? else {
                    return Err(StorageError::Conflict(format!("there is no order {no}")));
                };
                if order.record.flag != Flag::Yellow {
                    return refuse_in(c, ev, Refusal::NotOnHold { order_no: no });
                }
                db::set_flag(c, &no, Flag::None)?;
                let mut ev = ev;
                ev.kind = "hold_released";
                ev.verdict = "accepted".into();
                let id = storage::insert_event(c, &ev)?;
                Ok(Ok((id, ())))
            })
            .await;
        let decided = unknown_order_is_not_found(decided)?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, ())) => Ok(Outcome::accepted(
                "hold_released",
                i18n::tf(lang, "waves.hold_released", &[("order_no", order_no)]),
                id,
            )
            .with("order_no", order_no)),
        }
    }

    /// Puts an order's picked units back from STAGING: one transfer posting to the bins they
    /// came from (or `to_bin`), and the wave closes if that was all it waited for.
    pub async fn put_back(
        &self,
        key: &str,
        order_no: &str,
        badge: &str,
        to_bin: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let ev = NewEvent {
            at: now(),
            operator: badge.into(),
            kind: "put_back",
            code: order_no.into(),
            detail: json!({ "order_no": order_no, "wave": key, "to_bin": to_bin }),
            ..Default::default()
        };
        if !self.is_operator(badge) {
            return self.write_refusal(ev, Refusal::PickerRequired, lang).await;
        }
        let (key, no) = (key.to_string(), order_no.to_string());
        let to_bin = to_bin
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .map(str::to_string);
        let decided = self
            .db
            .write(move |c| -> storage::Result<Decided<Value>> {
                let Some(w) = db::find_wave(c, &key)? else {
                    return Err(StorageError::Conflict(format!("no wave {key}")));
                };
                let mut ev = ev;
                ev.detail["wave"] = json!(w.number);
                let rows = db::to_put_back(c, w.id, Some(&no))?;
                if rows.is_empty() {
                    return refuse_in(c, ev, Refusal::NothingToPutBack { order_no: no });
                }
                let mut moves = Vec::new();
                for r in rows.iter().filter(|r| r.tracked) {
                    let bin = to_bin.clone().unwrap_or_else(|| r.bin.clone());
                    moves.push(Move {
                        sku: r.sku.clone(),
                        bin: STAGING_BIN.into(),
                        qty: -r.qty,
                    });
                    moves.push(Move {
                        sku: r.sku.clone(),
                        bin,
                        qty: r.qty,
                    });
                }
                let posting = Posting {
                    at: ev.at.clone(),
                    kind: EntryKind::Transfer,
                    reference: w.number.clone(),
                    operator: ev.operator.clone(),
                    station: String::new(),
                    reason: format!("put back: order {no} left wave {}", w.number),
                    override_by: String::new(),
                    moves,
                };
                match ledger_db::post(c, &posting) {
                    Ok(_) => {}
                    Err(StorageError::Shortfall(s)) => {
                        return refuse_in(
                            c,
                            ev,
                            Refusal::LedgerShort {
                                sku: s.sku,
                                bin: s.bin,
                            },
                        );
                    }
                    Err(e) => return Err(e),
                }
                for r in &rows {
                    db::mark_put_back(c, r.pick_id, &r.order_no, r.qty)?;
                }
                let units: i64 = rows.iter().map(|r| r.qty).sum();
                ev.verdict = "accepted".into();
                ev.detail["units"] = json!(units);
                ev.detail["lines"] = json!(rows);
                let id = storage::insert_event(c, &ev)?;
                let closed = close_if_complete(c, &w, &ev.at)?;
                Ok(Ok((id, json!({ "units": units, "wave_closed": closed }))))
            })
            .await;
        let decided = unknown_order_is_not_found(decided)?;
        match decided {
            Err((r, id)) => Ok(refused(&r, lang, id)),
            Ok((id, v)) => {
                let units = v["units"].as_i64().unwrap_or(0);
                let msg = i18n::tf(
                    lang,
                    "waves.put_back_done",
                    &[("order_no", order_no), ("units", &units.to_string())],
                );
                Ok(Outcome::accepted("put_back", msg, id)
                    .with("units", units)
                    .with("wave_closed", &v["wave_closed"]))
            }
        }
    }

    fn wave_template(
        &self,
        (name, builtin): (&str, &str),
    ) -> Result<labels::Template, labels::LabelError> {
        if let Some(dir) = self.template_dir() {
            if dir.join(name).is_file() {
                return labels::load_template(Some(&dir), name);
            }
        }
        labels::Template::parse(name, builtin)
    }

    /// The wave's pick list as a PDF: the consolidated lines in walk order, then the per-order
    /// slips eight to an A4 sheet. `None` when there is no such wave.
    pub async fn pick_list_pdf(
        &self,
        key: &str,
        lang: Lang,
    ) -> Result<Option<Vec<u8>>, ServiceError> {
        Ok(self
            .pick_list_pdf_timed(key, lang)
            .await?
            .map(|(pdf, _)| pdf))
    }

    /// [`App::pick_list_pdf`] with the time its layout and its PDF encoding took (for the
    /// benchmark).
    pub async fn pick_list_pdf_timed(
        &self,
        key: &str,
        lang: Lang,
    ) -> Result<Option<(Vec<u8>, RenderTimes)>, ServiceError> {
        let k = key.to_string();
        let found = self
            .db
            .read(move |c| {
                let Some(view) = db::wave_view(c, &k)? else {
                    return Ok(None);
                };
                let slips = db::slip_lines(c, view.summary.id)?;
                Ok(Some((view, slips)))
            })
            .await?;
        let Some((view, slips)) = found else {
            return Ok(None);
        };
        let (list, sheets) =
            pick_list_data(&view, &slips, &self.catalog(), &self.warehouse_tz(), lang);
        let list_t = self
            .wave_template(PICK_LIST_TEMPLATE)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let slips_t = self
            .wave_template(PICK_SLIPS_TEMPLATE)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let title = format!(
            "{} {}",
            i18n::t(lang, "waves.pdf.title"),
            view.summary.number
        );
        let pdf = tokio::task::spawn_blocking(move || {
            render_pick_list(&list_t, &slips_t, &list, &sheets, &title)
        })
        .await
        .map_err(|e| ServiceError::BadRequest(format!("rendering the pick list: {e}")))?
        .map_err(|e| ServiceError::BadRequest(format!("rendering the pick list: {e}")))?;
        Ok(Some(pdf))
    }
}

fn hold_event(
    c: &rusqlite::Connection,
    ev: &NewEvent,
    w: &WaveSummary,
    order_no: &str,
    reason: Value,
) -> storage::Result<()> {
    let mut detail = reason;
    detail["wave"] = json!(w.number);
    detail["order_no"] = json!(order_no);
    storage::insert_event(
        c,
        &NewEvent {
            at: ev.at.clone(),
            operator: ev.operator.clone(),
            kind: "order_held",
            code: order_no.into(),
            verdict: "accepted".into(),
            reason: "shortage".into(),
            detail,
            ..Default::default()
        },
    )?;
    Ok(())
}

/// Lays out and renders the list and the slip sheets into one PDF.
/// Time spent on a pick list: laying out the pages and encoding the PDF.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderTimes {
    pub layout: std::time::Duration,
    pub encode: std::time::Duration,
    pub pages: usize,
}

/// Lays out the list and the slip sheets (spread over the machine's cores: pages do not
/// depend on each other) and renders them into one PDF.
pub fn render_pick_list(
    list_t: &labels::Template,
    slips_t: &labels::Template,
    list: &Value,
    sheets: &[Value],
    title: &str,
) -> Result<(Vec<u8>, RenderTimes), labels::LabelError> {
    let dpi = labels::RenderOptions::default().dpi;
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = sheets.len().div_ceil(threads).max(1);
    let (list_pages, slip_pages) = std::thread::scope(|s| {
        let workers: Vec<_> = sheets
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || -> Result<Vec<labels::Layout>, labels::LabelError> {
                    let mut pages = Vec::with_capacity(part.len());
                    for sheet in part {
                        pages.extend(labels::layout_pages(slips_t, sheet, dpi)?);
                    }
                    Ok(pages)
                })
            })
            .collect();
        let list_pages = labels::layout_pages(list_t, list, dpi);
        let slip_pages: Vec<_> = workers
            .into_iter()
            .map(|w| {
                w.join().unwrap_or_else(|_| {
                    Err(labels::LabelError::Unsupported(
                        "laying out the pick slips failed".into(),
                    ))
                })
            })
            .collect();
        (list_pages, slip_pages)
    });
    let mut pages = list_pages?;
    for part in slip_pages {
        pages.extend(part?);
    }
    let layout = started.elapsed();
    let started = std::time::Instant::now();
    let pdf = labels::render_layouts(&pages, labels::Format::Pdf, title)?;
    let times = RenderTimes {
        layout,
        encode: started.elapsed(),
        pages: pages.len(),
    };
    // The laid-out pages are freed off the caller's path (see `labels::pdf::render`).
    std::thread::spawn(move || drop(pages));
    Ok((pdf, times))
}

/// The data of the pick list (`wave-pick-list-a4.toml`) and of each sheet of slips
/// (`wave-pick-slips-a4.toml`), in the language asked for.
pub fn pick_list_data(
    view: &WaveView,
    slips: &[db::SlipLine],
    catalog: &super::CatalogIndex,
    tz: &jiff::tz::TimeZone,
    lang: Lang,
) -> (Value, Vec<Value>) {
    let w = &view.summary;
    let t = |k: &str| i18n::t(lang, &format!("waves.pdf.{k}"));
    let texts: serde_json::Map<String, Value> = [
        "title",
        "criterion",
        "created",
        "orders",
        "units",
        "bin",
        "sku",
        "item",
        "qty",
        "order_count",
        "totals",
        "signoff",
        "slip",
    ]
    .iter()
    .map(|k| (k.to_string(), json!(t(k))))
    .collect();
    let mut orders_per_line: HashMap<(&str, &str), i64> = HashMap::new();
    for s in slips {
        *orders_per_line.entry((&s.bin, &s.sku)).or_default() += 1;
    }
    let item = |sku: &str| catalog.item(sku);
    let lines: Vec<Value> = view
        .picks
        .iter()
        .filter(|p| p.qty > 0)
        .map(|p| {
            let it = item(&p.sku);
            json!({
                "bin": if p.bin.is_empty() { "—" } else { p.bin.as_str() },
                "mark": if p.tracked { "" } else { " *" },
                "sku": p.sku,
                "name": it.map(|i| i.name.as_str()).unwrap_or(""),
                "option": it.map(|i| i.option.as_str()).unwrap_or(""),
                "qty": p.qty,
                "orders": orders_per_line.get(&(p.bin.as_str(), p.sku.as_str())).copied().unwrap_or(0),
            })
        })
        .collect();
    let criterion = {
        let name = i18n::t(lang, &format!("waves.criterion_{}", w.criterion));
        if w.value.is_empty() {
            name
        } else {
            format!("{name} {}", w.value)
        }
    };
    let created = w
        .created_at
        .parse::<jiff::Timestamp>()
        .map(|ts| {
            ts.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| w.created_at.clone());
    let mut list = json!({
        "wave": w.number,
        "criterion": criterion,
        "created_at": created,
        "created_by": w.created_by,
        "order_count": w.orders,
        "units": lines.iter().map(|l| l["qty"].as_i64().unwrap_or(0)).sum::<i64>(),
        "t": texts,
        "lines": lines,
    });
    let untracked = view
        .picks
        .iter()
        .filter(|p| !p.tracked && p.qty > 0)
        .count();
    if untracked > 0 {
        list["untracked_note"] = json!(i18n::tf(
            lang,
            "waves.untracked_note",
            &[("count", &untracked.to_string())]
        ));
    }
    // Slips: the orders still in the wave, by slip number, each with its lines.
    let mut by_order: HashMap<&str, Vec<&db::SlipLine>> = HashMap::new();
    for s in slips {
        by_order.entry(s.order_no.as_str()).or_default().push(s);
    }
    let slip_orders: Vec<&storage::waves::WaveOrder> = view
        .order_list
        .iter()
        .filter(|o| o.state == "picking" && o.slip > 0)
        .collect();
    let count = slip_orders.len();
    let slips_t = json!({ "units": i18n::t(lang, "waves.units"), "slip": t("slip") });
    let sheets = slip_orders
        .chunks(SLIPS_PER_SHEET)
        .map(|chunk| {
            let slips: Vec<Value> = chunk
                .iter()
                .map(|o| {
                    let lines: Vec<Value> = by_order
                        .get(o.order_no.as_str())
                        .map(|v| v.as_slice())
                        .unwrap_or(&[])
                        .iter()
                        .map(|l| {
                            json!({ "bin": if l.bin.is_empty() { "—" } else { l.bin.as_str() },
                                    "sku": l.sku,
                                    "name": item(&l.sku).map(|i| i.name.as_str()).unwrap_or(""),
                                    "qty": l.qty })
                        })
                        .collect();
                    json!({ "slip": o.slip, "order_no": o.order_no, "recipient": o.recipient_name,
                            "channel": o.channel, "units": o.units, "lines": lines })
                })
                .collect();
            json!({ "wave": w.number, "slip_count": count, "t": slips_t, "slips": slips })
        })
        .collect();
    (list, sheets)
}
