//! Waves and picking (DESIGN.md §2; seed 004 仓储物流配送 "配货": pick against the printed
//! list, check the goods, then pack). A wave is a batch of ready orders picked together: the
//! pick list consolidates every unit per SKU per bin in the order a picker walks the bins,
//! and each order gets a slip for sorting at the bench. The plan is made here from plain
//! values: which orders qualify, where each unit comes from, which orders are short (they are
//! held: the yellow flag of seed 002) and whether a scan at a bin is the right item.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::ledger::walk_key;

/// How the orders of a wave are chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "criterion", content = "value", rename_all = "snake_case")]
pub enum Criterion {
    /// Orders paid before today's cut-off (they ship today).
    Cutoff,
    /// Orders of one sales channel (smartstore, taobao, ...).
    Channel(String),
    /// Orders of one courier (an order without one goes with the warehouse's default).
    Courier(String),
    /// The evening batch: everything ready that is not yet in a wave.
    Evening,
    /// Exactly these orders (each must be ready, not held and in no open wave).
    Orders(Vec<String>),
}

impl Criterion {
    /// Parses the criterion of a request: `cutoff`, `channel` + value, `courier` + value,
    /// `evening`, or `orders` + the list.
    pub fn parse(kind: &str, value: &str, orders: &[String]) -> Result<Criterion, Refusal> {
        let value = value.trim();
        let need = |v: &str| {
            if v.is_empty() {
                Err(Refusal::CriterionNeedsValue {
                    criterion: kind.to_string(),
                })
            } else {
                Ok(v.to_string())
            }
        };
        match kind.trim() {
            "cutoff" => Ok(Criterion::Cutoff),
            "channel" => Ok(Criterion::Channel(need(value)?)),
            "courier" => Ok(Criterion::Courier(need(value)?)),
            "evening" => Ok(Criterion::Evening),
            "orders" if orders.is_empty() => Err(Refusal::CriterionNeedsValue {
                criterion: kind.to_string(),
            }),
            "orders" => Ok(Criterion::Orders(
                orders.iter().map(|o| o.trim().to_string()).collect(),
            )),
            other => Err(Refusal::UnknownCriterion {
                criterion: other.to_string(),
            }),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Criterion::Cutoff => "cutoff",
            Criterion::Channel(_) => "channel",
            Criterion::Courier(_) => "courier",
            Criterion::Evening => "evening",
            Criterion::Orders(_) => "orders",
        }
    }

    /// The channel or courier (the orders joined by commas for a list).
    pub fn value(&self) -> String {
        match self {
            Criterion::Channel(v) | Criterion::Courier(v) => v.clone(),
            Criterion::Orders(v) => v.join(","),
            Criterion::Cutoff | Criterion::Evening => String::new(),
        }
    }
}

/// A ready order that may go into a wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub order_no: String,
    pub channel: String,
    /// The order's courier ('' = the warehouse's default).
    pub courier: String,
    /// UTC, RFC 3339.
    pub paid_at: String,
    pub lines: Vec<(String, i64)>,
}

/// What a criterion needs to know about the moment and the warehouse.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    /// Today's cut-off as a UTC RFC 3339 instant (orders paid at or before it ship today).
    pub cutoff_utc: &'a str,
    pub default_courier: &'a str,
}

/// Whether a candidate qualifies for the criterion (orders already in an open wave, held or
/// not ready never reach this: the caller lists only free ready orders).
pub fn selects(c: &Criterion, o: &Candidate, s: &Selection) -> bool {
    match c {
        Criterion::Cutoff => paid_before(&o.paid_at, s.cutoff_utc),
        Criterion::Channel(ch) => o.channel.eq_ignore_ascii_case(ch),
        Criterion::Courier(code) => {
            let courier = if o.courier.is_empty() {
                s.default_courier
            } else {
                &o.courier
            };
            courier.eq_ignore_ascii_case(code)
        }
        Criterion::Evening => true,
        Criterion::Orders(list) => list.iter().any(|n| n == &o.order_no),
    }
}

