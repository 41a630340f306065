//! SQL of the handover workflow.

#[allow(unused_imports)]
use rusqlite::Connection;
