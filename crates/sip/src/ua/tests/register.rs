use super::*;

const CHALLENGE: &str = "Digest realm=\"127.0.0.1\", nonce=\"ZgX7R2YF+hs8Txi0tqAWsRuFYqQ2gR2B\", qop=\"auth\"";

/// REGISTER → 401 → REGISTER with credentials; returns the authenticated REGISTER.
fn register_through_401(rig: &mut Rig, first: &Request) -> Request {
    rig.feed(&reply(first, 401, Some("k1"), &[("WWW-Authenticate", CHALLENGE)], ""));
    let second = rig.request();
    assert_digest(&second, "Authorization", CHALLENGE);
    assert_eq!(second.call_id(), first.call_id());
    assert_eq!(cseq(&second), (cseq(first).0 + 1, Method::Register));
    assert_ne!(branch(&second), branch(first));
    second
}

#[test]
fn register_401_then_200_and_refresh() {
    let mut rig = Rig::new();
    assert_eq!(rig.ua.poll_transmit(), None, "nothing before the transport is up");
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    assert_eq!(first.uri.to_string(), "sip:127.0.0.1");
    assert_eq!(first.headers.get("Expires"), Some("600"));
    assert_eq!(first.headers.get("Max-Forwards"), Some("70"));
    let contact = first.contact().expect("contact");
    assert!(contact.uri.host.ends_with(".invalid"), "{contact}");
    assert_eq!(contact.uri.params.get("transport"), Some("ws"));
    let via = first.top_via().expect("via");
    assert_eq!(
        (via.transport.as_str(), via.host.as_str()),
        ("WS", contact.uri.host.as_str())
    );
    assert!(via.branch().is_some_and(|b| b.starts_with("z9hG4bK")));
    assert!(first.headers.get("Authorization").is_none());
    assert_eq!(
        rig.events(),
        vec![UaEvent::Registration(RegistrationState::Registering)]
    );

    let second = register_through_401(&mut rig, &first);
    let granted = format!("{contact};expires=300");
    rig.feed(&reply(
        &second,
        200,
        Some("k1"),
        &[
            ("Contact", "<sip:2001@10.9.9.9;transport=ws>;expires=60"),
            ("Contact", &granted),
        ],
        "",
    ));
    let expires_at = rig.now + Duration::from_secs(300);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Registration(RegistrationState::Registered { expires_at })]
    );
    assert_eq!(rig.ua.registration(), RegistrationState::Registered { expires_at });
    assert_eq!(rig.ua.poll_timeout(), Some(rig.now + Duration::from_secs(270)));

    rig.advance(Duration::from_secs(269));
    assert!(rig.sent().is_empty());
    rig.advance(Duration::from_secs(1));
    let refresh = rig.request();
    assert_eq!(refresh.call_id(), first.call_id(), "Call-ID stays across refreshes");
    assert_eq!(cseq(&refresh).0, cseq(&second).0 + 1);
    assert!(rig.events().is_empty(), "a refresh does not flip the UI to Registering");
    let third = register_through_401(&mut rig, &refresh);
    rig.feed(&reply(&third, 200, Some("k2"), &[("Expires", "120")], ""));
    let expires_at = rig.now + Duration::from_secs(120);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Registration(RegistrationState::Registered { expires_at })]
    );
}

#[test]
fn register_407_with_sha256() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    let challenge = "Digest realm=\"pbx\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\", opaque=\"op\"";
    rig.feed(&reply(&first, 407, Some("p"), &[("Proxy-Authenticate", challenge)], ""));
    let second = rig.request();
    assert_digest(&second, "Proxy-Authorization", challenge);
    let value = second.headers.get("Proxy-Authorization").expect("credentials");
    assert!(
        value.contains("algorithm=SHA-256") && value.contains("opaque=\"op\""),
        "{value}"
    );
    rig.feed(&reply(&second, 200, Some("p"), &[], ""));
    assert!(matches!(rig.ua.registration(), RegistrationState::Registered { .. }));
}

