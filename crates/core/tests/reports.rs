//! Reports against the real database: a small month of appeals and calls with known clocks,
//! and every report's numbers checked against counts made here, in Rust, from the fixture.

mod common;

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use common::*;
use dialog_core::appeals::{Appeal, NewAppeals, Reason};
use dialog_core::directory::{upsert, AppealKind, Executor, Service};
use dialog_core::files::NewCall;
use dialog_core::model::{AppealStatus, AppealType, CallDirection, Channel, Priority, StaffRole};
use dialog_core::reports::{duration, local, percent, Report, ReportKind, ReportRequest, CLOCKS};
use dialog_core::{Error, Store};
use sqlx::PgPool;
use uuid::Uuid;

/// One appeal of the fixture.
struct Spec {
    kind: Uuid,
    building: Option<Uuid>,
    minutes_ago: i64,
    target: AppealStatus,
    /// 0 or 1: which operator registers (and works) it.
    operator: usize,
}

struct Fixture {
    city: City,
    operators: [(Store, String); 2],
    blockage: Uuid,
    /// Every appeal of the fixture, read back after its last change.
    appeals: Vec<Appeal>,
    /// Incoming calls: (operator index, started, answered).
    incoming: Vec<(usize, DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// Outgoing calls per operator index.
    outgoing: [i64; 2],
    /// The report period: the last 30 days.
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

fn executor(org: Uuid, name: &str, phone: &str) -> Executor {
    Executor {
        id: Uuid::now_v7(),
        full_name: name.into(),
        position: "слесарь".into(),
        phones: vec![phone.into()],
        organization_id: org,
        active: true,
    }
}

fn incoming(started: DateTime<Utc>, answered_after_secs: Option<i64>) -> NewCall {
    let answered = answered_after_secs.map(|s| started + Duration::seconds(s));
    NewCall {
        id: Uuid::now_v7(),
        direction: CallDirection::Incoming,
        from_number: "+79125550000".into(),
        to_number: "1001".into(),
        started_at: started,
        answered_at: answered,
        ended_at: Some(answered.unwrap_or(started) + Duration::seconds(20)),
        appeal_id: None,
        executor_id: None,
        recording: None,
        recording_codec: None,
        sip_call_id: None,
    }
}

async fn fixture(pool: PgPool) -> anyhow::Result<Fixture> {
    let city = city(pool.clone()).await?;
    let mut c = pool.acquire().await?;
    let blockage = upsert::kind(
        &mut c,
        &AppealKind {
            id: Uuid::now_v7(),
            name: "Засор внутридомовой канализации".into(),
            appeal_type: AppealType::Accident,
            default_priority: Priority::Critical,
            localize_minutes: None,
            resolve_minutes: Some(120),
            deadline_note: String::new(),
            keywords: vec!["засор".into()],
            source: String::new(),
            active: true,
            needs_address: false,
        },
    )
    .await?;
    let sewer_phone = "+79170000009";
    let sewer = upsert::executor(
        &mut c,
        &executor(city.org_a, "Канализаторов Олег", sewer_phone),
        &Service {
            kind_ids: vec![blockage],
            building_ids: vec![city.lenina_10, city.lenina_110],
        },
    )
    .await?;
    drop(c);
    let operators = [
        person(&city, StaffRole::Operator, None).await?,
        person(&city, StaffRole::Operator, None).await?,
    ];
    let (supervisor, _) = person(&city, StaffRole::Supervisor, None).await?;
    let (a10, a110, b5) = (Some(city.lenina_10), Some(city.lenina_110), Some(city.mira_5));
    let (leak, hot) = (city.leak, city.no_hot_water);
    use AppealStatus::*;
    let spec = |kind, building, minutes_ago, target, operator| Spec {
        kind,
        building,
        minutes_ago,
        target,
        operator,
    };
    let specs = [
        spec(leak, a10, 20, InWork, 0),
        spec(leak, a10, 50, Done, 0),
        spec(hot, a110, 300, Done, 1),
        spec(hot, a10, 300, New, 1),
        spec(hot, a10, 60, Assigned, 0),
        spec(hot, a10, 10, New, 0),
        spec(leak, b5, 25, Closed, 1),
        spec(leak, a110, 400, Cancelled, 0),
        spec(city.tariffs, None, 30, Done, 1),
        spec(blockage, a10, 90, Done, 0),
        spec(blockage, a10, 180, Done, 0),
        spec(blockage, a110, 300, InWork, 1),
        spec(blockage, a10, 60, New, 1),
        spec(hot, a10, 250, Closed, 0),
        // Before the period: it must count nowhere.
        spec(leak, a10, 40 * 24 * 60, New, 0),
    ];
    let now = Utc::now();
    let mut outgoing = [0i64; 2];
    let mut appeals = Vec::new();
    for s in &specs {
        let (op, _) = &operators[s.operator];
        let (executor, phone) = if s.kind == blockage {
            (sewer, sewer_phone)
        } else if s.building == b5 {
            (city.plumber_b, "+79170000002")
        } else {
            (city.plumber, city.plumber_phone)
        };
        let works = !matches!(s.target, New | Cancelled) && s.kind != city.tariffs;
        let new = NewAppeals {
            received_at: Some(now - Duration::minutes(s.minutes_ago)),
            channel: Channel::Phone,
            identifier: "+79123456789".into(),
            applicant_name: "Иванова Мария Ивановна".into(),
            contacts: String::new(),
            status: None,
            reasons: vec![Reason {
                id: Uuid::now_v7(),
                building_id: s.building,
                kind_id: Some(s.kind),
                apartment: "5".into(),
                executor_ids: if works { vec![executor] } else { vec![] },
                ..Default::default()
            }],
        };
        // History older than a month is loaded by the owner's tools (a person may not date an
        // appeal that far back).
        let registrar = if s.minutes_ago > 31 * 24 * 60 { &city.owner } else { op };
        let mut a = registrar.create_appeals(&new).await?.remove(0);
        let steps: &[AppealStatus] = match (s.target, s.kind == city.tariffs) {
            (Done, true) => &[Done],
            (New | Assigned, _) => &[],
            (Cancelled, _) => &[Cancelled],
            (InWork, _) => &[InWork],
            (Done, _) => &[InWork, Done],
            (Closed, _) => &[InWork, Done, Closed],
        };
        for step in steps {
            if *step == InWork {
                op.record_call(&call_to(executor, phone, Some(a.id))).await?;
                pbx_call(&city, "2001", phone).await?;
                outgoing[s.operator] += 1;
            }
            let who = if *step == Closed { &supervisor } else { op };
            a = who.change_status(a.id, a.version, *step).await?;
        }
        assert_eq!(a.status, s.target, "{}", a.number);
        appeals.push(a);
    }
    let mut calls = Vec::new();
    for (operator, minutes_ago, answered_after) in [
        (0, 100, Some(120)),
        (0, 90, Some(7 * 60)),
        (0, 80, None),
        (1, 70, Some(60)),
        (1, 60, Some(5 * 60)),
        (1, 40 * 24 * 60, None),
    ] {
        let call = incoming(now - Duration::minutes(minutes_ago), answered_after);
        let stored = past_call(&city, &operators[operator].1, &call).await?;
        calls.push((operator, stored.started_at, stored.answered_at));
    }
    Ok(Fixture {
        city,
        operators,
        blockage,
        appeals,
        incoming: calls,
        outgoing,
        from: now - Duration::days(30),
        to: now + Duration::minutes(1),
    })
}

impl Fixture {
    fn in_period(&self) -> impl Iterator<Item = &Appeal> {
        self.appeals
            .iter()
            .filter(|a| a.received_at >= self.from && a.received_at < self.to)
    }

    fn request(&self, kind: ReportKind) -> ReportRequest {
        ReportRequest {
            kind,
            from: self.from,
            to: self.to,
            organization_id: None,
        }
    }

    fn login(&self, i: usize) -> &str {
        &self.operators[i].1
    }

    fn operator_of(&self, a: &Appeal) -> usize {
        usize::from(a.created_by == self.login(1))
    }
}

fn overdue(a: &Appeal, now: DateTime<Utc>) -> bool {
    a.status != AppealStatus::Cancelled && a.deadline_at.is_some_and(|d| d < a.done_at.unwrap_or(now))
}

/// [total, not finished, done, cancelled, overdue] of some appeals, as the report writes them.
fn counts<'a>(appeals: impl Iterator<Item = &'a Appeal>, now: DateTime<Utc>) -> Vec<String> {
    let mut n = [0i64; 5];
    for a in appeals {
        n[0] += 1;
        n[1] += i64::from(a.status.is_live());
        n[2] += i64::from(matches!(a.status, AppealStatus::Done | AppealStatus::Closed));
        n[3] += i64::from(a.status == AppealStatus::Cancelled);
        n[4] += i64::from(overdue(a, now));
    }
    n.iter().map(i64::to_string).collect()
}

fn row(label: &str, rest: Vec<String>) -> Vec<String> {
    std::iter::once(label.to_owned()).chain(rest).collect()
}

/// The row whose first cell is `label`.
fn find<'r>(report: &'r Report, label: &str) -> &'r Vec<String> {
    report
        .rows
        .iter()
        .find(|r| r[0] == label)
        .unwrap_or_else(|| panic!("no row «{label}» in {:#?}", report.rows))
}

