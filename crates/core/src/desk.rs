//! The card's side tabs and the desk's references: «проблемы», the knowledge base, paid
//! services of a building, schedules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::appeals::normalize_identifier;
use crate::error::{Error, Result};
use crate::model::AppealStatus;
use crate::registry::{RegistryFilter, RegistryRow, Sort};
use crate::Store;

/// The «проблемы» tab: what is known at an address and from a phone number.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Problems {
    /// Live appeals at the building.
    pub live: Vec<RegistryRow>,
    /// Finished appeals at the building, newest first.
    pub archived: Vec<RegistryRow>,
    /// Earlier appeals from this phone or e-mail.
    pub from_applicant: Vec<RegistryRow>,
}

/// A knowledge-base article.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Article {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Last edit.
    pub updated_at: DateTime<Utc>,
}

/// A search hit in the knowledge base.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ArticleHit {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// The matching passage, with matches between `«` and `»`.
    pub snippet: String,
}

/// A paid service at a building.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// Id.
    pub id: Uuid,
    /// Building.
    pub building_id: Uuid,
    /// Service.
    pub service: String,
    /// Price in roubles, as text to keep kopecks exact ("1500.00").
    pub price: String,
    /// Unit.
    pub unit: String,
    /// Note.
    pub note: String,
}

/// A shift or working hours.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Shift {
    /// Id.
    pub id: Uuid,
    /// Who: an executor's or staff member's name.
    pub person: String,
    /// Their organization's name, when known.
    pub organization: Option<String>,
    /// From.
    pub starts_at: DateTime<Utc>,
    /// To.
    pub ends_at: DateTime<Utc>,
    /// Note.
    pub note: String,
}

/// An executor's shift, as an admin enters it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct NewShift {
    /// Id (made by the client).
    pub id: Uuid,
    /// Whose shift.
    pub executor_id: Uuid,
    /// From.
    pub starts_at: DateTime<Utc>,
    /// To.
    pub ends_at: DateTime<Utc>,
    /// Note ("дежурный", "на выезде").
    pub note: String,
}

const ARCHIVE: &[AppealStatus] = &[AppealStatus::Done, AppealStatus::Closed, AppealStatus::Cancelled];

impl Store {
    /// The «проблемы» tab for a building and/or an applicant's identifier.
    pub async fn problems(&self, building_id: Option<Uuid>, identifier: Option<&str>) -> Result<Problems> {
        let mut p = Problems {
            live: Vec::new(),
            archived: Vec::new(),
            from_applicant: Vec::new(),
        };
        if let Some(b) = building_id {
            let f = RegistryFilter {
                building_id: Some(b),
                statuses: AppealStatus::LIVE.to_vec(),
                ..Default::default()
            };
            p.live = self.registry_page(&f, Sort::ReceivedDesc, None, 100).await?.rows;
            let f = RegistryFilter {
                statuses: ARCHIVE.to_vec(),
                ..f
            };
            p.archived = self.registry_page(&f, Sort::ReceivedDesc, None, 100).await?.rows;
        }
        if let Some(i) = identifier.filter(|i| !i.trim().is_empty()) {
            let f = RegistryFilter {
                identifier: Some(normalize_identifier(i)?),
                ..Default::default()
            };
            p.from_applicant = self.registry_page(&f, Sort::ReceivedDesc, None, 100).await?.rows;
        }
        Ok(p)
    }

