//! SQL of the stock ledger: bins, the append-only `stock_entries` and the running `stock`
//! balance that the same transaction keeps equal to the sum of the entries. The rule that a
//! bin never goes below zero without an override is `domain::ledger::apply`.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{Result, StorageError};
use crate::domain::ledger::{self, BinKind, EntryKind, Move};

/// A bin location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bin {
    pub code: String,
    pub zone: String,
    pub walk_seq: i64,
    pub kind: BinKind,
}

/// Entries posted together, with who, when and why.
#[derive(Debug, Clone, Serialize)]
pub struct Posting {
    pub at: String,
    pub kind: EntryKind,
    /// What the movement belongs to: an order, a waybill, a wave, a receipt, a return...
    pub reference: String,
    pub operator: String,
    pub station: String,
    pub reason: String,
    /// Who allowed a bin below zero ('' = nobody; then a shortfall refuses the posting).
    pub override_by: String,
    pub moves: Vec<Move>,
}

/// One ledger entry as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: i64,
    pub posting: i64,
    pub at: String,
    pub sku: String,
    pub bin: String,
    pub qty: i64,
    pub kind: String,
    pub reference: String,
    pub operator: String,
    pub station: String,
    pub reason: String,
    pub override_by: String,
}

/// Stock of one SKU at one bin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BinStock {
    pub sku: String,
    pub bin: String,
    pub kind: BinKind,
    pub on_hand: i64,
}

/// Which entries to list; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub sku: String,
    pub bin: String,
    pub reference: String,
    pub limit: usize,
}

fn kind_for_new_bin(code: &str) -> BinKind {
    match code {
        ledger::STAGING_BIN => BinKind::Staging,
        ledger::QUARANTINE_BIN => BinKind::Quarantine,
        _ => BinKind::Pick,
    }
}

/// Creates the bin if it does not exist (a pick bin, or the staging/quarantine bin by name).
pub fn ensure_bin(c: &Connection, code: &str, at: &str) -> Result<()> {
    c.prepare_cached("INSERT OR IGNORE INTO bins (code, kind, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![code, kind_for_new_bin(code).as_str(), at])?;
    Ok(())
}

/// Inserts or updates a bin's zone, walk sequence and kind.
pub fn upsert_bin(c: &Connection, b: &Bin, at: &str) -> Result<()> {
    c.execute(
        "INSERT INTO bins (code, zone, walk_seq, kind, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (code) DO UPDATE SET zone = excluded.zone, walk_seq = excluded.walk_seq,
                                          kind = excluded.kind",
        params![b.code, b.zone, b.walk_seq, b.kind.as_str(), at],
    )?;
    Ok(())
}

pub fn get_bin(c: &Connection, code: &str) -> Result<Option<Bin>> {
    Ok(c.query_row(
        "SELECT code, zone, walk_seq, kind FROM bins WHERE code = ?1",
        [code],
        bin_row,
    )
    .optional()?)
}

fn bin_row(r: &rusqlite::Row) -> rusqlite::Result<Bin> {
    let kind: String = r.get(3)?;
    Ok(Bin {
        code: r.get(0)?,
        zone: r.get(1)?,
        walk_seq: r.get(2)?,
        kind: BinKind::parse(&kind).unwrap_or_default(),
    })
}

/// Every bin, in the order a picker walks them.
pub fn bins(c: &Connection) -> Result<Vec<Bin>> {
    let mut st = c.prepare("SELECT code, zone, walk_seq, kind FROM bins")?;
    let mut v = st
        .query_map([], bin_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    v.sort_by_cached_key(|b| ledger::walk_key(b.walk_seq, &b.code));
    Ok(v)
}

fn on_hand_tx(c: &Connection, sku: &str, bin: &str) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT on_hand FROM stock WHERE sku = ?1 AND bin = ?2")?
            .query_row(params![sku, bin], |r| r.get(0))
            .optional()?
            .unwrap_or(0),
    )
}

