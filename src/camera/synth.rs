//! Synthetic bench photos: a printed label's picture laid onto a parcel as a camera over the
//! bench would see it (scaled, turned, tilted in perspective, blurred, noisy), so the demo
//! and the tests try the label check with no camera.

use image::{GrayImage, Luma, Rgb, RgbImage};

/// How the label lies in the photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pose {
    /// The label's height as a share of the photo's height.
    pub size: f32,
    /// Turn in degrees, clockwise.
    pub turn_deg: f32,
    /// Perspective: how much narrower the label's far edge looks (0 = seen square on).
    pub tilt: f32,
    /// Blur radius in pixels (0 = sharp).
    pub blur: u32,
    /// Noise amplitude in grey levels.
    pub noise: u8,
    /// Where the label's centre is, as shares of the photo's width and height.
    pub centre: (f32, f32),
}

impl Default for Pose {
    fn default() -> Self {
        Pose {
            size: 0.8,
            turn_deg: 0.0,
            tilt: 0.0,
            blur: 0,
            noise: 6,
            centre: (0.5, 0.5),
        }
    }
}

/// Named distortion levels, from easy to hard, used by the tests, the demo and the
/// benchmark so their figures speak of the same photos.
pub fn levels() -> Vec<(&'static str, Pose)> {
    let p = Pose::default();
    vec![
        ("square on", p),
        (
            "turned 20°",
            Pose {
                turn_deg: 20.0,
                ..p
            },
        ),
        (
            "upside down",
            Pose {
                turn_deg: 178.0,
                size: 0.75,
                centre: (0.45, 0.52),
                ..p
            },
        ),
        (
            "tilted, turned 70°",
            Pose {
                turn_deg: 70.0,
                tilt: 0.15,
                ..p
            },
        ),
        (
            "blurred, noisy",
            Pose {
                turn_deg: -12.0,
                blur: 1,
                noise: 10,
                ..p
            },
        ),
        (
            "small, turned, blurred",
            Pose {
                size: 0.6,
                turn_deg: 35.0,
                blur: 1,
                noise: 10,
                ..p
            },
        ),
    ]
}

/// A `width` x `height` photo of `label` (a greyscale picture of the printed label) lying on
/// a brown parcel in `pose`. `seed` varies the noise.
pub fn photo(label: &GrayImage, width: u32, height: u32, pose: &Pose, seed: u64) -> RgbImage {
    let (lw, lh) = (label.width() as f32, label.height() as f32);
    let scale = pose.size * height as f32 / lh;
    let (hw, hh) = (lw * scale / 2.0, lh * scale / 2.0);
    let (cx, cy) = (pose.centre.0 * width as f32, pose.centre.1 * height as f32);
    let (s, c) = pose.turn_deg.to_radians().sin_cos();
    // The label's corners in the photo: the top edge shrunk by the tilt, then turned.
    let narrow = 1.0 - pose.tilt;
    let corners = [(-hw * narrow, -hh), (hw * narrow, -hh), (hw, hh), (-hw, hh)]
        .map(|(x, y)| (cx + c * x - s * y, cy + s * x + c * y));
    let src = [(0.0, 0.0), (lw, 0.0), (lw, lh), (0.0, lh)];
    // Photo pixel -> label pixel.
    let h = homography(&corners, &src);
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = RgbImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let w = h[6] * px + h[7] * py + h[8];
            let (u, v) = (
                (h[0] * px + h[1] * py + h[2]) / w,
                (h[3] * px + h[4] * py + h[5]) / w,
            );
            // Cardboard with a light falling off to one side.
            let light = 0.85 + 0.15 * (1.0 - x as f32 / width as f32);
            let pixel = if u >= 0.0 && v >= 0.0 && u < lw - 1.0 && v < lh - 1.0 {
                // Paper is not pure white nor ink pure black under a bench lamp.
                let g = sample(label, u, v) / 255.0;
                let k = (30.0 + 205.0 * g) * light;
                [k, k, k * 0.97]
            } else {
                [176.0 * light, 134.0 * light, 88.0 * light]
            };
            out.put_pixel(x, y, Rgb(pixel.map(|p| p.clamp(0.0, 255.0) as u8)));
        }
    }
    if pose.blur > 0 {
        out = box_blur(&out, pose.blur);
        out = box_blur(&out, pose.blur);
    }
    if pose.noise > 0 {
        let n = i32::from(pose.noise);
        for p in out.pixels_mut() {
            let d = (rng.next() % (2 * n as u64 + 1)) as i32 - n;
            for ch in p.0.iter_mut() {
                *ch = (i32::from(*ch) + d).clamp(0, 255) as u8;
            }
        }
    }
    out
}

