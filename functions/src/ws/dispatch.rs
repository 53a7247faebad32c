//! Serves one frame: finds the connection, routes the typed request to its use case, and
//! renders the outcome in the frame's dialect. Refusals become `FAIL` / `[[error]]` (seed 002's
//! `io` for PRIVATE frames); only internal failures escape.

use super::answer::Answer;
use super::login::{log_in, log_in_again, logged_in, sign_up, Login, SYNC_PAGE};
use super::parse::{parse_all, Addressee, Frame, Request};
use crate::delivery;
use crate::domain::entry::{Entry, Message};
use crate::domain::format::{seed_time, Format};
use crate::domain::ids::{device_key, Actor, ConversationId, EntryId, GroupId, Target, UserId};
use crate::domain::message::Outgoing;
use crate::domain::now_secs;
use crate::domain::push::{parse_token, Platform};
use crate::domain::refusal::{Error, Refusal, Result};
use crate::domain::report::Reason;
use crate::service::contacts;
use crate::service::reports::{self, Reported};
use crate::service::{changes, inbox, messages, presence, push, signals, sync, users};
use crate::store::connections;
use im_adapters::Clients;
use serde_json::{json, Value};

/// Most requests one socket message may carry (a TOML message's tables): one message cannot
/// turn into thousands of requests. The rest get one refusal.
pub const MAX_REQUESTS_PER_MESSAGE: usize = 16;

/// Handles one WebSocket message from connection `cid` (whose address is `source`): each
/// request it carries in turn (a TOML message may carry several tables, up to
/// [`MAX_REQUESTS_PER_MESSAGE`]); returns the answers to send back, in order ("" for none).
pub async fn handle(clients: &Clients, cid: &str, source: &str, text: &str) -> Result<String> {
    let mut answers = String::new();
    let mut frames = parse_all(text);
    let left = frames.split_off(frames.len().min(MAX_REQUESTS_PER_MESSAGE));
    for frame in frames {
        let frame = match frame {
            Ok(frame) => frame,
            Err(bad) => {
                answers.push_str(&Answer { dialect: bad.dialect, reference: bad.reference }.error(&bad.reason));
                continue;
            }
        };
        answers.push_str(&handle_one(clients, cid, source, frame).await?);
    }
    if let Some(first) = left.first() {
        let dialect = first.as_ref().map_or_else(|bad| bad.dialect, |frame| frame.dialect);
        let reason = format!("at most {MAX_REQUESTS_PER_MESSAGE} requests per message: {} more not served", left.len());
        answers.push_str(&Answer { dialect, reference: None }.error(&reason));
    }
    Ok(answers)
}

async fn handle_one(clients: &Clients, cid: &str, source: &str, frame: Frame) -> Result<String> {
    let answer = Answer { dialect: frame.dialect, reference: frame.reference };
    let span = tracing::Span::current();
    span.record("frame", frame.request.name());
    let Some(conn) = connections::find(clients, cid).await? else {
        // Unknown, or a plain connection that did not log in in time: it is closed.
        delivery::close_connections(clients, &[cid.to_string()]).await;
        return Ok(answer.error("unknown or expired connection: reconnect"));
    };
    if let Some(user_id) = conn.user_id {
        span.record("caller", user_id.0);
    }
    let client_id = match &frame.request {
        Request::Send { client_id, .. } => Some(client_id.clone()),
        _ => None,
    };
    let served = match (frame.request, conn.user_id) {
        (Request::Ping, _) => Ok(match answer.dialect {
            Format::Json => answer.json("PONG", json!({})),
            // `ts`: an empty table cannot follow another answer in simple_im's reader.
            Format::Toml => answer.toml("pp", json!({ "ts": now_secs() })),
        }),
        // Seed 003 sends `LOGIN {}` on a connection its token already logged in.
        (Request::Login { token: None, password: None, frame_id, .. }, Some(user_id)) => {
            Ok(answer.login(Ok(user_id), frame_id.as_deref()))
        }
        (Request::Login { token, phone, email, password, device, frame_id, user_id }, Some(logged_in)) => {
            let login = Login { token, phone, email, password, device, user_id, source };
            log_in_again(clients, &answer, logged_in, login, frame_id.as_deref()).await
        }
        (Request::Logon { .. }, Some(_)) => Err(Refusal::invalid("already logged in").into()),
        (Request::Login { token, phone, email, password, device, frame_id, user_id }, None) => {
            let login = Login { token, phone, email, password, device, user_id, source };
            let outcome = log_in(clients, &conn, login, answer.dialect).await;
            return logged_in(clients, &answer, &conn, outcome, frame_id.as_deref()).await;
        }
        (Request::Logon { email, password, device }, None) => {
            let outcome = sign_up(clients, &conn, (&email, password, source), device, answer.dialect).await.map(Ok);
            return logged_in(clients, &answer, &conn, outcome, None).await;
        }
        (_, None) => Err(Refusal::invalid("login first").into()),
        (request, Some(user_id)) => {
            let actor = Actor {
                user_id,
                device: conn.device.clone(),
                tag: conn.tag.clone(),
                connection_id: Some(conn.connection_id.clone()),
            };
            serve(clients, &answer, (&actor, &conn.session), request).await
        }
    };
    match served {
        Err(Error::Refused(refusal)) => Ok(answer.fail(&refusal.to_string(), client_id.as_deref())),
        other => other,
    }
}

