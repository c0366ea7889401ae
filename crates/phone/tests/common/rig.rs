//! The telephony test rig (`scripts/sip-rig.sh`, configs in `tests/rig/`) seen from Rust.
//!
//! The rig runs in a network namespace with only `lo` (`scripts/in-netns.sh`) and exports
//! `DIALOG_RIG_*` variables; [`Rig::from_env`] reads them:
//!
//! ```ignore
//! mod common;
//! use std::time::Duration;
//! use common::{Phone, Rig, Wav};
//!
//! #[tokio::test]
//! async fn far_end_hears_us() {
//!     let Some(rig) = Rig::from_env() else { return };
//!     let mut far = rig.baresip(Phone::Auto).await.expect("baresip 1001");
//!     // ... register 2001 on rig.ws, call rig.aor(&rig.auto.user) ...
//!     far.wait_for_call_state(common::rig::CALL_ESTABLISHED, Duration::from_secs(5)).await.expect("answered");
//!     // ... hang up ...
//!     far.wait_for_call_state(common::rig::CALL_CLOSED, Duration::from_secs(5)).await.expect("closed");
//!     let rec = rig.wait_for_recording(Phone::Auto, Duration::from_secs(2)).await.expect("recording");
//!     let heard = Wav::read(&rec.received).expect("wav");
//! }
//! ```
//!
//! What the rig is (see also `tests/rig/README.md`):
//! - Kamailio: `ws://127.0.0.1:8088/ws` (REGISTER → 401, other requests → 407, MD5, realm
//!   `127.0.0.1`), `wss://127.0.0.1:8089/ws` (the same over TLS; trust [`Rig::ca`]),
//!   `ws://127.0.0.1:8090/ws` (Asterisk-like: every request → 401, SHA-256, realm
//!   `asterisk`, opaque). Subprotocol `sip` is required.
//! - Users 2001..=2019 (password `pw<user>`) for the softphone under test: use a different
//!   user in each test that may run concurrently. `1486` answers 486 Busy Here; a known
//!   user that is not registered gives 480, an unknown one 404.
//! - baresip 1001 (auto answer) and 1002 (rings until [`Baresip::accept`]), both sending a
//!   1000 Hz tone ([`Rig::tone_hz`]) and recording both directions.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::sync::Notify;
use tokio::time::Instant;

/// What [`Rig::from_env`] prints when the rig is not running and not required.
pub const SKIP_MESSAGE: &str = "rig not running: skipped";

/// The softphone's test users (password: [`Rig::password`]).
pub const USERS: std::ops::RangeInclusive<u16> = 2001..=2019;

/// baresip event: an incoming call rings (phone 1002; 1001 answers at once).
pub const CALL_INCOMING: &str = "CALL_INCOMING";
/// baresip event: our outgoing call rings at the far end (180).
pub const CALL_RINGING: &str = "CALL_RINGING";
/// baresip event: early media (183).
pub const CALL_PROGRESS: &str = "CALL_PROGRESS";
/// baresip event: the call is answered (200 OK / ACK).
pub const CALL_ESTABLISHED: &str = "CALL_ESTABLISHED";
/// baresip event: the first RTP packet of the call arrived (class "other").
pub const CALL_RTPESTAB: &str = "CALL_RTPESTAB";
/// baresip event: the call ended; `param` says why ("Connection reset by peer" = the other
/// side sent BYE, "486 Rejected", "end of file" = the tone ran out, ...).
pub const CALL_CLOSED: &str = "CALL_CLOSED";

/// One of the two baresip far-end phones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phone {
    /// 1001: answers every call at once.
    Auto,
    /// 1002: rings until told to answer ([`Baresip::accept`]) or reject ([`Baresip::hangup`]).
    Manual,
}

impl Phone {
    fn index(self) -> usize {
        match self {
            Phone::Auto => 0,
            Phone::Manual => 1,
        }
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phone::Auto => f.write_str("auto-answer phone"),
            Phone::Manual => f.write_str("manual-answer phone"),
        }
    }
}