/// Bilinear sample of a greyscale picture.
fn sample(img: &GrayImage, u: f32, v: f32) -> f32 {
    let (x0, y0) = (u.floor() as u32, v.floor() as u32);
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let p = |x: u32, y: u32| -> f32 {
        let Luma([g]) = *img.get_pixel(x.min(img.width() - 1), y.min(img.height() - 1));
        f32::from(g)
    };
    let top = p(x0, y0) * (1.0 - fx) + p(x0 + 1, y0) * fx;
    let bottom = p(x0, y0 + 1) * (1.0 - fx) + p(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// The projective map taking the four `from` points to the four `to` points, as the nine
/// entries of its matrix (the last fixed at 1).
fn homography(from: &[(f32, f32); 4], to: &[(f32, f32); 4]) -> [f32; 9] {
    // Eight equations in eight unknowns, solved by Gaussian elimination in f64.
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (f64::from(from[i].0), f64::from(from[i].1));
        let (u, v) = (f64::from(to[i].0), f64::from(to[i].1));
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-12 {
            continue;
        }
        for v in &mut a[col][col..] {
            *v /= d;
        }
        let pivot_row = a[col];
        for (row, r) in a.iter_mut().enumerate() {
            if row != col {
                let f = r[col];
                for (v, p) in r[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * p;
                }
            }
        }
    }
    let mut h = [0f32; 9];
    for (hi, r) in h.iter_mut().zip(&a) {
        *hi = r[8] as f32;
    }
    h[8] = 1.0;
    h
}

/// One pass of a box blur of radius `r`, rows then columns.
fn box_blur(img: &RgbImage, r: u32) -> RgbImage {
    let (w, h) = img.dimensions();
    let pass = |src: &RgbImage, horizontal: bool| -> RgbImage {
        let mut out = RgbImage::new(w, h);
        let (outer, inner) = if horizontal { (h, w) } else { (w, h) };
        for o in 0..outer {
            for i in 0..inner {
                let lo = i.saturating_sub(r);
                let hi = (i + r).min(inner - 1);
                let mut sum = [0u32; 3];
                for k in lo..=hi {
                    let p = if horizontal {
                        src.get_pixel(k, o)
                    } else {
                        src.get_pixel(o, k)
                    };
                    for (s, v) in sum.iter_mut().zip(p.0) {
                        *s += u32::from(v);
                    }
                }
                let n = hi - lo + 1;
                let px = Rgb(sum.map(|s| (s / n) as u8));
                if horizontal {
                    out.put_pixel(i, o, px);
                } else {
                    out.put_pixel(o, i, px);
                }
            }
        }
        out
    };
    pass(&pass(img, true), false)
}

/// xorshift64: reproducible noise with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A PNG-encoded picture as greyscale (the label engine's PNG output).
pub fn grey_of_png(png: &[u8]) -> Option<GrayImage> {
    image::load_from_memory(png).ok().map(|i| i.to_luma8())
}

/// A photo as JPEG bytes, as a browser's canvas would send it.
pub fn jpeg(photo: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let _ =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(photo);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_homography_maps_corners_to_corners() {
        let from = [(10.0, 20.0), (110.0, 25.0), (105.0, 140.0), (5.0, 130.0)];
        let to = [(0.0, 0.0), (50.0, 0.0), (50.0, 80.0), (0.0, 80.0)];
        let h = homography(&from, &to);
        for (f, t) in from.iter().zip(to) {
            let w = h[6] * f.0 + h[7] * f.1 + h[8];
            let u = (h[0] * f.0 + h[1] * f.1 + h[2]) / w;
            let v = (h[3] * f.0 + h[4] * f.1 + h[5]) / w;
            assert!(
                (u - t.0).abs() < 0.01 && (v - t.1).abs() < 0.01,
                "{u},{v} vs {t:?}"
            );
        }
    }
}
