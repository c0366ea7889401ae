//! Registering and working appeals through the store, against the real database.

mod common;

use std::time::Duration;

use common::*;
use dialog_core::appeals::Reason;
use dialog_core::model::{AppealStatus, AppealType, Channel, Priority, StaffRole};
use dialog_core::{Error, Rule, Store};
use futures_util::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn several_reasons_and_addresses_make_several_numbered_appeals(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let mut new = card("8 (912) 345-67-89", Some(city.lenina_10), city.leak);
    new.reasons.push(Reason {
        id: Uuid::now_v7(),
        building_id: Some(city.lenina_10),
        kind_id: Some(city.no_hot_water),
        ..Default::default()
    });
    // The same applicant at another address.
    new.reasons.push(Reason {
        id: Uuid::now_v7(),
        building_id: Some(city.mira_5),
        kind_id: Some(city.leak),
        apartment: "12".into(),
        entrance: "2".into(),
        ..Default::default()
    });
    let made = op.create_appeals(&new).await?;
    assert_eq!(made.len(), 3);
    let year = chrono::Utc::now().format("%Y").to_string();
    let numbers: Vec<&str> = made.iter().map(|a| a.number.as_str()).collect();
    assert_eq!(
        numbers,
        [
            format!("{year}-000001"),
            format!("{year}-000002"),
            format!("{year}-000003")
        ]
    );
    for a in &made {
        assert_eq!(a.identifier, "+79123456789");
        assert_eq!(a.status, AppealStatus::New);
        assert_eq!(a.created_by, login);
        assert_eq!(a.appeal_type, AppealType::Accident);
        assert_eq!(a.priority, Priority::Critical, "the kind's default priority");
    }
    assert_eq!(made[0].address, "Самара, ул. Ленина, д. 10, кв. 5");
    assert_eq!(made[2].address, "Самара, пр. Мира, д. 5, кв. 12, подъезд 2");
    assert_eq!(made[2].organization_id, Some(city.org_b));
    // Deadlines come from the kind and count from reception.
    let a = &made[0];
    assert_eq!(
        a.localize_deadline_at,
        Some(a.received_at + chrono::Duration::minutes(30))
    );
    assert_eq!(a.deadline_at, Some(a.received_at + chrono::Duration::minutes(4320)));
    assert_eq!(
        made[1].deadline_at,
        Some(made[1].received_at + chrono::Duration::minutes(240))
    );
    assert_eq!(
        a.control_at, a.localize_deadline_at,
        "while nobody works on it, the localisation clock runs"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn bad_cards_are_refused_whole(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    match op.create_appeals(&card("", Some(city.lenina_10), city.leak)).await {
        Err(Error::Invalid {
            field: "identifier",
            message,
        }) => assert!(
            message.contains("телефон (+7…) или адрес электронной почты"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // An accident without an address: the second reason is bad, so the first is not saved either.
    let mut new = card("+79123456789", Some(city.lenina_10), city.leak);
    new.reasons.push(Reason {
        id: Uuid::now_v7(),
        kind_id: Some(city.leak),
        ..Default::default()
    });
    match op.create_appeals(&new).await {
        Err(Error::Invalid {
            field: "buildingId",
            message,
        }) => assert!(message.contains("укажите адрес"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert!(op
        .registry_page(&Default::default(), Default::default(), None, 10)
        .await?
        .rows
        .is_empty());
    // An inquiry needs no address.
    let info = op
        .create_appeals(&card("ivan@example.ru", None, city.tariffs))
        .await?
        .remove(0);
    assert_eq!(info.appeal_type, AppealType::Inquiry);
    // Numbers need no lock, so a refused card may leave a gap; none is ever given twice.
    let numbers: Vec<String> = sqlx::query_scalar("select number from appeals")
        .fetch_all(city.owner.pool())
        .await?;
    assert_eq!(numbers, vec![info.number.clone()]);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_retried_create_after_a_dropped_connection_makes_one_appeal(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let new = card("+79123456789", Some(city.lenina_10), city.leak);
    let first = op.create_appeals(&new).await?.remove(0);
    // The reply was lost: the server drops every connection of this operator.
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where usename = $1")
        .bind(&login)
        .execute(city.owner.pool())
        .await?;
    // The app retries the same card (same ids) on a fresh connection.
    let again = Store::connect(&options_for(city.owner.pool(), &login, PASSWORD)).await?;
    let second = again.create_appeals(&new).await?.remove(0);
    assert_eq!(second.id, first.id);
    assert_eq!(second.number, first.number);
    let count: i64 = sqlx::query_scalar("select count(*) from appeals")
        .fetch_one(city.owner.pool())
        .await?;
    assert_eq!(count, 1);
    // The next appeal gets the next number: the retry burned none.
    let third = again
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    assert_eq!(&third.number[5..], "000002");
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn two_operators_saving_the_same_version_one_wins(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (anna, _) = person(&city, StaffRole::Operator, None).await?;
    let (boris, _) = person(&city, StaffRole::Operator, None).await?;
    let a = anna
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let seen_by_boris = boris.appeal(a.id).await?;
    let mut c = changes(&a);
    c.comment = "Анна: течь усилилась".into();
    let saved = anna.save_appeal(a.id, a.version, &c).await?;
    assert_eq!(saved.version, a.version + 1);
    let mut c = changes(&seen_by_boris);
    c.comment = "Борис: течь прекратилась".into();
    match boris.save_appeal(a.id, seen_by_boris.version, &c).await {
        Err(e @ Error::Conflict { .. }) => {
            assert!(e.to_string().contains("изменил другой оператор"), "{e}");
            assert!(e.to_string().contains(&a.number));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(anna.appeal(a.id).await?.comment, "Анна: течь усилилась");
    // Boris reloads and saves on top.
    let fresh = boris.appeal(a.id).await?;
    let mut c = changes(&fresh);
    c.comment = "Борис: течь прекратилась".into();
    boris.save_appeal(a.id, fresh.version, &c).await?;
    let h = anna.history(a.id).await?;
    let changed: Vec<_> = h.iter().filter(|e| e.action == "changed").collect();
    assert_eq!(changed.len(), 2);
    assert_eq!(
        changed[1].before.as_ref().and_then(|b| b["comment"].as_str()),
        Some("Анна: течь усилилась")
    );
    // Only what changed is written down, and quick search follows the edit.
    let keys: Vec<&str> = changed[1]
        .after
        .as_ref()
        .and_then(|a| a.as_object())
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(keys, ["comment"]);
    let searched = |id: Uuid| {
        sqlx::query_as::<_, (String, String)>("select search_text, address from appeals where id = $1")
            .bind(id)
            .fetch_one(city.owner.pool())
    };
    let (text, address) = searched(a.id).await?;
    assert!(text.contains("прекратилась") && !text.contains("усилилась"), "{text}");
    // A step of status leaves the address and the search text as they were.
    let v = boris.appeal(a.id).await?.version;
    boris.change_status(a.id, v, AppealStatus::Cancelled).await?;
    assert_eq!(searched(a.id).await?, (text, address));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn only_executors_serving_the_kind_and_building_can_be_assigned(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let offered = op.executors_for(city.leak, city.lenina_10).await?;
    assert_eq!(offered.iter().map(|e| e.id).collect::<Vec<_>>(), vec![city.plumber]);
    for wrong in [city.plumber_b, city.electrician] {
        match op.assign_executor(a.id, a.version, wrong).await {
            Err(Error::Rule {
                rule: Rule::ExecutorNotServing,
                message,
                ..
            }) => assert!(message.contains("не обслуживает"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
    let a = op.assign_executor(a.id, a.version, city.plumber).await?;
    assert_eq!(
        a.status,
        AppealStatus::Assigned,
        "the first executor makes it назначено"
    );
    assert_eq!(a.executors[0].full_name, "Петров Пётр Петрович");
    // Moving the appeal to a building the plumber does not serve is refused while he is assigned.
    // (The assignment's other refusals: executors_assigned_at_once_are_refused_in_order.)
    let mut c = changes(&a);
    c.building_id = Some(city.mira_5);
    assert!(matches!(
        op.save_appeal(a.id, a.version, &c).await,
        Err(Error::Rule {
            rule: Rule::ExecutorNotServing,
            ..
        })
    ));
    // Removing the last executor sends it back to новый.
    let a = op.unassign_executor(a.id, a.version, city.plumber).await?;
    assert_eq!((a.status, a.executors.len()), (AppealStatus::New, 0));
    let actions: Vec<String> = op.history(a.id).await?.into_iter().map(|h| h.action).collect();
    assert_eq!(actions, ["created", "assigned", "status", "status", "unassigned"]);
    Ok(())
}

/// Several executors given in one statement (as a load does): each refusal names the earliest
/// assignment that breaks it, and a missing address is reported before an executor who has
/// left, who is reported before one who does not serve the appeal, who is reported before a
/// finished appeal.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn executors_assigned_at_once_are_refused_in_order(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let at_lenina = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let unaddressed = op
        .create_appeals(&card("+79123456780", None, city.tariffs))
        .await?
        .remove(0);
    let cancelled = op
        .create_appeals(&card("+79123456781", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    op.change_status(cancelled.id, cancelled.version, AppealStatus::Cancelled)
        .await?;
    let owner = city.owner.pool();
    let refusal = |rows: Vec<(Uuid, Uuid)>| async move {
        let mut q = sqlx::QueryBuilder::new("insert into appeal_executors (appeal_id, executor_id) ");
        q.push_values(rows, |mut b, (appeal, executor)| {
            b.push_bind(appeal).push_bind(executor);
        });
        let e = q.build().execute(owner).await.expect_err("refused");
        let e = e.as_database_error().expect("the database's refusal");
        (e.code().unwrap_or_default().into_owned(), e.message().to_owned())
    };
    // A stranger first, then an appeal with no address: the address is asked for.
    let (code, message) = refusal(vec![(at_lenina.id, city.electrician), (unaddressed.id, city.plumber)]).await;
    assert_eq!(code, "DL002", "{message}");
    assert!(message.contains(&unaddressed.number), "{message}");
    // The plumber of B has left: that comes before his not serving Ленина 10.
    sqlx::query("update executors set active = false where id = $1")
        .bind(city.plumber_b)
        .execute(owner)
        .await?;
    let (code, message) = refusal(vec![
        (cancelled.id, city.plumber),
        (at_lenina.id, city.electrician),
        (at_lenina.id, city.plumber_b),
    ])
    .await;
    assert_eq!(code, "DL005", "{message}");
    assert!(message.contains("не работает"), "{message}");
    // The earliest of two strangers is named, with the address.
    let (code, message) = refusal(vec![(cancelled.id, city.plumber), (at_lenina.id, city.electrician)]).await;
    assert_eq!(code, "DL005", "{message}");
    assert!(
        message.contains("не обслуживает") && message.contains(&at_lenina.address),
        "{message}"
    );
    // Only then a finished appeal.
    let (code, message) = refusal(vec![(at_lenina.id, city.plumber), (cancelled.id, city.plumber)]).await;
    assert_eq!(code, "DL001", "{message}");
    assert!(message.contains(&cancelled.number), "{message}");
    // Nothing of the refused statements was written.
    assert!(op.appeal(at_lenina.id).await?.executors.is_empty());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn one_executors_appeals_are_found_by_phone_and_closed_at_once(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let mut ids = Vec::new();
    for flat in ["1", "2", "3"] {
        let mut new = card("+79123456789", Some(city.lenina_10), city.leak);
        new.reasons[0].apartment = flat.into();
        new.reasons[0].executor_ids = vec![city.plumber];
        ids.push(op.create_appeals(&new).await?.remove(0).id);
    }
    pbx_call(&city, "2001", city.plumber_phone).await?;
    let mut in_work = Vec::new();
    for id in &ids {
        let a = op.appeal(*id).await?;
        in_work.push(op.change_status(a.id, a.version, AppealStatus::InWork).await?);
    }
    // The plumber calls from his phone, written the way the PBX shows it.
    let (executor, rows) = op
        .executor_appeals_by_phone("8 917 000-00-01")
        .await?
        .expect("the plumber's number");
    assert_eq!(executor.id, city.plumber);
    assert_eq!(rows.len(), 3);
    let done = op
        .change_status_many(
            &rows[..2].iter().map(|r| (r.id, r.version)).collect::<Vec<_>>(),
            AppealStatus::Done,
        )
        .await?;
    assert!(done
        .iter()
        .all(|a| a.status == AppealStatus::Done && a.done_at.is_some()));
    assert_eq!(op.executor_appeals(city.plumber).await?.len(), 1);
    let contacts = op.contacts().await?;
    let plumber = contacts
        .iter()
        .find(|c| c.executor.id == city.plumber)
        .expect("in contacts");
    assert_eq!(plumber.in_work, 1);
    // All or none: a stale version in the batch refuses the whole batch.
    let last = op.appeal(ids[2]).await?;
    let stale = (ids[0], in_work[0].version);
    assert!(matches!(
        op.change_status_many(&[(last.id, last.version), stale], AppealStatus::Done)
            .await,
        Err(Error::Conflict { .. })
    ));
    assert_eq!(op.appeal(last.id).await?.status, AppealStatus::InWork);
    assert!(op.executor_appeals_by_phone("+79999999999").await?.is_none());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn duplicates_are_suggested_and_joined(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let first = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    assert!(op.suggest_join(city.leak, city.mira_5, None).await?.is_none());
    assert!(op
        .suggest_join(city.no_hot_water, city.lenina_10, None)
        .await?
        .is_none());
    let suggested = op
        .suggest_join(city.leak, city.lenina_10, None)
        .await?
        .expect("a live appeal there");
    assert_eq!(suggested.id, first.id);
    let mut second = card("+79000000000", Some(city.lenina_10), city.leak);
    second.reasons[0].join_to = Some(suggested.id);
    let second = op.create_appeals(&second).await?.remove(0);
    assert_eq!(second.joined_to, Some(first.id));
    assert_ne!(second.number, first.number, "each keeps its own number");
    let group = op.joined_group(first.id).await?;
    assert_eq!(
        group.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![first.id, second.id]
    );
    let row = op
        .registry_page(&Default::default(), Default::default(), None, 10)
        .await?
        .rows;
    assert!(row.iter().all(|r| r.joined_count == 2));
    // Another kind cannot join.
    let other = op
        .create_appeals(&card("+79000000001", Some(city.lenina_10), city.no_hot_water))
        .await?
        .remove(0);
    assert!(matches!(
        op.join_appeal(other.id, other.version, Some(first.id)).await,
        Err(Error::Rule { rule: Rule::Join, .. })
    ));
    let second = op.join_appeal(second.id, second.version, None).await?;
    assert_eq!(second.joined_to, None);
    let actions: Vec<String> = op.history(second.id).await?.into_iter().map(|h| h.action).collect();
    assert_eq!(actions, ["created", "joined", "unjoined"]);
    // The card joins and unjoins in the same save as its other changes, or not at all.
    let mut c = changes(&second);
    c.comment = "тот же стояк".into();
    c.joined_to = Some(first.id);
    let second = op.save_appeal(second.id, second.version, &c).await?;
    assert_eq!(
        (second.joined_to, second.comment.as_str()),
        (Some(first.id), "тот же стояк")
    );
    let mut c = changes(&second);
    c.comment = "не сохранится".into();
    c.joined_to = Some(other.id);
    assert!(matches!(
        op.save_appeal(second.id, second.version, &c).await,
        Err(Error::Rule { rule: Rule::Join, .. })
    ));
    let kept = op.appeal(second.id).await?;
    assert_eq!(
        (kept.joined_to, kept.comment.as_str()),
        (Some(first.id), "тот же стояк")
    );
    let mut c = changes(&kept);
    c.joined_to = None;
    assert_eq!(op.save_appeal(kept.id, kept.version, &c).await?.joined_to, None);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn an_inquiry_is_answered_on_the_spot(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", None, city.tariffs))
        .await?
        .remove(0);
    let a = op.change_status(a.id, a.version, AppealStatus::Done).await?;
    assert_eq!(a.status, AppealStatus::Done);
    let leak = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    assert!(matches!(
        op.change_status(leak.id, leak.version, AppealStatus::Done).await,
        Err(Error::Rule {
            rule: Rule::Transition,
            ..
        })
    ));
    // Or in the card that registers it, in one save.
    let mut answered = card("+79123456780", None, city.tariffs);
    answered.status = Some(AppealStatus::Done);
    let a = op.create_appeals(&answered).await?.remove(0);
    assert_eq!(a.status, AppealStatus::Done);
    // A card with a leak among its reasons cannot be registered as done: nothing of it is saved.
    let mut both = card("+79123456781", None, city.tariffs);
    let mut leak = card("+79123456781", Some(city.lenina_10), city.leak).reasons.remove(0);
    leak.id = Uuid::now_v7();
    both.reasons.push(leak);
    both.status = Some(AppealStatus::Done);
    assert!(matches!(
        op.create_appeals(&both).await,
        Err(Error::Rule {
            rule: Rule::Transition,
            ..
        })
    ));
    let saved: i64 = sqlx::query_scalar("select count(*) from appeals where identifier = '+79123456781'")
        .fetch_one(city.owner.pool())
        .await?;
    assert_eq!(saved, 0);
    Ok(())
}

/// The change stream keeps a day of changes (what a listener that was away reads back) and is
/// cleared of older ones every thousand changes, once a transaction at most.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_change_stream_keeps_a_day(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let mut tx = city.owner.pool().begin().await?;
    // Changes of two days and of an hour ago, then the stream's thousandth change.
    let old = |ago: &'static str| {
        format!(
            "insert into appeal_changes (at, appeal_id, op, version) values (now() - interval '{ago}', '{}', 'update', 1) returning seq",
            a.id
        )
    };
    let two_days: i64 = sqlx::query_scalar(&old("2 days")).fetch_one(&mut *tx).await?;
    let an_hour: i64 = sqlx::query_scalar(&old("1 hour")).fetch_one(&mut *tx).await?;
    let kept = |seq: i64| format!("select exists (select 1 from appeal_changes where seq = {seq})");
    let announce_thousandth = |thousands: i64| {
        format!(
            "select setval(pg_get_serial_sequence('appeal_changes', 'seq'), {}), dialog_announce('{}', 'update')",
            thousands * 1000 - 1,
            a.id
        )
    };
    sqlx::raw_sql(&announce_thousandth(1)).execute(&mut *tx).await?;
    assert!(
        !sqlx::query_scalar::<_, bool>(&kept(two_days))
            .fetch_one(&mut *tx)
            .await?
    );
    assert!(
        sqlx::query_scalar::<_, bool>(&kept(an_hour))
            .fetch_one(&mut *tx)
            .await?
    );
    // A second thousand in the same transaction leaves the stream as it is.
    let again: i64 = sqlx::query_scalar(&old("3 days")).fetch_one(&mut *tx).await?;
    sqlx::raw_sql(&announce_thousandth(2)).execute(&mut *tx).await?;
    assert!(sqlx::query_scalar::<_, bool>(&kept(again)).fetch_one(&mut *tx).await?);
    tx.commit().await?;
    // The next transaction's thousandth change clears it.
    let owner = city.owner.pool();
    sqlx::raw_sql(&announce_thousandth(3)).execute(owner).await?;
    assert!(!sqlx::query_scalar::<_, bool>(&kept(again)).fetch_one(owner).await?);
    assert!(sqlx::query_scalar::<_, bool>(&kept(an_hour)).fetch_one(owner).await?);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn every_change_is_announced(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (anna, _) = person(&city, StaffRole::Operator, None).await?;
    let (boris, _) = person(&city, StaffRole::Operator, None).await?;
    let mut events = Box::pin(boris.appeal_events().await?);
    let a = anna
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let a = anna.assign_executor(a.id, a.version, city.plumber).await?;
    anna.add_comment(a.id, "Перезвонить через час").await?;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let e = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await?
            .expect("stream open")?;
        assert_eq!(e.id, a.id);
        seen.push((e.op, e.version));
    }
    // The executor and «назначено» are one change of the appeal, announced once; a comment
    // leaves the appeal's version as it was.
    assert_eq!(a.status, AppealStatus::Assigned);
    assert_eq!(
        seen,
        [
            ("insert".to_string(), Some(1)),
            ("update".to_string(), Some(2)),
            ("comment".to_string(), Some(2))
        ]
    );
    Ok(())
}

/// The card offers the statuses the appeal carries (`next_statuses`): for every status, type
/// and role, each one offered is taken by the database and each one not offered is refused by
/// its status rules.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_card_offers_exactly_the_steps_the_database_takes(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let (sup, _) = person(&city, StaffRole::Supervisor, None).await?;
    let mut tried = 0;
    for (kind, building) in [(city.leak, Some(city.lenina_10)), (city.tariffs, Some(city.lenina_10))] {
        let mut c = card("+79123456789", building, kind);
        if kind == city.leak {
            c.reasons[0].executor_ids = vec![city.plumber];
        }
        let a = op.create_appeals(&c).await?.remove(0);
        if kind == city.leak {
            // The data every step may need: an executor, and a call the PBX carried to them.
            pbx_call(&city, "2001", city.plumber_phone).await?;
        }
        for from in AppealStatus::ALL {
            for (who, store) in [("operator", &op), ("supervisor", &sup)] {
                for to in AppealStatus::ALL.iter().filter(|t| *t != from) {
                    // Put the appeal in `from` as the owner would (rules off), and read it as
                    // the person.
                    let mut owner = city.owner.pool().acquire().await?;
                    sqlx::query("set session_replication_role = replica")
                        .execute(&mut *owner)
                        .await?;
                    sqlx::query("update appeals set status = $2, version = version + 1 where id = $1")
                        .bind(a.id)
                        .bind(from)
                        .execute(&mut *owner)
                        .await?;
                    sqlx::query("set session_replication_role = origin")
                        .execute(&mut *owner)
                        .await?;
                    drop(owner);
                    let now = store.appeal(a.id).await?;
                    let offered = now.next_statuses.contains(to);
                    let r = store.change_status(a.id, now.version, *to).await;
                    let refused_by_status_rules = matches!(
                        r,
                        Err(Error::Rule {
                            rule: Rule::Transition | Rule::SupervisorOnly,
                            ..
                        })
                    );
                    // Not offered: refused by the status rules. Offered: taken — where the
                    // appeal has what the step needs (the accident has its executor and call; the
                    // inquiry has no executor, and says so).
                    assert_eq!(!offered, refused_by_status_rules, "{who}: {from:?} → {to:?}: {r:?}");
                    if kind == city.leak {
                        assert_eq!(
                            offered,
                            r.is_ok(),
                            "{who}: {from:?} → {to:?} offered: {offered}, database: {r:?}"
                        );
                    }
                    tried += 1;
                }
            }
        }
    }
    assert_eq!(tried, 2 * 6 * 2 * 5);
    Ok(())
}

/// A letter or a visit may leave no phone and no e-mail, but then names the applicant and an
/// address to answer; a phone call may not.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_letter_may_come_without_a_phone_or_an_e_mail(pool: PgPool) -> TestResult {
    let city = city(pool.clone()).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    // The app's list of such channels is the database's.
    for c in Channel::ALL {
        let allows: bool = sqlx::query_scalar("select dialog_channel_allows_no_identifier($1)")
            .bind(c)
            .fetch_one(&pool)
            .await?;
        assert_eq!(allows, Channel::WITHOUT_IDENTIFIER.contains(c), "{c:?}");
    }
    let mut letter = card("", Some(city.lenina_10), city.leak);
    letter.channel = Channel::Letter;
    letter.applicant_name = "Письмова Анна".into();
    // No address to answer: refused in words, on the field to fill.
    match op.create_appeals(&letter).await {
        Err(Error::Invalid {
            field: "contacts",
            message,
        }) => assert!(message.contains("почтовый адрес"), "{message}"),
        other => panic!("{other:?}"),
    }
    letter.contacts = "443001, Самара, ул. Ленина, 10, кв. 5".into();
    let a = op.create_appeals(&letter).await?.remove(0);
    assert_eq!((a.identifier.as_str(), a.channel), ("", Channel::Letter));
    // A phone call without a number is not taken.
    let mut call = letter.clone();
    call.channel = Channel::Phone;
    call.reasons[0].id = Uuid::now_v7();
    match op.create_appeals(&call).await {
        Err(Error::Invalid {
            field: "identifier",
            message,
        }) => assert!(message.contains("письмо или личный приём"), "{message}"),
        other => panic!("{other:?}"),
    }
    Ok(())
}

/// Photos attached to a new card are stored with its appeal in the same save: all or nothing,
/// once however often the save is retried.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn files_come_with_the_first_save(pool: PgPool) -> TestResult {
    use base64::Engine;
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let photo = dialog_core::files::NewFile {
        id: Uuid::now_v7(),
        file_name: "протечка.jpg".into(),
        mime: "image/jpeg".into(),
        base64: base64::engine::general_purpose::STANDARD.encode(b"\xff\xd8\xff\xe0 JFIF leak"),
    };
    let mut new = card("+79123456789", Some(city.lenina_10), city.leak);
    new.reasons[0].attachments = vec![photo.clone()];
    // A second reason that cannot be saved takes the first, and its photo, with it.
    let mut bad = new.clone();
    bad.reasons.push(Reason {
        id: Uuid::now_v7(),
        kind_id: Some(city.leak),
        ..Default::default()
    });
    assert!(op.create_appeals(&bad).await.is_err());
    let stored: i64 = sqlx::query_scalar("select count(*) from attachments")
        .fetch_one(city.owner.pool())
        .await?;
    assert_eq!(stored, 0);
    let a = op.create_appeals(&new).await?.remove(0);
    op.create_appeals(&new).await?;
    let files = op.attachments(a.id).await?;
    assert_eq!(
        files.iter().map(|f| f.file_name.as_str()).collect::<Vec<_>>(),
        ["протечка.jpg"]
    );
    assert_eq!(op.attachment_content(files[0].id).await?, b"\xff\xd8\xff\xe0 JFIF leak");
    Ok(())
}

/// One statement over many appeals (a renamed building, a loaded history) writes each appeal
/// its own history line, with the time and the person of its own row, and announces each in
/// order; a person's save after it in the same session is stamped as any save is; and a line
/// written by hand, even by the owner, gets the database's stamps, not the ones it brought.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_statement_over_many_appeals_writes_each_its_own_line(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (anna, anna_login) = person(&city, StaffRole::Operator, None).await?;
    let mut ids = Vec::new();
    for phone in ["+79123456781", "+79123456782", "+79123456783"] {
        ids.push(
            anna.create_appeals(&card(phone, Some(city.lenina_10), city.leak))
                .await?[0]
                .id,
        );
    }
    let head: i64 = sqlx::query_scalar("select coalesce(max(seq), 0) from appeal_changes")
        .fetch_one(city.owner.pool())
        .await?;
    let mut owner = city.owner.pool().begin().await?;
    // As the demo's loader does: each row's clock and person set as the row is written.
    sqlx::query(
        "update appeals a set comment = 'Сосед снизу: ' || t.n,
                (updated_at, updated_by) = (set_config('dialog.clock', (timestamptz '2026-03-01 10:00+03' + t.n * interval '1 hour')::text, true)::timestamptz,
                                            set_config('dialog.actor', $2, true))
         from unnest($1::uuid[]) with ordinality t(id, n) where a.id = t.id",
    )
    .bind(&ids)
    .bind(&anna_login)
    .execute(&mut *owner)
    .await?;
    sqlx::query("select set_config('dialog.clock', '', true), set_config('dialog.actor', '', true)")
        .execute(&mut *owner)
        .await?;
    sqlx::query("insert into appeal_history (appeal_id, action, comment, at, actor) values ($1, 'comment', 'от руки', '2000-01-01', 'кто-то')")
        .bind(ids[0])
        .execute(&mut *owner)
        .await?;
    owner.commit().await?;
    let lines = sqlx::query_as::<_, (Uuid, String, String, chrono::DateTime<chrono::Utc>)>(
        "select appeal_id, action, actor, at from appeal_history where appeal_id = any($1) and action in ('changed', 'comment') order by id",
    )
    .bind(&ids)
    .fetch_all(city.owner.pool())
    .await?;
    let hour = |n: i64| {
        chrono::DateTime::parse_from_rfc3339("2026-03-01T07:00:00Z")
            .expect("a time")
            .with_timezone(&chrono::Utc)
            + chrono::Duration::hours(n)
    };
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            (lines[i].0, lines[i].1.as_str(), lines[i].2.as_str(), lines[i].3),
            (*id, "changed", anna_login.as_str(), hour(i as i64 + 1)),
            "the line of appeal {i}"
        );
    }
    let by_hand = &lines[3];
    assert_eq!(by_hand.1, "comment");
    assert_ne!(by_hand.2, "кто-то", "the owner's own login, not the one brought");
    assert!(
        by_hand.3 > chrono::Utc::now() - chrono::Duration::minutes(5),
        "stamped now: {}",
        by_hand.3
    );
    let announced: Vec<Uuid> =
        sqlx::query_scalar("select appeal_id from appeal_changes where seq > $1 and op = 'update' order by seq")
            .bind(head)
            .fetch_all(city.owner.pool())
            .await?;
    assert_eq!(announced, ids, "each change announced, in the statement's order");
    // A person's save afterwards is stamped with its own time.
    let a = anna.appeal(ids[1]).await?;
    let mut c = changes(&a);
    c.comment = "Течь устранена соседом".into();
    anna.save_appeal(a.id, a.version, &c).await?;
    let last = anna.history(a.id).await?.pop().expect("a line");
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("changed", anna_login.as_str())
    );
    assert!(
        last.at > chrono::Utc::now() - chrono::Duration::minutes(5),
        "{}",
        last.at
    );
    Ok(())
}
