//! One single-line text field with the line editing of a shell prompt (readline's basics).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, TextArea};

/// One single-line text field.
#[derive(Debug, Clone)]
pub struct Field {
    ta: TextArea<'static>,
}

impl Field {
    pub fn new(text: &str) -> Field {
        let mut ta = TextArea::new(vec![text.replace(['\n', '\r'], " ")]);
        ta.move_cursor(CursorMove::End);
        Field { ta }
    }

    pub fn text(&self) -> &str {
        self.ta.lines().first().map(String::as_str).unwrap_or("")
    }

    /// Cursor position in characters.
    pub fn cursor(&self) -> usize {
        self.ta.cursor().1
    }

    /// Feeds one key; only keys that edit a single line get through. Returns whether the text changed.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if !is_edit_key(&key) {
            return false;
        }
        let before = self.text().to_string();
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            // Readline, not the textarea's own meanings (its Ctrl-U is undo).
            KeyCode::Char('u') if ctrl => {
                self.ta.delete_line_by_head();
            }
            KeyCode::Char('k') if ctrl => {
                self.ta.delete_line_by_end();
            }
            // Readline's unix-word-rubout: back to the previous whitespace ("10.9.9.12" whole).
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.text().chars().collect();
                let end = self.cursor().min(chars.len());
                let mut start = end;
                while start > 0 && chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !chars[start - 1].is_whitespace() {
                    start -= 1;
                }
                let kept: String = chars[..start].iter().chain(&chars[end..]).collect();
                *self = Field::new(&kept);
                self.ta.move_cursor(CursorMove::Jump(0, start as u16));
            }
            KeyCode::Char('a') if ctrl => self.ta.move_cursor(CursorMove::Head),
            KeyCode::Char('e') if ctrl => self.ta.move_cursor(CursorMove::End),
            KeyCode::Char('b') if ctrl => self.ta.move_cursor(CursorMove::Back),
            KeyCode::Char('f') if ctrl => self.ta.move_cursor(CursorMove::Forward),
            KeyCode::Char('h') if ctrl => {
                self.ta.delete_char();
            }
            _ => {
                self.ta.input(key);
            }
        }
        // A single line, always (no key here inserts a newline, but be sure).
        if self.ta.lines().len() > 1 {
            let joined = self.ta.lines().join("");
            *self = Field::new(&joined);
        }
        self.text() != before
    }

    pub fn set(&mut self, text: &str) {
        *self = Field::new(text);
    }
}

/// Keys a single-line field takes: printable characters and line editing.
pub fn is_edit_key(key: &KeyEvent) -> bool {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char(c) if !ctrl && !alt => !c.is_control(),
        // Readline's line editing: start/end, kill to end/start, word, back/forward, backspace.
        KeyCode::Char('a' | 'e' | 'k' | 'u' | 'w' | 'b' | 'f' | 'h') if ctrl && !alt => true,
        KeyCode::Backspace | KeyCode::Delete | KeyCode::Left | KeyCode::Right => true,
        KeyCode::Home | KeyCode::End => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn typed(f: &mut Field, s: &str) {
        for c in s.chars() {
            f.input(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn ctrl_w_deletes_back_to_the_previous_whitespace() {
        let mut f = Field::new("ssh 10.9.9.12");
        f.input(ctrl('w'));
        assert_eq!(f.text(), "ssh ");
        assert_eq!(f.cursor(), 4);
        f.input(ctrl('w'));
        assert_eq!(f.text(), "");
    }

    #[test]
    fn readline_basics() {
        let mut f = Field::new("192.168.50.11");
        // Ctrl-W deletes the word before the cursor (not the whole line).
        assert!(f.input(ctrl('w')));
        assert!(f.text().len() < "192.168.50.11".len(), "{:?}", f.text());
        // Ctrl-U clears to the start of the line (readline), it is not undo.
        f.set("old value");
        assert!(f.input(ctrl('u')));
        assert_eq!(f.text(), "");
        typed(&mut f, "world");
        // Ctrl-A to the start, type, Ctrl-E to the end, type.
        f.input(ctrl('a'));
        assert_eq!(f.cursor(), 0);
        typed(&mut f, "hello ");
        f.input(ctrl('e'));
        typed(&mut f, "!");
        assert_eq!(f.text(), "hello world!");
        // Ctrl-U in the middle keeps what follows the cursor.
        f.input(ctrl('a'));
        for _ in 0..6 {
            f.input(ctrl('f'));
        }
        f.input(ctrl('u'));
        assert_eq!(f.text(), "world!");
        assert_eq!(f.cursor(), 0);
        // Ctrl-K kills to the end.
        f.input(ctrl('f'));
        f.input(ctrl('k'));
        assert_eq!(f.text(), "w");
    }
}
