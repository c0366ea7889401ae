//! Reports over a period: appeals by type, kind, status, organization, executor and
//! operator; overdue appeals; times to «в работе» and «отработано»; the clocks of Decree
//! No. 416; calls per operator.
//!
//! Each report is one set-based SQL statement over the appeals received in the period (the
//! calls started in it, for the call reports), read through the `received_at` (`started_at`)
//! indexes. The result is plain text in cells, ready for a table on screen, PDF or CSV
//! (`dialog-print` turns it into its `ReportData`). Managers see their own organization
//! only: row-level security narrows every statement, nothing here has to.
//!
//! Long builds. A report is one statement, so progress is coarse: the app shows «строится…»
//! from the call to the answer. Cancelling is dropping the future (closing the report, or
//! aborting the task that awaits it): the statement is then cancelled on the server with
//! `pg_cancel_backend`, and its connection is closed instead of going back to the pool, so
//! the server stops working on a report nobody waits for. No `statement_timeout` is set: a
//! large period may legitimately take long, and the person decides when to stop.

use chrono::{DateTime, Local, Utc};
use serde::{Deserialize, Serialize};
use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::StaffRole;
use crate::Store;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub enum ReportKind {
    /// Appeals by type (авария, жалоба, справка, заявка).
    ByType,
    /// Appeals by kind (вид).
    ByKind,
    /// Appeals by their status now.
    ByStatus,
    /// Appeals by management company.
    ByOrganization,
    /// Appeals by assigned executor.
    ByExecutor,
    /// Appeals by the operator who registered them.
    ByOperator,
    /// The appeals whose resolution deadline ran out before the work was done.
    Overdue,
    /// Median and 90th percentile of the time to «в работе» and to «отработано».
    Timings,
    /// The clocks of Decree No. 416: share met and the breaches.
    Compliance,
    /// Incoming calls answered and missed, and outgoing calls, per operator.
    Calls,
}

impl ReportKind {
    /// Every report, in the order of the reports screen.
    pub const ALL: &'static [ReportKind] = &[
        Self::ByType,
        Self::ByKind,
        Self::ByStatus,
        Self::ByOrganization,
        Self::ByExecutor,
        Self::ByOperator,
        Self::Overdue,
        Self::Timings,
        Self::Compliance,
        Self::Calls,
    ];

    /// The title printed on the report.
    pub fn title(self) -> &'static str {
        match self {
            Self::ByType => "Обращения по типам",
            Self::ByKind => "Обращения по видам",
            Self::ByStatus => "Обращения по статусам",
            Self::ByOrganization => "Обращения по управляющим организациям",
            Self::ByExecutor => "Обращения по исполнителям",
            Self::ByOperator => "Обращения по операторам",
            Self::Overdue => "Просроченные обращения",
            Self::Timings => "Время до «в работе» и до «отработано»",
            Self::Compliance => "Соблюдение нормативов (постановление № 416)",
            Self::Calls => "Звонки по операторам",
        }
    }

    /// The name on the command line: `by_type`, `overdue`…
    pub fn name(self) -> &'static str {
        match self {
            Self::ByType => "by_type",
            Self::ByKind => "by_kind",
            Self::ByStatus => "by_status",
            Self::ByOrganization => "by_organization",
            Self::ByExecutor => "by_executor",
            Self::ByOperator => "by_operator",
            Self::Overdue => "overdue",
            Self::Timings => "timings",
            Self::Compliance => "compliance",
            Self::Calls => "calls",
        }
    }
}

impl std::str::FromStr for ReportKind {
    type Err = Error;

    /// `by_type`, `by-type` and `byType` all name the same report.
    fn from_str(s: &str) -> Result<Self> {
        let squash = |s: &str| s.replace(['_', '-'], "").to_lowercase();
        let wanted = squash(s.trim());
        Self::ALL
            .iter()
            .copied()
            .find(|k| squash(k.name()) == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                Error::invalid("kind", format!("Нет отчёта «{s}»; есть отчёты: {}", names.join(", ")))
            })
    }
}

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ReportRequest {
    /// Which report.
    pub kind: ReportKind,
    /// Appeals received (calls started) at or after this moment…
    pub from: DateTime<Utc>,
    /// …and before this one.
    pub to: DateTime<Utc>,
    /// One management company; `None` for all (a manager always gets their own).
    pub organization_id: Option<Uuid>,
}

