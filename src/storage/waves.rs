//! SQL of the waves workflow: the orders a wave may take, the stock it may allocate, the
//! plan it keeps (pick lines and their allocations to orders) and what picking, shortages,
//! cancellations and put-backs change. The rules are `domain::wave`; the service runs each
//! action in one write job.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::Result;
use crate::domain::wave::{Allocation, BinFree, Candidate, PickLine, Plan, SkuStock};
use crate::domain::Flag;

/// A wave as listed.
#[derive(Debug, Clone, Serialize)]
pub struct WaveSummary {
    pub id: i64,
    pub number: String,
    pub criterion: String,
    pub value: String,
    pub status: String,
    pub local_date: String,
    pub created_at: String,
    pub created_by: String,
    pub closed_at: Option<String>,
    /// Orders being picked in the wave.
    pub orders: i64,
    pub held: i64,
    pub cancelled: i64,
    pub lines: i64,
    pub units: i64,
    pub picked: i64,
    pub short: i64,
    /// Pick lines at a catalog location because the ledger has no stock of the SKU.
    pub untracked_lines: i64,
}

/// One order of a wave with where it stands.
#[derive(Debug, Clone, Serialize)]
pub struct WaveOrder {
    pub order_no: String,
    pub slip: i64,
    /// picking | held | cancelled
    pub state: String,
    /// The order's own status (ready, packing, packed, cancelled).
    pub status: String,
    pub flag: Flag,
    pub recipient_name: String,
    pub channel: String,
    pub reason: serde_json::Value,
    pub units: i64,
}

/// One pick line as stored.
#[derive(Debug, Clone, Serialize)]
pub struct PickRow {
    pub id: i64,
    pub seq: i64,
    pub bin: String,
    pub sku: String,
    pub qty: i64,
    pub picked: i64,
    pub short: i64,
    pub tracked: bool,
}

/// Picked units of an order that left the wave, still in STAGING.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PutBack {
    pub pick_id: i64,
    pub order_no: String,
    pub sku: String,
    pub bin: String,
    pub tracked: bool,
    pub qty: i64,
}

/// A wave with its orders, pick lines and what is to be put back.
#[derive(Debug, Clone, Serialize)]
pub struct WaveView {
    #[serde(flatten)]
    pub summary: WaveSummary,
    pub order_list: Vec<WaveOrder>,
    pub picks: Vec<PickRow>,
    pub put_back: Vec<PutBack>,
}

/// One order's slip: its lines with the bins they are picked at.
#[derive(Debug, Clone, Serialize)]
pub struct SlipLine {
    pub order_no: String,
    pub bin: String,
    pub sku: String,
    pub qty: i64,
}

