//! The bench page in a real browser: headless Chromium driven over WebDriver packs one order
//! on `/bench/bench-1` by typing codes into the focused scan field (as a keyboard-wedge
//! scanner does), checks the verdicts shown, the red-flag note, and keeps screenshots of the
//! bench in Korean, Chinese and English under `test-artefacts/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use fantoccini::{Client, ClientBuilder};
use futures_util::FutureExt;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(5);

/// A `chromedriver` child process on a free port, shut down on drop.
struct ChromeDriver {
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

async fn browser(driver: &ChromeDriver, profile: &std::path::Path) -> Client {
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
async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("script `{script}` failed: {e}"))
}

/// What the page shows right now, for failure messages.
async fn page_state(c: &Client) -> Value {
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
async fn wait_js(c: &Client, what: &str, expr: &str) {
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

async fn wait_focused(c: &Client, when: &str) {
    wait_js(
        c,
        &format!("the scan field to be focused {when}"),
        "document.activeElement && document.activeElement.id === 'scan'",
    )
    .await;
}

/// Types a code into whatever has focus and presses Enter, as a keyboard-wedge scanner does.
async fn scan(c: &Client, code: &str) {
    wait_focused(c, &format!("before scanning {code}")).await;
    let el = c.active_element().await.expect("active element");
    el.send_keys(&format!("{code}\n"))
        .await
        .unwrap_or_else(|e| panic!("type {code}: {e}"));
}

/// Waits for the verdict banner to show `class` (`ok`/`bad`) with `data-code` = `code`.
async fn wait_verdict(c: &Client, class: &str, code: &str) {
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
async fn wait_line(c: &Client, sku: &str, got: i64, need: i64, class: &str) {
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

async fn open(c: &Client, srv: &TestServer, lang: &str) {
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

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
    std::fs::write(common::artefacts().join(name), png).expect("save screenshot");
}

async fn scan_label(c: &Client) -> String {
    js(
        c,
        "return document.querySelector('label[for=scan]').textContent.trim();",
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_string()
}

async fn body_text(c: &Client) -> String {
    js(c, "return document.body.innerText;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn pack_on_the_bench(c: &Client, srv: &TestServer) {
    // Focus: on load, and back in the field after a click elsewhere on the page.
    open(c, srv, "en").await;
    assert_eq!(scan_label(c).await, "Scan");
    for target in [".bench-top .station", "#idle"] {
        c.find(fantoccini::Locator::Css(target))
            .await
            .unwrap_or_else(|e| panic!("find {target}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {target}: {e}"));
        wait_focused(c, &format!("after a click on {target}")).await;
    }

    scan(c, "B-PACK-01").await;
    wait_verdict(c, "ok", "signed_in").await;
    wait_js(
        c,
        "the packer in the top strip",
        "document.getElementById('packer').textContent.includes('김포장')",
    )
    .await;

    scan(c, "T-1001").await;
    wait_verdict(c, "ok", "order_opened").await;
    wait_line(c, "TS-WH-L", 0, 2, "").await;
    wait_line(c, "SK-3P", 0, 1, "").await;

    // A mug is not in T-1001: refused with the reason in words; nothing counted.
    scan(c, "8801234567817").await;
    wait_verdict(c, "bad", "wrong_item").await;
    wait_line(c, "TS-WH-L", 0, 2, "").await;

    scan(c, "8801234567893").await;
    wait_line(c, "TS-WH-L", 1, 2, "part").await;
    wait_verdict(c, "ok", "item_counted").await;
    // The same code again after the fixture's 300 ms debounce is a second unit, not a double-read.
    tokio::time::sleep(Duration::from_millis(350)).await;
    scan(c, "8801234567893").await;
    wait_line(c, "TS-WH-L", 2, 2, "done").await;

    scan(c, "8801234567800").await;
    wait_line(c, "SK-3P", 1, 1, "done").await;
    wait_verdict(c, "ok", "pack_complete").await;
    wait_js(
        c,
        "the pack to wait for the scale",
        "document.getElementById('pack-status').classList.contains('weighing')",
    )
    .await;
    let expected = js(c, "return document.getElementById('expected').textContent;").await;
    assert!(
        expected.as_str().unwrap_or("").contains("465"),
        "expected weight shown: {expected}"
    );

    // The scale decides; the page learns it over the station's event stream, with no typing.
    let (status, v) = srv.post(
        "/api/v1/stations/bench-1/weight",
        json!({ "grams": 465, "stable": true }),
    );
    assert_eq!(status, 200, "weight: {v}");
    assert_eq!(v["action"], "shipped", "weight: {v}");
    wait_verdict(c, "ok", "shipped").await;
    let wb = v["waybill"].as_str().expect("waybill").to_string();
    wait_js(
        c,
        "the waybill in the verdict",
        &format!("document.getElementById('verdict').textContent.includes('{wb}')"),
    )
    .await;
    wait_js(
        c,
        "the reading on the page",
        "document.getElementById('reading').textContent.includes('465')",
    )
    .await;
    let (_, order) = srv.get("/api/v1/orders/T-1001");
    assert_eq!(order["status"], "packed", "{order}");
    assert_eq!(order["waybill"], wb.as_str(), "{order}");
    wait_focused(c, "after the verdict").await;

    // The label as printed is previewed beside the verdict.
    wait_js(
        c,
        "the label preview",
        &format!(
            "!document.getElementById('label-preview').hidden && \
             document.getElementById('label-img').complete && \
             document.getElementById('label-img').naturalWidth > 300 && \
             document.getElementById('label-img').src.includes('{wb}')"
        ),
    )
    .await;

    // The device panel opens from the header and lists the three devices.
    c.find(fantoccini::Locator::Id("devices"))
        .await
        .expect("devices button")
        .click()
        .await
        .expect("open the device panel");
    wait_js(
        c,
        "the device panel",
        "!document.getElementById('devpanel').hidden && \
         document.querySelectorAll('#devrows tr').length === 3 && \
         document.querySelector('#devrows tr[data-device=printer]').textContent.includes('emulator')",
    )
    .await;
    screenshot(c, "bench-devices-en.png").await;
    js(
        c,
        "document.getElementById('devpanel').hidden = true; return true;",
    )
    .await;
    wait_focused(c, "after the device panel").await;
}

async fn red_note_and_languages(c: &Client, srv: &TestServer) {
    // Korean: open T-1002 (red flag): its note in a red box above the lines.
    open(c, srv, "ko").await;
    assert_eq!(scan_label(c).await, "스캔");
    scan(c, "T-1002").await;
    wait_verdict(c, "ok", "order_opened").await;
    wait_line(c, "MUG-01", 0, 1, "").await;
    wait_js(
        c,
        "the red note",
        "(() => { const n = document.getElementById('note'); const r = n.getBoundingClientRect(); \
         return !n.hidden && n.textContent.includes('선물 포장해 주세요') && r.height > 0 && r.top >= 0 && \
         r.bottom <= innerHeight && r.bottom <= document.getElementById('lines').getBoundingClientRect().top; })()",
    )
    .await;
    let bg = js(
        c,
        "return getComputedStyle(document.getElementById('note')).backgroundColor;",
    )
    .await;
    assert_eq!(bg, "rgb(198, 40, 40)", "the note box is red");
    let note = c
        .find(fantoccini::Locator::Id("note"))
        .await
        .expect("#note");
    assert!(note.is_displayed().await.expect("note displayed"));
    screenshot(c, "bench-ko.png").await;
    let ko = body_text(c).await;

    // Chinese: the one item in; the page asks for the scale.
    open(c, srv, "zh").await;
    assert_eq!(scan_label(c).await, "扫描");
    wait_js(
        c,
        "the note after reload",
        "!document.getElementById('note').hidden",
    )
    .await;
    scan(c, "8801234567817").await;
    wait_line(c, "MUG-01", 1, 1, "done").await;
    wait_verdict(c, "ok", "pack_complete").await;
    screenshot(c, "bench-zh.png").await;
    let zh = body_text(c).await;

    // English: a light parcel is refused by the scale; the red verdict and the band show it.
    open(c, srv, "en").await;
    assert_eq!(scan_label(c).await, "Scan");
    let (status, v) = srv.post(
        "/api/v1/stations/bench-1/weight?lang=en",
        json!({ "grams": 250, "stable": true }),
    );
    assert_eq!(status, 200, "weight: {v}");
    assert_eq!(v["code"], "weight_out_of_tolerance", "weight: {v}");
    wait_verdict(c, "bad", "weight_out_of_tolerance").await;
    wait_js(
        c,
        "the band mark out of tolerance",
        "document.getElementById('band-mark').className === 'out'",
    )
    .await;
    wait_js(
        c,
        "the override form",
        "!document.getElementById('override').hidden",
    )
    .await;
    screenshot(c, "bench-en.png").await;

    let en = body_text(c).await;
    assert!(
        ko != zh && zh != en && ko != en,
        "the page text differs per language"
    );
}

/// The manager page's import form: a file with mistakes is refused with every problem listed
/// by row and column and nothing imported; a wrong badge is refused; a good file is imported
/// and summarised.
async fn import_through_the_manager_page(c: &Client, srv: &TestServer) {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("orders-bad.csv");
    std::fs::write(
        &bad,
        "order_no,channel,paid_at,recipient_name,recipient_phone,address,postcode,sku,qty,note,flag
         W-1,generic,2026-11-23 09:00,김민지,010-1234-5678,서울 강남구 1,06234,TS-WH-L,2,,
         W-2,generic,2026-11-23 09:00,王芳,13800138000,上海市 1,200000,NO-SUCH-SKU,1,,
         W-3,generic,2026-11-23 09:00,Ann,010-0000-0000,Seoul 1,06234,SK-3P,many,,
",
    )
    .expect("write bad orders");
    let good = dir.path().join("catalog-new.csv");
    std::fs::write(
        &good,
        "sku,name,barcodes,unit_weight_g,location,cost
TEA-01,녹차 티백,8801234500017,120,C-02-01,3000
",
    )
    .expect("write catalog");

    c.goto(&srv.url("/manager?lang=en"))
        .await
        .expect("open the manager page");
    wait_js(
        c,
        "the import form",
        "document.getElementById('import-form')",
    )
    .await;
    let submit = |kind: &'static str, file: std::path::PathBuf, badge: &'static str| async move {
        js(
            c,
            &format!(
                "document.getElementById('import-kind').value = '{kind}';                  document.getElementById('import-badge').value = '{badge}';                  document.getElementById('import-status').textContent = ''; return true;"
            ),
        )
        .await;
        let input = c
            .find(fantoccini::Locator::Id("import-file"))
            .await
            .expect("file input");
        input
            .send_keys(file.to_str().expect("utf-8 path"))
            .await
            .expect("choose the file");
        c.find(fantoccini::Locator::Id("import-submit"))
            .await
            .expect("import button")
            .click()
            .await
            .expect("click import");
        wait_js(
            c,
            "the import's answer",
            "document.getElementById('import-status').className !== '' &&              !document.getElementById('import-submit').disabled",
        )
        .await;
        js(
            c,
            "const rows = [...document.querySelectorAll('#import-problems tbody tr')];              return { cls: document.getElementById('import-status').className,                       text: document.getElementById('import-status').textContent,                       shown: !document.getElementById('import-problems').hidden,                       rows: rows.map(r => [...r.cells].map(td => td.textContent)) };",
        )
        .await
    };

    let r = submit("orders", bad, "B-MGR-01").await;
    assert_eq!(r["cls"], "bad", "{r:#}");
    assert!(
        r["text"].as_str().unwrap().contains("Nothing was imported"),
        "{r:#}"
    );
    let rows = r["rows"].as_array().expect("problem rows");
    assert!(r["shown"] == true && rows.len() >= 2, "{r:#}");
    let flat = r["rows"].to_string();
    assert!(
        flat.contains("orders-bad.csv:3") && flat.contains("NO-SUCH-SKU"),
        "{r:#}"
    );
    assert!(
        flat.contains("orders-bad.csv:4") && flat.contains("qty"),
        "{r:#}"
    );
    js(
        c,
        "document.getElementById('import').scrollIntoView(); return true;",
    )
    .await;
    screenshot(c, "manager-import-refused-en.png").await;
    let imported = srv.get("/api/v1/orders/W-1");
    assert_ne!(imported.0, 200, "nothing of a refused file is imported");

    let r = submit("catalog", good.clone(), "B-PACK-01").await;
    assert_eq!(r["cls"], "bad", "a packer's badge cannot import: {r:#}");

    let r = submit("catalog", good, "B-MGR-01").await;
    assert_eq!(r["cls"], "good", "{r:#}");
    assert!(r["text"].as_str().unwrap().contains("1 new"), "{r:#}");
}

/// Runs `f`, then always ends the browser session, then reports `f`'s panic if any.
async fn with_browser<F, Fut>(f: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()>,
{
    let driver = ChromeDriver::start();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = browser(&driver, profile.path()).await;
    let outcome = AssertUnwindSafe(f(c.clone())).catch_unwind().await;
    let _ = c.close().await;
    drop(driver);
    if let Err(p) = outcome {
        std::panic::resume_unwind(p);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_page_packs_an_order_by_scanning() {
    let started = Instant::now();
    let srv = TestServer::start();
    with_browser(|c| async move {
        pack_on_the_bench(&c, &srv).await;
        red_note_and_languages(&c, &srv).await;
        import_through_the_manager_page(&c, &srv).await;
    })
    .await;
    eprintln!("browser test took {:?}", started.elapsed());
}
