//! Prices as the form sends them: express-validator's `isFloat({gt: 0})`.

use common::validation::lenient_string;
use serde::Deserializer;

/// Reads a body field as [`lenient_string`] does, then [`parse_price`]: `None` when it is
/// missing or not a price, so that is a validation failure, not a parse error.
pub fn lenient_price<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    lenient_string(deserializer).map(|text| parse_price(&text))
}

/// The price in `text` if it is a decimal number greater than 0: `20`, `"12.50"`, `"1e3"`.
///
/// The grammar is validator.js's `isFloat` (optional sign, digits, optional fraction, optional
/// exponent); `""`, `"abc"`, `"NaN"`, `"Infinity"`, `0`, negatives and anything too large to be
/// finite are refused.
pub fn parse_price(text: &str) -> Option<f64> {
    if !is_float(text) {
        return None;
    }
    text.parse::<f64>()
        .ok()
        .filter(|price| price.is_finite() && *price > 0.0)
}

/// The smallest price: Stripe's smallest charge in US dollars.
pub const MIN_PRICE: f64 = 0.50;
/// The largest price: Stripe's largest single charge.
pub const MAX_PRICE: f64 = 999_999.99;

/// `Ok` if `price` (greater than 0) can be charged as it is: whole cents, within
/// [`MIN_PRICE`]..=[`MAX_PRICE`]; else the message saying why not.
pub fn chargeable(price: f64) -> Result<(), &'static str> {
    let cents = price * 100.0;
    if price < MIN_PRICE {
        Err("Price must be at least 0.50")
    } else if price > MAX_PRICE {
        Err("Price must be at most 999999.99")
    } else if (cents - cents.round()).abs() > 1e-6 {
        Err("Price must have at most two decimal places")
    } else {
        Ok(())
    }
}

/// `^[-+]?[0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)?$`, and at least one digit before the exponent.
fn is_float(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty()) && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "lenient_price")]
        price: Option<f64>,
    }

    fn price_of(json: &str) -> Option<f64> {
        serde_json::from_str::<Body>(json).unwrap().price
    }

    #[test]
    fn chargeable_prices_are_whole_cents_within_stripes_limits() {
        for price in [0.5, 1.0, 12.34, 19.99, 999_999.99, 1e3] {
            assert_eq!(chargeable(price), Ok(()), "{price}");
        }
        assert_eq!(chargeable(0.49), Err("Price must be at least 0.50"));
        assert_eq!(chargeable(0.001), Err("Price must be at least 0.50"));
        assert_eq!(chargeable(1e7), Err("Price must be at most 999999.99"));
        assert_eq!(
            chargeable(12.345),
            Err("Price must have at most two decimal places")
        );
    }

    #[test]
    fn reads_numbers_and_numeric_strings_from_a_body() {
        assert_eq!(price_of(r#"{"price": 20}"#), Some(20.0));
        assert_eq!(price_of(r#"{"price": 12.5}"#), Some(12.5));
        assert_eq!(price_of(r#"{"price": "12.50"}"#), Some(12.5));
        for json in [
            "{}",
            r#"{"price": null}"#,
            r#"{"price": ""}"#,
            r#"{"price": -10}"#,
            r#"{"price": 0}"#,
            r#"{"price": true}"#,
            r#"{"price": [5]}"#,
            r#"{"price": {"value": 5}}"#,
        ] {
            assert_eq!(price_of(json), None, "{json}");
        }
    }

    #[test]
    fn accepts_positive_decimals() {
        let cases = [
            ("20", 20.0),
            ("12.50", 12.5),
            ("0.01", 0.01),
            (".5", 0.5),
            ("5.", 5.0),
            ("+3", 3.0),
            ("1e3", 1000.0),
            ("2.5E-1", 0.25),
        ];
        for (text, price) in cases {
            assert_eq!(parse_price(text), Some(price), "{text}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "", " ", ".", "-", "+", "abc", "NaN", "nan", "inf", "Infinity", "0", "0.0", "-10",
            "-0.5", "1e", "e5", ".e5", "1e400", " 12", "12 ", "1,5", "0x10", "1_000", "true",
        ] {
            assert_eq!(parse_price(text), None, "{text:?}");
        }
    }
}
