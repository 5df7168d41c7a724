//! The Python module `oversell_native`: `check_stock_item` decodes the columns that
//! `checkers/stock_linearizability.py` builds, runs the sweep without the GIL and returns the
//! verdict as tuples. Only built with the cargo feature `python` (maturin turns it on).

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::{input, sweep};

/// (verdict, linearization, stuck, stats) for one item's ops given as columns.
///
/// Columns are bytes: `kinds` one byte per op (BUY_SOLD...RESTOCK_UNKNOWN), `amount` (qty, or the
/// stock a read saw), `call` and `ret` (ignored for unknown ops) little-endian i64 per op. Bytes
/// rather than lists so that a caller can build them first and run this on another thread: the
/// search itself does not hold the GIL.
/// verdict: 1 linearizable, 0 not, 2 unknown (time limit or too many ops open at once).
/// linearization: (op, stock before, stock after) of the longest linearizable prefix found, and
/// stuck: the ops that could not come next, when not linearizable (op = position in the columns).
/// stats: (events, largest frontier, searches, search nodes).
#[pyfunction]
#[pyo3(signature = (kinds, amount, call, ret, init, time_limit=None))]
#[allow(clippy::type_complexity)]
fn check_stock_item(
    py: Python<'_>,
    kinds: &[u8],
    amount: &[u8],
    call: &[u8],
    ret: &[u8],
    init: i64,
    time_limit: Option<f64>,
) -> PyResult<(u8, Vec<(usize, i64, i64)>, Vec<usize>, (usize, usize, u64, u64))> {
    let n = kinds.len();
    if amount.len() != 8 * n || call.len() != 8 * n || ret.len() != 8 * n {
        return Err(PyValueError::new_err("amount, call and ret need 8 bytes per op of kinds"));
    }
    if let Some(&k) = kinds.iter().find(|&&k| k > input::RESTOCK_UNKNOWN) {
        return Err(PyValueError::new_err(format!("unknown op kind {k}")));
    }
    let ints = |b: &[u8]| -> Vec<i64> {
        b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()
    };
    let input = input::Input { kinds: kinds.to_vec(), amount: ints(amount), call: ints(call), ret: ints(ret), init };
    let deadline = time_limit.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let outcome = py.allow_threads(|| sweep::check(&input, deadline));
    let st = outcome.stats;
    let stats = (st.events, st.max_frontier, st.searches, st.search_nodes);
    Ok(match outcome.verdict {
        sweep::Verdict::Valid => (1, vec![], vec![], stats),
        sweep::Verdict::Invalid { lin, stuck } => (0, lin, stuck, stats),
        sweep::Verdict::Unknown => (2, vec![], vec![], stats),
    })
}

#[pymodule]
fn oversell_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("BUY_SOLD", input::BUY_SOLD)?;
    m.add("BUY_SOLD_OUT", input::BUY_SOLD_OUT)?;
    m.add("BUY_UNKNOWN", input::BUY_UNKNOWN)?;
    m.add("READ_OK", input::READ_OK)?;
    m.add("READ_UNKNOWN", input::READ_UNKNOWN)?;
    m.add("RESTOCK_OK", input::RESTOCK_OK)?;
    m.add("RESTOCK_UNKNOWN", input::RESTOCK_UNKNOWN)?;
    m.add_function(wrap_pyfunction!(check_stock_item, m)?)?;
    Ok(())
}
