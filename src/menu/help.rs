//! The manual's list of the menu's models.

use super::built::PROBE;
use super::{ModelName, Table};

/// The width of the manual's lines.
const WIDTH: usize = 92;

/// The manual's list of models: each one's name and description, then its parameters (for
/// a table of 3 states and 2 actions), in lines of at most 92 characters.
pub fn models_help() -> String {
    let mut text = String::new();
    for name in ModelName::ALL {
        let params = name.build(&PROBE).map_or_else(
            |e| format!("({e})"),
            |b| {
                let per_state = name
                    .build(&Table {
                        n_states: 2,
                        ..PROBE
                    })
                    .is_ok_and(|two| two.names() != b.names());
                let mut names = b.names().join(", ");
                if per_state {
                    names += &format!(" (for {} states)", PROBE.n_states);
                }
                names
            },
        );
        text += &hanging(&format!("{:<16}{}", name.name(), name.description()), 18);
        text += &hanging(&format!("{:<16}parameters: {params}", ""), 18);
    }
    text
}

/// `line` indented by 2 and wrapped at the manual's width, continued `indent` columns in.
fn hanging(line: &str, indent: usize) -> String {
    let mut text = String::from("  ");
    let mut column = 2;
    for (i, word) in line.split(' ').enumerate() {
        let len = word.chars().count();
        if i > 0 && column + 1 + len > WIDTH && column > indent {
            text += &format!("\n{:indent$}", "");
            column = indent;
        } else if i > 0 {
            text.push(' ');
            column += 1;
        }
        text += word;
        column += len;
    }
    text + "\n"
}