fn paid_before(paid_at: &str, cutoff: &str) -> bool {
    match (
        paid_at.parse::<jiff::Timestamp>(),
        cutoff.parse::<jiff::Timestamp>(),
    ) {
        (Ok(p), Ok(c)) => p <= c,
        _ => false,
    }
}

/// Today's cut-off as an instant: the local date of `now` in `tz` at `minutes` after midnight.
pub fn cutoff_instant(
    now: jiff::Timestamp,
    tz: &jiff::tz::TimeZone,
    minutes: i64,
) -> jiff::Timestamp {
    let local = now.to_zoned(tz.clone());
    let at = local
        .date()
        .at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
    at.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .unwrap_or(now)
}

/// Where a SKU can be picked from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkuStock {
    /// The ledger knows the SKU: its sellable bins in walk order, each with the units still
    /// free (on hand less what open waves are yet to pick there).
    Tracked(Vec<BinFree>),
    /// The ledger has no stock recorded for the SKU: pick at the catalog's location.
    Untracked { location: String, walk_seq: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinFree {
    pub bin: String,
    pub walk_seq: i64,
    pub free: i64,
}

/// One line of the pick list: `qty` units of `sku` at `bin`, for these orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPick {
    pub bin: String,
    pub walk_seq: i64,
    pub sku: String,
    pub qty: i64,
    pub tracked: bool,
    /// (order, units) in the order picked units are assigned to them.
    pub allocations: Vec<(String, i64)>,
}

/// An order that cannot be picked in full: it is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Short {
    pub order_no: String,
    pub sku: String,
    pub needed: i64,
    pub available: i64,
}

/// A wave's plan: the pick lines in walk order, the orders in it (slip order) and the held.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub picks: Vec<PlannedPick>,
    pub included: Vec<String>,
    pub held: Vec<Short>,
}

/// Allocates each candidate's units (first paid, first served) to bins in walk order, taking
/// from the first bin with free units; an order that cannot be had in full is held and takes
/// nothing. SKUs the ledger does not track are picked at their catalog location unchecked.
pub fn plan(candidates: &[Candidate], stock: &HashMap<String, SkuStock>) -> Plan {
    let mut order: Vec<&Candidate> = candidates.iter().collect();
    order.sort_by(|a, b| (&a.paid_at, &a.order_no).cmp(&(&b.paid_at, &b.order_no)));
    // Units still free per (sku, bin index).
    let mut free: HashMap<&str, Vec<i64>> = stock
        .iter()
        .filter_map(|(sku, s)| match s {
            SkuStock::Tracked(bins) => Some((sku.as_str(), bins.iter().map(|b| b.free).collect())),
            SkuStock::Untracked { .. } => None,
        })
        .collect();
    // (sku, bin index or usize::MAX for the catalog location) -> allocations.
    let mut lines: BTreeMap<(&str, usize), Vec<(String, i64)>> = BTreeMap::new();
    let mut out = Plan::default();
    for o in order {
        let mut need: BTreeMap<&str, i64> = BTreeMap::new();
        for (sku, qty) in &o.lines {
            *need.entry(sku.as_str()).or_default() += qty;
        }
        let mut takes: Vec<((&str, usize), i64)> = Vec::new();
        let mut short = None;
        for (&sku, &qty) in &need {
            match stock.get(sku) {
                Some(SkuStock::Tracked(_)) => {
                    let bins = free.get(sku).map(Vec::as_slice).unwrap_or(&[]);
                    let available: i64 = bins.iter().map(|f| (*f).max(0)).sum();
                    if available < qty {
                        short = Some(Short {
                            order_no: o.order_no.clone(),
                            sku: sku.to_string(),
                            needed: qty,
                            available,
                        });
                        break;
                    }
                    let mut left = qty;
                    for (i, f) in bins.iter().enumerate() {
                        if left == 0 {
                            break;
                        }
                        let take = left.min((*f).max(0));
                        if take > 0 {
                            takes.push(((sku, i), take));
                            left -= take;
                        }
                    }
                }
                Some(SkuStock::Untracked { .. }) | None => takes.push(((sku, usize::MAX), qty)),
            }
        }
        if let Some(s) = short {
            out.held.push(s);
            continue;
        }
        for ((sku, i), take) in takes {
            if i != usize::MAX {
                if let Some(f) = free.get_mut(sku).and_then(|v| v.get_mut(i)) {
                    *f -= take;
                }
            }
            lines
                .entry((sku, i))
                .or_default()
                .push((o.order_no.clone(), take));
        }
        out.included.push(o.order_no.clone());
    }
    for ((sku, i), allocations) in lines {
        let (bin, walk_seq, tracked) = match stock.get(sku) {
            Some(SkuStock::Tracked(bins)) => {
                let b = &bins[i];
                (b.bin.clone(), b.walk_seq, true)
            }
            Some(SkuStock::Untracked { location, walk_seq }) => {
                (location.clone(), *walk_seq, false)
            }
            None => (String::new(), 0, false),
        };
        out.picks.push(PlannedPick {
            bin,
            walk_seq,
            sku: sku.to_string(),
            qty: allocations.iter().map(|(_, q)| q).sum(),
            tracked,
            allocations,
        });
    }
    out.picks
        .sort_by_cached_key(|p| (walk_key(p.walk_seq, &p.bin), p.sku.clone()));
    out
}

