//! [`Shared`]: what every connection of a server shares.

use std::io;

use super::config::ServerConfig;
use crate::http::files::{FileSettings, Files, OpenCacheSettings};
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
                codings: config.codings.clone(),
                max_heavy_encoders: config.max_heavy_encoders,
                sendfile_min: config.sendfile_min,
                max_listing: config.max_listing,
                show_hidden: config.show_hidden,
                upload: config.upload,
                gzip_level: config.gzip_level,
                gzip_window_bits: config.gzip_window_bits,
                range_limits: RangeLimits {
                    max_ranges: config.max_ranges,
                },
                open_cache: OpenCacheSettings {
                    max_entries: config.open_file_cache_entries,
                    max_bytes: config.open_file_cache_bytes,
                    max_file: config.cached_file_max,
                    revalidate: config.revalidate,
                },
                gzip_static: config.gzip_static,
                variant_bytes: config.gzip_cache_bytes,
                variant_max_file: config.gzip_cache_max_file,
            },
        )?;
        Ok(Shared { config, files })
    }
}
