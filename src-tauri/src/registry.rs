//! The registry and the desktop's templates.

use dialog_core::registry::{Cursor, FilterTemplate, Page, RegistryFilter, Sort, TemplateCount};
use tauri::State;
use uuid::Uuid;

use crate::error::CmdResult;
use crate::state::AppState;

/// One keyset page of the registry.
#[tauri::command]
pub async fn registry_page(
    state: State<'_, AppState>,
    filter: RegistryFilter,
    sort: Sort,
    after: Option<Cursor>,
    limit: u32,
) -> CmdResult<Page> {
    Ok(state.store().await?.registry_page(&filter, sort, after, limit).await?)
}

/// How many appeals match (capped).
#[tauri::command]
pub async fn registry_count(state: State<'_, AppState>, filter: RegistryFilter) -> CmdResult<i64> {
    Ok(state.store().await?.registry_count(&filter).await?)
}

/// The person's and the shared templates with live counts.
#[tauri::command]
pub async fn templates(state: State<'_, AppState>) -> CmdResult<Vec<TemplateCount>> {
    Ok(state.store().await?.templates().await?)
}

/// Saves a template.
#[tauri::command]
pub async fn save_template(state: State<'_, AppState>, template: FilterTemplate) -> CmdResult<()> {
    Ok(state.store().await?.save_template(&template).await?)
}

/// Deletes a template.
#[tauri::command]
pub async fn delete_template(state: State<'_, AppState>, id: Uuid) -> CmdResult<()> {
    Ok(state.store().await?.delete_template(id).await?)
}
