//! The monthly stocktake (DESIGN.md workflow 7): the calendar (a cycle opens itself at 00:00
//! local on the 28th, checked on a timer and on every read so a restart never misses one),
//! opening early with a scope, blind counting by location with recounts by another counter,
//! the variance report, approval into the ledger, closing with the report archived, and
//! the history.
//!
//! Every counter action is decided inside its write job (the writer runs one job at a
//! time), so a claim, a scan or a submission sees the task and the cycle as they are and a
//! closed cycle refuses everything. A count is compared with the ledger as of the moment it
//! is submitted: the id of the newest stock entry, taken in the same transaction that
//! records the count. Approving adds `counted − book` to the balance, so whatever moved
//! after the count is carried forward.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;
use serde_json::{json, Value};

use super::{App, Outcome, ServiceError};
use crate::config::Role;
use crate::domain::codes;
use crate::domain::stocktake::{self as rules, Alert, CycleFact, Window};
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage::ledger as ledger_db;
use crate::storage::stocktake::{self as store, Cycle, NewCycle, NewLine, Selection, Task};
use crate::storage::{self, NewEvent, StorageError};

/// The variance report's layout (A4), built in; a site may put its own copy in its
/// template folder.
pub const REPORT_TEMPLATE: (&str, &str) = (
    "stocktake-report-a4.toml",
    include_str!("../../label-templates/stocktake-report-a4.toml"),
);

/// Who opens a cycle at 00:00 local on the 28th.
pub const SYSTEM: &str = "system";

/// The reason written on the ledger entries of approved variances.
pub fn variance_reason(cycle: &str) -> String {
    format!("stocktake {cycle}")
}

/// A decision taken inside a write job: done, or refused with a code and message args (the
/// refusal's event is already written).
enum Done<T> {
    Ok(T),
    No(&'static str, Vec<(&'static str, String)>, i64),
}

/// Records a refusal's event inside the job.
fn refuse<T>(
    c: &rusqlite::Connection,
    mut ev: NewEvent,
    code: &'static str,
    args: Vec<(&'static str, String)>,
) -> storage::Result<Done<T>> {
    ev.verdict = "refused".into();
    ev.reason = code.into();
    ev.detail["refusal"] = json!(code);
    let id = storage::insert_event(c, &ev)?;
    Ok(Done::No(code, args, id))
}

/// The answer to a refused stocktake action, in the request's language.
fn refused(lang: Lang, code: &str, args: &[(&'static str, String)], event_id: i64) -> Outcome {
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Outcome {
        verdict: "refused",
        code: code.into(),
        action: String::new(),
        message: i18n::tf(lang, &format!("stocktake.refusal.{code}"), &args),
        event_id,
        extra: Default::default(),
    }
}

/// A window as JSON: `{"opens","closes","time_zone"}`, dates inclusive.
pub fn window_json(w: Window, tz: &str) -> Value {
    json!({ "opens": w.opens.to_string(), "closes": w.closes.to_string(), "time_zone": tz })
}

/// The same on one line with its keys in that order (the CLI's `--json` and the API).
pub fn window_line(w: Window, tz: &str) -> String {
    format!(
        "{{\"opens\":\"{}\",\"closes\":\"{}\",\"time_zone\":{}}}",
        w.opens,
        w.closes,
        Value::String(tz.to_string())
    )
}

/// The window that `date` (a local `YYYY-MM-DD`; today in `tz` when `None`) falls in, or
/// the next one: for the CLI and the API alike.
pub fn window_of(tz: &str, date: Option<&str>, now: Timestamp) -> Result<Window, String> {
    let zone = TimeZone::get(tz).map_err(|e| format!("time zone `{tz}`: {e}"))?;
    let d = match date.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d
            .parse::<jiff::civil::Date>()
            .map_err(|e| format!("`{d}` is not a date (YYYY-MM-DD): {e}"))?,
        None => rules::local_date(now, &zone),
    };
    Ok(rules::window_for(d))
}

/// Which lines an approval asks for.
#[derive(Debug, Clone, Default)]
pub struct ApproveRequest {
    pub all: bool,
    pub lines: Vec<i64>,
    pub bins: Vec<String>,
}

/// A late correction after closing: a normal adjustment with a reason.
#[derive(Debug, Clone)]
pub struct Correction {
    pub sku: String,
    pub bin: String,
    pub qty: i64,
    pub reason: String,
}

/// A report file of a cycle.
pub struct ReportFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub content_type: &'static str,
}

/// One month of the shrinkage chart: approved loss (≤ 0) and gain (≥ 0) value.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthShrinkage {
    pub month: String,
    pub loss_value: i64,
    pub gain_value: i64,
}

impl App {
    /// The warehouse's zone.
    pub fn stocktake_tz(&self) -> TimeZone {
        TimeZone::get(&self.config.warehouse.timezone).unwrap_or(TimeZone::UTC)
    }

    /// The stocktake calendar's clock: now, or — for rehearsals and tests with
    /// `[stocktake] pretend_now` — that instant plus the time since the server started.
    pub fn stocktake_now(&self) -> Timestamp {
        let real = Timestamp::now();
        match self
            .config
            .stocktake
            .pretend_now
            .as_deref()
            .and_then(|t| t.parse::<Timestamp>().ok())
        {
            Some(start) => start
                .checked_add(jiff::SignedDuration::try_from(self.uptime()).unwrap_or_default())
                .unwrap_or(real),
            None => real,
        }
    }

    fn stocktake_stamp(&self) -> String {
        let t = self.stocktake_now();
        t.round(jiff::Unit::Millisecond).unwrap_or(t).to_string()
    }

    fn st_operator(&self, badge: &str) -> Option<String> {
        self.config.operator(badge.trim()).map(|o| o.badge.clone())
    }

    fn st_manager(&self, badge: &str) -> bool {
        self.config
            .operator(badge.trim())
            .is_some_and(|o| o.role == Role::Manager)
    }

    fn st_event(&self, kind: &'static str, badge: &str, code: &str, detail: Value) -> NewEvent {
        NewEvent {
            at: self.stocktake_stamp(),
            station: "stocktake".into(),
            operator: badge.trim().into(),
            kind,
            code: code.into(),
            detail,
            ..Default::default()
        }
    }

    /// Records a refusal decided before any write (a badge that is not a manager's).
    async fn st_refuse_now(
        &self,
        ev: NewEvent,
        code: &'static str,
        args: Vec<(&'static str, String)>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let done = self
            .db
            .write(move |c| refuse::<()>(c, ev, code, args))
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok(()) => unreachable!("refuse always refuses"),
        }
    }

    // ----- the calendar -----------------------------------------------------------------

    /// Opens every cycle that is due and missing (see `rules::due_windows`): at 00:00 local
    /// on the 28th, or at the first check after a restart. Cheap when nothing is due (one
    /// read). Returns the months opened.
    pub async fn stocktake_tick(&self) -> Result<Vec<String>, ServiceError> {
        let now = self.stocktake_now();
        let tz = self.stocktake_tz();
        let (since, facts) = self
            .db
            .read(|c| Ok((store::calendar_since(c)?, store::cycle_facts(c)?)))
            .await?;
        let months: Vec<String> = facts.iter().map(|(m, _)| m.clone()).collect();
        let due = match &since {
            Some(s) => match s.parse::<jiff::civil::Date>() {
                Ok(d) => rules::due_windows(now, &tz, d, &months),
                Err(_) => Vec::new(),
            },
            None => Vec::new(),
        };
        if since.is_some() && due.is_empty() {
            return Ok(Vec::new());
        }
        let today = rules::local_date(now, &tz).to_string();
        let at = self.stocktake_stamp();
        let zones = self.config.stocktake.zones.clone();
        let tz_name = self.config.warehouse.timezone.clone();
        Ok(self
            .db
            .write(move |c| {
                let since = store::start_calendar(c, &today)?;
                let Ok(since) = since.parse::<jiff::civil::Date>() else {
                    return Ok(Vec::new());
                };
                let months: Vec<String> =
                    store::cycle_facts(c)?.into_iter().map(|(m, _)| m).collect();
                let mut opened = Vec::new();
                for w in rules::due_windows(now, &tz, since, &months) {
                    // Nothing to count yet (a new installation without bins): the cycle
                    // opens at the first check once there are bins, still in its window
                    // or late.
                    if store::bins_in_scope(c, &zones)? == 0 {
                        continue;
                    }
                    let (_, tasks) = store::insert_cycle(c, &new_cycle(w, &tz_name, &zones, &at, SYSTEM))?;
                    storage::insert_event(
                        c,
                        &NewEvent {
                            at: at.clone(),
                            station: "stocktake".into(),
                            operator: SYSTEM.into(),
                            kind: "stocktake_open",
                            code: rules::cycle_number(w),
                            verdict: "accepted".into(),
                            reason: "automatic".into(),
                            detail: json!({ "month": w.month(), "zones": zones, "tasks": tasks }),
                            ..Default::default()
                        },
                    )?;
                    tracing::info!(cycle = %rules::cycle_number(w), tasks, "stocktake cycle opened");
                    opened.push(w.month());
                }
                Ok(opened)
            })
            .await?)
    }

