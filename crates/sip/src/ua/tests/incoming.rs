//! Incoming calls and other requests from the peer.

use super::*;

/// An INVITE as Kamailio relays it from baresip (2002) to us.
fn invite_text(call_id: &str, branch: &str) -> String {
    format!(
        "INVITE sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n\
         Record-Route: <sip:127.0.0.1:8088;transport=ws;r2=on;lr>\r\n\
         Record-Route: <sip:127.0.0.1;r2=on;lr>\r\n\
         Via: SIP/2.0/WS 127.0.0.1:8088;branch={branch}\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5070;received=127.0.0.1;branch=z9hG4bK8f5c;rport=5070\r\n\
         Max-Forwards: 69\r\n\
         Contact: <sip:2002@127.0.0.1:5070;transport=udp>\r\n\
         To: <sip:2001@127.0.0.1>\r\n\
         From: \"Dispatcher 2\" <sip:2002@127.0.0.1>;tag=caller\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 100 INVITE\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{OFFER}",
        OFFER.len()
    )
}

/// A request inside the incoming dialog, `to` carrying our tag.
fn in_dialog(method: &str, call_id: &str, to_tag: &str, seq: u32, branch: &str, body: &str) -> String {
    format!(
        "{method} sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS 127.0.0.1:8088;branch={branch}\r\n\
         Contact: <sip:2002@127.0.0.1:5070;transport=udp>\r\n\
         From: \"Dispatcher 2\" <sip:2002@127.0.0.1>;tag=caller\r\n\
         To: <sip:2001@127.0.0.1>;tag={to_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: {seq} {method}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Feeds an INVITE, checks the automatic 180 and the event; returns the call and our tag.
fn ring(rig: &mut Rig, call_id: &str, branch: &str) -> (CallId, String) {
    rig.feed(&invite_text(call_id, branch));
    let ringing = rig.response();
    assert_eq!((ringing.code, cseq(&ringing)), (180, (100, Method::Invite)));
    assert_eq!(ringing.headers.get_all("Via").count(), 2, "all Vias copied");
    assert_eq!(
        ringing.headers.get_all("Record-Route").collect::<Vec<_>>(),
        vec!["<sip:127.0.0.1:8088;transport=ws;r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>"]
    );
    assert!(ringing.contact().is_some());
    assert_eq!(
        ringing.from().and_then(|f| f.tag().map(str::to_owned)).as_deref(),
        Some("caller")
    );
    let tag = ringing.to().and_then(|t| t.tag().map(str::to_owned)).expect("To tag");
    let events = rig.events();
    let [UaEvent::IncomingCall {
        call,
        from_user,
        from_display,
        sdp_offer,
    }] = events.as_slice()
    else {
        panic!("expected IncomingCall, got {events:?}")
    };
    assert_eq!(from_user, "2002");
    assert_eq!(from_display.as_deref(), Some("Dispatcher 2"));
    assert_eq!(sdp_offer.as_deref(), Some(OFFER));
    (*call, tag)
}

/// Rings, answers and confirms an incoming call.
fn answered(rig: &mut Rig, call_id: &str) -> (CallId, String) {
    let (call, tag) = ring(rig, call_id, "z9hG4bKinv1");
    rig.ua.answer(rig.now, call, ANSWER.to_owned()).expect("answer");
    let ok = rig.response();
    assert_eq!(ok.code, 200);
    rig.feed(&in_dialog("ACK", call_id, &tag, 100, "z9hG4bKack1", ""));
    assert_eq!(rig.events(), vec![UaEvent::Confirmed { call }]);
    (call, tag)
}

#[test]
fn incoming_call_answer_ack_and_remote_bye() {
    let mut rig = Rig::connected();
    let (call, tag) = ring(&mut rig, "in-1", "z9hG4bKinv1");
    rig.ua.answer(rig.now, call, ANSWER.to_owned()).expect("answer");
    let ok = rig.response();
    assert_eq!(ok.code, 200);
    assert_eq!(ok.body, ANSWER);
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    assert_eq!(
        ok.to().and_then(|t| t.tag().map(str::to_owned)),
        Some(tag.clone()),
        "same tag as the 180"
    );
    assert_eq!(ok.headers.get_all("Record-Route").count(), 2);
    let ok_text = ok.to_string();

    // No ACK yet: the 200 is retransmitted at T1, 2·T1, 4·T1 ... capped at T2.
    assert_eq!(rig.ua.poll_timeout(), Some(rig.now + Duration::from_millis(500)));
    let mut gaps = Vec::new();
    let mut last = rig.now;
    for _ in 0..5 {
        rig.fire_timer();
        assert_eq!(rig.sent_raw(), vec![ok_text.clone()]);
        gaps.push((rig.now - last).as_millis());
        last = rig.now;
    }
    assert_eq!(gaps, vec![500, 1000, 2000, 4000, 4000]);

    rig.feed(&in_dialog("ACK", "in-1", &tag, 100, "z9hG4bKack1", ""));
    assert_eq!(rig.events(), vec![UaEvent::Confirmed { call }]);
    assert!(rig.only_refresh_timer(), "ACK stops the retransmissions");

    rig.feed(&in_dialog("BYE", "in-1", &tag, 101, "z9hG4bKbye1", ""));
    let bye_ok = rig.response();
    assert_eq!((bye_ok.code, cseq(&bye_ok)), (200, (101, Method::Bye)));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::RemoteHangup
        }]
    );
    assert_eq!(
        rig.ua.answer(rig.now, call, ANSWER.to_owned()),
        Err(UaError::UnknownCall(call))
    );
}

