-- The label as the printer got it: the job bytes in the printer's language and resolution,
-- and the data it was filled from, so a retry on another printer, a preview or a claim can
-- render the very same label again.
ALTER TABLE shipments ADD COLUMN label_data TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN label_job BLOB;
ALTER TABLE shipments ADD COLUMN label_format TEXT NOT NULL DEFAULT 'zpl';
ALTER TABLE shipments ADD COLUMN label_dpi INTEGER NOT NULL DEFAULT 203;
