//! The bench service: runs a scan, a scale reading or a manager action through the domain
//! rules and records the outcome, then updates the in-memory station state and tells the
//! bench page. Order of work for every request: decide (pure, nothing changed) → write the
//! event and its effects in one committed transaction → apply to memory → answer. So an
//! answered request is durable, and a refused or failed one leaves the pack as it was.
//!
//! Each station has its own lock: scans at one bench are handled strictly in order, while
//! fifty benches proceed in parallel and share the database writer's group commits.

pub mod archive;
pub mod bills;
mod camera;
pub mod claims;
mod day;
mod handover;
mod returns;
mod stock;
pub mod stocktake;
mod waves;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{broadcast, Mutex};

use crate::config::{Config, Operator, Role, StationConfig};
use crate::devices::printer::{PrinterLanguage, PrinterProfile};
use crate::devices::transport::Transport;
use crate::domain::codes;
use crate::domain::packing::{check_open, ItemCounted, OrderStatus, Pack, PackStatus, Refusal};
use crate::domain::waybill::{self, CourierRule};
use crate::domain::weight::{self, Tolerance};
use crate::domain::{CatalogItem, Grams, OrderRecord};
use crate::hub::Kind;
use crate::i18n::{self, Lang};
use crate::labels;
use crate::storage::{self, Db, NewEvent, Shipment, ShipmentItem, StorageError};

/// The catalog in memory: every barcode to its SKU, and every SKU's item. Rebuilt after
/// each catalog import; item scans never touch the database for lookups.
#[derive(Default)]
pub struct CatalogIndex {
    by_barcode: HashMap<String, String>,
    items: HashMap<String, CatalogItem>,
}

impl CatalogIndex {
    pub fn build(items: Vec<CatalogItem>) -> CatalogIndex {
        let mut idx = CatalogIndex::default();
        for it in items {
            for b in &it.barcodes {
                idx.by_barcode.insert(b.clone(), it.sku.clone());
            }
            idx.items.insert(it.sku.clone(), it);
        }
        idx
    }

    pub fn sku_for(&self, scanned: &codes::Scanned) -> Option<&str> {
        scanned
            .lookup_keys()
            .iter()
            .find_map(|k| self.by_barcode.get(k).map(String::as_str))
    }

    pub fn item(&self, sku: &str) -> Option<&CatalogItem> {
        self.items.get(sku)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A scale reading as the bench shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Reading {
    pub grams: Grams,
    pub stable: bool,
}

/// The last verdict, kept for the page until the next scan.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub verdict: &'static str,
    pub code: String,
    pub action: String,
    pub message: String,
    pub event_id: i64,
}

impl From<&Outcome> for Verdict {
    fn from(o: &Outcome) -> Verdict {
        Verdict {
            verdict: o.verdict,
            code: o.code.clone(),
            action: o.action.clone(),
            message: o.message.clone(),
            event_id: o.event_id,
        }
    }
}

#[derive(Default)]
struct StationState {
    operator: Option<Operator>,
    pack: Option<Pack>,
    last_scan: Option<(String, Instant)>,
    reading: Option<Reading>,
    last: Option<Verdict>,
    /// The station's last label that did not print, until it prints.
    print_failed: Option<PrintFailure>,
    /// The waybill of the station's last shipment (its label is previewed on the page).
    last_waybill: Option<String>,
    /// The language of the station's page (its last scan), used for verdicts decided by a
    /// scale reading that did not say which language it wants.
    lang: Lang,
    /// The camera saw another parcel's label on this shipment: (its waybill, the waybill
    /// read). The bench takes no other scan until a still shows the right label or a manager
    /// overrides.
    label_mismatch: Option<(String, String)>,
}

impl StationState {
    /// The signed-in operator's badge, or empty.
    fn badge(&self) -> String {
        self.operator
            .as_ref()
            .map(|o| o.badge.clone())
            .unwrap_or_default()
    }
}

/// Everything a request handler needs: configuration, database, catalog, stations.
pub struct App {
    pub config: Config,
    pub db: Db,
    pub rules: Vec<CourierRule>,
    pub demo: bool,
    pub data_dir: PathBuf,
    catalog: RwLock<Arc<CatalogIndex>>,
    stations: HashMap<String, Arc<Mutex<StationState>>>,
    updates: HashMap<String, broadcast::Sender<()>>,
    /// Address of the built-in printer emulator, for stations whose printer is `emulator`.
    pub emulator: Option<std::net::SocketAddr>,
    /// Every station's devices as the drivers last reported them.
    pub devices: crate::hub::DeviceBoard,
    /// The running drivers and simulators, once `hub::start` has run.
    pub running: std::sync::OnceLock<crate::hub::Running>,
    /// One print queue per station: its labels print in the order they were shipped.
    print_queues: HashMap<String, Arc<Mutex<()>>>,
    /// The app's own shared handle, for work that outlives a request (set by `share`).
    me: std::sync::OnceLock<std::sync::Weak<App>>,
    /// Printer profiles (built in, overlaid by the site's folder), set by `hub::start`.
    pub printer_profiles: std::sync::OnceLock<BTreeMap<String, PrinterProfile>>,
    started: Instant,
}

/// The answer to a scan, a reading or an action.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub code: String,
    pub action: String,
    pub message: String,
    pub event_id: i64,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Outcome {
    fn accepted(action: &str, message: String, event_id: i64) -> Outcome {
        Outcome {
            verdict: "accepted",
            code: String::new(),
            action: action.into(),
            message,
            event_id,
            extra: Default::default(),
        }
    }

    fn refused(r: &Refusal, lang: Lang, event_id: i64) -> Outcome {
        Outcome {
            verdict: "refused",
            code: r.code().into(),
            action: String::new(),
            message: refusal_message(r, lang),
            event_id,
            extra: Default::default(),
        }
    }

    fn with(mut self, key: &str, v: impl Serialize) -> Outcome {
        self.extra
            .insert(key.into(), serde_json::to_value(v).unwrap_or(Value::Null));
        self
    }
}

pub fn refusal_message(r: &Refusal, lang: Lang) -> String {
    let args = r.args();
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    i18n::tf(lang, &format!("refusal.{}", r.code()), &args)
}

/// An error that is not a verdict: unknown station, storage failure, bad request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no station `{0}`")]
    NoStation(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .unwrap_or(jiff::Timestamp::now())
        .to_string()
}

impl App {
    /// Opens the database, loads the catalog and reopens each bench as it was left.
    pub fn open(config: Config, data_dir: PathBuf, demo: bool) -> Result<App, StorageError> {
        let db = Db::open(&data_dir)?;
        crate::labels::font::warm_up();
        let rules = config.courier_rules();
        let catalog = db.read_blocking(storage::load_catalog)?;
        let sessions = db.read_blocking(storage::sessions)?;
        let mut open = db.read_blocking(storage::open_packs)?;
        let mut stations = HashMap::new();
        let mut updates = HashMap::new();
        for s in &config.stations {
            let mut st = StationState {
                operator: sessions
                    .get(&s.id)
                    .and_then(|b| config.operator(b))
                    .cloned(),
                ..Default::default()
            };
            if let Some(i) = open.iter().position(|(station, _, _)| station == &s.id) {
                st.pack = Some(open.remove(i).2);
            }
            let id = s.id.clone();
            st.label_mismatch =
                db.read_blocking(move |c| storage::camera::open_mismatch(c, &id))?;
            stations.insert(s.id.clone(), Arc::new(Mutex::new(st)));
            updates.insert(s.id.clone(), broadcast::channel(16).0);
        }
        let devices = crate::hub::DeviceBoard::from_config(&config);
        let config_stations: Vec<String> = config.stations.iter().map(|s| s.id.clone()).collect();
        Ok(App {
            config,
            db,
            rules,
            demo,
            data_dir,
            catalog: RwLock::new(Arc::new(CatalogIndex::build(catalog))),
            stations,
            updates,
            emulator: None,
            devices,
            running: std::sync::OnceLock::new(),
            printer_profiles: std::sync::OnceLock::new(),
            print_queues: config_stations
                .iter()
                .map(|id| (id.clone(), Arc::new(Mutex::new(()))))
                .collect(),
            me: std::sync::OnceLock::new(),
            started: Instant::now(),
        })
    }

