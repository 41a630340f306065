//! Scan-to-verify packing (DESIGN.md §3, seed 004 仓储物流配送 "打包": check code, spec and
//! quantity against the pick slip before sealing). A `Pack` is the parcel being filled at a
//! bench: one order, or a bundle of orders to the same recipient (합포장/合并). The functions
//! here decide whether a scan is accepted and what changes; the caller records the decision
//! and only then applies it, so a refused scan leaves the pack exactly as it was.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Flag, Grams};

/// Why a scan or reading is refused. `code()` is the stable API code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownCode {
        code: String,
    },
    WrongItem {
        sku: String,
    },
    OverScan {
        sku: String,
        required: i64,
    },
    OrderOnHold {
        order_no: String,
    },
    AlreadyPacked {
        order_no: String,
        waybill: String,
    },
    NotSignedIn,
    NoOpenPack,
    /// Another order is open with items already in it; finish or cancel it first.
    PackInProgress {
        order_no: String,
    },
    /// The order goes to someone else, so it cannot join the open parcel.
    NotSameRecipient {
        order_no: String,
    },
    /// The order's lines name a SKU the catalog does not know any more.
    OrderNotPackable {
        order_no: String,
    },
    /// The manager cancelled the order; it is not packed.
    OrderCancelled {
        order_no: String,
    },
    /// The pack is complete and waits for the scale; items are not taken now.
    AwaitingWeight,
    WeightOutOfTolerance,
    ManagerRequired,
    /// The camera read another parcel's waybill on this shipment's label.
    LabelMismatch {
        expected: String,
        found: String,
    },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UnknownCode { .. } => "unknown_code",
            Refusal::WrongItem { .. } => "wrong_item",
            Refusal::OverScan { .. } => "over_scan",
            Refusal::OrderOnHold { .. } => "order_on_hold",
            Refusal::AlreadyPacked { .. } => "already_packed",
            Refusal::NotSignedIn => "not_signed_in",
            Refusal::NoOpenPack => "no_open_pack",
            Refusal::PackInProgress { .. } => "pack_in_progress",
            Refusal::NotSameRecipient { .. } => "not_same_recipient",
            Refusal::OrderNotPackable { .. } => "order_not_packable",
            Refusal::OrderCancelled { .. } => "order_cancelled",
            Refusal::AwaitingWeight => "awaiting_weight",
            Refusal::WeightOutOfTolerance => "weight_out_of_tolerance",
            Refusal::ManagerRequired => "manager_required",
            Refusal::LabelMismatch { .. } => "label_mismatch",
        }
    }

    /// Placeholder values for the message catalogue (`refusal.<code>`).
    pub fn args(&self) -> Vec<(&'static str, String)> {
        match self {
            Refusal::UnknownCode { code } => vec![("code", code.clone())],
            Refusal::WrongItem { sku } => vec![("sku", sku.clone())],
            Refusal::OverScan { sku, required } => {
                vec![("sku", sku.clone()), ("required", required.to_string())]
            }
            Refusal::OrderOnHold { order_no }
            | Refusal::PackInProgress { order_no }
            | Refusal::NotSameRecipient { order_no }
            | Refusal::OrderNotPackable { order_no }
            | Refusal::OrderCancelled { order_no } => vec![("order_no", order_no.clone())],
            Refusal::AlreadyPacked { order_no, waybill } => {
                vec![("order_no", order_no.clone()), ("waybill", waybill.clone())]
            }
            Refusal::LabelMismatch { expected, found } => {
                vec![("waybill", expected.clone()), ("found", found.clone())]
            }
            _ => vec![],
        }
    }
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Ready,
    Packing,
    Packed,
    /// Cancelled by the manager (a wave puts its picked goods back).
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Ready => "ready",
            OrderStatus::Packing => "packing",
            OrderStatus::Packed => "packed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        Some(match s {
            "ready" => OrderStatus::Ready,
            "packing" => OrderStatus::Packing,
            "packed" => OrderStatus::Packed,
            "cancelled" => OrderStatus::Cancelled,
            _ => return None,
        })
    }
}

/// An order as the bench needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackOrder {
    pub order_no: String,
    pub status: OrderStatus,
    pub flag: Flag,
    pub note: String,
    pub recipient_name: String,
    /// Normalised recipient identity; orders with equal keys may share a parcel.
    pub recipient_key: String,
    /// The waybill the order shipped under, when packed.
    pub waybill: String,
    pub lines: Vec<PackLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackLine {
    pub sku: String,
    pub qty: i64,
}

