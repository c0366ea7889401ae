//! dialog-server's pbx duty against a real Asterisk (`scripts/asterisk.sh`, configured as
//! `docs/telephony.md` says, AMI included) and a real PostgreSQL: an operator's own SQL session
//! cannot make the evidence «в работе» asks for, and a real call through Asterisk to the
//! executor does; the queue reaches an operator's app as it is.

#[allow(unused_imports)]
#[path = "../../core/tests/common/mod.rs"]
mod common;

#[allow(dead_code, missing_docs)]
#[path = "../../phone/tests/common/asterisk.rs"]
mod asterisk;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use asterisk::Asterisk;
use common::*;
use dialog_core::model::{AppealStatus, StaffRole};
use dialog_core::{Error, Rule};
use dialog_phone::media::{CaptureSink, Codec, ToneSource};
use dialog_phone::phone::{AudioPair, CallState, LineState, Phone, PhoneConfig};
use sqlx::PgPool;

const WAIT: Duration = Duration::from_secs(20);

/// dialog-server with only the pbx duty, as a center would run it; stopped when dropped.
struct Bridge(tokio::process::Child, std::path::PathBuf);

impl Bridge {
    /// Stops it and waits until its connections are gone.
    async fn stop(mut self) {
        let _ = self.0.kill().await;
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn start_bridge(city: &City, pbx: &Asterisk) -> anyhow::Result<Bridge> {
    let o = city.owner.pool().connect_options();
    let dir = std::env::temp_dir().join(format!("dialog-pbx-bridge-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nhost = \"{}\"\nport = {}\nname = \"{}\"\ntls = false\n\n[pbx]\nlogin = \"{}\"\nami = \"{}\"\nami_user = \"{}\"\nqueues = [\"dispatch\"]\n",
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or_default(),
            city.pbx_login,
            std::env::var("DIALOG_ASTERISK_AMI")?,
            std::env::var("DIALOG_ASTERISK_AMI_USER")?,
        ),
    )?;
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dialog-server"))
        .arg("--config")
        .arg(&config)
        .env("DIALOG_PBX_PASSWORD", PASSWORD)
        .env("DIALOG_AMI_SECRET", std::env::var("DIALOG_ASTERISK_AMI_SECRET")?)
        .env("DIALOG_LOG", "info")
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let _ = pbx;
    Ok(Bridge(child, dir))
}

/// The operator's phone on extension 2001, sending a quiet tone.
async fn phone_2001(pbx: &Asterisk) -> Phone {
    let audio = Arc::new(move || -> Result<AudioPair, String> {
        Ok((Box::new(ToneSource::new(700.0, 8000)), Box::new(CaptureSink::new())))
    });
    let mut c = PhoneConfig::new(&pbx.ws, "2001", &Asterisk::password("2001"), audio);
    c.domain = Some(pbx.address.clone());
    c.media.codecs = vec![Codec::Pcmu, Codec::Pcma];
    let (phone, _records) = Phone::start(c).expect("the phone starts");
    phone
        .wait_for(WAIT, |s| s.line == LineState::Registered)
        .await
        .unwrap_or_else(|s| panic!("2001 did not register: {s:?}"));
    phone
}

async fn wait_sql(pool: &PgPool, sql: &str, want: i64) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(pool).await?;
        if n == want {
            return Ok(());
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "{sql}: {n}, not {want}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "dialog_core::MIGRATOR")]
async fn a_real_call_through_asterisk_unlocks_in_work_and_nothing_else_does(pool: PgPool) -> TestResult {
    let Some(pbx) = Asterisk::from_env() else { return Ok(()) };
    let _held = pbx.exclusive().await;
    let city = city(pool.clone()).await?;
    let (op, login) = person(&city, StaffRole::Operator, None).await?;
    sqlx::query("update staff set sip_extension = '2001' where login = $1")
        .bind(&login)
        .execute(&pool)
        .await?;
    let bridge = start_bridge(&city, &pbx)?;
    let mut new = card("+79123456789", Some(city.lenina_10), city.leak);
    new.reasons[0].executor_ids = vec![city.plumber];
    let a = op.create_appeals(&new).await?.remove(0);

    // The operator's own SQL session cannot write what the PBX saw, nor take its recording
    // for it.
    let mut sql = psql(&city, &login).await?;
    for attack in [
        format!("select dialog_pbx_call('answer', 'x', 'x', 'исходящий', '2001', '{}', null)", city.plumber_phone),
        format!("insert into pbx_calls (uniqueid, linkedid, direction, extension, number, answered_at) values ('y', 'y', 'исходящий', '2001', '{}', now())", city.plumber_phone),
    ] {
        let r = sqlx::raw_sql(&attack).execute(&mut sql).await;
        assert_eq!(sqlstate(r), "42501", "{attack}");
    }
    op.record_call(&call_to(city.plumber, city.plumber_phone, Some(a.id)))
        .await?;
    assert!(matches!(
        op.change_status(a.id, a.version, AppealStatus::InWork).await,
        Err(Error::Rule {
            rule: Rule::ExecutorNotNotified,
            ..
        })
    ));

    // A real call: the operator's phone dials the plumber through Asterisk, he answers.
    let phone = phone_2001(&pbx).await;
    let id = phone.call(city.plumber_phone).await?;
    phone
        .wait_for(WAIT, |s| {
            s.calls.iter().any(|c| c.id == id && c.state == CallState::Talking)
        })
        .await
        .unwrap_or_else(|s| panic!("the plumber did not answer: {s:?}"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    phone.hangup(id).await?;
    wait_sql(
        &pool,
        &format!(
            "select count(*) from pbx_calls where direction = 'исходящий' and extension = '2001' and number = '{}' \
             and answered_at is not null and ended_at is not null and operator_login = '{login}' and sip_call_id is not null",
            city.plumber_phone
        ),
        1,
    )
    .await?;
    let a = op.appeal(a.id).await?;
    assert!(a.executors[0].notified);
    let a = op.change_status(a.id, a.version, AppealStatus::InWork).await?;
    assert_eq!(a.status, AppealStatus::InWork);

    // The queue as it is: two citizens wait, and every operator's app hears it within a second.
    let mut changes = Box::pin(op.changes().await?);
    pbx.originate("Local/79990000001@test-city/n", "600@test-voices")
        .await?;
    pbx.originate("Local/79990000002@test-city/n", "600@test-voices")
        .await?;
    let deadline = tokio::time::Instant::now() + WAIT;
    let waiting = loop {
        let _ = tokio::time::timeout(Duration::from_secs(1), futures_util::StreamExt::next(&mut changes)).await;
        let q = op.queue_state().await?;
        if let Some(d) = q.iter().find(|q| q.queue == "dispatch" && q.waiting == 2) {
            break d.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the queue never showed two callers: {q:?}"
        );
    };
    assert!(waiting.longest_since.is_some() && !waiting.stale, "{waiting:?}");
    assert!(waiting.agents >= 1, "2001 is logged in to the queue: {waiting:?}");
    pbx.rx("channel request hangup all").await?;
    phone.shutdown().await;
    bridge.stop().await;
    Ok(())
}
