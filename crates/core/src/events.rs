//! Change events. Every change of an appeal (its fields, executors, comments, files, calls) is
//! a numbered row of the database's change stream, the record of what happened. It is also
//! announced at once, with what changed, on a channel whose name only the database gives out
//! (`dialog_my_change_channel`: one for those who see every appeal, one per organization for
//! its managers). Anybody may send a notification on any channel, so a notification is only a
//! hint: its change is shown at once, and the stream is read through `dialog_changes_since`
//! every [`CONFIRM_EVERY`] while hints come (every [`POLL_EVERY`] when all is quiet, and after
//! a lost connection), so that nothing is missed silently: when the reader cannot know what it
//! missed, it says so and the screens reload. A hint the stream does not confirm is taken for
//! what it is; a confirmed one is not shown twice. So a busy center's server reads the stream
//! for each listener once in a few seconds, not after every change.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use futures_util::Stream;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::Store;

/// How often the stream is read even when no notification came (a notification can be lost
/// with its connection, or never sent when the server's queue is full).
pub const POLL_EVERY: Duration = Duration::from_secs(10);

/// How often the stream is read while hints come: what a hint announced is confirmed (or a
/// change whose hint was lost is found) within this time.
pub const CONFIRM_EVERY: Duration = Duration::from_secs(2);

/// How long a missing number of the stream is waited for: a change made in a transaction that
/// is still open gets its number before it becomes visible. Past this, the number belonged to
/// a transaction that was rolled back (the server ends transactions idle for a minute).
pub const HOLE_PATIENCE: Duration = Duration::from_secs(90);

/// What a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// An appeal changed.
    Appeal(AppealEvent),
    /// The PBX's queue changed: read it again (`Store::queue_state`).
    Queue,
}

/// An appeal changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AppealEvent {
    /// Which appeal.
    pub id: Uuid,
    /// Its number.
    pub number: Option<String>,
    /// Its version after the change.
    pub version: Option<i32>,
    /// `insert`, `update`, `comment`, `attachment`, `call`.
    pub op: String,
}

/// A change as its notification announces it (`dialog_announce`).
#[derive(Debug, Clone, Deserialize)]
struct Hint {
    seq: i64,
    id: Uuid,
    number: Option<String>,
    version: Option<i32>,
    op: String,
}

/// One row of `dialog_changes_since`.
#[derive(Debug, Clone)]
struct ChangeRow {
    seq: i64,
    appeal_id: Option<Uuid>,
    number: Option<String>,
    version: Option<i32>,
    op: String,
    gap: bool,
}

/// What the reader knows of the stream: every number up to `floor` is seen (or given up on);
/// above it, the numbers seen and the holes still waited for.
#[derive(Debug, Default)]
struct Cursor {
    floor: i64,
    seen: BTreeSet<i64>,
    holes: BTreeMap<i64, Instant>,
    /// Changes shown from their hints and not yet read from the stream: which appeal and
    /// version each hint named.
    hinted: BTreeMap<i64, (Uuid, Option<i32>)>,
}

/// What reading the stream once gave.
#[derive(Debug, PartialEq)]
enum Read {
    Events(Vec<AppealEvent>),
    /// Changes were lost to the reader: reload everything.
    Gap,
}

impl Cursor {
    fn at(head: i64) -> Self {
        Self {
            floor: head,
            ..Self::default()
        }
    }

    /// The numbers to ask for besides those above the highest seen.
    fn holes(&self) -> Vec<i64> {
        self.holes.keys().copied().collect()
    }

    /// The highest number seen.
    fn top(&self) -> i64 {
        self.seen.last().copied().unwrap_or(self.floor)
    }

    /// A hint of a change not read yet: the event to show now.
    fn hint(&mut self, h: Hint) -> Option<AppealEvent> {
        if h.seq <= self.floor || self.seen.contains(&h.seq) {
            return None;
        }
        self.hinted.insert(h.seq, (h.id, h.version));
        Some(AppealEvent {
            id: h.id,
            number: h.number,
            version: h.version,
            op: h.op,
        })
    }

