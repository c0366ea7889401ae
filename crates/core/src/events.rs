//! Change events: every change of an appeal is announced by the database (`pg_notify` on
//! channel `dialog_appeals`); open screens listen and refresh what they show.

use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::error::Result;
use crate::Store;

/// The notification channel.
pub const CHANNEL: &str = "dialog_appeals";

/// An appeal changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct AppealEvent {
    /// Which appeal.
    pub id: Uuid,
    /// Its number (absent for comments and files).
    pub number: Option<String>,
    /// Its version after the change (absent for comments and files).
    pub version: Option<i32>,
    /// `insert`, `update`, `comment`, `attachment`.
    pub op: String,
}

impl Store {
    /// A stream of change events, on a connection of its own. After a dropped connection the
    /// listener reconnects by itself; the gap is reported as an `Err` so that screens reload.
    pub async fn appeal_events(&self) -> Result<impl Stream<Item = Result<AppealEvent>> + Send + 'static> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener.into_stream().filter_map(|n| async move {
            match n {
                Ok(n) => match serde_json::from_str::<AppealEvent>(n.payload()) {
                    Ok(e) => Some(Ok(e)),
                    Err(err) => {
                        tracing::warn!(%err, payload = n.payload(), "unreadable appeal event");
                        None
                    }
                },
                Err(e) => Some(Err(e.into())),
            }
        }))
    }
}