/// The same person at the same address: name, phone digits, address and postcode with
/// spaces and punctuation removed. Seed 000 names bundles as the usual cause of "waybill
/// already used" errors, so bundling is allowed only on an exact match of all four.
pub fn recipient_key(name: &str, phone: &str, address: &str, postcode: &str) -> String {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    format!(
        "{}|{}|{}|{}",
        squash(name),
        digits,
        squash(address),
        squash(postcode)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackStatus {
    /// Items are being scanned.
    Scanning,
    /// Every line is complete; the next stable reading decides.
    Weighing,
    /// The weight check failed: counts were reset and every item is scanned again.
    Recount,
}

impl PackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PackStatus::Scanning => "scanning",
            PackStatus::Weighing => "weighing",
            PackStatus::Recount => "recount",
        }
    }

    pub fn parse(s: &str) -> Option<PackStatus> {
        Some(match s {
            "scanning" => PackStatus::Scanning,
            "weighing" => PackStatus::Weighing,
            "recount" => PackStatus::Recount,
            _ => return None,
        })
    }
}

/// The parcel being filled at a bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pack {
    pub id: i64,
    pub orders: Vec<PackOrder>,
    /// Units scanned so far, by SKU.
    pub counts: BTreeMap<String, i64>,
    pub status: PackStatus,
    /// Packaging code chosen by scan; `None` uses the configured default.
    pub packaging: Option<String>,
    /// The last failed measurement, kept for a manager override.
    pub failed_measured_g: Option<Grams>,
}

/// What an accepted item scan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemCounted {
    pub sku: String,
    pub scanned: i64,
    pub required: i64,
    pub pack_complete: bool,
}

impl Pack {
    pub fn new(id: i64, order: PackOrder) -> Pack {
        Pack {
            id,
            orders: vec![order],
            counts: BTreeMap::new(),
            status: PackStatus::Scanning,
            packaging: None,
            failed_measured_g: None,
        }
    }

    /// Required units by SKU over every order of the bundle.
    pub fn required(&self) -> BTreeMap<String, i64> {
        let mut req = BTreeMap::new();
        for line in self.orders.iter().flat_map(|o| &o.lines) {
            *req.entry(line.sku.clone()).or_insert(0) += line.qty;
        }
        req
    }

    pub fn scanned(&self, sku: &str) -> i64 {
        self.counts.get(sku).copied().unwrap_or(0)
    }

    pub fn scanned_total(&self) -> i64 {
        self.counts.values().sum()
    }

    pub fn is_complete(&self) -> bool {
        self.required()
            .iter()
            .all(|(sku, q)| self.scanned(sku) >= *q)
    }

    pub fn order_nos(&self) -> Vec<String> {
        self.orders.iter().map(|o| o.order_no.clone()).collect()
    }

    /// Decides an item scan without changing anything.
    pub fn check_item(&self, sku: &str) -> Result<ItemCounted, Refusal> {
        if self.status == PackStatus::Weighing {
            return Err(Refusal::AwaitingWeight);
        }
        let required = *self.required().get(sku).ok_or_else(|| Refusal::WrongItem {
            sku: sku.to_string(),
        })?;
        let scanned = self.scanned(sku) + 1;
        if scanned > required {
            return Err(Refusal::OverScan {
                sku: sku.to_string(),
                required,
            });
        }
        let mut after = self.clone();
        after.counts.insert(sku.to_string(), scanned);
        Ok(ItemCounted {
            sku: sku.to_string(),
            scanned,
            required,
            pack_complete: after.is_complete(),
        })
    }

    /// Applies an accepted item scan (after it was recorded).
    pub fn apply_item(&mut self, counted: &ItemCounted) {
        self.counts.insert(counted.sku.clone(), counted.scanned);
        if counted.pack_complete {
            self.status = PackStatus::Weighing;
        }
    }

    /// Decides whether `order` may join this parcel as a bundle.
    pub fn check_bundle(&self, order: &PackOrder) -> Result<(), Refusal> {
        check_open(order)?;
        if self.orders.iter().any(|o| o.order_no == order.order_no) {
            return Ok(());
        }
        if self.orders[0].recipient_key != order.recipient_key {
            // Nothing scanned yet: the packer is simply switching orders.
            if self.scanned_total() == 0 {
                return Ok(());
            }
            return Err(Refusal::NotSameRecipient {
                order_no: order.order_no.clone(),
            });
        }
        // The same recipient's order joins the parcel even when it was complete: the box is
        // not sealed until the weight check passes.
        Ok(())
    }

