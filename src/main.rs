//! The `packbench` command: parses the command line and wires the pieces. Everything it calls
//! lives in the library, where it is tested without this file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

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
    /// Import a catalog or an order file (CSV or XLSX); all or nothing.
    Import {
        #[arg(value_parser = ["catalog", "orders"])]
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
        template: String,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_parser = ["zpl", "pdf", "png"])]
        format: String,
        #[arg(long)]
        out: PathBuf,
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
            let format = match format.as_str() {
                "zpl" => labels::Format::Zpl,
                "pdf" => labels::Format::Pdf,
                _ => labels::Format::Png,
            };
            let bytes = labels::render(&t, &value, format)?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("{} ({} bytes)", out.display(), bytes.len());
            Ok(())
        }
        Cmd::Bench {
            stations,
            seconds,
            rate,
        } => packbench::bench::run(&stations, seconds, rate),
    }
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
            .filter(|s| s.printer == "emulator")
            .map(|s| s.id.as_str())
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
        let state = Arc::new(app);
        axum::serve(listener, http::app(state))
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
