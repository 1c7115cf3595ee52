//! Colours and emphasis. With `NO_COLOR` set (to anything non-empty) every style falls back to
//! modifiers only (bold, reversed, underlined); state is always also carried by a symbol or a word.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to a non-empty value (<https://no-color.org>).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn plain() -> Theme {
        Theme { color: false }
    }

    fn fg(&self, c: Color, fallback: Modifier) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new().add_modifier(fallback)
        }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green, Modifier::empty())
    }
    pub fn err(&self) -> Style {
        self.fg(Color::Red, Modifier::BOLD)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow, Modifier::empty())
    }
    pub fn running(&self) -> Style {
        self.fg(Color::Cyan, Modifier::BOLD)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn title(&self) -> Style {
        self.fg(Color::Cyan, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }
    /// A key name in the footer.
    pub fn key(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// The selected row of a list.
    pub fn selected(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Rgb(40, 60, 90))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    /// The SIMULATION badge.
    pub fn sim(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// The header bar.
    pub fn header(&self) -> Style {
        if self.color {
            Style::new().fg(Color::White).bg(Color::Rgb(30, 40, 60))
        } else {
            Style::new()
        }
    }
    /// The current step in the header's breadcrumb.
    pub fn crumb(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Cyan)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// The editable part of a form field.
    pub fn input(&self) -> Style {
        if self.color {
            Style::new().bg(Color::Rgb(35, 35, 45))
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED)
        }
    }
    /// The focused cell of a table: a brighter field, bold.
    pub fn focus_cell(&self) -> Style {
        if self.color {
            Style::new()
                .bg(Color::Rgb(60, 80, 120))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
    pub fn cursor(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// Dialog borders.
    pub fn dialog(&self) -> Style {
        self.fg(Color::Yellow, Modifier::BOLD)
    }
    pub fn danger(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    /// A focused button.
    pub fn button_on(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        }
    }
    pub fn button_off(&self) -> Style {
        self.dim()
    }
    pub fn gauge(&self) -> Style {
        self.fg(Color::Green, Modifier::empty())
    }
}
