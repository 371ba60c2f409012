//! The per-kind state /proc/PID/fdinfo/FD shows for eventfd, signalfd,
//! timerfd and epoll (procfs does not parse these): pure parsers of the
//! text, tested on fixtures as the kernel prints it.

/// The value after `name:` on its line, trimmed.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::trim)
}

fn hex(v: &str) -> Option<u64> {
    u64::from_str_radix(v, 16).ok()
}

/// eventfd: (counter, EFD_SEMAPHORE). None if a line is missing (kernels
/// before 6.6 do not print eventfd-semaphore).
pub fn eventfd(text: &str) -> Option<(u64, bool)> {
    let count = hex(field(text, "eventfd-count")?)?;
    let sem = match field(text, "eventfd-semaphore")? {
        "0" => false,
        "1" => true,
        _ => return None,
    };
    Some((count, sem))
}

/// signalfd: its mask (bit n-1 for signal n).
pub fn signalfd(text: &str) -> Option<u64> {
    hex(field(text, "sigmask")?)
}

/// A timerfd's state as fdinfo prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timer {
    /// clockid.
    pub clock: u64,
    /// Expirations not yet read.
    pub ticks: u64,
    /// settime flags (TFD_TIMER_ABSTIME 1, TFD_TIMER_CANCEL_ON_SET 2).
    pub flags: u32,
    /// Time left until it expires, ns (0: disarmed).
    pub left_ns: u64,
    /// Interval, ns.
    pub interval_ns: u64,
}

/// "(sec, nsec)" in ns.
fn pair_ns(v: &str) -> Option<u64> {
    let (s, n) = v.strip_prefix('(')?.strip_suffix(')')?.split_once(',')?;
    let (s, n): (u64, u64) = (s.trim().parse().ok()?, n.trim().parse().ok()?);
    s.checked_mul(1_000_000_000)?.checked_add(n)
}

/// timerfd.
pub fn timerfd(text: &str) -> Option<Timer> {
    Some(Timer {
        clock: field(text, "clockid")?.parse().ok()?,
        ticks: field(text, "ticks")?.parse().ok()?,
        flags: u32::from_str_radix(field(text, "settime flags")?, 8).ok()?,
        left_ns: pair_ns(field(text, "it_value")?)?,
        interval_ns: pair_ns(field(text, "it_interval")?)?,
    })
}

/// One epoll interest entry as fdinfo prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    /// fd number it was registered with.
    pub fd: i32,
    /// Its events.
    pub events: u32,
    /// Its data.
    pub data: u64,
    /// The registered file's inode (to tell whether the fd still has it).
    pub ino: u64,
}

/// epoll: every "tfd:" line. None if one does not parse.
pub fn epoll(text: &str) -> Option<Vec<Interest>> {
    let mut out = Vec::new();
    for l in text.lines().filter(|l| l.starts_with("tfd:")) {
        let words: Vec<&str> = l.split_whitespace().collect();
        let after = |key: &str| words.iter().position(|w| *w == key).and_then(|i| words.get(i + 1)).copied();
        let ino = words.iter().find_map(|w| w.strip_prefix("ino:"))?;
        out.push(Interest {
            fd: after("tfd:")?.parse().ok()?,
            events: u32::from_str_radix(after("events:")?, 16).ok()?,
            data: hex(after("data:")?)?,
            ino: hex(ino)?,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENTFD: &str = "pos:\t0\nflags:\t02004002\nmnt_id:\t16\nino:\t1057\neventfd-count:                5\neventfd-id: 3\neventfd-semaphore: 1\n";
    const SIGNALFD: &str = "pos:\t0\nflags:\t02\nmnt_id:\t16\nino:\t1057\nsigmask:\t0000000000000200\n";
    const TIMERFD: &str = "pos:\t0\nflags:\t02\nmnt_id:\t16\nino:\t1057\nclockid: 1\nticks: 3\nsettime flags: 03\nit_value: (1, 500000000)\nit_interval: (0, 250000000)\n";
    const EPOLL: &str = "pos:\t0\nflags:\t02\nmnt_id:\t16\nino:\t1057\ntfd:        5 events: 80000001 data:             1234  pos:0 ino:2a1 sdev:f\ntfd:       14 events:       19 data:                e  pos:0 ino:421 sdev:10\n";

    #[test]
    fn eventfd_count_and_semaphore() {
        assert_eq!(eventfd(EVENTFD), Some((5, true)));
        assert_eq!(eventfd(&EVENTFD.replace("eventfd-semaphore: 1\n", "")), None, "an old kernel: refused, not guessed");
    }

    #[test]
    fn signalfd_mask() {
        assert_eq!(signalfd(SIGNALFD), Some(1 << 9));
    }

    #[test]
    fn timerfd_state() {
        let t = timerfd(TIMERFD).unwrap();
        assert_eq!(t, Timer { clock: 1, ticks: 3, flags: 3, left_ns: 1_500_000_000, interval_ns: 250_000_000 });
        assert_eq!(timerfd(&TIMERFD.replace("(1, 5", "(x, 5")), None);
    }

    #[test]
    fn epoll_interest_list() {
        let got = epoll(EPOLL).unwrap();
        assert_eq!(
            got,
            [
                Interest { fd: 5, events: 0x8000_0001, data: 0x1234, ino: 0x2a1 },
                Interest { fd: 14, events: 0x19, data: 0xe, ino: 0x421 },
            ]
        );
        assert_eq!(epoll(&EPOLL.replace("events: 80000001", "events: zz")), None);
        assert_eq!(epoll(SIGNALFD), Some(Vec::new()));
    }
}
