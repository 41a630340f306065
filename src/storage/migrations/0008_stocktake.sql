-- 0008_stocktake: the monthly stocktake (재고 실사 / 盘点), 28th to the month's last day.
-- A cycle per month; a count task per bin location; every scan kept; each submitted count
-- with the ledger moment it is compared against; the variance lines the manager approves.

-- The local date the stocktake calendar started on this server: windows that opened before
-- it are never opened after the fact (one row).
CREATE TABLE stocktake_calendar (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    since TEXT NOT NULL
);

CREATE TABLE stocktake_cycles (
    id           INTEGER PRIMARY KEY,
    -- ST-YYYY-MM, and the month YYYY-MM the window belongs to (one cycle a month).
    number       TEXT NOT NULL UNIQUE,
    month        TEXT NOT NULL UNIQUE,
    -- The window's local dates, both inclusive, and the zone they are in.
    opens        TEXT NOT NULL,
    closes       TEXT NOT NULL,
    time_zone    TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',   -- open | closed
    -- The zones counted (JSON array; [] = every bin except staging).
    zones        TEXT NOT NULL DEFAULT '[]',
    opened_at    TEXT NOT NULL,
    -- 'system' when the cycle opened itself at 00:00 local on the 28th.
    opened_by    TEXT NOT NULL,
    closed_at    TEXT,
    closed_by    TEXT NOT NULL DEFAULT '',
    close_reason TEXT NOT NULL DEFAULT '',
    -- The variance report as it stood at closing (archived with the cycle).
    report_pdf   BLOB,
    report_xlsx  BLOB
);

-- One task per bin location. status: open (nobody counting) | counting (claimed) |
-- recount (a second count by another counter is needed) | counted (final).
CREATE TABLE stocktake_tasks (
    id            INTEGER PRIMARY KEY,
    cycle_id      INTEGER NOT NULL REFERENCES stocktake_cycles(id),
    bin           TEXT NOT NULL REFERENCES bins(code),
    zone          TEXT NOT NULL DEFAULT '',
    walk_seq      INTEGER NOT NULL DEFAULT 0,
    -- The task's place in the counters' walk (bins in walk order when the cycle opened).
    seq           INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'open',
    -- The count being made or next to make: 1, or 2 for a recount.
    round         INTEGER NOT NULL DEFAULT 1,
    claimed_by    TEXT NOT NULL DEFAULT '',
    claimed_at    TEXT,
    -- Numbers each claim: a count is the scans of the claim that submitted it, so a counter
    -- who gives a task up leaves nothing behind for the next one.
    claim_no      INTEGER NOT NULL DEFAULT 0,
    -- The counter has scanned the location's label for this round.
    bin_confirmed INTEGER NOT NULL DEFAULT 0,
    -- Who made the first count (a recount must be made by someone else).
    first_counter TEXT NOT NULL DEFAULT '',
    UNIQUE (cycle_id, bin)
);
CREATE INDEX stocktake_tasks_status ON stocktake_tasks(cycle_id, status);
CREATE INDEX stocktake_tasks_seq ON stocktake_tasks(cycle_id, seq);

-- Every scan, committed before it is answered. sku '' = a code the catalogue does not know
-- (recorded as found). qty is signed (a typed correction may take units off).
CREATE TABLE stocktake_scans (
    id      INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES stocktake_tasks(id),
    round   INTEGER NOT NULL,
    claim_no INTEGER NOT NULL,
    at      TEXT NOT NULL,
    counter TEXT NOT NULL,
    code    TEXT NOT NULL,
    sku     TEXT NOT NULL DEFAULT '',
    qty     INTEGER NOT NULL
);
CREATE INDEX stocktake_scans_task ON stocktake_scans(task_id, claim_no);

-- Each submitted count: who, when, and the ledger moment (the id of the newest stock entry
-- when it was submitted) that its location is compared against.
CREATE TABLE stocktake_counts (
    id           INTEGER PRIMARY KEY,
    task_id      INTEGER NOT NULL REFERENCES stocktake_tasks(id),
    round        INTEGER NOT NULL,
    counter      TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    snapshot     INTEGER NOT NULL,
    -- Why a recount was asked for (JSON list of {sku, beyond}), '[]' when none.
    recount      TEXT NOT NULL DEFAULT '[]',
    UNIQUE (task_id, round)
);

-- The variance lines of the final count of each task: book (ledger as of the count's
-- moment), counted, variance = counted - book, the first count when there was a recount,
-- cost per unit, and whether the manager approved it (status pending | approved | recount
-- | unknown). sku '' with code = an unknown code found there (never posted).
CREATE TABLE stocktake_lines (
    id            INTEGER PRIMARY KEY,
    cycle_id      INTEGER NOT NULL REFERENCES stocktake_cycles(id),
    task_id       INTEGER NOT NULL REFERENCES stocktake_tasks(id),
    bin           TEXT NOT NULL,
    sku           TEXT NOT NULL,
    code          TEXT NOT NULL DEFAULT '',
    book          INTEGER NOT NULL,
    counted       INTEGER NOT NULL,
    variance      INTEGER NOT NULL,
    first_counted INTEGER,
    cost          INTEGER NOT NULL DEFAULT 0,
    counted_at    TEXT NOT NULL,
    counter       TEXT NOT NULL,
    snapshot      INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    -- The approval that took the line (one per approve action), and the ledger posting its
    -- adjustment went into (none for a line without variance).
    approval      INTEGER,
    posting       INTEGER,
    approved_by   TEXT NOT NULL DEFAULT '',
    approved_at   TEXT
);
CREATE INDEX stocktake_lines_cycle ON stocktake_lines(cycle_id, status);
-- In walk order (task), then SKU: the report reads the lines in this order without sorting.
CREATE INDEX stocktake_lines_task ON stocktake_lines(task_id, sku, code);
CREATE INDEX stocktake_lines_approval ON stocktake_lines(approval) WHERE approval IS NOT NULL;
