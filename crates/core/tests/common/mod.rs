//! Fixtures shared by the integration tests: a small city in a fresh database (one per
//! test, made by `#[sqlx::test]`), and people who log in as themselves.
#![allow(dead_code, missing_docs)]

use chrono::Utc;
use dialog_core::appeals::{Appeal, AppealChanges, NewAppeals, Reason};
use dialog_core::directory::{upsert, AppealKind, Building, Executor, Service};
use dialog_core::files::{Call, NewCall};
use dialog_core::model::{AppealType, CallDirection, Channel, Priority, StaffRole};
use dialog_core::people::NewPerson;
use dialog_core::{ConnectOptions, Store, TlsMode};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

pub type TestResult = anyhow::Result<()>;

pub struct City {
    pub owner: Store,
    /// The PBX bridge's service login, as dialog-server's pbx duty uses it.
    pub pbx: dialog_core::pbx::Service,
    /// Its login (password [`PASSWORD`]).
    pub pbx_login: String,
    pub org_a: Uuid,
    pub org_b: Uuid,
    /// ул. Ленина, 10 (org A)
    pub lenina_10: Uuid,
    /// ул. Ленина, 110 (org A)
    pub lenina_110: Uuid,
    /// пр. Мира, 5 (org B)
    pub mira_5: Uuid,
    /// авария, 30 min localisation, 3 days resolution
    pub leak: Uuid,
    /// авария, 4 h
    pub no_hot_water: Uuid,
    /// справка
    pub tariffs: Uuid,
    /// plumber of A: leak + no hot water at Ленина 10 and 110
    pub plumber: Uuid,
    pub plumber_phone: &'static str,
    /// plumber of B: leak at Мира 5
    pub plumber_b: Uuid,
    /// electrician of A: serves nothing of the above
    pub electrician: Uuid,
}

