//! The stock workflow: `impl App` methods (see ARCHITECTURE.md).

#[allow(unused_imports)]
use super::App;
