//! Calls the operator places.

use std::time::Duration;

use tokio::sync::oneshot::{self, error::TryRecvError};
use uuid::Uuid;

use super::*;
use crate::phone::Direction;

const CALLEE_CONTACT: &str = "<sip:2002@127.0.0.1:5070;transport=udp>";

/// Dials 2002 as the driver does; returns the call and its INVITE.
fn dial(line: &mut Line, context: CallContext) -> (Uuid, Request) {
    let target = line.calls.dial_target("2002").expect("dialable and registered");
    let id = line.calls.place(line.now, &target, OFFER.to_owned(), context);
    let invite = line.request();
    assert_eq!(invite.method, msg::Method::Invite);
    assert_eq!(invite.body, OFFER);
    (id, invite)
}

/// The far end rings, then answers with [`ANSWER`]; the answer goes to the media, which takes it.
fn answer(line: &mut Line, id: Uuid, invite: &Request) {
    line.feed(&reply(invite, 180, Some("callee"), &[("Contact", CALLEE_CONTACT)], ""));
    assert_eq!(state(line, id), CallState::Early);
    line.feed(&reply(
        invite,
        200,
        Some("callee"),
        &[("Contact", CALLEE_CONTACT)],
        ANSWER,
    ));
    assert_eq!(line.request().method, msg::Method::Ack);
    let effects = line.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::ApplyAnswer { id: i, sdp }] if *i == id && sdp == ANSWER),
        "{effects:?}"
    );
    line.calls.answer_applied(line.now, id, Ok(()));
    assert_eq!(state(line, id), CallState::Talking);
}

/// The far end's BYE inside the dialog of `invite`.
fn far_bye(invite: &Request) -> String {
    let from = invite.headers.get("From").expect("From");
    let to = invite.headers.get("To").expect("To");
    format!(
        "BYE sip:2001@x.invalid;transport=ws SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1:8088;branch=z9hG4bKbye1\r\n\
         From: {to};tag=callee\r\nTo: {from}\r\nCall-ID: {}\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n",
        invite.call_id().expect("Call-ID")
    )
}

#[test]
fn a_call_keeps_its_times_and_what_it_is_about_from_dialling_to_its_record() {
    let mut line = Line::registered();
    let executor = (7, "Петров (сантехник)");
    let (id, invite) = dial(&mut line, context(None, Some(executor)));
    let shown = line.call(id);
    assert_eq!(
        (shown.direction, shown.number.as_str(), shown.state),
        (Direction::Outgoing, "2002", CallState::Dialing)
    );
    assert_eq!(shown.started_at, line.at(0));
    let dated = id.get_timestamp().map(|t| t.to_unix().0);
    let start = line.at(0).duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    assert_eq!(
        dated,
        Some(start.as_secs()),
        "its id is of the time given, not the clock's"
    );
    assert_eq!(
        shown.context,
        context(None, Some(executor)),
        "shown with what it is about at once"
    );

    line.advance(Duration::from_secs(4));
    answer(&mut line, id, &invite);
    assert_eq!(line.call(id).answered_at, Some(line.at(4)));

    // The operator opens the appeal while talking: the link reaches the record.
    line.advance(Duration::from_secs(20));
    line.calls.link(id, Uuid::from_u128(42)).expect("link");
    assert_eq!(line.call(id).context, context(Some(42), Some(executor)));

    line.advance(Duration::from_secs(40));
    line.feed(&far_bye(&invite));
    assert_eq!(line.response().code, 200);
    assert!(line.calls.status().calls.is_empty(), "the call leaves the screen");
    let (record, setup_from) = line.ended();
    assert_eq!(record.id, id);
    assert_eq!(record.direction, Direction::Outgoing);
    assert_eq!((record.local.as_str(), record.remote.as_str()), ("2001", "2002"));
    assert_eq!(record.started_at, line.at(0));
    assert_eq!(record.answered_at, Some(line.at(4)));
    assert_eq!(record.ended_at, line.at(64));
    let talked = record
        .ended_at
        .duration_since(line.at(4))
        .expect("ended after the answer");
    assert_eq!(talked, Duration::from_secs(60));
    assert_eq!(record.end, "завершён собеседником");
    assert_eq!(record.context, context(Some(42), Some(executor)));
    assert_eq!(record.sip_call_id.as_deref(), invite.call_id());
    // Setup counts from the INVITE: the driver measures to the first audio from there.
    assert_eq!(setup_from, line.now.instant - Duration::from_secs(64));
    assert!(
        matches!(line.calls.link(id, Uuid::from_u128(43)), Err(PhoneError::NoSuchCall)),
        "a link after the end is refused: the record has gone"
    );
}

