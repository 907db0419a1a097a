//! Enter sends, except while an input method (Hangul, kana, pinyin…) is composing: that Enter
//! commits the syllable, and sending then would send half a word.
//!
//! Browsers disagree on how they say "composing": Chrome sets `isComposing`, Safari fires the
//! committing keydown *after* `compositionend` with keyCode 229, some Android keyboards only send
//! 229. All three are checked, plus our own compositionstart/compositionend tracking.

/// The parts of a `keydown` event that decide whether it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyPress {
    /// `event.key == "Enter"`.
    pub enter: bool,
    /// Shift held: a new line, not a send.
    pub shift: bool,
    /// `event.isComposing`.
    pub is_composing: bool,
    /// `event.keyCode` (229 = the IME is handling this key).
    pub key_code: u32,
}

/// keyCode browsers report while an IME owns the key.
pub const IME_KEY_CODE: u32 = 229;

/// Tracks composition on one text field.
#[derive(Debug, Default, Clone)]
pub struct Composition {
    composing: bool,
}

impl Composition {
    /// `compositionstart`.
    pub fn start(&mut self) {
        self.composing = true;
    }

    /// `compositionend`.
    pub fn end(&mut self) {
        self.composing = false;
    }

    /// Composing now, as far as the events told us.
    pub fn is_composing(&self) -> bool {
        self.composing
    }

    /// True when this keydown should send the message (and the default new line be prevented).
    pub fn enter_sends(&self, key: KeyPress) -> bool {
        key.enter && !key.shift && !self.composing && !key.is_composing && key.key_code != IME_KEY_CODE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTER: KeyPress = KeyPress { enter: true, shift: false, is_composing: false, key_code: 13 };

    #[test]
    fn plain_enter_sends_and_shift_enter_does_not() {
        let c = Composition::default();
        assert!(c.enter_sends(ENTER));
        assert!(!c.enter_sends(KeyPress { shift: true, ..ENTER }));
        assert!(!c.enter_sends(KeyPress { enter: false, key_code: 65, ..ENTER }));
    }

    #[test]
    fn enter_during_hangul_composition_never_sends() {
        let mut c = Composition::default();
        c.start(); // 한 being composed
        assert!(!c.enter_sends(ENTER), "our own tracking says composing");
        assert!(!c.enter_sends(KeyPress { is_composing: true, key_code: IME_KEY_CODE, ..ENTER }));
        c.end();
        assert!(c.enter_sends(ENTER), "after the syllable is committed, Enter sends");
    }

    #[test]
    fn chrome_is_composing_flag_alone_blocks_send() {
        let c = Composition::default();
        assert!(!c.enter_sends(KeyPress { is_composing: true, ..ENTER }));
    }

    #[test]
    fn safari_commit_keydown_after_compositionend_does_not_send() {
        let mut c = Composition::default();
        c.start();
        c.end(); // Safari ends composition first…
        // …then delivers the committing Enter with keyCode 229.
        assert!(!c.enter_sends(KeyPress { key_code: IME_KEY_CODE, ..ENTER }));
    }
}
