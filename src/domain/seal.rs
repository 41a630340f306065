//! Sealing the archive (seed 002: waybill stubs are filed after 15 days): the canonical text
//! form of a day's shipments and events, the SHA-256 seal chained to the previous one, the
//! correction chain, and the rules for which days are due and which may be purged. Pure:
//! storage reads the rows and hands them in; nothing here touches a clock or a file. The
//! form is documented in `docs/archive.md`, so anyone can recompute a seal without packbench.

use std::fmt::Write as _;

use jiff::civil::Date;
use jiff::ToSpan;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The version line every hashed text starts with.
pub const FORMAT: &str = "packbench-seal v1";

/// The `prev_hash` of the first seal and of the first correction.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A day is sealed once it is this many days old.
pub const SEAL_AFTER_DAYS: i64 = 15;

/// Lowercase hex of a SHA-256 digest.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of a text, as lowercase hex.
pub fn sha256_hex(text: &[u8]) -> String {
    hex(&Sha256::digest(text))
}

/// A field as it appears in a canonical line: backslash, tab, newline and carriage return
/// escaped as `\\`, `\t`, `\n`, `\r`; everything else as is (UTF-8).
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\t' => o.push_str("\\t"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// A shipment as it is sealed: the recorded fields, its orders and contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealShipment {
    pub waybill: String,
    pub courier: String,
    pub packed_at: String,
    pub station: String,
    pub packer: String,
    pub expected_g: i64,
    pub tolerance_g: i64,
    pub measured_g: i64,
    pub packaging: String,
    pub status: String,
    pub override_by: String,
    pub override_reason: String,
    pub label_template: String,
    /// The label's fill data (the label as printed is rendered from it).
    pub label_data: String,
    pub size_class: String,
    pub postcode: String,
    pub imported: bool,
    /// Order numbers, sorted.
    pub orders: Vec<String>,
    /// (SKU, quantity), sorted by SKU.
    pub items: Vec<(String, i64)>,
}

impl SealShipment {
    /// The shipment's canonical line (no line end): `shipment` then its fields, tab-separated.
    pub fn line(&self) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|(sku, q)| format!("{}:{q}", escape(sku)))
            .collect();
        let orders: Vec<String> = self.orders.iter().map(|o| escape(o)).collect();
        [
            "shipment".to_string(),
            escape(&self.waybill),
            escape(&self.courier),
            escape(&self.packed_at),
            escape(&self.station),
            escape(&self.packer),
            self.expected_g.to_string(),
            self.tolerance_g.to_string(),
            self.measured_g.to_string(),
            escape(&self.packaging),
            escape(&self.status),
            escape(&self.override_by),
            escape(&self.override_reason),
            escape(&self.label_template),
            sha256_hex(self.label_data.as_bytes()),
            escape(&self.size_class),
            escape(&self.postcode),
            if self.imported { "1" } else { "0" }.to_string(),
            orders.join(","),
            items.join(","),
        ]
        .join("\t")
    }
}

/// An event as it is sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealEvent {
    pub id: i64,
    pub at: String,
    pub station: String,
    pub operator: String,
    pub kind: String,
    pub code: String,
    pub verdict: String,
    pub reason: String,
    pub pack_id: Option<i64>,
    pub waybill: String,
    /// The stored JSON text, byte for byte.
    pub detail: String,
}

impl SealEvent {
    pub fn line(&self) -> String {
        [
            "event".to_string(),
            self.id.to_string(),
            escape(&self.at),
            escape(&self.station),
            escape(&self.operator),
            escape(&self.kind),
            escape(&self.code),
            escape(&self.verdict),
            escape(&self.reason),
            self.pack_id.map(|p| p.to_string()).unwrap_or_default(),
            escape(&self.waybill),
            escape(&self.detail),
        ]
        .join("\t")
    }
}

/// Hashes a day's canonical text as it is produced: the head line, then each shipment line
/// in waybill order, then each event line in id order, every line ending in `\n`.
pub struct DayHasher {
    hasher: Sha256,
    pub shipments: i64,
    pub events: i64,
}

impl DayHasher {
    /// Starts a day: `packbench-seal v1` and `day DATE TZ FROM UNTIL`.
    pub fn new(day: &str, tz: &str, from_utc: &str, until_utc: &str) -> DayHasher {
        let mut hasher = Sha256::new();
        hasher.update(format!("{FORMAT}\nday\t{day}\t{tz}\t{from_utc}\t{until_utc}\n").as_bytes());
        DayHasher {
            hasher,
            shipments: 0,
            events: 0,
        }
    }

    pub fn shipment(&mut self, s: &SealShipment) {
        self.hasher.update(s.line().as_bytes());
        self.hasher.update(b"\n");
        self.shipments += 1;
    }

    pub fn event(&mut self, e: &SealEvent) {
        self.hasher.update(e.line().as_bytes());
        self.hasher.update(b"\n");
        self.events += 1;
    }

