//! A realistic demo city: management companies, buildings on Russian streets, the legal
//! kinds of appeals, executors of every trade, staff of every role, and a history of
//! appeals (up to millions) whose statuses, executors, calls and history follow the rules.
//!
//! The life of each appeal is planned here with a seeded random generator and copied into a
//! staging table; then it is lived step by step through what the app and the PBX bridge run
//! (the statements of their functions, whose rules are the tables' own), as the person who did
//! each step and at its time, with every trigger on: the database writes the numbers,
//! the times and the history, and refuses any step the rules forbid.

use std::collections::HashMap;
use std::fmt::Write as _;

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use dialog_core::model::{AppealStatus, AppealType, Channel, Priority, StaffRole};
use dialog_core::people::{create_person, NewPerson};
use dialog_core::scram::scram_verifier;
use dialog_core::Store;
use dialog_phone::media::{wav_bytes, WavEncoding};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sqlx::{PgConnection, Postgres, Transaction};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::import::{import_text, Directory, DEFAULT_KINDS};

/// Options of `dialog-admin demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// How many appeals of history to make (up to 1,000,000 and more).
    #[arg(long, default_value_t = 20_000)]
    pub appeals: u32,
    /// Days of history; by default about 1,400 appeals a day, at least 30 days.
    #[arg(long)]
    pub days: Option<u32>,
    /// Seed of the random generator: the same seed gives the same city.
    #[arg(long, default_value_t = 416)]
    pub seed: u64,
    /// Password of the demo people.
    #[arg(long, default_value = "dialog-demo")]
    pub password: String,
    /// Don't show the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

const CITY: &str = "Самара";
const ORGANIZATIONS: &[&str] = &[
    "УК «Северная»",
    "УК «Жилсервис»",
    "ТСЖ «Волжский берег»",
    "УК «Домоуправление № 3»",
    "УК «Комфорт»",
    "УК «Приволжская»",
];
const STREETS: &[&str] = &[
    "ул. Ленина",
    "ул. Мира",
    "ул. Гагарина",
    "ул. Советская",
    "ул. Молодёжная",
    "ул. Школьная",
    "ул. Садовая",
    "ул. Лесная",
    "ул. Набережная",
    "ул. Победы",
    "ул. Кирова",
    "ул. Пушкина",
    "ул. Чапаева",
    "ул. Куйбышева",
    "ул. Фрунзе",
    "ул. Горького",
    "ул. Островского",
    "ул. Ново-Садовая",
    "ул. Революционная",
    "ул. Полевая",
    "ул. Самарская",
    "ул. Ульяновская",
    "ул. Галактионовская",
    "ул. Степана Разина",
    "ул. Владимирская",
    "ул. Дачная",
    "ул. Солнечная",
    "ул. Больничная",
    "ул. Енисейская",
    "ул. Партизанская",
    "ул. Заводская",
    "ул. Железнодорожная",
    "ул. Московская",
    "ул. Ташкентская",
    "ул. Стара-Загора",
    "ул. Георгия Димитрова",
    "ул. Демократическая",
    "ул. Аэродромная",
    "ул. Авроры",
    "ул. Мичурина",
    "ул. Циолковского",
    "ул. Карла Маркса",
    "пр. Ленина",
    "пр. Кирова",
    "пр. Металлургов",
    "Московское ш.",
    "Волжский пр.",
    "Заводское ш.",
    "пер. Студенческий",
    "пер. Тургенева",
    "б-р Засамарская слобода",
    "ул. Лунная",
    "ул. Ёлочная",
];
const SURNAMES: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
];
const MALE_NAMES: &[(&str, &str)] = &[
    ("Александр", "Александрович"),
    ("Сергей", "Сергеевич"),
    ("Дмитрий", "Дмитриевич"),
    ("Андрей", "Андреевич"),
    ("Алексей", "Алексеевич"),
    ("Михаил", "Михайлович"),
    ("Иван", "Иванович"),
    ("Николай", "Николаевич"),
    ("Владимир", "Владимирович"),
    ("Пётр", "Петрович"),
    ("Юрий", "Юрьевич"),
    ("Виктор", "Викторович"),
];
const FEMALE_NAMES: &[(&str, &str)] = &[
    ("Елена", "Александровна"),
    ("Ольга", "Сергеевна"),
    ("Наталья", "Дмитриевна"),
    ("Татьяна", "Андреевна"),
    ("Ирина", "Алексеевна"),
    ("Светлана", "Михайловна"),
    ("Мария", "Ивановна"),
    ("Галина", "Николаевна"),
    ("Людмила", "Владимировна"),
    ("Анна", "Петровна"),
    ("Валентина", "Юрьевна"),
    ("Нина", "Викторовна"),
];
const DETAILS: &[&str] = &[
    "Просит прийти сегодня, дома пожилой человек",
    "Звонит повторно, ранее обращались",
    "Доступ в квартиру после 18:00",
    "Соседи сверху не открывают",
    "Проблема во всём подъезде",
    "Заявитель ждёт звонка исполнителя",
    "Есть маленькие дети",
    "Ключи от подвала у старшей по дому",
    "Просит сообщить о сроках",
    "",
    "",
    "",
];
const LATIN: &[&str] = &[
    "ivanov",
    "smirnova",
    "kuznetsov",
    "popova",
    "vasiliev",
    "petrova",
    "sokolov",
    "orlova",
    "egorov",
    "pavlova",
];

/// Trades of executors and the words of the kinds they serve; the first trade whose word a
/// kind's name contains serves it ("мусоропровод" is the yard keeper's, not the plumber's).
const TRADES: &[(&str, &[&str])] = &[
    ("лифтёр", &["лифт"]),
    ("аварийная газовая служба", &["газ"]),
    ("дворник", &["мусор", "уборк", "снег"]),
    ("кровельщик", &["кровл", "водосток", "сосульк", "штукатур"]),
    ("плотник", &["стекл", "двер", "домофон"]),
    (
        "электрик",
        &["электр", "замыкан", "автомат", "распределит", "освещен", "плит"],
    ),
    (
        "сантехник",
        &[
            "вод",
            "труб",
            "канализ",
            "кран",
            "отоплен",
            "напор",
            "затоплен",
            "подвал",
            "перекрыт",
            "прибор",
            "смесител",
        ],
    ),
    (
        "специалист УК",
        &["начислен", "тариф", "график", "жалоба", "поверк", "платн"],
    ),
];

