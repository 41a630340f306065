//! The archive in a real browser: headless Chromium opens `/manager/archive` from the
//! manager page, searches by the last four digits of a phone, opens the shipment page from the
//! results and sees the label as printed load (a PNG with a width), then the same page in
//! Korean. Screenshots go to `test-artefacts/`.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use common::browser::*;
use common::TestServer;
use fantoccini::{Client, Locator};

fn ship(s: &TestServer, order: &str) -> String {
    assert_eq!(s.scan("bench-1", "B-PACK-01")["verdict"], "accepted");
    assert_eq!(s.scan("bench-1", order)["action"], "order_opened");
    assert_eq!(s.scan("bench-1", "8801234567893")["verdict"], "accepted");
    let v = s.weigh("bench-1", 190, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

async fn find_and_open(c: Client, srv: &TestServer, wanted: &str, other: &str) {
    c.goto(&srv.url("/manager?lang=en"))
        .await
        .expect("manager page");
    c.find(Locator::Css("a[href^=\"/manager/archive\"]"))
        .await
        .expect("the archive link")
        .click()
        .await
        .expect("follow the archive link");
    wait_js(&c, "the archive page", "document.getElementById('f-phone')").await;
    c.find(Locator::Css("#f-phone"))
        .await
        .unwrap()
        .send_keys("7777")
        .await
        .unwrap();
    c.find(Locator::Css("#search-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_js(
        &c,
        "the search result",
        &format!(
            "document.querySelector('#results tr[data-waybill=\"{wanted}\"]') && \
             !document.querySelector('#results tr[data-waybill=\"{other}\"]')"
        ),
    )
    .await;
    screenshot(&c, "archive-search-en.png").await;
    c.find(Locator::Css(&format!(
        "#results tr[data-waybill=\"{wanted}\"] a"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_js(
        &c,
        "the shipment page",
        &format!("document.querySelector('main.archive[data-waybill=\"{wanted}\"]')"),
    )
    .await;
    wait_js(
        &c,
        "the label preview to load",
        "(() => { const i = document.getElementById('label-preview'); \
         return i && i.complete && i.naturalWidth > 0 && i.naturalHeight > 0; })()",
    )
    .await;
    let text = body_text(&c).await;
    for want in ["T-1006", "010-****-7777", "TS-WH-L", "B-PACK-01"] {
        assert!(
            text.contains(want),
            "`{want}` not on the shipment page:\n{text}"
        );
    }
    screenshot(&c, "archive-shipment-en.png").await;
    c.goto(&srv.url(&format!("/manager/archive/{wanted}?lang=ko")))
        .await
        .unwrap();
    wait_js(
        &c,
        "the Korean page with its label",
        "document.documentElement.lang === 'ko' && document.getElementById('label-preview').naturalWidth > 0",
    )
    .await;
    assert!(body_text(&c).await.contains("출력된 라벨"));
    screenshot(&c, "archive-shipment-ko.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipment_is_found_by_phone_and_its_label_preview_loads() {
    let srv = TestServer::start();
    let wanted = ship(&srv, "T-1006"); // phone 010-6666-7777
    let other = ship(&srv, "T-1008"); // phone 010-1111-2222
    with_browser(|c| async move {
        find_and_open(c, &srv, &wanted, &other).await;
    })
    .await;
}
