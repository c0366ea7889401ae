//! Phone numbers in E.164 (`+79123456789`), the only form stored anywhere; and each
//! workstation's phone line as the supervisor's dashboard counts it.

use std::time::Duration;

use crate::{Result, Store};

/// A line that has not reported for this long no longer counts as on the line.
pub const LINE_STALE_AFTER: Duration = Duration::from_secs(120);
/// How often a workstation reports its line even when nothing changed.
pub const LINE_HEARTBEAT: Duration = Duration::from_secs(60);

/// One workstation's line, as its softphone reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReport {
    /// The extension.
    pub extension: String,
    /// Registered with the PBX.
    pub registered: bool,
    /// Incoming calls ringing.
    pub ringing: u8,
    /// Calls in progress.
    pub talking: u8,
}

impl Store {
    /// Reports this person's line (the server stamps who and when).
    pub async fn report_line(&self, line: &LineReport) -> Result<()> {
        sqlx::query!(
            "select dialog_report_line($1, $2, $3, $4)",
            line.extension,
            line.registered,
            i32::from(line.ringing),
            i32::from(line.talking)
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// This person's line is off (logout, exit).
    pub async fn clear_line(&self) -> Result<()> {
        sqlx::query!("select dialog_clear_line()").execute(&self.pool).await?;
        Ok(())
    }
}

/// Normalises a phone number as people type it: `8 (912) 345-67-89`, `+7 912 345 67 89`,
/// `9123456789` (a Russian mobile without the trunk prefix) and `+375 29 …` all become E.164.
/// Returns `None` when the text is not a phone number.
pub fn normalize_phone(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if trimmed.is_empty()
        || !trimmed.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
        || trimmed.rfind('+').is_some_and(|i| i > 0)
    {
        return None;
    }
    let international = trimmed.starts_with('+');
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    let e164 = match (international, digits.len(), digits.as_bytes().first()) {
        // E.164: 7 to 15 digits, as the database's `dialog_is_phone` takes them.
        (true, 7..=15, Some(b'1'..=b'9')) => digits,
        (false, 11, Some(b'8' | b'7')) => format!("7{}", &digits[1..]),
        (false, 10, Some(b'3' | b'4' | b'8' | b'9')) => format!("7{digits}"),
        _ => return None,
    };
    Some(format!("+{e164}"))
}

/// The digits a search for a phone fragment should look for: `8 912 345` → `7912345`.
/// Returns `None` when the text does not look like (a part of) a phone number.
pub fn phone_fragment(input: &str) -> Option<String> {
    if let Some(full) = normalize_phone(input) {
        return Some(full[1..].to_owned());
    }
    let t = input.trim();
    if !t.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 5).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_numbers_as_people_type_them() {
        for s in [
            "8 (912) 345-67-89",
            "+7 912 345 67 89",
            "79123456789",
            "9123456789",
            "+79123456789",
        ] {
            assert_eq!(normalize_phone(s).as_deref(), Some("+79123456789"), "{s}");
        }
        assert_eq!(normalize_phone("8 (846) 222-33-44").as_deref(), Some("+78462223344"));
        assert_eq!(normalize_phone("+375 29 123-45-67").as_deref(), Some("+375291234567"));
    }

    #[test]
    fn not_phone_numbers() {
        for s in [
            "",
            "ivan@mail.ru",
            "12345",
            "+0123456789",
            "8912345678901234",
            "91-2+3",
            "ленина 10",
        ] {
            assert_eq!(normalize_phone(s), None, "{s}");
        }
    }

    #[test]
    fn fragments() {
        assert_eq!(phone_fragment("8 912 345-67-89").as_deref(), Some("79123456789"));
        assert_eq!(phone_fragment("345-67").as_deref(), Some("34567"));
        assert_eq!(phone_fragment("10"), None);
        assert_eq!(phone_fragment("ленина"), None);
    }
}
