//! `dialog-admin`: see [`dialog_admin`].

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dialog_admin::main().await
}
