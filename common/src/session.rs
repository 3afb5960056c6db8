//! The session: a `session` cookie holding a JWT, and the extractors that read it.
//!
//! The cookie value is standard base64 of `{"jwt":"<token>"}`, written exactly as the original's
//! cookie-session wrote it (`session=<b64>; path=/; httponly`) plus `samesite=lax`, and `secure`
//! when `COOKIE_SECURE=true`. It is read leniently: url-safe base64 and missing padding are
//! accepted, the 2020 name `express:sess` too, and anything undecodable, badly signed or expired
//! simply means "no user". The JWT is HS256 over `{id, email, iat, exp, jti}`; every service
//! trusts an unexpired token signed with `JWT_KEY` without calling auth, unless it is revoked
//! (signed out, or its user banned: [`crate::revocation`]). A token without `jti` (issued
//! before tokens could be revoked) is no session.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub use crate::claims::Claims;
use crate::config::{self, ConfigError, Secret};
use crate::error::ApiError;
use crate::revocation_set::{RevocationSettings, Revocations};

/// The cookie's name.
pub const COOKIE_NAME: &str = "session";
/// The name cookie-session 1.x used; still accepted on read.
const LEGACY_COOKIE_NAME: &str = "express:sess";

/// Session settings, read from the environment.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// `JWT_KEY`: the HS256 signing key (required).
    pub jwt_key: Secret,
    /// `JWT_TTL_SECONDS`: token lifetime (default one day).
    pub ttl: Duration,
    /// `COOKIE_SECURE`: add `secure` to the cookie (default false, for plain-HTTP dev).
    pub cookie_secure: bool,
    /// `REVOCATIONS_MAX_ENTRIES`: how many revoked tokens and bans are held at once.
    pub revocations: RevocationSettings,
    /// `SESSION_CACHE_ENTRIES`: how many verified session cookies are remembered, so that a
    /// user's next request skips decoding and checking the signature (default
    /// [`DEFAULT_CACHED_SESSIONS`]; 0: none).
    pub cached: usize,
}

/// Verified session cookies remembered, by default: a few MB at most (a cookie and its
/// claims are about 600 bytes).
pub const DEFAULT_CACHED_SESSIONS: usize = 4096;

/// The shortest `JWT_KEY` a service accepts: HS256 wants a key as long as its hash (RFC 7518
/// §3.2), and a short one can be guessed offline from any session cookie.
pub const MIN_JWT_KEY_BYTES: usize = 32;

impl SessionSettings {
    /// Reads `JWT_KEY` (at least [`MIN_JWT_KEY_BYTES`] bytes), `JWT_TTL_SECONDS`,
    /// `COOKIE_SECURE`, `REVOCATIONS_MAX_ENTRIES` and `SESSION_CACHE_ENTRIES`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let jwt_key = config::required("JWT_KEY")?;
        if jwt_key.len() < MIN_JWT_KEY_BYTES {
            return Err(ConfigError::Invalid {
                name: "JWT_KEY",
                reason: format!(
                    "it is {} bytes long, and must be at least {MIN_JWT_KEY_BYTES} \
                     (make one with `openssl rand -hex 32`)",
                    jwt_key.len()
                ),
            });
        }
        Ok(SessionSettings {
            jwt_key: Secret::new(jwt_key),
            ttl: Duration::from_secs(config::parsed_or("JWT_TTL_SECONDS", 86_400_u64)?),
            cookie_secure: config::flag("COOKIE_SECURE", false)?,
            revocations: RevocationSettings::from_env()?,
            cached: config::parsed_or("SESSION_CACHE_ENTRIES", DEFAULT_CACHED_SESSIONS)?,
        })
    }
}

/// Every well-formed cookie of the request's `Cookie` headers, in their order; malformed
/// ones are skipped, as a browser would.
pub fn request_cookies(headers: &HeaderMap) -> impl Iterator<Item = cookie::Cookie<'_>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
}

