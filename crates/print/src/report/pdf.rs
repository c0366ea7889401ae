//! Reports on A4: title, period, organization, a bar chart and a table that runs over pages.

use super::{Chart, ReportData};
use crate::layout::{Canvas, Style, LEFT, MARGIN, RIGHT};
use crate::Fonts;

const TITLE: Style = Style::bold(16.0);
const META: Style = Style::regular(10.5).grey(0.2);
const HEAD: Style = Style::bold(9.0);
const CELL: Style = Style::regular(9.0);
const CHART_LABEL: Style = Style::regular(9.0);
const FOOTER: Style = Style::regular(7.5).grey(0.45);

/// Padding inside a table cell, left and right.
const PAD_X: f32 = 4.0;
/// Padding inside a table cell, top and bottom.
const PAD_Y: f32 = 3.5;
const BAR_H: f32 = 11.0;
const BAR_GAP: f32 = 5.0;

/// The report as a PDF: title, period, organization, the chart (when there is one) and the
/// table, continued over as many pages as it needs with the header row repeated.
pub fn report_pdf(report: &ReportData, fonts: &Fonts) -> Vec<u8> {
    let mut c = Canvas::new(fonts, &report.title);
    c.new_page();
    heading(&mut c, report);
    if let Some(chart) = report.chart.as_ref().filter(|ch| !ch.labels.is_empty()) {
        bar_chart(&mut c, chart);
    }
    Table::new(&c, report).draw(&mut c);
    footers(&mut c, report);
    c.finish()
}

fn heading(c: &mut Canvas, report: &ReportData) {
    for line in c.wrap(&report.title, RIGHT - LEFT, TITLE) {
        c.text(LEFT, c.y - TITLE.ascent(), &line, TITLE);
        c.y -= TITLE.leading();
    }
    c.y -= 2.0;
    let organization = report.organization.as_deref().unwrap_or("все организации");
    for meta in [
        format!("Период: {}", report.period()),
        format!("Организация: {organization}"),
    ] {
        for line in c.wrap(&meta, RIGHT - LEFT, META) {
            c.text(LEFT, c.y - META.ascent(), &line, META);
            c.y -= META.leading();
        }
    }
    c.y -= 6.0;
    c.hline(LEFT, RIGHT, c.y, 0.0, 0.8);
    c.y -= 14.0;
}

/// Horizontal bars: labels of kinds and executors are long, and read best on the left.
fn bar_chart(c: &mut Canvas, chart: &Chart) {
    let values: Vec<f64> = chart
        .values
        .iter()
        .map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 })
        .collect();
    let max = values.iter().copied().fold(0.0, f64::max);
    let label_w = chart
        .labels
        .iter()
        .map(|l| c.width(l, CHART_LABEL))
        .fold(0.0, f32::max)
        .min((RIGHT - LEFT) * 0.4);
    let value_w = values
        .iter()
        .map(|v| c.width(&number(*v), CHART_LABEL))
        .fold(0.0, f32::max);
    let bar_x = LEFT + label_w + 8.0;
    let bar_room = RIGHT - bar_x - value_w - 6.0;
    for (label, value) in chart.labels.iter().zip(values.iter().chain(std::iter::repeat(&0.0))) {
        if c.room() < BAR_H + BAR_GAP {
            c.new_page();
        }
        let top = c.y;
        let baseline = top - BAR_H / 2.0 - CHART_LABEL.size * 0.35;
        let label = c.fit(label, label_w, CHART_LABEL);
        c.text_right(bar_x - 8.0, baseline, &label, CHART_LABEL);
        let w = if max > 0.0 {
            (value / max) as f32 * bar_room
        } else {
            0.0
        };
        if w > 0.0 {
            c.fill_many([(bar_x, top - BAR_H, w, BAR_H)], 0.45);
        }
        c.text(bar_x + w + 4.0, baseline, &number(*value), CHART_LABEL);
        // The axis the bars grow from, drawn per bar so a chart split over pages keeps it.
        c.line_on(
            None,
            (bar_x, top + BAR_GAP / 2.0),
            (bar_x, top - BAR_H - BAR_GAP / 2.0),
            0.2,
            0.6,
        );
        c.y -= BAR_H + BAR_GAP;
    }
    c.y -= 14.0;
}

/// A value as people write it in Russian: integers plain, fractions with a comma.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}").replace('.', ",")
    }
}

struct Table<'r> {
    report: &'r ReportData,
    widths: Vec<f32>,
    numeric: Vec<bool>,
}

