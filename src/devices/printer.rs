//! Label printers over raw TCP (port 9100), and an emulator that stands in for one.
//!
//! Network label printers take a job as a plain byte stream on port 9100 (JetDirect /
//! AppSocket): connect, write, close. `send_raw_tcp` is that transport, strict about
//! failure: a job counts as sent only when every byte was written and the write side shut
//! down, and a printer that resets the connection is reported as a failure rather than
//! silently losing the label. `PrinterEmulator` listens like a printer, keeps each job in
//! memory and optionally in a spool folder, and can be told to refuse jobs or to drop
//! connections, so the demo and the tests run the whole print path, failures included, with
//! no hardware. Printer profiles (`firmware-config/printers/*.toml`: language, resolution,
//! label limits, transport defaults) and the `packbench printer test` label live here too.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};

/// After shutting down its write side, the sender waits at most this long for the printer
/// to close the connection, which is how a reset (a refused or dropped job) shows up.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The emulator drops a connection that sends nothing for this long.
const IDLE_LIMIT: Duration = Duration::from_secs(30);

/// The emulator resets a connection whose job grows past this size.
const MAX_JOB_BYTES: usize = 32 * 1024 * 1024;

fn timed_out(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("printer: timed out {what}"),
    )
}

/// Sends one job to a raw-TCP printer at `addr` (`host:port`), within `limit` overall.
///
/// It connects, writes the whole job, shuts down the write side and then waits (up to two
/// seconds) for the printer to close. `Ok` means every byte was written and the stream shut
/// down cleanly; a reset at any point, including while waiting for the close, is an error. A
/// printer that keeps the connection open past the wait still counts as success, since it
/// has accepted every byte.
pub async fn send_raw_tcp(addr: &str, job: &[u8], limit: Duration) -> io::Result<()> {
    let deadline = Instant::now() + limit;
    let mut stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out(&format!("connecting to {addr}")))??;
    timeout_at(deadline, stream.write_all(job))
        .await
        .map_err(|_| timed_out("writing the job"))??;
    timeout_at(deadline, stream.shutdown())
        .await
        .map_err(|_| timed_out("closing the job"))??;
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .min(CLOSE_WAIT);
    match timeout(wait, drain(&mut stream)).await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

/// Reads and discards whatever the printer sends back (some send status) until it closes.
async fn drain(stream: &mut TcpStream) -> io::Result<()> {
    let mut buf = [0u8; 512];
    loop {
        if stream.read(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// The printer language a job is written in, judged from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Zebra ZPL II: holds a `^XA` … `^XZ` format.
    Zpl,
    /// TSC TSPL/TSPL2: holds a `PRINT` command line.
    Tspl,
    /// Neither; a real printer would print garbage or nothing.
    Unknown,
}

impl Language {
    /// Judges a job: ZPL if `^XA` comes before a later `^XZ`, TSPL if a line starts with
    /// `PRINT`.
    pub fn detect(job: &[u8]) -> Language {
        let text = String::from_utf8_lossy(job);
        let upper = text.to_ascii_uppercase();
        if let Some(start) = upper.find("^XA") {
            if upper[start..].contains("^XZ") {
                return Language::Zpl;
            }
        }
        let tspl = upper.lines().any(|line| {
            let line = line.trim_start();
            line.strip_prefix("PRINT")
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
        });
        if tspl {
            Language::Tspl
        } else {
            Language::Unknown
        }
    }

    /// The spool file extension for a job in this language.
    pub fn extension(self) -> &'static str {
        match self {
            Language::Zpl => "zpl",
            Language::Tspl => "tspl",
            Language::Unknown => "bin",
        }
    }
}

/// One job as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Order of arrival, starting at 1; also the number in the spool file name.
    pub received: u64,
    pub language: Language,
    pub bytes: Vec<u8>,
    /// Where the job was spooled, when the emulator has a spool folder and the write worked.
    pub spool_file: Option<PathBuf>,
}

