//! Users: sign-up, login/logout and look-ups (seed 001 and simple_im's login).
//!
//! Items in the users table: `user#<id>` (the profile and password hash), `phone#<phone>` and
//! `email#<email>` (uniqueness claims pointing at the id, written in the same transaction as the
//! profile), `token#<sha256>` (sessions) and `counter#users` (the id sequence).

use crate::api::{path_param, ApiError, ApiResult, Fields, Reply};
use crate::db::{b, n, now_secs, s, Item, ItemExt};
use crate::sessions::{self, Caller};
use crate::Ctx;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use http::StatusCode;
use lambda_http::Request;
use serde_json::{json, Value};

/// A user's public profile, with seed 004's privacy flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub id: u64,
    pub phone: String,
    pub email: Option<String>,
    pub name: String,
    pub nick_name: String,
    pub age: Option<u64>,
    pub gender: Option<String>,
    pub avatar: String,
    pub show_user_name: bool,
    pub show_age: bool,
    pub show_gender: bool,
}

impl Profile {
    fn from_item(item: &Item) -> Option<Profile> {
        Some(Profile {
            id: item.u64("id")?,
            phone: item.str("phone")?.to_string(),
            email: item.str("email").map(str::to_string),
            name: item.str("name")?.to_string(),
            nick_name: item.str("nick_name").unwrap_or_default().to_string(),
            age: item.u64("age"),
            gender: item.str("gender").map(str::to_string),
            avatar: item.str("avatar").unwrap_or_default().to_string(),
            show_user_name: item.bool("show_user_name").unwrap_or(true),
            show_age: item.bool("show_age").unwrap_or(true),
            show_gender: item.bool("show_gender").unwrap_or(true),
        })
    }

    /// The profile as others see it: hidden fields are null (left out in TOML). The owner sees
    /// everything, including the email.
    pub fn view(&self, viewer: Option<u64>) -> Value {
        let own = viewer == Some(self.id);
        json!({
            "id": self.id,
            "name": (own || self.show_user_name).then_some(&self.name),
            "nick_name": self.nick_name,
            "phone": self.phone,
            "avatar": self.avatar,
            "age": if own || self.show_age { self.age } else { None },
            "gender": if own || self.show_gender { self.gender.as_deref() } else { None },
            "email": if own { self.email.as_deref() } else { None },
        })
    }
}

/// Phone numbers as simple_im uses them: digits with an optional leading `+`.
fn parse_phone(raw: &str) -> ApiResult<String> {
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if (5..=20).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit()) {
        Ok(raw.to_string())
    } else {
        Err(ApiError::bad_request("phone must be 5 to 20 digits, optionally after a +"))
    }
}

/// Emails are compared case-insensitively; only the obvious shape is checked.
fn parse_email(raw: &str) -> ApiResult<String> {
    let email = raw.to_lowercase();
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace) => {
            Ok(email)
        }
        _ => Err(ApiError::bad_request("email is not a valid address")),
    }
}

/// Device names are simple_im's `d`: short lowercase words (android, iphone, ipad, web).
pub fn parse_device(raw: Option<String>) -> ApiResult<String> {
    let device = raw.unwrap_or_else(|| "unknown".into()).to_lowercase();
    if (1..=16).contains(&device.len()) && device.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-') {
        Ok(device)
    } else {
        Err(ApiError::bad_request("device must be 1 to 16 letters, digits, - or _"))
    }
}

/// `POST /user`: signs up. Phone (and email, when given) are claimed in the same transaction
/// as the profile, so two sign-ups with one phone can never both succeed.
pub async fn create_user(ctx: &Ctx, req: &Request) -> ApiResult {
    let fields = Fields::parse(req)?;
    let phone = parse_phone(&fields.text("phone", 1, 32)?)?;
    let name = fields.text("name", 1, 64)?;
    let password = fields.text("password", 6, 128)?;
    let email = fields.opt_text("email", 3, 254)?.map(|e| parse_email(&e)).transpose()?;
    let nick_name = fields.opt_text("nick_name", 0, 64)?.unwrap_or_default();
    let age = fields.opt_u64("age", 150)?;
    let gender = fields.opt_text("gender", 1, 16)?;
    let avatar = fields.opt_text("avatar", 0, 1024)?.unwrap_or_default();
    let flags = [
        ("show_user_name", fields.opt_bool("show_user_name")?.unwrap_or(true)),
        ("show_age", fields.opt_bool("show_age")?.unwrap_or(true)),
        ("show_gender", fields.opt_bool("show_gender")?.unwrap_or(true)),
    ];

    let password_hash = sessions::hash_password(password).await?;
    let id = next_user_id(ctx).await?;
    let table = &ctx.clients.config.tables.users;

    let mut profile = Put::builder()
        .table_name(table)
        .item("pk", s(format!("user#{id}")))
        .item("id", n(id))
        .item("phone", s(&phone))
        .item("name", s(&name))
        .item("nick_name", s(&nick_name))
        .item("avatar", s(&avatar))
        .item("password_hash", s(password_hash))
        .item("created_at", n(now_secs()))
        .condition_expression("attribute_not_exists(pk)");
    for (flag, value) in flags {
        profile = profile.item(flag, b(value));
    }
    if let Some(age) = age {
        profile = profile.item("age", n(age));
    }
    if let Some(gender) = &gender {
        profile = profile.item("gender", s(gender));
    }
    if let Some(email) = &email {
        profile = profile.item("email", s(email));
    }
    let claim = |key: String| {
        Put::builder()
            .table_name(table)
            .item("pk", s(key))
            .item("user_id", n(id))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
    };
    let mut writes = vec![
        TransactWriteItem::builder().put(profile.build().map_err(ApiError::internal)?).build(),
        claim(format!("phone#{phone}")).map_err(ApiError::internal)?,
    ];
    if let Some(email) = &email {
        writes.push(claim(format!("email#{email}")).map_err(ApiError::internal)?);
    }
    let written = ctx.clients.dynamodb.transact_write_items().set_transact_items(Some(writes)).send().await;
    if let Err(err) = written {
        let reasons = err
            .as_service_error()
            .and_then(|e| match e {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => Some(c),
                _ => None,
            })
            .map(|e| e.cancellation_reasons().iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect::<Vec<_>>());
        return Err(match reasons.as_deref() {
            Some([_, true, ..]) => ApiError::conflict("phone is already registered"),
            Some([_, _, true]) => ApiError::conflict("email is already registered"),
            _ => ApiError::aws(err),
        });
    }
    let user = json!({ "id": id, "name": name, "phone": phone, "avatar": avatar });
    Ok(Reply::ok(json!({ "user": [user] })).with_status(StatusCode::CREATED))
}

