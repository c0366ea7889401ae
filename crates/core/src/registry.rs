//! The registry: the filtered, sorted, endlessly scrolling list of appeals, and the saved
//! filter templates of the desktop.
//!
//! Pages are keyset pages over `(received_at, id)` or `(control_at, id)`, so page 1,000 costs
//! what page 1 does. Quick text search goes through the trigram index on `search_text`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{AppealStatus, AppealType, Channel, Priority};
use crate::phone::phone_fragment;
use crate::Store;

/// The two quick filters of the registry's toolbar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum QuickFilter {
    /// «срок истекает»: live appeals overdue or due within the hour.
    DeadlineSoon,
    /// «исполнитель не оповещён»: live appeals nobody has called an executor about yet.
    ExecutorNotNotified,
}

/// How long before its deadline an appeal counts as «срок истекает».
pub const DEADLINE_SOON_MINUTES: i32 = 60;

/// Everything the registry can be filtered by; also what a template stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase", default)]
pub struct RegistryFilter {
    /// Quick search: words of a number, address, applicant, phone or comment.
    pub text: String,
    /// Any of these types.
    pub types: Vec<AppealType>,
    /// Any of these statuses.
    pub statuses: Vec<AppealStatus>,
    /// Any of these priorities.
    pub priorities: Vec<Priority>,
    /// Any of these kinds.
    pub kind_ids: Vec<Uuid>,
    /// Any of these organizations.
    pub organization_ids: Vec<Uuid>,
    /// Assigned to any of these executors.
    pub executor_ids: Vec<Uuid>,
    /// Received at or after.
    pub received_from: Option<DateTime<Utc>>,
    /// Received before.
    pub received_to: Option<DateTime<Utc>>,
    /// One of the quick filters.
    pub quick: Option<QuickFilter>,
    /// At this building (the card's «проблемы» tab).
    pub building_id: Option<Uuid>,
    /// From this applicant (phone in E.164 or e-mail, as stored).
    pub identifier: Option<String>,
}

/// Order of the registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum Sort {
    /// Newest first.
    #[default]
    ReceivedDesc,
    /// Oldest first.
    ReceivedAsc,
    /// Nearest deadline first (live appeals only).
    Deadline,
}

/// Where the next page starts: the sort key and id of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    /// The last row's sort key.
    pub key: DateTime<Utc>,
    /// The last row's id.
    pub id: Uuid,
}

/// One row of the registry (manual Рис. 7).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct RegistryRow {
    pub id: Uuid,
    pub number: String,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub identifier: String,
    pub applicant_name: String,
    pub contacts: String,
    pub address: String,
    pub kind_name: String,
    pub appeal_type: AppealType,
    pub priority: Priority,
    pub status: AppealStatus,
    pub progress: i16,
    pub comment: String,
    pub control_at: Option<DateTime<Utc>>,
    /// The clock that matters has run out.
    pub overdue: bool,
    pub notified_at: Option<DateTime<Utc>>,
    pub executor_names: Vec<String>,
    /// Ids of the executors, in the order of `executor_names`.
    pub executor_ids: Vec<Uuid>,
    /// Top-level MIME types of the files: `image`, `video`, `application`…
    pub attachment_kinds: Vec<String>,
    pub has_recording: bool,
    pub joined_to: Option<Uuid>,
    /// How many appeals are in its join group (1 when alone).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub joined_count: i64,
    pub version: i32,
}

/// One page of the registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Page {
    /// The rows.
    pub rows: Vec<RegistryRow>,
    /// Where the next page starts; `None` at the end.
    pub next: Option<Cursor>,
}

/// Words that carry no meaning in an address typed by an operator.
const NOISE: &[&str] = &[
    "ул",
    "улица",
    "д",
    "дом",
    "кв",
    "квартира",
    "корп",
    "корпус",
    "г",
    "город",
    "стр",
];

/// Text as the database's `dialog_norm` sees it, split into words.
pub fn search_words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !(c.is_ascii_digit() || c.is_ascii_lowercase() || ('а'..='я').contains(&c)))
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .map(str::to_owned)
        .collect()
}

