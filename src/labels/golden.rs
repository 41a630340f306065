//! The acceptance tests of the label engine, over every built-in template and its sample:
//!
//! - golden files for every template × output (ZPL at 203 dpi, and at 300 dpi for the
//!   shipping labels; TSPL with its bitmap payloads summarised; the PDF's text layer; the PNG
//!   compared with a tolerance) in `tests/golden/labels/`. Set `PACKBENCH_BLESS=1` to accept
//!   new output. Every PNG is also written to `test-artefacts/labels/` for a person to look at;
//! - round trip: every barcode, QR code and Data Matrix in every template, read back from
//!   the PNG's pixels, decodes to exactly the value it was given (decoders written here from
//!   the standards' tables, rqrr for QR, the datamatrix crate's decoder for Data Matrix), and
//!   the ZPL and TSPL ask the printer for the same symbol;
//! - fit: Korean and Chinese names, a 60-character address and a 20-line order stay inside
//!   their boxes in every output (the layout's line boxes and glyph ink, the PNG's dots, the
//!   ZPL and TSPL graphics and the TSPL built-in font cells);
//! - a replayed stored ZPL job paints exactly the PNG preview.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::barcode::Symbology;
use super::layout::{DotRect, Item, Layout, TextBlock};
use super::*;

/// Every built-in template with the sample it is shown with (some twice, with the data
/// that switches their conditional parts).
const CASES: &[(&str, &str, &str)] = &[
    ("shipping-kr", "shipping-kr-4x6.toml", "shipping-kr.json"),
    (
        "shipping-cn",
        "shipping-cn-100x180.toml",
        "shipping-cn.json",
    ),
    ("sku", "sku-50x30.toml", "sku.json"),
    ("sku-no-ean", "sku-50x30.toml", "sku-no-ean.json"),
    (
        "bin-location",
        "bin-location-100x50.toml",
        "bin-location.json",
    ),
    (
        "operator-badge",
        "operator-badge-86x54.toml",
        "operator-badge.json",
    ),
    ("carton", "carton-100x70.toml", "carton.json"),
    ("pick-list", "pick-list-a4.toml", "pick-list.json"),
    ("packing-slip", "packing-slip-a4.toml", "packing-slip.json"),
    (
        "handover-manifest",
        "handover-manifest-a4.toml",
        "handover-manifest.json",
    ),
    ("count-sheet", "count-sheet-a4.toml", "count-sheet.json"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(file: &str) -> Value {
    let path = root().join("label-templates/samples").join(file);
    let text = std::fs::read_to_string(&path).expect("sample exists");
    serde_json::from_str(&text).expect("sample is JSON")
}

fn template(name: &str) -> Template {
    load_template(None, name).expect("built-in template")
}

fn cases() -> Vec<(&'static str, Template, Value)> {
    CASES
        .iter()
        .map(|(name, t, s)| (*name, template(t), sample(s)))
        .collect()
}

fn pages(t: &Template, data: &Value, dpi: u32) -> Vec<Layout> {
    layout_pages(t, data, dpi).expect("lays out")
}

// ----- golden files ------------------------------------------------------------------------

fn bless() -> bool {
    std::env::var("PACKBENCH_BLESS").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Compares text output with its golden file (or writes it when blessing); returns a
/// problem to report, so one run lists every difference.
fn check_text(name: &str, actual: &str) -> Option<String> {
    let path = root().join("tests/golden/labels").join(name);
    if bless() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, actual).expect("write golden");
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => None,
        Ok(expected) => {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(expected.lines().count().min(actual.lines().count()));
            let artefact = artefacts().join(format!("{name}.actual"));
            let _ = std::fs::write(&artefact, actual);
            Some(format!(
                "{name}: differs from the golden file from line {} (actual in {})",
                line + 1,
                artefact.display()
            ))
        }
        Err(_) => Some(format!(
            "{name}: no golden file {} (run with PACKBENCH_BLESS=1)",
            path.display()
        )),
    }
}

fn artefacts() -> PathBuf {
    let dir = root().join("test-artefacts/labels");
    std::fs::create_dir_all(&dir).expect("artefact dir");
    dir
}

/// Share of pixels a PNG may differ from its golden image by (font rasteriser updates move
/// a few edge dots; a layout change moves thousands).
const PNG_TOLERANCE: f64 = 0.002;

fn check_png(name: &str, png: &[u8]) -> Option<String> {
    std::fs::write(artefacts().join(name), png).expect("write artefact");
    let path = root().join("tests/golden/labels").join(name);
    if bless() {
        std::fs::write(&path, png).expect("write golden");
        return None;
    }
    let Ok(expected) = std::fs::read(&path) else {
        return Some(format!(
            "{name}: no golden PNG (run with PACKBENCH_BLESS=1)"
        ));
    };
    let (a, e) = (decode_png(png), decode_png(&expected));
    if a.dimensions() != e.dimensions() {
        return Some(format!(
            "{name}: {:?}, the golden image is {:?}",
            a.dimensions(),
            e.dimensions()
        ));
    }
    let differing = a
        .pixels()
        .zip(e.pixels())
        .filter(|(p, q)| (p[0] < 128) != (q[0] < 128))
        .count();
    let share = differing as f64 / (a.width() as f64 * a.height() as f64);
    (share > PNG_TOLERANCE).then(|| {
        format!(
            "{name}: {differing} dots ({:.3} %) differ from the golden image",
            share * 100.0
        )
    })
}

/// TSPL as reviewable text: each `BITMAP`'s binary payload is replaced by its size, its
/// count of black dots and a checksum.
pub fn tspl_text(job: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = job;
    while !rest.is_empty() {
        if rest.starts_with(b"BITMAP ") {
            let comma5 = rest
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b',')
                .nth(4)
                .map(|(i, _)| i)
                .expect("BITMAP has five parameters");
            let head = std::str::from_utf8(&rest[..comma5 + 1]).expect("ASCII head");
            let params: Vec<usize> = head["BITMAP ".len()..]
                .trim_end_matches(',')
                .split(',')
                .map(|p| p.parse().expect("number"))
                .collect();
            let len = params[2] * params[3];
            let data = &rest[comma5 + 1..comma5 + 1 + len];
            let black: u32 = data.iter().map(|b| (!b).count_ones()).sum();
            let sum = data
                .iter()
                .fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
            out.push_str(&format!(
                "{head}<{len} bytes, {black} black dots, sum {sum:08x}>\n"
            ));
            rest = &rest[comma5 + 1 + len..];
            rest = rest.strip_prefix(b"\r\n").expect("BITMAP ends its line");
            continue;
        }
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("TSPL lines end in CR LF");
        out.push_str(std::str::from_utf8(&rest[..end]).expect("TSPL commands are text"));
        out.push('\n');
        rest = &rest[end + 2..];
    }
    out
}

