//! PDF output through printpdf 0.12: one label per page or many to a sheet, real text,
//! vector barcodes.
//!
//! The PDF is for office printers, archives and e-mail, so text is kept as text in the shipped
//! font (searchable, and `pdftotext` reads the Korean and Chinese back) and printpdf subsets
//! the font on save so a label stays a few kilobytes. Barcodes are filled rectangles placed
//! from the same layout the thermal printer gets, so they have the same module pattern.

use printpdf::{
    Color, CurTransMat, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions,
    Point, Pt, Rect, Rgb, TextItem, TextRenderingMode, WindingOrder,
};

use super::font;
use super::layout::{DotRect, Item, Layout, TextBlock};
use super::LabelError;

/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Many labels on one sheet of paper: the page size, its margins and the gap between labels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sheet {
    pub width_mm: f32,
    pub height_mm: f32,
    pub margin_mm: f32,
    pub gap_mm: f32,
}

impl Sheet {
    /// An A4 sheet with 5 mm margins and 2 mm between labels.
    pub const A4: Sheet = Sheet {
        width_mm: 210.0,
        height_mm: 297.0,
        margin_mm: 5.0,
        gap_mm: 2.0,
    };

    /// How many labels of this size fit across and down.
    pub fn grid(&self, w_mm: f32, h_mm: f32) -> (usize, usize) {
        let fit = |room: f32, size: f32| {
            (((room - 2.0 * self.margin_mm + self.gap_mm) / (size + self.gap_mm)) + 1e-3)
                .floor()
                .max(0.0) as usize
        };
        (fit(self.width_mm, w_mm), fit(self.height_mm, h_mm))
    }
}

/// Renders each layout as one page of a single PDF document, or, with a sheet, as many
/// labels to a page as fit on it, left to right and top to bottom.
pub fn render(
    layouts: &[Layout],
    title: &str,
    sheet: Option<Sheet>,
) -> Result<Vec<u8>, LabelError> {
    let parsed = font::pdf_font()?;
    let mut doc = PdfDocument::new(title);
    let font_id = doc.add_font(parsed);
    let font = PdfFontHandle::External(font_id.clone());
    let mut pages = Vec::new();
    let grid = match (sheet, layouts.first()) {
        (Some(sheet), Some(first)) => {
            let (w, h) = size_mm(first);
            let (cols, rows) = sheet.grid(w, h);
            (cols > 0 && rows > 0).then_some((sheet, cols, rows))
        }
        _ => None,
    };
    match grid {
        None => {
            for layout in layouts {
                let (w_mm, h_mm) = size_mm(layout);
                let mut ops = start_ops();
                let frame = Frame::new(layout, h_mm, 0.0, 0.0);
                frame.begin(&mut ops);
                draw(layout, &frame, &font, &mut ops);
                frame.end(&mut ops);
                pages.push(PdfPage::new(Mm(w_mm), Mm(h_mm), ops));
            }
        }
        Some((sheet, cols, rows)) => {
            for chunk in layouts.chunks(cols * rows) {
                let mut ops = start_ops();
                for (i, layout) in chunk.iter().enumerate() {
                    let (w_mm, h_mm) = size_mm(layout);
                    let (col, row) = ((i % cols) as f32, (i / cols) as f32);
                    let left = sheet.margin_mm + col * (w_mm + sheet.gap_mm);
                    let top = sheet.margin_mm + row * (h_mm + sheet.gap_mm);
                    let frame = Frame::new(layout, sheet.height_mm, left, top);
                    frame.begin(&mut ops);
                    draw(layout, &frame, &font, &mut ops);
                    frame.end(&mut ops);
                }
                pages.push(PdfPage::new(Mm(sheet.width_mm), Mm(sheet.height_mm), ops));
            }
        }
    }
    let mut warnings = Vec::new();
    // printpdf subsets the font; the streams are compressed here rather than by its save,
    // which deflates every stream at zlib's slowest level one after another.
    let options = PdfSaveOptions {
        subset_fonts: true,
        optimize: false,
        ..Default::default()
    };
    doc.with_pages(pages);
    let mut lo = doc.to_lopdf_document(&options, &mut warnings);
    compress_streams(&mut lo);
    let mut out = Vec::new();
    lo.save_to(&mut out)
        .map_err(|e| LabelError::Encode(format!("writing the PDF: {e}")))?;
    // Freeing a long document's millions of small objects takes a good share of the time it
    // took to write it; the caller need not wait for that.
    if layouts.len() > 16 {
        std::thread::spawn(move || drop((doc, lo)));
    }
    Ok(out)
}