/// Where one baresip phone is.
#[derive(Debug, Clone)]
pub struct PhoneInfo {
    /// Its SIP user ("1001", "1002"), registered at [`Rig::domain`].
    pub user: String,
    /// Its ctrl_tcp address ("127.0.0.1:4445").
    pub ctrl: String,
    /// The directory its sndfile recordings go to.
    pub recordings: PathBuf,
}

/// Both far-end phones, held by one test (see [`Rig::phones`]).
#[derive(Debug)]
pub struct Phones {
    /// 1001, auto answer.
    pub auto: Baresip,
    /// 1002, manual answer.
    pub manual: Baresip,
}

impl Phones {
    /// One of the two.
    pub fn get(&mut self, phone: Phone) -> &mut Baresip {
        match phone {
            Phone::Auto => &mut self.auto,
            Phone::Manual => &mut self.manual,
        }
    }
}

/// The running rig, from the `DIALOG_RIG_*` variables that `scripts/sip-rig.sh start` prints.
#[derive(Debug, Clone)]
pub struct Rig {
    /// `DIALOG_RIG_WS`: ws://127.0.0.1:8088/ws (Kamailio style: 401 for REGISTER, 407 else, MD5).
    pub ws: String,
    /// `DIALOG_RIG_WS_401`: ws://127.0.0.1:8090/ws (Asterisk style: 401 for all, SHA-256).
    pub ws_401: String,
    /// `DIALOG_RIG_WSS`: wss://127.0.0.1:8089/ws (as 8088, over TLS).
    pub wss: String,
    /// `DIALOG_RIG_CA`: the test CA (PEM) that signed the wss certificate (SAN IP:127.0.0.1).
    pub ca: PathBuf,
    /// `DIALOG_RIG_DOMAIN`: the SIP domain, 127.0.0.1.
    pub domain: String,
    /// `DIALOG_RIG_DIR`: the rig's run directory (configs, logs `*.log`, recordings).
    pub dir: PathBuf,
    /// `DIALOG_RIG_CTL`: absolute path of scripts/sip-rig.sh.
    pub ctl: PathBuf,
    /// `DIALOG_RIG_TONE_HZ`: frequency of the tone both phones send (1000).
    pub tone_hz: u32,
    /// `DIALOG_RIG_BUSY`: the number Kamailio answers with 486 Busy Here (1486).
    pub busy: String,
    /// `DIALOG_RIG_PHONE_AUTO*`: baresip 1001, auto answer.
    pub auto: PhoneInfo,
    /// `DIALOG_RIG_PHONE_MANUAL*`: baresip 1002, manual answer.
    pub manual: PhoneInfo,
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Rig {
    /// The rig if `DIALOG_RIG_DIR` is set. Without it: `None` after printing
    /// "rig not running: skipped", unless `DIALOG_REQUIRE_RIG` is set (and not "0"), in
    /// which case it panics. Also panics when the rig's variables are incomplete.
    pub fn from_env() -> Option<Rig> {
        let required = env_nonempty("DIALOG_REQUIRE_RIG").is_some_and(|v| v != "0");
        let Some(dir) = env_nonempty("DIALOG_RIG_DIR") else {
            assert!(
                !required,
                "DIALOG_REQUIRE_RIG is set but DIALOG_RIG_DIR is not: run the tests with the rig, e.g. \
                 scripts/in-netns.sh bash -c 'eval \"$(scripts/sip-rig.sh start DIR)\" && cargo test ...'"
            );
            eprintln!("{SKIP_MESSAGE}");
            return None;
        };
        let var = |name: &str| -> String {
            env_nonempty(name).unwrap_or_else(|| {
                panic!("DIALOG_RIG_DIR is set but {name} is not: eval the whole output of scripts/sip-rig.sh start")
            })
        };
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "DIALOG_RIG_DIR={} is not a directory: is the rig running?",
            dir.display()
        );
        let tone_hz = env_nonempty("DIALOG_RIG_TONE_HZ")
            .map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("DIALOG_RIG_TONE_HZ={v} is not a number"))
            })
            .unwrap_or(1000);
        Some(Rig {
            ws: var("DIALOG_RIG_WS"),
            ws_401: var("DIALOG_RIG_WS_401"),
            wss: var("DIALOG_RIG_WSS"),
            ca: PathBuf::from(var("DIALOG_RIG_CA")),
            domain: var("DIALOG_RIG_DOMAIN"),
            ctl: PathBuf::from(var("DIALOG_RIG_CTL")),
            tone_hz,
            busy: env_nonempty("DIALOG_RIG_BUSY").unwrap_or_else(|| "1486".to_owned()),
            auto: PhoneInfo {
                user: var("DIALOG_RIG_PHONE_AUTO"),
                ctrl: var("DIALOG_RIG_PHONE_AUTO_CTRL"),
                recordings: env_nonempty("DIALOG_RIG_PHONE_AUTO_REC")
                    .map_or_else(|| dir.join("rec-1001"), PathBuf::from),
            },
            manual: PhoneInfo {
                user: var("DIALOG_RIG_PHONE_MANUAL"),
                ctrl: var("DIALOG_RIG_PHONE_MANUAL_CTRL"),
                recordings: env_nonempty("DIALOG_RIG_PHONE_MANUAL_REC")
                    .map_or_else(|| dir.join("rec-1002"), PathBuf::from),
            },
            dir,
        })
    }

    /// The password of a rig user: `pw<user>` (e.g. "pw2001").
    pub fn password(user: &str) -> String {
        format!("pw{user}")
    }

    /// The SIP URI of a user at the rig's domain: `sip:<user>@127.0.0.1`.
    pub fn aor(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.domain)
    }

    /// Where a far-end phone is.
    pub fn phone(&self, phone: Phone) -> &PhoneInfo {
        match phone {
            Phone::Auto => &self.auto,
            Phone::Manual => &self.manual,
        }
    }

    /// Connects to a phone's ctrl_tcp.
    ///
    /// baresip 1.0 serves one control connection per phone at a time (a new one silently
    /// drops the old), so the two phones are lent to one test at a time, as a pair: this
    /// waits (up to 120 s) until no other test, in this process or another (nextest runs
    /// each test in its own process), holds them. The same test (thread) may hold both
    /// phones, and the same phone twice (the newer connection wins). They are free again
    /// when every [`Baresip`] of the test is dropped. Call it from the test's own task, not
    /// from a spawned one (that may run on another thread).
    pub async fn baresip(&self, phone: Phone) -> io::Result<Baresip> {
        let guard = PhonesGuard::acquire(&self.dir, Duration::from_secs(120)).await?;
        let mut b = Baresip::connect(&self.phone(phone).ctrl).await?;
        b.guard = Some(guard);
        Ok(b)
    }

    /// Both phones at once ([`Rig::baresip`] twice).
    pub async fn phones(&self) -> io::Result<Phones> {
        let auto = self.baresip(Phone::Auto).await?;
        let manual = self.baresip(Phone::Manual).await?;
        Ok(Phones { auto, manual })
    }

    /// Stops Kamailio (SIGTERM) and starts it again: every SIP connection (ws, wss) is cut
    /// and every registration forgotten, so the softphone must reconnect and re-register.
    /// The baresip phones' registrations are put back by the script.
    pub async fn restart_kamailio(&self) -> io::Result<()> {
        self.run_ctl("restart-kamailio").await
    }

    /// SIGKILLs Kamailio: WebSockets drop without a close frame, and 8088/8089/8090 refuse
    /// connections until [`Rig::start_kamailio`].
    pub async fn kill_kamailio(&self) -> io::Result<()> {
        self.run_ctl("kill-kamailio").await
    }

    /// Starts Kamailio again after [`Rig::kill_kamailio`] (with no registrations but the
    /// baresip phones').
    pub async fn start_kamailio(&self) -> io::Result<()> {
        self.run_ctl("start-kamailio").await
    }

    /// `sip-rig.sh status`: what runs and who is registered, as text; an error if a part of
    /// the rig is down.
    pub async fn status(&self) -> io::Result<String> {
        let out = Command::new(&self.ctl).arg("status").arg(&self.dir).output().await?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!("rig not complete:\n{text}")))
        }
    }

    async fn run_ctl(&self, command: &str) -> io::Result<()> {
        let out = Command::new(&self.ctl).arg(command).arg(&self.dir).output().await?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} {command} {} failed ({}): {}",
                self.ctl.display(),
                self.dir.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// All recordings of a phone, oldest first (one per call; see [`Recording`]).
    pub fn recordings(&self, phone: Phone) -> Vec<Recording> {
        Recording::list(&self.phone(phone).recordings)
    }

    /// The phone's newest recording, if it has any. While its call is still up, or just
    /// after CALL_CLOSED, the WAV headers may not be final yet: see
    /// [`Rig::wait_for_recording`].
    pub fn latest_recording(&self, phone: Phone) -> Option<Recording> {
        self.recordings(phone).pop()
    }

    /// Waits until the phone's newest recording is closed (both WAV headers final), e.g.
    /// after CALL_CLOSED.
    pub async fn wait_for_recording(&self, phone: Phone, timeout: Duration) -> io::Result<Recording> {
        let deadline = Instant::now() + timeout;
        loop {
            let latest = self.latest_recording(phone);
            if let Some(rec) = &latest {
                if rec.is_complete() {
                    return Ok(rec.clone());
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    match latest {
                        Some(rec) => format!("{phone}: recording {} still open", rec.stamp),
                        None => format!("{phone}: no recording in {}", self.phone(phone).recordings.display()),
                    },
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One call recorded by a baresip phone (its sndfile module): two WAV files named after the
/// call's start time (local time, one-second resolution: two calls started in the same
/// second share the names, the second overwrites the first).
///
/// Both are 16-bit PCM at the rate of the audio path: 48000 Hz stereo for Opus calls,
/// 8000 Hz mono for PCMU/PCMA calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// The start time in the names: `YYYY-MM-DD-HH-MM-SS`.
    pub stamp: String,
    /// `dump-<stamp>-enc.wav`: what the phone SENT (its tone), taken before encoding.
    pub sent: PathBuf,
    /// `dump-<stamp>-dec.wav`: what the phone RECEIVED (from the softphone), after decoding.
    pub received: PathBuf,
}

impl Recording {
    fn list(dir: &Path) -> Vec<Recording> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut stamps: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let stamp = name.strip_prefix("dump-")?.strip_suffix("-dec.wav")?;
                Some(stamp.to_owned())
            })
            .collect();
        stamps.sort();
        stamps
            .into_iter()
            .map(|stamp| Recording {
                sent: dir.join(format!("dump-{stamp}-enc.wav")),
                received: dir.join(format!("dump-{stamp}-dec.wav")),
                stamp,
            })
            .collect()
    }

    /// Both files are closed: their RIFF headers carry the final sizes.
    pub fn is_complete(&self) -> bool {
        wav_header_final(&self.sent) && wav_header_final(&self.received)
    }
}

