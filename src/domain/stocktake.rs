//! The monthly stocktake's rules (DESIGN.md workflow 7; seed 002 库存管理 9: 盘点每月进行一次,
//! 盘点日期为28日至31日). The count window is the 28th through the month's last day, both
//! inclusive, in the warehouse's time zone; a cycle opens itself at 00:00 local on the 28th,
//! a manager is reminded a few days before, and a cycle not closed when its window has ended
//! is overdue. Counts are blind and compared with the ledger as of the moment each location
//! was counted; a variance beyond any threshold (units, percent, value) asks for a second
//! count by another counter. Time and the zone are passed in: nothing here reads a clock.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::Serialize;

/// One month's count window: `opens` (the 28th) through `closes` (the month's last day),
/// both inclusive local dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window {
    pub opens: Date,
    pub closes: Date,
}

/// The day of the month a window opens on.
pub const OPENING_DAY: i8 = 28;

impl Window {
    /// The window of the month `date` is in.
    pub fn of_month(date: Date) -> Window {
        let first = date.first_of_month();
        Window {
            opens: first
                .with()
                .day(OPENING_DAY)
                .build()
                .expect("every month has a 28th"),
            closes: first.last_of_month(),
        }
    }

    /// The window of the following month.
    pub fn next(self) -> Window {
        Window::of_month(self.closes.tomorrow().expect("a date after the window"))
    }

    /// The window of the previous month.
    pub fn previous(self) -> Window {
        Window::of_month(
            self.opens
                .first_of_month()
                .yesterday()
                .expect("a date before"),
        )
    }

    /// `YYYY-MM`: the month the window belongs to (the cycle's key).
    pub fn month(self) -> String {
        format!("{:04}-{:02}", self.opens.year(), self.opens.month())
    }

    /// Parses `YYYY-MM` back into its window.
    pub fn parse_month(s: &str) -> Option<Window> {
        let (y, m) = s.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let d = Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()?;
        Some(Window::of_month(d))
    }

    pub fn contains(self, date: Date) -> bool {
        self.opens <= date && date <= self.closes
    }

    /// The first instant of the window: 00:00 local on the 28th.
    pub fn opens_at(self, tz: &TimeZone) -> Timestamp {
        start_of(self.opens, tz)
    }

    /// The first instant after the window: 00:00 local on the day after its last day.
    pub fn ends_at(self, tz: &TimeZone) -> Timestamp {
        start_of(self.closes.tomorrow().expect("a day after"), tz)
    }

    /// The first local day the manager is reminded on (`days` before the window opens).
    pub fn reminder_from(self, days: u32) -> Date {
        self.opens
            .checked_sub((days.min(27) as i64).days())
            .unwrap_or(self.opens)
    }
}

/// 00:00 local of `date` (the first instant of the day where a transition skips midnight).
fn start_of(date: Date, tz: &TimeZone) -> Timestamp {
    date.to_zoned(tz.clone())
        .and_then(|z| z.start_of_day())
        .map(|z| z.timestamp())
        .unwrap_or_else(|_| date.to_zoned(TimeZone::UTC).expect("UTC").timestamp())
}

/// The window that `date` falls in, or the next one after it. Every date before the 28th
/// precedes its own month's window, so this is always the window of the date's month.
pub fn window_for(date: Date) -> Window {
    Window::of_month(date)
}

/// The warehouse's local date at an instant.
pub fn local_date(now: Timestamp, tz: &TimeZone) -> Date {
    now.to_zoned(tz.clone()).date()
}

/// Whether a count window is open at the instant (00:00 local on the 28th opens it, even
/// while UTC is still on the 27th; 00:00 local on the next month's 1st closes it).
pub fn is_open_at(now: Timestamp, tz: &TimeZone) -> bool {
    let w = window_for(local_date(now, tz));
    w.opens_at(tz) <= now && now < w.ends_at(tz)
}

/// The window open at the instant, if any.
pub fn open_window_at(now: Timestamp, tz: &TimeZone) -> Option<Window> {
    is_open_at(now, tz).then(|| window_for(local_date(now, tz)))
}

/// The most recent window that has opened by `now` (this month's from the 28th, otherwise
/// last month's).
pub fn last_opened(now: Timestamp, tz: &TimeZone) -> Window {
    let w = window_for(local_date(now, tz));
    if w.opens_at(tz) <= now {
        w
    } else {
        w.previous()
    }
}

