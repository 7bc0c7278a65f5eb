//! Words of a rules line: splitting into words with their columns, the
//! option table (`ipvsadm`'s short and long forms) and grouping the words
//! into option occurrences.

use super::ParseError;

/// Splits a line into words (on spaces, tabs and carriage returns) with
/// their 1-based columns in characters.
pub(super) fn split(line: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut col = 0usize;
    for (off, c) in line
        .char_indices()
        .chain(std::iter::once((line.len(), ' ')))
    {
        col += 1;
        if c == ' ' || c == '\t' || c == '\r' {
            if let Some((s, s_col)) = start.take() {
                words.push(Word {
                    text: &line[s..off],
                    col: s_col,
                });
            }
        } else if start.is_none() {
            start = Some((off, col));
        }
    }
    words
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Arg {
    None,
    Required,
    Optional,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmd {
    Add,
    Edit,
    Del,
    Clear,
    Zero,
    AddDest,
    EditDest,
    DelDest,
    Set,
    StartDaemon,
    StopDaemon,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Opt {
    Cmd(Cmd),
    /// -L, -S, -R, -h, -v: commands that make no sense in rules text.
    OtherCmd,
    Tcp,
    Udp,
    Sctp,
    Fwmark,
    Sched,
    Persistent,
    Netmask,
    Server,
    Masq,
    Ipip,
    Gate,
    Weight,
    UThresh,
    LThresh,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastIf,
    SyncId,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
    /// Listing options (-n, -c, --stats, ...): illegal with every rules command.
    Listing,
}

/// (long name, short name, argument, option)
pub(super) const OPTIONS: &[(&str, Option<char>, Arg, Opt)] = &[
    ("add-service", Some('A'), Arg::None, Opt::Cmd(Cmd::Add)),
    ("edit-service", Some('E'), Arg::None, Opt::Cmd(Cmd::Edit)),
    ("delete-service", Some('D'), Arg::None, Opt::Cmd(Cmd::Del)),
    ("clear", Some('C'), Arg::None, Opt::Cmd(Cmd::Clear)),
    ("zero", Some('Z'), Arg::None, Opt::Cmd(Cmd::Zero)),
    ("add-server", Some('a'), Arg::None, Opt::Cmd(Cmd::AddDest)),
    ("edit-server", Some('e'), Arg::None, Opt::Cmd(Cmd::EditDest)),
    (
        "delete-server",
        Some('d'),
        Arg::None,
        Opt::Cmd(Cmd::DelDest),
    ),
    ("set", None, Arg::None, Opt::Cmd(Cmd::Set)),
    (
        "start-daemon",
        None,
        Arg::Required,
        Opt::Cmd(Cmd::StartDaemon),
    ),
    (
        "stop-daemon",
        None,
        Arg::Required,
        Opt::Cmd(Cmd::StopDaemon),
    ),
    ("list", Some('L'), Arg::None, Opt::OtherCmd),
    ("list", Some('l'), Arg::None, Opt::OtherCmd),
    ("help", Some('h'), Arg::None, Opt::OtherCmd),
    ("version", Some('v'), Arg::None, Opt::OtherCmd),
    ("restore", Some('R'), Arg::None, Opt::OtherCmd),
    ("save", Some('S'), Arg::None, Opt::OtherCmd),
    ("tcp-service", Some('t'), Arg::Required, Opt::Tcp),
    ("udp-service", Some('u'), Arg::Required, Opt::Udp),
    ("sctp-service", None, Arg::Required, Opt::Sctp),
    ("fwmark-service", Some('f'), Arg::Required, Opt::Fwmark),
    ("scheduler", Some('s'), Arg::Required, Opt::Sched),
    ("persistent", Some('p'), Arg::Optional, Opt::Persistent),
    ("netmask", Some('M'), Arg::Required, Opt::Netmask),
    ("real-server", Some('r'), Arg::Required, Opt::Server),
    ("masquerading", Some('m'), Arg::None, Opt::Masq),
    ("ipip", Some('i'), Arg::None, Opt::Ipip),
    ("gatewaying", Some('g'), Arg::None, Opt::Gate),
    ("weight", Some('w'), Arg::Required, Opt::Weight),
    ("u-threshold", Some('x'), Arg::Required, Opt::UThresh),
    ("l-threshold", Some('y'), Arg::Required, Opt::LThresh),
    ("ipv6", Some('6'), Arg::None, Opt::Ipv6),
    ("ops", Some('o'), Arg::None, Opt::Ops),
    ("pe", None, Arg::Required, Opt::Pe),
    ("sched-flags", Some('b'), Arg::Required, Opt::SchedFlags),
    ("mcast-interface", None, Arg::Required, Opt::McastIf),
    ("syncid", None, Arg::Required, Opt::SyncId),
    ("mcast-group", None, Arg::Required, Opt::McastGroup),
    ("mcast-port", None, Arg::Required, Opt::McastPort),
    ("mcast-ttl", None, Arg::Required, Opt::McastTtl),
    ("sync-maxlen", None, Arg::Required, Opt::SyncMaxlen),
    ("tun-type", None, Arg::Required, Opt::TunType),
    ("tun-port", None, Arg::Required, Opt::TunPort),
    ("tun-nocsum", None, Arg::None, Opt::TunNocsum),
    ("tun-csum", None, Arg::None, Opt::TunCsum),
    ("tun-remcsum", None, Arg::None, Opt::TunRemcsum),
    ("numeric", Some('n'), Arg::None, Opt::Listing),
    ("connection", Some('c'), Arg::None, Opt::Listing),
    ("exact", Some('X'), Arg::None, Opt::Listing),
    ("timeout", None, Arg::None, Opt::Listing),
    ("daemon", None, Arg::None, Opt::Listing),
    ("stats", None, Arg::None, Opt::Listing),
    ("rate", None, Arg::None, Opt::Listing),
    ("thresholds", None, Arg::None, Opt::Listing),
    ("persistent-conn", None, Arg::None, Opt::Listing),
    ("nosort", None, Arg::None, Opt::Listing),
    ("sort", None, Arg::None, Opt::Listing),
    ("tun-info", None, Arg::None, Opt::Listing),
];

/// A word of a line and its 1-based column.
#[derive(Clone, Copy, Debug)]
pub(super) struct Word<'a> {
    pub(super) text: &'a str,
    pub(super) col: usize,
}

/// One option occurrence: which, where, and its argument (with its column).
#[derive(Clone, Debug)]
pub(super) struct Occ<'a> {
    pub(super) opt: Opt,
    pub(super) name: String,
    pub(super) col: usize,
    pub(super) arg: Option<Word<'a>>,
}

/// The word at `*i` as an option's argument (and moves past it): a required
/// argument takes whatever word comes next, an optional one only a word that
/// does not look like an option.
fn next_arg<'a>(words: &[Word<'a>], i: &mut usize, required: bool) -> Option<Word<'a>> {
    match words.get(*i) {
        Some(next) if required || !next.text.starts_with('-') => {
            *i += 1;
            Some(*next)
        }
        _ => None,
    }
}

