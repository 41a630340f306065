-- 0007_ledger_posting: the next posting number is MAX(posting) + 1, taken on every shipment;
-- without an index that was a scan of the whole ledger.
CREATE INDEX stock_entries_posting ON stock_entries(posting);
