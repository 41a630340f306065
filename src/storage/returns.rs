//! SQL of the returns workflow.

#[allow(unused_imports)]
use rusqlite::Connection;
