//! The bench camera over HTTP against the real server: stills kept with their shipment, the
//! label-swap check on synthetic photos of the printed label, a wrong label stopping the
//! bench (also across a restart) until the right one is shown or a manager overrides, and
//! uploads that are not photos refused cleanly.
mod common;

use common::{fixture, TestServer};
use packbench::camera::synth::{self, Pose};
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const SOCKS: &str = "8801234567800";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

fn post_bytes(s: &TestServer, path: &str, body: &[u8]) -> (u16, Value) {
    match ureq::post(&s.url(path))
        .set("content-type", "image/jpeg")
        .send_bytes(body)
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

/// Opens `order` (one unit of `item`) and ships it at `grams`; returns the waybill.
fn ship(s: &TestServer, station: &str, order: &str, item: &str, grams: i64) -> String {
    assert_eq!(s.scan(station, order)["action"], "order_opened");
    assert_eq!(s.scan(station, item)["action"], "pack_complete");
    let v = s.weigh(station, grams, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

/// A phone-like photo of the label printed for `waybill`, as JPEG.
fn photo_of_label(s: &TestServer, waybill: &str, pose: &Pose, seed: u64) -> Vec<u8> {
    let png = ureq::get(&s.url(&format!("/api/v1/shipments/{waybill}/label?format=png")))
        .call()
        .expect("label png");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut png.into_reader(), &mut bytes).unwrap();
    let label = synth::grey_of_png(&bytes).expect("png");
    synth::jpeg(&synth::photo(&label, 1920, 1080, pose, seed), 92)
}

fn still(s: &TestServer, station: &str, moment: &str, jpeg: &[u8]) -> (u16, Value) {
    post_bytes(
        s,
        &format!("/api/v1/stations/{station}/photos?moment={moment}"),
        jpeg,
    )
}

#[test]
fn the_label_check_passes_the_right_label_and_stops_the_bench_on_a_swapped_one() {
    let mut s = TestServer::start_with(&fixture("camera.toml"));
    assert_eq!(s.scan("bench-1", PACKER)["action"], "signed_in");

    // A still of the open box while packing, then the parcel ships.
    assert_eq!(s.scan("bench-1", "T-1006")["action"], "order_opened");
    assert_eq!(s.scan("bench-1", TSHIRT)["action"], "pack_complete");
    let (st, v) = still(
        &s,
        "bench-1",
        "contents",
        &synth::jpeg(
            &synth::photo(
                &image::GrayImage::from_pixel(300, 400, image::Luma([230])),
                1280,
                720,
                &Pose::default(),
                1,
            ),
            90,
        ),
    );
    assert_eq!((st, v["action"].as_str()), (200, Some("photo_kept")), "{v}");
    let w1 = s.weigh("bench-1", 190, true)["waybill"]
        .as_str()
        .unwrap()
        .to_string();
    // The first waybill of the band: the browser test relies on this.
    assert_eq!(w1, format!("{}{}", 60001000000u64, 60001000000u64 % 7));

    // The right label, turned and tilted: a pass with its event.
    let pose = synth::levels()[3].1;
    let (st, v) = still(&s, "bench-1", "sealed", &photo_of_label(&s, &w1, &pose, 2));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "accepted", "{v}");
    assert_eq!(v["code"], "label_match", "{v}");
    assert_eq!(v["waybill"], w1.as_str());

    // Both stills are the shipment's, with their times and station.
    let (st, p) = s.get(&format!("/api/v1/shipments/{w1}/photos"));
    assert_eq!(st, 200, "{p}");
    assert_eq!(p["label_check"], "passed");
    let photos = p["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 2, "{p}");
    assert_eq!(photos[0]["moment"], "contents");
    assert_eq!(photos[1]["moment"], "sealed");
    assert_eq!(photos[1]["check_result"], "label_match");
    assert_eq!(photos[1]["station"], "bench-1");
    assert_eq!(photos[1]["operator"], PACKER);
    let url = photos[1]["url"].as_str().unwrap();
    let img = ureq::get(&s.url(url)).call().expect("the still is served");
    assert_eq!(img.header("content-type"), Some("image/jpeg"));

    // The next parcel gets the first parcel's label: refused loudly, naming both.
    let w2 = ship(&s, "bench-1", "T-1007", SOCKS, 105);
    let (st, v) = still(
        &s,
        "bench-1",
        "sealed",
        &photo_of_label(&s, &w1, &Pose::default(), 3),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["verdict"], "refused", "{v}");
    assert_eq!(v["code"], "label_mismatch", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains(&w1) && msg.contains(&w2), "{msg}");
    // The bench takes nothing else until it is put right, even after a restart.
    let r = s.scan("bench-1", "T-1008");
    assert_eq!(
        (r["verdict"].as_str(), r["code"].as_str()),
        (Some("refused"), Some("label_mismatch")),
        "{r}"
    );
    s.restart();
    let r = s.scan("bench-1", "T-1008");
    assert_eq!(r["code"], "label_mismatch", "after a restart: {r}");
    let (_, view) = s.get("/api/v1/stations/bench-1");
    assert_eq!(view["label_mismatch"]["waybill"], w2.as_str());
    assert_eq!(view["label_mismatch"]["found"], w1.as_str());
    // A photo with no readable code does not clear it.
    let blank = synth::jpeg(
        &synth::photo(
            &image::GrayImage::from_pixel(400, 600, image::Luma([240])),
            1920,
            1080,
            &Pose::default(),
            4,
        ),
        90,
    );
    let (_, v) = still(&s, "bench-1", "sealed", &blank);
    assert_eq!(v["code"], "label_no_code", "{v}");
    assert_eq!(s.scan("bench-1", "T-1008")["code"], "label_mismatch");
    // The right label on: the bench goes on.
    let (_, v) = still(
        &s,
        "bench-1",
        "sealed",
        &photo_of_label(&s, &w2, &synth::levels()[1].1, 5),
    );
    assert_eq!(v["code"], "label_match", "{v}");
    assert_eq!(s.scan("bench-1", "T-1008")["action"], "order_opened");
    assert_eq!(s.scan("bench-1", TSHIRT)["action"], "pack_complete");
    let w3 = s.weigh("bench-1", 190, true)["waybill"]
        .as_str()
        .unwrap()
        .to_string();

    // A swap that a manager lets go, with a reason; a packer's badge cannot.
    let (_, v) = still(
        &s,
        "bench-1",
        "sealed",
        &photo_of_label(&s, &w2, &Pose::default(), 6),
    );
    assert_eq!(v["code"], "label_mismatch", "{v}");
    let (st, v) = s.post(
        "/api/v1/stations/bench-1/label-check/override",
        json!({ "badge": PACKER, "reason": "x" }),
    );
    assert_eq!(st, 400, "{v}");
    let (st, v) = s.post(
        "/api/v1/stations/bench-1/label-check/override",
        json!({ "badge": MANAGER, "reason": "QR scratched; number checked by eye" }),
    );
    assert_eq!(
        (st, v["action"].as_str()),
        (200, Some("label_overridden")),
        "{v}"
    );
    let (_, p) = s.get(&format!("/api/v1/shipments/{w3}/photos"));
    assert_eq!(p["label_check"], "overridden");
    assert_ne!(s.scan("bench-1", "T-1005")["code"], "label_mismatch");

    // A photo with no QR on a parcel with no problem: a warning, the photo kept.
    let (_, v) = still(&s, "bench-1", "sealed", &blank);
    assert_eq!(
        (v["verdict"].as_str(), v["code"].as_str()),
        (Some("warning"), Some("label_no_code")),
        "{v}"
    );
}

#[test]
fn uploads_that_are_not_photos_are_refused_cleanly() {
    let s = TestServer::start_with(&fixture("camera.toml"));
    assert_eq!(s.scan("bench-1", PACKER)["action"], "signed_in");
    let w = ship(&s, "bench-1", "T-1006", TSHIRT, 190);
    // 20 MB: refused with a code and a message; nothing kept.
    let big = vec![0xFFu8; 20 * 1024 * 1024];
    let (st, v) = still(&s, "bench-1", "sealed", &big);
    assert_eq!((st, v["code"].as_str()), (400, Some("photo_size")), "{v}");
    assert!(!v["message"].as_str().unwrap_or("").is_empty());
    let (st, v) = still(&s, "bench-1", "sealed", b"<html>not a photo</html>");
    assert_eq!((st, v["code"].as_str()), (400, Some("photo_type")), "{v}");
    let mut broken = vec![0xFF, 0xD8, 0xFF, 0xE0];
    broken.extend_from_slice(&[9u8; 4000]);
    let (st, v) = still(&s, "bench-1", "sealed", &broken);
    assert_eq!((st, v["code"].as_str()), (400, Some("photo_decode")), "{v}");
    let (st, v) = still(
        &s,
        "bench-1",
        "lunch",
        &synth::jpeg(&image::RgbImage::new(8, 8), 80),
    );
    assert_eq!(st, 400, "{v}");
    let (_, p) = s.get(&format!("/api/v1/shipments/{w}/photos"));
    assert_eq!(p["photos"].as_array().unwrap().len(), 0, "{p}");
    assert!(!s.data().join("photos").exists() || walk(&s.data().join("photos")) == 0);
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn a_simulated_camera_photographs_the_printed_label() {
    let s = TestServer::start_with(&fixture("camera.toml"));
    assert_eq!(s.scan("bench-2", PACKER)["action"], "signed_in");
    let w1 = ship(&s, "bench-2", "T-1006", TSHIRT, 190);
    let sim = |swap: bool| {
        s.post(
            "/api/v1/stations/bench-2/photos/simulate",
            json!({ "moment": "sealed", "swap": swap }),
        )
    };
    let (st, v) = sim(true);
    assert_eq!(st, 400, "no other shipment to swap with yet: {v}");
    let (st, v) = sim(false);
    assert_eq!((st, v["code"].as_str()), (200, Some("label_match")), "{v}");
    let w2 = ship(&s, "bench-2", "T-1007", SOCKS, 105);
    let (_, v) = sim(true);
    assert_eq!(v["code"], "label_mismatch", "{v}");
    assert!(v["message"].as_str().unwrap().contains(&w1), "{v}");
    let (_, v) = sim(false);
    assert_eq!(v["code"], "label_match", "{v}");
    assert_eq!(v["waybill"], w2.as_str());
    // A browser station cannot be simulated.
    let (st, _) = s.post(
        "/api/v1/stations/bench-1/photos/simulate",
        json!({ "moment": "sealed" }),
    );
    assert_eq!(st, 400);
}
