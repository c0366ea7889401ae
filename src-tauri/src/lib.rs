//! Dialog's desktop app: a thin layer between the UI in `ui/` and `dialog-core`. The store's
//! commands are answered by `dialog-commands` (as in the web); the app's own Tauri commands —
//! login, the phone, saving files into the person's documents — translate arguments, call
//! the crates, and return a result or an [`error::AppError`].

pub mod appeals;
pub mod commands;
pub mod error;
pub mod logging;
pub mod phone;
pub mod print;
pub mod reports;
pub mod secrets;
pub mod session;
pub mod state;
#[cfg(target_os = "linux")]
pub mod webkit;

/// Gives the app's own command handler its type.
fn handler<F: Fn(tauri::ipc::Invoke) -> bool>(f: F) -> F {
    f
}

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
        .invoke_handler(|invoke: tauri::ipc::Invoke| {
            if dialog_commands::is_command(invoke.message.command()) {
                commands::answer(invoke);
                return true;
            }
            let own = handler(tauri::generate_handler![
                session::login,
                session::logout,
                session::me,
                session::default_server,
                session::saved_password,
                session::server_certificate,
                session::trust_certificate,
                appeals::save_attachment,
                print::print_cards,
                reports::export_report,
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
            ]);
            own(invoke)
        })
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
