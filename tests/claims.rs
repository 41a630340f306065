//! Claims against the courier, through the real server: a parcel is packed at the bench, its
//! label (the PNG the API renders) is photographed the way a phone would — turned, scaled,
//! on a background, with sensor noise, saved as JPEG — and the uploaded photo links itself to
//! the shipment by the label's QR code. A claim is opened with the dispatch evidence, the
//! photo is on it, amounts and status move with a manager's badge, and the evidence pack is
//! one PDF with the label and the photos. A return's claim draft opens as a claim once.

mod common;

use std::io::Read;

use common::TestServer;
use image::{imageops, GrayImage, Luma, Rgb, RgbImage};
use serde_json::{json, Value};

const TSHIRT: &str = "8801234567893";
const SOCKS: &str = "8801234567800";
const PACKER: &str = "B-PACK-01";
const MANAGER: &str = "B-MGR-01";

fn ship(s: &TestServer, orders: &[&str], items: &[&str], grams: i64) -> String {
    assert_eq!(s.scan("bench-1", PACKER)["verdict"], "accepted");
    for o in orders {
        assert_eq!(s.scan("bench-1", o)["verdict"], "accepted", "{o}");
    }
    for i in items {
        assert_eq!(s.scan("bench-1", i)["verdict"], "accepted", "{i}");
    }
    let v = s.weigh("bench-1", grams, true);
    assert_eq!(v["action"], "shipped", "{v}");
    v["waybill"].as_str().unwrap().to_string()
}

fn get_bytes(s: &TestServer, path: &str) -> Vec<u8> {
    let r = ureq::get(&s.url(path))
        .call()
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let mut b = Vec::new();
    r.into_reader().read_to_end(&mut b).unwrap();
    b
}

fn post_bytes(s: &TestServer, path: &str, body: &[u8]) -> (u16, Value) {
    match ureq::post(&s.url(path)).send_bytes(body) {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

/// A phone's photo of a label lying on a table: the label turned by `deg`, scaled, placed
/// off-centre on a mottled background, with noise, as a JPEG.
fn phone_photo(label_png: &[u8], deg: f32, scale: f32, seed: u64) -> Vec<u8> {
    let label = image::load_from_memory(label_png).unwrap().to_luma8();
    let (w, h) = label.dimensions();
    let label = imageops::resize(
        &label,
        (w as f32 * scale) as u32,
        (h as f32 * scale) as u32,
        imageops::FilterType::Triangle,
    );
    let (w, h) = label.dimensions();
    let (cw, ch) = (w * 2 + 300, h + h / 2 + 200);
    let mut rng = seed;
    let mut next = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 33) as u32
    };
    // The table: mid grey with a gradient.
    let mut canvas = GrayImage::from_fn(cw, ch, |x, y| {
        Luma([(110 + (x * 40 / cw) + (y * 20 / ch)) as u8])
    });
    let (ox, oy) = (cw as f32 * 0.38, ch as f32 / 2.0);
    let (s, c) = deg.to_radians().sin_cos();
    for y in 0..ch {
        for x in 0..cw {
            let (dx, dy) = (x as f32 - ox, y as f32 - oy);
            let lx = c * dx + s * dy + w as f32 / 2.0;
            let ly = -s * dx + c * dy + h as f32 / 2.0;
            if lx >= 0.0 && ly >= 0.0 && (lx as u32) < w && (ly as u32) < h {
                // Paper is not pure white under room light.
                let v = label.get_pixel(lx as u32, ly as u32)[0] as f32 * 0.82 + 18.0;
                canvas.put_pixel(x, y, Luma([v as u8]));
            }
        }
    }
    let mut rgb = RgbImage::new(cw, ch);
    for (x, y, p) in canvas.enumerate_pixels() {
        let n = (next() % 36) as i32 - 18;
        let v = (p[0] as i32 + n).clamp(0, 255) as u8;
        rgb.put_pixel(x, y, Rgb([v, v.saturating_sub(3), v.saturating_sub(8)]));
    }
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(rgb)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    out
}

