//! The only place (with `main`) that writes to stdout and stderr, so the output contract of
//! `docs/cli.md` is kept in one module: one compact JSON document per line for `--json`, aligned tables and
//! lines for people. Every write returns its `io::Result`, so a closed pipe (`synccenter … | head`) travels
//! up to `main`, which exits 0 on `BrokenPipe` instead of panicking like `println!`.
//!
//! It does not decide *what* to print; the commands build values and lines, and pure helpers such as
//! [`table`] format them.

use std::io::{self, Write};

use serde::Serialize;

/// Writes `value` as one compact JSON line on stdout.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes one line on stdout.
pub(crate) fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes lines on stdout.
pub(crate) fn lines<S: AsRef<str>>(lines: &[S]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    for l in lines {
        out.write_all(l.as_ref().as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Writes raw bytes produced by `f` on stdout (completion scripts).
pub(crate) fn raw(f: impl FnOnce(&mut dyn Write)) -> io::Result<()> {
    let mut out = io::stdout().lock();
    f(&mut out);
    out.flush()
}

/// Writes one line on stderr (notes for people that must not pollute stdout).
#[allow(clippy::print_stderr, reason = "this module is the CLI's output")]
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}

/// Formats rows under headers as left-aligned columns separated by two spaces; the last column is not
/// padded. Pure, so that it is tested without a terminal.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let fmt_row = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, cell) in cells.enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            if i + 1 < widths.len() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = Vec::with_capacity(rows.len() + 1);
    out.push(fmt_row(&mut headers.iter().copied()));
    for row in rows {
        out.push(fmt_row(&mut row.iter().map(String::as_str)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["nas".to_owned(), "NAS box".to_owned(), "x".to_owned()],
            vec!["usb-stick".to_owned(), "U".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["ID", "NAME", "TEXT"], &rows),
            vec!["ID         NAME     TEXT", "nas        NAS box  x", "usb-stick  U",]
        );
    }
}
