//! SQL of the ledger workflow.

#[allow(unused_imports)]
use rusqlite::Connection;
