//! Kernel property test: random valid tables written with the library read back equal.

use lvskit::table::{diff, DiffOptions, Table};
use proptest::prelude::*;

use crate::strategies;
use crate::support::TestNs;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_tables_read_back_equal(t in strategies::table(6, 4)) {
        let ns = TestNs::new();
        ns.routable();
        let ipvs = ns.ipvs();
        let report = ipvs.apply_plan(&diff(&Table::default(), &t, &DiffOptions::default()));
        prop_assert!(report.is_ok(), "{:?}", report.failures().collect::<Vec<_>>());
        let mut got = Table::read(&ipvs).unwrap();
        got.timeouts = None;
        prop_assert_eq!(got.sorted(), t.clone().sorted());
        let lines = t.services.iter().map(|s| 1 + s.destinations.len()).sum::<usize>();
        prop_assert_eq!(ns.saved().len(), lines);
    }
}
