//! The files a person takes away: appeal cards as one PDF, a built report as PDF or CSV. The
//! desktop app saves them in the person's documents; the web hands them to the browser.

use std::sync::OnceLock;

use dialog_core::reports::Report;
use dialog_core::{ErrorBody, Store};
use dialog_print::{appeal_cards, report_csv, report_pdf, CardData, Fonts, ReportData};
use uuid::Uuid;

use crate::{internal, Failure};

/// A file made for the person.
#[derive(Debug, Clone)]
pub struct MadeFile {
    /// The name to save it under (`Обращение 2026-000123.pdf`).
    pub name: String,
    /// `application/pdf` or `text/csv; charset=utf-8`.
    pub mime: &'static str,
    /// The content.
    pub bytes: Vec<u8>,
}

/// A file name as it may be written in a folder or offered by a browser: its last part,
/// without characters that would leave the folder, hide the extension or upset a file
/// manager; `файл` when nothing is left.
pub fn file_name_to_save(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    match dialog_core::files::safe_file_name(last).as_str() {
        "" => "файл".to_owned(),
        s => s.to_owned(),
    }
}

/// The fonts, parsed once.
pub fn fonts() -> Result<&'static Fonts, ErrorBody> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| Fonts::load().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| internal(e.clone()))
}

/// The cards of the given appeals as one PDF, times in this computer's time zone (the
/// center's).
pub async fn cards_pdf(store: &Store, ids: &[Uuid]) -> Result<MadeFile, ErrorBody> {
    let zone = &chrono::Local;
    if ids.is_empty() {
        return Err(ErrorBody {
            kind: "invalid".into(),
            message: "Не выбрано ни одного обращения для печати — отметьте обращения и повторите".into(),
            field: None,
            appeal: None,
        });
    }
    let orgs = store.organizations().await.map_err(Failure::body)?;
    let mut cards = Vec::with_capacity(ids.len());
    for id in ids {
        let appeal = store.appeal(*id).await.map_err(Failure::body)?;
        let history = store.history(*id).await.map_err(Failure::body)?;
        let mut card = CardData::from_appeal(&appeal, &history, zone);
        card.organization = appeal
            .organization_id
            .and_then(|o| orgs.iter().find(|x| x.id == o))
            .map(|o| o.name.clone());
        cards.push(card);
    }
    let name = match cards.as_slice() {
        [one] => format!("Обращение {}.pdf", one.number),
        many => format!(
            "Обращения {} шт. {}.pdf",
            many.len(),
            chrono::Utc::now().with_timezone(zone).format("%Y-%m-%d %H-%M-%S")
        ),
    };
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ErrorBody> {
        appeal_cards(&cards, fonts()?).map_err(|e| internal(e.to_string()))
    })
    .await
    .map_err(|e| internal(e.to_string()))??;
    Ok(MadeFile {
        name,
        mime: "application/pdf",
        bytes,
    })
}

/// A built report as `pdf` (with its chart) or `csv` (UTF-8 with BOM, `;`, for Excel), days
/// of this computer's (the center's) calendar.
pub async fn report_file(report: &Report, format: &str) -> Result<MadeFile, ErrorBody> {
    let zone = &chrono::Local;
    let data = ReportData::from_report(report, zone);
    let (bytes, ext, mime) = match format {
        "pdf" => {
            let fonts = fonts()?;
            let bytes = tokio::task::spawn_blocking(move || report_pdf(&data, fonts))
                .await
                .map_err(|e| internal(e.to_string()))?;
            (bytes, "pdf", "application/pdf")
        }
        "csv" => (report_csv(&data), "csv", "text/csv; charset=utf-8"),
        other => {
            return Err(ErrorBody {
                kind: "invalid".into(),
                message: format!("Отчёт сохраняется в PDF или CSV, а не в «{other}» — выберите один из них"),
                field: Some("format".into()),
                appeal: None,
            })
        }
    };
    let name = format!(
        "{} {}–{}.{ext}",
        report.title.replace(['/', '«', '»'], ""),
        report.from.with_timezone(zone).format("%Y-%m-%d"),
        (report.to - chrono::Duration::seconds(1))
            .with_timezone(zone)
            .format("%Y-%m-%d"),
    );
    Ok(MadeFile { name, mime, bytes })
}

#[cfg(test)]
mod tests {
    use super::file_name_to_save;

    #[test]
    fn attached_file_names_stay_in_their_folder() {
        assert_eq!(file_name_to_save("акт осмотра.pdf"), "акт осмотра.pdf");
        assert_eq!(file_name_to_save("../../.bashrc"), ".bashrc");
        assert_eq!(file_name_to_save("C:\\фото\\труба.jpg"), "труба.jpg");
        assert_eq!(file_name_to_save("a\nb.txt"), "a_b.txt");
        assert_eq!(file_name_to_save("счёт\u{202e}fdp.exe"), "счёт_fdp.exe");
        assert_eq!(file_name_to_save(".."), "файл");
        assert_eq!(file_name_to_save(""), "файл");
    }
}