/// The demo's people: (login, role, full name).
pub const PEOPLE: &[(&str, StaffRole, &str)] = &[
    ("admin", StaffRole::Admin, "Администратор Системы"),
    ("starshiy", StaffRole::Supervisor, "Орлова Галина Петровна"),
    ("operator1", StaffRole::Operator, "Смирнова Елена Викторовна"),
    ("operator2", StaffRole::Operator, "Кузнецов Андрей Сергеевич"),
    ("operator3", StaffRole::Operator, "Волкова Ирина Николаевна"),
    ("manager", StaffRole::Manager, "Лебедев Виктор Юрьевич"),
];

struct Kind {
    id: Uuid,
    name: String,
    appeal_type: AppealType,
    priority: Priority,
    resolve_minutes: Option<i32>,
    weight: f64,
}

struct BuildingRef {
    id: Uuid,
    organization: usize,
    flats: u32,
}

struct City {
    organizations: Vec<Uuid>,
    buildings: Vec<BuildingRef>,
    kinds: Vec<Kind>,
    /// (organization index, kind index) → executors serving it.
    executors: HashMap<(usize, usize), Vec<Uuid>>,
}

fn person_name(rng: &mut SmallRng) -> String {
    let s = SURNAMES[rng.gen_range(0..SURNAMES.len())];
    if rng.gen_bool(0.6) {
        let (n, p) = FEMALE_NAMES[rng.gen_range(0..FEMALE_NAMES.len())];
        let s = if let Some(stem) = s.strip_suffix("ий") {
            format!("{stem}ая")
        } else {
            format!("{s}а")
        };
        format!("{s} {n} {p}")
    } else {
        let (n, p) = MALE_NAMES[rng.gen_range(0..MALE_NAMES.len())];
        format!("{s} {n} {p}")
    }
}

fn pick<'a, T>(rng: &mut SmallRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

