//! The `packbench` command: parses the command line and wires the pieces. Everything it calls
//! lives in the library, where it is tested without this file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use packbench::config::Config;
use packbench::devices::printer::PrinterEmulator;
use packbench::domain::waybill;
use packbench::i18n::{self, Lang};
use packbench::service::App;
use packbench::{demo, http, imports, labels, storage, waybills};

#[derive(Parser)]
#[command(
    name = "packbench",
    version,
    about = "Warehouse packing benches: scan, weigh, label, ship"
)]
struct Cli {
    /// Where the SQLite file and archives live.
    #[arg(long, global = true, default_value = "./packbench-data")]
    data: PathBuf,
    /// The warehouse configuration (TOML); the demo configuration when absent.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server with a demo catalog, orders and simulated devices.
    Demo {
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Run the server as configured.
    Serve,
    /// Import a catalog, an order or a stock file (CSV or XLSX); all or nothing.
    Import {
        #[arg(value_parser = ["catalog", "orders", "stock", "shipments"])]
        kind: String,
        file: PathBuf,
        /// generic, smartstore or taobao (detected from the headers when absent).
        #[arg(long)]
        channel: Option<String>,
    },
    /// Waybill numbers.
    Waybill {
        #[command(subcommand)]
        cmd: WaybillCmd,
    },
    /// Labels.
    Label {
        #[command(subcommand)]
        cmd: LabelCmd,
    },
    /// Serial (USB-CDC / RS-232) scanners.
    Scanner {
        #[command(subcommand)]
        cmd: ScannerCmd,
    },
    /// Label printers.
    Printer {
        #[command(subcommand)]
        cmd: PrinterCmd,
    },
    /// Device set-up documents.
    Device {
        #[command(subcommand)]
        cmd: DeviceCmd,
    },
    /// Files for other systems: `export dispatch` writes a marketplace's shipping
    /// confirmation file (order no., courier, waybill) for bulk upload.
    Export {
        #[arg(value_parser = ["dispatch"])]
        kind: String,
        /// smartstore, coupang or taobao.
        #[arg(long)]
        channel: String,
        /// The warehouse's local date the parcels were packed on (YYYY-MM-DD); today when absent.
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_parser = ["xlsx", "csv"], default_value = "xlsx")]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// The waybill archive: seal due days, verify the seal chain, purge past retention.
    Archive {
        #[command(subcommand)]
        cmd: ArchiveCmd,
    },
    /// The monthly stocktake.
    Stocktake {
        #[command(subcommand)]
        cmd: StocktakeCmd,
    },
    /// Reconcile a courier's monthly bill (CSV or XLSX) against the archive and the rate
    /// card; the bill is kept as a draft for the manager to accept on /manager/bills.
    Reconcile {
        bill: PathBuf,
        #[arg(long)]
        courier: String,
        /// The billed month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// The statement's layout (generic, kr-standard, sf, cn-standard); recognised from
        /// the headers when absent.
        #[arg(long)]
        layout: Option<String>,
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Scales: watch one, simulate one, list the profiles.
    Scale {
        #[command(subcommand)]
        cmd: packbench::devices::scale::cli::ScaleCmd,
    },
    /// Load benchmark of the scan endpoint against a real server (prints its figures).
    Bench {
        /// Concurrent stations per round, e.g. 1,10,50.
        #[arg(long, default_value = "1,10,50", value_delimiter = ',')]
        stations: Vec<usize>,
        /// Seconds per round.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Scans per second of each of 50 stations in a last, paced round (0: no such round).
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
        /// Instead: the latency from a stable scale frame on a serial port to the verdict.
        #[arg(long)]
        scale: bool,
        /// Parcels weighed by `--scale` (300) or waves made by `--picklist` (5).
        #[arg(long)]
        rounds: Option<usize>,
        /// Instead: make a wave of 5,000 orders over 20,000 SKUs in 2,000 bins and render its
        /// pick list (PDF), `--rounds` times.
        #[arg(long)]
        picklist: bool,
        /// Instead: a stocktake cycle of 200,000 (SKU, location) lines: variance report and
        /// posting times, peak memory.
        #[arg(long)]
        stocktake: bool,
        /// Instead: 2,000,000 archived shipments; search by waybill and by phone suffix
        /// (p50/p99) and sealing time per day.
        #[arg(long)]
        archive: bool,
        /// Instead: reconcile a 1,000,000-line bill against 1,000,000 archived shipments
        /// (time and peak memory; `--shipments N` for another size). Leaves its files for
        /// `benches/reconcile/compare.sh`.
        #[arg(long)]
        reconcile: bool,
        /// Instead: read the label's QR code on synthetic bench photos (720p and 1080p) at
        /// each distortion level: time per photo and the share read.
        #[arg(long)]
        camera: bool,
        /// Shipments and bill lines of `--reconcile`.
        #[arg(long, default_value_t = 1_000_000)]
        shipments: usize,
    },
}

#[derive(Subcommand)]
enum ArchiveCmd {
    /// Seal every local day at least 15 days old that is not sealed yet (idempotent).
    Seal,
    /// Recompute the seal chain; name every day that does not match (exit 1).
    Verify,
    /// Remove the sealed records before a date, past the retention period (manager).
    Purge {
        /// The first local day kept (YYYY-MM-DD).
        #[arg(long)]
        before: String,
        /// A manager's badge.
        #[arg(long)]
        badge: String,
    },
}

#[derive(Subcommand)]
enum StocktakeCmd {
    /// The count window (28th to the month's last day) that a date falls in, or the next.
    Window {
        /// A local date (YYYY-MM-DD); today in the warehouse's time zone when absent.
        #[arg(long)]
        date: Option<String>,
        /// `{"opens","closes","time_zone"}` on one line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum WaybillCmd {
    /// Check numbers: one line each, valid or the reason; exit 1 if any is invalid.
    Check {
        #[arg(long)]
        courier: String,
        #[arg(required = true)]
        numbers: Vec<String>,
    },
}

#[derive(Subcommand)]
enum LabelCmd {
    /// Render a template with data to a file.
    Render {
        /// A built-in template name (e.g. shipping-kr-4x6.toml) or a template file.
        template: String,
        /// The data: one JSON object, or an array of them for several labels in one job.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_parser = ["zpl", "tspl", "pdf", "png"])]
        format: String,
        #[arg(long)]
        out: PathBuf,
        /// Printer resolution; the PDF and PNG follow it too.
        #[arg(long, default_value_t = 203, value_parser = |s: &str| match s {
            "203" => Ok(203u32),
            "300" => Ok(300u32),
            _ => Err("expected 203 or 300".to_string()),
        })]
        dpi: u32,
        /// For a PDF: many labels to an A4 sheet instead of one per page.
        #[arg(long)]
        a4: bool,
    },
    /// Benchmark the label engine (labels per second for ZPL, TSPL and PDF).
    Bench {
        /// Seconds to spend on each figure.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Labels in a batch.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
}

