//! Registry latency over a demo database, measured from Rust through the pool, as an operator
//! and as a housing company's manager see it: p50/p95 of the first page (50 rows) per kind of
//! search, the commonest surnames among them, and for the operator the same searches done the
//! naive way (ILIKE '%…%' over a join) for comparison.
//!
//! `scripts/bench.sh` prepares a 1,000,000-appeal database and runs this. By hand:
//! `DATABASE_URL=postgres://OWNER@HOST/DB DIALOG_BENCH_LOGINS=operator1,manager DIALOG_BENCH_PASSWORD=dialog-demo cargo bench -p dialog-core --bench registry`

use std::time::{Duration, Instant};

use dialog_core::model::{AppealStatus, AppealType};
use dialog_core::registry::{QuickFilter, RegistryFilter, Sort};
use dialog_core::{ConnectOptions, Store, TlsMode};
use sqlx::postgres::PgConnectOptions;
use uuid::Uuid;

const RUNS: usize = 200;
const PAGE: u32 = 50;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(name: &str, mut t: Vec<Duration>, rows: usize) {
    t.sort();
    println!(
        "{name:<44} p50 {:>8.2} ms   p95 {:>8.2} ms   max {:>8.2} ms   ({} runs, {rows} rows on the last)",
        percentile(&t, 0.5),
        percentile(&t, 0.95),
        percentile(&t, 1.0),
        t.len()
    );
}

async fn bench_filter(store: &Store, name: &str, filters: &[RegistryFilter], sort: Sort) -> anyhow::Result<()> {
    let mut times = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for i in 0..RUNS + 10 {
        let f = &filters[i % filters.len()];
        let t = Instant::now();
        let page = store.registry_page(f, sort, None, PAGE).await?;
        let e = t.elapsed();
        rows = page.rows.len();
        if i >= 10 {
            times.push(e);
        }
    }
    report(name, times, rows);
    Ok(())
}

/// The naive way: one ILIKE per word over a join of appeals and buildings, newest first.
/// Each takes seconds over a million appeals: `DIALOG_BENCH_NAIVE_RUNS` (50 by default; 0 skips
/// them) says how many.
async fn bench_naive(store: &Store, name: &str, words: &[Vec<String>]) -> anyhow::Result<()> {
    let runs = match std::env::var("DIALOG_BENCH_NAIVE_RUNS") {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("DIALOG_BENCH_NAIVE_RUNS: a number of runs"))?,
        Err(_) => RUNS / 4,
    };
    if runs == 0 {
        return Ok(());
    }
    let mut times = Vec::with_capacity(runs);
    let mut rows = 0;
    for i in 0..runs + 2 {
        let w = &words[i % words.len()];
        let mut sql = String::from(
            "select a.id, a.number, a.received_at from appeals a left join buildings b on b.id = a.building_id \
             join appeal_kinds k on k.id = a.kind_id where true",
        );
        for (n, _) in w.iter().enumerate() {
            let p = n + 1;
            sql.push_str(&format!(
                " and (a.number ilike ${p} or a.identifier ilike ${p} or a.applicant_name ilike ${p} or a.comment ilike ${p} \
                 or (b.city || ' ' || b.street || ' ' || b.house) ilike ${p} or k.name ilike ${p})"
            ));
        }
        sql.push_str(" order by a.received_at desc limit 50");
        let mut q = sqlx::query(&sql);
        for x in w {
            q = q.bind(format!("%{x}%"));
        }
        let t = Instant::now();
        rows = q.fetch_all(store.pool()).await?.len();
        if i >= 2 {
            times.push(t.elapsed());
        }
    }
    report(name, times, rows);
    Ok(())
}

/// Values to search for, drawn by the owner from what `org` (a manager's organization; all
/// for an operator) holds, different on every run of a search.
struct Samples {
    addresses: Vec<(String, String)>,
    phones: Vec<String>,
    surnames: Vec<String>,
    common_surnames: Vec<String>,
    orgs: Vec<Uuid>,
}

async fn samples(owner: &sqlx::PgPool, org: Option<Uuid>) -> anyhow::Result<Samples> {
    Ok(Samples {
        addresses: sqlx::query_as(
            "select street, house from buildings where $1::uuid is null or organization_id = $1 order by md5(id::text) limit 40",
        )
        .bind(org)
        .fetch_all(owner)
        .await?,
        phones: sqlx::query_scalar(
            r#"select identifier from appeals where identifier like '+7%' and ($1::uuid is null or organization_id = $1)
               order by md5(id::text) limit 40"#,
        )
        .bind(org)
        .fetch_all(owner)
        .await?,
        surnames: sqlx::query_scalar(
            r#"select split_part(applicant_name, ' ', 1) from appeals where $1::uuid is null or organization_id = $1
               order by md5(id::text) limit 40"#,
        )
        .bind(org)
        .fetch_all(owner)
        .await?,
        // The surnames most appeals carry: the planner must walk the date index for them.
        common_surnames: sqlx::query_scalar(
            r#"select s from (select split_part(applicant_name, ' ', 1) as s, count(*) as n from appeals
                              where applicant_name <> '' group by 1 order by n desc limit 3) c"#,
        )
        .fetch_all(owner)
        .await?,
        orgs: sqlx::query_scalar("select id from organizations where $1::uuid is null or id = $1")
            .bind(org)
            .fetch_all(owner)
            .await?,
    })
}