#[test]
fn hold_waits_for_the_far_ends_answer() {
    let mut line = Line::registered();
    let (id, invite) = dial(&mut line, CallContext::default());
    answer(&mut line, id, &invite);

    line.calls.may_hold(id).expect("a call talking may be held");
    let (tx, mut rx) = oneshot::channel();
    line.calls.hold(line.now, id, true, HELD_OFFER.to_owned(), tx);
    let reinvite = line.request();
    assert_eq!(reinvite.method, msg::Method::Invite);
    assert_eq!(reinvite.call_id(), invite.call_id());
    assert_eq!(reinvite.body, HELD_OFFER);
    assert_eq!(state(&line, id), CallState::Talking, "not held before the PBX says so");
    assert!(
        matches!(rx.try_recv(), Err(TryRecvError::Empty)),
        "the operator waits for the PBX"
    );
    assert!(
        is_hold_error(&line.calls.may_hold(id), "ещё не подтверждено"),
        "a second press waits for the first"
    );

    line.advance(Duration::from_millis(300));
    line.feed(&reply(&reinvite, 200, None, &[("Contact", CALLEE_CONTACT)], ANSWER));
    assert_eq!(line.request().method, msg::Method::Ack);
    let effects = line.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::ApplyReInviteAnswer { id: i, sdp }] if *i == id && sdp == ANSWER),
        "{effects:?}"
    );
    assert_eq!(state(&line, id), CallState::Talking, "until the media has the answer");
    line.calls.reinvite_answer_applied(id, Ok(()));
    assert_eq!(state(&line, id), CallState::Held);
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));

    // And off hold again the same way.
    let (tx, mut rx) = oneshot::channel();
    line.calls.hold(line.now, id, false, OFFER.to_owned(), tx);
    let reinvite = line.request();
    assert_eq!(state(&line, id), CallState::Held);
    line.feed(&reply(&reinvite, 200, None, &[("Contact", CALLEE_CONTACT)], ANSWER));
    line.sent();
    line.effects();
    line.calls.reinvite_answer_applied(id, Ok(()));
    assert_eq!(state(&line, id), CallState::Talking);
    assert!(matches!(rx.try_recv(), Ok(Ok(()))));
}

#[test]
fn a_refused_hold_is_answered_and_may_be_tried_again() {
    let mut line = Line::registered();
    let (id, invite) = dial(&mut line, CallContext::default());
    answer(&mut line, id, &invite);
    let (tx, mut rx) = oneshot::channel();
    line.calls.hold(line.now, id, true, HELD_OFFER.to_owned(), tx);
    let reinvite = line.request();
    line.feed(&reply(&reinvite, 491, None, &[], ""));
    assert_eq!(line.request().method, msg::Method::Ack);
    let refused = rx.try_recv().expect("the operator is answered");
    assert!(is_hold_error(&refused, "491"), "{refused:?}");
    // The media holds since it made the offer (it sends nothing): the call shows that.
    assert_eq!(state(&line, id), CallState::Held);
    line.calls.may_hold(id).expect("the next press is not blocked");
}

#[test]
fn a_hold_still_waiting_when_the_call_ends_is_answered() {
    let mut line = Line::registered();
    let (id, invite) = dial(&mut line, CallContext::default());
    answer(&mut line, id, &invite);
    let (tx, mut rx) = oneshot::channel();
    line.calls.hold(line.now, id, true, HELD_OFFER.to_owned(), tx);
    line.sent();
    line.feed(&far_bye(&invite));
    assert!(matches!(rx.try_recv(), Ok(Err(PhoneError::NoSuchCall))));
    assert_eq!(line.ended().0.end, "завершён собеседником");
}

#[test]
fn cancel_before_the_answer() {
    let mut line = Line::registered();
    let (id, invite) = dial(&mut line, CallContext::default());
    line.feed(&reply(&invite, 180, Some("callee"), &[("Contact", CALLEE_CONTACT)], ""));
    line.advance(Duration::from_secs(3));
    line.calls.hangup(line.now, id).expect("hang up");
    let cancel = line.request();
    assert_eq!(cancel.method, msg::Method::Cancel);
    assert!(line.effects().is_empty(), "ended when the PBX confirms");
    assert_eq!(state(&line, id), CallState::Early);
    line.feed(&reply(&cancel, 200, None, &[], ""));
    line.advance(Duration::from_millis(100));
    line.feed(&reply(&invite, 487, Some("callee"), &[], ""));
    assert_eq!(line.request().method, msg::Method::Ack);
    assert!(line.calls.status().calls.is_empty());
    let (record, _) = line.ended();
    assert_eq!(record.end, "отменён до ответа");
    assert_eq!(record.answered_at, None);
    assert_eq!(record.ended_at, line.at(3) + Duration::from_millis(100));
}

