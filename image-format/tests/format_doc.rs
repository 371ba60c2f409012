//! FORMAT.md against the declarations in src/v1: every record table has
//! exactly the declared fields (offset, size, name, reserved bytes), the
//! section kinds table the declared record sizes, the enum codes the
//! declared ones, and the refusal table the one `FormatError` list.

use std::collections::BTreeSet;

use image_format::v1::header::{HeaderWire, TrailerWire};
use image_format::v1::layout::{Field, Shape};
use image_format::v1::records::*;
use image_format::v1::section::SectionHeaderWire;
use image_format::v1::thread::{ThreadWire, XsaveStartWire};
use image_format::{section_kind as kind, FormatError};

const DOC: &str = include_str!("../FORMAT.md");

/// (heading start, the record's fields, its size)
fn records() -> Vec<(&'static str, &'static [Field], usize)> {
    use std::mem::size_of;
    vec![
        ("## 2. Header", HeaderWire::FIELDS, size_of::<HeaderWire>()),
        ("### Section header", SectionHeaderWire::FIELDS, size_of::<SectionHeaderWire>()),
        ("### StrRef", StrRefWire::FIELDS, size_of::<StrRefWire>()),
        ("### FileId", FileIdWire::FIELDS, size_of::<FileIdWire>()),
        ("### PROCESS", ProcessWire::FIELDS, size_of::<ProcessWire>()),
        ("### AUXV", AuxvWire::FIELDS, size_of::<AuxvWire>()),
        ("### THREADS", ThreadWire::FIELDS, size_of::<ThreadWire>()),
        ("#### XSAVE area start", XsaveStartWire::FIELDS, size_of::<XsaveStartWire>()),
        ("### SIGACTIONS", SigActionWire::FIELDS, size_of::<SigActionWire>()),
        ("### REGIONS", RegionWire::FIELDS, size_of::<RegionWire>()),
        ("### PAGE_RUNS", PageRunWire::FIELDS, size_of::<PageRunWire>()),
        ("### FDS", FdWire::FIELDS, size_of::<FdWire>()),
        ("### FILES", FileWire::FIELDS, size_of::<FileWire>()),
        ("### EPOLL", EpollEntryWire::FIELDS, size_of::<EpollEntryWire>()),
        ("### PENDING_SIGNALS", PendingSignalWire::FIELDS, size_of::<PendingSignalWire>()),
        ("### TIMERS", TimerWire::FIELDS, size_of::<TimerWire>()),
        ("### LOCKS", LockWire::FIELDS, size_of::<LockWire>()),
        ("### SOCKOPTS", SockOptWire::FIELDS, size_of::<SockOptWire>()),
        ("### PROCESS_ATTRS", ProcessAttrsWire::FIELDS, size_of::<ProcessAttrsWire>()),
        ("### CREDS", CredsWire::FIELDS, size_of::<CredsWire>()),
        ("### SCHED", SchedWire::FIELDS, size_of::<SchedWire>()),
        ("### SECCOMP_FILTERS", SeccompFilterWire::FIELDS, size_of::<SeccompFilterWire>()),
        ("### SECCOMP_CODE", SeccompInsnWire::FIELDS, size_of::<SeccompInsnWire>()),
        ("### Trailer", TrailerWire::FIELDS, size_of::<TrailerWire>()),
        ("### TREE (", TreeProcessWire::FIELDS, size_of::<TreeProcessWire>()),
        ("### TREE_FILES", TreeFileWire::FIELDS, size_of::<TreeFileWire>()),
        ("### TREE_REGIONS", TreeRegionWire::FIELDS, size_of::<TreeRegionWire>()),
    ]
}

/// The doc split at its headings: (heading line, lines up to the next).
fn sections() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut in_code = false;
    for line in DOC.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if !in_code && line.starts_with('#') {
            out.push((line, Vec::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push(line);
        }
    }
    out
}

