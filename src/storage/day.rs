//! SQL of the manager's day page: one read of where the day stands.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::Result;

/// Orders of one state, split by whether they were paid before today's cut-off.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StateCount {
    pub status: String,
    pub due_today: i64,
    pub later: i64,
}

/// A packer's parcels today at one station.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PackerDay {
    pub packer: String,
    pub station: String,
    pub parcels: i64,
    pub first_at: String,
    pub last_at: String,
}

/// Parcels of one courier packed and not yet handed over.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Awaiting {
    pub courier: String,
    pub parcels: i64,
    pub grams: i64,
    pub oldest_packed_at: String,
}

/// An order on hold (yellow) that has not shipped.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Hold {
    pub order_no: String,
    pub paid_at: String,
    pub recipient_name: String,
    pub note: String,
    pub status: String,
}

/// A returned parcel waiting for its inspection to be finished.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OpenReturn {
    pub number: String,
    pub waybill: String,
    pub opened_at: String,
    pub opened_by: String,
    pub lines: i64,
}

/// Everything the day page shows, read in one go.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DayFacts {
    pub states: Vec<StateCount>,
    pub packers: Vec<PackerDay>,
    pub awaiting: Vec<Awaiting>,
    pub holds: Vec<Hold>,
    pub returns: Vec<OpenReturn>,
}

/// Where the day stands: `since` is local midnight and `cutoff` today's cut-off, both UTC
/// RFC 3339. Orders counted are those not yet shipped plus those shipped today.
pub fn day_facts(c: &Connection, since: &str, cutoff: &str) -> Result<DayFacts> {
    let mut f = DayFacts::default();
    let mut st = c.prepare(
        "SELECT o.status,
                SUM(CASE WHEN julianday(o.paid_at) <= julianday(?2) THEN 1 ELSE 0 END),
                SUM(CASE WHEN julianday(o.paid_at) > julianday(?2) THEN 1 ELSE 0 END)
         FROM orders o
         WHERE o.status <> 'packed'
            OR EXISTS (SELECT 1 FROM shipment_orders so JOIN shipments s ON s.waybill = so.waybill
                       WHERE so.order_no = o.order_no AND s.status = 'shipped'
                         AND julianday(s.packed_at) >= julianday(?1))
         GROUP BY o.status ORDER BY o.status",
    )?;
    f.states = st
        .query_map(params![since, cutoff], |r| {
            Ok(StateCount {
                status: r.get(0)?,
                due_today: r.get(1)?,
                later: r.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare(
        "SELECT packer, station, COUNT(*), MIN(packed_at), MAX(packed_at) FROM shipments
         WHERE status = 'shipped' AND julianday(packed_at) >= julianday(?1)
         GROUP BY packer, station ORDER BY COUNT(*) DESC, packer",
    )?;
    f.packers = st
        .query_map([since], |r| {
            Ok(PackerDay {
                packer: r.get(0)?,
                station: r.get(1)?,
                parcels: r.get(2)?,
                first_at: r.get(3)?,
                last_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare(
        "SELECT courier, COUNT(*), SUM(measured_g), MIN(packed_at) FROM shipments
         WHERE status = 'shipped' AND handed_over_at IS NULL
         GROUP BY courier ORDER BY courier",
    )?;
    f.awaiting = st
        .query_map([], |r| {
            Ok(Awaiting {
                courier: r.get(0)?,
                parcels: r.get(1)?,
                grams: r.get(2)?,
                oldest_packed_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare(
        "SELECT order_no, paid_at, recipient_name, note, status FROM orders
         WHERE flag = 'yellow' AND status NOT IN ('packed', 'cancelled')
         ORDER BY paid_at, order_no LIMIT 500",
    )?;
    f.holds = st
        .query_map([], |r| {
            Ok(Hold {
                order_no: r.get(0)?,
                paid_at: r.get(1)?,
                recipient_name: r.get(2)?,
                note: r.get(3)?,
                status: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare(
        "SELECT r.number, r.waybill, r.opened_at, r.opened_by,
                (SELECT COUNT(*) FROM return_lines l WHERE l.return_id = r.id)
         FROM returns r WHERE r.status = 'open' ORDER BY r.id LIMIT 500",
    )?;
    f.returns = st
        .query_map([], |r| {
            Ok(OpenReturn {
                number: r.get(0)?,
                waybill: r.get(1)?,
                opened_at: r.get(2)?,
                opened_by: r.get(3)?,
                lines: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(f)
}
