//! The counter's page in a real browser: headless Chromium signs a counter in with their
//! badge, claims a location by scanning its label, counts items (one by one and with a typed
//! quantity), records an unknown code as found and submits by scanning the label again —
//! all through the focused scan field, as a keyboard-wedge scanner types. The location's
//! book quantity is a distinctive 7919, and the page's HTML must never contain it: the count
//! is blind. Screenshots go to `test-artefacts/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use common::browser::*;
use common::{fixture, TestServer};
use fantoccini::Client;
use serde_json::json;

const BOOK: &str = "7919";

async fn html(c: &Client) -> String {
    js(c, "return document.documentElement.outerHTML;")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The page, as rendered now, does not show the book quantity anywhere.
async fn blind(c: &Client, when: &str) {
    let h = html(c).await;
    assert!(
        !h.contains(BOOK),
        "the book quantity {BOOK} is in the page {when}:\n{h}"
    );
}

async fn wait_code(c: &Client, code: &str) {
    wait_js(
        c,
        &format!("the answer {code}"),
        &format!(
            "(() => {{ const v = document.getElementById('verdict'); return v && !v.hidden && v.dataset.code === '{code}' && v.textContent.trim().length > 0; }})()"
        ),
    )
    .await;
}

async fn count_location(c: Client, srv: &TestServer) {
    c.goto(&srv.url("/stocktake?lang=en"))
        .await
        .expect("open the counter's page");
    wait_js(
        &c,
        "the page",
        "document.readyState === 'complete' && document.getElementById('scan')",
    )
    .await;
    wait_focused(&c, "on load").await;
    blind(&c, "on load").await;

    scan(&c, "B-COUNT-01").await;
    wait_js(
        &c,
        "the counter signed in",
        "document.getElementById('counter').textContent.includes('이실사')",
    )
    .await;
    wait_js(
        &c,
        "the locations to count",
        "document.querySelector('button.claim')",
    )
    .await;
    blind(&c, "after signing in").await;

    scan(&c, "A-01-01").await;
    wait_code(&c, "claimed").await;
    wait_js(&c, "the location shown", "!document.getElementById('task').hidden && document.getElementById('bin').textContent === 'A-01-01'").await;
    blind(&c, "after claiming the location").await;

    scan(&c, "8801234567893").await;
    wait_js(&c, "one T-shirt counted", "(() => { const r = document.querySelector('#lines tr[data-sku=\"TS-WH-L\"]'); return r && r.querySelector('.qty').textContent === '1'; })()").await;
    // A typed quantity, then the item: five more.
    scan(&c, "x5").await;
    wait_js(
        &c,
        "the typed quantity",
        "document.getElementById('pending-qty').textContent.includes('5')",
    )
    .await;
    scan(&c, "8801234567893").await;
    wait_js(&c, "six T-shirts counted", "(() => { const r = document.querySelector('#lines tr[data-sku=\"TS-WH-L\"]'); return r && r.querySelector('.qty').textContent === '6' && document.getElementById('units').textContent === '6'; })()").await;
    blind(&c, "while counting").await;
    scan(&c, "NO-SUCH-CODE-42").await;
    wait_code(&c, "found").await;
    wait_js(
        &c,
        "the unknown code listed as found",
        "document.querySelector('#lines tr.found[data-code=\"NO-SUCH-CODE-42\"]')",
    )
    .await;
    screenshot(&c, "stocktake-counting-en.png").await;
    blind(&c, "with a found code").await;

    // The label again submits; far off the book, so it goes back for a second count.
    scan(&c, "A-01-01").await;
    wait_code(&c, "recount_needed").await;
    wait_js(
        &c,
        "the task done",
        "document.getElementById('task').hidden",
    )
    .await;
    wait_focused(&c, "after submitting").await;
    blind(&c, "after submitting").await;
    let text = body_text(&c).await;
    assert!(!text.contains(BOOK), "{text}");
    screenshot(&c, "stocktake-submitted-en.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_counts_a_location_without_ever_seeing_the_book_quantity() {
    let cfg_dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(fixture("bench.toml")).unwrap();
    let cfg = cfg_dir.path().join("stocktake.toml");
    std::fs::write(
        &cfg,
        format!(
            "{base}\n[[operators]]\nbadge = \"B-COUNT-01\"\nname = \"이실사\"\nrole = \"packer\"\n\n\
             [stocktake]\npretend_now = \"2026-11-27T10:00:00+09:00\"\n"
        ),
    )
    .unwrap();
    let srv = TestServer::start_with(&cfg);
    let (st, v) = srv.post(
        "/api/v1/bins",
        json!({ "badge": "B-MGR-01", "bins": [{ "code": "A-01-01", "zone": "A" }, { "code": "A-01-02", "zone": "A" }] }),
    );
    assert_eq!(st, 200, "{v}");
    let csv = format!("sku,bin,qty\nTS-WH-L,A-01-01,{BOOK}\nSK-3P,A-01-02,3\n");
    let r = ureq::post(&srv.url("/api/v1/stock/import?filename=opening.csv"))
        .set("x-badge", "B-MGR-01")
        .send_string(&csv)
        .expect("import the opening stock");
    assert_eq!(r.status(), 200);
    // The day before the window: the manager opens the cycle early.
    let (st, v) = srv.post("/api/v1/stocktake/cycles", json!({ "badge": "B-MGR-01" }));
    assert_eq!((st, &v["verdict"]), (200, &json!("accepted")), "{v}");
    with_browser(|c| async move {
        let c2 = c.clone();
        count_location(c, &srv).await;
        // The count was recorded against the planted book quantity.
        let (_, report) = srv.get("/api/v1/stocktake/cycles/2026-11/report");
        let l = report["lines"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["sku"] == "TS-WH-L")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (l["book"].as_i64(), l["counted"].as_i64()),
            (Some(7919), Some(6)),
            "{report}"
        );
        assert_eq!(l["status"], "recount", "{l}");
        // The manager's page shows the location waiting for its second count.
        c2.goto(&srv.url("/manager/stocktake?lang=ko"))
            .await
            .expect("open the manager's page");
        wait_js(
            &c2,
            "the cycle and its recount",
            "document.getElementById('cycle') && document.getElementById('p-recount').textContent === '1' && \
             document.querySelector('#variances tr[data-status=\"recount\"]') && \
             document.getElementById('stocktake-banner')",
        )
        .await;
        screenshot(&c2, "stocktake-manager-ko.png").await;
    })
    .await;
}
