//! The enums and flags of the Python package, defined once, here.
//!
//! Each table pairs a member's Python name and value with the core's value
//! it stands for; the Python class (a real `enum.Enum` or `enum.Flag`, on
//! the small base classes of `ipvs._enumbase` for repr and helpers) is made
//! from the table when the compiled module is imported, and conversions go
//! through the core values: no table in Python, none ordered by position.

use std::mem::discriminant;

use lvskit::{EncapFlags, Family, Forward, Protocol, Scheduler, SyncState, Tunnel};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBool, PyDict, PyInt, PyString, PyType};

use crate::errors::refused;

/// A Python enum made from a table of `(NAME, value, core value)`.
pub(crate) struct PyEnum<T: 'static> {
    pub(crate) name: &'static str,
    base: &'static str,
    doc: &'static str,
    members: &'static [(&'static str, &'static str, T)],
    same: fn(&T, &T) -> bool,
    cls: GILOnceCell<Py<PyType>>,
    objs: GILOnceCell<Vec<Py<PyAny>>>,
}

pub(crate) fn equal<T: PartialEq>(a: &T, b: &T) -> bool {
    a == b
}

fn same_variant<T>(a: &T, b: &T) -> bool {
    discriminant(a) == discriminant(b)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_string())
}

/// Calls a base class of `ipvs._enumbase` with the functional API.
fn make_class<'py, V: IntoPyObject<'py> + Copy>(
    py: Python<'py>,
    base: &str,
    name: &str,
    doc: &str,
    members: impl Iterator<Item = (&'static str, V)>,
) -> PyResult<Py<PyType>> {
    let base = py.import("ipvs._enumbase")?.getattr(base)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("module", "ipvs._ipvs")?;
    kwargs.set_item("qualname", name)?;
    let members: Vec<(&str, V)> = members.collect();
    let cls = base.call((name, members), Some(&kwargs))?;
    cls.setattr("__doc__", doc)?;
    Ok(cls.downcast_into::<PyType>()?.unbind())
}

impl<T: 'static> PyEnum<T> {
    pub(crate) const fn new(
        name: &'static str,
        base: &'static str,
        doc: &'static str,
        members: &'static [(&'static str, &'static str, T)],
        same: fn(&T, &T) -> bool,
    ) -> Self {
        PyEnum {
            name,
            base,
            doc,
            members,
            same,
            cls: GILOnceCell::new(),
            objs: GILOnceCell::new(),
        }
    }

    /// The Python class (made on first use).
    pub(crate) fn class<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyType>> {
        self.cls
            .get_or_try_init(py, || {
                let members = self.members.iter().map(|(n, v, _)| (*n, *v));
                make_class(py, self.base, self.name, self.doc, members)
            })
            .map(|c| c.bind(py))
    }

    fn objs(&self, py: Python<'_>) -> PyResult<&Vec<Py<PyAny>>> {
        self.objs.get_or_try_init(py, || {
            let cls = self.class(py)?;
            self.members
                .iter()
                .map(|(n, _, _)| cls.getattr(*n).map(Bound::unbind))
                .collect()
        })
    }

    fn find(&self, v: &T) -> Option<usize> {
        self.members.iter().position(|(_, _, m)| (self.same)(m, v))
    }

    /// The member standing for a core value; `None` for a value with no member.
    pub(crate) fn member<'py>(
        &self,
        py: Python<'py>,
        v: &T,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.find(v) {
            Some(i) => Ok(self.objs(py)?.get(i).map(|o| o.bind(py).clone())),
            None => Ok(None),
        }
    }

    /// The member's value text of a core value.
    pub(crate) fn value_of(&self, v: &T) -> Option<&'static str> {
        self.find(v).map(|i| self.members[i].1)
    }

    /// The member's Python name of a core value.
    pub(crate) fn name_of(&self, v: &T) -> Option<&'static str> {
        self.find(v).map(|i| self.members[i].0)
    }

    /// The core value of a member given as itself, or as its value or name text.
    pub(crate) fn parse(&self, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<&'static T> {
        let py = obj.py();
        if let Some(i) = self.objs(py)?.iter().position(|m| obj.is(m)) {
            return Ok(&self.members[i].2);
        }
        if let Ok(s) = obj.downcast::<PyString>() {
            let s = s.to_cow()?;
            let upper = s.to_uppercase();
            if let Some((_, _, v)) = self.members.iter().find(|(n, v, _)| *v == s || *n == upper) {
                return Ok(v);
            }
            let names: Vec<String> = self
                .members
                .iter()
                .map(|(_, v, _)| format!("'{v}'"))
                .collect();
            return Err(refused(format!(
                "{what}: unknown value {} (expected one of {})",
                obj.repr()?,
                names.join(", ")
            )));
        }
        Err(PyTypeError::new_err(format!(
            "{what} must be a {} or a string, not {}",
            self.name,
            type_name(obj)
        )))
    }
}