/// A logged-in connection's request.
async fn serve(
    clients: &Clients,
    answer: &Answer,
    (actor, session): (&Actor, &str),
    request: Request,
) -> Result<String> {
    let key = device_key(&actor.device, &actor.tag);
    let device = key.as_str();
    match request {
        Request::Ack { ids, up_to } => {
            sync::acknowledge(clients, actor.user_id, device, &ids, up_to.as_deref()).await?;
            Ok(answer.done())
        }
        Request::Sync { after } => {
            let after = match after {
                Some(id) => match id.parse::<EntryId>() {
                    Ok(EntryId::Feed(seq)) => Some(seq),
                    _ => return Err(Refusal::invalid(format!("unknown id {id}")).into()),
                },
                None => None,
            };
            let pending =
                sync::pending(clients, actor.user_id, (key.clone(), actor.device.as_str()), after, SYNC_PAGE).await?;
            let entries: Vec<Entry> = pending.feed.into_iter().chain(pending.messages).collect();
            Ok(answer.sync(&entries, pending.more, pending.friend_requests))
        }
        Request::Send { client_id, kind, content, to, reply_to, name } => {
            let target = match to {
                Addressee::User(name) => Target::User(users::named(clients, &name).await?),
                Addressee::Group(id) => Target::Group(GroupId(id)),
            };
            let out = Outgoing::new(client_id, &kind, content, target)?.replying_to(reply_to)?.named(name)?;
            let sent = messages::send(clients, actor, &out).await?;
            Ok(match answer.dialect {
                Format::Json => answer.json("OK", json!({ "id": sent.id })),
                Format::Toml => answer.toml("a", json!({ "id": out.client_id, "sid": sent.id })),
            })
        }
        Request::ChatWith { user } => {
            let other = users::named(clients, &user).await?;
            signals::read(clients, actor, Target::User(other), u64::MAX).await?;
            Ok(answer.json("OK", json!({})))
        }
        Request::ChatHistory { user, page, pagesize, before } => {
            let other = users::named(clients, &user).await?;
            chat_history(clients, answer, actor.user_id, other, page, pagesize, before).await
        }
        Request::ChatReceive { id: Some(id), .. } => {
            message_id(&id)?;
            sync::acknowledge(clients, actor.user_id, device, &[id], None).await?;
            Ok(answer.json("OK", json!({})))
        }
        Request::ChatReceive { id: None, content } => {
            let device = (key.clone(), actor.device.as_str());
            sync::receive(clients, actor.user_id, device, content.as_deref(), SYNC_PAGE).await?;
            Ok(answer.json("OK", json!({})))
        }
        Request::ChatDelete { id, for_me } => {
            let (conversation, seq) = message_id(&id)?;
            match for_me {
                true => changes::hide(clients, actor, conversation, seq).await?,
                false => changes::delete(clients, actor, conversation, seq).await?,
            }
            Ok(answer.json("OK", json!({})))
        }
        Request::ChatEdit { id, content } => {
            let edited = changes::edit(clients, actor, message_id(&id)?, &content).await?;
            Ok(answer.json("OK", json!({ "msg": edited.view() })))
        }
        Request::ChatReact { id, emoji, on } => {
            let reacted = changes::react(clients, actor, message_id(&id)?, &emoji, on).await?;
            Ok(answer.json("OK", json!({ "msg": reacted.view() })))
        }
        Request::Typing { target, start } => {
            signals::typing(clients, actor, target, start).await?;
            // A signal gets no answer: API Gateway bills every frame, and there is nothing to say.
            Ok(String::new())
        }
        Request::PresenceSubscribe { users } => {
            let states = presence::subscribe(clients, actor, &users).await?;
            Ok(answer.json("OK", json!({ "users": states })))
        }
        Request::Read { target, upto } => {
            let upto = signals::read(clients, actor, target, upto).await?;
            Ok(answer.json("OK", json!({ "upto": upto })))
        }
        Request::PushRegister { platform, token } => {
            let (platform, token) = (Platform::parse(&platform)?, parse_token(&token)?);
            let registration = push::register(clients, (actor.user_id, device, session), platform, &token).await?;
            Ok(answer.json("OK", json!({ "push": push::view(&registration) })))
        }
        Request::Conversations { limit, after } => {
            let page = inbox::list(clients, actor.user_id, limit, after.as_deref()).await?;
            Ok(answer.json("OK", page.fields()))
        }
        Request::Report { user, message, reason, text } => {
            let reported = Reported::named(user, message)?;
            let text = text.filter(|t| !t.is_empty());
            let id = reports::report(clients, actor, reported, Reason::parse(&reason)?, text).await?;
            Ok(answer.json("OK", json!({ "report": { "id": id } })))
        }
        Request::PushUnregister => {
            push::unregister(clients, (actor.user_id, device)).await?;
            Ok(answer.json("OK", json!({})))
        }
        Request::ListContactsUnread => {
            sync::supersede_contact_changes(clients, actor.user_id, (key.clone(), actor.device.as_str())).await?;
            let counts = contacts::unread_counts(clients, actor.user_id).await?;
            let counts: serde_json::Map<String, Value> = counts.into_iter().map(|(key, n)| (key, json!(n))).collect();
            Ok(answer.json("OK", json!({ "contacts": counts })))
        }
        Request::CreateContact { user } => {
            let them = users::named(clients, &user).await?;
            match contacts::befriend(clients, actor, them).await {
                Err(Error::Refused(Refusal::RequestAlreadySent | Refusal::AlreadyFriends)) => {
                    Err(Refusal::invalid("Already exists").into())
                }
                other => other.map(|_| answer.json("OK", json!({}))),
            }
        }
        Request::DeleteContact { user } => {
            let them = users::named(clients, &user).await?;
            contacts::end(clients, actor, them).await?;
            Ok(answer.json("OK", json!({})))
        }
        request @ (Request::Friend { .. } | Request::Confirm { .. } | Request::Revoke { .. }) => {
            private(clients, answer, actor, request).await
        }
        Request::Ping | Request::Login { .. } | Request::Logon { .. } => {
            Err(Error::internal("connection requests are served before login"))
        }
    }
}

