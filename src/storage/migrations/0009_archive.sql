-- 0009_archive: the waybill archive. Search columns and indexes on shipments, shipments
-- imported from another system, photos linked to a waybill, and the seals: each local day's
-- shipments and events hashed (SHA-256) once 15 days old and chained to the previous seal.
-- A sealed row is never edited: a later change is a correction (its own hash chain), and
-- triggers refuse any other UPDATE or DELETE of a sealed day's rows. docs/archive.md has the
-- canonical form the hashes are taken over.

-- What an imported history file carries beyond our own shipments, and whether the row came
-- from such a file (it then has no pack, scan log or label).
ALTER TABLE shipments ADD COLUMN size_class TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN postcode TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
-- Search copies of the first order's recipient (filled by the trigger below when the order
-- is linked): the name, the phone's digits, and its last four digits, the way Korean
-- couriers and customers quote a phone number. Our own parcels also take the order's
-- postcode (island and remote-area surcharges are decided by it).
ALTER TABLE shipments ADD COLUMN recipient_name TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN phone_digits TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN phone_last4 TEXT NOT NULL DEFAULT '';

CREATE INDEX shipments_phone_last4 ON shipments(phone_last4, packed_at);
CREATE INDEX shipments_courier ON shipments(courier, packed_at);
CREATE INDEX shipments_status ON shipments(status, packed_at);
CREATE INDEX shipment_orders_order ON shipment_orders(order_no);
-- A day's events are read by time when it is sealed and verified.
CREATE INDEX events_at ON events(at);

-- The first order linked to a shipment gives its search copy of the recipient. Digits are
-- kept by removing the separators phone numbers are written with.
CREATE TRIGGER archive_recipient_copy AFTER INSERT ON shipment_orders
BEGIN
    UPDATE shipments SET
        recipient_name = (SELECT recipient_name FROM orders WHERE order_no = NEW.order_no),
        phone_digits = (SELECT replace(replace(replace(replace(replace(replace(recipient_phone,
                            '-', ''), ' ', ''), '+', ''), '(', ''), ')', ''), '.', '')
                        FROM orders WHERE order_no = NEW.order_no)
    WHERE waybill = NEW.waybill AND recipient_name = '' AND phone_digits = ''
      AND EXISTS (SELECT 1 FROM orders WHERE order_no = NEW.order_no);
    UPDATE shipments SET phone_last4 = substr(phone_digits, -4)
    WHERE waybill = NEW.waybill AND phone_last4 = '' AND length(phone_digits) >= 4;
    -- Our own parcels go to the order's postcode (imported ones bring their own).
    UPDATE shipments SET postcode = (SELECT postcode FROM orders WHERE order_no = NEW.order_no)
    WHERE waybill = NEW.waybill AND postcode = '' AND imported = 0
      AND EXISTS (SELECT 1 FROM orders WHERE order_no = NEW.order_no);
END;

-- The shipments recorded before this migration.
UPDATE shipments SET
    recipient_name = coalesce((SELECT o.recipient_name FROM shipment_orders so
                               JOIN orders o ON o.order_no = so.order_no
                               WHERE so.waybill = shipments.waybill ORDER BY so.order_no LIMIT 1), ''),
    phone_digits = coalesce((SELECT replace(replace(replace(replace(replace(replace(o.recipient_phone,
                                 '-', ''), ' ', ''), '+', ''), '(', ''), ')', ''), '.', '')
                             FROM shipment_orders so JOIN orders o ON o.order_no = so.order_no
                             WHERE so.waybill = shipments.waybill ORDER BY so.order_no LIMIT 1), '');
UPDATE shipments SET phone_last4 = substr(phone_digits, -4) WHERE length(phone_digits) >= 4;
UPDATE shipments SET postcode = coalesce((SELECT o.postcode FROM shipment_orders so
                                          JOIN orders o ON o.order_no = so.order_no
                                          WHERE so.waybill = shipments.waybill ORDER BY so.order_no LIMIT 1), '');

