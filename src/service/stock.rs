//! The stock workflow: stock by SKU and by bin, manual adjustments and transfers, bins,
//! receiving a supplier delivery against an expected list (입고 / 收货) with SKU labels and a
//! receipt, and the sold-out report with its marketplace export (품절처리). Every change is
//! one write job: the ledger posting commits with the rows and the event that explain it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{now, App, ServiceError};
use crate::domain::codes;
use crate::domain::ledger::{self as rules, escape_cell, EntryKind, Move, StockChange, StockLine};
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage::ledger::{self, Bin, Posting};
use crate::storage::returns as rs;
use crate::storage::{self, NewEvent};

/// The SKU label template used at receiving.
pub const SKU_TEMPLATE: &str = "sku-50x30.toml";

/// The warehouse's local date as `YYYYMMDD`, for document numbers.
pub(crate) fn local_day(tz: &str) -> String {
    let zone = jiff::tz::TimeZone::get(tz).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now()
        .to_zoned(zone)
        .strftime("%Y%m%d")
        .to_string()
}

impl App {
    fn bad(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> ServiceError {
        ServiceError::BadRequest(i18n::tf(lang, key, args))
    }

    fn known_sku(&self, sku: &str, lang: Lang) -> Result<(), ServiceError> {
        if self.catalog().item(sku).is_none() {
            return Err(self.bad(lang, "stock.error.unknown_sku", &[("sku", sku)]));
        }
        Ok(())
    }

    fn valid_bin(&self, bin: &str, lang: Lang) -> Result<String, ServiceError> {
        let b = bin.trim();
        if b.is_empty() || b.len() > 64 || b.chars().any(char::is_control) {
            return Err(self.bad(lang, "stock.error.bad_bin", &[("bin", b)]));
        }
        Ok(b.to_string())
    }

    /// Stock by SKU: available (pick and reserve bins), on hand anywhere, and each bin.
    pub async fn stock_by_sku(&self) -> Result<Vec<Value>, ServiceError> {
        let rows = self.db.read(ledger::all_stock).await?;
        let catalog = self.catalog();
        let mut by: BTreeMap<String, Vec<ledger::BinStock>> = BTreeMap::new();
        for r in rows {
            by.entry(r.sku.clone()).or_default().push(r);
        }
        Ok(by
            .into_iter()
            .map(|(sku, bins)| {
                let item = catalog.item(&sku);
                let available: i64 = bins
                    .iter()
                    .filter(|b| b.kind.sellable())
                    .map(|b| b.on_hand)
                    .sum();
                let on_hand: i64 = bins.iter().map(|b| b.on_hand).sum();
                let negative = bins.iter().any(|b| b.on_hand < 0);
                json!({ "sku": sku, "name": item.map(|i| i.name.clone()).unwrap_or_default(),
                        "option": item.map(|i| i.option.clone()).unwrap_or_default(),
                        "home_bin": item.map(|i| i.location.clone()).unwrap_or_default(),
                        "available": available, "on_hand": on_hand, "negative": negative,
                        "bins": bins })
            })
            .collect())
    }

    /// A manual adjustment: `qty` units (signed) at `bin`, with a reason.
    pub async fn adjust_stock(
        &self,
        ch: StockChange<'_>,
        bin: &str,
        qty: i64,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        self.known_sku(ch.sku, lang)?;
        let bin = self.valid_bin(bin, lang)?;
        if qty == 0 {
            return Err(self.bad(lang, "stock.error.zero_qty", &[]));
        }
        let p = Posting {
            at: now(),
            kind: EntryKind::Adjustment,
            reference: String::new(),
            operator: ch.operator.into(),
            station: String::new(),
            reason: ch.reason.trim().into(),
            override_by: ch.override_by.into(),
            moves: vec![Move {
                sku: ch.sku.into(),
                bin: bin.clone(),
                qty,
            }],
        };
        let (sku, b) = (ch.sku.to_string(), bin.clone());
        let (posting, after) = self
            .db
            .write(move |c| {
                let id = ledger::post(c, &p)?;
                Ok((id, ledger::on_hand(c, &sku, &b)?))
            })
            .await?;
        Ok(
            json!({ "posting": posting, "sku": ch.sku, "bin": bin, "on_hand": after,
                   "message": i18n::tf(lang, "stock.adjusted", &[("sku", ch.sku), ("bin", &bin),
                                       ("qty", &qty.to_string()), ("on_hand", &after.to_string())]) }),
        )
    }

    /// Moves `qty` units of a SKU from one bin to another (one posting, two entries).
    pub async fn transfer_stock(
        &self,
        ch: StockChange<'_>,
        from: &str,
        to: &str,
        qty: i64,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        self.known_sku(ch.sku, lang)?;
        let from = self.valid_bin(from, lang)?;
        let to = self.valid_bin(to, lang)?;
        if qty <= 0 {
            return Err(self.bad(lang, "stock.error.positive_qty", &[]));
        }
        if from == to {
            return Err(self.bad(lang, "stock.error.same_bin", &[("bin", &from)]));
        }
        let p = Posting {
            at: now(),
            kind: EntryKind::Transfer,
            reference: String::new(),
            operator: ch.operator.into(),
            station: String::new(),
            reason: ch.reason.trim().into(),
            override_by: ch.override_by.into(),
            moves: vec![
                Move {
                    sku: ch.sku.into(),
                    bin: from.clone(),
                    qty: -qty,
                },
                Move {
                    sku: ch.sku.into(),
                    bin: to.clone(),
                    qty,
                },
            ],
        };
        let posting = self.db.write(move |c| ledger::post(c, &p)).await?;
        Ok(
            json!({ "posting": posting, "sku": ch.sku, "from": from, "to": to, "qty": qty,
                   "message": i18n::tf(lang, "stock.transferred", &[("sku", ch.sku), ("from", &from),
                                       ("to", &to), ("qty", &qty.to_string())]) }),
        )
    }

    /// Creates or changes bins (all in one write).
    pub async fn save_bins(&self, bins: Vec<Bin>, lang: Lang) -> Result<usize, ServiceError> {
        for b in &bins {
            self.valid_bin(&b.code, lang)?;
        }
        let n = bins.len();
        let at = now();
        self.db
            .write(move |c| {
                for b in &bins {
                    ledger::upsert_bin(c, b, &at)?;
                }
                Ok(())
            })
            .await?;
        Ok(n)
    }

    /// Opening balances or a delivery from a file (`packbench import stock`, the API): one
    /// receipt posting for every line, all or nothing.
    pub async fn import_stock(
        &self,
        lines: Vec<StockLine>,
        operator: &str,
        reference: &str,
    ) -> Result<i64, ServiceError> {
        let at = now();
        let (operator, reference) = (operator.to_string(), reference.to_string());
        Ok(self
            .db
            .write(move |c| ledger::post_stock_lines(c, &lines, &at, &operator, &reference))
            .await?)
    }

    // ----- receiving ----------------------------------------------------------------------

    /// Opens a receipt for a delivery, with the expected lines (empty: a free count).
    pub async fn open_receipt(
        &self,
        operator: &str,
        supplier: &str,
        bin: &str,
        expected: Vec<(String, i64)>,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let mut exp: BTreeMap<String, i64> = BTreeMap::new();
        for (sku, qty) in expected {
            self.known_sku(&sku, lang)?;
            if qty <= 0 {
                return Err(self.bad(lang, "stock.error.positive_qty", &[]));
            }
            *exp.entry(sku).or_default() += qty;
        }
        let bin = if bin.trim().is_empty() {
            String::new()
        } else {
            self.valid_bin(bin, lang)?
        };
        let day = local_day(&self.config.warehouse.timezone);
        let (at, op, sup) = (now(), operator.to_string(), supplier.trim().to_string());
        let (id, _) = self
            .db
            .write(move |c| rs::create_receipt(c, &day, &sup, &bin, &exp, &at, &op))
            .await?;
        self.receipt_view(id, lang).await
    }

    /// A receipt with its lines: expected, counted (by bin), over/short, unknown codes.
    pub async fn receipt_view(&self, id: i64, lang: Lang) -> Result<Value, ServiceError> {
        let (r, expected, scans) = self
            .db
            .read(move |c| {
                Ok((
                    rs::get_receipt(c, id)?,
                    rs::receipt_expected(c, id)?,
                    rs::receipt_scans(c, id)?,
                ))
            })
            .await?;
        let r = r.ok_or_else(|| {
            ServiceError::NotFound(i18n::tf(
                lang,
                "stock.error.no_receipt",
                &[("id", &id.to_string())],
            ))
        })?;
        let mut counted: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_bin: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        let mut unknown = Vec::new();
        for s in &scans {
            if s.sku.is_empty() {
                unknown.push(json!({ "code": s.code, "at": s.at, "qty": s.qty }));
            } else {
                *counted.entry(s.sku.clone()).or_default() += s.qty;
                *by_bin
                    .entry(s.sku.clone())
                    .or_default()
                    .entry(s.bin.clone())
                    .or_default() += s.qty;
            }
        }
        let diff = rules::over_short(&expected, &counted);
        let catalog = self.catalog();
        let mut lines: Vec<Value> = diff
            .iter()
            .map(|(sku, d)| {
                let item = catalog.item(sku);
                let option = item.map(|i| i.option.clone()).unwrap_or_default();
                json!({ "sku": sku, "name": item.map(|i| i.name.clone()).unwrap_or_default(),
                        "option": option,
                        "expected": expected.get(sku).copied().unwrap_or(0),
                        "counted": counted.get(sku).copied().unwrap_or(0),
                        "diff": d,
                        "bins": by_bin.get(sku).cloned().unwrap_or_default() })
            })
            .collect();
        lines.sort_by_cached_key(|l| {
            rules::option_key(
                l["option"].as_str().unwrap_or(""),
                l["sku"].as_str().unwrap_or(""),
            )
        });
        let over: i64 = diff.values().filter(|d| **d > 0).sum();
        let short: i64 = -diff.values().filter(|d| **d < 0).sum::<i64>();
        Ok(json!({ "receipt": r, "lines": lines, "unknown": unknown,
                   "counted_units": counted.values().sum::<i64>(),
                   "expected_units": expected.values().sum::<i64>(),
                   "over_units": over, "short_units": short,
                   "scans": scans.len() }))
    }

    /// One scan at receiving: an item counts (into the scan's bin, the receipt's current
    /// bin, or the SKU's home bin); a bin label sets the current bin; an unknown code is
    /// kept on the receipt and reported, never lost.
    pub async fn receipt_scan(
        &self,
        id: i64,
        operator: &str,
        raw: &str,
        qty: i64,
        bin: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let r = self
            .db
            .read(move |c| rs::get_receipt(c, id))
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(i18n::tf(
                    lang,
                    "stock.error.no_receipt",
                    &[("id", &id.to_string())],
                ))
            })?;
        if r.status != "open" {
            return Err(self.bad(lang, "stock.error.receipt_closed", &[("number", &r.number)]));
        }
        if !(1..=100_000).contains(&qty) {
            return Err(self.bad(lang, "stock.error.positive_qty", &[]));
        }
        let scanned = codes::normalise(raw);
        let code = scanned.code.clone();
        if code.is_empty() {
            return Err(self.bad(lang, "stock.error.empty_code", &[]));
        }
        let catalog = self.catalog();
        let sku = catalog
            .sku_for(&scanned)
            .map(str::to_string)
            .or_else(|| catalog.item(&code).map(|i| i.sku.clone()));
        let (at, op) = (now(), operator.to_string());
        let Some(sku) = sku else {
            let c2 = code.clone();
            let is_bin = self
                .db
                .read(move |c| ledger::get_bin(c, &c2))
                .await?
                .is_some();
            if is_bin {
                let b = code.clone();
                self.db
                    .write(move |c| rs::set_receipt_bin(c, id, &b))
                    .await?;
                return Ok(
                    json!({ "verdict": "accepted", "action": "bin_set", "bin": code,
                    "message": i18n::tf(lang, "stock.receiving.bin_set", &[("bin", &code)]) }),
                );
            }
            let c2 = code.clone();
            self.db
                .write(move |c| rs::add_receipt_scan(c, id, &at, &op, &c2, "", "", qty))
                .await?;
            return Ok(
                json!({ "verdict": "refused", "code": "unknown_code", "scanned": code,
                "message": i18n::tf(lang, "stock.receiving.unknown_code", &[("code", &code)]) }),
            );
        };
        let home = catalog
            .item(&sku)
            .map(|i| i.location.clone())
            .unwrap_or_default();
        let target = [bin.trim(), r.bin.as_str(), home.as_str()]
            .into_iter()
            .find(|b| !b.is_empty())
            .map(str::to_string);
        let Some(target) = target else {
            return Err(self.bad(lang, "stock.receiving.no_bin", &[("sku", &sku)]));
        };
        let target = self.valid_bin(&target, lang)?;
        let (s2, t2) = (sku.clone(), target.clone());
        let counted = self
            .db
            .write(move |c| {
                rs::add_receipt_scan(c, id, &at, &op, &code, &s2, &t2, qty)?;
                Ok(c.query_row(
                    "SELECT COALESCE(SUM(qty), 0) FROM receipt_scans WHERE receipt_id = ?1 AND sku = ?2",
                    rusqlite::params![id, s2],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .await?;
        Ok(
            json!({ "verdict": "accepted", "action": "counted", "sku": sku, "bin": target,
                   "counted": counted,
                   "message": i18n::tf(lang, "stock.receiving.counted",
                       &[("sku", &sku), ("bin", &target), ("count", &counted.to_string())]) }),
        )
    }

    /// Closes a receipt: one receipt posting of everything counted, by SKU and bin; the
    /// answer shows over/short against the expected lines.
    pub async fn close_receipt(
        &self,
        id: i64,
        operator: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let view = self.receipt_view(id, lang).await?;
        if view["receipt"]["status"] != "open" {
            let n = view["receipt"]["number"].as_str().unwrap_or("").to_string();
            return Err(self.bad(lang, "stock.error.receipt_closed", &[("number", &n)]));
        }
        let number = view["receipt"]["number"].as_str().unwrap_or("").to_string();
        let (at, op, num) = (now(), operator.to_string(), number.clone());
        let detail = json!({ "over_units": view["over_units"], "short_units": view["short_units"],
                             "counted_units": view["counted_units"] });
        self.db
            .write(move |c| {
                let mut moves: BTreeMap<(String, String), i64> = BTreeMap::new();
                for s in rs::receipt_scans(c, id)? {
                    if !s.sku.is_empty() {
                        *moves.entry((s.sku, s.bin)).or_default() += s.qty;
                    }
                }
                let posting = ledger::post(
                    c,
                    &Posting {
                        at: at.clone(),
                        kind: EntryKind::Receipt,
                        reference: num.clone(),
                        operator: op.clone(),
                        station: String::new(),
                        reason: String::new(),
                        override_by: String::new(),
                        moves: moves
                            .into_iter()
                            .map(|((sku, bin), qty)| Move { sku, bin, qty })
                            .collect(),
                    },
                )?;
                rs::close_receipt(c, id, &at, &op, posting)?;
                storage::insert_event(
                    c,
                    &NewEvent {
                        at: at.clone(),
                        operator: op.clone(),
                        kind: "receipt",
                        code: num.clone(),
                        verdict: "accepted".into(),
                        detail,
                        ..Default::default()
                    },
                )?;
                Ok(())
            })
            .await?;
        let mut v = self.receipt_view(id, lang).await?;
        v["message"] = json!(i18n::tf(
            lang,
            "stock.receiving.closed",
            &[
                ("number", &number),
                ("counted", &v["counted_units"].to_string()),
                ("over", &v["over_units"].to_string()),
                ("short", &v["short_units"].to_string()),
            ]
        ));
        Ok(v)
    }

    /// SKU labels for a receipt's counted goods (one per unit), or for `only` SKUs, sorted
    /// by colour and size: the data rows for the SKU template.
    pub async fn receipt_label_data(
        &self,
        id: i64,
        only: &[String],
        lang: Lang,
    ) -> Result<Vec<Value>, ServiceError> {
        let view = self.receipt_view(id, lang).await?;
        let catalog = self.catalog();
        let mut out = Vec::new();
        for l in view["lines"].as_array().into_iter().flatten() {
            let sku = l["sku"].as_str().unwrap_or("");
            if !only.is_empty() && !only.iter().any(|s| s == sku) {
                continue;
            }
            let Some(item) = catalog.item(sku) else {
                continue;
            };
            let ean = item
                .barcodes
                .iter()
                .find(|b| b.len() == 13 && codes::gtin_check_ok(b))
                .cloned()
                .unwrap_or_default();
            for _ in 0..l["counted"].as_i64().unwrap_or(0).clamp(0, 5000) {
                out.push(
                    json!({ "sku": item.sku, "name": item.name, "option": item.option,
                                 "ean": ean, "price": "" }),
                );
            }
        }
        Ok(out)
    }

    /// The SKU labels as one job in `format` (PDF, PNG, ZPL, TSPL).
    pub async fn render_sku_labels(
        &self,
        data: Vec<Value>,
        format: labels::Format,
        dpi: u32,
        lang: Lang,
    ) -> Result<Vec<u8>, ServiceError> {
        if data.is_empty() {
            return Err(self.bad(lang, "stock.receiving.no_labels", &[]));
        }
        let dir = self.template_dir();
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            let t =
                labels::load_template(dir.as_deref(), SKU_TEMPLATE).map_err(|e| e.to_string())?;
            labels::render_many(&t, &data, format, &labels::RenderOptions { dpi })
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?
        .map_err(ServiceError::BadRequest)
    }

    /// Prints a receipt's SKU labels at a station's printer, in its language and resolution.
    pub async fn print_sku_labels(
        &self,
        id: i64,
        station: &str,
        only: &[String],
        operator: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let cfg = self.station_cfg(station)?.clone();
        let printer = self.config.station_printer(&cfg);
        let (format, dpi) = self.printer_output(&printer);
        let data = self.receipt_label_data(id, only, lang).await?;
        let count = data.len();
        let job = self.render_sku_labels(data, format, dpi, lang).await?;
        let reference = format!("receipt-{id}");
        let result = self
            .send_to_printer(station, &printer, &job, &reference)
            .await;
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: operator.into(),
            kind: "sku_labels",
            code: reference,
            verdict: if result.ok { "accepted" } else { "failed" }.into(),
            reason: result.error.clone(),
            detail: json!({ "labels": count, "printer": printer.id }),
            ..Default::default()
        };
        self.db
            .write(move |c| storage::insert_event(c, &ev))
            .await?;
        let key = if result.ok {
            "stock.receiving.labels_printed"
        } else {
            "stock.receiving.labels_failed"
        };
        Ok(
            json!({ "ok": result.ok, "labels": count, "printer": result.printer, "error": result.error,
                   "message": i18n::tf(lang, key, &[("count", &count.to_string()),
                                                    ("printer", &printer.id), ("error", &result.error)]) }),
        )
    }

    // ----- sold out ------------------------------------------------------------------------

    /// The sold-out report as a file for the marketplaces: `csv` or `xlsx`.
    pub async fn sold_out_file(&self, format: &str, lang: Lang) -> Result<Vec<u8>, ServiceError> {
        let rows = self.db.read(ledger::sold_out).await?;
        let header: Vec<String> = [
            "sku",
            "name",
            "option",
            "available",
            "on_hand",
            "last_moved_at",
        ]
        .iter()
        .map(|k| i18n::t(lang, &format!("stock.soldout.col.{k}")))
        .collect();
        let text = |s: &ledger::SoldOut| {
            [
                escape_cell(&s.sku),
                escape_cell(&s.name),
                escape_cell(&s.option),
            ]
        };
        match format {
            "csv" => {
                let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
                let io = |e: csv::Error| ServiceError::BadRequest(e.to_string());
                w.write_record(&header).map_err(io)?;
                for s in &rows {
                    let [a, b, c] = text(s);
                    w.write_record([
                        a,
                        b,
                        c,
                        s.available.to_string(),
                        s.on_hand.to_string(),
                        s.last_moved_at.clone(),
                    ])
                    .map_err(io)?;
                }
                w.into_inner()
                    .map_err(|e| ServiceError::BadRequest(e.to_string()))
            }
            "xlsx" => {
                let io = |e: rust_xlsxwriter::XlsxError| ServiceError::BadRequest(e.to_string());
                let mut wb = rust_xlsxwriter::Workbook::new();
                let ws = wb.add_worksheet();
                for (i, h) in header.iter().enumerate() {
                    ws.write_string(0, i as u16, h).map_err(io)?;
                }
                for (r, s) in rows.iter().enumerate() {
                    let row = r as u32 + 1;
                    let [a, b, c] = text(s);
                    ws.write_string(row, 0, a).map_err(io)?;
                    ws.write_string(row, 1, b).map_err(io)?;
                    ws.write_string(row, 2, c).map_err(io)?;
                    ws.write_number(row, 3, s.available as f64).map_err(io)?;
                    ws.write_number(row, 4, s.on_hand as f64).map_err(io)?;
                    ws.write_string(row, 5, &s.last_moved_at).map_err(io)?;
                }
                wb.save_to_buffer().map_err(io)
            }
            other => Err(self.bad(lang, "stock.error.bad_format", &[("format", other)])),
        }
    }
}
