//! Order files: one row per order line, in the generic format or a marketplace export. The
//! mapping says where each field is; this module checks the values, merges the rows of one
//! order into one `OrderRecord` and keeps every problem it finds.

use std::collections::HashMap;

use jiff::tz::TimeZone;

use crate::domain::{Flag, OrderLineRecord, OrderRecord};

use super::mapping::{courier_code, find_header, resolve, Column, OrdersMapping};
use super::table::Row;
use super::values::{parse_int, parse_paid_at, split_postcode};
use super::{whole_file, ImportProblem};

/// The order-level fields, in the order they are merged and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Channel,
    PaidAt,
    RecipientName,
    RecipientPhone,
    Address,
    Postcode,
    Note,
    Flag,
    Courier,
    Waybill,
}

const ORDER_FIELDS: [Field; 10] = [
    Field::Channel,
    Field::PaidAt,
    Field::RecipientName,
    Field::RecipientPhone,
    Field::Address,
    Field::Postcode,
    Field::Note,
    Field::Flag,
    Field::Courier,
    Field::Waybill,
];

/// One row's order-level values, indexed like `ORDER_FIELDS`, already checked and
/// normalised (paid time in UTC, courier as a code, flag as its name); `None` where the cell
/// was wrong (already reported).
type RowValues = Vec<Option<String>>;

fn key(f: Field) -> usize {
    ORDER_FIELDS.iter().position(|&g| g == f).unwrap_or(0)
}

/// An order being assembled from its rows.
struct Pending {
    first_line: usize,
    /// For each order-level field: its value and the line it was first seen on.
    values: Vec<Option<(String, usize)>>,
    /// For each order-level field: whether some row had a wrong value (already reported),
    /// so that it is not reported again as blank.
    invalid: Vec<bool>,
    lines: Vec<OrderLineRecord>,
}

/// Everything `read` needs besides the rows.
pub(crate) struct Context<'a> {
    pub file: &'a str,
    pub mapping: &'a OrdersMapping,
    /// The zone for local times: the mapping's own, or else the warehouse's.
    pub zone: &'a TimeZone,
    pub known_sku: &'a dyn Fn(&str) -> bool,
}

