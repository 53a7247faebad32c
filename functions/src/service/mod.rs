//! The service layer: the use cases (sign up, log in, befriend, send, sync, create a group ...),
//! each taking the caller and typed input and returning a typed result or a refusal. Every
//! check of "may this caller do this?" lives here, once per use case; the surfaces only
//! translate.

pub mod access;
pub mod account;
pub mod attachments;
pub mod audio;
pub mod auth;
pub mod changes;
pub mod contacts;
pub mod devices;
pub mod friends;
pub mod groups;
pub mod inbox;
pub mod limits;
pub mod media;
pub mod messages;
pub mod presence;
pub mod profile;
pub mod push;
pub mod reports;
pub mod reset;
pub mod signals;
pub mod sync;
pub mod users;
