//! People: each one a PostgreSQL LOGIN role, made by an admin through the database's
//! SECURITY DEFINER functions.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::connect::Person;
use crate::error::{Error, Result};
use crate::model::StaffRole;
use crate::scram::scram_verifier;
use crate::Store;

/// A person to create.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct NewPerson {
    /// Login: lower-case latin letters, digits, `.`, `-`, `_`.
    pub login: String,
    /// Initial password.
    #[serde(skip_serializing)]
    pub password: String,
    /// Role.
    pub role: StaffRole,
    /// Full name.
    pub full_name: String,
    /// SIP extension.
    pub sip_extension: Option<String>,
    /// Organization (required for managers).
    pub organization_id: Option<Uuid>,
}

// Debug output goes to logs: it never shows the password.
impl std::fmt::Debug for NewPerson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewPerson")
            .field("login", &self.login)
            .field("password", &crate::Redacted(&self.password))
            .field("role", &self.role)
            .field("full_name", &self.full_name)
            .field("sip_extension", &self.sip_extension)
            .field("organization_id", &self.organization_id)
            .finish()
    }
}

/// What an admin corrects about a person (their login stays).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct PersonChanges {
    /// Whose.
    pub login: String,
    /// Role.
    pub role: StaffRole,
    /// Full name.
    pub full_name: String,
    /// SIP extension.
    pub sip_extension: Option<String>,
    /// Organization (required for managers).
    pub organization_id: Option<Uuid>,
}

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

fn check_password(p: &str) -> Result<()> {
    if p.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid(
            "password",
            format!("Пароль слишком короткий: нужно не меньше {MIN_PASSWORD_LEN} символов"),
        ));
    }
    Ok(())
}

/// Creates a person on a connection (inside the caller's transaction, if any).
pub async fn create_person(conn: &mut PgConnection, p: &NewPerson) -> Result<()> {
    check_password(&p.password)?;
    if p.role == StaffRole::Manager && p.organization_id.is_none() {
        return Err(Error::invalid(
            "organizationId",
            "Для представителя УК укажите его организацию",
        ));
    }
    sqlx::query!(
        "select dialog_create_person($1, $2, $3, $4, $5, $6)",
        p.login.trim(),
        scram_verifier(&p.password),
        p.role as StaffRole,
        p.full_name.trim(),
        p.sip_extension,
        p.organization_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Creates a person (admins only; the database checks).
    pub async fn add_person(&self, p: &NewPerson) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        create_person(&mut conn, p).await
    }

    /// Corrects a person's name, SIP extension, organization and role, all or nothing (admins
    /// only; nobody changes their own role; a manager keeps an organization: the database
    /// checks all three).
    pub async fn update_person(&self, p: &PersonChanges) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "select dialog_update_person($1, $2, $3, $4)",
            p.login,
            p.full_name.trim(),
            p.sip_extension,
            p.organization_id
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("select dialog_set_person_role($1, $2)", p.login, p.role as StaffRole)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switches a person's login off (and ends their sessions) or back on.
    pub async fn set_person_active(&self, login: &str, active: bool) -> Result<()> {
        sqlx::query!("select dialog_set_person_active($1, $2)", login, active)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets a password: one's own, or anyone's for admins.
    pub async fn set_password(&self, login: &str, password: &str) -> Result<()> {
        check_password(password)?;
        sqlx::query!("select dialog_set_password($1, $2)", login, scram_verifier(password))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Everyone, for the admin screen.
    pub async fn people(&self) -> Result<Vec<Person>> {
        Ok(sqlx::query_as!(
            Person,
            r#"select login, full_name, role as "role: StaffRole", sip_extension, organization_id, active
               from staff order by full_name"#
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