fn wav_header_final(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    if bytes.len() < 44 || &bytes[0..4] != b"RIFF" {
        return false;
    }
    let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    riff + 8 == bytes.len()
}

// ------------------------------------------------------------------ phone lock

/// Who in this process holds the phones: one test thread, any number of times.
#[derive(Debug, Default)]
struct Holder {
    owner: Option<ThreadId>,
    count: usize,
    /// The lock directory against other processes, while held.
    dir: Option<PathBuf>,
}

static HOLDER: Mutex<Holder> = Mutex::new(Holder {
    owner: None,
    count: 0,
    dir: None,
});
static RELEASED: Notify = Notify::const_new();

fn holder() -> std::sync::MutexGuard<'static, Holder> {
    HOLDER.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One test's hold on the phones (re-entrant per thread; the last one dropped releases).
#[derive(Debug)]
struct PhonesGuard(());

impl PhonesGuard {
    async fn acquire(rig_dir: &Path, timeout: Duration) -> io::Result<PhonesGuard> {
        let deadline = Instant::now() + timeout;
        let me = std::thread::current().id();
        loop {
            let released = RELEASED.notified();
            {
                let mut h = holder();
                match h.owner {
                    Some(owner) if owner == me => {
                        h.count += 1;
                        return Ok(PhonesGuard(()));
                    }
                    None => {
                        h.owner = Some(me);
                        h.count = 1;
                        break;
                    }
                    Some(_) => {}
                }
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the rig's phones stayed busy (another test of this process holds them)",
                ));
            }
        }
        // First hold in this process: now against the other test processes.
        match lock_dir(rig_dir, deadline).await {
            Ok(dir) => {
                holder().dir = Some(dir);
                Ok(PhonesGuard(()))
            }
            Err(e) => {
                let mut h = holder();
                h.owner = None;
                h.count = 0;
                drop(h);
                RELEASED.notify_waiters();
                Err(e)
            }
        }
    }
}

