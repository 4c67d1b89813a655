//! [`RequestMethod`]: what the HTTP helpers need to know of a method, for
//! the crate's [`Method`] and the `http` crate's
//! [`Method`](::http::Method) alike.

use super::request::Method;

/// A request method as the helpers see it: its name, from which whether
/// it is `GET` or `HEAD` follows (methods are case-sensitive, RFC 9110
/// section 9.1).
///
/// Implemented for the crate's [`Method`], for `str`, and with the
/// `http-body` feature for [`::http::Method`].
///
/// ```
/// use producers::http::{Method, RequestMethod};
///
/// assert!(Method::Head.is_get_or_head());
/// assert!(!"get".is_get_or_head());
/// # #[cfg(feature = "http-body")]
/// assert!(http::Method::GET.is_get() && !http::Method::POST.is_get_or_head());
/// ```
pub trait RequestMethod {
    /// The method's name, as sent.
    fn method_name(&self) -> &str;

    /// Whether the method is `GET`: the only one with range handling (RFC
    /// 9110 section 14.2).
    fn is_get(&self) -> bool {
        self.method_name() == "GET"
    }

    /// Whether the method is `GET` or `HEAD`: the ones a failed
    /// `If-None-Match` answers with 304 rather than 412, and the only ones
    /// `If-Modified-Since` applies to (RFC 9110 sections 13.1.2, 13.1.3).
    fn is_get_or_head(&self) -> bool {
        matches!(self.method_name(), "GET" | "HEAD")
    }
}

impl RequestMethod for Method {
    fn method_name(&self) -> &str {
        self.as_str()
    }
}

impl RequestMethod for str {
    fn method_name(&self) -> &str {
        self
    }
}

impl<T: RequestMethod + ?Sized> RequestMethod for &T {
    fn method_name(&self) -> &str {
        (**self).method_name()
    }
}

#[cfg(feature = "http-body")]
impl RequestMethod for ::http::Method {
    fn method_name(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_sensitive() {
        assert!(Method::Get.is_get() && Method::Get.is_get_or_head());
        assert!(!Method::Head.is_get() && Method::Head.is_get_or_head());
        assert!(!Method::Post.is_get_or_head());
        assert!(!"Get".is_get_or_head());
        #[cfg(feature = "http-body")]
        {
            assert!(::http::Method::GET.is_get());
            assert!(::http::Method::HEAD.is_get_or_head());
            assert!(!::http::Method::PUT.is_get_or_head());
        }
    }
}
