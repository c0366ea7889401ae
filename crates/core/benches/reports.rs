//! The monthly reports over a demo database, timed from Rust through the pool as a
//! supervisor builds them: each report kind over the last full calendar month before now,
//! 5 runs after one warm-up, p50 and max. Target: under 2 s each.
//!
//! `DATABASE_URL=postgres://OWNER@HOST:PORT/DB cargo bench -p dialog-core --bench reports`
//! (the URL gives the server and database; the bench logs in as the demo supervisor
//! `starshiy` / `dialog-demo`, or `DIALOG_BENCH_LOGIN` / `DIALOG_BENCH_PASSWORD`).

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Utc};
use dialog_core::reports::{ReportKind, ReportRequest};
use dialog_core::{ConnectOptions, Store, TlsMode};
use sqlx::postgres::PgConnectOptions;

const RUNS: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("DATABASE_URL: a demo database"))?;
    let o: PgConnectOptions = url.parse()?;
    let store = Store::connect(&ConnectOptions {
        host: o.get_host().into(),
        port: o.get_port(),
        database: o.get_database().unwrap_or("dialog").into(),
        login: std::env::var("DIALOG_BENCH_LOGIN").unwrap_or_else(|_| "starshiy".into()),
        password: std::env::var("DIALOG_BENCH_PASSWORD").unwrap_or_else(|_| "dialog-demo".into()),
        tls: TlsMode::Disable,
    })
    .await?;
    let today = Utc::now().date_naive();
    let this_month = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).ok_or_else(|| anyhow::anyhow!("date"))?;
    let last_month = this_month
        .pred_opt()
        .and_then(|d| NaiveDate::from_ymd_opt(d.year(), d.month(), 1))
        .ok_or_else(|| anyhow::anyhow!("date"))?;
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let (Some(from), Some(to)) = (midnight(last_month), midnight(this_month)) else {
        anyhow::bail!("no month");
    };
    let (total, in_month): (i64, i64) = sqlx::query_as(
        "select (select count(*) from appeals), (select count(*) from appeals where received_at >= $1 and received_at < $2)",
    )
    .bind(from)
    .bind(to)
    .fetch_one(store.pool())
    .await?;
    println!(
        "reports over {total} appeals, month {} ({in_month} appeals received), as {}; {RUNS} runs after a warm-up",
        last_month.format("%Y-%m"),
        store.me().map_or("?", |p| p.login.as_str())
    );
    let mut worst = Duration::ZERO;
    for kind in ReportKind::ALL {
        let req = ReportRequest {
            kind: *kind,
            from,
            to,
            organization_id: None,
        };
        let mut rows = store.report(&req).await?.rows.len();
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let t = Instant::now();
            rows = store.report(&req).await?.rows.len();
            times.push(t.elapsed());
        }
        times.sort();
        let (p50, max) = (times[RUNS / 2], times[RUNS - 1]);
        worst = worst.max(max);
        println!(
            "{:<16} p50 {:>8.1} ms   max {:>8.1} ms   {rows} rows",
            kind.name(),
            p50.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0
        );
    }
    println!(
        "slowest run {:.1} ms: {}",
        worst.as_secs_f64() * 1000.0,
        if worst < Duration::from_secs(2) {
            "every monthly report under 2 s"
        } else {
            "OVER the 2 s target"
        }
    );
    Ok(())
}
