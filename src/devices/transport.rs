//! How a print job reaches its printer: raw TCP (port 9100), a serial port, a device file,
//! the CUPS `lp` command, a spool folder, or the built-in emulator, chosen by a spec string.
//!
//! A job counts as printed only when the transport accepted all of it: every byte written
//! and the TCP connection closed cleanly by the printer, the serial line drained, the device
//! file written and flushed, `lp` exited with 0, the spool file renamed into place and
//! synced. Anything less is a `TransportError` that says what failed and where, in words a
//! packer can act on, so the bench shows it and the label can be reprinted or redirected.
//! `probe` answers "is it there?" cheaply for the device panel and hot-plug.
//!
//! Sending blocks (sockets with timeouts, files, child processes); async callers use
//! `send_async` / `probe_async`, which run it on tokio's blocking pool.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::printer::Language;
use super::scanner::profile::{FlowControl, Parity, SerialSettings};

/// Overall limit for one job, unless the caller gives another.
pub const SEND_LIMIT: Duration = Duration::from_secs(10);

/// Longest wait for a TCP connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// After its last byte, the sender waits at most this long for the printer to close the
/// connection, which is how a reset (a dropped job) shows up.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A probe gives up after this long, well inside the 2 s in which an unplugged device must
/// show as offline.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(700);

/// Where a station's print jobs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// `none`: the station has no printer.
    None,
    /// `emulator`: the built-in TCP emulator, at the address it got when it started
    /// (`None` until `with_emulator` is called).
    Emulator(Option<SocketAddr>),
    /// `tcp://HOST:PORT` (port 9100 when left out): raw TCP, JetDirect/AppSocket.
    Tcp { addr: String },
    /// `serial:/dev/ttyUSB0?baud=9600&flow=hardware`: a printer on a serial port.
    Serial {
        path: PathBuf,
        settings: SerialSettings,
    },
    /// `file:/dev/usb/lp0`: a device file (USB printer class) or any file, appended to.
    File { path: PathBuf },
    /// `lp:QUEUE` (`?raw=1` adds `-o raw`): a CUPS queue, job on `lp`'s standard input.
    Lp {
        queue: String,
        raw: bool,
        /// The `lp` program; `lp` from `PATH` unless a test gives another.
        program: PathBuf,
    },
    /// `spool:DIR`: one file per job in a folder another program picks up.
    Spool { dir: PathBuf },
}

/// What kind of failure a `TransportError` is, for callers that react differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The spec or the setup is wrong (no printer, bad spec, `lp` not installed).
    Config,
    /// The printer cannot be reached (refused, no such device, unplugged).
    Offline,
    /// The printer did not answer in time.
    Timeout,
    /// The printer took the connection but not the job (reset, dropped, `lp` failed).
    Rejected,
    /// Writing failed for another reason (disk full, I/O error).
    Io,
}

/// A job that was not accepted: which printer, what kind of failure, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{printer}: {message}")]
pub struct TransportError {
    /// The printer's spec string, e.g. `tcp://10.0.0.5:9100`.
    pub printer: String,
    pub kind: FailureKind,
    pub message: String,
}

/// A job the transport accepted, with a note on where it went (the spool file, the `lp`
/// request id).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Delivery {
    pub detail: String,
}

/// Whether a printer is there, for the device panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceState {
    Online,
    Offline { reason: String },
}

impl DeviceState {
    pub fn is_online(&self) -> bool {
        matches!(self, DeviceState::Online)
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::None => write!(f, "none"),
            Transport::Emulator(_) => write!(f, "emulator"),
            Transport::Tcp { addr } => write!(f, "tcp://{addr}"),
            Transport::Serial { path, settings } => {
                write!(f, "serial:{}?baud={}", path.display(), settings.baud)
            }
            Transport::File { path } => write!(f, "file:{}", path.display()),
            Transport::Lp { queue, raw, .. } => {
                write!(f, "lp:{queue}{}", if *raw { "?raw=1" } else { "" })
            }
            Transport::Spool { dir } => write!(f, "spool:{}", dir.display()),
        }
    }
}

