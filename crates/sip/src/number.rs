//! What may be dialled: the one rule for the app's buttons, the phone and the calls the
//! database stores (its `calls_numbers_check` says the same).

/// A number that may be dialled, as stored: an optional `+`, then 2 to 20 digits, `*` or `#`.
pub const DIALABLE_PATTERN: &str = r"^\+?[0-9*#]{2,20}$";

/// The number as it is dialled and stored (spaces, brackets and dashes dropped), or `None`
/// when it cannot be dialled.
pub fn dialable(raw: &str) -> Option<String> {
    let n: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '(' | ')' | '-' | '\u{a0}'))
        .collect();
    let body = n.strip_prefix('+').unwrap_or(&n);
    let ok =
        (2..=20).contains(&body.chars().count()) && body.chars().all(|c| c.is_ascii_digit() || c == '*' || c == '#');
    ok.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::dialable;

    #[test]
    fn numbers_as_operators_type_them() {
        assert_eq!(dialable("8 (912) 345-67-89").as_deref(), Some("89123456789"));
        assert_eq!(dialable("+7 912 345 67 89").as_deref(), Some("+79123456789"));
        assert_eq!(dialable("2001").as_deref(), Some("2001"));
        assert_eq!(dialable("*21#").as_deref(), Some("*21#"));
        for bad in ["", "1", "+", "ivan@mail.ru", "12+34", &"1".repeat(21)] {
            assert_eq!(dialable(bad), None, "{bad}");
        }
    }
}
