//! The domain layer: pure rules and types, no I/O. Every other layer may use it; it uses none.

pub mod confirmed;
