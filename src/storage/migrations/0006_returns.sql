-- 0006_returns: receiving (goods in against an expected list), returns and exchanges, photos,
-- courier claim drafts, and the links that put these on an order's history.

-- A supplier delivery being counted in (입고 / 收货). Closing it posts one receipt posting.
CREATE TABLE receipts (
    id         INTEGER PRIMARY KEY,
    -- RC-YYYYMMDD-N, printed on the receipt.
    number     TEXT NOT NULL UNIQUE,
    supplier   TEXT NOT NULL DEFAULT '',
    -- The bin scans go to unless they name one (set by scanning a bin label).
    bin        TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'open',   -- open | closed
    opened_at  TEXT NOT NULL,
    opened_by  TEXT NOT NULL,
    closed_at  TEXT,
    closed_by  TEXT NOT NULL DEFAULT '',
    posting    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX receipts_status ON receipts(status, id);

-- What the supplier said they sent (may be empty: a free count).
CREATE TABLE receipt_expected (
    receipt_id INTEGER NOT NULL REFERENCES receipts(id),
    sku        TEXT NOT NULL,
    qty        INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (receipt_id, sku)
);

-- Every scan of a receipt, counted or not: an unknown code is kept with sku = ''.
CREATE TABLE receipt_scans (
    id         INTEGER PRIMARY KEY,
    receipt_id INTEGER NOT NULL REFERENCES receipts(id),
    at         TEXT NOT NULL,
    operator   TEXT NOT NULL DEFAULT '',
    code       TEXT NOT NULL,
    sku        TEXT NOT NULL DEFAULT '',
    bin        TEXT NOT NULL DEFAULT '',
    qty        INTEGER NOT NULL
);
CREATE INDEX receipt_scans_receipt ON receipt_scans(receipt_id, id);

-- A returned parcel being inspected (반품 / 退货), found by the original waybill, an order
-- number or the return waybill.
CREATE TABLE returns (
    id             INTEGER PRIMARY KEY,
    number         TEXT NOT NULL UNIQUE,       -- RT-YYYYMMDD-N
    waybill        TEXT NOT NULL,              -- the original shipment
    return_waybill TEXT NOT NULL DEFAULT '',
    scanned        TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'open',   -- open | closed
    station        TEXT NOT NULL DEFAULT '',
    opened_at      TEXT NOT NULL,
    opened_by      TEXT NOT NULL,
    closed_at      TEXT,
    closed_by      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX returns_waybill ON returns(waybill);
CREATE INDEX returns_return_waybill ON returns(return_waybill) WHERE return_waybill <> '';
CREATE INDEX returns_status ON returns(status, id);

-- One inspected line: `condition` good | damaged | wrong; `outcome` restock | quarantine.
-- `exchange_order` is the replacement order when the customer asked for an exchange.
CREATE TABLE return_lines (
    id             INTEGER PRIMARY KEY,
    return_id      INTEGER NOT NULL REFERENCES returns(id),
    order_no       TEXT NOT NULL,
    sku            TEXT NOT NULL,
    qty            INTEGER NOT NULL CHECK (qty > 0),
    condition      TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    bin            TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    -- Who is at fault: '' | courier | customer | packing | supplier.
    fault          TEXT NOT NULL DEFAULT '',
    photos         TEXT NOT NULL DEFAULT '[]',
    posting        INTEGER NOT NULL DEFAULT 0,
    exchange_order TEXT NOT NULL DEFAULT '',
    at             TEXT NOT NULL,
    operator       TEXT NOT NULL
);
CREATE INDEX return_lines_return ON return_lines(return_id);
CREATE INDEX return_lines_order ON return_lines(order_no, sku);

-- Photos kept as content-hashed files under the data folder (photos/ab/abcd....ext).
CREATE TABLE photos (
    sha256       TEXT PRIMARY KEY,
    path         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    bytes        INTEGER NOT NULL,
    at           TEXT NOT NULL,
    operator     TEXT NOT NULL DEFAULT '',
    return_id    INTEGER REFERENCES returns(id)
);

-- A claim against the courier, drafted at inspection (damaged in transit); the archive
-- completes it. One draft per return; lines and photos are JSON arrays.
CREATE TABLE claim_drafts (
    id         INTEGER PRIMARY KEY,
    return_id  INTEGER NOT NULL UNIQUE REFERENCES returns(id),
    waybill    TEXT NOT NULL,
    courier    TEXT NOT NULL,
    reason     TEXT NOT NULL,
    lines      TEXT NOT NULL DEFAULT '[]',
    photos     TEXT NOT NULL DEFAULT '[]',
    status     TEXT NOT NULL DEFAULT 'draft',
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX claim_drafts_waybill ON claim_drafts(waybill);

-- An exchange: the replacement order, the order and parcel it replaces, and the new
-- parcel's waybill once it ships (stamped in the shipment's own transaction).
CREATE TABLE exchanges (
    order_no          TEXT PRIMARY KEY,
    original_order    TEXT NOT NULL,
    original_waybill  TEXT NOT NULL,
    return_id         INTEGER NOT NULL REFERENCES returns(id),
    new_waybill       TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL
);
CREATE INDEX exchanges_original ON exchanges(original_order);

-- Events that belong to an order but carry neither its pack nor its waybill (a return
-- line, an exchange created), so the order's history finds them by an index.
CREATE TABLE order_events (
    order_no TEXT NOT NULL,
    event_id INTEGER NOT NULL REFERENCES events(id),
    PRIMARY KEY (order_no, event_id)
);
