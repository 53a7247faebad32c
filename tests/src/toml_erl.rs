//! Checks that a text is readable by simple_im's hand-written TOML reader,
//! `toml:binary_2_term/1` (wudixiaotie/simple_im `apps/simple_im/src/tool/toml.erl`;
//! simple_im_client `src/toml.erl` is the same reader, with `drop_space/1`
//! in place of `utility:strip_head/1`). Line numbers `toml.erl:N` below are
//! the simple_im copy.
//!
//! The reader is not a TOML parser: it has no escapes, no booleans, no
//! signs, no floats, no comments, and it crashes (or silently misreads) on
//! anything else. This checker accepts a conservative subset of what it
//! reads correctly; the error names the line and the toml.erl rule.
//!
//! Accepted grammar (whitespace `ws` = space, tab, CR, LF; toml.erl:176-183):
//!
//! ```text
//! doc     = "" | table+                      ; must start at byte 0 with "[["
//! table   = "[[" name "]]" body
//! body    = (ws+ pair)* (sub body')*          ; see separation rules
//! sub     = "[" name ("." name)+ "]"          ; first name = enclosing [[name]]
//! pair    = name [ \t]* "=" [ \t]* value      ; value then ws or end
//! name    = [A-Za-z0-9_-]+
//! value   = string | integer | array
//! string  = '"' (char | escape)* '"'           ; char: any but '"' and '\'
//! escape  = '\' ('\' | b | f | n | r | t | u hex{4} | U hex{8})
//!                                            ; toml.erl keeps it literally, but
//!                                            ; no `\"`: toml.erl ends the string there
//! integer = "0" | [1-9][0-9]*
//! array   = "[" ws* [item (ws* "," ws* item)* ws* [","]] ws* "]"
//! item    = string | integer
//! ```
//!
//! Separation: a header with no pairs must be followed directly by the next
//! `[` (no whitespace) or the end; a `[[x]]` at the end may have trailing
//! whitespace, a `[x.y]` at the end may not. Keys may not repeat and may not
//! collide with subtable names. Note that toml.erl returns tables, pairs and
//! array items in reverse order (toml.erl:83, :113, :243/:260).

use std::collections::HashMap;

/// Checks `text` against the toml.erl grammar above; `Err` says the line and why.
pub fn check(text: &str) -> Result<(), String> {
    Parser { s: text.as_bytes(), i: 0 }.doc()
}

/// What a dotted path inside one `[[table]]` names.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Value,
    Table,
    ImplicitTable,
}

