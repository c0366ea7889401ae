//! The pbx duty: the PBX bridge. It watches Asterisk over AMI and writes, as its own service
//! login (no person holds it), the operators' legs of the calls Asterisk carried — the
//! evidence the «в работе» rule trusts — and the queues as they are (callers waiting, the
//! longest wait, agents), which every operator's header and the supervisor's dashboard show
//! within a second.
//!
//! Why AMI and not ARI: ARI drives calls that enter its own Stasis applications; the calls
//! here run through the center's ordinary dial plan and `app_queue`, whose events (channels,
//! dials, queue callers and members) AMI reports as they happen, and whose state
//! `QueueStatus` lists. The AMI account may only read events and ask (`read = call,agent`,
//! `write = reporting`): it cannot originate or hang up calls.
//!
//! Runs once per center: a second dialog-server waits as a standby (see `once`). Survives
//! restarts of Asterisk (reconnects, ends the legs that ended meanwhile) and of the database
//! (reports wait and are sent again; repeating one changes nothing).
//!
//! ```toml
//! [pbx]
//! login = "dialog_pbx"                  # dialog-admin service add dialog_pbx --duty pbx
//! password_file = "/etc/dialog/pbx.password"   # or DIALOG_PBX_PASSWORD
//! ami = "127.0.0.1:5038"
//! ami_user = "dialog"
//! ami_secret_file = "/etc/dialog/ami.secret"   # or DIALOG_AMI_SECRET
//! queues = ["dispatch"]                 # the queues to show; all when absent
//! ```

pub mod ami;
pub mod legs;
pub mod queues;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use dialog_core::pbx::{Duty, Service};
use serde::Deserialize;
use sqlx::{Connection, PgConnection};

use crate::config::{secret, Database};
use ami::Ami;
use legs::{ExtensionPattern, Legs, Todo};

/// The `[pbx]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PbxConfig {
    /// The service login (`dialog-admin service add LOGIN --duty pbx`).
    pub login: String,
    /// Its password's file (else `DIALOG_PBX_PASSWORD`).
    pub password_file: Option<PathBuf>,
    /// Asterisk's AMI address, `host:port`.
    pub ami: String,
    /// The AMI account (`manager.conf`).
    pub ami_user: String,
    /// Its secret's file (else `DIALOG_AMI_SECRET`).
    pub ami_secret_file: Option<PathBuf>,
    /// The queues to show; all when empty.
    #[serde(default)]
    pub queues: Vec<String>,
    /// Operators' extensions have this many digits at least…
    #[serde(default = "two")]
    pub extension_digits_min: usize,
    /// …and at most.
    #[serde(default = "six")]
    pub extension_digits_max: usize,
}

fn two() -> usize {
    2
}

fn six() -> usize {
    6
}

/// Runs the duty until it fails for good (a wrong configuration); a lost PBX or database is
/// waited out.
pub async fn run(db: Database, section: toml::Table) -> anyhow::Result<()> {
    let cfg: PbxConfig = section.try_into().context("раздел [pbx]")?;
    let password = secret("пароль службы pbx", "DIALOG_PBX_PASSWORD", cfg.password_file.as_deref())?;
    let ami_secret = secret("секрет AMI", "DIALOG_AMI_SECRET", cfg.ami_secret_file.as_deref())?;
    let opts = db.options(&cfg.login, &password);
    let pg = opts.pg_options();
    loop {
        let mut held = crate::once::acquire(
            "pbx",
            || async { PgConnection::connect_with(&pg).await.map_err(anyhow::Error::from) },
            Duration::from_secs(5),
        )
        .await?;
        let service = loop {
            match Service::connect(&opts, Duty::Pbx).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(error = %e, "the pbx service cannot log in to the database");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        };
        tokio::select! {
            _ = held.lost() => continue,
            r = bridge(&cfg, &ami_secret, &service) => return r,
        }
    }
}

