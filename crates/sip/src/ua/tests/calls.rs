//! Outgoing calls.

use super::*;

const PROXY_CHALLENGE: &str = "Digest realm=\"127.0.0.1\", nonce=\"inv-nonce\", qop=\"auth\"";
const RECORD_ROUTE: &str = "<sip:127.0.0.1;r2=on;lr>, <sip:127.0.0.1:8088;transport=ws;r2=on;lr>";
const CALLEE_CONTACT: &str = "<sip:2002@127.0.0.1:5070;transport=udp>";

fn place_call(rig: &mut Rig) -> (CallId, Request) {
    let call = rig.ua.invite(rig.now, "2002", OFFER.to_owned());
    let invite = rig.request();
    (call, invite)
}

/// Places a call and gets it answered through 407, 100, 180 and 200; returns the call, the
/// authenticated INVITE and the ACK.
fn establish(rig: &mut Rig) -> (CallId, Request, Request) {
    let (call, first) = place_call(rig);
    rig.feed(&reply(
        &first,
        407,
        Some("px"),
        &[("Proxy-Authenticate", PROXY_CHALLENGE)],
        "",
    ));
    let mut sent = rig.sent().into_iter();
    let (Some(Message::Request(ack)), Some(Message::Request(invite)), None) = (sent.next(), sent.next(), sent.next())
    else {
        panic!("expected ACK and INVITE")
    };
    assert_eq!(
        (ack.method.clone(), branch(&ack)),
        (Method::Ack, branch(&first)),
        "ACK for 407 is hop-by-hop"
    );
    assert_eq!(cseq(&ack), (1, Method::Ack));
    assert_eq!(ack.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(), Some("px"));
    assert_digest(&invite, "Proxy-Authorization", PROXY_CHALLENGE);
    assert_eq!(cseq(&invite), (2, Method::Invite));
    assert_eq!(invite.call_id(), first.call_id());
    assert_eq!(invite.from(), first.from(), "same From tag");
    assert_ne!(branch(&invite), branch(&first));

    rig.feed(&reply(&invite, 100, None, &[], ""));
    rig.feed(&reply(&invite, 180, Some("callee"), &[("Contact", CALLEE_CONTACT)], ""));
    assert_eq!(rig.events(), vec![UaEvent::Ringing { call }]);
    rig.feed(&reply(&invite, 180, Some("callee"), &[("Contact", CALLEE_CONTACT)], ""));
    assert!(rig.events().is_empty(), "Ringing is reported once");
    assert!(rig.sent().is_empty());

    let ok = reply(
        &invite,
        200,
        Some("callee"),
        &[
            ("Record-Route", RECORD_ROUTE),
            ("Contact", CALLEE_CONTACT),
            ("Content-Type", "application/sdp"),
        ],
        ANSWER,
    );
    rig.feed(&ok);
    let ack = rig.request();
    assert_eq!(
        rig.events(),
        vec![UaEvent::Answered {
            call,
            sdp_answer: ANSWER.to_owned()
        }]
    );
    // A retransmitted 200 gets the very same ACK again.
    rig.feed(&ok);
    assert_eq!(rig.request(), ack);
    (call, invite, ack)
}

#[test]
fn outgoing_call_invite_shape() {
    let mut rig = Rig::connected();
    let (_, invite) = place_call(&mut rig);
    assert_eq!(invite.uri.to_string(), "sip:2002@127.0.0.1");
    let from = invite.from().expect("From");
    assert_eq!(from.display.as_deref(), Some("Оператор 1"));
    assert_eq!(from.uri.to_string(), "sip:2001@127.0.0.1");
    assert!(from.tag().is_some());
    assert!(invite.to().expect("To").tag().is_none());
    assert_eq!(invite.headers.get("Content-Type"), Some("application/sdp"));
    assert_eq!(invite.body, OFFER);
    assert!(invite.headers.get("Allow").is_some_and(|a| a.contains("INVITE")));
    assert!(invite
        .contact()
        .is_some_and(|c| c.uri.params.get("transport") == Some("ws")));
    assert!(invite.headers.get("User-Agent").is_some());
}

