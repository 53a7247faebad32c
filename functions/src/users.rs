//! Users: sign-up, login/logout and look-ups (seed 001 and simple_im's login).
//!
//! Items in the users table: `user#<id>` (the profile and password hash), `phone#<phone>` and
//! `email#<email>` (uniqueness claims pointing at the id, written in the same transaction as the
//! profile), `token#<sha256>` (sessions) and `counter#users` (the id sequence).

use crate::api::{path_param, ApiError, ApiResult, Fields, Reply};
use crate::db::{b, n, now_secs, s, Item, ItemExt};
use crate::sessions::{self, Caller};
use crate::Ctx;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, Put, ReturnValue, TransactWriteItem};
use http::StatusCode;
use im_adapters::Clients;
use lambda_http::Request;
use serde_json::{json, Value};
use std::collections::HashMap;

/// A user's public profile, with seed 004's privacy flags.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub id: u64,
    pub phone: Option<String>,
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
            phone: item.str("phone").map(str::to_string),
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

/// What a sign-up needs; built from `POST /user`'s fields or seed 003's `LOGON` frame.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub name: String,
    pub password: String,
    pub nick_name: String,
    pub age: Option<u64>,
    pub gender: Option<String>,
    pub avatar: String,
    pub show_user_name: bool,
    pub show_age: bool,
    pub show_gender: bool,
}

impl NewUser {
    /// Validates sign-up fields: a phone (simple_im) or an email (seed 003), or both.
    pub fn parse(fields: &Fields) -> ApiResult<NewUser> {
        let phone = fields.opt_text("phone", 1, 32)?.map(|p| parse_phone(&p)).transpose()?;
        let email = fields.opt_text("email", 3, 254)?.map(|e| parse_email(&e)).transpose()?;
        if phone.is_none() && email.is_none() {
            return Err(ApiError::bad_request("phone is required (or an email)"));
        }
        Ok(NewUser {
            phone,
            email,
            name: fields.text("name", 1, 64)?,
            password: fields.text("password", 6, 128)?,
            nick_name: fields.opt_text("nick_name", 0, 64)?.unwrap_or_default(),
            age: fields.opt_u64("age", 150)?,
            gender: fields.opt_text("gender", 1, 16)?,
            avatar: fields.opt_text("avatar", 0, 1024)?.unwrap_or_default(),
            show_user_name: fields.opt_bool("show_user_name")?.unwrap_or(true),
            show_age: fields.opt_bool("show_age")?.unwrap_or(true),
            show_gender: fields.opt_bool("show_gender")?.unwrap_or(true),
        })
    }

    /// Seed 003's `LOGON {user: email, password}`: the name defaults to the email's local part.
    pub fn from_email(email: &str, password: String) -> ApiResult<NewUser> {
        let email = parse_email(email)?;
        if !(6..=128).contains(&password.chars().count()) {
            return Err(ApiError::bad_request("password must be 6 to 128 characters"));
        }
        let name = email.split('@').next().unwrap_or_default().chars().take(64).collect();
        Ok(NewUser {
            email: Some(email),
            name,
            password,
            show_user_name: true,
            show_age: true,
            show_gender: true,
            ..NewUser::default()
        })
    }
}

/// `POST /user`: signs up. Answers 201 with the new user.
pub async fn create_user(ctx: &Ctx, req: &Request) -> ApiResult {
    let new = NewUser::parse(&Fields::parse(req)?)?;
    let id = register(&ctx.clients, &new).await?;
    let user = json!({ "id": id, "name": new.name, "phone": new.phone, "avatar": new.avatar });
    Ok(Reply::ok(json!({ "user": [user] })).with_status(StatusCode::CREATED))
}

/// Stores a new user. Phone and email are claimed in the same transaction as the profile, so
/// two sign-ups with one phone can never both succeed.
pub async fn register(clients: &Clients, new: &NewUser) -> ApiResult<u64> {
    let password_hash = sessions::hash_password(new.password.clone()).await?;
    let id = next_user_id(clients).await?;
    let table = &clients.config.tables.users;
    let mut profile = Put::builder()
        .table_name(table)
        .item("pk", s(format!("user#{id}")))
        .item("id", n(id))
        .item("name", s(&new.name))
        .item("nick_name", s(&new.nick_name))
        .item("avatar", s(&new.avatar))
        .item("password_hash", s(password_hash))
        .item("created_at", n(now_secs()))
        .item("show_user_name", b(new.show_user_name))
        .item("show_age", b(new.show_age))
        .item("show_gender", b(new.show_gender))
        .condition_expression("attribute_not_exists(pk)");
    if let Some(age) = new.age {
        profile = profile.item("age", n(age));
    }
    for (name, value) in [("gender", &new.gender), ("phone", &new.phone), ("email", &new.email)] {
        if let Some(value) = value {
            profile = profile.item(name, s(value));
        }
    }
    let claim = |key: String| {
        Put::builder()
            .table_name(table)
            .item("pk", s(key))
            .item("user_id", n(id))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .map_err(ApiError::internal)
    };
    // Claims in a fixed order, so a cancellation reason's index names the taken claim.
    let mut claims = vec![];
    if let Some(phone) = &new.phone {
        claims.push(("phone is already registered", claim(format!("phone#{phone}"))?));
    }
    if let Some(email) = &new.email {
        claims.push(("email is already registered", claim(format!("email#{email}"))?));
    }
    let mut writes = vec![TransactWriteItem::builder().put(profile.build().map_err(ApiError::internal)?).build()];
    writes.extend(claims.iter().map(|(_, w)| w.clone()));
    let written = clients.dynamodb.transact_write_items().set_transact_items(Some(writes)).send().await;
    if let Err(err) = written {
        let taken = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                .cancellation_reasons()
                .iter()
                .skip(1)
                .position(|r| r.code() == Some("ConditionalCheckFailed"))
                .map(|i| claims[i].0),
            _ => None,
        };
        return Err(match taken {
            Some(reason) => ApiError::conflict(reason),
            None => ApiError::aws(err),
        });
    }
    Ok(id)
}