    /// Puts the app behind its shared handle; labels then print in the background.
    pub fn share(self) -> Arc<App> {
        let app = Arc::new(self);
        let _ = app.me.set(Arc::downgrade(&app));
        app
    }

    pub fn catalog(&self) -> Arc<CatalogIndex> {
        self.catalog.read().expect("catalog lock").clone()
    }

    pub async fn reload_catalog(&self) -> Result<(), StorageError> {
        let items = self.db.read(storage::load_catalog).await?;
        *self.catalog.write().expect("catalog lock") = Arc::new(CatalogIndex::build(items));
        Ok(())
    }

    fn station_cfg(&self, id: &str) -> Result<&StationConfig, ServiceError> {
        self.config
            .station(id)
            .ok_or_else(|| ServiceError::NoStation(id.into()))
    }

    fn state(&self, id: &str) -> Result<&Arc<Mutex<StationState>>, ServiceError> {
        self.stations
            .get(id)
            .ok_or_else(|| ServiceError::NoStation(id.into()))
    }

    /// A receiver that fires whenever the station's state changes (for the page's live feed).
    pub fn subscribe(&self, station: &str) -> Result<broadcast::Receiver<()>, ServiceError> {
        self.updates
            .get(station)
            .map(|s| s.subscribe())
            .ok_or_else(|| ServiceError::NoStation(station.into()))
    }

    /// Tells the station's page that its devices changed.
    pub fn notify_devices(&self, station: &str) {
        self.notify(station);
    }

