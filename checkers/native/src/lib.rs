//! oversell_native: the compiled hot path of `oversell check` (see sweep.rs).
//!
//! The algorithm is plain Rust and needs no Python; the Python module (`python.rs`) is the cargo
//! feature `python`, which maturin turns on (pyproject.toml). So `cargo test` builds and runs the
//! tests without an interpreter or libpython.

pub mod bits;
mod config;
mod hash;
pub mod input;
mod moves;
mod prepare;
mod prune;
#[cfg(feature = "python")]
mod python;
mod search;
pub mod sweep;
mod trace;

pub use input::Input;
pub use sweep::{check, Outcome, Stats, Verdict};
