//! Headless Chromium over WebDriver for the browser tests: a `chromedriver` child process,
//! a fresh profile per session, and the small waits and reads every page test needs.

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::TestServer;
use fantoccini::{Client, ClientBuilder};
use futures_util::FutureExt;
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const WAIT: Duration = Duration::from_secs(5);

/// A `chromedriver` child process on a free port, shut down on drop.
pub struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    fn start() -> ChromeDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free port")
            .port();
        let mut cmd = Command::new("chromedriver");
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot start `chromedriver` ({e}). The browser test needs Chromium and its \
                 WebDriver: run `.ci/run` (it installs chromium, chromium-driver and \
                 fonts-noto-cjk), or `apt-get install chromium chromium-driver fonts-noto-cjk`."
            ),
        };
        let mut d = ChromeDriver { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = d.child.try_wait() {
                panic!("chromedriver exited at start ({status}); run `.ci/run` to install it");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Ask chromedriver to quit (it closes any browser it still runs), then make sure.
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn browser(driver: &ChromeDriver, profile: &std::path::Path) -> Client {
    browser_with(driver, profile, &[]).await
}

/// A session whose Chromium also gets `extra` command-line switches (a fake camera...).
pub async fn browser_with(
    driver: &ChromeDriver,
    profile: &std::path::Path,
    extra: &[String],
) -> Client {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "{CHROMIUM} not found: run `.ci/run` (it installs chromium and chromium-driver)"
    );
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
                "--autoplay-policy=no-user-gesture-required",
            ],
        },
    });
    let mut caps = caps;
    if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
        args.extend(extra.iter().map(|a| json!(a)));
    }
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("open a WebDriver session with headless Chromium")
}

/// Runs a script in the page and returns its value.
pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script `{script}` failed: {e}"))
}

/// What the page shows right now, for failure messages.
pub async fn page_state(c: &Client) -> Value {
    js(
        c,
        "const v = document.getElementById('verdict'); \
         return { active: document.activeElement && document.activeElement.id, \
                  verdict: v && { hidden: v.hidden, cls: v.className, code: v.dataset.code, text: v.textContent }, \
                  status: (document.getElementById('pack-status') || {}).textContent, \
                  rows: [...document.querySelectorAll('#lines tr[data-sku]')].map(r => \
                     r.dataset.sku + ' ' + r.className + ' ' + r.querySelector('.count').textContent) };",
    )
    .await
}

/// Polls a JS expression until it is truthy (up to 5 s); fails with the page's state.
pub async fn wait_js(c: &Client, what: &str, expr: &str) {
    let script = format!("return !!({expr});");
    let deadline = Instant::now() + WAIT;
    loop {
        if js(c, &script).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what} (`{expr}`); page: {:#}",
                page_state(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

pub async fn wait_focused(c: &Client, when: &str) {
    wait_js(
        c,
        &format!("the scan field to be focused {when}"),
        "document.activeElement && document.activeElement.id === 'scan'",
    )
    .await;
}

/// Types a code into whatever has focus and presses Enter, as a keyboard-wedge scanner does.
pub async fn scan(c: &Client, code: &str) {
    wait_focused(c, &format!("before scanning {code}")).await;
    let el = c.active_element().await.expect("active element");
    el.send_keys(&format!("{code}\n"))
        .await
        .unwrap_or_else(|e| panic!("type {code}: {e}"));
}

/// Waits for the verdict banner to show `class` (`ok`/`bad`) with `data-code` = `code`.
pub async fn wait_verdict(c: &Client, class: &str, code: &str) {
    wait_js(
        c,
        &format!("verdict {class} {code}"),
        &format!(
            "(() => {{ const v = document.getElementById('verdict'); return !v.hidden && \
             v.classList.contains('{class}') && v.dataset.code === '{code}' && v.textContent.trim().length > 0 && \
             v.getBoundingClientRect().height > 0; }})()"
        ),
    )
    .await;
}

/// Waits for the line of `sku` to show `got / need` and to have row class `class` ("" = none).
pub async fn wait_line(c: &Client, sku: &str, got: i64, need: i64, class: &str) {
    wait_js(
        c,
        &format!("line {sku} at {got} / {need} ({class})"),
        &format!(
            "(() => {{ const r = document.querySelector('#lines tr[data-sku=\"{sku}\"]'); return r && \
             r.querySelector('.got').textContent === '{got}' && r.querySelector('.need').textContent === '{need}' && \
             r.className === '{class}'; }})()"
        ),
    )
    .await;
}

pub async fn open(c: &Client, srv: &TestServer, lang: &str) {
    c.goto(&srv.url(&format!("/bench/bench-1?lang={lang}")))
        .await
        .unwrap_or_else(|e| panic!("open the bench in {lang}: {e}"));
    wait_js(
        c,
        "the page to load",
        "document.readyState === 'complete' && document.getElementById('scan')",
    )
    .await;
    wait_focused(c, &format!("on load ({lang})")).await;
}

pub async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
    std::fs::write(super::artefacts().join(name), png).expect("save screenshot");
}

pub async fn scan_label(c: &Client) -> String {
    js(
        c,
        "return document.querySelector('label[for=scan]').textContent.trim();",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

pub async fn body_text(c: &Client) -> String {
    js(c, "return document.body.innerText;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Runs `f`, then always ends the browser session, then reports `f`'s panic if any.
pub async fn with_browser<F, Fut>(f: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    with_browser_args(&[], f).await
}

/// `with_browser` with extra Chromium switches.
pub async fn with_browser_args<F, Fut>(extra: &[String], f: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser_with(&driver, profile.path(), extra).await;
    let outcome = AssertUnwindSafe(f(c.clone())).catch_unwind().await;
    let _ = c.close().await;
    drop(driver);
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}
