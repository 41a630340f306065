//! SQL of the waves workflow.

#[allow(unused_imports)]
use rusqlite::Connection;