/// A pick line as the picker works it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickLine {
    pub id: i64,
    pub bin: String,
    pub sku: String,
    pub qty: i64,
    pub picked: i64,
    pub short: i64,
}

impl PickLine {
    /// Units still to pick.
    pub fn open(&self) -> i64 {
        (self.qty - self.picked - self.short).max(0)
    }
}

/// Why a wave action or a pick scan is refused. `code()` is the stable API code; the message
/// is `waves.refusal.<code>` with `args()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Refusal {
    UnknownCriterion {
        criterion: String,
    },
    CriterionNeedsValue {
        criterion: String,
    },
    /// No ready order matches (all held, in a wave, packed, or none of that kind).
    NoOrders,
    /// An order named for the wave is already in an open wave.
    OrderInOpenWave {
        order_no: String,
        wave: String,
    },
    /// An order named for the wave is not ready (packed, being packed, cancelled, unknown).
    OrderNotReady {
        order_no: String,
        status: String,
    },
    /// An order named for the wave is held (yellow flag).
    OrderHeld {
        order_no: String,
    },
    ManagerRequired,
    /// Picking needs a signed-in picker (an operator's badge).
    PickerRequired,
    WaveClosed {
        wave: String,
    },
    /// An item was scanned before any bin.
    ScanBinFirst,
    /// A bin code with nothing to pick in this wave.
    NothingAtBin {
        bin: String,
    },
    UnknownCode {
        code: String,
    },
    /// The item is to be picked, but at another bin.
    WrongBin {
        sku: String,
        bin: String,
        expected: String,
    },
    /// The item is not on this wave's pick list at all.
    WrongItem {
        sku: String,
        bin: String,
    },
    /// Every unit of the item at this bin is picked already.
    OverPick {
        sku: String,
        bin: String,
        qty: i64,
    },
    /// The ledger holds fewer units at the bin than the scan would take.
    LedgerShort {
        sku: String,
        bin: String,
    },
    /// A cancel of an order that a bench has open or that has shipped.
    CannotCancel {
        order_no: String,
        status: String,
    },
    ReasonRequired,
    NothingToPutBack {
        order_no: String,
    },
    /// A release of an order that is not on hold (no yellow flag).
    NotOnHold {
        order_no: String,
    },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownCriterion { .. } => "unknown_criterion",
            Refusal::CriterionNeedsValue { .. } => "criterion_needs_value",
            Refusal::NoOrders => "no_orders",
            Refusal::OrderInOpenWave { .. } => "order_in_open_wave",
            Refusal::OrderNotReady { .. } => "order_not_ready",
            Refusal::OrderHeld { .. } => "order_on_hold",
            Refusal::ManagerRequired => "manager_required",
            Refusal::PickerRequired => "picker_required",
            Refusal::WaveClosed { .. } => "wave_closed",
            Refusal::ScanBinFirst => "scan_bin_first",
            Refusal::NothingAtBin { .. } => "nothing_at_bin",
            Refusal::UnknownCode { .. } => "unknown_code",
            Refusal::WrongBin { .. } => "wrong_bin",
            Refusal::WrongItem { .. } => "wrong_item",
            Refusal::OverPick { .. } => "over_pick",
            Refusal::LedgerShort { .. } => "ledger_short",
            Refusal::CannotCancel { .. } => "cannot_cancel",
            Refusal::ReasonRequired => "reason_required",
            Refusal::NothingToPutBack { .. } => "nothing_to_put_back",
            Refusal::NotOnHold { .. } => "not_on_hold",
        }
    }

    /// Placeholder values for `waves.refusal.<code>`.
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            Refusal::UnknownCriterion { criterion }
            | Refusal::CriterionNeedsValue { criterion } => {
                vec![("criterion", criterion.clone())]
            }
            Refusal::OrderInOpenWave { order_no, wave } => {
                vec![("order_no", order_no.clone()), ("wave", wave.clone())]
            }
            Refusal::OrderNotReady { order_no, status }
            | Refusal::CannotCancel { order_no, status } => {
                vec![("order_no", order_no.clone()), ("status", status.clone())]
            }
            Refusal::OrderHeld { order_no }
            | Refusal::NothingToPutBack { order_no }
            | Refusal::NotOnHold { order_no } => {
                vec![("order_no", order_no.clone())]
            }
            Refusal::WaveClosed { wave } => vec![("wave", wave.clone())],
            Refusal::NothingAtBin { bin } => vec![("bin", bin.clone())],
            Refusal::UnknownCode { code } => vec![("code", code.clone())],
            Refusal::WrongBin { sku, bin, expected } => vec![
                ("sku", sku.clone()),
                ("bin", bin.clone()),
                ("expected", expected.clone()),
            ],
            Refusal::WrongItem { sku, bin } | Refusal::LedgerShort { sku, bin } => {
                vec![("sku", sku.clone()), ("bin", bin.clone())]
            }
            Refusal::OverPick { sku, bin, qty } => vec![
                ("sku", sku.clone()),
                ("bin", bin.clone()),
                ("qty", qty.to_string()),
            ],
            Refusal::NoOrders
            | Refusal::ManagerRequired
            | Refusal::PickerRequired
            | Refusal::ScanBinFirst
            | Refusal::ReasonRequired => vec![],
        }
    }
}