/// Deflates every stream that may be compressed, at zlib's default level, spread over the
/// machine's cores: a 900-page pick list has as many content streams, and at the slowest
/// level their compression alone took longer than laying the pages out.
fn compress_streams(doc: &mut lopdf::Document) {
    let mut streams: Vec<&mut lopdf::Stream> = doc
        .objects
        .values_mut()
        .filter_map(|o| match o {
            lopdf::Object::Stream(s) if s.allows_compression && s.dict.get(b"Filter").is_err() => {
                Some(s)
            }
            _ => None,
        })
        .collect();
    let bytes: usize = streams.iter().map(|s| s.content.len()).sum();
    let threads = if bytes < 256 * 1024 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    if threads == 1 {
        streams.iter_mut().for_each(|s| deflate(s));
        return;
    }
    // Share the work by size, so one large font stream does not leave a thread idle.
    let per = bytes.div_ceil(threads);
    let mut chunks: Vec<Vec<&mut lopdf::Stream>> = Vec::new();
    let (mut chunk, mut size) = (Vec::new(), 0usize);
    for s in streams {
        size += s.content.len();
        chunk.push(s);
        if size >= per {
            chunks.push(std::mem::take(&mut chunk));
            size = 0;
        }
    }
    if !chunk.is_empty() {
        chunks.push(chunk);
    }
    std::thread::scope(|scope| {
        for chunk in chunks {
            scope.spawn(move || chunk.into_iter().for_each(deflate));
        }
    });
}

fn deflate(stream: &mut lopdf::Stream) {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(
        Vec::with_capacity(stream.content.len() / 3),
        flate2::Compression::default(),
    );
    if encoder.write_all(&stream.content).is_err() {
        return;
    }
    if let Ok(compressed) = encoder.finish() {
        // Like lopdf: keep the stream as it is when deflating does not pay for the filter.
        if compressed.len() + 19 < stream.content.len() {
            stream.dict.set("Filter", "FlateDecode");
            stream.set_content(compressed);
        }
    }
}

fn size_mm(layout: &Layout) -> (f32, f32) {
    let dots_per_mm = layout.dots_per_mm();
    (
        layout.width as f32 / dots_per_mm,
        layout.height as f32 / dots_per_mm,
    )
}

fn black() -> Color {
    Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None))
}

fn start_ops() -> Vec<Op> {
    vec![
        Op::SetFillColor { col: black() },
        Op::SetOutlineColor { col: black() },
    ]
}

/// Where a label sits on its page. Each label is drawn in its own dot coordinates: a `cm`
/// matrix scales dots to points and moves the origin to the label's bottom-left corner, so
/// bars, boxes and QR modules are whole numbers of dots (short to write, and repeating, so
/// they compress well) and only the label's height is needed to turn the layout's
/// top-down rows into PDF's bottom-up ones.
struct Frame {
    /// The label's height in dots.
    height: f32,
    /// The transformation from the label's dots to the page's points.
    matrix: [f32; 6],
}

impl Frame {
    fn new(layout: &Layout, page_height_mm: f32, left_mm: f32, top_mm: f32) -> Frame {
        let pt_per_dot = PT_PER_MM / layout.dots_per_mm();
        let height = layout.height as f32;
        let bottom = (page_height_mm - top_mm) * PT_PER_MM - height * pt_per_dot;
        Frame {
            height,
            matrix: [
                pt_per_dot,
                0.0,
                0.0,
                pt_per_dot,
                left_mm * PT_PER_MM,
                bottom,
            ],
        }
    }

    /// Opens the label's coordinates (`q … cm`); `end` closes them.
    fn begin(&self, ops: &mut Vec<Op>) {
        ops.push(Op::SaveGraphicsState);
        ops.push(Op::SetTransformationMatrix {
            matrix: CurTransMat::Raw(self.matrix),
        });
    }

    fn end(&self, ops: &mut Vec<Op>) {
        ops.push(Op::RestoreGraphicsState);
    }

    fn x(&self, dots: f32) -> Pt {
        Pt(dots)
    }

    fn y(&self, dots_from_top: f32) -> Pt {
        Pt(self.height - dots_from_top)
    }

    /// A filled rectangle given in dots from the top left.
    fn fill(&self, x: f32, y: f32, w: f32, h: f32) -> Op {
        Op::DrawRectangle {
            rectangle: Rect {
                x: self.x(x),
                y: self.y(y + h),
                width: Pt(w),
                height: Pt(h),
                mode: Some(PaintMode::Fill),
                winding_order: Some(WindingOrder::NonZero),
            },
        }
    }