struct Shared {
    jobs: Mutex<Vec<Job>>,
    refuse: AtomicBool,
    drop_connections: AtomicBool,
    counter: AtomicU64,
    spool_dir: Option<PathBuf>,
    count: watch::Sender<usize>,
}

impl Shared {
    fn jobs(&self) -> MutexGuard<'_, Vec<Job>> {
        // A panic while holding the lock cannot leave the list half-updated (a push is
        // atomic from the reader's view), so a poisoned lock is still safe to use.
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A pretend raw-TCP label printer.
pub struct PrinterEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl PrinterEmulator {
    /// Starts listening on `bind` (`127.0.0.1:9100`, or port 0 for any free port). With a
    /// spool folder, each job is also written there as `job-000001.zpl` and so on.
    pub async fn start(bind: &str, spool_dir: Option<PathBuf>) -> io::Result<PrinterEmulator> {
        let listener = TcpListener::bind(bind).await?;
        Self::serve(listener, spool_dir).await
    }

    /// Like `start`, but if the port is taken it listens on a free port of the same address
    /// instead (the demo asks for 9100, which a real print server may already hold).
    pub async fn start_or_any_port(
        bind: &str,
        spool_dir: Option<PathBuf>,
    ) -> io::Result<PrinterEmulator> {
        match TcpListener::bind(bind).await {
            Ok(listener) => Self::serve(listener, spool_dir).await,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                let mut addr: SocketAddr = bind.parse().map_err(|_| e)?;
                addr.set_port(0);
                Self::serve(TcpListener::bind(addr).await?, spool_dir).await
            }
            Err(e) => Err(e),
        }
    }

    async fn serve(
        listener: TcpListener,
        spool_dir: Option<PathBuf>,
    ) -> io::Result<PrinterEmulator> {
        if let Some(dir) = &spool_dir {
            tokio::fs::create_dir_all(dir).await?;
        }
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            jobs: Mutex::new(Vec::new()),
            refuse: AtomicBool::new(false),
            drop_connections: AtomicBool::new(false),
            counter: AtomicU64::new(0),
            spool_dir,
            count: watch::channel(0).0,
        });
        let accept_shared = Arc::clone(&shared);
        let accept_task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, peer)) => {
                        let shared = Arc::clone(&accept_shared);
                        tokio::spawn(async move {
                            if let Err(e) = handle(stream, &shared).await {
                                tracing::debug!(%peer, error = %e, "printer emulator: connection ended with an error");
                            }
                        });
                    }
                    Err(e) => {
                        // Running out of file descriptors is the usual cause; pause briefly
                        // rather than spin.
                        tracing::warn!(error = %e, "printer emulator: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        tracing::info!(%addr, "printer emulator listening");
        Ok(PrinterEmulator {
            shared,
            addr,
            accept_task,
        })
    }

    /// The address it listens on (with the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every job received so far, oldest first.
    pub fn jobs(&self) -> Vec<Job> {
        self.shared.jobs().clone()
    }

    /// While set, connections are reset at once without reading, so senders see an error.
    pub fn set_refuse(&self, refuse: bool) {
        self.shared.refuse.store(refuse, Ordering::SeqCst);
    }

    /// While set, connections are accepted and then closed as soon as the job starts to
    /// arrive, without reading it: a printer that takes the connection and then dies. The
    /// unread data makes the close a reset, so a careful sender sees the job was dropped.
    pub fn set_drop(&self, drop_connections: bool) {
        self.shared
            .drop_connections
            .store(drop_connections, Ordering::SeqCst);
    }

    /// Waits until at least `n` jobs have arrived; false if `limit` passes first.
    pub async fn wait_for_jobs(&self, n: usize, limit: Duration) -> bool {
        let mut rx = self.shared.count.subscribe();
        timeout(limit, rx.wait_for(|&count| count >= n))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl Drop for PrinterEmulator {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

/// Serves one connection: reset it in refuse mode, close it unread in drop mode, otherwise
/// read one job to end of stream, store it, and only then close, so a sender that waits for
/// the close knows it is stored.
async fn handle(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    if shared.refuse.load(Ordering::SeqCst) {
        // Closing with a zero linger sends a reset instead of a clean close.
        stream.set_zero_linger()?;
        drop(stream);
        return Ok(());
    }
    if shared.drop_connections.load(Ordering::SeqCst) {
        // Wait for the first bytes (or the sender's close) and close without reading them.
        let _ = timeout(IDLE_LIMIT, stream.readable()).await;
        drop(stream);
        return Ok(());
    }
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = timeout(IDLE_LIMIT, stream.read(&mut buf))
            .await
            .map_err(|_| timed_out("waiting for job data"))??;
        if n == 0 {
            break;
        }
        if bytes.len() + n > MAX_JOB_BYTES {
            stream.set_zero_linger()?;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "printer emulator: job too large",
            ));
        }
        bytes.extend_from_slice(&buf[..n]);
    }
    if !bytes.is_empty() {
        store(shared, bytes).await;
    }
    stream.shutdown().await
}