/// Appends a posting's entries and updates the balances, or refuses the whole posting with
/// the first shortfall (nothing written). Returns the posting number. Run it inside a write
/// job so it commits with whatever else the action records.
pub fn post(c: &Connection, p: &Posting) -> Result<i64> {
    if p.moves.is_empty() {
        return Ok(0);
    }
    let mut before = BTreeMap::new();
    for m in &p.moves {
        if m.qty == 0 {
            return Err(StorageError::Conflict(format!(
                "ledger entry for {} at {} has quantity 0",
                m.sku, m.bin
            )));
        }
        let key = (m.sku.clone(), m.bin.clone());
        if let std::collections::btree_map::Entry::Vacant(e) = before.entry(key) {
            e.insert(on_hand_tx(c, &m.sku, &m.bin)?);
        }
    }
    let after = ledger::apply(&before, &p.moves, !p.override_by.is_empty())
        .map_err(StorageError::Shortfall)?;
    let posting: i64 = c
        .prepare_cached("SELECT COALESCE(MAX(posting), 0) + 1 FROM stock_entries")?
        .query_row([], |r| r.get(0))?;
    for m in &p.moves {
        ensure_bin(c, &m.bin, &p.at)?;
        c.prepare_cached(
            "INSERT INTO stock_entries (posting, at, sku, bin, qty, kind, ref, operator, station, reason, override_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            posting,
            p.at,
            m.sku,
            m.bin,
            m.qty,
            p.kind.as_str(),
            p.reference,
            p.operator,
            p.station,
            p.reason,
            p.override_by
        ])?;
    }
    for ((sku, bin), q) in after {
        c.prepare_cached(
            "INSERT INTO stock (sku, bin, on_hand) VALUES (?1, ?2, ?3)
             ON CONFLICT (sku, bin) DO UPDATE SET on_hand = excluded.on_hand",
        )?
        .execute(params![sku, bin, q])?;
    }
    Ok(posting)
}

/// Stock of `sku` at `bin` now.
pub fn on_hand(c: &Connection, sku: &str, bin: &str) -> Result<i64> {
    on_hand_tx(c, sku, bin)
}