fn kind(
    name: &str,
    t: AppealType,
    p: Priority,
    localize: Option<i32>,
    resolve: Option<i32>,
    kw: &[&str],
) -> AppealKind {
    AppealKind {
        id: Uuid::now_v7(),
        name: name.into(),
        appeal_type: t,
        default_priority: p,
        localize_minutes: localize,
        resolve_minutes: resolve,
        deadline_note: String::new(),
        keywords: kw.iter().map(|s| s.to_string()).collect(),
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

fn executor(org: Uuid, name: &str, phone: &str) -> Executor {
    Executor {
        id: Uuid::now_v7(),
        full_name: name.into(),
        position: "сантехник".into(),
        phones: vec![phone.into()],
        organization_id: org,
        active: true,
    }
}

pub async fn city(pool: PgPool) -> anyhow::Result<City> {
    let mut c = pool.acquire().await?;
    let org_a = upsert::organization(&mut c, "УК «Северная»", Some("8 846 200-00-01")).await?;
    let org_b = upsert::organization(&mut c, "УК «Южная»", None).await?;
    let lenina_10 = upsert::building(&mut c, &building(org_a, "ул. Ленина", "10")).await?;
    let lenina_110 = upsert::building(&mut c, &building(org_a, "ул. Ленина", "110")).await?;
    let mira_5 = upsert::building(&mut c, &building(org_b, "пр. Мира", "5")).await?;
    let leak = upsert::kind(
        &mut c,
        &kind(
            "Прорыв трубы холодного водоснабжения",
            AppealType::Accident,
            Priority::Critical,
            Some(30),
            Some(4320),
            &["прорыв", "течь", "труба"],
        ),
    )
    .await?;
    let no_hot_water = upsert::kind(
        &mut c,
        &kind(
            "Нет горячей воды",
            AppealType::Accident,
            Priority::Critical,
            Some(30),
            Some(240),
            &["гвс", "горячая вода"],
        ),
    )
    .await?;
    let tariffs = upsert::kind(
        &mut c,
        &kind(
            "Вопрос о начислениях и тарифах",
            AppealType::Inquiry,
            Priority::Low,
            None,
            Some(14400),
            &["квитанция", "тариф"],
        ),
    )
    .await?;
    let plumber_phone = "+79170000001";
    let plumber = upsert::executor(
        &mut c,
        &executor(org_a, "Петров Пётр Петрович", plumber_phone),
        &Service {
            kind_ids: vec![leak, no_hot_water],
            building_ids: vec![lenina_10, lenina_110],
        },
    )
    .await?;
    let plumber_b = upsert::executor(
        &mut c,
        &executor(org_b, "Сидоров Сидор", "+79170000002"),
        &Service {
            kind_ids: vec![leak],
            building_ids: vec![mira_5],
        },
    )
    .await?;
    let electrician = upsert::executor(
        &mut c,
        &executor(org_a, "Электриков Иван", "+79170000003"),
        &Service {
            kind_ids: vec![tariffs],
            building_ids: vec![],
        },
    )
    .await?;
    drop(c);
    let owner = Store::from_pool(pool).await?;
    let pbx_login = format!("pbx{}", &Uuid::now_v7().simple().to_string()[20..]);
    owner
        .add_service(&pbx_login, PASSWORD, dialog_core::pbx::Duty::Pbx)
        .await?;
    let pbx = dialog_core::pbx::Service::connect(
        &options_for(owner.pool(), &pbx_login, PASSWORD),
        dialog_core::pbx::Duty::Pbx,
    )
    .await?;
    Ok(City {
        owner,
        pbx,
        pbx_login,
        org_a,
        org_b,
        lenina_10,
        lenina_110,
        mira_5,
        leak,
        no_hot_water,
        tariffs,
        plumber,
        plumber_phone,
        plumber_b,
        electrician,
    })
}

pub const PASSWORD: &str = "пароль-оператора-1";

/// Options to log in to the test database as `login`.
pub fn options_for(pool: &PgPool, login: &str, password: &str) -> ConnectOptions {
    let o = pool.connect_options();
    ConnectOptions {
        host: o.get_host().to_owned(),
        port: o.get_port(),
        database: o.get_database().unwrap_or("postgres").to_owned(),
        login: login.to_owned(),
        password: password.to_owned(),
        tls: TlsMode::Disable,
    }
}

/// Creates a person with a unique login and logs them in.
pub async fn person(city: &City, role: StaffRole, org: Option<Uuid>) -> anyhow::Result<(Store, String)> {
    let login = format!(
        "{}{}",
        &format!("{role:?}").to_lowercase()[..3],
        &Uuid::now_v7().simple().to_string()[20..]
    );
    city.owner
        .add_person(&NewPerson {
            login: login.clone(),
            password: PASSWORD.into(),
            role,
            full_name: format!("Тестовый {}", role.title()),
            sip_extension: None,
            organization_id: org,
        })
        .await?;
    let store = Store::connect(&options_for(city.owner.pool(), &login, PASSWORD)).await?;
    Ok((store, login))
}

/// A plain SQL session as `login`: what psql with that person's password would be.
pub async fn psql(city: &City, login: &str) -> anyhow::Result<PgConnection> {
    let o: PgConnectOptions = options_for(city.owner.pool(), login, PASSWORD).pg_options();
    Ok(PgConnection::connect_with(&o).await?)
}

/// The SQLSTATE of a failed statement.
pub fn sqlstate<T: std::fmt::Debug>(r: Result<T, sqlx::Error>) -> String {
    match r {
        Err(e) => e
            .as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned())
            .unwrap_or_else(|| format!("not a database error: {e}")),
        Ok(v) => panic!("the database accepted what it must refuse: {v:?}"),
    }
}

/// A new card with one reason at `building` of `kind`.
pub fn card(identifier: &str, building: Option<Uuid>, kind: Uuid) -> NewAppeals {
    NewAppeals {
        received_at: None,
        channel: Channel::Phone,
        identifier: identifier.into(),
        applicant_name: "Иванова Мария Ивановна".into(),
        contacts: String::new(),
        status: None,
        reasons: vec![Reason {
            id: Uuid::now_v7(),
            building_id: building,
            kind_id: Some(kind),
            apartment: "5".into(),
            comment: "Течёт из-под ванны".into(),
            ..Default::default()
        }],
    }
}

/// A recorded, answered outgoing call to `executor`, stored as it ends. (The database keeps
/// its own clock for the end and the phone's durations: a call of no length starts now.)
pub fn call_to(executor: Uuid, phone: &str, appeal: Option<Uuid>) -> NewCall {
    let now = Utc::now();
    NewCall {
        id: Uuid::now_v7(),
        direction: CallDirection::Outgoing,
        from_number: "1001".into(),
        to_number: phone.into(),
        started_at: now,
        answered_at: Some(now),
        ended_at: Some(now),
        appeal_id: appeal,
        executor_id: Some(executor),
        recording: Some(b"OggS recorded conversation".to_vec()),
        recording_codec: Some("audio/wav".into()),
        sip_call_id: None,
    }
}

/// Runs one statement about one appeal in a plain SQL session, as psql would.
pub async fn on(
    conn: &mut PgConnection,
    statement: &str,
    appeal: Uuid,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(statement).bind(appeal).execute(conn).await
}

/// The card of an appeal as it was read, to change and save.
pub fn changes(a: &Appeal) -> AppealChanges {
    AppealChanges {
        received_at: a.received_at,
        channel: a.channel,
        identifier: a.identifier.clone(),
        applicant_name: a.applicant_name.clone(),
        contacts: a.contacts.clone(),
        building_id: a.building_id,
        apartment: a.apartment.clone(),
        entrance: a.entrance.clone(),
        floor: a.floor.clone(),
        address_note: a.address_note.clone(),
        kind_id: a.kind_id,
        priority: a.priority,
        comment: a.comment.clone(),
        status: a.status,
        executor_ids: a.executors.iter().map(|e| e.executor_id).collect(),
        joined_to: a.joined_to,
    }
}

/// A call of `login` at the times it carries, as history holds it: stored by the owner as
/// `login` at the moment it ended (the calls table's own clock and actor), since a person's
/// app can store a call only as it ends, with the server's clock.
pub async fn past_call(city: &City, login: &str, c: &NewCall) -> anyhow::Result<Call> {
    let mut tx = city.owner.pool().begin().await?;
    sqlx::query("select set_config('dialog.clock', $1::text, true), set_config('dialog.actor', $2, true)")
        .bind(c.ended_at.unwrap_or(c.started_at))
        .bind(login)
        .execute(&mut *tx)
        .await?;
    let call = sqlx::query_as(
        r#"insert into calls (id, direction, from_number, to_number, started_at, answered_at, ended_at,
               appeal_id, executor_id, recording, recording_codec)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           returning id, direction, from_number, to_number, started_at, answered_at, ended_at, operator_login,
               appeal_id, executor_id, recording_codec, octet_length(recording) as recording_size"#,
    )
    .bind(c.id)
    .bind(c.direction)
    .bind(&c.from_number)
    .bind(&c.to_number)
    .bind(c.started_at)
    .bind(c.answered_at)
    .bind(c.ended_at)
    .bind(c.appeal_id)
    .bind(c.executor_id)
    .bind(c.recording.as_deref())
    .bind(&c.recording_codec)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(call)
}

/// A call the PBX carried from `extension` to `number` and saw answered: what dialog-server's
/// pbx duty records, the only evidence that lets an appeal move to «в работе».
pub async fn pbx_call(city: &City, extension: &str, number: &str) -> anyhow::Result<()> {
    use dialog_core::pbx::{CallEvent, PbxLeg};
    let id = Uuid::now_v7().to_string();
    let leg = PbxLeg {
        uniqueid: id.clone(),
        linkedid: id,
        direction: CallDirection::Outgoing,
        extension: extension.into(),
        number: number.into(),
        sip_call_id: None,
    };
    for e in [CallEvent::Start, CallEvent::Answer, CallEvent::End] {
        city.pbx.call_event(e, &leg).await?;
    }
    Ok(())
}
