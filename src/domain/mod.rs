//! The warehouse rules as plain Rust: no I/O, no clock, no database. Everything here is a
//! value in, value out function or a small state machine, so it can be read and unit-tested
//! on its own. Adapters (`storage`, `http`, `devices`, `imports`) call into it.

pub mod codes;
pub mod order;
pub mod packing;
pub mod waybill;
pub mod weight;

pub use order::{CatalogItem, Flag, Grams, OrderLineRecord, OrderRecord};
