//! `packbench bench`: a load benchmark of the scan endpoint against the real server.
//!
//! It prepares a throw-away warehouse (50 stations, one never-ending order each), imports
//! the catalog and the orders with this very binary, starts `packbench serve` as a child
//! process and drives `POST /api/v1/stations/{id}/scan` from 1, 10 and 50 concurrent
//! stations, each on its own keep-alive HTTP/1.1 connection. Next to it, a bare SQLite
//! insert loop with the server's pragmas (one row per transaction) shows what the disk allows
//! one durable writer to do, so the server's figures can be judged against it.
//!
//! Those rounds scan as fast as the server answers (no packer does): they measure capacity.
//! A last round paces the 50 stations at `--rate` scans per second each, the load of a busy
//! floor with headroom, and measures each scan from the moment it was due, so a slow answer
//! that delays the next scan is counted against the server, not hidden.
//!
//! It prints figures; it is not a test and asserts nothing about them.

pub mod archive;
pub mod camera;
pub mod picklist;
pub mod reconcile;
pub mod scale;
pub mod stocktake;

use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Stations in the benchmark's configuration: the largest round it can run.
const STATIONS: usize = 50;
/// Each order line asks for this many units, so no pack ever completes.
const NEVER_DONE_QTY: u64 = 1_000_000;
/// How long one request may take before it is counted as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to print its address and answer the health check.
const START_TIMEOUT: Duration = Duration::from_secs(30);

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Runs the benchmark and prints its figures: `stations` is the number of concurrent
/// stations of each round (1, 10 and 50 when empty), `seconds` the length of each round and
/// of the bare SQLite loop.
/// `rate` is the scans per second of each station in the paced round (none when 0).
pub fn run(stations: &[usize], seconds: u64, rate: f64) -> Result<()> {
    let rounds: Vec<usize> = if stations.is_empty() {
        vec![1, 10, 50]
    } else {
        stations.to_vec()
    };
    if let Some(bad) = rounds.iter().find(|&&n| n == 0 || n > STATIONS) {
        bail!("--stations: {bad} is not between 1 and {STATIONS}");
    }
    if seconds == 0 {
        bail!("--seconds must be at least 1");
    }
    if !(0.0..=1000.0).contains(&rate) {
        bail!("--rate: {rate} is not between 0 and 1000 scans per second");
    }
    let mut rounds: Vec<(usize, Option<f64>)> = rounds.into_iter().map(|n| (n, None)).collect();
    if rate > 0.0 {
        rounds.push((STATIONS, Some(rate)));
    }
    let exe = std::env::current_exe().context("cannot find the packbench executable")?;
    let work = WorkDir::create()?;
    let dir = work.path();
    let data = dir.join("data");
    let config = dir.join("bench.toml");
    let catalog = dir.join("catalog.csv");
    let orders = dir.join("orders.csv");
    std::fs::write(&config, config_toml()).context("writing the benchmark configuration")?;
    std::fs::write(&catalog, catalog_csv()).context("writing the benchmark catalog")?;
    std::fs::write(&orders, orders_csv()).context("writing the benchmark orders")?;
    // The file must be one `serve` accepts, or the failure would only show as a dead child.
    crate::config::Config::load(&config)?;

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = load_average();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!(
        "packbench bench: preparing {} ({})",
        dir.display(),
        fs_type(dir).unwrap_or_else(|| "unknown fs".into())
    );

    import(&exe, &data, &config, "catalog", &catalog)?;
    import(&exe, &data, &config, "orders", &orders)?;

    // The reference first, with nothing else running.
    eprintln!("packbench bench: bare SQLite insert loop, {seconds} s");
    let bare = bare_insert_loop(&dir.join("bare.sqlite3"), Duration::from_secs(seconds))?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut server = Server::start(&exe, &data, &config, dir)?;
    let client = new_client(1);
    rt.block_on(server.wait_healthy(&client))?;
    std::thread::sleep(Duration::from_secs(1));
    let idle = server.memory()?;

    let mut results = Vec::new();
    let mut cpu = Vec::new();
    for &(n, pace) in &rounds {
        let (server_before, client_before) = (thread_cpu(server.child.id()), process_cpu("self"));
        let busy_before = machine_busy();
        let r = rt.block_on(round(&server.base, n, pace, Duration::from_secs(seconds)));
        let r = r.with_context(|| format!("round with {n} stations"))?;
        server.check_alive()?;
        let server_after = thread_cpu(server.child.id());
        let client = process_cpu("self").saturating_sub(client_before);
        let busy = machine_busy().saturating_sub(busy_before);
        cpu.push(CpuUse::between(&server_before, &server_after, client, busy));
        results.push(r);
    }
    let after = server.memory()?;
    drop(server);

    println!("packbench bench ({cores} cores, {build} build, {seconds} s per round, load average {load} at start)");
    println!(
        "data: {} ({}, removed at exit)",
        dir.display(),
        fs_type(dir).unwrap_or_else(|| "unknown fs".into())
    );
    println!("idle RSS: {}", idle.rss_text());
    println!(
        "{:<9} {:<10} {:>8} {:>9} {:>8} {:>8} {:>8} {:>7} {:>8}",
        "stations", "each", "scans", "scans/s", "p50 ms", "p99 ms", "max ms", "errors", "vs bare"
    );
    for r in &results {
        let ratio = if bare.per_second > 0.0 {
            r.per_second / bare.per_second
        } else {
            f64::NAN
        };
        println!(
            "{:<9} {:<10} {:>8} {:>9.1} {:>8.3} {:>8.3} {:>8.3} {:>7} {:>7.2}x",
            r.stations,
            r.pace_text(),
            r.scans,
            r.per_second,
            ms(r.latency.p50),
            ms(r.latency.p99),
            ms(r.latency.max),
            r.errors,
            ratio
        );
    }
    println!(
        "bare sqlite insert loop (1 row/tx, WAL, synchronous=FULL): {} rows, {:.1} rows/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        bare.rows,
        bare.per_second,
        ms(bare.latency.p50),
        ms(bare.latency.p99),
        ms(bare.latency.max)
    );
    println!(
        "RSS after load: {} (peak {})",
        after.rss_text(),
        mib(after.peak_kb)
    );
    println!("cpu (% of one core over the round; server by thread name):");
    for (r, c) in results.iter().zip(&cpu) {
        let secs = r.elapsed.as_secs_f64();
        let pct = |ticks: u64| ticks as f64 / CLK_TCK / secs * 100.0;
        let per_scan = if r.scans > 0 {
            c.server_total as f64 / CLK_TCK * 1000.0 / r.scans as f64
        } else {
            f64::NAN
        };
        let threads: Vec<String> = c
            .server_threads
            .iter()
            .map(|(name, t)| format!("{name} {:.0}%", pct(*t)))
            .collect();
        println!(
            "  {:>2} stations at {}: server {:.0}% ({per_scan:.3} ms cpu/scan: {}), bench client {:.0}%, other processes {:.0}%",
            r.stations,
            r.pace_text(),
            pct(c.server_total),
            threads.join(", "),
            pct(c.client),
            pct(c.others)
        );
    }
    for r in &results {
        if let Some(e) = &r.first_error {
            println!(
                "first error with {} stations at {}: {e}",
                r.stations,
                r.pace_text()
            );
        }
    }
    Ok(())
}

