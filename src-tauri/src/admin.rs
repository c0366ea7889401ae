//! The admin screens: people and directories. The database refuses non-admins.

use dialog_core::directory::{AppealKind, Building, Executor, Service};
use dialog_core::people::{NewPerson, PersonChanges};
use dialog_core::Person;
use tauri::State;
use uuid::Uuid;

use crate::error::CmdResult;
use crate::state::AppState;

/// Everyone.
#[tauri::command]
pub async fn people(state: State<'_, AppState>) -> CmdResult<Vec<Person>> {
    Ok(state.store().await?.people().await?)
}

/// Creates a person.
#[tauri::command]
pub async fn add_person(state: State<'_, AppState>, person: NewPerson) -> CmdResult<()> {
    Ok(state.store().await?.add_person(&person).await?)
}

/// Corrects a person's name, role, SIP extension and organization.
#[tauri::command]
pub async fn update_person(state: State<'_, AppState>, person: PersonChanges) -> CmdResult<()> {
    Ok(state.store().await?.update_person(&person).await?)
}

/// Switches a login off or on.
#[tauri::command]
pub async fn set_person_active(state: State<'_, AppState>, login: String, active: bool) -> CmdResult<()> {
    Ok(state.store().await?.set_person_active(&login, active).await?)
}

/// Sets a password (one's own, or anyone's for admins).
#[tauri::command]
pub async fn set_password(state: State<'_, AppState>, login: String, password: String) -> CmdResult<()> {
    Ok(state.store().await?.set_password(&login, &password).await?)
}

/// Creates or renames an organization.
#[tauri::command]
pub async fn save_organization(state: State<'_, AppState>, name: String, phone: Option<String>) -> CmdResult<Uuid> {
    Ok(state.store().await?.save_organization(&name, phone.as_deref()).await?)
}

/// Renames an organization or corrects its phone.
#[tauri::command]
pub async fn update_organization(
    state: State<'_, AppState>,
    id: Uuid,
    name: String,
    phone: Option<String>,
) -> CmdResult<()> {
    Ok(state
        .store()
        .await?
        .update_organization(id, &name, phone.as_deref())
        .await?)
}

/// The buildings of an organization.
#[tauri::command]
pub async fn buildings(state: State<'_, AppState>, organization_id: Uuid) -> CmdResult<Vec<Building>> {
    Ok(state.store().await?.buildings(organization_id).await?)
}

/// Creates or moves a building, with the executors who serve it.
#[tauri::command]
pub async fn save_building(state: State<'_, AppState>, building: Building, served_by: Vec<Uuid>) -> CmdResult<Uuid> {
    Ok(state.store().await?.save_building_served(&building, &served_by).await?)
}

/// Every kind with its deadlines.
#[tauri::command]
pub async fn kinds(state: State<'_, AppState>) -> CmdResult<Vec<AppealKind>> {
    Ok(state.store().await?.kinds().await?)
}

/// Creates or edits a kind.
#[tauri::command]
pub async fn save_kind(state: State<'_, AppState>, kind: AppealKind) -> CmdResult<Uuid> {
    Ok(state.store().await?.save_kind(&kind).await?)
}

/// Every executor.
#[tauri::command]
pub async fn executors(state: State<'_, AppState>) -> CmdResult<Vec<Executor>> {
    Ok(state.store().await?.executors().await?)
}

/// What an executor serves.
#[tauri::command]
pub async fn executor_service(state: State<'_, AppState>, id: Uuid) -> CmdResult<Service> {
    Ok(state.store().await?.executor_service(id).await?)
}

/// Creates or edits an executor and what they serve.
#[tauri::command]
pub async fn save_executor(state: State<'_, AppState>, executor: Executor, service: Service) -> CmdResult<Uuid> {
    Ok(state.store().await?.save_executor(&executor, &service).await?)
}
