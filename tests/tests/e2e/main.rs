//! End-to-end tests: one binary, one local stack (real DynamoDB Local, S3, HTTP and WebSocket
//! gateways), driven over HTTP and WebSocket as a phone would.

mod abuse;
mod abuse_reach;
mod abuse_sessions;
mod abuse_stack;
mod abuse_uploads;
mod busy_group;
mod churn;
mod contacts;
mod costs;
mod devices;
mod ecosystem;
mod friends;
mod fuzz;
mod holes;
mod iam;
mod invoke;
mod matrix;
mod media;
mod messages;
mod presence;
mod push;
mod push_reach;
mod realtime;
mod rich;
mod seed_000_001;
mod seed_003;
mod seed_clients;
mod seed_simple_im;
mod signals;
mod socket_contacts;
mod users;
mod websocket;
