//! Dialog's printouts: the appeal card for the executor and reports over a period, as PDF
//! (and reports as CSV).
//!
//! Data in, bytes out: the caller reads the appeal or computes the report (in `dialog-core`)
//! and hands plain values to this crate; nothing here touches the database. Text is real,
//! selectable and searchable text in DejaVu Sans, embedded as a subset of the glyphs used.
//!
//! ```no_run
//! # fn demo(card: dialog_print::CardData) -> Result<(), dialog_print::PrintError> {
//! let fonts = dialog_print::Fonts::load()?; // once, at start-up
//! let pdf = dialog_print::appeal_card(&card, &fonts)?;
//! std::fs::write("card.pdf", pdf).ok();
//! # Ok(()) }
//! ```

mod card;
mod fonts;
mod layout;
mod report;

pub use card::{
    appeal_card, appeal_cards, compose_address, format_phone, CardData, CardExecutor, CardHistoryLine, HISTORY_LINES,
};
pub use fonts::Fonts;
pub use report::{report_csv, report_pdf, Chart, ReportData};

/// What can go wrong while printing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrintError {
    /// An embedded font could not be parsed: the build is broken, not the data.
    #[error("Не удалось прочитать встроенный шрифт {0}: переустановите программу")]
    Font(&'static str),
    /// The QR code could not be made of the appeal number.
    #[error("Не удалось построить QR-код номера обращения «{number}»: {reason}")]
    Qr {
        /// The appeal number.
        number: String,
        /// What the encoder said.
        reason: String,
    },
    /// Nothing to print.
    #[error("Не выбрано ни одного обращения для печати")]
    NoCards,
}