/// `percentile_cont` as PostgreSQL defines it: linear between the two nearest ranks.
fn percentile(mut v: Vec<f64>, p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = p * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

fn minutes(d: Duration) -> f64 {
    d.num_microseconds().unwrap_or(0) as f64 / 60e6
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn counts_by_type_status_kind_organization_executor_and_operator(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let (sup, _) = person(&f.city, StaffRole::Supervisor, None).await?;
    let now = Utc::now();
    let period: Vec<&Appeal> = f.in_period().collect();
    assert_eq!(period.len(), 14, "the appeal of 40 days ago is out of the period");

    let r = sup.report(&f.request(ReportKind::ByType)).await?;
    assert_eq!(r.title, "Обращения по типам");
    assert_eq!(r.columns[0], "Тип");
    for t in AppealType::ALL {
        let expected = counts(period.iter().copied().filter(|a| a.appeal_type == *t), now);
        assert_eq!(find(&r, t.label()), &row(t.label(), expected), "{t}");
    }
    assert_eq!(find(&r, "Итого"), &row("Итого", counts(period.iter().copied(), now)));
    let chart = r.chart.as_ref().expect("a chart");
    let labels: Vec<&str> = AppealType::ALL.iter().map(|t| t.label()).collect();
    assert_eq!(
        chart.labels, labels,
        "in the order of the workflow, not of the alphabet"
    );
    let bars: BTreeMap<&str, f64> = chart
        .labels
        .iter()
        .map(String::as_str)
        .zip(chart.values.iter().copied())
        .collect();
    assert_eq!(
        bars,
        BTreeMap::from([("авария", 13.0), ("жалоба", 0.0), ("справка", 1.0), ("заявка", 0.0)])
    );

    let r = sup.report(&f.request(ReportKind::ByStatus)).await?;
    let order: Vec<&str> = r.rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        order,
        [
            "новый",
            "назначено",
            "в работе",
            "отработано",
            "закрыто",
            "отменено",
            "Итого"
        ]
    );
    for s in AppealStatus::ALL {
        let n = period.iter().filter(|a| a.status == *s).count() as i64;
        assert_eq!(
            find(&r, s.label()),
            &row(s.label(), vec![n.to_string(), percent(n, 14)]),
            "{s}"
        );
    }

    let r = sup.report(&f.request(ReportKind::ByKind)).await?;
    let mut kinds: BTreeMap<&str, Vec<&Appeal>> = BTreeMap::new();
    for a in &period {
        kinds.entry(a.kind_name.as_str()).or_default().push(a);
    }
    assert_eq!(r.rows.len(), kinds.len() + 1, "one row per kind and the total");
    for (name, list) in &kinds {
        let mut expected = vec![list[0].appeal_type.label().to_owned()];
        expected.extend(counts(list.iter().copied(), now));
        assert_eq!(find(&r, name), &row(name, expected));
    }
    // Most appeals first: 5 of no hot water, then 4 blockages.
    assert_eq!(r.rows[0][0], "Нет горячей воды");
    assert_eq!(r.rows[1][0], "Засор внутридомовой канализации");

    let r = sup.report(&f.request(ReportKind::ByOrganization)).await?;
    let of = |org: Option<Uuid>| period.iter().copied().filter(move |a| a.organization_id == org);
    assert_eq!(
        find(&r, "УК «Северная»"),
        &row("УК «Северная»", counts(of(Some(f.city.org_a)), now))
    );
    assert_eq!(
        find(&r, "УК «Южная»"),
        &row("УК «Южная»", counts(of(Some(f.city.org_b)), now))
    );
    assert_eq!(
        find(&r, "Без организации (нет адреса)"),
        &row("Без организации (нет адреса)", counts(of(None), now))
    );

    let r = sup.report(&f.request(ReportKind::ByExecutor)).await?;
    for (name, org) in [
        ("Петров Пётр Петрович", "УК «Северная»"),
        ("Сидоров Сидор", "УК «Южная»"),
        ("Канализаторов Олег", "УК «Северная»"),
    ] {
        let mine = period
            .iter()
            .copied()
            .filter(|a| a.executors.iter().any(|e| e.full_name == name));
        let mut expected = vec![org.to_owned()];
        expected.extend(counts(mine, now));
        assert_eq!(find(&r, name), &row(name, expected));
    }
    assert!(
        r.rows.iter().all(|r| r[0] != "Итого"),
        "no total: an appeal with two executors would count twice"
    );

    let r = sup.report(&f.request(ReportKind::ByOperator)).await?;
    for i in 0..2 {
        let mine = period.iter().copied().filter(|a| f.operator_of(a) == i);
        let mut expected = vec![f.login(i).to_owned()];
        expected.extend(counts(mine, now));
        assert_eq!(find(&r, "Тестовый диспетчер").len(), 7);
        assert!(r.rows.contains(&row("Тестовый диспетчер", expected)), "{:#?}", r.rows);
    }
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn overdue_appeals_are_listed_oldest_first_with_how_late(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let (sup, _) = person(&f.city, StaffRole::Supervisor, None).await?;
    let now = Utc::now();
    let r = sup.report(&f.request(ReportKind::Overdue)).await?;
    let mut expected: Vec<&Appeal> = f.in_period().filter(|a| overdue(a, now)).collect();
    expected.sort_by_key(|a| a.received_at);
    let numbers: Vec<&str> = r.rows.iter().map(|r| r[0].as_str()).collect();
    let wanted: Vec<&str> = expected.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(numbers, wanted);
    assert_eq!(wanted.len(), 5, "two of no hot water, two blockages, one closed late");
    for (row, a) in r.rows.iter().zip(&expected) {
        let deadline = a.deadline_at.expect("a deadline");
        assert_eq!(row[1], local(a.received_at));
        assert_eq!(row[2], a.address);
        assert_eq!(row[3], a.kind_name);
        assert_eq!(row[5], local(deadline));
        match a.done_at {
            // Done late: exactly how late, from the appeal's own clocks.
            Some(done) => assert_eq!(row[6], duration(minutes(done - deadline))),
            None => assert!(row[6].ends_with(", не отработано"), "{}", row[6]),
        }
        assert_eq!(row[4], a.executors.first().map_or("", |e| e.full_name.as_str()));
    }
    let chart = r.chart.expect("a chart of overdue appeals by kind");
    assert_eq!(chart.values.iter().sum::<f64>(), 5.0);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn timings_are_medians_and_90th_percentiles_of_the_appeals_own_clocks(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let (sup, _) = person(&f.city, StaffRole::Supervisor, None).await?;
    let r = sup.report(&f.request(ReportKind::Timings)).await?;
    let cells = |list: Vec<&Appeal>| {
        let to_work: Vec<f64> = list
            .iter()
            .filter_map(|a| Some(minutes(a.in_work_at? - a.received_at)))
            .collect();
        let to_done: Vec<f64> = list
            .iter()
            .filter_map(|a| Some(minutes(a.done_at? - a.received_at)))
            .collect();
        let show = |m: Option<f64>| m.map_or_else(|| "—".to_owned(), duration);
        vec![
            to_work.len().to_string(),
            show(percentile(to_work.clone(), 0.5)),
            show(percentile(to_work, 0.9)),
            to_done.len().to_string(),
            show(percentile(to_done.clone(), 0.5)),
            show(percentile(to_done, 0.9)),
        ]
    };
    assert_eq!(r.rows[0], row("Все типы", cells(f.in_period().collect())));
    let accidents: Vec<&Appeal> = f
        .in_period()
        .filter(|a| a.appeal_type == AppealType::Accident)
        .collect();
    assert_eq!(find(&r, "авария"), &row("авария", cells(accidents)));
    let inquiries: Vec<&Appeal> = f.in_period().filter(|a| a.appeal_type == AppealType::Inquiry).collect();
    assert_eq!(
        find(&r, "справка")[1],
        "0",
        "an inquiry is answered, never taken into work"
    );
    assert_eq!(find(&r, "справка"), &row("справка", cells(inquiries)));
    // Sanity of the fixture itself: the accidents' median to «в работе» is over an hour.
    assert!(find(&r, "авария")[2].contains(" ч "), "{:?}", find(&r, "авария"));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn compliance_counts_the_three_clocks_and_lists_every_breach(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let (sup, _) = person(&f.city, StaffRole::Supervisor, None).await?;
    let r = sup.report(&f.request(ReportKind::Compliance)).await?;
    let now = Utc::now();

    // Answering within 5 minutes, counted from the calls made here.
    let calls: Vec<_> = f.incoming.iter().filter(|c| c.1 >= f.from).collect();
    let answered_in_time = calls
        .iter()
        .filter(|c| c.2.is_some_and(|a| a - c.1 <= Duration::minutes(5)))
        .count() as i64;
    // Localisation: accidents with a localisation clock, taken into work (or still not and
    // already late); cancelled ones do not count.
    let localizing: Vec<&Appeal> = f
        .in_period()
        .filter(|a| a.appeal_type == AppealType::Accident && a.status != AppealStatus::Cancelled)
        .filter(|a| {
            a.localize_deadline_at
                .is_some_and(|d| a.in_work_at.is_some() || d < now)
        })
        .collect();
    let localized: Vec<&Appeal> = localizing
        .iter()
        .copied()
        .filter(|a| a.in_work_at.zip(a.localize_deadline_at).is_some_and(|(w, d)| w <= d))
        .collect();
    // Blockages: done within 2 hours of reception, or not done and already past 2 hours.
    let blockages: Vec<&Appeal> = f
        .in_period()
        .filter(|a| a.kind_id == f.blockage && a.status != AppealStatus::Cancelled)
        .filter(|a| a.done_at.is_some() || now - a.received_at > Duration::hours(2))
        .collect();
    let cleared = blockages
        .iter()
        .filter(|a| a.done_at.is_some_and(|d| d - a.received_at <= Duration::hours(2)))
        .count() as i64;

    let expected = [
        (answered_in_time, calls.len() as i64),
        (localized.len() as i64, localizing.len() as i64),
        (cleared, blockages.len() as i64),
    ];
    assert_eq!(expected, [(3, 5), (2, 7), (1, 3)], "the fixture is what it meant to be");
    for (clock, (met, total)) in CLOCKS.iter().zip(expected) {
        let summary = r
            .rows
            .iter()
            .find(|row| row[0] == *clock && row[1] == "Итого")
            .unwrap_or_else(|| panic!("no summary of {clock}: {:#?}", r.rows));
        assert_eq!(
            summary[5],
            format!("выполнено {met} из {total} ({} %)", percent(met, total))
        );
        let breaches = r
            .rows
            .iter()
            .filter(|row| row[0] == *clock && row[1] != "Итого")
            .count() as i64;
        assert_eq!(breaches, total - met, "{clock}");
    }
    // The breaches name the appeals, in order of reception.
    let mut late: Vec<&Appeal> = localizing
        .iter()
        .copied()
        .filter(|a| !localized.iter().any(|l| l.id == a.id))
        .collect();
    late.sort_by_key(|a| a.received_at);
    let listed: Vec<&str> = r
        .rows
        .iter()
        .filter(|row| row[0] == CLOCKS[1] && row[1] != "Итого")
        .map(|row| row[1].as_str())
        .collect();
    assert_eq!(listed, late.iter().map(|a| a.number.as_str()).collect::<Vec<_>>());
    // A missed call says so; a late one says by how much.
    let results: Vec<&str> = r
        .rows
        .iter()
        .filter(|row| row[0] == CLOCKS[0] && row[1] != "Итого")
        .map(|row| row[5].as_str())
        .collect();
    assert_eq!(results, ["опоздание 2 мин", "звонок не принят"]);
    let chart = r.chart.expect("shares as a chart");
    assert_eq!(chart.values, [60.0, 28.6, 33.3]);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn calls_per_operator_count_answered_missed_and_outgoing(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let (sup, _) = person(&f.city, StaffRole::Supervisor, None).await?;
    let r = sup.report(&f.request(ReportKind::Calls)).await?;
    let mut total = [0i64; 5];
    for i in 0..2 {
        let mine: Vec<_> = f.incoming.iter().filter(|c| c.0 == i && c.1 >= f.from).collect();
        let n = [
            mine.len() as i64,
            mine.iter().filter(|c| c.2.is_some()).count() as i64,
            mine.iter().filter(|c| c.2.is_none()).count() as i64,
            mine.iter()
                .filter(|c| c.2.is_some_and(|a| a - c.1 <= Duration::minutes(5)))
                .count() as i64,
            f.outgoing[i],
        ];
        total.iter_mut().zip(n).for_each(|(t, v)| *t += v);
        let line = r
            .rows
            .iter()
            .find(|row| row[1] == f.login(i))
            .unwrap_or_else(|| panic!("no row of {}: {:#?}", f.login(i), r.rows));
        let mut expected = vec!["Тестовый диспетчер".to_owned(), f.login(i).to_owned()];
        expected.extend(n.iter().map(i64::to_string));
        assert_eq!(line, &expected);
    }
    assert_eq!(total[..3], [5, 4, 1]);
    let mut expected = vec!["Итого".to_owned(), String::new()];
    expected.extend(total.iter().map(i64::to_string));
    assert_eq!(r.rows.last(), Some(&expected));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn an_organization_and_a_manager_see_only_their_appeals(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let (sup, _) = person(&f.city, StaffRole::Supervisor, None).await?;
    let now = Utc::now();
    let south: Vec<&Appeal> = f
        .in_period()
        .filter(|a| a.organization_id == Some(f.city.org_b))
        .collect();
    assert_eq!(south.len(), 1);
    let mut req = f.request(ReportKind::ByKind);
    req.organization_id = Some(f.city.org_b);
    let chosen = sup.report(&req).await?;
    assert_eq!(chosen.organization.as_deref(), Some("УК «Южная»"));
    let mut expected = vec!["авария".to_owned()];
    expected.extend(counts(south.iter().copied(), now));
    assert_eq!(
        chosen.rows,
        [
            row(&south[0].kind_name, expected.clone()),
            row(
                "Итого",
                std::iter::once(String::new()).chain(expected[1..].to_vec()).collect()
            )
        ]
    );
    // A manager of the southern company asks for everything and gets their own only.
    let (manager, _) = person(&f.city, StaffRole::Manager, Some(f.city.org_b)).await?;
    let mine = manager.report(&f.request(ReportKind::ByKind)).await?;
    assert_eq!(mine.rows, chosen.rows);
    assert_eq!(mine.organization.as_deref(), Some("УК «Южная»"));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_backwards_period_is_refused_in_words(pool: PgPool) -> TestResult {
    let f = fixture(pool).await?;
    let mut req = f.request(ReportKind::ByType);
    std::mem::swap(&mut req.from, &mut req.to);
    match f.city.owner.report(&req).await {
        Err(e @ Error::Invalid { field: "to", .. }) => assert!(e.to_string().contains("позже")),
        other => panic!("expected a refusal, got {other:?}"),
    }
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn dropping_a_report_stops_its_statement_on_the_server(pool: PgPool) -> TestResult {
    let sql = "select pg_sleep(60) as abandoned_report";
    let running = dialog_core::reports::run_cancellable(&pool, sql);
    let waited = tokio::time::timeout(StdDuration::from_millis(500), running).await;
    assert!(waited.is_err(), "the statement sleeps for a minute");
    // Without the cancel, the server would sleep on for a minute.
    let mut still = -1i64;
    for _ in 0..50 {
        still = sqlx::query_scalar("select count(*) from pg_stat_activity where query = $1 and state = 'active'")
            .bind(sql)
            .fetch_one(&pool)
            .await?;
        if still == 0 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(still, 0, "the abandoned statement still runs on the server");
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn an_appeal_is_found_by_its_number(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let made = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let found = op.appeal_by_number(&format!(" {} ", made.number)).await?;
    assert_eq!(found.id, made.id);
    match op.appeal_by_number("1999-000001").await {
        Err(e @ Error::NotFound(_)) => assert!(e.to_string().contains("не найдено"), "{e}"),
        other => panic!("expected not found, got {other:?}"),
    }
    Ok(())
}