/// Ready orders that are not held and in no open wave, with their lines.
pub fn free_candidates(c: &Connection) -> Result<Vec<Candidate>> {
    const FREE: &str = "o.status = 'ready' AND o.flag <> 'yellow'
         AND NOT EXISTS (SELECT 1 FROM wave_orders w WHERE w.order_no = o.order_no AND w.open = 1)";
    let mut st = c.prepare(&format!(
        "SELECT o.order_no, o.channel, o.courier, o.paid_at FROM orders o WHERE {FREE}
         ORDER BY o.paid_at, o.order_no"
    ))?;
    let mut out: Vec<Candidate> = st
        .query_map([], |r| {
            Ok(Candidate {
                order_no: r.get(0)?,
                channel: r.get(1)?,
                courier: r.get(2)?,
                paid_at: r.get(3)?,
                lines: vec![],
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let index: HashMap<String, usize> = out
        .iter()
        .enumerate()
        .map(|(i, o)| (o.order_no.clone(), i))
        .collect();
    let mut st = c.prepare(&format!(
        "SELECT l.order_no, l.sku, l.qty FROM order_lines l JOIN orders o ON o.order_no = l.order_no
         WHERE {FREE} ORDER BY l.order_no, l.line_no"
    ))?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (no, sku, qty) = row?;
        if let Some(&i) = index.get(&no) {
            out[i].lines.push((sku, qty));
        }
    }
    Ok(out)
}

/// An order's status, flag and the open wave it is in, if any (for a wave by order list).
pub fn order_standing(
    c: &Connection,
    order_no: &str,
) -> Result<Option<(String, Flag, Option<String>)>> {
    Ok(c.query_row(
        "SELECT o.status, o.flag,
                (SELECT w.number FROM wave_orders wo JOIN waves w ON w.id = wo.wave_id
                 WHERE wo.order_no = o.order_no AND wo.open = 1)
         FROM orders o WHERE o.order_no = ?1",
        [order_no],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                Flag::parse(&r.get::<_, String>(1)?).unwrap_or_default(),
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )
    .optional()?)
}

/// Where each SKU can be picked: its sellable bins with free units (on hand less what open
/// waves have yet to pick there) in walk order, or the catalog location for SKUs the ledger
/// has never held.
pub fn stock_for(c: &Connection, skus: &[&str]) -> Result<HashMap<String, SkuStock>> {
    let wanted: std::collections::HashSet<&str> = skus.iter().copied().collect();
    let mut recorded: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut st = c.prepare("SELECT DISTINCT sku FROM stock")?;
    for sku in st.query_map([], |r| r.get::<_, String>(0))? {
        let sku = sku?;
        if wanted.contains(sku.as_str()) {
            recorded.insert(sku);
        }
    }
    let mut outstanding: HashMap<(String, String), i64> = HashMap::new();
    let mut st = c.prepare(
        "SELECT p.sku, p.bin, SUM(MAX(p.qty - p.picked - p.short, 0)) FROM wave_picks p
         JOIN waves w ON w.id = p.wave_id WHERE w.status = 'open' AND p.tracked = 1
         GROUP BY p.sku, p.bin",
    )?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })? {
        let (sku, bin, q) = row?;
        outstanding.insert((sku, bin), q);
    }
    let mut bins: HashMap<String, Vec<BinFree>> = HashMap::new();
    let mut st = c.prepare(
        "SELECT s.sku, s.bin, b.walk_seq, s.on_hand FROM stock s JOIN bins b ON b.code = s.bin
         WHERE b.kind IN ('pick', 'reserve') AND s.on_hand > 0",
    )?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })? {
        let (sku, bin, walk_seq, on_hand) = row?;
        if !recorded.contains(&sku) {
            continue;
        }
        let taken = outstanding
            .get(&(sku.clone(), bin.clone()))
            .copied()
            .unwrap_or(0);
        bins.entry(sku).or_default().push(BinFree {
            bin,
            walk_seq,
            free: on_hand - taken,
        });
    }
    let mut out = HashMap::new();
    for sku in &recorded {
        let mut v = bins.remove(sku).unwrap_or_default();
        v.sort_by_cached_key(|b| crate::domain::ledger::walk_key(b.walk_seq, &b.bin));
        out.insert(sku.clone(), SkuStock::Tracked(v));
    }
    let mut st = c.prepare_cached(
        "SELECT i.location, coalesce(b.walk_seq, 0) FROM catalog_items i
         LEFT JOIN bins b ON b.code = i.location WHERE i.sku = ?1",
    )?;
    for sku in wanted {
        if recorded.contains(sku) {
            continue;
        }
        let (location, walk_seq) = st
            .query_row([sku], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .optional()?
            .unwrap_or_default();
        out.insert(sku.to_string(), SkuStock::Untracked { location, walk_seq });
    }
    Ok(out)
}

/// The next wave number of a local date: WV-YYYYMMDD-N.
pub fn next_number(c: &Connection, local_date: &str) -> Result<String> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM waves WHERE local_date = ?1",
        [local_date],
        |r| r.get(0),
    )?;
    Ok(format!("WV-{}-{}", local_date.replace('-', ""), n + 1))
}

/// What a new wave records besides its plan.
pub struct NewWave<'a> {
    pub number: &'a str,
    pub criterion: &'a str,
    pub value: &'a str,
    pub local_date: &'a str,
    pub at: &'a str,
    pub by: &'a str,
}

