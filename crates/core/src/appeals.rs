//! Registering and working appeals: the card's save, statuses, joins, comments, history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{AppealStatus, AppealType, Channel, Priority};
use crate::phone::normalize_phone;
use crate::Store;

/// One reason of a new card: becomes one appeal with its own number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", default)]
pub struct Reason {
    /// Client-generated id (UUID v7): a retried save never makes a second appeal.
    pub id: Uuid,
    /// The building from the directory.
    pub building_id: Option<Uuid>,
    /// Apartment.
    pub apartment: String,
    /// Entrance (подъезд).
    pub entrance: String,
    /// Floor.
    pub floor: String,
    /// Anything else about the place ("у второго подъезда").
    pub address_note: String,
    /// The kind (вид) of the appeal.
    pub kind_id: Option<Uuid>,
    /// Priority; the kind's default when absent.
    pub priority: Option<Priority>,
    /// What the applicant said.
    pub comment: String,
    /// Executors to assign right away.
    pub executor_ids: Vec<Uuid>,
    /// An earlier live appeal of the same kind at the same building to join.
    pub join_to: Option<Uuid>,
}

/// A new card: the applicant once, and one or more reasons.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct NewAppeals {
    /// When the appeal was received; now when absent (mail and website set it).
    pub received_at: Option<DateTime<Utc>>,
    /// How it reached the center.
    pub channel: Channel,
    /// Phone number (any common notation) or e-mail of the applicant.
    pub identifier: String,
    /// Applicant's name.
    pub applicant_name: String,
    /// Other contacts.
    pub contacts: String,
    /// One appeal is made per reason.
    pub reasons: Vec<Reason>,
    /// The status the appeals take at once, e.g. `Done` for an inquiry answered during the
    /// call; otherwise new (assigned, with executors).
    pub status: Option<AppealStatus>,
}

/// The editable part of an existing appeal, as the card saves it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AppealChanges {
    /// When the appeal was received.
    pub received_at: DateTime<Utc>,
    /// How it reached the center.
    pub channel: Channel,
    /// Phone or e-mail.
    pub identifier: String,
    /// Applicant's name.
    pub applicant_name: String,
    /// Other contacts.
    pub contacts: String,
    /// Building.
    pub building_id: Option<Uuid>,
    /// Apartment.
    pub apartment: String,
    /// Entrance.
    pub entrance: String,
    /// Floor.
    pub floor: String,
    /// Note on the place.
    pub address_note: String,
    /// Kind.
    pub kind_id: Uuid,
    /// Priority.
    pub priority: Priority,
    /// Comment.
    pub comment: String,
    /// Status wanted after the save.
    pub status: AppealStatus,
    /// The executors wanted after the save.
    pub executor_ids: Vec<Uuid>,
    /// The appeal this one is joined to after the save (`None`: not joined).
    pub joined_to: Option<Uuid>,
}

/// An appeal and the version it was read at.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct VersionedId {
    /// Appeal.
    pub id: Uuid,
    /// Version read.
    pub version: i32,
}

/// An executor assigned to an appeal.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AssignedExecutor {
    /// Executor id.
    pub executor_id: Uuid,
    /// Name.
    pub full_name: String,
    /// Phones (E.164).
    pub phones: Vec<String>,
    /// When assigned.
    pub assigned_at: DateTime<Utc>,
    /// Whether a recorded outgoing call to them was made after the assignment.
    pub notified: bool,
}

/// An appeal as its card shows it.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Appeal {
    pub id: Uuid,
    pub number: String,
    pub received_at: DateTime<Utc>,
    pub registered_at: DateTime<Utc>,
    pub channel: Channel,
    pub identifier: String,
    pub applicant_name: String,
    pub contacts: String,
    pub building_id: Option<Uuid>,
    pub address: String,
    pub apartment: String,
    pub entrance: String,
    pub floor: String,
    pub address_note: String,
    pub kind_id: Uuid,
    pub kind_name: String,
    pub appeal_type: AppealType,
    pub priority: Priority,
    pub status: AppealStatus,
    pub progress: i16,
    pub comment: String,
    pub joined_to: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub localize_deadline_at: Option<DateTime<Utc>>,
    pub deadline_at: Option<DateTime<Utc>>,
    pub control_at: Option<DateTime<Utc>>,
    pub notified_at: Option<DateTime<Utc>>,
    pub in_work_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub version: i32,
    #[sqlx(skip)]
    pub executors: Vec<AssignedExecutor>,
}

