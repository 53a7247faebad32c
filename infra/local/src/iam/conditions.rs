//! The IAM condition keys the local check evaluates, as AWS evaluates them (the template
//! reader refuses any other). `dynamodb:LeadingKeys` is the set of partition key values a
//! DynamoDB call touches; `ForAllValues` holds when every one matches, and, as on AWS, when
//! the call has none (a Scan): that is why no policy here grants a Scan under such a condition.

use crate::template::{Condition, Statement};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, HashMap};

/// What a call offers the conditions: the partition key values it touches, when DynamoDB.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    pub leading_keys: Vec<String>,
}

/// Each table's partition key attribute, by table name (local name = logical id).
#[derive(Clone, Debug, Default)]
pub struct PartitionKeys(pub BTreeMap<String, String>);

impl PartitionKeys {
    /// The partition key value of an item or key of `table`, as a string (`S` or `N`).
    pub fn of(&self, table: &str, item: Option<&HashMap<String, AttributeValue>>) -> Vec<String> {
        let name = self.0.get(table).map(String::as_str).unwrap_or("pk");
        let value = item.and_then(|item| item.get(name));
        match value {
            Some(AttributeValue::S(v)) | Some(AttributeValue::N(v)) => vec![v.clone()],
            _ => vec![],
        }
    }

    /// The partition key value a Query's `pk = :v` (or `#k = :v`) key condition names.
    pub fn of_query(
        &self,
        table: &str,
        condition: Option<&str>,
        names: Option<&HashMap<String, String>>,
        values: Option<&HashMap<String, AttributeValue>>,
    ) -> Vec<String> {
        let name = self.0.get(table).map(String::as_str).unwrap_or("pk");
        let Some(condition) = condition else { return vec![] };
        for clause in condition.split(" AND ").chain(condition.split(" and ")) {
            let Some((left, right)) = clause.split_once('=') else { continue };
            let left = left.trim().trim_start_matches('(');
            let attribute = names.and_then(|n| n.get(left)).map(String::as_str).unwrap_or(left);
            if attribute == name {
                let placeholder = right.trim().trim_end_matches(')');
                let value = values.and_then(|v| v.get(placeholder));
                if let Some(AttributeValue::S(v)) | Some(AttributeValue::N(v)) = value {
                    return vec![v.clone()];
                }
            }
        }
        // A key condition not understood: a value no pattern matches, so a condition refuses.
        vec!["\u{0}unreadable key condition".into()]
    }
}

/// Whether every condition of `statement` holds for `context`.
pub fn hold(statement: &Statement, context: &Context) -> bool {
    statement.conditions.iter().all(|condition| holds(condition, context))
}

fn holds(condition: &Condition, context: &Context) -> bool {
    let values = match condition.key.as_str() {
        "dynamodb:leadingkeys" => &context.leading_keys,
        _ => return false,
    };
    match condition.operator.as_str() {
        "ForAllValues:StringLike" => {
            values.iter().all(|v| condition.values.iter().any(|pattern| super::matches(pattern, v)))
        }
        "ForAllValues:StringEquals" => values.iter().all(|v| condition.values.contains(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leading(operator: &str, patterns: &[&str]) -> Statement {
        Statement {
            actions: vec!["dynamodb:GetItem".into()],
            resources: vec!["*".into()],
            conditions: vec![Condition {
                operator: operator.into(),
                key: "dynamodb:leadingkeys".into(),
                values: patterns.iter().map(|p| p.to_string()).collect(),
            }],
        }
    }

    fn keys(values: &[&str]) -> Context {
        Context { leading_keys: values.iter().map(|v| v.to_string()).collect() }
    }

    #[test]
    fn leading_keys_string_like_holds_only_when_every_key_matches() {
        let sessions = leading("ForAllValues:StringLike", &["token#*", "sessions#*"]);
        assert!(hold(&sessions, &keys(&["token#ab12"])));
        assert!(hold(&sessions, &keys(&["token#ab12", "sessions#7"])));
        assert!(!hold(&sessions, &keys(&["user#7"])), "a profile and its password hash");
        assert!(!hold(&sessions, &keys(&["token#ab12", "user#7"])), "one key outside refuses the call");
        assert!(!hold(&sessions, &keys(&["Token#ab12"])), "StringLike is case-sensitive");
        assert!(hold(&sessions, &keys(&[])), "AWS: ForAllValues of no keys (a Scan) holds");
    }

    #[test]
    fn leading_keys_string_equals_holds_only_for_the_exact_keys() {
        let counter = leading("ForAllValues:StringEquals", &["counter#groups"]);
        assert!(hold(&counter, &keys(&["counter#groups"])));
        assert!(!hold(&counter, &keys(&["counter#users"])));
        assert!(!hold(&counter, &keys(&["counter#*"])));
    }

    #[test]
    fn partition_keys_are_read_from_items_keys_and_query_conditions() {
        let tables = PartitionKeys(BTreeMap::from([("UsersTable".to_string(), "pk".to_string())]));
        let item = HashMap::from([("pk".to_string(), AttributeValue::S("user#7".into()))]);
        assert_eq!(tables.of("UsersTable", Some(&item)), ["user#7"]);
        let values = HashMap::from([(":p".to_string(), AttributeValue::S("sessions#7".into()))]);
        let names = HashMap::from([("#k".to_string(), "pk".to_string())]);
        let query = |text| tables.of_query("UsersTable", Some(text), Some(&names), Some(&values));
        assert_eq!(query("pk = :p"), ["sessions#7"]);
        assert_eq!(query("#k = :p AND sk > :s"), ["sessions#7"]);
        assert_ne!(query("begins_with(pk, :p)"), ["sessions#7"], "not understood: no pattern matches it");
    }
}
