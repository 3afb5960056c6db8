//! Hostile input for the fleet's HTTP APIs, generated from a seed: JSON bodies of every wrong
//! shape, bodies that are not the JSON they claim to be, ids that are not ids, and session
//! cookies that must not sign anybody in.
//!
//! Everything is drawn from a [`StdRng`] seeded by [`seed`] (`CHAOS_SEED`, or a fixed default),
//! so a failing case can be replayed: the tests print the seed and the case.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng as _};
use serde_json::{Value, json};

/// The seed used when `CHAOS_SEED` is not set.
pub const DEFAULT_SEED: u64 = 20_260_407;

/// `CHAOS_SEED`, else [`DEFAULT_SEED`].
pub fn seed() -> u64 {
    std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(DEFAULT_SEED)
}

/// A generator for `label` (an endpoint, say) under `seed`: each label draws its own
/// sequence, so one endpoint's cases replay whatever the others do.
pub fn rng_for(seed: u64, label: &str) -> StdRng {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = label.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    StdRng::seed_from_u64(seed ^ hash)
}

/// Strings that are numbers to some parsers and not to others.
const NAN_ISH: [&str; 16] = [
    "NaN",
    "nan",
    "Infinity",
    "-Infinity",
    "1e400",
    "-1e400",
    "0x10",
    " 12",
    "12abc",
    "1,5",
    "",
    " ",
    "null",
    "undefined",
    "true",
    "-0",
];

/// Text that breaks naive handling: unicode, control characters, injections.
const AWKWARD_TEXT: [&str; 16] = [
    "ñandú",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "\u{202e}gnp.exe",
    "zero\u{200b}width",
    "e\u{301}\u{301}\u{301}",
    "\u{FFFF}\u{10FFFF}",
    "nul\u{0}byte",
    "line\r\nbreak",
    "<script>alert(1)</script>",
    "'; db.dropDatabase(); '",
    "../../etc/passwd",
    "%00%2e%2e",
    "$where",
    "{\"$gt\":\"\"}",
    "\\u0000",
    "tab\tand\u{7f}del",
];

/// Keys a body must not be able to set, or that upset naive code.
const AWKWARD_KEYS: [&str; 14] = [
    "__proto__",
    "constructor",
    "$set",
    "$where",
    "_id",
    "id",
    "userId",
    "version",
    "orderId",
    "status",
    "",
    "ключ",
    "a.b",
    "\u{0}",
];

/// A JSON value of a random awkward kind: wrong types, nulls, huge and tiny numbers, NaN-ish
/// strings, unicode, long strings, arrays, objects (with query operators), nesting up to
/// `depth` levels.
pub fn value(rng: &mut StdRng, depth: usize) -> Value {
    let kinds = if depth == 0 { 8 } else { 11 };
    match rng.random_range(0..kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => number(rng),
        3 => json!(pick(rng, &NAN_ISH)),
        4 => json!(pick(rng, &AWKWARD_TEXT)),
        5 => json!(long_text(rng)),
        6 => json!(rng.random_range(i64::MIN..i64::MAX).to_string()),
        7 => json!([]),
        8 => Value::Array(
            (0..rng.random_range(1..4))
                .map(|_| value(rng, depth - 1))
                .collect(),
        ),
        9 => {
            let operator = pick(rng, &["$gt", "$ne", "$regex", "$where", "$exists"]);
            json!({ operator: value(rng, depth - 1) })
        }
        _ => {
            let levels = rng.random_range(1..=depth.min(60));
            nested(rng, levels)
        }
    }
}

/// A number at an edge: zero, negative, fractional, the limits of i64, u64 and f64.
fn number(rng: &mut StdRng) -> Value {
    match rng.random_range(0..10) {
        0 => json!(0),
        1 => json!(-1),
        2 => json!(0.1 + 0.2),
        3 => json!(i64::MAX),
        4 => json!(i64::MIN),
        5 => json!(u64::MAX),
        6 => json!(f64::MAX),
        7 => json!(-f64::MAX),
        8 => json!(f64::MIN_POSITIVE / 1e10),
        _ => json!(rng.random_range(-1e6..1e6)),
    }
}

