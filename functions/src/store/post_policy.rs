//! S3's browser-based upload ("Browser-Based Uploads Using POST (AWS Signature Version 4)"): a
//! form whose signed policy S3 itself enforces — the exact key, a size range, the type — so an
//! oversized or misplaced body is refused before anything is stored. A presigned PUT cannot say
//! any of that (it takes up to 5 GB). aws-sdk-rust has no presigned POST
//! (awslabs/aws-sdk-rust#863), so the policy is built here and signed with SigV4's derived
//! key from `aws-sigv4`; pure, and tested against AWS's own example.

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use base64::Engine;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use time::macros::format_description;
use time::OffsetDateTime;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// What one POST may store: this key of this bucket, of this type, 1 to `max_bytes` bytes.
pub struct Upload<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub max_bytes: u64,
}

/// Who signs, and for which region: the S3 client's own credentials (a Lambda's always carry
/// a session token, which S3 must then find in the form and the policy).
pub struct Signer<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
    pub region: &'a str,
}

/// A form to POST to `url` as `multipart/form-data`: these fields in order, then the file,
/// last (S3 ignores what follows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadForm {
    pub url: String,
    pub fields: Vec<(String, String)>,
}

/// The form for `upload`, valid for `lifetime` from `now`.
pub fn form(url: String, upload: &Upload, signer: &Signer, now: SystemTime, lifetime: Duration) -> UploadForm {
    let date = OffsetDateTime::from(now);
    let amz_date = date.format(format_description!("[year][month][day]T[hour][minute][second]Z")).unwrap_or_default();
    let scope_date = amz_date.get(..8).unwrap_or_default();
    let credential = format!("{}/{scope_date}/{}/s3/aws4_request", signer.access_key, signer.region);
    let mut fields = vec![
        ("key".to_string(), upload.key.to_string()),
        ("Content-Type".to_string(), upload.content_type.to_string()),
        ("x-amz-algorithm".to_string(), ALGORITHM.to_string()),
        ("x-amz-credential".to_string(), credential),
        ("x-amz-date".to_string(), amz_date),
    ];
    if let Some(token) = signer.session_token {
        fields.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    let policy = encode_policy(&policy(upload, &fields, date + lifetime));
    let signature = sign(&policy, signer.secret_key, now, signer.region);
    fields.push(("policy".to_string(), policy));
    fields.push(("x-amz-signature".to_string(), signature));
    UploadForm { url, fields }
}

/// The policy document: when it expires, and one exact condition per form field (S3 refuses a
/// field the policy does not name) beside the bucket and the size range.
fn policy(upload: &Upload, fields: &[(String, String)], expires: OffsetDateTime) -> Value {
    let expiration = expires
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"))
        .unwrap_or_default();
    let mut conditions = vec![json!({ "bucket": upload.bucket }), json!(["content-length-range", 1, upload.max_bytes])];
    conditions.extend(fields.iter().map(|(name, value)| json!(["eq", format!("${name}"), value])));
    json!({ "expiration": expiration, "conditions": conditions })
}

fn encode_policy(policy: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(policy.to_string())
}

/// The `x-amz-signature` of a base64 policy: HMAC-SHA256 with the SigV4 signing key of the
/// day, region and service `s3`, in hex.
pub fn sign(policy_base64: &str, secret_key: &str, at: SystemTime, region: &str) -> String {
    calculate_signature(generate_signing_key(secret_key, at, region, "s3"), policy_base64.as_bytes())
}

/// Where the form goes: the bucket on the configured endpoint (the local stack, path style), or
/// the bucket's own virtual-hosted endpoint on AWS.
pub fn bucket_url(endpoint: Option<&str>, bucket: &str, region: &str) -> String {
    match endpoint {
        Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's example policy ("Example: Browser-Based Upload using HTTP POST (Using AWS Signature
    /// Version 4)"), base64 of its text with CRLF line ends, and the signature AWS documents.
    const AWS_EXAMPLE_POLICY: &str = concat!(
        "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6",
        "ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFj",
        "bCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tl",
        "dC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5",
        "cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZl",
        "ci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoN",
        "CiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVx",
        "dWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAx",
        "NTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9",
    );
    const AWS_EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn field<'a>(form: &'a UploadForm, name: &str) -> Option<&'a str> {
        form.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn decoded_policy(form: &UploadForm) -> Value {
        let raw = base64::engine::general_purpose::STANDARD.decode(field(form, "policy").unwrap()).unwrap();
        serde_json::from_slice(&raw).unwrap()
    }

    const UPLOAD: Upload =
        Upload { bucket: "audio-bucket", key: "upload/7/ab.amr", content_type: "audio/amr", max_bytes: 1 << 20 };
    const SIGNER: Signer =
        Signer { access_key: "AKID", secret_key: "secret", session_token: None, region: "eu-west-1" };

    #[test]
    fn signs_awss_documented_example() {
        // 2015-12-29T00:00:00Z, the example's x-amz-date.
        let signature = sign(AWS_EXAMPLE_POLICY, AWS_EXAMPLE_SECRET, at(1_451_347_200), "us-east-1");
        assert_eq!(signature, "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e");
    }

    #[test]
    fn the_policy_pins_the_key_the_size_the_type_and_every_field() {
        // 2026-12-01T10:20:30Z
        let form = form("https://b/".into(), &UPLOAD, &SIGNER, at(1_796_120_430), Duration::from_secs(900));
        let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
        let expected =
            ["key", "Content-Type", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"];
        assert_eq!(names, expected);
        assert_eq!(field(&form, "x-amz-date"), Some("20261201T102030Z"));
        assert_eq!(field(&form, "x-amz-credential"), Some("AKID/20261201/eu-west-1/s3/aws4_request"));
        let policy = decoded_policy(&form);
        assert_eq!(policy["expiration"], "2026-12-01T10:35:30.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        assert!(conditions.contains(&json!({ "bucket": "audio-bucket" })));
        assert!(conditions.contains(&json!(["content-length-range", 1, 1 << 20])));
        assert!(conditions.contains(&json!(["eq", "$key", "upload/7/ab.amr"])));
        assert!(conditions.contains(&json!(["eq", "$Content-Type", "audio/amr"])));
        for (name, value) in &form.fields[..5] {
            assert!(conditions.contains(&json!(["eq", format!("${name}"), value])), "{name} is not pinned");
        }
        let signature = sign(field(&form, "policy").unwrap(), "secret", at(1_796_120_430), "eu-west-1");
        assert_eq!(field(&form, "x-amz-signature"), Some(signature.as_str()));
        assert_ne!(sign(field(&form, "policy").unwrap(), "other", at(1_796_120_430), "eu-west-1"), signature);
    }

    #[test]
    fn a_session_token_is_a_field_and_a_condition() {
        let signer = Signer { session_token: Some("tok/en+"), ..SIGNER };
        let form = form("https://b/".into(), &UPLOAD, &signer, at(1_796_120_430), Duration::from_secs(900));
        assert_eq!(field(&form, "x-amz-security-token"), Some("tok/en+"));
        let policy = decoded_policy(&form);
        assert!(policy["conditions"].as_array().unwrap().contains(&json!(["eq", "$x-amz-security-token", "tok/en+"])));
    }

    #[test]
    fn the_form_goes_to_the_bucket() {
        assert_eq!(
            bucket_url(Some("http://127.0.0.1:9000/"), "audio-bucket", "x"),
            "http://127.0.0.1:9000/audio-bucket"
        );
        assert_eq!(bucket_url(None, "audio-bucket", "eu-west-1"), "https://audio-bucket.s3.eu-west-1.amazonaws.com/");
    }
}