    /// Takes the rows of one read; `now` is when they were read.
    fn take(&mut self, rows: Vec<ChangeRow>, now: Instant) -> Read {
        let mut out = Vec::new();
        for r in rows {
            if r.gap {
                *self = Self::at(r.seq);
                return Read::Gap;
            }
            if r.seq <= self.floor || !self.seen.insert(r.seq) {
                continue;
            }
            self.holes.remove(&r.seq);
            let shown = self.hinted.remove(&r.seq);
            if let Some(id) = r.appeal_id.filter(|&id| shown != Some((id, r.version))) {
                out.push(AppealEvent {
                    id,
                    number: r.number,
                    version: r.version,
                    op: r.op,
                });
            }
        }
        let top = self.top();
        for n in self.floor + 1..top {
            if !self.seen.contains(&n) {
                self.holes.entry(n).or_insert(now);
            }
        }
        self.holes
            .retain(|_, since| now.saturating_duration_since(*since) < HOLE_PATIENCE);
        while self.seen.first().is_some_and(|&n| n == self.floor + 1)
            || (self.floor < top
                && !self.holes.contains_key(&(self.floor + 1))
                && !self.seen.contains(&(self.floor + 1)))
        {
            self.floor += 1;
            self.seen.remove(&self.floor);
        }
        let floor = self.floor;
        self.hinted.retain(|&n, _| n > floor);
        Read::Events(out)
    }
}

async fn read(pool: &PgPool, cursor: &mut Cursor) -> Result<Read> {
    let rows = sqlx::query_as!(
        ChangeRow,
        r#"select seq as "seq!", appeal_id, number, version, op as "op!", gap as "gap!"
           from dialog_changes_since($1, $2, $3)"#,
        cursor.top(),
        &cursor.holes(),
        1000
    )
    .fetch_all(pool)
    .await?;
    Ok(cursor.take(rows, Instant::now()))
}

