//! The returns workflow (반품 / 退货, 교환 / 换货): a returned parcel is scanned (the original
//! waybill, an order number or a return waybill already recorded), each line is inspected —
//! good goods go back to stock, damaged or wrong ones to quarantine with a reason and
//! photos, a courier's fault drafts a claim — and an exchange creates the replacement order,
//! packed at the bench as usual. Each inspected line is one write job: the line, its stock
//! posting, the flags, the exchange order and the events on the orders' history.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::stock::local_day;
use super::{now, App, ServiceError};
use crate::domain::codes;
use crate::domain::ledger::{self as rules, BinKind, EntryKind, Move};
use crate::domain::{Flag, OrderLineRecord};
use crate::i18n::{self, Lang};
use crate::storage::ledger::{self, Bin, Posting};
use crate::storage::returns::{self as rs, Inspection, ReturnLine};
use crate::storage::{self, NewEvent, StorageError};

/// The largest photo kept (bytes).
pub const PHOTO_LIMIT: usize = 8 * 1024 * 1024;

/// The image types a photo may be, by their first bytes: (content type, extension).
pub fn image_type(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(("image/gif", "gif"))
    } else {
        None
    }
}

const CONDITIONS: [&str; 3] = ["good", "damaged", "wrong"];
const FAULTS: [&str; 5] = ["", "courier", "customer", "packing", "supplier"];

impl App {
    fn rbad(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> ServiceError {
        ServiceError::BadRequest(i18n::tf(lang, key, args))
    }

    /// Opens the inspection of a returned parcel from what was scanned on it: the original
    /// waybill, an order number, or a return waybill recorded before. An open inspection of
    /// the same parcel is picked up again rather than duplicated.
    pub async fn open_return(
        &self,
        scanned: &str,
        return_waybill: &str,
        operator: &str,
        station: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let code = codes::normalise(scanned).code;
        if code.is_empty() {
            return Err(self.rbad(lang, "returns.error.empty_code", &[]));
        }
        let c2 = code.clone();
        let waybill = self
            .db
            .read(move |c| {
                if storage::get_shipment(c, &c2)?.is_some() {
                    return Ok(Some(c2));
                }
                if let Some(o) = storage::get_order(c, &c2)? {
                    if !o.shipped_waybill.is_empty() {
                        return Ok(Some(o.shipped_waybill));
                    }
                    // A returned order whose parcel was voided or never shipped has no parcel.
                    return Ok(None);
                }
                rs::waybill_of_return_waybill(c, &c2)
            })
            .await?
            .ok_or_else(|| {
                ServiceError::NotFound(i18n::tf(
                    lang,
                    "returns.error.not_found",
                    &[("code", &code)],
                ))
            })?;
        let wb = waybill.clone();
        let (shipment, open) = self
            .db
            .read(move |c| Ok((storage::get_shipment(c, &wb)?, rs::open_return_of(c, &wb)?)))
            .await?;
        let shipment = shipment.ok_or_else(|| {
            ServiceError::NotFound(i18n::tf(
                lang,
                "returns.error.not_found",
                &[("code", &code)],
            ))
        })?;
        if shipment.status == "void" {
            return Err(self.rbad(lang, "returns.error.void", &[("waybill", &waybill)]));
        }
        if let Some(r) = open {
            return self.return_view(r.id, lang).await;
        }
        let day = local_day(&self.config.warehouse.timezone);
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: operator.into(),
            kind: "return_opened",
            code: code.clone(),
            verdict: "accepted".into(),
            waybill: waybill.clone(),
            detail: json!({ "return_waybill": return_waybill }),
            ..Default::default()
        };
        let (rw, st, op) = (
            return_waybill.trim().to_string(),
            station.to_string(),
            operator.to_string(),
        );
        let orders = shipment.order_nos.clone();
        let id = self
            .db
            .write(move |c| {
                let (id, number) =
                    rs::create_return(c, &day, &waybill, &rw, &code, &st, &ev.at, &op)?;
                let mut ev = ev;
                ev.detail["return"] = json!(number);
                let eid = storage::insert_event(c, &ev)?;
                for o in &orders {
                    rs::link_event(c, o, eid)?;
                }
                Ok(id)
            })
            .await?;
        self.return_view(id, lang).await
    }