/// Keeps the AMI connection up, for ever.
async fn bridge(cfg: &PbxConfig, secret: &str, service: &Service) -> anyhow::Result<()> {
    let mut writer = Writer::new(service.clone());
    let mut legs = Legs::new(ExtensionPattern {
        min: cfg.extension_digits_min,
        max: cfg.extension_digits_max,
    });
    let mut backoff = Duration::from_secs(1);
    loop {
        match Ami::connect(&cfg.ami, &cfg.ami_user, secret).await {
            Ok(ami) => {
                tracing::info!(ami = %cfg.ami, "connected to the PBX");
                backoff = Duration::from_secs(1);
                if let Err(e) = watch(cfg, ami, &mut legs, &mut writer).await {
                    tracing::warn!(error = %e, "the PBX connection broke; reconnecting");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot reach the PBX"),
        }
        writer.flush().await;
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// Follows one AMI connection until it breaks.
async fn watch(cfg: &PbxConfig, mut ami: Ami, legs: &mut Legs, writer: &mut Writer) -> anyhow::Result<()> {
    // What Asterisk has now: the legs that ended while the bridge was away end here.
    let shown = ami.send("CoreShowChannels", &[]).await?;
    let mut alive: Option<Vec<String>> = Some(Vec::new());
    let mut asked: HashMap<String, String> = HashMap::new();
    let mut status: Option<(String, queues::Collector)> = None;
    let mut dirty = true;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut last_status = tokio::time::Instant::now();
    loop {
        tokio::select! {
            m = ami.read() => {
                let m = m?;
                if let Some(list) = alive.as_mut() {
                    if m.get("ActionID") == Some(shown.as_str()) {
                        if m.event() == Some("CoreShowChannel") {
                            list.push(m.get("Uniqueid").unwrap_or_default().to_owned());
                        } else if m.event() == Some("CoreShowChannelsComplete") {
                            let list = alive.take().unwrap_or_default();
                            for t in legs.keep_only(&list) {
                                writer.push(t);
                            }
                        }
                        continue;
                    }
                }
                if let Some(uniqueid) = m.get("ActionID").and_then(|id| asked.remove(id)) {
                    if let Some(t) = legs.call_id(&uniqueid, m.get("Value").unwrap_or_default()) {
                        writer.push(t);
                    }
                    continue;
                }
                if let Some((id, collector)) = status.as_mut() {
                    if m.get("ActionID") == Some(id.as_str()) {
                        if collector.event(&m, chrono::Utc::now()) {
                            let (_, c) = status.take().unwrap_or_default();
                            writer.queues(c.finish(&cfg.queues));
                        }
                        continue;
                    }
                }
                if m.event().is_some_and(|e| e.starts_with("Queue") || e.starts_with("Agent")) {
                    dirty = true;
                }
                for t in legs.event(&m) {
                    match t {
                        Todo::AskCallId { channel, uniqueid } => {
                            let id = ami.send("Getvar", &[("Channel", &channel), ("Variable", "CHANNEL(pjsip,call-id)")]).await?;
                            asked.insert(id, uniqueid);
                        }
                        t => writer.push(t),
                    }
                }
            }
            _ = tick.tick() => {
                // The queue is read again after a change (at most four times a second) and
                // every 10 s in any case: that it is alive is news too.
                if status.is_none() && (dirty || last_status.elapsed() > Duration::from_secs(10)) {
                    let id = ami.send("QueueStatus", &[]).await?;
                    status = Some((id, queues::Collector::default()));
                    dirty = false;
                    last_status = tokio::time::Instant::now();
                }
                writer.flush().await;
            }
        }
    }
}

/// Writes to the database in order; what cannot be written now waits and is tried again
/// (each report may be repeated without harm).
struct Writer {
    service: Service,
    pending: VecDeque<Todo>,
    queues: Option<Vec<dialog_core::pbx::QueueState>>,
}

/// Reports kept while the database is away; past this, the oldest go (and are logged).
const MAX_PENDING: usize = 100_000;

impl Writer {
    fn new(service: Service) -> Self {
        Self {
            service,
            pending: VecDeque::new(),
            queues: None,
        }
    }

    fn push(&mut self, t: Todo) {
        if self.pending.len() >= MAX_PENDING {
            tracing::error!("the database has been away too long: a call report is dropped");
            self.pending.pop_front();
        }
        self.pending.push_back(t);
    }

    fn queues(&mut self, q: Vec<dialog_core::pbx::QueueState>) {
        self.queues = Some(q);
    }

    async fn flush(&mut self) {
        while let Some(t) = self.pending.front() {
            let r = match t {
                Todo::Report(event, leg) => self.service.call_event(*event, leg).await,
                Todo::AskCallId { .. } => Ok(()),
            };
            match r {
                Ok(()) => {
                    self.pending.pop_front();
                }
                Err(e) => {
                    tracing::warn!(error = %e, pending = self.pending.len(), "call reports wait for the database");
                    return;
                }
            }
        }
        if let Some(q) = self.queues.take() {
            let mut ok = true;
            for s in &q {
                if let Err(e) = self.service.queue(s).await {
                    tracing::warn!(error = %e, "the queue waits for the database");
                    ok = false;
                    break;
                }
            }
            if ok {
                if let Err(e) = self.service.alive().await {
                    tracing::warn!(error = %e, "the queue waits for the database");
                }
            } else {
                self.queues = Some(q);
            }
        }
    }
}