/// LIKE patterns over `search_text` for a quick search: a phone number (in any notation)
/// becomes its digits; a short number must start a word ("10" finds house 10 and 10а, not 110).
pub fn search_patterns(text: &str) -> Vec<String> {
    if let Some(digits) = phone_fragment(text).filter(|_| !looks_like_appeal_number(text)) {
        return vec![format!("%{digits}%")];
    }
    search_words(text)
        .into_iter()
        .map(|w| {
            if w.len() <= 4 && w.chars().all(|c| c.is_ascii_digit()) {
                format!("% {w}%")
            } else {
                format!("%{w}%")
            }
        })
        .collect()
}

/// `2026-000123`, `2026-123`.
fn looks_like_appeal_number(text: &str) -> bool {
    let all_digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    text.trim()
        .split_once('-')
        .is_some_and(|(y, n)| y.len() == 4 && all_digits(y) && n.len() <= 6 && all_digits(n))
}

/// How the quick-search text narrows the appeals.
enum TextMatch {
    /// No text.
    None,
    /// The words name buildings (an address): appeals at those buildings, found through the
    /// building index — far cheaper than trigrams over a whole street's appeals.
    Buildings(Vec<Uuid>),
    /// Anything else: the trigram index over each appeal's search text.
    Patterns(Vec<String>),
}

/// More buildings than this and the words are not an address ("самара").
const MAX_ADDRESS_BUILDINGS: i64 = 200;

impl Store {
    async fn text_match(&self, text: &str) -> Result<TextMatch> {
        let patterns = search_patterns(text);
        if patterns.is_empty() {
            return Ok(TextMatch::None);
        }
        let address_like = phone_fragment(text).is_none() && !looks_like_appeal_number(text);
        if address_like {
            let ids: Vec<Uuid> = sqlx::query_scalar("select id from buildings where search_text like all($1) limit $2")
                .bind(&patterns)
                .bind(MAX_ADDRESS_BUILDINGS + 1)
                .fetch_all(&self.pool)
                .await?;
            if !ids.is_empty() && ids.len() as i64 <= MAX_ADDRESS_BUILDINGS {
                return Ok(TextMatch::Buildings(ids));
            }
        }
        Ok(TextMatch::Patterns(patterns))
    }
}

fn push_conditions(q: &mut QueryBuilder<'_, Postgres>, f: &RegistryFilter, text: &TextMatch) {
    q.push(" where true");
    match text {
        TextMatch::None => {}
        TextMatch::Buildings(ids) => {
            q.push(" and a.building_id = any(").push_bind(ids.clone()).push(")");
        }
        TextMatch::Patterns(patterns) => {
            for p in patterns {
                q.push(" and a.search_text like ").push_bind(p.clone());
            }
        }
    }
    if !f.types.is_empty() {
        q.push(" and a.appeal_type = any(").push_bind(f.types.clone()).push(")");
    }
    if !f.statuses.is_empty() {
        q.push(" and a.status = any(").push_bind(f.statuses.clone()).push(")");
    }
    if !f.priorities.is_empty() {
        q.push(" and a.priority = any(")
            .push_bind(f.priorities.clone())
            .push(")");
    }
    if !f.kind_ids.is_empty() {
        q.push(" and a.kind_id = any(").push_bind(f.kind_ids.clone()).push(")");
    }
    if !f.organization_ids.is_empty() {
        q.push(" and a.organization_id = any(")
            .push_bind(f.organization_ids.clone())
            .push(")");
    }
    if !f.executor_ids.is_empty() {
        q.push(" and exists (select 1 from appeal_executors ae where ae.appeal_id = a.id and ae.executor_id = any(")
            .push_bind(f.executor_ids.clone())
            .push("))");
    }
    if let Some(b) = f.building_id {
        q.push(" and a.building_id = ").push_bind(b);
    }
    if let Some(i) = &f.identifier {
        q.push(" and a.identifier = ").push_bind(i.clone());
    }
    if let Some(t) = f.received_from {
        q.push(" and a.received_at >= ").push_bind(t);
    }
    if let Some(t) = f.received_to {
        q.push(" and a.received_at < ").push_bind(t);
    }
    match f.quick {
        // Written exactly as the partial indexes' predicates so the planner can use them.
        Some(QuickFilter::DeadlineSoon) => {
            q.push(" and a.control_at is not null and a.control_at <= now() + make_interval(mins => ")
                .push_bind(DEADLINE_SOON_MINUTES)
                .push(")");
        }
        Some(QuickFilter::ExecutorNotNotified) => {
            q.push(" and a.status in ('новый', 'назначено') and a.appeal_type <> 'справка'");
        }
        None => {}
    }
}