/// Issues and reads sessions. Cheap to clone; put one in each service's state.
#[derive(Clone)]
pub struct Sessions(Arc<Keys>);

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    secure: bool,
    revocations: Revocations,
    /// Cookie values already decoded and verified, with their claims: checked again on each
    /// use for expiry and revocation only. Only a cookie signed with our key gets in, so
    /// nobody without the key can fill it; it holds at most `SESSION_CACHE_ENTRIES`.
    verified: Option<quick_cache::sync::Cache<String, Claims>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.0.ttl)
            .field("secure", &self.0.secure)
            .finish()
    }
}

/// Base64 as Node decodes it: padding optional.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

#[derive(Serialize, Deserialize)]
struct CookieSession {
    jwt: String,
}

impl Sessions {
    /// Sessions signed and checked with `settings.jwt_key`, refused when `revocations` says.
    pub fn new(settings: &SessionSettings, revocations: Revocations) -> Self {
        let key = settings.jwt_key.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Sessions(Arc::new(Keys {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            ttl: settings.ttl,
            secure: settings.cookie_secure,
            revocations,
            verified: (settings.cached > 0).then(|| quick_cache::sync::Cache::new(settings.cached)),
        }))
    }

    /// A signed token for the user, valid from now for the configured lifetime.
    pub fn issue(&self, id: &str, email: &str) -> Result<(Claims, String), ApiError> {
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|error| ApiError::Internal(error.into()))?
            .as_secs();
        let claims = Claims {
            id: id.to_owned(),
            email: email.to_owned(),
            iat,
            exp: iat + self.0.ttl.as_secs(),
            jti: mongodb::bson::oid::ObjectId::new().to_hex(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.0.encoding)
            .map_err(|error| ApiError::Internal(error.into()))?;
        Ok((claims, token))
    }

    /// The claims of `token` if it is signed with our key, HS256, not expired and not revoked.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.0.decoding, &self.0.validation)
            .ok()
            .map(|data| data.claims)
            .filter(|claims| self.0.revocations.allows(claims))
    }

    /// `claims` of a token verified earlier, if it is still unexpired and unrevoked: the
    /// checks of [`Sessions::verify`] that time can change.
    fn still_valid(&self, claims: Claims) -> Option<Claims> {
        // As the validation has it, with no leeway: valid through the second `exp`.
        let unexpired = claims.exp >= jsonwebtoken::get_current_timestamp();
        (unexpired && self.0.revocations.allows(&claims)).then_some(claims)
    }

    /// The `Set-Cookie` value that starts a session holding `token`.
    pub fn cookie_for(&self, token: &str) -> Result<HeaderValue, ApiError> {
        let json = serde_json::to_vec(&CookieSession {
            jwt: token.to_owned(),
        })
        .map_err(|error| ApiError::Internal(error.into()))?;
        let value = base64::engine::general_purpose::STANDARD.encode(json);
        HeaderValue::try_from(format!(
            "{COOKIE_NAME}={value}; path=/; {}",
            self.attributes()
        ))
        .map_err(|error| ApiError::Internal(error.into()))
    }

    /// The `Set-Cookie` value that ends the session.
    pub fn clearing_cookie(&self) -> HeaderValue {
        let value = format!(
            "{COOKIE_NAME}=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; {}",
            self.attributes()
        );
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The attributes after `path` and `expires`, in the cookies library's order.
    fn attributes(&self) -> &'static str {
        if self.0.secure {
            "samesite=lax; secure; httponly"
        } else {
            "samesite=lax; httponly"
        }
    }

    /// The user whose valid session the request carries, if any.
    pub fn user_from_headers(&self, headers: &HeaderMap) -> Option<Claims> {
        request_cookies(headers)
            .filter(|cookie| matches!(cookie.name(), COOKIE_NAME | LEGACY_COOKIE_NAME))
            .find_map(|cookie| self.user_from_cookie_value(cookie.value()))
    }

    fn user_from_cookie_value(&self, value: &str) -> Option<Claims> {
        let value = value.trim_matches('"');
        let verified = self.0.verified.as_ref();
        if let Some(claims) = verified.and_then(|verified| verified.get(value)) {
            return self.still_valid(claims);
        }
        let json = STANDARD_LENIENT
            .decode(value)
            .or_else(|_| URL_SAFE_LENIENT.decode(value))
            .ok()?;
        let session: CookieSession = serde_json::from_slice(&json).ok()?;
        let claims = self.verify(&session.jwt)?;
        if let Some(verified) = verified {
            verified.insert(value.to_owned(), claims.clone());
        }
        Some(claims)
    }
}

