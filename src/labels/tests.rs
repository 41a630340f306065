//! End-to-end checks of the label engine: shipping labels render in every format, their
//! barcodes decode back to the waybill, and text stays inside its boxes.

use serde_json::{json, Value};

use super::*;

pub fn kr_data() -> Value {
    serde_json::from_str(include_str!(
        "../../label-templates/samples/shipping-kr.json"
    ))
    .expect("sample JSON")
}

pub fn cn_data() -> Value {
    serde_json::from_str(include_str!(
        "../../label-templates/samples/shipping-cn.json"
    ))
    .expect("sample JSON")
}

/// Writes rendered samples to `$PACKBENCH_LABEL_OUT` for a person to look at.
#[test]
fn write_samples_when_asked() {
    let Ok(dir) = std::env::var("PACKBENCH_LABEL_OUT") else {
        return;
    };
    let mut long = kr_data();
    long["recipient"]["name"] = json!("남궁민수아버지와어머니의긴이름");
    long["recipient"]["address"] =
        json!("경기도 성남시 분당구 판교역로 235, 에이치스퀘어 엔동 7층 701호 (삼평동, 판교테크노밸리) 물류팀 앞");
    long["items_summary"] = json!("티셔츠 L 화이트 x2; 양말 x1; 후드티 XL 네이비 x1; 모자 프리 블랙 x3; 장갑 M x1; 머플러 x1; 에코백 x2");
    long["note"] = json!("파손주의! 유리제품이 들어 있으니 세워서 배송해 주시고, 부재 시 경비실에 맡겨 주세요. 감사합니다.");
    long["route"] = json!("1Y 강남B");
    for (name, data) in [("kr", kr_data()), ("cn", cn_data()), ("kr-long", long)] {
        let code = data["courier"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let t = load_template(None, shipping_template_for(&code)).expect("template");
        for format in [Format::Png, Format::Zpl, Format::Pdf] {
            let started = std::time::Instant::now();
            let bytes = render(&t, &data, format).expect("renders");
            eprintln!(
                "{name}.{}: {} bytes in {:?}",
                format.extension(),
                bytes.len(),
                started.elapsed()
            );
            std::fs::write(format!("{dir}/label-{name}.{}", format.extension()), bytes)
                .expect("write");
        }
    }
}

fn kr_template() -> Template {
    load_template(None, "shipping-kr-4x6.toml").expect("built-in KR template")
}

fn cn_template() -> Template {
    load_template(None, "shipping-cn-100x180.toml").expect("built-in CN template")
}

fn decode_png(png: &[u8]) -> image::GrayImage {
    image::load_from_memory(png).expect("a PNG").to_luma8()
}

#[test]
fn the_preview_qr_decodes_to_the_waybill() {
    for (t, data) in [(kr_template(), kr_data()), (cn_template(), cn_data())] {
        let png = render(&t, &data, Format::Png).expect("renders");
        let mut prepared = rqrr::PreparedImage::prepare(decode_png(&png));
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "{}: one QR code", t.file);
        let (_, content) = grids[0].decode().expect("decodes");
        assert_eq!(content, data["waybill"].as_str().expect("waybill"));
    }
}

/// Reads a row of pixels across a barcode the way a scanner would: widths of dark and light
/// runs, divided by the narrowest bar.
fn scan_row(image: &image::GrayImage, y: u32) -> Vec<bool> {
    let row: Vec<bool> = (0..image.width())
        .map(|x| image.get_pixel(x, y)[0] < 128)
        .collect();
    let (Some(first), Some(last)) = (row.iter().position(|&d| d), row.iter().rposition(|&d| d))
    else {
        return Vec::new();
    };
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for &d in &row[first..=last] {
        match runs.last_mut() {
            Some((colour, n)) if *colour == d => *n += 1,
            _ => runs.push((d, 1)),
        }
    }
    let module = runs.iter().map(|r| r.1).min().unwrap_or(1);
    runs.iter()
        .flat_map(|&(d, n)| std::iter::repeat_n(d, (n + module / 2) / module))
        .collect()
}

