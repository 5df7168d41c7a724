//! `check` end to end on small histories, through the crate's public API (the columns that
//! `check_stock_item` decodes): verdicts, and the evidence a report shows when not linearizable.

use std::time::Instant;

use oversell_native::input::{BUY_SOLD, BUY_SOLD_OUT, BUY_UNKNOWN, READ_OK, READ_UNKNOWN, RESTOCK_OK, RESTOCK_UNKNOWN};
use oversell_native::{check, Input, Outcome, Verdict};

/// Ops as (kind, amount, call, return); the return of an unknown op is ignored (-1).
fn input(init: i64, ops: &[(u8, i64, i64, i64)]) -> Input {
    Input {
        kinds: ops.iter().map(|o| o.0).collect(),
        amount: ops.iter().map(|o| o.1).collect(),
        call: ops.iter().map(|o| o.2).collect(),
        ret: ops.iter().map(|o| o.3).collect(),
        init,
    }
}

fn run(init: i64, ops: &[(u8, i64, i64, i64)]) -> Outcome {
    check(&input(init, ops), None)
}

fn is_valid(init: i64, ops: &[(u8, i64, i64, i64)]) -> bool {
    match run(init, ops).verdict {
        Verdict::Valid => true,
        Verdict::Invalid { .. } => false,
        Verdict::Unknown => panic!("unknown without a time limit"),
    }
}

/// (linearization prefix, stuck ops) of a history that must not be linearizable.
fn evidence(init: i64, ops: &[(u8, i64, i64, i64)]) -> (Vec<(usize, i64, i64)>, Vec<usize>) {
    match run(init, ops).verdict {
        Verdict::Invalid { lin, stuck } => (lin, stuck),
        Verdict::Valid => panic!("linearizable"),
        Verdict::Unknown => panic!("unknown"),
    }
}

fn is_unknown(outcome: &Outcome) -> bool {
    matches!(outcome.verdict, Verdict::Unknown)
}

#[test]
fn sequential_restock_buy_read_is_linearizable() {
    let ops = [(RESTOCK_OK, 2, 0, 1), (BUY_SOLD, 1, 2, 3), (READ_OK, 1, 4, 5)];
    let out = run(0, &ops);
    assert!(matches!(out.verdict, Verdict::Valid));
    assert_eq!((out.stats.events, out.stats.max_frontier), (6, 1));
    // and reading what was there before the buy, after it, is not
    assert!(!is_valid(0, &[(RESTOCK_OK, 2, 0, 1), (BUY_SOLD, 1, 2, 3), (READ_OK, 2, 4, 5)]));
}

#[test]
fn oversold_second_buy_is_stuck() {
    // stock 1, two buys of 1 one after the other, both sold
    let (lin, stuck) = evidence(1, &[(BUY_SOLD, 1, 0, 1), (BUY_SOLD, 1, 2, 3)]);
    assert_eq!(lin, vec![(0, 1, 0)]);
    assert_eq!(stuck, vec![1]);
    // the same buys at the same time: still one unit for two
    assert!(!is_valid(1, &[(BUY_SOLD, 1, 0, 3), (BUY_SOLD, 1, 1, 2)]));
    assert!(is_valid(2, &[(BUY_SOLD, 1, 0, 3), (BUY_SOLD, 1, 1, 2)]));
}

#[test]
fn stale_read_after_a_completed_buy() {
    let (lin, stuck) = evidence(1, &[(BUY_SOLD, 1, 0, 1), (READ_OK, 1, 2, 3)]);
    assert_eq!((lin, stuck), (vec![(0, 1, 0)], vec![1]));
    // concurrent with the buy, the read may come first
    assert!(is_valid(1, &[(BUY_SOLD, 1, 0, 3), (READ_OK, 1, 2, 4)]));
}

#[test]
fn longest_prefix_then_the_op_that_returned() {
    let ops = [(BUY_SOLD, 1, 0, 1), (BUY_SOLD, 1, 2, 3), (BUY_SOLD, 1, 4, 5), (READ_OK, 0, 6, 7)];
    let (lin, stuck) = evidence(2, &ops);
    assert_eq!(lin, vec![(0, 2, 1), (1, 1, 0)]);
    assert_eq!(stuck, vec![2]);
}

#[test]
fn overlapping_ops_that_can_be_ordered() {
    // a buy returns before the restock that makes it possible: the restock took effect first
    let ops = [(RESTOCK_OK, 1, 0, 10), (BUY_SOLD, 1, 1, 5), (READ_OK, 0, 2, 6), (BUY_SOLD_OUT, 1, 3, 7)];
    assert!(is_valid(0, &ops));
    // forty concurrent buyers of one hot item, every second one sold out, and a restock: 10 sold,
    // the sold_outs at 0, the restock, 10 more sold
    let hot = |init: i64, last_read: i64| {
        let mut ops = vec![(RESTOCK_OK, 10, 0, 100)];
        for k in 0..40 {
            ops.push((if k % 2 == 0 { BUY_SOLD } else { BUY_SOLD_OUT }, 1, 1 + k, 60 + k));
        }
        ops.push((READ_OK, last_read, 200, 201));
        run(init, &ops)
    };
    assert!(matches!(hot(10, 0).verdict, Verdict::Valid));
    assert!(matches!(hot(10, 1).verdict, Verdict::Invalid { .. }), "20 sold of 20 leave 0");
    let out = hot(9, 0);
    assert!(matches!(out.verdict, Verdict::Invalid { .. }), "19 units for 20 sold buys");
    assert!(out.stats.searches > 0 && out.stats.search_nodes >= out.stats.searches);
}

