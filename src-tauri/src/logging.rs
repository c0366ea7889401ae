//! The app's log: to standard error (when started from a terminal) and, for support, to a
//! file a day in the app's log directory — on Linux
//! `~/.local/share/ru.dialog.operator/logs/dialog.YYYY-MM-DD.log`, the last
//! [`LOG_FILES_KEPT`] kept — since an app started from the menu has no terminal. The level
//! comes from `DIALOG_LOG` (tracing's filter syntax: `debug`, `info,webrtc_ice=debug`), `info`
//! when unset. The WebRTC stack logs through `log`; its records (ICE, DTLS, SRTP) reach the
//! same log at the same level.

use std::path::{Path, PathBuf};

use tracing_appender::rolling::{Builder, InitError, RollingFileAppender, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

/// Daily files kept; older ones are deleted as new days begin.
pub const LOG_FILES_KEPT: usize = 14;

/// The daily log files in `dir` (made if missing): `dialog.YYYY-MM-DD.log`.
pub fn file_appender(dir: &Path) -> Result<RollingFileAppender, InitError> {
    Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("dialog")
        .filename_suffix("log")
        .max_log_files(LOG_FILES_KEPT)
        .build(dir)
}

/// `DIALOG_LOG`, or `info`.
fn filter() -> EnvFilter {
    EnvFilter::try_from_env("DIALOG_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the log (once, at start-up); returns the directory of its files, or `None` when
/// it could not be made (the log then goes to standard error only).
pub fn init(dir: Option<PathBuf>) -> Option<PathBuf> {
    let file = dir.and_then(|dir| match file_appender(&dir) {
        Ok(appender) => Some((dir, appender)),
        Err(e) => {
            eprintln!("Журнал не пишется в {}: {e}", dir.display());
            None
        }
    });
    let (dir, file_layer) = match file {
        Some((dir, appender)) => (Some(dir), Some(fmt::layer().with_ansi(false).with_writer(appender))),
        None => (None, None),
    };
    // try_init also routes the `log` records of the WebRTC stack here (tracing-log).
    let installed = tracing_subscriber::registry()
        .with(filter())
        .with(fmt::layer().with_writer(std::io::stderr))
        .with(file_layer)
        .try_init();
    if let Err(e) = installed {
        eprintln!("Журнал уже настроен: {e}");
    }
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_records_of_the_webrtc_stack_and_ours_reach_todays_file() {
        let dir = std::env::temp_dir().join(format!("dialog-log-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::env::set_var("DIALOG_LOG", "info");
        assert_eq!(init(Some(dir.clone())).as_deref(), Some(dir.as_path()));
        tracing::info!("the line is registered");
        // What webrtc-ice does (through the `log` crate), at a level the filter lets through
        // and at one it does not.
        log::info!(target: "webrtc_ice::agent", "Setting new connection state: Checking");
        log::debug!(target: "webrtc_ice::agent", "a debug record the filter drops");
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("the log directory")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0]
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        assert!(name.starts_with("dialog.") && name.ends_with(".log"), "{name}");
        let text = std::fs::read_to_string(&files[0]).expect("the log file");
        assert!(text.contains("the line is registered"), "{text}");
        assert!(text.contains("Setting new connection state: Checking"), "{text}");
        assert!(!text.contains("a debug record"), "{text}");
        assert!(!text.contains('\u{1b}'), "no terminal colours in the file");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
