//! Rules text on a handle: [`Ipvs::restore`], `ipvsadm -R` as a batch.

use super::Ipvs;
use crate::batch::BatchMode;
use crate::ipvsadm::{parse_lines, ParseError, RestoreReport};
use crate::op::Operation;

impl Ipvs {
    /// Applies rules text as `ipvsadm -R` does: each rule line (`-A -E -D
    /// -a -e -d -C -Z --set --start-daemon --stop-daemon`; blank lines, `#`
    /// comments and a leading `ipvsadm` are skipped) is one operation,
    /// executed in order as one batch ([`Ipvs::execute`] with `mode`).
    ///
    /// The whole text is parsed first: a line that does not parse, or holds
    /// a value the kernel would refuse, is a [`ParseError`] naming its line
    /// and column, and nothing is sent. Otherwise the report holds one
    /// outcome per rule line, with its line number: with
    /// [`BatchMode::StopOnError`] the lines after a failing one are not
    /// attempted; with [`BatchMode::Continue`] they are all sent, as
    /// `ipvsadm -R` does.
    ///
    /// ```no_run
    /// use lvskit::BatchMode;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ipvs = lvskit::Ipvs::new()?;
    /// let report = ipvs.restore("-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1 -m\n", BatchMode::StopOnError)?;
    /// for (line, outcome) in report.failures() {
    ///     eprintln!("line {line}: {outcome:?}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ParseError`] only; the kernel's answers are in the report.
    pub fn restore(&self, text: &str, mode: BatchMode) -> Result<RestoreReport, ParseError> {
        let rules = parse_lines(text)?;
        let (lines, ops): (Vec<usize>, Vec<Operation>) =
            rules.into_iter().map(|r| (r.line, r.operation)).unzip();
        let report = self.execute(&ops, mode);
        Ok(RestoreReport { lines, report })
    }
}
