//! Files packbench writes for other systems. `dispatch`: the shipping confirmation file a
//! marketplace takes for bulk upload (order number, courier as the marketplace names it,
//! waybill), in CSV or XLSX, with each marketplace's columns and courier names as data.

pub mod dispatch;
