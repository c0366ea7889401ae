//! dialog-server's mail duty against a real IMAP server (Dovecot, fed by its own delivery
//! agent): every letter ends as exactly one appeal, one comment or one entry of «Письма без
//! обращения» — whatever it holds, however big, and when either side is killed midway.

mod rig;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dialog_core::model::StaffRole;
use dialog_core::people::NewPerson;
use dialog_core::{ConnectOptions, Store, TlsMode};
use futures_util::StreamExt;
use rig::*;
use sqlx::PgPool;
use uuid::Uuid;

const MINUTE: Duration = Duration::from_secs(60);

fn config(imap: &Imap) -> ServerConfig<'_> {
    ServerConfig {
        imap: format!("127.0.0.1:{}", imap.port),
        ca: &imap.ca,
        max_message_mb: 31,
    }
}

/// An operator of the center, logged in, as the registry is open on their screen.
async fn operator(center: &Center) -> anyhow::Result<Store> {
    let login = format!("op{}", &Uuid::now_v7().simple().to_string()[20..]);
    let password = "пароль-оператора-1";
    center
        .owner
        .add_person(&NewPerson {
            login: login.clone(),
            password: password.into(),
            role: StaffRole::Operator,
            full_name: "Оператор Почты".into(),
            sip_extension: None,
            organization_id: None,
        })
        .await?;
    let o = center.owner.pool().connect_options();
    Ok(Store::connect(&ConnectOptions {
        host: o.get_host().into(),
        port: o.get_port(),
        database: o.get_database().unwrap_or("postgres").into(),
        login,
        password: password.into(),
        tls: TlsMode::Disable,
    })
    .await?)
}

async fn appeal_of(center: &Center, message_id: &str) -> anyhow::Result<(String, String, String, String)> {
    Ok(sqlx::query_as(
        "select a.number, a.channel::text, a.identifier, a.comment from mail_messages m join appeals a on a.id = m.appeal_id
         where m.message_id = $1 and m.outcome = 'appeal'",
    )
    .bind(message_id)
    .fetch_one(center.owner.pool())
    .await?)
}

