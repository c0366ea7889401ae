//! The operators' legs of calls, as AMI events show them: which channel is an operator's,
//! which way the call goes, who is on the other end, when the other end answered and when it
//! ended. Pure: events in, reports out, so that every rule here is tested without a PBX.
//!
//! - An operator's channel is a PJSIP channel whose endpoint is an extension
//!   (`PJSIP/2001-0000002a`: endpoint `2001`; the pattern is configurable).
//! - Outgoing: the operator's phone sent the INVITE, so Asterisk creates its channel ringing
//!   (`Newchannel`, state 4) with the number dialled as its extension. It counts as answered
//!   only when a `Dial()` from it was answered (`DialEnd`, `ANSWER`): the PBX answering a test
//!   number itself is not someone picking up.
//! - Incoming: Asterisk creates the operator's channel to call it (state 0) and dials it
//!   (`DialBegin` with it as the destination, from the queue or a `Dial()`); the caller's number
//!   is the calling channel's. Answered when that dial is answered.
//! - Ended: its `Hangup`.

use std::collections::HashMap;

use dialog_core::model::CallDirection;
use dialog_core::pbx::{CallEvent, PbxLeg};

use super::ami::Message;

/// What the bridge must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Todo {
    /// Write this to the database.
    Report(CallEvent, PbxLeg),
    /// Ask Asterisk for the SIP Call-ID of this channel (the answer goes to [`Legs::call_id`]).
    AskCallId {
        /// The channel's name.
        channel: String,
        /// Its uniqueid.
        uniqueid: String,
    },
}

#[derive(Debug, Clone)]
struct Leg {
    channel: String,
    leg: PbxLeg,
    /// Reported to the database (its direction and number are known).
    started: bool,
}

/// The legs in progress.
#[derive(Debug, Default)]
pub struct Legs {
    legs: HashMap<String, Leg>,
    extension: ExtensionPattern,
}

/// Which PJSIP endpoints are operators' workstations: digits, `min`..=`max` of them.
#[derive(Debug, Clone, Copy)]
pub struct ExtensionPattern {
    /// Fewest digits.
    pub min: usize,
    /// Most digits.
    pub max: usize,
}

impl Default for ExtensionPattern {
    fn default() -> Self {
        Self { min: 2, max: 6 }
    }
}

impl ExtensionPattern {
    /// The operator's extension of a channel name, if it is an operator's channel.
    pub fn extension(&self, channel: &str) -> Option<String> {
        let rest = channel.strip_prefix("PJSIP/")?;
        let endpoint = rest.rsplit_once('-').map_or(rest, |(e, _)| e);
        let ok = (self.min..=self.max).contains(&endpoint.len()) && endpoint.chars().all(|c| c.is_ascii_digit());
        ok.then(|| endpoint.to_owned())
    }
}

/// A number as the PBX shows it, as Dialog stores numbers: E.164 where it is a phone
/// (`89170000001`, `+7 917…`, `79170000001`), as it is otherwise (an extension, `600`).
pub fn number(raw: &str) -> String {
    let raw = raw.trim();
    dialog_core::phone::normalize_phone(raw).unwrap_or_else(|| {
        let digits: String = raw.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        if digits.is_empty() {
            "00".to_owned()
        } else {
            digits
        }
    })
}

impl Legs {
    /// Legs of the endpoints `pattern` calls operators'.
    pub fn new(extension: ExtensionPattern) -> Self {
        Self {
            legs: HashMap::new(),
            extension,
        }
    }

