//! Reports as PDF and CSV, read back.

mod common;

use chrono::NaiveDate;
use common::*;
use dialog_print::{report_csv, report_pdf, Chart, ReportData};

const KINDS: [&str; 6] = [
    "Нет горячей воды",
    "Прорыв трубы холодного водоснабжения",
    "Течь в системе отопления (стояк, радиатор)",
    "Засор канализации",
    "Не работает лифт",
    "Уборка подъезда; вывоз мусора",
];

fn report(rows: usize) -> ReportData {
    ReportData {
        title: "Обращения по видам".into(),
        period_from: NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date"),
        period_to: NaiveDate::from_ymd_opt(2026, 11, 30).expect("a date"),
        organization: Some("ООО «УК Северная»".into()),
        columns: vec![
            "№".into(),
            "Вид обращения".into(),
            "Тип".into(),
            "Всего".into(),
            "Просрочено".into(),
            "Среднее время до «в работе», ч".into(),
        ],
        rows: (0..rows)
            .map(|i| {
                vec![
                    (i + 1).to_string(),
                    format!("{} ({})", KINDS[i % KINDS.len()], i + 1),
                    if i % 3 == 0 { "авария" } else { "заявка" }.into(),
                    (100 + i * 7).to_string(),
                    (i % 5).to_string(),
                    format!("{},{}", 1 + i % 4, i % 10),
                ]
            })
            .collect(),
        chart: Some(Chart {
            labels: KINDS.iter().map(|k| k.to_string()).collect(),
            values: vec![412.0, 96.0, 230.0, 57.0, 18.0, 140.0],
        }),
    }
}

#[test]
fn the_report_pdf_has_title_period_organization_chart_and_table() {
    let pdf = save(&report_pdf(&report(8), &fonts()), "report");
    assert_eq!(pages(&pdf), 1);
    let text = text(&pdf, None);
    let at = positions(
        &text,
        &[
            "Обращения по видам",
            "Период: 01.11.2026 — 30.11.2026",
            "Организация: ООО «УК Северная»",
            "412",
            "Вид обращения",
            "Нет горячей воды (1)",
            "Засор канализации (4)",
            "стр. 1 из 1",
        ],
    );
    let mut sorted = at.clone();
    sorted.sort_unstable();
    assert_eq!(at, sorted, "out of order:\n{text}");
}

#[test]
fn a_long_table_runs_over_pages_with_the_header_row_repeated() {
    let pdf = save(&report_pdf(&report(150), &fonts()), "report-long");
    let n = pages(&pdf);
    assert!(n >= 3, "150 rows on {n} pages");
    let mut rows_seen = 0;
    for p in 1..=n as u32 {
        let page = text(&pdf, Some(p));
        assert!(page.contains("Вид обращения"), "page {p} has no header row:\n{page}");
        assert!(page.contains(&format!("стр. {p} из {n}")), "page {p}:\n{page}");
        rows_seen += (1..=150).filter(|i| page.contains(&format!(" ({i})"))).count();
    }
    assert_eq!(rows_seen, 150, "every row once");
}

#[test]
fn an_empty_report_says_so() {
    let mut r = report(0);
    r.chart = None;
    r.organization = None;
    let text = text(&save(&report_pdf(&r, &fonts()), "report-empty"), None);
    positions(
        &text,
        &["Организация: все организации", "Вид обращения", "Нет данных за период"],
    );
}

#[test]
fn the_csv_opens_in_russian_excel_and_round_trips() {
    let mut r = report(20);
    r.rows[1][1] = "Кв. 5; «срочно», \"сосед\"\nвторая строка".into();
    let bytes = report_csv(&r);
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "UTF-8 BOM first");
    let mut reader = csv::ReaderBuilder::new().delimiter(b';').from_reader(&bytes[3..]);
    let header: Vec<String> = reader.headers().expect("a header").iter().map(String::from).collect();
    assert_eq!(header, r.columns);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|rec| rec.expect("a record").iter().map(String::from).collect())
        .collect();
    assert_eq!(rows, r.rows);
}

#[test]
fn report_sample_for_review() {
    let pdf = save(&report_pdf(&report(60), &fonts()), "report-sample");
    std::fs::copy(&pdf, samples_dir().join("report.pdf")).expect("copy");
    let png = render_sample(&pdf, 1, "report");
    let size = std::fs::metadata(&png).expect("the PNG exists").len();
    assert!(size > 5_000, "{} is {size} bytes", png.display());
}