/// A Python flag class made from a table of `(NAME, bits)` (aliases allowed).
pub(crate) struct PyFlags {
    pub(crate) name: &'static str,
    doc: &'static str,
    members: &'static [(&'static str, u32)],
    cls: GILOnceCell<Py<PyType>>,
}

impl PyFlags {
    const fn new(
        name: &'static str,
        doc: &'static str,
        members: &'static [(&'static str, u32)],
    ) -> Self {
        PyFlags {
            name,
            doc,
            members,
            cls: GILOnceCell::new(),
        }
    }

    fn known(&self) -> u32 {
        self.members.iter().fold(0, |acc, (_, b)| acc | b)
    }

    /// The Python class (made on first use).
    pub(crate) fn class<'py>(&self, py: Python<'py>) -> PyResult<&Bound<'py, PyType>> {
        self.cls
            .get_or_try_init(py, || {
                let members = self.members.iter().map(|(n, b)| (*n, *b));
                make_class(py, "_ReprFlag", self.name, self.doc, members)
            })
            .map(|c| c.bind(py))
    }

    /// The flags of `bits`.
    pub(crate) fn make<'py>(&self, py: Python<'py>, bits: u32) -> PyResult<Bound<'py, PyAny>> {
        self.class(py)?.call1((bits,))
    }

    /// The bits of flags given as members or as an int.
    pub(crate) fn parse(&self, obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
        if obj.is_instance(self.class(obj.py())?)? {
            return obj.getattr("value")?.extract();
        }
        if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err(format!(
                "{what} must be {} flags or an int, not {}",
                self.name,
                type_name(obj)
            )));
        }
        match obj.extract::<i64>() {
            Ok(v) if v >= 0 && (v as u64) & !u64::from(self.known()) == 0 => Ok(v as u32),
            Ok(v) if v < 0 => Err(refused(format!(
                "{what}: unknown flag bits -{:#x}",
                v.unsigned_abs()
            ))),
            Ok(v) => Err(refused(format!("{what}: unknown flag bits {v:#x}"))),
            Err(_) => Err(refused(format!(
                "{what}: unknown flag bits {}",
                obj.call_method1("__format__", ("#x",))?
            ))),
        }
    }
}

pub(crate) static PROTOCOL: PyEnum<Protocol> = PyEnum::new(
    "Protocol",
    "_ReprEnum",
    "Transport protocol of a virtual service.",
    &[
        ("TCP", "tcp", Protocol::Tcp),
        ("UDP", "udp", Protocol::Udp),
        ("SCTP", "sctp", Protocol::Sctp),
    ],
    equal,
);

pub(crate) static FAMILY: PyEnum<Family> = PyEnum::new(
    "Family",
    "_FamilyEnum",
    "Address family.",
    &[
        ("IPV4", "ipv4", Family::Ipv4),
        ("IPV6", "ipv6", Family::Ipv6),
    ],
    equal,
);

pub(crate) static SCHEDULER: PyEnum<Scheduler> = PyEnum::new(
    "Scheduler",
    "_SchedulerEnum",
    "The schedulers the kernel ships (``ipvsadm -s``); others are given by name as ``str``.",
    &[
        ("RR", "rr", Scheduler::RoundRobin),
        ("WRR", "wrr", Scheduler::WeightedRoundRobin),
        ("LC", "lc", Scheduler::LeastConnection),
        ("WLC", "wlc", Scheduler::WeightedLeastConnection),
        ("LBLC", "lblc", Scheduler::LocalityBasedLeastConnection),
        (
            "LBLCR",
            "lblcr",
            Scheduler::LocalityBasedLeastConnectionReplication,
        ),
        ("DH", "dh", Scheduler::DestinationHashing),
        ("SH", "sh", Scheduler::SourceHashing),
        ("SED", "sed", Scheduler::ShortestExpectedDelay),
        ("NQ", "nq", Scheduler::NeverQueue),
        ("FO", "fo", Scheduler::WeightedFailover),
        ("OVF", "ovf", Scheduler::WeightedOverflow),
        ("MH", "mh", Scheduler::MaglevHashing),
        ("TWOS", "twos", Scheduler::TwoRandomChoices),
    ],
    equal,
);

/// The tunnel forwarding of the table (any tunnel type: compared by variant).
const TUNNEL: Forward = Forward::Tunnel(Tunnel::Ipip);

pub(crate) static FORWARDING: PyEnum<Forward> = PyEnum::new(
    "Forwarding",
    "_ReprEnum",
    "How packets reach a real server (``-m``, ``-i``, ``-g``).",
    &[
        ("MASQ", "masq", Forward::Masq),
        ("LOCAL", "local", Forward::Local),
        ("TUNNEL", "tunnel", TUNNEL),
        ("ROUTE", "directroute", Forward::DirectRoute),
        ("BYPASS", "bypass", Forward::Bypass),
    ],
    same_variant,
);