#[derive(Subcommand)]
enum ScannerCmd {
    /// Read a serial scanner and print each code (raw, normalised, symbology), one per line.
    Watch {
        /// The device, e.g. /dev/ttyACM0 or /dev/serial/by-id/...
        #[arg(long)]
        port: PathBuf,
        /// A scanner profile (honeywell, zebra-symbol, generic-cn); 9600 8N1 with CR when absent.
        #[arg(long)]
        profile: Option<String>,
        /// A folder of site scanner profiles that override the built-in ones.
        #[arg(long)]
        profile_dir: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PrinterCmd {
    /// Print a small self-describing test label and report success or the transport error.
    Test {
        /// A `[[printers]]` id or a station id from the configuration, or a printer spec
        /// (tcp://HOST:PORT, serial:PATH?baud=N, file:PATH, lp:QUEUE, spool:DIR, emulator).
        #[arg(long)]
        printer: String,
        /// A printer profile: zebra-zpl-203, zebra-zpl-300, tsc-tspl, tsc-tspl-300 (default:
        /// the configured printer's, else zebra-zpl-203).
        #[arg(long)]
        profile: Option<String>,
        /// A folder of site printer profiles that override the built-in ones.
        #[arg(long)]
        profile_dir: Option<PathBuf>,
        /// Send the profile's cutter command first.
        #[arg(long)]
        cut: bool,
    },
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Write a scanner's programming-barcode sheet (A4 PDF).
    Sheet {
        /// A scanner profile: honeywell, zebra-symbol, generic-cn.
        #[arg(long)]
        profile: String,
        #[arg(long)]
        out: PathBuf,
        /// ko, zh or en (from LANG when absent).
        #[arg(long)]
        lang: Option<String>,
        /// A folder of site scanner profiles that override the built-in ones.
        #[arg(long)]
        profile_dir: Option<PathBuf>,
    },
}

fn cli_lang() -> Lang {
    std::env::var("LANG")
        .ok()
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default()
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::demo()),
    }
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "packbench=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Demo { port } => {
            let mut config = load_config(cli.config.as_deref())?;
            config.server.bind = format!("127.0.0.1:{port}");
            run_server(config, cli.data, true)
        }
        Cmd::Serve => {
            let Some(path) = cli.config.as_deref() else {
                bail!("serve needs --config FILE (see src/demo.toml for an example)")
            };
            run_server(Config::load(path)?, cli.data, false)
        }
        Cmd::Import {
            kind,
            file,
            channel,
        } => import(
            &cli.data,
            cli.config.as_deref(),
            &kind,
            &file,
            channel.as_deref(),
        ),
        Cmd::Waybill {
            cmd: WaybillCmd::Check { courier, numbers },
        } => {
            let config = load_config(cli.config.as_deref())?;
            let rules = config.courier_rules();
            let Some(rule) = waybill::rule(&rules, &courier) else {
                let known: Vec<&str> = rules.iter().map(|r| r.code.as_str()).collect();
                bail!("unknown courier `{courier}`; known: {}", known.join(", "));
            };
            let db = storage::Db::open(&cli.data)?;
            let results = waybills::check_many(&db, rule, &numbers)?;
            let mut bad = false;
            for r in &results {
                if r.valid {
                    let warn = if r.warnings.is_empty() {
                        String::new()
                    } else {
                        format!(" (warning: {})", r.warnings.join("; "))
                    };
                    println!("{}\tvalid{warn}", r.number);
                } else {
                    bad = true;
                    println!(
                        "{}\tinvalid: {} [{}]",
                        r.number,
                        r.message,
                        r.code.as_deref().unwrap_or("")
                    );
                }
            }
            std::process::exit(i32::from(bad));
        }
        Cmd::Label {
            cmd:
                LabelCmd::Render {
                    template,
                    data,
                    format,
                    out,
                    dpi,
                    a4,
                },
        } => {
            let json = std::fs::read_to_string(&data)
                .with_context(|| format!("reading {}", data.display()))?;
            let value: serde_json::Value = serde_json::from_str(&json)
                .with_context(|| format!("{}: not valid JSON", data.display()))?;
            let path = Path::new(&template);
            let t = if path.exists() {
                labels::load_template(
                    path.parent(),
                    path.file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or(&template),
                )?
            } else {
                labels::load_template(None, &template)?
            };
            let format: labels::Format = format.parse().map_err(anyhow::Error::msg)?;
            let items = match value {
                serde_json::Value::Array(items) => items,
                one => vec![one],
            };
            let options = labels::RenderOptions { dpi };
            let bytes = if a4 && format == labels::Format::Pdf {
                labels::render_sheets(&t, &items, labels::Sheet::A4, &options)?
            } else {
                labels::render_many(&t, &items, format, &options)?
            };
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("{} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
        Cmd::Label {
            cmd: LabelCmd::Bench { seconds, batch },
        } => {
            let figures = labels::bench::run(
                std::time::Duration::from_secs_f64(seconds.max(0.1)),
                batch.max(1),
            )?;
            print!("{}", labels::bench::report(&figures));
            Ok(())
        }
        Cmd::Scanner {
            cmd:
                ScannerCmd::Watch {
                    port,
                    profile,
                    profile_dir,
                    json,
                },
        } => packbench::devices::scanner::watch(
            &port,
            profile.as_deref(),
            profile_dir.as_deref(),
            json,
            &mut std::io::stdout(),
        )
        .map_err(anyhow::Error::msg),
        Cmd::Printer {
            cmd:
                PrinterCmd::Test {
                    printer,
                    profile,
                    profile_dir,
                    cut,
                },
        } => {
            use packbench::devices::{printer, transport::Transport};
            // A `[[printers]]` id or a station id names a configured printer; anything else
            // must be a spec.
            let config = load_config(cli.config.as_deref())?;
            let configured = config.printer(&printer).cloned().or_else(|| {
                config
                    .stations
                    .iter()
                    .find(|s| s.id == printer)
                    .map(|s| config.station_printer(s))
            });
            let (spec, configured_profile) = match configured {
                Some(p) => (p.spec, Some(p.profile)),
                None => match Transport::parse(&printer) {
                    Ok(_) => (printer, None),
                    Err(e) => {
                        bail!("`{printer}` is no [[printers]] id, no station id and no spec: {e}")
                    }
                },
            };
            let profile = profile
                .or(configured_profile)
                .unwrap_or_else(|| "zebra-zpl-203".into());
            let profile = printer::load_profile(profile_dir.as_deref(), &profile)?;
            match printer::print_test(&spec, &profile, cut) {
                Ok(report) => {
                    println!("{report}");
                    Ok(())
                }
                Err(e) => bail!("{e}"),
            }
        }
        Cmd::Device {
            cmd:
                DeviceCmd::Sheet {
                    profile,
                    out,
                    lang,
                    profile_dir,
                },
        } => {
            use packbench::devices::{scanner, sheet};
            let p = scanner::profile::load(profile_dir.as_deref(), &profile)?;
            let lang = lang
                .as_deref()
                .and_then(Lang::parse)
                .unwrap_or_else(cli_lang);
            let pdf = sheet::render(&p, &profile, lang)?;
            std::fs::write(&out, &pdf).with_context(|| format!("writing {}", out.display()))?;
            println!("{} ({} bytes)", out.display(), pdf.len());
            Ok(())
        }
        Cmd::Scale { cmd } => Ok(packbench::devices::scale::cli::run(cmd)?),
        Cmd::Export {
            kind: _,
            channel,
            date,
            format,
            out,
        } => export_dispatch(
            &cli.data,
            cli.config.as_deref(),
            &channel,
            date.as_deref(),
            &format,
            &out,
        ),
        Cmd::Bench {
            picklist: true,
            rounds,
            ..
        } => packbench::bench::picklist::run(rounds.unwrap_or(5)),
        Cmd::Bench {
            reconcile: true,
            shipments,
            ..
        } => packbench::bench::reconcile::run(shipments),
        Cmd::Bench { archive: true, .. } => packbench::bench::archive::run(),
        Cmd::Bench { camera: true, .. } => packbench::bench::camera::run(),
        Cmd::Bench {
            stocktake: true, ..
        } => packbench::bench::stocktake::run(),
        Cmd::Stocktake {
            cmd: StocktakeCmd::Window { date, json },
        } => {
            let config = load_config(cli.config.as_deref())?;
            let tz = config.warehouse.timezone.clone();
            let w = packbench::service::stocktake::window_of(
                &tz,
                date.as_deref(),
                jiff::Timestamp::now(),
            )
            .map_err(anyhow::Error::msg)?;
            if json {
                println!("{}", packbench::service::stocktake::window_line(w, &tz));
            } else {
                let (opens, closes) = (w.opens.to_string(), w.closes.to_string());
                println!(
                    "{}",
                    i18n::tf(
                        cli_lang(),
                        "stocktake.cli_window",
                        &[("opens", &opens), ("closes", &closes), ("tz", &tz)]
                    )
                );
            }
            Ok(())
        }
        Cmd::Archive { cmd } => archive(&cli.data, cli.config.as_deref(), cmd),
        Cmd::Reconcile {
            bill,
            courier,
            month,
            layout,
            json,
        } => reconcile(
            &cli.data,
            cli.config.as_deref(),
            &bill,
            &courier,
            &month,
            layout,
            json,
        ),
        Cmd::Bench {
            scale: true,
            rounds,
            ..
        } => packbench::bench::scale::run(rounds.unwrap_or(300)),
        Cmd::Bench {
            stations,
            seconds,
            rate,
            ..
        } => packbench::bench::run(&stations, seconds, rate),
    }
}

