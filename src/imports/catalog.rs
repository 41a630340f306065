//! The generic catalog file: one row per SKU. Every row is checked and every problem kept,
//! so that the user fixes the whole file in one pass.

use std::collections::HashMap;

use crate::domain::CatalogItem;

use super::mapping::{find_header, resolve, CatalogMapping, Column};
use super::table::Row;
use super::values::parse_int;
use super::{whole_file, ImportProblem};

/// Reads catalog rows. Returns the items and the problems found; the caller refuses the
/// file unless there are none.
pub(crate) fn read(
    file: &str,
    rows: &[Row],
    mapping: &CatalogMapping,
) -> (Vec<CatalogItem>, Vec<ImportProblem>) {
    let specs = mapping.fields.all();
    let header_at = find_header(&specs, rows, mapping.header_search_rows);
    let Some(header) = rows.get(header_at) else {
        return (Vec::new(), vec![whole_file(file, "the file has no rows")]);
    };
    let (columns, mut problems) = resolve(specs, header, file);
    let [sku, name, barcodes, weight, location, cost, category, option] = &columns;

    let mut items: Vec<CatalogItem> = Vec::new();
    // The line each SKU and each barcode was first seen on, to name it in duplicate reports.
    let mut sku_lines: HashMap<String, usize> = HashMap::new();
    let mut barcode_owners: HashMap<String, (String, usize)> = HashMap::new();

    for row in &rows[header_at + 1..] {
        let mut report = |column: &Column, message: String| {
            problems.push(ImportProblem {
                file: file.to_string(),
                row: row.line,
                column: column.title().to_string(),
                message,
            });
        };
        let get = |c: &Column| c.get(row, false).0;

        let sku_value = get(sku);
        if sku_value.is_empty() {
            if sku.present() {
                report(sku, "SKU is empty".to_string());
            }
        } else if let Some(first) = sku_lines.get(&sku_value) {
            report(sku, format!("SKU `{sku_value}` is already on line {first}"));
        } else {
            sku_lines.insert(sku_value.clone(), row.line);
        }

        let name_value = get(name);
        if name_value.is_empty() && name.value_required() {
            report(name, "name is empty".to_string());
        }

        let mut codes: Vec<String> = Vec::new();
        let barcode_text = get(barcodes);
        if !barcode_text.is_empty() {
            for code in barcode_text.split(mapping.barcode_separator.as_str()) {
                let code = code.trim();
                if code.is_empty() {
                    report(
                        barcodes,
                        format!(
                            "empty barcode in `{barcode_text}` (barcodes are separated by `{}`)",
                            mapping.barcode_separator
                        ),
                    );
                    continue;
                }
                match barcode_owners.get(code) {
                    Some((owner, line)) if *owner != sku_value => report(
                        barcodes,
                        format!("barcode `{code}` is already used by SKU `{owner}` on line {line}"),
                    ),
                    _ => {
                        barcode_owners
                            .entry(code.to_string())
                            .or_insert_with(|| (sku_value.clone(), row.line));
                        if !codes.iter().any(|c| c == code) {
                            codes.push(code.to_string());
                        }
                    }
                }
            }
        }

        let weight_text = get(weight);
        let unit_weight_g = match parse_int(&weight_text) {
            Some(g) if g >= 0 => g,
            _ => {
                if weight.present() {
                    report(
                        weight,
                        format!("unit weight `{weight_text}` is not a whole number of grams (0 or more)"),
                    );
                }
                0
            }
        };

        let cost_text = get(cost);
        let cost_value = match parse_int(&cost_text) {
            Some(c) => c,
            None => {
                if cost.present() {
                    report(
                        cost,
                        format!("cost `{cost_text}` is not a whole number (minor units: won, fen)"),
                    );
                }
                0
            }
        };

        items.push(CatalogItem {
            sku: sku_value,
            name: name_value,
            barcodes: codes,
            unit_weight_g,
            location: get(location),
            cost: cost_value,
            category: get(category),
            option: get(option),
        });
    }
    if items.is_empty() && problems.is_empty() {
        problems.push(ImportProblem {
            file: file.to_string(),
            row: header.line,
            column: String::new(),
            message: "the file has a header but no items".to_string(),
        });
    }
    (items, problems)
}