/// Draws the next numeric user id (seed ids are numbers). A failed sign-up leaves a gap; ids are
/// unique, not dense.
async fn next_user_id(clients: &Clients) -> ApiResult<u64> {
    next_id(clients, "counter#users").await
}

/// Draws the next number of a counter item (`counter#users`, `counter#requests`).
pub async fn next_id(clients: &Clients, counter: &str) -> ApiResult<u64> {
    let out = clients
        .dynamodb
        .update_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(counter))
        .update_expression("ADD #v :one")
        .expression_attribute_names("#v", "value")
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .map_err(ApiError::aws)?;
    out.attributes.as_ref().and_then(|a| a.u64("value")).ok_or_else(|| ApiError::internal("counter without value"))
}

async fn get_item(clients: &Clients, key: String) -> ApiResult<Option<Item>> {
    let out = clients
        .dynamodb
        .get_item()
        .table_name(&clients.config.tables.users)
        .key("pk", s(key))
        .send()
        .await
        .map_err(ApiError::aws)?;
    Ok(out.item)
}

/// Loads a user's stored item (profile and password hash).
async fn load_user_item(clients: &Clients, id: u64) -> ApiResult<Option<Item>> {
    get_item(clients, format!("user#{id}")).await
}

/// Loads a profile by id; `None` when there is no such user.
pub async fn load_profile(clients: &Clients, id: u64) -> ApiResult<Option<Profile>> {
    Ok(load_user_item(clients, id).await?.as_ref().and_then(Profile::from_item))
}

/// Follows a phone or email claim to the user id it belongs to.
pub async fn claimed_by(clients: &Clients, claim: String) -> ApiResult<Option<u64>> {
    Ok(get_item(clients, claim).await?.and_then(|item| item.u64("user_id")))
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
    found(caller, load_profile(&ctx.clients, id).await?)
}

/// `GET /user/phone/{phone}`
pub async fn get_user_by_phone(ctx: &Ctx, req: &Request) -> ApiResult {
    let caller = ctx.caller()?;
    let phone = parse_phone(path_param(req, "phone")?)?;
    let profile = match claimed_by(&ctx.clients, format!("phone#{phone}")).await? {
        Some(id) => load_profile(&ctx.clients, id).await?,
        None => None,
    };
    found(caller, profile)
}

/// How a user names themselves at login: a phone (simple_im) or an email (seed 003).
pub fn login_claim(phone: Option<String>, email: Option<String>) -> ApiResult<String> {
    match (phone, email) {
        (Some(phone), _) => Ok(format!("phone#{}", parse_phone(&phone)?)),
        (None, Some(email)) => Ok(format!("email#{}", parse_email(&email)?)),
        (None, None) => Err(ApiError::bad_request("phone or email is required")),
    }
}

/// Checks a password against the user a claim names; the same refusal whether the user is
/// unknown or the password wrong, and the same work either way.
pub async fn authenticate(clients: &Clients, claim: String, password: String) -> ApiResult<u64> {
    let user = match claimed_by(clients, claim).await? {
        Some(id) => load_user_item(clients, id).await?,
        None => None,
    };
    let stored_hash = user.as_ref().and_then(|u| u.str("password_hash")).map(str::to_string);
    if !sessions::verify_password(password, stored_hash).await {
        return Err(ApiError::unauthorized("wrong phone, email or password"));
    }
    user.as_ref().and_then(|u| u.u64("id")).ok_or_else(|| ApiError::internal("user item without id"))
}

/// `POST /server/login`: phone (or email) and password; opens a session on `device` and answers
/// simple_im's `[[response]] status = 0` with `[response.user] id, token`. The token also comes
/// back as an HttpOnly cookie, the way simple_im's clients send it.
pub async fn login(ctx: &Ctx, req: &Request) -> ApiResult {
    let fields = Fields::parse(req)?;
    let password = fields.text("password", 1, 128)?;
    let device = parse_device(fields.opt_text("device", 1, 16)?)?;
    let claim = login_claim(fields.opt_text("phone", 1, 32)?, fields.opt_text("email", 3, 254)?)?;
    let id = authenticate(&ctx.clients, claim, password).await?;
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

/// Profiles of many users: one BatchGetItem per 100 ids. Unknown ids are left out.
pub async fn load_profiles(clients: &Clients, ids: &[u64]) -> ApiResult<HashMap<u64, Profile>> {
    let table = &clients.config.tables.users;
    let mut profiles = HashMap::new();
    for chunk in ids.chunks(100) {
        let mut keys: Vec<HashMap<String, AttributeValue>> =
            chunk.iter().map(|id| HashMap::from([("pk".to_string(), s(format!("user#{id}")))])).collect();
        keys.sort_by_key(|k| format!("{:?}", k.get("pk")));
        keys.dedup();
        while !keys.is_empty() {
            let request = KeysAndAttributes::builder().set_keys(Some(keys)).build().map_err(ApiError::internal)?;
            let out =
                clients.dynamodb.batch_get_item().request_items(table, request).send().await.map_err(ApiError::aws)?;
            for item in out.responses.unwrap_or_default().remove(table).unwrap_or_default() {
                if let Some(profile) = Profile::from_item(&item) {
                    profiles.insert(profile.id, profile);
                }
            }
            keys = out.unprocessed_keys.unwrap_or_default().remove(table).map(|k| k.keys).unwrap_or_default();
        }
    }
    Ok(profiles)
}