    /// Checks the calendar now and then (at the next window's 00:00 local, at least every
    /// minute) for as long as the app lives.
    pub fn start_stocktake_timer(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(app) = weak.upgrade() else { return };
                if let Err(e) = app.stocktake_tick().await {
                    tracing::warn!(error = %e, "stocktake calendar check failed");
                }
                let now = app.stocktake_now();
                let tz = app.stocktake_tz();
                let w = rules::window_for(rules::local_date(now, &tz));
                let next = if w.opens_at(&tz) > now {
                    w.opens_at(&tz)
                } else {
                    w.next().opens_at(&tz)
                };
                let until = (next - now)
                    .total(jiff::Unit::Millisecond)
                    .unwrap_or(60_000.0)
                    .max(0.0) as u64;
                drop(app);
                let wait = until.saturating_add(20).min(60_000);
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
            }
        });
    }

    /// What a manager is told about the stocktake: the alert (overdue, open, reminder) in
    /// words, the current window, the open cycle's progress and whether one can be opened.
    pub async fn stocktake_status(&self, lang: Lang) -> Result<Value, ServiceError> {
        self.stocktake_tick().await?;
        let now = self.stocktake_now();
        let tz = self.stocktake_tz();
        let tz_name = self.config.warehouse.timezone.clone();
        let (facts, open) = self
            .db
            .read(|c| {
                let facts = store::cycle_facts(c)?;
                let open: Vec<(Cycle, BTreeMap<String, i64>)> = store::list_cycles(c, 24)?
                    .into_iter()
                    .filter(|cy| cy.status == "open")
                    .map(|cy| {
                        let p = store::progress(c, cy.id)?;
                        Ok((cy, p))
                    })
                    .collect::<storage::Result<_>>()?;
                Ok((facts, open))
            })
            .await?;
        let cycles: Vec<CycleFact> = facts
            .iter()
            .map(|(m, closed)| CycleFact {
                month: m.clone(),
                closed: *closed,
            })
            .collect();
        let reminder = self.config.stocktake.reminder_days;
        let a = rules::alert(now, &tz, reminder, &cycles);
        let (date, days, month) = match &a {
            Alert::Overdue { month, closes } | Alert::Open { month, closes } => {
                (closes.to_string(), 0, month.clone())
            }
            Alert::Reminder { month, opens, days } => (opens.to_string(), *days, month.clone()),
            Alert::None => (String::new(), 0, String::new()),
        };
        let cur = open.iter().find(|(c, _)| c.month == month);
        let (counted, total) = cur
            .map(|(_, p)| {
                (
                    p.get("counted").copied().unwrap_or(0),
                    p.values().sum::<i64>(),
                )
            })
            .unwrap_or((0, 0));
        let message = match a.kind() {
            "none" => String::new(),
            k => i18n::tf(
                lang,
                &format!("stocktake.alert.{k}"),
                &[
                    ("cycle", &format!("ST-{month}")),
                    ("date", &date),
                    ("days", &days.to_string()),
                    ("counted", &counted.to_string()),
                    ("total", &total.to_string()),
                ],
            ),
        };
        let w = rules::window_for(rules::local_date(now, &tz));
        let w = if now >= w.ends_at(&tz) { w.next() } else { w };
        let openable = rules::openable_window(now, &tz, reminder)
            .filter(|w| !facts.iter().any(|(m, _)| *m == w.month()));
        Ok(json!({
            "now": now.to_string(),
            "window": window_json(w, &tz_name),
            "window_open": rules::is_open_at(now, &tz),
            "alert": {
                "kind": a.kind(),
                "cycle": if month.is_empty() { Value::Null } else { json!(format!("ST-{month}")) },
                "month": if month.is_empty() { Value::Null } else { json!(month) },
                "date": if date.is_empty() { Value::Null } else { json!(date) },
                "days": days,
                "counted": counted,
                "tasks": total,
                "message": message,
            },
            "open_cycles": open.iter().map(|(c, p)| json!({
                "number": c.number, "month": c.month, "opens": c.opens, "closes": c.closes,
                "counted": p.get("counted").copied().unwrap_or(0),
                "tasks": p.values().sum::<i64>(),
            })).collect::<Vec<_>>(),
            "openable": openable.map(|w| window_json(w, &tz_name)),
        }))
    }

    // ----- cycles -----------------------------------------------------------------------

    async fn st_find_cycle(&self, key: &str, lang: Lang) -> Result<Cycle, ServiceError> {
        self.stocktake_tick().await?;
        let k = key.trim().to_string();
        self.db
            .read(move |c| store::get_cycle(c, &k))
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(i18n::tf(lang, "stocktake.no_cycle", &[("cycle", key)]))
            })
    }

    /// The cycle counters count in: the newest open one (or the one named).
    async fn st_counting_cycle(&self, key: Option<&str>) -> Result<Option<Cycle>, ServiceError> {
        self.stocktake_tick().await?;
        let key = key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        Ok(self
            .db
            .read(move |c| match key {
                Some(k) => store::get_cycle(c, &k),
                None => Ok(store::list_cycles(c, 24)?
                    .into_iter()
                    .find(|cy| cy.status == "open")),
            })
            .await?)
    }

    /// A manager opens the coming cycle early (from the first reminder day) or the current
    /// one within its window, choosing its zones (none: every bin except staging).
    pub async fn stocktake_open(
        &self,
        badge: &str,
        zones: &[String],
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        self.stocktake_tick().await?;
        let mut zones: Vec<String> = zones
            .iter()
            .map(|z| z.trim().to_string())
            .filter(|z| !z.is_empty())
            .collect();
        zones.sort();
        zones.dedup();
        let ev = self.st_event("stocktake_open", badge, "", json!({ "zones": zones }));
        if !self.st_manager(badge) {
            return self
                .st_refuse_now(ev, "manager_required", vec![], lang)
                .await;
        }
        let now = self.stocktake_now();
        let tz = self.stocktake_tz();
        let Some(w) = rules::openable_window(now, &tz, self.config.stocktake.reminder_days) else {
            let next = rules::window_for(rules::local_date(now, &tz));
            let next = if now >= next.ends_at(&tz) {
                next.next()
            } else {
                next
            };
            let from = next.reminder_from(self.config.stocktake.reminder_days);
            let args = vec![
                ("opens", next.opens.to_string()),
                ("from", from.to_string()),
            ];
            return self.st_refuse_now(ev, "not_openable", args, lang).await;
        };
        let tz_name = self.config.warehouse.timezone.clone();
        let at = self.stocktake_stamp();
        let who = badge.trim().to_string();
        let z2 = zones.clone();
        let done = self
            .db
            .write(move |c| {
                let mut ev = ev;
                if let Some(cy) = store::get_cycle(c, &w.month())? {
                    return refuse(c, ev, "cycle_exists", vec![("cycle", cy.number)]);
                }
                if !z2.is_empty() {
                    let known: Vec<String> = store::zones(c)?.into_iter().map(|(z, _)| z).collect();
                    let unknown: Vec<String> =
                        z2.iter().filter(|z| !known.contains(z)).cloned().collect();
                    if !unknown.is_empty() {
                        return refuse(
                            c,
                            ev,
                            "unknown_zone",
                            vec![("zones", unknown.join(", ")), ("known", known.join(", "))],
                        );
                    }
                }
                let (_, tasks) = store::insert_cycle(c, &new_cycle(w, &tz_name, &z2, &at, &who))?;
                if tasks == 0 {
                    return Err(StorageError::Conflict("no bins to count".into()));
                }
                ev.code = rules::cycle_number(w);
                ev.verdict = "accepted".into();
                ev.detail = json!({ "month": w.month(), "zones": z2, "tasks": tasks });
                Ok(Done::Ok((storage::insert_event(c, &ev)?, tasks)))
            })
            .await;
        let done = match done {
            Err(StorageError::Conflict(_)) => {
                let ev = self.st_event("stocktake_open", badge, "", json!({ "zones": zones }));
                return self.st_refuse_now(ev, "no_bins", vec![], lang).await;
            }
            other => other?,
        };
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok((id, tasks)) => {
                let number = rules::cycle_number(w);
                Ok(Outcome::accepted(
                    "cycle_opened",
                    i18n::tf(
                        lang,
                        "stocktake.opened",
                        &[("cycle", &number), ("tasks", &tasks.to_string())],
                    ),
                    id,
                )
                .with("cycle", &number)
                .with("month", w.month())
                .with("tasks", tasks))
            }
        }
    }

    /// A cycle with its tasks in walk order and its progress, for the manager.
    pub async fn stocktake_cycle(&self, key: &str, lang: Lang) -> Result<Value, ServiceError> {
        let cy = self.st_find_cycle(key, lang).await?;
        let id = cy.id;
        let (tasks, progress, counters) = self
            .db
            .read(move |c| {
                Ok((
                    store::tasks(c, id)?,
                    store::progress(c, id)?,
                    store::counters(c, id)?,
                ))
            })
            .await?;
        let total: i64 = progress.values().sum();
        Ok(json!({
            "cycle": cy,
            "progress": {
                "tasks": total,
                "open": progress.get("open").copied().unwrap_or(0),
                "counting": progress.get("counting").copied().unwrap_or(0),
                "recount": progress.get("recount").copied().unwrap_or(0),
                "counted": progress.get("counted").copied().unwrap_or(0),
            },
            "counters": self.st_counters_json(&counters),
            "tasks": tasks,
            "report_pdf": format!("/api/v1/stocktake/cycles/{}/report.pdf", cy.month),
            "report_xlsx": format!("/api/v1/stocktake/cycles/{}/report.xlsx", cy.month),
        }))
    }

    /// Every cycle, newest first, with its figures (the history).
    pub async fn stocktake_history(&self) -> Result<Vec<store::CycleSummary>, ServiceError> {
        self.stocktake_tick().await?;
        Ok(self.db.read(|c| store::history(c, 120)).await?)
    }

    /// Approved shrinkage per month over the last `months` cycles, oldest first.
    pub async fn stocktake_shrinkage(
        &self,
        months: usize,
    ) -> Result<Vec<MonthShrinkage>, ServiceError> {
        let mut h: Vec<MonthShrinkage> = self
            .stocktake_history()
            .await?
            .into_iter()
            .take(months)
            .map(|s| MonthShrinkage {
                month: s.cycle.month,
                loss_value: s.totals.approved_loss_value,
                gain_value: s.totals.approved_gain_value,
            })
            .collect();
        h.reverse();
        Ok(h)
    }

    // ----- counting ---------------------------------------------------------------------

    /// What a counter sees: the cycle being counted, their task (only what they scanned),
    /// and the tasks still to count in walk order. Never a book quantity.
    pub async fn stocktake_counter(
        &self,
        badge: &str,
        cycle: Option<&str>,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let Some(cy) = self.st_counting_cycle(cycle).await? else {
            return Ok(json!({ "cycle": null, "task": null, "tasks": [],
                              "message": i18n::t(lang, "stocktake.counter.no_cycle") }));
        };
        let badge = badge.trim().to_string();
        let id = cy.id;
        let (mine, tasks) = self
            .db
            .read(move |c| {
                let mine = store::claimed_by(c, id, &badge)?;
                let counted = match &mine {
                    Some(t) => Some(store::counted(c, t)?),
                    None => None,
                };
                let tasks: Vec<Task> = store::tasks(c, id)?
                    .into_iter()
                    .filter(|t| t.status == "open" || t.status == "recount")
                    .collect();
                Ok((mine.map(|t| (t, counted.unwrap_or_default())), tasks))
            })
            .await?;
        let todo: Vec<Value> = tasks
            .iter()
            .map(|t| {
                json!({ "id": t.id, "bin": t.bin, "zone": t.zone, "status": t.status,
                             "round": t.round, "first_counter": t.first_counter })
            })
            .collect();
        Ok(json!({
            "cycle": { "number": cy.number, "month": cy.month, "status": cy.status,
                       "opens": cy.opens, "closes": cy.closes },
            "task": mine.map(|(t, counted)| self.counter_task_json(&t, &counted)),
            "tasks": todo,
        }))
    }

    /// A task as its counter sees it: the location and what they scanned, nothing else.
    fn counter_task_json(&self, t: &Task, counted: &store::Counted) -> Value {
        let catalog = self.catalog();
        let lines: Vec<Value> = counted
            .skus
            .iter()
            .map(|(sku, qty)| {
                let item = catalog.item(sku);
                json!({ "sku": sku, "name": item.map(|i| i.name.as_str()).unwrap_or(""),
                        "option": item.map(|i| i.option.as_str()).unwrap_or(""), "qty": qty })
            })
            .collect();
        let unknown: Vec<Value> = counted
            .unknown
            .iter()
            .map(|(code, n)| json!({ "code": code, "qty": n }))
            .collect();
        json!({
            "id": t.id, "bin": t.bin, "zone": t.zone, "status": t.status, "round": t.round,
            "claimed_by": t.claimed_by, "bin_confirmed": t.bin_confirmed,
            "counted": lines, "unknown": unknown,
            "units": counted.skus.values().sum::<i64>(),
            "last_sku": counted.last_sku,
        })
    }

    /// A counter's view of one task (404 unless it is theirs, so nobody reads another's
    /// count through it).
    pub async fn stocktake_task_view(
        &self,
        task_id: i64,
        badge: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let badge = badge.trim().to_string();
        let found = self
            .db
            .read(move |c| {
                let Some(t) = store::get_task(c, task_id)? else {
                    return Ok(None);
                };
                if t.claimed_by != badge || t.status != "counting" {
                    return Ok(None);
                }
                let counted = store::counted(c, &t)?;
                Ok(Some((t, counted)))
            })
            .await?;
        let (t, counted) = found.ok_or_else(|| {
            ServiceError::NotFound(i18n::tf(
                lang,
                "stocktake.no_task",
                &[("task", &task_id.to_string())],
            ))
        })?;
        Ok(self.counter_task_json(&t, &counted))
    }

    /// A counter takes a task: open, or in recount when someone else made the first count.
    /// A counter holds one task at a time.
    pub async fn stocktake_claim(
        &self,
        task_id: i64,
        badge: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let ev = self.st_event(
            "stocktake_claim",
            badge,
            &task_id.to_string(),
            json!({ "task": task_id }),
        );
        let Some(who) = self.st_operator(badge) else {
            return self.st_refuse_now(ev, "badge_required", vec![], lang).await;
        };
        self.stocktake_tick().await?;
        let at = self.stocktake_stamp();
        let done = self
            .db
            .write(move |c| {
                let Some(t) = store::get_task(c, task_id)? else {
                    return refuse(c, ev, "no_task", vec![("task", task_id.to_string())]);
                };
                claim_in(c, ev, t, &who, &at, false)
            })
            .await?;
        self.claim_answer(done, lang)
    }

    /// Claims the task of a scanned location label in the counting cycle: the counter is
    /// standing at it, so the label counts as scanned too.
    pub async fn stocktake_claim_bin(
        &self,
        code: &str,
        badge: &str,
        cycle: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let bin = codes::normalise(code).code;
        let ev = self.st_event("stocktake_claim", badge, &bin, json!({ "bin": bin }));
        let Some(who) = self.st_operator(badge) else {
            return self.st_refuse_now(ev, "badge_required", vec![], lang).await;
        };
        let Some(cy) = self.st_counting_cycle(cycle).await? else {
            return self.st_refuse_now(ev, "no_cycle", vec![], lang).await;
        };
        let at = self.stocktake_stamp();
        let done = self
            .db
            .write(move |c| {
                let Some(t) = store::task_for_bin(c, cy.id, &bin)? else {
                    return refuse(c, ev, "not_a_location", vec![("code", bin)]);
                };
                claim_in(c, ev, t, &who, &at, true)
            })
            .await?;
        self.claim_answer(done, lang)
    }

    fn claim_answer(&self, done: Done<(i64, Task)>, lang: Lang) -> Result<Outcome, ServiceError> {
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok((id, t)) => {
                let key = if t.bin_confirmed {
                    "stocktake.claimed_here"
                } else {
                    "stocktake.claimed"
                };
                let msg = i18n::tf(lang, key, &[("bin", &t.bin)]);
                let counted = store::Counted::default();
                Ok(Outcome::accepted("claimed", msg, id)
                    .with("task", self.counter_task_json(&t, &counted)))
            }
        }
    }

    /// A scan at a claimed task: its location label first (it must be the task's), then
    /// items, each one unit (or `qty` units, typed for a large quantity; negative takes
    /// units off). A code the catalogue does not know is kept as found. Scanning the
    /// location label again once items are counted submits the count. Every scan is
    /// committed before it is answered.
    pub async fn stocktake_scan(
        &self,
        task_id: i64,
        badge: &str,
        raw: &str,
        qty: Option<i64>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let scanned = codes::normalise(raw);
        let code = scanned.code.clone();
        let ev = self.st_event(
            "stocktake_scan",
            badge,
            &code,
            json!({ "task": task_id, "raw": raw, "qty": qty }),
        );
        if code.is_empty() {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "stocktake.empty_code",
            )));
        }
        if let Some(q) = qty {
            if q == 0 || q.abs() > 100_000 {
                return Err(ServiceError::BadRequest(i18n::tf(
                    lang,
                    "stocktake.bad_qty",
                    &[("qty", &q.to_string())],
                )));
            }
        }
        let who = badge.trim().to_string();
        let sku = self.catalog().sku_for(&scanned).map(str::to_string);
        let at = self.stocktake_stamp();
        let done = self
            .db
            .write(move |c| {
                let Some(t) = store::get_task(c, task_id)? else {
                    return refuse(c, ev, "no_task", vec![("task", task_id.to_string())]);
                };
                if let Some(r) = locked(c, &t)? {
                    return refuse(c, ev, r, vec![]);
                }
                if t.status != "counting" || t.claimed_by != who {
                    return refuse(c, ev, "not_your_task", vec![("bin", t.bin.clone())]);
                }
                let is_bin = code.eq_ignore_ascii_case(&t.bin);
                if !t.bin_confirmed {
                    if !is_bin {
                        return refuse(
                            c,
                            ev,
                            "scan_location_first",
                            vec![("bin", t.bin.clone()), ("code", code.clone())],
                        );
                    }
                    store::confirm_bin(c, t.id)?;
                    let t = store::get_task(c, t.id)?.unwrap_or(t);
                    let counted = store::counted(c, &t)?;
                    return Ok(Done::Ok(("location_confirmed", t, counted)));
                }
                if is_bin {
                    // The label again: the count is done.
                    let counted = store::counted(c, &t)?;
                    return Ok(Done::Ok(("submit", t, counted)));
                }
                let other_bin = sku.is_none() && ledger_db::get_bin(c, &code)?.is_some();
                if other_bin {
                    return refuse(
                        c,
                        ev,
                        "other_location",
                        vec![("bin", t.bin.clone()), ("code", code.clone())],
                    );
                }
                let n = qty.unwrap_or(1);
                let before = store::counted(c, &t)?;
                if let Some(s) = &sku {
                    let have = before.skus.get(s).copied().unwrap_or(0);
                    if have + n < 0 {
                        return refuse(
                            c,
                            ev,
                            "below_zero",
                            vec![("sku", s.clone()), ("have", have.to_string())],
                        );
                    }
                }
                store::insert_scan(
                    c,
                    &store::NewScan {
                        task: &t,
                        at: &at,
                        counter: &who,
                        code: &code,
                        sku: sku.as_deref().unwrap_or(""),
                        qty: n,
                    },
                )?;
                let action = if sku.is_some() { "counted" } else { "found" };
                let counted = store::counted(c, &t)?;
                Ok(Done::Ok((action, t, counted)))
            })
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok(("submit", _, _)) => self.stocktake_submit(task_id, badge, lang).await,
            Done::Ok((action, t, counted)) => {
                let item = |sku: &str| {
                    self.catalog()
                        .item(sku)
                        .map(|i| format!("{} {}", i.name, i.option).trim().to_string())
                        .unwrap_or_default()
                };
                let msg = match action {
                    "location_confirmed" => {
                        i18n::tf(lang, "stocktake.location_ok", &[("bin", &t.bin)])
                    }
                    "found" => i18n::tf(lang, "stocktake.found_unknown", &[("code", raw.trim())]),
                    _ => {
                        let sku = counted.last_sku.clone();
                        i18n::tf(
                            lang,
                            "stocktake.item_counted",
                            &[
                                ("sku", &sku),
                                ("item", &item(&sku)),
                                (
                                    "n",
                                    &counted.skus.get(&sku).copied().unwrap_or(0).to_string(),
                                ),
                            ],
                        )
                    }
                };
                Ok(Outcome::accepted(action, msg, 0)
                    .with("task", self.counter_task_json(&t, &counted)))
            }
        }
    }

    /// Submits the count of a claimed task. Its lines are compared with the ledger as of
    /// now (the newest entry's id, taken in this transaction); a first count with a variance
    /// beyond any threshold puts the location back for a second count by someone else.
    pub async fn stocktake_submit(
        &self,
        task_id: i64,
        badge: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let ev = self.st_event(
            "stocktake_submit",
            badge,
            &task_id.to_string(),
            json!({ "task": task_id }),
        );
        let who = badge.trim().to_string();
        let at = self.stocktake_stamp();
        let thresholds = self.config.stocktake.thresholds();
        let done = self
            .db
            .write(move |c| {
                let mut ev = ev;
                let Some(t) = store::get_task(c, task_id)? else {
                    return refuse(c, ev, "no_task", vec![("task", task_id.to_string())]);
                };
                if let Some(r) = locked(c, &t)? {
                    return refuse(c, ev, r, vec![]);
                }
                if t.status != "counting" || t.claimed_by != who {
                    return refuse(c, ev, "not_your_task", vec![("bin", t.bin.clone())]);
                }
                if !t.bin_confirmed {
                    return refuse(c, ev, "scan_location_first", vec![("bin", t.bin.clone()), ("code", String::new())]);
                }
                let snapshot = ledger_db::last_entry_id(c)?;
                let book = ledger_db::bin_contents_as_of(c, &t.bin, snapshot)?;
                let counted = store::counted(c, &t)?;
                let compared = rules::compare(&book, &counted.skus);
                let skus: Vec<&str> = compared.iter().map(|l| l.sku.as_str()).collect();
                let costs = store::costs(c, &skus)?;
                let first = if t.round == 2 {
                    Some(store::first_count(c, t.id)?)
                } else {
                    None
                };
                let mut beyond = Vec::new();
                if t.round == 1 {
                    for l in &compared {
                        let b = rules::beyond(l.book, l.counted, costs[&l.sku], &thresholds);
                        if !b.is_empty() {
                            beyond.push(json!({ "sku": l.sku, "beyond": b }));
                        }
                    }
                }
                let next = if beyond.is_empty() { "counted" } else { "recount" };
                let status = if next == "recount" { "recount" } else { "pending" };
                let mut lines: Vec<NewLine> = compared
                    .iter()
                    .map(|l| NewLine {
                        sku: l.sku.clone(),
                        code: String::new(),
                        book: l.book,
                        counted: l.counted,
                        first_counted: first
                            .as_ref()
                            .map(|f| f.get(&l.sku).copied().unwrap_or(0)),
                        cost: costs[&l.sku],
                        status,
                    })
                    .collect();
                lines.extend(counted.unknown.iter().filter(|(_, n)| **n > 0).map(|(code, n)| NewLine {
                    sku: String::new(),
                    code: code.clone(),
                    book: 0,
                    counted: *n,
                    first_counted: None,
                    cost: 0,
                    status: "unknown",
                }));
                let recount = json!(beyond);
                store::submit(
                    c,
                    &store::Submission {
                        task: &t,
                        counter: &who,
                        at: &at,
                        snapshot,
                        recount: &recount,
                        lines: &lines,
                        next,
                    },
                )?;
                ev.verdict = "accepted".into();
                ev.reason = next.into();
                ev.detail = json!({ "task": t.id, "bin": t.bin, "round": t.round,
                                    "snapshot": snapshot, "units": counted.skus.values().sum::<i64>(),
                                    "recount": recount });
                let id = storage::insert_event(c, &ev)?;
                Ok(Done::Ok((id, t, next, counted.skus.values().sum::<i64>())))
            })
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok((id, t, next, units)) => {
                let (action, key) = if next == "recount" {
                    ("recount_needed", "stocktake.submitted_recount")
                } else {
                    ("submitted", "stocktake.submitted")
                };
                Ok(Outcome::accepted(
                    action,
                    i18n::tf(lang, key, &[("bin", &t.bin), ("units", &units.to_string())]),
                    id,
                )
                .with("task_id", t.id)
                .with("bin", &t.bin)
                .with("round", t.round))
            }
        }
    }

    /// A counter gives their task back; what they scanned in it no longer counts.
    pub async fn stocktake_release(
        &self,
        task_id: i64,
        badge: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let ev = self.st_event(
            "stocktake_release",
            badge,
            &task_id.to_string(),
            json!({ "task": task_id }),
        );
        let who = badge.trim().to_string();
        let done = self
            .db
            .write(move |c| {
                let mut ev = ev;
                let Some(t) = store::get_task(c, task_id)? else {
                    return refuse(c, ev, "no_task", vec![("task", task_id.to_string())]);
                };
                if let Some(r) = locked(c, &t)? {
                    return refuse(c, ev, r, vec![]);
                }
                if t.status != "counting" || t.claimed_by != who {
                    return refuse(c, ev, "not_your_task", vec![("bin", t.bin.clone())]);
                }
                store::release(c, t.id)?;
                ev.verdict = "accepted".into();
                Ok(Done::Ok((storage::insert_event(c, &ev)?, t.bin)))
            })
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok((id, bin)) => Ok(Outcome::accepted(
                "released",
                i18n::tf(lang, "stocktake.released", &[("bin", &bin)]),
                id,
            )),
        }
    }

    // ----- review, approval, closing ----------------------------------------------------

    /// The variance report: lines by location and SKU (book, counted, variance, value, the
    /// first count where there was a recount), totals and shrinkage, counters and times.
    pub async fn stocktake_report(
        &self,
        key: &str,
        all_lines: bool,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let cy = self.st_find_cycle(key, lang).await?;
        let id = cy.id;
        let (mut lines, totals, counters, progress) = self
            .db
            .read(move |c| {
                Ok((
                    store::report_lines(c, id, !all_lines)?,
                    store::totals(c, id)?,
                    store::counters(c, id)?,
                    store::progress(c, id)?,
                ))
            })
            .await?;
        self.stocktake_names(&mut lines);
        Ok(json!({
            "cycle": cy,
            "totals": totals,
            "net_value": totals.loss_value + totals.gain_value,
            "progress": progress,
            "counters": self.st_counters_json(&counters),
            "lines": lines,
        }))
    }

    /// A manager approves all or some pending lines (by id or by bin); their variances post
    /// to the ledger as `adjustment` entries dated at each count, referring to the cycle.
    pub async fn stocktake_approve(
        &self,
        key: &str,
        badge: &str,
        req: &ApproveRequest,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let cy = self.st_find_cycle(key, lang).await?;
        let ev = self.st_event(
            "stocktake_approve",
            badge,
            &cy.number,
            json!({ "all": req.all, "lines": req.lines, "bins": req.bins }),
        );
        if !self.st_manager(badge) {
            return self
                .st_refuse_now(ev, "manager_required", vec![], lang)
                .await;
        }
        if !req.all && req.lines.is_empty() && req.bins.is_empty() {
            return self
                .st_refuse_now(ev, "nothing_selected", vec![], lang)
                .await;
        }
        let sel = Selection {
            all: req.all,
            lines: req.lines.clone(),
            bins: req.bins.iter().map(|b| b.trim().to_string()).collect(),
        };
        let who = badge.trim().to_string();
        let at = self.stocktake_stamp();
        let reason = variance_reason(&cy.number);
        let cid = cy.id;
        let done = self
            .db
            .write(move |c| {
                let mut ev = ev;
                let Some(cur) = store::cycle_by_id(c, cid)? else {
                    return Err(StorageError::Conflict("cycle vanished".into()));
                };
                if cur.status != "open" {
                    return refuse(c, ev, "cycle_closed", vec![("cycle", cur.number)]);
                }
                let bad = store::unapprovable(c, cid, &sel.lines)?;
                if !bad.is_empty() {
                    let list: Vec<String> = bad.iter().map(|i| i.to_string()).collect();
                    return refuse(c, ev, "lines_not_pending", vec![("lines", list.join(", "))]);
                }
                let a = store::approve(c, &cur, &sel, &who, &at, &reason)?;
                ev.verdict = "accepted".into();
                ev.detail["approved"] = json!(a);
                Ok(Done::Ok((storage::insert_event(c, &ev)?, a)))
            })
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok((id, a)) => Ok(Outcome::accepted(
                "approved",
                i18n::tf(
                    lang,
                    "stocktake.approved",
                    &[
                        ("lines", &a.lines.to_string()),
                        ("entries", &a.entries.to_string()),
                        ("cycle", &cy.number),
                    ],
                ),
                id,
            )
            .with("approved", a)),
        }
    }

    /// A manager closes the cycle: the report (PDF and XLSX) as it stands is archived with
    /// it and the cycle is locked. Locations not counted or lines not approved need a
    /// reason to close anyway (they are then left as they are: nothing posts for them).
    pub async fn stocktake_close(
        &self,
        key: &str,
        badge: &str,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let cy = self.st_find_cycle(key, lang).await?;
        let ev = self.st_event(
            "stocktake_close",
            badge,
            &cy.number,
            json!({ "reason": reason.trim() }),
        );
        if !self.st_manager(badge) {
            return self
                .st_refuse_now(ev, "manager_required", vec![], lang)
                .await;
        }
        if cy.status != "open" {
            let args = vec![("cycle", cy.number.clone())];
            return self.st_refuse_now(ev, "cycle_closed", args, lang).await;
        }
        let id = cy.id;
        let (progress, totals) = self
            .db
            .read(move |c| Ok((store::progress(c, id)?, store::totals(c, id)?)))
            .await?;
        let uncounted: i64 = progress
            .iter()
            .filter(|(s, _)| s.as_str() != "counted")
            .map(|(_, n)| n)
            .sum();
        let unapproved = totals.pending_variances + totals.recount;
        if (uncounted > 0 || unapproved > 0) && reason.trim().is_empty() {
            let args = vec![
                ("uncounted", uncounted.to_string()),
                ("pending", unapproved.to_string()),
            ];
            return self.st_refuse_now(ev, "reason_required", args, lang).await;
        }
        let at = self.stocktake_stamp();
        let (by, at2) = (badge.trim().to_string(), at.clone());
        self.db
            .write(move |c| store::settle_matching_lines(c, id, &by, &at2))
            .await?;
        let mut closing = cy.clone();
        closing.status = "closed".into();
        closing.closed_at = Some(at.clone());
        closing.closed_by = badge.trim().to_string();
        closing.close_reason = reason.trim().to_string();
        let pdf = self.stocktake_render(&closing, lang, true).await?;
        let xlsx = self.stocktake_render(&closing, lang, false).await?;
        let who = badge.trim().to_string();
        let why = reason.trim().to_string();
        let done = self
            .db
            .write(move |c| {
                let mut ev = ev;
                let k = store::Closing {
                    at: &at,
                    by: &who,
                    reason: &why,
                    pdf: &pdf.bytes,
                    xlsx: &xlsx.bytes,
                };
                if !store::close_cycle(c, id, &k)? {
                    return refuse(c, ev, "cycle_closed", vec![("cycle", String::new())]);
                }
                ev.verdict = "accepted".into();
                ev.detail["uncounted"] = json!(uncounted);
                ev.detail["unapproved"] = json!(unapproved);
                Ok(Done::Ok(storage::insert_event(c, &ev)?))
            })
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok(id) => Ok(Outcome::accepted(
                "closed",
                i18n::tf(lang, "stocktake.closed", &[("cycle", &cy.number)]),
                id,
            )
            .with("cycle", &cy.number)
            .with("uncounted", uncounted)
            .with("unapproved", unapproved)
            .with(
                "report_pdf",
                format!("/api/v1/stocktake/cycles/{}/report.pdf", cy.month),
            )
            .with(
                "report_xlsx",
                format!("/api/v1/stocktake/cycles/{}/report.xlsx", cy.month),
            )),
        }
    }

    /// A late correction to a closed cycle: a normal stock adjustment with its reason,
    /// referring to the cycle (the cycle itself stays as it was closed).
    pub async fn stocktake_correct(
        &self,
        key: &str,
        badge: &str,
        k: &Correction,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let cy = self.st_find_cycle(key, lang).await?;
        let ev = self.st_event(
            "stocktake_correction",
            badge,
            &cy.number,
            json!({ "sku": k.sku, "bin": k.bin, "qty": k.qty, "reason": k.reason }),
        );
        if !self.st_manager(badge) {
            return self
                .st_refuse_now(ev, "manager_required", vec![], lang)
                .await;
        }
        if cy.status != "closed" {
            let args = vec![("cycle", cy.number.clone())];
            return self.st_refuse_now(ev, "cycle_not_closed", args, lang).await;
        }
        if k.reason.trim().is_empty() {
            return self
                .st_refuse_now(ev, "correction_reason_required", vec![], lang)
                .await;
        }
        if self.catalog().item(k.sku.trim()).is_none() {
            let args = vec![("sku", k.sku.trim().to_string())];
            return self.st_refuse_now(ev, "unknown_sku", args, lang).await;
        }
        if k.qty == 0 || k.bin.trim().is_empty() {
            return self.st_refuse_now(ev, "bad_correction", vec![], lang).await;
        }
        let at = super::now();
        let who = badge.trim().to_string();
        let k2 = k.clone();
        let done = self
            .db
            .write(move |c| {
                let mut ev = ev;
                let posting = match store::late_correction(
                    c,
                    &cy,
                    k2.sku.trim(),
                    k2.bin.trim(),
                    k2.qty,
                    &who,
                    &at,
                    k2.reason.trim(),
                ) {
                    Ok(p) => p,
                    Err(StorageError::Shortfall(s)) => {
                        return refuse(
                            c,
                            ev,
                            "correction_below_zero",
                            vec![("on_hand", s.on_hand.to_string())],
                        )
                    }
                    Err(e) => return Err(e),
                };
                ev.verdict = "accepted".into();
                ev.detail["posting"] = json!(posting);
                Ok(Done::Ok((storage::insert_event(c, &ev)?, posting)))
            })
            .await?;
        match done {
            Done::No(code, args, id) => Ok(refused(lang, code, &args, id)),
            Done::Ok((id, posting)) => Ok(Outcome::accepted(
                "corrected",
                i18n::tf(
                    lang,
                    "stocktake.corrected",
                    &[
                        ("sku", k.sku.trim()),
                        ("bin", k.bin.trim()),
                        ("qty", &k.qty.to_string()),
                    ],
                ),
                id,
            )
            .with("posting", posting)),
        }
    }

    /// The report as a file: the archived one for a closed cycle, otherwise rendered now.
    pub async fn stocktake_file(
        &self,
        key: &str,
        pdf: bool,
        lang: Lang,
    ) -> Result<ReportFile, ServiceError> {
        let cy = self.st_find_cycle(key, lang).await?;
        if cy.status == "closed" {
            let id = cy.id;
            if let Some(bytes) = self
                .db
                .read(move |c| store::archived_report(c, id, pdf))
                .await?
            {
                return Ok(report_file(&cy, pdf, bytes));
            }
        }
        self.stocktake_render(&cy, lang, pdf).await
    }

    async fn stocktake_render(
        &self,
        cy: &Cycle,
        lang: Lang,
        pdf: bool,
    ) -> Result<ReportFile, ServiceError> {
        let id = cy.id;
        let (lines, totals, counters) = self.stocktake_report_lines(id).await?;
        let counters = self.st_counters_json(&counters);
        if pdf {
            let data = report_data(
                cy,
                &lines,
                &totals,
                &counters,
                lang,
                &self.config.warehouse.name,
            );
            let t = self
                .st_template()
                .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
            let bytes =
                tokio::task::spawn_blocking(move || labels::render(&t, &data, labels::Format::Pdf))
                    .await
                    .map_err(|e| ServiceError::BadRequest(e.to_string()))?
                    .map_err(|e| {
                        ServiceError::BadRequest(i18n::tf(
                            lang,
                            "stocktake.render_failed",
                            &[("error", &e.to_string())],
                        ))
                    })?;
            Ok(report_file(cy, true, bytes))
        } else {
            let cy2 = cy.clone();
            let bytes = tokio::task::spawn_blocking(move || {
                report_xlsx(&cy2, &lines, &totals, &counters, lang)
            })
            .await
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
            Ok(report_file(cy, false, bytes))
        }
    }

    /// Every line of a cycle's report with item names, its totals and its counters: what
    /// the report files are built from (and what the benchmark times).
    pub async fn stocktake_report_lines(
        &self,
        cycle_id: i64,
    ) -> Result<
        (
            Vec<store::ReportLine>,
            store::Totals,
            Vec<(String, i64, String, String)>,
        ),
        ServiceError,
    > {
        let (mut lines, totals, counters) = self
            .db
            .read(move |c| {
                Ok((
                    store::report_lines(c, cycle_id, false)?,
                    store::totals(c, cycle_id)?,
                    store::counters(c, cycle_id)?,
                ))
            })
            .await?;
        self.stocktake_names(&mut lines);
        Ok((lines, totals, counters))
    }

    /// Fills the item names and options of report lines from the catalogue in memory.
    fn stocktake_names(&self, lines: &mut [store::ReportLine]) {
        let catalog = self.catalog();
        for l in lines.iter_mut().filter(|l| !l.sku.is_empty()) {
            if let Some(item) = catalog.item(&l.sku) {
                l.name.clone_from(&item.name);
                l.option.clone_from(&item.option);
            }
        }
    }

    fn st_counters_json(&self, counters: &[(String, i64, String, String)]) -> Value {
        json!(counters
            .iter()
            .map(|(b, n, first, last)| json!({
                "badge": b,
                "name": self.config.operator(b).map(|o| o.name.clone()).unwrap_or_default(),
                "counts": n, "first_at": first, "last_at": last }))
            .collect::<Vec<_>>())
    }

    fn st_template(&self) -> Result<labels::Template, labels::LabelError> {
        let (name, builtin) = REPORT_TEMPLATE;
        if let Some(dir) = self
            .config
            .label_templates
            .as_ref()
            .map(std::path::PathBuf::from)
        {
            if dir.join(name).is_file() {
                return labels::load_template(Some(&dir), name);
            }
        }
        labels::Template::parse(name, builtin)
    }
}

