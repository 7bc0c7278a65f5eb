//! Desired-state tables from untrusted JSON: parse, validate, plan.
#![no_main]

use lvskit::table::{diff, simulate, DiffOptions, Table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = serde_json::from_slice::<Table>(data) {
        for s in &t.services {
            let _ = s.service.validate();
            for d in &s.destinations {
                let _ = d.validate(s.service.key.family());
            }
        }
        let plan = diff(&Table::default(), &t, &DiffOptions::default());
        let _ = plan.to_string();
        let back = simulate(&Table::default(), &plan);
        assert!(diff(&back, &t, &DiffOptions::default()).is_empty());
    }
});
