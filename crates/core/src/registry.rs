//! The registry: the filtered, sorted, endlessly scrolling list of appeals, and the saved
//! filter templates of the desktop.
//!
//! Pages are keyset pages over `(received_at, id)` or `(control_at, id)`, so page 1,000 costs
//! what page 1 does. Quick text search goes through the trigram index on `search_text`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
    /// «срок истекает»: live appeals overdue or due within the hour (the database's
    /// `dialog_deadline_soon`).
    DeadlineSoon,
    /// «исполнитель не оповещён»: live appeals nobody has called an executor about yet.
    ExecutorNotNotified,
}

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
    /// Registered by the person looking («мои»).
    pub mine: bool,
    /// Received since midnight («за сегодня»).
    pub today: bool,
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

/// One row of the registry.
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
            let ids = sqlx::query_scalar!(
                "select id from buildings where search_text like all($1) limit $2",
                &patterns,
                MAX_ADDRESS_BUILDINGS + 1
            )
            .fetch_all(&self.pool)
            .await?;
            if !ids.is_empty() && ids.len() as i64 <= MAX_ADDRESS_BUILDINGS {
                return Ok(TextMatch::Buildings(ids));
            }
        }
        Ok(TextMatch::Patterns(patterns))
    }
}

/// The parts of the filter that are not plain fields of [`RegistryFilter`]: the words of the
/// quick search, as patterns or as buildings.
struct Narrowing {
    quick: Option<&'static str>,
    patterns: Option<Vec<String>>,
    buildings: Option<Vec<Uuid>>,
}

impl Narrowing {
    fn new(f: &RegistryFilter, text: TextMatch) -> Self {
        let (patterns, buildings) = match text {
            TextMatch::None => (None, None),
            TextMatch::Buildings(ids) => (None, Some(ids)),
            TextMatch::Patterns(p) => (Some(p), None),
        };
        let quick = f.quick.map(|q| match q {
            QuickFilter::DeadlineSoon => "deadlineSoon",
            QuickFilter::ExecutorNotNotified => "executorNotNotified",
        });
        Narrowing {
            quick,
            patterns,
            buildings,
        }
    }
}

impl Sort {
    /// The name the database's `dialog_registry` knows the order by.
    fn name(self) -> &'static str {
        match self {
            Sort::ReceivedDesc => "receivedDesc",
            Sort::ReceivedAsc => "receivedAsc",
            Sort::Deadline => "deadline",
        }
    }
}

/// The largest count a template shows exactly; beyond it the desktop shows "10000+".
pub const COUNT_CAP: i64 = 10_000;

