//! The scanner programming sheet: an A4 PDF of a profile's programming barcodes, for
//! `packbench device sheet`.
//!
//! A technician prints it on an office printer and scans the codes top to bottom to set a
//! scanner up for the bench (factory reset, USB serial mode, CR suffix, AIM identifiers, the
//! symbologies in use). Each entry shows the setting's name in the chosen language, the
//! barcode, its value in plain text, and a red "unconfirmed" mark when the value was not
//! checked against the maker's manual. Barcodes are vector rectangles built from the same
//! Code 128 and QR module patterns as the labels, text uses the shipped CJK font, and the
//! layout (`entries`) is separate from the drawing so tests can decode every symbol.

use printpdf::{
    Color, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect,
    Rgb, TextItem, TextRenderingMode, WindingOrder,
};

use crate::devices::scanner::profile::{ProgrammingBarcode, ScannerProfile, SheetSymbology};
use crate::i18n::Lang;
use crate::labels::barcode;
use crate::labels::font;
use crate::labels::template::QrEcc;

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 15.0;
/// Where the first entry starts, below the header.
const BODY_TOP: f32 = 44.0;
/// The height of one entry.
const ENTRY_H: f32 = 44.0;
/// Code 128 module width: 0.33 mm (13 mil) reads well from an office laser printer.
const MODULE_MM: f32 = 0.33;
const MIN_MODULE_MM: f32 = 0.19;
const BAR_H: f32 = 14.0;
const QR_MODULE_MM: f32 = 0.6;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// A sheet that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("barcode {number} ({label}): cannot encode `{value}`: {problem}")]
    Barcode {
        number: usize,
        label: String,
        value: String,
        problem: String,
    },
    #[error("font: {0}")]
    Font(String),
}

/// The drawn symbol of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symbol {
    /// Code 128 modules (start to stop, no quiet zone).
    Code128(Vec<bool>),
    /// QR modules, `size` per side, row by row.
    Qr { size: usize, dark: Vec<bool> },
    /// The value is not known: the sheet says where to find the code instead.
    Unknown,
}

/// One programming barcode as it appears on the sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetEntry {
    pub number: usize,
    pub label: String,
    pub value: String,
    pub fnc3: bool,
    pub confirmed: bool,
    pub note: String,
    pub symbol: Symbol,
}

/// Fixed words of the sheet, per language.
struct Words {
    title: &'static str,
    instruction: &'static str,
    unconfirmed: &'static str,
    unknown: &'static str,
}

fn words(lang: Lang) -> Words {
    match lang {
        Lang::Ko => Words {
            title: "스캐너 설정 바코드",
            instruction: "위에서부터 차례로 스캔한 뒤 packbench scanner watch 로 확인하세요. '미확인' 표시는 제조사 설명서로 확인되지 않은 값입니다.",
            unconfirmed: "미확인: 제조사 설명서와 대조하세요",
            unknown: "바코드 값 미상: 제조사 설명서의 바코드를 스캔하세요",
        },
        Lang::Zh => Words {
            title: "扫描枪设置条码",
            instruction: "请从上到下依次扫描，然后用 packbench scanner watch 检查。标有“未确认”的条码未经厂家手册核对。",
            unconfirmed: "未确认：请与厂家手册核对",
            unknown: "条码内容未知：请扫描厂家手册中的条码",
        },
        Lang::En => Words {
            title: "scanner programming sheet",
            instruction: "Scan the codes from top to bottom, then check with packbench scanner watch. Codes marked UNCONFIRMED were not checked against the maker's manual.",
            unconfirmed: "UNCONFIRMED: check against the maker's manual",
            unknown: "Barcode value not known: scan the code in the maker's manual",
        },
    }
}

/// The Code 128 modules of a programming code, with FNC3 first when asked for.
pub fn programming_code128(value: &str, fnc3: bool) -> Result<Vec<bool>, String> {
    if !fnc3 {
        return barcode::code128_modules(value).map(|(_, modules)| modules);
    }
    if let Some(c) = value.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!("printable ASCII only, not {c:?}"));
    }
    // Set B start, FNC3 (barcoders writes it as U+017B), then the data.
    let marked = format!("\u{0181}\u{017B}{value}");
    let symbol = barcoders::sym::code128::Code128::new(marked).map_err(|e| e.to_string())?;
    Ok(symbol.encode().into_iter().map(|m| m == 1).collect())
}

