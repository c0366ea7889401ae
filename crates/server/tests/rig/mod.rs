//! The mail intake's test rig: a Dovecot of its own per test (scripts/mail-rig.sh), a fresh
//! database with a mail service login and the kinds a center has, dialog-server's mail duty
//! as the real program, and letters written as RFC 5322 files and delivered by dovecot-lda.
#![allow(dead_code, missing_docs)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dialog_core::pbx::Duty;
use dialog_core::Store;
use sqlx::PgPool;
use uuid::Uuid;

pub type TestResult = anyhow::Result<()>;

pub const SERVICE_PASSWORD: &str = "пароль-службы-почты";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Whether Dovecot is here; in the test command (DIALOG_REQUIRE_MAIL_RIG=1) it must be.
pub fn rig_available() -> bool {
    let here = Path::new("/usr/sbin/dovecot").exists() && Path::new("/usr/lib/dovecot/dovecot-lda").exists();
    if !here {
        assert!(
            std::env::var_os("DIALOG_REQUIRE_MAIL_RIG").is_none(),
            "Dovecot (dovecot-imapd) is not installed, and the test command needs it"
        );
        eprintln!("skipped: Dovecot is not installed (apt-get install dovecot-imapd)");
    }
    here
}

/// One Dovecot.
pub struct Imap {
    pub dir: PathBuf,
    pub port: u16,
    pub ca: PathBuf,
}

