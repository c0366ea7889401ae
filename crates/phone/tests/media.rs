//! Two media sessions in one process calling each other over loopback: codecs, tones both
//! ways, the recording, hold, DTMF, and how long offer and first audio take.

use std::time::{Duration, Instant};

use dialog_phone::media::{
    decode_recording, dominant_frequency, rms, tone_level, CaptureHandle, CaptureSink, Codec, DtlsState, MediaError,
    MediaEvent, MediaFailure, MediaOptions, MediaSession, Recording, ToneSource, TransportState, SAMPLE_RATE,
};

const TONE_A: f32 = 1000.0;
const TONE_B: f32 = 700.0;

fn options(codecs: &[Codec]) -> MediaOptions {
    MediaOptions {
        codecs: codecs.to_vec(),
        loopback_only: true,
        ..Default::default()
    }
}

struct Side {
    session: MediaSession,
    heard: CaptureHandle,
}

async fn side(codecs: &[Codec], tone: f32) -> Side {
    let sink = CaptureSink::new();
    let heard = sink.handle();
    let session = MediaSession::new(options(codecs), Box::new(ToneSource::new(tone, 8000)), Box::new(sink))
        .await
        .expect("media session");
    Side { session, heard }
}

async fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A calls B: offer from A, answer from B. Returns when both hear audio.
async fn call(label: &str, codecs_a: &[Codec], codecs_b: &[Codec]) -> (Side, Side) {
    let a = side(codecs_a, TONE_A).await;
    let b = side(codecs_b, TONE_B).await;
    let t = Instant::now();
    let offer = a.session.create_offer().await.expect("offer");
    let offer_time = t.elapsed();
    println!("[{label}] create_offer took {offer_time:?}");
    assert!(
        offer_time < Duration::from_millis(500),
        "create_offer took {offer_time:?}"
    );
    let t = Instant::now();
    let answer = b.session.accept_offer(&offer).await.expect("answer");
    println!("[{label}] accept_offer took {:?}", t.elapsed());
    let answered = Instant::now();
    a.session.set_answer(&answer).await.expect("set_answer");
    wait_for("first audio", Duration::from_secs(5), || {
        a.session.stats().first_audio_at.is_some() && b.session.stats().first_audio_at.is_some()
    })
    .await;
    let (sa, sb) = (a.session.stats(), b.session.stats());
    let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(answered));
    println!(
        "[{label}] from set_answer: A connected {:?}, A first audio {:?}, B first audio {:?}",
        since(sa.connected_at),
        since(sa.first_audio_at),
        since(sb.first_audio_at)
    );
    (a, b)
}

fn assert_hears(label: &str, heard: &CaptureHandle, freq: f32) {
    let tail = heard.last(SAMPLE_RATE as usize / 2);
    let level = rms(&tail);
    let f = dominant_frequency(&tail, SAMPLE_RATE);
    println!("[{label}] heard {f:?} Hz at rms {level:.0}");
    let f = f.unwrap_or_else(|| panic!("{label}: silence"));
    assert!((f - freq).abs() < 5.0, "{label}: expected {freq} Hz, heard {f} Hz");
    assert!(level > 1000.0, "{label}: too quiet ({level})");
}

fn assert_recording_has_both(label: &str, recording: &Recording) {
    assert_eq!(recording.codec, "audio/wav");
    let pcm = decode_recording(&recording.data).expect("decode recording");
    println!(
        "[{label}] recording: {} bytes, {:?}, {} samples",
        recording.data.len(),
        recording.duration,
        pcm.len()
    );
    assert!(recording.duration >= Duration::from_secs(1), "{:?}", recording.duration);
    let a = tone_level(&pcm, SAMPLE_RATE, TONE_A);
    let b = tone_level(&pcm, SAMPLE_RATE, TONE_B);
    let none = tone_level(&pcm, SAMPLE_RATE, 850.0);
    println!("[{label}] recording levels: {TONE_A} Hz {a:.0}, {TONE_B} Hz {b:.0}, 850 Hz {none:.0}");
    assert!(a > 1000.0 && b > 1000.0, "both tones must be in the recording");
    assert!(none < a / 10.0 && none < b / 10.0, "no tone at 850 Hz");
}

