//! The hand-over page in a real browser: headless Chromium opens a Lotte manifest from
//! `/manager/handover`, scans the packer's badge and a parcel into the focused scan field (as
//! a keyboard-wedge scanner types), sees a second parcel listed as not on the manifest, is
//! refused closing, confirms with the manager's badge and a reason, and lands on the closed,
//! read-only manifest with its PDF. Screenshots go to `test-artefacts/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use common::browser::*;
use common::{fixture, TestServer};
use fantoccini::{Client, Locator};
use serde_json::json;

fn ship(s: &TestServer, order: &str, items: &[&str], grams: i64) -> String {
    assert_eq!(s.scan("bench-1", "B-PACK-01")["verdict"], "accepted");
    assert_eq!(s.scan("bench-1", order)["action"], "order_opened");
    for code in items {
        assert_eq!(s.scan("bench-1", code)["verdict"], "accepted", "{code}");
    }
    let v = s.weigh("bench-1", grams, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("find {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("find {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("type into {css}: {e}"));
}

async fn hand_over(c: Client, srv: &TestServer, first: &str, second: &str) {
    c.goto(&srv.url("/manager/handover?lang=en"))
        .await
        .expect("open the hand-over page");
    wait_js(&c, "the page", "document.getElementById('open-form')").await;
    // Both parcels wait for the Lotte pick-up.
    wait_js(
        &c,
        "two Lotte parcels awaiting hand-over",
        "(() => { const r = document.querySelector('#awaiting tr[data-courier=\"lotte\"]'); \
         return r && r.children[1].textContent === '2'; })()",
    )
    .await;
    js(
        &c,
        "document.getElementById('courier').value = 'lotte'; return true;",
    )
    .await;
    type_into(&c, "#badge", "B-PACK-01").await;
    click(&c, "#open-form button").await;
    wait_js(
        &c,
        "the manifest page",
        "document.querySelector('main.handover[data-manifest]') && document.getElementById('scan')",
    )
    .await;
    wait_focused(&c, "on the manifest page").await;

    scan(&c, "B-PACK-01").await;
    wait_js(
        &c,
        "the packer shown as scanning",
        "document.getElementById('operator').textContent.includes('김포장')",
    )
    .await;
    scan(&c, first).await;
    wait_js(
        &c,
        "one parcel on the manifest",
        &format!(
            "document.getElementById('count').textContent === '1' && \
             document.querySelector('#on-manifest tr[data-waybill=\"{first}\"]') && \
             document.querySelector('#not-on-manifest tr[data-waybill=\"{second}\"]')"
        ),
    )
    .await;
    scan(&c, first).await;
    wait_js(
        &c,
        "the second scan counted once",
        "document.getElementById('msg').dataset.code === 'already_on_manifest' && \
         document.getElementById('count').textContent === '1'",
    )
    .await;
    scan(&c, "LOOSE-BOX-9").await;
    wait_js(
        &c,
        "the stray scan listed",
        "document.querySelector('#strays tr[data-code=\"LOOSE-BOX-9\"]') && \
         document.getElementById('msg').className === 'bad'",
    )
    .await;
    screenshot(&c, "handover-scanning-en.png").await;

    // Closing is refused while a parcel of the day is missing; the manager confirms.
    click(&c, "#close").await;
    wait_js(
        &c,
        "the manager confirmation",
        &format!(
            "!document.getElementById('confirm').hidden && \
             document.getElementById('missing-list').textContent.includes('{second}') && \
             document.getElementById('msg').dataset.code === 'parcels_missing'"
        ),
    )
    .await;
    screenshot(&c, "handover-missing-en.png").await;
    type_into(&c, "#mgr", "B-MGR-01").await;
    type_into(&c, "#reason", "goes with the evening pick-up").await;
    click(&c, "#confirm-close").await;
    wait_js(
        &c,
        "the closed, read-only manifest with its PDF",
        "document.getElementById('read-only') && document.getElementById('pdf') && \
         !document.getElementById('scan')",
    )
    .await;
    let text = body_text(&c).await;
    assert!(
        text.contains("박관리") || text.contains("B-MGR-01"),
        "{text}"
    );
    screenshot(&c, "handover-closed-en.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_is_scanned_and_closed_in_the_browser() {
    let srv = TestServer::start_with(&fixture("handover.toml"));
    let first = ship(&srv, "T-1006", &["8801234567893"], 190);
    let second = ship(&srv, "T-1008", &["8801234567893"], 190);
    with_browser(|c| async move {
        hand_over(c, &srv, &first, &second).await;
        let (_, list) = srv.get("/api/v1/manifests?status=closed");
        let m = &list["manifests"][0];
        assert_eq!(m["parcels"], 1, "{list}");
        assert_eq!(m["missing"], json!([second]), "{list}");
        assert_eq!(m["confirmed_by"], "B-MGR-01", "{list}");
    })
    .await;
}