/// `packbench export dispatch`: the same file the hand-over page and the API give.
fn export_dispatch(
    data: &Path,
    config: Option<&Path>,
    channel: &str,
    date: Option<&str>,
    format: &str,
    out: &Path,
) -> Result<()> {
    let config = load_config(config)?;
    let kind = packbench::exports::dispatch::SheetKind::parse(format)
        .with_context(|| format!("unknown format `{format}` (xlsx or csv)"))?;
    let app = App::open(config, data.to_path_buf(), false)?;
    let file = tokio::runtime::Runtime::new()?.block_on(app.dispatch_file(
        channel,
        date,
        kind,
        cli_lang(),
    ))?;
    std::fs::write(out, &file.bytes).with_context(|| format!("writing {}", out.display()))?;
    let (path, rows) = (out.display().to_string(), file.rows.to_string());
    let args = [("file", path.as_str()), ("rows", rows.as_str())];
    println!("{}", i18n::tf(cli_lang(), "handover.cli_exported", &args));
    Ok(())
}

fn import(
    data: &Path,
    config: Option<&Path>,
    kind: &str,
    file: &Path,
    channel: Option<&str>,
) -> Result<()> {
    let config = load_config(config)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file.display().to_string();
    let db = storage::Db::open(data)?;
    let lang = cli_lang();
    let summary = match kind {
        "stock" => return import_stock(&db, &name, &bytes, lang),
        "shipments" => {
            drop(db);
            return import_shipments(data, config, &name, &bytes, channel, lang);
        }
        "catalog" => {
            let items = imports::read_catalog(&name, &bytes)?;
            db.write_blocking(move |c| storage::upsert_catalog(c, &items))?
        }
        _ => {
            let channel = match channel {
                Some(c) => Some(imports::Channel::parse(c).with_context(|| {
                    format!("unknown channel `{c}` (generic, smartstore, taobao)")
                })?),
                None => None,
            };
            let known: std::collections::HashSet<String> = db
                .read_blocking(storage::load_catalog)?
                .into_iter()
                .map(|i| i.sku)
                .collect();
            let orders =
                imports::read_orders(&name, &bytes, channel, &config.warehouse.timezone, &|s| {
                    known.contains(s)
                })?;
            let now = packbench::service::now();
            db.write_blocking(move |c| storage::upsert_orders(c, &orders, &now))?
        }
    };
    println!(
        "{}",
        i18n::tf(
            lang,
            "cli.imported",
            &[
                ("added", &summary.added.to_string()),
                ("updated", &summary.updated.to_string()),
                ("unchanged", &summary.unchanged.to_string()),
                ("kept", &summary.kept_packed.to_string()),
            ]
        )
    );
    Ok(())
}