/// A bar chart: one bar per label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ReportChart {
    /// What each bar is.
    pub labels: Vec<String>,
    /// How long each bar is.
    pub values: Vec<f64>,
}

/// A computed report: a table of text cells and a chart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Which report.
    pub kind: ReportKind,
    /// Its title.
    pub title: String,
    /// Start of the period (inclusive).
    pub from: DateTime<Utc>,
    /// End of the period (exclusive).
    pub to: DateTime<Utc>,
    /// The organization's name when the report is limited to one.
    pub organization: Option<String>,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, one per column; times are the center's wall-clock times.
    pub rows: Vec<Vec<String>>,
    /// The chart shown with the table.
    pub chart: Option<ReportChart>,
}

/// Columns of the reports that count appeals by something.
const COUNT_COLUMNS: [&str; 5] = ["Всего", "Не завершено", "Отработано", "Отменено", "Просрочено"];

/// The counts of those columns, over the appeals `a` of the period. "Просрочено": the
/// resolution deadline ran out before the work was done (or is still running out now).
const COUNTS_SQL: &str = r#"count(a.id) as total,
    count(a.id) filter (where a.status in ('новый', 'назначено', 'в работе')) as open,
    count(a.id) filter (where a.status in ('отработано', 'закрыто')) as done,
    count(a.id) filter (where a.status = 'отменено') as cancelled,
    count(a.id) filter (where a.status <> 'отменено' and a.deadline_at < coalesce(a.done_at, now())) as overdue"#;

/// The three clocks of the compliance report, in the order they are shown.
pub const CLOCKS: [&str; 3] = [
    "Ответ на звонок в течение 5 минут",
    "Локализация аварии в течение 30 минут",
    "Устранение засора в течение 2 часов",
];

/// A row of the count reports: a label, a second column (or `''`), and [`COUNTS_SQL`].
#[derive(sqlx::FromRow)]
struct CountRow {
    label: String,
    extra: String,
    total: i64,
    open: i64,
    done: i64,
    cancelled: i64,
    overdue: i64,
}

impl Store {
    /// Builds a report. Dropping the returned future cancels the statement on the server
    /// (see the module's documentation).
    #[tracing::instrument(skip_all, fields(kind = req.kind.name()))]
    pub async fn report(&self, req: &ReportRequest) -> Result<Report> {
        if req.to <= req.from {
            return Err(Error::invalid("to", "Конец периода должен быть позже его начала"));
        }
        // A manager's reports are of their organization anyway (row-level security); say so
        // on the report.
        let organization_id = req.organization_id.or_else(|| {
            self.me()
                .filter(|p| p.role == StaffRole::Manager)
                .and_then(|p| p.organization_id)
        });
        let mut run = Cancellable::acquire(&self.pool).await?;
        let organization = match organization_id {
            Some(id) => Some(
                sqlx::query_scalar!("select name from organizations where id = $1", id)
                    .fetch_optional(run.conn())
                    .await?
                    .ok_or_else(|| Error::invalid("organizationId", "Такой организации нет в справочнике"))?,
            ),
            None => None,
        };
        let scope = Scope {
            from: req.from,
            to: req.to,
            organization_id,
        };
        let (columns, rows, chart) = match req.kind {
            ReportKind::ByStatus => by_status(run.conn(), &scope).await?,
            ReportKind::Overdue => overdue(run.conn(), &scope).await?,
            ReportKind::Timings => timings(run.conn(), &scope).await?,
            ReportKind::Compliance => compliance(run.conn(), &scope).await?,
            ReportKind::Calls => calls(run.conn(), &scope).await?,
            kind => counts(run.conn(), &scope, kind).await?,
        };
        run.finish();
        Ok(Report {
            kind: req.kind,
            title: req.kind.title().to_owned(),
            from: req.from,
            to: req.to,
            organization,
            columns: columns.into_iter().map(str::to_owned).collect(),
            rows,
            chart,
        })
    }
}

/// The period and organization of a report.
struct Scope {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    organization_id: Option<Uuid>,
}

