-- 0010_bills: courier bills (the monthly statement), their lines and reconciliation reports;
-- claims against couriers with their status history, photos and amounts.
-- Money is integer minor units of the courier's currency; times UTC RFC 3339.

-- One imported statement of one courier's month. Reconciling again replaces the draft's
-- report; accepting locks the month: at most one accepted bill per courier and month, and
-- its lines count as already billed for the duplicate check of later months.
CREATE TABLE bills (
    id             INTEGER PRIMARY KEY,
    courier        TEXT NOT NULL,
    month          TEXT NOT NULL,                  -- YYYY-MM
    file_name      TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    layout         TEXT NOT NULL,
    currency       TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL DEFAULT 'draft',  -- draft | accepted
    stated_total   INTEGER,
    stated_line    INTEGER,
    line_count     INTEGER NOT NULL,
    sum_of_lines   INTEGER NOT NULL,
    expected_total INTEGER NOT NULL DEFAULT 0,
    disputed_total INTEGER NOT NULL DEFAULT 0,
    -- The reconciliation report (JSON) as last made, and when.
    report         TEXT NOT NULL DEFAULT '{}',
    reconciled_at  TEXT NOT NULL,
    imported_at    TEXT NOT NULL,
    imported_by    TEXT NOT NULL DEFAULT '',
    accepted_at    TEXT,
    accepted_by    TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX bills_accepted_month ON bills(courier, month) WHERE status = 'accepted';
CREATE INDEX bills_courier_month ON bills(courier, month, id);

CREATE TABLE bill_lines (
    bill_id         INTEGER NOT NULL REFERENCES bills(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    line            INTEGER NOT NULL,              -- the line (sheet row) in the file
    waybill         TEXT NOT NULL,
    ship_date       TEXT NOT NULL DEFAULT '',
    billed_weight_g INTEGER,
    size_class      TEXT NOT NULL DEFAULT '',
    zone            TEXT NOT NULL DEFAULT '',
    amount          INTEGER NOT NULL,
    kind            TEXT NOT NULL,                 -- delivery | return | redelivery | surcharge | adjustment
    PRIMARY KEY (bill_id, seq)
);
CREATE INDEX bill_lines_waybill ON bill_lines(waybill);

-- A claim against the courier (분실 / 파손 / 丢件 / 破损 ...). `evidence` is the dispatch
-- record captured when the claim was opened (measured and expected weight, packer, scan
-- log, manifest and hand-over time), so later changes elsewhere do not change the claim.
CREATE TABLE claims (
    id            INTEGER PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,          -- CL-YYYYMMDD-N
    waybill       TEXT NOT NULL,
    courier       TEXT NOT NULL,
    kind          TEXT NOT NULL,                 -- lost | damaged | short | wrong_item | undeliverable
    status        TEXT NOT NULL DEFAULT 'open',  -- open | submitted | accepted | rejected | paid | closed
    description   TEXT NOT NULL DEFAULT '',
    claimed       INTEGER NOT NULL DEFAULT 0,
    accepted      INTEGER NOT NULL DEFAULT 0,
    paid          INTEGER NOT NULL DEFAULT 0,
    -- The return inspection's draft this claim was opened from (one claim per draft).
    draft_id      INTEGER UNIQUE REFERENCES claim_drafts(id),
    -- The accepted bill its amount was deducted from (it then feeds no later month).
    deducted_bill INTEGER REFERENCES bills(id),
    evidence      TEXT NOT NULL DEFAULT '{}',
    opened_at     TEXT NOT NULL,
    opened_by     TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX claims_waybill ON claims(waybill);
CREATE INDEX claims_status ON claims(status, courier);

-- Every status a claim passed through, with its date and who set it.
CREATE TABLE claim_history (
    id       INTEGER PRIMARY KEY,
    claim_id INTEGER NOT NULL REFERENCES claims(id),
    at       TEXT NOT NULL,
    status   TEXT NOT NULL,
    claimed  INTEGER NOT NULL DEFAULT 0,
    accepted INTEGER NOT NULL DEFAULT 0,
    paid     INTEGER NOT NULL DEFAULT 0,
    by       TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX claim_history_claim ON claim_history(claim_id, id);

-- Photos attached to a claim (the files are the content-hashed `photos` rows). `via` says how
-- it came: uploaded to the claim, or linked because its QR code or barcode names the waybill.
CREATE TABLE claim_photos (
    claim_id INTEGER NOT NULL REFERENCES claims(id),
    sha256   TEXT NOT NULL REFERENCES photos(sha256),
    via      TEXT NOT NULL,                    -- upload | qr | barcode
    at       TEXT NOT NULL,
    by       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (claim_id, sha256)
);

-- What was read on a photo (a QR code or a barcode), kept so a photo is decoded once.
CREATE TABLE photo_codes (
    sha256    TEXT PRIMARY KEY REFERENCES photos(sha256),
    symbology TEXT NOT NULL,                   -- qr | code128 | ''
    code      TEXT NOT NULL DEFAULT '',
    waybill   TEXT NOT NULL DEFAULT ''
);
