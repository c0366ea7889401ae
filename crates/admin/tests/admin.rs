//! `dialog-admin` against the real database: imports are all-or-nothing with line numbers,
//! and the demo city obeys the same rules the triggers enforce.

use dialog_admin::demo::{self, DemoArgs};
use dialog_admin::import::{import_text, Directory};
use dialog_core::model::StaffRole;
use dialog_core::Store;
use sqlx::PgPool;

type TestResult = anyhow::Result<()>;

async fn import(pool: &PgPool, what: Directory, text: &str) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let n = import_text(&mut tx, what, text).await?;
    tx.commit().await?;
    Ok(n)
}

async fn count(pool: &PgPool, table: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(pool)
        .await?)
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn imports_are_all_or_nothing_and_name_the_bad_line(pool: PgPool) -> TestResult {
    assert_eq!(
        import(&pool, Directory::Kinds, dialog_admin::import::DEFAULT_KINDS).await?,
        40
    );
    let (name, minutes): (String, Option<i32>) =
        sqlx::query_as("select name, resolve_minutes from appeal_kinds where name = 'Засор внутридомовой канализации'")
            .fetch_one(&pool)
            .await?;
    assert_eq!((name.as_str(), minutes), ("Засор внутридомовой канализации", Some(120)));
    import(
        &pool,
        Directory::Organizations,
        "name,phone\n\"УК «Северная»\",8 846 200-00-01\nУК Южная,\n",
    )
    .await?;

    let bad = "organization,city,street,house,block\nУК Южная,Самара,ул. Мира,1,\nУК Южная,Самара,ул. Мира,2,\nУК Западная,Самара,ул. Мира,3,\n";
    let e = import(&pool, Directory::Buildings, bad)
        .await
        .expect_err("unknown organization");
    assert!(
        e.to_string().contains("строка 4") && e.to_string().contains("УК Западная"),
        "{e}"
    );
    assert_eq!(count(&pool, "buildings").await?, 0, "nothing half-imported");

    let bad = "organization,city,street,house,block\nУК Южная,Самара,ул. Мира,1,\nУК Южная,Самара,,2,\n";
    let e = import(&pool, Directory::Buildings, bad).await.expect_err("no street");
    assert!(
        e.to_string().contains("строка 3") && e.to_string().contains("улицу"),
        "{e}"
    );
    assert_eq!(count(&pool, "buildings").await?, 0);

    let good = "organization,city,street,house,block\nУК Южная,Самара,ул. Мира,1,\nУК Южная,Самара,ул. Мира,2,1\n";
    assert_eq!(import(&pool, Directory::Buildings, good).await?, 2);

    let executors = "full_name,position,phones,organization,kinds,buildings\n\
        Петров Пётр,сантехник,8 917 000-00-01;+79170000011,УК Южная,Нет горячей воды;Нет холодной воды,*\n\
        Сидоров Сидор,электрик,+79170000002,УК Южная,Нет света,\"ул. Мира, 1\"\n";
    let e = import(&pool, Directory::Executors, executors)
        .await
        .expect_err("unknown kind");
    assert!(
        e.to_string().contains("строка 3") && e.to_string().contains("Нет света"),
        "{e}"
    );
    assert_eq!(count(&pool, "executors").await?, 0);
    let executors = executors.replace("Нет света", "Нет электроснабжения в квартире или подъезде");
    assert_eq!(import(&pool, Directory::Executors, &executors).await?, 2);
    let phones: Vec<String> =
        sqlx::query_scalar("select unnest(phones) from executors where full_name = 'Петров Пётр'")
            .fetch_all(&pool)
            .await?;
    assert_eq!(phones, ["+79170000001", "+79170000011"]);
    assert_eq!(
        count(&pool, "executor_buildings").await?,
        3,
        "* means both buildings; the electrician serves one"
    );
    // Importing again updates, never duplicates.
    assert_eq!(import(&pool, Directory::Executors, &executors).await?, 2);
    assert_eq!(count(&pool, "executors").await?, 2);

    let e = import(
        &pool,
        Directory::Kinds,
        "name,type,priority,localize_minutes,resolve_minutes\nПрорыв,катастрофа,низкий,,\n",
    )
    .await
    .expect_err("bad type");
    assert!(
        e.to_string().contains("строка 2") && e.to_string().contains("катастрофа"),
        "{e}"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_demo_city_obeys_the_rules(pool: PgPool) -> TestResult {
    let store = Store::from_pool(pool.clone()).await?;
    let args = DemoArgs {
        appeals: 3_000,
        days: Some(20),
        seed: 7,
        password: "dialog-demo".into(),
        quiet: true,
    };
    let indexes = || {
        sqlx::query_scalar::<_, Vec<String>>(
            "select array_agg(d order by d) from (select pg_get_indexdef(i.indexrelid) as d from pg_index i join pg_class c on c.oid = i.indrelid
                                                   join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public') i",
        )
        .fetch_one(&pool)
    };
    let before = indexes().await?;
    demo::run(&store, &args).await?;
    assert_eq!(count(&pool, "appeals").await?, 3_000);
    assert_eq!(indexes().await?, before, "the indexes set aside for the load are back");
    // The planner knows the city as loaded: every table the demo filled has its statistics,
    // gathered after its last row was written.
    let unknown: Vec<String> = sqlx::query_scalar(
        r#"select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'public' and c.relkind = 'r' and c.reltuples < 0
             and exists (select 1 from pg_stat_user_tables s where s.relid = c.oid and s.n_live_tup > 0)
           order by 1"#,
    )
    .fetch_all(&pool)
    .await?;
    assert!(unknown.is_empty(), "tables without statistics: {unknown:?}");
    // The appeals' statuses as the planner knows them are those loaded, not those of a moment
    // when the last appeals were still being lived (the live ones are among the newest).
    let misjudged: Vec<String> = sqlx::query_scalar(
        r#"with known as (select unnest(most_common_vals::text::text[]) as status, unnest(most_common_freqs) as share
                          from pg_stats where schemaname = 'public' and tablename = 'appeals' and attname = 'status'),
                loaded as (select status::text, count(*)::real / (select count(*) from appeals) as share
                           from appeals group by 1)
           select format('%s: %s known, %s loaded', status, k.share, l.share)
           from loaded l full join known k using (status)
           where abs(coalesce(l.share, 0) - coalesce(k.share, 0)) > 0.001
           order by 1"#,
    )
    .fetch_all(&pool)
    .await?;
    assert!(
        misjudged.is_empty(),
        "statistics of the appeals' statuses: {misjudged:?}"
    );
    let broken: i64 = sqlx::query_scalar(
        r#"select count(*) from appeals a where
             (a.status in ('назначено', 'в работе') and not exists (select 1 from appeal_executors where appeal_id = a.id))
          or (a.in_work_at is not null and not exists (
                select 1 from calls c join appeal_executors ae on ae.executor_id = c.executor_id and ae.appeal_id = a.id
                where c.direction = 'исходящий' and c.started_at >= ae.assigned_at and c.answered_at is not null))
          or (a.appeal_type in ('авария', 'заявка') and a.building_id is null)
          or a.search_text = '' or a.address is null
          or a.deadline_at is distinct from a.received_at + (select make_interval(mins => resolve_minutes) from appeal_kinds where id = a.kind_id)"#,
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(broken, 0, "demo appeals that break a rule");
    // The history is the triggers': it begins with the registration, by its author at its
    // time; each appeal in work was let in by a call the PBX saw answered after assignment and
    // before it, and became «назначено» at the moment and by the person that assigned it; only
    // the supervisor closed; nothing of the load is left on the tables.
    let unlike_the_app: i64 = sqlx::query_scalar(
        r#"select count(*) from appeals a where
             (select (h.action, h.actor, h.at) <> ('created', a.created_by, a.registered_at)
              from appeal_history h where h.appeal_id = a.id order by h.id limit 1)
          or (a.in_work_at is not null and not exists (
                select 1 from appeal_executors ae join executors e on e.id = ae.executor_id
                join pbx_calls p on p.number = any(e.phones)
                where ae.appeal_id = a.id and p.direction = 'исходящий' and p.answered_at is not null
                  and p.started_at >= ae.assigned_at and p.answered_at <= a.in_work_at))
          or (a.notified_at is null) <> (a.in_work_at is null)
          or (select count(*) from appeal_history h where h.appeal_id = a.id and h.action = 'status')
             <> (case a.status when 'новый' then 0 when 'назначено' then 1 when 'в работе' then 2 when 'отменено' then 1
                    when 'отработано' then case when a.appeal_type = 'справка' then 1 else 3 end
                    else case when a.appeal_type = 'справка' then 2 else 4 end end)
          or exists (select 1 from appeal_history h where h.appeal_id = a.id
                     and h.after ->> 'status' = 'закрыто' and h.actor <> 'starshiy')
          or exists (select 1 from appeal_history h join appeal_history g on g.appeal_id = h.appeal_id and g.id > h.id
                     where h.appeal_id = a.id and g.at < h.at)
          or exists (select 1 from appeal_history h join appeal_history g on g.appeal_id = h.appeal_id
                     where h.appeal_id = a.id and h.action = 'assigned' and g.action = 'status'
                       and g.after ->> 'status' = 'назначено' and (g.at, g.actor) <> (h.at, h.actor))"#,
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(
        unlike_the_app, 0,
        "demo appeals whose history the app would not have written"
    );
    let left: i64 = sqlx::query_scalar(
        r#"select count(*) from pg_trigger
           where tgrelid in ('appeals'::regclass, 'appeal_executors'::regclass, 'calls'::regclass, 'appeal_history'::regclass)
             and not tgisinternal and (tgenabled <> 'O' or tgname like '%demo%')"#,
    )
    .fetch_one(&pool)
    .await?;
    assert_eq!(left, 0, "triggers switched off or left by the load");
    let witness_on: bool = sqlx::query_scalar("select active from services where duty = 'pbx'")
        .fetch_one(&pool)
        .await?;
    assert!(!witness_on, "the demo's PBX bridge is switched off after the load");
    let live: i64 =
        sqlx::query_scalar("select count(*) from appeals where status in ('новый', 'назначено', 'в работе')")
            .fetch_one(&pool)
            .await?;
    assert!(
        live > 0 && live < 1_000,
        "a working center has some live appeals, not most: {live}"
    );
    let every_role: i64 = sqlx::query_scalar("select count(distinct role) from staff")
        .fetch_one(&pool)
        .await?;
    assert_eq!(every_role, 4);
    // The numbering goes on after the demo, and a demo person can work.
    let o = pool.connect_options();
    let op = Store::connect(&dialog_core::ConnectOptions {
        host: o.get_host().into(),
        port: o.get_port(),
        database: o.get_database().unwrap_or("postgres").into(),
        login: "operator1".into(),
        password: "dialog-demo".into(),
        tls: dialog_core::TlsMode::Disable,
    })
    .await?;
    assert_eq!(op.me().map(|p| p.role), Some(StaffRole::Operator));
    let building: uuid::Uuid = sqlx::query_scalar("select id from buildings limit 1")
        .fetch_one(&pool)
        .await?;
    let kind: uuid::Uuid = sqlx::query_scalar("select id from appeal_kinds where name = 'Нет горячей воды'")
        .fetch_one(&pool)
        .await?;
    let new = dialog_core::appeals::NewAppeals {
        received_at: None,
        channel: dialog_core::model::Channel::Phone,
        identifier: "+79123456789".into(),
        applicant_name: String::new(),
        contacts: String::new(),
        status: None,
        reasons: vec![dialog_core::appeals::Reason {
            id: uuid::Uuid::now_v7(),
            building_id: Some(building),
            kind_id: Some(kind),
            ..Default::default()
        }],
    };
    let a = op.create_appeals(&new).await?.remove(0);
    let max_before: String = sqlx::query_scalar("select max(number) from appeals where id <> $1")
        .bind(a.id)
        .fetch_one(&pool)
        .await?;
    assert!(a.number > max_before, "{} after {max_before}", a.number);
    // Templates of the desktop count: the center's four, shared, and operator1's own.
    let shared_templates: i64 = sqlx::query_scalar("select count(*) from filter_templates where shared")
        .fetch_one(&pool)
        .await?;
    assert_eq!(shared_templates, 4);
    assert!(op.templates().await?.iter().all(|t| t.count > 0));
    Ok(())
}