impl Scope {
    /// `with a as (the appeals of the period) `: inlined by the planner into each use, so
    /// the `received_at` index (or the organization's) does the narrowing.
    fn appeals(&self) -> QueryBuilder<'static, Postgres> {
        let mut q = QueryBuilder::new("with a as materialized (select * from dialog_report_appeals(");
        q.push_bind(self.from)
            .push(", ")
            .push_bind(self.to)
            .push(", ")
            .push_bind(self.organization_id)
            .push(")) ");
        q
    }

    /// The calls `c` of the period (the database's `dialog_report_calls`).
    fn push_calls(&self, q: &mut QueryBuilder<'static, Postgres>) {
        q.push(" dialog_report_calls(")
            .push_bind(self.from)
            .push(", ")
            .push_bind(self.to)
            .push(", ")
            .push_bind(self.organization_id)
            .push(") c");
    }

    /// The executors `ae` of the appeals of the period (`dialog_report_assignments`).
    fn push_assignments(&self, q: &mut QueryBuilder<'static, Postgres>) {
        q.push(" dialog_report_assignments(")
            .push_bind(self.from)
            .push(", ")
            .push_bind(self.to)
            .push(", ")
            .push_bind(self.organization_id)
            .push(") ae");
    }
}

type Table = (Vec<&'static str>, Vec<Vec<String>>, Option<ReportChart>);

/// Counts by type, kind, organization, executor or operator.
async fn counts(conn: &mut PgConnection, scope: &Scope, kind: ReportKind) -> Result<Table> {
    let mut q = scope.appeals();
    // (label, second column or '', counts); `second` names the second column when there is one.
    let (first, second, body) = match kind {
        ReportKind::ByType => (
            "Тип",
            None,
            format!(
                "select e.t::text as label, '' as extra, {COUNTS_SQL} from unnest(enum_range(null::appeal_type)) e(t)
                 left join a on a.appeal_type = e.t group by e.t order by e.t"
            ),
        ),
        ReportKind::ByKind => (
            "Вид обращения",
            Some("Тип"),
            format!(
                "select k.name as label, k.appeal_type::text as extra, {COUNTS_SQL} from a join appeal_kinds k on k.id = a.kind_id
                 group by k.id, k.name, k.appeal_type order by total desc, k.name"
            ),
        ),
        ReportKind::ByOrganization => (
            "Организация",
            None,
            format!(
                "select coalesce(o.name, 'Без организации (нет адреса)') as label, '' as extra, {COUNTS_SQL}
                 from a left join organizations o on o.id = a.organization_id
                 group by o.id, o.name order by total desc, 1"
            ),
        ),
        ReportKind::ByExecutor => (
            "Исполнитель",
            Some("Организация"),
            format!(
                "select e.full_name as label, o.name as extra, {COUNTS_SQL} from a
                 join ae on ae.appeal_id = a.id
                 join executors e on e.id = ae.executor_id
                 join organizations o on o.id = e.organization_id
                 group by e.id, e.full_name, o.name order by total desc, 1"
            ),
        ),
        _ => (
            "Оператор",
            Some("Логин"),
            format!(
                "select coalesce(s.full_name, a.created_by) as label, a.created_by as extra, {COUNTS_SQL}
                 from a left join staff s on s.login = a.created_by
                 group by a.created_by, s.full_name order by total desc, 1"
            ),
        ),
    };
    if kind == ReportKind::ByExecutor {
        q.push(", ae as (select * from");
        scope.push_assignments(&mut q);
        q.push(") ");
    }
    q.push(body);
    let found: Vec<CountRow> = q.build_query_as().fetch_all(conn).await?;
    let mut columns = vec![first];
    columns.extend(second);
    columns.extend(COUNT_COLUMNS);
    let mut sums = [0i64; 5];
    let mut rows = Vec::with_capacity(found.len() + 1);
    for r in &found {
        let n = [r.total, r.open, r.done, r.cancelled, r.overdue];
        sums.iter_mut().zip(n).for_each(|(s, v)| *s += v);
        let mut row = vec![r.label.clone()];
        if second.is_some() {
            row.push(r.extra.clone());
        }
        row.extend(n.iter().map(i64::to_string));
        rows.push(row);
    }
    // An appeal with two executors counts for both, so a sum of executors' rows is no total.
    if kind != ReportKind::ByExecutor && !found.is_empty() {
        let mut row = vec!["Итого".to_owned()];
        if second.is_some() {
            row.push(String::new());
        }
        row.extend(sums.iter().map(i64::to_string));
        rows.push(row);
    }
    let chart = chart(found.iter().map(|r| (r.label.clone(), r.total as f64)));
    Ok((columns, rows, chart))
}

/// A status and how many appeals have it.
#[derive(sqlx::FromRow)]
struct StatusRow {
    status: String,
    count: i64,
}

async fn by_status(conn: &mut PgConnection, scope: &Scope) -> Result<Table> {
    let mut q = scope.appeals();
    q.push(
        "select e.s::text as status, count(a.id) as count from unnest(enum_range(null::appeal_status)) e(s)
         left join a on a.status = e.s group by e.s order by e.s",
    );
    let found: Vec<StatusRow> = q.build_query_as().fetch_all(conn).await?;
    let total: i64 = found.iter().map(|r| r.count).sum();
    let mut rows: Vec<Vec<String>> = found
        .iter()
        .map(|r| vec![r.status.clone(), r.count.to_string(), percent(r.count, total)])
        .collect();
    rows.push(vec!["Итого".into(), total.to_string(), percent(total, total)]);
    let chart = chart(found.iter().map(|r| (r.status.clone(), r.count as f64)));
    Ok((vec!["Статус", "Обращений", "Доля, %"], rows, chart))
}

/// An appeal whose resolution deadline ran out before its work was done.
#[derive(sqlx::FromRow)]
struct OverdueRow {
    number: String,
    received_at: DateTime<Utc>,
    address: String,
    kind: String,
    executors: String,
    deadline_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    /// Minutes late, until now when not done.
    late: f64,
}

// Columns of the overdue list; "Опоздание" says "не отработано" when the work is not done yet,
// so that the table fits A4 without a column of its own for it.

async fn overdue(conn: &mut PgConnection, scope: &Scope) -> Result<Table> {
    let mut q = scope.appeals();
    q.push(", ae as materialized (select * from");
    scope.push_assignments(&mut q);
    q.push(
        r#") select a.number, a.received_at, coalesce(nullif(a.address, ''), a.address_note) as address,
               k.name as kind,
               coalesce((select string_agg(e.full_name, ', ' order by ae.assigned_at)
                         from ae join executors e on e.id = ae.executor_id
                         where ae.appeal_id = a.id), '') as executors,
               a.deadline_at, a.done_at,
               extract(epoch from coalesce(a.done_at, now()) - a.deadline_at)::float8 / 60 as late
           from a join appeal_kinds k on k.id = a.kind_id
           where a.status <> 'отменено' and a.deadline_at < coalesce(a.done_at, now())
           order by a.received_at, a.number"#,
    );
    let found: Vec<OverdueRow> = q.build_query_as().fetch_all(conn).await?;
    let mut by_kind: Vec<(String, f64)> = Vec::new();
    let rows = found
        .into_iter()
        .map(|r| {
            match by_kind.iter_mut().find(|(k, _)| *k == r.kind) {
                Some((_, n)) => *n += 1.0,
                None => by_kind.push((r.kind.clone(), 1.0)),
            }
            vec![
                r.number,
                local(r.received_at),
                r.address,
                r.kind,
                r.executors,
                local(r.deadline_at),
                match r.done_at {
                    Some(_) => duration(r.late),
                    None => format!("{}, не отработано", duration(r.late)),
                },
            ]
        })
        .collect();
    by_kind.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let columns = vec!["Номер", "Поступило", "Адрес", "Вид", "Исполнитель", "Срок", "Опоздание"];
    Ok((columns, rows, chart(by_kind)))
}

/// Minutes to «в работе» and to «отработано» of one appeal type (or of all, `None`): how
/// many got there, the median and the 90th percentile.
#[derive(sqlx::FromRow)]
struct TimingRow {
    appeal_type: Option<String>,
    n_work: i64,
    median_work: Option<f64>,
    p90_work: Option<f64>,
    n_done: i64,
    median_done: Option<f64>,
    p90_done: Option<f64>,
}

async fn timings(conn: &mut PgConnection, scope: &Scope) -> Result<Table> {
    let mut q = scope.appeals();
    q.push(
        r#", t as (select a.appeal_type,
                      extract(epoch from a.in_work_at - a.received_at)::float8 / 60 as to_work,
                      extract(epoch from a.done_at - a.received_at)::float8 / 60 as to_done
                   from a)
           select t.appeal_type::text as appeal_type, count(t.to_work) as n_work,
                  percentile_cont(0.5) within group (order by t.to_work) as median_work,
                  percentile_cont(0.9) within group (order by t.to_work) as p90_work,
                  count(t.to_done) as n_done,
                  percentile_cont(0.5) within group (order by t.to_done) as median_done,
                  percentile_cont(0.9) within group (order by t.to_done) as p90_done
           from t group by grouping sets ((), (t.appeal_type))
           order by t.appeal_type nulls first"#,
    );
    let found: Vec<TimingRow> = q.build_query_as().fetch_all(conn).await?;
    let maybe = |m: Option<f64>| m.map_or_else(|| "—".to_owned(), duration);
    let rows = found
        .iter()
        .map(|r| {
            vec![
                r.appeal_type.clone().unwrap_or_else(|| "Все типы".to_owned()),
                r.n_work.to_string(),
                maybe(r.median_work),
                maybe(r.p90_work),
                r.n_done.to_string(),
                maybe(r.median_done),
                maybe(r.p90_done),
            ]
        })
        .collect();
    let chart = chart(found.iter().filter_map(|r| {
        Some((
            format!("{}: медиана до «отработано», ч", r.appeal_type.as_deref()?),
            (r.median_done? / 6.0).round() / 10.0,
        ))
    }));
    let columns = vec![
        "Тип",
        "Взято в работу",
        "Медиана до «в работе»",
        "90 % до «в работе»",
        "Отработано",
        "Медиана до «отработано»",
        "90 % до «отработано»",
    ];
    Ok((columns, rows, chart))
}

