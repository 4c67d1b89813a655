//! SMTP/NNTP dot-stuffing (RFC 5321 section 4.5.2), both ways, and split-safe escaping.