/// Loads the demo into an empty database.
pub async fn run(store: &Store, args: &DemoArgs) -> anyhow::Result<()> {
    let existing = sqlx::query_scalar!(r#"select count(*) as "count!" from appeals"#)
        .fetch_one(store.pool())
        .await?;
    if existing > 0 {
        bail!("в базе уже есть обращения ({existing}); демонстрационные данные загружаются только в пустую базу");
    }
    let mut rng = SmallRng::seed_from_u64(args.seed);
    // The city in one transaction; the appeals in transactions of CHUNK each (see appeals()).
    let mut tx = store.pool().begin().await?;
    let city = directories(&mut tx, &mut rng, args.appeals)
        .await
        .context("справочники")?;
    people(&mut tx, &args.password, city.organizations[0]).await?;
    pbx_bridge(&mut tx).await.context("мост АТС")?;
    // The desk draws from a stream of its own, so that a seed gives the same appeals whatever
    // the desk holds.
    desk(&mut tx, &mut SmallRng::seed_from_u64(args.seed ^ DESK_SEED), &city)
        .await
        .context("база знаний, цены, расписание")?;
    tx.commit().await?;
    let mut conn = store.pool().acquire().await?;
    let set_aside = set_aside_read_indexes(&mut conn).await?;
    let loaded = appeals(store, &mut rng, &city, args).await;
    let rebuilt = rebuild_read_indexes(store, &mut conn, &set_aside).await;
    loaded.context(
        "обращения: демонстрационные данные загружены не полностью — создайте базу заново и загрузите их в неё",
    )?;
    rebuilt?;
    // The demo's bridge has done its part: nobody logs in as it.
    sqlx::query!("select dialog_set_service_active($1, false)", PBX_LOGIN)
        .execute(&mut *conn)
        .await?;
    // The other tables' statistics were gathered while the trigram index was built. The
    // appeals' are gathered now, once every appeal has lived its life: the live appeals, which
    // the desk's filters look for, are a few thousand of the newest, and the planner would not
    // know them from a sample taken while the last of them were still being lived.
    sqlx::query!("analyze appeals").execute(&mut *conn).await?;
    drop(conn);
    println!(
        "Демонстрационный город загружен: {} домов, {} видов обращений, {} обращений.",
        city.buildings.len(),
        city.kinds.len(),
        args.appeals
    );
    println!("Вход (пароль у всех «{}»):", args.password);
    for (login, role, name) in PEOPLE {
        println!("  {login:<10} {:<18} {name}", role.title());
    }
    Ok(())
}

/// The indexes the registry, the desk and quick search find appeals by, and those the card and
/// the reports read the history and the calls by. Each appeal is written once for every step
/// of its life (and a line of history each time), and keeping these up to date at every step
/// was the larger part of the load's time; they are set aside for the load and built again,
/// from their own definitions, once it is done. The rules stay on: the keys, the checks, the
/// triggers, and the indexes the rules read while the appeals live (`joined_to`, a call's SIP
/// id, an operator's calls of the day, the PBX's calls to a number, the stream's times).
async fn set_aside_read_indexes(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let indexes = sqlx::query!(
        r#"select i.indexrelid::regclass::text as "name!", pg_get_indexdef(i.indexrelid) as "definition!"
           from pg_index i
           where (i.indrelid = 'appeals'::regclass and not i.indisunique
                  and not exists (select 1 from pg_attribute a
                                  where a.attrelid = i.indrelid and a.attname = 'joined_to' and a.attnum = any(i.indkey)))
              or i.indexrelid = any(array['appeal_history_appeal_idx', 'calls_appeal_idx', 'calls_executor_idx',
                                          'calls_started_idx', 'pbx_calls_started_idx']::regclass[])
           order by 1"#
    )
    .fetch_all(&mut *conn)
    .await?;
    for index in &indexes {
        sqlx::raw_sql(&format!("drop index {}", index.name))
            .execute(&mut *conn)
            .await?;
    }
    Ok(indexes.into_iter().map(|i| i.definition).collect())
}

/// Builds the indexes set aside again, two at a time: the quick search's trigram index takes
/// most of the time on one core; the others are built on the other meanwhile, which then
/// gathers the planner's statistics of every table but the appeals (whose index is still
/// being built, which analysis would wait for).
async fn rebuild_read_indexes(store: &Store, conn: &mut PgConnection, definitions: &[String]) -> anyhow::Result<()> {
    let (gin, btree): (Vec<&String>, Vec<&String>) = definitions.iter().partition(|d| d.contains(" USING gin "));
    let mut other = store.pool().acquire().await?;
    let others = async {
        build(&mut other, &btree).await?;
        let tables = sqlx::query_scalar!(
            r#"select format('%I.%I', schemaname, relname) as "table!" from pg_stat_user_tables
               where relid <> 'appeals'::regclass order by 1"#
        )
        .fetch_all(&mut *other)
        .await?;
        analyze(&mut other, &tables).await
    };
    let (a, b) = tokio::join!(build(conn, &gin), others);
    a.and(b)
}

/// Gathers the planner's statistics of the tables named.
async fn analyze(conn: &mut PgConnection, tables: &[String]) -> anyhow::Result<()> {
    for table in tables {
        sqlx::raw_sql(&format!("analyze {table}")).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn build(conn: &mut PgConnection, definitions: &[&String]) -> anyhow::Result<()> {
    sqlx::query!("set maintenance_work_mem = '256MB'")
        .execute(&mut *conn)
        .await?;
    for definition in definitions {
        sqlx::raw_sql(definition)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("индекс: {definition}"))?;
    }
    sqlx::query!("reset maintenance_work_mem").execute(&mut *conn).await?;
    Ok(())
}

async fn directories(
    tx: &mut Transaction<'static, Postgres>,
    rng: &mut SmallRng,
    appeals: u32,
) -> anyhow::Result<City> {
    let n_orgs = if appeals < 5_000 { 3 } else { ORGANIZATIONS.len() };
    let mut csv = String::from("name,phone\n");
    for (i, o) in ORGANIZATIONS[..n_orgs].iter().enumerate() {
        writeln!(csv, "\"{o}\",+7846200{:04}", 100 + i)?;
    }
    import_text(tx, Directory::Organizations, &csv).await?;
    import_text(tx, Directory::Kinds, DEFAULT_KINDS).await?;
    let organizations: Vec<Uuid> = {
        let mut v = Vec::new();
        for o in &ORGANIZATIONS[..n_orgs] {
            v.push(
                sqlx::query_scalar!("select id from organizations where name = $1", o)
                    .fetch_one(&mut **tx)
                    .await?,
            );
        }
        v
    };
    // About 500 appeals a building a year is a busy city; at least 60 buildings.
    let n_buildings = (appeals / 400).clamp(60, 4_000) as usize;
    let mut buildings = Vec::with_capacity(n_buildings);
    let mut used = std::collections::HashSet::new();
    while buildings.len() < n_buildings {
        let street = pick(rng, STREETS);
        let house = rng.gen_range(1..=(n_buildings as u32 / 8).max(60));
        let block = if rng.gen_bool(0.15) {
            rng.gen_range(1..=3).to_string()
        } else {
            String::new()
        };
        let house = if rng.gen_bool(0.1) {
            format!("{house}а")
        } else {
            house.to_string()
        };
        if !used.insert((street, house.clone(), block.clone())) {
            continue;
        }
        let org = (buildings.len() * 7 + rng.gen_range(0..3)) % organizations.len();
        let id = sqlx::query_scalar!(
            "insert into buildings (id, organization_id, city, street, house, block) values ($1, $2, $3, $4, $5, $6) returning id",
            Uuid::now_v7(),
            organizations[org],
            CITY,
            street,
            house,
            block
        )
        .fetch_one(&mut **tx)
        .await?;
        buildings.push(BuildingRef {
            id,
            organization: org,
            flats: rng.gen_range(20..=180),
        });
    }
    let kinds: Vec<Kind> = sqlx::query!(
        r#"select id, name, appeal_type as "appeal_type: AppealType", default_priority as "default_priority: Priority",
                  resolve_minutes
           from appeal_kinds order by name"#
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|k| {
        let (id, name, appeal_type, priority, resolve_minutes) =
            (k.id, k.name, k.appeal_type, k.default_priority, k.resolve_minutes);
        let popular = [
            "Нет горячей воды",
            "Засор внутридомовой канализации",
            "Не работает освещение в подъезде",
            "Неисправность лифта",
            "Течь водопроводного крана или сливного бачка",
            "Вопрос о начислениях и тарифах",
            "Уборка подъезда",
        ];
        let weight = match appeal_type {
            AppealType::Request => 3.0,
            AppealType::Accident => 1.5,
            AppealType::Complaint => 2.0,
            AppealType::Inquiry => 2.5,
        } * if popular.contains(&name.as_str()) { 4.0 } else { 1.0 };
        Kind {
            id,
            name,
            appeal_type,
            priority,
            resolve_minutes,
            weight,
        }
    })
    .collect();
    let executors = executors(tx, rng, &organizations, &buildings, &kinds).await?;
    Ok(City {
        organizations,
        buildings,
        kinds,
        executors,
    })
}

fn trade_of(kind: &str) -> usize {
    let k = kind.to_lowercase();
    TRADES
        .iter()
        .position(|(_, words)| words.iter().any(|w| k.contains(w)))
        .unwrap_or(TRADES.len() - 1)
}

async fn executors(
    tx: &mut Transaction<'static, Postgres>,
    rng: &mut SmallRng,
    organizations: &[Uuid],
    buildings: &[BuildingRef],
    kinds: &[Kind],
) -> anyhow::Result<HashMap<(usize, usize), Vec<Uuid>>> {
    let mut map: HashMap<(usize, usize), Vec<Uuid>> = HashMap::new();
    let mut phone = 79_170_000_000u64;
    for (oi, org) in organizations.iter().enumerate() {
        let org_buildings: Vec<Uuid> = buildings
            .iter()
            .filter(|b| b.organization == oi)
            .map(|b| b.id)
            .collect();
        for (ti, (trade, _)) in TRADES.iter().enumerate() {
            let count = match *trade {
                "сантехник" => 3,
                "электрик" | "дворник" => 2,
                _ => 1,
            };
            let kind_ids: Vec<(usize, Uuid)> = kinds
                .iter()
                .enumerate()
                .filter(|(_, k)| trade_of(&k.name) == ti)
                .map(|(i, k)| (i, k.id))
                .collect();
            for _ in 0..count {
                phone += 1 + rng.gen_range(0..50);
                let id = Uuid::now_v7();
                let name = if trade.starts_with("аварийная") {
                    "Аварийная газовая служба 04".to_owned()
                } else {
                    person_name(rng)
                };
                sqlx::query!(
                    "insert into executors (id, full_name, position, phones, organization_id) values ($1, $2, $3, $4, $5)",
                    id,
                    name,
                    trade,
                    &[format!("+{phone}")],
                    org
                )
                .execute(&mut **tx)
                .await?;
                let kids: Vec<Uuid> = kind_ids.iter().map(|(_, k)| *k).collect();
                sqlx::query!("insert into executor_kinds select $1, unnest($2::uuid[])", id, &kids)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query!(
                    "insert into executor_buildings select $1, unnest($2::uuid[])",
                    id,
                    &org_buildings
                )
                .execute(&mut **tx)
                .await?;
                for (ki, _) in &kind_ids {
                    map.entry((oi, *ki)).or_default().push(id);
                }
            }
        }
    }
    Ok(map)
}

async fn people(tx: &mut PgConnection, password: &str, manager_org: Uuid) -> anyhow::Result<()> {
    for (i, (login, role, name)) in PEOPLE.iter().enumerate() {
        let exists = sqlx::query_scalar!(
            r#"select exists (select 1 from pg_roles where rolname = $1) as "exists!""#,
            login
        )
        .fetch_one(&mut *tx)
        .await?;
        if exists {
            // Login roles belong to the whole server; another database of it may have made them.
            let in_staff = sqlx::query_scalar!(
                r#"select exists (select 1 from staff where login = $1) as "exists!""#,
                login
            )
            .fetch_one(&mut *tx)
            .await?;
            if !in_staff {
                sqlx::query!(
                    "insert into staff (login, full_name, role, sip_extension, organization_id) values ($1, $2, $3, $4, $5)",
                    login,
                    name,
                    *role as StaffRole,
                    (*role != StaffRole::Manager).then(|| format!("{}", 1001 + i)),
                    (*role == StaffRole::Manager).then_some(manager_org)
                )
                .execute(&mut *tx)
                .await?;
            }
            // This database lets them in too.
            sqlx::query!("select dialog_open_door($1, true)", login)
                .execute(&mut *tx)
                .await?;
            continue;
        }
        create_person(
            tx,
            &NewPerson {
                login: (*login).into(),
                password: password.into(),
                role: *role,
                full_name: (*name).into(),
                sip_extension: (*role != StaffRole::Manager).then(|| format!("{}", 1001 + i)),
                organization_id: (*role == StaffRole::Manager).then_some(manager_org),
            },
        )
        .await
        .with_context(|| format!("сотрудник {login}"))?;
    }
    Ok(())
}

/// A short but real recording: 0.2 s of the 425 Hz call tone, 8 kHz μ-law WAV.
fn demo_recording() -> Vec<u8> {
    let tone: Vec<i16> = (0..1600)
        .map(|i| ((2.0 * std::f64::consts::PI * 425.0 * f64::from(i) / 8000.0).sin() * 8000.0) as i16)
        .collect();
    wav_bytes(&tone, 8000, WavEncoding::Ulaw)
}

/// What happens to one appeal, planned in advance: each time is when someone does the next
/// step through the app's own functions (the database stamps it with that time).
struct Generated {
    status: AppealStatus,
    executor: Option<Uuid>,
    assigned_at: Option<DateTime<Utc>>,
    /// The call to the executor: dialled, and hung up.
    call_at: Option<DateTime<Utc>>,
    call_ended_at: Option<DateTime<Utc>>,
    in_work_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

/// How long after dialling the executor answers.
const RING_SECONDS: i64 = 6;

fn life(
    rng: &mut SmallRng,
    kind: &Kind,
    received: DateTime<Utc>,
    now: DateTime<Utc>,
    executors: Option<&Vec<Uuid>>,
) -> Generated {
    let age = now - received;
    let mut g = Generated {
        status: AppealStatus::New,
        executor: None,
        assigned_at: None,
        call_at: None,
        call_ended_at: None,
        in_work_at: None,
        done_at: None,
        closed_at: None,
        cancelled_at: None,
    };
    let roll: f64 = rng.gen();
    if kind.appeal_type == AppealType::Inquiry {
        // An inquiry is answered on the phone: «отработано» straight from «новый».
        if age > Duration::minutes(20) {
            g.status = if age > Duration::days(3) && roll < 0.8 {
                AppealStatus::Closed
            } else {
                AppealStatus::Done
            };
            g.done_at = Some(received + Duration::minutes(rng.gen_range(2..15)));
            if g.status == AppealStatus::Closed {
                g.closed_at = Some(received + Duration::hours(rng.gen_range(4..48)));
            }
        }
        return g;
    }
    let Some(executors) = executors else {
        // Nobody serves it: it waits.
        return g;
    };
    let target = if age > Duration::days(7) {
        if roll < 0.88 {
            AppealStatus::Closed
        } else if roll < 0.97 {
            AppealStatus::Done
        } else {
            AppealStatus::Cancelled
        }
    } else if age > Duration::days(1) {
        if roll < 0.4 {
            AppealStatus::Closed
        } else if roll < 0.75 {
            AppealStatus::Done
        } else if roll < 0.9 {
            AppealStatus::InWork
        } else if roll < 0.95 {
            AppealStatus::Assigned
        } else {
            AppealStatus::Cancelled
        }
    } else if roll < 0.25 && age > Duration::hours(3) {
        AppealStatus::Done
    } else if roll < 0.6 && age > Duration::minutes(15) {
        AppealStatus::InWork
    } else if roll < 0.8 && age > Duration::minutes(3) {
        AppealStatus::Assigned
    } else {
        AppealStatus::New
    };
    g.status = target;
    if target == AppealStatus::Cancelled {
        g.cancelled_at = Some(received + Duration::minutes(5));
        return g;
    }
    if target == AppealStatus::New {
        return g;
    }
    g.executor = Some(*pick(rng, executors));
    let assigned = received + Duration::minutes(rng.gen_range(1..4));
    g.assigned_at = Some(assigned);
    if target == AppealStatus::Assigned {
        return g;
    }
    // The operator calls the executor; the PBX sees the call answered and hung up.
    let call = assigned + Duration::seconds(rng.gen_range(30..600));
    let ended = call + Duration::seconds(RING_SECONDS + 34 + call.timestamp().rem_euclid(80));
    let in_work = ended + Duration::seconds(rng.gen_range(20..140));
    if ended >= now {
        // Still talking, or just hung up.
        g.status = AppealStatus::Assigned;
        return g;
    }
    g.call_at = Some(call);
    g.call_ended_at = Some(ended);
    if in_work >= now {
        g.status = AppealStatus::Assigned;
        return g;
    }
    g.in_work_at = Some(in_work);
    if target == AppealStatus::InWork {
        return g;
    }
    // Most work is done within the norm, some late.
    let norm = i64::from(kind.resolve_minutes.unwrap_or(1440));
    let took = if rng.gen_bool(0.85) {
        rng.gen_range(norm / 10..=norm.max(2))
    } else {
        rng.gen_range(norm..=norm * 3)
    };
    let done = (call + Duration::minutes(took.max(10)))
        .min(now - Duration::minutes(1))
        .max(in_work + Duration::minutes(1));
    g.done_at = Some(done);
    if target == AppealStatus::Closed {
        g.closed_at = Some((done + Duration::hours(rng.gen_range(1..30))).min(now));
    }
    g
}

fn ts(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "\\N".to_owned(), |t| t.to_rfc3339())
}

/// The demo's PBX bridge: a service login of the pbx duty, as dialog-server's pbx duty would
/// have (switched off after the load; a center connects its own).
const PBX_LOGIN: &str = "demo_pbx";

/// The owner's clock and actor (`dialog.clock`, `dialog.actor`: migrations/…21_demo_clock.sql)
/// set for the row about to be written: the value of a column its trigger overwrites anyway
/// (`updated_at`, `updated_by`, `registered_at`, `created_by`, `assigned_at`, `assigned_by`),
/// computed for each row just before the row's BEFORE triggers run.
macro_rules! at {
    ($time:expr, $actor:expr) => {
        concat!(
            "set_config('dialog.clock', (",
            $time,
            ")::text, true)::timestamptz, set_config('dialog.actor', ",
            $actor,
            ", true)"
        )
    };
}

/// Mixed into the seed for the desk's own stream of random numbers.
const DESK_SEED: u64 = 0x6465_736b;

/// Each of the load's two sessions: the staging tables.
const SESSION: &str = r#"
create temp table demo_stage (
    id uuid, received_at timestamptz, registered_at timestamptz, channel appeal_channel, identifier text,
    applicant_name text, building_id uuid, apartment text, entrance text, floor text, kind_id uuid,
    priority appeal_priority, comment text, created_by text, join_to uuid, executor_id uuid,
    assigned_at timestamptz, call_at timestamptz, call_ended_at timestamptz, recorded boolean,
    in_work_at timestamptz, done_at timestamptz, closed_at timestamptz, closed_by text, cancelled_at timestamptz);
create temp table demo_constants (pbx_login text, ring interval, recording bytea);
"#;

/// Appeals in one chunk, each step of their lives in a transaction of its own. Every change of
/// an appeal announces itself (dialog_announce), and the server keeps a transaction's
/// notifications until it ends: a million appeals in one would hold millions of them in memory.
const CHUNK: u64 = 10_000;

/// Moves the appeals of `demo_stage` with a planned time in column `$when` to `$status`, as
/// `$who` at that time: the statement dialog_set_status runs.
macro_rules! step {
    ($status:literal, $when:literal, $who:literal) => {
        concat!(
            "update appeals a set status = '",
            $status,
            "', (updated_at, updated_by) = (",
            at!(concat!("s.", $when), $who),
            ") from demo_stage s where a.id = s.id and s.",
            $when,
            " is not null"
        )
    };
}

/// One chunk of appeals lives its life, step after step, each step one statement over the
/// chunk: the statements the app's functions run (registration, join, executor, status; the
/// PBX's record of the call to the executor and the operator's recording of it, whose rules
/// are their tables'), as the person who did each step and at the time it happened. The
/// triggers write the history, the numbers and the times, and check every rule: an appeal
/// given its executor becomes «назначено», it moves to «в работе» only after the PBX saw its
/// executor answer, only the supervisor closes.
///
/// Each chunk is lived by one of two sessions: its registration (with the joins), then the
/// rest of its life, a transaction a step (see live_stage). The two sessions live every other
/// chunk, side by side, one on each core; they take turns to register, so that a chunk is
/// registered only once the chunk before it has been, and the numbers follow the time of
/// registration.
const REGISTER: &[(&str, &str)] = &[
    (
        "регистрация",
        concat!(
            "insert into appeals (id, received_at, channel, identifier, applicant_name, contacts, building_id, apartment,
                                  entrance, floor, address_note, kind_id, priority, comment, number, appeal_type,
                                  registered_at, created_by)
             select s.id, s.received_at, s.channel, s.identifier, s.applicant_name, '', s.building_id, s.apartment,
                    s.entrance, s.floor, '', s.kind_id, s.priority, s.comment, '', null, ",
            at!("s.registered_at", "s.created_by"),
            " from demo_stage s order by s.registered_at"
        ),
    ),
    (
        "объединение",
        concat!(
            "update appeals a set joined_to = s.join_to, (updated_at, updated_by) = (",
            at!("s.registered_at", "s.created_by"),
            ") from demo_stage s where a.id = s.id and s.join_to is not null"
        ),
    ),
];
const LIFE: &[(&str, &str)] = &[
    (
        "исполнитель",
        concat!(
            "insert into appeal_executors (appeal_id, executor_id, assigned_at, assigned_by)
             select s.id, s.executor_id, ",
            at!("s.assigned_at", "s.created_by"),
            " from demo_stage s where s.assigned_at is not null order by s.assigned_at"
        ),
    ),
    (
        "АТС: звонок исполнителю",
        concat!(
            "insert into pbx_calls (uniqueid, linkedid, direction, extension, number, sip_call_id, started_at,
                                    operator_login)
             select s.id::text, s.id::text, 'исходящий', st.sip_extension, x.phones[1], s.id || '@demo', ",
            at!("s.call_at", "k.pbx_login"),
            " from demo_stage s join staff st on st.login = s.created_by join executors x on x.id = s.executor_id
             cross join demo_constants k
             where s.call_at is not null order by s.call_at"
        ),
    ),
    (
        "АТС: исполнитель ответил",
        concat!(
            "update pbx_calls p set (answered_at, operator_login) = (",
            at!("s.call_at + k.ring", "k.pbx_login"),
            ") from demo_stage s cross join demo_constants k where p.uniqueid = s.id::text and s.call_at is not null"
        ),
    ),
    (
        "АТС: звонок окончен",
        concat!(
            "update pbx_calls p set (ended_at, operator_login) = (",
            at!("s.call_ended_at", "k.pbx_login"),
            ") from demo_stage s cross join demo_constants k where p.uniqueid = s.id::text and s.call_at is not null"
        ),
    ),
    (
        "запись разговора",
        concat!(
            "insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at, operator_login,
                                appeal_id, executor_id, recording, recording_codec, sip_call_id)
             select gen_random_uuid(), 'исходящий', st.sip_extension, x.phones[1], s.call_at, s.call_at + k.ring, ",
            at!("s.call_ended_at", "s.created_by"),
            ", s.id, s.executor_id, case when s.recorded then k.recording end,
                    case when s.recorded then 'audio/wav' end, s.id || '@demo'
             from demo_stage s join staff st on st.login = s.created_by join executors x on x.id = s.executor_id
             cross join demo_constants k
             where s.call_at is not null order by s.call_ended_at"
        ),
    ),
    ("в работе", step!("в работе", "in_work_at", "s.created_by")),
    ("отработано", step!("отработано", "done_at", "s.created_by")),
    ("закрыто", step!("закрыто", "closed_at", "s.closed_by")),
    ("отменено", step!("отменено", "cancelled_at", "s.created_by")),
];

