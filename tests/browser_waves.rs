//! The manager's waves page in a real browser: headless Chromium creates the evening wave
//! from `/manager/waves` with the manager's badge, sees the link to its pick list (and that
//! the link serves a PDF), opens the wave's page and keeps screenshots under
//! `test-artefacts/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use common::browser::*;
use common::TestServer;
use fantoccini::{Client, Locator};

async fn create_a_wave(c: &Client, srv: &TestServer) {
    c.goto(&srv.url("/manager/waves?lang=en"))
        .await
        .expect("open the waves page");
    wait_js(
        c,
        "the waves page",
        "document.readyState === 'complete' && document.getElementById('new-wave') && document.getElementById('no-waves')",
    )
    .await;
    // Without a badge the server refuses, and the page says why.
    c.find(Locator::Id("create"))
        .await
        .expect("create button")
        .click()
        .await
        .expect("click create");
    wait_js(
        c,
        "the refusal",
        "document.getElementById('wave-status').className === 'bad' && \
         document.getElementById('wave-status').dataset.code === 'manager_required'",
    )
    .await;

    // The evening batch (the first choice) with the manager's badge.
    let select = js(c, "return document.getElementById('criterion').value;").await;
    assert_eq!(select, "evening");
    c.find(Locator::Id("badge"))
        .await
        .expect("badge field")
        .send_keys("B-MGR-01")
        .await
        .expect("type the badge");
    c.find(Locator::Id("create"))
        .await
        .expect("create button")
        .click()
        .await
        .expect("click create");
    wait_js(
        c,
        "the wave to be made with its pick list link",
        "document.getElementById('wave-status').className === 'good' && \
         !document.getElementById('wave-link').hidden && \
         document.getElementById('pick-list-link').getAttribute('href').includes('/pick-list.pdf') && \
         document.getElementById('pick-list-link').getBoundingClientRect().height > 0",
    )
    .await;
    let status = body_text(c).await;
    assert!(status.contains("created"), "{status}");
    screenshot(c, "waves-created-en.png").await;

    // The link serves the PDF.
    let href = js(
        c,
        "return document.getElementById('pick-list-link').getAttribute('href');",
    )
    .await;
    let href = href.as_str().expect("href").to_string();
    let r = ureq::get(&srv.url(&href)).call().expect("the pick list");
    assert_eq!(r.header("content-type"), Some("application/pdf"));

    // The wave's page: its lines and the same link.
    let page = js(
        c,
        "return document.getElementById('wave-page-link').getAttribute('href');",
    )
    .await;
    c.goto(&srv.url(page.as_str().expect("wave page link")))
        .await
        .expect("open the wave page");
    wait_js(
        c,
        "the wave page with its lines and pick list link",
        "document.querySelectorAll('#lines tr[data-sku]').length > 0 && \
         document.getElementById('pick-list-link').getAttribute('href').includes('/pick-list.pdf')",
    )
    .await;
    screenshot(c, "wave-page-en.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_a_wave_in_the_browser() {
    let srv = TestServer::start();
    with_browser(|c| async move { create_a_wave(&c, &srv).await }).await;
}
