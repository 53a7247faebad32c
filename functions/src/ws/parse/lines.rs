//! TOML frames as lines of text: what simple_im's one-line frames need before TOML reads them,
//! and the order of `[[table]]` headers, which a parsed `toml::Table` does not keep.

/// A table header, as a line opens it.
#[derive(Debug, PartialEq)]
pub(super) enum Header<'t> {
    /// `[[m]]`: one more table of the array `m`.
    Array(&'t str),
    /// `[x]` or `[x.y]`: a plain table, under the top-level key `x`.
    Plain(&'t str),
}

/// The table header a line opens, if it opens one.
pub(super) fn header(line: &str) -> Option<Header<'_>> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("[[") {
        return rest.split_once("]]").map(|(name, _)| Header::Array(name.trim()));
    }
    let (name, _) = line.strip_prefix('[')?.split_once(']')?;
    name.split('.').next().map(|key| Header::Plain(key.trim()))
}

/// simple_im's encoder writes a frame on one line (`[[a]] id = "a_02"`), which TOML does not
/// allow: puts each table header and each `key = value` on a line of its own.
pub fn one_key_per_line(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '[' {
            let start = i;
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
            while i < chars.len() && chars[i] == ']' {
                i += 1;
            }
            out.push('\n');
            out.extend(&chars[start..i]);
            out.push('\n');
        } else {
            let start = i;
            while i < chars.len() && chars[i] != '=' {
                i += 1;
            }
            let key: String = chars[start..i].iter().collect();
            i = (i + 1).min(chars.len());
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let value_start = i;
            i = end_of_value(&chars, i);
            let value: String = chars[value_start..i].iter().collect();
            out.push_str(&format!("{} = {value}\n", key.trim()));
        }
    }
    out
}

/// Where a TOML value that starts at `i` ends: a string, an array or inline table (balanced,
/// strings inside skipped), or a bare value up to the next space.
fn end_of_value(chars: &[char], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < chars.len() {
        match chars[i] {
            quote @ ('"' | '\'') => {
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    i += if chars[i] == '\\' && quote == '"' { 2 } else { 1 };
                }
                i += 1;
                if depth == 0 {
                    return i.min(chars.len());
                }
                continue;
            }
            '[' | '{' => depth += 1,
            ']' | '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            c if c.is_whitespace() && depth == 0 => return i,
            _ => {}
        }
        i += 1;
    }
    chars.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_line_frame_gets_a_line_per_header_and_key() {
        let frame = r#"[[r]] id = "a_01" t = "login" [r.user] id = 1 d = "ipad" token = "tok en=""#;
        let expected = "\n[[r]]\nid = \"a_01\"\nt = \"login\"\n\n[r.user]\nid = 1\nd = \"ipad\"\ntoken = \"tok en=\"\n";
        assert_eq!(one_key_per_line(frame), expected);
    }

    #[test]
    fn headers_are_named_and_other_lines_are_not() {
        assert_eq!(header("  [[ gm ]] # group"), Some(Header::Array("gm")));
        assert_eq!(header("[r.user]"), Some(Header::Plain("r")));
        assert_eq!(header("id = \"[[a]]\""), None);
    }
}
