//! The bench camera in a real browser: headless Chromium with a fake camera device that plays
//! a synthetic photo of the label the next parcel will get (`--use-fake-device-for-media-stream`
//! with `--use-file-for-fake-video-capture` pointing at a Y4M frame). The packer packs at the
//! page; the page photographs the open box when the last item is in and the labelled parcel
//! after the label printed, and the label-swap check passes with a green tick.
//!
//! Needs `chromium` and `chromedriver` (`.ci/run` installs them); fails if they are missing.

mod common;

use common::browser::*;
use common::{fixture, TestServer};
use packbench::camera::synth;
use packbench::labels;

/// One frame of YUV 4:2:0 video in a Y4M file, which Chromium's fake camera loops.
fn y4m(photo: &image::RgbImage) -> Vec<u8> {
    let (w, h) = photo.dimensions();
    let mut out = format!("YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
    let px = |x: u32, y: u32| {
        let p = photo.get_pixel(x.min(w - 1), y.min(h - 1)).0;
        (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]))
    };
    for y in 0..h {
        for x in 0..w {
            let (r, g, b) = px(x, y);
            out.push(
                (0.299 * r + 0.587 * g + 0.114 * b)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    for chroma in [
        |r: f32, g: f32, b: f32| 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b,
        |r: f32, g: f32, b: f32| 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b,
    ] {
        for y in (0..h).step_by(2) {
            for x in (0..w).step_by(2) {
                let mut sum = 0.0;
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let (r, g, b) = px(x + dx, y + dy);
                    sum += chroma(r, g, b);
                }
                out.push((sum / 4.0).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_with_the_camera_passes_the_label_check() {
    let srv = TestServer::start_with(&fixture("camera.toml"));
    // The first parcel of the band gets the band's first number (tests/camera.rs checks it).
    let waybill = format!("{}{}", 60001000000u64, 60001000000u64 % 7);
    let template = labels::load_template(None, "shipping-kr-4x6.toml").expect("template");
    let mut data = labels::bench::sample();
    data["waybill"] = serde_json::json!(waybill);
    let png = labels::render(&template, &data, labels::Format::Png).expect("label");
    let label = synth::grey_of_png(&png).expect("png");
    let photo = synth::photo(&label, 1920, 1080, &synth::levels()[1].1, 11);
    let video = srv.data().join("camera.y4m");
    std::fs::write(&video, y4m(&photo)).expect("write the fake camera's video");
    let args = vec![
        "--use-fake-device-for-media-stream".to_string(),
        "--use-fake-ui-for-media-stream".to_string(),
        format!("--use-file-for-fake-video-capture={}", video.display()),
    ];
    let srv = &srv;
    let wb = waybill.clone();
    with_browser_args(&args, move |c| async move {
        open(&c, srv, "en").await;
        wait_js(
            &c,
            "the camera to start",
            "(() => { const v = document.getElementById('cam-video'); \
             return !document.getElementById('camera').hidden && v && v.videoWidth > 0; })()",
        )
        .await;
        scan(&c, "B-PACK-01").await;
        wait_verdict(&c, "ok", "signed_in").await;
        scan(&c, "T-1006").await;
        wait_verdict(&c, "ok", "order_opened").await;
        scan(&c, "8801234567893").await;
        wait_verdict(&c, "ok", "pack_complete").await;
        // The page photographed the open box.
        wait_js(
            &c,
            "the photo of the open box",
            "!!document.getElementById('camera').dataset.contents",
        )
        .await;
        // The scale: the parcel weighs what it should.
        let v = srv.weigh("bench-1", 190, true);
        assert_eq!(v["waybill"], wb.as_str(), "{v}");
        // The page photographs the labelled parcel and the check passes.
        wait_js(
            &c,
            "the label check to pass",
            "(() => { const v = document.getElementById('verdict'); \
             return v.classList.contains('ok') && v.dataset.code === 'label_match'; })()",
        )
        .await;
        screenshot(&c, "bench-camera-label-match.png").await;
        let (status, p) = srv.get(&format!("/api/v1/shipments/{wb}/photos"));
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["label_check"], "passed", "{p}");
        let moments: Vec<&str> = p["photos"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["moment"].as_str())
            .collect();
        assert_eq!(moments, ["contents", "sealed"], "{p}");
    })
    .await;
}
