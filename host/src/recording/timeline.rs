//! From captured frames to what the GIF shows and for how long: duplicate frames merged,
//! delays from the real timestamps, bounded so a GIF neither flickers nor stalls.

use std::time::Duration;

/// Bounds on how long one GIF frame is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The shortest any frame is shown (browsers show delays under 20 ms as 100 ms anyway).
    pub min: Duration,
    /// The shortest a frame with an action label is shown, so the label can be read.
    pub min_labeled: Duration,
    /// The longest any frame is shown (an agent thinking for a minute is not a minute of GIF).
    pub max: Duration,
    /// How long the last frame is held before the GIF loops.
    pub hold: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            min: Duration::from_millis(100),
            min_labeled: Duration::from_millis(500),
            max: Duration::from_secs(3),
            hold: Duration::from_secs(2),
        }
    }
}

/// The GIF delays, in centiseconds, of frames that start at `starts` (offsets from the
/// recording's start, ascending); `labeled[i]` tells whether frame `i` shows an action label.
///
/// Frame `i` is shown for `starts[i+1] - starts[i]`, bounded by [`Timing`]; the last for
/// `hold`. Rounding to centiseconds carries its error forward, so unbounded stretches keep
/// their real total length.
pub fn delays(starts: &[Duration], labeled: &[bool], t: Timing) -> Vec<u16> {
    let n = starts.len();
    let mut out = Vec::with_capacity(n);
    let mut carry_ms: i64 = 0;
    for i in 0..n {
        let real = if i + 1 < n {
            starts[i + 1].saturating_sub(starts[i])
        } else {
            t.hold
        };
        let min = if labeled.get(i).copied().unwrap_or(false) {
            t.min_labeled.max(t.min)
        } else {
            t.min
        };
        let d = real.clamp(min, t.max.max(min));
        let want_ms = d.as_millis() as i64 + carry_ms;
        let cs = ((want_ms + 5) / 10).clamp(1, u16::MAX as i64);
        carry_ms = want_ms - cs * 10;
        out.push(cs as u16);
    }
    out
}

/// Indices of the frames to keep when consecutive frames for which `same(i-1, i)` holds are
/// merged into the first of each run (that frame is then shown for the whole run).
pub fn keep_distinct(n: usize, mut same: impl FnMut(usize, usize) -> bool) -> Vec<usize> {
    let mut keep = Vec::with_capacity(n);
    for i in 0..n {
        match keep.last() {
            Some(&k) if same(k, i) => {}
            _ => keep.push(i),
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn delays_follow_real_time_within_bounds() {
        let t = Timing::default();
        let d = delays(&ms(&[0, 1234, 1264, 9000]), &[false; 4], t);
        assert_eq!(
            d,
            vec![123, 10, 300, 200],
            "1.234 s, min 100 ms, max 3 s, hold 2 s"
        );
    }

    #[test]
    fn labeled_frames_are_shown_long_enough_to_read() {
        let t = Timing::default();
        let d = delays(&ms(&[0, 50, 100]), &[true, false, true], t);
        assert_eq!(d, vec![50, 10, 200]);
    }

    #[test]
    fn rounding_does_not_drift() {
        let t = Timing::default();
        // 15 frames every 333 ms: 4995 ms in all, whatever the rounding of each.
        let starts: Vec<Duration> = (0..16).map(|i| Duration::from_millis(i * 333)).collect();
        let d = delays(&starts, &[false; 16], t);
        let total: u32 = d[..15].iter().map(|c| *c as u32).sum();
        assert!((499..=500).contains(&total), "{total}");
        assert!(d[..15].iter().all(|c| *c == 33 || *c == 34), "{d:?}");
    }

    #[test]
    fn keep_distinct_merges_runs() {
        let v = [1, 1, 2, 2, 2, 1, 3, 3];
        assert_eq!(
            keep_distinct(v.len(), |a, b| v[a] == v[b]),
            vec![0, 2, 5, 6]
        );
        assert_eq!(keep_distinct(0, |_, _| true), Vec::<usize>::new());
        assert_eq!(keep_distinct(3, |_, _| true), vec![0]);
    }
}
