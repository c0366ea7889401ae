//! The phone against a real Asterisk (`scripts/asterisk.sh`), configured exactly as
//! `docs/telephony.md` tells administrators: registration, calls to an echo and a tone,
//! calls from Asterisk, the queue, hold both ways, DTMF read by the dial plan, wss, a restart
//! of Asterisk, hang-up from either side, session timers and qualify pings, PCMU and PCMA;
//! and the test call, which names the stage that failed. Audio is checked in what each side
//! hears.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Asterisk;
use dialog_phone::media::{tone_level, CaptureHandle, CaptureSink, Codec, SdpFilter, ToneSource, SAMPLE_RATE};
use dialog_phone::phone::{AudioPair, CallRecord, CallState, Direction, LineState, Phone, PhoneConfig};
use dialog_phone::probe::{self, ProbeOptions, Stage};
use tokio::sync::mpsc::UnboundedReceiver;
use uuid::Uuid;

/// The tone our side sends.
const OUR_TONE: f32 = 700.0;
const WAIT: Duration = Duration::from_secs(15);

struct Ours {
    phone: Phone,
    records: UnboundedReceiver<CallRecord>,
    heard: CaptureHandle,
}

fn config(pbx: &Asterisk, server: &str, user: &str, codecs: &[Codec], tone: f32) -> (PhoneConfig, CaptureHandle) {
    let capture = CaptureSink::new();
    let heard = capture.handle();
    let shared = Arc::new(std::sync::Mutex::new(Some(capture)));
    let audio = Arc::new(move || -> Result<AudioPair, String> {
        // Each call gets a fresh sink; the first call's is the one the test reads.
        let sink = shared.lock().map_err(|e| e.to_string())?.take().unwrap_or_default();
        Ok((Box::new(ToneSource::new(tone, 8000)), Box::new(sink)))
    });
    let mut c = PhoneConfig::new(server, user, &Asterisk::password(user), audio);
    c.domain = Some(pbx.address.clone());
    c.ca_file = Some(pbx.ca.clone());
    c.media.codecs = codecs.to_vec();
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

async fn registered_with(pbx: &Asterisk, server: &str, user: &str, codecs: &[Codec], tone: f32) -> Ours {
    let ours = start(config(pbx, server, user, codecs, tone)).await;
    ours.phone
        .wait_for(WAIT, |s| s.line == LineState::Registered)
        .await
        .unwrap_or_else(|s| panic!("{user} did not register on {server}: {s:?}"));
    ours
}

async fn registered(pbx: &Asterisk, user: &str) -> Ours {
    registered_with(pbx, &pbx.ws, user, &[Codec::Pcmu, Codec::Pcma], OUR_TONE).await
}

async fn talking(ours: &Ours, id: Uuid) {
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

/// The share of the last `seconds` of what we heard that is the tone at `hz`.
fn heard_share(ours: &Ours, seconds: f32, hz: f32) -> f32 {
    let tail = ours.heard.last((SAMPLE_RATE as f32 * seconds) as usize);
    tone_level(&tail, SAMPLE_RATE, hz)
}

/// Waits for an incoming call ringing here; returns its identity and number.
async fn ringing(ours: &Ours) -> (Uuid, String) {
    let s = ours
        .phone
        .wait_for(WAIT, |s| s.waiting() == 1)
        .await
        .unwrap_or_else(|s| panic!("no incoming call: {s:?}"));
    let call = s
        .calls
        .iter()
        .find(|c| c.state == CallState::Ringing)
        .expect("a ringing call");
    assert_eq!(call.direction, Direction::Incoming);
    (call.id, call.number.clone())
}

/// Waits until the last second of what we hear is mostly the tone at `hz`.
async fn hears(ours: &Ours, hz: f32, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let share = heard_share(ours, 1.0, hz);
        if share > 0.5 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: the last second heard holds {share:.2} of {hz} Hz"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn outgoing_call_to_the_echo_returns_our_voice_in_pcmu() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let mut ours = registered(&pbx, "2004").await;
    let id = ours.phone.call("600").await.expect("dialled");
    talking(&ours, id).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stats = ours.phone.stats(id).await.expect("media stats");
    assert_eq!(stats.codec, Some(Codec::Pcmu));
    let echo = heard_share(&ours, 2.0, OUR_TONE);
    assert!(echo > 0.5, "the echo returns our 700 Hz tone (share {echo:.2})");
    ours.phone.hangup(id).await.expect("hung up");
    let rec = record(&mut ours).await;
    assert_eq!(rec.direction, Direction::Outgoing);
    assert_eq!(rec.end, "завершён оператором");
    let setup = rec.setup.expect("audio arrived");
    println!("INVITE → first audio: {setup:?}");
    pbx.wait_for_channels(WAIT, |n| n == 0)
        .await
        .expect("our BYE ended the call in Asterisk");
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn pcma_echo_then_a_tone_until_asterisk_hangs_up() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let mut ours = registered_with(&pbx, &pbx.ws, "2005", &[Codec::Pcma], OUR_TONE).await;
    let id = ours.phone.call("600").await.expect("dialled");
    talking(&ours, id).await;
    hears(&ours, OUR_TONE, "A-law echo").await;
    assert_eq!(ours.phone.stats(id).await.and_then(|s| s.codec), Some(Codec::Pcma));
    ours.phone.hangup(id).await.expect("hung up");
    record(&mut ours).await;

    // 603: a 1000 Hz tone for three seconds, then Asterisk sends BYE.
    let id = ours.phone.call("603").await.expect("dialled");
    talking(&ours, id).await;
    let rec = record(&mut ours).await;
    assert_eq!(rec.id, id);
    assert_eq!(rec.end, "завершён собеседником");
    let rec_audio = rec.recording.expect("recorded");
    assert!(rec_audio.duration >= Duration::from_secs(2), "{:?}", rec_audio.duration);
    let tone = tone_level(&ours.heard.samples()[..], SAMPLE_RATE, 1000.0);
    assert!(tone > 0.2, "the 1000 Hz tone was heard (share {tone:.2})");
    assert!(ours.phone.status().borrow().calls.is_empty());
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn incoming_call_from_asterisk_is_answered_and_hung_up_here() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let mut ours = registered(&pbx, "2006").await;
    pbx.originate("PJSIP/2006", "1000@test-voices")
        .await
        .expect("originate");
    let (id, _) = ringing(&ours).await;
    ours.phone.answer(id).await.expect("answered");
    hears(&ours, 1000.0, "Asterisk's tone").await;
    assert_eq!(pbx.wait_for_channels(WAIT, |n| n == 1).await.expect("channels"), 1);
    ours.phone.hangup(id).await.expect("hung up");
    let rec = record(&mut ours).await;
    assert_eq!(
        (rec.direction, rec.end.as_str()),
        (Direction::Incoming, "завершён оператором")
    );
    pbx.wait_for_channels(WAIT, |n| n == 0)
        .await
        .expect("our BYE ended Asterisk's channel");
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn two_citizens_wait_in_the_queue_and_are_answered_in_order() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    // 2001 is a member of the guide's queue `dispatch`.
    let mut ours = registered(&pbx, "2001").await;
    // Two citizens call the city line, one after the other; each "says" a tone of their own.
    pbx.originate("Local/79990000001@test-city/n", "600@test-voices")
        .await
        .expect("first caller");
    let (first, number) = ringing(&ours).await;
    assert_eq!(number, "+79990000001", "the first caller rings first");
    pbx.originate("Local/79990000002@test-city/n", "800@test-voices")
        .await
        .expect("second caller");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let queue = pbx.rx("queue show dispatch").await.expect("queue");
    assert!(queue.contains("has 2 calls"), "both callers wait: {queue}");
    assert_eq!(
        ours.phone.status().borrow().waiting(),
        1,
        "one call rings at a time (ringinuse=no)"
    );

    ours.phone.answer(first).await.expect("answered");
    hears(&ours, 600.0, "the first caller").await;
    let queue = pbx.rx("queue show dispatch").await.expect("queue");
    assert!(queue.contains("has 1 call"), "the second caller still waits: {queue}");
    ours.phone.hangup(first).await.expect("hung up");
    record(&mut ours).await;

    let (second, number) = ringing(&ours).await;
    assert_eq!(number, "+79990000002");
    ours.phone.answer(second).await.expect("answered");
    // The capture holds the whole shift: the last second is the second caller.
    hears(&ours, 800.0, "the second caller").await;
    ours.phone.hangup(second).await.expect("hung up");
    record(&mut ours).await;
    pbx.wait_for_channels(WAIT, |n| n == 0).await.expect("all calls over");
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn hold_is_a_reinvite_here_and_asterisk_passes_it_on_as_its_own() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    // 2004 (700 Hz) calls 2009 (900 Hz), who hears holds as Asterisk's re-INVITEs.
    let mut a = registered(&pbx, "2004").await;
    let mut b = registered_with(&pbx, &pbx.ws, "2009", &[Codec::Pcmu], 900.0).await;
    let id_a = a.phone.call("2009").await.expect("dialled");
    let (id_b, number) = ringing(&b).await;
    assert_eq!(number, "2004");
    b.phone.answer(id_b).await.expect("answered");
    talking(&a, id_a).await;
    hears(&a, 900.0, "2004 hears 2009").await;
    hears(&b, OUR_TONE, "2009 hears 2004").await;

    a.phone.hold(id_a, true).await.expect("hold");
    a.phone
        .wait_for(WAIT, |s| {
            s.calls.iter().any(|c| c.id == id_a && c.state == CallState::Held)
        })
        .await
        .expect("2004 shows the call held once Asterisk agreed");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !b.phone.stats(id_b).await.expect("stats").remote_hold {
        assert!(
            tokio::time::Instant::now() < deadline,
            "Asterisk's hold re-INVITE reached 2009"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let share = heard_share(&b, 1.0, OUR_TONE);
    assert!(share < 0.1, "2009 no longer hears 2004 while held ({share:.2})");

    a.phone.hold(id_a, false).await.expect("unhold");
    a.phone
        .wait_for(WAIT, |s| {
            s.calls.iter().any(|c| c.id == id_a && c.state == CallState::Talking)
        })
        .await
        .expect("talking again");
    hears(&b, OUR_TONE, "2009 hears 2004 again").await;
    hears(&a, 900.0, "2004 hears 2009 again").await;
    assert!(!b.phone.stats(id_b).await.expect("stats").remote_hold);
    b.phone.hangup(id_b).await.expect("2009 hangs up");
    assert_eq!(record(&mut b).await.end, "завершён оператором");
    assert_eq!(record(&mut a).await.end, "завершён собеседником");
    a.phone.shutdown().await;
    b.phone.shutdown().await;
}

#[tokio::test]
async fn dtmf_keys_are_read_by_the_dial_plan() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let mut ours = registered(&pbx, "2005").await;
    let id = ours.phone.call("602").await.expect("dialled");
    talking(&ours, id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for key in ['1', '2', '3', '4'] {
        ours.phone.dtmf(id, key).await.expect("DTMF");
    }
    // Read() took the four keys: the dial plan answers "1234" with 1400 Hz (400 Hz otherwise).
    hears(&ours, 1400.0, "the dial plan's answer to 1234").await;
    assert_eq!(pbx.global("LAST_DTMF").await.expect("globals").as_deref(), Some("1234"));
    ours.phone.hangup(id).await.expect("hung up");
    record(&mut ours).await;
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn wss_with_the_pbx_certificate_from_a_private_ca() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let mut ours = registered_with(&pbx, &pbx.wss, "2007", &[Codec::Pcmu], OUR_TONE).await;
    let id = ours.phone.call("600").await.expect("dialled");
    talking(&ours, id).await;
    hears(&ours, OUR_TONE, "the echo over wss").await;
    ours.phone.hangup(id).await.expect("hung up");
    record(&mut ours).await;
    ours.phone.shutdown().await;

    // Without the CA the certificate is refused, and the line says so.
    let (mut c, heard) = config(&pbx, &pbx.wss, "2007", &[Codec::Pcmu], OUR_TONE);
    c.ca_file = None;
    let untrusting = start((c, heard)).await;
    let s = untrusting
        .phone
        .wait_for(WAIT, |s| s.message.contains("защищённое соединение"))
        .await
        .unwrap_or_else(|s| panic!("the line says why: {s:?}"));
    assert_eq!(s.line, LineState::Connecting);
    untrusting.phone.shutdown().await;
}

#[tokio::test]
async fn the_line_comes_back_by_itself_after_asterisk_restarts() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let mut ours = registered(&pbx, "2008").await;
    pbx.restart().await.expect("Asterisk restarted");
    // The phone notices the cut WebSocket (or Asterisk's un-registration) and registers again.
    let s = ours
        .phone
        .wait_for(Duration::from_secs(40), |s| s.line == LineState::Registered)
        .await;
    assert!(s.is_ok(), "registered again: {s:?}");
    // Asterisk reaches the phone over the new connection.
    pbx.originate("PJSIP/2008", "1000@test-voices")
        .await
        .expect("originate");
    let (id, _) = ringing(&ours).await;
    ours.phone.answer(id).await.expect("answered");
    hears(&ours, 1000.0, "a call after the restart").await;
    ours.phone.hangup(id).await.expect("hung up");
    record(&mut ours).await;
    ours.phone.shutdown().await;
}

#[tokio::test]
async fn a_call_outlives_session_timers_and_qualify_pings() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    // 2010: Session-Expires 90 s (Asterisk refreshes after 45 s), qualify every 2 s.
    let mut ours = registered(&pbx, "2010").await;
    let log_before = pbx.full_log().len();
    pbx.originate("PJSIP/2010", "1000@test-voices")
        .await
        .expect("originate");
    let (id, _) = ringing(&ours).await;
    ours.phone.answer(id).await.expect("answered");
    hears(&ours, 1000.0, "the call starts").await;
    // Past the session's expiry: without refreshes Asterisk would have hung up by now.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert!(
            ours.phone.status().borrow().calls.iter().any(|c| c.id == id),
            "the call is still up"
        );
        hears(&ours, 1000.0, "audio goes on").await;
    }
    let log = &pbx.full_log()[log_before..];
    let refreshes = log
        .split("<--- Transmitting SIP request")
        .filter(|m| m.contains("INVITE sip:2010@") || m.contains("UPDATE sip:2010@"))
        .count();
    assert!(
        refreshes >= 2,
        "Asterisk sent the INVITE and at least one refresh ({refreshes})"
    );
    let pings = log
        .split("<--- Transmitting SIP request")
        .filter(|m| m.contains("OPTIONS sip:2010@"))
        .count();
    assert!(pings >= 20, "Asterisk qualified the phone every 2 s ({pings} OPTIONS)");
    let contact = pbx.contact_status("2010").await.expect("aor");
    assert!(contact.as_deref().is_some_and(|c| c.contains("Avail")), "{contact:?}");
    ours.phone.hangup(id).await.expect("hung up");
    record(&mut ours).await;
    ours.phone.shutdown().await;
}

