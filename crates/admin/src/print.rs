//! `print-card` and `report`: the printouts of the app, from the command line, for scheduled
//! exports (cron, systemd timers).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};
use clap::{Args, ValueEnum};
use dialog_core::reports::{ReportKind, ReportRequest};
use dialog_core::Store;
use dialog_print::{appeal_card, report_csv, report_pdf, CardData, Fonts, ReportData};

/// `print-card NUMBER --out card.pdf`.
#[derive(Debug, Args)]
pub struct CardArgs {
    /// The appeal's number, e.g. 2026-000123.
    pub number: String,
    /// Where to write the PDF.
    #[arg(long)]
    pub out: PathBuf,
}

/// `report KIND --from DATE --to DATE --format pdf|csv --out FILE`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report: by_type, by_kind, by_status, by_organization, by_executor, by_operator,
    /// overdue, timings, compliance, calls.
    pub kind: ReportKind,
    /// The first day of the period (YYYY-MM-DD, the center's calendar).
    #[arg(long)]
    pub from: NaiveDate,
    /// The last day of the period, included (YYYY-MM-DD).
    #[arg(long)]
    pub to: NaiveDate,
    /// Only this management company (its name as in the directory).
    #[arg(long)]
    pub organization: Option<String>,
    /// PDF (table and chart) or CSV (the table; UTF-8 with BOM, `;`-separated).
    #[arg(long, value_enum)]
    pub format: Format,
    /// Where to write the file.
    #[arg(long)]
    pub out: PathBuf,
}

/// The file format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A4 PDF with the chart and the table.
    Pdf,
    /// The table for spreadsheets.
    Csv,
}

/// The card of the appeal with this number, as PDF bytes.
pub async fn card_pdf(store: &Store, number: &str, fonts: &Fonts) -> anyhow::Result<Vec<u8>> {
    let appeal = store.appeal_by_number(number).await?;
    let history = store.history(appeal.id).await?;
    let mut card = CardData::from_appeal(&appeal, &history, &Local);
    if let Some(id) = appeal.organization_id {
        card.organization = store
            .organizations()
            .await?
            .into_iter()
            .find(|o| o.id == id)
            .map(|o| o.name);
    }
    Ok(appeal_card(&card, fonts)?)
}

/// Midnight at the start of the day in the center's calendar.
fn day_start(day: NaiveDate) -> anyhow::Result<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0).context("неверная дата")?;
    // `earliest`: on a day that starts with a clock change, the first moment that exists.
    let t = Local
        .from_local_datetime(&midnight)
        .earliest()
        .with_context(|| format!("нет полуночи {day} в местном времени"))?;
    Ok(t.with_timezone(&Utc))
}

/// The request a command line asks for: from the start of `--from` to the end of `--to`.
pub async fn report_request(store: &Store, args: &ReportArgs) -> anyhow::Result<ReportRequest> {
    if args.to < args.from {
        bail!("дата --to ({}) раньше даты --from ({})", args.to, args.from);
    }
    let next = args.to.succ_opt().context("дата --to слишком далеко")?;
    let organization_id = match &args.organization {
        Some(name) => Some(
            store
                .organizations()
                .await?
                .into_iter()
                .find(|o| o.name.trim() == name.trim())
                .with_context(|| format!("организация «{name}» не найдена"))?
                .id,
        ),
        None => None,
    };
    Ok(ReportRequest {
        kind: args.kind,
        from: day_start(args.from)?,
        to: day_start(next)?,
        organization_id,
    })
}

/// The report a command line asks for, as the bytes of the file.
pub async fn report_bytes(store: &Store, args: &ReportArgs, fonts: &Fonts) -> anyhow::Result<Vec<u8>> {
    let req = report_request(store, args).await?;
    let report = store.report(&req).await?;
    let data = ReportData::from_report(&report, &Local);
    Ok(match args.format {
        Format::Pdf => report_pdf(&data, fonts),
        Format::Csv => report_csv(&data),
    })
}

fn write(out: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(out, bytes).with_context(|| format!("не удалось записать файл {}", out.display()))
}

/// `dialog-admin print-card`.
pub async fn print_card(store: &Store, args: &CardArgs) -> anyhow::Result<()> {
    let fonts = Fonts::load()?;
    let pdf = card_pdf(store, &args.number, &fonts).await?;
    write(&args.out, &pdf)?;
    println!(
        "Карточка обращения {} сохранена в {}.",
        args.number.trim(),
        args.out.display()
    );
    Ok(())
}

/// `dialog-admin report`: says when it starts, since a large period takes a while.
pub async fn report(store: &Store, args: &ReportArgs) -> anyhow::Result<()> {
    let fonts = Fonts::load()?;
    let started = Instant::now();
    eprintln!(
        "Строится отчёт «{}» за {} — {}…",
        args.kind.title(),
        args.from.format("%d.%m.%Y"),
        args.to.format("%d.%m.%Y")
    );
    let bytes = report_bytes(store, args, &fonts).await?;
    write(&args.out, &bytes)?;
    println!(
        "Отчёт «{}» сохранён в {} ({:.1} с).",
        args.kind.title(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
