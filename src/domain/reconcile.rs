//! The monthly courier bill against our archive and the contract's rate card (택배 정산 /
//! 运费对账). Every bill line is matched to the parcel we shipped under its waybill and priced
//! from the card with our own measurement; what does not add up becomes a finding with the
//! amount to claim back. Plain Rust over data the caller loaded: no database, no clock.
//!
//! The checks on one line, in order, stop at the first that applies: an adjustment line is
//! taken as billed; a waybill we never shipped with this courier is `unknown_waybill`; a
//! voided one `void_charged`; the same charge again (in this bill, or in a month accepted
//! before) `duplicate_charge`; the charge of a parcel with an open claim, or lost or
//! undeliverable, `claim_deduction`; then the price: a billed class or weight above ours
//! beyond the card's tolerance is `weight_overcharge` (expected: the price of our class or
//! weight), otherwise a price that is not the card's for what was billed is `rate_mismatch`.
//! Parcels handed over in the month that the bill does not mention are `not_billed`
//! (informational), and a stated total that is not the sum of the lines `total_mismatch`.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::ratecard::{card_for, Charge, Minor, Parcel, RateCard};
use super::Grams;

/// What a bill line charges for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChargeKind {
    Delivery,
    Return,
    /// A second delivery attempt (재배송 / 再派), priced by the card's re-delivery price.
    Redelivery,
    Surcharge,
    Adjustment,
}

impl ChargeKind {
    pub fn parse(s: &str) -> Option<ChargeKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "delivery" => Some(ChargeKind::Delivery),
            "return" => Some(ChargeKind::Return),
            "redelivery" => Some(ChargeKind::Redelivery),
            "surcharge" => Some(ChargeKind::Surcharge),
            "adjustment" => Some(ChargeKind::Adjustment),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChargeKind::Delivery => "delivery",
            ChargeKind::Return => "return",
            ChargeKind::Redelivery => "redelivery",
            ChargeKind::Surcharge => "surcharge",
            ChargeKind::Adjustment => "adjustment",
        }
    }
}

/// One charge on the courier's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    /// The line in the file (sheet row for a workbook), as the courier's staff will look it up.
    pub line: usize,
    pub waybill: String,
    /// Local date `YYYY-MM-DD` (may be empty when the statement has no date column).
    pub ship_date: String,
    pub billed_weight_g: Option<Grams>,
    pub size_class: String,
    pub zone: String,
    pub amount: Minor,
    pub kind: ChargeKind,
}

/// A courier's statement as read from its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bill {
    pub lines: Vec<BillLine>,
    /// The statement's own total and the line it is on, when it states one.
    pub stated_total: Option<(usize, Minor)>,
}

impl Bill {
    pub fn sum_of_lines(&self) -> Minor {
        self.lines.iter().map(|l| l.amount).sum()
    }
}

/// What became of a parcel, as the archive says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParcelState {
    Shipped,
    Void,
    Returned,
    Lost,
    Damaged,
    Undeliverable,
}

impl ParcelState {
    pub fn parse(s: &str) -> Option<ParcelState> {
        let s = s.trim();
        let lower;
        let s = if s.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = s.to_ascii_lowercase();
            lower.as_str()
        } else {
            s
        };
        match s {
            "shipped" => Some(ParcelState::Shipped),
            "void" => Some(ParcelState::Void),
            "returned" => Some(ParcelState::Returned),
            "lost" => Some(ParcelState::Lost),
            "damaged" => Some(ParcelState::Damaged),
            "undeliverable" => Some(ParcelState::Undeliverable),
            _ => None,
        }
    }
}

/// A parcel of ours with this courier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archived {
    pub waybill: String,
    pub state: ParcelState,
    pub parcel: Parcel,
    /// The local date it was handed to the courier, if it was.
    pub handed_over: Option<Date>,
}

/// A claim against the courier still open, whose amount is to be deducted from its bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenClaim {
    pub waybill: String,
    /// lost | damaged | short | wrong_item | undeliverable
    pub kind: String,
    /// Claimed (or accepted) and not yet paid.
    pub outstanding: Minor,
}

