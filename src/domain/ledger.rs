//! The stock ledger's rules. Stock is counted per SKU per bin location and changes only by
//! ledger entries, each with a kind, who, when and why (seed 002, 库存管理: every movement
//! is recorded; stock = the sum of its entries). A bin never goes below zero unless someone
//! explicitly allowed it (an override with a name), so a negative balance is always
//! explained.

use std::collections::BTreeMap;

use serde::Serialize;

/// Why stock moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Goods received from a supplier (or an opening balance).
    Receipt,
    /// Taken from a bin by a picker (usually into the staging area).
    Pick,
    /// Left the warehouse in a parcel.
    Ship,
    /// A returned item put back into sellable stock.
    ReturnToStock,
    /// A returned or found item put into a quarantine bin.
    Quarantine,
    /// A correction: a stocktake variance, a late correction, a write-off.
    Adjustment,
    /// Moved between two bins (two entries, one out and one in).
    Transfer,
}

impl EntryKind {
    pub const ALL: [EntryKind; 7] = [
        EntryKind::Receipt,
        EntryKind::Pick,
        EntryKind::Ship,
        EntryKind::ReturnToStock,
        EntryKind::Quarantine,
        EntryKind::Adjustment,
        EntryKind::Transfer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Receipt => "receipt",
            EntryKind::Pick => "pick",
            EntryKind::Ship => "ship",
            EntryKind::ReturnToStock => "return_to_stock",
            EntryKind::Quarantine => "quarantine",
            EntryKind::Adjustment => "adjustment",
            EntryKind::Transfer => "transfer",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a bin is for. Only `pick` and `reserve` stock is available to sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BinKind {
    #[default]
    Pick,
    Reserve,
    Receiving,
    Quarantine,
    /// Picked goods on their way to a bench (a tote, a cart, the packing area).
    Staging,
}

impl BinKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BinKind::Pick => "pick",
            BinKind::Reserve => "reserve",
            BinKind::Receiving => "receiving",
            BinKind::Quarantine => "quarantine",
            BinKind::Staging => "staging",
        }
    }

    pub fn parse(s: &str) -> Option<BinKind> {
        [
            BinKind::Pick,
            BinKind::Reserve,
            BinKind::Receiving,
            BinKind::Quarantine,
            BinKind::Staging,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether stock in such a bin can be promised to an order.
    pub fn sellable(self) -> bool {
        matches!(self, BinKind::Pick | BinKind::Reserve)
    }
}

/// The bin every picked item passes through on its way to a bench, and the quarantine bin
/// returns go to unless another is chosen. Created on first use.
pub const STAGING_BIN: &str = "STAGING";
pub const QUARANTINE_BIN: &str = "QUARANTINE";

/// One line of a posting: `qty` units (signed) of `sku` at `bin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Move {
    pub sku: String,
    pub bin: String,
    pub qty: i64,
}

/// A posting would take a bin below zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shortfall {
    pub sku: String,
    pub bin: String,
    pub on_hand: i64,
    pub change: i64,
}

impl std::fmt::Display for Shortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not enough stock: {} at {} has {}, the change is {}",
            self.sku, self.bin, self.on_hand, self.change
        )
    }
}

/// Checks a posting against the balances it starts from: applied line by line, no bin may
/// end below zero unless `overridden`. Returns the balances after the posting.
pub fn apply(
    balances: &BTreeMap<(String, String), i64>,
    moves: &[Move],
    overridden: bool,
) -> Result<BTreeMap<(String, String), i64>, Shortfall> {
    let mut after = BTreeMap::new();
    for m in moves {
        let key = (m.sku.clone(), m.bin.clone());
        let before = *after
            .get(&key)
            .unwrap_or_else(|| balances.get(&key).unwrap_or(&0));
        let now = before + m.qty;
        if now < 0 && m.qty < 0 && !overridden {
            return Err(Shortfall {
                sku: m.sku.clone(),
                bin: m.bin.clone(),
                on_hand: before,
                change: m.qty,
            });
        }
        after.insert(key, now);
    }
    Ok(after)
}

/// Orders bin codes the way a picker walks them: explicit walk sequence first (0 = none,
/// after all numbered ones), then by the code with its digit runs compared as numbers, so
/// `A-2-10` comes after `A-2-9`.
pub fn walk_key(walk_seq: i64, code: &str) -> (i64, Vec<CodePart>) {
    let seq = if walk_seq > 0 { walk_seq } else { i64::MAX };
    (seq, natural(code))
}

