//! Laying out the appeal card on A4.

use qrcode::{EcLevel, QrCode};

use super::CardData;
use crate::layout::{datetime, Canvas, Style, BOTTOM, LEFT, MARGIN, RIGHT, TOP};
use crate::{Fonts, PrintError};

const TITLE: Style = Style::bold(17.0);
const SUBTITLE: Style = Style::regular(10.0).grey(0.25);
const ACCENT: Style = Style::bold(10.5);
const LABEL: Style = Style::regular(9.0).grey(0.4);
const VALUE: Style = Style::regular(10.5);
const ADDRESS: Style = Style::bold(11.0);
const SECTION: Style = Style::bold(11.5);
const SMALL: Style = Style::regular(9.0);
const SMALL_GREY: Style = Style::regular(9.0).grey(0.4);
const FOOTER: Style = Style::regular(7.5).grey(0.45);

/// About 27 mm: a phone camera reads it from arm's length.
const QR_SIZE: f32 = 76.0;
const LABEL_W: f32 = 112.0;
/// The smallest box worth writing in; less than that moves the box to the next page.
const NOTES_MIN: f32 = 150.0;
const NOTES_MAX: f32 = 320.0;

/// The card of one appeal as a PDF.
pub fn appeal_card(card: &CardData, fonts: &Fonts) -> Result<Vec<u8>, PrintError> {
    appeal_cards(std::slice::from_ref(card), fonts)
}

/// Several cards in one PDF (to print a batch at once); each card starts on a new page and
/// numbers its own pages.
pub fn appeal_cards(cards: &[CardData], fonts: &Fonts) -> Result<Vec<u8>, PrintError> {
    let first = cards.first().ok_or(PrintError::NoCards)?;
    let title = match cards.len() {
        1 => format!("Обращение № {}", first.number),
        n => format!("Обращения № {} и ещё {}", first.number, n - 1),
    };
    let mut canvas = Canvas::new(fonts, &title);
    for card in cards {
        let first_page = canvas.page_count();
        let mut writer = CardWriter {
            c: &mut canvas,
            card,
            first_page,
        };
        writer.write()?;
    }
    Ok(canvas.finish())
}

struct CardWriter<'a, 'f> {
    c: &'a mut Canvas<'f>,
    card: &'a CardData,
    /// Index of the card's first page in the document.
    first_page: usize,
}

impl CardWriter<'_, '_> {
    fn write(&mut self) -> Result<(), PrintError> {
        self.c.new_page();
        self.header()?;
        self.fields();
        self.comment();
        self.history();
        self.notes_box();
        self.footers();
        Ok(())
    }

    /// Makes room for `h` points, continuing on a new page when the current one is full.
    fn ensure(&mut self, h: f32) {
        if self.c.room() < h {
            self.c.new_page();
            self.continuation_header();
        }
    }

    fn header(&mut self) -> Result<(), PrintError> {
        let card = self.card;
        self.qr(RIGHT - QR_SIZE, TOP - QR_SIZE)?;
        let width = RIGHT - QR_SIZE - 14.0 - LEFT;
        let mut y = TOP;
        let title = format!("Обращение № {}", card.number);
        self.line(&mut y, LEFT, &self.c.fit(&title, width, TITLE), TITLE);
        y -= 2.0;
        let received = format!("от {} · {}", datetime(card.received_at), card.channel);
        self.line(&mut y, LEFT, &received, SUBTITLE);
        y -= 4.0;
        let urgency = format!("{} · приоритет: {}", capitalize(&card.appeal_type), card.priority);
        self.line(&mut y, LEFT, &urgency, ACCENT);
        if let Some(org) = card.organization.as_deref().filter(|o| !o.is_empty()) {
            self.line(&mut y, LEFT, &self.c.fit(org, width, SUBTITLE), SUBTITLE);
        }
        y = y.min(TOP - QR_SIZE) - 8.0;
        self.c.hline(LEFT, RIGHT, y, 0.0, 0.8);
        self.c.y = y - 10.0;
        Ok(())
    }

    fn continuation_header(&mut self) {
        let card = self.card;
        let style = Style::bold(11.0);
        let baseline = TOP - style.ascent();
        let title = format!("Обращение № {} от {}", card.number, datetime(card.received_at));
        self.c.text(LEFT, baseline, &title, style);
        self.c.text_right(RIGHT, baseline, "продолжение", SMALL_GREY);
        let y = TOP - style.leading() - 4.0;
        self.c.hline(LEFT, RIGHT, y, 0.0, 0.8);
        self.c.y = y - 10.0;
    }