/// The finding categories, stable (tests and users depend on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    UnknownWaybill,
    DuplicateCharge,
    WeightOvercharge,
    RateMismatch,
    VoidCharged,
    ClaimDeduction,
    NotBilled,
    TotalMismatch,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::UnknownWaybill,
        Category::DuplicateCharge,
        Category::WeightOvercharge,
        Category::RateMismatch,
        Category::VoidCharged,
        Category::ClaimDeduction,
        Category::NotBilled,
        Category::TotalMismatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::UnknownWaybill => "unknown_waybill",
            Category::DuplicateCharge => "duplicate_charge",
            Category::WeightOvercharge => "weight_overcharge",
            Category::RateMismatch => "rate_mismatch",
            Category::VoidCharged => "void_charged",
            Category::ClaimDeduction => "claim_deduction",
            Category::NotBilled => "not_billed",
            Category::TotalMismatch => "total_mismatch",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One thing in the bill that does not add up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub category: Category,
    pub waybill: String,
    /// The bill's line, or None for a parcel the bill does not mention.
    pub bill_line: Option<usize>,
    pub billed: Minor,
    pub expected: Minor,
    /// The amount to claim back (0 for informational findings).
    pub dispute: Minor,
}

/// The reconciliation of one courier's month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub courier: String,
    pub month: String,
    pub bill_lines: usize,
    pub stated_total: Option<Minor>,
    pub sum_of_lines: Minor,
    pub expected_total: Minor,
    pub disputed_total: Minor,
    pub findings: Vec<Finding>,
}

/// Why a bill cannot be reconciled at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReconcileError {
    #[error("no rate card for courier `{courier}` covers {date} (bill line {line})")]
    NoCard {
        courier: String,
        date: String,
        line: usize,
    },
}

/// Everything one reconciliation looks at.
pub struct Input<'a> {
    pub courier: &'a str,
    /// `YYYY-MM`.
    pub month: &'a str,
    pub bill: &'a Bill,
    /// Our parcels with this courier (all months: a bill may charge an old waybill).
    pub archive: &'a [Archived],
    pub cards: &'a [RateCard],
    /// Charges already billed in months accepted before: (waybill, kind).
    pub earlier: &'a [(String, ChargeKind)],
    pub claims: &'a [OpenClaim],
}

/// A small fast hasher for the big waybill maps (FxHash's multiply-rotate): the keys come from
/// our own files, so there is no adversary to defend against, and SipHash would be most of
/// the matching time.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;

fn kind_charge(k: ChargeKind) -> Charge {
    match k {
        ChargeKind::Return => Charge::Return,
        ChargeKind::Redelivery => Charge::Redelivery,
        _ => Charge::Delivery,
    }
}

/// The price the card gives a parcel of ours for a charge (with the postcode surcharge when
/// the bill does not list it on a line of its own). None when the card cannot price it.
fn our_price(card: &RateCard, p: &Parcel, charge: Charge, surcharge: Minor) -> Option<Minor> {
    if card.is_size_weight() {
        let class = card.class_of(p, 0)?;
        Some(card.class_price(class, charge)? + surcharge)
    } else {
        let zone = card.zone_index("", &p.postcode)?;
        Some(card.weight_price(zone, card.chargeable_g(p), charge)? + surcharge)
    }
}

/// What one priced line comes to: a finding or the amount the card agrees with.
enum Priced {
    Fine,
    Finding(Category, Minor),
}

fn price_line(card: &RateCard, l: &BillLine, a: &Archived, surcharge: Minor) -> Priced {
    let p = &a.parcel;
    let charge = kind_charge(l.kind);
    let ours = card.chargeable_g(p);
    if card.is_size_weight() {
        let billed_class = if l.size_class.trim().is_empty() {
            l.billed_weight_g.and_then(|g| card.class_for_weight(g))
        } else {
            card.class_index(&l.size_class)
        };
        let tolerant = card.class_of(p, card.tolerance.of(ours));
        let exact = card.class_of(p, 0);
        if let (Some(b), Some(t), Some(e)) = (billed_class, tolerant, exact) {
            if b > t {
                let expected = card.class_price(e, charge).unwrap_or(0) + surcharge;
                return Priced::Finding(Category::WeightOvercharge, expected);
            }
        }
        // Priced at the class billed (or ours when the bill names none we know).
        let Some(class) = billed_class.or(exact) else {
            return Priced::Finding(Category::RateMismatch, 0);
        };
        let expected = card.class_price(class, charge).unwrap_or(0) + surcharge;
        if expected == l.amount {
            Priced::Fine
        } else {
            Priced::Finding(Category::RateMismatch, expected)
        }
    } else {
        let Some(zone) = card.zone_index(&l.zone, &p.postcode) else {
            return Priced::Finding(Category::RateMismatch, 0);
        };
        let billed_g = l.billed_weight_g.unwrap_or(ours);
        if billed_g > ours + card.tolerance.of(ours) {
            let expected = card.weight_price(zone, ours, charge).unwrap_or(0) + surcharge;
            return Priced::Finding(Category::WeightOvercharge, expected);
        }
        let expected = card.weight_price(zone, billed_g, charge).unwrap_or(0) + surcharge;
        if expected == l.amount {
            Priced::Fine
        } else {
            Priced::Finding(Category::RateMismatch, expected)
        }
    }
}

