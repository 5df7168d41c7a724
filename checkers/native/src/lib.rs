//! oversell_native: the compiled hot path of `oversell check` (see sweep.rs).

use std::time::{Duration, Instant};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

pub mod bits;
pub mod sweep;

/// (verdict, linearization, stuck, stats) for one item's ops given as columns.
///
/// verdict: 1 linearizable, 0 not, 2 unknown (time limit or too many ops open at once).
/// linearization: (op, stock before, stock after) of the longest linearizable prefix found, and
/// stuck: the ops that could not come next, when not linearizable (op = position in the columns).
/// stats: (events, largest frontier, searches, search nodes).
#[pyfunction]
#[pyo3(signature = (kinds, amount, call, ret, init, time_limit=None))]
#[allow(clippy::type_complexity)]
fn check_stock_item(
    py: Python<'_>,
    kinds: Vec<u8>,
    amount: Vec<i64>,
    call: Vec<i64>,
    ret: Vec<i64>,
    init: i64,
    time_limit: Option<f64>,
) -> PyResult<(u8, Vec<(usize, i64, i64)>, Vec<usize>, (usize, usize, u64, u64))> {
    let n = kinds.len();
    if amount.len() != n || call.len() != n || ret.len() != n {
        return Err(PyValueError::new_err("kinds, amount, call and ret must have the same length"));
    }
    if let Some(&k) = kinds.iter().find(|&&k| k > sweep::RESTOCK_UNKNOWN) {
        return Err(PyValueError::new_err(format!("unknown op kind {k}")));
    }
    let deadline = time_limit.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let input = sweep::Input { kinds, amount, call, ret, init };
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
    m.add("BUY_SOLD", sweep::BUY_SOLD)?;
    m.add("BUY_SOLD_OUT", sweep::BUY_SOLD_OUT)?;
    m.add("BUY_UNKNOWN", sweep::BUY_UNKNOWN)?;
    m.add("READ_OK", sweep::READ_OK)?;
    m.add("READ_UNKNOWN", sweep::READ_UNKNOWN)?;
    m.add("RESTOCK_OK", sweep::RESTOCK_OK)?;
    m.add("RESTOCK_UNKNOWN", sweep::RESTOCK_UNKNOWN)?;
    m.add_function(wrap_pyfunction!(check_stock_item, m)?)?;
    Ok(())
}
