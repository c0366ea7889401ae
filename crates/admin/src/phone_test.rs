//! `dialog-admin phone-test`: the softphone's test call from the command line, for the people
//! who install Dialog next to their PBX. Exit code 0 only when the call was answered and audio
//! came back.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use dialog_phone::media::{NullSink, SilenceSource};
use dialog_phone::phone::{AudioPair, PhoneConfig};
use dialog_phone::probe::{self, ProbeOptions};

/// Arguments of `phone-test`.
#[derive(Debug, clap::Args)]
pub struct PhoneTestArgs {
    /// The PBX's WebSocket address: wss://pbx.example.ru:8089/ws
    #[arg(long)]
    pub server: String,
    /// The extension (SIP user) to register as.
    #[arg(long)]
    pub user: String,
    /// The environment variable that holds the SIP password.
    #[arg(long, value_name = "VAR")]
    pub password_env: String,
    /// A PEM file with the CA of the PBX's certificate (for wss:// with a private CA).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The number to call.
    #[arg(long, conflicts_with = "answer", required_unless_present = "answer")]
    pub call: Option<String>,
    /// Wait for an incoming call and answer it instead of calling.
    #[arg(long)]
    pub answer: bool,
    /// A WAV file to play into the call (a 440 Hz tone when omitted).
    #[arg(long)]
    pub play: Option<PathBuf>,
    /// A WAV file to record what the far end sends.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// How long to talk, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u32,
    /// How long to wait for the registration, the answer or the incoming call, in seconds.
    #[arg(long, default_value_t = 30)]
    pub wait: u64,
}

/// Runs the test call and prints what happened.
pub async fn run(args: &PhoneTestArgs) -> anyhow::Result<()> {
    let password = std::env::var(&args.password_env)
        .with_context(|| format!("переменная окружения {} с паролем не задана", args.password_env))?;
    if let Some(p) = &args.play {
        if !p.is_file() {
            bail!("файл {} не найден", p.display());
        }
    }
    let silent = Arc::new(|| -> Result<AudioPair, String> { Ok((Box::new(SilenceSource), Box::new(NullSink))) });
    let mut config = PhoneConfig::new(&args.server, &args.user, &password, silent);
    config.ca_file.clone_from(&args.ca);
    let opts = ProbeOptions {
        call: args.call.clone(),
        play: args.play.clone(),
        record: args.record.clone(),
        seconds: args.seconds,
        wait: Duration::from_secs(args.wait),
    };
    let report = probe::run(config, &opts).await;
    println!("регистрация: {}", if report.registered { "есть" } else { "нет" });
    println!("ответ: {}", if report.answered { "есть" } else { "нет" });
    println!(
        "звук от собеседника: {}",
        if report.audio_back { "есть" } else { "нет" }
    );
    if let Some(s) = report.setup {
        println!("от вызова до первого звука: {} мс", s.as_millis());
    }
    println!("{}", report.message);
    if !(report.answered && report.audio_back) {
        bail!("проверка связи не пройдена: {}", report.message);
    }
    Ok(())
}
