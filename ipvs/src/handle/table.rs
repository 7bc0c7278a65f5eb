//! Whole tables on a handle: reading, planning and converging.

use super::Ipvs;
use crate::batch::{BatchMode, BatchReport};
use crate::error::Result;
use crate::model::Service;
use crate::table::{DiffOptions, Differ, Plan, Table, TableService, PARALLEL_PLAN_MIN, PLAN_PART};

impl Table {
    /// Reads the kernel's current table (services and destinations; timeouts included).
    ///
    /// # Errors
    /// Any error of [`Ipvs::services`], [`Ipvs::destinations`] or [`Ipvs::timeouts`].
    pub fn read(ipvs: &Ipvs) -> Result<Table> {
        // counters are not part of a table: they are not even decoded
        let listed = ipvs.service_configs()?;
        let mut services = Vec::with_capacity(listed.len());
        ipvs.with_destinations(listed, |s| services.push(s))?;
        Ok(Table {
            services,
            timeouts: Some(ipvs.timeouts()?),
        })
    }
}

impl Ipvs {
    /// Applies a plan as one pipelined batch ([`BatchMode::Continue`]).
    pub fn apply_plan(&self, plan: &Plan) -> BatchReport {
        self.execute(&plan.operations, BatchMode::Continue)
    }

    /// Reads the current table, plans the way to `desired`, and applies it.
    /// Returns the plan with its report.
    ///
    /// # Errors
    /// Only when the current table cannot be read; the plan's own failures are in the report.
    pub fn converge(&self, desired: &Table, opts: &DiffOptions) -> Result<(Plan, BatchReport)> {
        let plan = self.plan(desired, opts)?;
        let report = self.apply_plan(&plan);
        Ok((plan, report))
    }

    /// Reads the current table and plans the way to `desired` (a dry run of
    /// [`Ipvs::converge`]): the plan `diff(&Table::read(self)?, desired, opts)`
    /// gives, sooner.
    ///
    /// Reading a table is one request per service (the kernel lists
    /// destinations one service at a time) and the time goes to the kernel;
    /// for a large table the planning runs on a second thread meanwhile, so
    /// that the plan is ready almost as soon as the table is read.
    ///
    /// ```no_run
    /// use lvskit::table::{DiffOptions, Table};
    /// # fn main() -> lvskit::Result<()> {
    /// let ipvs = lvskit::Ipvs::new()?;
    /// let desired = Table::default();
    /// print!("{}", ipvs.plan(&desired, &DiffOptions::default())?); // in ipvsadm's words
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`Table::read`]; no plan when the table cannot be read whole.
    pub fn plan(&self, desired: &Table, opts: &DiffOptions) -> Result<Plan> {
        let services = self.service_configs()?;
        // the current timeouts matter only when some are wanted
        let timeouts = |ipvs: &Ipvs| match desired.timeouts {
            Some(_) => ipvs.timeouts().map(Some),
            None => Ok(None),
        };
        if services.len() < PARALLEL_PLAN_MIN {
            let mut d = Differ::new(desired, opts);
            self.with_destinations(services, |s| d.current(&s))?;
            return Ok(d.finish(timeouts(self)?));
        }
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel::<Vec<TableService>>();
            let planner = scope.spawn(move || {
                let mut d = Differ::new(desired, opts);
                for part in rx {
                    for s in &part {
                        d.current(s);
                    }
                }
                d
            });
            let read = (|| {
                let mut part = Vec::with_capacity(PLAN_PART);
                self.with_destinations(services, |s| {
                    part.push(s);
                    if part.len() == PLAN_PART {
                        // the planner ends only when `tx` is dropped: it is there
                        let _ =
                            tx.send(std::mem::replace(&mut part, Vec::with_capacity(PLAN_PART)));
                    }
                })?;
                let _ = tx.send(part);
                timeouts(self)
            })();
            drop(tx);
            let d = planner
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            Ok(d.finish(read?))
        })
    }

    /// Lists each of `services`' destinations (no counters) and hands the
    /// service with them to `f`, one at a time as they are read.
    fn with_destinations(
        &self,
        services: Vec<Service>,
        mut f: impl FnMut(TableService),
    ) -> Result<()> {
        for service in services {
            let destinations = self.destination_configs(&service.key)?;
            f(TableService {
                service,
                destinations,
            });
        }
        Ok(())
    }
}
