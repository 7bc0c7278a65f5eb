//! The knobs: names, kinds of value, the ranges the kernel documents.

use std::fmt;
use std::str::FromStr;

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

use super::Value;
use crate::error::{Error, Result};

/// The largest number of seconds a jiffies-backed knob takes on every
/// kernel: the kernel keeps seconds x HZ in an `int`, and HZ is at most 1000.
pub const MAX_SECONDS: i64 = i32::MAX as i64 / 1000;

/// What a knob holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// On or off ([`Value::Bool`]); the kernel reads any non-zero value as on.
    Bool,
    /// A number from `min` to `max` ([`Value::Int`]).
    Int {
        /// The smallest value.
        min: i64,
        /// The largest value.
        max: i64,
    },
    /// Seconds, from 0 to [`MAX_SECONDS`] ([`Value::Int`]).
    Seconds,
    /// A power of two, at least 1 ([`Value::Int`]).
    PowerOfTwo,
    /// `[threshold, period]`, both at least 0, the threshold below the
    /// period unless the period is 0 ([`Value::Pair`]).
    Threshold,
    /// A CPU list such as `0-3,8` or `all`, or empty ([`Value::Text`]).
    CpuList,
}

macro_rules! knobs {
    ($($(#[$doc:meta])* $variant:ident = $name:literal: $kind:expr,)*) => {
        /// One `net.ipv4.vs.*` sysctl (the kernel's
        /// `Documentation/networking/ipvs-sysctl.rst` describes each).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
        #[non_exhaustive]
        pub enum Knob {
            $($(#[$doc])* #[cfg_attr(feature = "serde", serde(rename = $name))] $variant,)*
        }

        impl Knob {
            /// Every knob, in the kernel's alphabetical order.
            pub const ALL: &'static [Knob] = &[$(Knob::$variant,)*];

            /// The file name under `/proc/sys/net/ipv4/vs`, e.g. `conn_reuse_mode`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Knob::$variant => $name,)*
                }
            }

            /// What the knob holds, with its range.
            pub fn kind(self) -> Kind {
                match self {
                    $(Knob::$variant => $kind,)*
                }
            }
        }
    };
}

const DEFENSE: Kind = Kind::Int { min: 0, max: 3 };
const NON_NEGATIVE: Kind = Kind::Int {
    min: 0,
    max: i32::MAX as i64,
};
const ZERO_ONE: Kind = Kind::Int { min: 0, max: 1 };

knobs! {
    /// Drop rate of the always-on `drop_packet` defense (mode 3).
    AmDroprate = "am_droprate": NON_NEGATIVE,
    /// Available-memory threshold in pages for the automatic defenses.
    Amemthresh = "amemthresh": NON_NEGATIVE,
    /// No director function while the sync daemon is in backup mode.
    BackupOnly = "backup_only": Kind::Bool,
    /// Forward to the original destination when no cache server is available.
    CacheBypass = "cache_bypass": Kind::Bool,
    /// Rescheduling of connections that reuse a port: 0 off, bit 1 when safe,
    /// bit 2 also in FIN_WAIT (default 1).
    ConnReuseMode = "conn_reuse_mode": Kind::Int { min: 0, max: 3 },
    /// Keep conntrack entries for IPVS connections (kernels with `CONFIG_IP_VS_NFCT`).
    Conntrack = "conntrack": Kind::Bool,
    /// The `drop_entry` defense: 0 off, 1 and 2 automatic, 3 always.
    DropEntry = "drop_entry": DEFENSE,
    /// The `drop_packet` defense: 0 off, 1 and 2 automatic, 3 always.
    DropPacket = "drop_packet": DEFENSE,
    /// CPUs for the estimation kernel threads (kernels from 6.2).
    EstCpulist = "est_cpulist": Kind::CpuList,
    /// Niceness of the estimation kernel threads, -20 to 19 (kernels from 6.2).
    EstNice = "est_nice": Kind::Int { min: -20, max: 19 },
    /// Expire a connection at once when its destination is gone.
    ExpireNodestConn = "expire_nodest_conn": Kind::Bool,
    /// Expire persistence templates of quiescent (weight 0) destinations.
    ExpireQuiescentTemplate = "expire_quiescent_template": Kind::Bool,
    /// Mark packets of unknown protocols as IPVS's (no rescheduling of tunnelled packets).
    IgnoreTunneled = "ignore_tunneled": Kind::Bool,
    /// Seconds before an idle `lblc` entry expires.
    LblcExpiration = "lblc_expiration": Kind::Seconds,
    /// Seconds before an idle `lblcr` entry expires.
    LblcrExpiration = "lblcr_expiration": Kind::Seconds,
    /// Send ICMP errors for VS/NAT replies without a connection entry.
    NatIcmpSend = "nat_icmp_send": Kind::Bool,
    /// Refuse with FRAG_NEEDED the DF packets that exceed the path MTU (default on).
    PmtuDisc = "pmtu_disc": Kind::Bool,
    /// Run the rate estimation (default on).
    RunEstimation = "run_estimation": Kind::Bool,
    /// Schedule ICMP packets that start no connection.
    ScheduleIcmp = "schedule_icmp": Kind::Bool,
    /// The `secure_tcp` defense: 0 off, 1 and 2 automatic, 3 always.
    SecureTcp = "secure_tcp": DEFENSE,
    /// Accept SCTP connections that are not in their first state (sync backups).
    SloppySctp = "sloppy_sctp": Kind::Bool,
    /// Accept TCP connections that did not start with a SYN (sync backups).
    SloppyTcp = "sloppy_tcp": Kind::Bool,
    /// Route SNATed replies as if they came from the director (default on).
    SnatReroute = "snat_reroute": Kind::Bool,
    /// 1: for persistent services, synchronise only the templates.
    SyncPersistMode = "sync_persist_mode": ZERO_ONE,
    /// Sync threads, each with its own UDP port: a power of two (default 1).
    SyncPorts = "sync_ports": Kind::PowerOfTwo,
    /// Most sync messages queued but not sent.
    SyncQlenMax = "sync_qlen_max": Kind::Int { min: 0, max: i64::MAX },
    /// Seconds of connection timer change that trigger a new sync message.
    SyncRefreshPeriod = "sync_refresh_period": Kind::Seconds,
    /// Sync retries, 0 to 3.
    SyncRetries = "sync_retries": Kind::Int { min: 0, max: 3 },
    /// The sync socket's buffer size in bytes (0: the system's default).
    SyncSockSize = "sync_sock_size": NON_NEGATIVE,
    /// `[threshold, period]` of connection synchronisation (default `[3, 50]`).
    SyncThreshold = "sync_threshold": Kind::Threshold,
    /// The sync protocol version sent, 0 or 1 (default 1).
    SyncVersion = "sync_version": ZERO_ONE,
}

impl Knob {
    /// The knob with this file name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name that is no knob.
    pub fn from_name(name: &str) -> Result<Knob> {
        Knob::ALL
            .iter()
            .copied()
            .find(|k| k.name() == name)
            .ok_or_else(|| {
                Error::invalid_input(
                    format!("IPVS sysctl {name:?}"),
                    "no such knob under net.ipv4.vs (see lvskit::sysctl::Knob::ALL)",
                )
            })
    }

    /// Why a knob may be missing, for the NotFound error.
    pub(super) fn missing_hint(self) -> &'static str {
        match self {
            Knob::EstCpulist | Knob::EstNice => "no such sysctl: this kernel predates 6.2",
            Knob::Conntrack => "no such sysctl: this kernel is built without CONFIG_IP_VS_NFCT",
            _ => "no such sysctl: load the ip_vs module (opening an Ipvs handle does)",
        }
    }

    /// The value of the text the kernel shows; never fails: text in a form
    /// this crate does not know is kept as [`Value::Text`].
    pub fn parse(self, text: &str) -> Value {
        let t = text.trim();
        let int = t.parse::<i64>();
        match (self.kind(), int) {
            (Kind::Bool, Ok(n)) => Value::Bool(n != 0),
            (Kind::Int { .. } | Kind::Seconds | Kind::PowerOfTwo, Ok(n)) => Value::Int(n),
            (Kind::Threshold, _) => pair(t).map_or_else(|| Value::Text(t.to_owned()), Value::Pair),
            _ => Value::Text(t.to_owned()),
        }
    }

    /// Checks that `value` is of this knob's kind and in its range.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the knob, the value and the range.
    pub fn validate(self, value: &Value) -> Result<()> {
        let problem = match (self.kind(), value) {
            (Kind::Bool, Value::Bool(_)) => None,
            (Kind::Int { min, max }, Value::Int(n)) => {
                (!(min..=max).contains(n)).then(|| format!("must be from {min} to {max}"))
            }
            (Kind::Seconds, Value::Int(n)) => (!(0..=MAX_SECONDS).contains(n))
                .then(|| format!("must be from 0 to {MAX_SECONDS} seconds")),
            (Kind::PowerOfTwo, Value::Int(n)) => (*n < 1 || *n > i64::from(i32::MAX) || n & (n - 1) != 0)
                .then(|| "must be a power of two (1, 2, 4, ...)".to_owned()),
            (Kind::Threshold, Value::Pair([t, p])) => (*t < 0 || *p < 0 || (*p != 0 && t >= p)
                || *p > i64::from(i32::MAX))
            .then(|| "must be [threshold, period]: both at least 0, the threshold below the period unless the period is 0".to_owned()),
            (Kind::CpuList, Value::Text(s)) => (!cpulist_ok(s))
                .then(|| "must be a CPU list such as 0-3,8 or all, or empty".to_owned()),
            (kind, _) => Some(format!("takes {}", kind.describe())),
        };
        match problem {
            None => Ok(()),
            Some(p) => Err(Error::invalid_input(
                format!("setting net.ipv4.vs.{} to {value}", self.name()),
                p,
            )),
        }
    }
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean",
            Kind::Int { .. } | Kind::Seconds | Kind::PowerOfTwo => "a number",
            Kind::Threshold => "a pair [threshold, period]",
            Kind::CpuList => "a CPU list (text)",
        }
    }
}