fn pdf_text(pdf: &[u8]) -> String {
    let mut warnings = Vec::new();
    let doc =
        printpdf::PdfDocument::parse(pdf, &printpdf::PdfParseOptions::default(), &mut warnings)
            .expect("the PDF parses back");
    doc.extract_text()
        .iter()
        .enumerate()
        .map(|(i, page)| format!("--- page {}\n{}\n", i + 1, page.join("\n")))
        .collect()
}

fn decode_png(png: &[u8]) -> image::GrayImage {
    image::load_from_memory(png).expect("a PNG").to_luma8()
}

#[test]
fn every_template_matches_its_golden_files_in_every_output() {
    let mut problems = Vec::new();
    for (name, t, data) in cases() {
        let zpl = render(&t, &data, Format::Zpl).expect("zpl");
        problems.extend(check_text(
            &format!("{name}.zpl"),
            std::str::from_utf8(&zpl).expect("ZPL is text"),
        ));
        if name.starts_with("shipping") {
            let zpl =
                render_with(&t, &data, Format::Zpl, &RenderOptions { dpi: 300 }).expect("zpl 300");
            problems.extend(check_text(
                &format!("{name}.300dpi.zpl"),
                std::str::from_utf8(&zpl).expect("ZPL is text"),
            ));
        }
        let tspl = render(&t, &data, Format::Tspl).expect("tspl");
        problems.extend(check_text(&format!("{name}.tspl.txt"), &tspl_text(&tspl)));
        let pdf = render(&t, &data, Format::Pdf).expect("pdf");
        problems.extend(check_text(&format!("{name}.pdf.txt"), &pdf_text(&pdf)));
        let png = render(&t, &data, Format::Png).expect("png");
        problems.extend(check_png(&format!("{name}.png"), &png));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_courier_has_a_shipping_label() {
    // DESIGN.md's courier codes.
    for code in [
        "cj", "hanjin", "lotte", "epost", "logen", "sf", "sto", "zto", "yto", "yunda", "ems",
    ] {
        let t = template(shipping_template_for(code));
        let mut data = if ["sf", "sto", "zto", "yto", "yunda", "ems"].contains(&code) {
            sample("shipping-cn.json")
        } else {
            sample("shipping-kr.json")
        };
        data["courier"]["code"] = json!(code);
        for format in Format::ALL {
            render(&t, &data, format).unwrap_or_else(|e| panic!("{code} {format:?}: {e}"));
        }
    }
}

// ----- round trip ---------------------------------------------------------------------------

/// Reads a row of pixels the way a scanner does: run widths of dark and light, divided by
/// the narrowest run (one module), from the first dark dot to the last.
fn scan_modules(image: &image::GrayImage, x0: u32, x1: u32, y: u32) -> Vec<bool> {
    let row: Vec<bool> = (x0..x1).map(|x| image.get_pixel(x, y)[0] < 128).collect();
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

/// Run widths in modules, starting with a bar.
fn widths(modules: &[bool]) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    let mut prev = None;
    for &m in modules {
        if Some(m) == prev {
            *out.last_mut().expect("a run") += 1;
        } else {
            out.push(1);
            prev = Some(m);
        }
    }
    out
}

/// EAN-13 from its bars: digit widths (space, bar, space, bar) from the standard's table.
fn decode_ean13(modules: &[bool]) -> Result<String, String> {
    const L: [&str; 10] = [
        "3211", "2221", "2122", "1411", "1132", "1231", "1114", "1312", "1213", "3112",
    ];
    const G: [&str; 10] = [
        "1123", "1222", "2212", "1141", "2311", "1321", "4111", "2131", "3121", "2113",
    ];
    const FIRST: [&str; 10] = [
        "LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL",
        "LGGLGL",
    ];
    if modules.len() != 95 {
        return Err(format!("{} modules, EAN-13 has 95", modules.len()));
    }
    let digit = |m: &[bool]| -> Result<(usize, char), String> {
        // Widths of the four elements, starting from the first module's colour.
        let w: String = widths(m).iter().map(|n| n.to_string()).collect();
        // Right-hand digits start with a bar; the widths of R equal those of L.
        if let Some(d) = L.iter().position(|p| *p == w) {
            return Ok((d, 'L'));
        }
        G.iter()
            .position(|p| *p == w)
            .map(|d| (d, 'G'))
            .ok_or(format!("no digit has widths {w}"))
    };
    let mut parity = String::new();
    let mut digits = String::new();
    for i in 0..6 {
        let (d, p) = digit(&modules[3 + i * 7..10 + i * 7])?;
        parity.push(p);
        digits.push(char::from(b'0' + d as u8));
    }
    for i in 0..6 {
        let (d, p) = digit(&modules[50 + i * 7..57 + i * 7])?;
        if p != 'L' {
            return Err("a right-hand digit in the G set".to_string());
        }
        digits.push(char::from(b'0' + d as u8));
    }
    let first = FIRST
        .iter()
        .position(|p| *p == parity)
        .ok_or("bad parity pattern")?;
    let all = format!("{first}{digits}");
    let sum: u32 = all[..12]
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 1 { 3 } else { 1 })
        .sum();
    if (10 - sum % 10) % 10 != u32::from(all.as_bytes()[12] - b'0') {
        return Err("bad check digit".to_string());
    }
    Ok(all)
}

/// Code 39 from its bars: each character is five bars and four spaces, three of them wide.
fn decode_code39(modules: &[bool]) -> Result<String, String> {
    // Characters in the order of their value, and the wide elements of each, counted
    // 1..9 from the first bar.
    const CHARS: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%*";
    const WIDE: [[u8; 3]; 44] = [
        [4, 5, 7],
        [1, 4, 9],
        [3, 4, 9],
        [1, 3, 4],
        [4, 5, 9],
        [1, 4, 5],
        [3, 4, 5],
        [4, 7, 9],
        [1, 4, 7],
        [3, 4, 7],
        [1, 6, 9],
        [3, 6, 9],
        [1, 3, 6],
        [5, 6, 9],
        [1, 5, 6],
        [3, 5, 6],
        [6, 7, 9],
        [1, 6, 7],
        [3, 6, 7],
        [5, 6, 7],
        [1, 8, 9],
        [3, 8, 9],
        [1, 3, 8],
        [5, 8, 9],
        [1, 5, 8],
        [3, 5, 8],
        [7, 8, 9],
        [1, 7, 8],
        [3, 7, 8],
        [5, 7, 8],
        [1, 2, 9],
        [2, 3, 9],
        [1, 2, 3],
        [2, 5, 9],
        [1, 2, 5],
        [2, 3, 5],
        [2, 7, 9],
        [1, 2, 7],
        [2, 3, 7],
        [2, 4, 6],
        [2, 4, 8],
        [2, 6, 8],
        [4, 6, 8],
        [2, 5, 7],
    ];
    let w = widths(modules);
    if !(w.len() + 1).is_multiple_of(10) {
        return Err(format!("{} elements is not whole characters", w.len()));
    }
    let mut out = String::new();
    for (i, ch) in w.chunks(10).enumerate() {
        let wide: Vec<u8> = ch[..9]
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 1)
            .map(|(j, _)| j as u8 + 1)
            .collect();
        let c = WIDE
            .iter()
            .position(|p| p[..] == wide[..])
            .and_then(|v| CHARS.chars().nth(v))
            .ok_or(format!("character {} has wide elements {wide:?}", i + 1))?;
        out.push(c);
    }
    out.strip_prefix('*')
        .and_then(|s| s.strip_suffix('*'))
        .map(str::to_string)
        .ok_or("no start/stop".to_string())
}

