//! Registering and working appeals: the card's save, statuses, joins, comments, history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{AppealStatus, AppealType, Channel, Priority};
use crate::phone::normalize_phone;
use crate::registry::{RegistryFilter, Sort};
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
    /// Photos and documents attached before the first save: stored with the appeal.
    pub attachments: Vec<crate::files::NewFile>,
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
    /// It needs an address (by its type; the database's rule).
    pub needs_address: bool,
    /// The statuses this person may move it to now (the database's rules; the card offers
    /// exactly these).
    pub next_statuses: Vec<AppealStatus>,
    /// The building's own address (`address` adds the flat, entrance and floor).
    pub building_address: Option<String>,
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
    /// What happened, in words (the card, the history tooltip and the printed card all say it
    /// so: [`crate::history::describe`]).
    #[sqlx(default)]
    pub text: String,
}

/// The applicant's identifier as stored: E.164 phone, lower-case e-mail, or nothing (which
/// the database takes only for a letter or a visit that names the applicant and an address).
pub fn normalize_identifier(input: &str) -> Result<String> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(String::new());
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

/// The appeals with these ids that the person may see, with their executors, in the order
/// asked for.
#[tracing::instrument(skip_all)]
pub(crate) async fn fetch_appeals(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Appeal>> {
    let mut found = sqlx::query!(
        r#"
        select a.id as "id!", a.number as "number!", a.received_at as "received_at!",
               a.registered_at as "registered_at!", a.channel as "channel!: Channel",
               a.identifier as "identifier!", a.applicant_name as "applicant_name!", a.contacts as "contacts!",
               a.building_id, a.address as "address!", a.apartment as "apartment!", a.entrance as "entrance!",
               a.floor as "floor!", a.address_note as "address_note!", a.kind_id as "kind_id!",
               k.name as kind_name, a.appeal_type as "appeal_type!: AppealType",
               a.priority as "priority!: Priority", a.status as "status!: AppealStatus",
               a.progress as "progress!", a.comment as "comment!", a.joined_to, a.organization_id,
               a.localize_deadline_at, a.deadline_at, a.control_at, a.notified_at, a.in_work_at, a.done_at,
               a.closed_at, a.created_by as "created_by!", a.updated_at as "updated_at!",
               a.updated_by as "updated_by!", a.version as "version!",
               dialog_type_needs_address(a.appeal_type) as "needs_address!",
               dialog_next_statuses(a) as "next_statuses!: Vec<AppealStatus>",
               (select b.address from buildings b where b.id = a.building_id) as building_address
        from dialog_appeals_by_id($1) a join appeal_kinds k on k.id = a.kind_id
        "#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(i) = found.iter().position(|a| a.id == *id) else {
            return Err(Error::NotFound("Обращение"));
        };
        let a = found.swap_remove(i);
        let executors = sqlx::query_as!(
            AssignedExecutor,
            r#"select executor_id as "executor_id!", full_name as "full_name!", phones as "phones!",
                      assigned_at as "assigned_at!", notified as "notified!"
               from dialog_appeal_executors($1)"#,
            a.id
        )
        .fetch_all(&mut *conn)
        .await?;
        out.push(Appeal {
            id: a.id,
            number: a.number,
            received_at: a.received_at,
            registered_at: a.registered_at,
            channel: a.channel,
            identifier: a.identifier,
            applicant_name: a.applicant_name,
            contacts: a.contacts,
            building_id: a.building_id,
            address: a.address,
            apartment: a.apartment,
            entrance: a.entrance,
            floor: a.floor,
            address_note: a.address_note,
            kind_id: a.kind_id,
            kind_name: a.kind_name,
            appeal_type: a.appeal_type,
            priority: a.priority,
            status: a.status,
            progress: a.progress,
            comment: a.comment,
            joined_to: a.joined_to,
            organization_id: a.organization_id,
            localize_deadline_at: a.localize_deadline_at,
            deadline_at: a.deadline_at,
            control_at: a.control_at,
            notified_at: a.notified_at,
            in_work_at: a.in_work_at,
            done_at: a.done_at,
            closed_at: a.closed_at,
            created_by: a.created_by,
            updated_at: a.updated_at,
            updated_by: a.updated_by,
            version: a.version,
            needs_address: a.needs_address,
            next_statuses: a.next_statuses,
            building_address: a.building_address,
            executors,
        });
    }
    Ok(out)
}

