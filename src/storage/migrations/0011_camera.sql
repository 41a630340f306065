-- 0011_camera: the bench camera's stills and the label check.

-- A still taken at a bench: the open box with its items (`contents`) or the sealed parcel with
-- its label (`sealed`). The file is content-hashed under the data folder
-- (photos/ab/abcd....jpg), re-encoded by us. A still belongs to the pack it was taken during;
-- `waybill` is the pack's shipment once there is one (a contents still is taken before the
-- waybill exists and gets it when the parcel ships).
CREATE TABLE bench_photos (
    id        INTEGER PRIMARY KEY,
    sha256    TEXT NOT NULL,
    path      TEXT NOT NULL,
    bytes     INTEGER NOT NULL,
    width     INTEGER NOT NULL,
    height    INTEGER NOT NULL,
    moment    TEXT NOT NULL CHECK (moment IN ('contents', 'sealed')),
    station   TEXT NOT NULL,
    operator  TEXT NOT NULL DEFAULT '',
    pack_id   INTEGER,
    order_no  TEXT NOT NULL DEFAULT '',
    waybill   TEXT NOT NULL DEFAULT '',
    -- The QR texts read on it (JSON array) and what the label check made of them
    -- ('' for a contents still; label_match | label_mismatch | label_no_code).
    codes     TEXT NOT NULL DEFAULT '[]',
    check_result TEXT NOT NULL DEFAULT '',
    simulated INTEGER NOT NULL DEFAULT 0,
    at        TEXT NOT NULL
);
CREATE INDEX bench_photos_waybill ON bench_photos(waybill) WHERE waybill <> '';
CREATE INDEX bench_photos_pack ON bench_photos(pack_id);

-- The label check of each shipment: '' (no sealed still), passed, mismatch (the wrong label is
-- on: the parcel must not leave until a still shows the right one or a manager overrides),
-- no_code (no QR read: a warning), overridden.
ALTER TABLE shipments ADD COLUMN label_check TEXT NOT NULL DEFAULT '';
