//! Batches on a handle: [`Ipvs::apply`] and [`Ipvs::execute`].

use super::Ipvs;
use crate::batch::{pipelined, sequential, single, BatchMode, BatchReport};
use crate::error::Result;
use crate::op::Operation;

impl Ipvs {
    /// Applies one operation, acknowledged.
    ///
    /// # Errors
    /// The operation's typed error.
    pub fn apply(&self, op: &Operation) -> Result<()> {
        op.validate()?;
        self.with_transport(|t, buf, family| single(t, buf, family, op))
    }

    /// Applies many operations and reports each one's outcome.
    ///
    /// Never returns early: every operation's outcome is in the report, in
    /// order (see the module documentation for how each mode sends them).
    pub fn execute(&self, ops: &[Operation], mode: BatchMode) -> BatchReport {
        self.with_transport(|t, buf, family| match mode {
            BatchMode::StopOnError => sequential(t, buf, family, ops),
            BatchMode::Continue => pipelined(t, buf, family, ops),
        })
    }
}
