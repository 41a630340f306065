//! End-to-end checks of the label engine: shipping labels render in every format, their
//! barcodes decode back to the waybill, and text stays inside its boxes.

use serde_json::Value;

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
    for (name, data) in [("kr", kr_data()), ("cn", cn_data())] {
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