/// `packbench import stock FILE`: `sku,bin,qty[,reason]` lines posted as receipts (opening
/// balances or goods in), all or nothing.
fn import_stock(db: &storage::Db, name: &str, bytes: &[u8], lang: Lang) -> Result<()> {
    let known: std::collections::HashSet<String> = db
        .read_blocking(storage::load_catalog)?
        .into_iter()
        .map(|i| i.sku)
        .collect();
    let lines = imports::read_stock(name, bytes, &|s| known.contains(s))?;
    let (n, units) = (lines.len(), lines.iter().map(|l| l.qty).sum::<i64>());
    let (at, reference) = (packbench::service::now(), name.to_string());
    db.write_blocking(move |c| {
        storage::ledger::post_stock_lines(c, &lines, &at, "cli", &reference)
    })?;
    println!(
        "{}",
        i18n::tf(
            lang,
            "stock.cli.imported",
            &[("lines", &n.to_string()), ("units", &units.to_string())]
        )
    );
    Ok(())
}

/// `packbench import shipments FILE`: another system's shipment history, all or nothing.
fn import_shipments(
    data: &Path,
    config: Config,
    name: &str,
    bytes: &[u8],
    channel: Option<&str>,
    lang: Lang,
) -> Result<()> {
    if let Some(c) = channel.filter(|c| *c != "generic") {
        bail!("unknown channel `{c}` for shipments (generic)");
    }
    let app = App::open(config, data.to_path_buf(), false)?;
    let out =
        tokio::runtime::Runtime::new()?.block_on(app.import_shipments(name, bytes, "cli"))??;
    let args = [
        ("added", out.added.to_string()),
        ("sealed", out.into_sealed_days.to_string()),
    ];
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    println!("{}", i18n::tf(lang, "archive.cli.imported", &args));
    Ok(())
}

