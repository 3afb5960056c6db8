//! Cross-site request forgery: another site must not be able to post our forms in a visitor's
//! name (buy a ticket, sign them in to the attacker's account, sign them out).
//!
//! [`protect`] runs before every page's handler. A request that may change something (any
//! method but GET, HEAD and OPTIONS) passes two checks, or is answered with the 403 page
//! ([`PageError::CrossSite`]) without its handler running, so without any API call:
//!
//! 1. **Where it comes from.** `Sec-Fetch-Site` when the browser sends it (`same-origin` and
//!    `none` pass; `same-site` and `cross-site` do not); else `Origin`, which must be the
//!    client's own origin as the request addressed it (scheme from `X-Forwarded-Proto`, host
//!    from `Host`); else the origin of `Referer`. A request with none of the three comes from no
//!    browser a forged post could run in, and is left to the second check.
//! 2. **A token only our pages know** (double-submit): the `csrf` cookie holds 32 random bytes,
//!    every form carries the same value in its hidden `csrf_token` field, and the two must match.
//!    Another site can make a browser send the cookie, but cannot read it or our pages, so it
//!    cannot fill in the field. Forms used before any session exists (sign in, sign up) carry it
//!    too: that is what stops login CSRF.
//!
//! A page (a GET) gets the visitor's token as a [`CsrfToken`] to put in its forms; a visitor
//! without one gets a new one, and its cookie with the page. The verdict on a post's origin is
//! a pure function of its headers (`check_origin`), tested below. The token itself, its cookie
//! and its field are [`crate::csrf_token`]'s.

use anyhow::anyhow;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::server::BODY_LIMIT_BYTES;
use reqwest::Url;

pub use crate::csrf_token::{COOKIE_NAME, CsrfToken, FIELD_NAME};
use crate::csrf_token::{posted_token, token_in_cookie};
use crate::page::PageError;

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CsrfToken>()
            .cloned()
            .ok_or_else(|| anyhow!("no CSRF token: the route is outside csrf::protect").into())
    }
}

/// The middleware: a page runs with the visitor's token, a post only once it passed both checks
/// (see the module's doc).
pub async fn protect(request: Request, next: Next) -> Response {
    if is_safe(request.method()) {
        return with_token(request, next).await;
    }
    match checked(request).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => refusal.into_response(),
    }
}

/// Runs a page with the visitor's token, or with a new one whose cookie its answer sets.
async fn with_token(mut request: Request, next: Next) -> Response {
    if let Some(token) = token_in_cookie(request.headers()) {
        request.extensions_mut().insert(token);
        return next.run(request).await;
    }
    let token = CsrfToken::generate();
    let cookie = token.cookie(came_over_https(request.headers()));
    request.extensions_mut().insert(token);
    let mut response = next.run(request).await;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The post, if it comes from our own pages and carries the visitor's token; that token goes
/// with it, for a form shown again (with the API's messages). Otherwise the page to answer.
async fn checked(request: Request) -> Result<Request, PageError> {
    if let Err(refusal) = check_origin(request.headers(), request.uri().authority()) {
        tracing::info!(%refusal, "refused a cross-site post");
        return Err(PageError::CrossSite);
    }
    if !is_form_or_empty(request.headers()) {
        // No form of ours sends anything else.
        return Err(PageError::BadRequest);
    }
    let cookie = token_in_cookie(request.headers());
    let (parts, body) = request.into_parts();
    let body = to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|_| PageError::BadRequest)?;
    let posted = posted_token(&body);
    let Some(token) = cookie.filter(|token| posted.is_some_and(|posted| token.matches(posted)))
    else {
        tracing::info!("refused a post without the visitor's CSRF token");
        return Err(PageError::CrossSite);
    };
    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(token);
    Ok(request)
}

/// Why a post was refused as coming from another site.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Refusal {
    /// `Sec-Fetch-Site` is not `same-origin` or `none`.
    #[error("Sec-Fetch-Site is not same-origin")]
    FetchSite,
    /// `Origin` is not the client's own.
    #[error("Origin is another site")]
    Origin,
    /// `Referer` is on another origin.
    #[error("Referer is another site")]
    Referer,
}

/// Whether a post's headers say it comes from one of our own pages: `Sec-Fetch-Site`, else
/// `Origin`, else `Referer` (see the module's doc). `authority` is the request URI's, for the
/// own origin when there is no `Host` header (HTTP/2).
fn check_origin(
    headers: &HeaderMap,
    authority: Option<&axum::http::uri::Authority>,
) -> Result<(), Refusal> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(Refusal::FetchSite),
        };
    }
    let own = own_origin(headers, authority);
    let is_own = |url: &HeaderValue| {
        let url = url.to_str().ok().and_then(|url| Url::parse(url).ok());
        matches!((url, &own), (Some(url), Some(own)) if url.origin() == own.origin())
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        return if is_own(origin) {
            Ok(())
        } else {
            Err(Refusal::Origin)
        };
    }
    if let Some(referer) = headers.get(header::REFERER) {
        return if is_own(referer) {
            Ok(())
        } else {
            Err(Refusal::Referer)
        };
    }
    Ok(())
}