/// Interleaved 2 of 5: start `nnnn`, pairs of digits in bars and spaces, stop `wnn`.
fn decode_itf(modules: &[bool]) -> Result<String, String> {
    // Wide elements of each digit among its five, counted 1..5.
    const WIDE: [[u8; 2]; 10] = [
        [3, 4],
        [1, 5],
        [2, 5],
        [1, 2],
        [3, 5],
        [1, 3],
        [2, 3],
        [4, 5],
        [1, 4],
        [2, 4],
    ];
    let w = widths(modules);
    if w.len() < 7 || !(w.len() - 7).is_multiple_of(10) || w[..4] != [1, 1, 1, 1] {
        return Err("no ITF start".to_string());
    }
    if w[w.len() - 3..] != [3, 1, 1] {
        return Err("no ITF stop".to_string());
    }
    let digit = |five: Vec<usize>| -> Result<char, String> {
        let wide: Vec<u8> = five
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 1)
            .map(|(j, _)| j as u8 + 1)
            .collect();
        WIDE.iter()
            .position(|p| p[..] == wide[..])
            .map(|d| char::from(b'0' + d as u8))
            .ok_or(format!("no digit has wide elements {wide:?}"))
    };
    let mut out = String::new();
    for pair in w[4..w.len() - 3].chunks(10) {
        out.push(digit(pair.iter().step_by(2).copied().collect())?);
        out.push(digit(pair.iter().skip(1).step_by(2).copied().collect())?);
    }
    Ok(out)
}

