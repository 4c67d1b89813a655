//! tokio adapters (feature `tokio`).
//!
//! Work in progress (issue 13).

mod codec;
mod feed;
mod file;
mod read;
mod write;