/// The first day of a `YYYY-MM` month, for lines without a date.
fn month_day(month: &str) -> String {
    format!("{month}-01")
}

/// Reconciles one bill (see the module comment for the rules).
pub fn reconcile(input: &Input<'_>) -> Result<Report, ReconcileError> {
    let bill = input.bill;
    let mut index: HashMap<&str, usize, FxBuild> =
        HashMap::with_capacity_and_hasher(input.archive.len(), FxBuild::default());
    for (i, a) in input.archive.iter().enumerate() {
        index.insert(a.waybill.as_str(), i);
    }
    let earlier: HashSet<(&str, ChargeKind), FxBuild> = input
        .earlier
        .iter()
        .map(|(w, k)| (w.as_str(), *k))
        .collect();
    let claims: HashMap<&str, &OpenClaim, FxBuild> = input
        .claims
        .iter()
        .map(|c| (c.waybill.as_str(), c))
        .collect();
    // Waybills whose surcharge the bill lists on a line of its own: their delivery line is
    // priced without it.
    let separate_surcharge: HashSet<&str, FxBuild> = bill
        .lines
        .iter()
        .filter(|l| l.kind == ChargeKind::Surcharge)
        .map(|l| l.waybill.as_str())
        .collect();
    let default_day = month_day(input.month);
    let card_on = |l: &BillLine| -> Result<&RateCard, ReconcileError> {
        let day = if l.ship_date.is_empty() {
            default_day.as_str()
        } else {
            l.ship_date.as_str()
        };
        card_for(input.cards, input.courier, day).ok_or_else(|| ReconcileError::NoCard {
            courier: input.courier.to_string(),
            date: day.to_string(),
            line: l.line,
        })
    };

    let mut findings = Vec::new();
    // Per parcel of the archive: whether the bill mentions it, and which kinds of charge it
    // has had (bits by kind), so a million lines need no second and third hash table.
    let mut billed = vec![false; input.archive.len()];
    let mut charged = vec![0u8; input.archive.len()];
    let mut surcharges_seen: HashSet<(usize, Minor), FxBuild> = HashSet::default();
    let mut claimed_lines: HashSet<&str, FxBuild> = HashSet::default();
    let mut expected_total: Minor = 0;
    for l in &bill.lines {
        let mut found = |category: Category, expected: Minor, dispute: Minor| {
            findings.push(Finding {
                category,
                waybill: l.waybill.clone(),
                bill_line: Some(l.line),
                billed: l.amount,
                expected,
                dispute,
            });
        };
        if l.kind == ChargeKind::Adjustment {
            expected_total += l.amount;
            continue;
        }
        let Some(&at) = index.get(l.waybill.as_str()) else {
            found(Category::UnknownWaybill, 0, l.amount.max(0));
            continue;
        };
        billed[at] = true;
        let a = &input.archive[at];
        if a.state == ParcelState::Void {
            found(Category::VoidCharged, 0, l.amount.max(0));
            continue;
        }
        // Surcharges of different amounts on one parcel are different charges (island and
        // insurance); a delivery or a return is charged once whatever its amount.
        let again = if l.kind == ChargeKind::Surcharge {
            !surcharges_seen.insert((at, l.amount))
        } else {
            let bit = 1u8 << (l.kind as u8);
            let had = charged[at] & bit != 0;
            charged[at] |= bit;
            had
        };
        if again || (!earlier.is_empty() && earlier.contains(&(l.waybill.as_str(), l.kind))) {
            found(Category::DuplicateCharge, 0, l.amount.max(0));
            continue;
        }
        let card = card_on(l)?;
        if l.kind == ChargeKind::Delivery {
            let claim = claims.get(l.waybill.as_str());
            let lost = matches!(a.state, ParcelState::Lost | ParcelState::Undeliverable)
                || claim.is_some_and(|c| c.kind == "lost" || c.kind == "undeliverable");
            if claim.is_some() || lost {
                let outstanding = claim.map_or(0, |c| c.outstanding);
                let (expected, dispute) = if lost {
                    (0, l.amount.max(0) + outstanding)
                } else {
                    (l.amount, outstanding)
                };
                expected_total += expected;
                found(Category::ClaimDeduction, expected, dispute);
                claimed_lines.insert(l.waybill.as_str());
                continue;
            }
        }
        let expected = if l.kind == ChargeKind::Surcharge {
            card.surcharge_for(&a.parcel.postcode)
        } else {
            let surcharge = if separate_surcharge.contains(l.waybill.as_str()) {
                0
            } else {
                card.surcharge_for(&a.parcel.postcode)
            };
            match price_line(card, l, a, surcharge) {
                Priced::Fine => l.amount,
                Priced::Finding(category, expected) => {
                    expected_total += expected;
                    found(category, expected, (l.amount - expected).max(0));
                    continue;
                }
            }
        };
        if expected != l.amount {
            expected_total += expected;
            found(
                Category::RateMismatch,
                expected,
                (l.amount - expected).max(0),
            );
            continue;
        }
        expected_total += l.amount;
    }

    // Open claims whose parcel the bill does not charge: deducted all the same.
    for c in input.claims {
        if claimed_lines.contains(c.waybill.as_str()) || !index.contains_key(c.waybill.as_str()) {
            continue;
        }
        if c.outstanding > 0 {
            findings.push(Finding {
                category: Category::ClaimDeduction,
                waybill: c.waybill.clone(),
                bill_line: None,
                billed: 0,
                expected: 0,
                dispute: c.outstanding,
            });
        }
    }

    // Handed over in the month, absent from the bill.
    let first: Option<Date> = month_day(input.month).parse().ok();
    let last = first.map(|d| d.last_of_month());
    let mut missing: Vec<Finding> = Vec::new();
    for (a, billed) in input.archive.iter().zip(&billed) {
        let (Some(day), Some(first), Some(last)) = (a.handed_over, first, last) else {
            continue;
        };
        if *billed || a.state == ParcelState::Void || day < first || day > last {
            continue;
        }
        let expected = card_for(input.cards, input.courier, &day.to_string())
            .and_then(|card| {
                our_price(
                    card,
                    &a.parcel,
                    Charge::Delivery,
                    card.surcharge_for(&a.parcel.postcode),
                )
            })
            .unwrap_or(0);
        missing.push(Finding {
            category: Category::NotBilled,
            waybill: a.waybill.clone(),
            bill_line: None,
            billed: 0,
            expected,
            dispute: 0,
        });
    }
    missing.sort_by(|a, b| a.waybill.cmp(&b.waybill));
    findings.extend(missing);

    let sum = bill.sum_of_lines();
    if let Some((line, stated)) = bill.stated_total {
        if stated != sum {
            findings.push(Finding {
                category: Category::TotalMismatch,
                waybill: "TOTAL".into(),
                bill_line: Some(line),
                billed: stated,
                expected: sum,
                dispute: (stated - sum).max(0),
            });
        }
    }
    findings.sort_by(|a, b| {
        (a.bill_line.is_none(), a.bill_line, a.category).cmp(&(
            b.bill_line.is_none(),
            b.bill_line,
            b.category,
        ))
    });
    let disputed_total = findings.iter().map(|f| f.dispute).sum();
    Ok(Report {
        courier: input.courier.to_string(),
        month: input.month.to_string(),
        bill_lines: bill.lines.len(),
        stated_total: bill.stated_total.map(|(_, v)| v),
        sum_of_lines: sum,
        expected_total,
        disputed_total,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ratecard;

    const CARD: &str = r#"
courier = "cj"
currency = "KRW"
valid_from = "2026-01-01"
valid_to = "2026-12-31"
pricing = "size_weight"
[tolerance]
weight_g = 100
[[class]]
code = "S"
max_sum_cm = 80
max_weight_g = 2000
price = 3000
return_price = 2500
[[class]]
code = "M"
max_sum_cm = 120
max_weight_g = 5000
price = 4000
[[surcharge]]
name = "제주"
postcodes = ["63000-63644"]
amount = 3000
"#;

    fn parcel(wb: &str, g: Grams, state: ParcelState, postcode: &str) -> Archived {
        Archived {
            waybill: wb.into(),
            state,
            parcel: Parcel {
                weight_g: g,
                postcode: postcode.into(),
                ..Default::default()
            },
            handed_over: Some(jiff::civil::date(2026, 3, 5)),
        }
    }

    fn line(n: usize, wb: &str, class: &str, amount: Minor, kind: ChargeKind) -> BillLine {
        BillLine {
            line: n,
            waybill: wb.into(),
            ship_date: "2026-03-05".into(),
            billed_weight_g: None,
            size_class: class.into(),
            zone: String::new(),
            amount,
            kind,
        }
    }

    #[test]
    fn every_category_is_found_where_it_is_planted() {
        let cards = vec![ratecard::parse("c.toml", CARD).unwrap()];
        use ChargeKind::*;
        use ParcelState::*;
        let archive = vec![
            parcel("A1", 1500, Shipped, "06234"),
            parcel("A2", 1500, Shipped, "06234"), // overcharged as M
            parcel("A3", 1500, Shipped, "06234"), // wrong price
            parcel("A4", 1500, Void, "06234"),
            parcel("A5", 1500, Shipped, "06234"), // billed twice
            parcel("A6", 1500, Lost, "06234"),
            parcel("A7", 1500, Shipped, "06234"),  // not billed
            parcel("A8", 1500, Shipped, "63100"),  // Jeju, surcharge inside the price
            parcel("A9", 1950, Shipped, "06234"), // within tolerance of S: billed M is fine? no: 1950+100 > 2000 → M allowed
            parcel("A10", 1500, Shipped, "06234"), // billed in an earlier month
            parcel("A11", 1500, Shipped, "06234"), // open damage claim
        ];
        let bill = Bill {
            lines: vec![
                line(2, "A1", "S", 3000, Delivery),
                line(3, "A2", "M", 4000, Delivery),
                line(4, "A3", "S", 3300, Delivery),
                line(5, "A4", "S", 3000, Delivery),
                line(6, "A5", "S", 3000, Delivery),
                line(7, "A5", "S", 3000, Delivery),
                line(8, "ZZ", "S", 3000, Delivery),
                line(9, "A6", "S", 3000, Delivery),
                line(10, "A8", "S", 6000, Delivery),
                line(11, "A9", "M", 4000, Delivery),
                line(12, "A10", "S", 3000, Delivery),
                line(13, "A11", "S", 3000, Delivery),
                line(14, "A1", "S", 2500, Return),
                line(15, "", "", -500, Adjustment),
            ],
            stated_total: Some((16, 50_000)),
        };
        let earlier = vec![("A10".to_string(), Delivery)];
        let claims = vec![OpenClaim {
            waybill: "A11".into(),
            kind: "damaged".into(),
            outstanding: 20_000,
        }];
        let r = reconcile(&Input {
            courier: "cj",
            month: "2026-03",
            bill: &bill,
            archive: &archive,
            cards: &cards,
            earlier: &earlier,
            claims: &claims,
        })
        .unwrap();
        let got: Vec<(&str, Option<usize>, &str, Minor)> = r
            .findings
            .iter()
            .map(|f| {
                (
                    f.category.as_str(),
                    f.bill_line,
                    f.waybill.as_str(),
                    f.dispute,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("weight_overcharge", Some(3), "A2", 1000),
                ("rate_mismatch", Some(4), "A3", 300),
                ("void_charged", Some(5), "A4", 3000),
                ("duplicate_charge", Some(7), "A5", 3000),
                ("unknown_waybill", Some(8), "ZZ", 3000),
                ("claim_deduction", Some(9), "A6", 3000),
                ("duplicate_charge", Some(12), "A10", 3000),
                ("claim_deduction", Some(13), "A11", 20_000),
                ("total_mismatch", Some(16), "TOTAL", 50_000 - 43_300),
                ("not_billed", None, "A7", 0),
            ]
        );
        assert_eq!(r.sum_of_lines, 43_300);
        assert_eq!(r.bill_lines, 14);
        assert_eq!(r.disputed_total, got.iter().map(|g| g.3).sum::<Minor>());
        let nb = r
            .findings
            .iter()
            .find(|f| f.category == Category::NotBilled)
            .unwrap();
        assert_eq!(nb.expected, 3000);
    }

    #[test]
    fn a_bill_without_a_card_for_its_dates_is_refused() {
        let cards = vec![ratecard::parse("c.toml", CARD).unwrap()];
        let archive = vec![parcel("A1", 1500, ParcelState::Shipped, "06234")];
        let mut l = line(2, "A1", "S", 3000, ChargeKind::Delivery);
        l.ship_date = "2027-01-02".into();
        let bill = Bill {
            lines: vec![l],
            stated_total: None,
        };
        let e = reconcile(&Input {
            courier: "cj",
            month: "2027-01",
            bill: &bill,
            archive: &archive,
            cards: &cards,
            earlier: &[],
            claims: &[],
        })
        .unwrap_err();
        assert!(e.to_string().contains("2027-01-02"), "{e}");
    }
}
