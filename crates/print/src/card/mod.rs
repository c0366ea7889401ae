//! The appeal card: what an executor takes to the job.

mod render;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use dialog_core::appeals::{Appeal, HistoryEntry};
use dialog_core::model::AppealType;

pub use render::{appeal_card, appeal_cards};

/// How many history lines a card shows: the latest ones; the card is for the job, the full
/// history is in the app.
pub const HISTORY_LINES: usize = 12;

/// Everything printed on an appeal card, as plain values.
///
/// Times are wall-clock times of the dispatch center (see [`CardData::from_appeal`]).
#[derive(Debug, Clone, PartialEq)]
pub struct CardData {
    /// The appeal's number, e.g. `2026-000123`.
    pub number: String,
    /// When the appeal was received.
    pub received_at: NaiveDateTime,
    /// How it reached the center (`телефон`, `e-mail`, …).
    pub channel: String,
    /// The applicant's phone or e-mail.
    pub identifier: String,
    /// The applicant's name.
    pub applicant_name: String,
    /// Other contacts the applicant left.
    pub contacts: String,
    /// The full address: building, apartment, entrance, floor.
    pub address: String,
    /// Free text about the place (or the whole address when the building is not in the directory).
    pub address_note: String,
    /// The management company serving the building, when known.
    pub organization: Option<String>,
    /// The kind (вид), e.g. `Нет горячей воды`.
    pub kind: String,
    /// The type (тип): `авария`, `жалоба`, `справка`, `заявка`.
    pub appeal_type: String,
    /// The priority: `низкий`, `средний`, `критический`.
    pub priority: String,
    /// The status when printed.
    pub status: String,
    /// For accidents: when the failure must be localised.
    pub localize_deadline: Option<NaiveDateTime>,
    /// When the work must be done.
    pub deadline: Option<NaiveDateTime>,
    /// The operator's comment: what the applicant said.
    pub comment: String,
    /// Who is assigned.
    pub executors: Vec<CardExecutor>,
    /// The latest history lines, oldest first (at most [`HISTORY_LINES`]).
    pub history: Vec<CardHistoryLine>,
    /// How many older history lines were left out.
    pub history_omitted: usize,
    /// When the card was printed.
    pub printed_at: NaiveDateTime,
}

/// An executor on the card.
#[derive(Debug, Clone, PartialEq)]
pub struct CardExecutor {
    /// Full name.
    pub name: String,
    /// Phones, formatted for reading.
    pub phones: Vec<String>,
}

/// One line of the short history.
#[derive(Debug, Clone, PartialEq)]
pub struct CardHistoryLine {
    /// When.
    pub at: NaiveDateTime,
    /// Who (name, or login when the name is unknown).
    pub who: String,
    /// What happened, in words.
    pub what: String,
}

impl CardData {
    /// The card of an appeal with its history (as `dialog-core` reads them), with times in
    /// the center's time zone: `&chrono::Local` on an operator's PC, a fixed offset in tests.
    ///
    /// The kind's name comes from `appeal.kind_name` (the store joins it in). The history
    /// keeps what an executor cares about (registration, statuses, assignments, comments),
    /// the latest [`HISTORY_LINES`] of it. `organization` is left `None`: the appeal holds
    /// only its id, so a caller that has the name sets it.
    pub fn from_appeal<Tz: TimeZone>(appeal: &Appeal, history: &[HistoryEntry], zone: &Tz) -> CardData {
        let local = |t: &DateTime<Utc>| t.with_timezone(zone).naive_local();
        // With a building, the store has already composed the full address; without one the
        // parts are all there is to print.
        let address = if appeal.building_id.is_some() {
            appeal.address.clone()
        } else {
            compose_address(&appeal.address, &appeal.apartment, &appeal.entrance, &appeal.floor)
        };
        let mut lines: Vec<CardHistoryLine> = history
            .iter()
            .filter_map(|h| {
                Some(CardHistoryLine {
                    at: local(&h.at),
                    who: h.actor_name.clone().unwrap_or_else(|| h.actor.clone()),
                    what: history_words(h)?,
                })
            })
            .collect();
        lines.sort_by_key(|l| l.at);
        let history_omitted = lines.len().saturating_sub(HISTORY_LINES);
        lines.drain(..history_omitted);
        CardData {
            number: appeal.number.clone(),
            received_at: local(&appeal.received_at),
            channel: appeal.channel.label().to_owned(),
            identifier: format_phone(&appeal.identifier),
            applicant_name: appeal.applicant_name.clone(),
            contacts: appeal.contacts.clone(),
            address,
            address_note: appeal.address_note.clone(),
            organization: None,
            kind: appeal.kind_name.clone(),
            appeal_type: appeal.appeal_type.label().to_owned(),
            priority: appeal.priority.label().to_owned(),
            status: appeal.status.label().to_owned(),
            localize_deadline: appeal
                .localize_deadline_at
                .filter(|_| appeal.appeal_type == AppealType::Accident)
                .map(|t| local(&t)),
            deadline: appeal.deadline_at.map(|t| local(&t)),
            comment: appeal.comment.clone(),
            executors: appeal
                .executors
                .iter()
                .map(|e| CardExecutor {
                    name: e.full_name.clone(),
                    phones: e.phones.iter().map(|p| format_phone(p)).collect(),
                })
                .collect(),
            history: lines,
            history_omitted,
            printed_at: local(&Utc::now()),
        }
    }
}

/// `ул. Ленина, д. 5, кв. 15, подъезд 2, этаж 3`, in the order the store writes it.
pub fn compose_address(building: &str, apartment: &str, entrance: &str, floor: &str) -> String {
    let parts = [
        (building.trim(), ""),
        (apartment.trim(), "кв. "),
        (entrance.trim(), "подъезд "),
        (floor.trim(), "этаж "),
    ];
    parts
        .iter()
        .filter(|(v, _)| !v.is_empty())
        .map(|(v, prefix)| format!("{prefix}{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Russian E.164 number as people write it (`+7 912 345-67-89`); anything else unchanged.
pub fn format_phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().collect();
    match digits.as_slice() {
        ['+', '7', rest @ ..] if rest.len() == 10 && rest.iter().all(char::is_ascii_digit) => {
            let d: String = rest.iter().collect();
            format!("+7 {} {}-{}-{}", &d[0..3], &d[3..6], &d[6..8], &d[8..10])
        }
        _ => s.to_owned(),
    }
}

/// A history entry in words (the app's own wording), or `None` for entries the printed card
/// leaves out: what the executor needs is who registered, assigned, called and moved it.
fn history_words(h: &HistoryEntry) -> Option<String> {
    const PRINTED: &[&str] = &[
        "created",
        "status",
        "assigned",
        "unassigned",
        "joined",
        "unjoined",
        "call",
        "comment",
    ];
    PRINTED
        .contains(&h.action.as_str())
        .then(|| dialog_core::history::describe(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_read_like_phones() {
        assert_eq!(format_phone("+79123456789"), "+7 912 345-67-89");
        assert_eq!(format_phone("ivanov@mail.ru"), "ivanov@mail.ru");
        assert_eq!(format_phone("+7912"), "+7912");
    }

    #[test]
    fn address_parts_join_in_the_stores_order() {
        assert_eq!(
            compose_address("ул. Ленина, д. 5", "15", "2", ""),
            "ул. Ленина, д. 5, кв. 15, подъезд 2"
        );
        assert_eq!(compose_address("", "", "", "3"), "этаж 3");
    }
}
