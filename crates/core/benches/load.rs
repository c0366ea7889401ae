//! A center under load: N operators at once, each on their own login and connections as the
//! app makes them (a pool of two and a listener for live changes), registering appeals and
//! searching the registry in a 1:10 mix for a minute. Prints, for 25, 50, 100 and 200
//! operators, creates and searches per second and their p50/p95/p99, how long it takes when
//! all of them save at the same instant, and the same with registrations only.
//!
//! `scripts/bench-load.sh` runs it over the 1,000,000-appeal demo database of
//! `scripts/bench.sh`. By hand: `DATABASE_URL=postgres://OWNER@HOST/DB cargo bench -p
//! dialog-core --bench load` (`DIALOG_LOAD_SESSIONS=25,50`, `DIALOG_LOAD_SECONDS=60`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialog_core::appeals::{NewAppeals, Reason};
use dialog_core::model::{Channel, StaffRole};
use dialog_core::people::NewPerson;
use dialog_core::registry::{RegistryFilter, Sort};
use dialog_core::{ConnectOptions, Store, TlsMode};
use futures_util::StreamExt;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

const PASSWORD: &str = "нагрузка-2026";

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn line(name: &str, mut t: Vec<Duration>, seconds: f64) {
    t.sort();
    println!(
        "  {name:<8} {:>7.1}/s   p50 {:>7.1} ms   p95 {:>7.1} ms   p99 {:>7.1} ms   ({} done)",
        t.len() as f64 / seconds,
        percentile(&t, 0.5),
        percentile(&t, 0.95),
        percentile(&t, 0.99),
        t.len()
    );
}

struct World {
    buildings: Vec<(Uuid, Uuid)>,
    words: Vec<String>,
}

/// Operators `load001`… made once by the owner (each person may hold 8 sessions).
async fn operators(owner: &sqlx::PgPool, o: &PgConnectOptions, n: usize) -> anyhow::Result<Vec<Store>> {
    let owner_store = Store::from_pool(owner.clone()).await?;
    let mut out = Vec::with_capacity(n);
    for i in 1..=n {
        let login = format!("load{i:03}");
        let exists: bool = sqlx::query_scalar("select exists (select 1 from staff where login = $1)")
            .bind(&login)
            .fetch_one(owner)
            .await?;
        if !exists {
            owner_store
                .add_person(&NewPerson {
                    login: login.clone(),
                    password: PASSWORD.into(),
                    role: StaffRole::Operator,
                    full_name: format!("Нагрузочный Оператор {i}"),
                    sip_extension: None,
                    organization_id: None,
                })
                .await?;
        }
        out.push(
            Store::connect(&ConnectOptions {
                host: o.get_host().into(),
                port: o.get_port(),
                database: o.get_database().unwrap_or("dialog").into(),
                login,
                password: PASSWORD.into(),
                tls: TlsMode::Disable,
            })
            .await?,
        );
    }
    Ok(out)
}

fn card(w: &World, rng: &mut u64) -> NewAppeals {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let (building, kind) = w.buildings[(*rng % w.buildings.len() as u64) as usize];
    NewAppeals {
        received_at: None,
        channel: Channel::Phone,
        identifier: format!("+7912{:07}", *rng % 10_000_000),
        applicant_name: "Нагрузкин Пётр".into(),
        contacts: String::new(),
        status: None,
        reasons: vec![Reason {
            id: Uuid::now_v7(),
            building_id: Some(building),
            kind_id: Some(kind),
            apartment: "12".into(),
            comment: "Проверка под нагрузкой".into(),
            ..Default::default()
        }],
    }
}

/// `sessions` operators for `seconds`; each registers one appeal per `searches` searches.
async fn round(stores: &[Store], w: &Arc<World>, seconds: u64, searches: usize) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    // The clock starts once every operator listens, as their apps have all shift long.
    let start = Arc::new(tokio::sync::Barrier::new(stores.len() + 1));
    let mut tasks = Vec::new();
    for (i, s) in stores.iter().enumerate() {
        let (s, w, stop, start) = (s.clone(), w.clone(), stop.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            // The app listens for changes all the time.
            let events = s.appeal_events().await;
            start.wait().await;
            let mut events = Box::pin(events?);
            let drain = tokio::spawn(async move { while events.next().await.is_some() {} });
            let (mut creates, mut finds, mut errors) = (Vec::new(), Vec::new(), 0usize);
            // The first failure of each operator is said, so that a broken round is not read
            // as a slow one.
            let mut said = false;
            let mut failed = |e: dialog_core::Error| {
                if !std::mem::replace(&mut said, true) {
                    eprintln!("  operator {i}: {e}");
                }
                errors += 1;
            };
            let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ (i as u64 + 1);
            // Each operator starts at their own place in the cycle, as on a shift: the mix is
            // steady from the first second, not every registration at once (that burst is
            // measured apart, `burst`).
            let mut n = i % (searches + 1);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if n.is_multiple_of(searches + 1) {
                    match s.create_appeals(&card(&w, &mut rng)).await {
                        Ok(_) => creates.push(t.elapsed()),
                        Err(e) => failed(e),
                    }
                } else {
                    let f = RegistryFilter {
                        text: w.words[n % w.words.len()].clone(),
                        ..Default::default()
                    };
                    match s.registry_page(&f, Sort::ReceivedDesc, None, 50).await {
                        Ok(_) => finds.push(t.elapsed()),
                        Err(e) => failed(e),
                    }
                }
                n += 1;
            }
            drain.abort();
            anyhow::Ok((creates, finds, errors))
        }));
    }
    start.wait().await;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut creates, mut finds, mut errors) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (c, f, e) = t.await??;
        creates.extend(c);
        finds.extend(f);
        errors += e;
    }
    let secs = seconds as f64;
    line("create", creates, secs);
    if searches > 0 {
        line("search", finds, secs);
    }
    println!("  errors   {errors}");
    Ok(())
}