    fn notify(&self, station: &str) {
        if let Some(tx) = self.updates.get(station) {
            let _ = tx.send(());
        }
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    // ----- scans ------------------------------------------------------------------------

    /// Handles one scanned code at a station: a badge, a packaging code, an item, an order
    /// number / pick slip or a waybill.
    pub async fn scan(
        &self,
        station: &str,
        raw: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        self.scan_with(station, raw, Some(lang)).await
    }

    /// A code read by a serial scanner attached to the server: handled like a typed one,
    /// answered in the language the station's page speaks.
    pub async fn scan_from_device(
        &self,
        station: &str,
        raw: &str,
    ) -> Result<Outcome, ServiceError> {
        self.scan_with(station, raw, None).await
    }

    async fn scan_with(
        &self,
        station: &str,
        raw: &str,
        lang: Option<Lang>,
    ) -> Result<Outcome, ServiceError> {
        self.station_cfg(station)?;
        let mut st = self.state(station)?.lock().await;
        let lang = lang.unwrap_or(st.lang);
        st.lang = lang;
        let scanned = codes::normalise(raw);
        let code = scanned.code.clone();
        let now = now();
        let operator = st.badge();
        let mut ev = NewEvent {
            at: now.clone(),
            station: station.into(),
            operator,
            kind: "scan",
            code: code.clone(),
            pack_id: st.pack.as_ref().map(|p| p.id),
            detail: json!({ "raw": raw }),
            ..Default::default()
        };

        // A scanner's double read: the same code again within the debounce window.
        let window = Duration::from_millis(self.config.scan.debounce_ms);
        if let Some((last, at)) = &st.last_scan {
            if *last == code && at.elapsed() < window && !code.is_empty() {
                ev.verdict = "accepted".into();
                ev.reason = "duplicate_ignored".into();
                let id = self
                    .db
                    .write(move |c| storage::insert_event(c, &ev))
                    .await?;
                return Ok(Outcome::accepted(
                    "duplicate_ignored",
                    i18n::t(lang, "action.duplicate_ignored"),
                    id,
                ));
            }
        }
        st.last_scan = Some((code.clone(), Instant::now()));

        let outcome = self
            .decide_scan(&mut st, station, &scanned, ev, lang)
            .await?;
        st.last = Some(Verdict::from(&outcome));
        drop(st);
        self.notify(station);
        Ok(outcome)
    }

    async fn refuse(
        &self,
        mut ev: NewEvent,
        r: Refusal,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        ev.verdict = "refused".into();
        ev.reason = r.code().into();
        let id = self
            .db
            .write(move |c| storage::insert_event(c, &ev))
            .await?;
        Ok(Outcome::refused(&r, lang, id))
    }

    async fn decide_scan(
        &self,
        st: &mut StationState,
        station: &str,
        scanned: &codes::Scanned,
        mut ev: NewEvent,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let code = scanned.code.as_str();

        // 1. A badge signs in (a manager badge while a failed check waits is also a sign-in:
        //    the override itself needs a reason, given through the override action).
        if let Some(op) = self.config.operator(code).cloned() {
            ev.kind = "sign_in";
            ev.operator = op.badge.clone();
            ev.verdict = "accepted".into();
            let (station_id, badge, at) = (station.to_string(), op.badge.clone(), ev.at.clone());
            let id = self
                .db
                .write(move |c| {
                    storage::set_session(c, &station_id, Some(&badge), &at)?;
                    storage::insert_event(c, &ev)
                })
                .await?;
            let msg = i18n::tf(lang, "action.signed_in", &[("name", &op.name)]);
            st.operator = Some(op.clone());
            return Ok(Outcome::accepted("signed_in", msg, id).with("operator", &op));
        }
        if st.operator.is_none() {
            return self.refuse(ev, Refusal::NotSignedIn, lang).await;
        }
        // The wrong label went on the last parcel: nothing else until that is put right.
        if let Some((expected, found)) = st.label_mismatch.clone() {
            ev.waybill = expected.clone();
            return self
                .refuse(ev, Refusal::LabelMismatch { expected, found }, lang)
                .await;
        }

        // 2. A packaging code picks the box or bag for the open pack.
        if let Some(pk) = self
            .config
            .packaging
            .iter()
            .find(|p| p.code == code)
            .cloned()
        {
            let Some(pack) = st.pack.as_mut() else {
                return self.refuse(ev, Refusal::NoOpenPack, lang).await;
            };
            let mut after = pack.clone();
            after.packaging = Some(pk.code.clone());
            ev.kind = "packaging";
            ev.verdict = "accepted".into();
            let saved = after.clone();
            let id = self
                .db
                .write(move |c| {
                    storage::save_pack(c, &saved)?;
                    storage::insert_event(c, &ev)
                })
                .await?;
            *pack = after;
            let msg = i18n::tf(lang, "action.packaging_set", &[("name", &pk.name)]);
            return Ok(Outcome::accepted("packaging_set", msg, id));
        }

        // 3. An item barcode counts up the open pack.
        let catalog = self.catalog();
        if let Some(sku) = catalog.sku_for(scanned) {
            ev.kind = "item";
            ev.detail["sku"] = json!(sku);
            let Some(pack) = st.pack.as_mut() else {
                return self.refuse(ev, Refusal::NoOpenPack, lang).await;
            };
            let counted = match pack.check_item(sku) {
                Ok(c) => c,
                Err(r) => return self.refuse(ev, r, lang).await,
            };
            let mut after = pack.clone();
            after.apply_item(&counted);
            ev.verdict = "accepted".into();
            let (pid, sku, n) = (pack.id, counted.sku.clone(), counted.scanned);
            let status = (after.status != pack.status).then_some(after.status);
            let id = self
                .db
                .write(move |c| {
                    storage::save_count(c, pid, &sku, n, status)?;
                    storage::insert_event(c, &ev)
                })
                .await?;
            *pack = after;
            return Ok(self.item_outcome(&counted, &catalog, lang, id));
        }

        // 4. An order number, or the pre-printed waybill of an order.
        let lookup = code.to_string();
        let found = self
            .db
            .read(move |c| {
                if let Some(o) = storage::pack_order(c, &lookup)? {
                    return Ok(Some(o));
                }
                match storage::order_by_preprinted(c, &lookup)? {
                    Some(no) => storage::pack_order(c, &no),
                    None => Ok(None),
                }
            })
            .await?;
        if let Some(order) = found {
            return self.open_order(st, station, order, ev, lang).await;
        }

        // 5. The waybill of a parcel already packed here.
        let lookup = code.to_string();
        if let Some(s) = self
            .db
            .read(move |c| storage::get_shipment(c, &lookup))
            .await?
        {
            ev.kind = "waybill";
            ev.waybill = s.waybill.clone();
            let order_no = s.order_nos.first().cloned().unwrap_or_default();
            return self
                .refuse(
                    ev,
                    Refusal::AlreadyPacked {
                        order_no,
                        waybill: s.waybill,
                    },
                    lang,
                )
                .await;
        }

        self.refuse(
            ev,
            Refusal::UnknownCode {
                code: code.to_string(),
            },
            lang,
        )
        .await
    }

    fn item_outcome(
        &self,
        c: &ItemCounted,
        catalog: &CatalogIndex,
        lang: Lang,
        id: i64,
    ) -> Outcome {
        let name = catalog
            .item(&c.sku)
            .map(|i| i.name.as_str())
            .unwrap_or(&c.sku);
        let (action, key) = if c.pack_complete {
            ("pack_complete", "action.pack_complete")
        } else {
            ("item_counted", "action.item_counted")
        };
        let msg = i18n::tf(
            lang,
            key,
            &[
                ("name", name),
                ("scanned", &c.scanned.to_string()),
                ("required", &c.required.to_string()),
            ],
        );
        Outcome::accepted(action, msg, id)
            .with("sku", &c.sku)
            .with("scanned", c.scanned)
            .with("required", c.required)
            .with("pack_complete", c.pack_complete)
    }

    async fn open_order(
        &self,
        st: &mut StationState,
        station: &str,
        order: crate::domain::packing::PackOrder,
        mut ev: NewEvent,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        ev.kind = "order";
        ev.detail["order_no"] = json!(order.order_no);
        if let Err(r) = check_open(&order) {
            return self.refuse(ev, r, lang).await;
        }
        // An order open at another bench is not taken from under that packer.
        if order.status == OrderStatus::Packing
            && !st
                .pack
                .as_ref()
                .is_some_and(|p| p.order_nos().contains(&order.order_no))
        {
            return self
                .refuse(
                    ev,
                    Refusal::PackInProgress {
                        order_no: order.order_no.clone(),
                    },
                    lang,
                )
                .await;
        }
        let operator = st.badge();
        match st.pack.as_mut() {
            Some(pack) if pack.order_nos().contains(&order.order_no) => {
                ev.verdict = "accepted".into();
                let id = self
                    .db
                    .write(move |c| storage::insert_event(c, &ev))
                    .await?;
                Ok(Outcome::accepted(
                    "order_reopened",
                    i18n::tf(lang, "action.order_open", &[("order_no", &order.order_no)]),
                    id,
                ))
            }
            Some(pack) => {
                if let Err(r) = pack.check_bundle(&order) {
                    return self.refuse(ev, r, lang).await;
                }
                let same = pack.orders[0].recipient_key == order.recipient_key;
                ev.verdict = "accepted".into();
                if same {
                    // Same recipient: the order joins the parcel (합포장 / 合并).
                    let mut after = pack.clone();
                    after.orders.push(order.clone());
                    after.status = PackStatus::Scanning;
                    let (pid, seq, no, saved) = (
                        pack.id,
                        after.orders.len(),
                        order.order_no.clone(),
                        after.clone(),
                    );
                    let id = self
                        .db
                        .write(move |c| {
                            storage::add_pack_order(c, pid, seq, &no)?;
                            storage::save_pack(c, &saved)?;
                            storage::insert_event(c, &ev)
                        })
                        .await?;
                    *pack = after;
                    let msg = i18n::tf(
                        lang,
                        "action.bundled",
                        &[
                            ("order_no", &order.order_no),
                            ("count", &pack.orders.len().to_string()),
                        ],
                    );
                    Ok(Outcome::accepted("bundled", msg, id).with("bundle", pack.order_nos()))
                } else {
                    // Nothing scanned yet: the packer switches to another order.
                    let old = pack.clone();
                    self.start_pack(st, station, order, ev, operator, Some(old), lang)
                        .await
                }
            }
            None => {
                ev.verdict = "accepted".into();
                self.start_pack(st, station, order, ev, operator, None, lang)
                    .await
            }
        }
    }

    /// Opens a new pack for `order` at the station, cancelling `replacing` in the same
    /// transaction when the packer switched orders.
    #[allow(clippy::too_many_arguments)]
    async fn start_pack(
        &self,
        st: &mut StationState,
        station: &str,
        order: crate::domain::packing::PackOrder,
        mut ev: NewEvent,
        operator: String,
        replacing: Option<Pack>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let (station_id, now, order_no) =
            (station.to_string(), ev.at.clone(), order.order_no.clone());
        let (id, pack_id) = self
            .db
            .write(move |c| {
                if let Some(old) = &replacing {
                    storage::close_pack(c, old, "cancelled", &now)?;
                }
                let pid = storage::create_pack(c, &station_id, &operator, &now)?;
                storage::add_pack_order(c, pid, 1, &order_no)?;
                ev.pack_id = Some(pid);
                Ok((storage::insert_event(c, &ev)?, pid))
            })
            .await?;
        st.pack = Some(Pack::new(pack_id, order.clone()));
        // The last parcel's weight says nothing about this one.
        st.reading = None;
        Ok(self.opened_outcome(&order, lang, id))
    }

    fn opened_outcome(
        &self,
        order: &crate::domain::packing::PackOrder,
        lang: Lang,
        id: i64,
    ) -> Outcome {
        let msg = i18n::tf(lang, "action.order_open", &[("order_no", &order.order_no)]);
        Outcome::accepted("order_opened", msg, id)
            .with("order_no", &order.order_no)
            .with("flag", order.flag)
            .with("note", &order.note)
    }

    // ----- weight -----------------------------------------------------------------------

    /// The expected weight and tolerance band of a pack at a station.
    fn expectation(&self, station: &StationConfig, pack: &Pack) -> (Grams, Grams, String) {
        let catalog = self.catalog();
        let required = pack.required();
        let lines = required
            .iter()
            .map(|(sku, q)| (catalog.item(sku).map_or(0, |i| i.unit_weight_g), *q));
        let packaging = pack
            .packaging
            .as_deref()
            .and_then(|c| self.config.packaging.iter().find(|p| p.code == c))
            .or(self.config.default_packaging());
        let tare = packaging.map_or(0, |p| p.tare_g);
        let expected = weight::expected(lines, tare);
        let mut tols: Vec<Tolerance> = vec![station
            .tolerance
            .unwrap_or(self.config.tolerance)
            .to_domain()];
        for sku in required.keys() {
            if let Some(t) = catalog
                .item(sku)
                .filter(|i| !i.category.is_empty())
                .and_then(|i| self.config.categories.get(&i.category))
            {
                tols.push(t.to_domain());
            }
        }
        (
            expected,
            weight::band(expected, &tols),
            packaging.map(|p| p.code.clone()).unwrap_or_default(),
        )
    }

    /// A scale reading. Every reading is recorded; a stable one decides a complete pack.
    pub async fn weight(
        &self,
        station: &str,
        grams: Grams,
        stable: bool,
        lang: Option<Lang>,
    ) -> Result<Outcome, ServiceError> {
        self.weight_with(station, grams, stable, lang, None).await
    }

    /// A reading from a scale driven by the server, with its raw frame kept for audit.
    pub async fn weight_from_device(
        &self,
        station: &str,
        grams: Grams,
        stable: bool,
        raw: &str,
    ) -> Result<Outcome, ServiceError> {
        self.weight_with(station, grams, stable, None, Some(raw))
            .await
    }

    async fn weight_with(
        &self,
        station: &str,
        grams: Grams,
        stable: bool,
        lang: Option<Lang>,
        raw: Option<&str>,
    ) -> Result<Outcome, ServiceError> {
        let cfg = self.station_cfg(station)?.clone();
        let mut st = self.state(station)?.lock().await;
        let lang = lang.unwrap_or(st.lang);
        st.reading = Some(Reading { grams, stable });
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: st.badge(),
            kind: "weight",
            pack_id: st.pack.as_ref().map(|p| p.id),
            detail: match raw {
                Some(raw) => json!({ "grams": grams, "stable": stable, "raw": raw }),
                None => json!({ "grams": grams, "stable": stable }),
            },
            ..Default::default()
        };
        let deciding = stable
            && weight::is_parcel(grams)
            && st
                .pack
                .as_ref()
                .is_some_and(|p| p.status == PackStatus::Weighing);
        let outcome = if !deciding {
            let mut ev = ev;
            ev.verdict = "recorded".into();
            let id = self
                .db
                .write(move |c| storage::insert_event(c, &ev))
                .await?;
            Outcome::accepted("reading_recorded", String::new(), id)
                .with("grams", grams)
                .with("stable", stable)
        } else {
            let pack = st.pack.clone().expect("deciding needs a pack");
            let (expected, tol, _) = self.expectation(&cfg, &pack);
            let check = weight::check(expected, tol, grams);
            if check.pass {
                self.ship(&mut st, &cfg, pack, check, ev, None, lang)
                    .await?
            } else {
                let mut ev = ev;
                ev.kind = "weight_check";
                ev.verdict = "refused".into();
                ev.reason = "weight_out_of_tolerance".into();
                ev.detail = json!({ "grams": grams, "stable": true, "expected_grams": expected,
                                    "tolerance_grams": tol, "diff_grams": check.diff_g });
                let mut after = pack.clone();
                after.fail_weight(grams);
                let saved = after.clone();
                let id = self
                    .db
                    .write(move |c| {
                        storage::save_pack(c, &saved)?;
                        storage::insert_event(c, &ev)
                    })
                    .await?;
                st.pack = Some(after);
                let diff = format!("{:+}", check.diff_g);
                let msg = i18n::tf(
                    lang,
                    "refusal.weight_out_of_tolerance",
                    &[
                        ("expected", &expected.to_string()),
                        ("measured", &grams.to_string()),
                        ("diff", &diff),
                        ("tolerance", &tol.to_string()),
                    ],
                );
                let mut o = Outcome::refused(&Refusal::WeightOutOfTolerance, lang, id);
                o.message = msg;
                o.with("expected_grams", expected)
                    .with("measured_grams", grams)
                    .with("diff_grams", check.diff_g)
                    .with("tolerance_grams", tol)
            }
        };
        if deciding {
            st.last = Some(Verdict::from(&outcome));
        }
        drop(st);
        self.notify(station);
        Ok(outcome)
    }

