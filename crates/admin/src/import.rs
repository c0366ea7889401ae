//! Directories from CSV files (UTF-8, comma-separated, a header row). A bad row stops the
//! import with its line number, and nothing of the file is saved.
//!
//! | directory | columns |
//! | --- | --- |
//! | organizations | `name,phone` |
//! | buildings | `organization,city,street,house,block` |
//! | kinds | `name,type,priority,localize_minutes,resolve_minutes,deadline_note,keywords,source` (keywords `;`-separated; the format of `data/appeal-kinds.csv`) |
//! | executors | `full_name,position,phones,organization,kinds,buildings` (phones and kinds `;`-separated; buildings `*` for all of the organization's, or `;`-separated `street, house[, block]`) |

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, Context};
use clap::ValueEnum;
use dialog_core::directory::{upsert, AppealKind, Building, Executor, Service};
use dialog_core::model::{AppealType, Priority};
use dialog_core::Store;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// The legal defaults for appeal kinds (sources in `data/README.md`).
pub const DEFAULT_KINDS: &str = include_str!("../../../data/appeal-kinds.csv");

/// Which directory a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Directory {
    /// Management companies.
    Organizations,
    /// Buildings.
    Buildings,
    /// Appeal kinds with deadlines.
    Kinds,
    /// Executors with what they serve.
    Executors,
}

#[derive(Deserialize)]
struct OrganizationRow {
    name: String,
    #[serde(default)]
    phone: String,
}

#[derive(Deserialize)]
struct BuildingRow {
    organization: String,
    city: String,
    street: String,
    house: String,
    #[serde(default)]
    block: String,
}

#[derive(Deserialize)]
struct KindRow {
    name: String,
    #[serde(rename = "type")]
    appeal_type: String,
    priority: String,
    localize_minutes: Option<i32>,
    resolve_minutes: Option<i32>,
    #[serde(default)]
    deadline_note: String,
    #[serde(default)]
    keywords: String,
    #[serde(default)]
    source: String,
}

#[derive(Deserialize)]
struct ExecutorRow {
    full_name: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    phones: String,
    organization: String,
    #[serde(default)]
    kinds: String,
    #[serde(default)]
    buildings: String,
}

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Reads rows with their line numbers; the first bad one stops the import.
fn rows<T: for<'de> Deserialize<'de>>(text: &str) -> anyhow::Result<Vec<(u64, T)>> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = r.headers().context("строка 1: нет заголовка")?.clone();
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| anyhow!("строка {}: {e}", e.position().map_or(0, |p| p.line())))?;
        let line = rec.position().map_or(0, |p| p.line());
        let row = rec.deserialize(Some(&headers)).map_err(|e| {
            anyhow!(
                "строка {line}: {e}. Проверьте столбцы: {}",
                headers.iter().collect::<Vec<_>>().join(",")
            )
        })?;
        out.push((line, row));
    }
    Ok(out)
}

/// Imports a file (or, for kinds without a file, the shipped defaults). Returns the row count.
pub async fn import_file(store: &Store, what: Directory, file: Option<&Path>) -> anyhow::Result<usize> {
    let text = match (file, what) {
        (Some(f), _) => std::fs::read_to_string(f).with_context(|| format!("не удалось прочитать {}", f.display()))?,
        (None, Directory::Kinds) => DEFAULT_KINDS.to_owned(),
        (None, _) => anyhow::bail!("укажите CSV-файл"),
    };
    let mut tx = store.pool().begin().await?;
    let n = import_text(&mut tx, what, &text).await?;
    tx.commit().await?;
    Ok(n)
}