fn entry(number: usize, b: &ProgrammingBarcode, lang: Lang) -> Result<SheetEntry, SheetError> {
    let label = b.label.get(lang.code()).to_string();
    let fail = |problem: String| SheetError::Barcode {
        number,
        label: label.clone(),
        value: b.value.clone(),
        problem,
    };
    let symbol = if b.value.is_empty() {
        Symbol::Unknown
    } else {
        match b.symbology {
            SheetSymbology::Code128 => {
                Symbol::Code128(programming_code128(&b.value, b.fnc3).map_err(fail)?)
            }
            SheetSymbology::Qr => {
                let (size, dark) = barcode::qr_modules(&b.value, QrEcc::M).map_err(fail)?;
                Symbol::Qr { size, dark }
            }
        }
    };
    Ok(SheetEntry {
        number,
        label,
        value: b.value.clone(),
        fnc3: b.fnc3,
        confirmed: b.confirmed,
        note: b.note.clone(),
        symbol,
    })
}

/// The entries of a profile's sheet, in scanning order, with labels in `lang`.
pub fn entries(profile: &ScannerProfile, lang: Lang) -> Result<Vec<SheetEntry>, SheetError> {
    profile
        .barcodes
        .iter()
        .enumerate()
        .map(|(i, b)| entry(i + 1, b, lang))
        .collect()
}

/// How many entries fit on one page.
fn per_page() -> usize {
    ((PAGE_H - MARGIN - BODY_TOP) / ENTRY_H).floor() as usize
}

/// Renders the sheet for the profile called `key` as an A4 PDF.
pub fn render(profile: &ScannerProfile, key: &str, lang: Lang) -> Result<Vec<u8>, SheetError> {
    let list = entries(profile, lang)?;
    let w = words(lang);
    let parsed = font::pdf_font().map_err(|e| SheetError::Font(e.to_string()))?;
    let face = font::face().map_err(|e| SheetError::Font(e.to_string()))?;
    let metrics = font::Metrics::new(face);
    let title = format!("{} — {}", profile.name, w.title);
    let mut doc = PdfDocument::new(&title);
    let font_handle = PdfFontHandle::External(doc.add_font(parsed));
    let chunks: Vec<&[SheetEntry]> = if list.is_empty() {
        vec![&[]]
    } else {
        list.chunks(per_page()).collect()
    };
    let total = chunks.len();
    let mut pages = Vec::new();
    for (page_no, chunk) in chunks.into_iter().enumerate() {
        let mut p = Painter {
            ops: Vec::new(),
            font: font_handle.clone(),
            metrics: &metrics,
        };
        p.colour(0.0, 0.0, 0.0);
        p.text(MARGIN, 22.0, 16.0, &title);
        let mut y = 29.0;
        for line in p
            .wrap(w.instruction, 9.5, PAGE_W - 2.0 * MARGIN)
            .into_iter()
            .take(3)
        {
            p.text(MARGIN, y, 9.5, &line);
            y += 4.6;
        }
        p.colour(0.4, 0.4, 0.4);
        let footer = format!(
            "packbench device sheet --profile {key}   {} / {total}   {}",
            page_no + 1,
            profile.source
        );
        let footer = p.wrap(&footer, 7.0, PAGE_W - 2.0 * MARGIN).remove(0);
        p.text(MARGIN, PAGE_H - 8.0, 7.0, &footer);
        p.colour(0.0, 0.0, 0.0);
        for (i, e) in chunk.iter().enumerate() {
            p.entry(e, BODY_TOP + i as f32 * ENTRY_H, &w);
        }
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), p.ops));
    }
    let mut warnings = Vec::new();
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..Default::default()
    };
    Ok(doc.with_pages(pages).save(&options, &mut warnings))
}

