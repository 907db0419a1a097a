//! A channel's look in the chat: its colour on the buttons, the panel header and the visitor's
//! bubbles (white text on it must reach WCAG's 4.5:1), and a welcome line per entry point.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[channels.brand]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBrand {
    color: Option<String>,
    welcome: Option<String>,
    #[serde(default)]
    welcome_by_entry: BTreeMap<String, String>,
}

/// A channel's brand, checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Brand {
    /// `#rrggbb`, lower case.
    pub color: Option<String>,
    /// Shown first in the chat when no entry point has its own.
    pub welcome: Option<String>,
    /// Welcome lines by entry point (`button`).
    pub welcome_by_entry: BTreeMap<String, String>,
}

/// Contrast needed for normal text (WCAG 2, AA).
pub const MIN_CONTRAST: f64 = 4.5;

/// Longest welcome line, in characters.
pub const MAX_WELCOME_CHARS: usize = 500;

impl Brand {
    /// The welcome line for a chat opened from `button` (the verified one, else the declared).
    pub fn welcome_for(&self, button: Option<&str>) -> Option<String> {
        button.and_then(|b| self.welcome_by_entry.get(b)).or(self.welcome.as_ref()).cloned()
    }
}

/// `#rrggbb` → (r, g, b).
fn rgb(hex: &str) -> Option<[u8; 3]> {
    let digits = hex.strip_prefix('#').filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG contrast ratio of white text on `hex`.
pub fn contrast_with_white(hex: &str) -> Option<f64> {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    let [r, g, b] = rgb(hex)?;
    let luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
    Some(1.05 / (luminance + 0.05))
}

/// Checks `[channels.brand]`; each problem is `(key suffix, what)`.
pub fn validate(raw: RawBrand) -> Result<Brand, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let color = raw.color.map(|c| c.to_ascii_lowercase());
    if let Some(c) = &color {
        match contrast_with_white(c) {
            None => problems.push(("color".into(), format!("{c:?} is not a colour like \"#1f6f4f\""))),
            Some(ratio) if ratio < MIN_CONTRAST => problems.push((
                "color".into(),
                format!("white text on {c} has a contrast of {ratio:.1}:1, under {MIN_CONTRAST}:1; pick a darker colour"),
            )),
            Some(_) => {}
        }
    }
    let mut check = |key: String, text: &str| {
        if text.trim().is_empty() || text.chars().count() > MAX_WELCOME_CHARS {
            problems.push((key, format!("must be 1 to {MAX_WELCOME_CHARS} characters")));
        }
    };
    if let Some(w) = &raw.welcome {
        check("welcome".into(), w);
    }
    for (entry, w) in &raw.welcome_by_entry {
        check(format!("welcome_by_entry.{entry}"), w);
    }
    if problems.is_empty() { Ok(Brand { color, welcome: raw.welcome, welcome_by_entry: raw.welcome_by_entry }) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast_with_white("#000000").unwrap() - 21.0).abs() < 0.01);
        assert!((contrast_with_white("#ffffff").unwrap() - 1.0).abs() < 0.01);
        // The widget's default blue.
        assert!((contrast_with_white("#0b57d0").unwrap() - 6.39).abs() < 0.01, "the widget's default blue");
        assert_eq!(contrast_with_white("#12345"), None);
        assert_eq!(contrast_with_white("0b57d0"), None);
        assert_eq!(contrast_with_white("#0b57dz"), None);
    }

    #[test]
    fn a_light_colour_or_an_empty_welcome_is_refused_with_the_reason() {
        let light = validate(RawBrand { color: Some("#8BB79F".into()), ..Default::default() }).unwrap_err();
        assert_eq!(light[0].0, "color");
        assert!(light[0].1.contains("#8bb79f") && light[0].1.contains("4.5:1"), "{light:?}");
        let empty = validate(RawBrand { welcome_by_entry: [("order".to_string(), " ".to_string())].into(), ..Default::default() }).unwrap_err();
        assert_eq!(empty[0].0, "welcome_by_entry.order");
    }

    #[test]
    fn the_entry_points_welcome_wins_over_the_channels() {
        let b = validate(RawBrand {
            color: Some("#1F6F4F".into()),
            welcome: Some("Hello".into()),
            welcome_by_entry: [("order-detail".to_string(), "About your order?".to_string())].into(),
        })
        .unwrap();
        assert_eq!(b.color.as_deref(), Some("#1f6f4f"));
        assert_eq!(b.welcome_for(Some("order-detail")).as_deref(), Some("About your order?"));
        assert_eq!(b.welcome_for(Some("home")).as_deref(), Some("Hello"));
        assert_eq!(b.welcome_for(None).as_deref(), Some("Hello"));
    }
}