/// What the previous item was; it decides which separators may follow.
#[derive(Clone, Copy, PartialEq)]
enum Prev {
    Start,
    EmptyTop,
    EmptySub,
    Value,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn line(&self, at: usize) -> usize {
        let at = at.min(self.s.len());
        self.s[..at].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn err<T>(&self, at: usize, why: &str) -> Result<T, String> {
        Err(format!("line {}: {}", self.line(at), why))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, lit: &str) -> bool {
        self.s[self.i..].starts_with(lit.as_bytes())
    }

    /// toml.erl:176-183 and strip_head/drop_space skip exactly these four bytes.
    fn skip_ws(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
        self.i - start
    }

    fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn name(&mut self) -> &'a str {
        let start = self.i;
        while matches!(self.peek(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')) {
            self.i += 1;
        }
        std::str::from_utf8(&self.s[start..self.i]).unwrap_or("")
    }

    fn doc(&mut self) -> Result<(), String> {
        // toml.erl:84-85: the empty text reads as an empty list.
        if self.s.is_empty() {
            return Ok(());
        }
        // toml.erl:80-85: binary_2_term has clauses only for "[[" at byte 0 and for "".
        if !self.at("[[") {
            let ws = self.skip_ws();
            let why = if self.peek().is_none() {
                "whitespace-only text: toml.erl:80-85 accepts only \"\" or text starting with [["
            } else if ws > 0 && self.at("[[") {
                "leading whitespace before the first [[table]]: toml.erl:80 needs \"[[\" at byte 0"
            } else if self.at("[") {
                "a [table] at top level: toml.erl:80 only reads [[table]] (array of tables) at top level"
            } else {
                "top-level key before the first [[table]]: toml.erl:80-85 needs \"[[\" at byte 0"
            };
            return self.err(self.i, why);
        }
        let mut top = "";
        let mut tree: HashMap<Vec<&'a str>, Kind> = HashMap::new();
        let mut cur: Vec<&'a str> = Vec::new();
        let mut prev = Prev::Start;
        loop {
            let ws_at = self.i;
            let ws = self.skip_ws();
            match self.peek() {
                None => {
                    // toml.erl:153-155: after an empty [x.y], whitespace reaches parse_value([]) and crashes.
                    if ws > 0 && prev == Prev::EmptySub {
                        return self.err(ws_at, "whitespace after an empty [sub.table] at the end: toml.erl:153-155 then crashes in parse_value");
                    }
                    return Ok(());
                }
                Some(b'[') => {
                    // toml.erl:106-110/153: after an empty header, parse_key (174-190) swallows "ws[..." as a key.
                    if ws > 0 && matches!(prev, Prev::EmptyTop | Prev::EmptySub) {
                        return self.err(ws_at, "whitespace between an empty table header and the next header: toml.erl parse_key (174-190) would read the next header as a key");
                    }
                    if self.at("[[") {
                        top = self.top_header()?;
                        tree.clear();
                        cur.clear();
                        prev = Prev::EmptyTop;
                    } else {
                        cur = self.sub_header(top, &mut tree)?;
                        prev = Prev::EmptySub;
                    }
                }
                Some(_) => {
                    let at = self.i;
                    let key = self.pair()?;
                    let mut full = cur.clone();
                    full.push(key);
                    match tree.get(&full) {
                        // toml.erl:113 keeps both pairs; keyfind then sees only one of them.
                        Some(Kind::Value) => {
                            return self.err(
                                at,
                                &format!("duplicate key `{}`: toml.erl:113 keeps both and lookups see only one", key),
                            )
                        }
                        // toml.erl:160-168 merge_attr crashes when a key and a subtable share a name.
                        Some(_) => {
                            return self.err(
                                at,
                                &format!(
                                "key `{}` collides with a subtable of that name: toml.erl:160-168 merge_attr crashes",
                                key
                            ),
                            )
                        }
                        None => tree.insert(full, Kind::Value),
                    };
                    prev = Prev::Value;
                }
            }
        }
    }

    /// toml.erl:88-94 reads the name up to the first "]]"; we want a bare name.
    fn top_header(&mut self) -> Result<&'a str, String> {
        let at = self.i;
        self.i += 2;
        let name = self.name();
        if name.is_empty() || !self.at("]]") {
            return self.err(at, "a [[table]] name must be [A-Za-z0-9_-]+ closed at once by \"]]\" (toml.erl:88-94 keeps spaces, dots and quotes in the name)");
        }
        self.i += 2;
        Ok(name)
    }