impl Store {
    /// The appeals' changes alone (see [`Store::changes`]).
    pub async fn appeal_events(&self) -> Result<impl Stream<Item = Result<AppealEvent>> + Send + 'static> {
        use futures_util::StreamExt;
        Ok(self.changes().await?.filter_map(|c| async move {
            match c {
                Ok(Change::Appeal(e)) => Some(Ok(e)),
                Ok(Change::Queue) => None,
                Err(e) => Some(Err(e)),
            }
        }))
    }

    /// A stream of changes, on a connection of its own. An `Err` means that changes may have
    /// been missed (the server could not be reached, or was away longer than it keeps
    /// changes): screens reload what they show. The stream ends when dropped.
    pub async fn changes(&self) -> Result<impl Stream<Item = Result<Change>> + Send + 'static> {
        let channel = sqlx::query_scalar!(r#"select dialog_my_change_channel() as "channel!""#)
            .fetch_one(&self.pool)
            .await?;
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener
            .listen_all([channel.as_str(), crate::pbx::QUEUE_CHANNEL])
            .await?;
        let head = sqlx::query_scalar!(r#"select dialog_changes_head() as "head!""#)
            .fetch_one(&self.pool)
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Change>>(1024);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            let mut cursor = Cursor::at(head);
            let mut lost = false;
            let mut last_read = Instant::now();
            let mut hinted = false;
            loop {
                // Nobody listens any more (the session ended), or the person logged out.
                if tx.is_closed() || pool.is_closed() {
                    return;
                }
                // The read is due by the clock, not when the notifications pause: under a
                // steady flood one is always waiting, and the read would never come.
                let due = last_read + if hinted { CONFIRM_EVERY } else { POLL_EVERY };
                let wait = due.saturating_duration_since(Instant::now());
                let woke = if wait.is_zero() {
                    None
                } else {
                    tokio::time::timeout(wait, listener.try_recv()).await.ok()
                };
                match woke {
                    Some(Ok(Some(n))) if n.channel() == crate::pbx::QUEUE_CHANNEL => {
                        if tx.send(Ok(Change::Queue)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    // A hint: shown now, confirmed by the next read. What is not a hint of
                    // the database's (anybody may notify) is passed over.
                    Some(Ok(Some(n))) => {
                        if let Some(e) = serde_json::from_str(n.payload()).ok().and_then(|h| cursor.hint(h)) {
                            hinted = true;
                            if tx.send(Ok(Change::Appeal(e))).await.is_err() {
                                return;
                            }
                        }
                        continue;
                    }
                    // Time to read.
                    None => {}
                    // The listening connection broke; the next try_recv reconnects. What came
                    // meanwhile is in the stream, read below.
                    Some(Ok(None)) => tracing::info!("change listener reconnects"),
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "change listener lost the server");
                        if !lost && tx.send(Err(Error::from(e))).await.is_err() {
                            return;
                        }
                        lost = true;
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                }
                last_read = Instant::now();
                hinted = false;
                match read(&pool, &mut cursor).await {
                    Ok(Read::Events(events)) => {
                        lost = false;
                        for e in events {
                            if tx.send(Ok(Change::Appeal(e))).await.is_err() {
                                return;
                            }
                        }
                    }
                    Ok(Read::Gap) => {
                        lost = false;
                        let gap = Error::invalid("", "Изменения за время разрыва связи утеряны — данные перечитаны");
                        if tx.send(Err(gap)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change stream unreadable");
                        if !lost && tx.send(Err(e)).await.is_err() {
                            return;
                        }
                        lost = true;
                    }
                }
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(tokio_stream_from(rx))
    }
}

/// The receiving end of a channel as a stream.
fn tokio_stream_from<T: Send + 'static>(rx: tokio::sync::mpsc::Receiver<T>) -> impl Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64) -> ChangeRow {
        ChangeRow {
            seq,
            appeal_id: Some(Uuid::from_u128(seq as u128)),
            number: None,
            version: Some(1),
            op: "update".into(),
            gap: false,
        }
    }

    fn ids(r: Read) -> Vec<i64> {
        match r {
            Read::Events(e) => e.iter().map(|e| e.id.as_u128() as i64).collect(),
            Read::Gap => vec![-1],
        }
    }

    #[test]
    fn a_change_committed_late_is_still_delivered_once() {
        let t0 = Instant::now();
        let mut c = Cursor::at(10);
        // 12 commits before 11 (whose transaction is still open).
        assert_eq!(ids(c.take(vec![row(12)], t0)), [12]);
        assert_eq!(c.floor, 10);
        assert_eq!(c.holes(), [11]);
        assert_eq!(c.top(), 12);
        // 11 commits: delivered; 12 is not delivered again.
        assert_eq!(ids(c.take(vec![row(11), row(12)], t0)), [11]);
        assert_eq!((c.floor, c.holes().len()), (12, 0));
    }

    #[test]
    fn a_rolled_back_number_is_given_up_after_a_while() {
        let t0 = Instant::now();
        let mut c = Cursor::at(0);
        assert_eq!(ids(c.take(vec![row(1), row(3)], t0)), [1, 3]);
        assert_eq!((c.floor, c.holes()), (1, vec![2]));
        let later = t0 + HOLE_PATIENCE + Duration::from_secs(1);
        assert_eq!(ids(c.take(vec![], later)), Vec::<i64>::new());
        assert_eq!((c.floor, c.holes().len()), (3, 0));
    }

    fn hint(seq: i64, id: u128) -> Hint {
        Hint {
            seq,
            id: Uuid::from_u128(id),
            number: None,
            version: Some(1),
            op: "update".into(),
        }
    }

    #[test]
    fn a_hinted_change_is_shown_once_and_a_forged_hint_hides_nothing() {
        let t0 = Instant::now();
        let mut c = Cursor::at(10);
        // 11 is shown from its hint, then read from the stream: not shown again.
        assert!(c.hint(hint(11, 11)).is_some());
        assert_eq!(ids(c.take(vec![row(11)], t0)), Vec::<i64>::new());
        // A hint of a change already read is passed over.
        assert!(c.hint(hint(11, 11)).is_none());
        // A forged hint naming 12 does not stand for the real 12, which is still shown.
        assert!(c.hint(hint(12, 999)).is_some());
        assert_eq!(ids(c.take(vec![row(12)], t0)), [12]);
        assert!(c.hinted.is_empty());
    }

    #[test]
    fn a_gap_resets_the_reader() {
        let mut c = Cursor::at(5);
        let gap = ChangeRow {
            seq: 900,
            appeal_id: None,
            number: None,
            version: None,
            op: "gap".into(),
            gap: true,
        };
        assert_eq!(c.take(vec![gap], Instant::now()), Read::Gap);
        assert_eq!((c.floor, c.top()), (900, 900));
    }
}