    /// A manager overrides a failed weight check with a reason; the parcel ships with the
    /// weight that failed, and who allowed it and why stay on the shipment.
    pub async fn override_weight(
        &self,
        station: &str,
        badge: &str,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let cfg = self.station_cfg(station)?.clone();
        let mut st = self.state(station)?.lock().await;
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: badge.into(),
            kind: "override",
            reason: String::new(),
            pack_id: st.pack.as_ref().map(|p| p.id),
            detail: json!({ "reason": reason }),
            ..Default::default()
        };
        if !self.is_manager(badge) {
            return self.refuse(ev, Refusal::ManagerRequired, lang).await;
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "error.reason_required",
            )));
        }
        let Some(pack) = st
            .pack
            .clone()
            .filter(|p| p.failed_measured_g.is_some() && p.status != PackStatus::Scanning)
        else {
            return self.refuse(ev, Refusal::NoOpenPack, lang).await;
        };
        let measured = pack.failed_measured_g.unwrap_or_default();
        let (expected, tol, _) = self.expectation(&cfg, &pack);
        let check = weight::check(expected, tol, measured);
        let o = self
            .ship(
                &mut st,
                &cfg,
                pack,
                check,
                ev,
                Some((badge.to_string(), reason.to_string())),
                lang,
            )
            .await?;
        st.last = Some(Verdict::from(&o));
        drop(st);
        self.notify(station);
        Ok(o)
    }

    fn is_manager(&self, badge: &str) -> bool {
        self.config
            .operator(badge)
            .is_some_and(|o| o.role == Role::Manager)
    }

    /// Passes a pack: takes a waybill, renders and prints the label, records the shipment.
    #[allow(clippy::too_many_arguments)]
    async fn ship(
        &self,
        st: &mut StationState,
        cfg: &StationConfig,
        pack: Pack,
        check: weight::WeightCheck,
        mut ev: NewEvent,
        override_by: Option<(String, String)>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let courier = self.pick_courier(cfg);
        let source = self.waybill_source(&courier)?;
        let packer = st.badge();
        let (_, _, packaging) = self.expectation(cfg, &pack);
        let template = labels::shipping_template_for(&courier).to_string();
        let mut shipment = Shipment {
            waybill: String::new(),
            courier: courier.clone(),
            pack_id: pack.id,
            station: cfg.id.clone(),
            packer: packer.clone(),
            packed_at: ev.at.clone(),
            expected_grams: check.expected_g,
            tolerance_grams: check.tolerance_g,
            measured_grams: check.measured_g,
            packaging,
            status: "shipped".into(),
            override_by: override_by
                .as_ref()
                .map(|o| o.0.clone())
                .unwrap_or_default(),
            override_reason: override_by
                .as_ref()
                .map(|o| o.1.clone())
                .unwrap_or_default(),
            label_template: template.clone(),
            order_nos: pack.order_nos(),
            items: pack
                .required()
                .into_iter()
                .map(|(sku, qty)| ShipmentItem { sku, qty })
                .collect(),
        };
        let printer = self.config.station_printer(cfg);
        let (format, dpi) = self.printer_output(&printer);

        // Record the shipment first: a printer fault must never lose it.
        let refused = ev.clone();
        ev.kind = if override_by.is_some() {
            "override"
        } else {
            "weight_check"
        };
        ev.verdict = "accepted".into();
        ev.reason = if override_by.is_some() {
            "override".into()
        } else {
            "pass".into()
        };
        ev.detail = json!({ "grams": check.measured_g, "stable": true, "expected_grams": check.expected_g,
                            "tolerance_grams": check.tolerance_g, "diff_grams": check.diff_g,
                            "override_reason": override_by.as_ref().map(|o| o.1.clone()) });
        // One transaction, one fsync on the verdict's path: the waybill is taken, the label's
        // data is made from the order as stored, and the shipment with both is recorded. A
        // crash before the commit leaves neither a shipment nor a reserved number behind.
        // The label's template, data and resolution are part of the shipment's record; the
        // printer's job is rendered after the verdict is out.
        let inputs = LabelInputs {
            config: self.config.clone(),
            rules: self.rules.clone(),
            catalog: self.catalog(),
        };
        let (p2, now) = (pack.clone(), ev.at.clone());
        let format_ext = format.extension().to_string();
        let recorded = self
            .db
            .write(move |c| {
                let Some(waybill) = reserve_waybill_in(c, &source, &p2, &now)? else {
                    let mut e = refused;
                    e.verdict = "refused".into();
                    e.reason = "no_waybill".into();
                    return Ok(Err(storage::insert_event(c, &e)?));
                };
                shipment.waybill = waybill.clone();
                let first = &p2.order_nos()[0];
                let order = storage::get_order(c, first)?.ok_or_else(|| {
                    StorageError::Conflict(format!("order {first} is not in the database"))
                })?;
                let data = label_data(
                    &inputs.config,
                    &inputs.rules,
                    &inputs.catalog,
                    &shipment,
                    &order.record,
                    &p2,
                );
                let label_job = storage::LabelJob {
                    template: shipment.label_template.clone(),
                    data: data.to_string(),
                    job: Vec::new(),
                    format: format_ext,
                    dpi,
                };
                ev.waybill = waybill.clone();
                let ship_ev = NewEvent {
                    kind: "shipment",
                    verdict: "accepted".into(),
                    detail: Value::Null,
                    ..ev.clone()
                };
                let s2 = &shipment;
                let id = storage::insert_event(c, &ev)?;
                storage::insert_shipment(c, s2)?;
                storage::ledger::post_shipment(c, s2)?;
                storage::returns::link_exchange_waybill(c, s2)?;
                storage::set_label_job(c, &s2.waybill, &label_job)?;
                storage::set_waybill_status(c, &s2.waybill, "used")?;
                for o in &s2.order_nos {
                    storage::set_order_status(c, o, OrderStatus::Packed, &s2.waybill)?;
                }
                storage::close_pack(c, &p2, "shipped", &now)?;
                storage::insert_event(c, &ship_ev)?;
                Ok(Ok((id, waybill)))
            })
            .await?;
        let (id, waybill) = match recorded {
            Ok(r) => r,
            Err(id) => {
                return Ok(Outcome {
                    verdict: "refused",
                    code: "no_waybill".into(),
                    action: String::new(),
                    message: i18n::tf(lang, "refusal.no_waybill", &[("courier", &courier)]),
                    event_id: id,
                    extra: Default::default(),
                })
            }
        };
        st.pack = None;
        let key = if override_by.is_some() {
            "action.shipped_override"
        } else {
            "action.shipped"
        };
        let msg = i18n::tf(
            lang,
            key,
            &[
                ("waybill", &waybill),
                ("grams", &check.measured_g.to_string()),
            ],
        );
        let outcome = Outcome::accepted(
            if override_by.is_some() {
                "override_shipped"
            } else {
                "shipped"
            },
            msg,
            id,
        )
        .with("waybill", &waybill)
        .with("courier", &courier)
        .with("expected_grams", check.expected_g)
        .with("measured_grams", check.measured_g)
        .with("diff_grams", check.diff_g)
        .with("tolerance_grams", check.tolerance_g);
        // The shipment is committed: the verdict goes out now, the label follows.
        st.last = Some(Verdict::from(&outcome));
        st.last_waybill = Some(waybill.clone());
        self.notify(&cfg.id);

        // The label is rendered and printed off the station's lock, so a slow or dead printer
        // (up to its 10 s limit) never holds up the next scan. A failure is shown on the
        // bench and the label can be printed again from there.
        let job = PrintJob {
            station: cfg.id.clone(),
            waybill: waybill.clone(),
            packer,
            printer,
            zpl: format == labels::Format::Zpl,
        };
        match self.me.get().and_then(std::sync::Weak::upgrade) {
            Some(app) => {
                tokio::spawn(async move { app.print_shipment(job, None).await });
                Ok(outcome.with("print", json!({ "queued": true })))
            }
            // Without a shared handle (an App used on its own), print in line.
            None => {
                let print = self.print_shipment(job, Some(st)).await;
                Ok(outcome.with("print", &print))
            }
        }
    }

    /// Renders a new shipment's label for its printer, keeps the job, prints it and shows a
    /// failure on the bench. Jobs of one station print in the order they were shipped.
    async fn print_shipment(&self, job: PrintJob, st: Option<&mut StationState>) -> PrintResult {
        let queue = self.print_queues.get(&job.station).cloned();
        let _turn = match &queue {
            Some(q) => Some(q.lock().await),
            None => None,
        };
        let cfg = match self.station_cfg(&job.station) {
            Ok(c) => c.clone(),
            Err(e) => {
                return PrintResult {
                    ok: false,
                    printer: job.printer.id.clone(),
                    error: e.to_string(),
                }
            }
        };
        let print = match self.job_for(&job.waybill, &job.printer).await {
            Ok(bytes) => {
                let (wb, stored, zpl) = (job.waybill.clone(), bytes.clone(), job.zpl);
                if let Err(e) = self
                    .db
                    .write(move |c| storage::set_printed_job(c, &wb, &stored, zpl))
                    .await
                {
                    tracing::error!(waybill = job.waybill, error = %e, "could not keep the printed job");
                }
                self.print(
                    &cfg,
                    &job.printer,
                    &bytes,
                    &job.waybill,
                    &job.packer,
                    "print",
                )
                .await
                .0
            }
            Err(e) => PrintResult {
                ok: false,
                printer: job.printer.id.clone(),
                error: e.to_string(),
            },
        };
        let failed = (!print.ok && job.printer.spec != "none").then(|| PrintFailure {
            waybill: job.waybill.clone(),
            printer: print.printer.clone(),
            error: print.error.clone(),
        });
        match st {
            Some(st) => st.print_failed = failed,
            None => {
                if let Ok(state) = self.state(&job.station) {
                    let mut st = state.lock().await;
                    // A later label's outcome is not overwritten by an earlier one's.
                    if failed.is_some()
                        || st
                            .print_failed
                            .as_ref()
                            .is_some_and(|f| f.waybill == job.waybill)
                    {
                        st.print_failed = failed;
                    }
                }
                self.notify(&job.station);
            }
        }
        print
    }

    /// The courier of a parcel is the bench's (benches are set up per courier).
    fn pick_courier(&self, cfg: &StationConfig) -> String {
        self.config.station_courier(cfg).to_string()
    }

    /// A waybill for the pack: the one it already reserved (a retry after a crash), the
    /// order's pre-printed one, or the next from the courier's bands.
    /// The courier's number rule and allocated bands, for taking a waybill in a write job.
    fn waybill_source(&self, courier: &str) -> Result<WaybillSource, ServiceError> {
        let rule = waybill::rule(&self.rules, courier)
            .cloned()
            .ok_or_else(|| ServiceError::BadRequest(format!("unknown courier {courier}")))?;
        let bands = self
            .config
            .waybill_bands
            .iter()
            .filter(|b| b.courier == courier)
            .map(|b| (b.first, b.last))
            .collect();
        Ok(WaybillSource {
            courier: courier.to_string(),
            rule,
            bands,
        })
    }

    fn template_dir(&self) -> Option<PathBuf> {
        self.config.label_templates.as_ref().map(PathBuf::from)
    }

    /// Sends a label to the station's printer and records the print (or its failure).
    async fn print(
        &self,
        cfg: &StationConfig,
        printer: &crate::config::PrinterConfig,
        job: &[u8],
        waybill: &str,
        operator: &str,
        kind: &'static str,
    ) -> (PrintResult, Result<i64, StorageError>) {
        let result = self.send_to_printer(&cfg.id, printer, job, waybill).await;
        let ev = NewEvent {
            at: now(),
            station: cfg.id.clone(),
            operator: operator.into(),
            kind,
            verdict: if result.ok {
                "accepted".into()
            } else {
                "failed".into()
            },
            reason: result.error.clone(),
            waybill: waybill.into(),
            detail: json!({ "printer": printer.id, "spec": printer.spec, "bytes": job.len() }),
            ..Default::default()
        };
        let id = self.db.write(move |c| storage::insert_event(c, &ev)).await;
        if let Err(e) = &id {
            tracing::error!(error = %e, "could not record a print event");
        }
        (result, id)
    }

    /// Sends a job to a printer (by `[[printers]]` id or spec) and reports what happened
    /// on the device board of `station`. Acknowledged only when the transport accepted it.
    async fn send_to_printer(
        &self,
        station: &str,
        printer: &crate::config::PrinterConfig,
        job: &[u8],
        waybill: &str,
    ) -> PrintResult {
        let result = match Transport::parse(&printer.spec) {
            Ok(Transport::None) => Err("no_printer".to_string()),
            Ok(t) => t
                .with_emulator(self.emulator)
                .send_async(job.to_vec(), Some(waybill.to_string()), PRINT_LIMIT)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if printer.spec != "none" {
            let changed = match &result {
                Ok(()) => self.devices.set(station, Kind::Printer, "online", ""),
                // An offline printer stays offline (the monitor says when it is back); one
                // that is there but failed the job shows the error until a job goes through.
                Err(e) => self.devices.update(station, Kind::Printer, |d| {
                    let state = if d.state == "offline" {
                        "offline"
                    } else {
                        "error"
                    };
                    d.set(state, e)
                }),
            };
            if changed {
                self.notify(station);
            }
        }
        PrintResult {
            ok: result.is_ok(),
            printer: printer.id.clone(),
            error: result.err().unwrap_or_default(),
        }
    }

    // ----- actions ----------------------------------------------------------------------

    /// Reprints a shipment's label as printed (same number), at its bench or another.
    pub async fn reprint(
        &self,
        waybill: &str,
        badge: &str,
        station: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let wb = waybill.to_string();
        let s = self
            .db
            .read(move |c| storage::get_shipment(c, &wb))
            .await?
            .ok_or_else(|| ServiceError::NotFound(waybill.into()))?;
        let station = station.unwrap_or(&s.station).to_string();
        let cfg = self.station_cfg(&station)?.clone();
        let ev = NewEvent {
            at: now(),
            station: station.clone(),
            operator: badge.into(),
            kind: "reprint",
            waybill: waybill.into(),
            pack_id: Some(s.pack_id),
            ..Default::default()
        };
        if !self.is_manager(badge) {
            return self.refuse(ev, Refusal::ManagerRequired, lang).await;
        }
        if s.status == "void" {
            let mut ev = ev;
            ev.verdict = "refused".into();
            ev.reason = "waybill_void".into();
            let id = self
                .db
                .write(move |c| storage::insert_event(c, &ev))
                .await?;
            return Ok(Outcome {
                verdict: "refused",
                code: "waybill_void".into(),
                action: String::new(),
                message: i18n::tf(lang, "refusal.waybill_void", &[("waybill", waybill)]),
                event_id: id,
                extra: Default::default(),
            });
        }
        let printer = self.config.station_printer(&cfg);
        let job = self.job_for(waybill, &printer).await?;
        let (print, id) = self
            .print(&cfg, &printer, &job, waybill, badge, "reprint")
            .await;
        let id = id?;
        let msg = i18n::tf(lang, "action.reprinted", &[("waybill", waybill)]);
        self.notify(&station);
        Ok(Outcome::accepted("reprinted", msg, id)
            .with("print", &print)
            .with("waybill", waybill))
    }

    /// Sends the station's last label that did not print again: to `printer` (a
    /// `[[printers]]` id or another station's id) or to the station's own printer. The
    /// shipment is untouched; only the print is repeated, so no manager is needed.
    pub async fn retry_print(
        &self,
        station: &str,
        printer: Option<&str>,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let cfg = self.station_cfg(station)?.clone();
        let mut st = self.state(station)?.lock().await;
        let Some(failed) = st.print_failed.clone() else {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "error.nothing_to_reprint",
            )));
        };
        let target = match printer {
            None => self.config.station_printer(&cfg),
            Some(id) => match (self.config.printer(id), self.config.station(id)) {
                (Some(p), _) => p.clone(),
                (None, Some(other)) => self.config.station_printer(other),
                (None, None) => {
                    return Err(ServiceError::BadRequest(i18n::tf(
                        lang,
                        "error.unknown_printer",
                        &[("printer", id)],
                    )))
                }
            },
        };
        let job = self.job_for(&failed.waybill, &target).await?;
        let operator = st.badge();
        let (print, id) = self
            .print(
                &cfg,
                &target,
                &job,
                &failed.waybill,
                &operator,
                "print_retry",
            )
            .await;
        let id = id?;
        st.print_failed = (!print.ok).then(|| PrintFailure {
            waybill: failed.waybill.clone(),
            printer: print.printer.clone(),
            error: print.error.clone(),
        });
        drop(st);
        self.notify(station);
        let (action, key) = if print.ok {
            ("printed", "action.printed")
        } else {
            ("print_failed", "action.print_failed")
        };
        let msg = i18n::tf(
            lang,
            key,
            &[("waybill", &failed.waybill), ("printer", &print.printer)],
        );
        let mut o = Outcome::accepted(action, msg, id)
            .with("print", &print)
            .with("waybill", &failed.waybill);
        if !print.ok {
            o.verdict = "refused";
            o.code = "print_failed".into();
        }
        Ok(o)
    }

    /// Voids a shipment: the number is retired for good, the orders can be packed again.
    pub async fn void(
        &self,
        waybill: &str,
        badge: &str,
        reason: &str,
        lang: Lang,
    ) -> Result<Outcome, ServiceError> {
        let wb = waybill.to_string();
        let s = self
            .db
            .read(move |c| storage::get_shipment(c, &wb))
            .await?
            .ok_or_else(|| ServiceError::NotFound(waybill.into()))?;
        let mut ev = NewEvent {
            at: now(),
            station: s.station.clone(),
            operator: badge.into(),
            kind: "void",
            waybill: waybill.into(),
            pack_id: Some(s.pack_id),
            detail: json!({ "reason": reason }),
            ..Default::default()
        };
        if !self.is_manager(badge) {
            return self.refuse(ev, Refusal::ManagerRequired, lang).await;
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::BadRequest(i18n::t(
                lang,
                "error.reason_required",
            )));
        }
        if s.status == "void" {
            return Err(ServiceError::BadRequest(i18n::tf(
                lang,
                "refusal.waybill_void",
                &[("waybill", waybill)],
            )));
        }
        ev.verdict = "accepted".into();
        ev.reason = reason.into();
        let wb = waybill.to_string();
        let (id, orders) = self
            .db
            .write(move |c| {
                // A void of a sealed day goes in as a correction (the archive's triggers
                // refuse any other change to a sealed shipment).
                storage::archive::correct_if_sealed(
                    c,
                    &wb,
                    "void",
                    &ev.reason,
                    &ev.operator,
                    &ev.at,
                )?;
                let orders = storage::void_shipment(c, &wb)?;
                storage::ledger::reverse_shipment(c, &wb, &ev.at, &ev.operator)?;
                Ok((storage::insert_event(c, &ev)?, orders))
            })
            .await?;
        self.notify(&s.station);
        Ok(Outcome::accepted(
            "voided",
            i18n::tf(lang, "action.voided", &[("waybill", waybill)]),
            id,
        )
        .with("orders", orders))
    }

    /// Cancels the open pack at a station (its orders go back to ready).
    pub async fn cancel_pack(&self, station: &str, lang: Lang) -> Result<Outcome, ServiceError> {
        let mut st = self.state(station)?.lock().await;
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: st.badge(),
            kind: "cancel",
            pack_id: st.pack.as_ref().map(|p| p.id),
            verdict: "accepted".into(),
            ..Default::default()
        };
        let Some(pack) = st.pack.clone() else {
            return self.refuse(ev, Refusal::NoOpenPack, lang).await;
        };
        let now = ev.at.clone();
        let id = self
            .db
            .write(move |c| {
                storage::close_pack(c, &pack, "cancelled", &now)?;
                storage::insert_event(c, &ev)
            })
            .await?;
        st.pack = None;
        st.last = None;
        drop(st);
        self.notify(station);
        Ok(Outcome::accepted(
            "pack_cancelled",
            i18n::t(lang, "action.pack_cancelled"),
            id,
        ))
    }

    /// Signs the packer out of a station (the open pack stays for the next packer).
    pub async fn sign_out(&self, station: &str, lang: Lang) -> Result<Outcome, ServiceError> {
        let mut st = self.state(station)?.lock().await;
        let ev = NewEvent {
            at: now(),
            station: station.into(),
            operator: st.badge(),
            kind: "sign_out",
            verdict: "accepted".into(),
            ..Default::default()
        };
        let (sid, at) = (station.to_string(), ev.at.clone());
        let id = self
            .db
            .write(move |c| {
                storage::set_session(c, &sid, None, &at)?;
                storage::insert_event(c, &ev)
            })
            .await?;
        st.operator = None;
        st.last = None;
        drop(st);
        self.notify(station);
        Ok(Outcome::accepted(
            "signed_out",
            i18n::t(lang, "action.signed_out"),
            id,
        ))
    }

    // ----- views ------------------------------------------------------------------------

    /// What the bench page shows, as JSON.
    pub async fn station_view(&self, station: &str, lang: Lang) -> Result<Value, ServiceError> {
        let cfg = self.station_cfg(station)?.clone();
        let st = self.state(station)?.lock().await;
        let catalog = self.catalog();
        let pack = st.pack.as_ref().map(|p| {
            let (expected, tol, packaging) = self.expectation(&cfg, p);
            let mut left: std::collections::BTreeMap<String, i64> = p.counts.clone();
            let orders: Vec<Value> = p
                .orders
                .iter()
                .map(|o| {
                    let lines: Vec<Value> = o
                        .lines
                        .iter()
                        .map(|l| {
                            // Scanned units are shown against the first line of the SKU first.
                            let have = left.get(&l.sku).copied().unwrap_or(0).min(l.qty);
                            if let Some(v) = left.get_mut(&l.sku) {
                                *v -= have;
                            }
                            let item = catalog.item(&l.sku);
                            json!({ "sku": l.sku, "qty": l.qty, "scanned": have,
                                    "name": item.map(|i| i.name.as_str()).unwrap_or(""),
                                    "option": item.map(|i| i.option.as_str()).unwrap_or(""),
                                    "location": item.map(|i| i.location.as_str()).unwrap_or(""),
                                    "barcode": item.and_then(|i| i.barcodes.first()).map(String::as_str).unwrap_or("") })
                        })
                        .collect();
                    json!({ "order_no": o.order_no, "flag": o.flag, "note": o.note,
                            "recipient_name": o.recipient_name, "lines": lines })
                })
                .collect();
            json!({ "id": p.id, "status": p.status, "orders": orders, "packaging": packaging,
                    "expected_grams": expected, "tolerance_grams": tol,
                    "scanned": p.scanned_total(), "required": p.required().values().sum::<i64>(),
                    "failed_measured_grams": p.failed_measured_g })
        });
        let mut devices = self.devices.station(station);
        if devices.scale.state == "api" && st.reading.is_some() {
            devices.scale.state = "online".into();
        }
        Ok(json!({
            "station": cfg.id,
            "name": cfg.name,
            "courier": self.config.station_courier(&cfg),
            "operator": st.operator,
            "pack": pack,
            "reading": st.reading,
            "last": st.last,
            "devices": { "scanner": devices.scanner.state, "scale": devices.scale.state,
                         "printer": devices.printer.state },
            "device_detail": devices,
            "print_failed": st.print_failed,
            "last_waybill": st.last_waybill,
            "camera": { "mode": cfg.camera, "moments": cfg.camera_moments,
                        "delay_ms": cfg.camera_delay_ms },
            "label_mismatch": st.label_mismatch.as_ref().map(|(w, f)| json!({ "waybill": w, "found": f })),
            "scale_sim": self.running.get().is_some_and(|r| r.scale_sim(station).is_some()),
            "printers": self.printer_choices(),
            "cutoff_minutes_left": self.cutoff_minutes_left(),
            "lang": lang.code(),
            "demo": self.demo,
        }))
    }

    /// The profile of a printer (its language and resolution).
    pub fn printer_profile(
        &self,
        printer: &crate::config::PrinterConfig,
    ) -> Option<PrinterProfile> {
        let all = self
            .printer_profiles
            .get_or_init(|| crate::devices::printer::load_profiles(None).unwrap_or_default());
        all.get(&printer.profile).cloned()
    }

    /// The label format and resolution a printer takes (ZPL at 203 dpi when unknown).
    pub fn printer_output(&self, printer: &crate::config::PrinterConfig) -> (labels::Format, u32) {
        match self.printer_profile(printer) {
            Some(p) => (
                match p.language {
                    PrinterLanguage::Zpl => labels::Format::Zpl,
                    PrinterLanguage::Tspl => labels::Format::Tspl,
                },
                p.dpi,
            ),
            None => (labels::Format::Zpl, 203),
        }
    }

    /// A shipment's label as `printer` needs it: the job as printed when the printer takes
    /// the same language and resolution, otherwise the same template and data rendered for
    /// it (a label redirected from a Zebra to a TSC printer is the same label).
    pub async fn job_for(
        &self,
        waybill: &str,
        printer: &crate::config::PrinterConfig,
    ) -> Result<Vec<u8>, ServiceError> {
        let wb = waybill.to_string();
        let stored = self
            .db
            .read(move |c| storage::label_job(c, &wb))
            .await?
            .ok_or_else(|| ServiceError::NotFound(waybill.into()))?;
        let (format, dpi) = self.printer_output(printer);
        self.render_stored(stored, format, dpi).await
    }

    /// A shipment's label in `format` exactly as it was printed: the printed job itself
    /// when it is in that language, otherwise the same template filled with the same data at
    /// the same resolution (PDF and PNG are always rendered so).
    pub async fn label(
        &self,
        waybill: &str,
        format: labels::Format,
    ) -> Result<Vec<u8>, ServiceError> {
        let wb = waybill.to_string();
        let stored = self
            .db
            .read(move |c| storage::label_job(c, &wb))
            .await?
            .ok_or_else(|| ServiceError::NotFound(waybill.into()))?;
        let dpi = stored.dpi;
        self.render_stored(stored, format, dpi).await
    }

    async fn render_stored(
        &self,
        stored: storage::LabelJob,
        format: labels::Format,
        dpi: u32,
    ) -> Result<Vec<u8>, ServiceError> {
        if stored.format == format.extension() && stored.dpi == dpi && !stored.job.is_empty() {
            return Ok(stored.job);
        }
        let dir = self.template_dir();
        tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
            if stored.data.is_empty() {
                // Shipments recorded before the label data was kept have only their ZPL:
                // its graphics and barcodes are replayed into the other formats.
                let pages =
                    labels::replay::zpl(&stored.job, stored.dpi).map_err(|e| e.to_string())?;
                return labels::render_layouts(&pages, format, "").map_err(|e| e.to_string());
            }
            let data: Value = serde_json::from_str(&stored.data).map_err(|e| e.to_string())?;
            let t = labels::load_template(dir.as_deref(), &stored.template)
                .map_err(|e| e.to_string())?;
            labels::render_with(&t, &data, format, &labels::RenderOptions { dpi })
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ServiceError::BadRequest(e.to_string()))?
        .map_err(ServiceError::BadRequest)
    }

    /// The printers a failed label can be sent to: every `[[printers]]` entry and every
    /// station's printer, by id, once each.
    pub fn printer_choices(&self) -> Vec<Value> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let named = self.config.printers.iter().cloned();
        let of_stations = self
            .config
            .stations
            .iter()
            .map(|s| self.config.station_printer(s));
        for p in named.chain(of_stations) {
            if p.spec != "none" && seen.insert(p.id.clone()) {
                let name = if p.name.is_empty() {
                    p.id.clone()
                } else {
                    p.name.clone()
                };
                out.push(json!({ "id": p.id, "name": name }));
            }
        }
        out
    }

    /// Minutes from now to today's cut-off in the warehouse time zone (negative after it).
    pub fn cutoff_minutes_left(&self) -> i64 {
        let Ok(tz) = jiff::tz::TimeZone::get(&self.config.warehouse.timezone) else {
            return 0;
        };
        let now = jiff::Timestamp::now().to_zoned(tz);
        let minutes = now.hour() as i64 * 60 + now.minute() as i64;
        self.config.cutoff_minutes() - minutes
    }

    pub fn station_ids(&self) -> Vec<String> {
        self.config.stations.iter().map(|s| s.id.clone()).collect()
    }

    /// Imports catalog items (all or nothing) and refreshes the in-memory index.
    pub async fn import_catalog(
        &self,
        items: Vec<CatalogItem>,
    ) -> Result<storage::ImportSummary, ServiceError> {
        let sum = self
            .db
            .write(move |c| storage::upsert_catalog(c, &items))
            .await?;
        self.reload_catalog().await?;
        Ok(sum)
    }

    pub async fn import_orders(
        &self,
        orders: Vec<OrderRecord>,
    ) -> Result<storage::ImportSummary, ServiceError> {
        let now = now();
        Ok(self
            .db
            .write(move |c| storage::upsert_orders(c, &orders, &now))
            .await?)
    }

    /// Is this SKU in the catalog (for order imports)?
    pub fn knows_sku(&self, sku: &str) -> bool {
        self.catalog().item(sku).is_some()
    }
}

