//! gzip (RFC 1952), zlib (RFC 1950) and raw deflate (RFC 1951): encoders with a flush policy, bounded decoders.