/// What every chunk's appeals are drawn from.
struct Plan<'a> {
    city: &'a City,
    n: u64,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    span: f64,
    operators: Vec<&'static str>,
    supervisor: &'static str,
    total_weight: f64,
    /// Recordings are kept for a week in the demo; older calls keep their details only.
    recordings_from: DateTime<Utc>,
}

async fn appeals(store: &Store, rng: &mut SmallRng, city: &City, args: &DemoArgs) -> anyhow::Result<()> {
    let n = u64::from(args.appeals);
    let days = i64::from(args.days.unwrap_or((args.appeals / 1_400).max(30)));
    let now = Utc::now();
    let start = now - Duration::days(days);
    let plan = Plan {
        city,
        n,
        now,
        start,
        span: (now - start).num_seconds() as f64,
        operators: PEOPLE
            .iter()
            .filter(|p| p.1 == StaffRole::Operator)
            .map(|p| p.0)
            .collect(),
        supervisor: PEOPLE
            .iter()
            .find(|p| p.1 == StaffRole::Supervisor)
            .map(|p| p.0)
            .context("нет старшего диспетчера")?,
        total_weight: city.kinds.iter().map(|k| k.weight).sum(),
        recordings_from: now - Duration::days(7),
    };

    // The two sessions that live the chunks (see REGISTER).
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let mut conn = store.pool().acquire().await?;
        // Temporary tables are not in the database the query macros are checked against.
        sqlx::raw_sql(SESSION).execute(&mut *conn).await?;
        sqlx::query("insert into demo_constants values ($1, make_interval(secs => $2), $3)")
            .bind(PBX_LOGIN)
            .bind(RING_SECONDS as f64)
            .bind(demo_recording())
            .execute(&mut *conn)
            .await?;
        sessions.push(conn);
    }
    let [even, odd] = &mut sessions[..] else {
        bail!("сеансы загрузки");
    };

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(n)
    };
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")?.progress_chars("=> "));
    bar.set_message("Обращения");
    // Live accidents reported twice at one building: the later reports are joined to the
    // first as they are registered.
    let mut first_live_accident: HashMap<(Uuid, Uuid), Uuid> = HashMap::new();
    // A small demo still comes in a few chunks, so that both sessions work on it.
    let chunk = (n / 4).clamp(1_000, CHUNK);
    // Chunks are drawn in order, every other one to each session; the turn to register goes
    // back and forth between them, the even session's first.
    let (to_even, for_even) = mpsc::channel::<Chunk>(1);
    let (to_odd, for_odd) = mpsc::channel::<Chunk>(1);
    let (turn_to_even, even_turn) = mpsc::channel::<()>(1);
    let (turn_to_odd, odd_turn) = mpsc::channel::<()>(1);
    turn_to_even.send(()).await?;
    let (plan, accidents) = (&plan, &mut first_live_accident);
    let drawn = async move {
        let mut i = 0u64;
        let mut k = 0usize;
        while i < n {
            let (from, to) = (i, (i + chunk).min(n));
            let copy = stage(plan, rng, accidents, from, to)?;
            i = to;
            let session = if k.is_multiple_of(2) { &to_even } else { &to_odd };
            k += 1;
            if session.send(Chunk { from, to, copy }).await.is_err() {
                // A session failed; its error is the one reported.
                break;
            }
        }
        anyhow::Ok(())
    };
    // Neither session is cut off when the other fails: each ends its own transaction, so that
    // nothing is left holding the tables for the clean-up that follows.
    let results = tokio::join!(
        drawn,
        live_chunks(even, for_even, even_turn, turn_to_odd, &bar),
        live_chunks(odd, for_odd, odd_turn, turn_to_even, &bar),
    );
    results.0.and(results.1).and(results.2)?;
    bar.finish_with_message("Обращения загружены");
    for conn in &mut sessions {
        sqlx::raw_sql("drop table demo_stage, demo_constants")
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// Appeals `from + 1..=to` of the plan, as COPY text for `demo_stage`.
struct Chunk {
    from: u64,
    to: u64,
    copy: String,
}

/// One session's chunks, in order: each registered in its turn (then the turn is the other
/// session's), then lived to its end. Stops when the chunks are all drawn, or when the other
/// session has stopped.
async fn live_chunks(
    conn: &mut PgConnection,
    mut chunks: mpsc::Receiver<Chunk>,
    mut my_turn: mpsc::Receiver<()>,
    their_turn: mpsc::Sender<()>,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    while let Some(c) = chunks.recv().await {
        let what = || format!("обращения с {} по {}", c.from + 1, c.to);
        if my_turn.recv().await.is_none() {
            break;
        }
        live_stage(conn, &c.copy, REGISTER).await.with_context(what)?;
        // The other session may have stopped already: this one still finishes its chunk.
        their_turn.send(()).await.ok();
        live_stage(conn, &c.copy, LIFE).await.with_context(what)?;
        // Each appeal was written once for every step of its life: the versions it left behind
        // are cleared now, so that the next chunks reuse their room instead of growing the
        // tables (vacuum also tells the planner their new size; their statistics are gathered
        // once, at the end). A table the other session is vacuuming is left to it, and the
        // empty end of a table is not cut off: that waits for the other session's locks, and
        // the next chunks fill it anyway.
        sqlx::raw_sql("vacuum (skip_locked, truncate false) appeals, appeal_changes, pbx_calls")
            .execute(&mut *conn)
            .await?;
        bar.inc(c.to - c.from);
    }
    Ok(())
}

/// Appeals `i..end` of the plan, drawn one after another, as COPY text for `demo_stage`.
fn stage(
    plan: &Plan,
    rng: &mut SmallRng,
    first_live_accident: &mut HashMap<(Uuid, Uuid), Uuid>,
    i: u64,
    end: u64,
) -> anyhow::Result<String> {
    let Plan {
        city,
        n,
        now,
        start,
        span,
        ref operators,
        supervisor,
        total_weight,
        recordings_from,
    } = *plan;
    let mut copy = String::with_capacity(((end - i) * 400) as usize);
    for j in i..end {
        let offset = span * (j as f64 + rng.gen::<f64>()) / n as f64;
        let received = start + Duration::milliseconds((offset * 1000.0) as i64);
        let mut w = rng.gen::<f64>() * total_weight;
        let ki = city
            .kinds
            .iter()
            .position(|k| {
                w -= k.weight;
                w <= 0.0
            })
            .unwrap_or(0);
        let kind = &city.kinds[ki];
        // Old, big buildings call more often.
        let bi = ((rng.gen::<f64>().powf(1.6)) * city.buildings.len() as f64) as usize % city.buildings.len();
        let b = &city.buildings[bi];
        let flat = rng.gen_range(1..=b.flats);
        let channel = match rng.gen_range(0..100) {
            0..=84 => Channel::Phone,
            85..=90 => Channel::Website,
            91..=94 => Channel::Email,
            95..=97 => Channel::Letter,
            _ => Channel::WalkIn,
        };
        // A resident's phone is fixed by their flat, so people call again.
        let resident = (bi as u64) * 1_000 + u64::from(flat);
        let identifier = match channel {
            Channel::Email | Channel::Website => {
                format!("{}{}@mail.ru", pick(rng, LATIN), resident % 997)
            }
            _ => format!("+79{:09}", (resident * 7_919 + 12_345) % 1_000_000_000),
        };
        let g = life(rng, kind, received, now, city.executors.get(&(b.organization, ki)));
        let with_building = kind.appeal_type != AppealType::Inquiry || rng.gen_bool(0.5);
        let priority = if kind.priority != Priority::Critical && rng.gen_bool(0.05) {
            Priority::Critical
        } else {
            kind.priority
        };
        let id = Uuid::now_v7();
        let join_to = if kind.appeal_type == AppealType::Accident
            && with_building
            && matches!(
                g.status,
                AppealStatus::New | AppealStatus::Assigned | AppealStatus::InWork
            ) {
            match first_live_accident.entry((kind.id, b.id)) {
                std::collections::hash_map::Entry::Occupied(first) => Some(*first.get()),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(id);
                    None
                }
            }
        } else {
            None
        };
        writeln!(
            copy,
            "{id}\t{}\t{}\t{}\t{identifier}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{supervisor}\t{}",
            received.to_rfc3339(),
            received.max(now.min(received + Duration::seconds(40))).to_rfc3339(),
            channel.label(),
            person_name(rng),
            if with_building { b.id.to_string() } else { "\\N".into() },
            if with_building { flat.to_string() } else { String::new() },
            if with_building && rng.gen_bool(0.4) {
                rng.gen_range(1..=6).to_string()
            } else {
                String::new()
            },
            if with_building && rng.gen_bool(0.3) {
                rng.gen_range(1..=9).to_string()
            } else {
                String::new()
            },
            kind.id,
            priority.label(),
            pick(rng, DETAILS),
            pick(rng, operators),
            join_to.map_or_else(|| "\\N".to_owned(), |e| e.to_string()),
            g.executor.map_or_else(|| "\\N".to_owned(), |e| e.to_string()),
            ts(g.assigned_at),
            ts(g.call_at),
            ts(g.call_ended_at),
            g.call_at.is_some_and(|c| c > recordings_from),
            ts(g.in_work_at),
            ts(g.done_at),
            ts(g.closed_at),
            ts(g.cancelled_at),
        )?;
    }
    Ok(copy)
}

