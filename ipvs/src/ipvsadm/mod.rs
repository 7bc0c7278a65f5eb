//! The rules text of `ipvsadm -S` / `ipvsadm -R`: parsing into
//! [`Operation`]s and writing operations and tables back, with one writer.
//!
//! `ipvsadm -R` reads one command line per line, split on whitespace, without
//! quoting. Every line is an ordinary ipvsadm command: [`parse`] accepts all
//! the commands and options `ipvsadm -R` accepts for them (`-A -E -D -a -e
//! -d -C -Z --set --start-daemon --stop-daemon`, short and long forms,
//! `--opt=value`, attached short arguments `-w5`, clustered flags `-mw 5`),
//! and refuses what ipvsadm refuses: a command that is not first, an option
//! illegal for the command, tunnel options without `-i`, and so on. Each
//! line is one [`Operation`] (`-C` is [`Operation::Flush`]; the `--syncid`
//! ipvsadm accepts with `--stop-daemon` is checked and dropped, as the
//! kernel ignores it). Values are checked by the model's validators, and
//! every error, of syntax or of value, names its line and column
//! ([`ParseError`]). Differences, all documented where they apply: names
//! (host names, port names) are refused because only numeric forms are
//! accepted; `-M` is interpreted by the family of the whole line rather
//! than by option order, and dropped without `-p` (where it has no effect);
//! weights go up to [`Destination::MAX_WEIGHT`](crate::Destination::MAX_WEIGHT)
//! (ipvsadm stops at 65535); blank lines and lines starting with `#` are
//! skipped, and so is a leading word `ipvsadm` (a dry run's line).
//!
//! One writer turns an operation into its line: [`save`] writes a table as
//! `ipvsadm -Sn` does, byte for byte (same order, same spacing) with
//! [`Format::Ipvsadm`]; [`Format::Lossless`] also writes what `ipvsadm -Sn`
//! leaves out but `ipvsadm -R` accepts (thresholds `-x`/`-y`, scheduler flags
//! ipvsadm does not name for `sh`/`mh`, the table's timeouts), so the text
//! rebuilds the same table. The same writer gives [`Operation`]'s and
//! [`Plan`](crate::table::Plan)'s `Display` (the dry run, each line prefixed
//! `ipvsadm `) and [`rule`] / [`Plan::to_rules`](crate::table::Plan::to_rules)
//! (`ipvsadm -R` input).
//!
//! ipvsadm's own quirks are reproduced in [`Format::Ipvsadm`] because they
//! are what `ipvsadm -Sn` prints: the order comes from libipvs's comparisons
//! ([`ipvsadm_order`]); IPv6 addresses are written by glibc's `inet_ntop`
//! (`::1.2.3.4`, [`ipv6_to_string`]); ipvsadm 1.31 writes marks above
//! 2147483647 as negative numbers (read back here, refused by `ipvsadm -R`);
//! `flag-3` on an `sh`/`mh` service comes out as a bare `-b ` (which neither
//! ipvsadm nor [`parse`] accepts); local-node and bypass servers are written
//! `-g` (the kernel makes a server on a local address local-node again;
//! ipvsadm has no switch for bypass, so [`rule`] refuses it).
//!
//! [`Ipvs::restore`](crate::Ipvs::restore) applies rules text to a kernel.

use crate::batch::{BatchReport, OpOutcome};
use crate::op::Operation;
use crate::table::Table;

mod locate;
mod order;
mod parse;
mod words;
mod write;

pub use order::ipvsadm_order;
pub use write::{ipv6_to_string, rule, save};
pub(crate) use write::{unwritable, write_line};

/// The persistence timeout ipvsadm uses for `-p` without a value, in seconds
/// (its `IPVS_SVC_PERSISTENT_TIMEOUT`, 6 minutes).
pub const IPVSADM_DEFAULT_PERSISTENCE_TIMEOUT: u32 = crate::model::Persistence::DEFAULT_TIMEOUT;