/// Each operator searches and registers once, a few at a time, before anything is measured:
/// during a shift their connections have long been open and the server has their statements
/// ready, so the minute measured is a shift's, not two hundred logins'.
async fn warm_up(stores: &[Store], w: &Arc<World>) -> anyhow::Result<()> {
    let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(stores.iter().enumerate())
        .map(|(i, s)| {
            let w = w.clone();
            async move {
                let mut rng = 0x5851_f42d_4c95_7f2d_u64 ^ (i as u64 + 1);
                let f = RegistryFilter {
                    text: w.words[i % w.words.len()].clone(),
                    ..Default::default()
                };
                s.registry_page(&f, Sort::ReceivedDesc, None, 50).await?;
                s.create_appeals(&card(&w, &mut rng)).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Every one of the operators presses «Сохранить» at the same instant.
async fn burst(stores: &[Store], w: &Arc<World>) -> anyhow::Result<()> {
    let gate = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, s) in stores.iter().enumerate() {
        let (s, w, gate) = (s.clone(), w.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = 0x2545_f491_4f6c_dd1d_u64 ^ (i as u64 + 1);
            let card = card(&w, &mut rng);
            gate.wait().await;
            let t = Instant::now();
            s.create_appeals(&card).await.map(|_| t.elapsed())
        }));
    }
    let mut took = Vec::new();
    for t in tasks {
        took.push(t.await??);
    }
    let all = started.elapsed().as_secs_f64() * 1000.0;
    took.sort();
    println!(
        "  burst    {} registrations at the same instant: p50 {:.1} ms, p95 {:.1} ms, all saved in {all:.0} ms",
        took.len(),
        percentile(&took, 0.5),
        percentile(&took, 0.95)
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url =
        std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("DATABASE_URL: the owner of a demo database"))?;
    let o: PgConnectOptions = url.parse()?;
    let owner = PgPoolOptions::new().max_connections(2).connect_with(o.clone()).await?;
    let seconds: u64 = std::env::var("DIALOG_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let sessions: Vec<usize> = std::env::var("DIALOG_LOAD_SESSIONS")
        .unwrap_or_else(|_| "25,50,100,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let buildings: Vec<(Uuid, Uuid)> = sqlx::query_as(
        r#"select eb.building_id, ek.kind_id from executor_buildings eb
           join executor_kinds ek on ek.executor_id = eb.executor_id
           join appeal_kinds k on k.id = ek.kind_id and k.appeal_type in ('авария', 'заявка')
           order by md5(eb.building_id::text || ek.kind_id::text) limit 500"#,
    )
    .fetch_all(&owner)
    .await?;
    let words: Vec<String> = sqlx::query_scalar(
        r#"select w from (select split_part(applicant_name, ' ', 1) as w from appeals order by md5(id::text) limit 50) a
           union all select street from buildings order by 1 limit 100"#,
    )
    .fetch_all(&owner)
    .await?;
    let world = Arc::new(World { buildings, words });
    let most = sessions.iter().copied().max().unwrap_or(0);
    let stores = operators(&owner, &o, most).await?;
    warm_up(&stores, &world).await?;
    println!("load over {} appeals, {seconds} s a round, 2 cores", {
        let n: i64 = sqlx::query_scalar("select count(*) from appeals")
            .fetch_one(&owner)
            .await?;
        n
    });
    for &n in &sessions {
        println!("{n} operators, one registration to ten searches:");
        round(&stores[..n], &world, seconds, 10).await?;
        burst(&stores[..n], &world).await?;
    }
    for &n in &sessions {
        println!("{n} operators, registrations only:");
        round(&stores[..n], &world, seconds / 2, 0).await?;
    }
    Ok(())
}