/// Which line an item scanned at `bin` counts on, or why it is refused. `sku` is `None` when
/// the code is no catalog item.
pub fn check_pick(lines: &[PickLine], bin: &str, sku: &str) -> Result<i64, Refusal> {
    let same_bin = |l: &&PickLine| l.bin.eq_ignore_ascii_case(bin);
    if !lines.iter().any(|l| same_bin(&l)) {
        return Err(Refusal::NothingAtBin { bin: bin.into() });
    }
    let mine: Vec<&PickLine> = lines.iter().filter(|l| l.sku == sku).collect();
    if mine.is_empty() {
        return Err(Refusal::WrongItem {
            sku: sku.into(),
            bin: bin.into(),
        });
    }
    if let Some(l) = mine.iter().find(|l| same_bin(l) && l.open() > 0) {
        return Ok(l.id);
    }
    let elsewhere: Vec<&str> = mine
        .iter()
        .filter(|l| !same_bin(l) && l.open() > 0)
        .map(|l| l.bin.as_str())
        .collect();
    if !elsewhere.is_empty() {
        return Err(Refusal::WrongBin {
            sku: sku.into(),
            bin: bin.into(),
            expected: elsewhere.join(", "),
        });
    }
    if let Some(l) = mine.iter().find(|l| same_bin(l)) {
        return Err(Refusal::OverPick {
            sku: sku.into(),
            bin: bin.into(),
            qty: l.qty,
        });
    }
    Err(Refusal::WrongItem {
        sku: sku.into(),
        bin: bin.into(),
    })
}

