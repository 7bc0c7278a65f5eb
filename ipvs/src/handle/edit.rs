//! Partial changes: read the current value from the kernel, change one
//! field, write the whole value back.
//!
//! The kernel's SET_SERVICE and SET_DEST (like `ipvsadm -E` and `-e`) replace
//! a service's or a destination's whole configuration: a field left out is
//! reset to its default, so `update_destination` with only a new weight turns
//! a GUE tunnel destination into direct routing. The methods here read the
//! value the kernel holds, change only the named field and send everything
//! else as read. They are not atomic: a change another client makes between
//! the read and the write is overwritten.

use std::net::{IpAddr, SocketAddr};

use super::Ipvs;
use crate::error::{Error, Result};
use crate::model::{Destination, Scheduler, ServiceKey};

impl Ipvs {
    /// Sets one real server's weight and keeps everything else it has
    /// (forwarding method, tunnel type, port and flags, thresholds): weight 0
    /// drains it (no new connections), a positive weight restores it.
    ///
    /// Reads the destination from the kernel and writes it back with the new
    /// weight (two requests, not atomic).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the service or the destination does not
    /// exist; [`Error::InvalidInput`] for a weight the kernel does not keep
    /// (above 2147483647) or a destination read back with values the library
    /// cannot write; errors of [`Ipvs::update_destination`].
    pub fn set_weight(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
        weight: u32,
    ) -> Result<()> {
        let current = self.current_destination(service, addr, port)?;
        self.update_destination(service, &Destination { weight, ..current })
    }

    /// Sets a virtual service's scheduler and keeps everything else it has
    /// (flags, persistence timeout and netmask, persistence engine).
    ///
    /// Reads the service from the kernel and writes it back with the new
    /// scheduler (two requests, not atomic).
    ///
    /// # Errors
    /// [`Error::NotFound`] when the service does not exist;
    /// [`Error::ModuleMissing`] when the scheduler's module is not available;
    /// errors of [`Ipvs::update_service`].
    pub fn set_scheduler(&self, service: &ServiceKey, scheduler: Scheduler) -> Result<()> {
        let mut current = self.service(service)?.service;
        current.scheduler = scheduler;
        self.update_service(&current)
    }

    /// The destination `addr`:`port` of `service` as the kernel holds it.
    fn current_destination(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
    ) -> Result<Destination> {
        let found = self.destinations(service)?;
        match pick_destination(found, addr, port) {
            Some(d) => Ok(d),
            None => {
                // a dump of a missing service's destinations is empty, not an error
                self.service(service)?;
                Err(no_such_destination(service, addr, port))
            }
        }
    }
}

/// The destination `addr`:`port` among `listed` (shared with the async handle).
pub(crate) fn pick_destination(
    listed: Vec<crate::model::DestinationEntry>,
    addr: IpAddr,
    port: u16,
) -> Option<Destination> {
    listed
        .into_iter()
        .map(|e| e.destination)
        .find(|d| d.addr == addr && d.port == port)
}

/// The error for a destination that is not there.
pub(crate) fn no_such_destination(service: &ServiceKey, addr: IpAddr, port: u16) -> Error {
    Error::NotFound {
        context: format!(
            "reading destination {} of service {service}",
            SocketAddr::new(addr, port)
        ),
        what: "no such destination",
        errno: libc::ENOENT,
    }
}