async fn store(shared: &Shared, bytes: Vec<u8>) {
    let received = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let language = Language::detect(&bytes);
    if language == Language::Unknown {
        tracing::warn!(
            received,
            len = bytes.len(),
            "printer emulator: job is neither ZPL nor TSPL"
        );
    }
    let mut spool_file = None;
    if let Some(dir) = &shared.spool_dir {
        let path = dir.join(format!("job-{received:06}.{}", language.extension()));
        match tokio::fs::write(&path, &bytes).await {
            Ok(()) => spool_file = Some(path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "printer emulator: cannot spool job")
            }
        }
    }
    let count = {
        let mut jobs = shared.jobs();
        jobs.push(Job {
            received,
            language,
            bytes,
            spool_file,
        });
        jobs.sort_by_key(|j| j.received);
        jobs.len()
    };
    shared.count.send_replace(count);
}

// ----- printer profiles ------------------------------------------------------------------

/// The printer profiles shipped with packbench (`firmware-config/printers/`).
pub const EMBEDDED_PROFILES: &[(&str, &str)] = &[
    (
        "zebra-zpl-203",
        include_str!("../../firmware-config/printers/zebra-zpl-203.toml"),
    ),
    (
        "zebra-zpl-300",
        include_str!("../../firmware-config/printers/zebra-zpl-300.toml"),
    ),
    (
        "tsc-tspl",
        include_str!("../../firmware-config/printers/tsc-tspl.toml"),
    ),
    (
        "tsc-tspl-300",
        include_str!("../../firmware-config/printers/tsc-tspl-300.toml"),
    ),
];

/// The language a printer profile speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrinterLanguage {
    Zpl,
    Tspl,
}

impl PrinterLanguage {
    pub fn language(self) -> Language {
        match self {
            PrinterLanguage::Zpl => Language::Zpl,
            PrinterLanguage::Tspl => Language::Tspl,
        }
    }
}

/// One printer family: language, resolution, label limits and transport defaults.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    pub name: String,
    pub maker: String,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub source: String,
    pub language: PrinterLanguage,
    /// 203 or 300 (dots per inch).
    pub dpi: u32,
    /// The widest label the head prints, and the longest label, in millimetres.
    pub max_width_mm: f32,
    pub max_length_mm: f32,
    /// True once the limits and commands were checked against the maker's manual.
    pub confirmed: bool,
    /// Bytes sent before every job (`\r\n` and `\u0002` escapes allowed).
    #[serde(default)]
    pub init: String,
    /// Bytes that make a printer with a cutter cut after each label.
    #[serde(default)]
    pub cutter: String,
    pub transport: TransportDefaults,
}

/// How the printer is reached when the spec string does not say.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportDefaults {
    #[serde(default = "default_tcp_port")]
    pub tcp_port: u16,
    pub serial: crate::devices::scanner::profile::SerialSettings,
}

