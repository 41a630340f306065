//! The monthly courier bill: load the contract's rate cards, read the statement, gather what
//! the archive knows of the courier's parcels (weights, boxes, classes, destinations, what
//! was voided, handed over, claimed, and billed in months already accepted), run the pure
//! reconciliation (`domain::reconcile`) and keep the statement with its report. A manager
//! accepts a month, which locks it. The dispute list goes out as XLSX/CSV for the courier and
//! as a PDF through the label engine.
//!
//! The core runs blocking (`reconcile_blocking`), so the CLI and the server share it; the
//! server calls it off the async workers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{now, App, ServiceError};
use crate::config::Config;
use crate::domain::ratecard::{self, CardError, RateCard};
use crate::domain::reconcile::{
    self, Archived, Bill, Category, ParcelState, ReconcileError, Report,
};
use crate::exports::dispatch;
use crate::i18n::{self, Lang};
use crate::imports::bill as bill_import;
use crate::imports::ImportError;
use crate::labels;
use crate::storage::bills as store;
use crate::storage::{Db, StorageError};

/// The rate cards shipped with packbench (documented examples; `rate-cards/README.md`).
const EMBEDDED_CARDS: &[(&str, &str)] = &[
    (
        "cj-2026.toml",
        include_str!("../../rate-cards/cj-2026.toml"),
    ),
    (
        "sf-2026.toml",
        include_str!("../../rate-cards/sf-2026.toml"),
    ),
];

/// The dispute list's print layout.
const DISPUTE_TEMPLATE: (&str, &str) = (
    "dispute-list-a4.toml",
    include_str!("../../label-templates/dispute-list-a4.toml"),
);

/// Why a bill was not reconciled.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// The statement has bad rows (every one listed).
    #[error("{0}")]
    Import(ImportError),
    /// A rate-card file is wrong (file, line, what).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Card(Vec<CardError>),
    #[error("{0}")]
    Reconcile(ReconcileError),
    /// Anything else the user can fix (bad month, unknown courier, locked month ...).
    #[error("{message}")]
    Refused { code: &'static str, message: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Where a site's own rate cards live: `<data>/rate-cards/*.toml`.
pub fn site_card_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("rate-cards")
}

/// The built-in rate cards, replaced or joined by the site's (a site file with the same name
/// replaces the built-in one). Any mistake in any file refuses them all.
pub fn load_rate_cards(data_dir: &Path) -> Result<Vec<RateCard>, Vec<CardError>> {
    let mut files: Vec<(String, String, String)> = EMBEDDED_CARDS
        .iter()
        .map(|(n, t)| (n.to_string(), format!("rate-cards/{n}"), t.to_string()))
        .collect();
    let dir = site_card_dir(data_dir);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&p).map_err(|e| {
                vec![CardError {
                    file: p.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                }]
            })?;
            files.retain(|(n, _, _)| *n != name);
            files.push((name, p.display().to_string(), text));
        }
    }
    let mut cards = Vec::new();
    let mut errors = Vec::new();
    for (_, shown, text) in &files {
        match ratecard::parse(shown, text) {
            Ok(c) => cards.push(c),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(cards)
    } else {
        Err(errors)
    }
}

/// One reconciliation asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub courier: String,
    pub month: String,
    /// A statement layout by name, or None to recognise it.
    pub layout: Option<String>,
    pub by: String,
}

fn refused(code: &'static str, message: String) -> BillError {
    BillError::Refused { code, message }
}

fn valid_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && m[..4].bytes().all(|c| c.is_ascii_digit())
        && m[5..].parse::<u32>().is_ok_and(|n| (1..=12).contains(&n))
}

