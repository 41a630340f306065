//! A serial scanner simulator on a pseudo-terminal, for the demo and the tests.
//!
//! The simulator owns a pty pair: whatever it "scans" is written to the master side, and
//! the driver opens the slave side (`/dev/pts/N`) exactly as it would open `/dev/ttyACM0`.
//! The driver is given a stable path: a symbolic link that the simulator points at the
//! current slave. Unplugging removes the link and closes the pair (the driver's read fails
//! with a hang-up, as with a pulled USB cable); plugging back in makes a new pair and points
//! the link at its slave, so the driver's reconnect logic is exercised for real.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serialport::{SerialPort, TTYPort};

/// A simulated serial scanner.
pub struct ScannerSim {
    link: PathBuf,
    /// A directory the simulator made for the link, removed when it is dropped.
    owned_dir: Option<PathBuf>,
    /// The master (written to) and the slave (held open so the line stays up between the
    /// driver's reconnects), while plugged in.
    pair: Option<(TTYPort, TTYPort)>,
    suffix: Vec<u8>,
}

impl ScannerSim {
    /// Plugs a simulated scanner in, reachable at `link` (a path that must not exist yet or
    /// be an earlier link). Codes end in CR, as the programming sheet sets them up.
    pub fn new(link: impl Into<PathBuf>) -> io::Result<ScannerSim> {
        let mut sim = ScannerSim {
            link: link.into(),
            owned_dir: None,
            pair: None,
            suffix: b"\r".to_vec(),
        };
        sim.replug()?;
        Ok(sim)
    }

    /// Plugs a simulated scanner in, with its link in a new directory under the system's
    /// temporary directory (removed when the simulator is dropped).
    pub fn in_temp_dir() -> io::Result<ScannerSim> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "packbench-scanner-sim-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir)?;
        let mut sim = ScannerSim::new(dir.join("scanner"))?;
        sim.owned_dir = Some(dir);
        Ok(sim)
    }

    /// The stable path to open, as a station spec would name `/dev/ttyACM0`.
    pub fn path(&self) -> &Path {
        &self.link
    }

    /// The pty the link points at now, while plugged in.
    pub fn current_tty(&self) -> Option<String> {
        self.pair.as_ref().and_then(|(_, slave)| slave.name())
    }

    /// Sets the suffix sent after every code (CR by default; empty for idle-gap framing).
    pub fn set_suffix(&mut self, suffix: &[u8]) {
        self.suffix = suffix.to_vec();
    }

    pub fn is_plugged(&self) -> bool {
        self.pair.is_some()
    }

    /// "Scans" a code: writes it and the suffix.
    pub fn type_code(&mut self, code: &str) -> io::Result<()> {
        let mut bytes = code.as_bytes().to_vec();
        bytes.extend_from_slice(&self.suffix);
        self.write_raw(&bytes)
    }

    /// Scans a code with an AIM symbology identifier in front, e.g. `("]C1", "0109…")`.
    pub fn type_with_aim(&mut self, aim: &str, code: &str) -> io::Result<()> {
        self.type_code(&format!("{aim}{code}"))
    }

    /// Writes bytes exactly as given (a partial code, noise, a code without suffix).
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some((master, _)) = self.pair.as_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the simulated scanner is unplugged",
            ));
        };
        master.write_all(bytes)
    }

    /// Pulls the cable: the link disappears and the pty pair is closed.
    pub fn unplug(&mut self) -> io::Result<()> {
        let removed = match std::fs::remove_file(&self.link) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        self.pair = None;
        removed
    }

    /// Plugs the scanner back in on a new pty and points the link at it.
    pub fn replug(&mut self) -> io::Result<()> {
        self.pair = None;
        let (master, slave) = TTYPort::pair().map_err(io::Error::from)?;
        let name = slave
            .name()
            .ok_or_else(|| io::Error::other("the pty has no name"))?;
        // Point the link at the new slave atomically: make it beside and rename over.
        let tmp = self.link.with_extension("new-link");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&name, &tmp)?;
        std::fs::rename(&tmp, &self.link)?;
        self.pair = Some((master, slave));
        Ok(())
    }
}

impl Drop for ScannerSim {
    fn drop(&mut self) {
        let _ = self.unplug();
        if let Some(dir) = &self.owned_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