/// Splits `PATH?key=value&key=value` into the path and its options. Keys may repeat; the
/// caller decides what is known.
pub fn parse_query(s: &str) -> Result<(String, Vec<(String, String)>), String> {
    let (path, query) = match s.split_once('?') {
        Some((p, q)) => (p, q),
        None => (s, ""),
    };
    let mut options = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(format!("option `{pair}` needs a value (`{pair}=...`)"));
        };
        options.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Ok((path.to_string(), options))
}

fn serial_settings(spec: &str, options: &[(String, String)]) -> Result<SerialSettings, String> {
    let mut s = SerialSettings {
        baud: 9600,
        data_bits: 8,
        parity: Parity::None,
        stop_bits: 1,
        flow_control: FlowControl::None,
    };
    for (k, v) in options {
        let bad = || format!("printer `{spec}`: {k} `{v}` is not valid");
        match k.as_str() {
            "baud" => s.baud = v.parse().ok().filter(|b| *b > 0).ok_or_else(bad)?,
            "data_bits" => {
                s.data_bits = v.parse().ok().filter(|b| (5..=8).contains(b)).ok_or_else(bad)?
            }
            "stop_bits" => {
                s.stop_bits = v.parse().ok().filter(|b| (1..=2).contains(b)).ok_or_else(bad)?
            }
            "parity" => {
                s.parity = match v.as_str() {
                    "none" | "n" => Parity::None,
                    "even" | "e" => Parity::Even,
                    "odd" | "o" => Parity::Odd,
                    _ => return Err(bad()),
                }
            }
            "flow" => {
                s.flow_control = match v.as_str() {
                    "none" => FlowControl::None,
                    "software" | "xonxoff" => FlowControl::Software,
                    "hardware" | "rtscts" => FlowControl::Hardware,
                    _ => return Err(bad()),
                }
            }
            other => {
                return Err(format!(
                    "printer `{spec}`: unknown option `{other}` (baud, data_bits, parity, stop_bits, flow)"
                ))
            }
        }
    }
    Ok(s)
}