fn decode_linear(symbology: Symbology, modules: &[bool]) -> Result<String, String> {
    match symbology {
        Symbology::Code128 => barcode::tests::decode_code128(modules),
        Symbology::Ean13 => decode_ean13(modules),
        Symbology::Code39 => decode_code39(modules),
        Symbology::Itf14 => decode_itf(modules),
    }
}

/// The value a symbol's element was given, filled from the data, as the symbol encodes it
/// (EAN-13 and ITF-14 with their check digit).
fn expected_value(t: &Template, data: &Value, number: usize) -> String {
    let e = &t.elements[number - 1];
    let value = match &e.kind {
        template::ElementKind::Barcode(b) => b.value.fill(data),
        template::ElementKind::Qr(q) => q.value.fill(data),
        template::ElementKind::DataMatrix(m) => m.value.fill(data),
        other => panic!("element {number} is a {}", other.key()),
    }
    .expect("fills");
    match &e.kind {
        template::ElementKind::Barcode(b) if b.symbology == Symbology::Ean13 => {
            format!("{}{}", &value[..12], barcode::gs1_check_digit(&value[..12]))
        }
        template::ElementKind::Barcode(b) if b.symbology == Symbology::Itf14 => {
            format!("{}{}", &value[..13], barcode::gs1_check_digit(&value[..13]))
        }
        _ => value,
    }
}