#[test]
fn outgoing_call_answered_then_local_bye() {
    let mut rig = Rig::connected();
    let (call, invite, ack) = establish(&mut rig);
    assert_eq!(
        ack.uri.to_string(),
        "sip:2002@127.0.0.1:5070;transport=udp",
        "ACK goes to the remote target"
    );
    assert_eq!(
        ack.headers.get_all("Route").collect::<Vec<_>>(),
        vec!["<sip:127.0.0.1:8088;transport=ws;r2=on;lr>", "<sip:127.0.0.1;r2=on;lr>"],
        "route set is the Record-Route reversed"
    );
    assert_eq!(cseq(&ack), (2, Method::Ack));
    assert_ne!(branch(&ack), branch(&invite), "2xx ACK is a new transaction");
    assert_eq!(
        ack.headers.get("Proxy-Authorization"),
        invite.headers.get("Proxy-Authorization")
    );
    assert_eq!(
        ack.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(),
        Some("callee")
    );

    rig.ua.hangup(rig.now, call).expect("hangup");
    let bye = rig.request();
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.uri, ack.uri);
    assert_eq!(bye.headers.get_all("Route").count(), 2);
    assert_eq!(cseq(&bye), (3, Method::Bye));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::LocalHangup
        }]
    );
    rig.feed(&reply(&bye, 200, None, &[], ""));
    assert!(rig.sent().is_empty() && rig.events().is_empty());
    assert_eq!(rig.ua.hangup(rig.now, call), Err(UaError::UnknownCall(call)));
}

#[test]
fn remote_bye_ends_outgoing_call() {
    let mut rig = Rig::connected();
    let (call, invite, _) = establish(&mut rig);
    let to = invite.headers.get("To").expect("To");
    let from = invite.headers.get("From").expect("From");
    let bye = format!(
        "BYE sip:2001@x.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKbye1\r\n\
         From: {to};tag=callee\r\nTo: {from}\r\nCall-ID: {}\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n",
        invite.call_id().expect("Call-ID")
    );
    rig.feed(&bye);
    let ok = rig.response();
    assert_eq!((ok.code, cseq(&ok)), (200, (7, Method::Bye)));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::RemoteHangup
        }]
    );
}

#[test]
fn cancel_waits_for_a_provisional() {
    let mut rig = Rig::connected();
    let (call, invite) = place_call(&mut rig);
    rig.ua.hangup(rig.now, call).expect("hangup");
    assert!(
        rig.sent().is_empty(),
        "RFC 3261 §9.1: no CANCEL before a provisional response"
    );
    assert!(rig.events().is_empty());
    rig.feed(&reply(&invite, 100, None, &[], ""));
    let cancel = rig.request();
    assert_eq!(cancel.method, Method::Cancel);
    assert_eq!(branch(&cancel), branch(&invite));
    assert_eq!(cancel.uri, invite.uri);
    assert_eq!(cseq(&cancel), (1, Method::Cancel));
    assert_eq!(cancel.headers.get("To"), invite.headers.get("To"));
    rig.feed(&reply(&cancel, 200, Some("t"), &[], ""));
    rig.feed(&reply(&invite, 487, Some("t"), &[], ""));
    let ack = rig.request();
    assert_eq!((ack.method.clone(), branch(&ack)), (Method::Ack, branch(&invite)));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Cancelled
        }]
    );
}

#[test]
fn cancel_while_ringing_and_200_race() {
    let mut rig = Rig::connected();
    let (call, invite) = place_call(&mut rig);
    rig.feed(&reply(&invite, 180, Some("t"), &[], ""));
    rig.events();
    rig.ua.hangup(rig.now, call).expect("hangup");
    assert_eq!(rig.request().method, Method::Cancel);
    // The callee answered before our CANCEL reached it: ACK, then BYE.
    rig.feed(&reply(&invite, 200, Some("t"), &[("Contact", CALLEE_CONTACT)], ANSWER));
    let methods: Vec<Method> = rig
        .sent()
        .into_iter()
        .map(|m| match m {
            Message::Request(r) => r.method,
            Message::Response(r) => panic!("unexpected {r}"),
        })
        .collect();
    assert_eq!(methods, vec![Method::Ack, Method::Bye]);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::Cancelled
        }]
    );
}

