//! Reports as CSV for spreadsheets.

use super::ReportData;

/// The UTF-8 byte order mark: without it Excel reads a CSV as Windows-1251 and shows mojibake.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The report's table as CSV: UTF-8 with a BOM, fields separated by `;`, one header row.
///
/// Why `;`: the people who open these files use Excel with Russian regional settings, where
/// the comma is the decimal separator and the list separator is `;`. Excel opens a
/// double-clicked `;`-file straight into columns, while a comma file lands in one column.
/// LibreOffice and the `csv` crate read either once told the delimiter. Fields holding `;`,
/// quotes or line breaks are quoted (RFC 4180 style, quotes doubled).
///
/// Text that starts like a formula (`=`, `+`, `-`, `@`) and is not a number gets a leading
/// `'`: appeal texts come from the public, and a spreadsheet must not run them.
///
/// Only the table is written (no title lines), so the file stays a clean table for any tool.
pub fn report_csv(report: &ReportData) -> Vec<u8> {
    let mut out = BOM.to_vec();
    write_row(&mut out, report.columns.iter().map(String::as_str));
    for row in report.cells() {
        write_row(&mut out, row.into_iter());
    }
    out
}

fn write_row<'a>(out: &mut Vec<u8>, cells: impl Iterator<Item = &'a str>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(b';');
        }
        let cell = defuse(cell);
        if cell.contains([';', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(cell.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(cell.as_bytes());
        }
    }
    // CRLF: what Excel writes and RFC 4180 asks for.
    out.extend_from_slice(b"\r\n");
}

/// The cell, with a `'` in front when a spreadsheet would take it for a formula.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = cell.replace(',', ".").trim().parse::<f64>().is_ok();
    if risky && !number {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_but_numbers_are_not() {
        assert_eq!(defuse("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("-5"), "-5");
        assert_eq!(defuse("-2,5"), "-2,5");
        assert_eq!(defuse("Нет горячей воды"), "Нет горячей воды");
    }
}