/// Draws the next numeric user id (seed ids are numbers). A failed sign-up leaves a gap; ids are
/// unique, not dense.
async fn next_user_id(ctx: &Ctx) -> ApiResult<u64> {
    let out = ctx
        .clients
        .dynamodb
        .update_item()
        .table_name(&ctx.clients.config.tables.users)
        .key("pk", s("counter#users"))
        .update_expression("ADD #v :one")
        .expression_attribute_names("#v", "value")
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(ApiError::aws)?;
    out.attributes.as_ref().and_then(|a| a.u64("value")).ok_or_else(|| ApiError::internal("counter without value"))
}

async fn get_item(ctx: &Ctx, key: String) -> ApiResult<Option<Item>> {
    let out = ctx
        .clients
        .dynamodb
        .get_item()
        .table_name(&ctx.clients.config.tables.users)
        .key("pk", s(key))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item)
}

/// Loads a user's stored item (profile and password hash).
async fn load_user_item(ctx: &Ctx, id: u64) -> ApiResult<Option<Item>> {
    get_item(ctx, format!("user#{id}")).await
}

/// Loads a profile by id; `None` when there is no such user.
pub async fn load_profile(ctx: &Ctx, id: u64) -> ApiResult<Option<Profile>> {
    Ok(load_user_item(ctx, id).await?.as_ref().and_then(Profile::from_item))
}

/// Follows a phone or email claim to the user id it belongs to.
async fn claimed_by(ctx: &Ctx, claim: String) -> ApiResult<Option<u64>> {
    Ok(get_item(ctx, claim).await?.and_then(|item| item.u64("user_id")))
}

fn found(caller: &Caller, profile: Option<Profile>) -> ApiResult {
    let profile = profile.ok_or_else(|| ApiError::not_found("user not found"))?;
    Ok(Reply::ok(json!({ "user": [profile.view(Some(caller.user_id))] })))
}

/// `GET /user/id/{id}`
pub async fn get_user_by_id(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let id = path_param(req, "id")?;
    let id: u64 = id.parse().map_err(|_| ApiError::bad_request("user id must be a number"))?;
    found(caller, load_profile(ctx, id).await?)
}

/// `GET /user/phone/{phone}`
pub async fn get_user_by_phone(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let phone = parse_phone(path_param(req, "phone")?)?;
    let profile = match claimed_by(ctx, format!("phone#{phone}")).await? {
        Some(id) => load_profile(ctx, id).await?,
        None => None,
    };
    found(caller, profile)
}

/// `POST /server/login`: phone (or email) and password; opens a session on `device` and answers
/// simple_im's `[[response]] status = 0` with `[response.user] id, token`. The token also comes
/// back as an HttpOnly cookie, the way simple_im's clients send it.
pub async fn login(ctx: &Ctx, req: &Request) -> ApiResult {
    let fields = Fields::parse(req)?;
    let password = fields.text("password", 1, 128)?;
    let device = parse_device(fields.opt_text("device", 1, 16)?)?;
    let claim = match (fields.opt_text("phone", 1, 32)?, fields.opt_text("email", 3, 254)?) {
        (Some(phone), _) => format!("phone#{}", parse_phone(&phone)?),
        (None, Some(email)) => format!("email#{}", parse_email(&email)?),
        (None, None) => return Err(ApiError::bad_request("phone or email is required")),
    };
    let user = match claimed_by(ctx, claim).await? {
        Some(id) => load_user_item(ctx, id).await?,
        None => None,
    };
    let stored_hash = user.as_ref().and_then(|u| u.str("password_hash")).map(str::to_string);
    if !sessions::verify_password(password, stored_hash).await {
        return Err(ApiError::unauthorized("wrong phone, email or password"));
    }
    let id = user.as_ref().and_then(|u| u.u64("id")).ok_or_else(|| ApiError::internal("user item without id"))?;
    let token = sessions::open_session(&ctx.clients, id, &device).await?;
    let cookie =
        format!("token={token}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax", ctx.clients.config.token_ttl_secs);
    Ok(Reply::ok_with_response(json!({ "user": { "id": id, "token": token } })).with_cookie(cookie))
}

/// `POST /server/logout`: ends the session whose token came with the request.
pub async fn logout(ctx: &Ctx, _req: &Request) -> ApiResult {
    ctx.caller()?;
    let token = ctx.token.as_deref().ok_or_else(|| ApiError::unauthorized("login required"))?;
    sessions::close_session(&ctx.clients, token).await?;
    Ok(Reply::ok(json!({})).with_cookie("token=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax".into()))
}

/// `GET /health`: answers without touching any table, so it measures the function alone.
pub async fn health(_ctx: &Ctx, _req: &Request) -> ApiResult {
    Ok(Reply::ok(json!({})))
}