impl Imap {
    pub fn start() -> anyhow::Result<Imap> {
        let dir = std::env::temp_dir().join(format!("dialog-mail-rig-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        let port = free_port();
        let imap = Imap {
            ca: dir.join("ca.pem"),
            dir,
            port,
        };
        imap.up()?;
        Ok(imap)
    }

    /// Starts it (again, keeping the mailbox).
    pub fn up(&self) -> anyhow::Result<()> {
        self.script(&["start", &self.dir.to_string_lossy(), &self.port.to_string()])
    }

    /// SIGKILL to every Dovecot process: the server dies mid-whatever.
    pub fn kill(&self) -> anyhow::Result<()> {
        self.script(&["kill", &self.dir.to_string_lossy()])
    }

    fn script(&self, args: &[&str]) -> anyhow::Result<()> {
        let out = Command::new(repo().join("scripts/mail-rig.sh")).args(args).output()?;
        anyhow::ensure!(
            out.status.success(),
            "mail-rig.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Delivers one letter through dovecot-lda.
    pub fn deliver(&self, letter: &[u8]) -> anyhow::Result<()> {
        let f = self.dir.join(format!("letter-{}.eml", Uuid::now_v7().simple()));
        std::fs::write(&f, letter)?;
        let r = self.script(&["deliver", &self.dir.to_string_lossy(), &f.to_string_lossy()]);
        std::fs::remove_file(&f)?;
        r
    }

    /// The letters of the mailbox and whether each is marked seen (maildir's `S` flag).
    pub fn seen(&self) -> anyhow::Result<Vec<bool>> {
        let mut out = Vec::new();
        let md = self.dir.join("home/dialog/Maildir");
        for sub in ["new", "cur"] {
            if let Ok(rd) = std::fs::read_dir(md.join(sub)) {
                for e in rd {
                    let name = e?.file_name().to_string_lossy().into_owned();
                    out.push(name.split_once(":2,").is_some_and(|(_, flags)| flags.contains('S')));
                }
            }
        }
        Ok(out)
    }

    /// Rebuilds the mailbox's indexes from scratch, as after a restore: the letters stay, the
    /// UIDVALIDITY changes.
    pub fn rebuild(&self) -> anyhow::Result<()> {
        self.script(&["stop", &self.dir.to_string_lossy()])?;
        let md = self.dir.join("home/dialog/Maildir");
        for e in std::fs::read_dir(&md)? {
            let p = e?.path();
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with("dovecot") {
                std::fs::remove_file(&p)?;
            }
        }
        std::thread::sleep(Duration::from_millis(1100));
        self.up()
    }
}

impl Drop for Imap {
    fn drop(&mut self) {
        let _ = self.script(&["stop", &self.dir.to_string_lossy()]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The database of a test, as a center sets it up for mail.
pub struct Center {
    pub owner: Store,
    pub login: String,
    pub written: Uuid,
    pub tariffs: Uuid,
}

pub async fn center(pool: PgPool) -> anyhow::Result<Center> {
    let mut ids = Vec::new();
    for (name, t, kw) in [
        ("Письменное обращение", "жалоба", vec![]),
        ("Вопрос о начислениях и тарифах", "справка", vec!["квитанция", "тариф"]),
        ("Нет горячей воды", "авария", vec!["гвс", "горячая вода"]),
    ] {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into appeal_kinds (id, name, appeal_type, default_priority, localize_minutes, resolve_minutes, keywords)
             values ($1, $2, $3::appeal_type, 'средний', null, 1440, $4)",
        )
        .bind(id)
        .bind(name)
        .bind(t)
        .bind(kw)
        .execute(&pool)
        .await?;
        ids.push(id);
    }
    let owner = Store::from_pool(pool).await?;
    let login = format!("mail{}", &Uuid::now_v7().simple().to_string()[20..]);
    owner.add_service(&login, SERVICE_PASSWORD, Duty::Mail).await?;
    Ok(Center {
        owner,
        login,
        written: ids[0],
        tariffs: ids[1],
    })
}

impl Center {
    pub async fn count(&self, sql: &str) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar(sql).fetch_one(self.owner.pool()).await?)
    }

    /// Waits until the database holds `n` letters (any outcome).
    pub async fn wait_letters(&self, n: i64, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let have = self.count("select count(*) from mail_messages").await?;
            if have >= n {
                return Ok(());
            }
            anyhow::ensure!(start.elapsed() < within, "{have} of {n} letters taken in {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// dialog-server with only the mail duty, its log kept.
pub struct Server {
    child: Child,
    pub log: Arc<Mutex<Vec<String>>>,
}

pub struct ServerConfig<'a> {
    pub imap: String,
    pub ca: &'a Path,
    pub max_message_mb: u64,
}

impl Server {
    pub fn start(center: &Center, cfg: &ServerConfig) -> anyhow::Result<Server> {
        let o = center.owner.pool().connect_options();
        let dir = std::env::temp_dir().join(format!("dialog-mail-server-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("server.toml");
        std::fs::write(
            &file,
            format!(
                "[database]\nhost = \"{}\"\nport = {}\nname = \"{}\"\ntls = false\n\n[mail]\nimap = \"{}\"\nuser = \"dialog\"\n\
                 ca_file = \"{}\"\nlogin = \"{}\"\ndefault_kind = \"Письменное обращение\"\nmax_message_mb = {}\n",
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or("postgres"),
                cfg.imap,
                cfg.ca.display(),
                center.login,
                cfg.max_message_mb,
            ),
        )?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_dialog-server"))
            .arg("--config")
            .arg(&file)
            .env("DIALOG_MAIL_PASSWORD", "mail-rig-password")
            .env("DIALOG_MAIL_SERVICE_PASSWORD", SERVICE_PASSWORD)
            .env("DIALOG_LOG", "info,dialog_server=debug")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Ok(mut l) = log.lock() {
                        l.push(line);
                    }
                }
            });
        }
        Ok(Server { child, log })
    }

    /// Waits for a line of the log that contains `what`.
    pub async fn wait_log(&self, what: &str, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            if self
                .log
                .lock()
                .map(|l| l.iter().any(|s| s.contains(what)))
                .unwrap_or(false)
            {
                return Ok(());
            }
            anyhow::ensure!(
                start.elapsed() < within,
                "dialog-server did not say «{what}» in {within:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the database holds `n` letters; says what dialog-server logged when they do
    /// not come, and gives up at once when it exited.
    pub async fn wait_letters(&mut self, center: &Center, n: i64, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        loop {
            let have = center.count("select count(*) from mail_messages").await?;
            if have >= n {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "dialog-server exited ({status}) with {have} of {n} letters taken:\n{}",
                    self.log_text()
                );
            }
            anyhow::ensure!(
                start.elapsed() < within,
                "{have} of {n} letters taken in {within:?}; dialog-server said:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn log_text(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// SIGKILL: the program dies wherever it is.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A link between dialog-server and Dovecot that carries the server's side at `rate` bytes a
/// second, and counts what it carried: a slow mailbox link, to kill Dovecot mid-letter.
pub struct SlowLink {
    pub port: u16,
    pub carried: Arc<AtomicU64>,
}

impl SlowLink {
    pub async fn start(to: u16, rate: u64) -> anyhow::Result<SlowLink> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let carried = Arc::new(AtomicU64::new(0));
        let counter = carried.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                        let _ = sw.shutdown().await;
                    });
                    let chunk = (rate / 20).max(1024) as usize;
                    let mut buf = vec![0u8; chunk];
                    loop {
                        match sr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if cw.write_all(&buf[..n]).await.is_err() {
                                    break;
                                }
                                counter.fetch_add(n as u64, Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_secs_f64(n as f64 / rate as f64)).await;
                            }
                        }
                    }
                    let _ = cw.shutdown().await;
                    up.abort();
                });
            }
        });
        Ok(SlowLink { port, carried })
    }
}