/// A message id a frame names: its conversation and place.
fn message_id(id: &str) -> Result<(ConversationId, u64)> {
    Ok(EntryId::message(id).ok_or_else(|| Refusal::invalid("not a message id"))?)
}

/// Seed 003's `CHAT_HISTORY`: one page, oldest first, each entry as the seed shows it.
async fn chat_history(
    clients: &Clients,
    answer: &Answer,
    user: UserId,
    other: UserId,
    page: u64,
    pagesize: u64,
    before: Option<String>,
) -> Result<String> {
    let conversation = ConversationId::direct(user, other);
    let before = before.map(|id| EntryId::seq_in(&id, conversation)).transpose()?;
    let entries = messages::history(clients, user, conversation, page, pagesize, before).await?;
    let profiles = users::profiles(clients, &[user, other]).await?;
    let name_of = |id: UserId| profiles.get(&id).map(|p| p.contact_key()).unwrap_or_else(|| id.to_string());
    let history: Vec<Value> = entries
        .iter()
        .map(|e| {
            let message = e.message();
            json!({
                "id": e.id().to_string(),
                "content": message.map(|m| m.c.as_str()),
                "time": message.map_or_else(|| seed_time(e.body.ts(), 0), Message::seed_time),
                "user": name_of(e.sender()),
                "deleted": message.is_some_and(|m| m.deleted),
            })
        })
        .collect();
    let current_page = if before.is_some() { Value::Null } else { json!(page) };
    Ok(answer.json("OK", json!({ "chat_history": history, "current_page": current_page })))
}