#[test]
fn a_phone_photo_of_a_label_links_to_its_shipment_and_the_claim_carries_the_evidence() {
    let s = TestServer::start();
    let wb = ship(&s, &["T-1001"], &[TSHIRT, SOCKS, "SKU-TS-WH-L"], 470);
    let other = ship(&s, &["T-1008"], &[TSHIRT], 190);
    let png = get_bytes(&s, &format!("/api/v1/shipments/{wb}/label?format=png"));
    assert!(png.starts_with(b"\x89PNG"));

    // Photos at different angles and distances: each names its parcel.
    for (i, (deg, scale)) in [(13.0, 0.8), (-7.0, 1.1), (172.0, 0.7)]
        .into_iter()
        .enumerate()
    {
        let photo = phone_photo(&png, deg, scale, 7 + i as u64);
        std::fs::write(
            common::artefacts().join(format!("claim-photo-{i}.jpg")),
            &photo,
        )
        .unwrap();
        let (st, v) = post_bytes(
            &s,
            &format!("/api/v1/photos?badge={PACKER}&lang=en"),
            &photo,
        );
        assert_eq!(st, 200, "{v}");
        assert_eq!(
            v["waybill"],
            wb.as_str(),
            "photo {i} ({deg}°, ×{scale}): {v}"
        );
        assert_eq!(v["symbology"], "qr", "{v}");
    }
    // A photo with nothing readable on it is kept, linked to nothing.
    let blank = phone_photo(&image_png(200, 120), 0.0, 1.0, 3);
    let (st, v) = post_bytes(&s, &format!("/api/v1/photos?badge={PACKER}"), &blank);
    assert_eq!((st, v["waybill"].as_str()), (200, Some("")), "{v}");
    // Not an image, or no badge: refused.
    assert_eq!(
        post_bytes(&s, &format!("/api/v1/photos?badge={PACKER}"), b"%PDF-1.4").0,
        400
    );
    assert_eq!(post_bytes(&s, "/api/v1/photos", &blank).0, 403);

    let (_, v) = s.get(&format!("/api/v1/shipments/{wb}/claims"));
    assert_eq!(v["photos"].as_array().unwrap().len(), 3, "{v}");

    // A claim on the parcel: the evidence is attached by itself, the photos are on it.
    let (st, v) = s.post("/api/v1/claims?lang=en", json!({ "waybill": wb, "kind": "lost", "claimed": 35000, "description": "never arrived", "badge": PACKER }));
    assert_eq!(st, 200, "{v}");
    let number = v["claim"]["number"].as_str().unwrap().to_string();
    let ev = &v["claim"]["evidence"];
    assert_eq!(ev["measured_g"], 470);
    assert!(ev["expected_g"].as_i64().unwrap() > 0);
    assert_eq!(ev["packer"], PACKER);
    assert!(
        ev["scans"].as_array().unwrap().len() >= 4,
        "the scan log: {ev}"
    );
    assert_eq!(v["photos"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(v["outstanding"], 35000);
    let (st, v) = s.post(
        "/api/v1/claims",
        json!({ "waybill": wb, "kind": "stolen", "badge": PACKER }),
    );
    assert_eq!(st, 400, "{v}");
    let (st, _) = s.post(
        "/api/v1/claims",
        json!({ "waybill": "NOPE", "kind": "lost", "badge": PACKER }),
    );
    assert_eq!(st, 400);

    // A photo of the other parcel uploaded to this claim: kept, and said to be another one.
    let png2 = get_bytes(&s, &format!("/api/v1/shipments/{other}/label?format=png"));
    let (st, v) = post_bytes(
        &s,
        &format!("/api/v1/claims/{number}/photos?badge={PACKER}&lang=en"),
        &phone_photo(&png2, 5.0, 0.9, 11),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["waybill"], other.as_str());
    assert!(v["message"].as_str().unwrap().contains(&other), "{v}");

    // Status and amounts: a manager's badge; each step kept with its date.
    let (st, _) = s.post(
        &format!("/api/v1/claims/{number}/status"),
        json!({ "status": "accepted", "accepted": 30000, "badge": PACKER }),
    );
    assert_eq!(st, 403);
    let (st, v) = s.post(&format!("/api/v1/claims/{number}/status"), json!({ "status": "accepted", "accepted": 30000, "badge": MANAGER, "note": "courier agreed" }));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["outstanding"], 30000);
    let (st, v) = s.post(
        &format!("/api/v1/claims/{number}/status"),
        json!({ "status": "paid", "paid": 30000, "badge": MANAGER }),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["outstanding"], 0);
    let statuses: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["open", "accepted", "paid"]);
    let (st, _) = s.post(
        &format!("/api/v1/claims/{number}/status"),
        json!({ "paid": 40000, "badge": MANAGER }),
    );
    assert_eq!(st, 400, "paid above what was claimed");

    // The evidence pack: one PDF, the claim pages, then the label and every photo.
    let pdf = get_bytes(&s, &format!("/api/v1/claims/{number}/pack.pdf?lang=ko"));
    assert!(pdf.starts_with(b"%PDF"));
    std::fs::write(common::artefacts().join("claim-pack.pdf"), &pdf).unwrap();
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    assert!(
        doc.get_pages().len() >= 1 + 1 + 4,
        "pages: {}",
        doc.get_pages().len()
    );

    let html = ureq::get(&s.url(&format!("/manager/claims?claim={number}&lang=zh")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        html.contains(&wb) && html.contains("已赔付"),
        "the claim page in Chinese"
    );
}

/// A blank sheet of paper as PNG.
fn image_png(w: u32, h: u32) -> Vec<u8> {
    let img = GrayImage::from_pixel(w, h, Luma([240]));
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

#[test]
fn a_return_draft_opens_as_one_claim() {
    let s = TestServer::start();
    let wb = ship(&s, &["T-1001"], &[TSHIRT, SOCKS, "SKU-TS-WH-L"], 470);
    let (st, v) = s.post("/api/v1/returns", json!({ "badge": PACKER, "code": wb }));
    assert_eq!(st, 200, "{v}");
    let id = v["return"]["id"].as_i64().unwrap();
    let (st, v) = s.post(
        &format!("/api/v1/returns/{id}/lines"),
        json!({ "badge": PACKER, "order_no": "T-1001", "sku": "SK-3P", "condition": "damaged", "reason": "box crushed", "fault": "courier" }),
    );
    assert_eq!(st, 200, "{v}");
    let draft = v["claim_draft"].as_i64().unwrap();
    let (st, a) = s.post(
        "/api/v1/claims",
        json!({ "draft_id": draft, "claimed": 9000, "badge": PACKER }),
    );
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["claim"]["waybill"], wb.as_str());
    assert_eq!(a["claim"]["kind"], "damaged");
    assert_eq!(a["claim"]["description"], "box crushed");
    let (st, b) = s.post(
        "/api/v1/claims",
        json!({ "draft_id": draft, "badge": PACKER }),
    );
    assert_eq!(st, 200, "{b}");
    assert_eq!(
        a["claim"]["number"], b["claim"]["number"],
        "not a second claim"
    );
    // A claim opened on the waybill itself takes the same draft: still one claim per draft.
    let (_, v) = s.get("/api/v1/claims/list");
    assert_eq!(v["claims"].as_array().unwrap().len(), 1, "{v}");
    let html = ureq::get(&s.url("/manager/claims?lang=ko"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(html.contains(a["claim"]["number"].as_str().unwrap()));
}