impl Store {
    /// One page of the registry, as the database's `dialog_registry` serves it: everyone
    /// reads through it, so a manager sees only their organization and the planner has the
    /// table's statistics whoever asks.
    #[tracing::instrument(skip_all, fields(?sort, limit))]
    pub async fn registry_page(
        &self,
        f: &RegistryFilter,
        sort: Sort,
        after: Option<Cursor>,
        limit: u32,
    ) -> Result<Page> {
        let limit = limit.clamp(1, 500);
        let n = Narrowing::new(f, self.text_match(&f.text).await?);
        // The filter is the composite `dialog_filter`, built here from its fields ($1…$15, in
        // the type's order) so that each is bound, and checked, with its own type.
        let rows = sqlx::query_as!(
            RegistryRow,
            r#"select id as "id!", number as "number!", received_at as "received_at!", channel as "channel!: Channel",
                      identifier as "identifier!", applicant_name as "applicant_name!", contacts as "contacts!",
                      address as "address!", kind_name as "kind_name!", appeal_type as "appeal_type!: AppealType",
                      priority as "priority!: Priority", status as "status!: AppealStatus", progress as "progress!",
                      comment as "comment!", control_at, overdue as "overdue!", notified_at,
                      executor_names as "executor_names!", executor_ids as "executor_ids!",
                      attachment_kinds as "attachment_kinds!", has_recording as "has_recording!", joined_to,
                      joined_count as "joined_count!", version as "version!"
               from dialog_registry(
                   row($1::appeal_type[], $2::appeal_status[], $3::appeal_priority[], $4::uuid[], $5::uuid[],
                       $6::uuid[], $7::uuid, $8::text, $9::timestamptz, $10::timestamptz, $11::text, $12::text[],
                       $13::uuid[], $14::boolean, $15::boolean)::dialog_filter,
                   $16, $17, $18, $19)"#,
            &f.types as &[AppealType],
            &f.statuses as &[AppealStatus],
            &f.priorities as &[Priority],
            &f.kind_ids,
            &f.organization_ids,
            &f.executor_ids,
            f.building_id,
            f.identifier,
            f.received_from,
            f.received_to,
            n.quick,
            n.patterns.as_deref(),
            n.buildings.as_deref(),
            f.mine,
            f.today,
            sort.name(),
            after.map(|c| c.key),
            after.map(|c| c.id),
            limit as i32
        )
        .fetch_all(&self.pool)
        .await?;
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
        let n = Narrowing::new(f, self.text_match(&f.text).await?);
        let count = sqlx::query_scalar!(
            r#"select dialog_registry_count(
                   row($1::appeal_type[], $2::appeal_status[], $3::appeal_priority[], $4::uuid[], $5::uuid[],
                       $6::uuid[], $7::uuid, $8::text, $9::timestamptz, $10::timestamptz, $11::text, $12::text[],
                       $13::uuid[], $14::boolean, $15::boolean)::dialog_filter,
                   $16) as "count!""#,
            &f.types as &[AppealType],
            &f.statuses as &[AppealStatus],
            &f.priorities as &[Priority],
            &f.kind_ids,
            &f.organization_ids,
            &f.executor_ids,
            f.building_id,
            f.identifier,
            f.received_from,
            f.received_to,
            n.quick,
            n.patterns.as_deref(),
            n.buildings.as_deref(),
            f.mine,
            f.today,
            COUNT_CAP
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
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

struct TemplateRow {
    id: Uuid,
    owner: String,
    name: String,
    shared: bool,
    filter: serde_json::Value,
    position: i32,
}

impl Store {
    /// Saves (creates or replaces) a template. Sharing is for supervisors (the database
    /// refuses others).
    pub async fn save_template(&self, t: &FilterTemplate) -> Result<()> {
        if t.name.trim().is_empty() {
            return Err(Error::invalid("name", "Укажите название шаблона"));
        }
        sqlx::query!(
            "select dialog_save_template($1, $2, $3, $4, $5)",
            t.id,
            t.name.trim(),
            t.shared,
            sqlx::types::Json(&t.filter) as _,
            t.position
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes a template.
    pub async fn delete_template(&self, id: Uuid) -> Result<()> {
        let deleted = sqlx::query_scalar!(r#"select dialog_delete_template($1) as "deleted!""#, id)
            .fetch_one(&self.pool)
            .await?;
        if !deleted {
            return Err(Error::NotFound("Шаблон"));
        }
        Ok(())
    }

    /// The person's own templates and the shared ones, each with its live count.
    pub async fn templates(&self) -> Result<Vec<TemplateCount>> {
        let rows = sqlx::query_as!(
            TemplateRow,
            r#"select id as "id!", owner as "owner!", name as "name!", shared as "shared!", filter as "filter!",
                      position as "position!"
               from dialog_templates()"#
        )
        .fetch_all(&self.pool)
        .await?;
        // One template this version cannot read must not take the desktop's others with it.
        let readable: Vec<(TemplateRow, RegistryFilter)> = rows
            .into_iter()
            .filter_map(|r| match serde_json::from_value(r.filter.clone()) {
                Ok(f) => Some((r, f)),
                Err(e) => {
                    tracing::warn!(id = %r.id, error = %e, "a filter template that cannot be read is left out");
                    None
                }
            })
            .collect();
        // The counts run side by side, on as many connections as the person's pool holds.
        let counts = futures_util::future::try_join_all(readable.iter().map(|(_, f)| self.registry_count(f))).await?;
        let out = readable
            .into_iter()
            .zip(counts)
            .map(|((r, filter), count)| TemplateCount {
                template: FilterTemplate {
                    id: r.id,
                    owner: r.owner,
                    name: r.name,
                    shared: r.shared,
                    filter,
                    position: r.position,
                },
                count,
            })
            .collect();
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