    /// A failed weight check: the counts go back to zero and every item is scanned again.
    pub fn fail_weight(&mut self, measured: Grams) {
        self.counts.clear();
        self.status = PackStatus::Recount;
        self.failed_measured_g = Some(measured);
    }
}

/// Decides whether an order may be opened at a bench at all.
pub fn check_open(order: &PackOrder) -> Result<(), Refusal> {
    if order.status == OrderStatus::Cancelled {
        return Err(Refusal::OrderCancelled {
            order_no: order.order_no.clone(),
        });
    }
    if order.status == OrderStatus::Packed {
        return Err(Refusal::AlreadyPacked {
            order_no: order.order_no.clone(),
            waybill: order.waybill.clone(),
        });
    }
    if order.flag.is_hold() {
        return Err(Refusal::OrderOnHold {
            order_no: order.order_no.clone(),
        });
    }
    if order.lines.is_empty() {
        return Err(Refusal::OrderNotPackable {
            order_no: order.order_no.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(no: &str, who: &str, lines: &[(&str, i64)]) -> PackOrder {
        PackOrder {
            order_no: no.into(),
            status: OrderStatus::Ready,
            flag: Flag::None,
            note: String::new(),
            recipient_name: who.into(),
            recipient_key: recipient_key(who, "010-1234-5678", "서울 강남구 1", "06234"),
            waybill: String::new(),
            lines: lines
                .iter()
                .map(|(s, q)| PackLine {
                    sku: s.to_string(),
                    qty: *q,
                })
                .collect(),
        }
    }

    #[test]
    fn counts_up_refuses_wrong_and_extra_and_completes() {
        let mut p = Pack::new(1, order("A", "김", &[("S1", 2), ("S2", 1)]));
        type Step<'a> = (&'a str, Result<(i64, bool), &'a str>);
        let steps: &[Step] = &[
            ("S1", Ok((1, false))),
            ("S9", Err("wrong_item")),
            ("S1", Ok((2, false))),
            ("S1", Err("over_scan")),
            ("S2", Ok((1, true))),
            ("S2", Err("awaiting_weight")),
        ];
        for (sku, want) in steps {
            let before = p.clone();
            match (p.check_item(sku), want) {
                (Ok(c), Ok((n, done))) => {
                    assert_eq!((c.scanned, c.pack_complete), (*n, *done), "{sku}");
                    p.apply_item(&c);
                }
                (Err(r), Err(code)) => {
                    assert_eq!(r.code(), *code, "{sku}");
                    assert_eq!(p, before, "a refusal leaves the pack as it was");
                }
                (got, want) => panic!("{sku}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(p.status, PackStatus::Weighing);
    }

    #[test]
    fn weight_failure_asks_for_a_recount() {
        let mut p = Pack::new(1, order("A", "김", &[("S1", 1)]));
        let c = p.check_item("S1").unwrap();
        p.apply_item(&c);
        p.fail_weight(10);
        assert_eq!((p.status, p.scanned_total()), (PackStatus::Recount, 0));
        let c = p.check_item("S1").unwrap();
        assert!(c.pack_complete);
    }

    #[test]
    fn bundles_only_the_same_recipient() {
        let mut p = Pack::new(1, order("A", "김민지", &[("S1", 1)]));
        assert_eq!(p.check_bundle(&order("B", "김 민지", &[("S2", 1)])), Ok(()));
        // Switching to another recipient's order is fine while nothing is scanned...
        assert_eq!(p.check_bundle(&order("C", "王芳", &[("S2", 1)])), Ok(()));
        let c = p.check_item("S1").unwrap();
        p.apply_item(&c);
        // ...and refused once items are in the parcel.
        assert_eq!(
            p.check_bundle(&order("C", "王芳", &[("S2", 1)]))
                .unwrap_err()
                .code(),
            "not_same_recipient"
        );
    }

    #[test]
    fn held_and_packed_orders_do_not_open() {
        let mut o = order("A", "김", &[("S1", 1)]);
        o.flag = Flag::Yellow;
        assert_eq!(check_open(&o).unwrap_err().code(), "order_on_hold");
        o.flag = Flag::Red;
        assert_eq!(check_open(&o), Ok(()));
        o.status = OrderStatus::Packed;
        assert_eq!(check_open(&o).unwrap_err().code(), "already_packed");
    }
}
