//! The directories: organizations, buildings, appeal kinds, executors — search and upkeep.

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{AppealStatus, AppealType, Priority};
use crate::phone::normalize_phone;
use crate::registry::{search_patterns, RegistryFilter, RegistryRow, Sort};
use crate::Store;

/// A management company (УК) or another organization whose buildings the center serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Phone (E.164).
    pub phone: Option<String>,
}

/// A building from the directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Building {
    /// Id.
    pub id: Uuid,
    /// Who manages it.
    pub organization_id: Uuid,
    /// City.
    pub city: String,
    /// Street with its type ("ул. Ленина").
    pub street: String,
    /// House number ("10", "10а").
    pub house: String,
    /// Block (корпус), may be empty.
    pub block: String,
    /// The address as shown.
    #[sqlx(default)]
    pub address: String,
}

/// A kind (вид) of appeal with its deadlines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AppealKind {
    /// Id.
    pub id: Uuid,
    /// Name ("Нет горячей воды").
    pub name: String,
    /// Type it gives the appeal.
    pub appeal_type: AppealType,
    /// Priority it gives by default.
    pub default_priority: Priority,
    /// Minutes to localise an accident, if the rules set it.
    pub localize_minutes: Option<i32>,
    /// Minutes to resolve, if the rules set it.
    pub resolve_minutes: Option<i32>,
    /// The rule in words.
    pub deadline_note: String,
    /// Words operators type to find it.
    pub keywords: Vec<String>,
    /// Where the deadline comes from.
    pub source: String,
    /// Offered for new appeals.
    pub active: bool,
    /// Its appeals need an address (the database's `dialog_type_needs_address` of its type;
    /// read only).
    #[serde(default)]
    #[sqlx(default)]
    pub needs_address: bool,
}

/// An executor (a plumber, an electrician, a service).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Executor {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub full_name: String,
    /// Position ("сантехник").
    pub position: String,
    /// Phones, E.164.
    pub phones: Vec<String>,
    /// Organization.
    pub organization_id: Uuid,
    /// Works now.
    pub active: bool,
}

/// An executor in the contacts list.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// The executor.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub executor: Executor,
    /// Organization's name.
    pub organization_name: String,
    /// Appeals assigned to them or in their work.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub in_work: i64,
}

/// What an executor serves: kinds and buildings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// Kinds.
    pub kind_ids: Vec<Uuid>,
    /// Buildings.
    pub building_ids: Vec<Uuid>,
}

/// An organization's phone as stored: `+7…`, or none when left empty.
fn organization_phone(phone: Option<&str>) -> Result<Option<String>> {
    phone
        .filter(|p| !p.trim().is_empty())
        .map(|p| normalize_phone(p).ok_or_else(|| Error::invalid("phone", format!("«{p}» — не номер телефона"))))
        .transpose()
}

/// Upserts, for the admin screens and `dialog-admin import`; on a connection so that a whole
/// import is one transaction.
pub mod upsert {
    use super::*;