/// A pick line's allocation to one order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub order_no: String,
    pub qty: i64,
    pub picked: i64,
}

/// The order a newly picked unit is for: the first allocation not yet complete.
pub fn assign_unit(allocs: &[Allocation]) -> Option<usize> {
    allocs.iter().position(|a| a.picked < a.qty)
}

/// The orders a shortage leaves short: every allocation of the line not yet picked in full
/// (picked units were assigned in allocation order, so these are the last ones).
pub fn short_orders(allocs: &[Allocation]) -> Vec<String> {
    allocs
        .iter()
        .filter(|a| a.picked < a.qty)
        .map(|a| a.order_no.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(no: &str, paid: &str, lines: &[(&str, i64)]) -> Candidate {
        Candidate {
            order_no: no.into(),
            channel: "smartstore".into(),
            courier: String::new(),
            paid_at: paid.into(),
            lines: lines.iter().map(|(s, q)| (s.to_string(), *q)).collect(),
        }
    }

    fn tracked(bins: &[(&str, i64, i64)]) -> SkuStock {
        SkuStock::Tracked(
            bins.iter()
                .map(|(b, seq, free)| BinFree {
                    bin: b.to_string(),
                    walk_seq: *seq,
                    free: *free,
                })
                .collect(),
        )
    }

    #[test]
    fn first_paid_first_served_and_the_short_order_is_held_whole() {
        let stock = HashMap::from([
            ("S1".to_string(), tracked(&[("A-2", 0, 2), ("A-10", 0, 1)])),
            ("S2".to_string(), tracked(&[("B-1", 0, 5)])),
        ]);
        let orders = [
            cand("O3", "2026-11-23T03:00:00Z", &[("S1", 1), ("S2", 1)]),
            cand("O1", "2026-11-23T01:00:00Z", &[("S1", 2)]),
            cand("O2", "2026-11-23T02:00:00Z", &[("S2", 1), ("S1", 2)]),
        ];
        let p = plan(&orders, &stock);
        assert_eq!(p.included, ["O1", "O3"]);
        assert_eq!(
            p.held,
            [Short {
                order_no: "O2".into(),
                sku: "S1".into(),
                needed: 2,
                available: 1
            }]
        );
        let lines: Vec<(&str, &str, i64)> = p
            .picks
            .iter()
            .map(|l| (l.bin.as_str(), l.sku.as_str(), l.qty))
            .collect();
        // Walk order: A-2 before A-10 (numbers compared as numbers), then B-1.
        assert_eq!(
            lines,
            [("A-2", "S1", 2), ("A-10", "S1", 1), ("B-1", "S2", 1)]
        );
        assert_eq!(p.picks[0].allocations, [("O1".to_string(), 2)]);
        assert_eq!(p.picks[1].allocations, [("O3".to_string(), 1)]);
    }

    #[test]
    fn untracked_skus_are_picked_at_the_catalog_location_and_walk_seq_leads() {
        let stock = HashMap::from([
            (
                "S1".to_string(),
                SkuStock::Untracked {
                    location: "Z-1".into(),
                    walk_seq: 1,
                },
            ),
            ("S2".to_string(), tracked(&[("A-1", 0, 1)])),
        ]);
        let p = plan(
            &[cand("O1", "2026-11-23T01:00:00Z", &[("S2", 1), ("S1", 7)])],
            &stock,
        );
        assert!(p.held.is_empty());
        assert_eq!(
            p.picks[0].bin, "Z-1",
            "an explicit walk sequence comes first"
        );
        assert!(!p.picks[0].tracked);
        assert_eq!(p.picks[0].qty, 7);
        assert_eq!(p.picks[1].bin, "A-1");
    }

    #[test]
    fn criteria_select_their_orders() {
        let s = Selection {
            cutoff_utc: "2026-11-23T07:00:00Z",
            default_courier: "lotte",
        };
        let mut o = cand("O1", "2026-11-23T06:59:00Z", &[("S1", 1)]);
        assert!(selects(&Criterion::Cutoff, &o, &s));
        assert!(selects(&Criterion::Courier("LOTTE".into()), &o, &s));
        assert!(!selects(&Criterion::Courier("cj".into()), &o, &s));
        assert!(selects(&Criterion::Channel("smartstore".into()), &o, &s));
        o.paid_at = "2026-11-23T07:01:00Z".into();
        o.courier = "cj".into();
        assert!(!selects(&Criterion::Cutoff, &o, &s));
        assert!(selects(&Criterion::Courier("cj".into()), &o, &s));
        assert!(selects(&Criterion::Evening, &o, &s));
        assert_eq!(
            Criterion::parse("channel", " ", &[]),
            Err(Refusal::CriterionNeedsValue {
                criterion: "channel".into()
            })
        );
        assert_eq!(
            Criterion::parse("weekly", "", &[]).unwrap_err().code(),
            "unknown_criterion"
        );
    }

    #[test]
    fn cutoff_is_today_in_the_warehouse_time_zone() {
        let tz = jiff::tz::TimeZone::get("Asia/Seoul").unwrap();
        let now: jiff::Timestamp = "2026-11-23T08:26:00Z".parse().unwrap();
        assert_eq!(
            cutoff_instant(now, &tz, 16 * 60).to_string(),
            "2026-11-23T07:00:00Z"
        );
        // 23:30 UTC is already the next day in Seoul.
        let late: jiff::Timestamp = "2026-11-23T23:30:00Z".parse().unwrap();
        assert_eq!(
            cutoff_instant(late, &tz, 16 * 60).to_string(),
            "2026-11-24T07:00:00Z"
        );
    }

    fn line(id: i64, bin: &str, sku: &str, qty: i64, picked: i64) -> PickLine {
        PickLine {
            id,
            bin: bin.into(),
            sku: sku.into(),
            qty,
            picked,
            short: 0,
        }
    }

    #[test]
    fn a_scan_counts_only_the_right_item_at_the_right_bin() {
        let lines = [
            line(1, "A-1", "S1", 2, 0),
            line(2, "B-1", "S2", 1, 0),
            line(3, "C-1", "S1", 1, 1),
        ];
        assert_eq!(check_pick(&lines, "a-1", "S1"), Ok(1));
        assert_eq!(
            check_pick(&lines, "B-1", "S1").unwrap_err().code(),
            "wrong_bin"
        );
        assert_eq!(
            check_pick(&lines, "A-1", "S9").unwrap_err().code(),
            "wrong_item"
        );
        assert_eq!(
            check_pick(&lines, "C-1", "S1").unwrap_err().code(),
            "wrong_bin"
        );
        assert_eq!(
            check_pick(&lines, "Q-9", "S1").unwrap_err().code(),
            "nothing_at_bin"
        );
        let done = [line(1, "A-1", "S1", 2, 2)];
        assert_eq!(
            check_pick(&done, "A-1", "S1").unwrap_err().code(),
            "over_pick"
        );
    }

    #[test]
    fn picked_units_fill_orders_in_turn_and_a_shortage_holds_the_rest() {
        let mut a = vec![
            Allocation {
                order_no: "O1".into(),
                qty: 2,
                picked: 0,
            },
            Allocation {
                order_no: "O2".into(),
                qty: 1,
                picked: 0,
            },
        ];
        for _ in 0..2 {
            let i = assign_unit(&a).unwrap();
            a[i].picked += 1;
        }
        assert_eq!(short_orders(&a), ["O2"]);
        a[1].picked = 1;
        assert_eq!(assign_unit(&a), None);
        assert!(short_orders(&a).is_empty());
    }
}
