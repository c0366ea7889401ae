//! The appeal card, read back the way a person (or a search box) would read it.

mod common;

use common::*;
use dialog_print::{appeal_card, appeal_cards};

#[test]
fn the_card_reads_back_in_russian_in_order() {
    let pdf = save(&appeal_card(&card(), &fonts()).expect("a card"), "card");
    assert_eq!(pages(&pdf), 1);
    let text = text(&pdf, None);
    let at = positions(
        &text,
        &[
            "Обращение № 2026-000123",
            "от 26.11.2026 14:05 · телефон",
            "Сёмина Алёна Петровна",
            "+7 912 345-67-89",
            "ул. Лётчика Ёлкина, д. 7, кв. 15, подъезд 2, этаж 3",
            "Нет горячей воды",
            "Локализовать до",
            "26.11.2026 14:35",
            "29.11.2026 14:05",
            "Ёжиков Пётр Семёнович, +7 922 111-22-33",
            "Комментарий оператора",
            "жильцы кв. 12 и № 18",
            "подтверждают. Ещё течёт кран в подвале.",
            "статус «назначено» → «в работе»",
            "Отметки исполнителя",
            "Работа выполнена",
            "Исполнитель",
            "подпись",
            "стр. 1 из 1",
        ],
    );
    let mut sorted = at.clone();
    sorted.sort_unstable();
    assert_eq!(at, sorted, "the card's parts come out of order:\n{text}");
}

#[test]
fn a_long_comment_wraps_and_continues_on_page_two_under_a_repeated_header() {
    let mut card = card();
    card.comment = long_comment(4000);
    let bytes = appeal_card(&card, &fonts()).expect("a card");
    let pdf = save(&bytes, "long");
    assert_eq!(pages(&pdf), 2);

    let first = text(&pdf, Some(1));
    let second = text(&pdf, Some(2));
    assert!(first.contains("НАЧАЛО-КОММЕНТАРИЯ"), "{first}");
    assert!(second.contains("КОНЕЦ-КОММЕНТАРИЯ"), "{second}");
    let top = second.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(
        top.contains("Обращение № 2026-000123 от 26.11.2026 14:05"),
        "page 2 starts without the header: {top:?}"
    );
    assert!(first.contains("стр. 1 из 2") && second.contains("стр. 2 из 2"));
    // The signature box follows the comment, on the last page.
    assert!(second.contains("Отметки исполнителя") && !first.contains("Отметки исполнителя"));

    // Wrapped, not cut: every word of the comment is there, in order, over many lines.
    let all = text(&pdf, None);
    let printed: Vec<&str> = all.split_whitespace().collect();
    let mut rest = printed.iter();
    for word in card.comment.split_whitespace() {
        assert!(rest.any(|w| *w == word), "the comment lost «{word}»");
    }
    let comment_lines = first
        .lines()
        .chain(second.lines())
        .filter(|l| l.contains("ёмкость"))
        .count();
    assert!(comment_lines > 25, "the comment takes only {comment_lines} lines");
}

#[test]
fn fonts_are_embedded_as_subsets() {
    let pdf = save(&appeal_card(&card(), &fonts()).expect("a card"), "fonts");
    let out = run("pdffonts", &[pdf.to_str().expect("a UTF-8 path")]);
    let fonts: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(fonts.len(), 2, "regular and bold:\n{out}");
    for line in fonts {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert!(cols[0].contains("+DejaVuSans"), "not a subset name: {line}");
        // name, type (two words), encoding, emb, sub, uni, object, id
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], ["yes", "yes", "yes"], "emb/sub/uni: {line}");
    }
}

#[test]
fn a_card_is_small_and_dated_today() {
    let bytes = appeal_card(&card(), &fonts()).expect("a card");
    assert!(bytes.len() < 80_000, "a card takes {} bytes", bytes.len());
    let pdf = save(&bytes, "date");
    let created = info(&pdf, "CreationDate");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(created.contains(&year), "creation date {created}");
}

#[test]
fn several_cards_print_into_one_file_each_from_a_new_page() {
    let mut long = card();
    long.number = "2026-000124".into();
    long.comment = long_comment(4000);
    let mut other = card();
    other.number = "2026-000125".into();
    let pdf = save(&appeal_cards(&[card(), long, other], &fonts()).expect("cards"), "batch");
    assert_eq!(pages(&pdf), 4);
    let firsts: Vec<String> = (1..=4)
        .map(|p| {
            text(&pdf, Some(p))
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(firsts[0].contains("№ 2026-000123"), "{firsts:?}");
    assert!(firsts[1].contains("№ 2026-000124"), "{firsts:?}");
    assert!(firsts[2].contains("№ 2026-000124 от"), "{firsts:?}");
    assert!(firsts[3].contains("№ 2026-000125"), "{firsts:?}");
    assert!(text(&pdf, Some(4)).contains("стр. 1 из 1"));
    assert!(appeal_cards(&[], &fonts()).is_err());
}

#[test]
fn the_qr_code_holds_the_appeal_number() {
    let pdf = save(&appeal_card(&card(), &fonts()).expect("a card"), "qr");
    let png = samples_dir().join("qr-check");
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "150",
            "-singlefile",
            pdf.to_str().expect("path"),
            png.to_str().expect("path"),
        ],
    );
    let decoded = run(
        "zbarimg",
        &["--quiet", "--raw", png.with_extension("png").to_str().expect("path")],
    );
    assert_eq!(decoded.trim(), "2026-000123");
}

#[test]
fn samples_for_review() {
    let fonts = fonts();
    let one = save(&appeal_card(&card(), &fonts).expect("a card"), "sample");
    let mut long = card();
    long.comment = long_comment(4000);
    let two = save(&appeal_card(&long, &fonts).expect("a card"), "sample-long");
    std::fs::copy(&two, samples_dir().join("card-long.pdf")).expect("copy");
    std::fs::copy(&one, samples_dir().join("card.pdf")).expect("copy");
    for png in [
        render_sample(&one, 1, "card"),
        render_sample(&two, 2, "card-long-page2"),
    ] {
        // A blank page compresses to almost nothing; a drawn card does not.
        let size = std::fs::metadata(&png).expect("the PNG exists").len();
        assert!(size > 5_000, "{} is {size} bytes", png.display());
    }
}
