-- 0003_ledger: stock per SKU per bin, changed only through ledger entries.

-- Bin locations. `walk_seq` orders the picker's walk (0 = by the code's natural order);
-- `kind`: pick | reserve | receiving | quarantine | staging. Quarantine and staging stock is
-- on hand but not available to sell.
CREATE TABLE bins (
    code       TEXT PRIMARY KEY,
    zone       TEXT NOT NULL DEFAULT '',
    walk_seq   INTEGER NOT NULL DEFAULT 0,
    kind       TEXT NOT NULL DEFAULT 'pick',
    created_at TEXT NOT NULL
);

-- The ledger: append-only. `qty` is signed (+ in, - out). Entries posted together share
-- `posting` (a transfer's two legs, a shipment's lines).
CREATE TABLE stock_entries (
    id          INTEGER PRIMARY KEY,
    posting     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    sku         TEXT NOT NULL,
    bin         TEXT NOT NULL REFERENCES bins(code),
    qty         INTEGER NOT NULL CHECK (qty <> 0),
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL DEFAULT '',
    operator    TEXT NOT NULL DEFAULT '',
    station     TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    -- Who allowed this entry to take the bin below zero ('' = nobody: it did not).
    override_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX stock_entries_sku_bin ON stock_entries(sku, bin, id);
CREATE INDEX stock_entries_bin ON stock_entries(bin, id);
CREATE INDEX stock_entries_ref ON stock_entries(ref) WHERE ref <> '';

-- The running balance, kept by the same transaction that appends an entry; always equal to
-- the sum of the entries (checked by tests).
CREATE TABLE stock (
    sku     TEXT NOT NULL,
    bin     TEXT NOT NULL REFERENCES bins(code),
    on_hand INTEGER NOT NULL,
    PRIMARY KEY (sku, bin)
);
CREATE INDEX stock_bin ON stock(bin);