/// Reads order rows. Returns the orders, in the order they first appear, and the problems
/// found; the caller refuses the file unless there are none.
pub(crate) fn read(cx: &Context<'_>, rows: &[Row]) -> (Vec<OrderRecord>, Vec<ImportProblem>) {
    let mapping = cx.mapping;
    let specs = mapping.fields.all();
    let header_at = find_header(&specs, rows, mapping.header_search_rows);
    let Some(header) = rows.get(header_at) else {
        return (
            Vec::new(),
            vec![whole_file(cx.file, "the file has no rows")],
        );
    };
    let (columns, mut problems) = resolve(specs, header, cx.file);
    let [order_no, channel, paid_at, name, phone, address, postcode, sku, qty, note, flag, courier, waybill, status] =
        &columns;
    let field_column = |f: Field| -> &Column {
        match f {
            Field::Channel => channel,
            Field::PaidAt => paid_at,
            Field::RecipientName => name,
            Field::RecipientPhone => phone,
            Field::Address => address,
            Field::Postcode => postcode,
            Field::Note => note,
            Field::Flag => flag,
            Field::Courier => courier,
            Field::Waybill => waybill,
        }
    };

    let mut order_index: HashMap<String, usize> = HashMap::new();
    let mut pending: Vec<(String, Pending)> = Vec::new();

    for row in &rows[header_at + 1..] {
        let mut report = |column: &str, message: String| {
            problems.push(ImportProblem {
                file: cx.file.to_string(),
                row: row.line,
                column: column.to_string(),
                message,
            });
        };

        if status.present() {
            let (value, title) = status.get(row, mapping.unquote_cells);
            let listed = |list: &[String]| list.iter().any(|s| s == &value);
            if listed(&mapping.statuses.skip) {
                continue;
            }
            if !listed(&mapping.statuses.import) {
                let message = if value.is_empty() {
                    "order status is empty: every row needs one, to tell paid orders from \
                     cancelled or shipped ones"
                        .to_string()
                } else {
                    format!(
                        "unknown order status `{value}`: add it to the import or skip list \
                         in mappings/{}.toml",
                        mapping.name
                    )
                };
                report(title, message);
                continue;
            }
        }

        let (number, number_title) = order_no.get(row, mapping.unquote_cells);
        if number.is_empty() {
            if order_no.present() {
                report(number_title, "order number is empty".to_string());
            }
            continue;
        }

        let line = read_line(cx, row, sku, qty, &mut report);
        let values = read_values(cx, row, &field_column, &mut report);

        let at = *order_index.entry(number.clone()).or_insert_with(|| {
            pending.push((
                number.clone(),
                Pending {
                    first_line: row.line,
                    values: vec![None; ORDER_FIELDS.len()],
                    invalid: vec![false; ORDER_FIELDS.len()],
                    lines: Vec::new(),
                },
            ));
            pending.len() - 1
        });
        let order = &mut pending[at].1;
        for (k, value) in values.into_iter().enumerate() {
            let Some(value) = value else {
                order.invalid[k] = true;
                continue;
            };
            if value.is_empty() {
                continue;
            }
            match &order.values[k] {
                None => order.values[k] = Some((value, row.line)),
                Some((earlier, line)) if *earlier != value => report(
                    field_column(ORDER_FIELDS[k]).title(),
                    format!(
                        "`{value}` differs from `{earlier}` on line {line} of the same order `{number}`"
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(line) = line {
            match order.lines.iter_mut().find(|l| l.sku == line.sku) {
                Some(existing) => existing.qty = existing.qty.saturating_add(line.qty),
                None => order.lines.push(line),
            }
        }
    }

    let mut orders = Vec::with_capacity(pending.len());
    for (number, order) in pending {
        // Required order-level values may sit on any row of the order; blank on all of them
        // is one problem, on the order's first line.
        for (k, field) in ORDER_FIELDS.iter().enumerate() {
            let column = field_column(*field);
            if column.value_required() && order.values[k].is_none() && !order.invalid[k] {
                problems.push(ImportProblem {
                    file: cx.file.to_string(),
                    row: order.first_line,
                    column: column.title().to_string(),
                    message: format!("{} is empty for order `{number}`", describe(*field)),
                });
            }
        }
        let value = |f: Field| {
            order.values[key(f)]
                .clone()
                .map(|v| v.0)
                .unwrap_or_default()
        };
        if !value(Field::Waybill).is_empty()
            && value(Field::Courier).is_empty()
            && !order.invalid[key(Field::Courier)]
        {
            problems.push(ImportProblem {
                file: cx.file.to_string(),
                row: order.first_line,
                column: field_column(Field::Courier).title().to_string(),
                message: format!("order `{number}` has a waybill but no courier"),
            });
        }
        let channel_value = if mapping.channel.is_empty() {
            let c = value(Field::Channel).to_lowercase();
            if c.is_empty() {
                "generic".to_string()
            } else {
                c
            }
        } else {
            mapping.channel.clone()
        };
        orders.push(OrderRecord {
            order_no: number,
            channel: channel_value,
            paid_at: value(Field::PaidAt),
            recipient_name: value(Field::RecipientName),
            recipient_phone: value(Field::RecipientPhone),
            address: value(Field::Address),
            postcode: value(Field::Postcode),
            note: value(Field::Note),
            flag: Flag::parse(&value(Field::Flag)).unwrap_or_default(),
            courier: value(Field::Courier),
            waybill: value(Field::Waybill),
            lines: order.lines,
        });
    }
    (orders, problems)
}

fn describe(field: Field) -> &'static str {
    match field {
        Field::Channel => "channel",
        Field::PaidAt => "paid time",
        Field::RecipientName => "recipient name",
        Field::RecipientPhone => "recipient phone",
        Field::Address => "address",
        Field::Postcode => "postcode",
        Field::Note => "note",
        Field::Flag => "flag",
        Field::Courier => "courier",
        Field::Waybill => "waybill",
    }
}

/// Reads and checks a row's SKU and quantity. `None` when either is wrong (reported).
fn read_line(
    cx: &Context<'_>,
    row: &Row,
    sku: &Column,
    qty: &Column,
    report: &mut dyn FnMut(&str, String),
) -> Option<OrderLineRecord> {
    let unquote = cx.mapping.unquote_cells;
    let (sku_value, sku_title) = sku.get(row, unquote);
    let sku_ok = if sku_value.is_empty() {
        if sku.present() {
            report(sku_title, "SKU is empty".to_string());
        }
        false
    } else if !(cx.known_sku)(&sku_value) {
        report(
            sku_title,
            format!("unknown SKU `{sku_value}`: import the catalog first (or fix the SKU)"),
        );
        false
    } else {
        true
    };
    let (qty_text, qty_title) = qty.get(row, unquote);
    let qty_value = match parse_int(&qty_text) {
        Some(q) if q > 0 => Some(q),
        _ => {
            if qty.present() {
                report(
                    qty_title,
                    format!("quantity `{qty_text}` is not a whole number above 0"),
                );
            }
            None
        }
    };
    match (sku_ok, qty_value) {
        (true, Some(qty)) => Some(OrderLineRecord {
            sku: sku_value,
            qty,
        }),
        _ => None,
    }
}

/// Reads and checks a row's order-level values.
fn read_values<'c>(
    cx: &Context<'_>,
    row: &Row,
    field_column: &dyn Fn(Field) -> &'c Column,
    report: &mut dyn FnMut(&str, String),
) -> RowValues {
    let mapping = cx.mapping;
    let mut values = Vec::with_capacity(ORDER_FIELDS.len());
    let mut address_postcode = None;
    for field in ORDER_FIELDS {
        let column = field_column(field);
        let (raw, title) = column.get(row, mapping.unquote_cells);
        let value = match field {
            Field::PaidAt if !raw.is_empty() => {
                match parse_paid_at(&raw, cx.zone, &mapping.time_formats) {
                    Ok(utc) => Some(utc),
                    Err(message) => {
                        report(title, message);
                        None
                    }
                }
            }
            Field::Flag => {
                match Flag::parse(&raw) {
                    Some(Flag::None) => Some(String::new()),
                    Some(f) => Some(f.as_str().to_string()),
                    None => {
                        report(
                        title,
                        format!("unknown flag `{raw}`: use red, yellow, blue, purple or leave it empty"),
                    );
                        None
                    }
                }
            }
            Field::Courier if !raw.is_empty() => match courier_code(&raw) {
                Some(code) => Some(code.to_string()),
                None => {
                    report(
                        title,
                        format!("unknown courier `{raw}`: use a courier code or add the name to mappings/couriers.toml"),
                    );
                    None
                }
            },
            Field::Address if mapping.postcode_from_address => {
                let (rest, code) = split_postcode(&raw);
                address_postcode = code;
                Some(rest)
            }
            _ => Some(raw),
        };
        values.push(value);
    }
    // A postcode column wins over one written inside the address.
    if let Some(code) = address_postcode {
        let slot = &mut values[key(Field::Postcode)];
        if slot.as_deref().is_none_or(str::is_empty) {
            *slot = Some(code);
        }
    }
    values
}
