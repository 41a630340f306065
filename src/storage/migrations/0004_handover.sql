-- 0004_handover: courier hand-over manifests (인계 명세서 / 交接单).
-- A manifest gathers the parcels handed to one courier at one pick-up. While it is open,
-- parcels are scanned onto it; closing it fixes its list, keeps the printed PDF (both
-- copies) and stamps each shipment with the manifest and the hand-over time.

CREATE TABLE manifests (
    id           INTEGER PRIMARY KEY,
    -- The number printed on the manifest and its barcode: HM-YYYYMMDD-COURIER-N.
    number       TEXT NOT NULL UNIQUE,
    courier      TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',   -- open | closed
    -- The warehouse's local date the manifest was opened on (YYYY-MM-DD).
    local_date   TEXT NOT NULL,
    station      TEXT NOT NULL DEFAULT '',
    opened_at    TEXT NOT NULL,
    opened_by    TEXT NOT NULL,
    closed_at    TEXT,
    closed_by    TEXT NOT NULL DEFAULT '',
    -- Parcels packed that day for the courier but left off, and the manager who allowed it.
    missing      TEXT NOT NULL DEFAULT '[]',
    confirmed_by TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT '',
    -- Totals and the printed PDF (the courier's copy and ours), fixed at closing.
    parcels      INTEGER NOT NULL DEFAULT 0,
    total_g      INTEGER NOT NULL DEFAULT 0,
    pdf          BLOB
);
CREATE INDEX manifests_status ON manifests(status, courier);

-- The parcels on a manifest, in the order they were scanned. A parcel is on at most one
-- open manifest; that is checked in the same write as the insert.
CREATE TABLE manifest_parcels (
    manifest_id INTEGER NOT NULL REFERENCES manifests(id),
    waybill     TEXT NOT NULL REFERENCES shipments(waybill),
    seq         INTEGER NOT NULL,
    scanned_at  TEXT NOT NULL,
    scanned_by  TEXT NOT NULL,
    station     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (manifest_id, waybill)
);
CREATE INDEX manifest_parcels_waybill ON manifest_parcels(waybill);

-- Codes scanned at a hand-over that are not packed parcels (unknown codes, void waybills):
-- kept, so a parcel nobody packed or a label that was voided is looked into, not lost.
CREATE TABLE manifest_strays (
    id          INTEGER PRIMARY KEY,
    manifest_id INTEGER NOT NULL REFERENCES manifests(id),
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,   -- unknown | void
    scanned_at  TEXT NOT NULL,
    scanned_by  TEXT NOT NULL,
    station     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX manifest_strays_manifest ON manifest_strays(manifest_id);

-- Each shipment records the manifest it was handed over on and when.
ALTER TABLE shipments ADD COLUMN manifest_id INTEGER REFERENCES manifests(id);
ALTER TABLE shipments ADD COLUMN handed_over_at TEXT;