/// The windows whose cycles should exist at `now` but do not: every window that opened on
/// or after `since` (the day the stocktake calendar started on this server) and by `now`,
/// without a cycle in `existing` (months `YYYY-MM`), oldest first. A server that was down
/// over the 28th opens the missed cycle when it comes back (overdue if the window has
/// passed), so no cycle is ever skipped; a new installation does not invent past ones.
pub fn due_windows(now: Timestamp, tz: &TimeZone, since: Date, existing: &[String]) -> Vec<Window> {
    let mut out = Vec::new();
    let mut w = last_opened(now, tz);
    // At most two years back: a server that was off for longer starts over.
    for _ in 0..24 {
        if w.opens < window_for(since).opens {
            break;
        }
        if !existing.contains(&w.month()) {
            out.push(w);
        }
        w = w.previous();
    }
    out.reverse();
    out
}

/// When a manager may open a cycle by hand: during its window (if it has not opened yet),
/// or early, from the first reminder day until the window opens. Returns that window.
pub fn openable_window(now: Timestamp, tz: &TimeZone, reminder_days: u32) -> Option<Window> {
    if let Some(w) = open_window_at(now, tz) {
        return Some(w);
    }
    let w = window_for(local_date(now, tz));
    let from = start_of(w.reminder_from(reminder_days), tz);
    (from <= now && now < w.opens_at(tz)).then_some(w)
}

/// A cycle as the calendar sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleFact {
    pub month: String,
    pub closed: bool,
}

/// What a manager should be told about the stocktake, wherever they look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alert {
    /// A cycle's window has ended and it is not closed.
    Overdue { month: String, closes: Date },
    /// A cycle is open and its window runs until `closes`.
    Open { month: String, closes: Date },
    /// The window opens in `days` days (0 = the window is open but its cycle is not yet).
    Reminder {
        month: String,
        opens: Date,
        days: i64,
    },
    /// Nothing to say.
    None,
}

impl Alert {
    pub fn kind(&self) -> &'static str {
        match self {
            Alert::Overdue { .. } => "overdue",
            Alert::Open { .. } => "open",
            Alert::Reminder { .. } => "reminder",
            Alert::None => "none",
        }
    }
}

/// The alert at `now`: an overdue cycle first (the oldest), then an open one, then the
/// reminder for the coming window from `reminder_days` before it opens.
pub fn alert(now: Timestamp, tz: &TimeZone, reminder_days: u32, cycles: &[CycleFact]) -> Alert {
    let mut overdue: Vec<Window> = cycles
        .iter()
        .filter(|c| !c.closed)
        .filter_map(|c| Window::parse_month(&c.month))
        .filter(|w| w.ends_at(tz) <= now)
        .collect();
    overdue.sort();
    if let Some(w) = overdue.first() {
        return Alert::Overdue {
            month: w.month(),
            closes: w.closes,
        };
    }
    let open = cycles
        .iter()
        .filter(|c| !c.closed)
        .filter_map(|c| Window::parse_month(&c.month))
        .min();
    if let Some(w) = open {
        return Alert::Open {
            month: w.month(),
            closes: w.closes,
        };
    }
    let today = local_date(now, tz);
    let w = window_for(today);
    let done = cycles.iter().any(|c| c.month == w.month());
    if done || now >= w.ends_at(tz) {
        return Alert::None;
    }
    if today >= w.reminder_from(reminder_days) {
        let days = (w.opens - today).get_days().max(0) as i64;
        return Alert::Reminder {
            month: w.month(),
            opens: w.opens,
            days,
        };
    }
    Alert::None
}

/// When a variance asks for a second count: beyond any of these (strictly more than).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// Units, either way.
    pub units: i64,
    /// Percent of the book quantity (only where the book is above zero).
    pub percent: f64,
    /// Value in minor units (units × cost), either way.
    pub value: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            units: 2,
            percent: 10.0,
            value: 50_000,
        }
    }
}

/// Why a line needs a recount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Beyond {
    Units,
    Percent,
    Value,
}

/// Counted − book: positive is a gain (more found than the ledger says), negative a loss.
pub fn variance(book: i64, counted: i64) -> i64 {
    counted - book
}

/// The thresholds a line's variance goes beyond (empty: no recount needed for it).
pub fn beyond(book: i64, counted: i64, cost: i64, t: &Thresholds) -> Vec<Beyond> {
    let v = variance(book, counted);
    if v == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if v.abs() > t.units {
        out.push(Beyond::Units);
    }
    if book > 0 && (v.abs() as f64) * 100.0 > t.percent * book as f64 {
        out.push(Beyond::Percent);
    }
    if v.abs().saturating_mul(cost.max(0)) > t.value {
        out.push(Beyond::Value);
    }
    out
}