/// Bytes that look like a file (not compressible, deterministic).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Base64 in lines of 76, as mail carries it.
pub fn base64_lines(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len() * 4 / 3 + data.len() / 57 * 2 + 4);
    for line in data.chunks(57) {
        for c in line.chunks(3) {
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                if i <= c.len() {
                    out.push(T[(n >> shift & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out.push_str("\r\n");
    }
    out
}

/// RFC 2047 B-encoded word of UTF-8 text.
pub fn b_word(s: &str) -> String {
    format!("=?UTF-8?B?{}?=", base64_lines(s.as_bytes()).replace("\r\n", ""))
}

/// RFC 2047 Q-encoded word of UTF-8 text.
pub fn q_word(s: &str) -> String {
    let mut out = String::from("=?UTF-8?Q?");
    for b in s.bytes() {
        match b {
            b' ' => out.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => out.push(b as char),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

/// A plain letter.
pub fn plain(id: &str, from: &str, subject_header: &str, text: &str, extra_headers: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: dispatch@example.ru\r\nSubject: {subject_header}\r\nMessage-ID: <{id}>\r\n\
         Date: Sun, 6 Dec 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n{extra_headers}\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// A letter with files: `(name, mime, content)`, base64 or 8bit.
pub fn with_files(
    id: &str,
    from: &str,
    subject_header: &str,
    text: &str,
    files: &[(&str, &str, &[u8])],
    eightbit: bool,
) -> Vec<u8> {
    let mut s = format!(
        "From: {from}\r\nTo: dispatch@example.ru\r\nSubject: {subject_header}\r\nMessage-ID: <{id}>\r\n\
         Date: Sun, 6 Dec 2026 10:00:00 +0300\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0undary\"\r\n\r\n--b0undary\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
    )
    .into_bytes();
    for (name, mime, content) in files {
        s.extend_from_slice(
            format!(
                "--b0undary\r\nContent-Type: {mime}\r\nContent-Disposition: attachment; filename=\"{}\"\r\n\
                 Content-Transfer-Encoding: {}\r\n\r\n",
                b_word(name),
                if eightbit { "8bit" } else { "base64" }
            )
            .as_bytes(),
        );
        if eightbit {
            s.extend_from_slice(content);
            s.extend_from_slice(b"\r\n");
        } else {
            s.extend_from_slice(base64_lines(content).as_bytes());
        }
    }
    s.extend_from_slice(b"--b0undary--\r\n");
    s
}