    /// The content hash (hex).
    pub fn finish(self) -> String {
        hex(&self.hasher.finalize())
    }
}

/// The fields of a seal that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealHeader {
    pub seq: i64,
    pub kind: String,
    pub day: String,
    pub tz: String,
    pub from_utc: String,
    pub until_utc: String,
    pub shipments: i64,
    pub events: i64,
    pub corr_id: i64,
    pub corr_hash: String,
    pub content_hash: String,
    pub prev_hash: String,
    pub sealed_at: String,
    pub sealed_by: String,
}

impl SealHeader {
    /// The seal's own hash: SHA-256 of `packbench-seal v1`, then one line per field in the
    /// order of the struct, each `name<TAB>value`.
    pub fn hash(&self) -> String {
        let text = format!(
            "{FORMAT}\nseq\t{}\nkind\t{}\nday\t{}\ntz\t{}\nfrom\t{}\nuntil\t{}\nshipments\t{}\nevents\t{}\n\
             corr_id\t{}\ncorr_hash\t{}\ncontent\t{}\nprev\t{}\nsealed_at\t{}\nsealed_by\t{}\n",
            self.seq,
            escape(&self.kind),
            escape(&self.day),
            escape(&self.tz),
            escape(&self.from_utc),
            escape(&self.until_utc),
            self.shipments,
            self.events,
            self.corr_id,
            escape(&self.corr_hash),
            escape(&self.content_hash),
            escape(&self.prev_hash),
            escape(&self.sealed_at),
            escape(&self.sealed_by),
        );
        sha256_hex(text.as_bytes())
    }
}

/// The content a purge seal stands for: the days it removed, as the chain had them.
pub fn purge_content(before: &str, days: i64, last_day_hash: &str) -> String {
    sha256_hex(format!("{FORMAT}\npurge\t{before}\t{days}\t{last_day_hash}\n").as_bytes())
}

/// A correction as hashed into the correction chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Correction {
    pub id: i64,
    pub waybill: String,
    pub day: String,
    pub kind: String,
    pub old_status: String,
    pub new_status: String,
    pub reason: String,
    pub detail: String,
    pub at: String,
    pub by: String,
    pub prev_hash: String,
}

impl Correction {
    /// SHA-256 of `packbench-seal v1`, `correction`, then the fields tab-separated.
    pub fn hash(&self) -> String {
        let text = format!(
            "{FORMAT}\ncorrection\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            self.id,
            escape(&self.waybill),
            escape(&self.day),
            escape(&self.kind),
            escape(&self.old_status),
            escape(&self.new_status),
            escape(&self.reason),
            escape(&self.detail),
            escape(&self.at),
            escape(&self.by),
            escape(&self.prev_hash),
        );
        sha256_hex(text.as_bytes())
    }
}

/// The last local day that is due for sealing on `today`: days up to and including it are
/// at least [`SEAL_AFTER_DAYS`] old.
pub fn last_sealable(today: Date) -> Date {
    today
        .checked_sub(SEAL_AFTER_DAYS.days())
        .unwrap_or(Date::MIN)
}

/// The earliest `--before` date a purge may name on `today` keeping `years` of records:
/// everything on or after `today - years` must stay.
pub fn retention_limit(today: Date, years: i64) -> Date {
    today.checked_sub(years.years()).unwrap_or(Date::MIN)
}

/// One finding of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// The local day concerned ('' when it is the chain as a whole).
    pub day: String,
    pub seq: i64,
    pub what: String,
}

/// The stored seal and what was recomputed for it, for [`check_chain`].
#[derive(Debug, Clone)]
pub struct StoredSeal {
    pub header: SealHeader,
    pub hash: String,
    /// The content hash recomputed from the rows (None for a purged day or a purge seal,
    /// whose rows are gone).
    pub recomputed: Option<(String, i64, i64)>,
}

