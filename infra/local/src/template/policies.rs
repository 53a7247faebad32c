//! The functions' `Policies` as the local IAM check holds them: inline `Allow` statements,
//! resources resolved to local ARNs, and only the conditions it evaluates as AWS does.

use super::arns::LocalArns;
use super::{FunctionResource, TemplateError};

/// One `Allow` statement of a function's policy: actions and resources, `*` wildcards kept,
/// and the conditions that must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub conditions: Vec<Condition>,
}

/// One condition of a statement: `operator` on `key` (lower case, as IAM compares keys) with `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// The conditions the local IAM check evaluates as AWS does (`iam::conditions`). Any other is
/// a template error, so that a policy never grants more locally than on AWS.
const EVALUATED: [(&str, &str); 2] =
    [("ForAllValues:StringLike", "dynamodb:leadingkeys"), ("ForAllValues:StringEquals", "dynamodb:leadingkeys")];

/// A function's `Policies`: inline `Allow` statements, resources resolved to local ARNs.
pub(super) fn read_statements(function: &FunctionResource, arns: &LocalArns) -> Result<Vec<Statement>, TemplateError> {
    let id = function.id;
    let mut statements = vec![];
    for policy in &function.properties.policies {
        let Some(listed) = &policy.statement else {
            return Err(TemplateError::Shape(format!("{id}: only inline Statement policies are read")));
        };
        for statement in listed {
            if statement.effect != "Allow" {
                return Err(TemplateError::Shape(format!("{id}: only Allow statements are read")));
            }
            let resources = statement.resource.0.iter().map(|r| arns.resolve(r)).collect::<Result<_, _>>();
            let mut conditions = vec![];
            for (operator, keys) in &statement.condition {
                for (key, values) in keys {
                    let key = key.to_ascii_lowercase();
                    if !EVALUATED.contains(&(operator.as_str(), key.as_str())) {
                        let message = format!(
                            "{id}: the local IAM check does not evaluate {operator} on {key} (infra/local/src/iam)"
                        );
                        return Err(TemplateError::Shape(message));
                    }
                    conditions.push(Condition { operator: operator.clone(), key, values: values.0.clone() });
                }
            }
            statements.push(Statement {
                actions: statement.action.0.clone(),
                resources: resources.map_err(TemplateError::Shape)?,
                conditions,
            });
        }
    }
    Ok(statements)
}
