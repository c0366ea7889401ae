//! Directories as the card and the contacts list use them.

use dialog_core::desk::{Article, ArticleHit, Price, Shift};
use dialog_core::directory::{AppealKind, Building, Contact, Executor, Organization};
use dialog_core::registry::RegistryRow;
use tauri::State;
use uuid::Uuid;

use crate::error::CmdResult;
use crate::state::AppState;

/// Buildings by fragments of the address.
#[tauri::command]
pub async fn search_buildings(state: State<'_, AppState>, text: String) -> CmdResult<Vec<Building>> {
    Ok(state.store().await?.search_buildings(&text, 20).await?)
}

/// Kinds by keyword.
#[tauri::command]
pub async fn search_kinds(state: State<'_, AppState>, text: String) -> CmdResult<Vec<AppealKind>> {
    Ok(state.store().await?.search_kinds(&text).await?)
}

/// All organizations.
#[tauri::command]
pub async fn organizations(state: State<'_, AppState>) -> CmdResult<Vec<Organization>> {
    Ok(state.store().await?.organizations().await?)
}

/// Executors serving a kind at a building.
#[tauri::command]
pub async fn executors_for(state: State<'_, AppState>, kind_id: Uuid, building_id: Uuid) -> CmdResult<Vec<Executor>> {
    Ok(state.store().await?.executors_for(kind_id, building_id).await?)
}

/// The contacts list.
#[tauri::command]
pub async fn contacts(state: State<'_, AppState>) -> CmdResult<Vec<Contact>> {
    Ok(state.store().await?.contacts().await?)
}

/// An executor's appeals in work.
#[tauri::command]
pub async fn executor_appeals(state: State<'_, AppState>, executor_id: Uuid) -> CmdResult<Vec<RegistryRow>> {
    Ok(state.store().await?.executor_appeals(executor_id).await?)
}

/// Knowledge-base search.
#[tauri::command]
pub async fn search_articles(state: State<'_, AppState>, text: String) -> CmdResult<Vec<ArticleHit>> {
    Ok(state.store().await?.search_articles(&text).await?)
}

/// One article.
#[tauri::command]
pub async fn get_article(state: State<'_, AppState>, id: Uuid) -> CmdResult<Article> {
    Ok(state.store().await?.article(id).await?)
}

/// Removes an article (admins).
#[tauri::command]
pub async fn delete_article(state: State<'_, AppState>, id: Uuid) -> CmdResult<()> {
    Ok(state.store().await?.delete_article(id).await?)
}

/// Creates or edits an article (admins).
#[tauri::command]
pub async fn save_article(state: State<'_, AppState>, article: Article) -> CmdResult<()> {
    Ok(state.store().await?.save_article(&article).await?)
}

/// The price list of a building.
#[tauri::command]
pub async fn prices(state: State<'_, AppState>, building_id: Uuid) -> CmdResult<Vec<Price>> {
    Ok(state.store().await?.prices(building_id).await?)
}

/// Adds or corrects a service on a building's price list (admins).
#[tauri::command]
pub async fn save_price(state: State<'_, AppState>, price: Price) -> CmdResult<()> {
    Ok(state.store().await?.save_price(&price).await?)
}

/// Removes a service from a building's price list (admins).
#[tauri::command]
pub async fn delete_price(state: State<'_, AppState>, id: Uuid) -> CmdResult<()> {
    Ok(state.store().await?.delete_price(id).await?)
}

/// Adds an executor's shift (admins).
#[tauri::command]
pub async fn add_shift(state: State<'_, AppState>, shift: dialog_core::desk::NewShift) -> CmdResult<()> {
    Ok(state.store().await?.add_shift(&shift).await?)
}

/// Removes a shift (admins).
#[tauri::command]
pub async fn delete_shift(state: State<'_, AppState>, id: Uuid) -> CmdResult<()> {
    Ok(state.store().await?.delete_shift(id).await?)
}

/// Shifts of the coming week, of an organization or of all.
#[tauri::command]
pub async fn schedule(state: State<'_, AppState>, organization_id: Option<Uuid>) -> CmdResult<Vec<Shift>> {
    let from = chrono::Utc::now() - chrono::Duration::hours(12);
    let to = from + chrono::Duration::days(7);
    Ok(state.store().await?.schedule(from, to, organization_id).await?)
}
