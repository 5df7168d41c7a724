//! `check` against a brute-force search over every order of small random histories: the sweep's
//! pruning (symmetry, minimal batches, dominance) must never change a verdict.
//!
//! With restocks of several sizes this found a real bug: a mixed segment of a batch was pruned
//! by the smallest restock *open*, not the smallest one *in the segment*, so init 0, an unknown
//! restock of 1, an unknown restock of 3, a read of 2 and an unknown buy of 1 called at the
//! read's call (restock 3 then buy 1 explains the read) was answered "not linearizable".

use oversell_native::input::{BUY_SOLD, BUY_SOLD_OUT, BUY_UNKNOWN, READ_OK, READ_UNKNOWN, RESTOCK_OK, RESTOCK_UNKNOWN};
use oversell_native::{check, Input, Verdict};

/// xorshift64*: deterministic, no dependency
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
}

/// The stock model: the stock after an op of `kind` and amount `q`, if the op can happen at `stock`.
fn step(kind: u8, q: i64, stock: i64) -> Option<i64> {
    match kind {
        BUY_SOLD | BUY_UNKNOWN => (stock >= q).then_some(stock - q),
        BUY_SOLD_OUT => (stock < q).then_some(stock),
        READ_OK => (stock == q).then_some(stock),
        READ_UNKNOWN => Some(stock),
        _ => Some(stock + q), // restocks
    }
}

/// Is there an order of all known ops and some unknown ones that respects real time (a before b
/// when a returned before b was called) and the stock model? Depth first over (done, stock).
fn linearizable(input: &Input) -> bool {
    let n = input.kinds.len();
    let unknown = |i: usize| matches!(input.kinds[i], BUY_UNKNOWN | READ_UNKNOWN | RESTOCK_UNKNOWN);
    let must: u32 = (0..n).filter(|&i| !unknown(i)).map(|i| 1 << i).sum();
    // ops that must come before each op
    let before: Vec<u32> =
        (0..n).map(|b| (0..n).filter(|&a| !unknown(a) && input.ret[a] < input.call[b]).map(|a| 1 << a).sum()).collect();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(0u32, input.init)];
    while let Some((done, stock)) = stack.pop() {
        if done & must == must {
            return true;
        }
        if !seen.insert((done, stock)) {
            continue;
        }
        for (i, &preds) in before.iter().enumerate() {
            if done >> i & 1 == 0 && preds & !done == 0 {
                if let Some(next) = step(input.kinds[i], input.amount[i], stock) {
                    stack.push((done | 1 << i, next));
                }
            }
        }
    }
    false
}

/// Up to 7 ops of every kind, in 10 ticks (so ends touch and overlap), qty and stocks up to 3;
/// restocks of qty 2 only when `one_restock_size`.
fn random_history(rng: &mut Rng, one_restock_size: bool) -> Input {
    let n = 1 + rng.below(7) as usize;
    let kinds =
        [BUY_SOLD, BUY_SOLD, BUY_SOLD_OUT, BUY_UNKNOWN, READ_OK, READ_OK, READ_UNKNOWN, RESTOCK_OK, RESTOCK_UNKNOWN];
    let mut input = Input { kinds: vec![], amount: vec![], call: vec![], ret: vec![], init: rng.below(3) };
    for _ in 0..n {
        let kind = kinds[rng.below(kinds.len() as u64) as usize];
        let call = rng.below(10);
        let unknown = matches!(kind, BUY_UNKNOWN | READ_UNKNOWN | RESTOCK_UNKNOWN);
        input.kinds.push(kind);
        let amount = match kind {
            READ_OK => rng.below(4),
            RESTOCK_OK | RESTOCK_UNKNOWN if one_restock_size => 2,
            _ => rng.below(3) + (rng.below(4) != 0) as i64,
        };
        input.amount.push(amount);
        input.call.push(call);
        input.ret.push(if unknown { -1 } else { call + rng.below(5) });
    }
    input
}

fn agree_with_brute_force(cases: usize, one_restock_size: bool) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..cases {
        let input = random_history(&mut rng, one_restock_size);
        let expected = linearizable(&input);
        let got = match check(&input, None).verdict {
            Verdict::Valid => true,
            Verdict::Invalid { lin, stuck } => {
                assert!(!stuck.is_empty(), "case {case}: no stuck op");
                assert!(lin.len() < input.kinds.len(), "case {case}: a whole linearization is no evidence");
                // the prefix is a run of the model from the initial stock, each op once
                let mut stock = input.init;
                for (k, &(op, before, after)) in lin.iter().enumerate() {
                    assert_eq!(before, stock, "case {case}: step {k} starts elsewhere");
                    assert_eq!(step(input.kinds[op], input.amount[op], before), Some(after), "case {case}: step {k}");
                    assert!(lin[..k].iter().all(|s| s.0 != op), "case {case}: op {op} twice");
                    stock = after;
                }
                false
            }
            Verdict::Unknown => panic!("case {case}: unknown"),
        };
        assert_eq!(
            got, expected,
            "case {case}: init {} kinds {:?} amount {:?} call {:?} ret {:?}",
            input.init, input.kinds, input.amount, input.call, input.ret
        );
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    // both verdicts are well represented
    assert!(valid > cases / 4 && invalid > cases / 4, "{valid} valid, {invalid} invalid");
}

#[test]
fn verdicts_agree_with_brute_force_with_one_restock_size() {
    agree_with_brute_force(20_000, true);
}

#[test]
fn verdicts_agree_with_brute_force() {
    agree_with_brute_force(20_000, false);
}