/// `packbench archive seal|verify|purge`.
fn archive(data: &Path, config: Option<&Path>, cmd: ArchiveCmd) -> Result<()> {
    let app = App::open(load_config(config)?, data.to_path_buf(), false)?;
    let lang = cli_lang();
    let rt = tokio::runtime::Runtime::new()?;
    match cmd {
        ArchiveCmd::Seal => {
            let seals = rt.block_on(app.seal_due("cli"))?;
            match seals.last() {
                Some(s) => println!(
                    "{}",
                    i18n::tf(
                        lang,
                        "archive.cli.sealed",
                        &[("count", &seals.len().to_string()), ("day", &s.header.day)]
                    )
                ),
                None => println!(
                    "{}",
                    i18n::tf(
                        lang,
                        "archive.cli.nothing_due",
                        &[(
                            "days",
                            &packbench::domain::seal::SEAL_AFTER_DAYS.to_string()
                        )]
                    )
                ),
            }
            Ok(())
        }
        ArchiveCmd::Verify => {
            let v = rt.block_on(app.verify_archive())?;
            let (report, intact) = packbench::service::archive::verify_report(&v, lang);
            print!("{report}");
            std::process::exit(if intact { 0 } else { 1 });
        }
        ArchiveCmd::Purge { before, badge } => {
            let p = rt.block_on(app.purge_archive(&before, &badge, lang))?;
            let seq = p.seal.as_ref().map_or(0, |s| s.header.seq).to_string();
            let args = [
                ("days", p.days.to_string()),
                ("before", before.clone()),
                ("shipments", p.shipments.to_string()),
                ("events", p.events.to_string()),
                ("orders", p.orders_anonymised.to_string()),
                ("seq", seq),
            ];
            let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            println!("{}", i18n::tf(lang, "archive.cli.purged", &args));
            Ok(())
        }
    }
}