#[test]
fn the_preview_code128_scans_back_to_the_waybill() {
    for (t, data) in [(kr_template(), kr_data()), (cn_template(), cn_data())] {
        let waybill = data["waybill"].as_str().expect("waybill");
        let l = layout(&t, &data, 203).expect("layout");
        let image = decode_png(&render(&t, &data, Format::Png).expect("renders"));
        let all_bars: Vec<&layout::Bars> = l
            .items
            .iter()
            .filter_map(|i| match i {
                layout::Item::Barcode(b) => Some(b),
                _ => None,
            })
            .collect();
        assert!(!all_bars.is_empty());
        for bars in all_bars {
            // Scan only the barcode's own rows: crop to its box so nothing else is in the row.
            let crop = image::imageops::crop_imm(
                &image,
                bars.area.x,
                bars.y,
                bars.area.w,
                bars.bar_height,
            )
            .to_image();
            let scanned = scan_row(&crop, bars.bar_height / 2);
            assert_eq!(scanned, bars.modules, "{}: pixels match the layout", t.file);
            assert_eq!(
                barcode::tests::decode_code128(&scanned).as_deref(),
                Ok(waybill),
                "{}",
                t.file
            );
        }
    }
}

/// Every text line lies inside its element's box, by the layout's line boxes and by the
/// actual glyph outlines.
fn assert_text_inside(l: &Layout) {
    let face = font::face().expect("font");
    for item in &l.items {
        let layout::Item::Text(block) = item else {
            continue;
        };
        let a = block.area;
        let (ax0, ay0, ax1, ay1) = (
            a.x as f32,
            a.y as f32,
            (a.x + a.w) as f32,
            (a.y + a.h) as f32,
        );
        for line in &block.lines {
            let (x0, y0, x1, y1) = block.line_box(line);
            let inside =
                x0 >= ax0 - 0.01 && y0 >= ay0 - 0.01 && x1 <= ax1 + 0.01 && y1 <= ay1 + 0.01;
            assert!(
                inside,
                "{}: line {:?} box {:?} outside {:?}",
                block.element,
                line.text,
                (x0, y0, x1, y1),
                a
            );
            if let Some((ix0, iy0, ix1, iy1)) = font::ink_bounds(
                face,
                line.x,
                line.baseline,
                &line.text,
                block.em_px,
                block.bold,
            ) {
                let inside =
                    ix0 >= ax0 - 1.0 && iy0 >= ay0 - 1.0 && ix1 <= ax1 + 1.0 && iy1 <= ay1 + 1.0;
                assert!(
                    inside,
                    "{}: ink of {:?} {:?} outside {:?}",
                    block.element,
                    line.text,
                    (ix0, iy0, ix1, iy1),
                    a
                );
            }
        }
    }
}

#[test]
fn korean_chinese_and_long_text_stay_inside_their_boxes() {
    let address_60 = "경기도 성남시 분당구 판교역로 235, 에이치스퀘어 엔동 7층 701호 (삼평동, 판교테크노밸리) 물류팀 앞";
    assert_eq!(address_60.chars().count(), 60);
    let cases = [
        ("recipient.name", json!("김민지")),
        ("recipient.name", json!("남궁민수아버지와어머니의긴이름")),
        ("recipient.name", json!("欧阳娜娜")),
        ("recipient.name", json!("Alexandra Konstantinopoulou-Smith")),
        ("recipient.address", json!(address_60)),
        ("recipient.address", json!("广东省深圳市南山区科技园南区深南大道9988号华润大厦12楼1208室，前台代收，工作日九点到六点")),
        ("items_summary", json!("가".repeat(300))),
        ("note", json!("파손주의! 유리제품이 들어 있으니 세워서 배송해 주시고, 부재 시 경비실에 맡겨 주세요. 감사합니다.")),
    ];
    for t in [kr_template(), cn_template()] {
        for (field, value) in &cases {
            let mut data = kr_data();
            let (parent, key) = field.split_once('.').unwrap_or(("", field));
            if parent.is_empty() {
                data[key] = value.clone();
            } else {
                data[parent][key] = value.clone();
            }
            for dpi in [203, 300] {
                let l = layout(&t, &data, dpi).expect("layout");
                assert_text_inside(&l);
            }
        }
    }
    // The 60-character address fits the 4x6 label whole, without being cut.
    let mut data = kr_data();
    data["recipient"]["address"] = json!(address_60);
    let l = layout(&kr_template(), &data, 203).expect("layout");
    let address = l.text("recipient_address").expect("address drawn");
    assert!(!address.truncated);
    let printed: String = address
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(printed, address_60);
}

#[test]
fn the_note_box_appears_only_with_a_note() {
    let t = kr_template();
    let mut data = kr_data();
    let with = layout(&t, &data, 203).expect("layout");
    assert!(with.text("note").is_some());
    data["note"] = json!("");
    let without = layout(&t, &data, 203).expect("layout");
    assert!(without.text("note").is_none());
    assert_eq!(
        with.items.len(),
        without.items.len() + 2,
        "the note text and its box"
    );
}

