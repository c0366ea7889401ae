//! The commands of Dialog's screens, named once. A screen asks for a command by its name with
//! JSON arguments (camelCase, as the UI's `call(command, args)` sends them) and gets the
//! store's answer as JSON, or an [`ErrorBody`] whose Russian message says what to do.
//!
//! The desktop app answers its window's `invoke` through [`dispatch`], and dialog-server's web
//! answers a browser's `POST /api/call/{command}` through the same function, so both offer
//! exactly the same commands with the same JSON shapes (the TypeScript types in
//! `ui/src/generated` are made from the Rust ones). What only one of them can do — the phone,
//! saving into the person's documents, HTTP downloads — stays in that shell; the files they
//! make (a card's PDF, a report's PDF or CSV) are made here.

mod printing;

pub use printing::{cards_pdf, file_name_to_save, fonts, report_file, MadeFile};

use dialog_core::appeals::{AppealChanges, NewAppeals, VersionedId};
use dialog_core::desk::{Article, NewShift, Price};
use dialog_core::directory::{AppealKind, Building, Executor, Service};
use dialog_core::files::{CallFilter, FileContent, NewAttachment};
use dialog_core::mail::LetterAppeal;
use dialog_core::model::AppealStatus;
use dialog_core::people::{NewPerson, PersonChanges};
use dialog_core::registry::{Cursor, FilterTemplate, RegistryFilter, Sort};
use dialog_core::reports::{ReportKind, ReportRequest};
use dialog_core::{ErrorBody, Store};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{oneshot, Mutex};
use uuid::Uuid;

/// The report a person is building, so that building another, or cancelling, stops it (and
/// with it the statement on the server).
#[derive(Debug, Default)]
pub struct ReportSlot(Mutex<Option<oneshot::Sender<()>>>);

impl ReportSlot {
    /// Stops the report being built, if any.
    pub async fn cancel(&self) {
        if let Some(tx) = self.0.lock().await.take() {
            let _ = tx.send(());
        }
    }
}

/// Whether `name` is one of the commands [`dispatch`] answers.
pub fn is_command(name: &str) -> bool {
    NAMES.contains(&name)
}

/// A failure as the person sees it.
trait Failure {
    fn body(self) -> ErrorBody;
}

impl Failure for dialog_core::Error {
    fn body(self) -> ErrorBody {
        // The server's own words go to the log; the person gets what to do.
        if matches!(self, dialog_core::Error::Database(_)) {
            tracing::error!(error = %self, "database error");
        }
        ErrorBody::from(&self)
    }
}

impl Failure for ErrorBody {
    fn body(self) -> ErrorBody {
        self
    }
}

fn reply<T: Serialize, E: Failure>(r: Result<T, E>) -> Result<Value, ErrorBody> {
    let v = r.map_err(Failure::body)?;
    serde_json::to_value(v).map_err(|e| internal(format!("Ответ не удалось передать: {e}")))
}

/// A failure of the program itself (not of the database, not of the person).
pub fn internal(message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        kind: "internal".into(),
        message: message.into(),
        field: None,
        appeal: None,
    }
}

/// The answer to a command this program does not have.
pub fn unknown(name: &str) -> ErrorBody {
    ErrorBody {
        kind: "unknownCommand".into(),
        message: format!("Команда «{name}» здесь недоступна — обновите страницу или приложение"),
        field: None,
        appeal: None,
    }
}

fn arguments<T: serde::de::DeserializeOwned>(name: &str, args: Value) -> Result<T, ErrorBody> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_json::from_value(args).map_err(|e| ErrorBody {
        kind: "invalid".into(),
        message: format!("Запрос «{name}» составлен неверно ({e}) — обновите страницу или приложение и повторите"),
        field: None,
        appeal: None,
    })
}