/// The signed-in user; answers 401 `"Not authorized"` when there is none.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Claims);

/// The signed-in user, if any.
#[derive(Debug, Clone)]
pub struct MaybeCurrentUser(pub Option<Claims>);

impl<S> FromRequestParts<S> for MaybeCurrentUser
where
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeCurrentUser(
            Sessions::from_ref(state).user_from_headers(&parts.headers),
        ))
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Sessions: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Sessions::from_ref(state)
            .user_from_headers(&parts.headers)
            .map(CurrentUser)
            .ok_or(ApiError::NotAuthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(key: &str, ttl: u64, secure: bool) -> Sessions {
        Sessions::new(
            &SessionSettings {
                jwt_key: Secret::new(key),
                ttl: Duration::from_secs(ttl),
                cookie_secure: secure,
                revocations: RevocationSettings::default(),
                cached: DEFAULT_CACHED_SESSIONS,
            },
            Revocations::unshared(),
        )
    }

    fn headers_with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::try_from(cookie).unwrap());
        headers
    }

    fn cookie_pair(set_cookie: &HeaderValue) -> String {
        set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_cookie_we_set_reads_back_as_its_user() {
        let sessions = sessions("asdfasdf", 60, false);
        let (claims, token) = sessions
            .issue("5f1c9a7e2d4b3a0012345678", "test@test.com")
            .unwrap();
        assert_eq!(claims.exp, claims.iat + 60);
        let set_cookie = sessions.cookie_for(&token).unwrap();
        let user = sessions.user_from_headers(&headers_with_cookie(&cookie_pair(&set_cookie)));
        assert_eq!(user, Some(claims));
    }

    #[test]
    fn cookie_format_is_the_originals_plus_samesite() {
        let plain = sessions("k", 60, false);
        let set_cookie = plain.cookie_for("a.b.c").unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(r#"{"jwt":"a.b.c"}"#);
        assert_eq!(
            set_cookie,
            format!("session={b64}; path=/; samesite=lax; httponly")
        );
        assert_eq!(
            plain.clearing_cookie(),
            "session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; samesite=lax; httponly"
        );
        let secure = sessions("k", 60, true);
        assert!(
            secure
                .cookie_for("t")
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with("; samesite=lax; secure; httponly")
        );
    }

    #[test]
    fn reads_url_safe_unpadded_and_legacy_cookies() {
        let sessions = sessions("asdfasdf", 60, false);
        let (claims, token) = sessions
            .issue("5f1c9a7e2d4b3a0012345678", "a@b.co")
            .unwrap();
        let json = format!(r#"{{"jwt":"{token}"}}"#);
        let unpadded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        for cookie in [
            format!("other=1; session={unpadded}"),
            format!("express:sess={unpadded}"),
        ] {
            assert_eq!(
                sessions.user_from_headers(&headers_with_cookie(&cookie)),
                Some(claims.clone())
            );
        }
    }

    #[test]
    fn a_token_without_an_id_is_no_session() {
        let ours = sessions("asdfasdf", 60, false);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let without_jti =
            serde_json::json!({ "id": "1", "email": "a@b.co", "iat": now, "exp": now + 60 });
        let token = jsonwebtoken::encode(
            &Header::default(),
            &without_jti,
            &EncodingKey::from_secret(b"asdfasdf"),
        )
        .unwrap();
        assert_eq!(ours.verify(&token), None);
        let (claims, token) = ours.issue("1", "a@b.co").unwrap();
        assert_eq!(ours.verify(&token), Some(claims));
    }

    #[test]
    fn bad_cookies_mean_no_user() {
        let ours = sessions("asdfasdf", 60, false);
        let (_, foreign_token) = sessions("another-key", 60, false)
            .issue("1", "a@b.co")
            .unwrap();
        let long_ago = Claims {
            id: "1".into(),
            email: "a@b.co".into(),
            iat: 1_000,
            exp: 2_000,
            jti: "1".into(),
        };
        let expired_token = jsonwebtoken::encode(
            &Header::default(),
            &long_ago,
            &EncodingKey::from_secret(b"asdfasdf"),
        )
        .unwrap();
        let none_alg = format!(
            "{}.{}.",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(r#"{"alg":"none","typ":"JWT"}"#),
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(r#"{"id":"1","email":"a@b.co","iat":1,"exp":99999999999}"#)
        );
        let wrap = |token: &str| {
            base64::engine::general_purpose::STANDARD.encode(format!(r#"{{"jwt":"{token}"}}"#))
        };
        for cookie in [
            "session=%%%not-base64".to_owned(),
            format!(
                "session={}",
                base64::engine::general_purpose::STANDARD.encode("not json")
            ),
            format!("session={}", wrap("not.a.jwt")),
            format!("session={}", wrap(&foreign_token)),
            format!("session={}", wrap(&expired_token)),
            format!("session={}", wrap(&none_alg)),
            "session=".to_owned(),
        ] {
            assert_eq!(
                ours.user_from_headers(&headers_with_cookie(&cookie)),
                None,
                "{cookie}"
            );
        }
        let remembered = ours.0.verified.as_ref().map(|verified| verified.len());
        assert_eq!(remembered, Some(0), "a refused cookie was remembered");
    }

    #[test]
    fn a_remembered_session_is_checked_again_for_expiry_and_revocation() {
        let sessions = sessions("asdfasdf", 60, false);
        let (claims, token) = sessions.issue("u1", "a@b.co").unwrap();
        let pair = cookie_pair(&sessions.cookie_for(&token).unwrap());
        let value = pair.strip_prefix("session=").unwrap();
        let headers = headers_with_cookie(&pair);
        assert_eq!(sessions.user_from_headers(&headers), Some(claims.clone()));
        let verified = sessions.0.verified.as_ref().unwrap();
        assert_eq!(verified.get(value), Some(claims.clone()));
        // Read from what is remembered, not decoded again: as if its time had run out since.
        let expired = Claims {
            exp: claims.iat - 1,
            ..claims.clone()
        };
        verified.insert(value.to_owned(), expired);
        assert_eq!(sessions.user_from_headers(&headers), None);
        verified.insert(value.to_owned(), claims.clone());
        assert_eq!(sessions.user_from_headers(&headers), Some(claims.clone()));
        // Signed out after it was remembered.
        let entry = format!(r#"{{"exp":{}}}"#, claims.exp);
        let key = format!("token.{}", claims.jti);
        sessions
            .0
            .revocations
            .apply(&key, Some(entry.as_bytes()), claims.iat, 60);
        assert_eq!(sessions.user_from_headers(&headers), None);
    }

    #[test]
    fn without_a_cache_sessions_read_the_same() {
        let uncached = Sessions::new(
            &SessionSettings {
                cached: 0,
                ..crate::testing::session_settings()
            },
            Revocations::unshared(),
        );
        assert!(uncached.0.verified.is_none());
        let (claims, token) = uncached.issue("u1", "a@b.co").unwrap();
        let headers = headers_with_cookie(&cookie_pair(&uncached.cookie_for(&token).unwrap()));
        assert_eq!(uncached.user_from_headers(&headers), Some(claims.clone()));
        assert_eq!(uncached.user_from_headers(&headers), Some(claims));
    }
}