/// Where `sku` is, bin by bin in walk order (bins with zero left out).
pub fn stock_of(c: &Connection, sku: &str) -> Result<Vec<BinStock>> {
    let mut st = c.prepare_cached(
        "SELECT s.sku, s.bin, b.kind, s.on_hand, b.walk_seq FROM stock s JOIN bins b ON b.code = s.bin
         WHERE s.sku = ?1 AND s.on_hand <> 0",
    )?;
    let mut v = st
        .query_map([sku], |r| {
            let kind: String = r.get(2)?;
            Ok((
                BinStock {
                    sku: r.get(0)?,
                    bin: r.get(1)?,
                    kind: BinKind::parse(&kind).unwrap_or_default(),
                    on_hand: r.get(3)?,
                },
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    v.sort_by_cached_key(|(b, seq)| ledger::walk_key(*seq, &b.bin));
    Ok(v.into_iter().map(|(b, _)| b).collect())
}

/// Sellable stock (pick and reserve bins) of every SKU that has any.
pub fn available_all(c: &Connection) -> Result<HashMap<String, i64>> {
    let mut st = c.prepare(
        "SELECT s.sku, SUM(s.on_hand) FROM stock s JOIN bins b ON b.code = s.bin
         WHERE b.kind IN ('pick', 'reserve') GROUP BY s.sku",
    )?;
    let v = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<HashMap<String, i64>>>()?;
    Ok(v)
}

/// Sellable stock of one SKU.
pub fn available(c: &Connection, sku: &str) -> Result<i64> {
    Ok(c.prepare_cached(
        "SELECT COALESCE(SUM(s.on_hand), 0) FROM stock s JOIN bins b ON b.code = s.bin
             WHERE s.sku = ?1 AND b.kind IN ('pick', 'reserve')",
    )?
    .query_row([sku], |r| r.get(0))?)
}

/// What a bin holds now, by SKU (zeros left out).
pub fn bin_contents(c: &Connection, bin: &str) -> Result<BTreeMap<String, i64>> {
    let mut st =
        c.prepare_cached("SELECT sku, on_hand FROM stock WHERE bin = ?1 AND on_hand <> 0")?;
    let v = st
        .query_map([bin], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<BTreeMap<String, i64>>>()?;
    Ok(v)
}

/// What a bin held right after entry `upto` (the id of the last entry to include): the
/// ledger as of a moment, for counts taken while goods keep moving.
pub fn bin_contents_as_of(c: &Connection, bin: &str, upto: i64) -> Result<BTreeMap<String, i64>> {
    let mut st = c.prepare_cached(
        "SELECT sku, SUM(qty) FROM stock_entries WHERE bin = ?1 AND id <= ?2
         GROUP BY sku HAVING SUM(qty) <> 0",
    )?;
    let v = st
        .query_map(params![bin, upto], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<BTreeMap<String, i64>>>()?;
    Ok(v)
}

/// The id of the newest entry (0 when the ledger is empty): a moment in ledger time.
pub fn last_entry_id(c: &Connection) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT COALESCE(MAX(id), 0) FROM stock_entries")?
            .query_row([], |r| r.get(0))?,
    )
}

/// Entries matching the filter, newest first.
pub fn entries(c: &Connection, f: &EntryFilter) -> Result<Vec<Entry>> {
    let limit = if f.limit == 0 { 500 } else { f.limit } as i64;
    let mut st = c.prepare_cached(
        "SELECT id, posting, at, sku, bin, qty, kind, ref, operator, station, reason, override_by
         FROM stock_entries
         WHERE (?1 = '' OR sku = ?1) AND (?2 = '' OR bin = ?2) AND (?3 = '' OR ref = ?3)
         ORDER BY id DESC LIMIT ?4",
    )?;
    let v = st
        .query_map(params![f.sku, f.bin, f.reference, limit], |r| {
            Ok(Entry {
                id: r.get(0)?,
                posting: r.get(1)?,
                at: r.get(2)?,
                sku: r.get(3)?,
                bin: r.get(4)?,
                qty: r.get(5)?,
                kind: r.get(6)?,
                reference: r.get(7)?,
                operator: r.get(8)?,
                station: r.get(9)?,
                reason: r.get(10)?,
                override_by: r.get(11)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v)
}

/// Balances that differ from the sum of their entries, or are negative without an
/// override on record: `(sku, bin, balance, sum of entries)`. Empty when the ledger holds.
pub fn check(c: &Connection) -> Result<Vec<(String, String, i64, i64)>> {
    let mut st = c.prepare(
        "SELECT k.sku, k.bin, COALESCE(s.on_hand, 0), COALESCE(e.total, 0),
                (SELECT COUNT(*) FROM stock_entries o WHERE o.sku = k.sku AND o.bin = k.bin AND o.override_by <> '')
         FROM (SELECT sku, bin FROM stock UNION SELECT sku, bin FROM stock_entries) k
         LEFT JOIN stock s ON s.sku = k.sku AND s.bin = k.bin
         LEFT JOIN (SELECT sku, bin, SUM(qty) AS total FROM stock_entries GROUP BY sku, bin) e
                ON e.sku = k.sku AND e.bin = k.bin",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, bal, sum, overrides)| bal != sum || (*bal < 0 && *overrides == 0))
        .map(|(s, b, bal, sum, _)| (s, b, bal, sum))
        .collect())
}

/// The reason recorded on units shipped beyond the recorded stock (shown translated).
pub const REASON_SHIPPED_BEYOND_STOCK: &str = "system:shipped_beyond_stock";
/// The reason recorded when a void puts a parcel's goods back into staging.
pub const REASON_SHIPMENT_VOID: &str = "system:shipment_void";
/// Who allows the ledger below zero when goods physically left without recorded stock.
pub const SYSTEM: &str = "system";

/// Posts `ship` entries for a shipment's items, in the shipment's own transaction: each
/// SKU is taken from staging, then its home bin, then its other sellable bins in walk order
/// (`domain::ledger::allocate`). A parcel that passed its weight check has left, so a
/// shortfall never stops it: the rest is posted at the home bin (staging when the SKU has
/// none) with `override_by = "system"` and a reason, and shows as negative stock to count.
pub fn post_shipment(c: &Connection, s: &super::Shipment) -> Result<()> {
    let mut takes = Vec::new();
    let mut beyond = Vec::new();
    for it in &s.items {
        if it.qty <= 0 {
            continue;
        }
        let home: String = c
            .prepare_cached("SELECT location FROM catalog_items WHERE sku = ?1")?
            .query_row([&it.sku], |r| r.get(0))
            .optional()?
            .unwrap_or_default();
        let mut st = c.prepare_cached(
            "SELECT s.bin, s.on_hand, b.walk_seq FROM stock s JOIN bins b ON b.code = s.bin
             WHERE s.sku = ?1 AND s.on_hand > 0
               AND (b.kind IN ('pick', 'reserve') OR s.bin = ?2)",
        )?;
        let sources = st
            .query_map(params![it.sku, ledger::STAGING_BIN], |r| {
                Ok(ledger::Source {
                    bin: r.get(0)?,
                    on_hand: r.get(1)?,
                    walk_seq: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (from, left) = ledger::allocate(&home, sources, it.qty);
        takes.extend(from.into_iter().map(|(bin, q)| Move {
            sku: it.sku.clone(),
            bin,
            qty: -q,
        }));
        if left > 0 {
            let bin = if home.trim().is_empty() {
                ledger::STAGING_BIN.to_string()
            } else {
                home
            };
            beyond.push(Move {
                sku: it.sku.clone(),
                bin,
                qty: -left,
            });
        }
    }
    let mut p = Posting {
        at: s.packed_at.clone(),
        kind: EntryKind::Ship,
        reference: s.waybill.clone(),
        operator: s.packer.clone(),
        station: s.station.clone(),
        reason: String::new(),
        override_by: String::new(),
        moves: takes,
    };
    post(c, &p)?;
    if !beyond.is_empty() {
        p.moves = beyond;
        p.reason = REASON_SHIPPED_BEYOND_STOCK.into();
        p.override_by = SYSTEM.into();
        post(c, &p)?;
    }
    Ok(())
}

/// Reverses a voided shipment's `ship` entries in the void's transaction: the goods are
/// back at the bench, so every shipped unit returns to staging. Returns the posting (0 when
/// the shipment moved no stock).
pub fn reverse_shipment(c: &Connection, waybill: &str, at: &str, operator: &str) -> Result<i64> {
    let mut st = c.prepare_cached(
        "SELECT sku, SUM(qty) FROM stock_entries WHERE ref = ?1 AND kind = 'ship'
         GROUP BY sku HAVING SUM(qty) < 0 ORDER BY sku",
    )?;
    let moves = st
        .query_map([waybill], |r| {
            Ok(Move {
                sku: r.get(0)?,
                bin: ledger::STAGING_BIN.to_string(),
                qty: -r.get::<_, i64>(1)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    post(
        c,
        &Posting {
            at: at.into(),
            kind: EntryKind::Ship,
            reference: waybill.into(),
            operator: operator.into(),
            station: String::new(),
            reason: REASON_SHIPMENT_VOID.into(),
            override_by: String::new(),
            moves,
        },
    )
}

/// Every non-zero balance, by SKU then bin walk order.
pub fn all_stock(c: &Connection) -> Result<Vec<BinStock>> {
    let mut st = c.prepare(
        "SELECT s.sku, s.bin, b.kind, s.on_hand, b.walk_seq FROM stock s JOIN bins b ON b.code = s.bin
         WHERE s.on_hand <> 0",
    )?;
    let mut v = st
        .query_map([], |r| {
            let kind: String = r.get(2)?;
            Ok((
                BinStock {
                    sku: r.get(0)?,
                    bin: r.get(1)?,
                    kind: BinKind::parse(&kind).unwrap_or_default(),
                    on_hand: r.get(3)?,
                },
                r.get::<_, i64>(4)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    v.sort_by_cached_key(|(b, seq)| (b.sku.clone(), ledger::walk_key(*seq, &b.bin)));
    Ok(v.into_iter().map(|(b, _)| b).collect())
}

/// A SKU whose sellable stock reached zero or below (품절): it has moved through the ledger
/// and nothing is left to sell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SoldOut {
    pub sku: String,
    pub name: String,
    pub option: String,
    pub available: i64,
    /// On hand anywhere, staging and quarantine included.
    pub on_hand: i64,
    /// When the SKU last moved.
    pub last_moved_at: String,
}

/// Catalog SKUs with ledger entries whose available stock is zero or less, by SKU.
pub fn sold_out(c: &Connection) -> Result<Vec<SoldOut>> {
    let mut st = c.prepare(
        "SELECT ci.sku, ci.name, ci.option,
                COALESCE((SELECT SUM(s.on_hand) FROM stock s JOIN bins b ON b.code = s.bin
                          WHERE s.sku = ci.sku AND b.kind IN ('pick', 'reserve')), 0),
                COALESCE((SELECT SUM(s.on_hand) FROM stock s WHERE s.sku = ci.sku), 0),
                (SELECT MAX(e.at) FROM stock_entries e WHERE e.sku = ci.sku)
         FROM catalog_items ci
         WHERE EXISTS (SELECT 1 FROM stock_entries e WHERE e.sku = ci.sku)
         ORDER BY ci.sku",
    )?;
    let v = st
        .query_map([], |r| {
            Ok(SoldOut {
                sku: r.get(0)?,
                name: r.get(1)?,
                option: r.get(2)?,
                available: r.get(3)?,
                on_hand: r.get(4)?,
                last_moved_at: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(v.into_iter().filter(|s| s.available <= 0).collect())
}

/// Posts stock-file lines as receipt postings (one per reason) in the caller's write job;
/// bins named for the first time are created as pick bins. Returns the last posting.
pub fn post_stock_lines(
    c: &Connection,
    lines: &[ledger::StockLine],
    at: &str,
    operator: &str,
    reference: &str,
) -> Result<i64> {
    let mut by_reason: BTreeMap<String, Vec<Move>> = BTreeMap::new();
    for l in lines {
        by_reason.entry(l.reason.clone()).or_default().push(Move {
            sku: l.sku.clone(),
            bin: l.bin.clone(),
            qty: l.qty,
        });
    }
    let mut last = 0;
    for (reason, moves) in by_reason {
        last = post(
            c,
            &Posting {
                at: at.into(),
                kind: EntryKind::Receipt,
                reference: reference.into(),
                operator: operator.into(),
                station: String::new(),
                reason,
                override_by: String::new(),
                moves,
            },
        )?;
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Db;
    use proptest::prelude::*;

    fn posting(kind: EntryKind, moves: Vec<Move>, override_by: &str) -> Posting {
        Posting {
            at: "2026-11-23T01:00:00Z".into(),
            kind,
            reference: "T".into(),
            operator: "B-MGR-01".into(),
            station: String::new(),
            reason: String::new(),
            override_by: override_by.into(),
            moves,
        }
    }

    fn mv(sku: &str, bin: &str, qty: i64) -> Move {
        Move {
            sku: sku.into(),
            bin: bin.into(),
            qty,
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Receipt(usize, usize, i64),
        Pick(usize, usize, i64),
        Ship(usize, i64),
        Transfer(usize, usize, usize, i64),
        Adjust(usize, usize, i64, bool),
    }

    const SKUS: [&str; 3] = ["S1", "S2", "S3"];
    const BINS: [&str; 3] = ["A-1", "A-2", "B-1"];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize, 0..3usize, 1..6i64).prop_map(|(s, b, q)| Op::Receipt(s, b, q)),
            (0..3usize, 0..3usize, 1..6i64).prop_map(|(s, b, q)| Op::Pick(s, b, q)),
            (0..3usize, 1..4i64).prop_map(|(s, q)| Op::Ship(s, q)),
            (0..3usize, 0..3usize, 0..3usize, 1..6i64)
                .prop_map(|(s, a, b, q)| Op::Transfer(s, a, b, q)),
            (0..3usize, 0..3usize, -6..6i64, any::<bool>())
                .prop_map(|(s, b, q, o)| Op::Adjust(s, b, q, o)),
        ]
    }

    fn moves_of(op: &Op) -> Option<(EntryKind, Vec<Move>, bool)> {
        let staging = ledger::STAGING_BIN;
        Some(match *op {
            Op::Receipt(s, b, q) => (EntryKind::Receipt, vec![mv(SKUS[s], BINS[b], q)], false),
            Op::Pick(s, b, q) => (
                EntryKind::Pick,
                vec![mv(SKUS[s], BINS[b], -q), mv(SKUS[s], staging, q)],
                false,
            ),
            Op::Ship(s, q) => (EntryKind::Ship, vec![mv(SKUS[s], staging, -q)], false),
            Op::Transfer(_, a, b, _) if a == b => return None,
            Op::Transfer(s, a, b, q) => (
                EntryKind::Transfer,
                vec![mv(SKUS[s], BINS[a], -q), mv(SKUS[s], BINS[b], q)],
                false,
            ),
            Op::Adjust(_, _, 0, _) => return None,
            Op::Adjust(s, b, q, o) => (EntryKind::Adjustment, vec![mv(SKUS[s], BINS[b], q)], o),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Stock is the sum of the entries, and never negative without an override, whatever
        /// the sequence of receipts, picks, shipments, transfers and adjustments.
        #[test]
        fn stock_is_the_sum_of_entries_and_never_negative_unless_overridden(
            ops in proptest::collection::vec(op(), 1..40)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let db = Db::open(dir.path()).unwrap();
            let mut model: BTreeMap<(String, String), i64> = BTreeMap::new();
            for op in &ops {
                let Some((kind, moves, overridden)) = moves_of(op) else { continue };
                let expect = ledger::apply(&model, &moves, overridden);
                let p = posting(kind, moves, if overridden { "B-MGR-01" } else { "" });
                let got = db.write_blocking(move |c| post(c, &p));
                match (expect, got) {
                    (Ok(after), Ok(_)) => model.extend(after),
                    (Err(want), Err(StorageError::Shortfall(s))) => prop_assert_eq!(want, s),
                    (e, g) => prop_assert!(false, "model {:?}, ledger {:?}", e, g),
                }
            }
            let problems = db.read_blocking(check).unwrap();
            prop_assert!(problems.is_empty(), "{:?}", problems);
            for ((sku, bin), q) in &model {
                let (s, b) = (sku.clone(), bin.clone());
                let got = db.read_blocking(move |c| on_hand(c, &s, &b)).unwrap();
                prop_assert_eq!(got, *q, "{} at {}", sku, bin);
            }
        }
    }

    #[test]
    fn a_refused_posting_writes_nothing_and_counts_as_of_a_moment() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let p = posting(EntryKind::Receipt, vec![mv("S1", "A-1", 5)], "");
        db.write_blocking(move |c| post(c, &p)).unwrap();
        let moment = db.read_blocking(last_entry_id).unwrap();
        let p = posting(
            EntryKind::Pick,
            vec![mv("S1", "A-1", -2), mv("S1", ledger::STAGING_BIN, 2)],
            "",
        );
        db.write_blocking(move |c| post(c, &p)).unwrap();
        let p = posting(
            EntryKind::Transfer,
            vec![mv("S1", "A-1", -9), mv("S1", "B-1", 9)],
            "",
        );
        let e = db.write_blocking(move |c| post(c, &p)).unwrap_err();
        assert!(e.to_string().contains("S1 at A-1 has 3"), "{e}");
        let (now, then, avail, staging) = db
            .read_blocking(move |c| {
                Ok((
                    bin_contents(c, "A-1")?,
                    bin_contents_as_of(c, "A-1", moment)?,
                    available(c, "S1")?,
                    get_bin(c, ledger::STAGING_BIN)?,
                ))
            })
            .unwrap();
        assert_eq!(now["S1"], 3);
        assert_eq!(then["S1"], 5);
        assert_eq!(avail, 3, "staged goods are not available to sell");
        assert_eq!(staging.unwrap().kind, BinKind::Staging);
        let list = db
            .read_blocking(|c| {
                entries(
                    c,
                    &EntryFilter {
                        sku: "S1".into(),
                        ..EntryFilter::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(list.len(), 3, "the refused transfer left no entry");
    }
}