/// A row of the compliance report: a clock's summary (`summary`: how many cases, how many
/// met), or one case that missed it (the rest).
#[derive(sqlx::FromRow)]
struct ClockRow {
    clock: i32,
    summary: bool,
    total: i64,
    met: i64,
    number: Option<String>,
    at: Option<DateTime<Utc>>,
    address: Option<String>,
    what: Option<String>,
    /// Minutes late.
    late: Option<f64>,
    finished: Option<bool>,
}

async fn compliance(conn: &mut PgConnection, scope: &Scope) -> Result<Table> {
    let mut q = scope.appeals();
    // Each clock: the cases it applies to (those still running and not yet late are left
    // for a later report), whether it was met, and by how many minutes it was missed.
    q.push(
        r#", answer as (
               select c.started_at as at, c.appeal_number as number, ''::text as address,
                      'звонок с ' || c.from_number as what,
                      coalesce(c.answered_at - c.started_at <= interval '5 minutes', false) as ok,
                      extract(epoch from coalesce(c.answered_at, now()) - c.started_at)::float8 / 60 - 5 as late,
                      c.answered_at is not null as finished
               from"#,
    );
    scope.push_calls(&mut q);
    q.push(
        r#" where c.direction = 'входящий'
           ), localize as (
               select a.received_at as at, a.number, a.address, k.name as what,
                      coalesce(coalesce(a.in_work_at, a.notified_at) <= a.localize_deadline_at, false) as ok,
                      extract(epoch from coalesce(a.in_work_at, a.notified_at, now()) - a.localize_deadline_at)::float8 / 60 as late,
                      coalesce(a.in_work_at, a.notified_at) is not null as finished
               from a join appeal_kinds k on k.id = a.kind_id
               where a.appeal_type = 'авария' and a.localize_deadline_at is not null and a.status <> 'отменено'
                 and (coalesce(a.in_work_at, a.notified_at) is not null or a.localize_deadline_at < now())
           ), blockage as (
               select a.received_at as at, a.number, a.address, k.name as what,
                      coalesce(a.done_at - a.received_at <= interval '2 hours', false) as ok,
                      extract(epoch from coalesce(a.done_at, now()) - a.received_at)::float8 / 60 - 120 as late,
                      a.done_at is not null as finished
               from a join appeal_kinds k on k.id = a.kind_id
               where k.name ilike '%засор%' and a.status <> 'отменено'
                 and (a.done_at is not null or a.received_at < now() - interval '2 hours')
           ), clocks as (
               select 1 as clock, * from answer
               union all select 2, * from localize
               union all select 3, * from blockage
           )
           select clock, true as summary, count(*) as total, count(*) filter (where ok) as met,
                  null::text as number, null::timestamptz as at, null::text as address, null::text as what,
                  null::float8 as late, null::bool as finished
           from clocks group by clock
           union all
           select clock, false, 0, 0, number, at, address, what, late, finished from clocks where not ok
           order by 1, 2 desc, 6, 5"#,
    );
    let found: Vec<ClockRow> = q.build_query_as().fetch_all(conn).await?;
    let mut rows = Vec::new();
    let mut bars = Vec::new();
    for (i, name) in CLOCKS.iter().enumerate() {
        let clock = i as i32 + 1;
        let (total, met) = found
            .iter()
            .find(|r| r.clock == clock && r.summary)
            .map_or((0, 0), |r| (r.total, r.met));
        let summary = if total == 0 {
            "случаев за период не было".to_owned()
        } else {
            bars.push((name.to_string(), (met as f64 * 1000.0 / total as f64).round() / 10.0));
            format!("выполнено {met} из {total} ({} %)", percent(met, total))
        };
        rows.push(vec![
            name.to_string(),
            "Итого".to_owned(),
            String::new(),
            String::new(),
            String::new(),
            summary,
        ]);
        for r in found.iter().filter(|r| r.clock == clock && !r.summary) {
            let late = r.late.unwrap_or(0.0);
            let result = match (clock, r.finished.unwrap_or(false)) {
                (1, false) => "звонок не принят".to_owned(),
                (_, false) => format!("не выполнено, просрочено на {}", duration(late)),
                (_, true) => format!("опоздание {}", duration(late)),
            };
            rows.push(vec![
                name.to_string(),
                r.number.clone().unwrap_or_else(|| "—".to_owned()),
                r.at.map(local).unwrap_or_default(),
                r.address.clone().unwrap_or_default(),
                r.what.clone().unwrap_or_default(),
                result,
            ]);
        }
    }
    let columns = vec!["Норматив", "Номер", "Поступило", "Адрес", "Вид", "Результат"];
    Ok((columns, rows, chart(bars)))
}

