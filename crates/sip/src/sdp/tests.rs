use super::*;

const WEBRTC_OFFER: &str = "v=0\r
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r
s=-\r
t=0 0\r
a=group:BUNDLE 0\r
a=msid-semantic: WMS\r
m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r
c=IN IP4 0.0.0.0\r
a=rtcp:9 IN IP4 0.0.0.0\r
a=ice-ufrag:EsAw\r
a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r
a=setup:actpass\r
a=mid:0\r
a=sendrecv\r
a=rtcp-mux\r
a=rtpmap:111 opus/48000/2\r
a=fmtp:111 minptime=10;useinbandfec=1\r
a=rtpmap:126 telephone-event/8000\r
a=candidate:1 1 udp 2130706431 192.168.1.5 40000 typ host\r
a=candidate:2 1 udp 1694498815 203.0.113.7 40001 typ srflx raddr 0.0.0.0 rport 40000\r
a=candidate:3 2 udp 1694498814 203.0.113.7 40002 typ srflx raddr 0.0.0.0 rport 40000\r
";

/// rtpengine's answer towards a WebRTC endpoint: no mid, no rtpmap for PCMU, RTCP candidates.
const RTPENGINE_ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=audio 30000 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:101 telephone-event/8000\r\n\
    a=fmtp:101 0-15\r\na=recvonly\r\na=rtcp-mux\r\na=setup:active\r\n";

#[test]
fn webrtc_offer_round_trips_and_lists_codecs() {
    let sdp = parse(WEBRTC_OFFER).expect("parse");
    assert_eq!(sdp.to_string(), WEBRTC_OFFER);
    assert_eq!(sdp.line('o'), Some("- 4611731400430051336 2 IN IP4 127.0.0.1"));
    assert_eq!(sdp.attribute("group"), Some("BUNDLE 0"));
    let audio = sdp.media.first().expect("audio");
    assert_eq!(
        (audio.kind.as_str(), audio.port, audio.proto.as_str()),
        ("audio", 9, "UDP/TLS/RTP/SAVPF")
    );
    let names: Vec<_> = audio
        .codecs()
        .into_iter()
        .map(|c| (c.payload_type, c.name, c.clock_rate, c.channels))
        .collect();
    assert_eq!(
        names,
        vec![
            (111, "opus".to_owned(), 48000, Some(2)),
            (0, "PCMU".to_owned(), 8000, None),
            (8, "PCMA".to_owned(), 8000, None),
            (126, "telephone-event".to_owned(), 8000, None),
        ]
    );
    assert_eq!(audio.attribute("setup"), Some("actpass"));
    assert_eq!(audio.mid(), Some("0"));
    assert!(audio.has_rtpmap(111) && !audio.has_rtpmap(0));
}

#[test]
fn hold_sets_direction_and_bumps_version() {
    let mut sdp = parse(WEBRTC_OFFER).expect("parse");
    assert_eq!(sdp.media_direction(0), Some(Direction::SendRecv));
    sdp.set_direction(Direction::SendOnly);
    sdp.bump_version();
    let held = parse(&sdp.to_string()).expect("reparse");
    assert_eq!(held.media_direction(0), Some(Direction::SendOnly));
    assert!(!Direction::SendOnly.receives() && Direction::RecvOnly.receives());
    assert_eq!(held.media.first().expect("audio").attributes("sendrecv").count(), 0);
    assert_eq!(held.line('o'), Some("- 4611731400430051336 3 IN IP4 127.0.0.1"));
}

#[test]
fn session_level_direction_is_inherited() {
    let sdp = parse("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\na=inactive\nt=0 0\nm=audio 4000/2 RTP/AVP 0\n").expect("parse");
    assert_eq!(sdp.media_direction(0), Some(Direction::Inactive));
    assert_eq!(sdp.media.first().expect("m").port_count, Some(2));
    assert_eq!(sdp.media_direction(1), None);
}