fn default_tcp_port() -> u16 {
    9100
}

impl PrinterProfile {
    /// The bytes to send before each job: `init`, then `cutter` when asked for.
    pub fn preamble(&self, cut: bool) -> Vec<u8> {
        use crate::devices::scanner::profile::unescape;
        let mut out = unescape(&self.init).unwrap_or_default().into_bytes();
        if cut {
            out.extend(unescape(&self.cutter).unwrap_or_default().into_bytes());
        }
        out
    }

    /// Checks that a label of this size fits the printer.
    pub fn check_label(&self, width_mm: f32, height_mm: f32) -> Result<(), String> {
        if width_mm > self.max_width_mm + 0.01 {
            return Err(format!(
                "a {width_mm} mm wide label is wider than the {} mm the {} prints",
                self.max_width_mm, self.name
            ));
        }
        if height_mm > self.max_length_mm + 0.01 {
            return Err(format!(
                "a {height_mm} mm long label is longer than the {} mm the {} prints",
                self.max_length_mm, self.name
            ));
        }
        Ok(())
    }
}

/// Parses one printer profile; errors name the file and the line.
pub fn parse_profile(
    file: &str,
    src: &str,
) -> Result<PrinterProfile, crate::devices::profile::ProfileError> {
    crate::devices::profile::parse(file, src, |p: &PrinterProfile| {
        let mut problems = Vec::new();
        if !(100..=1200).contains(&p.dpi) {
            problems.push((
                "dpi".to_string(),
                "must be a printer resolution such as 203 or 300".to_string(),
            ));
        }
        if !(p.max_width_mm > 10.0 && p.max_width_mm < 500.0) {
            problems.push((
                "max_width_mm".to_string(),
                "must be between 10 and 500".to_string(),
            ));
        }
        if !(p.max_length_mm > 10.0 && p.max_length_mm < 10_000.0) {
            problems.push((
                "max_length_mm".to_string(),
                "must be between 10 and 10000".to_string(),
            ));
        }
        for (key, value) in [("init", &p.init), ("cutter", &p.cutter)] {
            if let Err(e) = crate::devices::scanner::profile::unescape(value) {
                problems.push((key.to_string(), e));
            }
        }
        if p.transport.serial.baud == 0 {
            problems.push(("baud".to_string(), "must be above 0".to_string()));
        }
        if p.transport.tcp_port == 0 {
            problems.push(("tcp_port".to_string(), "must be above 0".to_string()));
        }
        problems
    })
}

/// Every printer profile: the built-in ones overlaid by the `*.toml` files of `dir`.
pub fn load_profiles(
    dir: Option<&Path>,
) -> Result<std::collections::BTreeMap<String, PrinterProfile>, crate::devices::profile::ProfileError>
{
    crate::devices::profile::load_all(EMBEDDED_PROFILES, dir, parse_profile)
}

/// One printer profile by name.
pub fn load_profile(
    dir: Option<&Path>,
    name: &str,
) -> Result<PrinterProfile, crate::devices::profile::ProfileError> {
    let mut all = load_profiles(dir)?;
    let known: Vec<String> = all.keys().cloned().collect();
    all.remove(name)
        .ok_or_else(|| crate::devices::profile::ProfileError {
            file: format!("printer profile `{name}`"),
            line: 0,
            column: 0,
            message: format!("no such profile; known: {}", known.join(", ")),
        })
}

// ----- the test label ----------------------------------------------------------------------

/// The test label's layout: 56 x 40 mm fits every common roll, from 58 mm receipt-width
/// labels up to 4 x 6 in.
const TEST_TEMPLATE: &str = r#"
title = "packbench printer test"
width_mm = 56
height_mm = 40

[[element]]
kind = "text"
name = "title"
x_mm = 2
y_mm = 1.5
w_mm = 52
h_mm = 5.5
value = "packbench printer test"
size_mm = 4
bold = true