/// Draws on one page in millimetres from the top-left corner.
struct Painter<'a> {
    ops: Vec<Op>,
    font: PdfFontHandle,
    metrics: &'a font::Metrics<'a>,
}

impl Painter<'_> {
    fn colour(&mut self, r: f32, g: f32, b: f32) {
        let c = Color::Rgb(Rgb::new(r, g, b, None));
        self.ops.push(Op::SetFillColor { col: c.clone() });
        self.ops.push(Op::SetOutlineColor { col: c });
    }

    /// One line of text with its baseline at `baseline` mm from the top.
    fn text(&mut self, x: f32, baseline: f32, size_pt: f32, text: &str) {
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetTextRenderingMode {
            mode: TextRenderingMode::Fill,
        });
        self.ops.push(Op::SetFont {
            font: self.font.clone(),
            size: Pt(size_pt),
        });
        self.ops.push(Op::SetTextCursor {
            pos: Point {
                x: Pt(x * PT_PER_MM),
                y: Pt((PAGE_H - baseline) * PT_PER_MM),
            },
        });
        self.ops.push(Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        });
        self.ops.push(Op::EndTextSection);
    }

    /// Splits text into lines no wider than `width_mm` at `size_pt`: at spaces, or between
    /// any two characters of a word that is too long (CJK text has no spaces).
    fn wrap(&self, text: &str, size_pt: f32, width_mm: f32) -> Vec<String> {
        let em_mm = size_pt / PT_PER_MM;
        let fits = |s: &str| self.metrics.width(s) * em_mm <= width_mm;
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split(' ') {
            let candidate = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                let mut next = line.clone();
                next.push(c);
                if !fits(&next) && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    next = c.to_string();
                }
                line = next;
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    fn fill(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Pt(x * PT_PER_MM),
                y: Pt((PAGE_H - y - h) * PT_PER_MM),
                width: Pt(w * PT_PER_MM),
                height: Pt(h * PT_PER_MM),
                mode: Some(PaintMode::Fill),
                winding_order: Some(WindingOrder::NonZero),
            },
        });
    }

    fn entry(&mut self, e: &SheetEntry, top: f32, w: &Words) {
        let width = PAGE_W - 2.0 * MARGIN;
        self.text(
            MARGIN,
            top + 5.0,
            12.0,
            &format!("{}. {}", e.number, e.label),
        );
        let bar_top = top + 8.0;
        match &e.symbol {
            Symbol::Code128(modules) => {
                // Ten modules of quiet zone each side stay white.
                let module =
                    (width / (modules.len() as f32 + 20.0)).clamp(MIN_MODULE_MM, MODULE_MM);
                let x0 = MARGIN + 10.0 * module;
                for (start, len) in runs(modules) {
                    self.fill(
                        x0 + start as f32 * module,
                        bar_top,
                        len as f32 * module,
                        BAR_H,
                    );
                }
            }
            Symbol::Qr { size, dark } => {
                let m = (BAR_H / *size as f32).min(QR_MODULE_MM);
                for row in 0..*size {
                    for (start, len) in runs(&dark[row * size..(row + 1) * size]) {
                        self.fill(
                            MARGIN + 2.0 + start as f32 * m,
                            bar_top + row as f32 * m,
                            len as f32 * m,
                            m,
                        );
                    }
                }
            }
            Symbol::Unknown => {
                let (bw, bh, t) = (width, BAR_H, 0.3);
                self.fill(MARGIN, bar_top, bw, t);
                self.fill(MARGIN, bar_top + bh - t, bw, t);
                self.fill(MARGIN, bar_top, t, bh);
                self.fill(MARGIN + bw - t, bar_top, t, bh);
                self.text(MARGIN + 3.0, bar_top + BAR_H / 2.0 + 1.5, 9.5, w.unknown);
            }
        }
        let mut y = bar_top + BAR_H + 4.5;
        if !e.value.is_empty() {
            let shown = if e.fnc3 {
                format!("[FNC3] {}", e.value)
            } else {
                e.value.clone()
            };
            self.text(MARGIN, y, 9.0, &shown);
            y += 4.2;
        }
        if !e.confirmed {
            self.colour(0.75, 0.0, 0.0);
            self.text(MARGIN, y, 8.0, w.unconfirmed);
            self.colour(0.0, 0.0, 0.0);
            y += 3.8;
        }
        if !e.note.is_empty() {
            self.colour(0.35, 0.35, 0.35);
            let limit = top + ENTRY_H - 1.0;
            for line in self.wrap(&e.note, 7.5, width) {
                if y > limit {
                    break;
                }
                self.text(MARGIN, y, 7.5, &line);
                y += 3.3;
            }
            self.colour(0.0, 0.0, 0.0);
        }
    }
}

