//! A page canvas over printpdf's operations: absolute placement, measured text, wrapping.
//!
//! Coordinates are PDF points from the page's lower-left corner; `y` of the canvas is the top
//! of the free space on the current page and moves down as blocks are placed.

use printpdf::{
    Color, Greyscale, Line, LinePoint, Op, PaintMode, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    Rect, TextItem, TextMatrix, WindingOrder,
};

use crate::fonts::{Face, FontIds, Fonts, Weight};

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
/// 15 mm: printers need ~5 mm, the rest is for binders and hole punches.
pub(crate) const MARGIN: f32 = 42.52;
/// Where the content stops; the footer sits below it.
pub(crate) const BOTTOM: f32 = MARGIN + 14.0;
pub(crate) const LEFT: f32 = MARGIN;
pub(crate) const RIGHT: f32 = PAGE_W - MARGIN;
pub(crate) const TOP: f32 = PAGE_H - MARGIN;

/// How a piece of text looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub weight: Weight,
    pub size: f32,
    /// 0 = black, 1 = white.
    pub grey: f32,
}

impl Style {
    pub const fn regular(size: f32) -> Style {
        Style {
            weight: Weight::Regular,
            size,
            grey: 0.0,
        }
    }

    pub const fn bold(size: f32) -> Style {
        Style {
            weight: Weight::Bold,
            size,
            grey: 0.0,
        }
    }

    pub const fn grey(self, grey: f32) -> Style {
        Style { grey, ..self }
    }

    /// Distance between baselines.
    pub fn leading(self) -> f32 {
        self.size * 1.3
    }

    /// From the top of a line box down to its baseline (DejaVu's ascender is 0.93 em).
    pub fn ascent(self) -> f32 {
        self.size * 0.98
    }
}

/// Pages under construction, with the fonts to measure and draw with.
pub(crate) struct Canvas<'f> {
    fonts: &'f Fonts,
    doc: PdfDocument,
    ids: FontIds,
    pages: Vec<Vec<Op>>,
    /// Top of the free space on the current page.
    pub y: f32,
}

impl<'f> Canvas<'f> {
    /// A document with its title and creation date set, and no pages yet.
    pub fn new(fonts: &'f Fonts, title: &str) -> Canvas<'f> {
        let mut doc = PdfDocument::new(title);
        // printpdf leaves the dates at 1970 unless told.
        let now = printpdf::DateTime::now();
        doc.metadata.info.creation_date = now;
        doc.metadata.info.modification_date = now;
        doc.metadata.info.metadata_date = now;
        doc.metadata.info.creator = "Диалог".to_owned();
        doc.metadata.info.producer = "Диалог (printpdf)".to_owned();
        let ids = fonts.add_to(&mut doc);
        Canvas {
            fonts,
            doc,
            ids,
            pages: Vec::new(),
            y: TOP,
        }
    }

    /// Starts a new page; the free space is the whole page inside the margins.
    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// How many pages there are so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Room left on the current page above the bottom margin.
    pub fn room(&self) -> f32 {
        self.y - BOTTOM
    }

    /// The operations of one page (the current one when `index` is `None`).
    fn ops(&mut self, index: Option<usize>) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        let i = index.unwrap_or(last).min(last);
        &mut self.pages[i]
    }

    pub fn face(&self, style: Style) -> &Face {
        self.fonts.face(style.weight)
    }

    /// The width of a text in a style.
    pub fn width(&self, text: &str, style: Style) -> f32 {
        self.face(style).width(text, style.size)
    }

    /// Draws a text with its baseline at `(x, y)` on the current page.
    pub fn text(&mut self, x: f32, y: f32, text: &str, style: Style) {
        self.text_on(None, x, y, text, style);
    }

    /// Draws a text whose right edge is at `right`.
    pub fn text_right(&mut self, right: f32, y: f32, text: &str, style: Style) {
        let w = self.width(text, style);
        self.text(right - w, y, text, style);
    }