[[element]]
kind = "text"
name = "when"
x_mm = 2
y_mm = 7.5
w_mm = 52
h_mm = 4
value = "{date}  {profile}"
size_mm = 2.8

[[element]]
kind = "text"
name = "printer"
x_mm = 2
y_mm = 11.5
w_mm = 52
h_mm = 4
value = "{printer}"
size_mm = 2.8

[[element]]
kind = "text"
name = "cjk"
x_mm = 2
y_mm = 15.5
w_mm = 52
h_mm = 5
value = "{cjk}"
size_mm = 3.5

[[element]]
kind = "code128"
name = "code"
x_mm = 2
y_mm = 21
w_mm = 52
h_mm = 18
value = "{code}"
text_size_mm = 2.5
"#;

/// The Korean and Chinese line of the test label.
pub const TEST_CJK: &str = "한국어 인쇄 시험 · 中文打印测试";

/// The Code 128 value of a test label printed at `when`: its date and time as 12 digits.
pub fn test_code(when: jiff::civil::DateTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}",
        when.year(),
        when.month(),
        when.day(),
        when.hour(),
        when.minute()
    )
}

/// A small self-describing label for `packbench printer test`: the date, the printer spec
/// and profile, a Code 128 of the date and time, and (in ZPL) a Korean and Chinese line.
/// ZPL goes through the label engine (text as graphics, so CJK prints on any firmware);
/// TSPL is a minimal hand-written job with built-in fonts, Latin only.
pub fn test_label(
    profile: &PrinterProfile,
    printer_spec: &str,
    when: jiff::civil::DateTime,
) -> Result<Vec<u8>, crate::labels::LabelError> {
    let code = test_code(when);
    let date = when.strftime("%Y-%m-%d %H:%M").to_string();
    let mut job = profile.preamble(false);
    match profile.language {
        PrinterLanguage::Zpl => {
            let template =
                crate::labels::Template::parse("printer-test (built in)", TEST_TEMPLATE)?;
            let data = serde_json::json!({
                "date": date,
                "profile": profile.name,
                "printer": printer_spec,
                "cjk": TEST_CJK,
                "code": code,
            });
            let options = crate::labels::RenderOptions { dpi: profile.dpi };
            job.extend(crate::labels::render_with(
                &template,
                &data,
                crate::labels::Format::Zpl,
                &options,
            )?);
        }
        PrinterLanguage::Tspl => job.extend(tspl_test_label(profile, printer_spec, &date, &code)),
    }
    Ok(job)
}

/// The test label as a PDF page, for office printers reached through CUPS.
pub fn test_label_pdf(
    printer_spec: &str,
    when: jiff::civil::DateTime,
) -> Result<Vec<u8>, crate::labels::LabelError> {
    let template = crate::labels::Template::parse("printer-test (built in)", TEST_TEMPLATE)?;
    let data = serde_json::json!({
        "date": when.strftime("%Y-%m-%d %H:%M").to_string(),
        "profile": "PDF",
        "printer": printer_spec,
        "cjk": TEST_CJK,
        "code": test_code(when),
    });
    crate::labels::render(&template, &data, crate::labels::Format::Pdf)
}

