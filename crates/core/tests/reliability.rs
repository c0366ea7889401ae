//! Bad luck: a crash of the server during registrations, a listener's connection cut, two
//! operators pressing at once, a workstation that freezes mid-save, a server that is full.
//! Against real PostgreSQL; the crash test runs a durable cluster of its own (as
//! `scripts/run.sh` does) and kills its postmaster with SIGKILL.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use dialog_core::appeals::NewAppeals;
use dialog_core::model::{AppealStatus, StaffRole};
use dialog_core::{Error, Rule, Store};
use futures_util::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

fn scripts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

/// A durable private cluster in a folder of its own, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn start() -> anyhow::Result<(Cluster, String)> {
        let dir = std::env::temp_dir().join(format!("dialog-crash-{}", Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let c = Cluster { dir, port };
        let url = c.run_start()?;
        Ok((c, url))
    }

    fn run_start(&self) -> anyhow::Result<String> {
        let out = Command::new(scripts().join("pg-cluster.sh"))
            .arg("start")
            .arg(self.dir.join("cluster"))
            .arg(self.port.to_string())
            .output()?;
        let log = std::fs::read_to_string(self.dir.join("cluster/server.log")).unwrap_or_default();
        anyhow::ensure!(
            out.status.success(),
            "pg-cluster.sh: {}\n{log}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = String::from_utf8(out.stdout)?;
        env.lines()
            .find_map(|l| l.strip_prefix("export DATABASE_URL="))
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no DATABASE_URL in {env}"))
    }

    /// SIGKILL to the postmaster and every process of the server at once: it dies as in a
    /// power cut, with what it had in memory.
    fn kill(&self) -> anyhow::Result<()> {
        let pid = std::fs::read_to_string(self.dir.join("cluster/data/postmaster.pid"))?;
        let pid = pid.lines().next().unwrap_or_default().trim().to_owned();
        Command::new("pkill").args(["-9", "-P", &pid]).status()?;
        let ok = Command::new("kill").args(["-9", &pid]).status()?.success();
        anyhow::ensure!(ok, "kill -9 {pid}");
        std::thread::sleep(Duration::from_millis(300));
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(scripts().join("pg-cluster.sh"))
            .arg("stop")
            .arg(self.dir.join("cluster"))
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A card whose applicant says which registration it is.
fn numbered_card(city: &City, who: usize, n: usize) -> NewAppeals {
    let mut c = card("+79123456789", Some(city.lenina_10), city.leak);
    c.applicant_name = format!("Заявитель {who}-{n}");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_of_the_server_loses_and_doubles_no_acknowledged_appeal() -> TestResult {
    let (cluster, url) = Cluster::start()?;
    let admin: PgConnectOptions = url.parse()?;
    let mut c = PgConnection::connect_with(&admin).await?;
    sqlx::raw_sql("create database crash").execute(&mut c).await?;
    c.close().await?;
    let owner_opts = admin.clone().database("crash");
    let owner = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(owner_opts.clone())
        .await?;
    dialog_core::MIGRATOR.run(&owner).await?;
    let city = city(owner.clone()).await?;
    let mut operators = Vec::new();
    for _ in 0..4 {
        operators.push(person(&city, StaffRole::Operator, None).await?);
    }

    // Four operators register as fast as they can; each remembers what the server
    // acknowledged, and keeps the card it was saving when the server died.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (who, (op, _)) in operators.iter().enumerate() {
        let (op, stop) = (op.clone(), stop.clone());
        let cards: Vec<NewAppeals> = (0..100_000).map(|n| numbered_card(&city, who, n)).collect();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for card in cards {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                match op.create_appeals(&card).await {
                    Ok(a) => acknowledged.push((a[0].id, a[0].number.clone())),
                    Err(_) => return (acknowledged, Some(card)),
                }
            }
            (acknowledged, None)
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.kill()?;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    let mut in_flight = Vec::new();
    for t in tasks {
        let (a, pending) = t.await?;
        acknowledged.extend(a);
        in_flight.extend(pending);
    }
    assert!(
        acknowledged.len() > 20,
        "only {} registrations before the crash",
        acknowledged.len()
    );

    // The server comes back (crash recovery); the cards that were being saved are saved again,
    // as the app does, with the same ids.
    cluster.run_start()?;
    let (op, _) = &operators[0];
    for card in &in_flight {
        let mut tries = 0;
        loop {
            match op.create_appeals(card).await {
                Ok(_) => break,
                Err(e) if e.is_unavailable() && tries < 10 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                // Registered by its own operator before the crash: the same card is the same appeal.
                Err(Error::Rule {
                    rule: Rule::AlreadyRegistered,
                    ..
                }) => break,
                Err(e) => return Err(e.into()),
            }
        }
    }
    let owner = PgPoolOptions::new().max_connections(1).connect_with(owner_opts).await?;
    let stored: Vec<(Uuid, String, String)> = sqlx::query_as("select id, number, applicant_name from appeals")
        .fetch_all(&owner)
        .await?;
    let ids: HashSet<Uuid> = stored.iter().map(|s| s.0).collect();
    for (id, number) in &acknowledged {
        assert!(ids.contains(id), "acknowledged appeal {number} lost in the crash");
        assert!(
            stored.iter().any(|s| s.0 == *id && s.1 == *number),
            "{number} changed its number"
        );
    }
    let numbers: HashSet<&str> = stored.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(numbers.len(), stored.len(), "a number given twice");
    let names: HashSet<&str> = stored.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(names.len(), stored.len(), "a card registered twice");
    assert_eq!(stored.len(), acknowledged.len() + in_flight.len());
    println!(
        "{} acknowledged before the crash, {} saved again after it, {} stored, none lost or doubled",
        acknowledged.len(),
        in_flight.len(),
        stored.len()
    );
    owner.close().await;
    Ok(())
}

/// Calls that end while the server is down wait on disk and are stored once it is back, each
/// once, with its recording.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_that_end_while_the_server_is_down_are_stored_when_it_is_back() -> TestResult {
    let (cluster, url) = Cluster::start()?;
    let admin: PgConnectOptions = url.parse()?;
    let mut c = PgConnection::connect_with(&admin).await?;
    sqlx::raw_sql("create database calls").execute(&mut c).await?;
    c.close().await?;
    let owner_opts = admin.clone().database("calls");
    let owner = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(owner_opts.clone())
        .await?;
    dialog_core::MIGRATOR.run(&owner).await?;
    let city = city(owner.clone()).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let folder = std::env::temp_dir().join(format!("dialog-calls-{}", Uuid::now_v7().simple()));
    let book = dialog_core::callbook::CallBook::open(&folder)?;
    let call = |n: u8| dialog_core::files::NewCall {
        id: Uuid::now_v7(),
        direction: dialog_core::model::CallDirection::Outgoing,
        from_number: "2001".into(),
        to_number: "+79123456789".into(),
        started_at: chrono::Utc::now() - chrono::Duration::seconds(30),
        answered_at: Some(chrono::Utc::now() - chrono::Duration::seconds(20)),
        ended_at: Some(chrono::Utc::now()),
        appeal_id: None,
        executor_id: None,
        recording: Some(vec![n; 4000]),
        recording_codec: Some("audio/wav".into()),
        sip_call_id: None,
    };
    let first = call(1);
    book.keep(&first)?;
    assert_eq!(book.drain(&op).await.stored, vec![first.id]);

    cluster.kill()?;
    let during: Vec<_> = (2..5).map(call).collect();
    for c in &during {
        book.keep(c)?;
    }
    let done = book.drain(&op).await;
    assert!(done.stored.is_empty() && done.refused.is_empty(), "{done:?}");
    assert_eq!(done.waiting, 3, "{done:?}");

    cluster.run_start()?;
    let mut stored = Vec::new();
    for _ in 0..50 {
        stored.extend(book.drain(&op).await.stored);
        if book.kept().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(stored, during.iter().map(|c| c.id).collect::<Vec<_>>());
    let owner = PgPoolOptions::new().max_connections(1).connect_with(owner_opts).await?;
    let rows: Vec<(Uuid, i32)> = sqlx::query_as("select id, octet_length(recording) from calls order by id")
        .fetch_all(&owner)
        .await?;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|r| r.1 == 4000), "{rows:?}");
    owner.close().await;
    let _ = std::fs::remove_dir_all(&folder);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_cut_listener_misses_no_change(pool: PgPool) -> TestResult {
    let city = city(pool.clone()).await?;
    let (anna, _) = person(&city, StaffRole::Operator, None).await?;
    let (boris, boris_login) = person(&city, StaffRole::Operator, None).await?;
    let mut events = Box::pin(boris.appeal_events().await?);
    let first = anna
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let e = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await?
        .expect("open")?;
    assert_eq!(e.id, first.id);
    // The server (or a network device) cuts Boris's listening connection; changes go on.
    let cut: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = $1 and query ilike 'listen%'",
    )
    .bind(&boris_login)
    .fetch_one(&pool)
    .await?;
    assert_eq!(cut, 1);
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            anna.create_appeals(&card(&format!("+7912345670{i}"), Some(city.lenina_10), city.leak))
                .await?
                .remove(0)
                .id,
        );
    }
    // Every one of them reaches Boris (or he is told to reload).
    let mut seen = HashSet::new();
    let until = Instant::now() + Duration::from_secs(30);
    while !made.iter().all(|id| seen.contains(id)) {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, events.next()).await? {
            Some(Ok(e)) => {
                seen.insert(e.id);
            }
            Some(Err(_)) => break,
            None => panic!("the change stream ended"),
        }
    }
    assert!(
        made.iter().all(|id| seen.contains(id)),
        "changes made while the listener was cut were missed silently"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn crosswise_joins_and_closings_neither_break_the_rule_nor_deadlock(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (anna, _) = person(&city, StaffRole::Operator, None).await?;
    let (boris, _) = person(&city, StaffRole::Operator, None).await?;
    let (sup_a, _) = person(&city, StaffRole::Supervisor, None).await?;
    let (sup_b, _) = person(&city, StaffRole::Supervisor, None).await?;
    let reg = |s: &Store| {
        let s = s.clone();
        let c = card("+79123456789", Some(city.lenina_10), city.leak);
        async move { s.create_appeals(&c).await.map(|mut v| v.remove(0)) }
    };
    for round in 0..30 {
        // Anna joins X to Y while Boris joins Y to Z: at most one of them may win.
        let (x, y, z) = (reg(&anna).await?, reg(&anna).await?, reg(&anna).await?);
        let (a, b) = tokio::join!(
            anna.join_appeal(x.id, x.version, Some(y.id)),
            boris.join_appeal(y.id, y.version, Some(z.id))
        );
        for r in [&a, &b] {
            if let Err(e) = r {
                assert!(
                    matches!(e, Error::Rule { rule: Rule::Join, .. }),
                    "round {round}: {e:?}"
                );
            }
        }
        assert!(a.is_err() || b.is_err(), "round {round}: a chain X→Y→Z was made");
        // Opposite joins at once.
        let (p, q) = (reg(&anna).await?, reg(&boris).await?);
        let (a, b) = tokio::join!(
            anna.join_appeal(p.id, p.version, Some(q.id)),
            boris.join_appeal(q.id, q.version, Some(p.id))
        );
        assert!(a.is_ok() != b.is_ok(), "round {round}: {a:?} / {b:?}");
    }
    // Closing the same appeals in opposite orders at once: one wins, the other is told the
    // appeals changed; nobody sees a deadlock.
    for round in 0..10 {
        let mut done = Vec::new();
        for _ in 0..3 {
            let a = reg(&anna).await?;
            let a = anna.assign_executor(a.id, a.version, city.plumber).await?;
            pbx_call(&city, "2001", city.plumber_phone).await?;
            let a = anna.change_status(a.id, a.version, AppealStatus::InWork).await?;
            done.push(anna.change_status(a.id, a.version, AppealStatus::Done).await?);
        }
        let forward: Vec<(Uuid, i32)> = done.iter().map(|a| (a.id, a.version)).collect();
        let backward: Vec<(Uuid, i32)> = forward.iter().rev().copied().collect();
        let (a, b) = tokio::join!(
            sup_a.change_status_many(&forward, AppealStatus::Closed),
            sup_b.change_status_many(&backward, AppealStatus::Closed)
        );
        assert!(a.is_ok() != b.is_ok(), "round {round}: {a:?} / {b:?}");
        let loser = a.err().or(b.err());
        assert!(
            matches!(loser, Some(Error::Conflict { .. })),
            "round {round}: {loser:?}"
        );
    }
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_full_server_is_told_apart_from_a_broken_network(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    // Everyone else takes this person's sessions: their app needs a new connection and gets none.
    let limit: i32 = sqlx::query_scalar("select rolconnlimit from pg_roles where rolname = $1")
        .bind(&login)
        .fetch_one(city.owner.pool())
        .await?;
    let mut held = Vec::new();
    while let Ok(c) = PgConnection::connect_with(&options_for(city.owner.pool(), &login, PASSWORD).pg_options()).await {
        held.push(c);
        assert!(held.len() <= limit as usize);
    }
    // Two saves at once need two connections; one of them has to be made.
    let (first, second) = (
        card("+79123456789", Some(city.lenina_10), city.leak),
        card("+79123456780", Some(city.lenina_10), city.leak),
    );
    let (a, b) = tokio::join!(op.create_appeals(&first), op.create_appeals(&second));
    let e = a.err().or(b.err()).expect("a connection was refused");
    assert!(matches!(e, Error::ServerFull), "{e:?}");
    assert!(e.to_string().contains("не принимает новых подключений"), "{e}");
    assert!(e.is_unavailable());
    drop(held);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn server_words_never_reach_the_screen_in_english(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    // An error the app has no words of its own for: it says what to do, with the code.
    let r: Result<(), Error> = sqlx::query("select 1/0")
        .execute(op.pool())
        .await
        .map(|_| ())
        .map_err(Error::from);
    let text = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.contains("22012") && text.contains("сообщите администратору"),
        "{text}"
    );
    assert!(!text.contains("division"), "{text}");
    Ok(())
}
