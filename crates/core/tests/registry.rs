//! The registry, templates and the lookups of the card, against the real database.

mod common;

use std::collections::HashSet;

use common::*;
use dialog_core::appeals::Reason;
use dialog_core::desk::Article;
use dialog_core::model::{AppealStatus, AppealType, StaffRole};
use dialog_core::registry::{FilterTemplate, QuickFilter, RegistryFilter, Sort};
use dialog_core::Error;
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn quick_search_finds_by_address_phone_number_and_comment(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let at_10 = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let mut other = card("+79991112233", Some(city.lenina_110), city.no_hot_water);
    other.applicant_name = "Ёлкин Семён".into();
    other.reasons[0].comment = "Нет воды с утра, дети дома".into();
    let at_110 = op.create_appeals(&other).await?.remove(0);
    let at_mira = op
        .create_appeals(&card("ivan@example.ru", Some(city.mira_5), city.leak))
        .await?
        .remove(0);

    let find = |text: &str| {
        let f = RegistryFilter {
            text: text.into(),
            ..Default::default()
        };
        let op = op.clone();
        async move {
            Ok::<_, Error>(
                op.registry_page(&f, Sort::ReceivedDesc, None, 50)
                    .await?
                    .rows
                    .into_iter()
                    .map(|r| r.number)
                    .collect::<Vec<_>>(),
            )
        }
    };
    assert_eq!(
        find("ленина 10").await?,
        vec![at_10.number.clone()],
        "house 10, not 110"
    );
    assert_eq!(find("ул. Ленина, д. 110").await?, vec![at_110.number.clone()]);
    assert_eq!(find("ЛЕНИНА").await?, vec![at_110.number.clone(), at_10.number.clone()]);
    assert_eq!(find("8 (912) 345-67-89").await?, vec![at_10.number.clone()]);
    assert_eq!(find("345-67").await?, vec![at_10.number.clone()]);
    assert_eq!(find(&at_mira.number).await?, vec![at_mira.number.clone()]);
    assert_eq!(
        find(
            at_mira
                .number
                .trim_start_matches(|c| c != '-')
                .trim_start_matches(['-', '0'])
        )
        .await?,
        vec![at_mira.number.clone()],
        "the number without the year and zeros"
    );
    assert_eq!(
        find("елкин").await?,
        vec![at_110.number.clone()],
        "ё and е are one letter"
    );
    assert_eq!(find("дети дома").await?, vec![at_110.number.clone()]);
    assert_eq!(find("ivan@example").await?, vec![at_mira.number.clone()]);
    assert_eq!(
        find("горячей воды").await?,
        vec![at_110.number.clone()],
        "the kind's name"
    );
    assert!(find("пушкина").await?.is_empty());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn filters_quick_filters_and_keyset_pages(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    // 25 leaks at Ленина 10 received over the last 25 hours, 5 inquiries, 3 at Мира.
    for h in 0..25 {
        let mut c = card("+79123456789", Some(city.lenina_10), city.leak);
        c.received_at = Some(chrono::Utc::now() - chrono::Duration::hours(h));
        op.create_appeals(&c).await?;
    }
    for _ in 0..5 {
        op.create_appeals(&card("+79123456700", None, city.tariffs)).await?;
    }
    let mut mira = Vec::new();
    for _ in 0..3 {
        let mut c = card("+79123456701", Some(city.mira_5), city.leak);
        c.reasons[0].executor_ids = vec![city.plumber_b];
        mira.push(op.create_appeals(&c).await?.remove(0));
    }
    // Every row exactly once over pages of 7, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = op
            .registry_page(&Default::default(), Sort::ReceivedDesc, after, 7)
            .await?;
        seen.extend(page.rows.iter().map(|r| (r.received_at, r.id)));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 33);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 33);
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "newest first");

    // The same over an address search (served building by building).
    let by_address = RegistryFilter {
        text: "ленина 10".into(),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = op.registry_page(&by_address, Sort::ReceivedDesc, after, 7).await?;
        seen.extend(page.rows.iter().map(|r| (r.received_at, r.id)));
        match page.next {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 25);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 25);
    assert!(seen.windows(2).all(|w| w[0] >= w[1]), "newest first");
    assert_eq!(op.registry_count(&by_address).await?, 25);

    let count = |f: RegistryFilter| {
        let op = op.clone();
        async move { op.registry_count(&f).await }
    };
    assert_eq!(
        count(RegistryFilter {
            types: vec![AppealType::Inquiry],
            ..Default::default()
        })
        .await?,
        5
    );
    assert_eq!(
        count(RegistryFilter {
            organization_ids: vec![city.org_b],
            ..Default::default()
        })
        .await?,
        3
    );
    assert_eq!(
        count(RegistryFilter {
            executor_ids: vec![city.plumber_b],
            ..Default::default()
        })
        .await?,
        3
    );
    assert_eq!(
        count(RegistryFilter {
            statuses: vec![AppealStatus::Assigned],
            ..Default::default()
        })
        .await?,
        3
    );
    assert_eq!(
        count(RegistryFilter {
            kind_ids: vec![city.leak],
            ..Default::default()
        })
        .await?,
        28
    );
    let since = chrono::Utc::now() - chrono::Duration::minutes(90);
    assert_eq!(
        count(RegistryFilter {
            received_from: Some(since),
            kind_ids: vec![city.leak],
            organization_ids: vec![city.org_a],
            ..Default::default()
        })
        .await?,
        2
    );
    // Leaks need localising within 30 minutes: those received over half an hour ago are
    // overdue, the fresh ones due within the hour; inquiries have 10 days.
    let soon = RegistryFilter {
        quick: Some(QuickFilter::DeadlineSoon),
        ..Default::default()
    };
    assert_eq!(count(soon.clone()).await?, 28);
    let rows = op.registry_page(&soon, Sort::Deadline, None, 100).await?.rows;
    assert!(
        rows.windows(2).all(|w| w[0].control_at <= w[1].control_at),
        "nearest deadline first"
    );
    assert!(rows[0].overdue && !rows.last().map(|r| r.overdue).unwrap_or(true));
    // Nobody has been called about any of them.
    let unnotified = RegistryFilter {
        quick: Some(QuickFilter::ExecutorNotNotified),
        ..Default::default()
    };
    assert_eq!(count(unnotified.clone()).await?, 28);
    pbx_call(&city, "2001", "+79170000002").await?;
    let a = op.appeal(mira[0].id).await?;
    op.change_status(a.id, a.version, AppealStatus::InWork).await?;
    assert_eq!(count(unnotified).await?, 27);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn templates_count_live_and_sharing_is_for_supervisors(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let (sup, _) = person(&city, StaffRole::Supervisor, None).await?;
    let (other, _) = person(&city, StaffRole::Operator, None).await?;
    let accidents = RegistryFilter {
        types: vec![AppealType::Accident],
        ..Default::default()
    };
    let mine = FilterTemplate {
        id: Uuid::now_v7(),
        owner: String::new(),
        name: "Мои аварии".into(),
        shared: false,
        filter: accidents.clone(),
        position: 0,
    };
    op.save_template(&mine).await?;
    let shared = FilterTemplate {
        id: Uuid::now_v7(),
        name: "Аварии центра".into(),
        shared: true,
        ..mine.clone()
    };
    assert!(matches!(op.save_template(&shared).await, Err(Error::Forbidden(_))));
    sup.save_template(&shared).await?;
    op.create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?;
    op.create_appeals(&card("+79123456789", None, city.tariffs)).await?;
    // Beside the center's presets (every desktop has them).
    let ours = |t: Vec<dialog_core::registry::TemplateCount>| {
        t.into_iter()
            .filter(|t| t.template.owner != "dialog")
            .collect::<Vec<_>>()
    };
    let t = ours(op.templates().await?);
    assert_eq!(
        t.iter()
            .map(|t| (t.template.name.as_str(), t.count))
            .collect::<Vec<_>>(),
        [("Мои аварии", 1), ("Аварии центра", 1)]
    );
    // Someone else sees only the shared one, and cannot change it.
    let t = ours(other.templates().await?);
    assert_eq!(t.len(), 1);
    let mut hijack = shared.clone();
    hijack.name = "Взломано".into();
    assert!(other.save_template(&hijack).await.is_err());
    assert!(matches!(
        other.delete_template(shared.id).await,
        Err(Error::NotFound(_))
    ));
    op.delete_template(mine.id).await?;
    assert_eq!(ours(op.templates().await?).len(), 1);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_card_finds_buildings_kinds_and_problems(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let b = op.search_buildings("ленина 10", 10).await?;
    assert_eq!(b[0].id, city.lenina_10, "the exact house first");
    assert_eq!(b[0].address, "Самара, ул. Ленина, д. 10");
    assert_eq!(b.len(), 1, "house 110 is not house 10");
    assert_eq!(op.search_buildings("ленина", 10).await?.len(), 2);
    assert_eq!(op.search_buildings("мира", 10).await?.len(), 1);
    assert!(op.search_buildings("пушкина 1", 10).await?.is_empty());
    let k = op.search_kinds("течь").await?;
    assert_eq!(k.iter().map(|k| k.id).collect::<Vec<_>>(), vec![city.leak]);
    assert_eq!(op.search_kinds("ГВС").await?[0].id, city.no_hot_water);
    assert_eq!(op.search_kinds("").await?.len(), 3);

    let old = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.tariffs))
        .await?
        .remove(0);
    op.change_status(old.id, old.version, AppealStatus::Done).await?;
    let live = op
        .create_appeals(&card("+79000000000", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    let p = op.problems(Some(city.lenina_10), Some("8 912 345 67 89")).await?;
    assert_eq!(p.live.iter().map(|r| r.id).collect::<Vec<_>>(), vec![live.id]);
    assert_eq!(p.archived.iter().map(|r| r.id).collect::<Vec<_>>(), vec![old.id]);
    assert_eq!(p.from_applicant.iter().map(|r| r.id).collect::<Vec<_>>(), vec![old.id]);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_knowledge_base_is_searched_in_russian_and_edited_by_admins(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, _) = person(&city, StaffRole::Admin, None).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let article = Article {
        id: Uuid::now_v7(),
        title: "Что делать при прорыве трубы".into(),
        body: "Попросите жильца перекрыть вентиль на стояке и вызовите аварийную службу.".into(),
        tags: vec!["авария".into()],
        updated_at: chrono::Utc::now(),
    };
    assert!(matches!(op.save_article(&article).await, Err(Error::Forbidden(_))));
    admin.save_article(&article).await?;
    let hits = op.search_articles("трубу").await?;
    assert_eq!(hits.len(), 1, "stemming: трубу → трубы");
    assert_eq!(op.search_articles("перекрыть вентиль").await?.len(), 1);
    let hits = op.search_articles("аварийной службы").await?;
    assert!(hits[0].snippet.contains("«аварийную» «службу»"), "{}", hits[0].snippet);
    assert!(op.search_articles("лифт").await?.is_empty());
    assert_eq!(op.article(article.id).await?.title, article.title);
    assert!(matches!(op.delete_article(article.id).await, Err(Error::Forbidden(_))));
    admin.delete_article(article.id).await?;
    assert!(
        op.search_articles("трубу").await?.is_empty(),
        "a deleted article is not found"
    );
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn several_reasons_share_one_applicant(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let mut c = card("+79123456789", Some(city.lenina_10), city.leak);
    c.reasons.push(Reason {
        id: Uuid::now_v7(),
        kind_id: Some(city.tariffs),
        ..Default::default()
    });
    op.create_appeals(&c).await?;
    let f = RegistryFilter {
        text: "Иванова".into(),
        ..Default::default()
    };
    assert_eq!(op.registry_count(&f).await?, 2);
    Ok(())
}

/// A fresh center's desktop has the manual's working filters, shared; «Мои за сегодня» shows
/// what the person registered today.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_fresh_desktop_has_the_working_filters(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let (other, _) = person(&city, StaffRole::Operator, None).await?;
    op.create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?;
    other
        .create_appeals(&card("+79123456780", Some(city.lenina_10), city.leak))
        .await?;
    let desk = op.templates().await?;
    let names: Vec<&str> = desk.iter().map(|t| t.template.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Аварии в работе",
            "Срок истекает",
            "Исполнитель не оповещён",
            "Мои за сегодня"
        ]
    );
    assert!(desk.iter().all(|t| t.template.shared));
    let mine = desk
        .iter()
        .find(|t| t.template.name == "Мои за сегодня")
        .map(|t| t.count);
    assert_eq!(mine, Some(1));
    assert_eq!(desk[0].count, 2, "both accidents are live");
    Ok(())
}