fn run_server(config: Config, data: PathBuf, demo_mode: bool) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut app = App::open(config, data.clone(), demo_mode)?;
        if demo_mode {
            seed_demo(&app).await?;
        }
        let emulated: Vec<&str> = app
            .config
            .stations
            .iter()
            .filter(|s| app.config.station_printer(s).spec == "emulator")
            .map(|s| s.id.as_str())
            .chain(
                app.config
                    .printers
                    .iter()
                    .filter(|p| p.spec == "emulator")
                    .map(|p| p.id.as_str()),
            )
            .collect();
        let _emulator = if emulated.is_empty() {
            None
        } else {
            let spool = data.join("printer-emulator");
            let em = match PrinterEmulator::start("127.0.0.1:9100", Some(spool.clone())).await {
                Ok(e) => e,
                Err(_) => PrinterEmulator::start("127.0.0.1:0", Some(spool)).await?,
            };
            tracing::info!(addr = %em.addr(), "printer emulator listening (ZPL/TSPL over raw TCP)");
            app.emulator = Some(em.addr());
            Some(em)
        };
        let bind = app.config.server.bind.clone();
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| format!("cannot listen on {bind}"))?;
        let addr = listener.local_addr()?;
        println!(
            "packbench {} on http://{addr}/",
            if demo_mode { "demo" } else { "server" }
        );
        for s in &app.config.stations {
            println!("  bench page: http://{addr}/bench/{}", s.id);
        }
        if demo_mode {
            println!(
                "  badges: B-PACK-01 (packer), B-MGR-01 (manager); data in {}",
                data.display()
            );
        }
        let state = app.share();
        // The stocktake calendar: a cycle opens itself at 00:00 local on the 28th.
        state.start_stocktake_timer();
        // Device drivers, simulators and printer monitors; a bad device profile or spec
        // stops the start here, with the file and line.
        let running = packbench::hub::start(&state)?;
        let _ = state.running.set(running);
        packbench::service::archive::spawn_sealer(state.clone());
        axum::serve(http::no_delay(listener), http::app(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        Ok(())
    })
}

