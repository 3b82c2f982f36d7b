//! Sharding: one scan split into N independent runs that together cover everything exactly
//! once — how a facility sweep spreads over a Slurm job array.
//!
//! The partition is deterministic and needs no coordination: many targets are split by
//! target, one directory by its top-level entries, one repository's history by blob id. Each
//! item goes to `hash(item) mod N`, so adding a target moves no other target between shards.

use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based, as Slurm array task ids from `--array=0-(N-1)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// Which one, `0..count`.
    pub index: u32,
    /// How many.
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected I/N, e.g. 0/8 (0-based)"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{i}` is not a shard number"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a shard count"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "shard {index}/{count}: the index runs from 0 to {}",
                count.saturating_sub(1)
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether this shard owns the item named `key` (a target path, a top-level entry, a file
    /// path).
    pub fn owns(&self, key: &str) -> bool {
        let d = Sha256::digest(key.as_bytes());
        self.pick(&d[..8])
    }

    /// Whether this shard owns the git object with this id (already uniformly distributed).
    pub fn owns_object(&self, oid: &[u8]) -> bool {
        self.pick(&oid[..oid.len().min(8)])
    }

    fn pick(&self, bytes: &[u8]) -> bool {
        let mut b = [0u8; 8];
        b[..bytes.len()].copy_from_slice(bytes);
        u64::from_be_bytes(b) % u64::from(self.count) == u64::from(self.index)
    }
}

/// Reads a targets file: one path per line; blank lines and `#` comments skipped.
pub fn read_targets(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            "3/8".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 8 }
        );
        assert!("8/8".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        assert_eq!(Shard { index: 0, count: 2 }.to_string(), "0/2");
    }

    #[test]
    fn every_key_has_exactly_one_owner() {
        let n = 5;
        for k in 0..500 {
            let key = format!("repo-{k}");
            let owners = (0..n)
                .filter(|&i| Shard { index: i, count: n }.owns(&key))
                .count();
            assert_eq!(owners, 1, "{key}");
        }
        let oid = [0xabu8; 20];
        let owners = (0..n)
            .filter(|&i| Shard { index: i, count: n }.owns_object(&oid))
            .count();
        assert_eq!(owners, 1);
    }

    #[test]
    fn targets_file() {
        assert_eq!(
            read_targets("# repos\n/a\n\n  /b  \n#/c\n"),
            vec!["/a".to_string(), "/b".to_string()]
        );
    }
}