    /// toml.erl:131-140 splits "[a.b.c]" on "." and matches the first part to the [[a]] name.
    fn sub_header(&mut self, top: &str, tree: &mut HashMap<Vec<&'a str>, Kind>) -> Result<Vec<&'a str>, String> {
        let at = self.i;
        self.i += 1;
        let mut segs = Vec::new();
        loop {
            let seg = self.name();
            if seg.is_empty() {
                return self.err(at, "a [sub.table] name must be dot-separated [A-Za-z0-9_-]+ parts (toml.erl:137 splits on \".\" and keeps the rest)");
            }
            segs.push(seg);
            match self.peek() {
                Some(b'.') => self.i += 1,
                Some(b']') => break,
                _ => {
                    return self
                        .err(at, "a [sub.table] name must be dot-separated [A-Za-z0-9_-]+ parts closed by \"]\"")
                }
            }
        }
        self.i += 1;
        // toml.erl:137: `[NameBin|ChildNameList] = re:split(...)` is a badmatch otherwise.
        if segs[0] != top {
            return self.err(
                at,
                &format!(
                    "[{}] does not start with the enclosing [[{}]] name: toml.erl:137 badmatch",
                    segs.join("."),
                    top
                ),
            );
        }
        // toml.erl:151: with no child part, parse_child returns before reading the keys.
        if segs.len() < 2 {
            return self.err(at, &format!("[{}] repeats the [[{}]] name alone: toml.erl:151 returns before its keys, which then break parse_child_name", top, top));
        }
        let path: Vec<&'a str> = segs[1..].to_vec();
        for n in 1..path.len() {
            match tree.get(&path[..n]) {
                Some(Kind::Value) => {
                    return self.err(
                        at,
                        &format!(
                            "[{}] goes through the key `{}`: toml.erl:160-168 merge_attr crashes",
                            segs.join("."),
                            path[n - 1]
                        ),
                    )
                }
                Some(_) => {}
                None => {
                    tree.insert(path[..n].to_vec(), Kind::ImplicitTable);
                }
            }
        }
        match tree.get(&path) {
            Some(Kind::Value) => {
                return self.err(
                    at,
                    &format!(
                        "[{}] collides with a key of that name: toml.erl:160-168 merge_attr crashes",
                        segs.join(".")
                    ),
                )
            }
            // toml.erl:160-168 merges repeats (and crashes on a repeated key); TOML forbids them.
            Some(Kind::Table) => return self.err(at, &format!("[{}] is defined twice", segs.join("."))),
            _ => {
                tree.insert(path.clone(), Kind::Table);
            }
        }
        Ok(path)
    }

    /// `key = value`, then whitespace or the end; returns the key.
    fn pair(&mut self) -> Result<&'a str, String> {
        let at = self.i;
        match self.peek() {
            // toml.erl:174-190 has no comments: "# x" becomes part of the next key.
            Some(b'#') => {
                return self.err(at, "comments are not supported: toml.erl:174-190 reads \"#...\" as part of a key")
            }
            // toml.erl:189: quotes would stay inside the key.
            Some(b'"' | b'\'') => {
                return self.err(at, "quoted keys are not supported: toml.erl:189 keeps the quotes in the key")
            }
            _ => {}
        }
        let key = self.name();
        if key.is_empty() {
            return self.err(at, "expected a key [A-Za-z0-9_-]+ or a table header");
        }
        self.skip_blank();
        match self.peek() {
            Some(b'=') => self.i += 1,
            // toml.erl:189: "a.b" is one literal key there, not a dotted key.
            Some(b'.') => return self.err(at, "dotted keys are not supported: toml.erl:189 reads \"a.b\" as one key"),
            // toml.erl:176-183 drops whitespace inside keys, so "a b = 1" reads as "ab".
            _ => return self.err(at, "expected \"=\" after a bare key on the same line (toml.erl:174-190 reads everything up to \"=\" as the key, dropping whitespace)"),
        }
        self.skip_blank();
        self.value()?;
        // toml.erl:236-238/209-211: a value ends without a separator, so the rest runs into the next key.
        match self.peek() {
            None | Some(b' ' | b'\t' | b'\r' | b'\n') => Ok(key),
            _ => self.err(self.i, "a value must be followed by whitespace or the end (toml.erl:236-238 stops at the first non-digit and reads on as a key)"),
        }
    }

    /// toml.erl:193-206: after `=` only '"', '[' and digits are values.
    fn value(&mut self) -> Result<(), String> {
        let at = self.i;
        match self.peek() {
            None | Some(b'\r' | b'\n') => self.err(at, "missing value after \"=\" on the same line"),
            Some(b'"') => self.string(),
            Some(b'0'..=b'9') => self.integer(),
            Some(b'[') => self.array(),
            _ => self.bad_value(at),
        }
    }

