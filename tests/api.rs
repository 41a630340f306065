//! Complete packs driven over HTTP against the real server process.

mod common;

use common::TestServer;

#[test]
fn happy_path_packs_weighs_and_ships() {
    let s = TestServer::start();
    assert_eq!(s.scan("bench-1", "B-PACK-01")["action"], "signed_in");
    assert_eq!(s.scan("bench-1", "T-1001")["action"], "order_opened");
    assert_eq!(s.scan("bench-1", "8801234567893")["scanned"], 1);
    assert_eq!(s.scan("bench-1", "SKU-TS-WH-L")["scanned"], 2);
    let last = s.scan("bench-1", "8801234567800\r\n");
    assert_eq!(last["action"], "pack_complete");
    // 2 x 180 + 95 + 10 (bag) = 465 g
    let v = s.weigh("bench-1", 470, true);
    assert_eq!(v["action"], "shipped", "{v}");
    let wb = v["waybill"].as_str().unwrap().to_string();
    let (_, sh) = s.get(&format!("/api/v1/shipments/{wb}"));
    assert_eq!(sh["order_no"], "T-1001");
    assert_eq!(sh["expected_grams"], 465);
    assert_eq!(sh["measured_grams"], 470);
    assert_eq!(sh["packer"], "B-PACK-01");
    assert_eq!(sh["courier"], "lotte");
}