impl Transport {
    /// Parses a printer spec string. The error names the spec and what is expected.
    pub fn parse(spec: &str) -> Result<Transport, String> {
        let spec = spec.trim();
        let expected = "expected tcp://HOST:PORT, serial:/dev/ttyUSB0?baud=9600, file:/dev/usb/lp0, lp:QUEUE, spool:DIR, emulator or none";
        match spec {
            "none" | "" => return Ok(Transport::None),
            "emulator" => return Ok(Transport::Emulator(None)),
            _ => {}
        }
        if let Some(rest) = spec.strip_prefix("tcp://") {
            let rest = rest.trim_end_matches('/');
            if rest.is_empty() {
                return Err(format!("printer `{spec}`: the host is missing; {expected}"));
            }
            // `host`, `host:port`, `[v6]:port`.
            let bracketed_v6 = rest.starts_with('[') && rest.ends_with(']');
            let has_port = match rest.rsplit_once(':') {
                _ if bracketed_v6 => false,
                Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
                    if port.parse::<u16>().map_or(true, |p| p == 0) {
                        return Err(format!(
                            "printer `{spec}`: port `{port}` is not a port number"
                        ));
                    }
                    true
                }
                _ => false,
            };
            let addr = if has_port {
                rest.to_string()
            } else {
                format!("{rest}:9100")
            };
            return Ok(Transport::Tcp { addr });
        }
        if let Some(rest) = spec.strip_prefix("serial:") {
            let (path, options) =
                parse_query(rest).map_err(|e| format!("printer `{spec}`: {e}"))?;
            if path.is_empty() {
                return Err(format!("printer `{spec}`: the device path is missing"));
            }
            return Ok(Transport::Serial {
                path: PathBuf::from(path),
                settings: serial_settings(spec, &options)?,
            });
        }
        if let Some(rest) = spec.strip_prefix("file:") {
            if rest.is_empty() {
                return Err(format!("printer `{spec}`: the file path is missing"));
            }
            return Ok(Transport::File {
                path: PathBuf::from(rest),
            });
        }
        if let Some(rest) = spec.strip_prefix("lp:") {
            let (queue, options) =
                parse_query(rest).map_err(|e| format!("printer `{spec}`: {e}"))?;
            if queue.is_empty()
                || queue.starts_with('-')
                || queue
                    .chars()
                    .any(|c| c.is_whitespace() || c == '/' || c == '#')
            {
                return Err(format!(
                    "printer `{spec}`: `{queue}` is not a CUPS queue name (see `lpstat -p`)"
                ));
            }
            let mut raw = false;
            for (k, v) in options {
                match (k.as_str(), v.as_str()) {
                    ("raw", "1" | "true" | "yes") => raw = true,
                    ("raw", "0" | "false" | "no") => raw = false,
                    _ => {
                        return Err(format!(
                            "printer `{spec}`: unknown option `{k}={v}` (raw=1)"
                        ))
                    }
                }
            }
            return Ok(Transport::Lp {
                queue,
                raw,
                program: PathBuf::from("lp"),
            });
        }
        if let Some(rest) = spec.strip_prefix("spool:") {
            if rest.is_empty() {
                return Err(format!("printer `{spec}`: the folder is missing"));
            }
            return Ok(Transport::Spool {
                dir: PathBuf::from(rest),
            });
        }
        Err(format!("printer `{spec}`: {expected}"))
    }

    /// The same transport with the emulator's address filled in (other kinds unchanged).
    pub fn with_emulator(self, addr: Option<SocketAddr>) -> Transport {
        match self {
            Transport::Emulator(_) => Transport::Emulator(addr),
            other => other,
        }
    }

    fn error(&self, kind: FailureKind, message: impl Into<String>) -> TransportError {
        TransportError {
            printer: self.to_string(),
            kind,
            message: message.into(),
        }
    }

    /// Sends one job and returns once the transport accepted all of it.
    pub fn send(&self, job: &[u8]) -> Result<(), TransportError> {
        self.deliver(job, None, SEND_LIMIT).map(|_| ())
    }

    /// Sends one job within `limit`. `name` names the spool file (e.g. the waybill number);
    /// other transports ignore it.
    pub fn deliver(
        &self,
        job: &[u8],
        name: Option<&str>,
        limit: Duration,
    ) -> Result<Delivery, TransportError> {
        if job.is_empty() {
            return Err(self.error(FailureKind::Config, "the job is empty"));
        }
        match self {
            Transport::None => Err(self.error(
                FailureKind::Config,
                "no printer is configured for this station",
            )),
            Transport::Emulator(None) => {
                Err(self.error(FailureKind::Offline, "the printer emulator is not running"))
            }
            Transport::Emulator(Some(addr)) => self.send_tcp(&addr.to_string(), job, limit),
            Transport::Tcp { addr } => self.send_tcp(addr, job, limit),
            Transport::Serial { path, settings } => self.send_serial(path, settings, job, limit),
            Transport::File { path } => self.send_file(path, job, limit),
            Transport::Lp {
                queue,
                raw,
                program,
            } => self.send_lp(program, queue, *raw, job, limit),
            Transport::Spool { dir } => self.send_spool(dir, job, name),
        }
    }

    /// `deliver` on tokio's blocking pool, for async callers.
    pub async fn send_async(
        &self,
        job: Vec<u8>,
        name: Option<String>,
        limit: Duration,
    ) -> Result<Delivery, TransportError> {
        let t = self.clone();
        let printer = self.to_string();
        tokio::task::spawn_blocking(move || t.deliver(&job, name.as_deref(), limit))
            .await
            .unwrap_or_else(|e| {
                Err(TransportError {
                    printer,
                    kind: FailureKind::Io,
                    message: format!("the print task failed: {e}"),
                })
            })
    }

    // ----- TCP --------------------------------------------------------------------------

    fn send_tcp(
        &self,
        addr: &str,
        job: &[u8],
        limit: Duration,
    ) -> Result<Delivery, TransportError> {
        let deadline = Instant::now() + limit;
        let left = |what: &str| {
            let d = deadline.saturating_duration_since(Instant::now());
            if d.is_zero() {
                Err(self.error(FailureKind::Timeout, format!("timed out {what}")))
            } else {
                Ok(d)
            }
        };
        let mut stream = self.connect(addr, left("connecting")?.min(CONNECT_TIMEOUT))?;
        // A printer that closed the connection before we sent anything will not print it.
        if let Err(e) = stream.set_nonblocking(true) {
            return Err(self.io_error("setting up the connection", e));
        }
        let mut probe = [0u8; 1];
        let early = stream.peek(&mut probe);
        let _ = stream.set_nonblocking(false);
        match early {
            Ok(0) => {
                return Err(self.error(
                    FailureKind::Rejected,
                    format!(
                    "{addr} closed the connection before taking the job: the label was not printed"
                ),
                ))
            }
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => {
                return Err(self.rejected(addr, e));
            }
            // Status bytes some printers send on connect, or nothing yet: both fine.
            _ => {}
        }
        let _ = stream.set_write_timeout(Some(left("writing the job")?));
        if let Err(e) = stream.write_all(job) {
            return Err(match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.error(
                    FailureKind::Timeout,
                    format!("{addr} stopped taking data (timed out writing the job; out of paper or paused?)"),
                ),
                _ => self.rejected(addr, e),
            });
        }
        if let Err(e) = stream.shutdown(Shutdown::Write) {
            return Err(self.rejected(addr, e));
        }
        // Wait for the printer to close its side; a reset here means it dropped the job.
        let _ = stream.set_read_timeout(Some(left("closing")?.min(CLOSE_WAIT)));
        let mut buf = [0u8; 512];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                // The printer keeps the connection open past the wait: it has every byte.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.rejected(addr, e)),
            }
        }
        // A reset that raced the printer's close is still a dropped job.
        if let Ok(Some(e)) = stream.take_error() {
            return Err(self.rejected(addr, e));
        }
        Ok(Delivery {
            detail: format!("{} bytes to {addr}", job.len()),
        })
    }

    fn connect(&self, addr: &str, timeout: Duration) -> Result<TcpStream, TransportError> {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| self.error(FailureKind::Offline, format!("cannot resolve {addr}: {e}")))?
            .collect();
        let mut last = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, timeout) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| io::Error::other("no address"));
        Err(match e.kind() {
            // Something answered and reset the connection at once: a printer that is on but
            // refusing jobs (busy with another host, in an error state).
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => self.error(
                FailureKind::Rejected,
                format!("{addr} refused the connection ({e}): the label was not printed"),
            ),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.error(
                FailureKind::Timeout,
                format!("no answer from {addr} (is the printer on and on this network?)"),
            ),
            _ => self.error(
                FailureKind::Offline,
                format!("cannot connect to {addr}: {e} (is the printer on?)"),
            ),
        })
    }

    fn rejected(&self, addr: &str, e: io::Error) -> TransportError {
        self.error(
            FailureKind::Rejected,
            format!("{addr} dropped the connection ({e}): the label was not printed"),
        )
    }

    fn io_error(&self, what: &str, e: io::Error) -> TransportError {
        self.error(FailureKind::Io, format!("{what}: {e}"))
    }

    // ----- serial and device files --------------------------------------------------------

    fn send_serial(
        &self,
        path: &Path,
        settings: &SerialSettings,
        job: &[u8],
        limit: Duration,
    ) -> Result<Delivery, TransportError> {
        let name = path.display().to_string();
        if !path.exists() {
            return Err(self.error(
                FailureKind::Offline,
                format!("{name} is not there (unplugged or switched off?)"),
            ));
        }
        let mut port =
            settings.builder(&name).timeout(limit).open().map_err(|e| {
                self.error(FailureKind::Offline, format!("cannot open {name}: {e}"))
            })?;
        let result = port.write_all(job).and_then(|()| port.flush());
        result.map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.error(
                FailureKind::Timeout,
                format!("{name} stopped taking data (flow control held? out of paper?)"),
            ),
            _ => self.error(FailureKind::Io, format!("writing to {name}: {e}")),
        })?;
        Ok(Delivery {
            detail: format!("{} bytes to {name}", job.len()),
        })
    }

    fn send_file(
        &self,
        path: &Path,
        job: &[u8],
        limit: Duration,
    ) -> Result<Delivery, TransportError> {
        let name = path.display().to_string();
        // A device file is not created: a wrong path must fail, not make a regular file.
        if !path.exists() {
            return Err(self.error(
                FailureKind::Offline,
                format!("{name} is not there (printer unplugged or switched off?)"),
            ));
        }
        // A USB printer that is off-line can block a write for ever, so the write runs on
        // its own thread and the job fails when the limit passes.
        let owned_path = path.to_path_buf();
        let bytes = job.to_vec();
        let outcome = with_limit(limit, move || -> io::Result<()> {
            let mut f = std::fs::OpenOptions::new().append(true).open(&owned_path)?;
            f.write_all(&bytes)?;
            f.flush()?;
            // fsync makes a regular file durable; device drivers may not implement it.
            if f.metadata().map(|m| m.is_file()).unwrap_or(false) {
                f.sync_all()?;
            }
            Ok(())
        });
        match outcome {
            None => Err(self.error(
                FailureKind::Timeout,
                format!(
                    "{name} did not take the job within {} s (printer off-line?)",
                    limit.as_secs()
                ),
            )),
            Some(Err(e)) => Err(self.error(
                if e.kind() == io::ErrorKind::NotFound {
                    FailureKind::Offline
                } else {
                    FailureKind::Io
                },
                format!("writing to {name}: {e}"),
            )),
            Some(Ok(())) => Ok(Delivery {
                detail: format!("{} bytes to {name}", job.len()),
            }),
        }
    }

    // ----- CUPS -----------------------------------------------------------------------------

    fn send_lp(
        &self,
        program: &Path,
        queue: &str,
        raw: bool,
        job: &[u8],
        limit: Duration,
    ) -> Result<Delivery, TransportError> {
        let mut cmd = Command::new(program);
        cmd.arg("-d").arg(queue);
        if raw {
            cmd.arg("-o").arg("raw");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    self.error(
                        FailureKind::Config,
                        format!(
                            "the `{}` command is not installed (it comes with the CUPS client: apt install cups-client)",
                            program.display()
                        ),
                    )
                } else {
                    self.error(FailureKind::Config, format!("cannot run `{}`: {e}", program.display()))
                }
            })?;
        let deadline = Instant::now() + limit;
        // The job goes in from its own thread, so an `lp` that stops reading cannot block
        // the wait below; closing the pipe tells `lp` the job is complete.
        if let Some(mut stdin) = child.stdin.take() {
            let bytes = job.to_vec();
            let _ = std::thread::Builder::new()
                .name("lp-stdin".into())
                .spawn(move || {
                    if let Err(e) = stdin.write_all(&bytes) {
                        // `lp` exited early; its exit status and message say why.
                        tracing::debug!(error = %e, "lp closed its input early");
                    }
                });
        }
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(self.error(
                        FailureKind::Timeout,
                        format!(
                            "`lp -d {queue}` did not finish within {} s",
                            limit.as_secs()
                        ),
                    ));
                }
                Err(e) => return Err(self.io_error("waiting for lp", e)),
            }
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_string(&mut stdout);
        }
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_string(&mut stderr);
        }
        if status.success() {
            Ok(Delivery {
                detail: stdout.trim().to_string(),
            })
        } else {
            let why = if stderr.trim().is_empty() {
                stdout.trim()
            } else {
                stderr.trim()
            };
            Err(self.error(
                FailureKind::Rejected,
                format!(
                    "`lp -d {queue}` failed ({}): {why}",
                    status
                        .code()
                        .map_or("killed".to_string(), |c| format!("exit {c}"))
                ),
            ))
        }
    }

    // ----- spool folder -----------------------------------------------------------------

    fn send_spool(
        &self,
        dir: &Path,
        job: &[u8],
        name: Option<&str>,
    ) -> Result<Delivery, TransportError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let fail = |what: &str, e: io::Error| {
            self.error(FailureKind::Io, format!("{what} in {}: {e}", dir.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| fail("cannot create the spool folder", e))?;
        let ext = if job.starts_with(b"%PDF") {
            "pdf"
        } else {
            Language::detect(job).extension()
        };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let seq = COUNTER.fetch_add(1, Ordering::SeqCst);
        let stem = match name.map(sanitise).filter(|s| !s.is_empty()) {
            Some(n) => format!("{stamp}-{n}"),
            None => format!("{stamp}-{}-{seq}", std::process::id()),
        };
        // Never overwrite an earlier job of the same name.
        let mut target = dir.join(format!("{stem}.{ext}"));
        let mut n = 1;
        while target.exists() {
            n += 1;
            target = dir.join(format!("{stem}-{n}.{ext}"));
        }
        // Written under a hidden temporary name and renamed, so a program watching the
        // folder never picks up half a job.
        let tmp = dir.join(format!(".{stem}-{seq}.part"));
        let written = (|| -> io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(job)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &target)?;
            // The rename is durable once the folder itself is synced.
            std::fs::File::open(dir)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail("cannot write the job", e));
        }
        Ok(Delivery {
            detail: target.display().to_string(),
        })
    }

    // ----- presence -------------------------------------------------------------------------

    /// Whether the printer is there, within `PROBE_TIMEOUT`: a TCP connection opens, the
    /// device path exists, the CUPS queue is enabled, the spool folder is usable.
    pub fn probe(&self) -> DeviceState {
        let offline = |reason: String| DeviceState::Offline { reason };
        match self {
            Transport::None => offline("no printer is configured".into()),
            Transport::Emulator(None) => offline("the printer emulator is not running".into()),
            Transport::Emulator(Some(addr)) => probe_tcp(&addr.to_string()),
            Transport::Tcp { addr } => probe_tcp(addr),
            Transport::Serial { path, .. } | Transport::File { path } => {
                if path.exists() {
                    DeviceState::Online
                } else {
                    offline(format!("{} is not there (unplugged?)", path.display()))
                }
            }
            Transport::Lp { queue, program, .. } => probe_lp(program, queue),
            Transport::Spool { dir } => {
                if dir.is_dir()
                    || dir
                        .parent()
                        .is_some_and(|p| p.as_os_str().is_empty() || p.is_dir())
                {
                    DeviceState::Online
                } else {
                    offline(format!("{} does not exist", dir.display()))
                }
            }
        }
    }

    /// `probe` on tokio's blocking pool.
    pub async fn probe_async(&self) -> DeviceState {
        let t = self.clone();
        tokio::task::spawn_blocking(move || t.probe())
            .await
            .unwrap_or_else(|e| DeviceState::Offline {
                reason: format!("probe failed: {e}"),
            })
    }
}