fn new_cycle(w: Window, tz: &str, zones: &[String], at: &str, by: &str) -> NewCycle {
    NewCycle {
        number: rules::cycle_number(w),
        month: w.month(),
        opens: w.opens.to_string(),
        closes: w.closes.to_string(),
        time_zone: tz.into(),
        zones: zones.to_vec(),
        opened_at: at.into(),
        opened_by: by.into(),
    }
}

/// Why nothing may change at a task: its cycle is closed.
fn locked(c: &rusqlite::Connection, t: &Task) -> storage::Result<Option<&'static str>> {
    let cy = store::cycle_by_id(c, t.cycle_id)?;
    Ok(match cy {
        Some(cy) if cy.status == "open" => None,
        _ => Some("cycle_closed"),
    })
}

/// The claim decision, inside the write job.
fn claim_in(
    c: &rusqlite::Connection,
    ev: NewEvent,
    t: Task,
    who: &str,
    at: &str,
    here: bool,
) -> storage::Result<Done<(i64, Task)>> {
    let mut ev = ev;
    if let Some(r) = locked(c, &t)? {
        return refuse(c, ev, r, vec![]);
    }
    if t.status == "counting" && t.claimed_by == who {
        // Already theirs (a second tap, or the label scanned to claim it): keep counting.
        if here && !t.bin_confirmed {
            store::confirm_bin(c, t.id)?;
        }
        let t = store::get_task(c, t.id)?.unwrap_or(t);
        ev.verdict = "accepted".into();
        return Ok(Done::Ok((storage::insert_event(c, &ev)?, t)));
    }
    match t.status.as_str() {
        "counted" => return refuse(c, ev, "already_counted", vec![("bin", t.bin)]),
        "counting" => {
            return refuse(
                c,
                ev,
                "task_claimed",
                vec![("bin", t.bin), ("counter", t.claimed_by)],
            )
        }
        "recount" if t.first_counter == who => {
            return refuse(c, ev, "same_counter", vec![("bin", t.bin)])
        }
        _ => {}
    }
    if let Some(held) = store::claimed_by(c, t.cycle_id, who)? {
        return refuse(c, ev, "holding_task", vec![("bin", held.bin)]);
    }
    store::claim(c, t.id, who, at)?;
    if here {
        store::confirm_bin(c, t.id)?;
    }
    let t = store::get_task(c, t.id)?.unwrap_or(t);
    ev.verdict = "accepted".into();
    ev.detail["bin"] = json!(t.bin);
    ev.detail["round"] = json!(t.round);
    Ok(Done::Ok((storage::insert_event(c, &ev)?, t)))
}