/// A piece of a bin code for natural ordering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum CodePart {
    Num(u64),
    Text(String),
}

fn natural(code: &str) -> Vec<CodePart> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut digits = false;
    for ch in code.chars() {
        let d = ch.is_ascii_digit();
        if !cur.is_empty() && d != digits {
            parts.push(part(&cur, digits));
            cur.clear();
        }
        digits = d;
        cur.push(ch.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        parts.push(part(&cur, digits));
    }
    parts
}

fn part(s: &str, digits: bool) -> CodePart {
    if digits {
        s.parse()
            .map(CodePart::Num)
            .unwrap_or(CodePart::Text(s.into()))
    } else {
        CodePart::Text(s.into())
    }
}

/// A bin holding some of a SKU, as a candidate to take a shipment's units from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub bin: String,
    pub on_hand: i64,
    pub walk_seq: i64,
}

/// Where a shipped SKU's units are taken from: the staging area first (picked goods on
/// their way to the bench), then the SKU's home bin, then its other bins in walk order.
/// Returns the takes `(bin, qty)` and the units no recorded stock covers (the goods left
/// anyway: the caller posts them at the home bin with an override, to be counted).
pub fn allocate(home: &str, mut sources: Vec<Source>, qty: i64) -> (Vec<(String, i64)>, i64) {
    sources.retain(|s| s.on_hand > 0);
    sources.sort_by_cached_key(|s| {
        let rank = if s.bin == STAGING_BIN {
            0
        } else if s.bin == home {
            1
        } else {
            2
        };
        (rank, walk_key(s.walk_seq, &s.bin))
    });
    let mut left = qty;
    let mut takes = Vec::new();
    for s in sources {
        if left <= 0 {
            break;
        }
        let take = s.on_hand.min(left);
        takes.push((s.bin, take));
        left -= take;
    }
    (takes, left.max(0))
}

/// Sorts received goods the way seed 002 counts them (分色: by colour, then size): the
/// option text `colour / size` split on `/`, sizes in garment order (XS, S, M, L, XL, ...),
/// numbers (waist, shoe sizes) by value, anything else by its text.
pub fn option_key(option: &str, sku: &str) -> (String, u32, i64, String, String) {
    let mut parts = option.split(['/', ',', '|']).map(str::trim);
    let colour = parts.next().unwrap_or("").to_lowercase();
    let size = parts.next().unwrap_or("").to_uppercase();
    const SIZES: [&str; 10] = [
        "XXS", "XS", "S", "M", "L", "XL", "XXL", "2XL", "3XL", "FREE",
    ];
    let (rank, num) = if let Some(i) = SIZES.iter().position(|s| *s == size) {
        (1, i as i64)
    } else if let Ok(n) = size
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse::<i64>()
    {
        (2, n)
    } else {
        (3, 0)
    };
    (colour, rank, num, size, sku.to_string())
}

/// Counted against expected, per SKU: `counted - expected` (positive = over, negative =
/// short). SKUs on either side appear; equal counts give 0.
pub fn over_short(
    expected: &BTreeMap<String, i64>,
    counted: &BTreeMap<String, i64>,
) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for sku in expected.keys().chain(counted.keys()) {
        let e = expected.get(sku).copied().unwrap_or(0);
        let c = counted.get(sku).copied().unwrap_or(0);
        out.insert(sku.clone(), c - e);
    }
    out
}

/// A manual stock change as asked for on the stock page or the API.
pub struct StockChange<'a> {
    pub operator: &'a str,
    pub sku: &'a str,
    pub reason: &'a str,
    /// A manager's badge allowing a bin below zero ('' = not allowed).
    pub override_by: &'a str,
}

/// One line of a stock file (`packbench import stock`): opening balance or goods received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLine {
    pub sku: String,
    pub bin: String,
    pub qty: i64,
    pub reason: String,
}