/// Records a wave and its plan; held orders are flagged yellow and kept on the wave (not
/// open, no slip). Returns the wave's id.
pub fn insert_wave(c: &Connection, w: &NewWave, plan: &Plan) -> Result<i64> {
    c.execute(
        "INSERT INTO waves (number, criterion, value, local_date, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![w.number, w.criterion, w.value, w.local_date, w.at, w.by],
    )?;
    let id = c.last_insert_rowid();
    let mut ins = c.prepare_cached(
        "INSERT INTO wave_orders (wave_id, order_no, slip, state, open, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, no) in plan.included.iter().enumerate() {
        ins.execute(params![id, no, i as i64 + 1, "picking", 1, "{}"])?;
    }
    for h in &plan.held {
        let reason = serde_json::json!({ "reason": "shortage", "sku": h.sku, "needed": h.needed,
                                         "available": h.available });
        ins.execute(params![id, h.order_no, 0, "held", 0, reason.to_string()])?;
        set_flag(c, &h.order_no, Flag::Yellow)?;
    }
    let mut pick = c.prepare_cached(
        "INSERT INTO wave_picks (wave_id, seq, bin, sku, qty, tracked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut alloc = c.prepare_cached(
        "INSERT INTO wave_allocations (pick_id, order_no, seq, qty) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, p) in plan.picks.iter().enumerate() {
        pick.execute(params![id, i as i64 + 1, p.bin, p.sku, p.qty, p.tracked])?;
        let pid = c.last_insert_rowid();
        for (j, (no, q)) in p.allocations.iter().enumerate() {
            alloc.execute(params![pid, no, j as i64 + 1, q])?;
        }
    }
    Ok(id)
}

pub fn set_flag(c: &Connection, order_no: &str, flag: Flag) -> Result<()> {
    c.prepare_cached("UPDATE orders SET flag = ?2 WHERE order_no = ?1")?
        .execute(params![order_no, flag.as_str()])?;
    Ok(())
}

const SUMMARY: &str =
    "SELECT w.id, w.number, w.criterion, w.value, w.status, w.local_date, w.created_at,
        w.created_by, w.closed_at,
        (SELECT count(*) FROM wave_orders o WHERE o.wave_id = w.id AND o.state = 'picking'),
        (SELECT count(*) FROM wave_orders o WHERE o.wave_id = w.id AND o.state = 'held'),
        (SELECT count(*) FROM wave_orders o WHERE o.wave_id = w.id AND o.state = 'cancelled'),
        (SELECT count(*) FROM wave_picks p WHERE p.wave_id = w.id AND p.qty > 0),
        (SELECT coalesce(sum(qty), 0) FROM wave_picks p WHERE p.wave_id = w.id),
        (SELECT coalesce(sum(picked), 0) FROM wave_picks p WHERE p.wave_id = w.id),
        (SELECT coalesce(sum(short), 0) FROM wave_picks p WHERE p.wave_id = w.id),
        (SELECT count(*) FROM wave_picks p WHERE p.wave_id = w.id AND p.tracked = 0 AND p.qty > 0)
        FROM waves w";

fn summary_row(r: &rusqlite::Row) -> rusqlite::Result<WaveSummary> {
    Ok(WaveSummary {
        id: r.get(0)?,
        number: r.get(1)?,
        criterion: r.get(2)?,
        value: r.get(3)?,
        status: r.get(4)?,
        local_date: r.get(5)?,
        created_at: r.get(6)?,
        created_by: r.get(7)?,
        closed_at: r.get(8)?,
        orders: r.get(9)?,
        held: r.get(10)?,
        cancelled: r.get(11)?,
        lines: r.get(12)?,
        units: r.get(13)?,
        picked: r.get(14)?,
        short: r.get(15)?,
        untracked_lines: r.get(16)?,
    })
}

