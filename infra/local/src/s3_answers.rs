//! Where s3s 0.14 answers otherwise than S3, S3's answer in its place, so a client of the local
//! stack sees what AWS would send it:
//! - a POST upload whose policy condition fails: s3s checks a form as S3 does (the signature,
//!   the expiration, every condition, `content-length-range` as 400 `EntityTooLarge` /
//!   `EntityTooSmall`, a field the policy does not name as 403) but answers a failed `eq` /
//!   `starts-with` with 400 `InvalidPolicyDocument`, where S3 answers 403 `AccessDenied`
//!   "Invalid according to Policy: Policy Condition failed";
//! - a GET or HEAD with `If-Match`: s3s-fs ignores it, S3 answers 412 `PreconditionFailed`
//!   when the object's ETag is another (`x-amz-copy-source-if-match` s3s-fs honours itself).

use http::{header, HeaderValue, Method, StatusCode};
use s3s::{Body, HttpResponse};

/// What of a request decides how S3 would have answered it.
pub struct Asked {
    method: Method,
    if_match: Option<HeaderValue>,
}

impl Asked {
    pub fn of<B>(request: &http::Request<B>) -> Asked {
        Asked { method: request.method().clone(), if_match: request.headers().get(header::IF_MATCH).cloned() }
    }

    /// s3s's `response` as S3 would have answered the request.
    pub fn answer(&self, response: HttpResponse) -> HttpResponse {
        match self.method {
            Method::GET | Method::HEAD if self.stale(&response) => error(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
            ),
            Method::POST if response.status() == StatusCode::BAD_REQUEST => {
                let failed = response.body().bytes().and_then(|body| condition_failed(&String::from_utf8_lossy(&body)));
                match failed {
                    Some(condition) => error(
                        StatusCode::FORBIDDEN,
                        "AccessDenied",
                        &format!("Invalid according to Policy: Policy Condition failed: {condition}"),
                    ),
                    None => response,
                }
            }
            _ => response,
        }
    }

    /// Whether a successful answer is of another object than `If-Match` names.
    fn stale(&self, response: &HttpResponse) -> bool {
        let Some(wanted) = self.if_match.as_ref().and_then(|v| v.to_str().ok()) else { return false };
        let etag = response.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).unwrap_or("");
        let unquoted = |tag: &str| tag.trim().trim_start_matches("W/").trim_matches('"').to_string();
        response.status().is_success()
            && wanted.trim() != "*"
            && !wanted.split(',').any(|w| unquoted(w) == unquoted(etag))
    }
}

/// An S3 error document with its status.
fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = HttpResponse::new(Body::from(xml.clone()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(xml.len()));
    response
}

/// The failed condition in s3s's error document of a failed policy condition; `None` for any
/// other error (a policy that does not parse stays a 400, as on S3).
fn condition_failed(error: &str) -> Option<String> {
    if !error.contains("<Code>InvalidPolicyDocument</Code>") {
        return None;
    }
    let message = error.split_once("<Message>")?.1.split_once("</Message>")?.0;
    message.strip_prefix("Policy condition ").map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: StatusCode, body: &str) -> HttpResponse {
        let mut response = HttpResponse::new(Body::from(body.to_string()));
        *response.status_mut() = status;
        response
    }

    const FAILED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidPolicyDocument</Code>\
        <Message>Policy condition 'eq' for field 'key' failed: expected 'upload/1/a.amr', got 'upload/2/a.amr'</Message></Error>";

    fn post(status: StatusCode, body: &str) -> HttpResponse {
        Asked { method: Method::POST, if_match: None }.answer(answer(status, body))
    }

    #[test]
    fn a_failed_condition_is_s3s_403() {
        let response = post(StatusCode::BAD_REQUEST, FAILED);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body = String::from_utf8(response.body().bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
        assert!(body.contains("Invalid according to Policy: Policy Condition failed: 'eq' for field 'key'"), "{body}");
        assert_eq!(response.headers()[header::CONTENT_LENGTH], body.len().to_string().as_str());
    }

    #[test]
    fn other_answers_pass_unchanged() {
        let too_large = "<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds</Message></Error>";
        assert_eq!(post(StatusCode::BAD_REQUEST, too_large).status(), 400);
        let put = Asked { method: Method::PUT, if_match: None };
        assert_eq!(put.answer(answer(StatusCode::BAD_REQUEST, FAILED)).status(), 400);
        let unparsable =
            "<Error><Code>InvalidPolicyDocument</Code><Message>failed to parse POST policy</Message></Error>";
        assert_eq!(post(StatusCode::BAD_REQUEST, unparsable).status(), 400);
        assert_eq!(post(StatusCode::NO_CONTENT, "").status(), 204);
    }

    #[test]
    fn a_read_of_another_etag_than_if_match_is_412() {
        let read = |if_match: Option<&'static str>, status: StatusCode| {
            let mut response = answer(status, "#!AMR");
            response.headers_mut().insert(header::ETAG, HeaderValue::from_static("\"abc\""));
            let asked = Asked { method: Method::GET, if_match: if_match.map(HeaderValue::from_static) };
            asked.answer(response).status()
        };
        assert_eq!(read(Some("\"abc\""), StatusCode::OK), 200);
        assert_eq!(read(Some("abc"), StatusCode::PARTIAL_CONTENT), 206);
        assert_eq!(read(Some("*"), StatusCode::OK), 200);
        assert_eq!(read(None, StatusCode::OK), 200);
        assert_eq!(read(Some("\"old\""), StatusCode::PARTIAL_CONTENT), 412);
        assert_eq!(read(Some("\"old\", \"abc\""), StatusCode::OK), 200);
        assert_eq!(read(Some("\"old\""), StatusCode::NOT_FOUND), 404);
    }
}