    /// Takes one event; returns what to do.
    pub fn event(&mut self, m: &Message) -> Vec<Todo> {
        let get = |k: &str| m.get(k).unwrap_or_default().to_owned();
        match m.event().unwrap_or_default() {
            "Newchannel" => {
                let channel = get("Channel");
                let Some(extension) = self.extension.extension(&channel) else {
                    return vec![];
                };
                let uniqueid = get("Uniqueid");
                let outgoing = get("ChannelState") == "4";
                let leg = PbxLeg {
                    uniqueid: uniqueid.clone(),
                    linkedid: m.get("Linkedid").unwrap_or(&uniqueid).to_owned(),
                    direction: if outgoing {
                        CallDirection::Outgoing
                    } else {
                        CallDirection::Incoming
                    },
                    extension,
                    number: if outgoing { number(&get("Exten")) } else { String::new() },
                    sip_call_id: None,
                };
                self.legs.insert(
                    uniqueid.clone(),
                    Leg {
                        channel: channel.clone(),
                        leg: leg.clone(),
                        started: outgoing,
                    },
                );
                if outgoing {
                    vec![
                        Todo::Report(CallEvent::Start, leg),
                        Todo::AskCallId { channel, uniqueid },
                    ]
                } else {
                    vec![]
                }
            }
            "DialBegin" => {
                // Asterisk dials an operator: the caller's number is the calling channel's.
                let dest = get("DestUniqueid");
                let caller = m.get("CallerIDNum").filter(|n| !n.is_empty() && *n != "<unknown>");
                match self.legs.get_mut(&dest) {
                    Some(l) if !l.started => {
                        l.started = true;
                        l.leg.number = number(caller.unwrap_or(""));
                        if let Some(linked) = m.get("DestLinkedid").or(m.get("Linkedid")) {
                            l.leg.linkedid = linked.to_owned();
                        }
                        vec![
                            Todo::Report(CallEvent::Start, l.leg.clone()),
                            Todo::AskCallId {
                                channel: l.channel.clone(),
                                uniqueid: dest,
                            },
                        ]
                    }
                    _ => vec![],
                }
            }
            "DialEnd" if m.get("DialStatus") == Some("ANSWER") => {
                // The operator's dial answered (outgoing), or the operator answered (incoming).
                let mut out = Vec::new();
                for id in [get("Uniqueid"), get("DestUniqueid")] {
                    if let Some(l) = self.legs.get(&id).filter(|l| l.started) {
                        let ours = match l.leg.direction {
                            CallDirection::Outgoing => id == get("Uniqueid"),
                            CallDirection::Incoming => id == get("DestUniqueid"),
                        };
                        if ours {
                            out.push(Todo::Report(CallEvent::Answer, l.leg.clone()));
                        }
                    }
                }
                out
            }
            "Hangup" => match self.legs.remove(&get("Uniqueid")) {
                Some(l) if l.started => vec![Todo::Report(CallEvent::End, l.leg)],
                _ => vec![],
            },
            _ => vec![],
        }
    }

    /// The SIP Call-ID Asterisk gave for a leg (the answer to [`Todo::AskCallId`]).
    pub fn call_id(&mut self, uniqueid: &str, call_id: &str) -> Option<Todo> {
        let l = self.legs.get_mut(uniqueid)?;
        if call_id.is_empty() || l.leg.sip_call_id.is_some() {
            return None;
        }
        l.leg.sip_call_id = Some(call_id.to_owned());
        Some(Todo::Report(CallEvent::Start, l.leg.clone()))
    }