fn report_file(cy: &Cycle, pdf: bool, bytes: Vec<u8>) -> ReportFile {
    ReportFile {
        bytes,
        file_name: format!(
            "stocktake-{}.{}",
            cy.month,
            if pdf { "pdf" } else { "xlsx" }
        ),
        content_type: if pdf {
            "application/pdf"
        } else {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    }
}

/// Minor units with thousands separators (`-12,300`).
pub fn money(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A signed quantity as the report prints it (`+3`, `-2`, `0`).
fn signed(v: i64) -> String {
    if v > 0 {
        format!("+{v}")
    } else {
        v.to_string()
    }
}

/// The data the report template is filled from: the variance lines (and unknown codes),
/// totals, counters, words in the report's language.
fn report_data(
    cy: &Cycle,
    lines: &[store::ReportLine],
    totals: &store::Totals,
    counters: &Value,
    lang: Lang,
    warehouse: &str,
) -> Value {
    let w = |k: &str| i18n::t(lang, &format!("stocktake.pdf.{k}"));
    let rows: Vec<Value> = lines
        .iter()
        .filter(|l| l.variance != 0 || l.sku.is_empty())
        .map(|l| {
            let status = i18n::t(lang, &format!("stocktake.line_status.{}", l.status));
            let counted = match l.first_counted {
                Some(f) => format!("{f} → {}", l.counted),
                None => l.counted.to_string(),
            };
            json!({
                "bin": l.bin,
                "sku": if l.sku.is_empty() { format!("? {}", l.code) } else { l.sku.clone() },
                "item": format!("{} {}", l.name, l.option).trim().to_string(),
                "book": l.book,
                "counted": counted,
                "variance": signed(l.variance),
                "value": money(l.value),
                "counter": if l.first_counter.is_empty() || l.first_counter == l.counter {
                    l.counter.clone()
                } else {
                    format!("{} / {}", l.first_counter, l.counter)
                },
                "status": status,
            })
        })
        .collect();
    let counters: Vec<String> = counters
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} ({}) {}",
                c["name"].as_str().unwrap_or(""),
                c["badge"].as_str().unwrap_or(""),
                c["counts"]
            )
        })
        .collect();
    json!({
        "cycle": cy.number,
        "warehouse": warehouse,
        "window": format!("{} ~ {} ({})", cy.opens, cy.closes, cy.time_zone),
        "status": i18n::t(lang, &format!("stocktake.status.{}", cy.status)),
        "closed": cy.closed_at.clone().map(|at| format!("{at} {}", cy.closed_by)).unwrap_or_default(),
        "zones": if cy.zones.is_empty() { w("all_zones") } else { cy.zones.join(", ") },
        "counters": counters.join(", "),
        "lines": rows,
        "totals": {
            "lines": totals.lines,
            "variance_lines": totals.variance_lines,
            "loss": format!("{} / {}", signed(totals.loss_units), money(totals.loss_value)),
            "gain": format!("{} / {}", signed(totals.gain_units), money(totals.gain_value)),
            "net": format!("{} / {}", signed(totals.loss_units + totals.gain_units),
                           money(totals.loss_value + totals.gain_value)),
            "approved": format!("{} / {}", money(totals.approved_loss_value), money(totals.approved_gain_value)),
        },
        "t": {
            "title": w("title"), "window": w("window"), "zones": w("zones"), "status": w("status"),
            "bin": w("bin"), "sku": w("sku"), "item": w("item"), "book": w("book"),
            "counted": w("counted"), "variance": w("variance"), "value": w("value"),
            "counter": w("counter"), "line_status": w("line_status"), "loss": w("loss"),
            "gain": w("gain"), "net": w("net"), "approved": w("approved"),
            "counters": w("counters"), "lines": w("lines"), "closed": w("closed"),
            "signoff": w("signoff"), "no_variance": w("no_variance"),
        },
    })
}

