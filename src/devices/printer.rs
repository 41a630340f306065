//! Label printers over raw TCP (port 9100), and an emulator that stands in for one.
//!
//! Network label printers take a job as a plain byte stream on port 9100 (JetDirect /
//! AppSocket): connect, write, close. `send_raw_tcp` is that transport, strict about
//! failure: a job counts as sent only when every byte was written and the write side shut
//! down, and a printer that resets the connection is reported as a failure rather than
//! silently losing the label. `PrinterEmulator` listens like a printer, keeps each job in
//! memory and optionally in a spool folder, and can be told to refuse jobs, so the demo and
//! the tests run the whole print path with no hardware.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
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

/// Serves one connection: reset it in refuse mode, otherwise read one job to end of stream,
/// store it, and only then close, so a sender that waits for the close knows it is stored.
async fn handle(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    if shared.refuse.load(Ordering::SeqCst) {
        // Closing with a zero linger sends a reset instead of a clean close.
        stream.set_zero_linger()?;
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
}