/// One SKU of a counted location: what the ledger held at the count's moment and what was
/// counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountLine {
    pub sku: String,
    pub book: i64,
    pub counted: i64,
}

/// The lines of a counted location: every SKU the ledger held there or the counter found,
/// by SKU (a SKU at zero on both sides is left out).
pub fn compare(
    book: &std::collections::BTreeMap<String, i64>,
    counted: &std::collections::BTreeMap<String, i64>,
) -> Vec<CountLine> {
    let mut skus: Vec<&String> = book.keys().chain(counted.keys()).collect();
    skus.sort();
    skus.dedup();
    skus.into_iter()
        .map(|sku| CountLine {
            sku: sku.clone(),
            book: book.get(sku).copied().unwrap_or(0),
            counted: counted.get(sku).copied().unwrap_or(0),
        })
        .filter(|l| l.book != 0 || l.counted != 0)
        .collect()
}

/// Which count of a location counts: the second one when there is one (a recount is asked
/// for because the first looked wrong, and it is made by another counter with the first
/// result out of sight), otherwise the first.
pub fn final_round(rounds_submitted: i64) -> i64 {
    rounds_submitted.clamp(1, 2)
}

/// A quantity typed before an item scan on the counter page (`x24`, `*24`, `×24`, `-x3`
/// style corrections as `x-3`): the units the next scan counts.
pub fn typed_quantity(s: &str) -> Option<i64> {
    let t = s.trim();
    let rest = t
        .strip_prefix(['x', 'X', '*', '×'])
        .or_else(|| t.strip_prefix("×"))?;
    let n: i64 = rest.trim().parse().ok()?;
    (n != 0 && n.abs() <= 100_000).then_some(n)
}

/// Shrinkage totals over variance lines `(variance, cost)`: loss and gain in units and in
/// value (minor units); loss figures are negative or zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Shrinkage {
    pub loss_units: i64,
    pub gain_units: i64,
    pub loss_value: i64,
    pub gain_value: i64,
}

impl Shrinkage {
    pub fn add(&mut self, variance: i64, cost: i64) {
        if variance < 0 {
            self.loss_units += variance;
            self.loss_value += variance * cost;
        } else {
            self.gain_units += variance;
            self.gain_value += variance * cost;
        }
    }

    pub fn net_value(&self) -> i64 {
        self.loss_value + self.gain_value
    }

    pub fn net_units(&self) -> i64 {
        self.loss_units + self.gain_units
    }
}

