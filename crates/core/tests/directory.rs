//! The admin's directory: who serves a building the admin adds.
mod common;

use common::*;
use dialog_core::directory::Building;
use dialog_core::model::StaffRole;
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
