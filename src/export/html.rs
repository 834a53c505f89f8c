//! The report as one self-contained HTML page.

use std::io::{self, Write};

/// Writes the report as HTML.
pub fn write_report(_out: &mut dyn Write, _report: &crate::report::Report) -> io::Result<()> {
    Err(io::Error::other("the HTML format is being built"))
}