    /// Articles matching the words, best first (Russian stemming: «трубы» finds «труба»).
    pub async fn search_articles(&self, text: &str) -> Result<Vec<ArticleHit>> {
        Ok(sqlx::query_as!(
            ArticleHit,
            r#"select id, title,
                      ts_headline('russian', body, q, 'StartSel=«, StopSel=», MaxWords=30, MinWords=10') as "snippet!"
               from kb_articles, websearch_to_tsquery('russian', $1) q
               where $1 = '' or search_vector @@ q
               order by ts_rank(search_vector, q) desc, title limit 50"#,
            text.trim()
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// One article.
    pub async fn article(&self, id: Uuid) -> Result<Article> {
        sqlx::query_as!(
            Article,
            "select id, title, body, tags, updated_at from kb_articles where id = $1",
            id
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::NotFound("Статья"))
    }

    /// Creates or edits an article (admins).
    pub async fn save_article(&self, a: &Article) -> Result<()> {
        sqlx::query!(
            r#"insert into kb_articles (id, title, body, tags) values ($1, $2, $3, $4)
               on conflict (id) do update set title = excluded.title, body = excluded.body, tags = excluded.tags,
                   updated_at = now(), updated_by = session_user"#,
            a.id,
            a.title.trim(),
            a.body,
            &a.tags
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes an article for good (admins).
    pub async fn delete_article(&self, id: Uuid) -> Result<()> {
        sqlx::query!("delete from kb_articles where id = $1", id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The price list of a building.
    pub async fn prices(&self, building_id: Uuid) -> Result<Vec<Price>> {
        Ok(sqlx::query_as!(
            Price,
            r#"select id, building_id, service, price::text as "price!", unit, note from building_prices
               where building_id = $1 order by service"#,
            building_id
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Adds or corrects a service on a building's price list (admins). The price is roubles,
    /// with kopecks after a point or a comma.
    pub async fn save_price(&self, p: &Price) -> Result<()> {
        let price = p.price.trim().replace(',', ".").replace(' ', "");
        let (rubles, kopecks) = price.split_once('.').unwrap_or((&price, ""));
        let digits = |s: &str, most: usize| s.len() <= most && s.chars().all(|c| c.is_ascii_digit());
        let valid = !rubles.is_empty() && digits(rubles, 9) && digits(kopecks, 2);
        if !valid {
            return Err(Error::invalid(
                "price",
                format!(
                    "Цена «{}» записана неверно: укажите рубли, например 350 или 350,50",
                    p.price.trim()
                ),
            ));
        }
        if p.service.trim().is_empty() {
            return Err(Error::invalid("service", "Укажите название услуги"));
        }
        let unit = if p.unit.trim().is_empty() {
            "шт."
        } else {
            p.unit.trim()
        };
        // The price crosses as text and becomes numeric in the database: kopecks stay exact.
        sqlx::query!(
            r#"insert into building_prices (id, building_id, service, price, unit, note)
               values ($1, $2, $3, $4::text::numeric, $5, $6)
               on conflict (id) do update set service = excluded.service, price = excluded.price,
                   unit = excluded.unit, note = excluded.note"#,
            p.id,
            p.building_id,
            p.service.trim(),
            price,
            unit,
            p.note.trim()
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a service from a building's price list (admins).
    pub async fn delete_price(&self, id: Uuid) -> Result<()> {
        sqlx::query!("delete from building_prices where id = $1", id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds an executor's shift to the schedule (admins); it belongs to the executor's
    /// organization.
    pub async fn add_shift(&self, s: &NewShift) -> Result<()> {
        sqlx::query!(
            r#"insert into schedules (id, organization_id, executor_id, starts_at, ends_at, note)
               values ($1, (select organization_id from executors where id = $2), $2, $3, $4, $5)"#,
            s.id,
            s.executor_id,
            s.starts_at,
            s.ends_at,
            s.note.trim()
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes a shift from the schedule (admins).
    pub async fn delete_shift(&self, id: Uuid) -> Result<()> {
        sqlx::query!("delete from schedules where id = $1", id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Shifts overlapping a period, of one organization or of all.
    pub async fn schedule(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        organization_id: Option<Uuid>,
    ) -> Result<Vec<Shift>> {
        Ok(sqlx::query_as!(
            Shift,
            r#"select s.id, coalesce(e.full_name, st.full_name) as "person!", o.name as "organization?",
                      s.starts_at, s.ends_at, s.note
               from schedules s
               left join executors e on e.id = s.executor_id
               left join staff st on st.login = s.staff_login
               left join organizations o on o.id = coalesce(s.organization_id, e.organization_id, st.organization_id)
               where s.starts_at < $2 and s.ends_at > $1
                 and ($3::uuid is null or coalesce(s.organization_id, e.organization_id) = $3)
               order by s.starts_at, coalesce(e.full_name, st.full_name)"#,
            from,
            to,
            organization_id
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
