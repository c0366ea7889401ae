//! A real Asterisk (`scripts/asterisk.sh`, configuration in `tests/rig/asterisk/`, the same as
//! `docs/telephony.md` gives administrators) seen from Rust.
//!
//! `scripts/asterisk.sh start DIR` runs it in the tests' network namespace and exports
//! `DIALOG_ASTERISK_*`; [`Asterisk::from_env`] reads them. What it serves:
//! - `ws://127.0.0.1:8188/ws`, `wss://192.0.2.1:8189/ws` (certificate from [`Asterisk::ca`]);
//! - operators 2001..=2010, password `pw<extension>` (2001..2003 are the members of the queue
//!   `dispatch`; 2009 hears holds as re-INVITEs; 2010 has 90 s session timers and 2 s qualify);
//! - numbers: 600 echo, 601 a 1000 Hz tone, 602 reads four DTMF keys (1400 Hz for "1234",
//!   400 Hz otherwise), 603 a tone for 3 s then the PBX hangs up, 2XXX the operators;
//! - `Local/<number>@test-city/n`: a citizen calling the center with caller ID `+<number>`;
//!   `<hz>@test-voices`: what an originated channel does once answered, a tone of `hz`.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

/// The running Asterisk, from the variables `scripts/asterisk.sh start` prints.
#[derive(Debug, Clone)]
pub struct Asterisk {
    /// `DIALOG_ASTERISK_WS`: ws://127.0.0.1:8188/ws.
    pub ws: String,
    /// `DIALOG_ASTERISK_WSS`: wss://192.0.2.1:8189/ws.
    pub wss: String,
    /// `DIALOG_ASTERISK_CA`: the test CA that signed the wss certificate.
    pub ca: PathBuf,
    /// `DIALOG_ASTERISK_ADDRESS`: 192.0.2.1, the SIP domain too.
    pub address: String,
    /// `DIALOG_ASTERISK_DIR`: its run directory (configuration in `etc/`, logs in `log/`).
    pub dir: PathBuf,
    /// `DIALOG_ASTERISK_CTL`: absolute path of scripts/asterisk.sh.
    pub ctl: PathBuf,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Asterisk {
    /// Asterisk if `DIALOG_ASTERISK_DIR` is set. Without it: `None` after printing
    /// "asterisk not running: skipped", unless `DIALOG_REQUIRE_ASTERISK` is set (and not "0"),
    /// in which case it panics.
    pub fn from_env() -> Option<Asterisk> {
        let required = env_nonempty("DIALOG_REQUIRE_ASTERISK").is_some_and(|v| v != "0");
        let Some(dir) = env_nonempty("DIALOG_ASTERISK_DIR") else {
            assert!(
                !required,
                "DIALOG_REQUIRE_ASTERISK is set but DIALOG_ASTERISK_DIR is not: run the tests with Asterisk, e.g. \
                 scripts/in-netns.sh bash -c 'eval \"$(scripts/asterisk.sh start DIR)\" && cargo test ...'"
            );
            eprintln!("asterisk not running: skipped");
            return None;
        };
        let var = |name: &str| -> String {
            env_nonempty(name).unwrap_or_else(|| {
                panic!(
                    "DIALOG_ASTERISK_DIR is set but {name} is not: eval the whole output of scripts/asterisk.sh start"
                )
            })
        };
        Some(Asterisk {
            ws: var("DIALOG_ASTERISK_WS"),
            wss: var("DIALOG_ASTERISK_WSS"),
            ca: PathBuf::from(var("DIALOG_ASTERISK_CA")),
            address: var("DIALOG_ASTERISK_ADDRESS"),
            ctl: PathBuf::from(var("DIALOG_ASTERISK_CTL")),
            dir: PathBuf::from(dir),
        })
    }

    /// Asterisk for this test alone, until the guard is dropped: one test at a time, in this
    /// process and in others (nextest runs each test in a process of its own), since tests
    /// restart Asterisk, count its channels and take calls from its queue.
    pub async fn exclusive(&self) -> AsteriskGuard {
        let in_process = IN_PROCESS.lock().await;
        let dir = self.dir.join("test-lock");
        let me = std::process::id().to_string();
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    std::fs::write(dir.join("pid"), &me).expect("lock owner");
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    // stale when its process is gone (or is this one: a guard leaked)
                    let owner = std::fs::read_to_string(dir.join("pid")).unwrap_or_default();
                    let owner = owner.trim();
                    if owner == me || (!owner.is_empty() && !Path::new("/proc").join(owner).exists()) {
                        let _ = std::fs::remove_dir_all(&dir);
                        continue;
                    }
                }
                Err(e) => panic!("{}: {e}", dir.display()),
            }
            assert!(
                Instant::now() < deadline,
                "Asterisk stayed held by another test process"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        AsteriskGuard {
            _in_process: in_process,
            dir,
        }
    }

