//! packbench: the software of a warehouse's packing benches.
//!
//! `domain` holds the rules and does no I/O; `storage` is the only place that knows SQL;
//! `http` serves the JSON API and the pages; `devices` speaks to scanners, scales and
//! printers (and simulates them); `labels` renders templates to printer languages and PDF;
//! `imports` turns marketplace files into domain records. `service` is the glue that runs a
//! scan or a weight reading through the rules and records the result.

pub mod bench;
pub mod camera;
pub mod config;
pub mod demo;
pub mod devices;
pub mod domain;
pub mod exports;
pub mod http;
pub mod hub;
pub mod i18n;
pub mod imports;
pub mod labels;
pub mod service;
pub mod storage;
pub mod waybills;
