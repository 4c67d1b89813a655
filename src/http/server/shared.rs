//! [`Shared`]: what every connection of a server shares.

use std::io;

use super::config::ServerConfig;
use crate::http::files::{FileSettings, Files};
use crate::http::proto::RangeLimits;

/// What every connection of a server shares: the configuration and the
/// files served.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    /// The root, opened once.
    pub(crate) files: Files,
}

impl Shared {
    /// Opens the root `config` names; fails if it is not a directory.
    pub(crate) fn new(config: ServerConfig) -> io::Result<Shared> {
        let files = Files::new(
            &config.root,
            FileSettings {
                gzip_threshold: config.gzip_threshold,
                sendfile_min: config.sendfile_min,
                max_listing: config.max_listing,
                range_limits: RangeLimits {
                    max_ranges: config.max_ranges,
                },
            },
        )?;
        Ok(Shared { config, files })
    }
}
