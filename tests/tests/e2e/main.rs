//! End-to-end tests: one binary, one local stack (real DynamoDB Local, S3, HTTP and WebSocket
//! gateways), driven over HTTP and WebSocket as a phone would.

mod contacts;
mod invoke;
mod realtime;
mod users;
mod websocket;
