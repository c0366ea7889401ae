//! The desktop app's binary: see [`dialog_app::run`].
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Tables and forms need no GPU compositing. Without it WebKit's web process measured about
    // half the memory (scripts/bench-app.sh) and paints the same in VMs and remote desktops.
    // Set before GTK starts any thread; a value given by the person wins.
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    dialog_app::run();
}