pub(crate) static TUNNEL_TYPE: PyEnum<Tunnel> = PyEnum::new(
    "TunnelType",
    "_ReprEnum",
    "The encapsulation of tunnel forwarding (``--tun-type``).",
    &[
        ("IPIP", "ipip", Tunnel::Ipip),
        (
            "GUE",
            "gue",
            Tunnel::Gue {
                port: 0,
                flags: EncapFlags::empty(),
            },
        ),
        (
            "GRE",
            "gre",
            Tunnel::Gre {
                flags: EncapFlags::empty(),
            },
        ),
    ],
    same_variant,
);

pub(crate) static SYNC_STATE: PyEnum<SyncState> = PyEnum::new(
    "SyncState",
    "_ReprEnum",
    "Role of a connection synchronisation daemon.",
    &[
        ("MASTER", "master", SyncState::Master),
        ("BACKUP", "backup", SyncState::Backup),
    ],
    equal,
);

/// The kinds of operation, by their serde tag (the core's `Operation` variants).
pub(crate) static OPERATION_KIND: PyEnum<&'static str> = PyEnum::new(
    "OperationKind",
    "_ReprEnum",
    "What an :class:`Operation` does (its serde tag).",
    &[
        ("ADD_SERVICE", "add_service", "add_service"),
        ("UPDATE_SERVICE", "update_service", "update_service"),
        ("DELETE_SERVICE", "delete_service", "delete_service"),
        ("ADD_DESTINATION", "add_destination", "add_destination"),
        (
            "UPDATE_DESTINATION",
            "update_destination",
            "update_destination",
        ),
        (
            "DELETE_DESTINATION",
            "delete_destination",
            "delete_destination",
        ),
        ("SET_TIMEOUTS", "set_timeouts", "set_timeouts"),
        ("START_DAEMON", "start_daemon", "start_daemon"),
        ("STOP_DAEMON", "stop_daemon", "stop_daemon"),
        ("ZERO", "zero", "zero"),
        ("FLUSH", "flush", "flush"),
    ],
    equal,
);

pub(crate) static CONNECTION_ORIGIN: PyEnum<lvskit::conn::Origin> = PyEnum::new(
    "ConnectionOrigin",
    "_ReprEnum",
    "Where an entry of ``ip_vs_conn_sync`` came from: ``LOCAL`` (this director) or ``SYNC`` (a sync master).",
    &[
        ("LOCAL", "local", lvskit::conn::Origin::Local),
        ("SYNC", "sync", lvskit::conn::Origin::Sync),
    ],
    equal,
);

pub(crate) static SERVICE_FLAGS: PyFlags = PyFlags::new(
    "ServiceFlags",
    "Service flags a user may set (``-o``, ``-b``); persistence is :class:`Persistence`.",
    &[
        ("ONE_PACKET", lvskit::ServiceFlags::ONE_PACKET.bits()),
        ("SCHED_1", lvskit::ServiceFlags::SCHED_1.bits()),
        ("SCHED_2", lvskit::ServiceFlags::SCHED_2.bits()),
        ("SCHED_3", lvskit::ServiceFlags::SCHED_3.bits()),
        ("SH_FALLBACK", lvskit::ServiceFlags::SCHED_1.bits()),
        ("SH_PORT", lvskit::ServiceFlags::SCHED_2.bits()),
        ("MH_FALLBACK", lvskit::ServiceFlags::SCHED_1.bits()),
        ("MH_PORT", lvskit::ServiceFlags::SCHED_2.bits()),
    ],
);

pub(crate) static ENCAP_FLAGS: PyFlags = PyFlags::new(
    "EncapFlags",
    "Checksum options of GUE and GRE tunnels.",
    &[
        ("CSUM", EncapFlags::CSUM.bits() as u32),
        ("REMCSUM", EncapFlags::REMCSUM.bits() as u32),
    ],
);

/// Makes every class and adds it to the compiled module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add(PROTOCOL.name, PROTOCOL.class(py)?)?;
    m.add(FAMILY.name, FAMILY.class(py)?)?;
    m.add(SCHEDULER.name, SCHEDULER.class(py)?)?;
    m.add(FORWARDING.name, FORWARDING.class(py)?)?;
    m.add(TUNNEL_TYPE.name, TUNNEL_TYPE.class(py)?)?;
    m.add(SYNC_STATE.name, SYNC_STATE.class(py)?)?;
    m.add(OPERATION_KIND.name, OPERATION_KIND.class(py)?)?;
    m.add(CONNECTION_ORIGIN.name, CONNECTION_ORIGIN.class(py)?)?;
    m.add(SERVICE_FLAGS.name, SERVICE_FLAGS.class(py)?)?;
    m.add(ENCAP_FLAGS.name, ENCAP_FLAGS.class(py)?)?;
    Ok(())
}
