//! The PBX's queues as `QueueStatus` lists them: one `QueueParams` per queue, one `QueueMember`
//! per agent, one `QueueEntry` per caller waiting, then `QueueStatusComplete`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dialog_core::pbx::QueueState;

use super::ami::Message;

/// Collects one `QueueStatus` answer.
#[derive(Debug, Default)]
pub struct Collector {
    queues: BTreeMap<String, QueueState>,
}

/// Agent states of `QueueMember` (Asterisk's device states).
const NOT_LOGGED_IN: &[&str] = &["0", "4", "5"];
const TALKING: &[&str] = &["2", "3", "8"];

impl Collector {
    /// Takes one event of the answer; `true` once the answer is complete.
    pub fn event(&mut self, m: &Message, now: DateTime<Utc>) -> bool {
        let queue = m.get("Queue").unwrap_or_default().to_owned();
        let entry = |q: &mut BTreeMap<String, QueueState>| {
            q.entry(queue.clone())
                .or_insert_with(|| QueueState {
                    queue: queue.clone(),
                    waiting: 0,
                    longest_since: None,
                    agents: 0,
                    talking: 0,
                    stale: false,
                })
                .clone()
        };
        match m.event().unwrap_or_default() {
            "QueueParams" => {
                entry(&mut self.queues);
            }
            "QueueMember" => {
                entry(&mut self.queues);
                let status = m.get("Status").unwrap_or("0");
                if let Some(q) = self.queues.get_mut(&queue) {
                    if !NOT_LOGGED_IN.contains(&status) && m.get("Paused") != Some("1") {
                        q.agents += 1;
                    }
                    if TALKING.contains(&status) || m.get("InCall") == Some("1") {
                        q.talking += 1;
                    }
                }
            }
            "QueueEntry" => {
                entry(&mut self.queues);
                let wait: i64 = m.get("Wait").and_then(|w| w.parse().ok()).unwrap_or(0);
                let since = now - chrono::Duration::seconds(wait);
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.waiting += 1;
                    q.longest_since = Some(q.longest_since.map_or(since, |s| s.min(since)));
                }
            }
            "QueueStatusComplete" => return true,
            _ => {}
        }
        false
    }

    /// The queues collected (only those named in `only`, when it is not empty).
    pub fn finish(self, only: &[String]) -> Vec<QueueState> {
        self.queues
            .into_values()
            .filter(|q| only.is_empty() || only.contains(&q.queue))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_agents_and_the_longest_wait() {
        let now = Utc::now();
        let mut c = Collector::default();
        let events = [
            Message::of(&[("Event", "QueueParams"), ("Queue", "dispatch"), ("Calls", "2")]),
            Message::of(&[
                ("Event", "QueueMember"),
                ("Queue", "dispatch"),
                ("Status", "1"),
                ("Paused", "0"),
            ]),
            Message::of(&[
                ("Event", "QueueMember"),
                ("Queue", "dispatch"),
                ("Status", "2"),
                ("InCall", "1"),
            ]),
            Message::of(&[("Event", "QueueMember"), ("Queue", "dispatch"), ("Status", "5")]),
            Message::of(&[("Event", "QueueEntry"), ("Queue", "dispatch"), ("Wait", "42")]),
            Message::of(&[("Event", "QueueEntry"), ("Queue", "dispatch"), ("Wait", "310")]),
            Message::of(&[("Event", "QueueParams"), ("Queue", "other")]),
        ];
        for e in &events {
            assert!(!c.event(e, now));
        }
        assert!(c.event(&Message::of(&[("Event", "QueueStatusComplete")]), now));
        let q = c.finish(&["dispatch".to_owned()]);
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].waiting, q[0].agents, q[0].talking), (2, 2, 1));
        assert_eq!(q[0].longest_since, Some(now - chrono::Duration::seconds(310)));
    }
}
