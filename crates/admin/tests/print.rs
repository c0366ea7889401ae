//! `dialog-admin print-card` and `dialog-admin report` against the real database, read back
//! with poppler (`pdftotext -layout`, `pdfinfo`) and as CSV.

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use chrono::{Duration, Local, Utc};
use clap::Parser;
use dialog_admin::{execute, Cli};
use dialog_core::appeals::{Appeal, NewAppeals, Reason};
use dialog_core::directory::{upsert, AppealKind, Building, Executor, Service};
use dialog_core::model::{AppealStatus, AppealType, Channel, Priority};
use dialog_core::Store;
use sqlx::PgPool;
use uuid::Uuid;

type TestResult = anyhow::Result<()>;

struct Town {
    store: Store,
    lenina: Uuid,
    mira: Uuid,
    hot: Uuid,
    leak: Uuid,
    plumber: Uuid,
}

fn kind(name: &str, localize: Option<i32>, resolve: i32) -> AppealKind {
    AppealKind {
        id: Uuid::now_v7(),
        name: name.into(),
        appeal_type: AppealType::Accident,
        default_priority: Priority::Critical,
        localize_minutes: localize,
        resolve_minutes: Some(resolve),
        deadline_note: String::new(),
        keywords: vec![],
        source: String::new(),
        active: true,
        needs_address: false,
    }
}

fn building(org: Uuid, street: &str, house: &str) -> Building {
    Building {
        id: Uuid::now_v7(),
        organization_id: org,
        city: "Самара".into(),
        street: street.into(),
        house: house.into(),
        block: String::new(),
        address: String::new(),
    }
}

async fn town(pool: PgPool) -> anyhow::Result<Town> {
    let mut c = pool.acquire().await?;
    let north = upsert::organization(&mut c, "УК «Северная»", None).await?;
    let south = upsert::organization(&mut c, "УК «Южная»", None).await?;
    let lenina = upsert::building(&mut c, &building(north, "ул. Ленина", "10")).await?;
    let mira = upsert::building(&mut c, &building(south, "пр. Мира", "5")).await?;
    let hot = upsert::kind(&mut c, &kind("Нет горячей воды", Some(30), 240)).await?;
    let leak = upsert::kind(&mut c, &kind("Прорыв трубы холодного водоснабжения", Some(30), 4320)).await?;
    let plumber = upsert::executor(
        &mut c,
        &Executor {
            id: Uuid::now_v7(),
            full_name: "Ёжиков Пётр Семёнович".into(),
            position: "сантехник".into(),
            phones: vec!["+79221112233".into()],
            organization_id: north,
            active: true,
        },
        &Service {
            kind_ids: vec![hot, leak],
            building_ids: vec![lenina],
        },
    )
    .await?;
    drop(c);
    Ok(Town {
        store: Store::from_pool(pool).await?,
        lenina,
        mira,
        hot,
        leak,
        plumber,
    })
}

async fn appeal(t: &Town, building: Uuid, kind: Uuid, minutes_ago: i64, comment: &str) -> anyhow::Result<Appeal> {
    let executors = if building == t.lenina { vec![t.plumber] } else { vec![] };
    Ok(t.store
        .create_appeals(&NewAppeals {
            received_at: Some(Utc::now() - Duration::minutes(minutes_ago)),
            channel: Channel::Phone,
            identifier: "8 912 345-67-89".into(),
            applicant_name: "Сёмина Алёна Петровна".into(),
            contacts: String::new(),
            status: None,
            reasons: vec![Reason {
                id: Uuid::now_v7(),
                building_id: Some(building),
                kind_id: Some(kind),
                apartment: "15".into(),
                comment: comment.into(),
                executor_ids: executors,
                ..Default::default()
            }],
        })
        .await?
        .remove(0))
}

fn target() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

fn out(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-print");
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir.join(format!("{}-{name}", std::process::id()))
}

fn run(program: &str, args: &[&str]) -> String {
    let o = Process::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (apt-get install poppler-utils): {e}"));
    assert!(
        o.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("UTF-8")
}

fn text(pdf: &Path) -> String {
    run("pdftotext", &["-layout", "-enc", "UTF-8", path(pdf), "-"])
}

fn pages(pdf: &Path) -> usize {
    run("pdfinfo", &[path(pdf)])
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Where each needle first occurs, after the previous one.
fn in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        match haystack[from..].find(n) {
            Some(i) => from += i + n.len(),
            None => panic!("«{n}» is not there (or not in order):\n{haystack}"),
        }
    }
}