async fn two_way_audio(label: &str, codecs_a: &[Codec], codecs_b: &[Codec], expected: Codec) {
    let (a, b) = call(label, codecs_a, codecs_b).await;
    assert_eq!(a.session.stats().codec, Some(expected));
    assert_eq!(b.session.stats().codec, Some(expected));
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_hears(&format!("{label} A"), &a.heard, TONE_B);
    assert_hears(&format!("{label} B"), &b.heard, TONE_A);
    let stats = a.session.stats();
    assert_eq!(stats.transport, TransportState::Connected);
    assert!(stats.packets_sent > 50 && stats.packets_received > 50, "{stats:?}");
    let rec_a = a.session.close().await.expect("close A");
    let rec_b = b.session.close().await.expect("close B");
    assert_recording_has_both(&format!("{label} A"), &rec_a);
    assert_recording_has_both(&format!("{label} B"), &rec_b);
    assert!(matches!(a.session.close().await, Err(MediaError::Closed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opus_both_ways() {
    two_way_audio(
        "opus",
        &[Codec::Opus, Codec::Pcmu, Codec::Pcma],
        &[Codec::Opus, Codec::Pcmu],
        Codec::Opus,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcmu_both_ways() {
    two_way_audio("pcmu", &[Codec::Pcmu], &[Codec::Pcmu], Codec::Pcmu).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcma_when_the_peer_has_only_pcma() {
    two_way_audio(
        "pcma",
        &[Codec::Opus, Codec::Pcmu, Codec::Pcma],
        &[Codec::Pcma],
        Codec::Pcma,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_is_complete_sdp_for_a_sip_peer() {
    let a = side(&[Codec::Opus, Codec::Pcmu, Codec::Pcma], TONE_A).await;
    let offer = a.session.create_offer().await.expect("offer");
    println!("{offer}");
    for needed in [
        "m=audio ",
        "UDP/TLS/RTP/SAVPF 111 0 8 101",
        "c=IN IP4 ",
        "a=setup:actpass",
        "a=rtcp-mux",
        "a=ice-ufrag:",
        "a=fingerprint:sha-256 ",
        "a=rtpmap:111 opus/48000/2",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=sendrecv",
    ] {
        assert!(offer.contains(needed), "offer lacks {needed:?}");
    }
    let candidates: Vec<&str> = offer.lines().filter(|l| l.starts_with("a=candidate:")).collect();
    assert!(!candidates.is_empty(), "no candidates in the offer");
    assert!(
        candidates.iter().all(|c| c.contains(" 127.0.0.1 ")),
        "loopback only: {candidates:?}"
    );
    a.session.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_common_codec_is_refused() {
    let a = side(&[Codec::Opus], TONE_A).await;
    let b = side(&[Codec::Pcmu], TONE_B).await;
    let offer = a.session.create_offer().await.expect("offer");
    let r = b.session.accept_offer(&offer).await;
    assert!(matches!(r, Err(MediaError::NoCommonCodec(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_without_mid_or_bundle_still_works() {
    // Plain RFC 3264 peers (and rtpengine without generate-mid) answer without a=mid.
    let a = side(&[Codec::Pcmu], TONE_A).await;
    let b = side(&[Codec::Pcmu], TONE_B).await;
    let offer = a.session.create_offer().await.expect("offer");
    let answer = b.session.accept_offer(&offer).await.expect("answer");
    let stripped: String = answer
        .lines()
        .filter(|l| !l.starts_with("a=mid:") && !l.starts_with("a=group:BUNDLE"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    a.session.set_answer(&stripped).await.expect("set_answer without mid");
    wait_for("first audio", Duration::from_secs(5), || {
        a.session.stats().first_audio_at.is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_hears("no-mid A", &a.heard, TONE_B);
    assert_hears("no-mid B", &b.heard, TONE_A);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_stops_audio_both_ways_and_unhold_resumes() {
    let (a, b) = call("hold", &[Codec::Pcmu], &[Codec::Pcmu]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_hears("before hold A", &a.heard, TONE_B);

    let offer = a.session.hold_offer(true).await.expect("hold offer");
    assert!(offer.contains("a=sendonly"), "{offer}");
    let answer = b.session.accept_offer(&offer).await.expect("hold answer");
    assert!(answer.contains("a=recvonly"), "{answer}");
    a.session.set_answer(&answer).await.expect("hold set_answer");
    assert!(a.session.stats().on_hold);
    assert!(b.session.stats().remote_hold);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (sent_a, sent_b) = (a.session.stats().packets_sent, b.session.stats().packets_sent);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let held_a = rms(&a.heard.last(SAMPLE_RATE as usize / 5));
    let held_b = rms(&b.heard.last(SAMPLE_RATE as usize / 5));
    println!("[hold] rms while held: A hears {held_a:.0}, B hears {held_b:.0}");
    assert!(held_a < 50.0 && held_b < 50.0);
    assert_eq!(a.session.stats().packets_sent, sent_a, "the holding side sends nothing");
    assert_eq!(b.session.stats().packets_sent, sent_b, "the held side sends nothing");

    let offer = a.session.hold_offer(false).await.expect("unhold offer");
    assert!(offer.contains("a=sendrecv"), "{offer}");
    let answer = b.session.accept_offer(&offer).await.expect("unhold answer");
    a.session.set_answer(&answer).await.expect("unhold set_answer");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_hears("after unhold A", &a.heard, TONE_B);
    assert_hears("after unhold B", &b.heard, TONE_A);
    assert!(!b.session.stats().remote_hold);
    a.session.close().await.expect("close A");
    b.session.close().await.expect("close B");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtmf_reaches_the_peer() {
    for codecs in [[Codec::Pcmu], [Codec::Opus]] {
        let (a, b) = call("dtmf", &codecs, &codecs).await;
        let mut events = b.session.events();
        assert!(matches!(
            a.session.send_dtmf('x'),
            Err(MediaError::InvalidDtmfDigit('x'))
        ));
        for d in "159#*0D".chars() {
            a.session.send_dtmf(d).expect("send_dtmf");
        }
        wait_for("DTMF", Duration::from_secs(5), || {
            b.session.stats().dtmf_received.len() >= 7
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(b.session.stats().dtmf_received, "159#*0D");
        let mut via_events = String::new();
        while let Ok(ev) = events.try_recv() {
            if let MediaEvent::Dtmf(d) = ev {
                via_events.push(d);
            }
        }
        assert_eq!(via_events, "159#*0D");
        // Audio resumes after the keys.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_hears("after DTMF B", &b.heard, TONE_A);
        a.session.close().await.expect("close A");
        b.session.close().await.expect("close B");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_on_all_interfaces_does_not_wait_for_a_timeout() {
    let session = MediaSession::new(
        MediaOptions::default(),
        Box::new(ToneSource::new(TONE_A, 8000)),
        Box::new(CaptureSink::new()),
    )
    .await
    .expect("media session");
    let t = Instant::now();
    let offer = session.create_offer().await.expect("offer");
    let took = t.elapsed();
    let candidates = offer.lines().filter(|l| l.starts_with("a=candidate:")).count();
    println!("[all interfaces] create_offer took {took:?} with {candidates} candidates");
    assert!(took < Duration::from_millis(500), "{took:?}");
    session.close().await.expect("close");
}

#[test]
fn session_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<MediaSession>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_payload_numbers_are_used() {
    // A PBX may number Opus and telephone-event differently (e.g. 96 and 100); we must send
    // with its numbers and understand them.
    let a = side(&[Codec::Opus], TONE_A).await;
    let b = side(&[Codec::Opus], TONE_B).await;
    let offer = b.session.create_offer().await.expect("offer");
    let renumbered = offer
        .replace("SAVPF 111 101", "SAVPF 96 100")
        .replace("a=rtpmap:111 ", "a=rtpmap:96 ")
        .replace("a=fmtp:111 ", "a=fmtp:96 ")
        .replace("a=rtpmap:101 ", "a=rtpmap:100 ")
        .replace("a=fmtp:101 ", "a=fmtp:100 ");
    assert!(renumbered.contains("SAVPF 96 100"), "{renumbered}");
    // B itself must accept its offer's renumbering too: give B's answer-side the same view by
    // letting A answer the renumbered offer and B take A's answer.
    let answer = a.session.accept_offer(&renumbered).await.expect("answer");
    assert!(answer.contains("a=rtpmap:96 opus/48000/2"), "{answer}");
    assert!(answer.contains("a=rtpmap:100 telephone-event/8000"), "{answer}");
    b.session.set_answer(&answer).await.expect("set_answer");
    wait_for("first audio", Duration::from_secs(5), || {
        a.session.stats().first_audio_at.is_some()
    })
    .await;
    a.session.send_dtmf('7').expect("dtmf");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_hears("renumbered A", &a.heard, TONE_B);
    assert_hears("renumbered B", &b.heard, TONE_A);
    assert_eq!(b.session.stats().dtmf_received, "7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reinvite_from_the_callee_keeps_audio() {
    let (a, b) = call("re-INVITE", &[Codec::Pcmu], &[Codec::Pcmu]).await;
    // A refreshes the session (re-INVITE with unchanged media), B answers.
    let offer = a.session.create_offer().await.expect("A offer");
    let answer = b.session.accept_offer(&offer).await.expect("B answer");
    a.session.set_answer(&answer).await.expect("A set_answer");
    // Now B sends a re-INVITE (session refresh) and A answers it.
    let offer = b.session.create_offer().await.expect("B offer");
    let answer = a.session.accept_offer(&offer).await.expect("A answer");
    b.session.set_answer(&answer).await.expect("B set_answer");
    let before = a.heard.len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(a.heard.len() > before);
    assert_hears("re-INVITE A", &a.heard, TONE_B);
    assert_hears("re-INVITE B", &b.heard, TONE_A);
}

/// An offer shaped like rtpengine's towards a WebRTC client (ICE=force, rtcp-mux-offer,
/// no generate-mid): RTCP candidates, `a=rtcp`, `a=ptime`, no `a=mid`, no BUNDLE.
const RTPENGINE_OFFER: &str = "v=0\r\n\
o=- 1545997027 1 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
m=audio 30000 UDP/TLS/RTP/SAVPF 0 8 111 101\r\n\
c=IN IP4 127.0.0.1\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 useinbandfec=1\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=sendrecv\r\n\
a=rtcp:30001\r\n\
a=rtcp-mux\r\n\
a=setup:actpass\r\n\
a=fingerprint:sha-256 5B:6A:1F:0E:3C:2D:4F:7A:9B:8C:1D:2E:3F:40:51:62:73:84:95:A6:B7:C8:D9:EA:FB:0C:1D:2E:3F:40:51:62\r\n\
a=tls-id:2a7d3a8b6ad5a7a0e5a2d6c0b1f2e3d4\r\n\
a=ptime:20\r\n\
a=ice-ufrag:Xy3kPq9Z\r\n\
a=ice-pwd:aB4dE6gH8jK0mN2pQ4sT6vW8\r\n\
a=ice-options:trickle\r\n\
a=candidate:Hbf1b0c5e 1 UDP 2130706431 127.0.0.1 30000 typ host\r\n\
a=candidate:Hbf1b0c5e 2 UDP 2130706430 127.0.0.1 30001 typ host\r\n\
a=end-of-candidates\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_an_rtpengine_style_offer() {
    for (label, offer) in [
        ("full ICE", RTPENGINE_OFFER.to_owned()),
        (
            "ICE lite",
            RTPENGINE_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n"),
        ),
    ] {
        let b = side(&[Codec::Opus, Codec::Pcmu, Codec::Pcma], TONE_B).await;
        let answer = b
            .session
            .accept_offer(&offer)
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        // Either DTLS role answers actpass (RFC 5763 §5); webrtc-rs takes passive towards ICE lite.
        assert!(
            answer.contains("a=setup:active") || answer.contains("a=setup:passive"),
            "{label}"
        );
        println!("[{label}] answer:\n{answer}");
        for needed in [
            "a=rtcp-mux",
            "a=mid:0",
            "a=candidate:",
            "a=rtpmap:101 telephone-event/8000",
        ] {
            assert!(answer.contains(needed), "{label}: answer lacks {needed:?}");
        }
        assert!(!answer.contains("m=audio 9 "), "{label}: default candidate port in m=");
        assert!(
            !answer.contains("c=IN IP4 0.0.0.0"),
            "{label}: 0.0.0.0 reads as hold to Asterisk"
        );
        // Offer order decides: PCMU is first in the offer and enabled here.
        assert_eq!(b.session.stats().codec, Some(Codec::Pcmu), "{label}");
        b.session.close().await.expect("close");
    }
}

/// Asterisk 23.4.1's offer when it calls an operator (`tests/data/README.md`).
const ASTERISK_OFFER: &str = include_str!("data/asterisk-offer.sdp");
/// Asterisk 23.4.1's answer to our offer.
const ASTERISK_ANSWER: &str = include_str!("data/asterisk-answer.sdp");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_asterisks_offer() {
    let b = side(&[Codec::Pcmu, Codec::Pcma], TONE_B).await;
    let answer = b.session.accept_offer(ASTERISK_OFFER).await.expect("Asterisk's offer");
    println!("{answer}");
    for needed in [
        // Asterisk offered BUNDLE: it gets it back, with its own mid.
        "a=group:BUNDLE audio-0",
        "a=mid:audio-0",
        "m=audio ",
        "UDP/TLS/RTP/SAVPF 0 8 101",
        "a=setup:active",
        "a=rtcp-mux",
        "a=fingerprint:sha-256 ",
        "a=rtpmap:101 telephone-event/8000",
        "a=sendrecv",
    ] {
        assert!(answer.contains(needed), "answer lacks {needed:?}");
    }
    assert!(
        !answer.contains("c=IN IP4 0.0.0.0"),
        "0.0.0.0 reads as hold to Asterisk"
    );
    assert_eq!(b.session.stats().codec, Some(Codec::Pcmu), "the offer's first codec");
    assert!(!b.session.stats().remote_hold);
    b.session.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn takes_asterisks_answer() {
    let a = side(&[Codec::Pcmu, Codec::Pcma], TONE_A).await;
    a.session.create_offer().await.expect("offer");
    a.session.set_answer(ASTERISK_ANSWER).await.expect("Asterisk's answer");
    let stats = a.session.stats();
    assert_eq!(stats.codec, Some(Codec::Pcmu));
    assert!(!stats.remote_hold);
    a.session.close().await.expect("close");
}

/// The answer with its fingerprint's hash name written as Asterisk writes it.
fn upper_case_hash(sdp: &str) -> String {
    sdp.replace("a=fingerprint:sha-256 ", "a=fingerprint:SHA-256 ")
}

/// A fingerprint that belongs to no certificate: one hex digit changed.
fn tampered_fingerprint(sdp: &str) -> String {
    sdp.lines()
        .map(|l| match l.strip_prefix("a=fingerprint:sha-256 ") {
            Some(v) => {
                let flipped = if v.starts_with('0') { "1" } else { "0" };
                format!("a=fingerprint:sha-256 {flipped}{}\r\n", &v[1..])
            }
            None => format!("{l}\r\n"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dtls_connects_when_the_fingerprint_hash_is_upper_case() {
    let a = side(&[Codec::Pcmu], TONE_A).await;
    let b = side(&[Codec::Pcmu], TONE_B).await;
    let offer = a.session.create_offer().await.expect("offer");
    let answer = b.session.accept_offer(&upper_case_hash(&offer)).await.expect("answer");
    assert!(answer.contains("a=fingerprint:sha-256 "));
    a.session
        .set_answer(&upper_case_hash(&answer))
        .await
        .expect("set_answer");
    wait_for("first audio both ways", Duration::from_secs(5), || {
        a.session.stats().first_audio_at.is_some() && b.session.stats().first_audio_at.is_some()
    })
    .await;
    assert_eq!(a.session.stats().dtls, DtlsState::Connected);
    assert_eq!(a.session.failure().await, None);
    a.session.close().await.expect("close");
    b.session.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fingerprint_that_does_not_match_the_certificate_is_told_apart() {
    let a = side(&[Codec::Pcmu], TONE_A).await;
    let b = side(&[Codec::Pcmu], TONE_B).await;
    let offer = a.session.create_offer().await.expect("offer");
    let answer = b.session.accept_offer(&offer).await.expect("answer");
    a.session
        .set_answer(&tampered_fingerprint(&answer))
        .await
        .expect("set_answer");
    wait_for("DTLS to fail", Duration::from_secs(10), || {
        a.session.stats().dtls == DtlsState::FingerprintMismatch
    })
    .await;
    assert!(a.session.stats().ice_connected_at.is_some(), "ICE itself worked");
    assert_eq!(
        a.session.failure().await,
        Some(MediaFailure::DtlsFingerprint { hash: "sha-256".into() })
    );
    a.session.close().await.expect("close");
    b.session.close().await.expect("close");
}