impl<'r> Table<'r> {
    fn new(c: &Canvas, report: &'r ReportData) -> Table<'r> {
        let n = report.columns.len();
        let rows: Vec<Vec<&str>> = report.cells().collect();
        let numeric: Vec<bool> = (0..n)
            .map(|i| {
                let mut cells = rows.iter().map(|r| r[i].trim()).filter(|s| !s.is_empty()).peekable();
                cells.peek().is_some() && cells.all(is_number)
            })
            .collect();
        // Per column: the width it would like (nothing wraps) and the least it can take
        // (its widest word; whole numbers for numeric columns).
        let widest_word =
            |text: &str, style: Style| text.split_whitespace().map(|w| c.width(w, style)).fold(0.0, f32::max);
        let (wanted, least): (Vec<f32>, Vec<f32>) = (0..n)
            .map(|i| {
                let head = &report.columns[i];
                let body = rows.iter().map(|r| c.width(r[i], CELL)).fold(0.0, f32::max);
                let body_least = if numeric[i] {
                    body
                } else {
                    rows.iter().map(|r| widest_word(r[i], CELL)).fold(0.0, f32::max)
                };
                let wanted = c.width(head, HEAD).max(body) + 2.0 * PAD_X;
                let least = widest_word(head, HEAD).max(body_least) + 2.0 * PAD_X;
                (wanted, least.min(wanted))
            })
            .unzip();
        Table {
            report,
            widths: fit_columns(&wanted, &least, RIGHT - LEFT),
            numeric,
        }
    }

    fn draw(&self, c: &mut Canvas) {
        if self.report.columns.is_empty() {
            return;
        }
        let head: Vec<&str> = self.report.columns.iter().map(String::as_str).collect();
        let rows: Vec<Vec<&str>> = self.report.cells().collect();
        // The header row must come with at least one data row.
        let first = rows.first().map_or(0.0, |r| self.height(c, r, CELL));
        if c.room() < self.height(c, &head, HEAD) + first {
            c.new_page();
        }
        self.row(c, &head, HEAD, Some(0.87));
        if rows.is_empty() {
            c.text(LEFT + PAD_X, c.y - PAD_Y - CELL.ascent(), "Нет данных за период", CELL);
            c.y -= CELL.leading() + 2.0 * PAD_Y;
        }
        for (i, row) in rows.iter().enumerate() {
            if c.room() < self.height(c, row, CELL) {
                c.new_page();
                self.row(c, &head, HEAD, Some(0.87));
            }
            self.row(c, row, CELL, (i % 2 == 1).then_some(0.955));
        }
        c.hline(LEFT, RIGHT, c.y, 0.3, 0.6);
    }

    fn height(&self, c: &Canvas, cells: &[&str], style: Style) -> f32 {
        let lines = cells
            .iter()
            .zip(&self.widths)
            .map(|(cell, w)| c.wrap(cell, w - 2.0 * PAD_X, style).len().max(1))
            .max()
            .unwrap_or(1);
        lines as f32 * style.leading() + 2.0 * PAD_Y
    }

    fn row(&self, c: &mut Canvas, cells: &[&str], style: Style, shade: Option<f32>) {
        let h = self.height(c, cells, style);
        let top = c.y;
        let width: f32 = self.widths.iter().sum();
        if let Some(grey) = shade {
            c.fill(LEFT, top - h, width, h, grey);
        }
        let mut x = LEFT;
        for ((cell, w), numeric) in cells.iter().zip(&self.widths).zip(&self.numeric) {
            let mut baseline = top - PAD_Y - style.ascent();
            for line in c.wrap(cell, w - 2.0 * PAD_X, style) {
                if *numeric {
                    c.text_right(x + w - PAD_X, baseline, &line, style);
                } else {
                    c.text(x + PAD_X, baseline, &line, style);
                }
                baseline -= style.leading();
            }
            x += w;
        }
        c.hline(LEFT, LEFT + width, top - h, 0.75, 0.4);
        c.y = top - h;
    }
}

fn is_number(s: &str) -> bool {
    let s = s.trim_end_matches('%').replace([' ', '\u{a0}'], "").replace(',', ".");
    s.parse::<f64>().is_ok()
}

/// Column widths that fill the page, the way HTML tables do: every column gets at least its
/// least width and the rest of the room is shared in proportion to what each wants beyond
/// that. When even the least widths do not fit, all shrink in proportion (words then split).
fn fit_columns(wanted: &[f32], least: &[f32], room: f32) -> Vec<f32> {
    let total_wanted: f32 = wanted.iter().sum();
    let total_least: f32 = least.iter().sum();
    if total_wanted <= room {
        // Spare room widens every column alike, which keeps the table's proportions.
        return wanted
            .iter()
            .map(|w| w * room / total_wanted.max(f32::EPSILON))
            .collect();
    }
    if total_least > room {
        return least.iter().map(|w| w * room / total_least).collect();
    }
    let spare = room - total_least;
    let extra = total_wanted - total_least;
    wanted
        .iter()
        .zip(least)
        .map(|(w, l)| l + (w - l) * spare / extra.max(f32::EPSILON))
        .collect()
}

fn footers(c: &mut Canvas, report: &ReportData) {
    let total = c.page_count();
    let left = format!("{} · {}", report.title, report.period());
    let baseline = MARGIN - 4.0;
    for i in 0..total {
        let right = format!("стр. {} из {}", i + 1, total);
        let right_w = c.width(&right, FOOTER);
        let left = c.fit(&left, RIGHT - LEFT - right_w - 20.0, FOOTER);
        c.line_on(Some(i), (LEFT, MARGIN + 6.0), (RIGHT, MARGIN + 6.0), 0.7, 0.4);
        c.text_on(Some(i), LEFT, baseline, &left, FOOTER);
        c.text_on(Some(i), RIGHT - right_w, baseline, &right, FOOTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fill_the_page_and_never_go_below_their_least_width() {
        let w = fit_columns(&[100.0, 40.0], &[30.0, 40.0], 500.0);
        assert!((w.iter().sum::<f32>() - 500.0).abs() < 0.01);
        assert!(w[0] > w[1]);
        // Too wide: the number column (least = wanted) keeps its width, text columns give.
        let w = fit_columns(&[900.0, 300.0, 40.0], &[80.0, 60.0, 40.0], 500.0);
        assert!((w.iter().sum::<f32>() - 500.0).abs() < 0.01);
        assert!((w[2] - 40.0).abs() < 0.01);
        assert!(w[0] > w[1] && w[1] >= 60.0);
    }

    #[test]
    fn numbers_are_written_the_russian_way() {
        assert_eq!(number(12.0), "12");
        assert_eq!(number(2.5), "2,5");
        assert!(is_number("1 234,5"));
        assert!(is_number("12%"));
        assert!(!is_number("авария"));
    }
}