    /// Names the unsupported value at `at`; toml.erl:205-206 sends it to parse_integer_value.
    fn bad_value<T>(&self, at: usize) -> Result<T, String> {
        let rest = &self.s[at..];
        let why = if rest.starts_with(b"true") || rest.starts_with(b"false") {
            "booleans are not supported: toml.erl:205-206 reads true/false as an integer and crashes (list_to_integer(\"\"))"
        } else if rest.starts_with(b"'") {
            "literal '...' strings are not supported: toml.erl:193-206 only knows '\"', '[' and digits"
        } else if rest.starts_with(b"-") || rest.starts_with(b"+") {
            "signed numbers are not supported: toml.erl:216-237 reads digits only, list_to_integer(\"\") crashes"
        } else if rest.starts_with(b"{") {
            "inline tables are not supported: toml.erl:193-206 has no '{' rule"
        } else {
            "unsupported value: toml.erl:193-206 reads only \"strings\", [arrays] and unsigned integers"
        };
        self.err(at, why)
    }

    /// toml.erl:209-213: the string ends at the next '"'; no escapes, '\' stays literal.
    fn string(&mut self) -> Result<(), String> {
        let at = self.i;
        if self.at("\"\"\"") {
            return self.err(
                at,
                "multi-line \"\"\" strings are not supported: toml.erl:209-211 reads \"\" then runs into the next key",
            );
        }
        self.i += 1;
        loop {
            match self.peek() {
                None => return self.err(at, "unterminated string: toml.erl:209-213 crashes at the end"),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                // toml.erl keeps escapes literally; only an escaped quote ends its string early.
                Some(b'\\') => self.escape()?,
                Some(_) => self.i += 1,
            }
        }
    }

