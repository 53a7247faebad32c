// The words of client input the fuzzers draw from: socket events and tables the server knows
// (and some it does not), and field names of frames and bodies. Included by
// functions/tests/properties.rs and tests/tests/e2e/fuzz.rs.

/// Event names the socket knows, and some it does not.
const EVENTS: &[&str] = &[
    "PING", "LOGIN", "LOGON", "ACK", "SYNC", "CREATE_CONTACT", "DELETE_CONTACT", "LIST_CONTACTS_UNREAD",
    "CHAT_SEND_MSG", "CHAT_WITH", "CHAT_HISTORY", "CHAT_RECEIVE_MSG", "CHAT_DELETE", "Friend", "Confirm",
    "Revoke", "NOPE", "",
];
/// simple_im's tables, and some it does not have.
const TABLES: &[&str] = &["p", "r", "a", "s", "m", "gm", "n", "zz", "r.user"];
/// Field names of frames and bodies.
const FIELDS: &[&str] = &[
    "id", "t", "c", "to", "g_id", "upto", "after", "token", "phone", "email", "password", "new_password", "d",
    "user", "content", "friend_id", "page", "pagesize", "before", "time", "data", "event", "name", "members",
    "members[]", "g_key", "ask", "requested_user_id", "friend_request_id", "user_id", "followee_id", "everywhere",
    "limit", "with", "device",
];
