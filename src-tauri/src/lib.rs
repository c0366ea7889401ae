//! Dialog's desktop app: a thin layer of Tauri commands between the UI in `ui/` and
//! `dialog-core`. Each command translates arguments, calls the store, and returns its
//! result or an [`error::AppError`].

pub mod admin;
pub mod appeals;
pub mod directory;
pub mod error;
pub mod logging;
pub mod mail;
pub mod phone;
pub mod print;
pub mod registry;
pub mod reports;
pub mod secrets;
pub mod session;
pub mod state;
#[cfg(target_os = "linux")]
pub mod webkit;

/// Starts the app.
pub fn run() {
    #[cfg(target_os = "linux")]
    webkit::install();
    let result = tauri::Builder::default()
        .manage(state::AppState::default())
        .manage(phone::PhoneHub::default())
        .setup(|app| {
            use tauri::Manager;
            let dir = logging::init(app.path().app_log_dir().ok());
            tracing::info!(version = env!("CARGO_PKG_VERSION"), log = ?dir, "Dialog started");
            #[cfg(target_os = "linux")]
            webkit::configure(app);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            session::login,
            session::logout,
            session::me,
            session::default_server,
            session::saved_password,
            session::server_certificate,
            session::trust_certificate,
            appeals::create_appeals,
            appeals::get_appeal,
            appeals::save_appeal,
            appeals::change_status_many,
            appeals::join_appeal,
            appeals::suggest_join,
            appeals::joined_group,
            appeals::add_comment,
            appeals::appeal_history,
            appeals::problems,
            appeals::attachments,
            appeals::add_attachment,
            appeals::attachment_content,
            appeals::save_attachment,
            appeals::appeal_calls,
            appeals::recording,
            appeals::calls,
            registry::registry_page,
            registry::registry_count,
            registry::templates,
            registry::save_template,
            registry::delete_template,
            mail::mail_letters,
            mail::register_from_letter,
            mail::dismiss_letter,
            directory::search_buildings,
            directory::search_kinds,
            directory::organizations,
            directory::executors_for,
            directory::contacts,
            directory::executor_appeals,
            directory::search_articles,
            directory::get_article,
            directory::save_article,
            directory::delete_article,
            directory::prices,
            directory::save_price,
            directory::delete_price,
            directory::schedule,
            directory::add_shift,
            directory::delete_shift,
            print::print_cards,
            reports::report_kinds,
            reports::build_report,
            reports::cancel_report,
            reports::export_report,
            reports::dashboard,
            reports::queue_state,
            admin::people,
            admin::add_person,
            admin::set_person_active,
            admin::update_person,
            admin::set_password,
            admin::save_organization,
            admin::update_organization,
            admin::buildings,
            admin::save_building,
            admin::kinds,
            admin::save_kind,
            admin::executors,
            admin::executor_service,
            admin::save_executor,
            phone::phone_status,
            phone::phone_call,
            phone::phone_answer,
            phone::phone_reject,
            phone::phone_hangup,
            phone::phone_hold,
            phone::phone_dtmf,
            phone::phone_link_call,
            phone::phone_settings,
            phone::phone_save_settings,
            phone::phone_devices,
            phone::phone_test_call,
        ])
        .build(tauri::generate_context!());
    match result {
        // On exit the line is unregistered and calls in progress are hung up and stored.
        Ok(app) => app.run(|handle, event| {
            if let tauri::RunEvent::Exit = event {
                use tauri::Manager;
                tauri::async_runtime::block_on(handle.state::<phone::PhoneHub>().stop(handle));
            }
        }),
        Err(e) => {
            eprintln!("Диалог не запустился: {e}");
            std::process::exit(1);
        }
    }
}