async fn run_as(owner: &sqlx::PgPool, o: &PgConnectOptions, login: &str, password: &str) -> anyhow::Result<()> {
    let store = Store::connect(&ConnectOptions {
        host: o.get_host().into(),
        port: o.get_port(),
        database: o.get_database().unwrap_or("dialog").into(),
        login: login.into(),
        password: password.into(),
        tls: TlsMode::Disable,
    })
    .await?;
    let me = store
        .me()
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{login} is not a person"))?;
    let org = me
        .organization_id
        .filter(|_| me.role == dialog_core::model::StaffRole::Manager);
    let total: i64 = sqlx::query_scalar("select count(*) from appeals where $1::uuid is null or organization_id = $1")
        .bind(org)
        .fetch_one(owner)
        .await?;
    println!(
        "\nregistry over {total} appeals this person may see, first page of {PAGE} rows, as {login} ({:?})",
        me.role
    );
    let s = samples(owner, org).await?;

    let text = |t: String| RegistryFilter {
        text: t,
        ..Default::default()
    };
    let street_house: Vec<RegistryFilter> = s
        .addresses
        .iter()
        .map(|(st, h)| text(format!("{} {h}", st.split_once(' ').map_or(st.as_str(), |x| x.1))))
        .collect();
    // Phones as operators type them: 8 (9xx) xxx-xx-xx.
    let phone_filters: Vec<RegistryFilter> = s
        .phones
        .iter()
        .map(|p| text(format!("8 ({}) {}-{}-{}", &p[2..5], &p[5..8], &p[8..10], &p[10..12])))
        .collect();
    let combos: Vec<RegistryFilter> = s
        .orgs
        .iter()
        .map(|o| RegistryFilter {
            types: vec![AppealType::Accident],
            statuses: vec![AppealStatus::Done, AppealStatus::Closed],
            organization_ids: vec![*o],
            ..Default::default()
        })
        .collect();

    bench_filter(&store, "no filter", &[RegistryFilter::default()], Sort::ReceivedDesc).await?;
    bench_filter(
        &store,
        "quick search: street and house",
        &street_house,
        Sort::ReceivedDesc,
    )
    .await?;
    bench_filter(&store, "quick search: phone number", &phone_filters, Sort::ReceivedDesc).await?;
    let surname_filters: Vec<RegistryFilter> = s.surnames.iter().map(|x| text(x.clone())).collect();
    bench_filter(
        &store,
        "quick search: applicant's surname",
        &surname_filters,
        Sort::ReceivedDesc,
    )
    .await?;
    let common: Vec<RegistryFilter> = s.common_surnames.iter().map(|x| text(x.clone())).collect();
    bench_filter(
        &store,
        "quick search: the commonest surnames",
        &common,
        Sort::ReceivedDesc,
    )
    .await?;
    let quick = |q| RegistryFilter {
        quick: Some(q),
        ..Default::default()
    };
    bench_filter(
        &store,
        "quick filter: срок истекает",
        &[quick(QuickFilter::DeadlineSoon)],
        Sort::ReceivedDesc,
    )
    .await?;
    bench_filter(
        &store,
        "quick filter: срок истекает, by deadline",
        &[quick(QuickFilter::DeadlineSoon)],
        Sort::Deadline,
    )
    .await?;
    bench_filter(
        &store,
        "quick filter: исполнитель не оповещён",
        &[quick(QuickFilter::ExecutorNotNotified)],
        Sort::ReceivedDesc,
    )
    .await?;
    bench_filter(&store, "type + status + organization", &combos, Sort::ReceivedDesc).await?;

    if org.is_none() {
        let words = |f: &RegistryFilter| dialog_core::registry::search_words(&f.text);
        let naive_addr: Vec<Vec<String>> = street_house.iter().map(words).collect();
        let naive_phone: Vec<Vec<String>> = s.phones.iter().map(|p| vec![p[1..].to_string()]).collect();
        bench_naive(&store, "naive ILIKE: street and house", &naive_addr).await?;
        bench_naive(&store, "naive ILIKE: phone number", &naive_phone).await?;
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let url =
        std::env::var("DATABASE_URL").map_err(|_| anyhow::anyhow!("DATABASE_URL: the owner of a demo database"))?;
    let o: PgConnectOptions = url.parse()?;
    let owner = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect_with(o.clone())
        .await?;
    let password = std::env::var("DIALOG_BENCH_PASSWORD").unwrap_or_else(|_| "dialog-demo".into());
    let logins = std::env::var("DIALOG_BENCH_LOGINS").unwrap_or_else(|_| "operator1,manager".into());
    for login in logins.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        run_as(&owner, &o, login, &password).await?;
    }
    Ok(())
}