/// The newest waves first.
pub fn list_waves(c: &Connection, limit: i64) -> Result<Vec<WaveSummary>> {
    let mut st = c.prepare_cached(&format!("{SUMMARY} ORDER BY w.id DESC LIMIT ?1"))?;
    let v = st
        .query_map([limit], summary_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A wave by id or by number.
pub fn find_wave(c: &Connection, key: &str) -> Result<Option<WaveSummary>> {
    let mut st = c.prepare_cached(&format!(
        "{SUMMARY} WHERE w.number = ?1 OR CAST(w.id AS TEXT) = ?1"
    ))?;
    Ok(st.query_row([key], summary_row).optional()?)
}

pub fn wave_orders(c: &Connection, wave_id: i64) -> Result<Vec<WaveOrder>> {
    let mut st = c.prepare_cached(
        "SELECT wo.order_no, wo.slip, wo.state, o.status, o.flag, o.recipient_name, o.channel, wo.reason,
                (SELECT coalesce(sum(qty), 0) FROM order_lines l WHERE l.order_no = wo.order_no)
         FROM wave_orders wo JOIN orders o ON o.order_no = wo.order_no
         WHERE wo.wave_id = ?1 ORDER BY wo.slip = 0, wo.slip, wo.order_no",
    )?;
    let v = st
        .query_map([wave_id], |r| {
            let reason: String = r.get(7)?;
            Ok(WaveOrder {
                order_no: r.get(0)?,
                slip: r.get(1)?,
                state: r.get(2)?,
                status: r.get(3)?,
                flag: Flag::parse(&r.get::<_, String>(4)?).unwrap_or_default(),
                recipient_name: r.get(5)?,
                channel: r.get(6)?,
                reason: serde_json::from_str(&reason).unwrap_or(serde_json::Value::Null),
                units: r.get(8)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn picks(c: &Connection, wave_id: i64) -> Result<Vec<PickRow>> {
    let mut st = c.prepare_cached(
        "SELECT id, seq, bin, sku, qty, picked, short, tracked FROM wave_picks
         WHERE wave_id = ?1 ORDER BY seq",
    )?;
    let v = st
        .query_map([wave_id], |r| {
            Ok(PickRow {
                id: r.get(0)?,
                seq: r.get(1)?,
                bin: r.get(2)?,
                sku: r.get(3)?,
                qty: r.get(4)?,
                picked: r.get(5)?,
                short: r.get(6)?,
                tracked: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// The lines as the picking rules see them.
pub fn pick_lines(c: &Connection, wave_id: i64) -> Result<Vec<PickLine>> {
    Ok(picks(c, wave_id)?
        .into_iter()
        .map(|p| PickLine {
            id: p.id,
            bin: p.bin,
            sku: p.sku,
            qty: p.qty,
            picked: p.picked,
            short: p.short,
        })
        .collect())
}

pub fn pick_row(c: &Connection, pick_id: i64) -> Result<Option<PickRow>> {
    Ok(c.query_row(
        "SELECT id, seq, bin, sku, qty, picked, short, tracked FROM wave_picks WHERE id = ?1",
        [pick_id],
        |r| {
            Ok(PickRow {
                id: r.get(0)?,
                seq: r.get(1)?,
                bin: r.get(2)?,
                sku: r.get(3)?,
                qty: r.get(4)?,
                picked: r.get(5)?,
                short: r.get(6)?,
                tracked: r.get(7)?,
            })
        },
    )
    .optional()?)
}

pub fn allocations(c: &Connection, pick_id: i64) -> Result<Vec<Allocation>> {
    let mut st = c.prepare_cached(
        "SELECT order_no, qty, picked FROM wave_allocations WHERE pick_id = ?1 ORDER BY seq",
    )?;
    let v = st
        .query_map([pick_id], |r| {
            Ok(Allocation {
                order_no: r.get(0)?,
                qty: r.get(1)?,
                picked: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// Counts one picked unit on a line, for `order_no`.
pub fn count_pick(c: &Connection, pick_id: i64, order_no: &str) -> Result<()> {
    c.prepare_cached("UPDATE wave_picks SET picked = picked + 1 WHERE id = ?1")?
        .execute([pick_id])?;
    c.prepare_cached(
        "UPDATE wave_allocations SET picked = picked + 1 WHERE pick_id = ?1 AND order_no = ?2",
    )?
    .execute(params![pick_id, order_no])?;
    Ok(())
}

/// Records that `short` units of a line are not there.
pub fn record_short(c: &Connection, pick_id: i64, short: i64) -> Result<()> {
    c.prepare_cached("UPDATE wave_picks SET short = short + ?2 WHERE id = ?1")?
        .execute(params![pick_id, short])?;
    Ok(())
}

/// Takes an order out of a wave (`held` or `cancelled`, with the reason as JSON): what was not
/// picked for it yet is no longer to be picked; what was picked stays, to be put back.
pub fn release_order(
    c: &Connection,
    wave_id: i64,
    order_no: &str,
    state: &str,
    reason: &serde_json::Value,
) -> Result<()> {
    c.execute(
        "UPDATE wave_orders SET state = ?3, open = 0, reason = ?4 WHERE wave_id = ?1 AND order_no = ?2",
        params![wave_id, order_no, state, reason.to_string()],
    )?;
    c.execute(
        "UPDATE wave_allocations SET qty = picked
         WHERE order_no = ?2 AND pick_id IN (SELECT id FROM wave_picks WHERE wave_id = ?1)",
        params![wave_id, order_no],
    )?;
    c.execute(
        "UPDATE wave_picks SET qty = (SELECT coalesce(sum(a.qty), 0) FROM wave_allocations a WHERE a.pick_id = wave_picks.id)
         WHERE wave_id = ?1 AND id IN (SELECT pick_id FROM wave_allocations WHERE order_no = ?2)",
        params![wave_id, order_no],
    )?;
    Ok(())
}

/// The open wave an order is in: (id, number).
pub fn open_wave_of(c: &Connection, order_no: &str) -> Result<Option<(i64, String)>> {
    Ok(c.query_row(
        "SELECT w.id, w.number FROM wave_orders wo JOIN waves w ON w.id = wo.wave_id
         WHERE wo.order_no = ?1 AND w.status = 'open'
         ORDER BY wo.open DESC, w.id DESC LIMIT 1",
        [order_no],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Picked units of orders that left the wave and are not put back yet (all such orders, or
/// one).
pub fn to_put_back(c: &Connection, wave_id: i64, order_no: Option<&str>) -> Result<Vec<PutBack>> {
    let mut st = c.prepare_cached(
        "SELECT p.id, a.order_no, p.sku, p.bin, p.tracked, a.picked - a.put_back
         FROM wave_allocations a JOIN wave_picks p ON p.id = a.pick_id
         JOIN wave_orders wo ON wo.wave_id = p.wave_id AND wo.order_no = a.order_no
         WHERE p.wave_id = ?1 AND wo.state <> 'picking' AND a.picked > a.put_back
           AND (?2 IS NULL OR a.order_no = ?2)
         ORDER BY a.order_no, p.seq",
    )?;
    let v = st
        .query_map(params![wave_id, order_no], |r| {
            Ok(PutBack {
                pick_id: r.get(0)?,
                order_no: r.get(1)?,
                sku: r.get(2)?,
                bin: r.get(3)?,
                tracked: r.get(4)?,
                qty: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

pub fn mark_put_back(c: &Connection, pick_id: i64, order_no: &str, qty: i64) -> Result<()> {
    c.prepare_cached(
        "UPDATE wave_allocations SET put_back = put_back + ?3 WHERE pick_id = ?1 AND order_no = ?2",
    )?
    .execute(params![pick_id, order_no, qty])?;
    Ok(())
}

/// Closes a wave: its orders no longer count as being in an open wave.
pub fn close_wave(c: &Connection, wave_id: i64, at: &str) -> Result<()> {
    c.execute(
        "UPDATE waves SET status = 'closed', closed_at = ?2 WHERE id = ?1 AND status = 'open'",
        params![wave_id, at],
    )?;
    c.execute(
        "UPDATE wave_orders SET open = 0 WHERE wave_id = ?1",
        [wave_id],
    )?;
    Ok(())
}

/// Whether a wave is done: every order in it packed, and nothing of an order that left it
/// still waiting in STAGING to be put back.
pub fn is_complete(c: &Connection, wave_id: i64) -> Result<bool> {
    let open_orders: i64 = c.query_row(
        "SELECT count(*) FROM wave_orders wo JOIN orders o ON o.order_no = wo.order_no
         WHERE wo.wave_id = ?1 AND wo.state = 'picking' AND o.status <> 'packed'",
        [wave_id],
        |r| r.get(0),
    )?;
    if open_orders > 0 {
        return Ok(false);
    }
    Ok(to_put_back(c, wave_id, None)?.is_empty())
}

/// Every line of every order in the wave with the bin it is picked at, by slip.
pub fn slip_lines(c: &Connection, wave_id: i64) -> Result<Vec<SlipLine>> {
    let mut st = c.prepare_cached(
        "SELECT a.order_no, p.bin, p.sku, a.qty FROM wave_allocations a
         JOIN wave_picks p ON p.id = a.pick_id
         WHERE p.wave_id = ?1 AND a.qty > 0 ORDER BY a.order_no, p.seq",
    )?;
    let v = st
        .query_map([wave_id], |r| {
            Ok(SlipLine {
                order_no: r.get(0)?,
                bin: r.get(1)?,
                sku: r.get(2)?,
                qty: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(v)
}

/// A wave with everything its page shows.
pub fn wave_view(c: &Connection, key: &str) -> Result<Option<WaveView>> {
    let Some(summary) = find_wave(c, key)? else {
        return Ok(None);
    };
    let id = summary.id;
    Ok(Some(WaveView {
        order_list: wave_orders(c, id)?,
        picks: picks(c, id)?,
        put_back: to_put_back(c, id, None)?,
        summary,
    }))
}

/// Whether a code names a bin the warehouse knows (for telling bin scans from item scans).
pub fn is_bin(c: &Connection, code: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT 1 FROM bins WHERE code = ?1 COLLATE NOCASE")?
            .query_row([code], |_| Ok(()))
            .optional()?
            .is_some(),
    )
}