async fn reason_of(center: &Center, message_id: Option<&str>, subject: &str) -> anyhow::Result<String> {
    Ok(sqlx::query_scalar(
        "select reason from mail_messages where outcome = 'unmatched' and (message_id = $1 or ($1 is null and subject = $2))",
    )
    .bind(message_id)
    .bind(subject)
    .fetch_one(center.owner.pool())
    .await?)
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn every_kind_of_letter_ends_once_and_appears_in_an_open_registry(pool: PgPool) -> TestResult {
    if !rig_available() {
        return Ok(());
    }
    let center = center(pool).await?;
    let imap = Imap::start()?;
    let mut server = Server::start(&center, &config(&imap))?;
    server.wait_log("the mailbox is open", MINUTE).await?;
    let op = operator(&center).await?;
    let mut changes = Box::pin(op.changes().await?);

    // A plain letter: delivery to the operator's open registry, through IDLE.
    let delivered = Instant::now();
    imap.deliver(&plain(
        "plain@example.ru",
        "Иванова <ivanova@example.ru>",
        "Квитанция за ноябрь",
        "Сумма неверна.",
        "",
    ))?;
    let heard = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(c) = changes.next().await {
            if matches!(c, Ok(dialog_core::events::Change::Appeal(_))) {
                return true;
            }
        }
        false
    })
    .await?;
    let latency = delivered.elapsed();
    assert!(heard);
    assert!(
        latency < Duration::from_secs(5),
        "IDLE brings a letter to the registry at once, not in {latency:?}"
    );
    let (number, channel, identifier, comment) = appeal_of(&center, "plain@example.ru").await?;
    assert_eq!(
        (channel.as_str(), identifier.as_str()),
        ("e-mail", "ivanova@example.ru")
    );
    assert!(
        comment.contains("Квитанция за ноябрь") && comment.contains("Сумма неверна."),
        "{comment}"
    );

    // HTML only, the subject in RFC 2047 B words.
    let html = format!(
        "From: petrov@example.ru\r\nSubject: {}\r\nMessage-ID: <html@example.ru>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p {{color: red}}</style></head><body>\
         <p>Здравствуйте!</p><p>Прошу пересчитать <b>тариф</b> за отопление.</p></body></html>\r\n",
        b_word("Тариф на отопление")
    );
    imap.deliver(html.as_bytes())?;
    // The subject in Q words, from an old mail program's KOI8-R.
    imap.deliver(
        b"From: sidorov@example.ru\r\nSubject: =?koi8-r?Q?=EB=D7=C9=D4=C1=CE=C3=C9=D1?=\r\nMessage-ID: <koi8@example.ru>\r\n\r\nText\r\n",
    )?;
    imap.deliver(&plain(
        "q@example.ru",
        "kuznetsova@example.ru",
        &q_word("Вопрос по квитанции"),
        "Где оплатить?",
        "",
    ))?;
    // Files.
    let photo = noise(300_000, 1);
    imap.deliver(&with_files(
        "files@example.ru",
        "smirnov@example.ru",
        &b_word("Квитанция и фото"),
        "Прилагаю.",
        &[
            ("квитанция.pdf", "application/pdf", b"%PDF-1.4 scanned receipt"),
            ("фото.jpg", "image/jpeg", &photo),
        ],
        false,
    ))?;
    server.wait_letters(&center, 5, MINUTE).await?;

    // Replies: by the number in the subject, and by the thread.
    imap.deliver(&plain(
        "re1@example.ru",
        "ivanova@example.ru",
        &format!("Re: {number}"),
        "Ещё не исправили",
        "",
    ))?;
    let mut re2 = b"In-Reply-To: <plain@example.ru>\r\n".to_vec();
    re2.extend(with_files(
        "re2@example.ru",
        "ivanova@example.ru",
        "Re: Квитанция за ноябрь",
        "Вот скан",
        &[("скан.png", "image/png", b"\x89PNG scan")],
        false,
    ));
    imap.deliver(&re2)?;
    // A malformed letter, and one without a sender.
    imap.deliver(b"\x00\x01garbage without any header\r\n")?;
    imap.deliver(&plain(
        "nosender@example.ru",
        "undisclosed-recipients:;",
        "Квитанция",
        "Без обратного адреса",
        "",
    ))?;
    server.wait_letters(&center, 9, MINUTE).await?;

    let html_comment = appeal_of(&center, "html@example.ru").await?.3;
    assert!(
        html_comment.contains("Тариф на отопление")
            && html_comment.contains("Прошу пересчитать тариф за отопление.")
            && !html_comment.contains('<')
            && !html_comment.contains("color"),
        "{html_comment}"
    );
    assert!(appeal_of(&center, "koi8@example.ru").await?.3.starts_with("Квитанция"));
    assert!(appeal_of(&center, "q@example.ru")
        .await?
        .3
        .starts_with("Вопрос по квитанции"));
    let files: Vec<(String, i32)> = sqlx::query_as(
        "select t.file_name, t.size from attachments t join mail_messages m on m.appeal_id = t.appeal_id
         where m.message_id = 'files@example.ru' order by t.file_name",
    )
    .fetch_all(center.owner.pool())
    .await?;
    assert_eq!(
        files,
        vec![("квитанция.pdf".to_owned(), 24), ("фото.jpg".to_owned(), 300_000)]
    );
    let comments: Vec<String> = sqlx::query_scalar(
        "select h.comment from appeal_history h join appeals a on a.id = h.appeal_id
         where a.number = $1 and h.action = 'comment' order by h.id",
    )
    .bind(&number)
    .fetch_all(center.owner.pool())
    .await?;
    assert_eq!(comments.len(), 2, "{comments:?}");
    assert!(comments[0].contains("Ещё не исправили") && comments[1].contains("Вот скан"));
    assert_eq!(
        center
            .count(&format!(
                "select count(*) from attachments t join appeals a on a.id = t.appeal_id where a.number = '{number}'"
            ))
            .await?,
        1,
        "the reply's scan belongs to the appeal it answers"
    );
    assert!(reason_of(&center, None, "").await?.contains("повреждено"));
    assert!(reason_of(&center, Some("nosender@example.ru"), "")
        .await?
        .contains("нет адреса отправителя"));
    assert_eq!(center.count("select count(*) from appeals").await?, 5);
    assert_eq!(
        center
            .count("select count(*) from mail_messages where outcome = 'unmatched'")
            .await?,
        2
    );
    assert_eq!(op.mail_letters(false).await?.len(), 2, "the operators see both");
    // Every letter is marked seen once taken.
    let seen = imap.seen()?;
    assert_eq!(seen.len(), 9);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(imap.seen()?.iter().all(|s| *s), "{:?}", imap.seen()?);

    // The mailbox rebuilt (a restore: new UIDVALIDITY, every letter unseen with a new UID):
    // every letter is recognised, nothing is taken twice.
    drop(server);
    imap.rebuild()?;
    let mut server = Server::start(&center, &config(&imap))?;
    server.wait_letters(&center, 18, MINUTE).await?;
    assert_eq!(
        center
            .count("select count(*) from mail_messages where outcome = 'duplicate'")
            .await?,
        9
    );
    assert_eq!(center.count("select count(*) from appeals").await?, 5);
    assert_eq!(
        center
            .count("select count(*) from appeal_history where action = 'comment'")
            .await?,
        2
    );
    drop(server);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_30_mb_letter_becomes_an_appeal_and_bigger_ones_wait_in_the_list(pool: PgPool) -> TestResult {
    if !rig_available() {
        return Ok(());
    }
    let center = center(pool).await?;
    let imap = Imap::start()?;
    let video = noise(22 * 1024 * 1024, 2);
    let thirty = with_files(
        "30mb@example.ru",
        "big@example.ru",
        "Квитанция и видео",
        "Видео прилагаю",
        &[("видео.mp4", "video/mp4", &video)],
        false,
    );
    assert!(thirty.len() > 30_000_000, "{}", thirty.len());
    imap.deliver(&thirty)?;
    drop(thirty);
    // 26 MiB in one file (a log sent as it is): more than the database takes.
    let log = vec![b'x'; 26 * 1024 * 1024];
    imap.deliver(&with_files(
        "26mib@example.ru",
        "big@example.ru",
        "Квитанция",
        "Лог",
        &[("журнал.txt", "text/plain", &log)],
        true,
    ))?;
    // 32 MB: over this center's limit for a letter (31 MB); only its header is read.
    let over = with_files(
        "32mb@example.ru",
        "big@example.ru",
        "Квитанция",
        "Ещё больше",
        &[("x.bin", "application/octet-stream", &noise(24 * 1024 * 1024, 3))],
        false,
    );
    assert!(over.len() > 32 * 1024 * 1024);
    imap.deliver(&over)?;
    drop(over);
    let mut server = Server::start(&center, &config(&imap))?;
    server.wait_letters(&center, 3, 3 * MINUTE).await?;
    let size: i32 = sqlx::query_scalar(
        "select t.size from attachments t join mail_messages m on m.appeal_id = t.appeal_id where m.message_id = '30mb@example.ru'",
    )
    .fetch_one(center.owner.pool())
    .await?;
    assert_eq!(size as usize, video.len());
    let r = reason_of(&center, Some("26mib@example.ru"), "").await?;
    assert!(r.contains("«журнал.txt»") && r.contains("больше 25 МБ"), "{r}");
    let r = reason_of(&center, Some("32mb@example.ru"), "").await?;
    assert!(r.contains("больше предела в 31 МБ"), "{r}");
    assert_eq!(center.count("select count(*) from appeals").await?, 1);
    drop(server);
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn the_imap_server_killed_mid_letter_loses_and_doubles_nothing(pool: PgPool) -> TestResult {
    if !rig_available() {
        return Ok(());
    }
    let center = center(pool).await?;
    let imap = Imap::start()?;
    for i in 0..3u64 {
        imap.deliver(&with_files(
            &format!("slow{i}@example.ru"),
            "slow@example.ru",
            "Квитанция",
            "Большой скан",
            &[("скан.tiff", "image/tiff", &noise(4 * 1024 * 1024, 10 + i))],
            false,
        ))?;
    }
    // A slow link (4 MB/s) so that Dovecot dies while the first letter is on the way.
    let link = SlowLink::start(imap.port, 4 * 1024 * 1024).await?;
    let mut server = Server::start(
        &center,
        &ServerConfig {
            imap: format!("127.0.0.1:{}", link.port),
            ..config(&imap)
        },
    )?;
    server.wait_log("reading a letter", MINUTE).await?;
    let start = Instant::now();
    while link.carried.load(Ordering::SeqCst) < 2 * 1024 * 1024 {
        anyhow::ensure!(start.elapsed() < MINUTE, "the letter never started to come");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    imap.kill()?;
    assert_eq!(
        center.count("select count(*) from mail_messages").await?,
        0,
        "killed mid-letter"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    imap.up()?;
    server.wait_letters(&center, 3, 2 * MINUTE).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(center.count("select count(*) from mail_messages").await?, 3);
    assert_eq!(center.count("select count(*) from appeals").await?, 3);
    assert_eq!(
        center
            .count("select count(*) from attachments where size = 4194304")
            .await?,
        3
    );
    assert!(server.log_text().contains("reconnecting"), "{}", server.log_text());
    Ok(())
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn dialog_server_killed_mid_letter_takes_it_once_after_restart(pool: PgPool) -> TestResult {
    if !rig_available() {
        return Ok(());
    }
    let center = center(pool).await?;
    let imap = Imap::start()?;
    imap.deliver(&with_files(
        "crash@example.ru",
        "crash@example.ru",
        "Квитанция",
        "Два файла",
        &[
            ("a.pdf", "application/pdf", b"%PDF a"),
            ("b.pdf", "application/pdf", b"%PDF b"),
        ],
        false,
    ))?;
    // The owner holds the files' table: the duty's transaction stops after the appeal and the
    // letter's row are written, before its files.
    let mut hold = center.owner.pool().begin().await?;
    sqlx::query("lock table attachments in exclusive mode")
        .execute(&mut *hold)
        .await?;
    let mut server = Server::start(&center, &config(&imap))?;
    let start = Instant::now();
    loop {
        let waiting = center
            .count(&format!(
                "select count(*) from pg_stat_activity where usename = '{}' and wait_event_type = 'Lock'",
                center.login
            ))
            .await?;
        if waiting > 0 {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < MINUTE,
            "the duty never reached the files:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    hold.commit().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        center.count("select count(*) from appeals").await?,
        0,
        "nothing of a half-taken letter stays"
    );
    assert_eq!(center.count("select count(*) from mail_messages").await?, 0);
    assert_eq!(imap.seen()?, vec![false], "and it is not marked seen");
    let mut server = Server::start(&center, &config(&imap))?;
    server.wait_letters(&center, 1, MINUTE).await?;
    server.wait_log("a letter became an appeal", MINUTE).await?;
    assert_eq!(center.count("select count(*) from appeals").await?, 1);
    assert_eq!(center.count("select count(*) from attachments").await?, 2);
    // Restarted again, it finds nothing new.
    drop(server);
    let server = Server::start(&center, &config(&imap))?;
    server.wait_log("the mailbox is open", MINUTE).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(center.count("select count(*) from mail_messages").await?, 1);
    assert_eq!(imap.seen()?, vec![true]);
    Ok(())
}