impl Drop for PhonesGuard {
    fn drop(&mut self) {
        let mut h = holder();
        h.count = h.count.saturating_sub(1);
        if h.count == 0 {
            h.owner = None;
            if let Some(dir) = h.dir.take() {
                let _ = std::fs::remove_dir_all(dir);
            }
            drop(h);
            RELEASED.notify_waiters();
        }
    }
}

/// Creates `RIG_DIR/locks/phones` (atomic), holding our pid; a directory left by a process
/// that is gone is taken over.
async fn lock_dir(rig_dir: &Path, deadline: Instant) -> io::Result<PathBuf> {
    let locks = rig_dir.join("locks");
    std::fs::create_dir_all(&locks)?;
    let dir = locks.join("phones");
    let me = std::process::id().to_string();
    loop {
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                std::fs::write(dir.join("pid"), &me)?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // stale if its owner is gone, or is us (we had no hold: it leaked)
                let owner = std::fs::read_to_string(dir.join("pid")).unwrap_or_default();
                let owner = owner.trim();
                let stale = owner == me || (!owner.is_empty() && !Path::new("/proc").join(owner).exists());
                if stale {
                    let _ = std::fs::remove_dir_all(&dir);
                    continue;
                }
            }
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the rig's phones stayed held by another test process ({})",
                    dir.display()
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ------------------------------------------------------------------ baresip control

/// An event from a baresip phone (ctrl_tcp), e.g.
/// `{"event":true,"type":"CALL_INCOMING","class":"call","accountaor":"sip:1002@127.0.0.1",
/// "direction":"incoming","peeruri":"sip:2001@127.0.0.1","id":"bb8e315d030c183a",
/// "param":"sip:2001@127.0.0.1"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `type`: CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, CALL_RTPESTAB,
    /// REGISTER_OK, ... (see the constants in this module).
    pub kind: String,
    /// `class`: "call", "register", "other", ...
    pub class: String,
    /// `accountaor`: the phone's own AOR.
    pub account_aor: String,
    /// `direction`: "incoming" or "outgoing" (call events).
    pub direction: String,
    /// `peeruri`: the other side's URI (call events).
    pub peer_uri: String,
    /// `id`: baresip's call id (the SIP Call-ID of the call, for call events).
    pub id: String,
    /// `param`: event detail (the peer URI, or the reason of CALL_CLOSED, ...).
    pub param: String,
    /// The whole JSON text.
    pub raw: String,
}

