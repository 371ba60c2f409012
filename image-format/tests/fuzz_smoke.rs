//! The fuzz target on the stable toolchain: the golden images and a few
//! thousand seeded random mutations of them (raw and CRC-resealed) must
//! never panic, and resealed mutations must often get past the CRCs.
#[path = "../fuzz/fuzz_targets/target_fn.rs"]
mod target_fn;

use std::path::PathBuf;

/// xorshift64*: deterministic, so a failure is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn goldens() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    ["minimal.img", "minor1-optional.img", "sample.img", "files.img", "tree.img"]
        .iter()
        .map(|n| std::fs::read(dir.join(n)).unwrap())
        .collect()
}

fn mutate(rng: &mut Rng, img: &[u8]) -> Vec<u8> {
    let mut b = img.to_vec();
    // Bias mutations to the metadata, where the rules live.
    let meta_end = (256 + u64::from_le_bytes(b[48..56].try_into().unwrap()) as usize).min(b.len());
    for _ in 0..1 + rng.below(4) {
        let pos = if rng.below(4) == 0 {
            rng.below(b.len())
        } else {
            rng.below(meta_end)
        };
        match rng.below(4) {
            0 => b[pos] ^= 1 << rng.below(8),
            1 => b[pos] = rng.next() as u8,
            2 => b[pos] = [0, 1, 0x7f, 0x80, 0xff][rng.below(5)],
            _ => {
                let l = rng.below(b.len()).max(1);
                b.truncate(l);
                break;
            }
        }
    }
    b
}

#[test]
fn fuzz_target_survives_goldens_and_mutations() {
    let goldens = goldens();
    for g in &goldens {
        for mode in [0u8, 1] {
            let mut input = vec![mode];
            input.extend_from_slice(g);
            target_fn::run(&input);
        }
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut resealed_ok = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for i in 0..4000 {
        let g = &goldens[i % goldens.len()];
        let mutated = mutate(&mut rng, g);
        let mode = (i % 2) as u8;
        let mut input = vec![mode];
        input.extend_from_slice(&mutated);
        target_fn::run(&input);
        if mode == 1 {
            let mut b = mutated.clone();
            let _ = target_fn::reseal(&mut b);
            match image_format::Image::parse_bytes(&b) {
                Ok(_) => resealed_ok += 1,
                Err(e) => {
                    distinct.insert(e.name());
                }
            }
        }
    }
    // Resealing must let mutations reach many different semantic checks.
    assert!(distinct.len() >= 15, "only reached {distinct:?}");
    assert!(resealed_ok > 0);
    eprintln!("resealed mutations: {resealed_ok} accepted, refusals seen: {distinct:?}");
}
