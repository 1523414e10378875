//! A fixed-window budget of Redis key lookups, shared by every kid: the
//! negative cache stops one made-up kid from being asked about twice, this
//! stops a flood of different made-up kids from costing more than a few
//! round trips per window.

use std::sync::Mutex;

/// At most `max` lookups in each window of `window_secs` seconds (windows
/// start at multiples of `window_secs`, on the caller's clock).
#[derive(Debug)]
pub struct LookupBudget {
    max: u32,
    window_secs: u64,
    /// (start of the current window, lookups taken in it).
    used: Mutex<(u64, u32)>,
}

impl LookupBudget {
    /// A budget of `max` lookups per `window_secs` (0 counts as 1).
    pub fn new(max: u32, window_secs: u64) -> Self {
        Self {
            max,
            window_secs: window_secs.max(1),
            used: Mutex::new((0, 0)),
        }
    }

    /// Takes one lookup at `now` (Unix seconds); false when the window's
    /// budget is spent.
    pub fn take(&self, now: u64) -> bool {
        let start = now - now % self.window_secs;
        // A poisoned lock only means another thread panicked mid-update of
        // two integers; the values are still usable.
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        if used.0 != start {
            *used = (start, 0);
        }
        if used.1 >= self.max {
            return false;
        }
        used.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `max` lookups per window, then none until the next window starts.
    #[test]
    fn spends_and_refills_per_window() {
        let budget = LookupBudget::new(3, 10);
        assert_eq!((0..5).filter(|_| budget.take(100)).count(), 3);
        assert!(!budget.take(109), "same window");
        assert!(budget.take(110), "next window");
        assert_eq!((0..5).filter(|_| budget.take(115)).count(), 2);
    }

    /// A zero budget never allows a lookup; a zero window counts as 1 s.
    #[test]
    fn zero_budget_and_window() {
        assert!(!LookupBudget::new(0, 5).take(1));
        let budget = LookupBudget::new(1, 0);
        assert!(budget.take(7) && !budget.take(7) && budget.take(8));
    }
}