// ----- the throw-away warehouse ---------------------------------------------------------

fn station_id(i: usize) -> String {
    format!("s{i:02}")
}

fn badge(i: usize) -> String {
    format!("B-BENCH-{i:02}")
}

fn order_no(i: usize) -> String {
    format!("BENCH-ORD-{i:02}")
}

/// The two item barcodes of station `i`, scanned alternately.
fn barcodes(i: usize) -> [String; 2] {
    [format!("BENCH-{i:02}-A"), format!("BENCH-{i:02}-B")]
}

fn config_toml() -> String {
    let mut s = String::from(
        "# Written by `packbench bench`; the directory is removed when the benchmark ends.\n\
         [warehouse]\nname = \"packbench bench\"\ntimezone = \"Asia/Seoul\"\ndefault_courier = \"cj\"\n\n\
         [server]\nbind = \"127.0.0.1:0\"\n\n\
         [scan]\ndebounce_ms = 0\n\n\
         [[packaging]]\ncode = \"PKG-BENCH\"\nname = \"Bench bag\"\ntare_g = 10\ndefault = true\n\n\
         [[waybill_bands]]\ncourier = \"cj\"\nfirst = 36000000000\nlast = 36000999999\n",
    );
    for i in 1..=STATIONS {
        s.push_str(&format!(
            "\n[[operators]]\nbadge = \"{}\"\nname = \"Bench packer {i:02}\"\nrole = \"packer\"\n",
            badge(i)
        ));
    }
    for i in 1..=STATIONS {
        s.push_str(&format!(
            "\n[[stations]]\nid = \"{}\"\nname = \"Bench {i:02}\"\nprinter = \"none\"\nscale = \"api\"\n",
            station_id(i)
        ));
    }
    s
}

