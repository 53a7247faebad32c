//! What one device has confirmed (acknowledged) in one ordered stream: a conversation or the
//! user's feed. An ack confirms exactly the entries it names, never the ones before them: a
//! device that was away while 21..26 were stored and then acks 27 (pushed live on reconnect)
//! still finds 21..26 by sync. The state is the contiguous prefix of confirmed sequences plus
//! the confirmed ranges above it, so sync reads only the gaps, and an ack is one read and one
//! write whatever the gap.

/// The most ranges kept above the prefix. A client that acks live but never syncs makes one
/// hole per missed entry; past this many, the highest range is forgotten, so its entries are
/// offered again (at-least-once) rather than the state growing without bound.
pub const MAX_RANGES: usize = 256;

/// How many gaps below a confirmation are looked at for the user's own messages.
pub const OWN_GAPS: usize = 3;
/// How far below a confirmation they are looked for.
pub const OWN_WINDOW: u64 = 50;

/// Confirmed sequences of one stream for one device: `1..=prefix` and every range of `above`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confirmed {
    prefix: u64,
    /// Sorted, disjoint, non-adjacent inclusive ranges, each starting above `prefix + 1`.
    above: Vec<(u64, u64)>,
}

impl Confirmed {
    /// Everything up to `prefix` confirmed, nothing above.
    pub fn up_to(prefix: u64) -> Confirmed {
        Confirmed { prefix, above: vec![] }
    }

    /// The stored form back: a prefix and the ranges as [`Confirmed::encode_above`] wrote them.
    /// Malformed ranges are dropped: forgetting a confirmation only means a redelivery.
    pub fn decode(prefix: u64, above: &str) -> Confirmed {
        let mut state = Confirmed::up_to(prefix);
        for range in above.split(',').filter(|r| !r.is_empty()) {
            let parsed = match range.split_once('-') {
                Some((from, to)) => from.parse().ok().zip(to.parse().ok()),
                None => range.parse().ok().map(|seq| (seq, seq)),
            };
            if let Some((from, to)) = parsed.filter(|(from, to)| from <= to) {
                state.insert(from, to);
            }
        }
        state
    }

    /// The ranges above the prefix as `a-b,c-d` (`a` alone for a single entry).
    pub fn encode_above(&self) -> String {
        let ranges: Vec<String> = self
            .above
            .iter()
            .map(|&(from, to)| if from == to { from.to_string() } else { format!("{from}-{to}") })
            .collect();
        ranges.join(",")
    }

    /// Every sequence up to this one is confirmed.
    pub fn prefix(&self) -> u64 {
        self.prefix
    }

    /// The highest sequence confirmed (the prefix when nothing above it is).
    pub fn highest(&self) -> u64 {
        self.above.last().map_or(self.prefix, |&(_, to)| to)
    }

    pub fn contains(&self, seq: u64) -> bool {
        seq <= self.prefix || self.above.iter().any(|&(from, to)| from <= seq && seq <= to)
    }

    /// Confirms `seq` of a stream whose latest entry is `head`. Sequence 0 and sequences past
    /// the head name nothing stored and are ignored. Returns whether anything changed.
    pub fn confirm(&mut self, seq: u64, head: u64) -> bool {
        if seq == 0 || seq > head || self.contains(seq) {
            return false;
        }
        self.insert(seq, seq);
        true
    }

    /// The explicit "everything up to `seq`" request (never what a plain ack means).
    pub fn confirm_up_to(&mut self, seq: u64, head: u64) -> bool {
        let seq = seq.min(head);
        if seq <= self.prefix {
            return false;
        }
        self.insert(1, seq);
        true
    }

    /// The unconfirmed sequences up to `head`, as inclusive ranges in order.
    pub fn gaps(&self, head: u64) -> Vec<(u64, u64)> {
        let mut gaps = vec![];
        let mut next = self.prefix + 1;
        for &(from, to) in &self.above {
            if from > head {
                break;
            }
            if next < from {
                gaps.push((next, from - 1));
            }
            next = to + 1;
        }
        if next <= head {
            gaps.push((next, head));
        }
        gaps
    }

    /// The gaps a confirmation up to `top` may close with the user's own messages (which are
    /// never confirmed when sent): the highest [`OWN_GAPS`] below `top`, each cut to the last
    /// [`OWN_WINDOW`] sequences. A few short ranges, so looking at them is a small read.
    pub fn recent_gaps(&self, top: u64) -> Vec<(u64, u64)> {
        let floor = top.saturating_sub(OWN_WINDOW).max(1);
        let mut gaps: Vec<(u64, u64)> = self
            .gaps(top)
            .into_iter()
            .rev()
            .filter(|&(_, to)| to >= floor)
            .take(OWN_GAPS)
            .map(|(from, to)| (from.max(floor), to))
            .collect();
        gaps.reverse();
        gaps
    }