#[test]
fn rejects_malformed() {
    for bad in [
        "",
        "o=- 1 1 IN IP4 x\n",
        "v=1\n",
        "v=0\nnonsense\n",
        "v=0\nm=audio\n",
        "v=0\nm=audio x RTP/AVP 0\n",
        "v=0\n1=x\n",
    ] {
        assert!(parse(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn candidates_and_the_default_one() {
    let mut sdp = parse(WEBRTC_OFFER).expect("parse");
    let audio = sdp.media.first_mut().expect("audio");
    let candidates: Vec<Candidate> = audio.candidates().collect();
    assert_eq!(candidates.len(), 3);
    assert_eq!(
        candidates[1],
        Candidate {
            foundation: "2".into(),
            component: 1,
            transport: "udp".into(),
            priority: 1_694_498_815,
            address: "203.0.113.7".into(),
            port: 40001,
            typ: "srflx".into(),
        }
    );
    // Server reflexive beats host; component 2 is not a candidate for RTP.
    assert_eq!(audio.default_candidate(), Some(([203, 0, 113, 7].into(), 40001)));
    assert_eq!(audio.show_default_candidate(), Some([203, 0, 113, 7].into()));
    let shown = sdp.to_string();
    assert!(
        shown.contains("m=audio 40001 UDP/TLS/RTP/SAVPF 111 0 8 126\r\nc=IN IP4 203.0.113.7\r\n"),
        "{shown}"
    );
    // a=rtcp is not c=: it stays as the stack wrote it.
    assert!(shown.contains("a=rtcp:9 IN IP4 0.0.0.0\r\n"), "{shown}");
    assert_eq!(Candidate::parse("1 1 udp 5 10.0.0.1 9 host"), None, "no `typ`");
}

#[test]
fn fingerprints_at_both_levels_with_their_hash_names_as_written() {
    let asterisk = "v=0\r\na=fingerprint:SHA-256 78:2E\r\nm=audio 1 RTP/AVP 0\r\na=fingerprint:sha-1 AA:BB\r\n";
    let sdp = parse(asterisk).expect("parse");
    let prints = sdp.fingerprints();
    assert_eq!(
        prints,
        vec![
            Fingerprint {
                hash: "SHA-256".into(),
                value: "78:2E".into()
            },
            Fingerprint {
                hash: "sha-1".into(),
                value: "AA:BB".into()
            },
        ]
    );
    assert!(prints[0].hash_is("sha-256"));
}

#[test]
fn mids_and_the_bundle_group() {
    let mut sdp = parse(RTPENGINE_ANSWER).expect("parse");
    assert_eq!(sdp.mids(), vec![None]);
    assert_eq!(sdp.bundle_group(), None);
    let audio = &mut sdp.media[0];
    audio.set_mid("0");
    assert!(sdp
        .to_string()
        .contains("m=audio 30000 UDP/TLS/RTP/SAVPF 0 101\r\na=mid:0\r\n"));
    sdp.set_bundle_group();
    assert_eq!(sdp.bundle_group(), Some(vec!["0"]));
    let text = sdp.to_string();
    assert!(text.contains("t=0 0\r\na=group:BUNDLE 0\r\nm=audio"), "{text}");
    sdp.media[0].set_mid("audio");
    sdp.set_bundle_group();
    assert_eq!(sdp.to_string().matches("a=group:").count(), 1);
    assert_eq!(sdp.bundle_group(), Some(vec!["audio"]));
    sdp.remove_bundle_group();
    assert_eq!(sdp.bundle_group(), None);
    assert_eq!(sdp.audio().map(|(i, m)| (i, m.port)), Some((0, 30000)));
    assert_eq!(sdp.media_direction(0), Some(Direction::RecvOnly));
}

#[test]
fn our_origin_keeps_its_id_and_bumps_its_version_only_on_a_change() {
    let mut origin = LocalOrigin::new(99);
    let mut first = parse(WEBRTC_OFFER).expect("parse");
    origin.stamp(&mut first, "203.0.113.7");
    assert_eq!(first.line('o'), Some("- 99 1 IN IP4 203.0.113.7"));
    let mut again = parse(WEBRTC_OFFER).expect("parse");
    origin.stamp(&mut again, "203.0.113.7");
    assert_eq!(again, first, "unchanged SDP keeps its version");
    let mut held = parse(&WEBRTC_OFFER.replace("a=sendrecv", "a=sendonly")).expect("parse");
    origin.stamp(&mut held, "203.0.113.7");
    assert_eq!(held.line('o'), Some("- 99 2 IN IP4 203.0.113.7"));
    assert_eq!(
        held.origin().map(|o| (o.session_id, o.version)),
        Some(("99".to_owned(), 2))
    );
    // Without an o= line, ours goes right after v=.
    let mut bare = parse("v=0\r\ns=-\r\n").expect("parse");
    LocalOrigin::new(7).stamp(&mut bare, "127.0.0.1");
    assert_eq!(bare.to_string(), "v=0\r\no=- 7 1 IN IP4 127.0.0.1\r\ns=-\r\n");
}