/// `packbench printer test`: prints the test label on the printer named by `spec` and says
/// what happened. `emulator` starts a private emulator and reports what it received; an
/// `lp:` queue that is not raw gets the PDF version; `cut` adds the profile's cutter
/// command. The error is the transport's, ready to show.
pub fn print_test(spec: &str, profile: &PrinterProfile, cut: bool) -> Result<String, String> {
    use crate::devices::transport::{Transport, SEND_LIMIT};
    let transport = Transport::parse(spec)?;
    let when = jiff::Zoned::now().datetime();
    let job = match &transport {
        Transport::Lp { raw: false, .. } => {
            test_label_pdf(spec, when).map_err(|e| e.to_string())?
        }
        _ => {
            let mut job = if cut {
                crate::devices::scanner::profile::unescape(&profile.cutter)
                    .unwrap_or_default()
                    .into_bytes()
            } else {
                Vec::new()
            };
            job.extend(test_label(profile, spec, when).map_err(|e| e.to_string())?);
            job
        }
    };
    if let Transport::Emulator(_) = transport {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        return rt.block_on(async move {
            let emulator = PrinterEmulator::start("127.0.0.1:0", None)
                .await
                .map_err(|e| format!("cannot start the emulator: {e}"))?;
            let t = transport.with_emulator(Some(emulator.addr()));
            t.send_async(job, None, SEND_LIMIT)
                .await
                .map_err(|e| e.to_string())?;
            let jobs = emulator.jobs();
            let got = jobs.first().ok_or("the emulator stored nothing")?;
            Ok(format!(
                "the built-in emulator took the test label: {} bytes of {:?}",
                got.bytes.len(),
                got.language
            ))
        });
    }
    let done = transport
        .deliver(&job, Some("printer-test"), SEND_LIMIT)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "test label ({} bytes) accepted by {transport}{}",
        job.len(),
        if done.detail.is_empty() {
            String::new()
        } else {
            format!(": {}", done.detail)
        }
    ))
}