/// Escapes a spreadsheet cell that a spreadsheet would run as a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return first): a leading apostrophe keeps it text.
pub fn escape_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Parses a bin kind from a file or a form; empty means a pick bin.
pub fn bin_kind(s: &str) -> Option<BinKind> {
    if s.trim().is_empty() {
        return Some(BinKind::Pick);
    }
    BinKind::parse(s.trim().to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(sku: &str, bin: &str, qty: i64) -> Move {
        Move {
            sku: sku.into(),
            bin: bin.into(),
            qty,
        }
    }

    #[test]
    fn a_posting_may_not_take_a_bin_below_zero_unless_overridden() {
        let mut b = BTreeMap::new();
        b.insert(("S1".to_string(), "A-1".to_string()), 3);
        let after = apply(&b, &[mv("S1", "A-1", -3)], false).unwrap();
        assert_eq!(after[&("S1".into(), "A-1".into())], 0);
        let e = apply(&b, &[mv("S1", "A-1", -2), mv("S1", "A-1", -2)], false).unwrap_err();
        assert_eq!((e.on_hand, e.change), (1, -2));
        assert!(apply(&b, &[mv("S1", "A-1", -4)], true).is_ok());
        // Adding to a bin that is already negative is always allowed.
        let mut neg = BTreeMap::new();
        neg.insert(("S1".to_string(), "A-1".to_string()), -2);
        assert!(apply(&neg, &[mv("S1", "A-1", 1)], false).is_ok());
    }

    #[test]
    fn bins_sort_in_walk_order() {
        let mut codes = vec!["A-2-10", "a-2-9", "B-1-1", "A-10-1", "A-2-1"];
        codes.sort_by_key(|c| walk_key(0, c));
        assert_eq!(codes, ["A-2-1", "a-2-9", "A-2-10", "A-10-1", "B-1-1"]);
        let mut with_seq = [(0, "A-1"), (2, "Z-9"), (1, "Q-1")];
        with_seq.sort_by_key(|(s, c)| walk_key(*s, c));
        assert_eq!(
            with_seq.iter().map(|x| x.1).collect::<Vec<_>>(),
            ["Q-1", "Z-9", "A-1"]
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EntryKind::parse("gift"), None);
    }
    #[test]
    fn shipments_take_from_staging_then_home_then_walk_order() {
        let src = |bin: &str, q: i64, seq: i64| Source {
            bin: bin.into(),
            on_hand: q,
            walk_seq: seq,
        };
        let sources = vec![
            src("B-1", 5, 0),
            src("A-9", 1, 0),
            src("HOME", 2, 0),
            src(STAGING_BIN, 1, 0),
            src("Z-1", 3, 1),
        ];
        let (takes, left) = allocate("HOME", sources.clone(), 6);
        assert_eq!(
            takes,
            [
                (STAGING_BIN.to_string(), 1),
                ("HOME".to_string(), 2),
                ("Z-1".to_string(), 3)
            ]
        );
        assert_eq!(left, 0);
        let (takes, left) = allocate("HOME", sources, 20);
        assert_eq!(takes.iter().map(|t| t.1).sum::<i64>(), 12);
        assert_eq!(left, 8, "what no stock covers is left to the caller");
        let (takes, left) = allocate("HOME", vec![src("HOME", 0, 0)], 2);
        assert!(takes.is_empty());
        assert_eq!(left, 2);
    }

    #[test]
    fn received_goods_sort_by_colour_then_size() {
        let mut v = [
            ("화이트 / XL", "A"),
            ("블랙 / M", "B"),
            ("화이트 / S", "C"),
            ("블랙 / L", "D"),
            ("블랙 / 30", "E"),
            ("블랙 / 28", "F"),
        ];
        v.sort_by_key(|(o, s)| option_key(o, s));
        let skus: Vec<&str> = v.iter().map(|x| x.1).collect();
        assert_eq!(skus, ["B", "D", "F", "E", "C", "A"]);
    }

    #[test]
    fn over_and_short_against_expected() {
        let e: BTreeMap<String, i64> = [("A".into(), 5), ("B".into(), 2)].into();
        let c: BTreeMap<String, i64> = [("A".into(), 6), ("C".into(), 1)].into();
        let d = over_short(&e, &c);
        assert_eq!(d["A"], 1);
        assert_eq!(d["B"], -2);
        assert_eq!(d["C"], 1);
    }

    #[test]
    fn formula_cells_are_escaped() {
        assert_eq!(escape_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(escape_cell("+82"), "'+82");
        assert_eq!(escape_cell("-1"), "'-1");
        assert_eq!(escape_cell("@cmd"), "'@cmd");
        assert_eq!(escape_cell("양말 = 3"), "양말 = 3");
        assert_eq!(bin_kind(""), Some(BinKind::Pick));
        assert_eq!(bin_kind("Quarantine"), Some(BinKind::Quarantine));
        assert_eq!(bin_kind("shelf"), None);
    }
}