/// Cells of the table rows (not the header or rule) of the table whose
/// header starts with `header`, in `lines`; None if there is none.
fn table(lines: &[&'static str], header: &str) -> Option<Vec<Vec<&'static str>>> {
    let start = lines.iter().position(|l| l.starts_with(header))?;
    let rows = lines[start + 2..]
        .iter()
        .take_while(|l| l.starts_with('|'))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    Some(rows)
}

struct Row {
    off: usize,
    size: Option<usize>,
    field: &'static str,
    used: bool,
}

/// Matches declared fields to rows: a field is one row (same offset and
/// size) or, for a nested record, its own fields' rows.
fn walk(fields: &[Field], base: usize, prefix: &str, rows: &mut [Row], errors: &mut Vec<String>) {
    for f in fields {
        let path = if prefix.is_empty() { f.name.to_string() } else { format!("{prefix}.{}", f.name) };
        let at = base + f.offset;
        match rows.iter_mut().find(|r| r.off == at && r.size == Some(f.size)) {
            Some(row) => {
                row.used = true;
                let named = match f.shape {
                    Shape::Reserved => row.field == "reserved",
                    _ => row.field.starts_with(&format!("`{path}`")),
                };
                if !named {
                    errors.push(format!("{path} at {at}: the row says {:?}", row.field));
                }
            }
            None => match f.shape {
                Shape::Records { fields: inner, count: 1 } => walk(inner, at, &path, rows, errors),
                _ => errors.push(format!("{path} ({at}, {} bytes) has no row", f.size)),
            },
        }
    }
}

#[test]
fn record_tables_match_the_declarations() {
    let secs = sections();
    let mut errors = Vec::new();
    let mut claimed = BTreeSet::new();
    for (heading, fields, size) in records() {
        let (i, (line, lines)) = secs
            .iter()
            .enumerate()
            .find(|(_, (h, _))| h.starts_with(heading))
            .unwrap_or_else(|| panic!("FORMAT.md has no heading {heading:?}"));
        claimed.insert(i);
        if !line.contains(&format!("{size} bytes")) && !line.contains(&format!("({size} +")) {
            errors.push(format!("{line:?}: the record is {size} bytes"));
        }
        let rows = table(lines, "| off | size | field |")
            .unwrap_or_else(|| panic!("{heading}: no | off | size | field | table"));
        let mut rows: Vec<Row> = rows
            .iter()
            .map(|c| Row {
                off: c[0].parse().unwrap_or_else(|_| panic!("{heading}: offset {:?}", c[0])),
                size: c[1].parse().ok(),
                field: c[2],
                used: false,
            })
            .collect();
        walk(fields, 0, "", &mut rows, &mut errors);
        for r in rows.iter().filter(|r| !r.used) {
            // Only THREADS has a variable part, after the fixed record.
            if !(r.size.is_none() && r.off == size) {
                errors.push(format!("{heading}: row at {} ({:?}) is no declared field", r.off, r.field));
            }
        }
    }
    for (i, (heading, lines)) in secs.iter().enumerate() {
        if !claimed.contains(&i) && table(lines, "| off | size | field |").is_some() {
            errors.push(format!("{heading}: a record table no declaration checks"));
        }
    }
    assert!(errors.is_empty(), "FORMAT.md disagrees with src/v1:\n{}", errors.join("\n"));
}

#[test]
fn section_kinds_table_matches() {
    use std::mem::size_of;
    let secs = sections();
    let (_, lines) = secs.iter().find(|(h, _)| h.starts_with("### Section kinds")).unwrap();
    let rows = table(lines, "| kind | name | record |").unwrap();
    let want: &[(u32, &str, usize)] = &[
        (kind::PROCESS, "PROCESS", size_of::<ProcessWire>()),
        (kind::STRINGS, "STRINGS", 1),
        (kind::AUXV, "AUXV", size_of::<AuxvWire>()),
        (kind::THREADS, "THREADS", size_of::<ThreadWire>()),
        (kind::SIGACTIONS, "SIGACTIONS", size_of::<SigActionWire>()),
        (kind::REGIONS, "REGIONS", size_of::<RegionWire>()),
        (kind::PAGE_RUNS, "PAGE_RUNS", size_of::<PageRunWire>()),
        (kind::FDS, "FDS", size_of::<FdWire>()),
        (kind::FILES, "FILES", size_of::<FileWire>()),
        (kind::FILE_DATA, "FILE_DATA", 1),
        (kind::EPOLL, "EPOLL", size_of::<EpollEntryWire>()),
        (kind::PENDING_SIGNALS, "PENDING_SIGNALS", size_of::<PendingSignalWire>()),
        (kind::TIMERS, "TIMERS", size_of::<TimerWire>()),
        (kind::LOCKS, "LOCKS", size_of::<LockWire>()),
        (kind::SOCKOPTS, "SOCKOPTS", size_of::<SockOptWire>()),
        (kind::PROCESS_ATTRS, "PROCESS_ATTRS", size_of::<ProcessAttrsWire>()),
        (kind::CREDS, "CREDS", size_of::<CredsWire>()),
        (kind::GROUPS, "GROUPS", size_of::<GroupWire>()),
        (kind::SCHED, "SCHED", size_of::<SchedWire>()),
        (kind::SECCOMP_FILTERS, "SECCOMP_FILTERS", size_of::<SeccompFilterWire>()),
        (kind::SECCOMP_CODE, "SECCOMP_CODE", size_of::<SeccompInsnWire>()),
        (kind::TREE_FILES, "TREE_FILES", size_of::<TreeFileWire>()),
        (kind::TREE_REGIONS, "TREE_REGIONS", size_of::<TreeRegionWire>()),
        (kind::TREE, "TREE", size_of::<TreeProcessWire>()),
        (kind::PAGE_CRCS, "PAGE_CRCS", 4),
    ];
    for (k, name, size) in want {
        let row = rows
            .iter()
            .find(|r| r[0] == k.to_string())
            .unwrap_or_else(|| panic!("no row for kind {k}"));
        assert_eq!(row[1], *name, "kind {k}");
        let lead: String = row[2].chars().take_while(char::is_ascii_digit).collect();
        assert_eq!(lead, size.to_string(), "record size of {name}");
    }
}

/// The codes a table row's allowed-values cell lists ("0 anon, 1 file").
fn codes(heading: &str, field: &str) -> BTreeSet<u32> {
    let secs = sections();
    let (_, lines) = secs.iter().find(|(h, _)| h.starts_with(heading)).unwrap();
    let rows = table(lines, "| off | size | field |").unwrap();
    let row = rows.iter().find(|r| r[2].starts_with(field)).unwrap();
    let cell = row[3].split('[').next().unwrap();
    cell.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect()
}

#[test]
fn enum_codes_match() {
    let set = |v: Vec<u32>| v.into_iter().collect::<BTreeSet<u32>>();
    assert_eq!(codes("### REGIONS", "`kind`"), set(RegionKind::ALL.iter().map(|k| *k as u32).collect()));
    assert_eq!(codes("### FDS", "`kind`"), set(FdKind::ALL.iter().map(|k| *k as u32).collect()));
    assert_eq!(codes("### FILES", "`kind`"), set(FileKind::ALL.iter().map(|k| *k as u32).collect()));
    assert_eq!(
        codes("### FDS", "`disposition`"),
        set(FdDisposition::ALL.iter().map(|k| *k as u32).collect())
    );
    assert_eq!(
        codes("### PENDING_SIGNALS", "`scope`"),
        set(SignalScope::ALL.iter().map(|k| *k as u32).collect())
    );
    assert_eq!(codes("### TIMERS", "`kind`"), set(TimerKind::ALL.iter().map(|k| *k as u32).collect()));
    assert_eq!(codes("### LOCKS", "`kind`"), set(LockKind::ALL.iter().map(|k| *k as u32).collect()));
    assert_eq!(codes("### TREE (", "`state`"), set(TreeState::ALL.iter().map(|k| *k as u32).collect()));
}

#[test]
fn refusal_table_is_the_error_list() {
    let secs = sections();
    let (_, lines) = secs.iter().find(|(h, _)| h.starts_with("## 10. Refusals")).unwrap();
    let rows = table(lines, "| name | meaning |").unwrap();
    let doc: Vec<(String, String)> =
        rows.iter().map(|r| (r[0].trim_matches('`').to_string(), r[1].to_string())).collect();
    let code: Vec<(String, String)> =
        FormatError::ALL.iter().map(|e| (e.name().to_string(), e.description().to_string())).collect();
    assert_eq!(doc, code);
    // Every refusal named in brackets elsewhere is one of them.
    let names: BTreeSet<&str> = FormatError::ALL.iter().map(|e| e.name()).collect();
    let mut seen = 0;
    for part in DOC.split("[`").skip(1) {
        let name = part.split('`').next().unwrap();
        if part.starts_with(&format!("{name}`]")) {
            assert!(names.contains(name), "FORMAT.md names an unknown refusal [`{name}`]");
            seen += 1;
        }
    }
    assert!(seen > 50, "only {seen} [`refusal`] references found");
}

#[test]
fn socket_option_table_is_the_option_list() {
    use image_format::v1::sockopts::{Encoding, On, OPTIONS};
    let secs = sections();
    let (_, lines) = secs.iter().find(|(h, _)| h.starts_with("### SOCKOPTS")).unwrap();
    let rows = table(lines, "| level | name | option |").unwrap();
    let doc: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let code: Vec<Vec<String>> = OPTIONS
        .iter()
        .map(|d| {
            let on = match d.on {
                On::Any => "any",
                On::Tcp => "TCP",
                On::Udp => "UDP",
                On::Ip4 => "IPv4",
                On::Udp4 => "IPv4 UDP",
                On::Ip6 => "IPv6",
                On::Udp6 => "IPv6 UDP",
                On::Local => "unix, netlink",
            };
            let on = if d.established { on.to_string() } else { format!("{on}, not a connection") };
            let max = |v: u32| if v == i32::MAX as u32 { "2^31-1".to_string() } else { v.to_string() };
            let enc = match d.encoding {
                Encoding::Bool => "flag".to_string(),
                Encoding::Int(lo, hi) => format!("{lo}..={}", max(hi)),
                Encoding::Buffer => "buffer".to_string(),
                Encoding::Timeout => "timeout".to_string(),
                Encoding::Linger => "linger".to_string(),
            };
            vec![d.level.to_string(), d.name.to_string(), d.text.to_string(), on, enc]
        })
        .collect();
    assert_eq!(doc, code);
}