/// The cycle's number as printed: `ST-YYYY-MM`.
pub fn cycle_number(w: Window) -> String {
    format!("ST-{}", w.month())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn seoul() -> TimeZone {
        TimeZone::get("Asia/Seoul").unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn last_day(y: i16, m: i8) -> i8 {
        match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            _ => 28,
        }
    }

    /// Every month of 2023 to 2029 and of 2100 (not a leap year) and 2000 (a leap year): the
    /// window is the 28th to the last day, every day of the month maps to its own window,
    /// and the day after the window belongs to the next month's.
    #[test]
    fn every_month_of_several_years_has_its_window_from_the_28th_to_the_last_day() {
        let mut years: Vec<i16> = (2023..=2029).collect();
        years.extend([2000, 2100]);
        for y in years {
            for m in 1..=12i8 {
                let last = last_day(y, m);
                let want = Window {
                    opens: date(y, m, 28),
                    closes: date(y, m, last),
                };
                for d in 1..=last {
                    let w = window_for(date(y, m, d));
                    assert_eq!(w, want, "{y}-{m}-{d}");
                    assert_eq!(w.contains(date(y, m, d)), d >= 28, "{y}-{m}-{d}");
                }
                let after = date(y, m, last).tomorrow().unwrap();
                assert_eq!(window_for(after), want.next(), "{y}-{m} + 1 day");
                assert!(!want.contains(after));
                assert_eq!(want.next().previous(), want);
                assert_eq!(Window::parse_month(&want.month()), Some(want));
            }
        }
        assert_eq!(window_for(date(2028, 2, 10)).closes, date(2028, 2, 29));
        assert_eq!(window_for(date(2027, 2, 28)).closes, date(2027, 2, 28));
        assert_eq!(window_for(date(2100, 2, 1)).closes, date(2100, 2, 28));
        assert_eq!(window_for(date(2000, 2, 1)).closes, date(2000, 2, 29));
        assert_eq!(Window::parse_month("2026-13"), None);
        assert_eq!(Window::parse_month("26-1"), None);
    }

    #[test]
    fn the_window_opens_at_local_midnight_while_utc_is_still_the_27th() {
        let tz = seoul();
        // 23:59 local on the 27th is 14:59 UTC on the 27th: not yet.
        assert!(!is_open_at(ts("2026-11-27T14:59:59Z"), &tz));
        // 00:00 local on the 28th is 15:00 UTC on the 27th: open.
        assert!(is_open_at(ts("2026-11-27T15:00:00Z"), &tz));
        assert_eq!(
            open_window_at(ts("2026-11-27T15:00:00Z"), &tz)
                .unwrap()
                .opens,
            date(2026, 11, 28)
        );
        // The last day runs until 23:59:59 local; 00:00 local on the 1st (15:00 UTC on the
        // 30th) has closed it.
        assert!(is_open_at(ts("2026-11-30T14:59:59Z"), &tz));
        assert!(!is_open_at(ts("2026-11-30T15:00:00Z"), &tz));
        // February of a leap year: the 28th and the 29th.
        assert!(is_open_at(ts("2028-02-28T14:59:59Z"), &tz));
        assert!(!is_open_at(ts("2028-02-29T15:00:00Z"), &tz));
        // In UTC itself the same instants fall on the other side.
        assert!(!is_open_at(ts("2026-11-27T15:00:00Z"), &TimeZone::UTC));
        assert!(is_open_at(ts("2026-11-30T15:00:00Z"), &TimeZone::UTC));
        // A zone west of UTC: local midnight on the 28th is already the 28th in UTC.
        let ny = TimeZone::get("America/New_York").unwrap();
        assert!(!is_open_at(ts("2026-11-28T04:59:59Z"), &ny));
        assert!(is_open_at(ts("2026-11-28T05:00:00Z"), &ny));
        assert!(is_open_at(ts("2026-12-01T04:59:59Z"), &ny));
        assert!(!is_open_at(ts("2026-12-01T05:00:00Z"), &ny));
    }

    #[test]
    fn window_for_an_instant_uses_the_local_date() {
        let tz = seoul();
        let at = |s: &str| window_for(local_date(ts(s), &tz));
        // UTC 27th 15:00 is the local 28th.
        assert_eq!(at("2026-11-27T15:00:00Z").opens, date(2026, 11, 28));
        // UTC 30th 15:00 is the local 1st of December: the next window.
        assert_eq!(at("2026-11-30T15:00:00Z").opens, date(2026, 12, 28));
        assert_eq!(
            last_opened(ts("2026-11-27T14:59:00Z"), &tz).month(),
            "2026-10"
        );
        assert_eq!(
            last_opened(ts("2026-11-27T15:00:00Z"), &tz).month(),
            "2026-11"
        );
    }

    #[test]
    fn missed_cycles_are_opened_from_the_day_the_calendar_started() {
        let tz = seoul();
        let since = date(2026, 11, 23);
        // A new installation on the 23rd: October's window is before it.
        assert!(due_windows(ts("2026-11-23T03:00:00Z"), &tz, since, &[]).is_empty());
        let now = ts("2026-11-28T00:30:00Z");
        let due = due_windows(now, &tz, since, &[]);
        assert_eq!(
            due.iter().map(|w| w.month()).collect::<Vec<_>>(),
            ["2026-11"]
        );
        assert!(due_windows(now, &tz, since, &["2026-11".into()]).is_empty());
        // Down from the 27th of November to the 2nd of January: both missed cycles open.
        let due = due_windows(ts("2027-01-02T00:00:00Z"), &tz, since, &[]);
        assert_eq!(
            due.iter().map(|w| w.month()).collect::<Vec<_>>(),
            ["2026-11", "2026-12"]
        );
        // The calendar started inside a window: that window counts.
        let due = due_windows(ts("2026-11-29T00:00:00Z"), &tz, date(2026, 11, 29), &[]);
        assert_eq!(due.len(), 1);
    }

    #[test]
    fn reminder_open_and_overdue_alerts() {
        let tz = seoul();
        let none: Vec<CycleFact> = vec![];
        // 3 days before: the 25th local.
        assert_eq!(
            alert(ts("2026-11-24T14:59:00Z"), &tz, 3, &none),
            Alert::None
        );
        assert_eq!(
            alert(ts("2026-11-24T15:00:00Z"), &tz, 3, &none),
            Alert::Reminder {
                month: "2026-11".into(),
                opens: date(2026, 11, 28),
                days: 3
            }
        );
        assert_eq!(
            alert(ts("2026-11-27T14:00:00Z"), &tz, 3, &none).kind(),
            "reminder"
        );
        let open = vec![CycleFact {
            month: "2026-11".into(),
            closed: false,
        }];
        assert_eq!(
            alert(ts("2026-11-28T01:00:00Z"), &tz, 3, &open),
            Alert::Open {
                month: "2026-11".into(),
                closes: date(2026, 11, 30)
            }
        );
        // Opened early (during the reminder days): shown as open.
        assert_eq!(
            alert(ts("2026-11-26T01:00:00Z"), &tz, 3, &open).kind(),
            "open"
        );
        // Past the window's end (00:00 local on the 1st) and not closed: overdue.
        assert_eq!(
            alert(ts("2026-11-30T14:59:00Z"), &tz, 3, &open).kind(),
            "open"
        );
        assert_eq!(
            alert(ts("2026-11-30T15:00:00Z"), &tz, 3, &open),
            Alert::Overdue {
                month: "2026-11".into(),
                closes: date(2026, 11, 30)
            }
        );
        let closed = vec![CycleFact {
            month: "2026-11".into(),
            closed: true,
        }];
        assert_eq!(
            alert(ts("2026-11-29T01:00:00Z"), &tz, 3, &closed),
            Alert::None
        );
        assert_eq!(
            alert(ts("2026-12-05T01:00:00Z"), &tz, 3, &closed),
            Alert::None
        );
        // Reminder of 0 days: only on the opening day itself (window open, cycle not yet).
        assert_eq!(
            alert(ts("2026-11-26T01:00:00Z"), &tz, 0, &none),
            Alert::None
        );
    }

    #[test]
    fn a_manager_may_open_early_from_the_reminder_or_within_the_window() {
        let tz = seoul();
        assert_eq!(openable_window(ts("2026-11-23T03:00:00Z"), &tz, 3), None);
        assert_eq!(
            openable_window(ts("2026-11-25T03:00:00Z"), &tz, 3).map(|w| w.month()),
            Some("2026-11".into())
        );
        assert!(openable_window(ts("2026-11-29T03:00:00Z"), &tz, 3).is_some());
        assert_eq!(openable_window(ts("2026-12-01T03:00:00Z"), &tz, 3), None);
    }

    #[test]
    fn recounts_are_asked_beyond_any_threshold() {
        let t = Thresholds {
            units: 2,
            percent: 10.0,
            value: 50_000,
        };
        assert!(beyond(10, 10, 1000, &t).is_empty());
        assert!(beyond(100, 98, 1000, &t).is_empty(), "2 units, 2 %, 2,000");
        assert_eq!(beyond(100, 97, 1000, &t), [Beyond::Units]);
        assert_eq!(beyond(10, 8, 1000, &t), [Beyond::Percent]);
        assert_eq!(beyond(100, 99, 60_000, &t), [Beyond::Value]);
        assert_eq!(
            beyond(5, 0, 30_000, &t),
            [Beyond::Units, Beyond::Percent, Beyond::Value]
        );
        // Found where the ledger has none: percent does not apply, units and value do.
        assert!(beyond(0, 2, 1000, &t).is_empty());
        assert_eq!(beyond(0, 3, 1000, &t), [Beyond::Units]);
        assert_eq!(final_round(1), 1);
        assert_eq!(final_round(2), 2);
    }

    #[test]
    fn typed_quantities_and_shrinkage() {
        assert_eq!(typed_quantity("x24"), Some(24));
        assert_eq!(typed_quantity("*3"), Some(3));
        assert_eq!(typed_quantity("×12"), Some(12));
        assert_eq!(typed_quantity("x-2"), Some(-2));
        assert_eq!(typed_quantity("x0"), None);
        assert_eq!(typed_quantity("8801234567893"), None);
        assert_eq!(typed_quantity("xyz"), None);
        let mut s = Shrinkage::default();
        s.add(-3, 1000);
        s.add(2, 500);
        s.add(-1, 200);
        assert_eq!(
            s,
            Shrinkage {
                loss_units: -4,
                gain_units: 2,
                loss_value: -3200,
                gain_value: 1000
            }
        );
        assert_eq!(s.net_value(), -2200);
        assert_eq!(s.net_units(), -2);
        assert_eq!(cycle_number(window_for(date(2026, 2, 3))), "ST-2026-02");
        let book = [("A".to_string(), 5), ("B".to_string(), 0)].into();
        let counted = [("A".to_string(), 4), ("C".to_string(), 2)].into();
        let l = compare(&book, &counted);
        assert_eq!(
            l.iter()
                .map(|l| (l.sku.as_str(), l.book, l.counted))
                .collect::<Vec<_>>(),
            [("A", 5, 4), ("C", 0, 2)]
        );
    }
}
