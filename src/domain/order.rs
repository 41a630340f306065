//! Catalog items and orders as they come in from imports. These are the records the
//! importers produce and storage keeps; the packing rules read them.

use serde::{Deserialize, Serialize};

/// A weight in whole grams. Weights are never floats in this product.
pub type Grams = i64;

/// One sellable item. A SKU may carry several barcodes (EAN-13 on the box, an internal
/// Code 128 on a sticker, ...); any of them identifies it at the bench.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub sku: String,
    pub name: String,
    pub barcodes: Vec<String>,
    pub unit_weight_g: Grams,
    pub location: String,
    /// Unit cost in minor units of the warehouse currency (won, fen).
    pub cost: i64,
    /// Tolerance category (e.g. `fragile`, `liquid`); empty when none.
    pub category: String,
    /// Option text such as colour/size, shown on the bench line.
    pub option: String,
}

/// The coloured flags of seed 002 (销售管理 10, 20, 21): red = special instruction to read
/// at packing, yellow = hold / do not ship, blue = exchange, purple = return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Flag {
    #[default]
    None,
    Red,
    Yellow,
    Blue,
    Purple,
}

impl Flag {
    /// Parses the flag column: empty, an English colour, or the Korean/Chinese word.
    pub fn parse(s: &str) -> Option<Flag> {
        let s = s.trim().to_lowercase();
        Some(match s.as_str() {
            "" | "none" | "-" => Flag::None,
            "red" | "빨강" | "빨간" | "红" | "红旗" => Flag::Red,
            "yellow" | "hold" | "노랑" | "노란" | "黄" | "黄旗" => Flag::Yellow,
            "blue" | "exchange" | "파랑" | "파란" | "蓝" | "蓝旗" => Flag::Blue,
            "purple" | "return" | "보라" | "紫" | "紫旗" => Flag::Purple,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::None => "none",
            Flag::Red => "red",
            Flag::Yellow => "yellow",
            Flag::Blue => "blue",
            Flag::Purple => "purple",
        }
    }

    /// A yellow flag means the order must not ship.
    pub fn is_hold(self) -> bool {
        self == Flag::Yellow
    }
}

/// An order as imported: header plus its lines. `paid_at` is UTC, RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    pub order_no: String,
    pub channel: String,
    pub paid_at: String,
    pub recipient_name: String,
    pub recipient_phone: String,
    pub address: String,
    pub postcode: String,
    pub note: String,
    pub flag: Flag,
    /// A pre-printed waybill for this order, when the file carries one (Taobao's 运单号).
    pub courier: String,
    pub waybill: String,
    pub lines: Vec<OrderLineRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLineRecord {
    pub sku: String,
    pub qty: i64,
}