fn sample(pdf: &Path, page: u32, name: &str) -> PathBuf {
    let dir = target().join("print-samples");
    std::fs::create_dir_all(&dir).expect("the samples dir");
    let prefix = dir.join(name);
    let page = page.to_string();
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            path(pdf),
            path(&prefix),
        ],
    );
    prefix.with_extension("png")
}

async fn admin(store: &Store, args: &[&str]) -> anyhow::Result<()> {
    let cli = Cli::try_parse_from(std::iter::once("dialog-admin").chain(args.iter().copied()))?;
    execute(store, cli.command).await
}

fn today() -> String {
    Local::now().format("%Y-%m-%d").to_string()
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn print_card_writes_the_appeal_as_a_one_page_pdf(pool: PgPool) -> TestResult {
    let t = town(pool).await?;
    let a = appeal(
        &t,
        t.lenina,
        t.hot,
        15,
        "Нет горячей воды во всём стояке, жильцы ждут с утра",
    )
    .await?;
    let file = out("card.pdf");
    admin(&t.store, &["print-card", &a.number, "--out", path(&file)]).await?;
    assert_eq!(pages(&file), 1);
    let text = text(&file);
    in_order(
        &text,
        &[
            &format!("Обращение № {}", a.number),
            "УК «Северная»",
            "Сёмина Алёна Петровна",
            "+7 912 345-67-89",
            "Самара, ул. Ленина, д. 10, кв. 15",
            "Нет горячей воды",
            "назначено",
            "Ёжиков Пётр Семёнович, +7 922 111-22-33",
            "во всём стояке",
            "назначен исполнитель Ёжиков Пётр Семёнович",
            "стр. 1 из 1",
        ],
    );
    let png = sample(&file, 1, "cli-card");
    assert!(std::fs::metadata(&png)?.len() > 1000);

    let e = admin(
        &t.store,
        &["print-card", "1999-000001", "--out", path(&out("none.pdf"))],
    )
    .await
    .expect_err("no such appeal");
    assert!(e.to_string().contains("не найдено"), "{e}");
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_report_pdf_shows_the_counts_of_the_day_with_a_chart(pool: PgPool) -> TestResult {
    let t = town(pool).await?;
    // 3 of no hot water (one overdue), 2 leaks of which one in the south.
    for (building, kind, ago) in [
        (t.lenina, t.hot, 5),
        (t.lenina, t.hot, 10),
        (t.lenina, t.leak, 20),
        (t.mira, t.leak, 25),
    ] {
        appeal(&t, building, kind, ago, "").await?;
    }
    // Overdue by 5 minutes: yesterday at the latest, so the period starts yesterday.
    appeal(&t, t.lenina, t.hot, 245, "").await?;
    let file = out("by-kind.pdf");
    let yesterday = Local::now().date_naive() - Duration::days(1);
    let (from, day) = (yesterday.format("%Y-%m-%d").to_string(), today());
    admin(
        &t.store,
        &[
            "report",
            "by_kind",
            "--from",
            &from,
            "--to",
            &day,
            "--format",
            "pdf",
            "--out",
            path(&file),
        ],
    )
    .await?;
    assert_eq!(pages(&file), 1);
    let text = text(&file);
    let shown = format!("{} — {}", yesterday.format("%d.%m.%Y"), Local::now().format("%d.%m.%Y"));
    in_order(
        &text,
        &[
            "Обращения по видам",
            &format!("Период: {shown}"),
            "Организация: все организации",
            // The chart: most first.
            "Нет горячей воды",
            "Прорыв трубы холодного водоснабжения",
            // The table.
            "Вид обращения",
            "Просрочено",
        ],
    );
    let line = |label: &str| {
        text.lines()
            .rfind(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no line of {label}:\n{text}"))
            .split_whitespace()
            .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("Нет горячей воды"), ["3", "3", "0", "0", "1"]);
    assert_eq!(line("Прорыв трубы"), ["2", "2", "0", "0", "0"]);
    assert_eq!(line("Итого"), ["5", "5", "0", "0", "1"]);
    sample(&file, 1, "cli-report-by-kind");

    // One organization, chosen by name.
    let file = out("south.csv");
    admin(
        &t.store,
        &[
            "report",
            "by-kind",
            "--from",
            &from,
            "--to",
            &day,
            "--organization",
            "УК «Южная»",
            "--format",
            "csv",
            "--out",
            path(&file),
        ],
    )
    .await?;
    let csv = std::fs::read(&file)?;
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "UTF-8 with BOM for Excel");
    let csv = String::from_utf8(csv[3..].to_vec())?;
    assert_eq!(
        csv,
        "Вид обращения;Тип;Всего;Не завершено;Отработано;Отменено;Просрочено\r\n\
         Прорыв трубы холодного водоснабжения;авария;1;1;0;0;0\r\n\
         Итого;;1;1;0;0;0\r\n"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_long_overdue_report_runs_over_pages_with_every_appeal_once(pool: PgPool) -> TestResult {
    let t = town(pool).await?;
    let mut numbers = Vec::new();
    for i in 0..90 {
        // Received 5 to 6 days ago; no hot water is due in 4 hours.
        let a = appeal(&t, t.lenina, t.hot, 5 * 1440 + i, "").await?;
        numbers.push(a.number);
    }
    // Not overdue: due in three days.
    appeal(&t, t.lenina, t.leak, 60, "").await?;
    numbers.reverse(); // oldest first, as the report lists them
    let from = (Local::now() - Duration::days(7)).format("%Y-%m-%d").to_string();
    let file = out("overdue.pdf");
    admin(
        &t.store,
        &[
            "report",
            "overdue",
            "--from",
            &from,
            "--to",
            &today(),
            "--format",
            "pdf",
            "--out",
            path(&file),
        ],
    )
    .await?;
    let n = pages(&file);
    assert!(n >= 3, "90 rows do not fit on {n} pages");
    let mut all = String::new();
    for p in 1..=n {
        let page = run(
            "pdftotext",
            &[
                "-layout",
                "-enc",
                "UTF-8",
                "-f",
                &p.to_string(),
                "-l",
                &p.to_string(),
                path(&file),
                "-",
            ],
        );
        assert!(
            page.contains("Номер") && page.contains("Опоздание"),
            "the header repeats on page {p}"
        );
        assert!(page.contains(&format!("стр. {p} из {n}")), "page {p}:\n{page}");
        all.push_str(&page);
    }
    sample(&file, 1, "cli-report-overdue");
    let refs: Vec<&str> = numbers.iter().map(String::as_str).collect();
    in_order(&all, &refs);
    for number in &numbers {
        assert_eq!(all.matches(number.as_str()).count(), 1, "{number} once");
    }
    // Cells wrap inside narrow columns, so words are counted rather than phrases.
    assert_eq!(all.matches("Ёжиков").count(), 90, "the executor on every line");
    assert_eq!(all.matches("отработано").count(), 90, "none of them done");
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_status_csv_counts_and_bad_arguments_are_explained(pool: PgPool) -> TestResult {
    let t = town(pool).await?;
    let a = appeal(&t, t.lenina, t.hot, 5, "").await?;
    appeal(&t, t.mira, t.leak, 5, "").await?;
    t.store.change_status(a.id, a.version, AppealStatus::Cancelled).await?;
    let file = out("status.csv");
    let day = today();
    admin(
        &t.store,
        &[
            "report",
            "by_status",
            "--from",
            &day,
            "--to",
            &day,
            "--format",
            "csv",
            "--out",
            path(&file),
        ],
    )
    .await?;
    let csv = String::from_utf8(std::fs::read(&file)?[3..].to_vec())?;
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(';').collect()).collect();
    assert_eq!(rows[0], ["Статус", "Обращений", "Доля, %"]);
    let status = |s: &str| rows.iter().find(|r| r[0] == s).map(|r| r[1]).unwrap_or("нет строки");
    // «назначено»: the appeal at Ленина got its plumber; the one at Мира has nobody.
    assert_eq!(status("назначено"), "0");
    assert_eq!(status("отменено"), "1");
    assert_eq!(status("новый"), "1");
    assert_eq!(status("Итого"), "2");

    let e = admin(
        &t.store,
        &[
            "report",
            "по-видам",
            "--from",
            &day,
            "--to",
            &day,
            "--format",
            "csv",
            "--out",
            "x",
        ],
    )
    .await
    .expect_err("no such report");
    assert!(e.to_string().contains("by_kind"), "{e}");
    let e = admin(
        &t.store,
        &[
            "report",
            "by_kind",
            "--from",
            &day,
            "--to",
            "2000-01-01",
            "--format",
            "pdf",
            "--out",
            "x",
        ],
    )
    .await
    .expect_err("backwards");
    assert!(e.to_string().contains("раньше"), "{e}");
    let e = admin(
        &t.store,
        &[
            "report",
            "by_kind",
            "--from",
            &day,
            "--to",
            &day,
            "--organization",
            "УК Западная",
            "--format",
            "pdf",
            "--out",
            "x",
        ],
    )
    .await
    .expect_err("unknown organization");
    assert!(e.to_string().contains("УК Западная"), "{e}");
    Ok(())
}