    fn fill_rect(&self, r: DotRect) -> Op {
        self.fill(r.x as f32, r.y as f32, r.w as f32, r.h as f32)
    }

    /// One rectangle per run of dark modules in each row of a module grid.
    fn grid(&self, x: u32, y: u32, module: u32, columns: usize, dark: &[bool], ops: &mut Vec<Op>) {
        for (row, modules) in dark.chunks(columns).enumerate() {
            for (start, len) in runs(modules) {
                ops.push(self.fill(
                    (x + start as u32 * module) as f32,
                    (y + row as u32 * module) as f32,
                    (len as u32 * module) as f32,
                    module as f32,
                ));
            }
        }
    }
}

fn draw(layout: &Layout, frame: &Frame, font: &PdfFontHandle, ops: &mut Vec<Op>) {
    for item in &layout.items {
        match item {
            Item::Text(block) => {
                if block.reverse {
                    ops.push(frame.fill_rect(block.area));
                    ops.push(Op::SetFillColor {
                        col: Color::Rgb(Rgb::new(1.0, 1.0, 1.0, None)),
                    });
                    text(block, frame, font, ops);
                    ops.push(Op::SetFillColor { col: black() });
                } else {
                    text(block, frame, font, ops);
                }
            }
            Item::Fill(r) => ops.push(frame.fill_rect(*r)),
            Item::Frame { rect: r, thickness } => {
                let t = (*thickness).min(r.w).min(r.h);
                for side in [
                    DotRect { h: t, ..*r },
                    DotRect {
                        y: r.y + r.h - t,
                        h: t,
                        ..*r
                    },
                    DotRect { w: t, ..*r },
                    DotRect {
                        x: r.x + r.w - t,
                        w: t,
                        ..*r
                    },
                ] {
                    ops.push(frame.fill_rect(side));
                }
            }
            Item::Barcode(bars) => {
                // One rectangle per bar: consecutive dark modules merge.
                for (start, len) in runs(&bars.modules) {
                    ops.push(frame.fill(
                        (bars.x + start as u32 * bars.module) as f32,
                        bars.y as f32,
                        (len as u32 * bars.module) as f32,
                        bars.bar_height as f32,
                    ));
                }
            }
            Item::Qr(qr) => frame.grid(qr.x, qr.y, qr.module, qr.size, &qr.dark(), ops),
            Item::Matrix(m) => frame.grid(m.x, m.y, m.module, m.columns, &m.dark, ops),
            Item::Graphic { x, y, bitmap } => {
                let dark: Vec<bool> = (0..bitmap.height())
                    .flat_map(|row| (0..bitmap.width()).map(move |col| (col, row)))
                    .map(|(col, row)| bitmap.get(col, row))
                    .collect();
                frame.grid(*x, *y, 1, bitmap.width() as usize, &dark, ops);
            }
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

fn text(block: &TextBlock, frame: &Frame, font: &PdfFontHandle, ops: &mut Vec<Op>) {
    if block.lines.is_empty() {
        return;
    }
    // In the label's dot coordinates the font size is the em in dots.
    let size = Pt(block.em_px);
    // One text object per block. The rendering mode is part of the graphics state and
    // outlives `ET`, so it is set for every block; `Td` moves relative to the start of the
    // previous line, so each line's offset is taken from the one before.
    ops.push(Op::StartTextSection);
    if block.bold {
        // Faux bold, like the raster's: outline the glyphs as well as filling them.
        ops.push(Op::SetTextRenderingMode {
            mode: TextRenderingMode::FillStroke,
        });
        ops.push(Op::SetOutlineThickness {
            pt: Pt(font::bold_offset(block.em_px) * 0.6),
        });
    } else {
        ops.push(Op::SetTextRenderingMode {
            mode: TextRenderingMode::Fill,
        });
    }
    ops.push(Op::SetFont {
        font: font.clone(),
        size,
    });
    let (mut px, mut py) = (0.0f32, 0.0f32);
    for line in &block.lines {
        let (x, y) = (frame.x(line.x).0, frame.y(line.baseline).0);
        ops.push(Op::SetTextCursor {
            pos: Point {
                x: Pt(x - px),
                y: Pt(y - py),
            },
        });
        (px, py) = (x, y);
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(line.text.clone())],
        });
    }
    ops.push(Op::EndTextSection);
}
