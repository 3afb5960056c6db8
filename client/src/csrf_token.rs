//! The anti-CSRF token itself: 32 random bytes as hex, kept in the `csrf` cookie and carried
//! back in every form's hidden `csrf_token` field; what a post must show to pass
//! [`crate::csrf::protect`].
//!
//! Apart from the protection, because the API client ([`crate::api`]) needs to know the
//! cookie too: it strips it from what it forwards, the token being the client's alone.

use std::fmt;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue};
use subtle::ConstantTimeEq as _;

/// The cookie holding the visitor's token.
pub const COOKIE_NAME: &str = "csrf";
/// The hidden form field carrying it back.
pub const FIELD_NAME: &str = "csrf_token";
/// Random bytes in a token; it is written as twice as many hex digits.
const TOKEN_BYTES: usize = 32;

/// The visitor's anti-CSRF token, for a page's forms (`{% include "csrf.html" %}`).
#[derive(Clone, PartialEq, Eq)]
pub struct CsrfToken(String);

impl CsrfToken {
    /// A new token: 32 bytes from the thread's cryptographically secure generator, as hex.
    pub(crate) fn generate() -> CsrfToken {
        CsrfToken(hex::encode(rand::random::<[u8; TOKEN_BYTES]>()))
    }

    /// `text` if it has the shape of a token we issue, so nothing else is ever echoed in a page.
    pub(crate) fn parse(text: &str) -> Option<CsrfToken> {
        let well_formed = text.len() == 2 * TOKEN_BYTES
            && text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        well_formed.then(|| CsrfToken(text.to_owned()))
    }

    /// Whether `posted` is this token, compared in constant time.
    pub(crate) fn matches(&self, posted: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(posted).into()
    }

    /// The `Set-Cookie` value storing it: the session cookie's attributes (`path=/`,
    /// `samesite=lax`, `httponly`), `secure` when the request came over HTTPS.
    pub(crate) fn cookie(&self, secure: bool) -> HeaderValue {
        let secure = if secure { "secure; " } else { "" };
        let cookie = format!(
            "{COOKIE_NAME}={}; path=/; samesite=lax; {secure}httponly",
            self.0
        );
        // Hex digits and fixed text only: always a valid header value.
        HeaderValue::try_from(cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CsrfToken(***)")
    }
}

/// The first well-formed `csrf` cookie of the request.
pub(crate) fn token_in_cookie(headers: &HeaderMap) -> Option<CsrfToken> {
    common::session::request_cookies(headers)
        .filter(|cookie| cookie.name() == COOKIE_NAME)
        .find_map(|cookie| CsrfToken::parse(cookie.value()))
}

/// A `Cookie` header without the `csrf` cookie, or `None` when nothing else is left: the API
/// has no use for the token. The other cookies are passed on as the browser wrote them.
pub(crate) fn without_token_cookie(cookies: &HeaderValue) -> Option<HeaderValue> {
    let Ok(text) = cookies.to_str() else {
        return Some(cookies.clone());
    };
    let kept: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split('=').next().map(str::trim) != Some(COOKIE_NAME))
        .collect();
    if kept.is_empty() {
        return None;
    }
    HeaderValue::try_from(kept.join("; ")).ok()
}

/// The `csrf_token` field of a urlencoded body, as posted. A token is hex digits, which a
/// browser never percent-encodes, so its bytes are compared as they come.
pub(crate) fn posted_token(body: &Bytes) -> Option<&[u8]> {
    body.split(|&byte| byte == b'&')
        .find_map(|pair| pair.strip_prefix(FIELD_NAME.as_bytes())?.strip_prefix(b"="))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header;

    #[test]
    fn tokens_are_random_hex_and_only_well_formed_cookies_count() {
        let token = CsrfToken::generate();
        assert_eq!(token.0.len(), 64);
        assert_ne!(token, CsrfToken::generate());
        assert_eq!(CsrfToken::parse(&token.0), Some(token.clone()));
        for bad in [
            "",
            "abc",
            &"g".repeat(64),
            &token.0.to_uppercase(),
            &format!("{}0", token.0),
        ] {
            assert_eq!(CsrfToken::parse(bad), None, "{bad}");
        }
        let cookie = format!("session=abc; csrf=nope; csrf={}", token.0);
        let sent = HeaderMap::from_iter([(header::COOKIE, HeaderValue::try_from(cookie).unwrap())]);
        assert_eq!(token_in_cookie(&sent), Some(token.clone()));
        assert_eq!(format!("{token:?}"), "CsrfToken(***)");
    }

    #[test]
    fn the_api_is_not_sent_the_token_cookie() {
        let without = |cookies: &'static str| {
            without_token_cookie(&HeaderValue::from_static(cookies))
                .map(|value| value.to_str().unwrap().to_owned())
        };
        assert_eq!(
            without("session=abc; csrf=123;xcsrf=1; csrf =2").as_deref(),
            Some("session=abc; xcsrf=1")
        );
        assert_eq!(without("csrf=123"), None);
        assert_eq!(without("session=a=b").as_deref(), Some("session=a=b"));
    }

    #[test]
    fn the_token_is_read_from_its_own_field_only() {
        let body = Bytes::from_static(b"email=a%40b.c&xcsrf_token=1&csrf_token=abc&csrf_token=def");
        assert_eq!(posted_token(&body), Some(&b"abc"[..]));
        assert_eq!(posted_token(&Bytes::from_static(b"csrf_token")), None);
        assert_eq!(posted_token(&Bytes::new()), None);
    }
}
