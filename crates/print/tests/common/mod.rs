//! Reading printouts back with poppler (`pdftotext`, `pdfinfo`, `pdffonts`, `pdftoppm`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{NaiveDate, NaiveDateTime};
use dialog_print::{CardData, CardExecutor, CardHistoryLine, Fonts};

pub fn fonts() -> Fonts {
    Fonts::load().expect("the embedded fonts parse")
}

pub fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, d)
        .and_then(|d| d.and_hms_opt(h, m, 0))
        .expect("a valid date")
}

/// A card as a plumber would get it.
pub fn card() -> CardData {
    CardData {
        number: "2026-000123".into(),
        received_at: at(26, 14, 5),
        channel: "телефон".into(),
        identifier: "+7 912 345-67-89".into(),
        applicant_name: "Сёмина Алёна Петровна".into(),
        contacts: "домофон 15К, звонить после 18:00".into(),
        address: "ул. Лётчика Ёлкина, д. 7, кв. 15, подъезд 2, этаж 3".into(),
        address_note: "вход со двора".into(),
        organization: Some("ООО «УК Северная»".into()),
        kind: "Нет горячей воды".into(),
        appeal_type: "авария".into(),
        priority: "критический".into(),
        status: "в работе".into(),
        localize_deadline: Some(at(26, 14, 35)),
        deadline: Some(at(29, 14, 5)),
        comment: "Со вчерашнего вечера нет горячей воды во всём стояке, жильцы кв. 12 и № 18 подтверждают. \
                  Ещё течёт кран в подвале."
            .into(),
        executors: vec![CardExecutor {
            name: "Ёжиков Пётр Семёнович".into(),
            phones: vec!["+7 922 111-22-33".into()],
        }],
        history: vec![
            CardHistoryLine {
                at: at(26, 14, 6),
                who: "Иванова Анна Сергеевна".into(),
                what: "зарегистрировано, статус «новый»".into(),
            },
            CardHistoryLine {
                at: at(26, 14, 8),
                who: "Иванова Анна Сергеевна".into(),
                what: "назначен исполнитель Ёжиков Пётр Семёнович".into(),
            },
            CardHistoryLine {
                at: at(26, 14, 11),
                who: "Иванова Анна Сергеевна".into(),
                what: "статус «назначено» → «в работе»".into(),
            },
        ],
        history_omitted: 0,
        printed_at: at(26, 14, 12),
    }
}

/// A comment of about `chars` characters of Russian words, ending in a marker.
pub fn long_comment(chars: usize) -> String {
    let words = [
        "жилец",
        "сообщает",
        "что",
        "в",
        "подъезде",
        "ёмкость",
        "протекает",
        "№",
        "стояк",
        "холодной",
        "воды",
        "заливает",
        "щитовую",
    ];
    let mut s = String::from("НАЧАЛО-КОММЕНТАРИЯ");
    let mut i = 0;
    while s.chars().count() < chars {
        s.push(' ');
        s.push_str(words[i % words.len()]);
        i += 1;
    }
    s.push_str(" КОНЕЦ-КОММЕНТАРИЯ");
    s
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Writes a PDF where the poppler tools can read it.
pub fn save(pdf: &[u8], name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("print-tests");
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join(format!(
        "{}-{}-{name}.pdf",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, pdf).expect("the PDF is written");
    path
}

/// Where a reviewer finds the PNG renders: `<target>/print-samples/`.
pub fn samples_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let dir = tmp.parent().unwrap_or(tmp).join("print-samples");
    std::fs::create_dir_all(&dir).expect("the samples dir");
    dir
}

pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (apt-get install poppler-utils zbar-tools): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `pdftotext -layout` of the whole file or of one page.
pub fn text(pdf: &Path, page: Option<u32>) -> String {
    let path = pdf.to_str().expect("a UTF-8 path");
    match page {
        Some(p) => {
            let p = p.to_string();
            run(
                "pdftotext",
                &["-layout", "-enc", "UTF-8", "-f", &p, "-l", &p, path, "-"],
            )
        }
        None => run("pdftotext", &["-layout", "-enc", "UTF-8", path, "-"]),
    }
}

/// A field of `pdfinfo`.
pub fn info(pdf: &Path, field: &str) -> String {
    let out = run("pdfinfo", &[pdf.to_str().expect("a UTF-8 path")]);
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("pdfinfo has no {field}: {out}"))
        .trim()
        .to_owned()
}

pub fn pages(pdf: &Path) -> usize {
    info(pdf, "Pages").parse().expect("a page count")
}

/// Where each needle first occurs, panicking with the text when one is missing.
pub fn positions(haystack: &str, needles: &[&str]) -> Vec<usize> {
    needles
        .iter()
        .map(|n| {
            haystack
                .find(n)
                .unwrap_or_else(|| panic!("«{n}» is not in the text:\n{haystack}"))
        })
        .collect()
}

/// Renders one page to `<samples>/<name>.png` at 60 dpi; returns the path.
pub fn render_sample(pdf: &Path, page: u32, name: &str) -> PathBuf {
    let prefix = samples_dir().join(name);
    let page = page.to_string();
    let args = ["-png", "-r", "60", "-f", &page, "-l", &page, "-singlefile"];
    let paths = [
        pdf.to_str().expect("a UTF-8 path"),
        prefix.to_str().expect("a UTF-8 path"),
    ];
    run("pdftoppm", &[&args[..], &paths[..]].concat());
    prefix.with_extension("png")
}
