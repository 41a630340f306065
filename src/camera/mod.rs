//! The bench camera's pictures: taking an uploaded still in safely, and reading the QR codes
//! on it. The rules about what a reading means are `domain::camera`.
//!
//! A still comes from a browser, so it is treated as hostile: only JPEG and PNG, size- and
//! pixel-capped before anything is allocated for it, decoded, and re-encoded as a fresh JPEG,
//! so what is kept is pixels we wrote and never a foreign file with whatever rides in it.
//!
//! Reading follows the usual preparation: greyscale, scaled to a working size, thresholded
//! against each pixel's neighbourhood, tried again at other thresholds and enlarged when
//! nothing was found. rqrr finds QR codes at any rotation by their finder patterns, so no
//! rotated copies are needed.

pub mod synth;

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{imageops, DynamicImage, GrayImage, ImageFormat, ImageReader, Limits, Luma};

/// The largest still taken in (bytes).
pub const STILL_LIMIT: usize = 8 * 1024 * 1024;
/// The largest side a still may have (pixels); a bench camera gives 1920 at most, phones 4000.
pub const MAX_SIDE: u32 = 6000;
/// Stills are kept no larger than this on their longer side (pixels).
pub const KEEP_SIDE: u32 = 1920;
/// JPEG quality of the kept still.
const KEEP_QUALITY: u8 = 85;

/// Why a still was not taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StillError {
    #[error("the photo is empty")]
    Empty,
    #[error("the photo is {bytes} bytes; the limit is {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the upload is not a JPEG or PNG image")]
    NotImage,
    #[error("the photo is {width}x{height} pixels; the limit is {MAX_SIDE} on each side")]
    TooManyPixels { width: u32, height: u32 },
    #[error("the photo cannot be decoded: {0}")]
    Decode(String),
}

impl StillError {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            StillError::Empty | StillError::TooLarge { .. } => "photo_size",
            StillError::NotImage => "photo_type",
            StillError::TooManyPixels { .. } => "photo_pixels",
            StillError::Decode(_) => "photo_decode",
        }
    }
}

/// A still taken in: the JPEG we keep, the greyscale picture codes are read from, and the QR
/// texts read on it when it was taken in with `take_in_reading` (`None`: not read).
pub struct Still {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub grey: GrayImage,
    pub codes: Option<Vec<String>>,
}

/// Checks, decodes and re-encodes an uploaded still.
pub fn take_in(bytes: &[u8]) -> Result<Still, StillError> {
    take_in_reading(bytes, false)
}

/// `take_in`, and with `read` its QR codes read as well: the re-encoding runs on a second
/// thread while the codes are read, so a sealed parcel's still costs the longer of the two.
pub fn take_in_reading(bytes: &[u8], read: bool) -> Result<Still, StillError> {
    let rgb = decoded(bytes)?;
    let grey = rgb.to_luma8();
    let (jpeg, codes) = std::thread::scope(|scope| {
        let encoding = scope.spawn(|| {
            let mut jpeg = Vec::with_capacity(bytes.len().min(1 << 20));
            JpegEncoder::new_with_quality(&mut jpeg, KEEP_QUALITY)
                .encode_image(&rgb)
                .map(|()| jpeg)
                .map_err(|e| StillError::Decode(e.to_string()))
        });
        let codes = read.then(|| read_qr(&grey));
        let jpeg = encoding
            .join()
            .unwrap_or_else(|_| Err(StillError::Decode("the encoder stopped".into())));
        (jpeg, codes)
    });
    Ok(Still {
        jpeg: jpeg?,
        width: rgb.width(),
        height: rgb.height(),
        grey,
        codes,
    })
}

/// The still's pixels, checked before anything is allocated for them, no larger than
/// `KEEP_SIDE`.
fn decoded(bytes: &[u8]) -> Result<DynamicImage, StillError> {
    if bytes.is_empty() {
        return Err(StillError::Empty);
    }
    if bytes.len() > STILL_LIMIT {
        return Err(StillError::TooLarge {
            bytes: bytes.len(),
            limit: STILL_LIMIT,
        });
    }
    let format = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        ImageFormat::Jpeg
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        ImageFormat::Png
    } else {
        return Err(StillError::NotImage);
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| StillError::Decode(e.to_string()))?;
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(StillError::TooManyPixels { width, height });
    }
    reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| StillError::Decode(e.to_string()))?;
    let img = if img.width().max(img.height()) > KEEP_SIDE {
        let f = KEEP_SIDE as f32 / img.width().max(img.height()) as f32;
        img.resize(
            ((img.width() as f32 * f) as u32).max(1),
            ((img.height() as f32 * f) as u32).max(1),
            imageops::FilterType::Triangle,
        )
    } else {
        img
    };
    Ok(DynamicImage::ImageRgb8(img.to_rgb8()))
}