fn catalog_csv() -> String {
    let mut s = String::from("sku,name,barcodes,unit_weight_g,location,cost\n");
    for i in 1..=STATIONS {
        for (k, code) in ["A", "B"].iter().zip(barcodes(i)) {
            s.push_str(&format!(
                "BENCH-SKU-{i:02}-{k},Bench item {i:02} {k},{code},100,R-{i:02},1000\n"
            ));
        }
    }
    s
}

fn orders_csv() -> String {
    let mut s = String::from(
        "order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag\n",
    );
    for i in 1..=STATIONS {
        for k in ["A", "B"] {
            s.push_str(&format!(
                "{},generic,2026-11-23 09:00,Bench recipient {i:02},010-0000-00{i:02},{i} Bench road Seoul,04500,BENCH-SKU-{i:02}-{k},{NEVER_DONE_QTY},,\n",
                order_no(i)
            ));
        }
    }
    s
}

/// `packbench --data DIR --config FILE import KIND FILE`, with this very executable.
fn import(exe: &Path, data: &Path, config: &Path, kind: &str, file: &Path) -> Result<()> {
    let out = Command::new(exe)
        .arg("--data")
        .arg(data)
        .arg("--config")
        .arg(config)
        .args(["import", kind])
        .arg(file)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} import {kind}", exe.display()))?;
    if !out.status.success() {
        bail!(
            "`packbench import {kind}` failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// A directory under the system's temp dir, removed (with everything in it) on drop.
struct WorkDir(PathBuf);

impl WorkDir {
    fn create() -> Result<WorkDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("packbench-bench-{}-{nanos:09}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The type of the file system holding `path` (from `/proc/self/mounts`), because fsync on
/// tmpfs costs nothing and would make every figure meaningless.
fn fs_type(path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_dev, at, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(at).then(|| (at.len(), kind.to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, kind)| kind)
}

// ----- the server child -----------------------------------------------------------------

/// `packbench serve` running as a child; killed when this is dropped, error or not.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(exe: &Path, data: &Path, config: &Path, dir: &Path) -> Result<Server> {
        let log = dir.join("server.log");
        let log_file = std::fs::File::create(&log).context("creating the server log")?;
        let mut child = Command::new(exe)
            .arg("--data")
            .arg(data)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut server = Server {
            child,
            base: String::new(),
            log,
        };

        // Read the address line, then keep draining stdout so the child never blocks on it.
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.trim().strip_prefix("packbench server on http://") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(rest.trim_end_matches('/').to_string());
                    }
                }
            }
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => server.base = format!("http://{addr}"),
            Err(_) => {
                server.check_alive()?;
                bail!(
                    "the server did not print its address within {START_TIMEOUT:?}{}",
                    server.log_tail()
                );
            }
        }
        Ok(server)
    }

    async fn wait_healthy(&mut self, client: &HttpClient) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let uri: hyper::Uri = format!("{}/api/v1/health", self.base).parse()?;
        loop {
            let req = hyper::Request::get(uri.clone()).body(Full::new(Bytes::new()))?;
            if let Ok(Ok(resp)) =
                tokio::time::timeout(Duration::from_secs(2), client.request(req)).await
            {
                let ok = resp.status().is_success();
                let _ = resp.into_body().collect().await;
                if ok {
                    return Ok(());
                }
            }
            self.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "{}/api/v1/health did not answer within {START_TIMEOUT:?}{}",
                    self.base,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the server exited ({status}){}", self.log_tail());
        }
        Ok(())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its log ends with:\n{tail}")
        }
    }

    fn memory(&self) -> Result<Memory> {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("reading /proc/{pid}/status"))?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()
        };
        let rss_kb = field("VmRSS:").context("no VmRSS in /proc/PID/status")?;
        Ok(Memory {
            rss_kb,
            peak_kb: field("VmHWM:").unwrap_or(rss_kb),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Memory {
    rss_kb: u64,
    peak_kb: u64,
}

impl Memory {
    fn rss_text(&self) -> String {
        mib(self.rss_kb)
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// Clock ticks per second of `/proc/*/stat` times (USER_HZ, 100 on every Linux port that
/// matters; reading it would need libc).
const CLK_TCK: f64 = 100.0;

/// utime + stime, in ticks, of a process (`self` or a pid) from `/proc/PID/stat`.
fn process_cpu(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| stat_times(&s).map(|(_, t)| t))
        .unwrap_or(0)
}

/// The comm and utime + stime of a `stat` line (comm may hold spaces and parentheses).
fn stat_times(stat: &str) -> Option<(String, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    let mut f = stat.get(close + 1..)?.split_whitespace();
    // After the comm: state is field 3, utime 14 and stime 15.
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// Busy ticks of the whole machine, all cores (`/proc/stat`: everything but idle and iowait).
fn machine_busy() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    f.iter().take(8).sum::<u64>() - f.get(3).copied().unwrap_or(0) - f.get(4).copied().unwrap_or(0)
}

/// The load average over the last minute, to show whether the machine was quiet.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// CPU ticks of each live thread of a process, by thread id, with its name.
fn thread_cpu(pid: u32) -> std::collections::BTreeMap<u64, (String, u64)> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u64>().ok()) else {
            continue;
        };
        if let Some(t) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .and_then(|s| stat_times(&s))
        {
            out.insert(tid, t);
        }
    }
    out
}

