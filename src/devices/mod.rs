//! Devices at the bench: how the server talks to printers (and, as they are added, scales
//! and scanners), and the simulators that stand in for them.
//!
//! Every device has a simulator so the whole product runs and is tested on a machine with
//! no hardware; a device fault is reported as an error and never loses a scan or a shipment.

pub mod printer;
pub mod profile;
pub mod scale;
pub mod scanner;
pub mod sheet;
pub mod transport;