impl Sort {
    fn key(self) -> &'static str {
        match self {
            Sort::ReceivedDesc | Sort::ReceivedAsc => "received_at",
            Sort::Deadline => "control_at",
        }
    }

    fn desc(self) -> bool {
        self == Sort::ReceivedDesc
    }
}

/// The largest count a template shows exactly; beyond it the desktop shows "10000+".
pub const COUNT_CAP: i64 = 10_000;

impl Store {
    /// One page of the registry.
    #[tracing::instrument(skip_all, fields(?sort, limit))]
    pub async fn registry_page(
        &self,
        f: &RegistryFilter,
        sort: Sort,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page> {
        let limit = limit.clamp(1, 500);
        let key = sort.key();
        let (cmp, dir) = if sort.desc() { ("<", "desc") } else { (">", "asc") };
        let text = self.text_match(&f.text).await?;
        let by_building = matches!(text, TextMatch::Buildings(_));
        let mut q = QueryBuilder::<Postgres>::new("with page as (select a.* from ");
        if let TextMatch::Buildings(ids) = &text {
            // One ordered index scan per building, merged: each stops after `limit` rows.
            q.push("unnest(")
                .push_bind(ids.clone())
                .push("::uuid[]) bid(id) cross join lateral (select a.* from appeals a");
            push_conditions(&mut q, f, &TextMatch::None);
            q.push(" and a.building_id = bid.id");
        } else {
            q.push("appeals a");
            push_conditions(&mut q, f, &text);
        }
        if sort == Sort::Deadline {
            q.push(" and a.control_at is not null");
        }
        if let Some(c) = after {
            q.push(format_args!(" and (a.{key}, a.id) {cmp} ("))
                .push_bind(c.key)
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(format_args!(" order by a.{key} {dir}, a.id {dir} limit "))
            .push_bind(i64::from(limit));
        if by_building {
            q.push(format_args!(") a order by a.{key} {dir}, a.id {dir} limit "))
                .push_bind(i64::from(limit));
        }
        q.push(
            r#")
            select p.id, p.number, p.received_at, p.channel, p.identifier, p.applicant_name, p.contacts,
                   p.address, k.name as kind_name, p.appeal_type, p.priority, p.status, p.progress,
                   left(p.comment, 300) as comment, p.control_at, coalesce(p.control_at < now(), false) as overdue,
                   p.notified_at,
                   array(select e.full_name from appeal_executors ae join executors e on e.id = ae.executor_id
                         where ae.appeal_id = p.id order by ae.assigned_at, ae.executor_id) as executor_names,
                   array(select ae.executor_id from appeal_executors ae
                         where ae.appeal_id = p.id order by ae.assigned_at, ae.executor_id) as executor_ids,
                   array(select distinct split_part(t.mime, '/', 1) from attachments t where t.appeal_id = p.id) as attachment_kinds,
                   exists (select 1 from calls c where c.appeal_id = p.id and c.recording is not null) as has_recording,
                   p.joined_to,
                   (select count(*) from appeals j where j.id = coalesce(p.joined_to, p.id) or j.joined_to = coalesce(p.joined_to, p.id)) as joined_count,
                   p.version
            from page p join appeal_kinds k on k.id = p.kind_id"#,
            );
        q.push(format_args!(" order by p.{key} {dir}, p.id {dir}"));
        let rows: Vec<RegistryRow> = q.build_query_as().fetch_all(&self.pool).await?;
        let next = (rows.len() == limit as usize)
            .then(|| rows.last())
            .flatten()
            .and_then(|r| {
                let key = if sort == Sort::Deadline {
                    r.control_at?
                } else {
                    r.received_at
                };
                Some(Cursor { key, id: r.id })
            });
        Ok(Page { rows, next })
    }

    /// How many appeals match, counted up to [`COUNT_CAP`] + 1 so that no count ever walks
    /// the whole table.
    pub async fn registry_count(&self, f: &RegistryFilter) -> Result<i64> {
        let text = self.text_match(&f.text).await?;
        let mut q = QueryBuilder::<Postgres>::new("select count(*) from (select 1 from appeals a");
        push_conditions(&mut q, f, &text);
        q.push(" limit ").push_bind(COUNT_CAP + 1).push(") s");
        Ok(q.build_query_scalar().fetch_one(&self.pool).await?)
    }
}

/// A saved filter of the desktop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct FilterTemplate {
    /// Id (client-generated).
    pub id: Uuid,
    /// Login of the author.
    pub owner: String,
    /// Name on the desktop.
    pub name: String,
    /// Shown to everyone (supervisors make these).
    pub shared: bool,
    /// The filter.
    pub filter: RegistryFilter,
    /// Place on the desktop.
    pub position: i32,
}

/// A template with its live count.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TemplateCount {
    /// The template.
    pub template: FilterTemplate,
    /// Matching appeals, at most [`COUNT_CAP`] + 1.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: i64,
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: Uuid,
    owner: String,
    name: String,
    shared: bool,
    filter: sqlx::types::Json<RegistryFilter>,
    position: i32,
}