/// An operator's calls of the period.
#[derive(sqlx::FromRow)]
struct CallRow {
    login: String,
    full_name: Option<String>,
    incoming: i64,
    answered: i64,
    missed: i64,
    in_time: i64,
    outgoing: i64,
}

async fn calls(conn: &mut PgConnection, scope: &Scope) -> Result<Table> {
    let mut q = QueryBuilder::new(
        r#"select c.operator_login as login, s.full_name,
               count(*) filter (where c.direction = 'входящий') as incoming,
               count(*) filter (where c.direction = 'входящий' and c.answered_at is not null) as answered,
               count(*) filter (where c.direction = 'входящий' and c.answered_at is null) as missed,
               count(*) filter (where c.direction = 'входящий' and c.answered_at - c.started_at <= interval '5 minutes')
                   as in_time,
               count(*) filter (where c.direction = 'исходящий') as outgoing
           from"#,
    );
    scope.push_calls(&mut q);
    q.push(" left join staff s on s.login = c.operator_login group by c.operator_login, s.full_name order by 3 desc, 7 desc, 1");
    let found: Vec<CallRow> = q.build_query_as().fetch_all(conn).await?;
    let mut sums = [0i64; 5];
    let mut rows = Vec::with_capacity(found.len() + 1);
    for r in &found {
        let n = [r.incoming, r.answered, r.missed, r.in_time, r.outgoing];
        sums.iter_mut().zip(n).for_each(|(s, v)| *s += v);
        let mut row = vec![r.full_name.clone().unwrap_or_else(|| r.login.clone()), r.login.clone()];
        row.extend(n.iter().map(i64::to_string));
        rows.push(row);
    }
    if !found.is_empty() {
        let mut row = vec!["Итого".to_owned(), String::new()];
        row.extend(sums.iter().map(i64::to_string));
        rows.push(row);
    }
    // Bars of answered calls: who carries the line.
    let chart = chart(found.iter().map(|r| {
        (
            r.full_name.clone().unwrap_or_else(|| r.login.clone()),
            r.answered as f64,
        )
    }));
    let columns = vec![
        "Оператор",
        "Логин",
        "Входящих",
        "Принято",
        "Пропущено",
        "Принято за 5 минут",
        "Исходящих",
    ];
    Ok((columns, rows, chart))
}

