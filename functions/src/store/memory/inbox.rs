//! The inbox port in memory, as `store::inbox` keeps it (newest activity first, ties by id),
//! and reports, as `store::reports` files them.

use super::Memory;
use crate::domain::entry::Entry;
use crate::domain::ids::{ConversationId, UserId};
use crate::domain::inbox::Cursor;
use crate::domain::report::Report;
use crate::store::ports::{InboxStore, ReportStore};
use crate::store::Result;

impl InboxStore for Memory {
    async fn touch_inbox(&self, users: &[UserId], conversation: ConversationId, at: u64) -> Result<()> {
        let mut state = self.state();
        for user in users {
            state.inbox.insert((*user, conversation), at);
        }
        Ok(())
    }
    async fn forget_in_inbox(&self, users: &[UserId], conversation: ConversationId) -> Result<()> {
        let mut state = self.state();
        for user in users {
            state.inbox.remove(&(*user, conversation));
        }
        Ok(())
    }
    async fn inbox_page(
        &self,
        user: UserId,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<(Vec<Cursor>, Option<Cursor>)> {
        let state = self.state();
        let mut all: Vec<Cursor> = state
            .inbox
            .iter()
            .filter(|((owner, _), _)| *owner == user)
            .map(|((_, conversation), at)| Cursor { at: *at, conversation: *conversation })
            .collect();
        let order = |c: &Cursor| (std::cmp::Reverse(c.at), std::cmp::Reverse(c.conversation.to_string()));
        all.sort_by_key(order);
        let start = after.map_or(0, |after| all.iter().take_while(|c| order(c) <= order(after)).count());
        let page: Vec<Cursor> = all.iter().skip(start).take(limit).cloned().collect();
        let next = (start + page.len() < all.len()).then(|| page.last().cloned()).flatten();
        Ok((page, next))
    }
    async fn latest(&self, conversation: ConversationId) -> Result<Option<Entry>> {
        let state = self.state();
        let mut entries = state.entries.range((conversation, 1)..=(conversation, u64::MAX));
        Ok(entries.next_back().map(|(_, entry)| entry.clone()))
    }
    async fn claim_inbox_refresh(&self, conversation: ConversationId, now: u64, every: u64) -> Result<bool> {
        let mut state = self.state();
        let last = state.inbox_at.get(&conversation).copied();
        if last.is_some_and(|last| last >= now.saturating_sub(every)) {
            return Ok(false);
        }
        state.inbox_at.insert(conversation, now);
        Ok(true)
    }
}

impl ReportStore for Memory {
    async fn file_report(&self, day: &str, number: u64, report: &Report) -> Result<bool> {
        let mut state = self.state();
        let key = (day.to_string(), number);
        if state.reports.contains_key(&key) {
            return Ok(false);
        }
        state.reports.insert(key, report.clone());
        Ok(true)
    }
}