    /// After a reconnect: legs Asterisk no longer has ended while the bridge was away.
    pub fn keep_only(&mut self, alive: &[String]) -> Vec<Todo> {
        let gone: Vec<String> = self.legs.keys().filter(|id| !alive.contains(id)).cloned().collect();
        gone.into_iter()
            .filter_map(|id| self.legs.remove(&id))
            .filter(|l| l.started)
            .map(|l| Todo::Report(CallEvent::End, l.leg))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(fields: &[(&str, &str)]) -> Message {
        Message::of(fields)
    }

    fn reports(todo: &[Todo]) -> Vec<(CallEvent, CallDirection, String)> {
        todo.iter()
            .filter_map(|t| match t {
                Todo::Report(e, l) => Some((*e, l.direction, l.number.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_outgoing_call_to_an_executor_answered_and_hung_up() {
        let mut legs = Legs::new(ExtensionPattern::default());
        let t = legs.event(&ev(&[
            ("Event", "Newchannel"),
            ("Channel", "PJSIP/2001-00000004"),
            ("ChannelState", "4"),
            ("Exten", "89170000001"),
            ("Uniqueid", "1.4"),
            ("Linkedid", "1.4"),
        ]));
        assert_eq!(
            reports(&t),
            [(CallEvent::Start, CallDirection::Outgoing, "+79170000001".into())]
        );
        assert!(t
            .iter()
            .any(|t| matches!(t, Todo::AskCallId { uniqueid, .. } if uniqueid == "1.4")));
        assert!(
            matches!(legs.call_id("1.4", "abc@dialog"), Some(Todo::Report(CallEvent::Start, l)) if l.sip_call_id.as_deref() == Some("abc@dialog"))
        );
        // The trunk's channel is not an operator's.
        assert!(legs
            .event(&ev(&[
                ("Event", "Newchannel"),
                ("Channel", "PJSIP/trunk-00000005"),
                ("Uniqueid", "1.5")
            ]))
            .is_empty());
        let t = legs.event(&ev(&[
            ("Event", "DialEnd"),
            ("Uniqueid", "1.4"),
            ("DestUniqueid", "1.5"),
            ("DialStatus", "ANSWER"),
        ]));
        assert_eq!(
            reports(&t),
            [(CallEvent::Answer, CallDirection::Outgoing, "+79170000001".into())]
        );
        let t = legs.event(&ev(&[("Event", "Hangup"), ("Uniqueid", "1.4")]));
        assert_eq!(
            reports(&t),
            [(CallEvent::End, CallDirection::Outgoing, "+79170000001".into())]
        );
        assert!(legs.keep_only(&[]).is_empty(), "nothing left in progress");
    }

    #[test]
    fn an_unanswered_dial_is_not_an_answer_and_the_pbx_answering_itself_neither() {
        let mut legs = Legs::new(ExtensionPattern::default());
        legs.event(&ev(&[
            ("Event", "Newchannel"),
            ("Channel", "PJSIP/2001-00000001"),
            ("ChannelState", "4"),
            ("Exten", "+79170000001"),
            ("Uniqueid", "2.1"),
        ]));
        let t = legs.event(&ev(&[
            ("Event", "DialEnd"),
            ("Uniqueid", "2.1"),
            ("DialStatus", "NOANSWER"),
        ]));
        assert!(reports(&t).is_empty());
        // The channel went up because the dial plan answered (an echo test): not a person.
        let t = legs.event(&ev(&[
            ("Event", "Newstate"),
            ("Uniqueid", "2.1"),
            ("ChannelState", "6"),
        ]));
        assert!(reports(&t).is_empty());
    }

    #[test]
    fn a_queue_call_rings_the_operator_and_is_answered() {
        let mut legs = Legs::new(ExtensionPattern::default());
        assert!(legs
            .event(&ev(&[
                ("Event", "Newchannel"),
                ("Channel", "PJSIP/2001-00000009"),
                ("ChannelState", "0"),
                ("Uniqueid", "3.9"),
            ]))
            .is_empty());
        let t = legs.event(&ev(&[
            ("Event", "DialBegin"),
            ("Uniqueid", "3.8"),
            ("CallerIDNum", "+79990000001"),
            ("DestUniqueid", "3.9"),
            ("DestLinkedid", "3.8"),
        ]));
        assert_eq!(
            reports(&t),
            [(CallEvent::Start, CallDirection::Incoming, "+79990000001".into())]
        );
        let t = legs.event(&ev(&[
            ("Event", "DialEnd"),
            ("Uniqueid", "3.8"),
            ("DestUniqueid", "3.9"),
            ("DialStatus", "ANSWER"),
        ]));
        assert_eq!(
            reports(&t),
            [(CallEvent::Answer, CallDirection::Incoming, "+79990000001".into())]
        );
        // The bridge was away when it ended: a reconnect ends it.
        let t = legs.keep_only(&[]);
        assert_eq!(
            reports(&t),
            [(CallEvent::End, CallDirection::Incoming, "+79990000001".into())]
        );
    }

    #[test]
    fn operators_are_told_from_trunks_by_their_endpoint() {
        let p = ExtensionPattern::default();
        assert_eq!(p.extension("PJSIP/2001-0000002a").as_deref(), Some("2001"));
        assert_eq!(p.extension("PJSIP/trunk-0000002a"), None);
        assert_eq!(p.extension("Local/600@test-voices-00000001;1"), None);
        assert_eq!(number("8 917 000-00-01"), "+79170000001");
        assert_eq!(number("600"), "600");
    }
}