    /// A return with its parcel: each order's lines (ordered, already returned), the lines
    /// inspected, the claim draft and the exchanges.
    pub async fn return_view(&self, id: i64, lang: Lang) -> Result<Value, ServiceError> {
        let data = self
            .db
            .read(move |c| {
                let Some(r) = rs::get_return(c, id)? else {
                    return Ok(None);
                };
                let s = storage::get_shipment(c, &r.waybill)?;
                let lines = rs::return_lines(c, id)?;
                let claim = rs::claim_of_return(c, id)?;
                let mut orders = Vec::new();
                let mut exchanges = Vec::new();
                for o in s.iter().flat_map(|s| s.order_nos.iter()) {
                    let mut ol = Vec::new();
                    for (sku, qty) in rs::order_line_qty(c, o)? {
                        let returned = rs::returned_qty(c, o, &sku)?;
                        ol.push((sku, qty, returned));
                    }
                    let flag = storage::get_order(c, o)?
                        .map(|v| v.record.flag)
                        .unwrap_or_default();
                    orders.push((o.clone(), flag, ol));
                    exchanges.extend(rs::exchanges_of(c, o)?);
                }
                Ok(Some((r, s, lines, claim, orders, exchanges)))
            })
            .await?;
        let Some((r, s, lines, claim, orders, exchanges)) = data else {
            return Err(ServiceError::NotFound(i18n::tf(
                lang,
                "returns.error.no_return",
                &[("id", &id.to_string())],
            )));
        };
        let catalog = self.catalog();
        let orders: Vec<Value> = orders
            .into_iter()
            .map(|(no, flag, ls)| {
                let lines: Vec<Value> = ls
                    .into_iter()
                    .map(|(sku, qty, returned)| {
                        let item = catalog.item(&sku);
                        json!({ "sku": sku, "qty": qty, "returned": returned,
                                "name": item.map(|i| i.name.clone()).unwrap_or_default(),
                                "option": item.map(|i| i.option.clone()).unwrap_or_default(),
                                "home_bin": item.map(|i| i.location.clone()).unwrap_or_default() })
                    })
                    .collect();
                json!({ "order_no": no, "flag": flag, "lines": lines })
            })
            .collect();
        Ok(json!({ "return": r,
                   "courier": s.as_ref().map(|s| s.courier.clone()).unwrap_or_default(),
                   "packed_at": s.as_ref().map(|s| s.packed_at.clone()).unwrap_or_default(),
                   "orders": orders, "inspected": lines, "claim": claim, "exchanges": exchanges }))
    }

    /// Returns waiting for inspection (open) or all, newest first.
    pub async fn list_returns(&self, status: Option<String>) -> Result<Value, ServiceError> {
        let (list, claims) = self
            .db
            .read(move |c| {
                Ok((
                    rs::list_returns(c, status.as_deref(), 500)?,
                    rs::claim_drafts(c, None)?,
                ))
            })
            .await?;
        Ok(json!({ "returns": list, "claims": claims }))
    }

