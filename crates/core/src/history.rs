//! An appeal's history in words: one wording for the card's «история» tab, the registry's
//! history tooltip and the printed card. A change names each field in Russian with its old and
//! its new value («Заявитель: «Иванова» → «Петрова»»).

use chrono::{DateTime, Local, Utc};
use serde_json::Value;

use crate::appeals::HistoryEntry;

/// The fields of an appeal that history records, as people call them.
const FIELDS: &[(&str, &str)] = &[
    ("received_at", "Поступило"),
    ("channel", "Канал"),
    ("identifier", "Телефон или e-mail"),
    ("applicant_name", "Заявитель"),
    ("contacts", "Контакты"),
    ("address", "Адрес"),
    ("address_note", "Уточнение адреса"),
    ("kind", "Вид"),
    ("appeal_type", "Тип"),
    ("priority", "Приоритет"),
    ("status", "Статус"),
    ("comment", "Описание"),
    ("joined", "Объединено с"),
    ("deadline_at", "Срок устранения"),
];

/// Longest value shown; longer ones end with «…».
const MAX_VALUE: usize = 80;

fn text(v: Option<&Value>) -> String {
    let s = match v {
        None | Some(Value::Null) => return "—".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    // Times as the operator reads them.
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return t.with_timezone(&Local).format("%d.%m.%Y %H:%M").to_string();
    }
    if s.trim().is_empty() {
        return "—".to_owned();
    }
    if s.chars().count() > MAX_VALUE {
        let short: String = s.chars().take(MAX_VALUE).collect();
        return format!("«{}…»", short.trim_end());
    }
    format!("«{s}»")
}

fn get<'a>(v: &'a Option<Value>, key: &str) -> Option<&'a Value> {
    v.as_ref().and_then(|v| v.get(key))
}

fn plain(v: &Option<Value>, key: &str) -> String {
    get(v, key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// What the entry says, in one line.
pub fn describe(h: &HistoryEntry) -> String {
    match h.action.as_str() {
        "created" => match plain(&h.after, "status").as_str() {
            "" | "новый" => "зарегистрировано".to_owned(),
            s => format!("зарегистрировано, статус «{s}»"),
        },
        "status" => format!(
            "статус «{}» → «{}»",
            plain(&h.before, "status"),
            plain(&h.after, "status")
        ),
        "changed" | "joined" | "unjoined" => {
            let changes: Vec<String> = FIELDS
                .iter()
                .filter(|(key, _)| get(&h.before, key).is_some() || get(&h.after, key).is_some())
                .map(|(key, label)| format!("{label}: {} → {}", text(get(&h.before, key)), text(get(&h.after, key))))
                .collect();
            match h.action.as_str() {
                "joined" => format!("присоединено к обращению {}", plain(&h.after, "joined")),
                "unjoined" => format!("отсоединено от обращения {}", plain(&h.before, "joined")),
                _ if changes.is_empty() => "изменено".to_owned(),
                _ => format!("изменено: {}", changes.join("; ")),
            }
        }
        "assigned" => format!("назначен исполнитель {}", plain(&h.after, "executor")),
        "unassigned" => format!("снят исполнитель {}", plain(&h.before, "executor")),
        "comment" => format!("комментарий: {}", h.comment.as_deref().unwrap_or_default().trim()),
        "attachment" => format!("прикреплён файл «{}»", plain(&h.after, "file_name")),
        "call" => {
            let to = plain(&h.after, "direction") == "исходящий";
            format!(
                "{} звонок {} {}",
                if to { "исходящий" } else { "входящий" },
                if to { "на" } else { "с" },
                plain(&h.after, "number")
            )
        }
        other => other.to_owned(),
    }
}

/// When an entry was made, as the operator reads it.
pub fn when(at: DateTime<Utc>) -> String {
    at.with_timezone(&Local).format("%d.%m.%Y %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(action: &str, before: Value, after: Value) -> HistoryEntry {
        HistoryEntry {
            at: Utc::now(),
            actor: "operator1".into(),
            actor_name: None,
            action: action.into(),
            before: Some(before),
            after: Some(after),
            comment: None,
            text: String::new(),
        }
    }

    #[test]
    fn a_change_names_each_field_with_its_old_and_new_value() {
        let h = entry(
            "changed",
            json!({"applicant_name": "Иванова", "kind_id": "x", "kind": "Течь крыши", "comment": ""}),
            json!({"applicant_name": "Петрова", "kind_id": "y", "kind": "Нет горячей воды", "comment": "Соседи сверху"}),
        );
        assert_eq!(
            describe(&h),
            "изменено: Заявитель: «Иванова» → «Петрова»; Вид: «Течь крыши» → «Нет горячей воды»; Описание: — → «Соседи сверху»"
        );
        let long = "о".repeat(200);
        let h = entry("changed", json!({"comment": "a"}), json!({"comment": long}));
        assert!(describe(&h).ends_with("…»"), "{}", describe(&h));
    }

    #[test]
    fn every_kind_of_entry_reads_as_words() {
        assert_eq!(
            describe(&entry(
                "status",
                json!({"status": "новый"}),
                json!({"status": "назначено"})
            )),
            "статус «новый» → «назначено»"
        );
        assert_eq!(
            describe(&entry(
                "joined",
                json!({}),
                json!({"joined_to": "u", "joined": "2026-000001"})
            )),
            "присоединено к обращению 2026-000001"
        );
        assert_eq!(
            describe(&entry(
                "call",
                json!({}),
                json!({"direction": "исходящий", "number": "+79170000001"})
            )),
            "исходящий звонок на +79170000001"
        );
        assert_eq!(
            describe(&entry("created", json!({}), json!({"status": "отработано"}))),
            "зарегистрировано, статус «отработано»"
        );
    }
}
