//! Exact line numbers of a CSV input for every line end: LF, CRLF and CR alike.
//!
//! The csv parser reads records correctly for every line end but counts lines by LF only:
//! in a CRLF file its numbers are one too small, in a CR-only file always 1, and a record
//! after blank lines gets the first blank line's number. Here a line starts after every
//! LF, every CR not followed by LF, and every CRLF; a record's line is the line of its
//! first byte that is not a line end.

/// Where each line of an input starts: exact 1-based line numbers for the records a `csv`
/// reader parses from the same bytes, whatever the line ends (the reader of
/// [`read_csv`](super::read_csv) uses it, and so does the `rlgrad` program for its other
/// CSV inputs).
///
/// ```
/// use rlgrad::data::Lines;
/// let bytes = b"a,b\r\n1,2\r\n\r\n3,4\r\n";
/// let lines = Lines::new(bytes);
/// // The third record ("3,4") starts after a blank line: line 4.
/// let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
/// let mut record = csv::ByteRecord::new();
/// let mut found = Vec::new();
/// while reader.read_byte_record(&mut record).unwrap() {
///     found.push(lines.line_of_record(record.position().unwrap().byte()));
/// }
/// assert_eq!(found, [2, 4]);
/// ```
pub struct Lines<'a> {
    bytes: &'a [u8],
    /// Byte offset of the start of line k + 1 (line 1 starts at 0).
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    /// Scans the input once.
    pub fn new(bytes: &'a [u8]) -> Self {
        let mut starts = Vec::new();
        for (i, &b) in bytes.iter().enumerate() {
            let ends_line = match b {
                b'\n' => true,
                b'\r' => bytes.get(i + 1) != Some(&b'\n'),
                _ => false,
            };
            if ends_line {
                starts.push(i + 1);
            }
        }
        Lines { bytes, starts }
    }

    /// The 1-based line of the record whose parse began at byte `offset`: the first byte from
    /// there that is not a line end (the parser's record position can sit on the blank lines
    /// before it).
    pub fn line_of_record(&self, offset: u64) -> u64 {
        let mut i = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while i < self.bytes.len() && matches!(self.bytes[i], b'\n' | b'\r') {
            i += 1;
        }
        // Lines before the one holding byte i: the starts at or before i.
        (self.starts.partition_point(|&s| s <= i) + 1) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_end_counts_once() {
        for (text, offset, line) in [
            ("a\nb\nc", 4, 3),
            ("a\r\nb\r\nc", 6, 3),
            ("a\rb\rc", 4, 3),
            ("a\n\n\nb", 2, 4), // the record's position on the first blank line
            ("a\r\n\r\nb", 3, 3),
            ("abc", 0, 1),
        ] {
            assert_eq!(
                Lines::new(text.as_bytes()).line_of_record(offset),
                line,
                "{text:?}"
            );
        }
    }
}
