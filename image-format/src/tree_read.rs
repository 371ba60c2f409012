//! Reading a whole tree file held in memory (`verify`, `inspect`,
//! tests): the root, every member at its place, and the check across
//! them all.

use std::vec;
use std::vec::Vec;

use crate::v1::{FormatError, Image, ObjectSlot, TreeCheck, TreeProcess, TreeState};

/// The validated images of a file: one process, or a whole tree.
pub struct TreeImages<'a> {
    /// The image at offset 0 (the root of a tree).
    pub root: Image<'a>,
    /// A tree's processes in tree order with their images (the root's is
    /// `root` again; None for a zombie); empty for a single-process image.
    pub processes: Vec<(TreeProcess, Option<Image<'a>>)>,
    /// Number of tree objects.
    pub objects: u32,
}

/// Validates `file` as a single image or a tree: every member and the
/// tree-wide rules (`TreeCheck`).
pub fn parse_tree_bytes(file: &[u8]) -> Result<TreeImages<'_>, FormatError> {
    let root = Image::parse_bytes(file)?;
    let mut processes = Vec::new();
    let mut refs = 0u32;
    for rec in root.tree_processes() {
        let img = match rec.state {
            TreeState::Zombie => None,
            _ if rec.image_offset == 0 => Some(root),
            _ => Some(Image::parse_member_bytes(file, &rec)?),
        };
        refs = refs.saturating_add(img.as_ref().map_or(0, |i| i.tree_object_refs()));
        processes.push((rec, img));
    }
    let mut slots = vec![ObjectSlot::default(); refs as usize];
    let mut check = TreeCheck::new(&mut slots);
    for (i, (rec, img)) in processes.iter().enumerate() {
        if let Some(img) = img {
            check.member(i as u32, rec, img)?;
        }
    }
    let objects = check.objects();
    Ok(TreeImages { root, processes, objects })
}
