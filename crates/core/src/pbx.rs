//! The PBX as the witness of calls, and its queue: what dialog-server's pbx duty writes (as a
//! service login no person holds), and what the operators' header and the supervisor's
//! dashboard read.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

use crate::connect::{ConnectError, ConnectOptions};
use crate::error::Result;
use crate::model::CallDirection;
use crate::scram::scram_verifier;
use crate::Store;

/// What a service login of dialog-server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "service_duty", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Duty {
    /// The PBX bridge: calls and the queue.
    Pbx,
    /// The mail intake.
    Mail,
}

/// What happened to an operator's leg of a call, as the PBX reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallEvent {
    /// The channel appeared (dialled, or ringing at the operator).
    Start,
    /// It was answered.
    Answer,
    /// It hung up.
    End,
}

impl CallEvent {
    fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Answer => "answer",
            Self::End => "end",
        }
    }
}

/// One operator's leg of a call, as the PBX saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxLeg {
    /// Asterisk's id of the operator's channel.
    pub uniqueid: String,
    /// Asterisk's id of the whole call.
    pub linkedid: String,
    /// Seen from the operator.
    pub direction: CallDirection,
    /// The operator's extension.
    pub extension: String,
    /// The other party (E.164 for a phone number).
    pub number: String,
    /// SIP Call-ID of the operator's leg.
    pub sip_call_id: Option<String>,
}

/// One queue of the PBX as it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct QueueState {
    /// The queue's name in the PBX.
    pub queue: String,
    /// Callers waiting.
    pub waiting: i32,
    /// Since when the caller waiting longest waits.
    pub longest_since: Option<DateTime<Utc>>,
    /// Agents logged in to the queue.
    pub agents: i32,
    /// Of them, talking.
    pub talking: i32,
    /// The bridge has not reported for a minute: the figures may be old.
    pub stale: bool,
}

/// The channel the PBX bridge announces a change of the queues on.
pub const QUEUE_CHANNEL: &str = "dialog_queue";

/// A service login of dialog-server: a pool on which only its duty's functions work.
#[derive(Debug, Clone)]
pub struct Service {
    pool: sqlx::PgPool,
}

impl Service {
    /// Logs the service in and checks that it is an active service of this duty here.
    pub async fn connect(opts: &ConnectOptions, duty: Duty) -> Result<Service, ConnectError> {
        let pg = opts.pg_options();
        let mut probe = PgConnection::connect_with(&pg)
            .await
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        let mine = sqlx::query_scalar!(r#"select dialog_my_duty() as "duty: Duty""#)
            .fetch_one(&mut probe)
            .await
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        let _ = probe.close().await;
        if mine != Some(duty) {
            return Err(ConnectError::NotAPerson(opts.login.clone()));
        }
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(pg)
            .await
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        Ok(Service { pool })
    }

    /// The pool.
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }

    /// Records what happened to an operator's leg (repeating a report changes nothing).
    pub async fn call_event(&self, event: CallEvent, leg: &PbxLeg) -> Result<()> {
        sqlx::query!(
            "select dialog_pbx_call($1, $2, $3, $4, $5, $6, $7)",
            event.name(),
            leg.uniqueid,
            leg.linkedid,
            leg.direction as CallDirection,
            leg.extension,
            leg.number,
            leg.sip_call_id
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Publishes one queue's state.
    pub async fn queue(&self, q: &QueueState) -> Result<()> {
        sqlx::query!(
            "select dialog_pbx_queue($1, $2, $3, $4, $5)",
            q.queue,
            q.waiting,
            q.longest_since,
            q.agents,
            q.talking
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Says the bridge is alive though nothing changed.
    pub async fn alive(&self) -> Result<()> {
        sqlx::query!("select dialog_pbx_alive()").execute(&self.pool).await?;
        Ok(())
    }
}

impl Store {
    /// The PBX's queues (staff only).
    pub async fn queue_state(&self) -> Result<Vec<QueueState>> {
        Ok(sqlx::query_as!(
            QueueState,
            r#"select queue as "queue!", waiting as "waiting!", longest_since, agents as "agents!",
                          talking as "talking!", stale as "stale!"
                   from dialog_queue_state()"#
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Makes a service login of dialog-server (admins and the owner only).
    pub async fn add_service(&self, login: &str, password: &str, duty: Duty) -> Result<()> {
        sqlx::query!(
            "select dialog_create_service($1, $2, $3)",
            login.trim(),
            scram_verifier(password),
            duty as Duty
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Sets a setting an admin chooses (admins and the owner only).
    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query!("select dialog_set_setting($1, $2)", key, value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