#[test]
fn zpl_has_the_format_the_printer_needs() {
    let zpl = String::from_utf8(render(&kr_template(), &kr_data(), Format::Zpl).expect("zpl"))
        .expect("ZPL is text");
    assert!(
        zpl.starts_with("^XA\n^CI28\n^PW812\n^LL1218\n"),
        "{}",
        &zpl[..40]
    );
    assert!(zpl.trim_end().ends_with("^XZ"));
    assert!(zpl.contains("^BCN,") && zpl.contains("^FD>;600012345671^FS"));
    assert!(zpl.contains("^BQN,2,") && zpl.contains("^FDMA,600012345671^FS"));
    assert!(
        !zpl.contains("^A0"),
        "no printer fonts: all text is graphics"
    );
    let z300 = String::from_utf8(
        render_with(
            &kr_template(),
            &kr_data(),
            Format::Zpl,
            &RenderOptions { dpi: 300 },
        )
        .expect("zpl"),
    )
    .expect("text");
    assert!(z300.contains("^PW1200\n^LL1800\n"));
}

/// Parses `^FOx,y^GFA,total,total,bpr,data^FS` fields.
fn graphics(zpl: &str) -> Vec<(u32, u32, usize, Vec<Vec<u8>>)> {
    zpl.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("^FO")?;
            let (pos, gf) = rest.split_once("^GFA,")?;
            let (x, y) = pos.split_once(',')?;
            let gf = gf.strip_suffix("^FS")?;
            let mut parts = gf.splitn(4, ',');
            let total: usize = parts.next()?.parse().ok()?;
            let _ = parts.next()?;
            let bpr: usize = parts.next()?.parse().ok()?;
            let rows = zpl::decompress(parts.next()?, bpr).ok()?;
            assert_eq!(total, bpr * rows.len());
            Some((x.parse().ok()?, y.parse().ok()?, bpr, rows))
        })
        .collect()
}

#[test]
fn zpl_text_graphics_match_the_preview() {
    for (t, data) in [(kr_template(), kr_data()), (cn_template(), cn_data())] {
        let zpl = String::from_utf8(render(&t, &data, Format::Zpl).expect("zpl")).expect("text");
        let image = decode_png(&render(&t, &data, Format::Png).expect("png"));
        let fields = graphics(&zpl);
        let texts = zpl.matches("^GFA,").count();
        assert_eq!(fields.len(), texts, "every graphic parses");
        assert!(texts > 10);
        // Reverse text is inverted by a `^FR` box after its graphic; its dots are white in
        // the preview.
        let reversed: Vec<layout::DotRect> = layout(&t, &data, 203)
            .expect("layout")
            .texts()
            .filter(|b| b.reverse)
            .map(|b| b.area)
            .collect();
        for (x0, y0, _, rows) in fields {
            let inverted = reversed
                .iter()
                .any(|r| x0 >= r.x && y0 >= r.y && x0 < r.x + r.w && y0 < r.y + r.h);
            let mut ink = 0;
            for (dy, row) in rows.iter().enumerate() {
                for (byte_i, byte) in row.iter().enumerate() {
                    for bit in 0..8 {
                        if byte & (0x80 >> bit) != 0 {
                            ink += 1;
                            let (x, y) = (x0 + (byte_i * 8 + bit) as u32, y0 + dy as u32);
                            assert_eq!(
                                image.get_pixel(x, y)[0] < 128,
                                !inverted,
                                "{}: dot {x},{y} differs in the PNG",
                                t.file
                            );
                        }
                    }
                }
            }
            assert!(ink > 0);
        }
    }
}

#[test]
fn pdf_is_small_and_keeps_the_text() {
    let data = [kr_data(), cn_data()];
    let pdf = render_many(
        &kr_template(),
        &data,
        Format::Pdf,
        &RenderOptions::default(),
    )
    .expect("pdf");
    assert!(pdf.starts_with(b"%PDF"));
    // The font is subset on save: a few kilobytes, not megabytes.
    assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
    let mut warnings = Vec::new();
    let doc =
        printpdf::PdfDocument::parse(&pdf, &printpdf::PdfParseOptions::default(), &mut warnings)
            .expect("parses back");
    assert_eq!(doc.page_count(), 2);
    let text: String = doc.extract_text().concat().concat();
    for expected in ["김민지", "롯데택배", "张伟", "广东省深圳市"] {
        assert!(text.contains(expected), "{expected} not in {text:?}");
    }
}