#[test]
fn real_time_order_and_touching_ends() {
    // a buy that returned before the restock was called cannot use it
    let (_, stuck) = evidence(0, &[(BUY_SOLD, 1, 0, 5), (RESTOCK_OK, 1, 6, 7)]);
    assert_eq!(stuck[0], 0);
    // ends that touch are concurrent (calls come first at equal times)
    assert!(is_valid(0, &[(BUY_SOLD, 1, 0, 5), (RESTOCK_OK, 1, 5, 7)]));
}

#[test]
fn unknown_buys_may_or_may_not_apply() {
    let unknown_buy = (BUY_UNKNOWN, 1, 0, -1);
    assert!(is_valid(1, &[unknown_buy, (READ_OK, 0, 2, 3)]), "it took effect");
    assert!(is_valid(1, &[unknown_buy, (READ_OK, 1, 2, 3)]), "it did not (yet)");
    assert!(is_valid(1, &[unknown_buy, (READ_OK, 1, 2, 3), (READ_OK, 0, 4, 5)]), "it did, late");
    // but only once, and not before it was called
    assert!(!is_valid(1, &[unknown_buy, (READ_OK, 0, 2, 3), (READ_OK, 1, 4, 5)]));
    assert!(!is_valid(1, &[(READ_OK, 0, 0, 1), (BUY_UNKNOWN, 1, 2, -1)]));
    // an unknown buy of more than the stock does nothing (stock >= qty to apply)
    assert!(!is_valid(1, &[(BUY_UNKNOWN, 2, 0, -1), (READ_OK, -1, 2, 3)]));
}

#[test]
fn unknown_restock_and_spare_unknown_ops_in_the_evidence() {
    assert!(is_valid(0, &[(RESTOCK_UNKNOWN, 1, 0, -1), (BUY_SOLD, 1, 5, 6)]));
    assert!(!is_valid(0, &[(BUY_SOLD, 1, 5, 6)]));
    // a read nothing can explain: the stuck ops are the read, then the unknown buy still spare
    let (lin, stuck) = evidence(1, &[(READ_OK, 1, 0, 1), (BUY_UNKNOWN, 1, 2, -1), (READ_OK, 5, 3, 4)]);
    assert_eq!((lin, stuck), (vec![(0, 1, 1)], vec![2, 1]));
}

#[test]
fn sold_out_buys_are_guards() {
    assert!(is_valid(0, &[(BUY_SOLD_OUT, 1, 0, 1)]));
    assert!(is_valid(1, &[(BUY_SOLD_OUT, 2, 0, 1)]));
    let (lin, stuck) = evidence(1, &[(BUY_SOLD_OUT, 1, 0, 1)]);
    assert_eq!((lin, stuck), (vec![], vec![0]));
}

#[test]
fn ops_that_constrain_nothing() {
    // unknown reads, unknown ops of qty 0, and only unknown ops: nothing to sweep
    let ops = [(READ_UNKNOWN, 0, 0, -1), (BUY_UNKNOWN, 0, 0, -1), (RESTOCK_UNKNOWN, 3, 1, -1)];
    let out = run(0, &ops);
    assert!(matches!(out.verdict, Verdict::Valid));
    assert_eq!(out.stats.events, 0);
    assert!(is_valid(5, &[]));
}

#[test]
fn a_deadline_in_the_past_gives_unknown() {
    // enough events for the clock to be read (every 1024 steps)
    let ops: Vec<_> = (0..2000).map(|k| (RESTOCK_OK, 1, 2 * k, 2 * k + 1)).collect();
    let past = Instant::now();
    let out = check(&input(0, &ops), Some(past));
    assert!(is_unknown(&out));
    assert!(matches!(check(&input(0, &ops), None).verdict, Verdict::Valid));
}

#[test]
fn too_many_open_ops_or_unknown_classes_give_unknown() {
    // 4095 reads open at once fit the widest bit set, 4096 do not
    let reads = |n: i64| -> Vec<_> { (0..n).map(|k| (READ_OK, 0, k, 10_000 + k)).collect() };
    assert!(matches!(check(&input(0, &reads(4095)), None).verdict, Verdict::Valid));
    assert!(is_unknown(&check(&input(0, &reads(4096)), None)));
    // 64 classes of unknown ops are counted, 65 are not
    let restocks = |n: i64| -> Vec<_> {
        let mut ops: Vec<_> = (1..=n).map(|q| (RESTOCK_UNKNOWN, q, 0, -1)).collect();
        ops.push((READ_OK, 0, 1, 2));
        ops
    };
    assert!(matches!(check(&input(0, &restocks(64)), None).verdict, Verdict::Valid));
    assert!(is_unknown(&check(&input(0, &restocks(65)), None)));
}

#[test]
fn a_mixed_batch_may_skip_the_smallest_open_restock() {
    // the brute-force test's counterexample: restock 3 then buy 1 explains the read of 2, with the
    // unknown restock of 1 left out (it was wrongly pruned by that unused restock's size)
    let ops = [(RESTOCK_UNKNOWN, 1, 1, -1), (RESTOCK_UNKNOWN, 3, 0, -1), (BUY_UNKNOWN, 1, 5, -1), (READ_OK, 2, 5, 5)];
    assert!(is_valid(0, &ops));
    // and a read of 5 is more than both restocks could have brought: not linearizable
    assert!(!is_valid(
        0,
        &[(RESTOCK_UNKNOWN, 1, 1, -1), (RESTOCK_UNKNOWN, 3, 0, -1), (BUY_UNKNOWN, 1, 5, -1), (READ_OK, 5, 5, 5)]
    ));
}