    /// A standard TOML escape: toml.erl shows it literally but ends the string where a standard
    /// parser does, except for `\"`, which ends it early there (toml.erl:209-213).
    fn escape(&mut self) -> Result<(), String> {
        let at = self.i;
        let hex = |n: usize, s: &[u8]| s.len() >= n && s[..n].iter().all(u8::is_ascii_hexdigit);
        let len = match self.s.get(at + 1) {
            Some(b'"') => {
                return self
                    .err(at, "escaped quote in a string: toml.erl:209-213 has no escapes, so \\\" ends the string")
            }
            Some(b'\\' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
            Some(b'u') if hex(4, &self.s[at + 2..]) => 6,
            Some(b'U') if hex(8, &self.s[at + 2..]) => 10,
            _ => return self.err(at, "invalid escape in a string"),
        };
        self.i += len;
        Ok(())
    }

    /// toml.erl:216-238: digits 0-9 only; the first other byte ends the integer.
    fn integer(&mut self) -> Result<(), String> {
        let at = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let why = match self.peek() {
            Some(b'.' | b'e' | b'E') => Some("floats are not supported: toml.erl:216-238 reads digits only"),
            Some(b'-' | b':' | b'T') => Some("datetimes are not supported: toml.erl:216-238 reads digits only"),
            Some(b'_') => Some("underscores in integers are not supported: toml.erl:216-238 reads digits only"),
            Some(b'x' | b'o' | b'b') => {
                Some("hex/octal/binary integers are not supported: toml.erl:216-238 reads decimal digits only")
            }
            _ if self.i - at > 1 && self.s[at] == b'0' => {
                Some("leading zeros: invalid TOML (toml.erl:237 would read it as decimal)")
            }
            _ => None,
        };
        match why {
            Some(w) => self.err(at, w),
            None => Ok(()),
        }
    }

    /// toml.erl:241-260: items are "strings" or unsigned integers; [] is allowed.
    fn array(&mut self) -> Result<(), String> {
        let at = self.i;
        self.i += 1;
        loop {
            self.skip_ws();
            let item = self.i;
            match self.peek() {
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                None => return self.err(at, "unterminated array (toml.erl:256-257 silently accepts it)"),
                Some(b'"') => self.string()?,
                Some(b'0'..=b'9') => self.integer()?,
                // toml.erl:258-259 reads '[' as an integer and crashes.
                Some(b'[') => {
                    return self.err(
                        item,
                        "nested arrays are not supported: toml.erl:258-259 reads '[' as an integer and crashes",
                    )
                }
                _ => return self.bad_value(item),
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                None => return self.err(at, "unterminated array (toml.erl:256-257 silently accepts it)"),
                _ => {
                    return self.err(
                        self.i,
                        "array items must be separated by \",\" (toml.erl:258-259 reads anything else as an integer)",
                    )
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn ok(t: &str) {
        if let Err(e) = check(t) {
            panic!("expected Ok for {:?}, got {}", t, e);
        }
    }

    fn bad(t: &str, want: &str) {
        match check(t) {
            Ok(()) => panic!("expected Err containing {:?} for {:?}", want, t),
            Err(e) => assert!(e.contains(want), "error for {:?} was {:?}, wanted {:?}", t, e, want),
        }
    }

    #[test]
    fn accepts_what_simple_im_writes() {
        ok("[[response]]\nr = \"login\"\nstatus = 0\n[response.user]\nid = 10001\n");
        // server_handler.erl login answer as toml:term_2_binary writes it (one line, spaces).
        ok("[[response]] status = 0 server = \"127.0.0.1\" port = \"1987\" [response.user] token = \"q+/Ab==\" id = 10001");
        ok("[[response]] status = 404");
        ok("[[response]] status = 1 reason = \"Token Error\"");
        ok("[[rr]] id = \"abc_01\" s = 0");
        ok("[[rr]] id = \"abc_01\" t = \"login\" s = 1 r = \"Token not match\"");
        // simple_im_client's login and ack frames.
        ok("[[r]] id = \"abc_01\" t = \"login\" [r.user] id = 2 d = \"android\" token = \"tok\"");
        ok("[[a]] id=\"msg_id_1448185739\" d = \"android\"");
        ok("[[n]] id = \"n_1448185739\" ts = 1448185739 t = \"delete_group_member\" g_id = 2 gm_id = 2");
    }

    #[test]
    fn accepts_other_forms() {
        ok("");
        ok("[[a]] id = \"x\" [[m]] id = \"y\" t = \"text\" c = \"hi\" to = 2 from = 1 d = \"android\"");
        ok("[[m]] id = \"1\"\r\n[[m]] id = \"2\"\r\n");
        ok("[[x]]\nids = [1, 2, 3]\nnames = [\"a\", \"b\",]\nn = []\nm = [\n  1,\n  \"two\"\n]\n");
        ok("[[a]] id = \"1\"\n[[b]]\n");
        ok("[[a]][[b]] x = 1");
        ok("[[a]][a.b]");
        ok("[[a]]x = 0");
        ok("[[a]][a.b.c]\nx = 1\n[a.b]\ny = 2\n[a.d]\nz = 3\n");
        ok("[[m]]\nc = \"h\u{e9}llo = [x]\nworld\"\nempty = \"\"\n");
        ok("[[a]]\nk_-9 = 18446744073709551616000\n");
        ok("[[a]] x = 1 [a.b] x = 2 [[a]] x = 3");
    }

    #[test]
    fn rejects_unsupported_values() {
        bad("[[a]]\nok = true\n", "boolean");
        bad("[[a]]\nok = false", "boolean");
        bad("[[a]]\ns = 'x'\n", "literal");
        bad("[[a]]\nx = 1.5\n", "float");
        bad("[[a]]\nx = 1e5\n", "float");
        bad("[[a]]\nx = -1\n", "signed");
        bad("[[a]]\nx = +1\n", "signed");
        bad("[[a]]\nx = 1979-05-27T07:32:00Z\n", "datetime");
        bad("[[a]]\nx = 1_000\n", "underscore");
        bad("[[a]]\nx = 0x1f\n", "hex");
        bad("[[a]]\nx = 007\n", "leading zeros");
        bad("[[a]]\nx = { y = 1 }\n", "inline");
        bad("[[a]]\nx = [[1]]\n", "nested");
        bad("[[a]]\nx = [true]\n", "boolean");
        bad("[[a]]\nx = [1 2]\n", "separated");
        bad("[[a]]\nx = [1,\n", "unterminated array");
        bad("[[a]]\nx = inf\n", "unsupported value");
        bad("[[a]]\nx =\n1\n", "missing value");
        bad("[[a]]\nx = ", "missing value");
    }

    #[test]
    fn rejects_string_forms() {
        bad("[[a]]\ns = \"a\\\"b\"\n", "escaped quote");
        bad("[[a]]\ns = \"a\\qb\"\n", "invalid escape");
        ok("[[a]]\ns = \"a\\nb \\\\ \\u0022 \\\\\"\n");
        bad("[[a]]\ns = \"\"\"x\"\"\"\n", "multi-line");
        bad("[[a]]\ns = \"abc\n", "unterminated string");
        bad("[[a]] x = \"1\"y = 2", "followed by whitespace");
        bad("[[a]] x = 1[[b]] y = 2", "followed by whitespace");
    }

    #[test]
    fn rejects_document_shape() {
        bad("x = 1\n[[a]]\ny = 2\n", "top-level key");
        bad("\n[[a]]\nx = 1\n", "leading whitespace");
        bad(" ", "whitespace-only");
        bad("[a]\nx = 1\n", "[table] at top level");
        bad("[[ a ]]\nx = 1\n", "[[table]] name");
        bad("[[a.b]]\nx = 1\n", "[[table]] name");
        bad("[[\"a\"]]\nx = 1\n", "[[table]] name");
        bad("[[a]]\n[[b]]\nx = 1\n", "empty table header");
        bad("[[a]] [a.b] x = 1", "empty table header");
        bad("[[a]] x = 1 [a.b] [[c]] y = 1", "empty table header");
        bad("[[a]] x = 1 [a.b]\n", "empty [sub.table] at the end");
    }

    #[test]
    fn rejects_keys_and_subtables() {
        bad("[[a]]\n# comment\nx = 1\n", "comments");
        bad("[[a]]\nx = 1 # comment\n", "comments");
        bad("[[a]]\n\"x\" = 1\n", "quoted keys");
        bad("[[a]]\na.b = 1\n", "dotted keys");
        bad("[[a]]\na b = 1\n", "expected \"=\"");
        bad("[[a]]\nx\n= 1\n", "expected \"=\"");
        bad("[[a]]\n= 1\n", "expected a key");
        bad("[[a]]\nx = 1\nx = 2\n", "duplicate key");
        bad("[[a]] x = 1 [b.c] y = 1", "does not start with");
        bad("[[a]] x = 1 [a] y = 1", "repeats the [[a]] name");
        bad("[[a]] x = 1 [a.b] y = 1 [a.b] z = 1", "defined twice");
        bad("[[a]] b = 1 [a.b] x = 1", "collides with a key");
        bad("[[a]] b = 1 [a.b.c] x = 1", "goes through the key");
        bad("[[a]][a.b.c] x = 1 [a.b] c = 5", "collides with a subtable");
        bad("[[a]] x = 1 [a.b x = 1", "[sub.table] name");
        bad("[[a]] x = 1 [a..b] x = 1", "[sub.table] name");
    }

    #[test]
    fn error_names_the_line() {
        assert!(check("[[a]]\nx = 1\ny = true\n").unwrap_err().starts_with("line 3: "));
        assert!(check("[[a]]\nx = 1\n\n[[b]]\ns = 'q'").unwrap_err().starts_with("line 5: "));
        assert!(check("x = 1").unwrap_err().starts_with("line 1: "));
    }
}