/// How long a printer may take to accept one job.
const PRINT_LIMIT: Duration = Duration::from_secs(10);

/// A shipment's label waiting to be rendered and printed.
struct PrintJob {
    station: String,
    waybill: String,
    packer: String,
    printer: crate::config::PrinterConfig,
    /// The printer takes ZPL (the job is also kept as the shipment's ZPL).
    zpl: bool,
}

/// A label that did not print: shown on the bench until it is retried or redirected.
#[derive(Debug, Clone, Serialize)]
pub struct PrintFailure {
    pub waybill: String,
    pub printer: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrintResult {
    pub ok: bool,
    pub printer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// Masks a phone number the way couriers print it: `010-****-5678`.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return phone
            .chars()
            .map(|c| if c.is_ascii_digit() { '*' } else { c })
            .collect();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}-****-{tail}")
}

/// Where a courier's waybill numbers come from: its rule and the bands allocated to us.
struct WaybillSource {
    courier: String,
    rule: CourierRule,
    bands: Vec<(u64, u64)>,
}

/// What a label's data is made from, owned so it can go into a write job.
struct LabelInputs {
    config: Config,
    rules: Vec<CourierRule>,
    catalog: Arc<CatalogIndex>,
}

/// Takes the parcel's waybill inside a write job: the one the pack already has, else a valid
/// pre-printed number from its orders that is not in the archive, else the next number of
/// the courier's bands. `None` when every band is used up.
fn reserve_waybill_in(
    c: &rusqlite::Connection,
    src: &WaybillSource,
    pack: &Pack,
    now: &str,
) -> Result<Option<String>, StorageError> {
    if let Some(w) = storage::pack_waybill(c, pack.id)? {
        return Ok(Some(w));
    }
    for no in pack.order_nos() {
        let Some(o) = storage::get_order(c, &no)? else {
            continue;
        };
        let pre = o.record.waybill;
        if !pre.is_empty() && storage::waybill_status(c, &pre)?.is_none() {
            if let Ok(v) = waybill::validate(&src.rule, &pre) {
                storage::reserve_preprinted(c, &v.number, &src.courier, now)?;
                storage::set_pack_waybill(c, pack.id, &v.number)?;
                return Ok(Some(v.number));
            }
        }
    }
    let make = |serial: u64| waybill::number_from_serial(&src.rule, serial).ok();
    let w = storage::reserve_from_bands(c, &src.courier, &src.bands, &make, now)?;
    if let Some(w) = &w {
        storage::set_pack_waybill(c, pack.id, w)?;
    }
    Ok(w)
}