fn probe_options(number: &str) -> ProbeOptions {
    ProbeOptions {
        call: Some(number.to_owned()),
        play: None,
        record: None,
        seconds: 2,
        wait: WAIT,
    }
}

#[tokio::test]
async fn the_test_call_passes_against_the_echo() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let (config, _) = config(&pbx, &pbx.wss, "2003", &[Codec::Pcmu, Codec::Pcma], OUR_TONE);
    let report = probe::run(config, &probe_options("600")).await;
    assert_eq!(report.failed, None, "{}", report.message);
    assert!(report.registered && report.answered && report.audio_back, "{report:?}");
    assert_eq!(report.message, "звонок принят, звук идёт в обе стороны");
}

#[tokio::test]
async fn the_test_call_names_a_dtls_fingerprint_that_does_not_match() {
    let Some(pbx) = Asterisk::from_env() else { return };
    let _pbx = pbx.exclusive().await;
    let (mut config, _) = config(&pbx, &pbx.ws, "2003", &[Codec::Pcmu], OUR_TONE);
    // As if something between the phone and Asterisk rewrote its SDP: one hex digit of the
    // fingerprint changed, so Asterisk's real certificate no longer matches it.
    config.media.remote_sdp_filter = Some(SdpFilter(Arc::new(|sdp: &str| {
        sdp.lines()
            .map(|l| match l.strip_prefix("a=fingerprint:SHA-256 ") {
                Some(v) => {
                    let flipped = if v.starts_with('0') { "1" } else { "0" };
                    format!("a=fingerprint:SHA-256 {flipped}{}\r\n", &v[1..])
                }
                None => format!("{l}\r\n"),
            })
            .collect()
    })));
    let report = probe::run(config, &probe_options("601")).await;
    assert!(report.registered && report.answered, "{report:?}");
    assert!(!report.audio_back, "no audio without DTLS");
    assert_eq!(
        report.failed,
        Some(Stage::DtlsFingerprint { hash: "SHA-256".into() }),
        "{}",
        report.message
    );
    assert!(
        report
            .message
            .starts_with("DTLS: отпечаток сертификата: сертификат DTLS, который предъявила АТС, не совпадает"),
        "{}",
        report.message
    );
}
