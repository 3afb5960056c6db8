//! Field checks whose failures come out in declaration order, like express-validator's.
//!
//! A route's body type implements [`Validate`] by running its checks in the order the original
//! declares them; every failed check adds one `{message, field}` entry (there is no bail), and
//! the [`Valid`] extractor answers 400 with all of them. The checks themselves come from the
//! `validator` crate; this module only keeps their order, which its derive does not.
//!
//! Body fields are read leniently ([`lenient_string`]): a missing field or `null` is `""` and a
//! number or boolean is its text, so a wrong type is a validation error on that field, not a
//! parse error.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use validator::{ValidateEmail, ValidateLength};

use crate::error::{ApiError, FieldError};
use crate::json::Json;

/// The message of a check that declares none (express-validator's default).
pub const INVALID_VALUE: &str = "Invalid value";

/// A request body that knows its checks.
pub trait Validate {
    /// Runs every check in declaration order, recording failures in `checks`.
    fn validate(&self, checks: &mut Checks);
}

/// Collects failed checks in the order they ran.
#[derive(Debug, Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    /// Records `message` for `field` unless `passed`.
    pub fn check(&mut self, field: &str, passed: bool, message: &str) -> &mut Self {
        if !passed {
            self.errors.push(FieldError::new(field, message));
        }
        self
    }

    /// The collected failures as a 400, or `Ok` when every check passed.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A JSON body (see [`Json`]) that passed its [`Validate`] checks.
#[derive(Debug, Clone, Copy)]
pub struct Valid<T>(pub T);

impl<T, S> FromRequest<S> for Valid<T>
where
    T: DeserializeOwned + Validate,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(body) = Json::<T>::from_request(request, state).await?;
        let mut checks = Checks::default();
        body.validate(&mut checks);
        checks.finish().map(|()| Valid(body))
    }
}

/// `isEmail()`: an address with a local part and a domain that has a top-level part.
pub fn is_email(value: &str) -> bool {
    value.validate_email()
        && value.rsplit_once('@').is_some_and(|(_, domain)| {
            domain
                .rsplit_once('.')
                .is_some_and(|(_, tld)| tld.len() >= 2)
        })
}

/// `isLength({min, max})`, counted in characters.
pub fn has_length(value: &str, min: u64, max: u64) -> bool {
    value.validate_length(Some(min), Some(max), None)
}

/// `not().isEmpty()`.
pub fn is_present(value: &str) -> bool {
    !value.is_empty()
}

/// Deserializes any JSON value as text: strings as they are, numbers and booleans as written,
/// `null` as `""`, arrays and objects as `""` (so they fail a presence check).
pub fn lenient_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(number) => number.to_string(),
        serde_json::Value::Bool(flag) => flag.to_string(),
        serde_json::Value::Null | serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
            String::new()
        }
    })
}

/// [`lenient_string`], then trimmed (express-validator's `trim()` sanitizer).
pub fn trimmed_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    lenient_string(deserializer).map(|text| text.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Signup {
        #[serde(default, deserialize_with = "trimmed_string")]
        email: String,
        #[serde(default, deserialize_with = "trimmed_string")]
        password: String,
    }

    impl Validate for Signup {
        fn validate(&self, checks: &mut Checks) {
            checks
                .check("email", is_email(&self.email), "Email must be valid")
                .check(
                    "password",
                    has_length(&self.password, 4, 20),
                    "Password between 4 and 20",
                );
        }
    }

    fn errors_of(json: &str) -> Vec<FieldError> {
        let body: Signup = serde_json::from_str(json).unwrap();
        let mut checks = Checks::default();
        body.validate(&mut checks);
        match checks.finish() {
            Ok(()) => vec![],
            Err(ApiError::Validation(errors)) => errors,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn reports_every_failure_in_declaration_order() {
        let errors = errors_of(r#"{"password": "p"}"#);
        assert_eq!(
            errors,
            vec![
                FieldError::new("email", "Email must be valid"),
                FieldError::new("password", "Password between 4 and 20"),
            ]
        );
        assert!(errors_of(r#"{"email": " a@b.co ", "password": "  pass  "}"#).is_empty());
    }

    #[test]
    fn wrong_types_are_field_errors_not_parse_errors() {
        let errors = errors_of(r#"{"email": 42, "password": ["secret"]}"#);
        assert_eq!(errors.len(), 2);
        let errors = errors_of(r#"{"email": null, "password": 12345}"#);
        assert_eq!(
            errors,
            vec![FieldError::new("email", "Email must be valid")]
        );
    }

    #[test]
    fn email_rules() {
        for good in ["test@test.com", "a.b+c@sub.example.org"] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "test",
            "test@",
            "@test.com",
            "test@test",
            "a b@c.com",
            "test@test.c",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn length_counts_characters() {
        assert!(has_length("ñññ€", 4, 20));
        assert!(!has_length("abc", 4, 20));
        assert!(!has_length(&"a".repeat(21), 4, 20));
    }
}