fn chart(bars: impl IntoIterator<Item = (String, f64)>) -> Option<ReportChart> {
    let (labels, values): (Vec<String>, Vec<f64>) = bars.into_iter().unzip();
    (!labels.is_empty()).then_some(ReportChart { labels, values })
}

/// `95,0`: a share in per cent with one decimal, Russian style.
pub fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "—".to_owned();
    }
    format!("{:.1}", part as f64 * 100.0 / whole as f64).replace('.', ",")
}

/// Minutes as people say them: `45 мин`, `2 ч 05 мин`, `3 д 4 ч 10 мин`.
pub fn duration(minutes: f64) -> String {
    let m = if minutes.is_finite() {
        minutes.max(0.0).round() as i64
    } else {
        0
    };
    let (d, h, mi) = (m / 1440, m % 1440 / 60, m % 60);
    if d > 0 {
        format!("{d} д {h} ч {mi:02} мин")
    } else if h > 0 {
        format!("{h} ч {mi:02} мин")
    } else {
        format!("{mi} мин")
    }
}

/// A moment as the center's wall clock shows it: `26.11.2026 14:05`.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%d.%m.%Y %H:%M").to_string()
}

/// A connection running one report, which cancels its statement on the server when dropped
/// before [`Cancellable::finish`]. Dropping an sqlx future alone only stops reading: the
/// server would go on computing, and the connection would wait for it before serving anyone.
struct Cancellable {
    conn: PoolConnection<Postgres>,
    pid: i32,
    pool: PgPool,
    finished: bool,
}