/// Pictures are read at most this large (longer side, pixels).
const WORKING_SIDE: u32 = 1920;

/// The texts of the QR codes on a picture, trimmed, each once; empty when none is read.
///
/// Tried in turn until one reads: the picture thresholded against its neighbourhood (which
/// copes with a bench lamp's fall-off and a mild blur), as it is, thresholded a little
/// darker and lighter and over a smaller neighbourhood (the small, anti-aliased modules of a
/// tilted label come out whole at one threshold or another), and at last enlarged by half,
/// since rqrr wants a QR module to be several pixels wide.
pub fn read_qr(grey: &GrayImage) -> Vec<String> {
    let g = scaled(grey, WORKING_SIDE);
    let attempts: [&dyn Fn(&GrayImage) -> GrayImage; 6] = [
        &|g| binarised(g, 15),
        &|g| g.clone(),
        &|g| binarised_at(g, 15, 88),
        &|g| binarised_at(g, 15, 97),
        &|g| binarised(g, 11),
        &|g| {
            let up = imageops::resize(
                g,
                g.width() * 3 / 2,
                g.height() * 3 / 2,
                imageops::FilterType::Triangle,
            );
            binarised(&up, 20)
        },
    ];
    for prepare in attempts {
        let found = decode(&prepare(&g));
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

fn decode(g: &GrayImage) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare(g.clone());
    let mut out: Vec<String> = Vec::new();
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            let text = text.trim().to_string();
            if !text.is_empty() && !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

/// The picture with its longer side `longest` pixels (never enlarged).
pub fn scaled(g: &GrayImage, longest: u32) -> GrayImage {
    let (w, h) = g.dimensions();
    let m = w.max(h);
    if m <= longest {
        return g.clone();
    }
    let f = longest as f32 / m as f32;
    imageops::resize(
        g,
        ((w as f32 * f) as u32).max(1),
        ((h as f32 * f) as u32).max(1),
        imageops::FilterType::Triangle,
    )
}

/// The grey levels between the 2nd and 98th percentile stretched over the full range, so a
/// dim or washed-out photo still binarises well.
pub fn stretched(g: &GrayImage) -> GrayImage {
    let mut hist = [0u64; 256];
    for p in g.pixels() {
        hist[p[0] as usize] += 1;
    }
    let n: u64 = hist.iter().sum();
    let at = |q: f64| {
        let mut acc = 0;
        for (i, c) in hist.iter().enumerate() {
            acc += c;
            if acc as f64 >= q * n as f64 {
                return i as f32;
            }
        }
        255.0
    };
    let (lo, hi) = (at(0.02), at(0.98));
    if hi - lo < 16.0 {
        return g.clone();
    }
    let mut out = g.clone();
    for p in out.pixels_mut() {
        let v = ((p[0] as f32 - lo) * 255.0 / (hi - lo)).clamp(0.0, 255.0);
        *p = Luma([v as u8]);
    }
    out
}

/// Adaptive threshold: each pixel against the mean of the square of side `2r+1` around it.
pub fn binarised(g: &GrayImage, r: u32) -> GrayImage {
    binarised_at(g, r, 93)
}

/// `binarised` with the threshold at `pct` per cent of the neighbourhood's mean.
pub fn binarised_at(g: &GrayImage, r: u32, pct: u64) -> GrayImage {
    let (w, h) = g.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let mut integral = vec![0u64; (wu + 1) * (hu + 1)];
    for y in 0..hu {
        let mut row = 0u64;
        for x in 0..wu {
            row += u64::from(g.get_pixel(x as u32, y as u32)[0]);
            integral[(y + 1) * (wu + 1) + x + 1] = integral[y * (wu + 1) + x + 1] + row;
        }
    }
    let mut out = GrayImage::new(w, h);
    let r = r as usize;
    for y in 0..hu {
        let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(hu));
        for x in 0..wu {
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(wu));
            let sum = integral[y1 * (wu + 1) + x1] + integral[y0 * (wu + 1) + x0]
                - integral[y0 * (wu + 1) + x1]
                - integral[y1 * (wu + 1) + x0];
            let n = ((y1 - y0) * (x1 - x0)) as u64;
            let v = u64::from(g.get_pixel(x as u32, y as u32)[0]) * n * 100;
            out.put_pixel(
                x as u32,
                y as u32,
                Luma([if v < sum * pct { 0 } else { 255 }]),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::synth::{self, Pose};
    use super::*;
    use crate::domain::camera::{check_label, LabelCheck};
    use crate::labels::{self, Format};
    use image::ImageEncoder;

    fn label(waybill: &str) -> GrayImage {
        let t = labels::load_template(None, "shipping-kr-4x6.toml").unwrap();
        let mut data = labels::bench::sample();
        data["waybill"] = serde_json::json!(waybill);
        let png = labels::render(&t, &data, Format::Png).unwrap();
        synth::grey_of_png(&png).unwrap()
    }

    fn read(photo: &image::RgbImage) -> Vec<String> {
        let still = take_in(&synth::jpeg(photo, 90)).unwrap();
        read_qr(&still.grey)
    }

    #[test]
    fn the_right_label_reads_at_every_level_and_size() {
        let l = label("600012345671");
        // Every level but the hardest, from a 1080p camera (`packbench bench --camera`
        // reports the share read at every level, 720p included); and a 720p camera with the
        // parcel close enough that the label fills its frame.
        let close = Pose {
            size: 0.95,
            turn_deg: 8.0,
            ..Pose::default()
        };
        let mut cases: Vec<(u32, u32, &str, Pose)> = synth::levels()
            .into_iter()
            .take(5)
            .map(|(name, pose)| (1920, 1080, name, pose))
            .collect();
        cases.push((1280, 720, "close", close));
        for (w, h, name, pose) in cases {
            {
                for seed in 0..3 {
                    let photo = synth::photo(&l, w, h, &pose, seed);
                    let got = read(&photo);
                    assert_eq!(
                        check_label("600012345671", &got),
                        LabelCheck::Match,
                        "{w}x{h} {name} (noise seed {seed}): read {got:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_swapped_label_reads_as_another_waybill_and_a_bare_box_as_none() {
        let other = label("600012345682");
        let photo = synth::photo(&other, 1920, 1080, &Pose::default(), 7);
        assert_eq!(
            check_label("600012345671", &read(&photo)),
            LabelCheck::Mismatch {
                found: "600012345682".into()
            }
        );
        let blank = GrayImage::from_pixel(400, 600, Luma([250]));
        let photo = synth::photo(&blank, 1280, 720, &Pose::default(), 8);
        assert_eq!(
            check_label("600012345671", &read(&photo)),
            LabelCheck::NoCode
        );
    }

    #[test]
    fn stills_that_are_not_photos_are_refused_cleanly() {
        assert_eq!(take_in(b"").err(), Some(StillError::Empty));
        assert_eq!(take_in(b"%PDF-1.4 hello").err(), Some(StillError::NotImage));
        let big = vec![0xFFu8; 20 * 1024 * 1024];
        assert_eq!(take_in(&big).err().map(|e| e.code()), Some("photo_size"));
        // A JPEG header with garbage after it.
        let mut broken = vec![0xFF, 0xD8, 0xFF, 0xE0];
        broken.extend_from_slice(&[7u8; 500]);
        assert!(matches!(take_in(&broken), Err(StillError::Decode(_))));
        // A PNG claiming to be 100,000 pixels wide is refused before it is decoded.
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&[0u8; 4], 2, 2, image::ExtendedColorType::L8)
            .unwrap();
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(take_in(&png).is_err());
    }

    #[test]
    fn a_kept_still_is_a_fresh_jpeg_of_bounded_size() {
        let photo = synth::photo(&label("600012345671"), 2400, 1600, &Pose::default(), 1);
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(photo)
            .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        // Something riding after the image's end is not kept.
        png.extend_from_slice(b"<script>alert(1)</script>");
        let still = take_in(&png).unwrap();
        assert!(still.jpeg.starts_with(&[0xFF, 0xD8, 0xFF]));
        assert_eq!((still.width, still.height), (1920, 1280));
        assert!(!still.jpeg.windows(8).any(|w| w == b"<script>"));
    }
}