/// A reply to a ctrl_tcp command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `ok`: baresip ran the command.
    pub ok: bool,
    /// `data`: the command's text output.
    pub data: String,
}

/// Control connection to one baresip phone (ctrl_tcp: netstring-framed JSON). Events that
/// arrive while a command waits for its reply are kept for [`Baresip::next_event`].
///
/// Events queue up until read: a wait for CALL_ESTABLISHED or CALL_CLOSED matches the first
/// such event in the queue, which may belong to an earlier call. [`Baresip::dial`] drops the
/// queue; before waiting for an incoming call use [`Baresip::clear_events`] or
/// [`Baresip::drain_events`], or compare [`Event::id`].
pub struct Baresip {
    addr: String,
    stream: TcpStream,
    buf: Vec<u8>,
    events: VecDeque<Event>,
    next_token: u64,
    guard: Option<PhonesGuard>,
}

impl fmt::Debug for Baresip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Baresip")
            .field("addr", &self.addr)
            .field("queued_events", &self.events.len())
            .finish()
    }
}

enum Message {
    Event(Event),
    Response { token: String, response: Response },
    Other,
}

const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_MESSAGE: usize = 1 << 20;

impl Baresip {
    /// Connects to ctrl_tcp at `addr` ("127.0.0.1:4445") without the cross-test lock of
    /// [`Rig::baresip`] (which is what tests should use).
    pub async fn connect(addr: &str) -> io::Result<Baresip> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Baresip {
            addr: addr.to_owned(),
            stream,
            buf: Vec::new(),
            events: VecDeque::new(),
            next_token: 1,
            guard: None,
        })
    }

    /// Runs a ctrl_tcp command (`{"command":..,"params":..,"token":..}`) and returns its
    /// reply. Commands are those of baresip's menu: dial, accept, hangup, reginfo,
    /// listcalls, callstat, answermode, ... (`help` lists them).
    pub async fn command(&mut self, command: &str, params: Option<&str>) -> io::Result<Response> {
        let token = format!("rig{}", self.next_token);
        self.next_token += 1;
        let mut json = format!("{{\"command\":{}", json_string(command));
        if let Some(p) = params {
            json.push_str(&format!(",\"params\":{}", json_string(p)));
        }
        json.push_str(&format!(",\"token\":{}}}", json_string(&token)));
        let frame = format!("{}:{},", json.len(), json);
        self.stream.write_all(frame.as_bytes()).await?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.read_message())
                .await
                .map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("baresip {}: no reply to {command}", self.addr),
                    )
                })??;
            match msg {
                Message::Event(e) => self.events.push_back(e),
                Message::Response { token: t, response } if t == token => return Ok(response),
                Message::Response { .. } | Message::Other => {}
            }
        }
    }

    async fn checked(&mut self, command: &str, params: Option<&str>) -> io::Result<Response> {
        let r = self.command(command, params).await?;
        if r.ok {
            Ok(r)
        } else {
            Err(io::Error::other(format!(
                "baresip {}: {command} failed: {}",
                self.addr,
                r.data.trim()
            )))
        }
    }

    /// Calls `uri` (e.g. "sip:2001@127.0.0.1"). Returns once baresip has started the call;
    /// watch the events for how it goes. The events queued before are dropped first (they
    /// are about earlier calls; a CALL_CLOSED among them would satisfy a later wait).
    pub async fn dial(&mut self, uri: &str) -> io::Result<()> {
        self.events.clear();
        self.checked("dial", Some(uri)).await.map(|_| ())
    }

    /// Answers the ringing incoming call (phone 1002).
    pub async fn accept(&mut self) -> io::Result<()> {
        self.checked("accept", None).await.map(|_| ())
    }

    /// Hangs up the current call; on a ringing incoming call this rejects it (486).
    pub async fn hangup(&mut self) -> io::Result<()> {
        self.checked("hangup", None).await.map(|_| ())
    }

    /// baresip's registration report (text, with colour codes), e.g.
    /// "> sip:1002@127.0.0.1  OK dialog-rig-kamailio Expires 600s".
    pub async fn reginfo(&mut self) -> io::Result<String> {
        self.checked("reginfo", None).await.map(|r| r.data)
    }

    /// The next event (queued first), or `None` if none comes within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> io::Result<Option<Event>> {
        if let Some(e) = self.events.pop_front() {
            return Ok(Some(e));
        }
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.read_message()).await {
                Err(_) => return Ok(None),
                Ok(Err(e)) => return Err(e),
                Ok(Ok(Message::Event(e))) => return Ok(Some(e)),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Waits for an event of type `kind` (e.g. [`CALL_ESTABLISHED`]), dropping the events
    /// before it; a timeout error lists what came instead.
    pub async fn wait_for_event(&mut self, kind: &str, timeout: Duration) -> io::Result<Event> {
        let deadline = Instant::now() + timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_event(left).await? {
                Some(e) if e.kind == kind => return Ok(e),
                Some(e) => seen.push(format!("{}({})", e.kind, e.param)),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "baresip {}: no {kind} within {timeout:?}; got [{}]",
                            self.addr,
                            seen.join(", ")
                        ),
                    ))
                }
            }
        }
    }

    /// Waits for the call state `state` (CALL_INCOMING, CALL_RINGING, CALL_ESTABLISHED,
    /// CALL_CLOSED, ...): [`Baresip::wait_for_event`] by another name.
    pub async fn wait_for_call_state(&mut self, state: &str, timeout: Duration) -> io::Result<Event> {
        self.wait_for_event(state, timeout).await
    }

    /// Drops the events queued so far (those already received).
    pub fn clear_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// Drops the queued events and whatever arrives within `quiet` (to start a step clean).
    pub async fn drain_events(&mut self, quiet: Duration) -> io::Result<Vec<Event>> {
        let mut out: Vec<Event> = self.events.drain(..).collect();
        while let Some(e) = self.next_event(quiet).await? {
            out.push(e);
        }
        Ok(out)
    }

    async fn read_message(&mut self) -> io::Result<Message> {
        loop {
            if let Some((payload, used)) = parse_netstring(&self.buf)? {
                let text = String::from_utf8_lossy(payload).into_owned();
                self.buf.drain(..used);
                return Ok(decode_message(text));
            }
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "baresip {}: control connection closed (another client connected?)",
                        self.addr
                    ),
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `len:payload,` → (payload, bytes used), or None if incomplete.
fn parse_netstring(buf: &[u8]) -> io::Result<Option<(&[u8], usize)>> {
    let Some(colon) = buf.iter().position(|&b| b == b':') else {
        if buf.len() > 20 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "ctrl_tcp: bad netstring length",
            ));
        }
        return Ok(None);
    };
    let len: usize = std::str::from_utf8(&buf[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&l| l <= MAX_MESSAGE)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "ctrl_tcp: bad netstring length"))?;
    let end = colon + 1 + len;
    if buf.len() < end + 1 {
        return Ok(None);
    }
    if buf[end] != b',' {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "ctrl_tcp: netstring without ','",
        ));
    }
    Ok(Some((&buf[colon + 1..end], end + 1)))
}

