-- The first schema. Never edit a migration that has shipped: add the next numbered file.
-- Times are UTC RFC 3339 text; weights integer grams; money integer minor units.

CREATE TABLE catalog_items (
    sku           TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    unit_weight_g INTEGER NOT NULL,
    location      TEXT NOT NULL DEFAULT '',
    cost          INTEGER NOT NULL DEFAULT 0,
    category      TEXT NOT NULL DEFAULT '',
    option        TEXT NOT NULL DEFAULT ''
);

CREATE TABLE barcodes (
    code TEXT PRIMARY KEY,
    sku  TEXT NOT NULL REFERENCES catalog_items(sku) ON DELETE CASCADE
);
CREATE INDEX barcodes_sku ON barcodes(sku);

CREATE TABLE orders (
    order_no        TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    paid_at         TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    recipient_phone TEXT NOT NULL,
    address         TEXT NOT NULL,
    postcode        TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    flag            TEXT NOT NULL DEFAULT 'none',
    courier         TEXT NOT NULL DEFAULT '',
    -- A pre-printed waybill from the import (scanning it opens the order).
    preprinted      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'ready',
    -- The waybill the order shipped under, once packed.
    waybill         TEXT NOT NULL DEFAULT '',
    imported_at     TEXT NOT NULL
);
CREATE INDEX orders_status ON orders(status, paid_at);
CREATE INDEX orders_preprinted ON orders(preprinted) WHERE preprinted <> '';

CREATE TABLE order_lines (
    order_no TEXT NOT NULL REFERENCES orders(order_no) ON DELETE CASCADE,
    line_no  INTEGER NOT NULL,
    sku      TEXT NOT NULL,
    qty      INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (order_no, line_no)
);

-- Every scan, weight reading, verdict, print, reprint, void and shipment, in order.
CREATE TABLE events (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    station  TEXT NOT NULL DEFAULT '',
    operator TEXT NOT NULL DEFAULT '',
    kind     TEXT NOT NULL,
    code     TEXT NOT NULL DEFAULT '',
    verdict  TEXT NOT NULL DEFAULT '',
    reason   TEXT NOT NULL DEFAULT '',
    pack_id  INTEGER,
    waybill  TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX events_station ON events(station, id);
CREATE INDEX events_pack ON events(pack_id);
CREATE INDEX events_waybill ON events(waybill) WHERE waybill <> '';

CREATE TABLE packs (
    id                INTEGER PRIMARY KEY,
    station           TEXT NOT NULL,
    operator          TEXT NOT NULL,
    status            TEXT NOT NULL,   -- scanning | weighing | recount | shipped | cancelled
    opened_at         TEXT NOT NULL,
    closed_at         TEXT,
    packaging         TEXT,
    failed_measured_g INTEGER,
    -- The waybill reserved for this parcel; kept so a retry after a crash reuses it.
    waybill           TEXT
);
CREATE INDEX packs_open ON packs(station) WHERE status IN ('scanning', 'weighing', 'recount');

CREATE TABLE pack_orders (
    pack_id  INTEGER NOT NULL REFERENCES packs(id),
    seq      INTEGER NOT NULL,
    order_no TEXT NOT NULL REFERENCES orders(order_no),
    PRIMARY KEY (pack_id, order_no)
);

CREATE TABLE pack_counts (
    pack_id INTEGER NOT NULL REFERENCES packs(id),
    sku     TEXT NOT NULL,
    scanned INTEGER NOT NULL,
    PRIMARY KEY (pack_id, sku)
);

CREATE TABLE waybills (
    number  TEXT PRIMARY KEY,
    courier TEXT NOT NULL,
    status  TEXT NOT NULL,   -- reserved | used | void
    source  TEXT NOT NULL,   -- band | preprinted
    at      TEXT NOT NULL
);

CREATE TABLE band_cursors (
    courier TEXT NOT NULL,
    first   INTEGER NOT NULL,
    last    INTEGER NOT NULL,
    next    INTEGER NOT NULL,
    PRIMARY KEY (courier, first)
);

CREATE TABLE shipments (
    waybill         TEXT PRIMARY KEY,
    courier         TEXT NOT NULL,
    pack_id         INTEGER NOT NULL REFERENCES packs(id),
    station         TEXT NOT NULL,
    packer          TEXT NOT NULL,
    packed_at       TEXT NOT NULL,
    expected_g      INTEGER NOT NULL,
    tolerance_g     INTEGER NOT NULL,
    measured_g      INTEGER NOT NULL,
    packaging       TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'shipped',   -- shipped | void
    override_by     TEXT NOT NULL DEFAULT '',
    override_reason TEXT NOT NULL DEFAULT '',
    label_template  TEXT NOT NULL DEFAULT '',
    label_zpl       BLOB,
    label_pdf       BLOB
);
CREATE INDEX shipments_packed_at ON shipments(packed_at);

CREATE TABLE shipment_orders (
    waybill  TEXT NOT NULL REFERENCES shipments(waybill),
    order_no TEXT NOT NULL,
    PRIMARY KEY (waybill, order_no)
);

CREATE TABLE shipment_items (
    waybill TEXT NOT NULL REFERENCES shipments(waybill),
    sku     TEXT NOT NULL,
    qty     INTEGER NOT NULL,
    PRIMARY KEY (waybill, sku)
);

-- Who is signed in at each bench (survives a restart).
CREATE TABLE station_sessions (
    station  TEXT PRIMARY KEY,
    operator TEXT NOT NULL,
    since    TEXT NOT NULL
);
