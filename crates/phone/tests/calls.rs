//! The phone against the telephony rig (Kamailio + rtpengine + baresip, `scripts/sip-rig.sh`):
//! registration, calls both ways with audio checked at both ends, hang-up from each side,
//! CANCEL, rejection, codecs, wss with a test CA, 401- and 407-style challenges, and the
//! WebSocket cut and restored.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::rig::{CALL_CLOSED, CALL_ESTABLISHED, CALL_INCOMING};
use common::{Phone as Far, Rig, Wav};
use dialog_phone::media::{decode_recording, tone_level, CaptureHandle, CaptureSink, Codec, ToneSource, SAMPLE_RATE};
use dialog_phone::phone::{AudioPair, CallContext, CallRecord, CallState, Direction, LineState, Phone, PhoneConfig};
use tokio::sync::mpsc::UnboundedReceiver;

/// The tone our side sends; baresip sends the rig's (1000 Hz).
const OUR_TONE: f32 = 700.0;
const WAIT: Duration = Duration::from_secs(15);

struct Ours {
    phone: Phone,
    records: UnboundedReceiver<CallRecord>,
    heard: CaptureHandle,
}

fn config(rig: &Rig, server: &str, user: &str, password: &str) -> (PhoneConfig, CaptureHandle) {
    let capture = CaptureSink::new();
    let heard = capture.handle();
    let shared = Arc::new(std::sync::Mutex::new(Some(capture)));
    let audio = Arc::new(move || -> Result<AudioPair, String> {
        // Each call gets a fresh sink; the first call's is the one the test reads.
        let sink = shared.lock().map_err(|e| e.to_string())?.take().unwrap_or_default();
        Ok((Box::new(ToneSource::new(OUR_TONE, 8000)), Box::new(sink)))
    });
    let mut c = PhoneConfig::new(server, user, password, audio);
    c.domain = Some(rig.domain.clone());
    c.media.loopback_only = true;
    (c, heard)
}

async fn start(config: (PhoneConfig, CaptureHandle)) -> Ours {
    let (phone, records) = Phone::start(config.0).expect("phone starts");
    Ours {
        phone,
        records,
        heard: config.1,
    }
}

async fn registered(rig: &Rig, server: &str, user: &str) -> Ours {
    let ours = start(config(rig, server, user, &Rig::password(user))).await;
    let s = ours
        .phone
        .wait_for(WAIT, |s| s.line == LineState::Registered)
        .await
        .unwrap_or_else(|s| panic!("{user} did not register on {server}: {s:?}"));
    assert_eq!(s.message, format!("линия подключена: {user}"));
    ours
}

async fn talking(ours: &Ours, id: uuid::Uuid) {
    ours.phone
        .wait_for(WAIT, |s| {
            s.calls.iter().any(|c| c.id == id && c.state == CallState::Talking)
        })
        .await
        .unwrap_or_else(|s| panic!("the call was not answered: {s:?}"));
}

async fn record(ours: &mut Ours) -> CallRecord {
    tokio::time::timeout(WAIT, ours.records.recv())
        .await
        .expect("the call ended in time")
        .expect("a record")
}

/// The share of `samples` (48 kHz) that is the tone at `hz`, skipping the first half second.
fn tone_share(samples: &[i16], hz: f32) -> f32 {
    let skip = (SAMPLE_RATE as usize / 2).min(samples.len());
    tone_level(&samples[skip..], SAMPLE_RATE, hz)
}

#[tokio::test]
async fn registers_and_refuses_a_wrong_password() {
    let Some(rig) = Rig::from_env() else { return };
    let ours = registered(&rig, &rig.ws, "2001").await;
    ours.phone.shutdown().await;
    assert_eq!(ours.phone.status().borrow().line, LineState::Off);

    let wrong = start(config(&rig, &rig.ws, "2002", "not-the-password")).await;
    let s = wrong
        .phone
        .wait_for(WAIT, |s| s.line == LineState::Failed)
        .await
        .expect("refused");
    assert!(s.message.contains("проверьте номер и пароль"), "{}", s.message);
    assert!(
        wrong.phone.call("1001").await.is_err(),
        "no calls without a registration"
    );
    wrong.phone.shutdown().await;
}