pub(crate) async fn fetch_appeal(conn: &mut PgConnection, id: Uuid) -> Result<Appeal> {
    Ok(fetch_appeals(conn, &[id]).await?.remove(0))
}

impl Store {
    /// Registers a card: one appeal per reason, all or none. Ids come from the client, so
    /// calling again with the same reasons (after a lost reply) returns the same appeals; a
    /// different card under an id already used is refused.
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
        self.retrying(|| self.register(new, &identifier)).await
    }

    async fn register(&self, new: &NewAppeals, identifier: &str) -> Result<Vec<Appeal>> {
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::with_capacity(new.reasons.len());
        for r in &new.reasons {
            sqlx::query!(
                "select dialog_register_appeal($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                r.id,
                new.received_at,
                new.channel as Channel,
                identifier,
                new.applicant_name.trim(),
                new.contacts.trim(),
                r.building_id,
                r.apartment.trim(),
                r.entrance.trim(),
                r.floor.trim(),
                r.address_note.trim(),
                r.kind_id,
                r.priority as Option<Priority>,
                r.comment.trim(),
                &r.executor_ids,
                r.join_to,
                new.status as Option<AppealStatus>,
            )
            .fetch_one(&mut *tx)
            .await?;
            for f in &r.attachments {
                crate::files::attach(&mut tx, f.id, r.id, &f.file_name, &f.mime, &f.bytes()?).await?;
            }
            ids.push(r.id);
        }
        let out = fetch_appeals(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(out)
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
        let id = sqlx::query_scalar!("select dialog_appeal_id_by_number($1)", number.trim())
            .fetch_one(&mut *conn)
            .await?
            .ok_or(Error::NotFound("Обращение с таким номером"))?;
        fetch_appeal(&mut conn, id).await
    }

    /// Saves the card of an existing appeal read at `version`: fields, executors and status
    /// in one transaction. A stale `version` is [`Error::Conflict`].
    #[tracing::instrument(skip_all, fields(%id))]
    pub async fn save_appeal(&self, id: Uuid, version: i32, c: &AppealChanges) -> Result<Appeal> {
        let identifier = normalize_identifier(&c.identifier)?;
        self.retrying(|| self.save(id, version, c, &identifier)).await
    }

    async fn save(&self, id: Uuid, version: i32, c: &AppealChanges, identifier: &str) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "select dialog_save_appeal($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            id,
            version,
            c.received_at,
            c.channel as Channel,
            identifier,
            c.applicant_name.trim(),
            c.contacts.trim(),
            c.building_id,
            c.apartment.trim(),
            c.entrance.trim(),
            c.floor.trim(),
            c.address_note.trim(),
            c.kind_id,
            c.priority as Priority,
            c.comment.trim(),
            c.status as AppealStatus,
            &c.executor_ids,
            c.joined_to,
        )
        .execute(&mut *tx)
        .await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Moves one appeal to `status`.
    #[tracing::instrument(skip_all, fields(%id, ?status))]
    pub async fn change_status(&self, id: Uuid, version: i32, status: AppealStatus) -> Result<Appeal> {
        Ok(self.change_status_many(&[(id, version)], status).await?.remove(0))
    }

    /// Moves several appeals (e.g. all done by one executor) to `status` at once: all or none.
    #[tracing::instrument(skip_all, fields(n = appeals.len(), ?status))]
    pub async fn change_status_many(&self, appeals: &[(Uuid, i32)], status: AppealStatus) -> Result<Vec<Appeal>> {
        let ids: Vec<Uuid> = appeals.iter().map(|a| a.0).collect();
        let versions: Vec<i32> = appeals.iter().map(|a| a.1).collect();
        self.retrying(|| self.set_status(&ids, &versions, status)).await
    }

    async fn set_status(&self, ids: &[Uuid], versions: &[i32], status: AppealStatus) -> Result<Vec<Appeal>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!(
            "select dialog_set_status($1, $2, $3)",
            ids,
            versions,
            status as AppealStatus
        )
        .execute(&mut *tx)
        .await?;
        let out = fetch_appeals(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn assign(&self, id: Uuid, version: i32, executor_id: Uuid, assign: bool) -> Result<Appeal> {
        self.retrying(|| self.assign_once(id, version, executor_id, assign))
            .await
    }

    async fn assign_once(&self, id: Uuid, version: i32, executor_id: Uuid, assign: bool) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!("select dialog_assign($1, $2, $3, $4)", id, version, executor_id, assign)
            .execute(&mut *tx)
            .await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Assigns an executor (who must serve the appeal's kind and building).
    pub async fn assign_executor(&self, id: Uuid, version: i32, executor_id: Uuid) -> Result<Appeal> {
        self.assign(id, version, executor_id, true).await
    }

    /// Removes an executor; the last one of a `назначено` appeal sends it back to `новый`.
    pub async fn unassign_executor(&self, id: Uuid, version: i32, executor_id: Uuid) -> Result<Appeal> {
        self.assign(id, version, executor_id, false).await
    }

    /// Joins the appeal to an earlier one of the same kind at the same building; each keeps
    /// its number. `None` unjoins.
    pub async fn join_appeal(&self, id: Uuid, version: i32, to: Option<Uuid>) -> Result<Appeal> {
        self.retrying(|| self.join_once(id, version, to)).await
    }

    async fn join_once(&self, id: Uuid, version: i32, to: Option<Uuid>) -> Result<Appeal> {
        let mut tx = self.pool.begin().await?;
        sqlx::query!("select dialog_join($1, $2, $3)", id, version, to)
            .execute(&mut *tx)
            .await?;
        let a = fetch_appeal(&mut tx, id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// The live appeal of this kind at this building that a new one should join, if any.
    pub async fn suggest_join(&self, kind_id: Uuid, building_id: Uuid, except: Option<Uuid>) -> Result<Option<Appeal>> {
        let f = RegistryFilter {
            kind_ids: vec![kind_id],
            building_id: Some(building_id),
            statuses: AppealStatus::LIVE.to_vec(),
            ..Default::default()
        };
        let page = self.registry_page(&f, Sort::ReceivedDesc, None, 20).await?;
        let id = page
            .rows
            .iter()
            .find(|r| r.joined_to.is_none() && Some(r.id) != except)
            .map(|r| r.id);
        match id {
            Some(id) => Ok(Some(self.appeal(id).await?)),
            None => Ok(None),
        }
    }

    /// All appeals of the group the appeal belongs to (the first one and those joined to it).
    pub async fn joined_group(&self, id: Uuid) -> Result<Vec<Appeal>> {
        let mut conn = self.pool.acquire().await?;
        let ids: Vec<Uuid> = sqlx::query_scalar!(r#"select dialog_joined_group($1) as "id!""#, id)
            .fetch_all(&mut *conn)
            .await?;
        fetch_appeals(&mut conn, &ids).await
    }

    /// Adds a comment to the appeal's history.
    pub async fn add_comment(&self, id: Uuid, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(Error::invalid("comment", "Комментарий пуст — напишите текст"));
        }
        sqlx::query!("select dialog_add_comment($1, $2)", id, text.trim())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The appeal's history, oldest first.
    pub async fn history(&self, id: Uuid) -> Result<Vec<HistoryEntry>> {
        let rows = sqlx::query!(
            r#"select at as "at!", actor as "actor!", actor_name, action as "action!", before, after, comment
               from dialog_appeal_history($1)"#,
            id
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut e = HistoryEntry {
                    at: r.at,
                    actor: r.actor,
                    actor_name: r.actor_name,
                    action: r.action,
                    before: r.before,
                    after: r.after,
                    comment: r.comment,
                    text: String::new(),
                };
                e.text = crate::history::describe(&e);
                e
            })
            .collect())
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
        // Nothing is for the database to judge by the channel.
        assert_eq!(normalize_identifier("  ").ok().as_deref(), Some(""));
        assert!(matches!(
            normalize_identifier("кв 5"),
            Err(Error::Invalid {
                field: "identifier",
                ..
            })
        ));
    }
}