impl Store {
    /// Saves (creates or replaces) a template. Sharing is for supervisors (the database
    /// refuses others).
    pub async fn save_template(&self, t: &FilterTemplate) -> Result<()> {
        if t.name.trim().is_empty() {
            return Err(Error::invalid("name", "Укажите название шаблона"));
        }
        let r = sqlx::query(
            r#"insert into filter_templates (id, name, shared, filter, position) values ($1, $2, $3, $4, $5)
               on conflict (id) do update set name = excluded.name, shared = excluded.shared,
                   filter = excluded.filter, position = excluded.position"#,
        )
        .bind(t.id)
        .bind(t.name.trim())
        .bind(t.shared)
        .bind(sqlx::types::Json(&t.filter))
        .bind(t.position)
        .execute(&self.pool)
        .await;
        match r {
            Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("42501") => Err(
                Error::Forbidden("общие шаблоны создаёт старший диспетчер — сохраните шаблон как личный".into()),
            ),
            r => r.map(|_| ()).map_err(Error::from),
        }
    }

    /// Deletes a template.
    pub async fn delete_template(&self, id: Uuid) -> Result<()> {
        let r = sqlx::query("delete from filter_templates where id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(Error::NotFound("Шаблон"));
        }
        Ok(())
    }

    /// The person's own templates and the shared ones, each with its live count.
    pub async fn templates(&self) -> Result<Vec<TemplateCount>> {
        let rows: Vec<TemplateRow> = sqlx::query_as(
            r#"select id, owner, name, shared, filter, position from filter_templates
               order by shared, position, name"#,
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let count = self.registry_count(&r.filter.0).await?;
            out.push(TemplateCount {
                template: FilterTemplate {
                    id: r.id,
                    owner: r.owner,
                    name: r.name,
                    shared: r.shared,
                    filter: r.filter.0,
                    position: r.position,
                },
                count,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_words_lose_noise() {
        assert_eq!(search_words("ул. Ленина, д. 10"), vec!["ленина", "10"]);
        assert_eq!(search_words("Ёлочная"), vec!["елочная"]);
    }

    #[test]
    fn patterns() {
        assert_eq!(search_patterns("Ленина 10"), vec!["%ленина%", "% 10%"]);
        assert_eq!(search_patterns("8 (912) 345-67-89"), vec!["%79123456789%"]);
        assert_eq!(search_patterns("2026-000123"), vec!["% 2026%", "%000123%"]);
        assert!(search_patterns("  ").is_empty());
    }
}