#[tokio::test]
async fn outgoing_call_hears_the_far_tone_and_records_both_sides() {
    let Some(rig) = Rig::from_env() else { return };
    let mut far = rig.baresip(Far::Auto).await.expect("baresip ctrl");
    let mut ours = registered(&rig, &rig.ws, "2003").await;
    // Kamailio challenges this INVITE with 407 (REGISTER got 401). The number as an
    // executor's phone is stored: E.164.
    let id = ours
        .phone
        .call(&format!("+7999000{}", rig.auto.user))
        .await
        .expect("dialled");
    talking(&ours, id).await;
    far.wait_for_event(CALL_ESTABLISHED, WAIT)
        .await
        .expect("baresip answered");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = ours.phone.stats(id).await.expect("media stats");
    assert_eq!(
        stats.codec,
        Some(Codec::Opus),
        "Opus is preferred when both sides have it"
    );
    ours.phone.hangup(id).await.expect("hung up");
    let rec = record(&mut ours).await;
    assert_eq!(
        (rec.direction, rec.remote.clone()),
        (Direction::Outgoing, format!("+7999000{}", rig.auto.user))
    );
    assert_eq!(rec.end, "завершён оператором");
    assert!(rec.answered_at.is_some());
    let setup = rec.setup.expect("audio arrived");
    assert!(setup < Duration::from_secs(2), "setup took {setup:?}");

    let heard = ours.heard.samples();
    assert!(tone_share(&heard, rig.tone_hz as f32) > 0.5, "we hear baresip's tone");
    let recording = rec.recording.expect("recorded");
    assert_eq!(recording.codec, "audio/wav");
    assert!(recording.duration >= Duration::from_secs(2), "{:?}", recording.duration);
    let mixed = decode_recording(&recording.data).expect("the recording decodes");
    assert!(
        tone_share(&mixed, rig.tone_hz as f32) > 0.1,
        "the recording has the far side"
    );
    assert!(tone_share(&mixed, OUR_TONE) > 0.1, "the recording has our side");
    // G.711 µ-law at 8 kHz: 8,000 bytes a second and a header.
    let expected = 8 * recording.duration.as_millis() as usize;
    assert!(
        recording.data.len().abs_diff(expected) < 200,
        "{} bytes for {:?}",
        recording.data.len(),
        recording.duration
    );

    far.wait_for_event(CALL_CLOSED, WAIT)
        .await
        .expect("baresip saw the BYE");
    let theirs = rig.wait_for_recording(Far::Auto, WAIT).await.expect("baresip recorded");
    let got = Wav::read(&theirs.received).expect("wav");
    assert!(
        got.tone_ratio_after(Duration::from_millis(500), f64::from(OUR_TONE)) > 0.5,
        "baresip hears our tone"
    );
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn incoming_call_answered_then_the_caller_hangs_up() {
    let Some(rig) = Rig::from_env() else { return };
    let mut far = rig.baresip(Far::Auto).await.expect("baresip ctrl");
    let mut ours = registered(&rig, &rig.ws_401, "2004").await;
    far.dial(&rig.aor("2004")).await.expect("baresip dials");
    let ringing = ours
        .phone
        .wait_for(WAIT, |s| s.waiting() == 1)
        .await
        .unwrap_or_else(|s| panic!("no incoming call: {s:?}"));
    let call = ringing.calls[0].clone();
    assert_eq!((call.direction, call.state), (Direction::Incoming, CallState::Ringing));
    assert!(
        call.number.ends_with(&rig.auto.user) || call.number.starts_with('+'),
        "{}",
        call.number
    );
    ours.phone.answer(call.id).await.expect("answered");
    far.wait_for_event(CALL_ESTABLISHED, WAIT).await.expect("established");
    tokio::time::sleep(Duration::from_secs(3)).await;
    far.hangup().await.expect("baresip hangs up");
    let rec = record(&mut ours).await;
    assert_eq!(rec.direction, Direction::Incoming);
    assert_eq!(rec.end, "завершён собеседником");
    assert!(rec.recording.is_some());
    assert!(ours.phone.status().borrow().calls.is_empty());
    assert!(
        tone_share(&ours.heard.samples(), rig.tone_hz as f32) > 0.5,
        "we hear the caller"
    );

    let theirs = rig.wait_for_recording(Far::Auto, WAIT).await.expect("baresip recorded");
    let got = Wav::read(&theirs.received).expect("wav");
    assert!(
        got.tone_ratio_after(Duration::from_millis(500), f64::from(OUR_TONE)) > 0.5,
        "the caller hears our tone"
    );
    ours.phone.shutdown().await;
}

/// What a call is about travels with it: given when it is placed, found by the phone's
/// `identify` before an incoming call first rings, linked while it lasts; each is on the call's
/// first state and on its record. A link to a call that has ended is refused, so the app sends
/// it to the database instead of losing it.
#[tokio::test]
async fn a_call_carries_what_it_is_about_from_its_first_state_to_its_record() {
    let Some(rig) = Rig::from_env() else { return };
    let mut far = rig.baresip(Far::Auto).await.expect("baresip ctrl");
    let (mut config, heard) = config(&rig, &rig.ws, "2011", &Rig::password("2011"));
    let executor = uuid::Uuid::now_v7();
    config.identify = Some(Arc::new(move |_number: &str| CallContext {
        appeal_id: None,
        executor_id: Some(executor),
        executor_name: Some("Сантехник Петров".into()),
    }));
    let mut ours = start((config, heard)).await;
    ours.phone
        .wait_for(WAIT, |s| s.line == LineState::Registered)
        .await
        .expect("registered");

    let (appeal, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let about = CallContext {
        appeal_id: Some(appeal),
        executor_id: Some(other),
        executor_name: None,
    };
    let mut first_states = ours.phone.status();
    let id = ours
        .phone
        .call_about(&format!("+7999000{}", rig.auto.user), about.clone())
        .await
        .expect("dialled");
    let first = first_states
        .wait_for(|s| s.calls.iter().any(|c| c.id == id))
        .await
        .expect("status")
        .calls
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .expect("the call");
    assert_eq!(
        first.context, about,
        "the first state of the call knows what it is about"
    );
    talking(&ours, id).await;
    ours.phone.hangup(id).await.expect("hung up");
    let rec = record(&mut ours).await;
    assert_eq!(rec.context, about);
    assert!(
        ours.phone.link(id, appeal).await.is_err(),
        "a link to an ended call must be refused, not dropped"
    );

    far.dial(&rig.aor("2011")).await.expect("baresip dials");
    let ringing = ours.phone.wait_for(WAIT, |s| s.waiting() == 1).await.expect("rings");
    let call = ringing.calls[0].clone();
    assert_eq!(call.context.executor_name.as_deref(), Some("Сантехник Петров"));
    ours.phone.answer(call.id).await.expect("answered");
    ours.phone.link(call.id, appeal).await.expect("linked while talking");
    assert_eq!(ours.phone.status().borrow().calls[0].context.appeal_id, Some(appeal));
    far.hangup().await.expect("baresip hangs up");
    let rec = record(&mut ours).await;
    assert_eq!(
        rec.context,
        CallContext {
            appeal_id: Some(appeal),
            executor_id: Some(executor),
            executor_name: Some("Сантехник Петров".into()),
        }
    );
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn cancel_before_answer_and_busy_and_rejected_calls() {
    let Some(rig) = Rig::from_env() else { return };
    let mut manual = rig.baresip(Far::Manual).await.expect("baresip ctrl");
    let mut ours = registered(&rig, &rig.ws, "2005").await;

    // CANCEL while the far phone rings.
    let id = ours.phone.call(&rig.manual.user).await.expect("dialled");
    manual.wait_for_event(CALL_INCOMING, WAIT).await.expect("it rings");
    ours.phone
        .wait_for(WAIT, |s| s.calls.iter().any(|c| c.state == CallState::Early))
        .await
        .expect("180");
    ours.phone.hangup(id).await.expect("cancelled");
    let rec = record(&mut ours).await;
    assert_eq!(rec.end, "отменён до ответа");
    assert!(rec.answered_at.is_none() && rec.recording.is_none());
    manual
        .wait_for_event(CALL_CLOSED, WAIT)
        .await
        .expect("baresip stops ringing");

    // A busy number.
    ours.phone.call(&rig.busy).await.expect("dialled");
    assert_eq!(record(&mut ours).await.end, "занято");

    // The far end rejects.
    ours.phone.call(&rig.manual.user).await.expect("dialled");
    manual.wait_for_event(CALL_INCOMING, WAIT).await.expect("it rings");
    manual.hangup().await.expect("rejected");
    let end = record(&mut ours).await.end;
    assert!(end == "занято" || end == "отклонён", "{end}");

    // We reject an incoming call: the caller is told.
    manual.dial(&rig.aor("2005")).await.expect("baresip dials");
    let s = ours
        .phone
        .wait_for(WAIT, |s| s.waiting() == 1)
        .await
        .expect("rings here");
    ours.phone.reject(s.calls[0].id).await.expect("rejected");
    let closed = manual
        .wait_for_event(CALL_CLOSED, WAIT)
        .await
        .expect("the caller is told");
    assert!(
        closed.param.contains("486") || closed.param.contains("Busy"),
        "{}",
        closed.param
    );
    assert_eq!(record(&mut ours).await.end, "отклонён оператором");
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn two_callers_wait_at_once() {
    let Some(rig) = Rig::from_env() else { return };
    let mut auto = rig.baresip(Far::Auto).await.expect("baresip ctrl");
    let mut manual = rig.baresip(Far::Manual).await.expect("baresip ctrl");
    let mut ours = registered(&rig, &rig.ws, "2006").await;
    auto.dial(&rig.aor("2006")).await.expect("dial");
    manual.dial(&rig.aor("2006")).await.expect("dial");
    let s = ours
        .phone
        .wait_for(WAIT, |s| s.waiting() == 2)
        .await
        .expect("two calls waiting");
    // Answer the second; the first keeps ringing.
    ours.phone.answer(s.calls[1].id).await.expect("answered");
    let s = ours
        .phone
        .wait_for(WAIT, |s| s.waiting() == 1)
        .await
        .expect("one still waiting");
    assert_eq!(s.calls.iter().filter(|c| c.state == CallState::Talking).count(), 1);
    for c in s.calls {
        ours.phone.hangup(c.id).await.expect("hung up");
    }
    record(&mut ours).await;
    record(&mut ours).await;
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn pcmu_only_over_wss_with_the_test_ca_and_hold() {
    let Some(rig) = Rig::from_env() else { return };
    let mut far = rig.baresip(Far::Auto).await.expect("baresip ctrl");
    let (mut c, heard) = config(&rig, &rig.wss, "2007", &Rig::password("2007"));
    c.ca_file = Some(rig.ca.clone());
    c.media.codecs = vec![Codec::Pcmu];
    let mut ours = start((c, heard)).await;
    ours.phone
        .wait_for(WAIT, |s| s.line == LineState::Registered)
        .await
        .expect("registered over wss");
    let id = ours.phone.call(&rig.auto.user).await.expect("dialled");
    talking(&ours, id).await;
    far.wait_for_event(CALL_ESTABLISHED, WAIT).await.expect("established");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(ours.phone.stats(id).await.and_then(|s| s.codec), Some(Codec::Pcmu));
    ours.phone.hold(id, true).await.expect("hold");
    ours.phone
        .wait_for(WAIT, |s| s.calls.iter().any(|c| c.state == CallState::Held))
        .await
        .expect("held");
    ours.phone.hold(id, false).await.expect("unhold");
    ours.phone.dtmf(id, '5').await.expect("DTMF");
    tokio::time::sleep(Duration::from_secs(1)).await;
    ours.phone.hangup(id).await.expect("hung up");
    let rec = record(&mut ours).await;
    assert!(
        tone_share(&ours.heard.samples(), rig.tone_hz as f32) > 0.5,
        "PCMU audio arrives"
    );
    assert!(rec.recording.is_some());
    ours.phone.shutdown().await;

    // Without the CA the certificate is refused, and the line says so.
    let (c, heard) = config(&rig, &rig.wss, "2007", &Rig::password("2007"));
    let untrusting = start((c, heard)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = untrusting.phone.status().borrow().clone();
    assert_eq!(s.line, LineState::Connecting);
    assert!(s.message.contains("защищённое соединение"), "{}", s.message);
    untrusting.phone.shutdown().await;
}

#[tokio::test]
async fn the_line_comes_back_after_the_websocket_is_cut() {
    let Some(rig) = Rig::from_env() else { return };
    // Kamailio is restarted: this test must not share the rig with others' calls.
    let _far = rig.baresip(Far::Manual).await.expect("hold the rig");
    let _auto = rig.baresip(Far::Auto).await.expect("hold the rig");
    let ours = registered(&rig, &rig.ws, "2008").await;
    rig.kill_kamailio().await.expect("kamailio stopped");
    ours.phone
        .wait_for(WAIT, |s| s.line == LineState::Connecting)
        .await
        .expect("the line notices");
    rig.start_kamailio().await.expect("kamailio started");
    // Kamailio forgot every registration: the phone must register again by itself.
    let s = ours
        .phone
        .wait_for(Duration::from_secs(30), |s| s.line == LineState::Registered)
        .await;
    assert!(s.is_ok(), "re-registered: {s:?}");
    ours.phone.shutdown().await;
}
