//! Time and size per appeal card: `cargo bench -p dialog-print`.
//!
//! Renders 1,000 cards one PDF each (fonts parsed once, as the app does) and prints p50/p95
//! time and the file size; then one PDF of 100 cards for the size of a batch print.

use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime};
use dialog_print::{appeal_card, appeal_cards, CardData, CardExecutor, CardHistoryLine, Fonts, PrintError};

fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, d)
        .and_then(|d| d.and_hms_opt(h, m, 0))
        .unwrap_or_default()
}

fn card(i: usize) -> CardData {
    let comment = "Со вчерашнего вечера нет горячей воды во всём стояке, соседи подтверждают; течёт кран в подвале. "
        .repeat(1 + i % 6);
    CardData {
        number: format!("2026-{:06}", i + 1),
        received_at: at(26, 14, 5),
        channel: "телефон".into(),
        identifier: "+7 912 345-67-89".into(),
        applicant_name: "Сёмина Алёна Петровна".into(),
        contacts: "домофон 15К, звонить после 18:00".into(),
        address: format!(
            "ул. Лётчика Ёлкина, д. {}, кв. {}, подъезд 2, этаж 3",
            1 + i % 40,
            1 + i % 120
        ),
        address_note: String::new(),
        organization: Some("ООО «УК Северная»".into()),
        kind: "Нет горячей воды".into(),
        appeal_type: "авария".into(),
        priority: "критический".into(),
        status: "в работе".into(),
        localize_deadline: Some(at(26, 14, 35)),
        deadline: Some(at(29, 14, 5)),
        comment,
        executors: vec![CardExecutor {
            name: "Ёжиков Пётр Семёнович".into(),
            phones: vec!["+7 922 111-22-33".into()],
        }],
        history: (0..4)
            .map(|k| CardHistoryLine {
                at: at(26, 14, 6 + k),
                who: "Иванова Анна Сергеевна".into(),
                what: "статус «назначено» → «в работе»".into(),
            })
            .collect(),
        history_omitted: 0,
        printed_at: at(26, 14, 12),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() -> Result<(), PrintError> {
    let started = Instant::now();
    let fonts = Fonts::load()?;
    let load = started.elapsed();
    let cards: Vec<CardData> = (0..1000).map(card).collect();
    // Warm-up: first-touch costs (page faults, lazy tables) are not per-card costs.
    for c in cards.iter().take(20) {
        appeal_card(c, &fonts)?;
    }
    let mut times = Vec::with_capacity(cards.len());
    let mut bytes = 0usize;
    let mut largest = 0usize;
    for c in &cards {
        let t = Instant::now();
        let pdf = appeal_card(c, &fonts)?;
        times.push(t.elapsed());
        bytes += pdf.len();
        largest = largest.max(pdf.len());
    }
    times.sort_unstable();
    let batch = appeal_cards(&cards[..100], &fonts)?;
    println!("fonts loaded once in {:.1} ms", load.as_secs_f64() * 1e3);
    println!(
        "1000 cards, one PDF each: p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.95).as_secs_f64() * 1e3,
        percentile(&times, 1.0).as_secs_f64() * 1e3,
    );
    println!(
        "size per card: mean {:.1} KB, largest {:.1} KB; in a 100-card PDF {:.1} KB per card",
        bytes as f64 / cards.len() as f64 / 1024.0,
        largest as f64 / 1024.0,
        batch.len() as f64 / 100.0 / 1024.0,
    );
    Ok(())
}
