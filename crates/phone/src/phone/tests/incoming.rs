//! Calls to the operator.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use super::*;
use crate::phone::Direction;

/// An INVITE as Asterisk sends it from a citizen's line: the number in P-Asserted-Identity.
fn invite(call_id: &str, body: &str) -> String {
    format!(
        "INVITE sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKinv-{call_id}\r\n\
         Max-Forwards: 69\r\n\
         Contact: <sip:asterisk@127.0.0.1:5060>\r\n\
         To: <sip:2001@127.0.0.1>\r\n\
         From: \"Иван\" <sip:+79123456789@127.0.0.1>;tag=caller\r\n\
         P-Asserted-Identity: \"Иван\" <tel:+79123456789>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 100 INVITE\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A request of the caller inside the dialog; `to_tag` is ours.
fn in_dialog(method: &str, call_id: &str, to_tag: &str, seq: u32, body: &str) -> String {
    format!(
        "{method} sip:2001@df7jal23ls0d.invalid;transport=ws SIP/2.0\r\n\
         Via: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bK{method}{seq}\r\n\
         Contact: <sip:asterisk@127.0.0.1:5060>\r\n\
         From: \"Иван\" <sip:+79123456789@127.0.0.1>;tag=caller\r\n\
         To: <sip:2001@127.0.0.1>;tag={to_tag}\r\n\
         Call-ID: {call_id}\r\nCSeq: {seq} {method}\r\n{}Content-Length: {}\r\n\r\n{body}",
        if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\r\n"
        },
        body.len()
    )
}

/// The citizen calls; the phone rings. Returns the call and our dialog tag.
fn ring(line: &mut Line, call_id: &str) -> (Uuid, String) {
    line.feed(&invite(call_id, OFFER));
    let ringing = line.response();
    assert_eq!(ringing.code, 180);
    let tag = ringing.to().and_then(|t| t.tag().map(str::to_owned)).expect("our tag");
    let status = line.calls.status();
    assert_eq!(status.waiting(), 1);
    let id = status.calls.last().expect("the call is shown").id;
    (id, tag)
}

/// The operator answers as the driver does: the offer to the media, the media's answer back.
fn pick_up(line: &mut Line, id: Uuid, call_id: &str, tag: &str) {
    let offer = line
        .calls
        .offer_to_answer(line.now, id)
        .expect("a ringing call with an offer");
    assert_eq!(offer, OFFER);
    line.calls.answer(line.now, id, ANSWER.to_owned()).expect("answer");
    let ok = line.response();
    assert_eq!((ok.code, ok.body.as_str()), (200, ANSWER));
    line.feed(&in_dialog("ACK", call_id, tag, 100, ""));
}

#[test]
fn the_caller_is_named_before_the_call_is_first_shown() {
    let mut config = config();
    config.identify = Some(Arc::new(|number: &str| {
        if number == "+79123456789" {
            context(None, Some((9, "Сидоров (электрик)")))
        } else {
            CallContext::default()
        }
    }));
    let mut line = Line::registered_with(config);
    line.calls.take_status();
    line.feed(&invite("named", OFFER));
    let first = line.calls.take_status().expect("the ringing call is published");
    let [call] = first.calls.as_slice() else {
        panic!("one call expected: {first:#?}")
    };
    assert_eq!(call.state, CallState::Ringing);
    assert_eq!(call.number, "+79123456789");
    assert_eq!(call.display_name.as_deref(), Some("Иван"));
    assert_eq!(call.context, context(None, Some((9, "Сидоров (электрик)"))));
    assert_eq!(line.calls.take_status(), None, "nothing more to publish");
}

#[test]
fn a_caller_named_later_keeps_the_name_to_the_record() {
    let mut line = Line::registered();
    let (id, tag) = ring(&mut line, "later");
    assert_eq!(line.call(id).context, CallContext::default(), "unknown when it rings");

    // The directory, read again, knows the number: the ringing call is named.
    line.advance(Duration::from_secs(2));
    let sidorov = context(None, Some((9, "Сидоров (электрик)")));
    line.calls.take_status();
    line.calls.identify(id, sidorov.clone());
    let named = line.calls.take_status().expect("the name is published");
    assert_eq!(named.calls[0].context, sidorov);
    // A second naming does not replace the first; nothing changes, nothing is published.
    line.calls.identify(id, context(None, Some((10, "Другой"))));
    assert_eq!(line.calls.take_status(), None);
    assert_eq!(line.call(id).context, sidorov);

    pick_up(&mut line, id, "later", &tag);
    line.calls.link(id, Uuid::from_u128(5)).expect("link");
    line.feed(&in_dialog("BYE", "later", &tag, 101, ""));
    assert_eq!(line.response().code, 200);
    let (record, _) = line.ended();
    assert_eq!(record.context, context(Some(5), Some((9, "Сидоров (электрик)"))));
    // A call that has ended is not named any more (its record has gone out).
    assert!(line.calls.take_status().is_some_and(|s| s.calls.is_empty()));
    line.calls.identify(id, context(None, Some((11, "Поздно"))));
    assert_eq!(line.calls.take_status(), None);
}

#[test]
fn an_answered_call_and_its_record() {
    let mut line = Line::registered();
    let (id, tag) = ring(&mut line, "in-1");
    assert_eq!(line.call(id).started_at, line.at(0));
    line.advance(Duration::from_secs(5));
    pick_up(&mut line, id, "in-1", &tag);
    let answered_at = line.now.instant;
    let shown = line.call(id);
    assert_eq!((shown.state, shown.answered_at), (CallState::Talking, Some(line.at(5))));
    assert_eq!(line.calls.status().waiting(), 0);

    line.advance(Duration::from_secs(95));
    line.calls.hangup(line.now, id).expect("hang up");
    assert_eq!(line.request().method, msg::Method::Bye);
    let (record, setup_from) = line.ended();
    assert_eq!(record.direction, Direction::Incoming);
    assert_eq!(
        (record.local.as_str(), record.remote.as_str()),
        ("2001", "+79123456789")
    );
    assert_eq!(
        (record.started_at, record.answered_at, record.ended_at),
        (line.at(0), Some(line.at(5)), line.at(100))
    );
    assert_eq!(record.end, "завершён оператором");
    assert_eq!(record.sip_call_id.as_deref(), Some("in-1"));
    assert_eq!(setup_from, answered_at, "setup counts from the answer");
}

#[test]
fn the_caller_gives_up_before_the_answer() {
    let mut line = Line::registered();
    let (id, _) = ring(&mut line, "in-2");
    line.advance(Duration::from_secs(12));
    let cancel = invite("in-2", "")
        .replacen("INVITE sip:", "CANCEL sip:", 1)
        .replace("CSeq: 100 INVITE", "CSeq: 100 CANCEL")
        .replace("Content-Type: application/sdp\r\n", "");
    line.feed(&cancel);
    let codes: Vec<u16> = line
        .sent()
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r.code),
            Message::Request(_) => None,
        })
        .collect();
    assert_eq!(codes, vec![200, 487]);
    assert_eq!(line.calls.status().waiting(), 0);
    let (record, _) = line.ended();
    assert_eq!((record.id, record.end.as_str()), (id, "отменён до ответа"));
    assert_eq!((record.answered_at, record.ended_at), (None, line.at(12)));
    assert!(matches!(
        line.calls.offer_to_answer(line.now, id),
        Err(PhoneError::NoSuchCall)
    ));
}

