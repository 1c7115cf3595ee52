//! kha-tui: inventory → plan → engine → transport; the TUI is a view on engine events.
pub mod assets;
pub mod cli;
pub mod day2;
pub mod drill;
pub mod engine;
pub mod inventory;
pub mod plan;
pub mod shell;
pub mod transport;
pub mod tui;
pub mod versions;
