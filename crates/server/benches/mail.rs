//! The mail intake's figures (run by scripts/bench-mail.sh): letters a second turned into
//! appeals by dialog-server's mail duty, and the time from a letter's delivery into the mailbox
//! to its appeal's change notification at a listening operator's store — what an open registry
//! waits for — p50/p95, with IDLE.
//!
//! Needs `DATABASE_URL` of a superuser (a database of its own is made and dropped) and
//! Dovecot (scripts/mail-rig.sh). `DIALOG_BENCH_MAIL_LETTERS` (default 500) letters for the
//! throughput, `DIALOG_BENCH_MAIL_LATENCY` (default 100) for the latency.

#[path = "../tests/rig/mod.rs"]
mod rig;

use std::time::{Duration, Instant};

use dialog_core::events::Change;
use dialog_core::model::StaffRole;
use dialog_core::people::NewPerson;
use dialog_core::{ConnectOptions, Store, TlsMode};
use futures_util::StreamExt;
use rig::*;
use sqlx::postgres::PgPoolOptions;
use sqlx::Connection;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let letters = env_usize("DIALOG_BENCH_MAIL_LETTERS", 500);
    let probes = env_usize("DIALOG_BENCH_MAIL_LATENCY", 100);
    let url = std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("DATABASE_URL (a superuser) is needed"))?;
    let db = format!("dialog_mail_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&url).await?;
    sqlx::query(&format!(
        "create database {db} template template0 encoding 'UTF8' locale 'C.UTF-8'"
    ))
    .execute(&mut admin)
    .await?;
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&format!("{base}/{db}"))
        .await?;
    let r = run(pool.clone(), letters, probes).await;
    pool.close().await;
    sqlx::query(&format!("drop database {db} with (force)"))
        .execute(&mut admin)
        .await?;
    r
}

async fn run(pool: sqlx::PgPool, letters: usize, probes: usize) -> anyhow::Result<()> {
    sqlx::query("create extension if not exists pg_trgm")
        .execute(&pool)
        .await?;
    dialog_core::MIGRATOR.run(&pool).await?;
    let center = center(pool).await?;
    let imap = Imap::start()?;
    let cfg = ServerConfig {
        imap: format!("127.0.0.1:{}", imap.port),
        ca: &imap.ca,
        max_message_mb: 50,
    };

    // Throughput: letters waiting in the mailbox, taken by a duty that starts.
    eprintln!("delivering {letters} letters…");
    for i in 0..letters {
        let text = format!("Здравствуйте! Прошу пояснить начисления по квитанции за ноябрь, лицевой счёт {i:08}.");
        imap.deliver(&plain(
            &format!("bulk{i}@example.ru"),
            &format!("resident{i}@example.ru"),
            &b_word("Вопрос по квитанции"),
            &text,
            "",
        ))?;
    }
    let server = Server::start(&center, &cfg)?;
    server.wait_log("reading a letter", Duration::from_secs(120)).await?;
    let start = Instant::now();
    center.wait_letters(letters as i64, Duration::from_secs(3600)).await?;
    let took = start.elapsed();
    let appeals = center.count("select count(*) from appeals").await?;
    anyhow::ensure!(appeals == letters as i64, "{appeals} appeals of {letters} letters");
    println!(
        "throughput: {letters} letters -> {appeals} appeals in {:.1} s = {:.1} letters/s",
        took.as_secs_f64(),
        letters as f64 / took.as_secs_f64()
    );

    // Latency: one letter at a time into an idle mailbox, to an operator's listening store.
    let login = "bench_operator";
    let password = "пароль-оператора-1";
    center
        .owner
        .add_person(&NewPerson {
            login: login.into(),
            password: password.into(),
            role: StaffRole::Operator,
            full_name: "Оператор Замеров".into(),
            sip_extension: None,
            organization_id: None,
        })
        .await?;
    let o = center.owner.pool().connect_options();
    let op = Store::connect(&ConnectOptions {
        host: o.get_host().into(),
        port: o.get_port(),
        database: o.get_database().unwrap_or("postgres").into(),
        login: login.into(),
        password: password.into(),
        tls: TlsMode::Disable,
    })
    .await?;
    let mut changes = Box::pin(op.changes().await?);
    let mut seen = Vec::with_capacity(probes);
    for i in 0..probes {
        // The mailbox idles between letters, as a center's does.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let letter = plain(
            &format!("probe{i}@example.ru"),
            "probe@example.ru",
            &b_word("Тариф на отопление"),
            "Проверка",
            "",
        );
        let (tx, rx) = tokio::sync::oneshot::channel();
        let dir = imap.dir.clone();
        let sent = Instant::now();
        let deliver = std::thread::spawn(move || {
            let f = dir.join(format!("probe-{i}.eml"));
            let r = std::fs::write(&f, &letter).map_err(anyhow::Error::from).and_then(|_| {
                let out = std::process::Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/mail-rig.sh"))
                    .args(["deliver", &dir.to_string_lossy(), &f.to_string_lossy()])
                    .output()?;
                anyhow::ensure!(out.status.success(), "delivery failed");
                Ok(())
            });
            let _ = tx.send(r);
        });
        let heard = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(c) = changes.next().await {
                if matches!(&c, Ok(Change::Appeal(e)) if e.op == "insert") {
                    return Some(Instant::now());
                }
            }
            None
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("the change stream ended"))?;
        rx.await??;
        let _ = deliver.join();
        // From the moment the letter is handed to the mail server's delivery agent.
        seen.push(heard - sent);
    }
    seen.sort();
    println!(
        "delivery -> change notification at an operator's store ({probes} letters, IDLE): p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        percentile(&seen, 0.5).as_secs_f64() * 1000.0,
        percentile(&seen, 0.95).as_secs_f64() * 1000.0,
        seen.last().copied().unwrap_or_default().as_secs_f64() * 1000.0
    );
    drop(server);
    Ok(())
}
