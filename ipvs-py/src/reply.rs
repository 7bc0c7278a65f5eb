//! What the kernel reports, handed to Python as values without any text in
//! between: service and destination entries with their counters, and the
//! global information. The classes are the frozen value classes of
//! `ipvs._model` (looked up once); their fields are made here from the
//! core's values.

use lvskit::{DestinationEntry, Info, ServiceEntry, Stats};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::PyType;

use crate::model;

static STATS: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static SERVICE_ENTRY: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static DESTINATION_ENTRY: GILOnceCell<Py<PyType>> = GILOnceCell::new();
static INFO: GILOnceCell<Py<PyType>> = GILOnceCell::new();

/// An `ipvs.Stats`.
pub(crate) fn stats_out(py: Python<'_>, s: Stats) -> PyResult<Bound<'_, PyAny>> {
    STATS.import(py, "ipvs._model", "Stats")?.call1((
        s.conns,
        s.in_packets,
        s.out_packets,
        s.in_bytes,
        s.out_bytes,
        s.cps,
        s.in_pps,
        s.out_pps,
        s.in_bps,
        s.out_bps,
    ))
}

/// An `ipvs.ServiceEntry`: the service as the kernel holds it (not validated) and its counters.
pub(crate) fn service_entry_out(py: Python<'_>, e: ServiceEntry) -> PyResult<Bound<'_, PyAny>> {
    let service = model::service_out(py, e.service)?;
    let stats = stats_out(py, e.stats)?;
    SERVICE_ENTRY
        .import(py, "ipvs._model", "ServiceEntry")?
        .call1((service, stats))
}

/// An `ipvs.DestinationEntry`: the destination as the kernel holds it, its connection counts and counters.
pub(crate) fn destination_entry_out(
    py: Python<'_>,
    e: DestinationEntry,
) -> PyResult<Bound<'_, PyAny>> {
    let destination = model::destination_out(py, e.destination)?;
    let stats = stats_out(py, e.stats)?;
    DESTINATION_ENTRY
        .import(py, "ipvs._model", "DestinationEntry")?
        .call1((
            destination,
            e.active_conns,
            e.inactive_conns,
            e.persistent_conns,
            stats,
        ))
}

/// An `ipvs.Info`.
pub(crate) fn info_out(py: Python<'_>, i: Info) -> PyResult<Bound<'_, PyAny>> {
    INFO.import(py, "ipvs._model", "Info")?
        .call1((i.version, i.conn_table_size))
}

/// A destination line of `ipvsadm -Ln` for a destination and its connection counts.
#[pyfunction]
fn destination_entry_text(
    destination: &Bound<'_, PyAny>,
    active_conns: &Bound<'_, PyAny>,
    inactive_conns: &Bound<'_, PyAny>,
) -> PyResult<String> {
    Ok(DestinationEntry {
        destination: model::destination_in(destination, "destination")?,
        active_conns: model::u32_in(active_conns, "active_conns")?,
        inactive_conns: model::u32_in(inactive_conns, "inactive_conns")?,
        persistent_conns: 0,
        stats: Stats::default(),
    }
    .to_string())
}

/// The core's text of the global information.
#[pyfunction]
fn info_text(version: &Bound<'_, PyAny>, conn_table_size: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(Info {
        version: model::u32_in(version, "version")?,
        conn_table_size: model::u32_in(conn_table_size, "conn_table_size")?,
    }
    .to_string())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(destination_entry_text, m)?)?;
    m.add_function(wrap_pyfunction!(info_text, m)?)?;
    Ok(())
}
