//! Configuration errors that always name the file, the line and the field.
//!
//! Every problem found in `config.toml` becomes one [`ConfigError`]; a load that finds several returns them all
//! in a [`ConfigErrors`], in file order. This module only formats and locates; it does not decide what is wrong.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a configuration file.
///
/// Displays as `path:line:column: field: reason`, the format compilers use, so editors can jump to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file that was read (or that `parse` was told the text came from).
    pub path: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// 1-based column in characters, when the problem has a place in the file.
    pub column: Option<usize>,
    /// Dotted path of the field, such as `handler[1].item[0].command`; `(file)` for the file as a whole and
    /// `(syntax)` for text that is not TOML.
    pub field: String,
    /// What is wrong, in words.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}: {}", self.field, self.reason)
    }
}

/// Every problem found in one configuration file, in file order; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The errors, in file order.
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Turns byte spans of one source text into line and column numbers.
#[derive(Debug)]
pub(crate) struct Locator<'a> {
    pub(crate) path: &'a Path,
    pub(crate) src: &'a str,
}

impl Locator<'_> {
    /// 1-based line and column (in characters) of byte offset `at`.
    pub(crate) fn line_col(&self, at: usize) -> (usize, usize) {
        let at = floor_char_boundary(self.src, at.min(self.src.len()));
        let before = &self.src[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// An error at `span` (or without a place when `None`).
    pub(crate) fn error(
        &self,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> ConfigError {
        let (line, column) = match span {
            Some(span) => {
                let (l, c) = self.line_col(span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        ConfigError { path: self.path.to_path_buf(), line, column, field: field.into(), reason: reason.into() }
    }
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_path_line_column_field_reason() {
        let e = ConfigError {
            path: "/c/config.toml".into(),
            line: Some(3),
            column: Some(7),
            field: "handler[0].id".into(),
            reason: "is empty".into(),
        };
        assert_eq!(e.to_string(), "/c/config.toml:3:7: handler[0].id: is empty");
        let e = ConfigError { line: None, column: None, ..e };
        assert_eq!(e.to_string(), "/c/config.toml: handler[0].id: is empty");
    }

    #[test]
    fn line_col_counts_characters() {
        let l = Locator { path: Path::new("x"), src: "a = 1\nbé = 2\n" };
        assert_eq!(l.line_col(0), (1, 1));
        assert_eq!(l.line_col(6), (2, 1));
        assert_eq!(l.line_col(9), (2, 3));
        assert_eq!(l.line_col(999), (3, 1));
    }
}
