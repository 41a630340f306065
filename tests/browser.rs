//! The bench page in a real browser: headless Chromium driven over WebDriver packs one order
//! on `/bench/bench-1` by typing codes into the focused scan field (as a keyboard-wedge
//! scanner does), checks the verdicts shown, the red-flag note, and keeps screenshots of the
//! bench in Korean, Chinese and English under `test-artefacts/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use std::time::{Duration, Instant};

use common::browser::*;
use common::TestServer;
use fantoccini::Client;
use serde_json::json;

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