/// Declares the commands: each a name, its arguments (as the UI names them, in camelCase) and
/// the store call that answers it.
macro_rules! commands {
    (|$store:ident, $reports:ident| $($name:ident($($arg:ident: $ty:ty),* $(,)?) => $call:expr;)*) => {
        /// Every command [`dispatch`] answers.
        pub const NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Answers one command as the person whose store this is.
        pub async fn dispatch(store: &Store, reports: &ReportSlot, name: &str, args: Value) -> Result<Value, ErrorBody> {
            let $store = store;
            let $reports = reports;
            let _ = $reports;
            match name {
                $(
                    stringify!($name) => {
                        #[derive(serde::Deserialize)]
                        #[serde(rename_all = "camelCase")]
                        struct Args { $($arg: $ty),* }
                        let Args { $($arg),* } = arguments::<Args>(name, args)?;
                        reply($call.await)
                    }
                )*
                _ => Err(unknown(name)),
            }
        }
    };
}

commands! { |s, reports|
    // The appeal card.
    // Registers a card: one appeal per reason.
    create_appeals(new: NewAppeals) => s.create_appeals(&new);
    get_appeal(id: Uuid) => s.appeal(id);
    // Saves the card of an appeal read at `version`.
    save_appeal(id: Uuid, version: i32, changes: AppealChanges) => s.save_appeal(id, version, &changes);
    // Moves several appeals to a status at once (all or none).
    change_status_many(appeals: Vec<VersionedId>, status: AppealStatus) => async {
        let pairs: Vec<(Uuid, i32)> = appeals.iter().map(|a| (a.id, a.version)).collect();
        s.change_status_many(&pairs, status).await
    };
    // Joins an appeal to another (or unjoins with `to: null`).
    join_appeal(id: Uuid, version: i32, to: Option<Uuid>) => s.join_appeal(id, version, to);
    suggest_join(kind_id: Uuid, building_id: Uuid, except: Option<Uuid>) => s.suggest_join(kind_id, building_id, except);
    joined_group(id: Uuid) => s.joined_group(id);
    add_comment(id: Uuid, text: String) => s.add_comment(id, &text);
    appeal_history(id: Uuid) => s.history(id);
    problems(building_id: Option<Uuid>, identifier: Option<String>) => s.problems(building_id, identifier.as_deref());
    attachments(id: Uuid) => s.attachments(id);
    add_attachment(file: NewAttachment) => async {
        let bytes = file.bytes()?;
        s.add_attachment(file.appeal_id, &file.file_name, &file.mime, &bytes).await
    };
    // An attached file's bytes (base64), for a preview in the card.
    attachment_content(id: Uuid, mime: String) => async {
        s.attachment_content(id).await.map(|bytes| FileContent::new(mime, &bytes))
    };
    appeal_calls(id: Uuid) => s.appeal_calls(id);
    // The recordings registry: calls matching the filter, newest first.
    calls(filter: CallFilter) => s.calls(&filter);
    recording(call_id: Uuid) => async {
        s.recording(call_id).await.map(|(bytes, codec)| FileContent::new(codec, &bytes))
    };
    // The registry and the desktop's templates.
    registry_page(filter: RegistryFilter, sort: Sort, after: Option<Cursor>, limit: u32) => s.registry_page(&filter, sort, after, limit);
    registry_count(filter: RegistryFilter) => s.registry_count(&filter);
    templates() => s.templates();
    save_template(template: FilterTemplate) => s.save_template(&template);
    delete_template(id: Uuid) => s.delete_template(id);
    // Directories as the card and the contacts use them.
    search_buildings(text: String) => s.search_buildings(&text, 20);
    search_kinds(text: String) => s.search_kinds(&text);
    organizations() => s.organizations();
    executors_for(kind_id: Uuid, building_id: Uuid) => s.executors_for(kind_id, building_id);
    contacts() => s.contacts();
    executor_appeals(executor_id: Uuid) => s.executor_appeals(executor_id);
    search_articles(text: String) => s.search_articles(&text);
    get_article(id: Uuid) => s.article(id);
    save_article(article: Article) => s.save_article(&article);
    delete_article(id: Uuid) => s.delete_article(id);
    prices(building_id: Uuid) => s.prices(building_id);
    save_price(price: Price) => s.save_price(&price);
    delete_price(id: Uuid) => s.delete_price(id);
    // Shifts of the coming week, of an organization or of all.
    schedule(organization_id: Option<Uuid>) => async {
        let from = chrono::Utc::now() - chrono::Duration::hours(12);
        s.schedule(from, from + chrono::Duration::days(7), organization_id).await
    };
    add_shift(shift: NewShift) => s.add_shift(&shift);
    delete_shift(id: Uuid) => s.delete_shift(id);
    // Reports and the supervisor's dashboard.
    report_kinds() => async { Ok::<_, ErrorBody>(ReportKind::titles()) };
    // Builds a report; `cancel_report`, or building another, stops it.
    build_report(request: ReportRequest) => build_report(s, reports, request);
    cancel_report() => async {
        reports.cancel().await;
        Ok::<_, ErrorBody>(())
    };
    dashboard() => s.dashboard();
    // The PBX's queues as its bridge reports them (empty where there is no bridge).
    queue_state() => s.queue_state();
    // «Письма без обращения»: letters the mail intake could not turn into an appeal, newest first
    // (or, with `resolved`, those dealt with).
    mail_letters(resolved: bool) => s.mail_letters(resolved);
    // Registers an appeal from a letter; answers its id.
    register_from_letter(appeal: LetterAppeal) => s.register_from_letter(&appeal);
    // Puts a letter aside: it is not an appeal.
    dismiss_letter(id: Uuid) => s.dismiss_letter(id);
    // The admin screens: people and directories (the database refuses everyone else).
    people() => s.people();
    add_person(person: NewPerson) => s.add_person(&person);
    update_person(person: PersonChanges) => s.update_person(&person);
    set_person_active(login: String, active: bool) => s.set_person_active(&login, active);
    // Sets a password (one's own, or anyone's for admins).
    set_password(login: String, password: String) => s.set_password(&login, &password);
    save_organization(name: String, phone: Option<String>) => s.save_organization(&name, phone.as_deref());
    update_organization(id: Uuid, name: String, phone: Option<String>) => s.update_organization(id, &name, phone.as_deref());
    buildings(organization_id: Uuid) => s.buildings(organization_id);
    // Creates or moves a building, with the executors who serve it.
    save_building(building: Building, served_by: Vec<Uuid>) => s.save_building_served(&building, &served_by);
    kinds() => s.kinds();
    save_kind(kind: AppealKind) => s.save_kind(&kind);
    executors() => s.executors();
    executor_service(id: Uuid) => s.executor_service(id);
    save_executor(executor: Executor, service: Service) => s.save_executor(&executor, &service);
}

