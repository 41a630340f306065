//! The manager's day: orders against today's cut-off, waves, stations and their packers'
//! throughput, parcels waiting for their courier, returns to inspect and holds, in one view.

use serde_json::{json, Value};

use super::{App, ServiceError};
use crate::i18n::Lang;
use crate::storage;

/// Local midnight and today's cut-off of the warehouse, as UTC timestamps.
pub(crate) fn today_bounds(app: &App) -> (jiff::Timestamp, jiff::Timestamp) {
    let tz =
        jiff::tz::TimeZone::get(&app.config.warehouse.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let now = jiff::Timestamp::now().to_zoned(tz);
    let midnight = now.start_of_day().unwrap_or(now.clone());
    let cutoff = midnight
        .checked_add(jiff::SignedDuration::from_mins(app.config.cutoff_minutes()))
        .unwrap_or(midnight.clone());
    (midnight.timestamp(), cutoff.timestamp())
}

/// Parcels per hour over a packer's working span today (at least one hour, so the first
/// parcels of the morning do not read as a record pace).
pub(crate) fn per_hour(parcels: i64, first: &str, last: &str) -> f64 {
    let span = match (
        first.parse::<jiff::Timestamp>(),
        last.parse::<jiff::Timestamp>(),
    ) {
        (Ok(a), Ok(b)) => (b - a).get_seconds() as f64 / 3600.0,
        _ => 0.0,
    };
    let hours = span.max(1.0);
    (parcels as f64 / hours * 10.0).round() / 10.0
}

impl App {
    /// Where the day stands, for the day page and `GET /api/v1/day`.
    pub async fn day(&self, lang: Lang) -> Result<Value, ServiceError> {
        let (midnight, cutoff) = today_bounds(self);
        let (since, cut) = (midnight.to_string(), cutoff.to_string());
        let (facts, waves) = self
            .db
            .read(move |c| {
                let facts = storage::day::day_facts(c, &since, &cut)?;
                let waves: Vec<_> = storage::waves::list_waves(c, 200)?
                    .into_iter()
                    .filter(|w| w.status == "open")
                    .collect();
                Ok((facts, waves))
            })
            .await?;
        let mut stations = Vec::new();
        for id in self.station_ids() {
            let v = self.station_view(&id, lang).await?;
            let packed: i64 = facts
                .packers
                .iter()
                .filter(|p| p.station == id)
                .map(|p| p.parcels)
                .sum();
            stations.push(json!({
                "station": id,
                "name": v["name"],
                "operator": v["operator"],
                "open_order": v["pack"]["orders"][0]["order_no"],
                "devices": v["devices"],
                "print_failed": v["print_failed"],
                "packed_today": packed,
            }));
        }
        let packers: Vec<Value> = facts
            .packers
            .iter()
            .map(|p| {
                let name = self
                    .config
                    .operator(&p.packer)
                    .map(|o| o.name.clone())
                    .unwrap_or_else(|| p.packer.clone());
                json!({ "badge": p.packer, "name": name, "station": p.station,
                        "parcels": p.parcels, "first_at": p.first_at, "last_at": p.last_at,
                        "per_hour": per_hour(p.parcels, &p.first_at, &p.last_at) })
            })
            .collect();
        let due: i64 = facts.states.iter().map(|s| s.due_today).sum();
        let due_open: i64 = facts
            .states
            .iter()
            .filter(|s| s.status != "packed" && s.status != "cancelled")
            .map(|s| s.due_today)
            .sum();
        Ok(json!({
            "since": midnight.to_string(),
            "cutoff_at": cutoff.to_string(),
            "cutoff": self.config.warehouse.cutoff,
            "cutoff_minutes_left": self.cutoff_minutes_left(),
            "orders": facts.states,
            "due_today": due,
            "due_today_open": due_open,
            "waves": waves,
            "stations": stations,
            "packers": packers,
            "awaiting_handover": facts.awaiting,
            "returns_to_inspect": facts.returns,
            "holds": facts.holds,
            "stocktake": self.stocktake_status(lang).await?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::per_hour;

    #[test]
    fn throughput_is_per_hour_of_the_working_span_with_a_one_hour_floor() {
        assert_eq!(
            per_hour(30, "2026-11-23T00:00:00Z", "2026-11-23T02:00:00Z"),
            15.0
        );
        assert_eq!(
            per_hour(12, "2026-11-23T00:00:00Z", "2026-11-23T00:10:00Z"),
            12.0
        );
        assert_eq!(per_hour(5, "bad", "2026-11-23T00:10:00Z"), 5.0);
    }
}