/// ipvsadm's largest persistence timeout (31 days), in seconds.
pub const MAX_PERSISTENCE_TIMEOUT: u32 = 86400 * 31;

/// Which flavour of rules text the writer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// Exactly what `ipvsadm -Sn` prints.
    #[default]
    Ipvsadm,
    /// `ipvsadm -Sn` plus thresholds (`-x`, `-y`), every scheduler flag and
    /// a table's timeouts, which `ipvsadm -R` accepts: the text rebuilds the
    /// same table.
    Lossless,
}

/// Rules text that could not be parsed, or a value it holds that is not
/// valid: where and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column (in characters) of the offending word, or of the line's first word.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// One rule of rules text: the operation and the line it is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleLine {
    /// 1-based line number.
    pub line: usize,
    /// The operation the line stands for.
    pub operation: Operation,
}

/// Parses rules text (`ipvsadm -S` output, `ipvsadm -R` input) into its
/// rules, each with its line number (blank and comment lines give none).
///
/// # Errors
/// [`ParseError`] naming the line and column of the first problem.
pub fn parse_lines(text: &str) -> Result<Vec<RuleLine>, ParseError> {
    let mut rules = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let mut words = words::split(line);
        // a dry run's lines start with the command's name: skip it (only
        // there: elsewhere "ipvsadm" is an ordinary word, e.g. a scheduler name)
        if words.first().is_some_and(|w| w.text == "ipvsadm") {
            words.remove(0);
        }
        if words.is_empty() || words[0].text.starts_with('#') {
            continue;
        }
        rules.push(RuleLine {
            line: idx + 1,
            operation: parse::parse_line(idx + 1, &words)?,
        });
    }
    Ok(rules)
}

/// Parses rules text into its operations, in order.
///
/// # Errors
/// [`ParseError`] naming the line and column of the first problem.
pub fn parse(text: &str) -> Result<Vec<Operation>, ParseError> {
    Ok(parse_lines(text)?
        .into_iter()
        .map(|r| r.operation)
        .collect())
}

/// Parses rules text into a desired-state [`Table`]: the rules applied in
/// order to an empty table with [`Table::apply`] (`-C` clears it; `-Z` and
/// daemons change nothing; the last `--set` gives the timeouts).
///
/// # Errors
/// [`ParseError`]: a line that does not parse, or a rule that does not
/// apply (adds what exists, changes what does not), at its line, column 1.
pub fn parse_table(text: &str) -> Result<Table, ParseError> {
    let mut table = Table::default();
    for r in parse_lines(text)? {
        table.apply(&r.operation).map_err(|e| ParseError {
            line: r.line,
            column: 1,
            message: e.to_string(),
        })?;
    }
    Ok(table)
}

/// What [`Ipvs::restore`](crate::Ipvs::restore) did: the batch's report,
/// one outcome per rule line, and each rule's line number.
#[derive(Debug)]
pub struct RestoreReport {
    /// The 1-based line number of each rule, in order (`report.outcomes[i]`
    /// is the outcome of the rule on line `lines[i]`).
    pub lines: Vec<usize>,
    /// One outcome per rule, in order.
    pub report: BatchReport,
}

impl RestoreReport {
    /// True when every rule was applied.
    pub fn is_ok(&self) -> bool {
        self.report.is_ok()
    }

    /// Each rule's line number with its outcome, in order.
    pub fn outcomes(&self) -> impl Iterator<Item = (usize, &OpOutcome)> {
        self.lines.iter().copied().zip(&self.report.outcomes)
    }

    /// The outcome of the rule on `line`, if that line holds one.
    pub fn outcome_of_line(&self, line: usize) -> Option<&OpOutcome> {
        let at = self.lines.iter().position(|&l| l == line)?;
        self.report.outcomes.get(at)
    }

    /// The rules that did not succeed: (line number, outcome).
    pub fn failures(&self) -> impl Iterator<Item = (usize, &OpOutcome)> {
        self.outcomes().filter(|(_, o)| !o.is_done())
    }
}
