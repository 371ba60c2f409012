//! Sets of addresses as sorted, disjoint (start, end) ranges, for the
//! final freeze of a migration (migrate.rs): which pages the receiver
//! holds current copies of is decided range by range, not page by page
//! (per-page set look-ups over 1 GiB took 60-90 ms of downtime).

/// Sorts `v` and merges overlapping or touching ranges.
pub fn merged(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some((_, end)) if a <= *end => *end = (*end).max(b),
            _ if a < b => out.push((a, b)),
            _ => {}
        }
    }
    out
}

/// The ranges in both `a` and `b` (each sorted and disjoint).
pub fn intersection(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        let (start, end) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if start < end {
            out.push((start, end));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Appends the parts of `start..end` outside `cover` (sorted, disjoint) to
/// `out`, merging with its last range when they touch.
pub fn push_uncovered(start: u64, end: u64, cover: &[(u64, u64)], out: &mut Vec<(u64, u64)>) {
    let mut push = |a: u64, b: u64| {
        if a >= b {
            return;
        }
        match out.last_mut() {
            Some((_, e)) if *e == a => *e = b,
            _ => out.push((a, b)),
        }
    };
    let mut at = start;
    let first = cover.partition_point(|&(_, e)| e <= start);
    for &(a, b) in &cover[first..] {
        if a >= end {
            break;
        }
        push(at, a.min(end));
        at = at.max(b);
    }
    push(at, end);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same sets, page by page.
    fn pages(v: &[(u64, u64)]) -> Vec<u64> {
        v.iter().flat_map(|&(a, b)| a..b).collect()
    }

    #[test]
    fn merging_sorts_and_joins() {
        assert_eq!(merged(vec![(5, 7), (1, 3), (3, 4), (6, 9), (10, 10)]), vec![(1, 4), (5, 9)]);
    }

    #[test]
    fn intersection_and_uncovered_agree_with_page_by_page_sets() {
        let a = merged(vec![(0, 10), (12, 20), (25, 26), (30, 40)]);
        let b = merged(vec![(5, 13), (15, 16), (19, 31), (39, 50)]);
        let both = intersection(&a, &b);
        let want: Vec<u64> = pages(&a).into_iter().filter(|p| pages(&b).contains(p)).collect();
        assert_eq!(pages(&both), want);
        for (start, end) in [(0, 60), (7, 8), (13, 15), (16, 19), (45, 45)] {
            let mut out = vec![(0, start)].into_iter().filter(|r| r.0 < r.1).collect::<Vec<_>>();
            let before = out.len();
            push_uncovered(start, end, &both, &mut out);
            let got = pages(&out[before.min(out.len())..]);
            let want: Vec<u64> = (start..end).filter(|p| !pages(&both).contains(p)).collect();
            // A range touching the one before is merged into it.
            let got_all = pages(&out);
            let want_all: Vec<u64> = (0..start).chain(want.iter().copied()).collect();
            assert_eq!(got_all, want_all, "{start}..{end}: {out:?} ({got:?})");
        }
    }
}