struct CpuUse {
    server_total: u64,
    /// Ticks by thread name (tokio's workers and blocking threads share one name).
    server_threads: Vec<(String, u64)>,
    client: u64,
    /// Everything else the machine ran meanwhile (other builds skew the figures).
    others: u64,
}

impl CpuUse {
    fn between(
        before: &std::collections::BTreeMap<u64, (String, u64)>,
        after: &std::collections::BTreeMap<u64, (String, u64)>,
        client: u64,
        machine_busy: u64,
    ) -> CpuUse {
        let mut by_name: std::collections::BTreeMap<String, u64> = Default::default();
        for (tid, (name, ticks)) in after {
            let was = before.get(tid).map(|(_, t)| *t).unwrap_or(0);
            *by_name.entry(name.clone()).or_default() += ticks.saturating_sub(was);
        }
        let mut server_threads: Vec<(String, u64)> =
            by_name.into_iter().filter(|(_, t)| *t > 0).collect();
        server_threads.sort_by_key(|t| std::cmp::Reverse(t.1));
        let server_total = server_threads.iter().map(|(_, t)| t).sum();
        CpuUse {
            server_total,
            server_threads,
            client,
            others: machine_busy.saturating_sub(server_total + client),
        }
    }
}

// ----- the load -------------------------------------------------------------------------

/// A client that keeps at most `idle` connections: each station task has its own client and
/// sends one request at a time, so it reuses a single keep-alive connection.
fn new_client(idle: usize) -> HttpClient {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(idle)
        .build(http)
}

struct RoundResult {
    stations: usize,
    /// Scans per second of each station, or `None` for as fast as the server answers.
    pace: Option<f64>,
    elapsed: Duration,
    scans: u64,
    errors: u64,
    per_second: f64,
    latency: Latency,
    first_error: Option<String>,
}

#[derive(Default)]
struct StationRun {
    latencies_ns: Vec<u64>,
    accepted: u64,
    errors: u64,
    first_error: Option<String>,
}

