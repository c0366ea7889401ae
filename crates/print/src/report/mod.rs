//! Reports over a period: a table and an optional bar chart, as PDF or CSV.

mod csv;
mod pdf;

use chrono::{NaiveDate, TimeZone};
use dialog_core::reports::Report;

pub use self::csv::report_csv;
pub use self::pdf::report_pdf;

/// A computed report, ready to print or export.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportData {
    /// What the report is, e.g. `Обращения по видам`.
    pub title: String,
    /// The first day of the period.
    pub period_from: NaiveDate,
    /// The last day of the period (inclusive).
    pub period_to: NaiveDate,
    /// The organization the report is limited to; `None` for all of them.
    pub organization: Option<String>,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, one per column; cells beyond the columns are ignored, missing ones are empty.
    pub rows: Vec<Vec<String>>,
    /// A chart drawn above the table.
    pub chart: Option<Chart>,
}

/// A bar chart: one bar per label.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// What each bar is.
    pub labels: Vec<String>,
    /// How long each bar is; negative values draw as zero.
    pub values: Vec<f64>,
}

impl ReportData {
    /// A report as `dialog-core` computed it, with its period as days of the center's
    /// calendar (`&chrono::Local` on an operator's PC): the day of `from` to the day of the
    /// last moment before `to`.
    pub fn from_report<Tz: TimeZone>(report: &Report, zone: &Tz) -> ReportData {
        let last = report.to - chrono::Duration::nanoseconds(1);
        ReportData {
            title: report.title.clone(),
            period_from: report.from.with_timezone(zone).date_naive(),
            period_to: last.max(report.from).with_timezone(zone).date_naive(),
            organization: report.organization.clone(),
            columns: report.columns.clone(),
            rows: report.rows.clone(),
            chart: report.chart.as_ref().map(|c| Chart {
                labels: c.labels.clone(),
                values: c.values.clone(),
            }),
        }
    }

    /// `01.11.2026 — 30.11.2026`.
    pub fn period(&self) -> String {
        format!(
            "{} — {}",
            self.period_from.format("%d.%m.%Y"),
            self.period_to.format("%d.%m.%Y")
        )
    }

    /// Each row with exactly one cell per column.
    fn cells(&self) -> impl Iterator<Item = Vec<&str>> + '_ {
        let n = self.columns.len();
        self.rows
            .iter()
            .map(move |row| (0..n).map(|i| row.get(i).map_or("", String::as_str)).collect())
    }
}