/// One part of a chunk's life, staged as COPY text, each step in a transaction of its own (the
/// owner's clock and actor end with it). A step's versions of the appeals are then old news to
/// the next: the server may clear them from the page to write the next version beside them,
/// instead of every step of a chunk adding a version of each appeal that all later steps read
/// past.
async fn live_stage(conn: &mut PgConnection, copy: &str, steps: &[(&str, &str)]) -> anyhow::Result<()> {
    sqlx::raw_sql("truncate demo_stage").execute(&mut *conn).await?;
    let mut sink = conn.copy_in_raw("copy demo_stage from stdin").await?;
    sink.send(copy.as_bytes()).await?;
    sink.finish().await?;
    for (step, sql) in steps {
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        // The tables grow from nothing: a plan made while they looked empty (the functions' and
        // the foreign keys' are kept for the session) would read them whole at every step. Plans
        // priced so would then be compiled, each time: no JIT either.
        sqlx::query!("set local enable_seqscan = off").execute(&mut *tx).await?;
        sqlx::query!("set local jit = off").execute(&mut *tx).await?;
        if let Err(e) = sqlx::raw_sql(sql).execute(&mut *tx).await {
            // Rolled back now, not when the connection is next used.
            tx.rollback().await.ok();
            return Err(anyhow::Error::from(e).context(format!("шаг «{step}»")));
        }
        tx.commit().await?;
    }
    Ok(())
}