impl Cancellable {
    async fn acquire(pool: &PgPool) -> Result<Cancellable> {
        let mut conn = pool.acquire().await?;
        let pid = sqlx::query_scalar!(r#"select pg_backend_pid() as "pid!""#)
            .fetch_one(&mut *conn)
            .await?;
        Ok(Cancellable {
            conn,
            pid,
            pool: pool.clone(),
            finished: false,
        })
    }

    fn conn(&mut self) -> &mut PgConnection {
        &mut self.conn
    }

    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Cancellable {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Closed, not returned: the cancel below must never hit a statement of someone else
        // who got this connection from the pool.
        self.conn.close_on_drop();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (pool, pid) = (self.pool.clone(), self.pid);
        runtime.spawn(async move {
            let r = sqlx::query!("select pg_cancel_backend($1)", pid).fetch_one(&pool).await;
            if let Err(e) = r {
                tracing::warn!(pid, error = %e, "could not cancel an abandoned report");
            }
        });
    }
}

/// Runs `sql` the way [`Store::report`] runs a report: cancelled on the server when the
/// future is dropped. For tests of cancellation, which need a statement that takes long.
#[doc(hidden)]
pub async fn run_cancellable(pool: &PgPool, sql: &str) -> Result<()> {
    let mut run = Cancellable::acquire(pool).await?;
    sqlx::query(sql).execute(run.conn()).await?;
    run.finish();
    Ok(())
}

/// A report kind with its title, for pickers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[serde(rename_all = "camelCase")]
pub struct ReportKindTitle {
    /// The kind.
    pub kind: ReportKind,
    /// Its title.
    pub title: String,
}

impl ReportKind {
    /// Every kind with its title.
    pub fn titles() -> Vec<ReportKindTitle> {
        Self::ALL
            .iter()
            .map(|k| ReportKindTitle {
                kind: *k,
                title: k.title().to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_speech() {
        assert_eq!(duration(4.6), "5 мин");
        assert_eq!(duration(125.0), "2 ч 05 мин");
        assert_eq!(duration(3.0 * 1440.0 + 250.0), "3 д 4 ч 10 мин");
        assert_eq!(duration(-3.0), "0 мин");
    }

    #[test]
    fn kinds_parse_in_any_spelling() {
        for k in ReportKind::ALL {
            assert_eq!(k.name().parse::<ReportKind>().ok(), Some(*k));
        }
        assert_eq!("by-kind".parse::<ReportKind>().ok(), Some(ReportKind::ByKind));
        assert_eq!(
            "byOrganization".parse::<ReportKind>().ok(),
            Some(ReportKind::ByOrganization)
        );
        let e = "по видам"
            .parse::<ReportKind>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("by_kind"), "{e}");
    }

    #[test]
    fn shares_have_a_comma() {
        assert_eq!(percent(1, 3), "33,3");
        assert_eq!(percent(0, 0), "—");
    }
}