#[test]
fn local_bye_uses_dialog_state() {
    let mut rig = Rig::connected();
    let (call, tag) = answered(&mut rig, "in-2");
    rig.ua.hangup(rig.now, call).expect("hangup");
    let bye = rig.request();
    assert_eq!(
        bye.uri.to_string(),
        "sip:2002@127.0.0.1:5070;transport=udp",
        "remote target = their Contact"
    );
    assert_eq!(
        bye.headers.get_all("Route").collect::<Vec<_>>(),
        vec!["<sip:127.0.0.1:8088;transport=ws;r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>"],
        "UAS route set = Record-Route in order"
    );
    assert_eq!(bye.from().and_then(|f| f.tag().map(str::to_owned)), Some(tag));
    assert_eq!(
        bye.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(),
        Some("caller")
    );
    assert_eq!(bye.call_id(), Some("in-2"));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::LocalHangup
        }]
    );
}

#[test]
fn missing_ack_times_out_with_bye() {
    let mut rig = Rig::connected();
    let (call, _) = ring(&mut rig, "in-3", "z9hG4bKinv3");
    rig.ua.answer(rig.now, call, ANSWER.to_owned()).expect("answer");
    rig.sent();
    rig.advance(Duration::from_secs(32));
    let sent = rig.sent();
    assert!(
        matches!(sent.last(), Some(Message::Request(r)) if r.method == Method::Bye),
        "{sent:?}"
    );
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Timeout
        }]
    );
}

#[test]
fn hangup_before_ack_waits_for_it() {
    let mut rig = Rig::connected();
    let (call, tag) = ring(&mut rig, "in-4", "z9hG4bKinv4");
    rig.ua.answer(rig.now, call, ANSWER.to_owned()).expect("answer");
    rig.sent();
    rig.ua.hangup(rig.now, call).expect("hangup");
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::LocalHangup
        }]
    );
    assert!(rig.sent().is_empty(), "RFC 3261 §15: no BYE before the ACK");
    rig.feed(&in_dialog("ACK", "in-4", &tag, 100, "z9hG4bKack4", ""));
    assert_eq!(rig.request().method, Method::Bye);
    assert!(rig.events().is_empty(), "Ended is reported once");
}