#[test]
fn each_way_a_call_fails_is_told_in_words() {
    for (code, words) in [
        (486, "занято"),
        (600, "занято"),
        (603, "отклонён"),
        (404, "номер не найден"),
        (484, "номер не найден"),
        (480, "абонент недоступен"),
        (503, "не удался: 503 Service Unavailable"),
    ] {
        let mut line = Line::registered();
        let (id, invite) = dial(&mut line, CallContext::default());
        line.advance(Duration::from_secs(2));
        line.feed(&reply(&invite, code, Some("far"), &[], ""));
        assert_eq!(line.request().method, msg::Method::Ack, "{code}");
        let (record, _) = line.ended();
        assert_eq!((code, record.id, record.end.as_str()), (code, id, words));
        assert_eq!((record.answered_at, record.ended_at), (None, line.at(2)), "{code}");
    }
}

#[test]
fn no_answer_at_all_and_a_lost_connection() {
    let mut line = Line::registered();
    dial(&mut line, CallContext::default());
    line.advance(Duration::from_secs(31));
    assert!(line.effects().is_empty());
    line.advance(Duration::from_secs(1));
    let (record, _) = line.ended();
    assert_eq!(record.end, "нет ответа");
    assert_eq!(record.ended_at, line.at(32));

    let mut line = Line::registered();
    let (_, invite) = dial(&mut line, CallContext::default());
    line.feed(&reply(&invite, 100, None, &[], ""));
    line.calls
        .transport_down(line.now, "соединение с АТС прервано", Duration::from_secs(2));
    assert_eq!(line.ended().0.end, "связь с АТС потеряна");
    let status = line.calls.status();
    assert_eq!(status.line, LineState::Connecting);
    assert_eq!(status.message, "соединение с АТС прервано; повтор через 2 с");
    assert!(matches!(line.calls.dial_target("2002"), Err(PhoneError::NotRegistered)));
}

#[test]
fn an_answer_the_media_cannot_take_ends_the_call_and_says_so() {
    let mut line = Line::registered();
    let (id, invite) = dial(&mut line, CallContext::default());
    line.feed(&reply(
        &invite,
        200,
        Some("callee"),
        &[("Contact", CALLEE_CONTACT)],
        ANSWER,
    ));
    assert_eq!(line.request().method, msg::Method::Ack);
    line.effects();
    line.calls
        .answer_applied(line.now, id, Err("no common audio codec".into()));
    assert_eq!(line.request().method, msg::Method::Bye);
    let (record, _) = line.ended();
    assert_eq!(record.end, "звук не подключился: no common audio codec");
}

#[test]
fn a_call_in_progress_follows_the_new_connection() {
    let mut line = Line::registered();
    let (id, invite) = dial(&mut line, CallContext::default());
    answer(&mut line, id, &invite);
    line.calls
        .transport_down(line.now, "соединение с АТС прервано", Duration::from_secs(1));
    assert!(line.effects().is_empty(), "an established call is kept");
    assert_eq!(state(&line, id), CallState::Talking);
    line.advance(Duration::from_secs(1));
    line.calls.transport_up(line.now);
    assert_eq!(line.request().method, msg::Method::Register);
    let effects = line.effects();
    assert!(
        matches!(effects.as_slice(), [Effect::Refresh { id: i, held: false }] if *i == id),
        "{effects:?}"
    );
    line.calls.refresh(line.now, id, OFFER.to_owned());
    let reinvite = line.request();
    assert_eq!(reinvite.method, msg::Method::Invite);
    assert_eq!(reinvite.call_id(), invite.call_id());
}

#[test]
fn numbers_are_checked_before_anything_is_sent() {
    let line = Line::registered();
    assert_eq!(
        line.calls.dial_target("8 (912) 345-67-89").ok().as_deref(),
        Some("89123456789")
    );
    assert!(matches!(
        line.calls.dial_target("ivan@mail.ru"),
        Err(PhoneError::BadNumber)
    ));
}
