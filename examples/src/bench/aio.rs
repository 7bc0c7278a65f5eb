//! The async contender (`ipvs-bench drive async64 create S D`): the same
//! single `add_service`/`add_destination` calls as `onebyone`, but on one
//! `lvskit::aio::Ipvs` with up to [`IN_FLIGHT`] requests in flight on its
//! socket (64 tasks on a current-thread tokio runtime, each taking the next
//! call as its last one is answered).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use lvskit::aio;
use lvskit::Service;

use super::driver::{dest, svc_key};
use super::Res;

/// Requests in flight at once.
pub const IN_FLIGHT: usize = 64;

/// Creates `s` services (one call each, in order), then their `d`
/// destinations each with [`IN_FLIGHT`] calls in flight.
pub fn create(res: &mut Res, s: usize, d: usize) -> Result<(), String> {
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
        let next = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (ipvs, next) = (ipvs.clone(), Arc::clone(&next));
                tokio::spawn(async move {
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= s * d {
                            return Ok::<(), String>(());
                        }
                        ipvs.add_destination(&svc_key(n / d), &dest(n % d, 1))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.map_err(|e| e.to_string())??;
        }
        res.stop(s * (d + 1));
        Ok(())
    })
}