fn probe_tcp(addr: &str) -> DeviceState {
    let addrs = match addr.to_socket_addrs() {
        Ok(a) => a,
        Err(e) => {
            return DeviceState::Offline {
                reason: format!("cannot resolve {addr}: {e}"),
            }
        }
    };
    let mut reason = format!("{addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, PROBE_TIMEOUT) {
            Ok(s) => {
                let _ = s.shutdown(Shutdown::Both);
                return DeviceState::Online;
            }
            Err(e) => reason = format!("{addr}: {e}"),
        }
    }
    DeviceState::Offline { reason }
}

/// Asks CUPS (`lpstat -p QUEUE`, beside the `lp` in use) whether the queue exists and is
/// enabled.
fn probe_lp(lp: &Path, queue: &str) -> DeviceState {
    let lpstat = match lp.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => dir.join("lpstat"),
        None => PathBuf::from("lpstat"),
    };
    let child = Command::new(&lpstat)
        .arg("-p")
        .arg(queue)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return DeviceState::Offline {
                reason: format!("cannot run {}: {e} (is CUPS installed?)", lpstat.display()),
            }
        }
    };
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return DeviceState::Offline {
                    reason: "lpstat did not answer".into(),
                };
            }
        }
    };
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut out);
    }
    if status.success() && !out.contains("disabled") {
        DeviceState::Online
    } else {
        DeviceState::Offline {
            reason: format!("CUPS queue {queue}: {}", out.trim()),
        }
    }
}

/// Runs `f` on its own thread and waits at most `limit` for it; `None` on timeout (the
/// thread is left to finish on its own).
fn with_limit<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("print-write".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if spawned.is_err() {
        return None;
    }
    rx.recv_timeout(limit).ok()
}

/// Keeps letters, digits, `-`, `_` and `.` of a file-name hint; the rest becomes `_`.
fn sanitise(name: &str) -> String {
    name.chars()
        .take(80)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests;
