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

/// The layout painted into an image (black text and bars on white).
pub fn to_image(layout: &Layout) -> Result<GrayImage, LabelError> {
    let bitmap = raster::paint(layout)?;
    GrayImage::from_raw(bitmap.width(), bitmap.height(), bitmap.to_luma())
        .ok_or_else(|| LabelError::Encode("bitmap size does not match its pixels".to_string()))
}