fn decode_message(text: String) -> Message {
    let Some(json) = Json::parse(&text) else {
        return Message::Other;
    };
    let s = |k: &str| json.get(k).and_then(Json::as_str).unwrap_or_default().to_owned();
    if json.get("event").and_then(Json::as_bool) == Some(true) {
        return Message::Event(Event {
            kind: s("type"),
            class: s("class"),
            account_aor: s("accountaor"),
            direction: s("direction"),
            peer_uri: s("peeruri"),
            id: s("id"),
            param: s("param"),
            raw: text,
        });
    }
    if json.get("response").and_then(Json::as_bool) == Some(true) {
        return Message::Response {
            token: s("token"),
            response: Response {
                ok: json.get("ok").and_then(Json::as_bool) == Some(true),
                data: s("data"),
            },
        };
    }
    Message::Other
}

// ------------------------------------------------------------------ minimal JSON
// (the phone crate has no JSON dev-dependency; ctrl_tcp's messages are small and flat)

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Option<Json> {
        let mut p = JsonParser {
            s: text.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        (p.i == p.s.len()).then_some(v)
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.eat(b"}") {
                    return Some(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return None;
                    }
                    let v = self.value()?;
                    fields.push((k, v));
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    return self.eat(b"}").then_some(Json::Obj(fields));
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Some(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    return self.eat(b"]").then_some(Json::Arr(items));
                }
            }
            b'"' => self.string().map(Json::Str),
            b't' => self.eat(b"true").then_some(Json::Bool(true)),
            b'f' => self.eat(b"false").then_some(Json::Bool(false)),
            b'n' => self.eat(b"null").then_some(Json::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                std::str::from_utf8(&self.s[start..self.i])
                    .ok()?
                    .parse()
                    .ok()
                    .map(Json::Num)
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat(b"\"") {
            return None;
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return None;
                                }
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?)
                            } else {
                                hi
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
                }
                _ => out.push(c),
            }
        }
    }
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