/// One line of an appeal's history.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Login of who did it.
    pub actor: String,
    /// Their name, when they are staff.
    pub actor_name: Option<String>,
    /// `created`, `changed`, `status`, `comment`, `assigned`, `unassigned`, `joined`, `unjoined`, `attachment`.
    pub action: String,
    /// Fields before.
    pub before: Option<serde_json::Value>,
    /// Fields after.
    pub after: Option<serde_json::Value>,
    /// The comment's text.
    pub comment: Option<String>,
}

/// The applicant's identifier as stored: E.164 phone or lower-case e-mail.
pub fn normalize_identifier(input: &str) -> Result<String> {
    let t = input.trim();
    if t.is_empty() {
        return Err(Error::invalid(
            "identifier",
            "Укажите идентификатор заявителя: телефон или e-mail",
        ));
    }
    if let Some(p) = normalize_phone(t) {
        return Ok(p);
    }
    if t.contains('@') && !t.contains(char::is_whitespace) {
        return Ok(t.to_lowercase());
    }
    Err(Error::invalid(
        "identifier",
        format!("«{t}» — не телефон и не e-mail. Телефон: +7 912 345-67-89 или 8 912 345-67-89"),
    ))
}

const APPEAL_SELECT: &str = r#"
    select a.id, a.number, a.received_at, a.registered_at, a.channel, a.identifier, a.applicant_name,
           a.contacts, a.building_id, a.address, a.apartment, a.entrance, a.floor, a.address_note,
           a.kind_id, k.name as kind_name, a.appeal_type, a.priority, a.status, a.progress, a.comment,
           a.joined_to, a.organization_id, a.localize_deadline_at, a.deadline_at, a.control_at,
           a.notified_at, a.in_work_at, a.done_at, a.closed_at, a.created_by, a.updated_at,
           a.updated_by, a.version
    from appeals a join appeal_kinds k on k.id = a.kind_id
"#;

