//! What the sweep is given: one item's operations as columns, with their op kinds numbered as
//! `checkers/stock_linearizability.py` numbers them (it builds the columns; python.rs decodes them).

pub const BUY_SOLD: u8 = 0;
pub const BUY_SOLD_OUT: u8 = 1;
pub const BUY_UNKNOWN: u8 = 2;
pub const READ_OK: u8 = 3;
pub const READ_UNKNOWN: u8 = 4;
pub const RESTOCK_OK: u8 = 5;
pub const RESTOCK_UNKNOWN: u8 = 6;

/// One item's operations as columns (position i is the same op in every column).
pub struct Input {
    pub kinds: Vec<u8>,
    /// qty for buys and restocks, the stock seen for reads
    pub amount: Vec<i64>,
    pub call: Vec<i64>,
    /// ignored for unknown ops
    pub ret: Vec<i64>,
    pub init: i64,
}

#[cfg(test)]
impl Input {
    /// Ops as (kind, amount, call, return): the columns `check_stock_item` decodes, for tests.
    pub(crate) fn from_ops(init: i64, ops: &[(u8, i64, i64, i64)]) -> Self {
        Input {
            kinds: ops.iter().map(|o| o.0).collect(),
            amount: ops.iter().map(|o| o.1).collect(),
            call: ops.iter().map(|o| o.2).collect(),
            ret: ops.iter().map(|o| o.3).collect(),
            init,
        }
    }
}