/// Seed 002's answer to a refused PRIVATE frame (`io` with its error), or an internal failure.
fn io_refusal(answer: &Answer, err: Error) -> Result<String> {
    let io = |error: &str| answer.json("io", json!({ "error": error }));
    match err {
        Error::Refused(Refusal::Blocked | Refusal::CannotAddSelf | Refusal::RequestNotFound) => {
            Ok(io("not_authorized"))
        }
        Error::Refused(Refusal::RequestAlreadySent | Refusal::AlreadyFriends | Refusal::TheyAlreadyAsked) => {
            Ok(answer.json("io", json!({})))
        }
        Error::Refused(_) => Ok(io("roster_not_found")),
        internal => Err(internal),
    }
}

/// Seed 002 (PRIVATE) over the socket: `io` answers with its errors, `Contact` on confirm, the
/// `Revoke` echoed back.
async fn private(clients: &Clients, answer: &Answer, actor: &Actor, request: Request) -> Result<String> {
    let roster_not_found = || answer.json("io", json!({ "error": "roster_not_found" }));
    match request {
        Request::Friend { friends } => {
            for name in friends {
                let Some(them) = users::resolve(clients, &name).await? else { return Ok(roster_not_found()) };
                if let Err(err) = contacts::befriend(clients, actor, them).await {
                    let reply = io_refusal(answer, err)?;
                    if reply != answer.json("io", json!({})) {
                        return Ok(reply);
                    }
                }
            }
            Ok(answer.json("io", json!({})))
        }
        Request::Confirm { friend } => {
            let Some(them) = users::resolve(clients, &friend).await? else { return Ok(roster_not_found()) };
            if contacts::are_friends(clients, actor.user_id, them).await? {
                return Ok(answer.json("io", json!({ "ok": "already_present" })));
            }
            if let Err(err) = contacts::confirm(clients, actor, them).await {
                return io_refusal(answer, err);
            }
            // Seed 002: both parties get the updated contact, each naming the other.
            let mut profiles = users::profiles(clients, &[them, actor.user_id]).await?;
            let mut contact = |id: UserId| {
                let phone = profiles.remove(&id).and_then(|p| p.phone);
                json!({ "user_id": id, "phone": phone, "status": "friend", "update_time": now_secs() })
            };
            let (theirs, ours) = (contact(actor.user_id), contact(them));
            delivery::push_event_to_user(clients, them, "Contact", theirs).await;
            // Step 2's `<<>>`, then step 3's `Contact`: posted in order, the route answers nothing.
            let frames = vec![answer.json("io", json!({})), answer.json("Contact", ours)];
            match &actor.connection_id {
                Some(cid) => delivery::push_to_connection_in_order(clients, cid, frames).await,
                None => return Ok(frames.concat()),
            }
            Ok(String::new())
        }
        Request::Revoke { id, user } => {
            let Some(them) = users::resolve(clients, &user).await? else { return Ok(roster_not_found()) };
            if let Err(err) = contacts::end(clients, actor, them).await {
                return io_refusal(answer, err);
            }
            Ok(answer.json("Revoke", json!({ "id": id, "user": user.to_json(), "status": "revoke" })))
        }
        _ => Err(Refusal::invalid("not a PRIVATE frame").into()),
    }
}
