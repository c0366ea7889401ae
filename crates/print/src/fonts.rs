//! The embedded typeface (DejaVu Sans, regular and bold) and text measurement.

use printpdf::{FontId, ParsedFont, PdfDocument};

use crate::PrintError;

const REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// Characters whose advances are kept in a table: Latin, Cyrillic and common punctuation
/// cover nearly everything printed, and a table beats a cmap lookup per character.
const TABLE_END: u32 = 0x0500;

/// The fonts of every printout, parsed once and shared by all documents.
///
/// Parsing costs several milliseconds per face, more than laying out a whole card, so
/// load them once (at start-up) and pass them to every call.
#[derive(Debug, Clone)]
pub struct Fonts {
    pub(crate) regular: Face,
    pub(crate) bold: Face,
}

// The app keeps one `Fonts` in its shared state and prints from any thread.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Fonts>();
};

impl Fonts {
    /// Parses the embedded DejaVu Sans faces.
    pub fn load() -> Result<Fonts, PrintError> {
        Ok(Fonts {
            regular: Face::parse(REGULAR_TTF, "DejaVu Sans")?,
            bold: Face::parse(BOLD_TTF, "DejaVu Sans Bold")?,
        })
    }

    /// The face of a weight.
    pub(crate) fn face(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }

    /// Registers both faces with a document; printpdf later embeds the glyphs used.
    pub(crate) fn add_to(&self, doc: &mut PdfDocument) -> FontIds {
        FontIds {
            regular: doc.add_font(&self.regular.parsed),
            bold: doc.add_font(&self.bold.parsed),
        }
    }
}

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Weight {
    Regular,
    Bold,
}

/// The ids of the faces inside one document.
#[derive(Debug, Clone)]
pub(crate) struct FontIds {
    pub regular: FontId,
    pub bold: FontId,
}

impl FontIds {
    pub fn get(&self, weight: Weight) -> &FontId {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

/// One parsed face with its advance widths.
#[derive(Debug, Clone)]
pub(crate) struct Face {
    parsed: ParsedFont,
    units_per_em: f32,
    /// Advance of each character below [`TABLE_END`] in em; `None` when the face lacks it.
    table: Vec<Option<f32>>,
}

impl Face {
    fn parse(bytes: &[u8], name: &'static str) -> Result<Face, PrintError> {
        let mut warnings = Vec::new();
        let parsed = ParsedFont::from_bytes(bytes, 0, &mut warnings).ok_or(PrintError::Font(name))?;
        let units_per_em = f32::from(parsed.pdf_font_metrics.units_per_em.max(1));
        let mut face = Face {
            parsed,
            units_per_em,
            table: Vec::new(),
        };
        face.table = (0..TABLE_END).map(|c| face.lookup(c)).collect();
        Ok(face)
    }

    fn lookup(&self, c: u32) -> Option<f32> {
        // Glyph 0 is .notdef: the face has no drawing for the character.
        let glyph = self.parsed.lookup_glyph_index(c).filter(|&g| g != 0)?;
        Some(f32::from(self.parsed.get_horizontal_advance(glyph)) / self.units_per_em)
    }

    /// The advance of a character in em, or `None` when the face has no glyph for it.
    fn advance(&self, c: char) -> Option<f32> {
        match self.table.get(c as usize) {
            Some(a) => *a,
            None => self.lookup(c as u32),
        }
    }

    /// Whether the face can draw the character.
    pub fn has(&self, c: char) -> bool {
        self.advance(c).is_some()
    }

    /// The width of a string at a size, in points.
    pub fn width(&self, text: &str, size: f32) -> f32 {
        let fallback = self.advance('?').unwrap_or(0.6);
        text.chars().map(|c| self.advance(c).unwrap_or(fallback)).sum::<f32>() * size
    }
}
