//! The admin's directory: who serves a building the admin adds.
mod common;

use common::*;
use dialog_core::desk::{NewShift, Price};
use dialog_core::directory::Building;
use dialog_core::model::StaffRole;
use dialog_core::Error;
use uuid::Uuid;

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_new_building_gets_the_executors_the_admin_chose(pool: sqlx::PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, _) = person(&city, StaffRole::Admin, None).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let building = Building {
        id: Uuid::now_v7(),
        organization_id: city.org_a,
        city: "Самара".into(),
        street: "ул. Новая".into(),
        house: "1".into(),
        block: String::new(),
        address: String::new(),
    };
    let id = admin.save_building_served(&building, &[city.plumber]).await?;
    let served: Vec<Uuid> = op
        .executors_for(city.leak, id)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(served, [city.plumber], "the plumber can be assigned at the new address");
    assert!(op
        .executors_for(city.leak, city.lenina_10)
        .await?
        .iter()
        .any(|e| e.id == city.plumber));
    // Saved again without him: nobody serves it, and his other buildings stay his.
    admin.save_building_served(&building, &[]).await?;
    assert!(op.executors_for(city.leak, id).await?.is_empty());
    assert!(op
        .executors_for(city.leak, city.lenina_10)
        .await?
        .iter()
        .any(|e| e.id == city.plumber));
    // An operator cannot change who serves what.
    assert!(op.save_building_served(&building, &[city.plumber]).await.is_err());
    Ok(())
}

/// A building handed to another organization through the directory, or renamed by hand in the
/// database: its appeals belong to the new organization, show the new address and are found by it.
#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_renamed_building_renames_its_appeals(pool: sqlx::PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, _) = person(&city, StaffRole::Admin, None).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let a = op
        .create_appeals(&card("+79123456789", Some(city.lenina_10), city.leak))
        .await?
        .remove(0);
    assert!(a.address.contains("Ленина"), "{}", a.address);
    let mut moved = admin.building(city.lenina_10).await?;
    assert_eq!(moved.organization_id, city.org_a);
    moved.organization_id = city.org_b;
    admin.save_building_served(&moved, &[city.plumber]).await?;
    let derived = || {
        sqlx::query_as::<_, (String, String, Uuid)>(
            "select address, search_text, organization_id from appeals where id = $1",
        )
        .bind(a.id)
        .fetch_one(city.owner.pool())
    };
    assert_eq!(derived().await?.2, city.org_b, "the appeal went with its building");
    sqlx::query("update buildings set street = 'пр. Кирова' where id = $1")
        .bind(city.lenina_10)
        .execute(city.owner.pool())
        .await?;
    let (address, text, organization) = derived().await?;
    assert!(address.contains("Кирова") && !address.contains("Ленина"), "{address}");
    assert!(text.contains("кирова") && !text.contains("ленина"), "{text}");
    assert_eq!(organization, city.org_b);
    assert_eq!(op.appeal(a.id).await?.address, address);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_admin_keeps_a_buildings_price_list(pool: sqlx::PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, _) = person(&city, StaffRole::Admin, None).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let mut p = Price {
        id: Uuid::now_v7(),
        building_id: city.lenina_10,
        service: "Замена смесителя".into(),
        price: "1 500,5".into(),
        unit: "шт.".into(),
        note: String::new(),
    };
    admin.save_price(&p).await?;
    let list = op.prices(city.lenina_10).await?;
    assert_eq!(
        list.iter()
            .map(|x| (x.service.as_str(), x.price.as_str()))
            .collect::<Vec<_>>(),
        [("Замена смесителя", "1500.50")]
    );
    for bad in ["сто", "-5", "1.2.3", "12,345", ""] {
        p.price = bad.into();
        let e = admin.save_price(&p).await.expect_err(bad);
        assert!(matches!(e, Error::Invalid { .. }), "{bad}: {e:?}");
        assert!(e.to_string().contains("записана неверно"), "{e}");
    }
    p.price = "900".into();
    assert!(op.save_price(&p).await.is_err(), "operators only read the price list");
    admin.delete_price(p.id).await?;
    assert!(op.prices(city.lenina_10).await?.is_empty());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_admin_keeps_the_executors_schedule(pool: sqlx::PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, _) = person(&city, StaffRole::Admin, None).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let start = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut shift = NewShift {
        id: Uuid::now_v7(),
        executor_id: city.plumber,
        starts_at: start,
        ends_at: start + chrono::Duration::hours(12),
        note: "дежурный".into(),
    };
    assert!(op.add_shift(&shift).await.is_err(), "operators only read the schedule");
    admin.add_shift(&shift).await?;
    let week = op
        .schedule(
            start - chrono::Duration::hours(2),
            start + chrono::Duration::days(7),
            Some(city.org_a),
        )
        .await?;
    assert_eq!(week.len(), 1);
    assert_eq!(
        (week[0].note.as_str(), week[0].organization.is_some()),
        ("дежурный", true)
    );
    shift.id = Uuid::now_v7();
    shift.ends_at = start - chrono::Duration::hours(1);
    let e = admin.add_shift(&shift).await.expect_err("ends before it starts");
    assert!(e.to_string().contains("Конец смены должен быть позже начала"), "{e}");
    admin.delete_shift(week[0].id).await?;
    assert!(op
        .schedule(
            start - chrono::Duration::hours(2),
            start + chrono::Duration::days(7),
            None
        )
        .await?
        .is_empty());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_admin_renames_an_organization(pool: sqlx::PgPool) -> TestResult {
    let city = city(pool).await?;
    let (admin, _) = person(&city, StaffRole::Admin, None).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    admin
        .update_organization(city.org_a, "УК «Северная-2»", Some("8 (846) 200-00-09"))
        .await?;
    let orgs = op.organizations().await?;
    let a = orgs.iter().find(|o| o.id == city.org_a).expect("org A");
    assert_eq!(
        (a.name.as_str(), a.phone.as_deref()),
        ("УК «Северная-2»", Some("+78462000009"))
    );
    let taken = admin.update_organization(city.org_a, "УК «Южная»", None).await;
    assert!(matches!(taken, Err(Error::Invalid { .. })), "{taken:?}");
    assert!(admin
        .update_organization(city.org_a, "УК", Some("позвонить"))
        .await
        .is_err());
    assert!(
        op.update_organization(city.org_a, "Чужая", None).await.is_err(),
        "only admins"
    );
    Ok(())
}
