//! The warehouse rules as plain Rust: no I/O, no clock, no database. Everything here is a
//! value in, value out function or a small state machine, so it can be read and unit-tested
//! on its own. Adapters (`storage`, `http`, `devices`, `imports`) call into it.

pub mod camera;
pub mod codes;
pub mod ledger;
pub mod order;
pub mod packing;
pub mod ratecard;
pub mod reconcile;
pub mod seal;
pub mod stocktake;
pub mod wave;
pub mod waybill;
pub mod weight;

pub use order::{CatalogItem, Flag, Grams, OrderLineRecord, OrderRecord};

#[cfg(test)]
mod tests {
    /// The invariant of ARCHITECTURE.md: the rules do no I/O and know no adapter.
    #[test]
    fn domain_names_no_adapter() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for word in [
                    "rusqlite",
                    "tokio",
                    "axum",
                    "serialport",
                    "std::fs",
                    "std::net",
                    "Timestamp::now",
                ] {
                    assert!(
                        !text.contains(word) || path.ends_with("mod.rs"),
                        "{} mentions {word}",
                        path.display()
                    );
                }
            }
        }
    }
}