pub(super) struct LineParser {
    pub(super) line: usize,
}

impl LineParser {
    pub(super) fn err(&self, col: usize, msg: impl Into<String>) -> ParseError {
        ParseError {
            line: self.line,
            column: col,
            message: msg.into(),
        }
    }

    /// Splits a line's words into option occurrences and positional arguments.
    pub(super) fn options<'a>(
        &self,
        words: &[Word<'a>],
    ) -> Result<(Vec<Occ<'a>>, Vec<Word<'a>>), ParseError> {
        let mut occs = Vec::new();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let w = words[i];
            i += 1;
            if let Some(long) = w.text.strip_prefix("--") {
                let (name, attached) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                let Some(&(lname, _, arg, opt)) = OPTIONS.iter().find(|o| o.0 == name) else {
                    return Err(self.err(w.col, format!("unknown option `{}`", w.text)));
                };
                let value = match (arg, attached) {
                    (Arg::None, Some(_)) => {
                        return Err(self.err(w.col, format!("option --{lname} takes no argument")))
                    }
                    (Arg::None, None) => None,
                    (_, Some(v)) => Some(Word {
                        text: v,
                        col: w.col + 3 + name.chars().count(),
                    }),
                    (Arg::Required, None) => {
                        let Some(next) = next_arg(words, &mut i, true) else {
                            return Err(
                                self.err(w.col, format!("option --{lname} needs an argument"))
                            );
                        };
                        Some(next)
                    }
                    (Arg::Optional, None) => next_arg(words, &mut i, false),
                };
                occs.push(Occ {
                    opt,
                    name: format!("--{lname}"),
                    col: w.col,
                    arg: value,
                });
            } else if w.text.len() > 1 && w.text.starts_with('-') {
                // a cluster of short options; the first that takes an
                // argument takes the rest of the word or the next word
                let body = &w.text[1..];
                for (off, c) in body.char_indices() {
                    let letter_col = w.col + 1 + body[..off].chars().count();
                    // the first option of a word is placed at its dash
                    let col = if off == 0 { w.col } else { letter_col };
                    let Some(&(_, _, arg, opt)) = OPTIONS.iter().find(|o| o.1 == Some(c)) else {
                        return Err(self.err(
                            if off == 0 {
                                w.col
                            } else {
                                w.col + 1 + body[..off].chars().count()
                            },
                            format!("unknown option `-{c}`"),
                        ));
                    };
                    let rest = &body[off + c.len_utf8()..];
                    let name = format!("-{c}");
                    match arg {
                        Arg::None => occs.push(Occ {
                            opt,
                            name,
                            col,
                            arg: None,
                        }),
                        Arg::Required | Arg::Optional => {
                            let value = if !rest.is_empty() {
                                Some(Word {
                                    text: rest,
                                    col: letter_col + 1,
                                })
                            } else {
                                let required = arg == Arg::Required;
                                let next = next_arg(words, &mut i, required);
                                if required && next.is_none() {
                                    return Err(
                                        self.err(col, format!("option -{c} needs an argument"))
                                    );
                                }
                                next
                            };
                            occs.push(Occ {
                                opt,
                                name,
                                col,
                                arg: value,
                            });
                            break;
                        }
                    }
                }
            } else {
                positional.push(w);
            }
        }
        Ok((occs, positional))
    }
}