/// The data a shipping label template is filled from.
pub fn label_data(
    config: &Config,
    rules: &[CourierRule],
    catalog: &CatalogIndex,
    s: &Shipment,
    first: &OrderRecord,
    pack: &Pack,
) -> Value {
    let courier_name = waybill::rule(rules, &s.courier)
        .map(|r| r.name("ko").to_string())
        .unwrap_or_default();
    let courier_name = if matches!(
        s.courier.as_str(),
        "sf" | "sto" | "zto" | "yto" | "yunda" | "ems"
    ) {
        waybill::rule(rules, &s.courier)
            .map(|r| r.name("zh").to_string())
            .unwrap_or(courier_name)
    } else {
        courier_name
    };
    let summary: Vec<String> = s
        .items
        .iter()
        .map(|it| {
            let item = catalog.item(&it.sku);
            let name = item.map(|i| i.name.as_str()).unwrap_or(&it.sku);
            let option = item.map(|i| i.option.as_str()).unwrap_or("");
            let opt = if option.is_empty() {
                String::new()
            } else {
                format!(" {option}")
            };
            format!("{name}{opt} x{}", it.qty)
        })
        .collect();
    let notes: Vec<&str> = pack
        .orders
        .iter()
        .map(|o| o.note.as_str())
        .filter(|n| !n.is_empty())
        .collect();
    let packed_local = jiff::Timestamp::from_str_lenient(&s.packed_at)
        .map(|t| {
            let tz = jiff::tz::TimeZone::get(&config.warehouse.timezone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            t.to_zoned(tz).strftime("%Y-%m-%d %H:%M").to_string()
        })
        .unwrap_or_else(|| s.packed_at.clone());
    json!({
        "waybill": s.waybill,
        "courier": { "code": s.courier, "name": courier_name },
        "order_no": first.order_no,
        "orders": s.order_nos,
        "bundle_count": s.order_nos.len(),
        "recipient": { "name": first.recipient_name, "phone_masked": mask_phone(&first.recipient_phone),
                       "address": first.address, "postcode": first.postcode },
        "sender": { "name": config.warehouse.name, "phone": config.warehouse.sender_phone,
                    "address": config.warehouse.sender_address },
        "items_summary": summary.join("; "),
        "note": notes.join(" / "),
        "route": "",
        "packed_at": packed_local,
        "packer": s.packer,
        "weight_g": s.measured_grams,
    })
}

/// `jiff::Timestamp` parsing that returns `None` instead of an error.
trait LenientTimestamp: Sized {
    fn from_str_lenient(s: &str) -> Option<Self>;
}

impl LenientTimestamp for jiff::Timestamp {
    fn from_str_lenient(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_masked_like_couriers_print_them() {
        for (raw, want) in [
            ("010-1234-5678", "010-****-5678"),
            ("01012345678", "010-****-5678"),
            ("+86 138 0013 8000", "861-****-8000"),
            ("1234", "****"),
        ] {
            assert_eq!(mask_phone(raw), want, "{raw}");
        }
    }
}