/// The report as a workbook: every line (numbers as numbers, text cells that a spreadsheet
/// would run as a formula kept as text), and a summary sheet.
fn report_xlsx(
    cy: &Cycle,
    lines: &[store::ReportLine],
    totals: &store::Totals,
    counters: &Value,
    lang: Lang,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use crate::exports::dispatch::looks_like_formula;
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let quoted = Format::new().set_num_format("@").set_quote_prefix();
    let h = |k: &str| i18n::t(lang, &format!("stocktake.col.{k}"));
    let ws = wb.add_worksheet();
    ws.set_name(i18n::t(lang, "stocktake.sheet.lines"))?;
    let cols = [
        "bin",
        "zone",
        "sku",
        "code",
        "name",
        "option",
        "book",
        "first_counted",
        "counted",
        "variance",
        "cost",
        "value",
        "counter",
        "first_counter",
        "counted_at",
        "status",
        "approved_by",
    ];
    for (i, k) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h(k), &bold)?;
    }
    for (r, l) in lines.iter().enumerate() {
        let row = r as u32 + 1;
        let texts = [
            (0u16, &l.bin),
            (1, &l.zone),
            (2, &l.sku),
            (3, &l.code),
            (4, &l.name),
            (5, &l.option),
            (12, &l.counter),
            (13, &l.first_counter),
            (14, &l.counted_at),
            (16, &l.approved_by),
        ];
        for (col, v) in texts {
            let f = if looks_like_formula(v) {
                &quoted
            } else {
                &text
            };
            ws.write_string_with_format(row, col, v, f)?;
        }
        ws.write_number(row, 6, l.book as f64)?;
        if let Some(f) = l.first_counted {
            ws.write_number(row, 7, f as f64)?;
        }
        ws.write_number(row, 8, l.counted as f64)?;
        ws.write_number(row, 9, l.variance as f64)?;
        ws.write_number(row, 10, l.cost as f64)?;
        ws.write_number(row, 11, l.value as f64)?;
        ws.write_string(
            row,
            15,
            i18n::t(lang, &format!("stocktake.line_status.{}", l.status)),
        )?;
    }
    let s = wb.add_worksheet();
    s.set_name(i18n::t(lang, "stocktake.sheet.summary"))?;
    let rows: Vec<(String, String)> = vec![
        (h("cycle"), cy.number.clone()),
        (
            h("window"),
            format!("{} ~ {} ({})", cy.opens, cy.closes, cy.time_zone),
        ),
        (
            h("status"),
            i18n::t(lang, &format!("stocktake.status.{}", cy.status)),
        ),
        (h("closed_at"), cy.closed_at.clone().unwrap_or_default()),
        (h("closed_by"), cy.closed_by.clone()),
        (h("close_reason"), cy.close_reason.clone()),
    ];
    let mut r = 0u32;
    for (k, v) in rows {
        s.write_string_with_format(r, 0, k, &bold)?;
        let f = if looks_like_formula(&v) {
            &quoted
        } else {
            &text
        };
        s.write_string_with_format(r, 1, v, f)?;
        r += 1;
    }
    let nums = [
        ("lines", totals.lines),
        ("variance_lines", totals.variance_lines),
        ("loss_units", totals.loss_units),
        ("gain_units", totals.gain_units),
        ("loss_value", totals.loss_value),
        ("gain_value", totals.gain_value),
        ("net_value", totals.loss_value + totals.gain_value),
        ("approved_loss_value", totals.approved_loss_value),
        ("approved_gain_value", totals.approved_gain_value),
    ];
    for (k, v) in nums {
        s.write_string_with_format(r, 0, h(k), &bold)?;
        s.write_number(r, 1, v as f64)?;
        r += 1;
    }
    r += 1;
    for c in counters.as_array().into_iter().flatten() {
        let name = format!(
            "{} ({})",
            c["name"].as_str().unwrap_or(""),
            c["badge"].as_str().unwrap_or("")
        );
        let f = if looks_like_formula(&name) {
            &quoted
        } else {
            &text
        };
        s.write_string_with_format(r, 0, name, f)?;
        s.write_number(r, 1, c["counts"].as_f64().unwrap_or(0.0))?;
        s.write_string(r, 2, c["first_at"].as_str().unwrap_or(""))?;
        s.write_string(r, 3, c["last_at"].as_str().unwrap_or(""))?;
        r += 1;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_cycle() -> Cycle {
        Cycle {
            id: 1,
            number: "ST-2026-11".into(),
            month: "2026-11".into(),
            opens: "2026-11-28".into(),
            closes: "2026-11-30".into(),
            time_zone: "Asia/Seoul".into(),
            status: "closed".into(),
            zones: vec!["A".into()],
            opened_at: "2026-11-27T15:00:00Z".into(),
            opened_by: SYSTEM.into(),
            closed_at: Some("2026-11-30T09:00:00Z".into()),
            closed_by: "B-MGR-01".into(),
            close_reason: String::new(),
        }
    }

    fn sample_line(i: i64, variance: i64, sku: &str) -> store::ReportLine {
        store::ReportLine {
            id: i,
            task_id: i,
            bin: format!("A-01-{i:02}"),
            zone: "A".into(),
            sku: sku.into(),
            code: if sku.is_empty() {
                "LOOSE-1".into()
            } else {
                String::new()
            },
            name: "반팔 티셔츠 男士中筒袜".into(),
            option: "화이트 / L".into(),
            book: 10,
            counted: 10 + variance,
            variance,
            first_counted: (i % 3 == 0).then_some(4),
            cost: 4500,
            value: variance * 4500,
            counted_at: "2026-11-28T01:00:00Z".into(),
            snapshot: 7,
            counter: "B-COUNT-02".into(),
            first_counter: "B-COUNT-01".into(),
            status: "approved".into(),
            approved_by: "B-MGR-01".into(),
            approved_at: None,
        }
    }

    /// The built-in report template lays out and renders with many lines (over pages), with
    /// an unknown code, and with no variance at all, in every language.
    #[test]
    fn the_report_template_renders_a_pdf_in_every_language() {
        let t = labels::Template::parse(REPORT_TEMPLATE.0, REPORT_TEMPLATE.1).expect("template");
        let mut lines: Vec<store::ReportLine> = (1..=60)
            .map(|i| sample_line(i, (i % 5) - 2, "TS-WH-L"))
            .collect();
        lines.push(sample_line(61, 1, ""));
        let totals = store::Totals {
            lines: 61,
            variance_lines: 49,
            loss_units: -36,
            gain_units: 25,
            ..Default::default()
        };
        let counters = json!([{ "badge": "B-COUNT-01", "name": "이실사", "counts": 3 }]);
        for lang in Lang::ALL {
            let data = report_data(&sample_cycle(), &lines, &totals, &counters, lang, "창고");
            assert_eq!(
                data["lines"].as_array().unwrap().len(),
                49,
                "zero-variance lines left out"
            );
            let pages = labels::layout_pages(&t, &data, 203).expect("lays out");
            assert!(pages.len() >= 2, "60 lines continue on a second page");
            let pdf = labels::render(&t, &data, labels::Format::Pdf).expect("renders");
            assert!(pdf.starts_with(b"%PDF"));
            let none = report_data(&sample_cycle(), &[], &totals, &counters, lang, "창고");
            labels::render(&t, &none, labels::Format::Pdf).expect("renders without lines");
        }
        let xlsx = report_xlsx(&sample_cycle(), &lines, &totals, &counters, Lang::Ko).unwrap();
        assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip");
    }

    #[test]
    fn money_and_signs_print_like_the_report() {
        assert_eq!(money(0), "0");
        assert_eq!(money(-12300), "-12,300");
        assert_eq!(money(1234567), "1,234,567");
        assert_eq!(signed(3), "+3");
        assert_eq!(signed(-2), "-2");
        assert_eq!(signed(0), "0");
    }

    #[test]
    fn the_window_of_a_date_or_of_today() {
        let now: Timestamp = "2026-11-27T15:00:00Z".parse().unwrap();
        let w = window_of("Asia/Seoul", None, now).unwrap();
        assert_eq!(
            window_json(w, "Asia/Seoul"),
            json!({"opens": "2026-11-28", "closes": "2026-11-30", "time_zone": "Asia/Seoul"})
        );
        let w = window_of("Asia/Seoul", Some("2028-02-29"), now).unwrap();
        assert_eq!(w.closes.to_string(), "2028-02-29");
        assert!(window_of("Asia/Seoul", Some("2026-02-30"), now).is_err());
        assert!(window_of("Mars/Base", None, now).is_err());
        assert_eq!(
            window_line(w, "Asia/Seoul"),
            r#"{"opens":"2028-02-28","closes":"2028-02-29","time_zone":"Asia/Seoul"}"#
        );
    }
}