/// The archive of a courier as reconciliation sees it.
pub fn load_archive(
    db: &Db,
    config: &Config,
    courier: &str,
) -> Result<Vec<Archived>, StorageError> {
    let tz = jiff::tz::TimeZone::get(&config.warehouse.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    let dims: HashMap<String, [u32; 3]> = config
        .packaging
        .iter()
        .filter_map(|p| p.dims_cm.map(|d| (p.code.clone(), d)))
        .collect();
    // The local date of a UTC time; times are `YYYY-MM-DDTHH:MM...Z`, so the date is looked
    // up by the minute they start with (a month has at most 44,640), not converted a million
    // times.
    let mut by_minute: HashMap<String, Option<jiff::civil::Date>> = HashMap::new();
    let mut local = |utc: &str| -> Option<jiff::civil::Date> {
        let convert = |s: &str| {
            s.parse::<jiff::Timestamp>()
                .ok()
                .map(|t| t.to_zoned(tz.clone()).date())
        };
        match utc.get(..16) {
            Some(key) if utc.ends_with('Z') && utc.as_bytes().get(10) == Some(&b'T') => {
                if let Some(d) = by_minute.get(key) {
                    return *d;
                }
                let d = convert(utc);
                by_minute.insert(key.to_string(), d);
                d
            }
            _ => convert(utc),
        }
    };
    let mut out = Vec::new();
    db.read_blocking(|c| {
        store::archive_for(c, courier, |r| {
            let state = ParcelState::parse(r.status).unwrap_or(ParcelState::Shipped);
            let handed_over = match (r.handed_over_at, r.imported) {
                (Some(at), _) => local(at),
                (None, true) => local(r.packed_at),
                (None, false) => None,
            };
            out.push(Archived {
                waybill: r.waybill.to_string(),
                state,
                parcel: ratecard::Parcel {
                    weight_g: r.measured_g,
                    dims_cm: dims.get(r.packaging).copied(),
                    size_class: r.size_class.to_string(),
                    postcode: r.postcode.to_string(),
                },
                handed_over,
            });
        })
    })?;
    Ok(out)
}

/// Reads, reconciles and keeps a statement (a draft). Blocking.
pub fn reconcile_blocking(
    db: &Db,
    config: &Config,
    data_dir: &Path,
    req: &Request,
) -> Result<(i64, Report), BillError> {
    let courier = req.courier.trim().to_ascii_lowercase();
    if !valid_month(&req.month) {
        return Err(refused(
            "bad_month",
            format!("`{}` is not a month (YYYY-MM)", req.month),
        ));
    }
    let cards = load_rate_cards(data_dir).map_err(BillError::Card)?;
    let Some(any) = cards.iter().find(|c| c.courier == courier) else {
        return Err(refused(
            "no_rate_card",
            format!(
                "no rate card for courier `{courier}`: add one to {} (see rate-cards/README.md)",
                site_card_dir(data_dir).display()
            ),
        ));
    };
    let (decimals, currency) = (any.decimals, any.currency.clone());
    let month = req.month.clone();
    let (c2, m2) = (courier.clone(), month.clone());
    if let Some(id) = db.read_blocking(move |c| store::accepted_bill(c, &c2, &m2))? {
        return Err(refused(
            "month_locked",
            format!("{courier} {month} was accepted (bill {id}) and is locked"),
        ));
    }
    // The statement is read and checked on one thread while the archive is read on another.
    let (parsed, archive) = std::thread::scope(|scope| {
        let parse = scope.spawn(|| {
            bill_import::read_bill(
                &req.file_name,
                &req.bytes,
                &courier,
                req.layout.as_deref(),
                decimals,
            )
        });
        let archive = load_archive(db, config, &courier);
        (parse.join(), archive)
    });
    let (bill, layout): (Bill, String) = parsed
        .map_err(|_| BillError::Storage(StorageError::Io("reading the bill failed".into())))?
        .map_err(BillError::Import)?;
    let archive = archive?;
    let (c3, m3) = (courier.clone(), month.clone());
    let (earlier, claims) = db.read_blocking(move |c| {
        Ok((
            store::earlier_charges(c, &c3, &m3)?,
            store::open_claims(c, &c3)?,
        ))
    })?;
    let report = reconcile::reconcile(&reconcile::Input {
        courier: &courier,
        month: &month,
        bill: &bill,
        archive: &archive,
        cards: &cards,
        earlier: &earlier,
        claims: &claims,
    })
    .map_err(BillError::Reconcile)?;
    drop(archive);
    let sha: String = Sha256::digest(&req.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let new = store::NewBill {
        courier,
        month,
        file_name: req.file_name.clone(),
        sha256: sha,
        layout,
        currency,
        stated_total: bill.stated_total,
        line_count: bill.lines.len(),
        sum_of_lines: report.sum_of_lines,
        expected_total: report.expected_total,
        disputed_total: report.disputed_total,
        report: serde_json::to_string(&report).unwrap_or_default(),
        at: now(),
        by: req.by.clone(),
    };
    let lines = bill.lines;
    let id = db.write_blocking(move |c| store::insert_bill(c, &new, &lines))?;
    Ok((id, report))
}

/// The report kept with a bill.
fn report_of(b: &store::BillRow) -> Report {
    serde_json::from_str(&b.report).unwrap_or(Report {
        courier: b.courier.clone(),
        month: b.month.clone(),
        bill_lines: b.line_count as usize,
        stated_total: b.stated_total,
        sum_of_lines: b.sum_of_lines,
        expected_total: b.expected_total,
        disputed_total: b.disputed_total,
        findings: vec![],
    })
}

/// Money in minor units written in major units (`12.50` for CNY, `3100` for KRW).
pub fn money(v: i64, currency: &str) -> String {
    match ratecard::currency_decimals(currency).unwrap_or(0) {
        0 => v.to_string(),
        d => {
            let scale = 10i64.pow(d);
            let sign = if v < 0 { "-" } else { "" };
            format!(
                "{sign}{}.{:0width$}",
                v.abs() / scale,
                v.abs() % scale,
                width = d as usize
            )
        }
    }
}

impl App {
    /// Reconciles an uploaded statement (see [`reconcile_blocking`]).
    pub async fn reconcile_bill(&self, req: Request) -> Result<(i64, Report), BillError> {
        let (db, config, dir) = (self.db.clone(), self.config.clone(), self.data_dir.clone());
        tokio::task::spawn_blocking(move || reconcile_blocking(&db, &config, &dir, &req))
            .await
            .map_err(|e| BillError::Storage(StorageError::Io(e.to_string())))?
    }

    /// The bills kept, newest first.
    pub async fn bills(&self) -> Result<Vec<store::BillRow>, ServiceError> {
        Ok(self.db.read(|c| store::list_bills(c, 500)).await?)
    }

    /// A bill with its report.
    pub async fn bill(&self, id: i64) -> Result<(store::BillRow, Report), ServiceError> {
        let b = self
            .db
            .read(move |c| store::get_bill(c, id))
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("bill {id}")))?;
        let r = report_of(&b);
        Ok((b, r))
    }

    /// Accepts a bill (a manager's badge checked by the caller): its month is locked, its
    /// charges count for later duplicate checks and the claims it deducted are marked.
    pub async fn accept_bill(&self, id: i64, by: &str, lang: Lang) -> Result<Value, ServiceError> {
        let (b, report) = self.bill(id).await?;
        if b.status == "accepted" {
            return Ok(
                json!({ "bill": b, "message": i18n::tf(lang, "bills.already_accepted", &[("month", &b.month)]) }),
            );
        }
        let deducted: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.category == Category::ClaimDeduction)
            .map(|f| f.waybill.clone())
            .collect();
        let (at, who) = (now(), by.to_string());
        self.db
            .write(move |c| store::accept(c, id, &at, &who, &deducted))
            .await
            .map_err(|e| match e {
                StorageError::Conflict(_) => ServiceError::BadRequest(i18n::tf(
                    lang,
                    "bills.error.month_locked",
                    &[("courier", &b.courier), ("month", &b.month)],
                )),
                e => e.into(),
            })?;
        let (b, _) = self.bill(id).await?;
        Ok(
            json!({ "bill": b, "message": i18n::tf(lang, "bills.accepted", &[("month", &b.month)]) }),
        )
    }

    /// The dispute list as a table: a header row then one row per finding with an amount to
    /// dispute (informational findings left out), in the language asked for.
    async fn dispute_table(
        &self,
        id: i64,
        lang: Lang,
    ) -> Result<(store::BillRow, Vec<Vec<String>>), ServiceError> {
        let (b, report) = self.bill(id).await?;
        let lines = self.db.read(move |c| store::bill_lines(c, id)).await?;
        let by_line: HashMap<usize, &reconcile::BillLine> =
            lines.iter().map(|l| (l.line, l)).collect();
        let waybills: Vec<String> = report.findings.iter().map(|f| f.waybill.clone()).collect();
        let ours = self
            .db
            .read(move |c| store::parcels_of(c, &waybills))
            .await?;
        let t = |k: &str| i18n::t(lang, &format!("bills.col.{k}"));
        let mut table = vec![vec![
            t("line"),
            t("waybill"),
            t("category"),
            t("ship_date"),
            t("kind"),
            t("billed_class"),
            t("billed_weight"),
            t("our_weight"),
            t("billed"),
            t("expected"),
            t("dispute"),
        ]];
        for f in report.findings.iter().filter(|f| f.dispute > 0) {
            let l = f.bill_line.and_then(|n| by_line.get(&n).copied());
            let our = ours.get(&f.waybill);
            table.push(vec![
                f.bill_line.map(|n| n.to_string()).unwrap_or_default(),
                f.waybill.clone(),
                i18n::t(lang, &format!("bills.category.{}", f.category.as_str())),
                l.map(|l| l.ship_date.clone()).unwrap_or_default(),
                l.map(|l| i18n::t(lang, &format!("bills.kind.{}", l.kind.as_str())))
                    .unwrap_or_default(),
                l.map(|l| l.size_class.clone()).unwrap_or_default(),
                l.and_then(|l| l.billed_weight_g)
                    .map(|g| g.to_string())
                    .unwrap_or_default(),
                our.map(|o| o.0.to_string()).unwrap_or_default(),
                money(f.billed, &b.currency),
                money(f.expected, &b.currency),
                money(f.dispute, &b.currency),
            ]);
        }
        Ok((b, table))
    }

    /// The dispute list for the courier as XLSX or CSV (formula-safe cells).
    pub async fn dispute_file(
        &self,
        id: i64,
        format: &str,
        lang: Lang,
    ) -> Result<(String, Vec<u8>), ServiceError> {
        let (b, table) = self.dispute_table(id, lang).await?;
        let name = format!("dispute-{}-{}", b.courier, b.month);
        match format {
            "csv" => Ok((
                format!("{name}.csv"),
                dispatch::to_csv(&table, true)
                    .map_err(|e| ServiceError::BadRequest(e.to_string()))?,
            )),
            _ => Ok((
                format!("{name}.xlsx"),
                dispatch::to_xlsx(&table, &i18n::t(lang, "bills.sheet"))
                    .map_err(|e| ServiceError::BadRequest(e.to_string()))?,
            )),
        }
    }

    /// The dispute list printed (A4 PDF, `label-templates/dispute-list-a4.toml`).
    pub async fn dispute_pdf(&self, id: i64, lang: Lang) -> Result<Vec<u8>, ServiceError> {
        let (b, report) = self.bill(id).await?;
        let (_, table) = self.dispute_table(id, lang).await?;
        let rows: Vec<Value> = table
            .iter()
            .skip(1)
            .map(|r| {
                json!({ "line": r[0], "waybill": r[1], "category": r[2], "ship_date": r[3],
                        "billed_class": r[5], "billed_weight": r[6], "our_weight": r[7],
                        "billed": r[8], "expected": r[9], "dispute": r[10] })
            })
            .collect();
        let t: serde_json::Map<String, Value> = [
            "title",
            "courier",
            "month",
            "file",
            "lines",
            "stated_total",
            "sum_of_lines",
            "expected_total",
            "disputed_total",
            "page",
            "signature",
        ]
        .iter()
        .map(|k| {
            (
                k.to_string(),
                json!(i18n::t(lang, &format!("bills.pdf.{k}"))),
            )
        })
        .collect();
        let cols: serde_json::Map<String, Value> = table[0]
            .iter()
            .zip([
                "line",
                "waybill",
                "category",
                "ship_date",
                "kind",
                "billed_class",
                "billed_weight",
                "our_weight",
                "billed",
                "expected",
                "dispute",
            ])
            .map(|(v, k)| (k.to_string(), json!(v)))
            .collect();
        let data = json!({
            "t": t, "col": cols,
            "courier": self.courier_name(&b.courier, lang.code()),
            "month": b.month, "file": b.file_name, "currency": b.currency,
            "lines": report.bill_lines,
            "stated_total": report.stated_total.map(|v| money(v, &b.currency)).unwrap_or_default(),
            "sum_of_lines": money(report.sum_of_lines, &b.currency),
            "expected_total": money(report.expected_total, &b.currency),
            "disputed_total": money(report.disputed_total, &b.currency),
            "warehouse": { "name": self.config.warehouse.name },
            "rows": rows,
        });
        let template = self.doc_template(DISPUTE_TEMPLATE)?;
        tokio::task::spawn_blocking(move || labels::render(&template, &data, labels::Format::Pdf))
            .await
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?
            .map_err(|e| ServiceError::BadRequest(e.to_string()))
    }

    /// A document layout: the site's copy in the template folder, else the built-in one.
    pub(crate) fn doc_template(
        &self,
        (name, builtin): (&str, &str),
    ) -> Result<labels::Template, ServiceError> {
        if let Some(dir) = self.config.label_templates.as_ref().map(PathBuf::from) {
            if dir.join(name).is_file() {
                return labels::load_template(Some(&dir), name)
                    .map_err(|e| ServiceError::BadRequest(e.to_string()));
            }
        }
        labels::Template::parse(name, builtin).map_err(|e| ServiceError::BadRequest(e.to_string()))
    }

    /// The rate cards in force (for the page), or the mistakes that keep them from loading.
    pub fn rate_cards(&self) -> Result<Vec<RateCard>, Vec<CardError>> {
        load_rate_cards(&self.data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_cards_load() {
        let dir = tempfile::tempdir().unwrap();
        let cards = load_rate_cards(dir.path()).unwrap();
        assert!(cards.iter().any(|c| c.courier == "cj"));
        assert!(cards.iter().any(|c| c.courier == "sf"));
        std::fs::create_dir_all(site_card_dir(dir.path())).unwrap();
        std::fs::write(
            site_card_dir(dir.path()).join("cj-2026.toml"),
            "courier = \"cj\"\ncurrency = \"KRW\"\n",
        )
        .unwrap();
        let e = load_rate_cards(dir.path()).unwrap_err();
        assert!(e[0].to_string().contains("cj-2026.toml"), "{e:?}");
    }

    #[test]
    fn money_in_major_units() {
        assert_eq!(money(3100, "KRW"), "3100");
        assert_eq!(money(1250, "CNY"), "12.50");
        assert_eq!(money(-5, "CNY"), "-0.05");
        assert!(valid_month("2026-03"));
        assert!(!valid_month("2026-13"));
        assert!(!valid_month("2026-3"));
    }
}
