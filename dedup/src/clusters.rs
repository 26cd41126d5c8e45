//! Union-find over duplicate pairs, and the resulting removal decisions.

use crate::DocKey;

/// Which documents to drop, and the cluster size of each kept document that had duplicates.
///
/// Both lists are sorted by key. A document in neither list is unique: keep it, cluster size 1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removals {
    removed: Vec<DocKey>,
    kept: Vec<(DocKey, u32)>,
}

impl Removals {
    /// Builds from unsorted parts.
    pub(crate) fn from_parts(mut removed: Vec<DocKey>, mut kept: Vec<(DocKey, u32)>) -> Self {
        removed.sort_unstable();
        removed.dedup();
        kept.sort_unstable();
        Removals { removed, kept }
    }

    /// The documents to drop, sorted.
    pub fn removed(&self) -> &[DocKey] {
        &self.removed
    }

    /// The kept representative of every cluster of two or more documents, with the cluster size.
    pub fn kept_clusters(&self) -> &[(DocKey, u32)] {
        &self.kept
    }

    /// True when `key` is a duplicate to drop.
    pub fn is_removed(&self, key: DocKey) -> bool {
        self.removed.binary_search(&key).is_ok()
    }

    /// The size of the cluster `key` represents, when it is kept and had duplicates.
    pub fn cluster_size(&self, key: DocKey) -> Option<u32> {
        self.kept
            .binary_search_by_key(&key, |e| e.0)
            .ok()
            .map(|i| self.kept[i].1)
    }

    /// The part of the decisions that concerns input file `file`.
    pub fn for_file(&self, file: u32) -> RemovalList {
        let lo = |f: u32| DocKey { file: f, record: 0 };
        let r0 = self.removed.partition_point(|k| *k < lo(file));
        let r1 = self.removed.partition_point(|k| k.file <= file);
        let k0 = self.kept.partition_point(|e| e.0 < lo(file));
        let k1 = self.kept.partition_point(|e| e.0.file <= file);
        RemovalList {
            removed: self.removed[r0..r1].iter().map(|k| k.record).collect(),
            kept: self.kept[k0..k1]
                .iter()
                .map(|(k, s)| (k.record, *s))
                .collect(),
        }
    }
}

/// The decisions for one input file: records to drop and cluster sizes of kept records, both sorted
/// by record index. This is what the sharded form writes per input file (see [`crate::sharded`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalList {
    /// Record indices to drop, sorted.
    pub removed: Vec<u64>,
    /// `(record, cluster size)` of kept records that had duplicates, sorted.
    pub kept: Vec<(u64, u32)>,
}

impl RemovalList {
    /// True when record `record` of this file is a duplicate to drop.
    pub fn is_removed(&self, record: u64) -> bool {
        self.removed.binary_search(&record).is_ok()
    }

    /// Cluster size of a kept record that had duplicates.
    pub fn cluster_size(&self, record: u64) -> Option<u32> {
        self.kept
            .binary_search_by_key(&record, |e| e.0)
            .ok()
            .map(|i| self.kept[i].1)
    }
}

/// Union-find over dense indices; the root of each set is its smallest index, so when indices follow
/// key order the root is the document to keep.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> Self {
        assert!(
            n <= u32::MAX as usize,
            "union-find limited to 2^32 documents per run"
        );
        UnionFind {
            parent: (0..n as u32).collect(),
        }
    }

    /// The smallest index of the set of `x` (with path halving).
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    /// Merges the sets of `a` and `b`; returns false when they were already one set.
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[hi as usize] = lo;
        true
    }
}

/// Clusters documents linked by duplicate `pairs`: in each cluster the smallest key is kept with the
/// cluster size, the others are removed. The result depends only on the set of pairs.
pub fn clusters_from_pairs(pairs: &[(DocKey, DocKey)]) -> Removals {
    let mut keys: Vec<DocKey> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    keys.sort_unstable();
    keys.dedup();
    let idx = |k: &DocKey| -> u32 {
        keys.binary_search(k)
            .expect("every pair member was collected into keys") as u32
    };
    let mut uf = UnionFind::new(keys.len());
    for (a, b) in pairs {
        uf.union(idx(a), idx(b));
    }
    let mut sizes = vec![0u32; keys.len()];
    let mut removed = Vec::new();
    for i in 0..keys.len() as u32 {
        let r = uf.find(i);
        sizes[r as usize] += 1;
        if r != i {
            removed.push(keys[i as usize]);
        }
    }
    let kept = sizes
        .iter()
        .enumerate()
        .filter(|&(_, &s)| s > 1)
        .map(|(i, &s)| (keys[i], s))
        .collect();
    Removals::from_parts(removed, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(file: u32, record: u64) -> DocKey {
        DocKey { file, record }
    }

    #[test]
    fn clusters_keep_smallest_key_and_count() {
        let pairs = [
            (k(2, 0), k(1, 7)),
            (k(1, 7), k(3, 1)),
            (k(5, 5), k(4, 4)),
            (k(0, 9), k(0, 9)),
            (k(3, 1), k(2, 0)),
        ];
        let r = clusters_from_pairs(&pairs);
        assert_eq!(r.removed(), &[k(2, 0), k(3, 1), k(5, 5)]);
        assert_eq!(r.kept_clusters(), &[(k(1, 7), 3), (k(4, 4), 2)]);
        let mut rev = pairs;
        rev.reverse();
        assert_eq!(clusters_from_pairs(&rev), r);
        let f1 = r.for_file(1);
        assert_eq!(f1.removed, Vec::<u64>::new());
        assert_eq!(f1.cluster_size(7), Some(3));
        assert!(r.for_file(3).is_removed(1));
        assert!(!r.for_file(3).is_removed(0));
        assert_eq!(r.for_file(9), RemovalList::default());
    }

    #[test]
    fn union_find_chain() {
        let mut uf = UnionFind::new(10);
        for i in (1..10).rev() {
            assert!(uf.union(i, i - 1));
        }
        assert!(!uf.union(9, 0));
        for i in 0..10 {
            assert_eq!(uf.find(i), 0);
        }
    }
}