async fn build_report(
    store: &Store,
    reports: &ReportSlot,
    request: ReportRequest,
) -> Result<dialog_core::reports::Report, ErrorBody> {
    let (tx, rx) = oneshot::channel();
    if let Some(previous) = reports.0.lock().await.replace(tx) {
        let _ = previous.send(());
    }
    tokio::select! {
        r = store.report(&request) => r.map_err(Failure::body),
        _ = rx => Err(ErrorBody {
            kind: "cancelled".into(),
            message: "Построение отчёта отменено".into(),
            field: None,
            appeal: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_named_once() {
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        assert!(is_command("registry_page") && is_command("build_report"));
        // What only a shell can do is not answered here.
        for shell in [
            "login",
            "logout",
            "me",
            "phone_call",
            "save_attachment",
            "print_cards",
            "export_report",
        ] {
            assert!(!is_command(shell), "{shell}");
        }
    }

    #[test]
    fn arguments_are_named_as_the_ui_sends_them() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(rename_all = "camelCase")]
        struct Args {
            kind_id: Uuid,
            except: Option<Uuid>,
        }
        let id = Uuid::now_v7();
        let a: Args = arguments("suggest_join", serde_json::json!({ "kindId": id })).expect("camelCase");
        assert_eq!((a.kind_id, a.except), (id, None));
        let e = arguments::<Args>("suggest_join", serde_json::json!({ "kind_id": id })).expect_err("snake_case");
        assert_eq!(e.kind, "invalid");
        assert!(e.message.contains("обновите страницу"), "{}", e.message);
    }
}
