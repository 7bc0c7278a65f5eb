use std::fmt;
use std::str::FromStr;

use super::kernel_text;
use crate::error::{Error, Result};

/// A kernel object name (scheduler, persistence engine): 1 to 15 bytes, no NUL.
///
/// Kept in the text form of kernel names: a byte that is not valid
/// UTF-8 is written `:xx`, so a name the kernel returns is never lost.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// The longest name the kernel accepts (`IP_VS_SCHEDNAME_MAXLEN` less the NUL).
    pub const MAX_LEN: usize = 15;

    /// Validates a name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when empty, longer than 15 bytes, containing
    /// NUL, or containing a `:` that is not the escape of a byte.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let name = Name(name);
        name.validate()?;
        Ok(name)
    }

    /// A name as the kernel returned it, kept whatever its bytes (not validated).
    pub(crate) fn from_kernel(bytes: &[u8]) -> Self {
        Name(kernel_text::decode(bytes))
    }

    /// Checks what the kernel could not hold (see [`Name::new`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the name and the problem.
    pub fn validate(&self) -> Result<()> {
        kernel_text::check(&self.0, Self::MAX_LEN)
            .map(drop)
            .map_err(|reason| Error::invalid_input(format!("name {:?}", self.0), reason))
    }

    /// The bytes the kernel keeps for this name (escapes undone).
    pub fn to_bytes(&self) -> Vec<u8> {
        kernel_text::encode(&self.0).unwrap_or_else(|_| self.0.as_bytes().to_vec())
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

impl Scheduler {
    /// The scheduler a kernel listing names: a known one, else
    /// [`Scheduler::Other`] holding the name as the kernel returned it.
    pub(crate) fn from_kernel(bytes: &[u8]) -> Self {
        let name = Name::from_kernel(bytes);
        match Scheduler::from_name(name.as_str()) {
            Ok(s) => s,
            Err(_) => Scheduler::Other(name),
        }
    }

    /// Checks what the kernel could not hold: an [`Scheduler::Other`] name
    /// that is empty, too long or malformed (a name read from the kernel is
    /// kept as it is and checked only when written).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the scheduler.
    pub fn validate(&self) -> Result<()> {
        match self {
            Scheduler::Other(n) => n.validate(),
            _ => Ok(()),
        }
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
