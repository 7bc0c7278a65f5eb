//! Whole tables, rules text and partial changes on the async handle: the
//! blocking handle's planning, parsing and read-modify-write, awaited.

use std::net::IpAddr;

use super::handle::Ipvs;
use crate::batch::{BatchMode, BatchReport};
use crate::error::Result;
use crate::handle::edit::{no_such_destination, pick_destination};
use crate::ipvsadm::{parse_lines, ParseError, RestoreReport};
use crate::model::{Destination, Scheduler, ServiceKey};
use crate::op::Operation;
use crate::table::{DiffOptions, Differ, Plan, Table, TableService};

impl Ipvs {
    /// Reads the kernel's current table (services, destinations, timeouts),
    /// as [`Table::read`].
    ///
    /// # Errors
    /// Any error of [`Ipvs::services`], [`Ipvs::destinations`] or [`Ipvs::timeouts`].
    pub async fn read_table(&self) -> Result<Table> {
        let listed = self.service_configs().await?;
        let mut services = Vec::with_capacity(listed.len());
        for service in listed {
            let destinations = self.destination_configs(&service.key).await?;
            services.push(TableService {
                service,
                destinations,
            });
        }
        Ok(Table {
            services,
            timeouts: Some(self.timeouts().await?),
        })
    }

    /// Reads the current table and plans the way to `desired`, as
    /// [`crate::Ipvs::plan`] (each service planned as soon as it is read).
    ///
    /// # Errors
    /// As [`Ipvs::read_table`].
    pub async fn plan(&self, desired: &Table, opts: &DiffOptions) -> Result<Plan> {
        let services = self.service_configs().await?;
        let mut d = Differ::new(desired, opts);
        for service in services {
            let destinations = self.destination_configs(&service.key).await?;
            d.current(&TableService {
                service,
                destinations,
            });
        }
        let timeouts = match desired.timeouts {
            Some(_) => Some(self.timeouts().await?),
            None => None,
        };
        Ok(d.finish(timeouts))
    }

    /// Applies a plan as one pipelined batch ([`BatchMode::Continue`]).
    pub async fn apply_plan(&self, plan: &Plan) -> BatchReport {
        self.execute(&plan.operations, BatchMode::Continue).await
    }

    /// Reads the current table, plans the way to `desired` and applies it,
    /// as [`crate::Ipvs::converge`].
    ///
    /// # Errors
    /// Only when the current table cannot be read.
    pub async fn converge(
        &self,
        desired: &Table,
        opts: &DiffOptions,
    ) -> Result<(Plan, BatchReport)> {
        let plan = self.plan(desired, opts).await?;
        let report = self.apply_plan(&plan).await;
        Ok((plan, report))
    }

    /// Applies rules text as `ipvsadm -R` does, as [`crate::Ipvs::restore`].
    ///
    /// # Errors
    /// [`ParseError`] only (nothing is sent); the kernel's answers are in the report.
    pub async fn restore(&self, text: &str, mode: BatchMode) -> Result<RestoreReport, ParseError> {
        let rules = parse_lines(text)?;
        let (lines, ops): (Vec<usize>, Vec<Operation>) =
            rules.into_iter().map(|r| (r.line, r.operation)).unzip();
        let report = self.execute(&ops, mode).await;
        Ok(RestoreReport { lines, report })
    }

    /// Sets one real server's weight and keeps everything else it has, as
    /// [`crate::Ipvs::set_weight`] (a read, then a write: not atomic).
    ///
    /// # Errors
    /// As [`crate::Ipvs::set_weight`].
    pub async fn set_weight(
        &self,
        service: &ServiceKey,
        addr: IpAddr,
        port: u16,
        weight: u32,
    ) -> Result<()> {
        let listed = self.destinations(service).await?;
        let Some(current) = pick_destination(listed, addr, port) else {
            return Err(no_such_destination(service, addr, port));
        };
        self.update_destination(service, &Destination { weight, ..current })
            .await
    }

    /// Sets a virtual service's scheduler and keeps everything else it has,
    /// as [`crate::Ipvs::set_scheduler`] (a read, then a write: not atomic).
    ///
    /// # Errors
    /// As [`crate::Ipvs::set_scheduler`].
    pub async fn set_scheduler(&self, service: &ServiceKey, scheduler: Scheduler) -> Result<()> {
        let mut current = self.service(service).await?.service;
        current.scheduler = scheduler;
        self.update_service(&current).await
    }
}
