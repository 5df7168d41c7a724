//! Configurations: the states the frontier holds, copied by value, and their exact dedupe. (Which
//! configuration covers another is `prune.rs`: it needs the sweep's open ops.)

use crate::bits::Bits;
use crate::hash::FxSet;

/// A configuration: stock, open effects linearized, open guards linearized, unknown ops used
/// per class with unknown ops (the first `used` of them by call). Copied by value: no heap.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Cfg<const W: usize, const U: usize> {
    pub(crate) stock: i64,
    pub(crate) e: Bits<W>,
    pub(crate) g: Bits<W>,
    pub(crate) used: [u32; U],
}

pub(crate) type Node<const W: usize, const U: usize> = (Cfg<W, U>, u32);

/// Drop exact duplicates (same configuration, whatever the trace), keeping the first of each.
pub(crate) fn dedupe<const W: usize, const U: usize>(nodes: &mut Vec<Node<W, U>>) {
    if nodes.len() < 2 {
        return;
    }
    let mut seen: FxSet<Cfg<W, U>> = FxSet::default();
    nodes.retain(|n| seen.insert(n.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(stock: i64, e: usize) -> Cfg<1, 4> {
        Cfg { stock, e: Bits::bit(e), g: Bits::ZERO, used: [0; 4] }
    }

    #[test]
    fn dedupe_keeps_the_first_of_equal_configurations_in_order() {
        let mut nodes = vec![(cfg(1, 0), 10), (cfg(2, 0), 11), (cfg(1, 0), 12), (cfg(1, 1), 13), (cfg(2, 0), 14)];
        dedupe(&mut nodes);
        assert_eq!(nodes.iter().map(|n| n.1).collect::<Vec<_>>(), vec![10, 11, 13]);
    }
}