#[test]
fn every_symbol_in_every_template_reads_back_its_exact_value() {
    let mut symbols = [0usize; 3];
    for (name, t, data) in cases() {
        for dpi in [203, 300] {
            let layouts = pages(&t, &data, dpi);
            for (page, l) in layouts.iter().enumerate() {
                let image = super::png::to_image(l).expect("paints");
                let zpl = String::from_utf8(zpl::render(std::slice::from_ref(l)).expect("zpl"))
                    .expect("text");
                let tspl = tspl_text(&tspl::render(std::slice::from_ref(l)).expect("tspl"));
                let at = |what: &str| format!("{name} at {dpi} dpi, page {}: {what}", page + 1);
                for item in &l.items {
                    match item {
                        Item::Barcode(bars) => {
                            symbols[0] += 1;
                            let expected = expected_value(&t, &data, bars.element.number);
                            let a = bars.area;
                            let scanned =
                                scan_modules(&image, a.x, a.x + a.w, bars.y + bars.bar_height / 2);
                            assert_eq!(scanned, bars.modules, "{}", at("pixels are the layout"));
                            assert_eq!(
                                decode_linear(bars.symbology, &scanned).as_deref(),
                                Ok(expected.as_str()),
                                "{}",
                                at(&format!("{} reads back", bars.symbology))
                            );
                            // The printers are asked for the same symbol, at the same place.
                            let fo = format!("^FO{},{}^BY{}", bars.x, bars.y, bars.module);
                            assert!(zpl.contains(&fo), "{}", at(&format!("ZPL has {fo}")));
                            let bc = format!("BARCODE {},{},", bars.x, bars.y);
                            let line = tspl
                                .lines()
                                .find(|l| l.starts_with(&bc))
                                .unwrap_or_else(|| panic!("{}", at("TSPL barcode")));
                            let tspl_data = line.rsplit(",\"").next().unwrap_or_default();
                            let tspl_data = tspl_data
                                .trim_end_matches('"')
                                .trim_start_matches("!105")
                                .trim_start_matches("!104");
                            assert!(expected.starts_with(tspl_data), "{}", at(line));
                        }
                        Item::Qr(qr) => {
                            symbols[1] += 1;
                            let expected = expected_value(&t, &data, qr.element.number);
                            let side = qr.size as u32 * qr.module;
                            let pad = 4 * qr.module;
                            let crop = image::imageops::crop_imm(
                                &image,
                                qr.x.saturating_sub(pad),
                                qr.y.saturating_sub(pad),
                                side + 2 * pad,
                                side + 2 * pad,
                            )
                            .to_image();
                            let mut prepared = rqrr::PreparedImage::prepare(crop);
                            let grids = prepared.detect_grids();
                            assert_eq!(grids.len(), 1, "{}", at("one QR code"));
                            let (_, content) = grids[0].decode().expect("QR decodes");
                            assert_eq!(content, expected, "{}", at("QR reads back"));
                            assert!(
                                zpl.contains(&format!("A,{expected}^FS")),
                                "{}",
                                at("ZPL QR")
                            );
                            assert!(
                                tspl.contains(&format!(
                                    "QRCODE {},{},{},{},A,0,\"{expected}\"",
                                    qr.x,
                                    qr.y,
                                    qr.ecc.letter(),
                                    qr.module
                                )),
                                "{}",
                                at("TSPL QR")
                            );
                        }
                        Item::Matrix(m) => {
                            symbols[2] += 1;
                            let expected = expected_value(&t, &data, m.element.number);
                            let half = m.module / 2;
                            let bits: Vec<bool> = (0..m.rows as u32)
                                .flat_map(|r| (0..m.columns as u32).map(move |c| (c, r)))
                                .map(|(c, r)| {
                                    image.get_pixel(
                                        m.x + c * m.module + half,
                                        m.y + r * m.module + half,
                                    )[0] < 128
                                })
                                .collect();
                            let decoded = datamatrix::DataMatrix::decode(&bits, m.columns)
                                .expect("Data Matrix decodes");
                            assert_eq!(
                                String::from_utf8(decoded).expect("UTF-8"),
                                expected,
                                "{}",
                                at("Data Matrix reads back")
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(
        symbols.iter().all(|&n| n > 0),
        "every kind was checked: {symbols:?}"
    );
}

// ----- fit ----------------------------------------------------------------------------------

const ADDRESS_60: &str = "경기도 성남시 분당구 판교역로 235, 에이치스퀘어 엔동 7층 701호 (삼평동, 판교테크노밸리) 물류팀 앞";
const ADDRESS_CN: &str =
    "广东省深圳市南山区科技园南区深南大道9988号华润大厦12楼1208室，前台代收，工作日九点到六点";

/// Data that pushes every template's text to its limits: long Korean and Chinese names, a
/// 60-character address, a 20-line order.
fn extreme(name: &str, mut data: Value) -> Vec<Value> {
    let names = [
        "남궁민수아버지와어머니의긴이름",
        "欧阳娜娜欧阳娜娜欧阳娜娜",
        "Alexandra Konstantinopoulou-Smith",
    ];
    let lines_20: Vec<Value> = (0..20)
        .map(|i| {
            json!({"sku": format!("LONG-SKU-CODE-{i:03}-XL"), "name": "남궁 프리미엄 울 블렌드 오버사이즈 롱 코트 겨울 한정판",
                   "option": "차콜 그레이 / XXL / 여유핏", "qty": 1 + i % 5,
                   "location": format!("C-{:02}-{:02}-{}", 1 + i % 4, (i * 7) % 30, 1 + i % 5)})
        })
        .collect();
    let mut out = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let addr = if i == 1 { ADDRESS_CN } else { ADDRESS_60 };
        match name {
            "shipping-kr" | "shipping-cn" | "packing-slip" => {
                data["recipient"]["name"] = json!(n);
                data["recipient"]["address"] = json!(addr);
                data["sender"]["address"] = json!(addr);
                data["note"] = json!(format!("{n} {addr}"));
                data["items_summary"] = json!(lines_20
                    .iter()
                    .map(|l| format!(
                        "{} {} x{}",
                        l["name"].as_str().unwrap_or(""),
                        l["option"].as_str().unwrap_or(""),
                        l["qty"]
                    ))
                    .collect::<Vec<_>>()
                    .join("; "));
                data["route"] = json!("1Y 강남B 中转 755W-010-22");
                data["lines"] = json!(lines_20);
            }
            "sku" | "sku-no-ean" | "carton" => {
                data["name"] = json!(format!("{n} {addr}"));
                data["option"] = json!(addr);
            }
            "bin-location" => data["note"] = json!(addr),
            "operator-badge" => {
                data["name"] = json!(n);
                data["name_alt"] = json!(addr);
                data["role"] = json!(addr);
                data["site"] = json!(addr);
            }
            "pick-list" | "count-sheet" => data["lines"] = json!(lines_20),
            "handover-manifest" => {
                data["parcels"] = json!((0..20)
                    .map(|i| json!({"waybill": format!("60001234{i:04}"), "orders": "SS-1001, SS-1002, SS-1003, SS-1004, SS-1005",
                                    "recipient": n, "postcode": "06234", "weight_g": 1000 + i}))
                    .collect::<Vec<_>>());
                data["courier"]["name"] = json!(addr);
            }
            other => panic!("no extreme data for {other}"),
        }
        out.push(data.clone());
    }
    out
}

/// Every text line and its glyph ink lie inside the block's box, and so do the dots the PNG
/// gets for that block alone.
fn assert_text_inside(at: &str, block: &TextBlock, width: u32, height: u32) {
    let face = font::face().expect("font");
    let a = block.area;
    let (ax0, ay0, ax1, ay1) = (
        a.x as f32,
        a.y as f32,
        (a.x + a.w) as f32,
        (a.y + a.h) as f32,
    );
    for line in &block.lines {
        let (x0, y0, x1, y1) = block.line_box(line);
        assert!(
            x0 >= ax0 - 0.01 && y0 >= ay0 - 0.01 && x1 <= ax1 + 0.01 && y1 <= ay1 + 0.01,
            "{at}: {}: line {:?} outside its box",
            block.element,
            line.text
        );
        if let Some((ix0, iy0, ix1, iy1)) = font::ink_bounds(
            face,
            line.x,
            line.baseline,
            &line.text,
            block.em_px,
            block.bold,
        ) {
            assert!(
                ix0 >= ax0 - 1.0 && iy0 >= ay0 - 1.0 && ix1 <= ax1 + 1.0 && iy1 <= ay1 + 1.0,
                "{at}: {}: ink of {:?} outside its box",
                block.element,
                line.text
            );
        }
    }
    // The dots every raster output gets for this block (PNG, ZPL, TSPL share them).
    if let Some(p) = raster::pack_lines(block, &block.lines).expect("rasterises") {
        assert!(
            p.x >= a.x && p.y >= a.y && p.x + p.width <= a.x + a.w && p.y + p.height <= a.y + a.h,
            "{at}: {}: dots {:?} outside {:?}",
            block.element,
            (p.x, p.y, p.width, p.height),
            a
        );
        assert!(p.x + p.width <= width && p.y + p.height <= height);
    }
}

/// Parses the `TEXT` and `BITMAP` commands of a TSPL job: `(x, y, w, h)` of each.
fn tspl_boxes(tspl: &str) -> Vec<(u32, u32, u32, u32)> {
    let cells = [(8, 12), (12, 20), (16, 24), (24, 32), (32, 48)];
    tspl.lines()
        .filter_map(|line| {
            if let Some(rest) = line.strip_prefix("TEXT ") {
                let p: Vec<&str> = rest.splitn(7, ',').collect();
                let (x, y): (u32, u32) = (p[0].parse().ok()?, p[1].parse().ok()?);
                let font: usize = p[2].trim_matches('"').parse().ok()?;
                let mul: u32 = p[4].parse().ok()?;
                let text = p[6].trim_matches('"').replace("\\[\"]", "\"");
                let (w, h) = cells[font - 1];
                Some((x, y, w * mul * text.chars().count() as u32, h * mul))
            } else if let Some(rest) = line.strip_prefix("BITMAP ") {
                let p: Vec<u32> = rest
                    .split(',')
                    .take(4)
                    .map(|v| v.parse().ok())
                    .collect::<Option<_>>()?;
                Some((p[0], p[1], p[2] * 8, p[3]))
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn long_names_addresses_and_orders_stay_inside_their_boxes_in_every_output() {
    assert_eq!(ADDRESS_60.chars().count(), 60);
    for (name, t, data) in cases() {
        for (v, data) in extreme(name, data).into_iter().enumerate() {
            for dpi in [203, 300] {
                let layouts = pages(&t, &data, dpi);
                let at = format!("{name} variant {v} at {dpi} dpi");
                let mut areas: Vec<DotRect> = Vec::new();
                for l in &layouts {
                    for block in l.texts() {
                        assert_text_inside(&at, block, l.width, l.height);
                        areas.push(block.area);
                    }
                    // TSPL text cells and bitmaps, and ZPL graphics, lie inside a text box
                    // (or are a symbol's bitmap).
                    let tspl = tspl_text(&tspl::render(std::slice::from_ref(l)).expect("tspl"));
                    let symbol_boxes: Vec<DotRect> = l
                        .items
                        .iter()
                        .filter_map(|i| match i {
                            Item::Matrix(m) => Some(DotRect {
                                x: m.x,
                                y: m.y,
                                w: (m.columns as u32 * m.module).next_multiple_of(8),
                                h: m.rows as u32 * m.module,
                            }),
                            _ => None,
                        })
                        .collect();
                    let texts: Vec<DotRect> = l.texts().map(|b| b.area).collect();
                    for (x, y, w, h) in tspl_boxes(&tspl) {
                        let inside = texts.iter().chain(&symbol_boxes).any(|a| {
                            x >= a.x && y >= a.y && x + w <= a.x + a.w + 7 && y + h <= a.y + a.h
                        });
                        assert!(
                            inside,
                            "{at}: TSPL draws {:?} outside every box",
                            (x, y, w, h)
                        );
                    }
                    let zpl = String::from_utf8(zpl::render(std::slice::from_ref(l)).expect("zpl"))
                        .expect("text");
                    let replayed = replay::zpl(zpl.as_bytes(), dpi).expect("replays");
                    for item in &replayed[0].items {
                        if let Item::Graphic { x, y, bitmap } = item {
                            let (bx, by) = (*x, *y);
                            let inside = texts.iter().chain(&symbol_boxes).any(|a| {
                                bx >= a.x
                                    && by >= a.y
                                    && bx + bitmap.width() <= a.x + a.w + 7
                                    && by + bitmap.height() <= a.y + a.h
                            });
                            assert!(
                                inside,
                                "{at}: a ZPL graphic at {bx},{by} lies outside every box"
                            );
                        }
                    }
                }
                // The PDF draws the same lines (its text layer holds each line's text).
                let pdf = render_with(&t, &data, Format::Pdf, &RenderOptions { dpi }).expect("pdf");
                let text = pdf_text(&pdf);
                for l in &layouts {
                    for block in l.texts() {
                        for line in &block.lines {
                            assert!(
                                text.contains(line.text.trim()),
                                "{at}: PDF lacks {:?}",
                                line.text
                            );
                        }
                    }
                }
                assert!(!areas.is_empty());
            }
        }
    }
}

#[test]
fn a_twenty_line_order_prints_every_line() {
    let t = template("packing-slip-a4.toml");
    let mut data = sample("packing-slip.json");
    let lines: Vec<Value> = (1..=20)
        .map(|i| json!({"sku": format!("SKU-{i:02}"), "name": format!("상품 {i}번 张伟的长名称商品"), "option": "블랙 / L", "qty": i}))
        .collect();
    data["lines"] = json!(lines);
    let layouts = pages(&t, &data, 203);
    let printed: Vec<String> = layouts
        .iter()
        .flat_map(|l| l.texts())
        .flat_map(|b| b.lines.iter().map(|l| l.text.clone()))
        .collect();
    for i in 1..=20 {
        assert!(printed.contains(&format!("SKU-{i:02}")), "line {i} printed");
    }
    assert!(
        printed
            .iter()
            .any(|l| l.contains("합계  210개  (20개 품목)")),
        "{printed:?}"
    );
    // A pick list of 60 lines continues onto three pages, numbered, in walk order.
    let t = template("pick-list-a4.toml");
    let mut data = sample("pick-list.json");
    let lines: Vec<Value> = (0..60)
        .map(|i| {
            json!({"sku": format!("S{i}"), "name": "상품", "option": "", "qty": 1,
                         "location": format!("A-{:02}-{:02}-1", 1 + i % 3, 1 + i % 20)})
        })
        .collect();
    data["lines"] = json!(lines);
    let layouts = pages(&t, &data, 203);
    assert_eq!(layouts.len(), 3);
    let footer: Vec<&str> = layouts
        .iter()
        .map(|l| l.text("meta").expect("meta").lines[0].text.as_str())
        .collect();
    assert!(footer[2].ends_with("3 / 3 쪽"), "{footer:?}");
    // Serpentine: aisle 01 bays ascending, aisle 02 descending.
    let locations: Vec<String> = layouts
        .iter()
        .flat_map(|l| l.texts())
        .filter(|b| {
            b.element
                .name
                .as_deref()
                .is_some_and(|n| n.ends_with("column 2"))
        })
        .map(|b| b.lines[0].text.clone())
        .collect();
    assert_eq!(locations.len(), 60);
    assert_eq!(&locations[..2], ["A-01-01-1", "A-01-02-1"]);
    let aisle2: Vec<&String> = locations.iter().filter(|l| l.starts_with("A-02")).collect();
    assert_eq!(aisle2.first().map(|s| s.as_str()), Some("A-02-20-1"));
    assert_eq!(aisle2.last().map(|s| s.as_str()), Some("A-02-01-1"));
}

#[test]
fn the_manifest_prints_both_copies_with_counts_and_signatures() {
    let t = template("handover-manifest-a4.toml");
    let data = sample("handover-manifest.json");
    let layouts = pages(&t, &data, 203);
    assert_eq!(layouts.len(), 2, "one page per copy");
    let copies: Vec<&str> = layouts
        .iter()
        .map(|l| l.text("copy").expect("copy").lines[0].text.as_str())
        .collect();
    assert!(copies[0].starts_with("택배사 보관용") && copies[1].starts_with("발송처 보관용"));
    let weight: u64 = data["parcels"]
        .as_array()
        .expect("parcels")
        .iter()
        .map(|p| p["weight_g"].as_u64().expect("grams"))
        .sum();
    for l in &layouts {
        let counts = &l.text("counts").expect("counts").lines[0].text;
        assert!(
            counts.starts_with(&format!("합계  12개 / {weight} g")),
            "{counts}"
        );
    }
}

#[test]
fn conditional_parts_follow_the_data() {
    let t = template("sku-50x30.toml");
    let with = layout(&t, &sample("sku.json"), 203).expect("layout");
    let without = layout(&t, &sample("sku-no-ean.json"), 203).expect("layout");
    let kinds = |l: &Layout| -> Vec<Symbology> {
        l.items
            .iter()
            .filter_map(|i| match i {
                Item::Barcode(b) => Some(b.symbology),
                _ => None,
            })
            .collect()
    };
    assert_eq!(kinds(&with), [Symbology::Ean13]);
    assert_eq!(kinds(&without), [Symbology::Code128]);
    let slip = template("packing-slip-a4.toml");
    let mut data = sample("packing-slip.json");
    assert!(layout(&slip, &data, 203)
        .expect("layout")
        .text("note")
        .is_some());
    data["note"] = json!("");
    assert!(layout(&slip, &data, 203)
        .expect("layout")
        .text("note")
        .is_none());
}

#[test]
fn a_stored_zpl_job_replays_as_its_preview() {
    for (name, t, data) in cases() {
        for l in pages(&t, &data, 203) {
            let zpl = zpl::render(std::slice::from_ref(&l)).expect("zpl");
            let replayed = replay::zpl(&zpl, 203).expect("replays");
            assert_eq!(replayed.len(), 1);
            let (a, b) = (
                raster::paint(&l).expect("paints"),
                raster::paint(&replayed[0]).expect("paints"),
            );
            if a != b {
                let diff: Vec<(u32, u32)> = (0..a.height())
                    .flat_map(|y| (0..a.width()).map(move |x| (x, y)))
                    .filter(|&(x, y)| a.get(x, y) != b.get(x, y))
                    .take(5)
                    .collect();
                panic!("{name}: the replayed ZPL differs from the preview at {diff:?}");
            }
            // And it converts to TSPL.
            let tspl = tspl::render(&replayed).expect("tspl");
            assert!(tspl.ends_with(b"PRINT 1,1\r\n"));
        }
    }
}

#[test]
fn many_labels_go_on_a4_sheets() {
    let t = template("sku-50x30.toml");
    let data: Vec<Value> = (0..30).map(|_| sample("sku.json")).collect();
    let pdf = render_sheets(&t, &data, Sheet::A4, &RenderOptions::default()).expect("pdf");
    let mut warnings = Vec::new();
    let doc =
        printpdf::PdfDocument::parse(&pdf, &printpdf::PdfParseOptions::default(), &mut warnings)
            .expect("parses");
    // 50 x 30 mm labels: 3 across and 9 down on A4 with 5 mm margins and 2 mm gaps.
    assert_eq!(Sheet::A4.grid(50.0, 30.0), (3, 9));
    assert_eq!(doc.page_count(), 2);
}