impl StationRun {
    fn error(&mut self, e: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

impl RoundResult {
    fn pace_text(&self) -> String {
        match self.pace {
            Some(rate) => format!("{rate}/s"),
            None => "max".into(),
        }
    }
}

/// One round of `n` stations for `length`. Unpaced, each station sends its next scan as
/// soon as the last is answered and a scan's latency is its round trip. Paced at `rate`
/// scans/s, station `i` scans on a fixed timetable (phase-shifted so the stations do not
/// fire together) and a scan's latency runs from when it was due to when it was answered.
async fn round(base: &str, n: usize, pace: Option<f64>, length: Duration) -> Result<RoundResult> {
    // Every station signs in and opens its order before the clock starts.
    let mut ready = Vec::with_capacity(n);
    for i in 1..=n {
        let client = new_client(1);
        let uri: hyper::Uri = format!("{base}/api/v1/stations/{}/scan", station_id(i)).parse()?;
        for code in [badge(i), order_no(i)] {
            if let Err(e) = scan(&client, &uri, &code).await {
                bail!(
                    "station {}: scanning {code} before the round: {e}",
                    station_id(i)
                );
            }
        }
        ready.push((i, client, uri));
    }

    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + length;
    let mut tasks = Vec::with_capacity(n);
    for (i, client, uri) in ready {
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let codes = barcodes(i);
            let mut run = StationRun {
                latencies_ns: Vec::with_capacity(4096),
                ..Default::default()
            };
            let mut k = 0usize;
            let interval = pace.map(|rate| Duration::from_secs_f64(1.0 / rate));
            let mut due = start + interval.map_or(Duration::ZERO, |iv| iv * i as u32 / n as u32);
            while Instant::now() < deadline {
                let code = &codes[k % 2];
                k += 1;
                let t0 = match interval {
                    Some(iv) => {
                        if due >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(due.into()).await;
                        let t = due;
                        due += iv;
                        t
                    }
                    None => Instant::now(),
                };
                let result = scan(&client, &uri, code).await;
                let took = t0.elapsed();
                match result {
                    Ok(()) => {
                        run.latencies_ns.push(took.as_nanos() as u64);
                        run.accepted += 1;
                    }
                    Err(ScanError::Answered(e)) => {
                        run.latencies_ns.push(took.as_nanos() as u64);
                        run.error(e);
                    }
                    Err(ScanError::Transport(e)) => run.error(e),
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
            run
        }));
    }

    let progress = tokio::spawn(progress(n, start, length, done.clone()));
    let mut all = StationRun::default();
    for t in tasks {
        let run = t.await.context("a station task panicked")?;
        all.latencies_ns.extend(run.latencies_ns);
        all.accepted += run.accepted;
        all.errors += run.errors;
        if all.first_error.is_none() {
            all.first_error = run.first_error;
        }
    }
    let elapsed = start.elapsed();
    progress.abort();
    let _ = progress.await;
    let total = done.load(Ordering::Relaxed);
    let mut err = std::io::stderr();
    if err.is_terminal() {
        let _ = write!(err, "\r\x1b[K");
    }
    let _ = writeln!(
        err,
        "  {n:>2} stations: {total} scans in {:.1} s, {} errors",
        elapsed.as_secs_f64(),
        all.errors
    );

    Ok(RoundResult {
        stations: n,
        pace,
        elapsed,
        scans: all.accepted,
        errors: all.errors,
        per_second: all.accepted as f64 / elapsed.as_secs_f64(),
        latency: Latency::of(&mut all.latencies_ns),
        first_error: all.first_error,
    })
}

/// One line on stderr, updated every second while a round runs (when stderr is a terminal).
async fn progress(n: usize, start: Instant, length: Duration, done: Arc<AtomicU64>) {
    let mut err = std::io::stderr();
    if !err.is_terminal() {
        let _ = writeln!(err, "  {n:>2} stations: running for {} s", length.as_secs());
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let at = start.elapsed().min(length).as_secs();
        let _ = write!(
            err,
            "\r\x1b[K  {n:>2} stations: {at}/{} s, {} scans",
            length.as_secs(),
            done.load(Ordering::Relaxed)
        );
        let _ = err.flush();
    }
}

enum ScanError {
    /// The server answered, but not with an accepted verdict.
    Answered(String),
    /// No complete answer: connection error or timeout.
    Transport(String),
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScanError::Answered(e) | ScanError::Transport(e) => f.write_str(e),
        }
    }
}

/// Posts one scan and reads the whole answer; `Ok` only for an accepted verdict.
async fn scan(client: &HttpClient, uri: &hyper::Uri, code: &str) -> Result<(), ScanError> {
    let body = serde_json::json!({ "code": code }).to_string();
    let req = hyper::Request::post(uri.clone())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| ScanError::Transport(e.to_string()))?;
    let answer = async {
        let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok::<_, String>((status, bytes))
    };
    let (status, bytes) = match tokio::time::timeout(REQUEST_TIMEOUT, answer).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return Err(ScanError::Transport(e)),
        Err(_) => {
            return Err(ScanError::Transport(format!(
                "no answer within {REQUEST_TIMEOUT:?}"
            )))
        }
    };
    const ACCEPTED: &[u8] = br#""verdict":"accepted""#;
    if status.is_success() && bytes.windows(ACCEPTED.len()).any(|w| w == ACCEPTED) {
        Ok(())
    } else {
        let text = String::from_utf8_lossy(&bytes);
        let text: String = text.chars().take(300).collect();
        Err(ScanError::Answered(format!(
            "{code}: HTTP {status}: {text}"
        )))
    }
}

// ----- the reference --------------------------------------------------------------------

struct BareResult {
    rows: u64,
    per_second: f64,
    latency: Latency,
}

