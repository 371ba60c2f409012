//! `inspect` and `verify` of a tree image (FORMAT.md 11.): the tree
//! drawn, each process summarised (text) or in full (JSON); every member
//! validated at its place, its pages checked, and the tree-wide rules
//! (`TreeCheck`) run over all of them.

use std::path::Path;

use image_format::{Image, ImageDesc, ObjectSlot, TreeCheck, TreeLinks, TreeProcess, TreeState};
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::inspect::{load_at, print_text, to_json, verify_pages, Loaded};

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::BadImage { path: path.display().to_string(), reason: reason.into() }
}

/// Loads every process's image of the tree whose root is `root` (None
/// for a zombie; the root's own is loaded again).
pub(crate) fn members(path: &Path, root: &Loaded, img: &Image<'_>) -> Result<Vec<(TreeProcess, Option<Loaded>)>> {
    let mut out = Vec::new();
    for rec in img.tree_processes() {
        let loaded = match rec.state {
            TreeState::Zombie => None,
            _ => {
                let file = root.file.try_clone().map_err(|e| Error::sys(format!("reading {}", path.display()), e))?;
                let member = (rec.image_offset != 0).then_some(rec);
                Some(load_at(path, file, member)?)
            }
        };
        out.push((rec, loaded));
    }
    Ok(out)
}

/// Runs the tree-wide check over the members' images.
fn check_tree(path: &Path, all: &[(TreeProcess, Option<Image<'_>>)]) -> Result<u32> {
    let refs: u32 = all.iter().filter_map(|(_, i)| i.as_ref()).map(|i| i.tree_object_refs()).sum();
    let mut slots = vec![ObjectSlot::default(); refs as usize];
    let mut check = TreeCheck::new(&mut slots);
    for (i, (rec, img)) in all.iter().enumerate() {
        if let Some(img) = img {
            check.member(i as u32, rec, img).map_err(|e| bad(path, format!("{} (process {})", e.name(), rec.pid)))?;
        }
    }
    Ok(check.objects())
}

fn parse_all<'a>(path: &Path, loaded: &'a [(TreeProcess, Option<Loaded>)]) -> Result<Vec<(TreeProcess, Option<Image<'a>>)>> {
    loaded
        .iter()
        .map(|(rec, l)| {
            let img = l.as_ref().map(|l| l.image(path)).transpose().map_err(|e| match e {
                Error::BadImage { path, reason } => Error::BadImage { path, reason: format!("{reason} (process {})", rec.pid) },
                e => e,
            })?;
            Ok((*rec, img))
        })
        .collect()
}

/// `verify` of a tree: every member and its pages, then the tree.
pub fn verify(path: &Path, root: &Loaded, img: &Image<'_>) -> Result<()> {
    let loaded = members(path, root, img)?;
    let all = parse_all(path, &loaded)?;
    for ((_, l), (_, i)) in loaded.iter().zip(&all) {
        if let (Some(l), Some(i)) = (l, i) {
            verify_pages(path, l, i)?;
        }
    }
    let objects = check_tree(path, &all)?;
    let zombies = all.iter().filter(|(r, _)| r.state == TreeState::Zombie).count();
    println!(
        "{}: valid tree image of pid {}: {} processes ({zombies} zombies), {objects} shared objects, checksums match",
        path.display(),
        img.process.pid,
        all.len()
    );
    Ok(())
}

fn state(r: &TreeProcess) -> String {
    match r.state {
        TreeState::Running => "running".into(),
        TreeState::Stopped => "stopped".into(),
        TreeState::Zombie if r.exit_status & 0x7f == 0 => format!("zombie, exited {}", r.exit_status >> 8),
        TreeState::Zombie => format!("zombie, killed by signal {}", r.exit_status & 0x7f),
    }
}

fn depth(all: &[(TreeProcess, Option<Image<'_>>)], mut i: usize) -> usize {
    let mut d = 0;
    while let Some(p) = all.get(i).map(|(r, _)| r.parent).filter(|&p| p != image_format::TREE_NO_PARENT) {
        i = p as usize;
        d += 1;
    }
    d
}

/// One process of the tree in JSON: its record, links, and (unless a
/// zombie) its whole image as `inspect --json` shows a single one.
fn member_json(rec: &TreeProcess, img: Option<&Image<'_>>, full: bool) -> Value {
    let links = img.map(TreeLinks::from_image).unwrap_or_default();
    let mut v = json!({
        "pid": rec.pid, "parent": (rec.parent != image_format::TREE_NO_PARENT).then_some(rec.parent),
        "pgid": rec.pgid, "sid": rec.sid, "state": format!("{:?}", rec.state), "exit_status": rec.exit_status,
        "pdeath_signal": rec.pdeath_signal, "image_offset": rec.image_offset, "image_len": rec.image_len,
        "comm": img.map(|i| String::from_utf8_lossy(i.comm()).into_owned()),
        "tree_files": links.files.iter().map(|f| json!({"file": f.file, "object": f.object, "end": f.end})).collect::<Vec<_>>(),
        "tree_regions": links.regions.iter().map(|r| json!({"region": r.region, "object": r.object})).collect::<Vec<_>>(),
    });
    if let (true, Some(img)) = (full, img) {
        v["image"] = to_json(&ImageDesc::from_image(img), img.header.file_len);
    }
    v
}

/// `inspect` of a tree: the tree drawn, then each process.
pub fn inspect(path: &Path, root: &Loaded, img: &Image<'_>, as_json: bool) -> Result<()> {
    let loaded = members(path, root, img)?;
    let all = parse_all(path, &loaded)?;
    let objects = check_tree(path, &all)?;
    let file_len = root.file.metadata().map(|m| m.len()).unwrap_or(0);
    if as_json {
        let mut v = to_json(&ImageDesc::from_image(img), file_len);
        v["tree"] = Value::Array(all.iter().enumerate().map(|(i, (r, m))| member_json(r, m.as_ref(), i > 0)).collect());
        v["tree_objects"] = json!(objects);
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    println!("tree of {} processes, {objects} shared objects ({file_len} bytes):", all.len());
    for (i, (r, m)) in all.iter().enumerate() {
        let indent = "   ".repeat(depth(&all, i));
        let what = match m {
            Some(m) => {
                let pages: u64 = m.all_page_runs().map(|r| r.page_count).sum();
                let links = TreeLinks::from_image(m);
                let objects: Vec<String> = links
                    .files
                    .iter()
                    .map(|f| format!("{}{}", f.object, ["", "r", "w"].get(f.end as usize).unwrap_or(&"")))
                    .chain(links.regions.iter().map(|r| format!("{}m", r.object)))
                    .collect();
                format!(
                    "{} ({}): {} threads, {} regions, {pages} pages, {} fds{}",
                    r.pid,
                    String::from_utf8_lossy(m.comm()),
                    m.thread_count(),
                    m.region_count(),
                    m.fd_count(),
                    if objects.is_empty() { String::new() } else { format!(", shares {}", objects.join(" ")) }
                )
            }
            None => format!("{}", r.pid),
        };
        let pdeath = if r.pdeath_signal != 0 { format!(", pdeath signal {}", r.pdeath_signal) } else { String::new() };
        println!("{indent}{}{what}  [pgid {} sid {}, {}{pdeath}]", if i == 0 { "" } else { "└─ " }, r.pgid, r.sid, state(r));
    }
    for (r, m) in &all {
        if let Some(m) = m {
            println!();
            println!("=== process {} ===", r.pid);
            print_text(&ImageDesc::from_image(m), m.header.file_len);
        }
    }
    Ok(())
}