fn pair(t: &str) -> Option<[i64; 2]> {
    let mut it = t.split_whitespace().map(str::parse::<i64>);
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) => Some([a, b]),
        _ => None,
    }
}

fn cpulist_ok(s: &str) -> bool {
    s == "all"
        || s.bytes()
            .all(|b| b.is_ascii_digit() || b",-:/".contains(&b))
}

impl fmt::Display for Knob {
    /// The sysctl's full name, e.g. `net.ipv4.vs.conn_reuse_mode`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net.ipv4.vs.{}", self.name())
    }
}

impl FromStr for Knob {
    type Err = Error;

    /// Takes the file name (`conn_reuse_mode`) or the full name
    /// (`net.ipv4.vs.conn_reuse_mode`).
    fn from_str(s: &str) -> Result<Knob> {
        Knob::from_name(s.strip_prefix("net.ipv4.vs.").unwrap_or(s))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for &k in Knob::ALL {
            assert_eq!(Knob::from_name(k.name()).ok(), Some(k));
            assert_eq!(k.to_string().parse::<Knob>().ok(), Some(k));
        }
        let mut names: Vec<_> = Knob::ALL.iter().map(|k| k.name()).collect();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(Knob::from_name("no_such_knob").is_err());
    }

    #[test]
    fn reads_keep_what_the_kernel_holds() {
        assert_eq!(Knob::BackupOnly.parse("0\n"), Value::Bool(false));
        assert_eq!(Knob::BackupOnly.parse("-1\n"), Value::Bool(true));
        assert_eq!(Knob::ConnReuseMode.parse("100\n"), Value::Int(100));
        assert_eq!(Knob::SyncThreshold.parse("3\t50\n"), Value::Pair([3, 50]));
        assert_eq!(
            Knob::SyncThreshold.parse("3 50 7\n"),
            Value::Text("3 50 7".into())
        );
        assert_eq!(Knob::EstCpulist.parse("0-1\n"), Value::Text("0-1".into()));
        assert_eq!(Knob::SyncPorts.parse("many\n"), Value::Text("many".into()));
    }

