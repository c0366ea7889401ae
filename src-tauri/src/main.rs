//! The desktop app's binary: see [`dialog_app::run`].
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    dialog_app::run();
}
