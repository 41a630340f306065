//! PDF output through printpdf 0.12: one label per page, real text, vector barcodes.
//!
//! The PDF is for office printers, archives and e-mail, so text is kept as text in the shipped
//! font (searchable, and `pdftotext` reads the Korean and Chinese back) and printpdf subsets
//! the font on save so a label stays a few kilobytes. Barcodes are filled rectangles placed
//! from the same layout the thermal printer gets, so they have the same module pattern.

use printpdf::{
    Color, Mm, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, Rect,
    Rgb, TextItem, TextRenderingMode, WindingOrder,
};

use super::font;
use super::layout::{DotRect, Item, Layout, TextBlock};
use super::LabelError;

/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / 25.4;

/// Renders each layout as one page of a single PDF document.
pub fn render(layouts: &[Layout], title: &str) -> Result<Vec<u8>, LabelError> {
    let parsed = font::pdf_font()?;
    let mut doc = PdfDocument::new(title);
    let font_id = doc.add_font(parsed);
    let pages = layouts
        .iter()
        .map(|layout| page(layout, &PdfFontHandle::External(font_id.clone())))
        .collect();
    let mut warnings = Vec::new();
    let options = PdfSaveOptions {
        subset_fonts: true,
        ..Default::default()
    };
    Ok(doc.with_pages(pages).save(&options, &mut warnings))
}

/// Converts layout dots to PDF points with the origin moved to the bottom left.
struct Frame {
    pt_per_dot: f32,
    height_pt: f32,
}

impl Frame {
    fn x(&self, dots: f32) -> Pt {
        Pt(dots * self.pt_per_dot)
    }

    fn y(&self, dots_from_top: f32) -> Pt {
        Pt(self.height_pt - dots_from_top * self.pt_per_dot)
    }

    /// A filled rectangle given in dots from the top left.
    fn fill(&self, x: f32, y: f32, w: f32, h: f32) -> Op {
        Op::DrawRectangle {
            rectangle: Rect {
                x: self.x(x),
                y: self.y(y + h),
                width: Pt(w * self.pt_per_dot),
                height: Pt(h * self.pt_per_dot),
                mode: Some(PaintMode::Fill),
                winding_order: Some(WindingOrder::NonZero),
            },
        }
    }

    fn fill_rect(&self, r: DotRect) -> Op {
        self.fill(r.x as f32, r.y as f32, r.w as f32, r.h as f32)
    }
}

fn page(layout: &Layout, font: &PdfFontHandle) -> PdfPage {
    let dots_per_mm = layout.dots_per_mm();
    let (w_mm, h_mm) = (
        layout.width as f32 / dots_per_mm,
        layout.height as f32 / dots_per_mm,
    );
    let frame = Frame {
        pt_per_dot: PT_PER_MM / dots_per_mm,
        height_pt: h_mm * PT_PER_MM,
    };
    let black = Color::Rgb(Rgb::new(0.0, 0.0, 0.0, None));
    let mut ops = vec![
        Op::SetFillColor { col: black.clone() },
        Op::SetOutlineColor { col: black },
    ];
    for item in &layout.items {
        match item {
            Item::Text(block) => text(block, &frame, font, &mut ops),
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
            Item::Code128(bars) => {
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
            Item::Qr(qr) => {
                for row in 0..qr.size {
                    let modules = &qr.dark[row * qr.size..(row + 1) * qr.size];
                    for (start, len) in runs(modules) {
                        ops.push(frame.fill(
                            (qr.x + start as u32 * qr.module) as f32,
                            (qr.y + row as u32 * qr.module) as f32,
                            (len as u32 * qr.module) as f32,
                            qr.module as f32,
                        ));
                    }
                }
            }
        }
    }
    PdfPage::new(Mm(w_mm), Mm(h_mm), ops)
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
    let size = Pt(block.em_px * frame.pt_per_dot);
    // Each line is its own text object: `Td` moves relative to the current line, so starting
    // afresh with `BT` lets every line be placed absolutely.
    for line in &block.lines {
        ops.push(Op::StartTextSection);
        if block.bold {
            // Faux bold, like the raster's: outline the glyphs as well as filling them.
            ops.push(Op::SetTextRenderingMode {
                mode: TextRenderingMode::FillStroke,
            });
            ops.push(Op::SetOutlineThickness {
                pt: Pt(font::bold_offset(block.em_px) * frame.pt_per_dot * 0.6),
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
        ops.push(Op::SetTextCursor {
            pos: Point {
                x: frame.x(line.x),
                y: frame.y(line.baseline),
            },
        });
        ops.push(Op::ShowText {
            items: vec![TextItem::Text(line.text.clone())],
        });
        ops.push(Op::EndTextSection);
    }
}
