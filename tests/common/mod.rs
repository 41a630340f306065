//! The integration-test harness: runs the real `packbench` binary as a server process on a
//! temporary data directory, imports the fixture catalog and orders through its CLI, and
//! talks to it over HTTP. `kill9` and `restart` let durability tests crash it for real.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_packbench");

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Where tests keep files worth looking at afterwards (screenshots, labels).
pub fn artefacts() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artefacts");
    std::fs::create_dir_all(&p).expect("create test-artefacts");
    p
}

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub base: String,
    child: Option<Child>,
}

impl TestServer {
    /// A server on `tests/fixtures/bench.toml` with the fixture catalog and orders imported.
    pub fn start() -> TestServer {
        TestServer::start_with(&fixture("bench.toml"))
    }

    pub fn start_with(config: &Path) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = TestServer {
            dir,
            config: config.to_path_buf(),
            base: String::new(),
            child: None,
        };
        s.cli_ok(&[
            "import",
            "catalog",
            fixture("catalog.csv").to_str().unwrap(),
        ]);
        s.cli_ok(&["import", "orders", fixture("orders.csv").to_str().unwrap()]);
        s.spawn();
        s
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the CLI against this server's data and configuration.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(BIN)
            .arg("--data")
            .arg(self.data())
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("run packbench")
    }

    pub fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(
            out.status.success(),
            "packbench {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn spawn(&mut self) {
        let mut child = Command::new(BIN)
            .arg("--data")
            .arg(self.data())
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start packbench serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next()
            .expect("server printed nothing")
            .expect("read stdout");
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in `{first}`"));
        self.base = url.trim_end_matches('/').to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while ureq::get(&format!("{}/api/v1/health", self.base))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "server did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server with SIGKILL (no chance to flush anything).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET returning (status, JSON).
    pub fn get(&self, path: &str) -> (u16, Value) {
        match ureq::get(&self.url(path)).call() {
            Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
            Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    /// POST JSON returning (status, JSON).
    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        match ureq::post(&self.url(path)).send_json(body) {
            Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
            Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
            Err(e) => panic!("POST {path}: {e}"),
        }
    }

    pub fn scan(&self, station: &str, code: &str) -> Value {
        let (status, v) = self.post(
            &format!("/api/v1/stations/{station}/scan"),
            serde_json::json!({ "code": code }),
        );
        assert_eq!(status, 200, "scan {code}: {v}");
        v
    }

    pub fn weigh(&self, station: &str, grams: i64, stable: bool) -> Value {
        let (status, v) = self.post(
            &format!("/api/v1/stations/{station}/weight"),
            serde_json::json!({ "grams": grams, "stable": stable }),
        );
        assert_eq!(status, 200, "weight {grams}: {v}");
        v
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
    }
}
pub mod browser;
