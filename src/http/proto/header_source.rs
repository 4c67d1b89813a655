//! [`HeaderSource`]: where the HTTP helpers read request header fields
//! from, so one implementation of each decision serves the crate's own
//! [`RequestHead`] and the `http` crate's [`HeaderMap`](::http::HeaderMap)
//! (hyper, axum).

use super::request::RequestHead;

/// Read access to a request's header fields: every value of a field, by
/// name.
///
/// The helpers ([`answer`](crate::http::answer),
/// [`negotiate_encoding`](crate::http::negotiate_encoding)) ask only for
/// lowercase names (`"if-none-match"`, `"range"` …); an implementation
/// matches them case-insensitively, and yields the values of repeated
/// lines in the order they were received (RFC 9110 section 5.3: a list
/// field sent on several lines is one comma-separated list).
///
/// Implemented for the crate's [`RequestHead`] and, with the `http-body`
/// feature, for [`::http::HeaderMap`] and [`::http::request::Parts`].
///
/// ```
/// use producers::http::{HeaderSource, RequestHead};
///
/// let head = RequestHead::parse("GET / HTTP/1.1\r\nHost: a\r\nAccept: x\r\nACCEPT: y\r\n\r\n".into())?;
/// let values: Vec<&[u8]> = head.header_values("accept").collect();
/// assert_eq!(values, [&b"x"[..], b"y"]);
///
/// # #[cfg(feature = "http-body")] {
/// let mut map = http::HeaderMap::new();
/// map.append("If-None-Match", "\"a\"".parse().unwrap());
/// map.append("if-none-match", "\"b\"".parse().unwrap());
/// let values: Vec<&[u8]> = map.header_values("if-none-match").collect();
/// assert_eq!(values, [&b"\"a\""[..], b"\"b\""]);
/// # }
/// # Ok::<(), producers::http::HttpError>(())
/// ```
pub trait HeaderSource {
    /// Every value of the field `name` (lowercase), in order; none when it
    /// was not sent.
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a;

    /// Whether the field `name` was sent at all (even with an empty value).
    fn has_header(&self, name: &str) -> bool {
        self.header_values(name).next().is_some()
    }
}

impl HeaderSource for RequestHead {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers(name).map(|v| &v[..])
    }
}

impl<T: HeaderSource + ?Sized> HeaderSource for &T {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        (**self).header_values(name)
    }
}

#[cfg(feature = "http-body")]
impl HeaderSource for ::http::HeaderMap {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).iter().map(|v| v.as_bytes())
    }
}

#[cfg(feature = "http-body")]
impl HeaderSource for ::http::request::Parts {
    fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers.header_values(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_values_in_order_case_insensitive() {
        let head = RequestHead::parse(
            "GET / HTTP/1.1\r\nHost: a\r\nRange: bytes=0-1\r\nIf-Match: \"a\"\r\nif-match: \"b\"\r\n\r\n"
                .into(),
        )
        .unwrap();
        let v: Vec<&[u8]> = head.header_values("if-match").collect();
        assert_eq!(v, [&b"\"a\""[..], b"\"b\""]);
        assert!(head.has_header("range"));
        assert!(!head.has_header("if-range"));
    }

    #[cfg(feature = "http-body")]
    #[test]
    fn header_map_values_in_order() {
        let mut map = ::http::HeaderMap::new();
        map.append("If-None-Match", "\"a\"".parse().unwrap());
        map.append("if-none-match", "\"b\"".parse().unwrap());
        let v: Vec<&[u8]> = map.header_values("if-none-match").collect();
        assert_eq!(v, [&b"\"a\""[..], b"\"b\""]);
        assert!(!map.has_header("range"));
    }
}