#[test]
fn the_operator_rejects_and_the_caller_hears_busy() {
    let mut line = Line::registered();
    let (id, _) = ring(&mut line, "in-3");
    line.calls.reject(line.now, id).expect("reject");
    assert_eq!(line.response().code, 486);
    assert_eq!(line.ended().0.end, "отклонён оператором");
}

#[test]
fn a_call_without_an_offer_cannot_be_answered() {
    let mut line = Line::registered();
    line.feed(&invite("late", ""));
    line.sent();
    let id = line.calls.status().calls[0].id;
    let refused = line.calls.offer_to_answer(line.now, id);
    assert!(matches!(refused, Err(PhoneError::Sip(m)) if m.contains("SDP")));
    assert_eq!(line.response().code, 488);
    assert_eq!(line.ended().0.answered_at, None);
}

#[test]
fn the_far_ends_reinvite_goes_to_the_media_and_back() {
    let mut line = Line::registered();
    let (id, tag) = ring(&mut line, "in-4");
    pick_up(&mut line, id, "in-4", &tag);
    assert!(line.effects().is_empty());

    line.feed(&in_dialog("INVITE", "in-4", &tag, 101, HELD_OFFER));
    let effects = line.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::AnswerReInvite { id: i, offer }] if *i == id && offer == HELD_OFFER),
        "{effects:?}"
    );
    line.calls
        .reinvite_offer_answered(line.now, id, Some(ANSWER.to_owned()));
    let ok = line.response();
    assert_eq!((ok.code, ok.body.as_str()), (200, ANSWER));
    line.feed(&in_dialog("ACK", "in-4", &tag, 101, ""));

    // An offer the media cannot take is refused; the call goes on as it was.
    line.feed(&in_dialog("INVITE", "in-4", &tag, 102, OFFER));
    line.effects();
    line.calls.reinvite_offer_answered(line.now, id, None);
    assert_eq!(line.response().code, 488);
    // A re-INVITE asking us to offer is not supported: refused at once.
    line.feed(&in_dialog("INVITE", "in-4", &tag, 103, ""));
    assert_eq!(line.response().code, 488);
    assert!(line.effects().is_empty());
    assert_eq!(state(&line, id), CallState::Talking);

    line.feed(&in_dialog("BYE", "in-4", &tag, 104, ""));
    assert_eq!(line.response().code, 200);
    assert_eq!(line.ended().0.end, "завершён собеседником");
}
