//! `ckpt-writer dump PID` of a process with children: the whole tree,
//! frozen together (tree_freeze.rs), each process captured as a single
//! dump captures it, what they share linked (tree_links.rs), written as
//! one tree image in one pass (FORMAT.md 11.). The processes run on (or
//! are killed, or stay stopped) only once the image is complete; a
//! failure leaves every one running and no file.

use std::time::Instant;

use image_format::{check_tree_shape, FormatError, Options, TreeMemberDesc, TreeProcess, TreeState, TREE_NO_PARENT};

use crate::capture::{capture_in, choose_regions};
use crate::encode::describe;
use crate::error::{Error, Result};
use crate::plan::DumpPlan;
use crate::snapshot::Snapshot;
use crate::tree_freeze::Member;
use crate::fds::TreeFds;
use crate::tree_links::{link, tree_inodes};
use crate::write::{PageReader, Sink};

/// Why a process's place in the tree cannot be restored, in words.
fn shape_refusal(e: FormatError, m: &Member, tree: &[Member]) -> String {
    let parent = m.parent.map(|p| &tree[p]);
    let what = match e {
        FormatError::BadTreeSession => format!(
            "its session {} is neither its parent's ({}) nor its own; a restore can only inherit a session or create one",
            m.sid,
            parent.map_or(0, |p| p.sid)
        ),
        FormatError::BadTreeGroup => format!(
            "its process group {} is neither its own, the root's ({}), nor led by a process of the tree before it in its session",
            m.pgid, tree[0].pgid
        ),
        other => other.description().to_string(),
    };
    format!("pid {} ({}) of the tree: {what}; dump it alone with --no-children", m.pid, m.comm)
}

/// The TREE record of member `m`.
fn record(m: &Member, snap: Option<&Snapshot>) -> TreeProcess {
    TreeProcess {
        pid: m.pid as u32,
        parent: m.parent.map_or(TREE_NO_PARENT, |p| p as u32),
        pgid: m.pgid as u32,
        sid: m.sid as u32,
        state: m.state,
        exit_status: m.exit_status,
        pdeath_signal: snap.map_or(0, |s| s.process.pdeath_signal),
        flags: if snap.is_some() { image_format::v1::records::tree_flags::TIDS } else { 0 },
        image_offset: 0,
        image_len: 0,
    }
}

/// Dumps the frozen tree `tree` (root first) into `sink`.
pub fn run(plan: &DumpPlan, mut sink: Sink, mut tree: Vec<Member>, started: Instant) -> Result<()> {
    let pids: Vec<i32> = tree.iter().map(|m| m.pid).collect();
    let live: Vec<i32> = tree.iter().filter(|m| m.frozen.is_some()).map(|m| m.pid).collect();
    let (pipes, sockets) = tree_inodes(&live)?;
    let shared = TreeFds { pipes: &pipes, members: &live, sockets: &sockets };
    let mut snaps: Vec<Option<Snapshot>> = Vec::with_capacity(tree.len());
    for m in tree.iter_mut() {
        let Some(frozen) = m.frozen.as_mut() else {
            snaps.push(None);
            continue;
        };
        let (mut snap, mappings) = capture_in(frozen, plan.allow_unsupported, shared)?;
        choose_regions(&mut snap, mappings, m.pid)?;
        snaps.push(Some(snap));
    }
    let records: Vec<TreeProcess> = tree.iter().zip(&snaps).map(|(m, s)| record(m, s.as_ref())).collect();
    for (i, m) in tree.iter().enumerate().skip(1) {
        check_tree_shape(i as u32, &records[i], &records[0], |j| records.get(j as usize).copied())
            .map_err(|e| Error::Unsupported(shape_refusal(e, m, &tree)))?;
    }
    let links = link(&pids, &mut snaps)?;
    // A pipe end shared with other processes of the tree is not widowed,
    // whatever its own image says: drop the single dump's note for it.
    for (snap, files) in snaps.iter_mut().zip(&links.files) {
        let Some(snap) = snap else { continue };
        let shared: Vec<String> = snap
            .fds
            .iter()
            .filter(|f| f.disposition == crate::snapshot::FdDisposition::Shared && files.iter().any(|t| t.file == f.file))
            .map(|f| format!("fd {}: ", f.fd))
            .collect();
        snap.fd_notes.retain(|n| !shared.iter().any(|p| n.starts_with(p.as_str())));
    }
    let members: Vec<TreeMemberDesc> = records
        .iter()
        .enumerate()
        .map(|(i, r)| TreeMemberDesc {
            desc: snaps[i].as_ref().map(describe),
            process: *r,
            files: links.files[i].clone(),
            regions: links.regions[i].clone(),
        })
        .collect();
    let prepared = image_format::prepare_tree(&members, &Options::default())
        .map_err(|e| Error::sys("encoding the tree image", std::io::Error::other(format!("the image would be invalid: {}", e.name()))))?;
    let readers: Vec<Option<PageReader>> =
        tree.iter().map(|m| m.frozen.as_ref().map(|_| PageReader::new(m.pid, None)).transpose()).collect::<Result<_>>()?;
    let mut fill_error = None;
    let fill = |i: usize, addr, buf: &mut [u8]| match readers[i].as_ref() {
        Some(r) => r.fill(addr, buf).map_err(|e| {
            fill_error = Some(e);
            std::io::Error::other("reading target memory failed")
        }),
        None => Err(std::io::Error::other("a zombie has no memory")),
    };
    let written = image_format::write_tree_prepared_threaded(&prepared, sink.writer(), fill, crate::crc::update);
    let written = match (written, fill_error) {
        (_, Some(e)) => return Err(e),
        (Ok(n), None) => n,
        (Err(image_format::WriteError::Io(e)), None) => return Err(Error::output(sink.name(), e)),
        (Err(e), None) => return Err(Error::sys("writing the image", std::io::Error::other(e.to_string()))),
    };
    // Every page is read: processes that go on running need not wait for
    // the output's fsync and rename.
    if !plan.kill && !plan.leave_stopped {
        tree.iter_mut().for_each(|m| drop(m.frozen.take()));
    }
    let frozen_for = started.elapsed();
    let name = sink.name();
    sink.commit()?;
    for m in tree.iter_mut() {
        if let Some(f) = m.frozen.as_mut() {
            if plan.kill {
                f.kill()?;
            } else if plan.leave_stopped {
                f.set_leave_stopped();
            }
        }
    }
    let zombies = tree.iter().filter(|m| m.state == TreeState::Zombie).count();
    drop(tree);
    if !plan.quiet {
        let pages: u64 = snaps.iter().flatten().map(|s| s.page_bytes() / 4096).sum();
        eprintln!(
            "ckpt-writer: dumped the tree of pid {} ({} processes, {zombies} zombies, {} shared objects): {pages} pages, {written} bytes to {name}; frozen {:.1} ms{}",
            pids[0],
            pids.len(),
            links.objects,
            frozen_for.as_secs_f64() * 1000.0,
            if plan.kill { "; killed" } else { "" },
        );
        for (pid, snap) in pids.iter().zip(&snaps) {
            for note in snap.iter().flat_map(|s| &s.fd_notes) {
                eprintln!("ckpt-writer: pid {pid}: {note}");
            }
        }
    }
    Ok(())
}