    /// Inspects one returned line (see the module comment). Everything it changes commits
    /// together or not at all.
    pub async fn inspect_line(
        &self,
        id: i64,
        operator: &str,
        station: &str,
        ins: Inspection,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let view = self.return_view(id, lang).await?;
        let r = &view["return"];
        let number = r["number"].as_str().unwrap_or("").to_string();
        let waybill = r["waybill"].as_str().unwrap_or("").to_string();
        let courier = view["courier"].as_str().unwrap_or("").to_string();
        if r["status"] != "open" {
            return Err(self.rbad(lang, "returns.error.closed", &[("number", &number)]));
        }
        let order = view["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["order_no"] == ins.order_no.as_str())
            .cloned()
            .ok_or_else(|| {
                self.rbad(
                    lang,
                    "returns.error.order_not_in_parcel",
                    &[("order_no", &ins.order_no), ("waybill", &waybill)],
                )
            })?;
        let line = order["lines"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["sku"] == ins.sku.as_str())
            .cloned()
            .ok_or_else(|| {
                self.rbad(
                    lang,
                    "returns.error.sku_not_in_order",
                    &[("sku", &ins.sku), ("order_no", &ins.order_no)],
                )
            })?;
        let left = line["qty"].as_i64().unwrap_or(0) - line["returned"].as_i64().unwrap_or(0);
        if ins.qty <= 0 || ins.qty > left {
            return Err(self.rbad(
                lang,
                "returns.error.too_many",
                &[
                    ("sku", &ins.sku),
                    ("order_no", &ins.order_no),
                    ("left", &left.to_string()),
                ],
            ));
        }
        let condition = ins.condition.trim().to_ascii_lowercase();
        if !CONDITIONS.contains(&condition.as_str()) {
            return Err(self.rbad(
                lang,
                "returns.error.condition",
                &[("condition", &condition)],
            ));
        }
        let fault = ins.fault.trim().to_ascii_lowercase();
        if !FAULTS.contains(&fault.as_str()) {
            return Err(self.rbad(lang, "returns.error.fault", &[("fault", &fault)]));
        }
        let good = condition == "good";
        let reason = ins.reason.trim().to_string();
        if !good && reason.is_empty() {
            return Err(self.rbad(lang, "returns.error.reason_required", &[]));
        }
        let bin = if !ins.bin.trim().is_empty() {
            ins.bin.trim().to_string()
        } else if good {
            line["home_bin"].as_str().unwrap_or("").to_string()
        } else {
            rules::QUARANTINE_BIN.to_string()
        };
        if bin.is_empty() {
            return Err(self.rbad(lang, "returns.error.bin_required", &[("sku", &ins.sku)]));
        }
        let b2 = bin.clone();
        let existing = self.db.read(move |c| ledger::get_bin(c, &b2)).await?;
        if let Some(b) = &existing {
            let ok = if good {
                b.kind.sellable()
            } else {
                b.kind == BinKind::Quarantine
            };
            if !ok {
                let key = if good {
                    "returns.error.bin_not_sellable"
                } else {
                    "returns.error.bin_not_quarantine"
                };
                return Err(self.rbad(lang, key, &[("bin", &bin), ("kind", b.kind.as_str())]));
            }
        }
        for p in &ins.photos {
            let p2 = p.clone();
            if self
                .db
                .read(move |c| rs::get_photo(c, &p2))
                .await?
                .is_none()
            {
                return Err(self.rbad(lang, "returns.error.no_photo", &[("photo", p)]));
            }
        }
        let catalog = self.catalog();
        let mut wanted: BTreeMap<String, i64> = BTreeMap::new();
        for x in &ins.exchange {
            if catalog.item(&x.sku).is_none() {
                return Err(self.rbad(lang, "stock.error.unknown_sku", &[("sku", &x.sku)]));
            }
            if x.qty <= 0 {
                return Err(self.rbad(lang, "stock.error.positive_qty", &[]));
            }
            *wanted.entry(x.sku.clone()).or_default() += x.qty;
        }
        let original = {
            let no = ins.order_no.clone();
            self.db
                .read(move |c| storage::get_order(c, &no))
                .await?
                .ok_or_else(|| ServiceError::NotFound(ins.order_no.clone()))?
        };

        let at = now();
        let (op, st) = (operator.to_string(), station.to_string());
        let claim_wanted = fault == "courier" && !good;
        let new_bin = existing.is_none() && !good;
        let kind = if good {
            EntryKind::ReturnToStock
        } else {
            EntryKind::Quarantine
        };
        let lang2 = lang;
        let (sku_msg, qty_msg, waybill_msg) = (ins.sku.clone(), ins.qty, waybill.clone());
        let outcome = self
            .db
            .write(move |c| {
                if new_bin {
                    ledger::upsert_bin(
                        c,
                        &Bin {
                            code: bin.clone(),
                            zone: String::new(),
                            walk_seq: 0,
                            kind: BinKind::Quarantine,
                        },
                        &at,
                    )?;
                }
                let posting = ledger::post(
                    c,
                    &Posting {
                        at: at.clone(),
                        kind,
                        reference: number.clone(),
                        operator: op.clone(),
                        station: st.clone(),
                        reason: reason.clone(),
                        override_by: String::new(),
                        moves: vec![Move {
                            sku: ins.sku.clone(),
                            bin: bin.clone(),
                            qty: ins.qty,
                        }],
                    },
                )?;
                // The exchange order, when one is asked for: on hold when the replacement
                // is not in stock.
                let mut exchange_order = String::new();
                let mut short: Vec<(String, i64, i64)> = Vec::new();
                if !wanted.is_empty() {
                    for (sku, q) in &wanted {
                        let avail = ledger::available(c, sku)?;
                        if avail < *q {
                            short.push((sku.clone(), *q, avail));
                        }
                    }
                    let n = rs::exchange_count(c, &ins.order_no)? + 1;
                    exchange_order = format!("{}-X{n}", ins.order_no);
                    let mut rec = original.record.clone();
                    rec.order_no = exchange_order.clone();
                    rec.paid_at = at.clone();
                    rec.waybill = String::new();
                    rec.note = format!("⇄ {} / {}", ins.order_no, waybill);
                    rec.flag = if short.is_empty() {
                        Flag::Blue
                    } else {
                        Flag::Yellow
                    };
                    rec.lines = wanted
                        .iter()
                        .map(|(sku, qty)| OrderLineRecord {
                            sku: sku.clone(),
                            qty: *qty,
                        })
                        .collect();
                    if storage::get_order(c, &exchange_order)?.is_some() {
                        return Err(StorageError::Conflict(format!(
                            "order {exchange_order} already exists"
                        )));
                    }
                    storage::upsert_orders(c, &[rec], &at)?;
                    rs::insert_exchange(
                        c,
                        &rs::Exchange {
                            order_no: exchange_order.clone(),
                            original_order: ins.order_no.clone(),
                            original_waybill: waybill.clone(),
                            return_id: id,
                            new_waybill: String::new(),
                            created_at: at.clone(),
                        },
                    )?;
                }
                // A return marks the order purple, an exchange blue (seed 002, 21).
                let flag = if exchange_order.is_empty() {
                    Flag::Purple
                } else {
                    Flag::Blue
                };
                rs::set_order_flag(c, &ins.order_no, flag)?;
                let line_id = rs::insert_return_line(
                    c,
                    &ReturnLine {
                        id: 0,
                        return_id: id,
                        order_no: ins.order_no.clone(),
                        sku: ins.sku.clone(),
                        qty: ins.qty,
                        condition: condition.clone(),
                        outcome: if good { "restock" } else { "quarantine" }.into(),
                        bin: bin.clone(),
                        reason: reason.clone(),
                        fault: fault.clone(),
                        photos: ins.photos.clone(),
                        posting,
                        exchange_order: exchange_order.clone(),
                        at: at.clone(),
                        operator: op.clone(),
                    },
                )?;
                let mut claim = None;
                if claim_wanted {
                    claim = Some(rs::add_to_claim(
                        c,
                        id,
                        &waybill,
                        &courier,
                        &reason,
                        json!({ "order_no": ins.order_no, "sku": ins.sku, "qty": ins.qty,
                                "condition": condition, "reason": reason, "photos": ins.photos }),
                        &ins.photos,
                        &at,
                        &op,
                    )?);
                }
                let ev = NewEvent {
                    at: at.clone(),
                    station: st.clone(),
                    operator: op.clone(),
                    kind: "return_line",
                    code: ins.sku.clone(),
                    verdict: "accepted".into(),
                    reason: reason.clone(),
                    detail: json!({ "return": number, "waybill": waybill, "order_no": ins.order_no,
                                    "sku": ins.sku, "qty": ins.qty, "condition": condition,
                                    "outcome": if good { "restock" } else { "quarantine" },
                                    "bin": bin, "fault": fault, "photos": ins.photos,
                                    "claim_draft": claim, "exchange_order": exchange_order,
                                    "line": line_id }),
                    ..Default::default()
                };
                let eid = storage::insert_event(c, &ev)?;
                rs::link_event(c, &ins.order_no, eid)?;
                if !exchange_order.is_empty() {
                    let ev = NewEvent {
                        at: at.clone(),
                        station: st.clone(),
                        operator: op.clone(),
                        kind: "exchange_created",
                        code: exchange_order.clone(),
                        verdict: if short.is_empty() { "accepted" } else { "held" }.into(),
                        reason: if short.is_empty() { "" } else { "out_of_stock" }.into(),
                        detail: json!({ "original_order": ins.order_no, "original_waybill": waybill,
                                        "exchange_order": exchange_order, "return": number,
                                        "lines": wanted, "short": short.iter().map(|(s, q, a)|
                                            json!({ "sku": s, "wanted": q, "available": a })).collect::<Vec<_>>() }),
                        ..Default::default()
                    };
                    let eid = storage::insert_event(c, &ev)?;
                    rs::link_event(c, &ins.order_no, eid)?;
                    rs::link_event(c, &exchange_order, eid)?;
                }
                Ok((line_id, posting, claim, exchange_order, short, bin))
            })
            .await?;
        let (line_id, posting, claim, exchange_order, short, bin) = outcome;
        let mut msg = i18n::tf(
            lang2,
            if good {
                "returns.restocked"
            } else {
                "returns.quarantined"
            },
            &[
                ("sku", &sku_msg),
                ("qty", &qty_msg.to_string()),
                ("bin", &bin),
            ],
        );
        if claim.is_some() {
            msg.push(' ');
            msg.push_str(&i18n::tf(
                lang2,
                "returns.claim_drafted",
                &[("waybill", &waybill_msg)],
            ));
        }
        if !exchange_order.is_empty() {
            msg.push(' ');
            if short.is_empty() {
                msg.push_str(&i18n::tf(
                    lang2,
                    "returns.exchange_created",
                    &[("order_no", &exchange_order)],
                ));
            } else {
                let what: Vec<String> = short
                    .iter()
                    .map(|(s, q, a)| format!("{s} ({a}/{q})"))
                    .collect();
                msg.push_str(&i18n::tf(
                    lang2,
                    "returns.exchange_held",
                    &[("order_no", &exchange_order), ("skus", &what.join(", "))],
                ));
            }
        }
        Ok(json!({ "line": line_id, "posting": posting, "bin": bin,
                   "outcome": if good { "restock" } else { "quarantine" },
                   "claim_draft": claim,
                   "exchange_order": if exchange_order.is_empty() { Value::Null } else { json!(exchange_order) },
                   "exchange_on_hold": !short.is_empty(),
                   "short": short.iter().map(|(s, q, a)| json!({ "sku": s, "wanted": q, "available": a })).collect::<Vec<_>>(),
                   "message": msg }))
    }

    /// Closes a return's inspection (lines not inspected were not in the parcel).
    pub async fn close_return(
        &self,
        id: i64,
        operator: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        let view = self.return_view(id, lang).await?;
        let number = view["return"]["number"].as_str().unwrap_or("").to_string();
        if view["return"]["status"] != "open" {
            return Err(self.rbad(lang, "returns.error.closed", &[("number", &number)]));
        }
        let orders: Vec<String> = view["orders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o["order_no"].as_str().map(str::to_string))
            .collect();
        let ev = NewEvent {
            at: now(),
            operator: operator.into(),
            kind: "return_closed",
            code: number.clone(),
            verdict: "accepted".into(),
            detail: json!({ "return": number, "lines": view["inspected"].as_array().map(Vec::len) }),
            ..Default::default()
        };
        let op = operator.to_string();
        self.db
            .write(move |c| {
                rs::close_return(c, id, &ev.at, &op)?;
                let eid = storage::insert_event(c, &ev)?;
                for o in &orders {
                    rs::link_event(c, o, eid)?;
                }
                Ok(())
            })
            .await?;
        let mut v = self.return_view(id, lang).await?;
        v["message"] = json!(i18n::tf(lang, "returns.closed", &[("number", &number)]));
        Ok(v)
    }

    /// Keeps a photo of a return as a content-hashed file under the data folder (images
    /// only, size-capped); the same photo twice is one file. Returns its hash.
    pub async fn save_photo(
        &self,
        id: i64,
        bytes: Vec<u8>,
        operator: &str,
        lang: Lang,
    ) -> Result<Value, ServiceError> {
        self.return_view(id, lang).await?;
        if bytes.is_empty() || bytes.len() > PHOTO_LIMIT {
            return Err(self.rbad(
                lang,
                "returns.error.photo_size",
                &[("limit_mb", &(PHOTO_LIMIT / 1024 / 1024).to_string())],
            ));
        }
        let Some((content_type, ext)) = image_type(&bytes) else {
            return Err(self.rbad(lang, "returns.error.photo_type", &[]));
        };
        let sha: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let rel = format!("photos/{}/{sha}.{ext}", &sha[..2]);
        let size = bytes.len() as i64;
        self.keep_file(&rel, bytes).await?;
        let photo = rs::Photo {
            sha256: sha.clone(),
            path: rel,
            content_type: content_type.into(),
            bytes: size,
            at: now(),
        };
        let op = operator.to_string();
        self.db
            .write(move |c| rs::insert_photo(c, &photo, &op, id))
            .await?;
        Ok(json!({ "photo": sha, "content_type": content_type, "bytes": size }))
    }

    /// A stored photo's bytes and content type.
    pub async fn photo(&self, sha: &str) -> Result<(Vec<u8>, String), ServiceError> {
        let s = sha.to_string();
        let p = self
            .db
            .read(move |c| {
                if let Some(p) = rs::get_photo(c, &s)? {
                    return Ok(Some(p));
                }
                // A bench camera's still.
                Ok(storage::camera::photo_by_hash(c, &s)?.map(|b| rs::Photo {
                    sha256: b.sha256,
                    path: b.path,
                    content_type: "image/jpeg".into(),
                    bytes: b.bytes,
                    at: b.at,
                }))
            })
            .await?
            .ok_or_else(|| ServiceError::NotFound(sha.into()))?;
        let bytes = tokio::fs::read(self.data_dir.join(&p.path))
            .await
            .map_err(|e| ServiceError::Storage(StorageError::Io(format!("{}: {e}", p.path))))?;
        Ok((bytes, p.content_type))
    }
}
