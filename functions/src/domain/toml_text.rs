//! TOML as simple_im's own reader (`toml.erl` in wudixiaotie/simple_im and its client) reads
//! it, and as any standard TOML parser reads it the same way. toml.erl is not a TOML parser:
//! it needs `[[` at the first byte, has no booleans, no signs, no floats, no literal strings,
//! no escapes and no arrays of tables below the top. So a document is written as:
//! - `[[response]]` first, the other tables after it in the document's order; empty lists and
//!   nulls are left out; a top-level value that is not a list of tables (`more`, ...) is folded
//!   into the first table, where simple_im puts such fields;
//! - booleans as `1` / `0` (simple_im's own convention), other non-`u64` numbers as strings;
//! - strings with no escape that could end them early in toml.erl: `"` is written `\u0022`
//!   (toml.erl ends a string at the first `"`); `\` and control characters get their standard
//!   escapes, which toml.erl shows literally and standard parsers decode;
//! - objects inside a table as `[table.key]` sub-tables after the table's own keys; a list of
//!   objects inside a table as `[table.key.0]`, `[table.key.1]`... (toml.erl cannot read more).

use serde_json::Value;
use std::fmt::Write;

/// The document as TOML text; a document that is not an object is the empty text.
pub fn write(doc: &Value) -> String {
    let Value::Object(doc) = doc else { return String::new() };
    let mut tables: Vec<(&str, Vec<&Value>)> = Vec::new();
    let mut loose: Vec<(&str, &Value)> = Vec::new();
    for (name, value) in doc {
        match table_rows(value) {
            Some(rows) if rows.is_empty() => {}
            Some(rows) => tables.push((name, rows)),
            None if is_absent(value) => {}
            None => loose.push((name, value)),
        }
    }
    // `response` leads: simple_im's client reads the first table as the outcome.
    if let Some(at) = tables.iter().position(|(name, _)| *name == "response") {
        let response = tables.remove(at);
        tables.insert(0, response);
    }
    let mut out = String::new();
    let mut first_row = true;
    if tables.is_empty() && !loose.is_empty() {
        write_row(&mut out, "response", &Value::Null, &loose);
    }
    for (name, rows) in &tables {
        for row in rows {
            if !out.is_empty() {
                out.push('\n');
            }
            write_row(&mut out, name, row, if first_row { &loose } else { &[] });
            first_row = false;
        }
    }
    out
}

/// A list whose items are all objects is a list of tables (`[[name]]`); nulls in it are dropped.
fn table_rows(value: &Value) -> Option<Vec<&Value>> {
    let Value::Array(items) = value else { return None };
    let rows: Vec<&Value> = items.iter().filter(|v| !v.is_null()).collect();
    rows.iter().all(|v| v.is_object()).then_some(rows)
}

/// An object's fields in order (none for anything else).
fn fields_of(value: &Value) -> impl Iterator<Item = (&str, &Value)> {
    value.as_object().into_iter().flatten().map(|(k, v)| (k.as_str(), v))
}

/// Nulls, empty lists and empty objects are not written: TOML has no null, toml.erl no `[]` of tables.
fn is_absent(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().all(Value::is_null),
        Value::Object(_) => fields_of(value).all(|(_, v)| is_absent(v)),
        _ => false,
    }
}

/// One `[[name]]` entry: its keys (and the folded top-level ones), then its sub-tables.
fn write_row(out: &mut String, name: &str, row: &Value, folded: &[(&str, &Value)]) {
    let _ = writeln!(out, "[[{}]]", key(name));
    let extra = folded.iter().copied().filter(|(k, _)| row.get(k).is_none());
    let fields: Vec<(&str, &Value)> = fields_of(row).chain(extra).collect();
    write_body(out, name, &fields);
}

/// Keys first, then each object (or list of objects) as `[path.key]` below them.
fn write_body(out: &mut String, path: &str, fields: &[(&str, &Value)]) {
    let mut subtables: Vec<(String, &Value)> = Vec::new();
    for &(name, value) in fields {
        if is_absent(value) {
            continue;
        }
        match (value.is_object(), table_rows(value)) {
            (true, _) => subtables.push((format!("{path}.{}", key(name)), value)),
            (false, Some(rows)) => subtables
                .extend(rows.into_iter().enumerate().map(|(i, row)| (format!("{path}.{}.{i}", key(name)), row))),
            (false, None) => {
                let _ = writeln!(out, "{} = {}", key(name), scalar_or_list(value));
            }
        }
    }
    for (sub_path, table) in subtables {
        let fields: Vec<(&str, &Value)> = fields_of(table).collect();
        // A sub-table with no keys of its own is implied by its children: toml.erl reads a
        // header followed by whitespace and another header as a key.
        if fields.iter().any(|(_, v)| !is_absent(v) && !v.is_object() && table_rows(v).is_none()) {
            let _ = writeln!(out, "[{sub_path}]");
        }
        write_body(out, &sub_path, &fields);
    }
}

fn scalar_or_list(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().filter(|v| !v.is_null()).map(scalar).collect();
            format!("[{}]", items.join(", "))
        }
        other => scalar(other),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Bool(b) => u8::from(*b).to_string(),
        Value::Number(n) if n.is_u64() => n.to_string(),
        Value::Number(n) => string(&n.to_string()),
        Value::String(s) => string(s),
        other => string(&other.to_string()),
    }
}

/// A bare key when it is one (`[A-Za-z0-9_-]+`, all our keys), else a quoted one.
fn key(name: &str) -> String {
    let bare = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        name.to_string()
    } else {
        string(name)
    }
}

fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\u0022"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::write;
    use serde_json::json;

    #[test]
    fn response_first_and_loose_values_folded_into_it() {
        let doc = json!({"n": [], "m": [{"id": "a"}], "more": false, "response": [{"status": 0}]});
        assert_eq!(write(&doc), "[[response]]\nstatus = 0\nmore = 0\n\n[[m]]\nid = \"a\"\n");
        assert_eq!(write(&json!({"more": true})), "[[response]]\nmore = 1\n");
        assert_eq!(write(&json!({})), "");
    }

    #[test]
    fn subtables_follow_their_keys_and_nulls_are_dropped() {
        let doc = json!({"response": [{"status": 0, "user": {"id": 1, "token": "t"}, "port": "80", "x": null}]});
        let text = write(&doc);
        assert_eq!(text, "[[response]]\nstatus = 0\nport = \"80\"\n[response.user]\nid = 1\ntoken = \"t\"\n");
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(back["response"][0]["user"]["token"].as_str(), Some("t"));
    }

    #[test]
    fn strings_survive_both_readers() {
        let text = write(&json!({"m": [{"c": "say \"hi\"\n\\ \u{1}\tend", "n": -3, "ok": [true, 2]}]}));
        assert_eq!(text, "[[m]]\nc = \"say \\u0022hi\\u0022\\n\\\\ \\u0001\tend\"\nn = \"-3\"\nok = [1, 2]\n");
        let back: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(back["m"][0]["c"].as_str(), Some("say \"hi\"\n\\ \u{1}\tend"));
    }

    #[test]
    fn lists_of_objects_below_the_top_become_numbered_subtables() {
        let text = write(&json!({"g": [{"id": 1, "members": [{"id": 2}, {"id": 3}], "deep": {"a": {"b": 1}}}]}));
        assert_eq!(text, "[[g]]\nid = 1\n[g.members.0]\nid = 2\n[g.members.1]\nid = 3\n[g.deep.a]\nb = 1\n");
    }
}
