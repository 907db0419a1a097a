//! QR codes for launch URLs: a module matrix and a print-ready SVG with a quiet zone.

use qrcode::{EcLevel, QrCode, Version};

/// Error correction: M for screens, Q for print (survives scuffs and glare).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrLevel {
    /// About 15 % recovery; for codes shown on screens.
    Screen,
    /// About 25 % recovery; for printed posters and stickers.
    Print,
}

/// Why a QR code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The data does not fit in the largest QR version.
    #[error("text of {0} bytes is too long for a QR code; shorten the URL or the token")]
    TooLong(usize),
}

/// Quiet zone width in modules, as ISO/IEC 18004 asks.
pub const QUIET_ZONE: usize = 4;

/// A QR code as a square of modules, `true` for dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side, without quiet zone.
    pub width: usize,
    /// QR version (1–40).
    pub version: u8,
    /// Row-major modules.
    pub modules: Vec<bool>,
}

impl QrMatrix {
    /// Encodes text with the smallest version that fits, segmenting it so digit runs use numeric
    /// mode and upper-case runs alphanumeric mode.
    ///
    /// # Errors
    /// [`QrError::TooLong`] when even version 40 is too small.
    pub fn new(text: &str, level: QrLevel) -> Result<QrMatrix, QrError> {
        let ec = match level {
            QrLevel::Screen => EcLevel::M,
            QrLevel::Print => EcLevel::Q,
        };
        let code = QrCode::with_error_correction_level(text.as_bytes(), ec).map_err(|_| QrError::TooLong(text.len()))?;
        let version = match code.version() {
            Version::Normal(v) => v as u8,
            Version::Micro(v) => v as u8,
        };
        let modules = code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect();
        Ok(QrMatrix { width: code.width(), version, modules })
    }

    /// Whether the module at (x, y) is dark.
    pub fn dark(&self, x: usize, y: usize) -> bool {
        self.modules[y * self.width + x]
    }

    /// A scalable SVG: one path, horizontal runs merged, quiet zone included, crisp edges.
    pub fn to_svg(&self) -> String {
        let size = self.width + 2 * QUIET_ZONE;
        let mut path = String::with_capacity(self.width * self.width * 3);
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.dark(x, y) {
                    let start = x;
                    while x < self.width && self.dark(x, y) {
                        x += 1;
                    }
                    path.push_str(&format!("M{} {}h{}v1h-{}z", start + QUIET_ZONE, y + QUIET_ZONE, x - start, x - start));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" role=\"img\">\
<rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
        )
    }
}

/// Renders text (a launch URL) as an SVG QR code.
///
/// # Errors
/// [`QrError::TooLong`] when the text does not fit.
pub fn qr_svg(text: &str, level: QrLevel) -> Result<String, QrError> {
    Ok(QrMatrix::new(text, level)?.to_svg())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_codes_use_numeric_mode() {
        // 12 alphanumeric + 250 numeric characters need 927 bits: version 7 at M holds 992.
        // In byte mode the same 262 characters would need version 12.
        let url = format!("HTTPS://X/P/{}", "1".repeat(250));
        assert_eq!(QrMatrix::new(&url, QrLevel::Screen).unwrap().version, 7);
    }

    #[test]
    fn svg_has_quiet_zone_and_one_path() {
        let m = QrMatrix::new("HTTPS://X/P/1", QrLevel::Print).unwrap();
        let svg = m.to_svg();
        let size = m.width + 8;
        assert!(svg.contains(&format!("viewBox=\"0 0 {size} {size}\"")));
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(!svg.contains("M0 0"), "nothing drawn inside the quiet zone");
    }

    #[test]
    fn refuses_text_too_long_for_any_version() {
        assert!(matches!(QrMatrix::new(&"a".repeat(5000), QrLevel::Print), Err(QrError::TooLong(5000))));
    }
}
