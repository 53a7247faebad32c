//! S3's own answer to a POST upload its policy refuses. s3s (0.14) checks a POST form as S3
//! does (the signature, the expiration, every condition, `content-length-range` as 400
//! `EntityTooLarge` / `EntityTooSmall`, a field the policy does not name as 403), but answers a
//! failed `eq` / `starts-with` condition with 400 `InvalidPolicyDocument`, where S3 answers 403
//! `AccessDenied` "Invalid according to Policy: Policy Condition failed". This puts S3's answer
//! in its place, so a client of the local stack sees what AWS would send it.

use http::{header, HeaderValue, Method, StatusCode};
use s3s::{Body, HttpResponse};

/// `response` as S3 would have answered a request of `method`.
pub fn as_s3_answers(method: &Method, mut response: HttpResponse) -> HttpResponse {
    if method != Method::POST || response.status() != StatusCode::BAD_REQUEST {
        return response;
    }
    let Some(body) = response.body().bytes() else { return response };
    let Some(xml) = condition_failed(&String::from_utf8_lossy(&body)) else { return response };
    *response.status_mut() = StatusCode::FORBIDDEN;
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(xml.len()));
    *response.body_mut() = Body::from(xml);
    response
}

/// S3's 403 for s3s's error document of a failed policy condition; `None` for any other error.
fn condition_failed(error: &str) -> Option<String> {
    if !error.contains("<Code>InvalidPolicyDocument</Code>") {
        return None;
    }
    let message = error.split_once("<Message>")?.1.split_once("</Message>")?.0;
    let condition = message.strip_prefix("Policy condition ")?;
    Some(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
         <Message>Invalid according to Policy: Policy Condition failed: {condition}</Message></Error>"
    ))
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

    #[test]
    fn a_failed_condition_is_s3s_403() {
        let response = as_s3_answers(&Method::POST, answer(StatusCode::BAD_REQUEST, FAILED));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body = String::from_utf8(response.body().bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
        assert!(body.contains("Invalid according to Policy: Policy Condition failed: 'eq' for field 'key'"), "{body}");
        assert_eq!(response.headers()[header::CONTENT_LENGTH], body.len().to_string().as_str());
    }

    #[test]
    fn other_answers_pass_unchanged() {
        let too_large = "<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds</Message></Error>";
        assert_eq!(as_s3_answers(&Method::POST, answer(StatusCode::BAD_REQUEST, too_large)).status(), 400);
        assert_eq!(as_s3_answers(&Method::PUT, answer(StatusCode::BAD_REQUEST, FAILED)).status(), 400);
        let unparsable =
            "<Error><Code>InvalidPolicyDocument</Code><Message>failed to parse POST policy</Message></Error>";
        assert_eq!(as_s3_answers(&Method::POST, answer(StatusCode::BAD_REQUEST, unparsable)).status(), 400);
        assert_eq!(as_s3_answers(&Method::POST, answer(StatusCode::NO_CONTENT, "")).status(), 204);
    }
}
