//! PNG preview: the label as the printer's dots, one pixel per dot.
//!
//! The preview is painted from the same one-bit raster the printer's text graphics come
//! from, so what a packer or manager sees on screen is what the thermal head will burn,
//! thin strokes and all.

use std::io::Cursor;

use image::{GrayImage, ImageFormat};

use super::layout::Layout;
use super::raster;
use super::LabelError;

/// Encodes one layout as an 8-bit greyscale PNG of `width` x `height` pixels.
pub fn render(layout: &Layout) -> Result<Vec<u8>, LabelError> {
    let image = to_image(layout)?;
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| LabelError::Encode(format!("PNG: {e}")))?;
    Ok(out.into_inner())
}

/// Encodes pages one under the other, 2 mm of grey between them, as one PNG.
pub fn render_pages(layouts: &[Layout]) -> Result<Vec<u8>, LabelError> {
    match layouts {
        [] => Err(LabelError::Unsupported("nothing to preview".to_string())),
        [one] => render(one),
        many => {
            let gap = (many[0].dots_per_mm() * 2.0).round() as u32;
            let width = many.iter().map(|l| l.width).max().unwrap_or(0);
            let height = many.iter().map(|l| l.height + gap).sum::<u32>() - gap;
            let mut sheet = GrayImage::from_pixel(width, height, image::Luma([160]));
            let mut top = 0;
            for layout in many {
                let page = to_image(layout)?;
                image::imageops::replace(&mut sheet, &page, 0, i64::from(top));
                top += layout.height + gap;
            }
            let mut out = Cursor::new(Vec::new());
            sheet
                .write_to(&mut out, ImageFormat::Png)
                .map_err(|e| LabelError::Encode(format!("PNG: {e}")))?;
            Ok(out.into_inner())
        }
    }
}

/// The layout painted into an image (black text and bars on white).
pub fn to_image(layout: &Layout) -> Result<GrayImage, LabelError> {
    let bitmap = raster::paint(layout)?;
    GrayImage::from_raw(bitmap.width(), bitmap.height(), bitmap.to_luma())
        .ok_or_else(|| LabelError::Encode("bitmap size does not match its pixels".to_string()))
}
