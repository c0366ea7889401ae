//! The mail intake's side of the database: a letter becomes one appeal, one comment or one
//! entry of «Письма без обращения», once, however often it is handed over; operators see the
//! list and register appeals from it; nobody but the mail service takes letters.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::*;
use dialog_core::events::Change;
use dialog_core::mail::{letter_key, Letter, LetterAppeal, LetterFile, Outcome};
use dialog_core::model::{Channel, StaffRole};
use dialog_core::pbx::{Duty, Service};
use dialog_core::Error;
use futures_util::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

async fn mail_service(city: &City) -> anyhow::Result<Service> {
    let login = format!("mail{}", &Uuid::now_v7().simple().to_string()[20..]);
    city.owner.add_service(&login, PASSWORD, Duty::Mail).await?;
    Ok(Service::connect(&options_for(city.owner.pool(), &login, PASSWORD), Duty::Mail).await?)
}

/// A kind for written appeals, as a center makes one.
async fn written_kind(city: &City) -> anyhow::Result<()> {
    sqlx::query(
        "insert into appeal_kinds (id, name, appeal_type, default_priority, resolve_minutes)
         values ($1, 'Письменное обращение', 'жалоба', 'средний', 14400)",
    )
    .bind(Uuid::now_v7())
    .execute(city.owner.pool())
    .await?;
    Ok(())
}

fn letter(uid: u32, subject: &str, text: &str) -> Letter {
    let id = format!("{}@mail.example.ru", Uuid::now_v7());
    Letter {
        mailbox: "dialog@imap.example.ru/INBOX".into(),
        uidvalidity: 1_700_000_000,
        uid,
        message_key: letter_key(Some(&id), b""),
        message_id: Some(id),
        sender: "Ivanova@Example.ru".into(),
        sender_name: "Иванова Мария".into(),
        subject: subject.into(),
        text: text.into(),
        received_at: Some(Utc::now()),
        size: 1000,
        raw: b"From: ivanova@example.ru\r\n\r\nraw".to_vec(),
        ..Default::default()
    }
}