/// Checks the seal chain: each `prev_hash` is the hash before it, each stored hash is the
/// hash of its header, and each recomputed content matches. Every mismatch is named.
pub fn check_chain(seals: &[StoredSeal]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut prev = GENESIS.to_string();
    for (i, s) in seals.iter().enumerate() {
        let h = &s.header;
        let at = |what: String| Mismatch {
            day: h.day.clone(),
            seq: h.seq,
            what,
        };
        if h.seq != i as i64 + 1 {
            out.push(at(format!("seal number {} where {} was due", h.seq, i + 1)));
        }
        if h.prev_hash != prev {
            out.push(at(
                "its previous-seal hash does not match the seal before it".into(),
            ));
        }
        if h.hash() != s.hash {
            out.push(at("the seal's own hash does not match its fields".into()));
        }
        if let Some((content, shipments, events)) = &s.recomputed {
            if *content != h.content_hash {
                out.push(at(format!(
                    "the records do not match the seal: {shipments} shipments and {events} \
                     events now, {} and {} sealed",
                    h.shipments, h.events
                )));
            }
        }
        prev = s.hash.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ship(w: &str) -> SealShipment {
        SealShipment {
            waybill: w.into(),
            courier: "cj".into(),
            packed_at: "2026-01-02T03:04:05.678Z".into(),
            station: "bench-1".into(),
            packer: "B-PACK-01".into(),
            expected_g: 460,
            tolerance_g: 25,
            measured_g: 465,
            packaging: "box-s".into(),
            status: "shipped".into(),
            override_by: String::new(),
            override_reason: "line\tbreak\nhere\\".into(),
            label_template: "shipping-kr-4x6.toml".into(),
            label_data: "{}".into(),
            size_class: String::new(),
            postcode: "06236".into(),
            imported: false,
            orders: vec!["T-1".into(), "T-2".into()],
            items: vec![("SKU-A".into(), 2), ("SKU-B".into(), 1)],
        }
    }

    #[test]
    fn fields_are_escaped_so_a_line_has_exactly_its_tabs() {
        let l = ship("1").line();
        assert_eq!(l.matches('\t').count(), 19, "{l}");
        assert!(!l.contains('\n'));
        assert!(l.contains("line\\tbreak\\nhere\\\\"), "{l}");
        assert!(l.ends_with("T-1,T-2\tSKU-A:2,SKU-B:1"), "{l}");
    }

    #[test]
    fn the_day_hash_is_the_sha256_of_the_documented_text() {
        let s = ship("360000000006");
        let e = SealEvent {
            id: 7,
            at: "2026-01-02T03:04:05Z".into(),
            station: "bench-1".into(),
            operator: "B-PACK-01".into(),
            kind: "scan".into(),
            code: "880".into(),
            verdict: "accepted".into(),
            reason: String::new(),
            pack_id: Some(3),
            waybill: String::new(),
            detail: "{}".into(),
        };
        let mut h = DayHasher::new("2026-01-02", "Asia/Seoul", "a", "b");
        h.shipment(&s);
        h.event(&e);
        let text = format!(
            "packbench-seal v1\nday\t2026-01-02\tAsia/Seoul\ta\tb\n{}\n{}\n",
            s.line(),
            e.line()
        );
        assert_eq!(h.finish(), sha256_hex(text.as_bytes()));
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn header(seq: i64, prev: &str, content: &str) -> SealHeader {
        SealHeader {
            seq,
            kind: "day".into(),
            day: format!("2026-01-{seq:02}"),
            tz: "Asia/Seoul".into(),
            from_utc: String::new(),
            until_utc: String::new(),
            shipments: 1,
            events: 0,
            corr_id: 0,
            corr_hash: String::new(),
            content_hash: content.into(),
            prev_hash: prev.into(),
            sealed_at: "t".into(),
            sealed_by: "system".into(),
        }
    }

    fn chain(contents: &[&str]) -> Vec<StoredSeal> {
        let mut prev = GENESIS.to_string();
        contents
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let h = header(i as i64 + 1, &prev, c);
                let hash = h.hash();
                prev = hash.clone();
                StoredSeal {
                    header: h,
                    hash,
                    recomputed: Some((c.to_string(), 1, 0)),
                }
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_has_no_mismatch_and_each_break_is_named() {
        let good = chain(&["a", "b", "c"]);
        assert!(check_chain(&good).is_empty());

        let mut content = chain(&["a", "b", "c"]);
        content[1].recomputed = Some(("x".into(), 2, 0));
        let m = check_chain(&content);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].day, "2026-01-02");

        let mut relinked = chain(&["a", "b", "c"]);
        relinked[1].header.content_hash = "x".into();
        let m = check_chain(&relinked);
        assert_eq!(
            m.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![2, 2],
            "{m:?}"
        );

        let mut dropped = chain(&["a", "b", "c"]);
        dropped.remove(1);
        let m = check_chain(&dropped);
        assert!(m.iter().all(|m| m.day == "2026-01-03"), "{m:?}");
        assert_eq!(m.len(), 2, "{m:?}");
    }

    #[test]
    fn days_are_due_after_fifteen_days_and_purges_respect_retention() {
        assert_eq!(last_sealable(date(2026, 3, 16)), date(2026, 3, 1));
        assert_eq!(retention_limit(date(2026, 3, 16), 5), date(2021, 3, 16));
        assert_eq!(retention_limit(date(2028, 2, 29), 1), date(2027, 2, 28));
    }

    #[test]
    fn a_correction_hash_covers_every_field() {
        let c = Correction {
            id: 1,
            waybill: "1".into(),
            day: "2026-01-01".into(),
            kind: "status".into(),
            old_status: "shipped".into(),
            new_status: "void".into(),
            reason: "r".into(),
            detail: String::new(),
            at: "t".into(),
            by: "B".into(),
            prev_hash: GENESIS.into(),
        };
        let mut d = c.clone();
        d.new_status = "lost".into();
        assert_ne!(c.hash(), d.hash());
        assert_eq!(c.hash(), c.clone().hash());
    }
}