/// The `(start, length)` of each run of `true` values.
fn runs(modules: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < modules.len() {
        if modules[i] {
            let start = i;
            while i < modules.len() && modules[i] {
                i += 1;
            }
            out.push((start, i - start));
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::scanner::profile;
    use crate::labels::barcode::tests::decode_code128;

    #[test]
    fn every_sheet_code128_decodes_to_its_value() {
        for (key, p) in profile::load_all(None).expect("profiles") {
            for e in entries(&p, Lang::En).expect("entries") {
                match &e.symbol {
                    Symbol::Code128(modules) => {
                        let decoded = decode_code128(modules).expect("decodes");
                        // The test decoder shows FNC3 (value 96 in set B) as U+0080.
                        let expected = if e.fnc3 {
                            format!("\u{80}{}", e.value)
                        } else {
                            e.value.clone()
                        };
                        assert_eq!(decoded, expected, "{key}: {}", e.label);
                    }
                    Symbol::Qr { .. } => {}
                    Symbol::Unknown => assert!(!e.confirmed && e.value.is_empty(), "{key}"),
                }
            }
        }
    }

    #[test]
    fn the_sheet_pdf_carries_the_labels_and_values() {
        let p = profile::load(None, "honeywell").expect("honeywell");
        for (lang, label) in [
            (Lang::Ko, "공장 초기화"),
            (Lang::Zh, "恢复出厂设置"),
            (Lang::En, "Factory defaults"),
        ] {
            let pdf = render(&p, "honeywell", lang).expect("renders");
            assert!(pdf.starts_with(b"%PDF"));
            assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
            let mut warnings = Vec::new();
            let doc = printpdf::PdfDocument::parse(
                &pdf,
                &printpdf::PdfParseOptions::default(),
                &mut warnings,
            )
            .expect("parses back");
            assert_eq!(doc.page_count(), 2, "8 codes, 5 per page");
            let text: String = doc.extract_text().concat().concat();
            for expected in [label, "DEFALT.", "VSUFCR.", "TRMUSB130.", "PREBK2995C81."] {
                assert!(text.contains(expected), "{expected} not in {text:?}");
            }
        }
    }

    #[test]
    fn an_unknown_value_says_so_instead_of_a_barcode() {
        let p = profile::load(None, "zebra-symbol").expect("zebra");
        let list = entries(&p, Lang::Ko).expect("entries");
        assert!(list.iter().all(|e| e.symbol == Symbol::Unknown));
        let pdf = render(&p, "zebra-symbol", Lang::Ko).expect("renders");
        let mut warnings = Vec::new();
        let doc = printpdf::PdfDocument::parse(
            &pdf,
            &printpdf::PdfParseOptions::default(),
            &mut warnings,
        )
        .expect("parses back");
        let text: String = doc.extract_text().concat().concat();
        assert!(text.contains("바코드 값 미상"), "{text:?}");
    }

    #[test]
    fn fnc3_needs_ascii_and_qr_entries_render() {
        assert!(programming_code128("ÄB", true).is_err());
        let mut p = profile::load(None, "generic-cn").expect("generic");
        p.barcodes[0].symbology = SheetSymbology::Qr;
        let list = entries(&p, Lang::Zh).expect("entries");
        let Symbol::Qr { size, dark } = &list[0].symbol else {
            panic!("a QR entry")
        };
        assert_eq!(dark.len(), size * size);
        render(&p, "generic-cn", Lang::Zh).expect("renders");
    }
}