/// One durable insert per transaction, single-threaded, for `length`: what one writer gets
/// from this disk with the server's pragmas.
fn bare_insert_loop(path: &Path, length: Duration) -> Result<BareResult> {
    let conn = crate::storage::open_durable(path)?;
    conn.execute_batch(
        "CREATE TABLE events (
             id       INTEGER PRIMARY KEY,
             at       TEXT NOT NULL,
             station  TEXT NOT NULL DEFAULT '',
             operator TEXT NOT NULL DEFAULT '',
             kind     TEXT NOT NULL,
             code     TEXT NOT NULL DEFAULT '',
             verdict  TEXT NOT NULL DEFAULT '',
             reason   TEXT NOT NULL DEFAULT '',
             detail   TEXT NOT NULL DEFAULT '{}'
         );
         CREATE INDEX events_station ON events(station, id);",
    )?;
    let mut latencies = Vec::with_capacity(16384);
    let start = Instant::now();
    let mut i = 0u64;
    while start.elapsed() < length {
        i += 1;
        let t0 = Instant::now();
        let at = jiff::Timestamp::now().to_string();
        let station = station_id((i as usize % STATIONS) + 1);
        let code = format!("BENCH-{:02}-A", i % STATIONS as u64 + 1);
        let detail = format!("{{\"raw\":\"{code}\",\"sku\":\"BENCH-SKU\"}}");
        conn.execute_batch("BEGIN")?;
        conn.prepare_cached(
            "INSERT INTO events (at, station, operator, kind, code, verdict, reason, detail)
             VALUES (?1, ?2, ?3, 'item', ?4, 'accepted', '', ?5)",
        )?
        .execute(rusqlite::params![at, station, "B-BENCH-01", code, detail])?;
        conn.execute_batch("COMMIT")?;
        latencies.push(t0.elapsed().as_nanos() as u64);
    }
    let elapsed = start.elapsed();
    Ok(BareResult {
        rows: latencies.len() as u64,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        latency: Latency::of(&mut latencies),
    })
}

// ----- figures --------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy, PartialEq)]
struct Latency {
    p50: u64,
    p99: u64,
    max: u64,
}

impl Latency {
    /// Nearest-rank percentiles of nanosecond samples (sorts them).
    fn of(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let rank = |q: f64| {
            let r = (q * samples.len() as f64).ceil() as usize;
            samples[r.clamp(1, samples.len()) - 1]
        };
        Latency {
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples[samples.len() - 1],
        }
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(
            Latency::of(&mut v),
            Latency {
                p50: 50,
                p99: 99,
                max: 100
            }
        );
        let mut one = vec![7];
        assert_eq!(
            Latency::of(&mut one),
            Latency {
                p50: 7,
                p99: 7,
                max: 7
            }
        );
        assert_eq!(Latency::of(&mut []), Latency::default());
    }

    #[test]
    fn the_generated_configuration_is_valid() {
        let c = crate::config::Config::parse("bench.toml", &config_toml()).expect("valid");
        assert_eq!(c.stations.len(), STATIONS);
        assert_eq!(c.scan.debounce_ms, 0);
        assert_eq!(c.server.bind, "127.0.0.1:0");
        assert!(c.operator("B-BENCH-50").is_some());
        assert_eq!(c.station("s50").map(|s| s.printer.as_str()), Some("none"));
    }

    #[test]
    fn the_generated_files_have_the_documented_columns() {
        let cat = catalog_csv();
        assert_eq!(cat.lines().count(), 1 + 2 * STATIONS);
        assert!(cat.contains("BENCH-SKU-07-B,Bench item 07 B,BENCH-07-B,100,R-07,1000\n"));
        let ord = orders_csv();
        assert_eq!(ord.lines().count(), 1 + 2 * STATIONS);
        let line = ord.lines().nth(1).unwrap();
        assert_eq!(line.split(',').count(), 11, "{line}");
        assert!(line.contains(",1000000,"), "{line}");
    }

    #[test]
    fn stat_lines_are_read_past_odd_thread_names() {
        let line = "42 (db (writer) x) S 1 2 3 4 5 6 7 8 9 10 150 25 0 0 20 0 3 0 100";
        assert_eq!(stat_times(line), Some(("db (writer) x".to_string(), 175)));
        assert!(process_cpu("self") < u64::MAX);
    }

    #[test]
    fn bare_loop_inserts_durably() {
        let dir = tempfile::tempdir().unwrap();
        let r =
            bare_insert_loop(&dir.path().join("bare.sqlite3"), Duration::from_millis(200)).unwrap();
        assert!(r.rows > 0);
        assert!(r.latency.p50 <= r.latency.p99 && r.latency.p99 <= r.latency.max);
    }
}