    /// Draws one line at `*y` (top of its box) and moves `*y` below it.
    fn line(&mut self, y: &mut f32, x: f32, text: &str, style: Style) {
        self.c.text(x, *y - style.ascent(), text, style);
        *y -= style.leading();
    }

    fn fields(&mut self) {
        let card = self.card;
        let not_given = "не указано";
        let or = |s: &str, default: &str| {
            if s.trim().is_empty() {
                default.to_owned()
            } else {
                s.to_owned()
            }
        };
        let mut rows: Vec<(&str, String, Style)> = vec![
            ("Заявитель", or(&card.applicant_name, not_given), VALUE),
            ("Телефон / e-mail", or(&card.identifier, not_given), VALUE),
        ];
        if !card.contacts.trim().is_empty() {
            rows.push(("Другие контакты", card.contacts.clone(), VALUE));
        }
        rows.push(("Адрес", or(&card.address, not_given), ADDRESS));
        if !card.address_note.trim().is_empty() {
            rows.push(("Уточнение адреса", card.address_note.clone(), VALUE));
        }
        rows.push(("Вид обращения", or(&card.kind, not_given), VALUE));
        rows.push(("Тип", card.appeal_type.clone(), VALUE));
        rows.push(("Приоритет", card.priority.clone(), VALUE));
        rows.push(("Статус", card.status.clone(), VALUE));
        if let Some(t) = card.localize_deadline {
            rows.push(("Локализовать до", datetime(t), ACCENT));
        }
        let deadline = card
            .deadline
            .map(datetime)
            .unwrap_or_else(|| "не установлен".to_owned());
        rows.push(("Выполнить до", deadline, ACCENT));
        let executors = if card.executors.is_empty() {
            "не назначены".to_owned()
        } else {
            let line = |e: &super::CardExecutor| {
                std::iter::once(e.name.as_str())
                    .chain(e.phones.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            card.executors.iter().map(line).collect::<Vec<_>>().join("\n")
        };
        rows.push(("Исполнители", executors, VALUE));
        for (label, value, style) in rows {
            self.field(label, &value, style);
        }
    }

    fn field(&mut self, label: &str, value: &str, style: Style) {
        let x = LEFT + LABEL_W;
        let lines = self.c.wrap(value, RIGHT - x, style);
        let mut first = true;
        for line in &lines {
            self.ensure(style.leading());
            let baseline = self.c.y - style.ascent();
            if first {
                self.c.text(LEFT, baseline, label, LABEL);
                first = false;
            }
            self.c.text(x, baseline, line, style);
            self.c.y -= style.leading();
        }
        self.c.y -= 3.0;
    }

    fn section(&mut self, title: &str, first_line: f32) {
        self.c.y -= 8.0;
        // Keep the heading with at least two lines of what it heads.
        self.ensure(SECTION.leading() + 4.0 + 2.0 * first_line);
        let baseline = self.c.y - SECTION.ascent();
        self.c.text(LEFT, baseline, title, SECTION);
        self.c.y -= SECTION.leading() + 2.0;
        self.c.hline(LEFT, RIGHT, self.c.y, 0.7, 0.5);
        self.c.y -= 4.0;
    }

    fn comment(&mut self) {
        self.section("Комментарий оператора", VALUE.leading());
        let text = match self.card.comment.trim() {
            "" => "нет",
            t => t,
        };
        for line in self.c.wrap(text, RIGHT - LEFT, VALUE) {
            self.ensure(VALUE.leading());
            self.c.text(LEFT, self.c.y - VALUE.ascent(), &line, VALUE);
            self.c.y -= VALUE.leading();
        }
    }

    fn history(&mut self) {
        let card = self.card;
        if card.history.is_empty() {
            return;
        }
        self.section("История (кратко)", SMALL.leading());
        if card.history_omitted > 0 {
            let note = format!(
                "… и ещё {} более ранних записей — полностью в программе",
                card.history_omitted
            );
            self.ensure(SMALL.leading());
            self.c.text(LEFT, self.c.y - SMALL.ascent(), &note, SMALL_GREY);
            self.c.y -= SMALL.leading();
        }
        let who_x = LEFT + 88.0;
        let what_x = who_x + 128.0;
        for h in &card.history {
            let lines = self.c.wrap(&h.what, RIGHT - what_x, SMALL);
            let who = self.c.fit(&h.who, what_x - who_x - 8.0, SMALL);
            for (i, line) in lines.iter().enumerate() {
                self.ensure(SMALL.leading());
                let baseline = self.c.y - SMALL.ascent();
                if i == 0 {
                    self.c.text(LEFT, baseline, &datetime(h.at), SMALL_GREY);
                    self.c.text(who_x, baseline, &who, SMALL);
                }
                self.c.text(what_x, baseline, line, SMALL);
                self.c.y -= SMALL.leading();
            }
            self.c.y -= 1.5;
        }
    }

    /// A box for the executor's handwriting: ruled lines, the date and the signature.
    fn notes_box(&mut self) {
        let gap = 14.0;
        self.ensure(gap + NOTES_MIN);
        let top = self.c.y - gap;
        let h = (top - BOTTOM).min(NOTES_MAX);
        let bottom = top - h;
        self.c.frame(LEFT, bottom, RIGHT - LEFT, h, 0.0, 0.8);
        let title = Style::bold(10.0);
        self.c.text(
            LEFT + 8.0,
            top - 8.0 - title.ascent(),
            "Отметки исполнителя о выполнении",
            title,
        );
        // Writing lines above, the date and signature rows at the bottom.
        let date_row = bottom + 46.0;
        let sign_row = bottom + 20.0;
        let mut rule = top - 42.0;
        while rule > date_row + 22.0 {
            self.c.hline(LEFT + 8.0, RIGHT - 8.0, rule, 0.75, 0.4);
            rule -= 22.0;
        }
        self.blanks(date_row, "Работа выполнена", &[("дата", 130.0), ("время", 70.0)]);
        self.blanks(
            sign_row,
            "Исполнитель",
            &[("подпись", 130.0), ("фамилия, инициалы", 200.0)],
        );
        self.c.y = bottom;
    }

    /// A label and blanks to fill in by hand, each with its caption under the line.
    fn blanks(&mut self, baseline: f32, label: &str, blanks: &[(&str, f32)]) {
        let mut x = LEFT + 8.0;
        self.c.text(x, baseline, label, SMALL);
        x += LABEL_W - 8.0;
        for (caption, width) in blanks {
            self.c.hline(x, x + width, baseline - 2.0, 0.0, 0.5);
            let w = self.c.width(caption, FOOTER);
            self.c.text(x + (width - w) / 2.0, baseline - 10.0, caption, FOOTER);
            x += width + 16.0;
        }
    }

    /// Page numbers, counted within the card, once the count is known.
    fn footers(&mut self) {
        let card = self.card;
        let total = self.c.page_count() - self.first_page;
        let printed = format!("Диалог · напечатано {}", datetime(card.printed_at));
        let baseline = MARGIN - 4.0;
        for i in 0..total {
            let page = Some(self.first_page + i);
            let right = format!("Обращение № {} · стр. {} из {}", card.number, i + 1, total);
            self.c
                .line_on(page, (LEFT, MARGIN + 6.0), (RIGHT, MARGIN + 6.0), 0.7, 0.4);
            self.c.text_on(page, LEFT, baseline, &printed, FOOTER);
            let w = self.c.width(&right, FOOTER);
            self.c.text_on(page, RIGHT - w, baseline, &right, FOOTER);
        }
    }

    /// The appeal number as a QR code, its dark modules as filled squares (runs merged).
    fn qr(&mut self, x: f32, y: f32) -> Result<(), PrintError> {
        let number = &self.card.number;
        let code = QrCode::with_error_correction_level(number.as_bytes(), EcLevel::M).map_err(|e| PrintError::Qr {
            number: number.clone(),
            reason: e.to_string(),
        })?;
        let n = code.width();
        let module = QR_SIZE / n as f32;
        let colors = code.to_colors();
        let mut rects = Vec::new();
        for (row, cells) in colors.chunks(n).enumerate() {
            let top = y + QR_SIZE - row as f32 * module;
            let mut col = 0;
            while col < n {
                if cells[col] != qrcode::Color::Dark {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < n && cells[col] == qrcode::Color::Dark {
                    col += 1;
                }
                // A hair of overlap so no light seams show between rows when rasterised.
                let w = (col - start) as f32 * module;
                rects.push((x + start as f32 * module, top - module - 0.05, w, module + 0.05));
            }
        }
        self.c.fill_many(rects, 0.0);
        Ok(())
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