    /// Draws a text on a given page (footers are drawn once the page count is known).
    pub fn text_on(&mut self, page: Option<usize>, x: f32, y: f32, text: &str, style: Style) {
        if text.is_empty() {
            return;
        }
        let clean = printable(self.face(style), text);
        let font = PdfFontHandle::External(self.ids.get(style.weight).clone());
        // One text section per string, placed with the absolute `Tm`: `Td` is relative.
        self.ops(page).extend([
            Op::StartTextSection,
            Op::SetFillColor { col: grey(style.grey) },
            Op::SetFont {
                font,
                size: Pt(style.size),
            },
            Op::SetTextMatrix {
                matrix: TextMatrix::Translate(Pt(x), Pt(y)),
            },
            Op::ShowText {
                items: vec![TextItem::Text(clean)],
            },
            Op::EndTextSection,
        ]);
    }

    /// A filled rectangle (`y` is its bottom edge).
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, fill_grey: f32) {
        self.ops(None).extend([
            Op::SetFillColor { col: grey(fill_grey) },
            Op::DrawRectangle {
                rectangle: rect(x, y, w, h, PaintMode::Fill),
            },
        ]);
    }

    /// Filled rectangles `(x, y, w, h)` of one shade (QR modules, chart bars).
    pub fn fill_many(&mut self, rects: impl IntoIterator<Item = (f32, f32, f32, f32)>, fill_grey: f32) {
        let ops = self.ops(None);
        ops.push(Op::SetFillColor { col: grey(fill_grey) });
        ops.extend(rects.into_iter().map(|(x, y, w, h)| Op::DrawRectangle {
            rectangle: rect(x, y, w, h, PaintMode::Fill),
        }));
    }

    /// A stroked rectangle (`y` is its bottom edge).
    pub fn frame(&mut self, x: f32, y: f32, w: f32, h: f32, line_grey: f32, thickness: f32) {
        self.ops(None).extend([
            Op::SetOutlineColor { col: grey(line_grey) },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawRectangle {
                rectangle: rect(x, y, w, h, PaintMode::Stroke),
            },
        ]);
    }

    /// A straight line on a page (the current one when `page` is `None`).
    pub fn line_on(&mut self, page: Option<usize>, from: (f32, f32), to: (f32, f32), line_grey: f32, thickness: f32) {
        let point = |(x, y): (f32, f32)| LinePoint {
            p: Point { x: Pt(x), y: Pt(y) },
            bezier: false,
        };
        self.ops(page).extend([
            Op::SetOutlineColor { col: grey(line_grey) },
            Op::SetOutlineThickness { pt: Pt(thickness) },
            Op::DrawLine {
                line: Line {
                    points: vec![point(from), point(to)],
                    is_closed: false,
                },
            },
        ]);
    }

    /// A horizontal rule on the current page.
    pub fn hline(&mut self, x1: f32, x2: f32, y: f32, line_grey: f32, thickness: f32) {
        self.line_on(None, (x1, y), (x2, y), line_grey, thickness);
    }

    /// Breaks a text into lines no wider than `max` (see [`wrap`]).
    pub fn wrap(&self, text: &str, max: f32, style: Style) -> Vec<String> {
        wrap(self.face(style), style.size, text, max)
    }

    /// The text cut to `max` with an ellipsis when it is wider.
    pub fn fit(&self, text: &str, max: f32, style: Style) -> String {
        if self.width(text, style) <= max {
            return text.to_owned();
        }
        let room = max - self.width("…", style);
        let mut out = String::new();
        let mut w = 0.0;
        for c in text.chars() {
            let cw = self.width(c.encode_utf8(&mut [0; 4]), style);
            if w + cw > room {
                break;
            }
            w += cw;
            out.push(c);
        }
        out.truncate(out.trim_end().len());
        out.push('…');
        out
    }

    /// The PDF file.
    pub fn finish(mut self) -> Vec<u8> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let pages = std::mem::take(&mut self.pages)
            .into_iter()
            .map(|ops| {
                let a4 = Rect::from_wh(Pt(PAGE_W), Pt(PAGE_H));
                PdfPage {
                    media_box: a4.clone(),
                    trim_box: a4.clone(),
                    crop_box: a4,
                    ops,
                }
            })
            .collect();
        // Warnings are about input printpdf could not interpret; we produce no such input.
        let mut warnings = Vec::new();
        self.doc
            .with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut warnings)
    }
}

