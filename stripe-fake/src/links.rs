//! The URLs the fake hands out: the 3-D Secure page with the shop's return URL, and the return
//! to the shop with the outcome, built as Stripe builds them.

/// `url` with `pairs` appended to its query (`?` or `&` as needed, before any `#fragment`).
pub(crate) fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let mut out = base.to_owned();
    for (name, value) in pairs {
        if !out.contains('?') {
            out.push('?');
        } else if !out.ends_with('?') && !out.ends_with('&') {
            out.push('&');
        }
        out.push_str(&encode(name));
        out.push('=');
        out.push_str(&encode(value));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// `text` percent-encoded for a query component: everything but RFC 3986's unreserved
/// characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_with_the_right_separator_and_keeps_the_fragment() {
        assert_eq!(with_query("http://a/b", &[("x", "1")]), "http://a/b?x=1");
        assert_eq!(
            with_query(
                "http://a/b?y=2#top",
                &[("x", "a b"), ("z", "http://c/?d=e")]
            ),
            "http://a/b?y=2&x=a%20b&z=http%3A%2F%2Fc%2F%3Fd%3De#top"
        );
        assert_eq!(with_query("http://a/b?", &[("x", "1")]), "http://a/b?x=1");
    }
}