/// Loads the demo catalog and today's demo orders (idempotent: a restart changes nothing
/// that was already packed).
async fn seed_demo(app: &App) -> Result<()> {
    let tz = jiff::tz::TimeZone::get(&app.config.warehouse.timezone)?;
    let now = jiff::Timestamp::now().to_zoned(tz);
    let date = now.date().to_string();
    let offset = now.offset().to_string();
    let offset = if offset.len() == 3 {
        format!("{offset}:00")
    } else {
        offset
    };
    app.import_catalog(demo::catalog()).await?;
    app.import_orders(demo::orders(&date, &offset)).await?;
    Ok(())
}

/// `packbench reconcile`: the same reconciliation as the bills page, as a report on stdout.
fn reconcile(
    data: &Path,
    config: Option<&Path>,
    bill: &Path,
    courier: &str,
    month: &str,
    layout: Option<String>,
    json: bool,
) -> Result<()> {
    use packbench::service::bills::{self, BillError};
    let config = load_config(config)?;
    let bytes = std::fs::read(bill).with_context(|| format!("reading {}", bill.display()))?;
    let db = storage::Db::open(data)?;
    let req = bills::Request {
        file_name: bill.display().to_string(),
        bytes,
        courier: courier.to_string(),
        month: month.to_string(),
        layout,
        by: "cli".into(),
    };
    match bills::reconcile_blocking(&db, &config, data, &req) {
        Ok((id, report)) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                let lang = cli_lang();
                println!(
                    "{}",
                    i18n::tf(
                        lang,
                        "bills.cli.summary",
                        &[
                            ("courier", &report.courier),
                            ("month", &report.month),
                            ("lines", &report.bill_lines.to_string()),
                            ("sum", &report.sum_of_lines.to_string()),
                            (
                                "stated",
                                &report
                                    .stated_total
                                    .map(|v| v.to_string())
                                    .unwrap_or_else(|| "-".into())
                            ),
                            ("expected", &report.expected_total.to_string()),
                            ("disputed", &report.disputed_total.to_string()),
                            ("findings", &report.findings.len().to_string()),
                            ("id", &id.to_string()),
                        ],
                    )
                );
                for f in &report.findings {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        f.bill_line
                            .map(|l| l.to_string())
                            .unwrap_or_else(|| "-".into()),
                        f.category.as_str(),
                        f.waybill,
                        f.billed,
                        f.expected,
                        f.dispute
                    );
                }
            }
            Ok(())
        }
        Err(BillError::Import(e)) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
        Err(e) => bail!("{e}"),
    }
}