#[test]
fn wrong_password_fails_without_looping() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    let second = register_through_401(&mut rig, &first);
    let fresh = "Digest realm=\"127.0.0.1\", nonce=\"another\", qop=\"auth\"";
    rig.feed(&reply(&second, 401, Some("k"), &[("WWW-Authenticate", fresh)], ""));
    assert!(rig.sent().is_empty(), "no third attempt with the same wrong password");
    let failed = RegistrationState::Failed {
        code: 401,
        reason: "Unauthorized".into(),
    };
    assert_eq!(rig.events().last(), Some(&UaEvent::Registration(failed.clone())));
    assert_eq!(rig.ua.registration(), failed);
    assert_eq!(
        rig.ua.poll_timeout(),
        None,
        "no automatic retry that could lock the account"
    );
}

#[test]
fn stale_nonce_is_retried_and_403_fails() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    let second = register_through_401(&mut rig, &first);
    let stale = "Digest realm=\"127.0.0.1\", nonce=\"new\", qop=\"auth\", stale=true";
    rig.feed(&reply(&second, 401, Some("k"), &[("WWW-Authenticate", stale)], ""));
    let third = rig.request();
    assert_digest(&third, "Authorization", stale);
    rig.feed(&reply(&third, 403, Some("k"), &[], ""));
    assert_eq!(
        rig.ua.registration(),
        RegistrationState::Failed {
            code: 403,
            reason: "Forbidden".into()
        }
    );
}

#[test]
fn timeout_fails_then_retries() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    rig.events();
    rig.advance(Duration::from_secs(31));
    assert!(rig.events().is_empty());
    rig.advance(Duration::from_secs(1));
    let failed = RegistrationState::Failed {
        code: 408,
        reason: "Request Timeout".into(),
    };
    assert_eq!(rig.events(), vec![UaEvent::Registration(failed)]);
    // A late answer to the abandoned transaction changes nothing.
    rig.feed(&reply(&first, 200, Some("x"), &[], ""));
    assert!(rig.events().is_empty());
    rig.fire_timer();
    let retry = rig.request();
    assert_eq!(cseq(&retry).0, cseq(&first).0 + 1);
}

#[test]
fn interval_too_brief_raises_expires() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    rig.feed(&reply(&first, 423, Some("x"), &[("Min-Expires", "1800")], ""));
    assert_eq!(rig.request().headers.get("Expires"), Some("1800"));
}

#[test]
fn unregister_sends_expires_zero() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    rig.feed(&reply(&first, 200, Some("x"), &[], ""));
    rig.events();
    rig.ua.unregister(rig.now);
    let bye = rig.request();
    assert_eq!(bye.headers.get("Expires"), Some("0"));
    assert_eq!(bye.call_id(), first.call_id());
    assert_eq!(
        bye.contact(),
        first.contact(),
        "removes only our own binding, never Contact: *"
    );
    rig.feed(&reply(&bye, 401, Some("x"), &[("WWW-Authenticate", CHALLENGE)], ""));
    let authed = rig.request();
    assert_eq!(authed.headers.get("Expires"), Some("0"));
    rig.feed(&reply(&authed, 200, Some("x"), &[], ""));
    assert_eq!(
        rig.events(),
        vec![UaEvent::Registration(RegistrationState::Unregistered)]
    );
    assert_eq!(rig.ua.poll_timeout(), None);
    rig.ua.transport_down(rig.now);
    rig.ua.transport_up(rig.now);
    assert!(rig.sent().is_empty(), "no registration after an explicit unregister");
    rig.ua.register(rig.now);
    assert_eq!(rig.request().headers.get("Expires"), Some("600"));
}

#[test]
fn transport_loss_and_reconnect_reregister() {
    let mut rig = Rig::new();
    rig.ua.transport_up(rig.now);
    let first = rig.request();
    rig.feed(&reply(&first, 200, Some("x"), &[], ""));
    rig.events();
    rig.ua.transport_down(rig.now);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Registration(RegistrationState::Unregistered)]
    );
    assert_eq!(rig.ua.poll_timeout(), None);
    rig.advance(Duration::from_secs(1000));
    assert!(rig.sent().is_empty());
    rig.ua.transport_up(rig.now);
    let again = rig.request();
    assert_eq!(again.call_id(), first.call_id());
    assert!(cseq(&again).0 > cseq(&first).0);
    assert_eq!(
        rig.events(),
        vec![UaEvent::Registration(RegistrationState::Registering)]
    );
    rig.feed(&reply(&again, 200, Some("x"), &[], ""));
    assert!(matches!(rig.ua.registration(), RegistrationState::Registered { .. }));
}