async fn count(city: &City, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(city.owner.pool()).await?)
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_letter_becomes_an_appeal_that_operators_see_at_once(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let mail = mail_service(&city).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let mut changes = Box::pin(op.changes().await?);
    let mut l = letter(1, "Вопрос по квитанции за ноябрь", "Почему выросла сумма?");
    l.files.push(LetterFile {
        name: "квитанция.pdf".into(),
        mime: "application/pdf".into(),
        content: b"%PDF-1.4 receipt".to_vec(),
    });
    let t = mail.take_letter(&l, None).await?;
    let Outcome::Appeal { id, number } = t.outcome.clone() else {
        panic!("an appeal, not {t:?}")
    };
    assert!(t.fresh);
    let heard = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(c) = changes.next().await {
            if matches!(&c, Ok(Change::Appeal(e)) if e.id == id) {
                return true;
            }
        }
        false
    })
    .await?;
    assert!(heard, "an open registry hears of the mail-born appeal");
    let a = op.appeal(id).await?;
    assert_eq!(a.number, number);
    assert_eq!(a.channel, Channel::Email);
    assert_eq!(a.identifier, "ivanova@example.ru");
    assert_eq!(a.applicant_name, "Иванова Мария");
    assert_eq!(a.kind_id, city.tariffs, "the kind comes from the subject's keywords");
    assert!(a.comment.contains("Вопрос по квитанции за ноябрь") && a.comment.contains("Почему выросла сумма?"));
    let files = op.attachments(id).await?;
    assert_eq!(files.len(), 1);
    assert_eq!((files[0].file_name.as_str(), files[0].size), ("квитанция.pdf", 16));
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_letter_handed_over_again_changes_nothing(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let mail = mail_service(&city).await?;
    let l = letter(7, "Тариф на отопление", "Прошу пояснить");
    let first = mail.take_letter(&l, None).await?;
    let again = mail.take_letter(&l, None).await?;
    assert_eq!(
        (again.id, &again.outcome, again.fresh),
        (first.id, &first.outcome, false)
    );
    // The mailbox rebuilt (a new UIDVALIDITY): the same letter by its Message-ID.
    let mut rebuilt = l.clone();
    rebuilt.uidvalidity += 1;
    rebuilt.uid = 1;
    let copy = mail.take_letter(&rebuilt, None).await?;
    assert_eq!((copy.outcome, copy.fresh), (Outcome::Duplicate, false));
    assert_eq!(count(&city, "select count(*) from appeals").await?, 1);
    assert_eq!(mail.mail_last_uid(&l.mailbox, l.uidvalidity).await?, 7);
    assert_eq!(mail.mail_last_uid(&l.mailbox, rebuilt.uidvalidity).await?, 1);
    assert_eq!(mail.mail_last_uid(&l.mailbox, 42).await?, 0);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn replies_become_comments_by_number_and_by_thread(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let mail = mail_service(&city).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let first = letter(1, "Квитанция", "Сумма неверна");
    let Outcome::Appeal { id, number } = mail.take_letter(&first, None).await?.outcome else {
        panic!("an appeal")
    };
    // By the number in the subject (a reply from another address, e.g. a neighbour).
    let mut by_number = letter(2, &format!("Re: обращение № {number}"), "Сумму так и не исправили");
    by_number.sender = "sosed@example.ru".into();
    by_number.files.push(LetterFile {
        name: "фото.jpg".into(),
        mime: "image/jpeg".into(),
        content: vec![0xff, 0xd8, 0xff, 0xe0],
    });
    let t = mail.take_letter(&by_number, None).await?;
    assert_eq!(
        t.outcome,
        Outcome::Comment {
            id,
            number: number.clone()
        }
    );
    // By the thread: In-Reply-To names the first letter.
    let mut by_thread = letter(3, "Re: Квитанция", "Спасибо, жду ответа");
    by_thread.references = vec!["unknown@elsewhere".into(), first.message_id.clone().unwrap_or_default()];
    let t = mail.take_letter(&by_thread, None).await?;
    assert_eq!(
        t.outcome,
        Outcome::Comment {
            id,
            number: number.clone()
        }
    );
    // …and a reply to that reply still finds the appeal.
    let mut deeper = letter(4, "Re: Re: Квитанция", "Ещё одно");
    deeper.references = vec![by_thread.message_id.clone().unwrap_or_default()];
    assert_eq!(
        mail.take_letter(&deeper, None).await?.outcome,
        Outcome::Comment { id, number }
    );
    let comments: Vec<String> = op
        .history(id)
        .await?
        .into_iter()
        .filter(|h| h.action == "comment")
        .filter_map(|h| h.comment)
        .collect();
    assert_eq!(comments.len(), 3, "{comments:?}");
    assert!(comments[0].contains("sosed@example.ru") && comments[0].contains("Сумму так и не исправили"));
    assert_eq!(op.attachments(id).await?.len(), 1, "the reply's photo is the appeal's");
    assert_eq!(count(&city, "select count(*) from appeals").await?, 1);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn letters_that_cannot_be_appeals_wait_in_the_list_with_the_reason(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let mail = mail_service(&city).await?;
    let (op, _) = person(&city, StaffRole::Operator, None).await?;
    let (sup, _) = person(&city, StaffRole::Supervisor, None).await?;
    let (mgr, _) = person(&city, StaffRole::Manager, Some(city.org_a)).await?;
    let reason = |t: dialog_core::mail::Taken| match t.outcome {
        Outcome::Unmatched { reason } => reason,
        o => panic!("the list, not {o:?}"),
    };
    let mut nobody = letter(1, "Квитанция", "Без отправителя");
    nobody.sender = String::new();
    assert!(reason(mail.take_letter(&nobody, None).await?).contains("нет адреса отправителя"));
    // An accident needs an address, which a letter does not give…
    let r = reason(
        mail.take_letter(&letter(2, "Нет горячей воды", "Третий день"), None)
            .await?,
    );
    assert!(r.contains("«Нет горячей воды»") && r.contains("нужен адрес"), "{r}");
    assert!(
        reason(mail.take_letter(&letter(3, "Здравствуйте", "Помогите"), None).await?)
            .contains("не удалось определить вид")
    );
    // …and a file over 25 MiB is more than the database takes.
    let mut big = letter(4, "Квитанция", "Видео протечки");
    big.files.push(LetterFile {
        name: "видео.mp4".into(),
        mime: "video/mp4".into(),
        content: vec![7; 26 * 1024 * 1024],
    });
    assert!(reason(mail.take_letter(&big, None).await?).contains("больше 25 МБ"));
    let mut unreadable = letter(5, "", "");
    unreadable.refusal = Some("Письмо не удалось разобрать".into());
    reason(mail.take_letter(&unreadable, None).await?);
    // With a kind for written appeals, the accident becomes an appeal that says what it looks like.
    written_kind(&city).await?;
    let t = mail
        .take_letter(
            &letter(6, "Нет горячей воды", "Третий день"),
            Some("Письменное обращение"),
        )
        .await?;
    let Outcome::Appeal { id, .. } = t.outcome else {
        panic!("an appeal")
    };
    let a = op.appeal(id).await?;
    assert_eq!(a.kind_name, "Письменное обращение");
    assert!(
        a.comment.starts_with("Похоже на вид «Нет горячей воды»"),
        "{}",
        a.comment
    );
    assert!(mail.mail_default_kind_problem("Письменное обращение").await?.is_none());
    assert!(mail
        .mail_default_kind_problem("Нет такого")
        .await?
        .is_some_and(|p| p.contains("нет в справочнике")));
    assert!(mail
        .mail_default_kind_problem("Нет горячей воды")
        .await?
        .is_some_and(|p| p.contains("нужен адрес")));

    let list = op.mail_letters(false).await?;
    assert_eq!(list.len(), 5);
    assert_eq!(sup.mail_letters(false).await?.len(), 5);
    assert!(matches!(mgr.mail_letters(false).await, Err(Error::Forbidden(_))));
    let big_entry = list
        .iter()
        .find(|l| l.body == "Видео протечки")
        .expect("the big letter is listed");
    assert_eq!(big_entry.attachments[0]["name"], "видео.mp4");
    assert!(big_entry.has_raw, "the letter itself is kept");
    assert_eq!(op.mail_letter_raw(big_entry.id).await?.as_deref(), Some(&big.raw[..]));
    // Handing them over again lists nothing twice.
    for l in [&nobody, &big, &unreadable] {
        assert!(!mail.take_letter(l, None).await?.fresh);
    }
    assert_eq!(op.mail_letters(false).await?.len(), 5);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn an_operator_registers_an_appeal_from_a_letter_once(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let mail = mail_service(&city).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    let mut l = letter(1, "Нет горячей воды", "ул. Ленина, 10, кв. 5. Звоните +7 917 555-12-34");
    l.sender = String::new();
    mail.take_letter(&l, None).await?;
    let entry = op.mail_letters(false).await?.remove(0);
    let r = LetterAppeal {
        letter_id: entry.id,
        appeal_id: Uuid::now_v7(),
        identifier: "+7 917 555-12-34".into(),
        applicant_name: String::new(),
        kind_id: city.no_hot_water,
        building_id: Some(city.lenina_10),
        apartment: "5".into(),
        comment: entry.body.clone(),
    };
    let id = op.register_from_letter(&r).await?;
    assert_eq!(op.register_from_letter(&r).await?, id, "a retry registers nothing more");
    let a = op.appeal(id).await?;
    assert_eq!(
        (a.channel, a.identifier.as_str(), a.created_by.as_str()),
        (Channel::Email, "+79175551234", login.as_str())
    );
    let files = op.attachments(id).await?;
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].file_name.as_str(), files[0].mime.as_str()),
        ("письмо.eml", "message/rfc822")
    );
    assert!(op.mail_letters(false).await?.is_empty());
    let done = op.mail_letters(true).await?;
    assert_eq!(
        (done[0].appeal_number.as_deref(), done[0].resolved_by.as_deref()),
        (Some(a.number.as_str()), Some(login.as_str()))
    );
    // Another operator, late, is told.
    let other = LetterAppeal {
        appeal_id: Uuid::now_v7(),
        ..r
    };
    assert!(op.register_from_letter(&other).await.is_err());
    assert_eq!(count(&city, "select count(*) from appeals").await?, 1);
    // Advertising is put aside.
    mail.take_letter(&letter(2, "Скидки на окна", "Только сегодня"), None)
        .await?;
    let ad = op.mail_letters(false).await?.remove(0);
    op.dismiss_letter(ad.id).await?;
    assert!(op.mail_letters(false).await?.is_empty());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn only_the_mail_service_takes_letters(pool: PgPool) -> TestResult {
    let city = city(pool).await?;
    let mail = mail_service(&city).await?;
    let (_, login) = person(&city, StaffRole::Operator, None).await?;
    let mut psql = psql(&city, &login).await?;
    let take = "select * from dialog_mail_take(gen_random_uuid(), gen_random_uuid(), 'x', 1, 1, 'k', null, '{}', \
                'a@b.ru', '', 'Квитанция', '', now(), 1, '[]', null, null)";
    assert_eq!(sqlstate(sqlx::query(take).execute(&mut psql).await), "42501");
    assert_eq!(
        sqlstate(sqlx::query(take).execute(city.pbx.pool()).await),
        "42501",
        "nor the PBX bridge"
    );
    assert_eq!(
        sqlstate(sqlx::query("select * from mail_messages").execute(&mut psql).await),
        "42501"
    );
    // The mail service only calls its functions: no table of its own to write.
    let insert =
        "insert into mail_messages (id, mailbox, uidvalidity, uid, message_key, received_at, outcome, reason) \
                  values (gen_random_uuid(), 'x', 1, 1, 'k', now(), 'unmatched', 'r')";
    assert_eq!(sqlstate(sqlx::query(insert).execute(mail.pool()).await), "42501");
    assert_eq!(
        sqlstate(sqlx::query("select * from appeals").execute(mail.pool()).await),
        "42501"
    );
    assert_eq!(
        sqlstate(
            sqlx::query("select * from dialog_mail_letters(false, 10)")
                .execute(mail.pool())
                .await
        ),
        "42501",
        "the list is the staff's"
    );
    Ok(())
}