/// A string of a few to tens of thousands of characters (the body stays under the limit).
fn long_text(rng: &mut StdRng) -> String {
    let unit = pick(rng, &["a", "ü", "😀", " ", "\\", "\""]);
    let bytes = rng.random_range(256..16 * 1024);
    unit.repeat(bytes / unit.len())
}

/// `levels` arrays or objects inside each other.
fn nested(rng: &mut StdRng, levels: usize) -> Value {
    (0..levels).fold(json!("deep"), |inner, _| {
        if rng.random() {
            json!([inner])
        } else {
            json!({ "a": inner })
        }
    })
}

fn pick<T: Copy>(rng: &mut StdRng, choices: &[T]) -> T {
    *choices.choose(rng).unwrap_or(&choices[0])
}

/// A body derived from `valid` (an object): most often its fields replaced by awkward values,
/// by `near_misses` (field, value) pairs, removed, or joined by extra fields; sometimes not an
/// object at all (an array, a string, a number, `null`).
pub fn json_body(rng: &mut StdRng, valid: &Value, near_misses: &[(&str, Value)]) -> Value {
    loop {
        let body = draw_body(rng, valid, near_misses);
        // Well under the services' 64 KiB limit: oversized bodies are a case of their own.
        if body.to_string().len() <= BODY_BUDGET {
            return body;
        }
    }
}

/// The largest body [`json_body`] draws.
pub const BODY_BUDGET: usize = 48 * 1024;

fn draw_body(rng: &mut StdRng, valid: &Value, near_misses: &[(&str, Value)]) -> Value {
    if rng.random_bool(0.1) {
        return match rng.random_range(0..4) {
            0 => json!([valid]),
            1 => json!(valid.to_string()),
            2 => number(rng),
            _ => Value::Null,
        };
    }
    let mut body = valid.as_object().cloned().unwrap_or_default();
    let fields: Vec<String> = body.keys().cloned().collect();
    for field in &fields {
        match rng.random_range(0..6) {
            0 | 1 => {}
            2 => {
                body.remove(field);
            }
            3 => {
                let candidates: Vec<&Value> = near_misses
                    .iter()
                    .filter(|(name, _)| name == field)
                    .map(|(_, value)| value)
                    .collect();
                if let Some(near_miss) = candidates.choose(rng) {
                    body.insert(field.clone(), (*near_miss).clone());
                }
            }
            _ => {
                body.insert(field.clone(), value(rng, 6));
            }
        }
    }
    for _ in 0..rng.random_range(0..3) {
        let key = pick(rng, &AWKWARD_KEYS).to_owned();
        if !fields.contains(&key) {
            body.insert(key, value(rng, 3));
        }
    }
    Value::Object(body)
}

/// A request body that is not a JSON object (or not JSON at all), with a name for reports.
#[derive(Debug, Clone)]
pub struct RawBody {
    /// What it is.
    pub name: &'static str,
    /// The bytes sent.
    pub bytes: Vec<u8>,
}