-- Photos named by a waybill (the bench camera, a claim's evidence); return photos are found
-- through their return.
ALTER TABLE photos ADD COLUMN waybill TEXT NOT NULL DEFAULT '';
CREATE INDEX photos_waybill ON photos(waybill) WHERE waybill <> '';

-- How far the archive is sealed: every row stamped before `sealed_until` (UTC, compared as
-- text without its zone letter, so 'YYYY-MM-DDTHH:MM:SS') belongs to a sealed day. Empty
-- while nothing is sealed.
CREATE TABLE archive_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_until TEXT NOT NULL DEFAULT ''
);
INSERT INTO archive_state (id, sealed_until) VALUES (1, '');

-- The seal chain, in order. `kind` day: one local day's shipments and events; `kind`
-- purge: an explicit purge of the days before `day`, whose seals stay so the chain still
-- verifies. `hash` = SHA-256 over the header fields, `content_hash` and `prev_hash`.
CREATE TABLE archive_seals (
    seq          INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL,            -- day | purge
    day          TEXT NOT NULL,            -- local YYYY-MM-DD (purge: the --before date)
    tz           TEXT NOT NULL,
    from_utc     TEXT NOT NULL,
    until_utc    TEXT NOT NULL,
    shipments    INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    -- The corrections chain as it stood when this seal was made (0 and '' if empty).
    corr_id      INTEGER NOT NULL,
    corr_hash    TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL,
    sealed_at    TEXT NOT NULL,
    sealed_by    TEXT NOT NULL
);
CREATE INDEX archive_seals_day ON archive_seals(day, kind);

-- Changes to a sealed day, appended, never edited. `kind` status: the shipment's status
-- went from `old_status` to `new_status` (a void, a return, a loss, a claim outcome);
-- insert: a shipment of a sealed day recorded afterwards (a history import), `detail` its
-- canonical line. Each row's `hash` chains it to the previous correction.
CREATE TABLE archive_corrections (
    id         INTEGER PRIMARY KEY,
    waybill    TEXT NOT NULL,
    day        TEXT NOT NULL,
    kind       TEXT NOT NULL,              -- status | insert
    old_status TEXT NOT NULL DEFAULT '',
    new_status TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '',
    at         TEXT NOT NULL,
    by         TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX archive_corrections_waybill ON archive_corrections(waybill, id);

-- Present only inside a purge's transaction: lets it delete the sealed rows before
-- `until_utc` and nothing else.
CREATE TABLE archive_purge_gate (
    until_utc TEXT NOT NULL
);

-- ----- the guards ------------------------------------------------------------------------

CREATE TRIGGER archive_seals_no_update BEFORE UPDATE ON archive_seals
BEGIN SELECT RAISE(ABORT, 'archive_sealed: seals are never changed'); END;
CREATE TRIGGER archive_seals_no_delete BEFORE DELETE ON archive_seals
BEGIN SELECT RAISE(ABORT, 'archive_sealed: seals are never deleted'); END;
CREATE TRIGGER archive_corrections_no_update BEFORE UPDATE ON archive_corrections
BEGIN SELECT RAISE(ABORT, 'archive_sealed: corrections are never changed'); END;
CREATE TRIGGER archive_corrections_no_delete BEFORE DELETE ON archive_corrections
BEGIN SELECT RAISE(ABORT, 'archive_sealed: corrections are never deleted'); END;

-- A sealed shipment's recorded fields change only to the state its latest correction
-- states (the status), and every other recorded field stays as it was.
CREATE TRIGGER archive_sealed_shipment_update
BEFORE UPDATE OF waybill, courier, pack_id, station, packer, packed_at, expected_g, tolerance_g,
                 measured_g, packaging, status, override_by, override_reason, label_template,
                 label_data, size_class, postcode, imported ON shipments
WHEN OLD.packed_at < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT (
        NEW.status IS (SELECT new_status FROM archive_corrections
                       WHERE waybill = OLD.waybill ORDER BY id DESC LIMIT 1)
    AND NEW.waybill IS OLD.waybill AND NEW.courier IS OLD.courier AND NEW.pack_id IS OLD.pack_id
    AND NEW.station IS OLD.station AND NEW.packer IS OLD.packer AND NEW.packed_at IS OLD.packed_at
    AND NEW.expected_g IS OLD.expected_g AND NEW.tolerance_g IS OLD.tolerance_g
    AND NEW.measured_g IS OLD.measured_g AND NEW.packaging IS OLD.packaging
    AND NEW.override_by IS OLD.override_by AND NEW.override_reason IS OLD.override_reason
    AND NEW.label_template IS OLD.label_template AND NEW.label_data IS OLD.label_data
    AND NEW.size_class IS OLD.size_class AND NEW.postcode IS OLD.postcode
    AND NEW.imported IS OLD.imported)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day; change it through a correction'); END;

CREATE TRIGGER archive_sealed_shipment_delete BEFORE DELETE ON shipments
WHEN OLD.packed_at < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_purge_gate WHERE OLD.packed_at < until_utc)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;

