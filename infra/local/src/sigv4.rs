//! AWS Signature Version 4 (`Authorization: AWS4-HMAC-SHA256 ...`), checked as an AWS service
//! checks it: the canonical request rebuilt from the signed headers, the string to sign, the
//! signing key derived from the secret (`aws-sigv4`'s derivation, the one the SDK signs with)
//! and compared in constant time. The Lambda API uses it, so that only holders of the stack's
//! keys can run a function.

use axum::http::{HeaderMap, Method, Uri};
use im_adapters::LocalKeys;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

/// How far a request's `X-Amz-Date` may be from now, as AWS allows.
const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// SigV4's "URI encode": everything but the unreserved characters.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same for a path, whose `/` stay.
const ENCODE_PATH: &AsciiSet = &ENCODE.remove(b'/');

/// Why a request is refused: AWS's error type (`x-amzn-ErrorType`) and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    pub kind: &'static str,
    pub message: String,
}

fn refuse(kind: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { kind, message: message.into() }
}

/// The signed request the caller claims: `Credential`, `SignedHeaders`, `Signature`.
struct Claimed<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Claimed<'_>, Refusal> {
    let incomplete = |what: &str| refuse("IncompleteSignatureException", format!("Authorization header {what}"));
    let Some(fields) = value.strip_prefix("AWS4-HMAC-SHA256 ") else {
        return Err(incomplete("requires the AWS4-HMAC-SHA256 algorithm"));
    };
    let field = |name: &str| fields.split(',').map(str::trim).find_map(|f| f.strip_prefix(name)?.strip_prefix('='));
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (field("Credential"), field("SignedHeaders"), field("Signature"))
    else {
        return Err(incomplete("requires Credential, SignedHeaders and Signature"));
    };
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = parts[..] else {
        return Err(incomplete("has a malformed Credential"));
    };
    Ok(Claimed { access_key, date, region, service, signed_headers, signature })
}

/// `20261202T102233Z` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(text, format).ok()?.assume_utc();
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(at.unix_timestamp()).ok()?))
}

/// A header's canonical value: its values joined by commas, each trimmed, inner runs of
/// spaces collapsed.
fn canonical_value(headers: &HeaderMap, name: &str) -> String {
    let values = headers.get_all(name).iter().map(|v| {
        let text = String::from_utf8_lossy(v.as_bytes());
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    });
    values.collect::<Vec<_>>().join(",")
}

/// The query's canonical form: each name and value decoded, encoded strictly, sorted.
fn canonical_query(query: Option<&str>) -> String {
    let decode = |part: &str| percent_encoding::percent_decode_str(part).decode_utf8_lossy().into_owned();
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                utf8_percent_encode(&decode(name), ENCODE).to_string(),
                utf8_percent_encode(&decode(value), ENCODE).to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&")
}

/// Checks the request's signature with `keys`, for `service` in `region`, at `now`.
pub fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    keys: &LocalKeys,
    (region, service): (&str, &str),
    now: SystemTime,
) -> Result<(), Refusal> {
    let Some(authorization) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(refuse("MissingAuthenticationTokenException", "Missing Authentication Token"));
    };
    let claimed = parse_authorization(authorization)?;
    if claimed.access_key != keys.access_key {
        return Err(refuse("UnrecognizedClientException", "The security token included in the request is invalid."));
    }
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let Some(signed_at) = parse_amz_date(amz_date) else {
        return Err(refuse("IncompleteSignatureException", "Authorization requires a valid X-Amz-Date header"));
    };
    if !amz_date.starts_with(claimed.date) || claimed.date.len() != 8 {
        return Err(refuse("InvalidSignatureException", "Credential should be scoped to the date of X-Amz-Date"));
    }
    if claimed.region != region || claimed.service != service {
        let message = format!("Credential should be scoped to region '{region}' and service '{service}'");
        return Err(refuse("InvalidSignatureException", message));
    }
    let skew = now.duration_since(signed_at).or_else(|e| Ok::<_, Refusal>(e.duration()))?;
    if skew > MAX_SKEW {
        return Err(refuse(
            "InvalidSignatureException",
            format!("Signature expired: {amz_date} is more than 5 minutes from now"),
        ));
    }
    let signed: Vec<&str> = claimed.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(refuse("InvalidSignatureException", "'Host' must be a signed header"));
    }
    let canonical_headers: String =
        signed.iter().map(|name| format!("{name}:{}\n", canonical_value(headers, name))).collect();
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{}",
        utf8_percent_encode(uri.path(), ENCODE_PATH),
        canonical_query(uri.query()),
        claimed.signed_headers,
        hex::encode(Sha256::digest(body)),
    );
    let scope = format!("{}/{region}/{service}/aws4_request", claimed.date);
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
    let key = aws_sigv4::sign::v4::generate_signing_key(&keys.secret_key, signed_at, region, service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    let same = expected.len() == claimed.signature.len()
        && expected.bytes().zip(claimed.signature.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err(refuse(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
             Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};

    /// A request signed by `aws-sigv4`'s own signer (what the SDK uses) with `secret`.
    fn signed(secret: &str, uri: &str, body: &[u8], at: SystemTime) -> (Method, Uri, HeaderMap) {
        let identity = aws_credential_types::Credentials::new("local", secret, None, None, "test").into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("lambda")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let headers = [("host", "127.0.0.1:3001"), ("x-amz-invocation-type", "Event")];
        let request = SignableRequest::new("POST", uri, headers.into_iter(), SignableBody::Bytes(body)).unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut http = http::Request::builder().method("POST").uri(uri);
        for (name, value) in headers {
            http = http.header(name, value);
        }
        let mut http = http.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut http);
        let (parts, ()) = http.into_parts();
        (parts.method, parts.uri, parts.headers)
    }

    #[test]
    fn the_sdks_signature_verifies_and_any_change_does_not() {
        let keys = LocalKeys::default();
        let now = SystemTime::now();
        let uri = "http://127.0.0.1:3001/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A0%3Afunction%3Af/invocations?Qualifier=%24LATEST";
        let (method, uri, headers) = signed(&keys.secret_key, uri, b"{}", now);
        let at = ("us-east-1", "lambda");
        assert_eq!(verify(&method, &uri, &headers, b"{}", &keys, at, now), Ok(()));
        assert_eq!(
            verify(&method, &uri, &headers, b"{\"x\":1}", &keys, at, now).unwrap_err().kind,
            "InvalidSignatureException"
        );
        let mut moved = headers.clone();
        moved.insert("host", "evil.example:3001".parse().unwrap());
        assert_eq!(verify(&method, &uri, &moved, b"{}", &keys, at, now).unwrap_err().kind, "InvalidSignatureException");
        let later = now + Duration::from_secs(600);
        assert_eq!(
            verify(&method, &uri, &headers, b"{}", &keys, at, later).unwrap_err().kind,
            "InvalidSignatureException"
        );
        let (method, uri, wrong) = signed("not-the-secret", "http://127.0.0.1:3001/x", b"", now);
        assert_eq!(verify(&method, &uri, &wrong, b"", &keys, at, now).unwrap_err().kind, "InvalidSignatureException");
        let other = LocalKeys { access_key: "someone".into(), ..LocalKeys::default() };
        assert_eq!(
            verify(&method, &uri, &wrong, b"", &other, at, now).unwrap_err().kind,
            "UnrecognizedClientException"
        );
        let unsigned = HeaderMap::new();
        let refused = verify(&method, &uri, &unsigned, b"", &keys, at, now).unwrap_err();
        assert_eq!(refused.kind, "MissingAuthenticationTokenException");
    }
}