#[tracing::instrument(skip_all)]
pub(crate) async fn fetch_appeal(conn: &mut PgConnection, id: Uuid) -> Result<Appeal> {
    let mut a: Appeal = sqlx::query_as(&format!("{APPEAL_SELECT} where a.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound("Обращение"))?;
    a.executors = sqlx::query_as(
        r#"select ae.executor_id, e.full_name, e.phones, ae.assigned_at,
                  exists (select 1 from calls c
                          where c.executor_id = ae.executor_id and c.direction = 'исходящий'
                            and c.started_at >= ae.assigned_at and c.answered_at is not null
                            and c.recording is not null and (c.appeal_id is null or c.appeal_id = ae.appeal_id)) as notified
           from appeal_executors ae join executors e on e.id = ae.executor_id
           where ae.appeal_id = $1 order by ae.assigned_at"#,
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(a)
}

/// Locks the appeal for this transaction and checks that nobody saved it since `version`.
async fn lock_version(tx: &mut PgConnection, id: Uuid, version: i32) -> Result<AppealStatus> {
    let row: Option<(i32, String, AppealStatus)> =
        sqlx::query_as("select version, number, status from appeals where id = $1 for update")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match row {
        None => Err(Error::NotFound("Обращение")),
        Some((v, number, _)) if v != version => Err(Error::Conflict { number }),
        Some((_, _, status)) => Ok(status),
    }
}

async fn set_status(tx: &mut PgConnection, id: Uuid, status: AppealStatus) -> Result<()> {
    sqlx::query("update appeals set status = $2 where id = $1 and status <> $2")
        .bind(id)
        .bind(status)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn assigned_ids(tx: &mut PgConnection, id: Uuid) -> Result<Vec<Uuid>> {
    Ok(
        sqlx::query_scalar("select executor_id from appeal_executors where appeal_id = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?,
    )
}

async fn add_executors(tx: &mut PgConnection, id: Uuid, executors: &[Uuid]) -> Result<()> {
    for e in executors {
        sqlx::query("insert into appeal_executors (appeal_id, executor_id) values ($1, $2) on conflict do nothing")
            .bind(id)
            .bind(e)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

async fn remove_executors(tx: &mut PgConnection, id: Uuid, executors: &[Uuid]) -> Result<()> {
    sqlx::query("delete from appeal_executors where appeal_id = $1 and executor_id = any($2)")
        .bind(id)
        .bind(executors)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Applies a wanted set of executors and status in the order the rules allow: executors are
/// added before `назначено`/`в работе`, and removed after leaving them. A card that gets its
/// first executor while `новый` becomes `назначено`; one that loses its last while
/// `назначено` goes back to `новый`.
async fn apply_executors_and_status(
    tx: &mut PgConnection,
    id: Uuid,
    current: AppealStatus,
    wanted_executors: &[Uuid],
    mut wanted: AppealStatus,
) -> Result<()> {
    let have = assigned_ids(tx, id).await?;
    let to_add: Vec<Uuid> = wanted_executors.iter().filter(|e| !have.contains(e)).copied().collect();
    let to_remove: Vec<Uuid> = have.iter().filter(|e| !wanted_executors.contains(e)).copied().collect();
    if current == AppealStatus::New && wanted == AppealStatus::New && !wanted_executors.is_empty() {
        wanted = AppealStatus::Assigned;
    }
    if current == AppealStatus::Assigned && wanted == AppealStatus::Assigned && wanted_executors.is_empty() {
        wanted = AppealStatus::New;
    }
    add_executors(tx, id, &to_add).await?;
    let keeps_executor = matches!(wanted, AppealStatus::Assigned | AppealStatus::InWork);
    if keeps_executor {
        remove_executors(tx, id, &to_remove).await?;
        set_status(tx, id, wanted).await?;
    } else {
        set_status(tx, id, wanted).await?;
        remove_executors(tx, id, &to_remove).await?;
    }
    Ok(())
}

impl Store {
    /// Registers a card: one appeal per reason, all or none. Ids come from the client, so
    /// calling again with the same reasons (after a lost reply) returns the same appeals.
    #[tracing::instrument(skip_all, fields(reasons = new.reasons.len()))]
    pub async fn create_appeals(&self, new: &NewAppeals) -> Result<Vec<Appeal>> {
        let identifier = normalize_identifier(&new.identifier)?;
        if new.reasons.is_empty() {
            return Err(Error::invalid("reasons", "Добавьте хотя бы одну причину обращения"));
        }
        for r in &new.reasons {
            if r.kind_id.is_none() {
                return Err(Error::invalid(
                    "kindId",
                    "Выберите вид обращения: начните вводить ключевое слово",
                ));
            }
            if r.id.is_nil() {
                return Err(Error::invalid("id", "У причины нет идентификатора"));
            }
        }
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(new.reasons.len());
        for r in &new.reasons {
            out.push(self.create_one(&mut tx, new, &identifier, r).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn create_one(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        new: &NewAppeals,
        identifier: &str,
        r: &Reason,
    ) -> Result<Appeal> {
        sqlx::query(
            r#"insert into appeals (id, received_at, channel, identifier, applicant_name, contacts,
                   building_id, apartment, entrance, floor, address_note, kind_id, priority, comment, number,
                   appeal_type)
               values ($1, coalesce($2, now()), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '', null)"#,
        )
        .bind(r.id)
        .bind(new.received_at)
        .bind(new.channel)
        .bind(identifier)
        .bind(new.applicant_name.trim())
        .bind(new.contacts.trim())
        .bind(r.building_id)
        .bind(r.apartment.trim())
        .bind(r.entrance.trim())
        .bind(r.floor.trim())
        .bind(r.address_note.trim())
        .bind(r.kind_id)
        .bind(r.priority)
        .bind(r.comment.trim())
        .execute(&mut **tx)
        .await?;
        if !r.executor_ids.is_empty() {
            let status: AppealStatus = sqlx::query_scalar("select status from appeals where id = $1")
                .bind(r.id)
                .fetch_one(&mut **tx)
                .await?;
            let mut wanted = assigned_ids(tx, r.id).await?;
            wanted.extend(
                r.executor_ids
                    .iter()
                    .filter(|e| !wanted.contains(e))
                    .copied()
                    .collect::<Vec<_>>(),
            );
            apply_executors_and_status(tx, r.id, status, &wanted, status).await?;
        }
        if let Some(target) = r.join_to {
            sqlx::query("update appeals set joined_to = $2 where id = $1 and joined_to is distinct from $2")
                .bind(r.id)
                .bind(target)
                .execute(&mut **tx)
                .await?;
        }
        if let Some(status) = new.status.filter(|s| *s != AppealStatus::New) {
            set_status(tx, r.id, status).await?;
        }
        fetch_appeal(tx, r.id).await
    }

    /// The appeal with its executors.
    pub async fn appeal(&self, id: Uuid) -> Result<Appeal> {
        let mut conn = self.pool.acquire().await?;
        fetch_appeal(&mut conn, id).await
    }

    /// The appeal with this number (`2026-000123`) and its executors, for printing and
    /// for the number an operator types.
    pub async fn appeal_by_number(&self, number: &str) -> Result<Appeal> {
        let mut conn = self.pool.acquire().await?;
        let id: Uuid = sqlx::query_scalar("select id from appeals where number = $1")
            .bind(number.trim())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(Error::NotFound("Обращение с таким номером"))?;
        fetch_appeal(&mut conn, id).await
    }

    /// Saves the card of an existing appeal read at `version`: fields, executors and status
    /// in one transaction. A stale `version` is [`Error::Conflict`].
    #[tracing::instrument(skip_all, fields(%id))]
    pub async fn save_appeal(&self, id: Uuid, version: i32, c: &AppealChanges) -> Result<Appeal> {
        let identifier = normalize_identifier(&c.identifier)?;
        let mut tx = self.pool.begin().await?;
        let current = lock_version(&mut tx, id, version).await?;
        sqlx::query(
            r#"update appeals set received_at = $2, channel = $3, identifier = $4, applicant_name = $5,
                   contacts = $6, building_id = $7, apartment = $8, entrance = $9, floor = $10,
                   address_note = $11, kind_id = $12, priority = $13, comment = $14, joined_to = $15
               where id = $1"#,
        )
        .bind(id)
        .bind(c.received_at)
        .bind(c.channel)
        .bind(identifier)
        .bind(c.applicant_name.trim())
        .bind(c.contacts.trim())
        .bind(c.building_id)
        .bind(c.apartment.trim())
        .bind(c.entrance.trim())
        .bind(c.floor.trim())
        .bind(c.address_note.trim())
        .bind(c.kind_id)
        .bind(c.priority)
        .bind(c.comment.trim())
        .bind(c.joined_to)
        .execute(&mut *tx)
        .await?;
        apply_executors_and_status(&mut tx, id, current, &c.executor_ids, c.status).await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Moves one appeal to `status`.
    #[tracing::instrument(skip_all, fields(%id, ?status))]
    pub async fn change_status(&self, id: Uuid, version: i32, status: AppealStatus) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        lock_version(&mut tx, id, version).await?;
        set_status(&mut tx, id, status).await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Moves several appeals (e.g. all done by one executor) to `status` at once: all or none.
    #[tracing::instrument(skip_all, fields(n = appeals.len(), ?status))]
    pub async fn change_status_many(&self, appeals: &[(Uuid, i32)], status: AppealStatus) -> Result<Vec<Appeal>> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(appeals.len());
        for &(id, version) in appeals {
            lock_version(&mut tx, id, version).await?;
            set_status(&mut tx, id, status).await?;
            out.push(fetch_appeal(&mut tx, id).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Assigns an executor (who must serve the appeal's kind and building).
    pub async fn assign_executor(&self, id: Uuid, version: i32, executor_id: Uuid) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        let status = lock_version(&mut tx, id, version).await?;
        let mut wanted = assigned_ids(&mut tx, id).await?;
        if !wanted.contains(&executor_id) {
            wanted.push(executor_id);
        }
        apply_executors_and_status(&mut tx, id, status, &wanted, status).await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Removes an executor; the last one of a `назначено` appeal sends it back to `новый`.
    pub async fn unassign_executor(&self, id: Uuid, version: i32, executor_id: Uuid) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        let status = lock_version(&mut tx, id, version).await?;
        let wanted: Vec<Uuid> = assigned_ids(&mut tx, id)
            .await?
            .into_iter()
            .filter(|e| *e != executor_id)
            .collect();
        apply_executors_and_status(&mut tx, id, status, &wanted, status).await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Joins the appeal to an earlier one of the same kind at the same building; each keeps
    /// its number. `None` unjoins.
    pub async fn join_appeal(&self, id: Uuid, version: i32, to: Option<Uuid>) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        lock_version(&mut tx, id, version).await?;
        sqlx::query("update appeals set joined_to = $2 where id = $1")
            .bind(id)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// The live appeal of this kind at this building that a new one should join, if any.
    pub async fn suggest_join(&self, kind_id: Uuid, building_id: Uuid, except: Option<Uuid>) -> Result<Option<Appeal>> {
        let id: Option<Uuid> = sqlx::query_scalar(
            r#"select id from appeals
               where kind_id = $1 and building_id = $2 and joined_to is null
                 and status in ('новый', 'назначено', 'в работе') and id is distinct from $3
               order by received_at desc limit 1"#,
        )
        .bind(kind_id)
        .bind(building_id)
        .bind(except)
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => Ok(Some(self.appeal(id).await?)),
            None => Ok(None),
        }
    }

    /// All appeals of the group the appeal belongs to (the first one and those joined to it).
    pub async fn joined_group(&self, id: Uuid) -> Result<Vec<Appeal>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            r#"with root as (select coalesce(joined_to, id) as id from appeals where id = $1)
               select a.id from appeals a, root
               where a.id = root.id or a.joined_to = root.id order by a.received_at"#,
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let mut conn = self.pool.acquire().await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(fetch_appeal(&mut conn, id).await?);
        }
        Ok(out)
    }

    /// Adds a comment to the appeal's history.
    pub async fn add_comment(&self, id: Uuid, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::invalid("comment", "Комментарий пуст — напишите текст"));
        }
        sqlx::query("insert into appeal_history (appeal_id, action, comment) values ($1, 'comment', $2)")
            .bind(id)
            .bind(text.trim())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The appeal's history, oldest first.
    pub async fn history(&self, id: Uuid) -> Result<Vec<HistoryEntry>> {
        Ok(sqlx::query_as(
            r#"select h.at, h.actor, s.full_name as actor_name, h.action, h.before, h.after, h.comment
               from appeal_history h left join staff s on s.login = h.actor
               where h.appeal_id = $1 order by h.id"#,
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(
            normalize_identifier("8 (912) 345-67-89").ok().as_deref(),
            Some("+79123456789")
        );
        assert_eq!(
            normalize_identifier(" Ivan@Mail.RU ").ok().as_deref(),
            Some("ivan@mail.ru")
        );
        assert!(matches!(
            normalize_identifier("  "),
            Err(Error::Invalid {
                field: "identifier",
                ..
            })
        ));
        assert!(matches!(
            normalize_identifier("кв 5"),
            Err(Error::Invalid {
                field: "identifier",
                ..
            })
        ));
    }
}