/// Imports CSV text on a connection (the caller's transaction).
pub async fn import_text(conn: &mut PgConnection, what: Directory, text: &str) -> anyhow::Result<usize> {
    match what {
        Directory::Organizations => {
            let rows = rows::<OrganizationRow>(text)?;
            for (line, r) in &rows {
                let phone = Some(r.phone.as_str()).filter(|p| !p.is_empty());
                upsert::organization(conn, &r.name, phone)
                    .await
                    .map_err(|e| anyhow!("строка {line}: {e}"))?;
            }
            Ok(rows.len())
        }
        Directory::Buildings => {
            let rows = rows::<BuildingRow>(text)?;
            let orgs = organizations(conn).await?;
            for (line, r) in &rows {
                let org = find_org(&orgs, &r.organization, *line)?;
                let b = Building {
                    id: Uuid::now_v7(),
                    organization_id: org,
                    city: r.city.clone(),
                    street: r.street.clone(),
                    house: r.house.clone(),
                    block: r.block.clone(),
                    address: String::new(),
                };
                upsert::building(conn, &b)
                    .await
                    .map_err(|e| anyhow!("строка {line}: {e}"))?;
            }
            Ok(rows.len())
        }
        Directory::Kinds => {
            let rows = rows::<KindRow>(text)?;
            for (line, r) in &rows {
                let k = AppealKind {
                    id: Uuid::now_v7(),
                    name: r.name.clone(),
                    appeal_type: AppealType::from_label(&r.appeal_type).ok_or_else(|| {
                        anyhow!(
                            "строка {line}: тип «{}» неизвестен; допустимы: авария, жалоба, справка, заявка",
                            r.appeal_type
                        )
                    })?,
                    default_priority: Priority::from_label(&r.priority).ok_or_else(|| {
                        anyhow!(
                            "строка {line}: приоритет «{}» неизвестен; допустимы: низкий, средний, критический",
                            r.priority
                        )
                    })?,
                    localize_minutes: r.localize_minutes,
                    resolve_minutes: r.resolve_minutes,
                    deadline_note: r.deadline_note.clone(),
                    keywords: list(&r.keywords),
                    source: r.source.clone(),
                    active: true,
                    needs_address: false,
                };
                upsert::kind(conn, &k)
                    .await
                    .map_err(|e| anyhow!("строка {line}: {e}"))?;
            }
            Ok(rows.len())
        }
        Directory::Executors => {
            let rows = rows::<ExecutorRow>(text)?;
            let orgs = organizations(conn).await?;
            let kinds: HashMap<String, Uuid> = sqlx::query!(r#"select lower(name) as "name!", id from appeal_kinds"#)
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|k| (k.name, k.id))
                .collect();
            for (line, r) in &rows {
                let org = find_org(&orgs, &r.organization, *line)?;
                let kind_ids = list(&r.kinds)
                    .iter()
                    .map(|k| {
                        kinds
                            .get(&k.to_lowercase())
                            .copied()
                            .ok_or_else(|| anyhow!("строка {line}: вид обращения «{k}» не найден в справочнике"))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let building_ids = executor_buildings(conn, org, &r.buildings, *line).await?;
                let id = sqlx::query_scalar!(
                    "select id from executors where full_name = $1 and organization_id = $2",
                    r.full_name.trim(),
                    org
                )
                .fetch_optional(&mut *conn)
                .await?;
                let e = Executor {
                    id: id.unwrap_or_else(Uuid::now_v7),
                    full_name: r.full_name.clone(),
                    position: r.position.clone(),
                    phones: list(&r.phones),
                    organization_id: org,
                    active: true,
                };
                upsert::executor(conn, &e, &Service { kind_ids, building_ids })
                    .await
                    .map_err(|e| anyhow!("строка {line}: {e}"))?;
            }
            Ok(rows.len())
        }
    }
}

async fn organizations(conn: &mut PgConnection) -> anyhow::Result<HashMap<String, Uuid>> {
    Ok(sqlx::query!("select name, id from organizations")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|o| (o.name, o.id))
        .collect())
}

fn find_org(orgs: &HashMap<String, Uuid>, name: &str, line: u64) -> anyhow::Result<Uuid> {
    orgs.get(name.trim())
        .copied()
        .ok_or_else(|| anyhow!("строка {line}: организация «{name}» не найдена — сначала загрузите организации"))
}

async fn executor_buildings(conn: &mut PgConnection, org: Uuid, spec: &str, line: u64) -> anyhow::Result<Vec<Uuid>> {
    if spec.trim() == "*" {
        return Ok(
            sqlx::query_scalar!("select id from buildings where organization_id = $1", org)
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    let mut ids = Vec::new();
    for addr in list(spec) {
        let parts: Vec<&str> = addr.split(',').map(str::trim).collect();
        let (street, house, block) = match parts.as_slice() {
            [s, h] => (*s, *h, ""),
            [s, h, b] => (*s, *h, *b),
            _ => anyhow::bail!(
                "строка {line}: адрес «{addr}» записан неверно; пример: ул. Ленина, 10 или ул. Ленина, 10, 2"
            ),
        };
        let id = sqlx::query_scalar!(
            "select id from buildings where organization_id = $1 and street = $2 and house = $3 and block = $4",
            org,
            street,
            house,
            block
        )
        .fetch_optional(&mut *conn)
        .await?;
        ids.push(id.ok_or_else(|| anyhow!("строка {line}: дом «{addr}» не найден среди домов организации"))?);
    }
    Ok(ids)
}