/// Bodies a JSON parser must refuse, or that parse to something other than an object.
pub fn malformed_json(rng: &mut StdRng) -> RawBody {
    let (name, bytes): (&'static str, Vec<u8>) = match rng.random_range(0..16) {
        0 => ("truncated object", br#"{"email": "a@b.co", "#.to_vec()),
        1 => ("trailing comma", br#"{"title": "x",}"#.to_vec()),
        2 => ("single quotes", b"{'title': 'x'}".to_vec()),
        3 => ("comment", b"{/* c */ \"a\": 1}".to_vec()),
        4 => ("NaN literal", br#"{"price": NaN}"#.to_vec()),
        5 => (
            "invalid UTF-8",
            b"{\"title\": \"\xff\xfe\xc3\x28\"}".to_vec(),
        ),
        6 => ("byte order mark", b"\xef\xbb\xbf{\"a\": 1}".to_vec()),
        7 => ("lone surrogate", br#"{"title": "\ud800"}"#.to_vec()),
        8 => (
            "arrays nested 10000 deep",
            [b"[".repeat(10_000), b"]".repeat(10_000)].concat(),
        ),
        9 => (
            "objects nested 5000 deep, unterminated",
            br#"{"a":"#.repeat(5_000),
        ),
        10 => ("array", br#"[{"title": "x", "price": 5}]"#.to_vec()),
        11 => ("string", br#""{\"title\": \"x\"}""#.to_vec()),
        12 => ("number", b"42".to_vec()),
        13 => ("null", b"null".to_vec()),
        14 => ("form encoding", b"title=x&price=5".to_vec()),
        _ => {
            let mut noise = vec![0_u8; rng.random_range(1..2048)];
            rng.fill(noise.as_mut_slice());
            // A leading '{' that is never closed keeps random bytes from being valid JSON.
            noise[0] = b'{';
            ("random bytes", noise)
        }
    };
    RawBody { name, bytes }
}

/// Content types the services read as JSON.
pub const JSON_TYPES: [&str; 3] = [
    "application/json",
    "application/json; charset=utf-8",
    "Application/JSON",
];

/// Content types the services must not read as JSON (the body then counts as `{}`).
pub const NOT_JSON_TYPES: [&str; 6] = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "application/octet-stream",
    "text/html; charset=utf-8",
];

/// How an id placed in a path reads to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// Not an ObjectId the way mongoose reads one: 400 `"Something went wrong"`.
    Malformed,
    /// A well-formed id nothing has: 404.
    Unknown,
}

/// A path segment standing for an id, as written in the URL (already percent-encoded where
/// needed, and unchanged by URL parsing), and how the service reads it.
#[derive(Debug, Clone)]
pub struct PathId {
    /// The segment.
    pub segment: String,
    /// What it is to the service.
    pub kind: IdKind,
}

/// An id segment that names nothing: malformed in one of many ways, or well-formed and unknown.
pub fn path_id(rng: &mut StdRng) -> PathId {
    let malformed = |segment: &str| PathId {
        segment: segment.to_owned(),
        kind: IdKind::Malformed,
    };
    let unknown = |segment: String| PathId {
        segment,
        kind: IdKind::Unknown,
    };
    let hex = |rng: &mut StdRng, len: usize| -> String {
        (0..len)
            .map(|_| char::from(pick(rng, b"0123456789abcdef")))
            .collect()
    };
    match rng.random_range(0..16) {
        0 => malformed(pick(rng, &["abc", "0", "-1", "null", "undefined", "true"])),
        1 => malformed(&hex(rng, 23)),
        2 => malformed(&hex(rng, 25)),
        3 => malformed(&format!("{}z", hex(rng, 23))),
        4 => malformed(&format!("{}%20", hex(rng, 24))),
        5 => malformed(&"f".repeat(rng.random_range(100..4000))),
        6 => malformed("%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1%C3%B1a"),
        7 => malformed("%ff%fe%fd"),
        8 => malformed("%00"),
        9 => malformed("%2e%2e%2f%2e%2e%2fetc"),
        10 => malformed("a%2Fb"),
        11 => malformed("%7B%22%24gt%22%3A%22%22%7D"),
        // Twelve characters are twelve bytes to mongoose: a well-formed id nothing has.
        12 => unknown(pick(rng, &["twelve-chars", "aaaaaaaaaaaa", "%24where%3D12345"]).to_owned()),
        13 => unknown(hex(rng, 24)),
        14 => unknown(hex(rng, 24).to_ascii_uppercase()),
        // The same hex, percent-encoded: the service decodes it first.
        _ => unknown(
            hex(rng, 24)
                .bytes()
                .map(|byte| format!("%{byte:02X}"))
                .collect(),
        ),
    }
}

/// A `Cookie` header that must leave the request anonymous, with a name for reports.
#[derive(Debug, Clone)]
pub struct HostileCookie {
    /// What it is.
    pub name: &'static str,
    /// The whole `Cookie` header value (visible ASCII).
    pub header: String,
}

/// Every kind of broken or forged session for user `id` (`email`), with `key` the fleet's
/// real signing key: none of them may sign anybody in.
pub fn hostile_cookies(id: &str, email: &str, key: &str) -> Vec<HostileCookie> {
    let now = now();
    let jti = mongodb::bson::oid::ObjectId::new().to_hex();
    let claims = json!({ "id": id, "email": email, "iat": now, "exp": now + 3600, "jti": jti });
    let signed = |claims: &Value, key: &str, algorithm: Algorithm| {
        jsonwebtoken::encode(
            &Header::new(algorithm),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap_or_default()
    };
    let with = |field: &str, value: Value| {
        let mut claims = claims.clone();
        if value.is_null() {
            claims.as_object_mut().map(|claims| claims.remove(field));
        } else {
            claims[field] = value;
        }
        claims
    };
    let unsigned = |alg: &str| {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    };
    let good = signed(&claims, key, Algorithm::HS256);
    let tampered = {
        let parts: Vec<&str> = good.split('.').collect();
        let other = json!({ "id": "000000000000000000000000", "email": email, "iat": now, "exp": now + 3600, "jti": jti });
        format!(
            "{}.{}.{}",
            parts.first().unwrap_or(&""),
            URL_SAFE_NO_PAD.encode(other.to_string()),
            parts.get(2).unwrap_or(&"")
        )
    };
    let session = |json: String| format!("session={}", STANDARD.encode(json));
    let jwt = |token: &str| session(json!({ "jwt": token }).to_string());
    vec![
        cookie("not base64", "session=%%%not*base64!!".to_owned()),
        cookie("empty", "session=".to_owned()),
        cookie("base64 of text", session("not json at all".to_owned())),
        cookie("base64 of an array", session("[]".to_owned())),
        cookie("JSON without jwt", session(r#"{"token":"x"}"#.to_owned())),
        cookie("jwt not a string", session(r#"{"jwt":12345}"#.to_owned())),
        cookie("jwt not a token", jwt("not.a.jwt")),
        cookie("alg none", jwt(&unsigned("none"))),
        cookie("alg None", jwt(&unsigned("None"))),
        cookie(
            "HS256 with the wrong key",
            jwt(&signed(&claims, "wrong-key", Algorithm::HS256)),
        ),
        cookie(
            "HS256 with an empty key",
            jwt(&signed(&claims, "", Algorithm::HS256)),
        ),
        cookie(
            "HS512 with the right key",
            jwt(&signed(&claims, key, Algorithm::HS512)),
        ),
        cookie("payload swapped under a good signature", jwt(&tampered)),
        cookie(
            "signature stripped",
            jwt(good.rsplit_once('.').map_or("", |(head, _)| head)),
        ),
        cookie(
            "expired",
            jwt(&signed(
                &with("exp", json!(now - 60)),
                key,
                Algorithm::HS256,
            )),
        ),
        cookie(
            "no exp",
            jwt(&signed(&with("exp", Value::Null), key, Algorithm::HS256)),
        ),
        cookie(
            "no jti (a token that could not be revoked)",
            jwt(&signed(&with("jti", Value::Null), key, Algorithm::HS256)),
        ),
        cookie(
            "exp as a string",
            jwt(&signed(
                &with("exp", json!((now + 3600).to_string())),
                key,
                Algorithm::HS256,
            )),
        ),
        cookie(
            "id as a number",
            jwt(&signed(&with("id", json!(12345)), key, Algorithm::HS256)),
        ),
        cookie(
            "id as an object",
            jwt(&signed(
                &with("id", json!({ "$ne": null })),
                key,
                Algorithm::HS256,
            )),
        ),
        cookie(
            "no id",
            jwt(&signed(&with("id", Value::Null), key, Algorithm::HS256)),
        ),
        cookie(
            "url-safe, wrong key",
            format!(
                "session={}",
                URL_SAFE_NO_PAD.encode(
                    json!({ "jwt": signed(&claims, "wrong-key", Algorithm::HS256) }).to_string()
                )
            ),
        ),
        cookie(
            "quoted garbage",
            format!("session=\"{}\"", STANDARD.encode("garbage")),
        ),
        cookie(
            "gigantic (48 KiB)",
            jwt(&format!(
                "{}.{}.sig",
                "e".repeat(24 * 1024),
                "f".repeat(24 * 1024)
            )),
        ),
        cookie(
            "a thousand cookies, no session",
            (0..1000)
                .map(|index| format!("c{index}=v{index}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        cookie(
            "good token under another name",
            format!("sessions={}", jwt(&good).trim_start_matches("session=")),
        ),
    ]
}

fn cookie(name: &'static str, header: String) -> HostileCookie {
    HostileCookie { name, header }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A valid session for an id no service has seen the like of (not an ObjectId), signed with
/// `key`: the services must treat it as any signed-in user.
pub fn odd_but_valid_cookie(id: &str, key: &str) -> String {
    session_for(id, "odd@test.test", key)
}

/// A `Cookie` header with a new valid session (a token id of its own) for user `id`, signed
/// with `key`: to sign out without ending the user's other sessions.
pub fn session_for(id: &str, email: &str, key: &str) -> String {
    let now = now();
    let jti = mongodb::bson::oid::ObjectId::new().to_hex();
    let claims = json!({ "id": id, "email": email, "iat": now, "exp": now + 3600, "jti": jti });
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap_or_default();
    format!(
        "session={}",
        STANDARD.encode(json!({ "jwt": token }).to_string())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_and_label_draw_the_same_cases() {
        let draw = |seed, label| {
            let mut rng = rng_for(seed, label);
            (0..50)
                .map(|_| json_body(&mut rng, &json!({ "a": 1 }), &[]).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(1, "tickets"), draw(1, "tickets"));
        assert_ne!(draw(1, "tickets"), draw(1, "orders"));
        assert_ne!(draw(1, "tickets"), draw(2, "tickets"));
    }

    #[test]
    fn malformed_bodies_are_never_json_objects() {
        let mut rng = rng_for(7, "malformed");
        for _ in 0..500 {
            let body = malformed_json(&mut rng);
            let parsed = serde_json::from_slice::<Value>(&body.bytes);
            assert!(
                !matches!(parsed, Ok(Value::Object(_))),
                "{} parses to an object",
                body.name
            );
        }
    }

    #[test]
    fn path_ids_survive_url_parsing_and_are_classified() {
        let mut rng = rng_for(7, "ids");
        for _ in 0..500 {
            let id = path_id(&mut rng);
            let url = format!("http://127.0.0.1/api/tickets/{}", id.segment);
            let parsed = reqwest::Url::parse(&url).unwrap();
            assert_eq!(parsed.path(), format!("/api/tickets/{}", id.segment));
            let hex = id.segment.len() == 24 && id.segment.bytes().all(|b| b.is_ascii_hexdigit());
            if hex {
                assert_eq!(id.kind, IdKind::Unknown);
            }
        }
    }

    #[test]
    fn hostile_cookies_are_visible_ascii() {
        for cookie in hostile_cookies("5f1c9a7e2d4b3a0012345678", "a@b.co", "asdfasdf") {
            assert!(
                cookie.header.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{}",
                cookie.name
            );
            assert!(!cookie.header.is_empty(), "{}", cookie.name);
        }
    }

    #[test]
    fn bodies_stay_under_the_size_limit() {
        let mut rng = rng_for(7, "sizes");
        let valid = json!({ "title": "x", "price": 5 });
        for _ in 0..500 {
            let body = json_body(&mut rng, &valid, &[("price", json!("12.50"))]);
            assert!(body.to_string().len() <= BODY_BUDGET);
        }
    }
}
