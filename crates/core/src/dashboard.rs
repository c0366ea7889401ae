//! The supervisor's live dashboard: cheap counts over the partial indexes of live appeals, the
//! workstations' lines and the PBX's queue.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::AppealType;
use crate::Store;

/// The supervisor's live dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Appeals registered since midnight (the server's), by type.
    pub today_by_type: Vec<TypeCount>,
    /// Live appeals whose clock has run out.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub overdue_now: i64,
    /// Live appeals nobody has called an executor about.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub not_notified: i64,
    /// All live appeals.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub live: i64,
    /// Incoming calls ringing at the workstations now (manual: «звонков в очереди»).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub calls_waiting: i64,
    /// Operators whose phone line is registered now («операторы на линии»).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub operators_on_line: i64,
    /// Of them, those talking now.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub operators_talking: i64,
}

/// A count of appeals of one type.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct TypeCount {
    /// The type.
    pub appeal_type: crate::model::AppealType,
    /// How many.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: i64,
}

impl Store {
    /// The live dashboard: cheap counts over the partial indexes of live appeals (a manager's
    /// of their organization).
    pub async fn dashboard(&self) -> Result<Dashboard> {
        let d = sqlx::query!(
            r#"select today_types as "types!: Vec<AppealType>", today_counts as "counts!", overdue_now as "overdue_now!",
                      not_notified as "not_notified!", live as "live!", calls_waiting as "calls_waiting!",
                      operators_on_line as "operators_on_line!", operators_talking as "operators_talking!"
               from dialog_dashboard(make_interval(secs => $1))"#,
            crate::phone::LINE_STALE_AFTER.as_secs_f64()
        )
        .fetch_one(&self.pool)
        .await?;
        let today_by_type = d
            .types
            .into_iter()
            .zip(d.counts)
            .map(|(appeal_type, count)| TypeCount { appeal_type, count })
            .collect();
        Ok(Dashboard {
            today_by_type,
            overdue_now: d.overdue_now,
            not_notified: d.not_notified,
            live: d.live,
            calls_waiting: d.calls_waiting,
            operators_on_line: d.operators_on_line,
            operators_talking: d.operators_talking,
        })
    }
}
