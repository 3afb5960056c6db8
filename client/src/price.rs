//! Prices on pages and in the sell form.
//!
//! Shown with two decimals. The form's price is normalised as the original's `onBlur` did
//! (`parseFloat(price).toFixed(2)`): `"12.5"` is sent as `"12.50"`, a numeric string the tickets
//! API accepts like a number. Anything that is not a number is sent as typed, for the API to
//! refuse with its own message.

/// `12.5` → `"12.50"`.
pub fn display(price: f64) -> String {
    format!("{price:.2}")
}

/// The price field as the API should get it: a number with two decimals when it is one.
pub fn normalise(input: &str) -> String {
    let input = input.trim();
    match input.parse::<f64>() {
        Ok(price) if price.is_finite() => display(price),
        _ => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_shown_with_two_decimals() {
        assert_eq!(display(12.5), "12.50");
        assert_eq!(display(20.0), "20.00");
        assert_eq!(display(19.99), "19.99");
        assert_eq!(display(0.1 + 0.2), "0.30");
    }

    #[test]
    fn the_form_sends_numbers_with_two_decimals_and_anything_else_as_typed() {
        assert_eq!(normalise("12.5"), "12.50");
        assert_eq!(normalise(" 20 "), "20.00");
        assert_eq!(normalise("-5"), "-5.00");
        assert_eq!(normalise("0.001"), "0.00");
        assert_eq!(normalise("abc"), "abc");
        assert_eq!(normalise(""), "");
        assert_eq!(normalise("NaN"), "NaN");
        assert_eq!(normalise("inf"), "inf");
    }
}