/// A date and time as Russian documents write it: `26.11.2026 14:05`.
pub(crate) fn datetime(t: chrono::NaiveDateTime) -> String {
    t.format("%d.%m.%Y %H:%M").to_string()
}

fn grey(level: f32) -> Color {
    Color::Greyscale(Greyscale::new(level.clamp(0.0, 1.0), None))
}

fn rect(x: f32, y: f32, w: f32, h: f32, mode: PaintMode) -> Rect {
    Rect {
        x: Pt(x),
        y: Pt(y),
        width: Pt(w),
        height: Pt(h),
        mode: Some(mode),
        winding_order: Some(WindingOrder::NonZero),
    }
}

/// The text as the face can draw it: control characters become spaces, characters the face
/// lacks become `?` (printpdf would silently drop them, and the measured width would lie).
fn printable(face: &Face, text: &str) -> String {
    text.chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            c if face.has(c) => c,
            _ => '?',
        })
        .collect()
}

/// Greedy line breaking: words go on a line while they fit; a word wider than a whole line
/// is split between characters. Line breaks in the text start new lines.
pub(crate) fn wrap(face: &Face, size: f32, text: &str, max: f32) -> Vec<String> {
    let space = face.width(" ", size);
    let mut lines = Vec::new();
    for paragraph in text.trim_end().lines() {
        let mut line = String::new();
        let mut line_w = 0.0;
        for word in paragraph.split_whitespace() {
            let w = face.width(word, size);
            if !line.is_empty() {
                if line_w + space + w <= max {
                    line.push(' ');
                    line.push_str(word);
                    line_w += space + w;
                    continue;
                }
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if w <= max {
                line.push_str(word);
                line_w = w;
                continue;
            }
            for c in word.chars() {
                let cw = face.width(c.encode_utf8(&mut [0; 4]), size);
                if line_w + cw > max && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += cw;
            }
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Face {
        match Fonts::load() {
            Ok(f) => f.regular,
            Err(e) => panic!("fonts: {e}"),
        }
    }

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let face = face();
        let text = "Течёт труба в подвале, вода заливает электрощитовую; жильцы кв. 12 и 15 просят срочно \
                    перекрыть стояк. "
            .repeat(20);
        let lines = wrap(&face, 10.0, &text, 200.0);
        assert!(lines.len() > 10, "a long text takes many lines: {}", lines.len());
        for l in &lines {
            assert!(face.width(l, 10.0) <= 200.0, "line too wide: {l}");
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        let rejoined = lines.join(" ");
        assert_eq!(rejoined.split_whitespace().collect::<Vec<_>>(), words);
    }

    #[test]
    fn an_over_long_word_is_split_by_characters() {
        let face = face();
        let word = "Электрооборудование".repeat(10);
        let lines = wrap(&face, 10.0, &word, 100.0);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| face.width(l, 10.0) <= 100.0));
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn line_breaks_in_the_text_are_kept() {
        let face = face();
        assert_eq!(
            wrap(&face, 10.0, "один\nдва\n\nтри\n", 500.0),
            ["один", "два", "", "три"]
        );
    }

    #[test]
    fn characters_without_glyphs_become_question_marks() {
        let face = face();
        assert_eq!(printable(&face, "кв.\t5 漢ё№"), "кв. 5 ?ё№");
    }
}
