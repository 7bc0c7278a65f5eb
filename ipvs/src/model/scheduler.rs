use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A kernel object name (scheduler, persistence engine): 1 to 15 bytes, no NUL.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// The longest name the kernel accepts (`IP_VS_SCHEDNAME_MAXLEN` less the NUL).
    pub const MAX_LEN: usize = 15;

    /// Validates a name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when empty, longer than 15 bytes, or containing NUL.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let ctx = || format!("name {name:?}");
        if name.is_empty() {
            return Err(Error::invalid_input(ctx(), "is empty"));
        }
        if name.len() > Self::MAX_LEN {
            return Err(Error::invalid_input(
                ctx(),
                format!(
                    "is {} bytes long; the kernel accepts at most {}",
                    name.len(),
                    Self::MAX_LEN
                ),
            ));
        }
        if name.bytes().any(|b| b == 0) {
            return Err(Error::invalid_input(ctx(), "contains a NUL byte"));
        }
        Ok(Name(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A connection scheduler (`ipvsadm -s`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum Scheduler {
    /// `rr`: round robin.
    RoundRobin,
    /// `wrr`: weighted round robin.
    WeightedRoundRobin,
    /// `lc`: least connections.
    LeastConnection,
    /// `wlc`: weighted least connections (the kernel's and ipvsadm's default).
    #[default]
    WeightedLeastConnection,
    /// `lblc`: locality-based least connections.
    LocalityBasedLeastConnection,
    /// `lblcr`: locality-based least connections with replication.
    LocalityBasedLeastConnectionReplication,
    /// `dh`: destination hashing.
    DestinationHashing,
    /// `sh`: source hashing.
    SourceHashing,
    /// `sed`: shortest expected delay.
    ShortestExpectedDelay,
    /// `nq`: never queue.
    NeverQueue,
    /// `fo`: weighted failover.
    WeightedFailover,
    /// `ovf`: weighted overflow.
    WeightedOverflow,
    /// `mh`: Maglev hashing.
    MaglevHashing,
    /// `twos`: weighted random twos choice (kernel 6.7 and later).
    TwoRandomChoices,
    /// Any other scheduler module, by name.
    Other(Name),
}

impl Scheduler {
    /// The kernel's name for this scheduler.
    pub fn name(&self) -> &str {
        match self {
            Scheduler::RoundRobin => "rr",
            Scheduler::WeightedRoundRobin => "wrr",
            Scheduler::LeastConnection => "lc",
            Scheduler::WeightedLeastConnection => "wlc",
            Scheduler::LocalityBasedLeastConnection => "lblc",
            Scheduler::LocalityBasedLeastConnectionReplication => "lblcr",
            Scheduler::DestinationHashing => "dh",
            Scheduler::SourceHashing => "sh",
            Scheduler::ShortestExpectedDelay => "sed",
            Scheduler::NeverQueue => "nq",
            Scheduler::WeightedFailover => "fo",
            Scheduler::WeightedOverflow => "ovf",
            Scheduler::MaglevHashing => "mh",
            Scheduler::TwoRandomChoices => "twos",
            Scheduler::Other(n) => n.as_str(),
        }
    }

    /// The kernel module that provides this scheduler (`ip_vs_<name>`).
    pub fn module(&self) -> String {
        format!("ip_vs_{}", self.name())
    }

    /// Parses a scheduler name; unknown names become [`Scheduler::Other`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name the kernel could never accept.
    pub fn from_name(name: &str) -> Result<Self> {
        Ok(match name {
            "rr" => Scheduler::RoundRobin,
            "wrr" => Scheduler::WeightedRoundRobin,
            "lc" => Scheduler::LeastConnection,
            "wlc" => Scheduler::WeightedLeastConnection,
            "lblc" => Scheduler::LocalityBasedLeastConnection,
            "lblcr" => Scheduler::LocalityBasedLeastConnectionReplication,
            "dh" => Scheduler::DestinationHashing,
            "sh" => Scheduler::SourceHashing,
            "sed" => Scheduler::ShortestExpectedDelay,
            "nq" => Scheduler::NeverQueue,
            "fo" => Scheduler::WeightedFailover,
            "ovf" => Scheduler::WeightedOverflow,
            "mh" => Scheduler::MaglevHashing,
            "twos" => Scheduler::TwoRandomChoices,
            other => Scheduler::Other(Name::new(other)?),
        })
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheduler {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Scheduler::from_name(s)
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::{Name, Scheduler};
    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    impl Serialize for Scheduler {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.name())
        }
    }
    impl<'de> Deserialize<'de> for Scheduler {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            Scheduler::from_name(&s).map_err(D::Error::custom)
        }
    }
    impl Serialize for Name {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(self.as_str())
        }
    }
    impl<'de> Deserialize<'de> for Name {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let s = String::deserialize(d)?;
            Name::new(s).map_err(D::Error::custom)
        }
    }
}