#[test]
fn errors_name_the_element_and_the_field() {
    let mut data = kr_data();
    data["recipient"]
        .as_object_mut()
        .expect("object")
        .remove("phone_masked");
    let err = render(&kr_template(), &data, Format::Png)
        .expect_err("missing field")
        .to_string();
    assert!(
        err.contains("shipping-kr-4x6.toml")
            && err.contains("(text \"recipient_phone\")")
            && err.contains("`recipient.phone_masked`"),
        "{err}"
    );
    data = kr_data();
    data["waybill"] = json!("운송장");
    let err = render(&kr_template(), &data, Format::Zpl)
        .expect_err("not encodable")
        .to_string();
    assert!(
        err.contains("code128") && err.contains("printable ASCII"),
        "{err}"
    );
    // Two labels preview as one PNG, one under the other.
    let two = render_many(
        &kr_template(),
        &[kr_data(), kr_data()],
        Format::Png,
        &RenderOptions::default(),
    )
    .expect("two labels");
    assert_eq!(decode_png(&two).height(), 2 * 1218 + 16);
}

#[test]
fn templates_load_from_the_directory_or_the_binary() {
    assert_eq!(builtin_templates().count(), 10);
    for name in builtin_templates() {
        load_template(None, name).expect("every built-in template parses");
    }
    for code in ["cj", "hanjin", "lotte", "epost", "logen"] {
        assert_eq!(shipping_template_for(code), "shipping-kr-4x6.toml");
    }
    for code in ["sf", "sto", "zto", "yto", "yunda", "ems"] {
        assert_eq!(shipping_template_for(code), "shipping-cn-100x180.toml");
    }

    let dir = tempfile::tempdir().expect("temp dir");
    // A directory without the file falls back to the built-in copy.
    let t = load_template(Some(dir.path()), "shipping-kr-4x6.toml").expect("fallback");
    assert_eq!(t.file, "shipping-kr-4x6.toml");
    // A file in the directory wins, and its errors name its path.
    std::fs::write(
        dir.path().join("shipping-kr-4x6.toml"),
        "title = \"site\"\nwidth_mm = 50\nheight_mm = 30\n",
    )
    .expect("write");
    let t = load_template(Some(dir.path()), "shipping-kr-4x6.toml").expect("site copy");
    assert_eq!(t.title, "site");
    std::fs::write(
        dir.path().join("broken.toml"),
        "width_mm = 50\nheight_mm = 30\n[[element]]\nkind = \"ean8\"\n",
    )
    .expect("write");
    let err = load_template(Some(dir.path()), "broken.toml")
        .expect_err("bad kind")
        .to_string();
    assert!(
        err.contains("broken.toml") && err.contains("element #1 (ean8)"),
        "{err}"
    );

    for bad in ["", "..", "../etc/passwd", "a/b.toml"] {
        assert!(
            matches!(
                load_template(Some(dir.path()), bad),
                Err(LabelError::BadTemplateName(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        load_template(None, "nope.toml"),
        Err(LabelError::UnknownTemplate(_))
    ));
}

/// A ZPL job with every `^GFA` field's data written out as plain hex (two digits a byte, no
/// run-length letters, no row marks), as older jobs and other tools write it.
fn plain_hex(job: &str) -> String {
    let mut out = String::new();
    for line in job.lines() {
        let plain = line.split_once("^GFA,").and_then(|(head, gf)| {
            let gf = gf.strip_suffix("^FS")?;
            let mut parts = gf.splitn(4, ',');
            let (total, count, bpr) = (parts.next()?, parts.next()?, parts.next()?);
            let rows = zpl::decompress(parts.next()?, bpr.parse().ok()?).ok()?;
            let hex: String = rows.concat().iter().map(|b| format!("{b:02X}")).collect();
            Some(format!("{head}^GFA,{total},{count},{bpr},{hex}^FS"))
        });
        out.push_str(plain.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[test]
fn stored_zpl_replays_the_same_from_plain_and_compressed_hex() {
    for (t, data) in [(kr_template(), kr_data()), (cn_template(), cn_data())] {
        let layouts = layout_pages(&t, &data, 203).expect("lays out");
        let compressed = String::from_utf8(zpl::render(&layouts).expect("zpl")).expect("ASCII");
        let plain = plain_hex(&compressed);
        assert!(
            plain.len() > compressed.len() * 3 / 2,
            "the plain-hex job should be the longer one ({} vs {})",
            plain.len(),
            compressed.len()
        );
        assert!(compressed.contains(['G', 'g', ',', ':']));
        let from_compressed = replay::zpl(compressed.as_bytes(), 203).expect("replays");
        let from_plain = replay::zpl(plain.as_bytes(), 203).expect("replays plain hex");
        for ((original, a), b) in layouts.iter().zip(&from_compressed).zip(&from_plain) {
            let expected = raster::paint(original).expect("paints");
            assert!(
                expected == raster::paint(a).expect("paints"),
                "compressed hex"
            );
            assert!(expected == raster::paint(b).expect("paints"), "plain hex");
        }
    }
}

/// The run-length encoder as the ZPL manual states it, one hex digit at a time: the
/// reference the table-driven encoder in `zpl.rs` must agree with exactly.
fn reference_compress(data: &[u8], bytes_per_row: usize) -> String {
    let code = |mut run: usize, digit: char, out: &mut String| {
        while run > 400 {
            out.push('z');
            out.push(digit);
            run -= 400;
        }
        if run >= 20 {
            out.push((b'g' + (run / 20 - 1) as u8) as char);
        }
        let rest = run % 20;
        if rest > 1 || (rest == 1 && run >= 20) {
            out.push((b'G' + (rest - 1) as u8) as char);
        }
        out.push(digit);
    };
    let mut out = String::new();
    let mut previous: Option<&[u8]> = None;
    for row in data.chunks(bytes_per_row) {
        if previous == Some(row) {
            out.push(':');
            continue;
        }
        previous = Some(row);
        let zeros = row.iter().rev().take_while(|&&b| b == 0).count();
        let ones = row.iter().rev().take_while(|&&b| b == 0xFF).count();
        let (body, tail) = if zeros > 0 {
            (&row[..row.len() - zeros], Some(','))
        } else if ones > 0 {
            (&row[..row.len() - ones], Some('!'))
        } else {
            (row, None)
        };
        let digits: Vec<char> = body
            .iter()
            .flat_map(|b| [b >> 4, b & 0x0F])
            .map(|d| {
                char::from_digit(u32::from(d), 16)
                    .unwrap_or('0')
                    .to_ascii_uppercase()
            })
            .collect();
        let mut i = 0;
        while i < digits.len() {
            let n = digits[i..].iter().take_while(|&&d| d == digits[i]).count();
            code(n, digits[i], &mut out);
            i += n;
        }
        if let Some(t) = tail {
            out.push(t);
        }
    }
    out
}

#[test]
fn the_fast_encoder_writes_what_the_manual_rule_writes() {
    // Every text graphic of both shipping labels, plus rows made to hit the edges: runs
    // longer than 400 digits, runs across bytes (0x0F 0xFF), repeated rows, all-ones rows.
    let mut cases: Vec<(usize, Vec<u8>)> = Vec::new();
    for (t, data) in [(kr_template(), kr_data()), (cn_template(), cn_data())] {
        for l in layout_pages(&t, &data, 203).expect("lays out") {
            for b in l.texts() {
                if let Some(p) = raster::pack_lines(b, &b.lines).expect("rasterises") {
                    cases.push((p.bytes_per_row as usize, p.data));
                }
            }
        }
    }
    let mut edge = vec![0x0F; 3];
    edge.extend(vec![0xFF; 230]);
    edge.extend([0xF0, 0x12, 0x22, 0x21, 0x00, 0x01]);
    edge.extend(vec![0x00; 5]);
    let width = edge.len();
    let mut rows = edge.clone();
    rows.extend(&edge);
    rows.extend(vec![0xFF; width]);
    rows.extend(vec![0x00; width]);
    rows.extend((0..width).map(|i| (i * 7 % 256) as u8));
    cases.push((width, rows));
    for (bpr, data) in cases {
        let mut fast = Vec::new();
        zpl::compress_into(&data, bpr, &mut fast);
        assert_eq!(
            String::from_utf8(fast).expect("ASCII"),
            reference_compress(&data, bpr)
        );
    }
}

#[test]
fn cached_text_blocks_are_the_blocks_made_afresh() {
    // The same labels rendered twice on one thread (the second time from the cache) and
    // once on a fresh thread (nothing cached) give the same bytes.
    let t = kr_template();
    let labels = bench::batch(12);
    for format in [Format::Zpl, Format::Tspl] {
        let first = render_many(&t, &labels, format, &RenderOptions::default()).expect("renders");
        let (found_before, _) = raster::text_cache_stats();
        let second = render_many(&t, &labels, format, &RenderOptions::default()).expect("renders");
        assert!(
            raster::text_cache_stats().0 > found_before,
            "the second pass uses the cache"
        );
        let fresh = std::thread::scope(|s| {
            s.spawn(|| render_many(&t, &labels, format, &RenderOptions::default()))
                .join()
                .expect("thread")
        })
        .expect("renders");
        assert!(first == second && first == fresh, "{format:?}");
    }
}