CREATE TRIGGER archive_sealed_shipment_insert BEFORE INSERT ON shipments
WHEN NEW.packed_at < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_corrections WHERE waybill = NEW.waybill AND kind = 'insert')
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the day is sealed; record the shipment through a correction'); END;

-- A sealed shipment's contents and orders.
CREATE TRIGGER archive_sealed_items_update BEFORE UPDATE ON shipment_items
WHEN (SELECT packed_at FROM shipments WHERE waybill = OLD.waybill)
     < (SELECT sealed_until FROM archive_state WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;
CREATE TRIGGER archive_sealed_items_delete BEFORE DELETE ON shipment_items
WHEN (SELECT packed_at FROM shipments WHERE waybill = OLD.waybill)
     < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_purge_gate)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;
CREATE TRIGGER archive_sealed_items_insert BEFORE INSERT ON shipment_items
WHEN (SELECT packed_at FROM shipments WHERE waybill = NEW.waybill)
     < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_corrections WHERE waybill = NEW.waybill AND kind = 'insert')
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;

CREATE TRIGGER archive_sealed_orders_update BEFORE UPDATE ON shipment_orders
WHEN (SELECT packed_at FROM shipments WHERE waybill = OLD.waybill)
     < (SELECT sealed_until FROM archive_state WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;
CREATE TRIGGER archive_sealed_orders_delete BEFORE DELETE ON shipment_orders
WHEN (SELECT packed_at FROM shipments WHERE waybill = OLD.waybill)
     < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_purge_gate)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;
CREATE TRIGGER archive_sealed_orders_insert BEFORE INSERT ON shipment_orders
WHEN (SELECT packed_at FROM shipments WHERE waybill = NEW.waybill)
     < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_corrections WHERE waybill = NEW.waybill AND kind = 'insert')
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the shipment belongs to a sealed day'); END;

-- A sealed day's events.
CREATE TRIGGER archive_sealed_event_update BEFORE UPDATE ON events
WHEN OLD.at < (SELECT sealed_until FROM archive_state WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the event belongs to a sealed day'); END;
CREATE TRIGGER archive_sealed_event_delete BEFORE DELETE ON events
WHEN OLD.at < (SELECT sealed_until FROM archive_state WHERE id = 1)
 AND NOT EXISTS (SELECT 1 FROM archive_purge_gate WHERE OLD.at < until_utc)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the event belongs to a sealed day'); END;
CREATE TRIGGER archive_sealed_event_insert BEFORE INSERT ON events
WHEN NEW.at < (SELECT sealed_until FROM archive_state WHERE id = 1)
BEGIN SELECT RAISE(ABORT, 'archive_sealed: the day is sealed'); END;
