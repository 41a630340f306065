//! Labels and documents: one template format, one layout engine, one renderer per output.
//!
//! A template (`label-templates/*.toml`, also compiled into the binary) places text,
//! barcodes (Code 128, EAN-13, Code 39, ITF-14), QR and Data Matrix codes, lines, boxes and
//! tables in millimetres and fills them from a JSON document. `layout` turns that into
//! positioned items in printer dots without any I/O (a document with a table into as many
//! pages as its rows need), and the renderers (`zpl`, `tspl`, `pdf`, `png`) only translate
//! items into their output, so every output shows the same line breaks and the same barcode
//! modules. Korean and Chinese text uses the font shipped in the binary, so no printer or
//! machine needs a CJK font installed.

pub mod barcode;
pub mod bench;
pub mod font;
pub mod layout;
pub mod pdf;
pub mod png;
pub mod raster;
pub mod replay;
pub mod template;
pub mod tspl;
pub mod zpl;

use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;

pub use layout::{layout, layout_pages, Layout};
pub use pdf::Sheet;
pub use template::{ElementRef, Template};

/// Everything that can go wrong loading a template or rendering a label.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    /// The template itself is wrong: bad TOML, an unknown kind or key, a missing key, an
    /// element outside the label.
    #[error("{file}: {}{problem}", at(.element))]
    Template {
        file: String,
        element: Option<ElementRef>,
        problem: String,
    },
    /// The template is fine but this data cannot be drawn with it: a missing field, a
    /// barcode that does not fit its box, a value a symbology cannot encode.
    #[error("{file}: {element}: {problem}")]
    Render {
        file: String,
        element: ElementRef,
        problem: String,
    },
    #[error("no template named `{0}` (neither in the template directory nor built in)")]
    UnknownTemplate(String),
    #[error(
        "`{0}` is not a template file name (expected a plain name such as shipping-kr-4x6.toml)"
    )]
    BadTemplateName(String),
    #[error("reading {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("font: {0}")]
    Font(String),
    #[error("encoding output: {0}")]
    Encode(String),
    #[error("{0}")]
    Unsupported(String),
}

fn at(element: &Option<ElementRef>) -> String {
    element
        .as_ref()
        .map(|e| format!("{e}: "))
        .unwrap_or_default()
}

/// The outputs the engine produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ZPL II for Zebra and compatible thermal printers.
    Zpl,
    /// TSPL / TSPL2 for TSC printers and their clones.
    Tspl,
    /// A PDF with one label per page (or many to a sheet), for office printers and the archive.
    Pdf,
    /// A PNG preview showing the printer's dots.
    Png,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Zpl, Format::Tspl, Format::Pdf, Format::Png];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Zpl => "zpl",
            Format::Tspl => "tspl",
            Format::Pdf => "pdf",
            Format::Png => "png",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Zpl => "application/vnd.zebra-zpl",
            Format::Tspl => "application/vnd.tsc-tspl",
            Format::Pdf => "application/pdf",
            Format::Png => "image/png",
        }
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "zpl" => Ok(Format::Zpl),
            "tspl" => Ok(Format::Tspl),
            "pdf" => Ok(Format::Pdf),
            "png" => Ok(Format::Png),
            other => Err(format!(
                "unknown label format `{other}` (expected zpl, tspl, pdf or png)"
            )),
        }
    }
}

/// Settings that depend on the printer rather than the template.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    /// Printer resolution in dots per inch: 203 (8 dots/mm) or 300 (12 dots/mm). The PDF and
    /// PNG are laid out at the same resolution so they match the thermal print.
    pub dpi: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions { dpi: 203 }
    }
}

/// Renders one label (or document) at 203 dpi.
pub fn render(t: &Template, data: &Value, format: Format) -> Result<Vec<u8>, LabelError> {
    render_with(t, data, format, &RenderOptions::default())
}

/// Renders one label (or document) with explicit options.
pub fn render_with(
    t: &Template,
    data: &Value,
    format: Format,
    options: &RenderOptions,
) -> Result<Vec<u8>, LabelError> {
    render_many(t, std::slice::from_ref(data), format, options)
}