    /// The password of a test operator: `pw<extension>`.
    pub fn password(extension: &str) -> String {
        format!("pw{extension}")
    }

    async fn ctl(&self, args: &[&str]) -> io::Result<String> {
        let out = Command::new(&self.ctl)
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..])
            .output()
            .await?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "{} {} failed ({}): {}{}",
                self.ctl.display(),
                args.join(" "),
                out.status,
                text,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Runs one CLI command (`asterisk -rx`) and returns its output.
    pub async fn rx(&self, command: &str) -> io::Result<String> {
        self.ctl(&["rx", command]).await
    }

    /// Stops Asterisk and starts it again: every WebSocket is cut, every call is gone.
    pub async fn restart(&self) -> io::Result<()> {
        self.ctl(&["restart"]).await.map(|_| ())
    }

    /// `channel originate CHANNEL extension EXTENSION`: Asterisk calls `channel` (e.g.
    /// `PJSIP/2006`) and, once answered, runs the dial plan at `extension` on it (e.g.
    /// `1000@test-voices`: a 1000 Hz tone for five minutes).
    pub async fn originate(&self, channel: &str, extension: &str) -> io::Result<()> {
        let out = self
            .rx(&format!("channel originate {channel} extension {extension}"))
            .await?;
        if out.to_lowercase().contains("error") || out.contains("Unable") {
            return Err(io::Error::other(format!("originate {channel}: {out}")));
        }
        Ok(())
    }

    /// The number of active channels (`core show channels count`).
    pub async fn active_channels(&self) -> io::Result<usize> {
        let out = self.rx("core show channels count").await?;
        out.lines()
            .find_map(|l| {
                l.strip_suffix(" active channels")
                    .or_else(|| l.strip_suffix(" active channel"))
            })
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected output: {out}")))
    }

    /// Waits until `pred` holds for the number of active channels.
    pub async fn wait_for_channels(&self, timeout: Duration, pred: impl Fn(usize) -> bool) -> io::Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let n = self.active_channels().await?;
            if pred(n) {
                return Ok(n);
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{n} active channels after {timeout:?}:\n{}",
                        self.rx("core show channels").await?
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A global variable of the dial plan (`dialplan show globals`), e.g. `LAST_DTMF`.
    pub async fn global(&self, name: &str) -> io::Result<Option<String>> {
        let out = self.rx("dialplan show globals").await?;
        let prefix = format!("{name}=");
        Ok(out
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(&prefix))
            .map(str::to_owned))
    }

    /// Whether the extension has a reachable contact (`pjsip show contacts`), i.e. the phone is
    /// registered and answers qualify.
    pub async fn contact_status(&self, extension: &str) -> io::Result<Option<String>> {
        let out = self.rx(&format!("pjsip show aor {extension}")).await?;
        Ok(out
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("Contact:") && l.contains(&format!("{extension}/")))
            .map(str::to_owned))
    }

    /// What Asterisk's full log holds so far (every SIP message is in it).
    pub fn full_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/full")).unwrap_or_default()
    }
}

static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A test's hold on Asterisk (see [`Asterisk::exclusive`]).
#[derive(Debug)]
pub struct AsteriskGuard {
    _in_process: tokio::sync::MutexGuard<'static, ()>,
    dir: PathBuf,
}

impl Drop for AsteriskGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
