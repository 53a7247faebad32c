//! Property tests of everything that reads client input: socket frames in both dialects, form
//! bodies, ids, phone numbers, emails, device names, messages, audio. Whatever the input, a
//! parser answers (a value or a reason) and never panics; what it accepts keeps its rules.
//! `PROPTEST_CASES` sets the cases per property (256 by default; `make fuzz` runs 20 000).

use im_functions::domain::ids::{ConversationId, DeviceName, EntryId, GroupId, Target, UserId};
use im_functions::domain::message::{check_amr, Outgoing, AMR_MAGIC, MAX_AUDIO_BYTES, MAX_CONTENT_CHARS};
use im_functions::domain::names::{Email, Phone};
use im_functions::http::parse_form;
use im_functions::ws::parse::{one_key_per_line, parse_all};
use proptest::prelude::*;
use serde_json::{json, Value};

include!("common/vocabulary.rs");

/// Any JSON value, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(FIELDS).prop_map(String::from), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A TOML value as text: the types a field may have, and some it should not.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        ".{0,30}".prop_map(|s| format!("{:?}", s)),
        Just("[1, \"a\"]".to_string()),
        Just("{ id = 1 }".to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
        "[^\n]{0,20}",
    ]
}

/// A simple_im frame: tables of random fields, one per line or all on one line.
fn toml_frame() -> impl Strategy<Value = String> {
    let table =
        (prop::sample::select(TABLES), prop::collection::vec((prop::sample::select(FIELDS), toml_value()), 0..6))
            .prop_map(|(name, fields)| {
                let body: String = fields.iter().map(|(k, v)| format!("{k} = {v}\n")).collect();
                format!("[[{name}]]\n{body}")
            });
    (prop::collection::vec(table, 1..4), any::<bool>()).prop_map(|(tables, one_line)| {
        if one_line {
            tables.concat().replace('\n', " ")
        } else {
            tables.concat()
        }
    })
}

proptest! {
    #[test]
    fn any_text_frame_is_answered_without_panicking(text in ".{0,300}") {
        for frame in parse_all(&text) {
            if let Err(bad) = frame {
                prop_assert!(!bad.reason.is_empty());
            }
        }
        let _ = one_key_per_line(&text);
    }

    #[test]
    fn json_frames_of_any_shape_are_answered(event in prop::sample::select(EVENTS), data in json_value(), extra in json_value()) {
        for frame in [json!({"event": event, "data": data}), json!({"event": event, "data": extra.clone()}), extra] {
            for parsed in parse_all(&frame.to_string()) {
                if let Err(bad) = parsed {
                    prop_assert!(!bad.reason.is_empty());
                }
            }
        }
    }

    #[test]
    fn toml_frames_of_any_shape_are_answered(frame in toml_frame()) {
        for parsed in parse_all(&frame) {
            if let Err(bad) = parsed {
                prop_assert!(!bad.reason.is_empty());
            }
        }
    }

    #[test]
    fn a_form_body_reads_back_what_was_encoded(fields in prop::collection::btree_map("[a-z_]{1,12}", ".{0,40}", 0..8)) {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &fields {
            body.append_pair(k, v);
        }
        let parsed = parse_form(&body.finish()).expect("a well-formed form parses");
        for (k, v) in &fields {
            prop_assert_eq!(parsed.get(k).and_then(Value::as_str), Some(v.as_str()));
        }
    }

    #[test]
    fn any_form_body_is_answered(text in ".{0,200}") {
        let _ = parse_form(&text);
    }

    #[test]
    fn conversation_ids_read_back_and_junk_is_refused(a in any::<u64>(), b in any::<u64>(), junk in ".{0,40}") {
        for id in [ConversationId::Feed(UserId(a)), ConversationId::direct(UserId(a), UserId(b)), ConversationId::Group(GroupId(b))] {
            prop_assert_eq!(id.to_string().parse::<ConversationId>().ok(), Some(id));
            let entry = EntryId::of(id, b);
            prop_assert_eq!(entry.to_string().parse::<EntryId>().ok(), Some(entry));
        }
        let _ = junk.parse::<ConversationId>();
        let _ = junk.parse::<EntryId>();
        let _ = EntryId::seq_in(&junk, ConversationId::Group(GroupId(a)));
    }

    #[test]
    fn what_sign_up_accepts_keeps_its_rules(raw in prop_oneof![".{0,80}", "[+0-9 ()-]{0,24}", "[a-z0-9.+-]{0,20}@[a-z0-9.-]{0,20}"]) {
        if let Ok(phone) = Phone::parse(&raw) {
            let phone = phone.as_str();
            prop_assert!(!phone.is_empty() && phone.chars().all(|c| c.is_ascii_digit() || c == '+'), "{}", phone);
        }
        if let Ok(email) = Email::parse(&raw) {
            let email = email.as_str();
            prop_assert!(email.contains('@') && email.len() <= 254, "{}", email);
        }
        if let Ok(device) = DeviceName::parse(Some(&raw)) {
            prop_assert!(!device.as_str().is_empty() && device.as_str().chars().count() <= 16);
        }
    }

    #[test]
    fn what_a_send_accepts_keeps_its_rules(id in ".{0,80}", kind in ".{0,8}", content in ".{0,5000}", to in any::<u64>()) {
        for kind in [kind.as_str(), "text", "audio"] {
            if let Ok(out) = Outgoing::new(id.clone(), kind, content.clone(), Target::User(UserId(to))) {
                prop_assert!((1..=64).contains(&out.client_id.len()));
                prop_assert!((1..=MAX_CONTENT_CHARS).contains(&out.content.chars().count()));
            }
        }
    }

    #[test]
    fn audio_is_accepted_only_as_bounded_amr(head in prop::collection::vec(any::<u8>(), 0..64), amr in any::<bool>(), kind in ".{0,20}") {
        let bytes = if amr { [AMR_MAGIC, &head].concat() } else { head };
        for declared in [None, Some(kind.as_str())] {
            if check_amr(&bytes, declared).is_ok() {
                prop_assert!(bytes.starts_with(AMR_MAGIC) && bytes.len() <= MAX_AUDIO_BYTES);
            }
        }
    }
}