/// Renders several labels from one template into one job: consecutive formats in ZPL and
/// TSPL, one page each in a PDF (or many to a sheet). A document's pages follow each other
/// the same way. A PNG shows the pages one under the other.
pub fn render_many(
    t: &Template,
    data: &[Value],
    format: Format,
    options: &RenderOptions,
) -> Result<Vec<u8>, LabelError> {
    let layouts = layout_all(t, data, options)?;
    render_layouts(&layouts, format, &t.title)
}

/// Renders several labels into a PDF of sheets of paper (e.g. `Sheet::A4`), as many labels
/// to a page as fit; a label larger than the sheet gets a page of its own size.
pub fn render_sheets(
    t: &Template,
    data: &[Value],
    sheet: Sheet,
    options: &RenderOptions,
) -> Result<Vec<u8>, LabelError> {
    let layouts = layout_all(t, data, options)?;
    pdf::render(&layouts, &t.title, Some(sheet))
}

fn layout_all(
    t: &Template,
    data: &[Value],
    options: &RenderOptions,
) -> Result<Vec<Layout>, LabelError> {
    if !(100..=1200).contains(&options.dpi) {
        return Err(LabelError::Unsupported(format!(
            "{} dpi is not a label printer resolution",
            options.dpi
        )));
    }
    let mut layouts = Vec::with_capacity(data.len());
    for d in data {
        layouts.extend(layout_pages(t, d, options.dpi)?);
    }
    Ok(layouts)
}

/// Renders laid-out pages (from templates, or replayed from a stored job).
pub fn render_layouts(
    layouts: &[Layout],
    format: Format,
    title: &str,
) -> Result<Vec<u8>, LabelError> {
    match format {
        Format::Zpl => zpl::render(layouts),
        Format::Tspl => tspl::render(layouts),
        Format::Pdf => pdf::render(layouts, title, None),
        Format::Png => png::render_pages(layouts),
    }
}

/// Templates compiled into the binary, so it works from any directory.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "shipping-kr-4x6.toml",
        include_str!("../../label-templates/shipping-kr-4x6.toml"),
    ),
    (
        "shipping-cn-100x180.toml",
        include_str!("../../label-templates/shipping-cn-100x180.toml"),
    ),
    (
        "sku-50x30.toml",
        include_str!("../../label-templates/sku-50x30.toml"),
    ),
    (
        "bin-location-100x50.toml",
        include_str!("../../label-templates/bin-location-100x50.toml"),
    ),
    (
        "operator-badge-86x54.toml",
        include_str!("../../label-templates/operator-badge-86x54.toml"),
    ),
    (
        "carton-100x70.toml",
        include_str!("../../label-templates/carton-100x70.toml"),
    ),
    (
        "pick-list-a4.toml",
        include_str!("../../label-templates/pick-list-a4.toml"),
    ),
    (
        "packing-slip-a4.toml",
        include_str!("../../label-templates/packing-slip-a4.toml"),
    ),
    (
        "handover-manifest-a4.toml",
        include_str!("../../label-templates/handover-manifest-a4.toml"),
    ),
    (
        "count-sheet-a4.toml",
        include_str!("../../label-templates/count-sheet-a4.toml"),
    ),
];

/// The names of the built-in templates.
pub fn builtin_templates() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|(name, _)| *name)
}

/// The shipping-label template for a courier: the Korean 4x6 in label for Korean couriers,
/// the Chinese 100x180 mm e-waybill for Chinese ones. An unknown code gets the 4x6 label,
/// which carries every field and fits the most common label stock.
pub fn shipping_template_for(courier_code: &str) -> &'static str {
    match courier_code {
        "sf" | "sto" | "zto" | "yto" | "yunda" | "ems" => "shipping-cn-100x180.toml",
        _ => "shipping-kr-4x6.toml",
    }
}

/// Loads a template by file name: `dir/name` when a directory is given and holds that file
/// (so a site can adjust its labels), otherwise the copy built into the binary.
pub fn load_template(dir: Option<&Path>, name: &str) -> Result<Template, LabelError> {
    let plain = !name.is_empty()
        && !name.contains(['/', '\\'])
        && name != "."
        && name != ".."
        && Path::new(name).file_name().is_some();
    if !plain {
        return Err(LabelError::BadTemplateName(name.to_string()));
    }
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|source| LabelError::Io {
                path: path.clone(),
                source,
            })?;
            return Template::parse(&path.display().to_string(), &text);
        }
    }
    let (_, text) = EMBEDDED
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| LabelError::UnknownTemplate(name.to_string()))?;
    Template::parse(name, text)
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
