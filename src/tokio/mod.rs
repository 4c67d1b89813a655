//! tokio adapters (feature `tokio`).
//!
//! Work in progress (issue 13).

pub mod codec;
mod feed;
mod file;
mod read;
mod write;
