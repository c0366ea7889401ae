//! dialog-server: the server side of Dialog. One program whose duties — the web for
//! browsers, the PBX bridge, the mail intake — are each switched on by a section of its one
//! configuration file, and each acts either as the person signed in or as a narrow service
//! login of its own; none holds a role that reads for others.
//!
//!     dialog-server --config /etc/dialog/server.toml

mod config;
mod mail;
mod once;
mod pbx;
mod web;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Dialog's server program.
#[derive(Debug, Parser)]
#[command(name = "dialog-server", version, about)]
struct Args {
    /// The configuration file (TOML).
    #[arg(long, default_value = "/etc/dialog/server.toml", env = "DIALOG_SERVER_CONFIG")]
    config: PathBuf,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let cfg = config::Config::load(&args.config)?;
    let duties: Vec<&str> = [
        ("web", cfg.web.is_some()),
        ("pbx", cfg.pbx.is_some()),
        ("mail", cfg.mail.is_some()),
    ]
    .into_iter()
    .filter_map(|(n, on)| on.then_some(n))
    .collect();
    anyhow::ensure!(
        !duties.is_empty(),
        "в {} не включена ни одна служба: добавьте раздел [web], [pbx] или [mail]",
        args.config.display()
    );
    tracing::info!(?duties, "dialog-server starts");
    let mut tasks = tokio::task::JoinSet::new();
    for duty in duties {
        let cfg = cfg.clone();
        tasks.spawn(async move { (duty, start(duty, cfg).await) });
    }
    tokio::select! {
        Some(done) = tasks.join_next() => {
            let (duty, r) = done?;
            r.map_err(|e| e.context(format!("служба {duty} остановилась")))
        }
        _ = shutdown() => {
            tracing::info!("dialog-server stops");
            Ok(())
        }
    }
}

/// Runs one duty until it fails.
async fn start(duty: &str, cfg: config::Config) -> anyhow::Result<()> {
    match (duty, cfg.web, cfg.pbx) {
        ("web", Some(section), _) => web::run(cfg.database, section).await,
        ("pbx", _, Some(section)) => pbx::run(cfg.database, section).await,
        ("mail", _, _) => mail::run(cfg.database, cfg.mail.unwrap_or_default()).await,
        _ => anyhow::bail!("служба {duty} в этой сборке dialog-server отсутствует"),
    }
}

/// SIGTERM (systemd) or Ctrl+C.
async fn shutdown() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("DIALOG_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Ошибка: {e:#}");
            ExitCode::FAILURE
        }
    }
}