#[test]
fn caller_cancels() {
    let mut rig = Rig::connected();
    let (call, tag) = ring(&mut rig, "in-5", "z9hG4bKinv5");
    let cancel = "CANCEL sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n\
                  Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKinv5\r\n\
                  From: \"Dispatcher 2\" <sip:2002@127.0.0.1>;tag=caller\r\nTo: <sip:2001@127.0.0.1>\r\n\
                  Call-ID: in-5\r\nCSeq: 100 CANCEL\r\nContent-Length: 0\r\n\r\n";
    rig.feed(cancel);
    let sent = rig.sent();
    let codes: Vec<(u16, Method)> = sent
        .iter()
        .map(|m| match m {
            Message::Response(r) => (r.code, cseq(r).1),
            Message::Request(r) => panic!("unexpected {r}"),
        })
        .collect();
    assert_eq!(codes, vec![(200, Method::Cancel), (487, Method::Invite)]);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Cancelled
        }]
    );
    // The proxy's ACK for the 487 is absorbed silently.
    rig.feed(&in_dialog("ACK", "in-5", &tag, 100, "z9hG4bKinv5", ""));
    assert!(rig.sent().is_empty() && rig.events().is_empty());
    // A CANCEL for nothing we know: 481.
    rig.feed(cancel);
    assert_eq!(rig.response().code, 481);
}

#[test]
fn two_calls_ring_at_once() {
    let mut rig = Rig::connected();
    let (first, _) = ring(&mut rig, "in-a", "z9hG4bKa");
    let (second, second_tag) = ring(&mut rig, "in-b", "z9hG4bKb");
    assert_ne!(first, second);
    rig.ua
        .answer(rig.now, second, ANSWER.to_owned())
        .expect("answer second");
    let ok = rig.response();
    assert_eq!((ok.code, ok.call_id()), (200, Some("in-b")));
    rig.ua.reject(rig.now, first, 486).expect("reject first");
    let busy = rig.response();
    assert_eq!((busy.code, busy.call_id()), (486, Some("in-a")));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call: first,
            reason: EndReason::LocalHangup
        }]
    );
    rig.feed(&in_dialog("ACK", "in-b", &second_tag, 100, "z9hG4bKackb", ""));
    assert_eq!(rig.events(), vec![UaEvent::Confirmed { call: second }]);
    assert_eq!(
        rig.ua.reject(rig.now, second, 486),
        Err(UaError::InvalidState {
            call: second,
            action: "reject"
        }),
        "an answered call cannot be rejected"
    );
}

#[test]
fn duplicate_invite_is_ignored_and_unanswered_hangup_is_busy() {
    let mut rig = Rig::connected();
    let (call, _) = ring(&mut rig, "in-6", "z9hG4bKinv6");
    rig.feed(&invite_text("in-6", "z9hG4bKinv6"));
    assert!(rig.sent().is_empty() && rig.events().is_empty());
    rig.ua.hangup(rig.now, call).expect("hangup");
    assert_eq!(rig.response().code, 486);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::LocalHangup
        }]
    );
}

#[test]
fn remote_hold_reinvite_and_glare() {
    let mut rig = Rig::connected();
    let (call, tag) = answered(&mut rig, "in-7");
    let held = OFFER.replace("a=sendrecv", "a=sendonly");
    rig.feed(&in_dialog("INVITE", "in-7", &tag, 101, "z9hG4bKre1", &held));
    assert_eq!(
        rig.events(),
        vec![UaEvent::ReInvite {
            call,
            sdp_offer: held.clone()
        }]
    );
    let recvonly = ANSWER.replace("a=sendrecv", "a=recvonly");
    rig.ua
        .answer_reinvite(rig.now, call, recvonly.clone())
        .expect("answer re-INVITE");
    let ok = rig.response();
    assert_eq!(
        (ok.code, cseq(&ok), ok.body.as_str()),
        (200, (101, Method::Invite), recvonly.as_str())
    );
    assert!(!rig.only_refresh_timer(), "2xx to re-INVITE is retransmitted until ACK");
    rig.feed(&in_dialog("ACK", "in-7", &tag, 101, "z9hG4bKre1a", ""));
    assert!(rig.only_refresh_timer());
    assert!(rig.events().is_empty());

    // Glare: our re-INVITE is pending when theirs arrives → 491.
    rig.ua.reinvite(rig.now, call, OFFER.to_owned()).expect("reinvite");
    let ours = rig.request();
    assert_eq!(cseq(&ours).0, 1, "our CSeq space is separate from theirs");
    rig.feed(&in_dialog("INVITE", "in-7", &tag, 102, "z9hG4bKre2", &held));
    assert_eq!(rig.response().code, 491);
    assert!(rig.events().is_empty());
}