/// The demo's PBX bridge: a service login of the pbx duty with a password nobody knows.
async fn pbx_bridge(tx: &mut PgConnection) -> anyhow::Result<()> {
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from pg_roles where rolname = $1) as "exists!""#,
        PBX_LOGIN
    )
    .fetch_one(&mut *tx)
    .await?;
    if exists {
        // Login roles belong to the whole server; another database of it may have made it.
        sqlx::query!(
            "insert into services (login, duty) values ($1, 'pbx') on conflict (login) do update set active = true",
            PBX_LOGIN
        )
        .execute(&mut *tx)
        .await?;
        return Ok(());
    }
    sqlx::query!(
        "select dialog_create_service($1, $2, 'pbx')",
        PBX_LOGIN,
        scram_verifier(&Uuid::new_v4().to_string())
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn desk(tx: &mut Transaction<'static, Postgres>, rng: &mut SmallRng, city: &City) -> anyhow::Result<()> {
    let articles: &[(&str, &str, &[&str])] = &[
        ("Прорыв трубы: что сказать жильцу", "Попросите жильца перекрыть вентиль на стояке или в квартире, убрать ценные вещи и электроприборы от воды, предупредить соседей снизу. Зарегистрируйте аварию, назначьте сантехника и позвоните ему: локализовать аварию нужно в течение 30 минут (ПП РФ № 416, п. 13).", &["авария", "вода"]),
        ("Запах газа", "Немедленно передайте сообщение аварийной газовой службе (04, с мобильного 104). Попросите жильца не включать свет и электроприборы, открыть окна, выйти из помещения.", &["газ", "авария"]),
        ("Сроки устранения неисправностей", "Засор канализации — 2 часа. Нет горячей воды — перерыв не более 4 часов единовременно. Течь крана — 1 сутки. Неисправность лифта — 1 сутки. Протечка кровли — 1 сутки.", &["сроки"]),
        ("Застревание в лифте", "Уточните адрес, подъезд и этаж, есть ли в кабине дети или плохо ли кому-то. Вызовите лифтёра; освобождение пассажиров — в течение 30 минут.", &["лифт", "авария"]),
        ("Ответ на вопросы о начислениях", "Справки по квитанциям даёт расчётный центр управляющей компании. Зарегистрируйте обращение с видом «Вопрос о начислениях и тарифах» и сообщите жильцу телефон УК.", &["справка"]),
    ];
    for (title, body, tags) in articles {
        sqlx::query!(
            "insert into kb_articles (id, title, body, tags) values ($1, $2, $3, $4)",
            Uuid::now_v7(),
            title,
            body,
            &tags.iter().map(|t| t.to_string()).collect::<Vec<_>>()
        )
        .execute(&mut **tx)
        .await?;
    }
    let services: &[(&str, f64, &str)] = &[
        ("Замена смесителя", 1500.0, "шт."),
        ("Замена унитаза", 2500.0, "шт."),
        ("Установка счётчика воды", 1200.0, "шт."),
        ("Замена розетки", 400.0, "шт."),
        ("Прочистка канализации в квартире", 900.0, "услуга"),
        ("Вскрытие двери", 3000.0, "услуга"),
    ];
    let ids: Vec<Uuid> = city.buildings.iter().map(|b| b.id).collect();
    for (service, price, unit) in services {
        let factor = 0.9 + rng.gen::<f64>() * 0.3;
        sqlx::query!(
            "insert into building_prices (id, building_id, service, price, unit) select gen_random_uuid(), b, $2, round(($3 * (0.95 + random() * 0.1))::numeric, -1), $4 from unnest($1::uuid[]) b",
            &ids,
            service,
            price * factor,
            unit
        )
        .execute(&mut **tx)
        .await?;
    }
    // Shifts of executors (8:00–17:00) and dispatchers (12-hour shifts) for this week and next.
    sqlx::query!(
        r#"insert into schedules (id, executor_id, starts_at, ends_at, note)
           select gen_random_uuid(), e.id, d + time '08:00', d + time '17:00', 'рабочий день'
           from executors e, generate_series(date_trunc('week', now()), date_trunc('week', now()) + interval '13 days', interval '1 day') d
           where extract(isodow from d) < 6"#
    )
    .execute(&mut **tx)
    .await?;
    sqlx::query!(
        r#"insert into schedules (id, staff_login, starts_at, ends_at, note)
           select gen_random_uuid(), s.login, d + make_interval(hours => 8 + 12 * ((extract(doy from d)::int + r.n) % 2)),
                  d + make_interval(hours => 20 + 12 * ((extract(doy from d)::int + r.n) % 2)), 'смена'
           from (select login, row_number() over (order by login)::int as n from staff where role in ('operator', 'supervisor')) r
           join staff s on s.login = r.login,
           generate_series(date_trunc('week', now()), date_trunc('week', now()) + interval '13 days', interval '1 day') d"#
    )
    .execute(&mut **tx)
    .await?;
    // A personal template of the desktop (the shared ones come with every center).
    sqlx::query!(
        "insert into filter_templates (id, owner, name, shared, filter) values ($1, 'operator1', 'Жалобы за неделю', false, $2)",
        Uuid::now_v7(),
        serde_json::json!({"types": ["complaint"], "receivedFrom": (Utc::now() - Duration::days(7)).to_rfc3339()})
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_recording_plays_the_call_tone() {
        use dialog_phone::media::{tone_level, AudioSource, WavSource, SAMPLE_RATE};
        let wav = demo_recording();
        assert_eq!(&wav[20..22], &7u16.to_le_bytes(), "μ-law, as its codec string says");
        let mut source = WavSource::from_bytes(&wav, false).expect("a WAV file");
        let mut pcm = vec![0i16; SAMPLE_RATE as usize / 5];
        source.read(&mut pcm);
        assert!(source.finished(), "0.2 s long");
        let (tone, off) = (
            tone_level(&pcm, SAMPLE_RATE, 425.0),
            tone_level(&pcm, SAMPLE_RATE, 1000.0),
        );
        assert!(tone > 7000.0 && off < 300.0, "{tone} at 425 Hz, {off} at 1 kHz");
    }

    #[test]
    fn trades_cover_the_kinds() {
        assert_eq!(TRADES[trade_of("Нет горячей воды")].0, "сантехник");
        assert_eq!(TRADES[trade_of("Застревание людей в лифте")].0, "лифтёр");
        assert_eq!(TRADES[trade_of("Запах газа")].0, "аварийная газовая служба");
        assert_eq!(TRADES[trade_of("Вопрос о начислениях и тарифах")].0, "специалист УК");
        assert_eq!(TRADES[trade_of("Засор мусоропровода")].0, "дворник");
        assert_eq!(TRADES[trade_of("Повреждение водостока")].0, "кровельщик");
    }
}
