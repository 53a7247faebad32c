//! SNS's answers in XML (awsQuery): text escaped for XML, a success's and an error's body, and
//! the body of an IAM refusal of an SNS call.

/// The namespace of every SNS answer.
const XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

/// Text as XML character data or attribute value (a `\r` kept as a reference, which XML would
/// otherwise turn into `\n`).
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// `<ActionResponse>` with its `<ActionResult>` (left out when empty, as SNS leaves it out of
/// the answers without output) and the request id.
pub(super) fn success_xml(action: &str, result: &str, request_id: &str) -> String {
    let result = if result.is_empty() { String::new() } else { format!("<{action}Result>{result}</{action}Result>") };
    format!(
        "<{action}Response xmlns=\"{XMLNS}\">{result}<ResponseMetadata><RequestId>{request_id}</RequestId>\
         </ResponseMetadata></{action}Response>"
    )
}

/// SNS's error body: `<ErrorResponse><Error><Type><Code><Message>` and the request id.
pub(super) fn error_xml(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{XMLNS}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error>\
         <RequestId>{request_id}</RequestId></ErrorResponse>",
        escape(code),
        escape(message)
    )
}

/// The body of an IAM refusal of an SNS call (`AuthorizationError`, status 403).
pub fn access_denied_xml(message: &str) -> String {
    error_xml("AuthorizationError", message, &uuid::Uuid::new_v4().to_string())
}