#[test]
fn other_requests() {
    let mut rig = Rig::connected();
    let options =
        "OPTIONS sip:2001@x.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKo\r\n\
                   From: <sip:127.0.0.1>;tag=o1\r\nTo: <sip:2001@127.0.0.1>\r\nCall-ID: opt\r\nCSeq: 1 OPTIONS\r\n\
                   Content-Length: 0\r\n\r\n";
    rig.feed(options);
    let ok = rig.response();
    assert_eq!(ok.code, 200);
    assert!(ok.headers.get("Allow").is_some() && ok.headers.get("Accept").is_some());
    assert!(ok.to().is_some_and(|t| t.tag().is_some()), "a To tag is added");

    rig.feed(&in_dialog("BYE", "unknown", "nope", 1, "z9hG4bKx", ""));
    assert_eq!(rig.response().code, 481);
    rig.feed(&options.replace("OPTIONS", "PUBLISH"));
    assert_eq!(rig.response().code, 501);
    rig.feed(&options.replace("OPTIONS", "MESSAGE"));
    let not_allowed = rig.response();
    assert_eq!(not_allowed.code, 405);
    assert!(not_allowed.headers.get("Allow").is_some());
    rig.feed(&invite_text("req", "z9hG4bKreq").replace("Max-Forwards: 69\r\n", "Require: 100rel\r\n"));
    assert_eq!(rig.response().code, 420);

    rig.feed("this is not SIP\r\n\r\n");
    assert!(rig.sent().is_empty());
    assert!(matches!(rig.events().as_slice(), [UaEvent::Warning(_)]));
}

#[test]
fn p_asserted_identity_names_the_caller() {
    let mut rig = Rig::connected();
    let text = invite_text("pai", "z9hG4bKpai").replace(
        "Max-Forwards: 69\r\n",
        "P-Asserted-Identity: \"Иван Петров\" <tel:+79123456789>\r\n",
    );
    rig.feed(&text);
    rig.sent();
    let events = rig.events();
    let [UaEvent::IncomingCall {
        from_user,
        from_display,
        ..
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(from_user, "+79123456789");
    assert_eq!(from_display.as_deref(), Some("Иван Петров"));
}

#[test]
fn transport_loss_ends_ringing_calls() {
    let mut rig = Rig::connected();
    let (ringing, _) = ring(&mut rig, "in-8", "z9hG4bKinv8");
    let (established, _) = answered(&mut rig, "in-9");
    rig.ua.transport_down(rig.now);
    let events = rig.events();
    assert!(events.contains(&UaEvent::Ended {
        call: ringing,
        reason: EndReason::TransportLost
    }));
    assert!(!events
        .iter()
        .any(|e| matches!(e, UaEvent::Ended { call, .. } if *call == established)));
    assert_eq!(
        rig.ua.answer(rig.now, ringing, ANSWER.to_owned()),
        Err(UaError::UnknownCall(ringing))
    );
}

#[test]
fn transport_loss_before_ack_keeps_the_answered_call() {
    let mut rig = Rig::connected();
    let (call, _) = ring(&mut rig, "in-10", "z9hG4bKinv10");
    rig.ua.answer(rig.now, call, ANSWER.to_owned()).expect("answer");
    rig.sent();
    rig.ua.transport_down(rig.now);
    let events = rig.events();
    assert!(events.contains(&UaEvent::Confirmed { call }), "{events:?}");
    assert_eq!(rig.ua.poll_timeout(), None, "no 2xx retransmission into a dead socket");
    rig.advance(Duration::from_secs(60));
    assert!(rig.events().is_empty(), "no Timeout for a call that is up");
    rig.ua.transport_up(rig.now);
    rig.sent();
    rig.ua.hangup(rig.now, call).expect("hangup");
    assert_eq!(rig.request().method, Method::Bye);
}