/// The client's origin as the browser addressed it: `X-Forwarded-Proto` (set by the ingress)
/// or `http`, and `Host`.
fn own_origin(headers: &HeaderMap, authority: Option<&axum::http::uri::Authority>) -> Option<Url> {
    let scheme = if came_over_https(headers) {
        "https"
    } else {
        "http"
    };
    let host = match headers.get(header::HOST) {
        Some(host) => host.to_str().ok()?,
        None => authority?.as_str(),
    };
    Url::parse(&format!("{scheme}://{host}")).ok()
}

/// Whether the first proxy saw HTTPS (`X-Forwarded-Proto`'s first entry).
fn came_over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A urlencoded form, or no `Content-Type` at all (a bodiless post).
fn is_form_or_empty(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_none_or(|value| {
        value
            .to_str()
            .ok()
            .and_then(|value| value.split(';').next())
            .is_some_and(|essence| {
                essence
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    fn verdict(pairs: &[(&'static str, &'static str)]) -> Result<(), Refusal> {
        check_origin(&headers(pairs), None)
    }

    #[test]
    fn sec_fetch_site_decides_when_present() {
        let host = ("host", "ticketing.dev");
        for site in ["same-origin", "none"] {
            let sent = [host, ("sec-fetch-site", site)];
            assert_eq!(verdict(&sent), Ok(()), "{site}");
        }
        for site in ["same-site", "cross-site", "", "Same-Origin"] {
            let sent = [
                host,
                ("sec-fetch-site", site),
                ("origin", "http://ticketing.dev"),
            ];
            assert_eq!(verdict(&sent), Err(Refusal::FetchSite), "{site}");
        }
    }

    #[test]
    fn origin_must_be_the_address_the_request_was_sent_to() {
        let host = ("host", "ticketing.dev");
        assert_eq!(verdict(&[host, ("origin", "http://ticketing.dev")]), Ok(()));
        assert_eq!(
            verdict(&[host, ("origin", "http://TICKETING.dev:80")]),
            Ok(())
        );
        let https = ("x-forwarded-proto", "https");
        assert_eq!(
            verdict(&[host, https, ("origin", "https://ticketing.dev")]),
            Ok(())
        );
        for origin in [
            "https://evil.example",
            "http://ticketing.dev.evil.example",
            "http://sub.ticketing.dev",
            "http://ticketing.dev:8080",
            "https://ticketing.dev",
            "null",
            "",
        ] {
            let sent = [host, ("origin", origin)];
            assert_eq!(verdict(&sent), Err(Refusal::Origin), "{origin}");
        }
        // Served over HTTPS, a page on the plain-HTTP origin is another origin.
        assert_eq!(
            verdict(&[host, https, ("origin", "http://ticketing.dev")]),
            Err(Refusal::Origin)
        );
        // Origin outranks Referer.
        assert_eq!(
            verdict(&[
                host,
                ("origin", "https://evil.example"),
                ("referer", "http://ticketing.dev/auth/signin")
            ]),
            Err(Refusal::Origin)
        );
        assert_eq!(
            verdict(&[("origin", "http://ticketing.dev")]),
            Err(Refusal::Origin),
            "no Host: no own origin to match"
        );
    }

    #[test]
    fn referer_is_the_last_resort() {
        let host = ("host", "127.0.0.1:3000");
        assert_eq!(
            verdict(&[host, ("referer", "http://127.0.0.1:3000/tickets/new?x=1")]),
            Ok(())
        );
        for referer in ["https://evil.example/page", "not a url"] {
            let sent = [host, ("referer", referer)];
            assert_eq!(verdict(&sent), Err(Refusal::Referer), "{referer}");
        }
    }

    #[test]
    fn a_request_from_no_browser_is_left_to_the_token() {
        assert_eq!(verdict(&[("host", "ticketing.dev")]), Ok(()));
        assert_eq!(verdict(&[]), Ok(()));
    }

    #[test]
    fn without_a_host_header_the_uri_authority_is_the_own_host() {
        let authority = axum::http::uri::Authority::from_static("ticketing.dev");
        let sent = headers(&[("origin", "http://ticketing.dev")]);
        assert_eq!(check_origin(&sent, Some(&authority)), Ok(()));
    }

    #[test]
    fn the_cookie_has_the_session_cookies_attributes_and_secure_over_https() {
        let token = CsrfToken::parse(&"a".repeat(64)).unwrap();
        assert_eq!(
            token.cookie(false),
            format!("csrf={}; path=/; samesite=lax; httponly", "a".repeat(64)).as_str()
        );
        assert_eq!(
            token.cookie(true),
            format!(
                "csrf={}; path=/; samesite=lax; secure; httponly",
                "a".repeat(64)
            )
            .as_str()
        );
        assert!(came_over_https(&headers(&[(
            "x-forwarded-proto",
            "https, http"
        )])));
        assert!(!came_over_https(&headers(&[("x-forwarded-proto", "http")])));
        assert!(!came_over_https(&headers(&[])));
    }

    #[test]
    fn only_forms_and_empty_posts_are_read() {
        assert!(is_form_or_empty(&headers(&[])));
        assert!(is_form_or_empty(&headers(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8"
        )])));
        for other in [
            "application/json",
            "text/plain",
            "multipart/form-data; boundary=x",
        ] {
            assert!(
                !is_form_or_empty(&headers(&[("content-type", other)])),
                "{other}"
            );
        }
    }
}