#[test]
fn rejected_failed_and_timed_out_calls() {
    let mut rig = Rig::connected();
    let (busy, invite) = place_call(&mut rig);
    rig.feed(&reply(&invite, 486, Some("t"), &[], ""));
    assert_eq!(rig.request().method, Method::Ack);
    let rejected = EndReason::Rejected {
        code: 486,
        reason: "Busy Here".into(),
    };
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call: busy,
            reason: rejected
        }]
    );

    let (missing, invite) = place_call(&mut rig);
    rig.feed(&reply(&invite, 404, Some("t"), &[], ""));
    rig.sent();
    let failed = EndReason::Failed {
        code: 404,
        reason: "Not Found".into(),
    };
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call: missing,
            reason: failed
        }]
    );

    let (silent, _) = place_call(&mut rig);
    rig.advance(Duration::from_secs(32));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call: silent,
            reason: EndReason::Timeout
        }]
    );

    // Once a provisional arrived, Timer B no longer applies: the call may ring for long.
    let (ringing, invite) = place_call(&mut rig);
    rig.feed(&reply(&invite, 180, Some("t"), &[], ""));
    rig.advance(Duration::from_secs(120));
    assert_eq!(rig.events(), vec![UaEvent::Ringing { call: ringing }]);
}

#[test]
fn bad_target_and_no_transport() {
    let mut rig = Rig::new();
    let call = rig.ua.invite(rig.now, "2002", OFFER.to_owned());
    assert_eq!(
        rig.events(),
        vec![UaEvent::Ended {
            call,
            reason: EndReason::TransportLost
        }]
    );
    rig.ua.transport_up(rig.now);
    rig.sent();
    rig.events();
    let call = rig.ua.invite(rig.now, "not a number", OFFER.to_owned());
    assert!(
        matches!(rig.events().as_slice(), [UaEvent::Ended { call: c, reason: EndReason::Failed { code: 484, .. } }] if *c == call)
    );
    assert!(rig.sent().is_empty());
}

#[test]
fn early_media_then_answer_without_sdp() {
    let mut rig = Rig::connected();
    let (call, invite) = place_call(&mut rig);
    rig.feed(&reply(
        &invite,
        183,
        Some("t"),
        &[("Content-Type", "application/sdp")],
        ANSWER,
    ));
    assert_eq!(
        rig.events(),
        vec![
            UaEvent::Ringing { call },
            UaEvent::EarlyMedia {
                call,
                sdp: ANSWER.to_owned()
            }
        ]
    );
    rig.feed(&reply(&invite, 200, Some("t"), &[("Contact", CALLEE_CONTACT)], ""));
    rig.sent();
    assert_eq!(
        rig.events(),
        vec![UaEvent::Answered {
            call,
            sdp_answer: ANSWER.to_owned()
        }]
    );
}

