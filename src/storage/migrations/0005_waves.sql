-- 0005_waves: waves of ready orders, their pick list and scan-to-confirm picking.
-- A wave takes ready orders (by cut-off, channel, courier, the evening batch or a list),
-- allocates each order's units to bins in walk order and keeps that plan: one pick line per
-- SKU per bin (`wave_picks`), and which order each line's units are for (`wave_allocations`),
-- so a shortage holds exactly the orders it leaves short and a cancelled order's picked
-- goods are known and put back.

CREATE TABLE waves (
    id         INTEGER PRIMARY KEY,
    -- Printed on the pick list and its barcode: WV-YYYYMMDD-N (the warehouse's local date).
    number     TEXT NOT NULL UNIQUE,
    -- cutoff | channel | courier | evening | orders; `value` names the channel or courier.
    criterion  TEXT NOT NULL,
    value      TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL DEFAULT 'open',   -- open | closed
    local_date TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    closed_at  TEXT
);
CREATE INDEX waves_status ON waves(status, id);

-- The orders of a wave. `state`: picking (in the wave), held (short: yellow flag),
-- cancelled (by the manager). `open` is 1 while the order counts as being in the open wave;
-- the partial unique index makes "an order is in at most one open wave" a fact of the file.
CREATE TABLE wave_orders (
    wave_id  INTEGER NOT NULL REFERENCES waves(id),
    order_no TEXT NOT NULL REFERENCES orders(order_no),
    -- The slip number printed on the order's pick slip (1, 2, ...; 0 for an order held when
    -- the wave was made, which gets no slip).
    slip     INTEGER NOT NULL,
    state    TEXT NOT NULL,
    open     INTEGER NOT NULL DEFAULT 1,
    -- Why the order left the wave (JSON: the short SKU, bin and quantities, or the reason).
    reason   TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (wave_id, order_no)
);
CREATE UNIQUE INDEX wave_orders_open ON wave_orders(order_no) WHERE open = 1;
CREATE INDEX wave_orders_order ON wave_orders(order_no);

-- The pick list: one line per SKU per bin, `seq` in walk order. `tracked` = 0 when the
-- ledger has no stock of the SKU and the bin is the catalog's location (nothing is posted).
CREATE TABLE wave_picks (
    id      INTEGER PRIMARY KEY,
    wave_id INTEGER NOT NULL REFERENCES waves(id),
    seq     INTEGER NOT NULL,
    bin     TEXT NOT NULL,
    sku     TEXT NOT NULL,
    qty     INTEGER NOT NULL,
    picked  INTEGER NOT NULL DEFAULT 0,
    short   INTEGER NOT NULL DEFAULT 0,
    tracked INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX wave_picks_wave ON wave_picks(wave_id, seq);
CREATE INDEX wave_picks_open ON wave_picks(sku, bin) WHERE tracked = 1;

-- Which order each pick line's units are for, in the order picked units are assigned.
-- An order that leaves the wave keeps `qty` = what was picked for it by then; `put_back`
-- counts the units taken from STAGING back to a bin.
CREATE TABLE wave_allocations (
    pick_id  INTEGER NOT NULL REFERENCES wave_picks(id),
    order_no TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    qty      INTEGER NOT NULL,
    picked   INTEGER NOT NULL DEFAULT 0,
    put_back INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pick_id, order_no)
);
CREATE INDEX wave_allocations_order ON wave_allocations(order_no);