    #[test]
    fn writes_are_checked_against_the_documented_ranges() {
        let ok = [
            (Knob::BackupOnly, Value::Bool(true)),
            (Knob::ConnReuseMode, Value::Int(3)),
            (Knob::EstNice, Value::Int(-20)),
            (Knob::SyncPorts, Value::Int(1024)),
            (Knob::SyncThreshold, Value::Pair([3, 0])),
            (Knob::SyncThreshold, Value::Pair([0, 0])),
            (Knob::LblcExpiration, Value::Int(MAX_SECONDS)),
            (Knob::EstCpulist, Value::Text(String::new())),
            (Knob::EstCpulist, Value::Text("0,2-3".into())),
        ];
        for (k, v) in ok {
            assert!(k.validate(&v).is_ok(), "{k} {v}");
        }
        let bad = [
            (Knob::BackupOnly, Value::Int(1)),
            (Knob::ConnReuseMode, Value::Int(4)),
            (Knob::EstNice, Value::Int(20)),
            (Knob::SyncPorts, Value::Int(0)),
            (Knob::SyncPorts, Value::Int(6)),
            (Knob::SyncThreshold, Value::Pair([50, 50])),
            (Knob::SyncThreshold, Value::Pair([-1, 0])),
            (Knob::LblcExpiration, Value::Int(MAX_SECONDS + 1)),
            (Knob::LblcExpiration, Value::Int(-1)),
            (Knob::EstCpulist, Value::Text("0; reboot".into())),
            (Knob::SyncVersion, Value::Text("1".into())),
        ];
        for (k, v) in bad {
            let e = k.validate(&v).unwrap_err();
            assert!(matches!(e, Error::InvalidInput { .. }), "{k} {v}: {e}");
            assert!(e.to_string().contains(k.name()), "{e}");
        }
    }
}