    /// Adds `from..=to`, merging with the prefix and neighbouring ranges.
    fn insert(&mut self, from: u64, to: u64) {
        if to <= self.prefix {
            return;
        }
        let from = from.max(self.prefix + 1);
        let mut merged = (from, to);
        let mut kept = Vec::with_capacity(self.above.len() + 1);
        for &(a, b) in &self.above {
            if b + 1 < merged.0 || a > merged.1 + 1 {
                kept.push((a, b));
            } else {
                merged = (merged.0.min(a), merged.1.max(b));
            }
        }
        kept.push(merged);
        kept.sort_unstable();
        self.above = kept;
        if let Some(&(first_from, first_to)) = self.above.first() {
            if first_from == self.prefix + 1 {
                self.prefix = first_to;
                self.above.remove(0);
            }
        }
        self.above.truncate(MAX_RANGES);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirmed(seqs: &[u64], head: u64) -> Confirmed {
        let mut state = Confirmed::default();
        for &seq in seqs {
            state.confirm(seq, head);
        }
        state
    }

    #[test]
    fn an_ack_confirms_only_what_it_names() {
        // Away while 21..26 were stored, then 27 arrives live and is acked.
        let mut state = Confirmed::up_to(20);
        assert!(state.confirm(27, 30));
        assert_eq!(state.prefix(), 20, "27 must not confirm 21..26");
        assert_eq!(state.gaps(30), vec![(21, 26), (28, 30)]);
        for seq in 21..=26 {
            state.confirm(seq, 30);
        }
        assert_eq!((state.prefix(), state.gaps(30)), (27, vec![(28, 30)]));
    }

    #[test]
    fn out_of_order_acks_close_the_prefix_in_any_order() {
        let state = confirmed(&[5, 3, 1, 4, 2], 10);
        assert_eq!((state.prefix(), state.encode_above()), (5, String::new()));
        let state = confirmed(&[9, 7, 8, 2], 10);
        assert_eq!((state.prefix(), state.encode_above()), (0, "2,7-9".to_string()));
        assert_eq!(state.gaps(10), vec![(1, 1), (3, 6), (10, 10)]);
    }

    #[test]
    fn duplicate_acks_change_nothing() {
        let mut state = confirmed(&[1, 2, 6], 10);
        let before = state.clone();
        assert!(!state.confirm(2, 10));
        assert!(!state.confirm(6, 10));
        assert_eq!(state, before);
    }

    #[test]
    fn unknown_ids_are_ignored() {
        let mut state = Confirmed::up_to(3);
        assert!(!state.confirm(0, 10), "sequence 0 names nothing");
        assert!(!state.confirm(11, 10), "an id past the head names nothing stored yet");
        assert_eq!(state, Confirmed::up_to(3));
        assert_eq!(state.gaps(10), vec![(4, 10)], "so nothing is skipped when 11 is stored");
    }

    #[test]
    fn acks_after_sync_and_the_explicit_up_to() {
        // Sync handed out 4..=8; the device acks them all, then one more arrives live.
        let mut state = Confirmed::up_to(3);
        for seq in 4..=8 {
            state.confirm(seq, 8);
        }
        assert_eq!(state.prefix(), 8);
        state.confirm(10, 10);
        assert_eq!(state.gaps(10), vec![(9, 9)]);
        // Only the explicit form confirms everything before it.
        assert!(state.confirm_up_to(9, 10));
        assert_eq!((state.prefix(), state.gaps(10)), (10, vec![]));
        assert!(!state.confirm_up_to(50, 10), "never past the head");
    }

    #[test]
    fn the_stored_form_round_trips_and_tolerates_damage() {
        let state = confirmed(&[1, 2, 5, 7, 8, 9, 12], 20);
        let back = Confirmed::decode(state.prefix(), &state.encode_above());
        assert_eq!(back, state);
        assert_eq!(state.encode_above(), "5,7-9,12");
        assert_eq!(Confirmed::decode(2, "x,9-3,5-6,,4"), confirmed(&[1, 2, 4, 5, 6], 20));
    }

    #[test]
    fn holes_are_bounded_by_forgetting_the_highest() {
        let seqs: Vec<u64> = (1..=(MAX_RANGES as u64 + 10)).map(|i| i * 2).collect();
        let state = confirmed(&seqs, u64::MAX / 2);
        assert_eq!(state.above.len(), MAX_RANGES);
        assert!(state.contains(2) && !state.contains(2 * (MAX_RANGES as u64 + 1)));
    }

    #[test]
    fn the_gaps_own_messages_may_close_are_the_few_just_below_a_confirmation() {
        // 1..=3 confirmed, then 5, 7, 9..=20 and 30: gaps 4, 6, 8 and 21..=29.
        let mut state = Confirmed::up_to(3);
        for seq in [5, 7, 30].into_iter().chain(9..=20) {
            state.confirm(seq, 200);
        }
        assert_eq!(state.recent_gaps(30), vec![(6, 6), (8, 8), (21, 29)]);
        assert_eq!(state.recent_gaps(7), vec![(4, 4), (6, 6)]);
        // Cut to the window: a long gap is looked at only near the top.
        assert_eq!(Confirmed::up_to(0).recent_gaps(200), vec![(150, 200)]);
        assert_eq!(Confirmed::up_to(9).recent_gaps(9), vec![]);
    }
}
