//! The error every command returns: [`dialog_core::ErrorBody`], `{ kind, message, field, appeal }`.

use dialog_core::ErrorBody;

/// A failed command.
#[derive(Debug, serde::Serialize)]
#[serde(transparent)]
pub struct AppError(pub ErrorBody);

impl AppError {
    /// A failure of the app itself (not of the database).
    pub fn internal(message: impl Into<String>) -> Self {
        Self(ErrorBody {
            kind: "internal".into(),
            message: message.into(),
            field: None,
            appeal: None,
        })
    }

    /// The person has not logged in (or has logged out).
    pub fn not_logged_in() -> Self {
        Self(ErrorBody {
            kind: "notLoggedIn".into(),
            message: "Войдите в систему".into(),
            field: None,
            appeal: None,
        })
    }
}

impl From<dialog_core::Error> for AppError {
    fn from(e: dialog_core::Error) -> Self {
        if matches!(e, dialog_core::Error::Database(_)) {
            tracing::error!(error = %e, "database error");
        }
        Self(ErrorBody::from(&e))
    }
}

impl From<dialog_phone::phone::PhoneError> for AppError {
    fn from(e: dialog_phone::phone::PhoneError) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<dialog_core::ConnectError> for AppError {
    fn from(e: dialog_core::ConnectError) -> Self {
        Self(ErrorBody::from(&e))
    }
}

/// Result of a command.
pub type CmdResult<T> = Result<T, AppError>;
