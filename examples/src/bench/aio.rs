//! The async contenders (`ipvs-bench drive async64|async64-onetask create S
//! D`): the same single `add_service`/`add_destination` calls as
//! `onebyone`, but on one `lvskit::aio::Ipvs` with up to [`IN_FLIGHT`]
//! requests in flight on its socket, on a current-thread tokio runtime:
//! - `async64`: 64 tasks, each taking the next call as its last one is
//!   answered;
//! - `async64-onetask`: the calls as futures polled by ONE task
//!   (`buffer_unordered(64)` over a stream of them), which is how many users
//!   write a burst of concurrent calls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use lvskit::aio;
use lvskit::Service;

use super::driver::{dest, svc_key};
use super::Res;

/// Requests in flight at once.
pub const IN_FLIGHT: usize = 64;

/// How the calls in flight are driven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// [`IN_FLIGHT`] tokio tasks, one call each at a time.
    Tasks,
    /// [`IN_FLIGHT`] futures polled by one task (`buffer_unordered`).
    OneTask,
}

/// Creates `s` services (one call each, in order), then their `d`
/// destinations each with [`IN_FLIGHT`] calls in flight, driven as `shape` says.
pub fn create(res: &mut Res, s: usize, d: usize, shape: Shape) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let ipvs = aio::Ipvs::new().await.map_err(|e| e.to_string())?;
        res.start();
        for i in 0..s {
            ipvs.add_service(&Service::new(svc_key(i)))
                .await
                .map_err(|e| e.to_string())?;
        }
        match shape {
            Shape::Tasks => tasks(&ipvs, s * d, d).await?,
            Shape::OneTask => one_task(&ipvs, s * d, d).await?,
        }
        res.stop(s * (d + 1));
        Ok(())
    })
}

/// The `n` destination calls from [`IN_FLIGHT`] tasks.
async fn tasks(ipvs: &aio::Ipvs, n: usize, d: usize) -> Result<(), String> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (ipvs, next) = (ipvs.clone(), Arc::clone(&next));
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<(), String>(());
                    }
                    ipvs.add_destination(&svc_key(i / d), &dest(i % d, 1))
                        .await
                        .map_err(|e| e.to_string())?;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// The `n` destination calls as futures, [`IN_FLIGHT`] at a time, polled by
/// the calling task.
async fn one_task(ipvs: &aio::Ipvs, n: usize, d: usize) -> Result<(), String> {
    let mut calls = stream::iter(0..n)
        .map(|i| async move {
            let (k, dst) = (svc_key(i / d), dest(i % d, 1));
            ipvs.add_destination(&k, &dst).await
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some(r) = calls.next().await {
        r.map_err(|e| e.to_string())?;
    }
    Ok(())
}
