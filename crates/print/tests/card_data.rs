//! The card made of an appeal as `dialog-core` reads it.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use dialog_core::appeals::{Appeal, AssignedExecutor, HistoryEntry};
use dialog_core::model::{AppealStatus, AppealType, Channel, Priority};
use dialog_print::{CardData, HISTORY_LINES};
use serde_json::json;
use uuid::Uuid;

fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0)
        .single()
        .expect("a valid time")
}

fn appeal() -> Appeal {
    Appeal {
        id: Uuid::nil(),
        number: "2026-000123".into(),
        received_at: utc(26, 11, 5),
        registered_at: utc(26, 11, 6),
        channel: Channel::Phone,
        identifier: "+79123456789".into(),
        applicant_name: "Сёмина Алёна Петровна".into(),
        contacts: String::new(),
        building_id: Some(Uuid::nil()),
        address: "ул. Ленина, д. 5, кв. 15, подъезд 2".into(),
        apartment: "15".into(),
        entrance: "2".into(),
        floor: String::new(),
        address_note: String::new(),
        kind_id: Uuid::nil(),
        kind_name: "Нет горячей воды".into(),
        appeal_type: AppealType::Request,
        priority: Priority::Medium,
        status: AppealStatus::InWork,
        progress: 50,
        comment: "Нет воды".into(),
        joined_to: None,
        organization_id: None,
        localize_deadline_at: Some(utc(26, 11, 35)),
        deadline_at: Some(utc(27, 11, 5)),
        control_at: None,
        notified_at: None,
        in_work_at: None,
        done_at: None,
        closed_at: None,
        created_by: "ivanova".into(),
        updated_at: utc(26, 11, 10),
        updated_by: "ivanova".into(),
        version: 3,
        needs_address: true,
        next_statuses: Vec::new(),
        building_address: None,
        executors: vec![AssignedExecutor {
            executor_id: Uuid::nil(),
            full_name: "Ёжиков Пётр Семёнович".into(),
            phones: vec!["+79221112233".into()],
            assigned_at: utc(26, 11, 8),
            notified: true,
        }],
    }
}

fn entry(m: u32, action: &str, before: Option<serde_json::Value>, after: Option<serde_json::Value>) -> HistoryEntry {
    HistoryEntry {
        at: utc(26, 11, m),
        actor: "ivanova".into(),
        actor_name: Some("Иванова Анна Сергеевна".into()),
        action: action.into(),
        before,
        after,
        comment: None,
        text: String::new(),
    }
}

#[test]
fn times_are_the_centers_wall_clock_and_fields_read_like_words() {
    let moscow = FixedOffset::east_opt(3 * 3600).expect("an offset");
    let history = [
        entry(
            9,
            "status",
            Some(json!({"status": "назначено"})),
            Some(json!({"status": "в работе"})),
        ),
        entry(6, "created", None, Some(json!({"status": "новый"}))),
        entry(
            7,
            "changed",
            Some(json!({"contacts": ""})),
            Some(json!({"contacts": "x"})),
        ),
        entry(8, "assigned", None, Some(json!({"executor": "Ёжиков Пётр Семёнович"}))),
    ];
    let card = CardData::from_appeal(&appeal(), &history, &moscow);
    assert_eq!(
        card.received_at.format("%d.%m.%Y %H:%M").to_string(),
        "26.11.2026 14:05"
    );
    assert_eq!(card.channel, "телефон");
    assert_eq!(card.identifier, "+7 912 345-67-89");
    assert_eq!(
        card.address, "ул. Ленина, д. 5, кв. 15, подъезд 2",
        "the store's address, not doubled"
    );
    assert_eq!(card.kind, "Нет горячей воды");
    assert_eq!(
        (card.appeal_type.as_str(), card.priority.as_str()),
        ("заявка", "средний")
    );
    assert_eq!(
        card.localize_deadline, None,
        "only accidents have a localisation deadline"
    );
    assert_eq!(card.executors[0].phones, ["+7 922 111-22-33"]);
    let what: Vec<&str> = card.history.iter().map(|h| h.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "зарегистрировано",
            "назначен исполнитель Ёжиков Пётр Семёнович",
            "статус «назначено» → «в работе»",
        ],
        "oldest first, field edits left out"
    );
    assert_eq!(card.history[0].who, "Иванова Анна Сергеевна");
}

#[test]
fn without_a_building_the_address_is_made_of_its_parts_and_history_is_cut_short() {
    let mut a = appeal();
    a.building_id = None;
    a.address = String::new();
    a.floor = "3".into();
    a.appeal_type = AppealType::Accident;
    let history: Vec<HistoryEntry> = (0..30)
        .map(|i| HistoryEntry {
            comment: Some(format!("звонок {i}")),
            ..entry(i, "comment", None, None)
        })
        .collect();
    let card = CardData::from_appeal(&a, &history, &Utc);
    assert_eq!(card.address, "кв. 15, подъезд 2, этаж 3");
    assert!(card.localize_deadline.is_some());
    assert_eq!(card.history.len(), HISTORY_LINES);
    assert_eq!(card.history_omitted, 30 - HISTORY_LINES);
    assert_eq!(
        card.history.last().map(|h| h.what.as_str()),
        Some("комментарий: звонок 29")
    );
}