/// A minimal TSPL test job: size, gap, three text lines in built-in font 2/3, a Code 128.
fn tspl_test_label(
    profile: &PrinterProfile,
    printer_spec: &str,
    date: &str,
    code: &str,
) -> Vec<u8> {
    // Coordinates are written for 8 dots/mm and scaled to the printer.
    let k = profile.dpi as f32 / 203.0;
    let d = |v: u32| ((v as f32) * k).round() as u32;
    // TSPL strings cannot hold a double quote; built-in fonts are Latin only.
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c == '"' || !(' '..='~').contains(&c) {
                    '?'
                } else {
                    c
                }
            })
            .collect()
    };
    let lines = [
        "SIZE 56 mm,40 mm".to_string(),
        "GAP 3 mm,0 mm".to_string(),
        "DIRECTION 1".to_string(),
        "REFERENCE 0,0".to_string(),
        "DENSITY 8".to_string(),
        "CLS".to_string(),
        format!(
            "TEXT {},{},\"3\",0,1,1,\"packbench printer test\"",
            d(16),
            d(12)
        ),
        format!(
            "TEXT {},{},\"2\",0,1,1,\"{}  {}\"",
            d(16),
            d(48),
            clean(date),
            clean(&profile.name)
        ),
        format!(
            "TEXT {},{},\"2\",0,1,1,\"{}\"",
            d(16),
            d(80),
            clean(printer_spec)
        ),
        format!(
            "BARCODE {},{},\"128\",{},1,0,{},{},\"{}\"",
            d(16),
            d(120),
            d(120),
            d(2).max(2),
            d(2).max(2),
            code
        ),
        "PRINT 1,1".to_string(),
    ];
    let mut out = String::new();
    for l in lines {
        out.push_str(&l);
        out.push_str("\r\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZPL: &[u8] = b"^XA^CI28^PW812^LL1218^FO10,10^GB100,100,3^FS^XZ\n";
    const LIMIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_sent_job_is_stored_and_spooled() {
        let spool = tempfile::tempdir().expect("temp dir");
        let printer = PrinterEmulator::start("127.0.0.1:0", Some(spool.path().to_path_buf()))
            .await
            .expect("starts");
        let addr = printer.addr().to_string();
        send_raw_tcp(&addr, ZPL, LIMIT).await.expect("sent");
        send_raw_tcp(&addr, b"SIZE 100 mm,150 mm\r\nCLS\r\nPRINT 1,1\r\n", LIMIT)
            .await
            .expect("sent");
        // The sender waits for the close, and the emulator stores before closing.
        let jobs = printer.jobs();
        assert_eq!(jobs.len(), 2);
        assert_eq!((jobs[0].received, jobs[0].language), (1, Language::Zpl));
        assert_eq!(jobs[0].bytes, ZPL);
        assert_eq!((jobs[1].received, jobs[1].language), (2, Language::Tspl));
        let spooled = std::fs::read(spool.path().join("job-000001.zpl")).expect("spooled");
        assert_eq!(spooled, ZPL);
        assert!(spool.path().join("job-000002.tspl").is_file());
        assert!(printer.wait_for_jobs(2, LIMIT).await);
    }

    #[tokio::test]
    async fn a_refusing_printer_makes_the_send_fail() {
        let printer = PrinterEmulator::start("127.0.0.1:0", None)
            .await
            .expect("starts");
        let addr = printer.addr().to_string();
        printer.set_refuse(true);
        // Several sizes: a small job fits the socket buffer before the reset arrives, a large
        // one does not; both must fail.
        for size in [ZPL.len(), 4 * 1024 * 1024] {
            let mut job = ZPL.to_vec();
            job.resize(size, b' ');
            let result = send_raw_tcp(&addr, &job, LIMIT).await;
            assert!(
                result.is_err(),
                "a {size}-byte job to a refusing printer reported success"
            );
        }
        assert!(printer.jobs().is_empty());
        printer.set_refuse(false);
        send_raw_tcp(&addr, ZPL, LIMIT)
            .await
            .expect("accepted again");
        assert_eq!(printer.jobs().len(), 1);
    }

    #[tokio::test]
    async fn no_listener_is_an_error_not_a_hang() {
        // Bind and drop to find a port that is very likely closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let result = send_raw_tcp(&format!("127.0.0.1:{port}"), ZPL, LIMIT).await;
        assert!(result.is_err());
    }

    #[tokio::test]
    async fn falls_back_to_a_free_port() {
        let first = PrinterEmulator::start("127.0.0.1:0", None)
            .await
            .expect("starts");
        let taken = first.addr().to_string();
        let second = PrinterEmulator::start_or_any_port(&taken, None)
            .await
            .expect("falls back");
        assert_ne!(second.addr(), first.addr());
        assert!(PrinterEmulator::start(&taken, None).await.is_err());
    }

    #[test]
    fn languages_are_recognised() {
        assert_eq!(Language::detect(ZPL), Language::Zpl);
        assert_eq!(Language::detect(b"^xa^fdx^fs^xz"), Language::Zpl);
        assert_eq!(Language::detect(b"CLS\nPRINT 1\n"), Language::Tspl);
        assert_eq!(Language::detect(b"CLS\nPRINT\n"), Language::Tspl);
        assert_eq!(Language::detect(b"^XA no end"), Language::Unknown);
        assert_eq!(Language::detect(b"PRINTER READY"), Language::Unknown);
        assert_eq!(Language::detect(b"%PDF-1.7"), Language::Unknown);
    }

    #[tokio::test]
    async fn a_dropping_printer_makes_the_send_fail() {
        let printer = PrinterEmulator::start("127.0.0.1:0", None)
            .await
            .expect("starts");
        let addr = printer.addr().to_string();
        printer.set_drop(true);
        for size in [ZPL.len(), 4 * 1024 * 1024] {
            let mut job = ZPL.to_vec();
            job.resize(size, b' ');
            let result = send_raw_tcp(&addr, &job, LIMIT).await;
            assert!(
                result.is_err(),
                "a {size}-byte job to a dropping printer reported success"
            );
        }
        assert!(printer.jobs().is_empty());
        printer.set_drop(false);
        send_raw_tcp(&addr, ZPL, LIMIT)
            .await
            .expect("accepted again");
        assert_eq!(printer.jobs().len(), 1);
    }

    #[test]
    fn the_built_in_printer_profiles_load() {
        let all = load_profiles(None).expect("printer profiles parse");
        assert_eq!(
            all.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["tsc-tspl", "tsc-tspl-300", "zebra-zpl-203", "zebra-zpl-300"]
        );
        assert_eq!(all["zebra-zpl-300"].dpi, 300);
        assert_eq!(all["tsc-tspl"].language, PrinterLanguage::Tspl);
        for p in all.values() {
            assert_eq!(p.transport.tcp_port, 9100);
            // The 4 x 6 in shipping label fits every profile.
            p.check_label(101.6, 152.4).expect("4x6 fits");
            assert!(p.check_label(120.0, 50.0).is_err());
        }
        assert_eq!(all["tsc-tspl"].preamble(true), b"SET CUTTER 1\r\n");
        assert!(all["zebra-zpl-203"].preamble(false).is_empty());
    }

    #[test]
    fn a_bad_printer_profile_points_at_its_line() {
        let src = EMBEDDED_PROFILES[0].1.replacen("dpi = 203", "dpi = 20", 1);
        let e = parse_profile("zebra.toml", &src).unwrap_err();
        let line = src.lines().position(|l| l == "dpi = 20").expect("replaced") + 1;
        assert_eq!(e.line, line, "{e}");
        let src = EMBEDDED_PROFILES[0]
            .1
            .replacen("language = \"zpl\"", "language = \"epl\"", 1);
        let e = parse_profile("zebra.toml", &src).unwrap_err();
        assert!(e.line > 0 && e.message.contains("epl"), "{e}");
    }

    #[test]
    fn printer_test_reports_acceptance_or_the_transport_error() {
        let p = load_profile(None, "zebra-zpl-203").expect("profile");
        let said = print_test("emulator", &p, false).expect("printed");
        assert!(said.contains("Zpl"), "{said}");
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = format!("spool:{}", dir.path().display());
        let said = print_test(&spec, &p, true).expect("spooled");
        assert!(said.contains("printer-test.zpl"), "{said}");
        let spooled = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(spooled, 1);
        let e = print_test("file:/nonexistent/lp0", &p, false).unwrap_err();
        assert!(
            e.contains("file:/nonexistent/lp0") && e.contains("not there"),
            "{e}"
        );
        assert!(print_test("bogus", &p, false).is_err());
        let pdf =
            test_label_pdf("lp:office", jiff::civil::date(2025, 1, 2).at(3, 4, 0, 0)).expect("pdf");
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn test_labels_say_what_they_are() {
        let when = jiff::civil::date(2025, 3, 7).at(9, 5, 0, 0);
        assert_eq!(test_code(when), "202503070905");
        for name in ["zebra-zpl-203", "zebra-zpl-300"] {
            let p = load_profile(None, name).expect("profile");
            let job = test_label(&p, "tcp://10.0.0.5:9100", when).expect("renders");
            let text = String::from_utf8_lossy(&job);
            assert_eq!(Language::detect(&job), Language::Zpl, "{name}");
            assert!(
                text.contains("^BC") && text.contains("202503070905"),
                "{text}"
            );
            // Text, the Korean and Chinese line included, goes as graphics.
            assert!(text.contains("^GFA"), "{name}");
        }
        for name in ["tsc-tspl", "tsc-tspl-300"] {
            let p = load_profile(None, name).expect("profile");
            let job = test_label(&p, "lp:\"odd\"", when).expect("renders");
            let text = String::from_utf8_lossy(&job);
            assert_eq!(Language::detect(&job), Language::Tspl, "{name}");
            assert!(text.starts_with("SIZE 56 mm,40 mm\r\n"), "{text}");
            assert!(
                text.contains("\"128\"") && text.contains("\"202503070905\""),
                "{text}"
            );
            assert!(text.contains("lp:?odd?"), "quotes are replaced: {text}");
            assert!(text.contains("2025-03-07 09:05"), "{text}");
        }
        let p300 = load_profile(None, "tsc-tspl-300").expect("profile");
        let job = String::from_utf8(test_label(&p300, "x", when).expect("renders")).expect("ascii");
        assert!(job.contains("BARCODE 24,177,"), "scaled to 300 dpi: {job}");
    }
}