    /// Creates or renames an organization found by name; returns its id.
    pub async fn organization(conn: &mut PgConnection, name: &str, phone: Option<&str>) -> Result<Uuid> {
        let phone = organization_phone(phone)?;
        Ok(sqlx::query_scalar!(
            r#"insert into organizations (id, name, phone) values ($1, $2, $3)
               on conflict (name) do update set phone = coalesce(excluded.phone, organizations.phone)
               returning id"#,
            Uuid::now_v7(),
            name.trim(),
            phone
        )
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Creates a building or moves it to another organization; returns its id.
    pub async fn building(conn: &mut PgConnection, b: &Building) -> Result<Uuid> {
        Ok(sqlx::query_scalar!(
            r#"insert into buildings (id, organization_id, city, street, house, block) values ($1, $2, $3, $4, $5, $6)
               on conflict (city, street, house, block) do update set organization_id = excluded.organization_id
               returning id"#,
            b.id,
            b.organization_id,
            b.city.trim(),
            b.street.trim(),
            b.house.trim(),
            b.block.trim()
        )
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Creates or updates a kind found by name; returns its id.
    pub async fn kind(conn: &mut PgConnection, k: &AppealKind) -> Result<Uuid> {
        Ok(sqlx::query_scalar!(
            r#"insert into appeal_kinds (id, name, appeal_type, default_priority, localize_minutes, resolve_minutes,
                   deadline_note, keywords, source, active)
               values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
               on conflict (name) do update set appeal_type = excluded.appeal_type,
                   default_priority = excluded.default_priority, localize_minutes = excluded.localize_minutes,
                   resolve_minutes = excluded.resolve_minutes, deadline_note = excluded.deadline_note,
                   keywords = excluded.keywords, source = excluded.source, active = excluded.active
               returning id"#,
            k.id,
            k.name.trim(),
            k.appeal_type as AppealType,
            k.default_priority as Priority,
            k.localize_minutes,
            k.resolve_minutes,
            k.deadline_note,
            &k.keywords,
            k.source,
            k.active
        )
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Creates or updates an executor (by id) and replaces what they serve.
    pub async fn executor(conn: &mut PgConnection, e: &Executor, service: &Service) -> Result<Uuid> {
        let phones = e
            .phones
            .iter()
            .map(|p| normalize_phone(p).ok_or_else(|| Error::invalid("phones", format!("«{p}» — не номер телефона"))))
            .collect::<Result<Vec<_>>>()?;
        sqlx::query!(
            r#"insert into executors (id, full_name, position, phones, organization_id, active) values ($1, $2, $3, $4, $5, $6)
               on conflict (id) do update set full_name = excluded.full_name, position = excluded.position,
                   phones = excluded.phones, organization_id = excluded.organization_id, active = excluded.active"#,
            e.id,
            e.full_name.trim(),
            e.position.trim(),
            &phones,
            e.organization_id,
            e.active
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "delete from executor_kinds where executor_id = $1 and kind_id <> all($2)",
            e.id,
            &service.kind_ids
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "insert into executor_kinds select $1, unnest($2::uuid[]) on conflict do nothing",
            e.id,
            &service.kind_ids
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "delete from executor_buildings where executor_id = $1 and building_id <> all($2)",
            e.id,
            &service.building_ids
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "insert into executor_buildings select $1, unnest($2::uuid[]) on conflict do nothing",
            e.id,
            &service.building_ids
        )
        .execute(&mut *conn)
        .await?;
        Ok(e.id)
    }
}

impl Store {
    /// Creates or updates an organization (admins); returns its id.
    pub async fn save_organization(&self, name: &str, phone: Option<&str>) -> Result<Uuid> {
        let mut conn = self.pool.acquire().await?;
        upsert::organization(&mut conn, name, phone).await
    }

    /// Renames an organization or corrects its phone (admins).
    pub async fn update_organization(&self, id: Uuid, name: &str, phone: Option<&str>) -> Result<()> {
        let phone = organization_phone(phone)?;
        let done = sqlx::query!(
            "update organizations set name = $2, phone = $3 where id = $1",
            id,
            name.trim(),
            phone
        )
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("Организация"));
        }
        Ok(())
    }

    /// Creates a building or moves it to another organization (admins); returns its id.
    pub async fn save_building(&self, b: &Building) -> Result<Uuid> {
        let mut conn = self.pool.acquire().await?;
        upsert::building(&mut conn, b).await
    }

    /// Creates or edits a building and sets who serves it (the executors of its organization
    /// it is added to), in one transaction (admins).
    pub async fn save_building_served(&self, b: &Building, served_by: &[Uuid]) -> Result<Uuid> {
        let mut tx = self.pool.begin().await?;
        let id = upsert::building(&mut tx, b).await?;
        sqlx::query!(
            "delete from executor_buildings where building_id = $1 and executor_id <> all($2)",
            id,
            served_by
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "insert into executor_buildings select unnest($2::uuid[]), $1 on conflict do nothing",
            id,
            served_by
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates or edits a kind and its deadlines (admins); returns its id.
    pub async fn save_kind(&self, k: &AppealKind) -> Result<Uuid> {
        let mut conn = self.pool.acquire().await?;
        upsert::kind(&mut conn, k).await
    }

    /// Creates or edits an executor with what they serve, in one transaction (admins).
    pub async fn save_executor(&self, e: &Executor, service: &Service) -> Result<Uuid> {
        let mut tx = self.pool.begin().await?;
        let id = upsert::executor(&mut tx, e, service).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every executor, working or not (admin screens).
    pub async fn executors(&self) -> Result<Vec<Executor>> {
        Ok(sqlx::query_as!(
            Executor,
            "select id, full_name, position, phones, organization_id, active from executors order by full_name"
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// The buildings of an organization (admin screens).
    pub async fn buildings(&self, organization_id: Uuid) -> Result<Vec<Building>> {
        Ok(sqlx::query_as!(
            Building,
            r#"select id, organization_id, city, street, house, block, address as "address!" from buildings
               where organization_id = $1 order by street, length(house), house, block"#,
            organization_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// All organizations.
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        Ok(
            sqlx::query_as!(Organization, "select id, name, phone from organizations order by name")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Buildings matching fragments of an address ("ленина 10"), best first.
    #[tracing::instrument(skip_all)]
    pub async fn search_buildings(&self, text: &str, limit: u32) -> Result<Vec<Building>> {
        let patterns = search_patterns(text);
        if patterns.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_as!(
            Building,
            r#"select id, organization_id, city, street, house, block, address as "address!" from buildings
               where search_text like all($1)
               order by similarity(search_text, dialog_norm($2)) desc, street, length(house), house, block
               limit $3"#,
            &patterns,
            text,
            i64::from(limit.clamp(1, 100))
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// One building.
    pub async fn building(&self, id: Uuid) -> Result<Building> {
        sqlx::query_as!(
            Building,
            r#"select id, organization_id, city, street, house, block, address as "address!" from buildings
               where id = $1"#,
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound("Дом"))
    }

    /// Active kinds matching a keyword ("вода", "течь"), best first; all when `text` is empty.
    #[tracing::instrument(skip_all)]
    pub async fn search_kinds(&self, text: &str) -> Result<Vec<AppealKind>> {
        let patterns = search_patterns(text);
        Ok(sqlx::query_as!(
            AppealKind,
            r#"select id, name, appeal_type as "appeal_type: AppealType", default_priority as "default_priority: Priority",
                      localize_minutes, resolve_minutes, deadline_note, keywords, source, active,
                      dialog_type_needs_address(appeal_type) as "needs_address!"
               from appeal_kinds
               where active and search_text like all($1)
               order by similarity(search_text, dialog_norm($2)) desc, name"#,
            &patterns,
            text
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every kind, active or not (admin screens).
    pub async fn kinds(&self) -> Result<Vec<AppealKind>> {
        Ok(sqlx::query_as!(
            AppealKind,
            r#"select id, name, appeal_type as "appeal_type: AppealType",
                          default_priority as "default_priority: Priority", localize_minutes, resolve_minutes,
                          deadline_note, keywords, source, active,
                          dialog_type_needs_address(appeal_type) as "needs_address!"
                   from appeal_kinds order by name"#
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Active executors who serve this kind at this building: the only ones the card offers.
    pub async fn executors_for(&self, kind_id: Uuid, building_id: Uuid) -> Result<Vec<Executor>> {
        Ok(sqlx::query_as!(
            Executor,
            r#"select e.id, e.full_name, e.position, e.phones, e.organization_id, e.active from executors e
               where e.active
                 and exists (select 1 from executor_kinds k where k.executor_id = e.id and k.kind_id = $1)
                 and exists (select 1 from executor_buildings b where b.executor_id = e.id and b.building_id = $2)
               order by e.full_name"#,
            kind_id,
            building_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// What an executor serves.
    pub async fn executor_service(&self, id: Uuid) -> Result<Service> {
        Ok(Service {
            kind_ids: sqlx::query_scalar!("select kind_id from executor_kinds where executor_id = $1", id)
                .fetch_all(&self.pool)
                .await?,
            building_ids: sqlx::query_scalar!("select building_id from executor_buildings where executor_id = $1", id)
                .fetch_all(&self.pool)
                .await?,
        })
    }

    /// The contacts list: active executors with the number of appeals in their work.
    pub async fn contacts(&self) -> Result<Vec<Contact>> {
        let rows = sqlx::query!(
            r#"select e.id, e.full_name, e.position, e.phones, e.organization_id, e.active,
                      o.name as organization_name, coalesce(l.in_work, 0) as "in_work!"
               from executors e join organizations o on o.id = e.organization_id
               left join dialog_executor_load() l on l.executor_id = e.id
               where e.active order by e.full_name"#
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Contact {
                executor: Executor {
                    id: r.id,
                    full_name: r.full_name,
                    position: r.position,
                    phones: r.phones,
                    organization_id: r.organization_id,
                    active: r.active,
                },
                organization_name: r.organization_name,
                in_work: r.in_work,
            })
            .collect())
    }

    /// The executor whose phone this is (an incoming call from an executor).
    pub async fn executor_by_phone(&self, phone: &str) -> Result<Option<Executor>> {
        let Some(phone) = normalize_phone(phone) else {
            return Ok(None);
        };
        Ok(sqlx::query_as!(
            Executor,
            r#"select id, full_name, position, phones, organization_id, active from executors
               where phones @> array[$1] order by active desc limit 1"#,
            phone
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Appeals assigned to or in the work of an executor, oldest first.
    pub async fn executor_appeals(&self, executor_id: Uuid) -> Result<Vec<RegistryRow>> {
        let f = RegistryFilter {
            executor_ids: vec![executor_id],
            statuses: vec![AppealStatus::Assigned, AppealStatus::InWork],
            ..Default::default()
        };
        Ok(self.registry_page(&f, Sort::ReceivedAsc, None, 500).await?.rows)
    }

    /// An incoming call's number → that executor and their appeals in work, if it is one.
    pub async fn executor_appeals_by_phone(&self, phone: &str) -> Result<Option<(Executor, Vec<RegistryRow>)>> {
        match self.executor_by_phone(phone).await? {
            Some(e) => {
                let rows = self.executor_appeals(e.id).await?;
                Ok(Some((e, rows)))
            }
            None => Ok(None),
        }
    }
}