#[test]
fn hold_with_reinvite() {
    let mut rig = Rig::connected();
    let (call, _, ack) = establish(&mut rig);
    let held = OFFER.replace("a=sendrecv", "a=sendonly");
    rig.ua.reinvite(rig.now, call, held.clone()).expect("reinvite");
    let reinvite = rig.request();
    assert_eq!(
        (reinvite.method.clone(), cseq(&reinvite)),
        (Method::Invite, (3, Method::Invite))
    );
    assert_eq!(reinvite.uri, ack.uri);
    assert_eq!(reinvite.to(), ack.to());
    assert_eq!(reinvite.body, held);
    assert_eq!(
        rig.ua.reinvite(rig.now, call, held.clone()),
        Err(UaError::InvalidState {
            call,
            action: "re-INVITE"
        }),
        "one re-INVITE at a time"
    );
    rig.feed(&reply(&reinvite, 491, None, &[], ""));
    assert_eq!(rig.request().method, Method::Ack);
    assert_eq!(
        rig.events(),
        vec![UaEvent::ReInviteFailed {
            call,
            code: 491,
            reason: "Request Pending".into()
        }]
    );

    rig.ua.reinvite(rig.now, call, held).expect("retry");
    let reinvite = rig.request();
    assert_eq!(cseq(&reinvite).0, 4);
    let recvonly = ANSWER.replace("a=sendrecv", "a=recvonly");
    let ok = reply(&reinvite, 200, None, &[("Contact", CALLEE_CONTACT)], &recvonly);
    rig.feed(&ok);
    let ack = rig.request();
    assert_eq!(cseq(&ack), (4, Method::Ack));
    assert_eq!(
        rig.events(),
        vec![UaEvent::ReInviteAnswered {
            call,
            sdp_answer: recvonly
        }]
    );
    rig.feed(&ok);
    assert_eq!(rig.request(), ack, "retransmitted 2xx to the re-INVITE is re-ACKed");
}

#[test]
fn reinvite_481_ends_the_call() {
    let mut rig = Rig::connected();
    let (call, _, _) = establish(&mut rig);
    rig.ua.reinvite(rig.now, call, OFFER.to_owned()).expect("reinvite");
    let reinvite = rig.request();
    rig.feed(&reply(&reinvite, 481, None, &[], ""));
    rig.sent();
    let events = rig.events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(
        events.last(),
        Some(UaEvent::Ended {
            reason: EndReason::Failed { code: 481, .. },
            ..
        })
    ));
}

#[test]
fn transport_loss_ends_pending_call_but_keeps_established_one() {
    let mut rig = Rig::connected();
    let (established, _, _) = establish(&mut rig);
    let (pending, _) = place_call(&mut rig);
    rig.ua.transport_down(rig.now);
    let events = rig.events();
    assert!(
        events.contains(&UaEvent::Ended {
            call: pending,
            reason: EndReason::TransportLost
        }),
        "{events:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, UaEvent::Ended { call, .. } if *call == established)));
    assert_eq!(
        rig.ua.reinvite(rig.now, established, OFFER.to_owned()),
        Err(UaError::TransportDown)
    );
    rig.ua.transport_up(rig.now);
    assert_eq!(rig.request().method, Method::Register);
    rig.ua
        .reinvite(rig.now, established, OFFER.to_owned())
        .expect("refresh after reconnect");
    assert_eq!(rig.request().method, Method::Invite);
}

#[test]
fn second_fork_answering_is_acked_and_hung_up() {
    let mut rig = Rig::connected();
    let (call, invite, first_ack) = establish(&mut rig);
    let other = reply(
        &invite,
        200,
        Some("fork2"),
        &[("Contact", "<sip:2002@127.0.0.1:5080>")],
        ANSWER,
    );
    rig.feed(&other);
    let sent = rig.sent();
    let [Message::Request(ack), Message::Request(bye)] = sent.as_slice() else {
        panic!("{sent:?}")
    };
    assert_eq!((ack.method.clone(), bye.method.clone()), (Method::Ack, Method::Bye));
    for request in [ack, bye] {
        assert_eq!(request.uri.to_string(), "sip:2002@127.0.0.1:5080");
        assert_eq!(
            request.to().and_then(|t| t.tag().map(str::to_owned)).as_deref(),
            Some("fork2")
        );
    }
    assert_eq!(cseq(ack), (2, Method::Ack));
    assert_eq!(cseq(bye), (3, Method::Bye));
    assert!(rig.events().is_empty(), "the first answer stays the call: {call}");
    // Retransmissions of either 2xx get their own ACK.
    rig.feed(&other);
    assert_eq!(rig.request().to(), ack.to());
    rig.feed(&reply(
        &invite,
        200,
        Some("callee"),
        &[("Contact", CALLEE_CONTACT)],
        ANSWER,
    ));
    assert_eq!(rig.request(), first_ack);
}
