//! Writing `/proc/sys` values all or nothing: the one engine behind the
//! typed IPVS knobs ([`crate::sysctl::apply`]) and the real-server set-up's
//! sysctls (`tunnel::realserver`). It runs in the namespace already (the
//! callers enter it with `netns::run_in`).

use std::io;
use std::path::PathBuf;

/// Reads each `(file, text)` of `wanted` and writes `text` where
/// `differs(index, current)`; returns `(index, current)` for each value
/// written, with the current text as read (trailing newline dropped).
///
/// All or nothing: when a read or write fails, the values already written are
/// set back to their earlier text, last first, and the index of the failing
/// entry is returned with its error.
pub(crate) fn write_differing(
    wanted: &[(PathBuf, String)],
    differs: impl Fn(usize, &str) -> bool,
) -> Result<Vec<(usize, String)>, (usize, io::Error)> {
    let mut done: Vec<(usize, String)> = Vec::new();
    for (i, (file, text)) in wanted.iter().enumerate() {
        let step = std::fs::read_to_string(file).and_then(|current| {
            let current = current.trim_end().to_owned();
            if differs(i, &current) {
                std::fs::write(file, text.as_bytes())?;
                done.push((i, current));
            }
            Ok(())
        });
        if let Err(e) = step {
            for (j, before) in done.iter().rev() {
                let _ = std::fs::write(&wanted[*j].0, before.as_bytes());
            }
            return Err((i, e));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path, values: &[&str]) -> Vec<PathBuf> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let f = dir.join(format!("f{i}"));
                std::fs::write(&f, format!("{v}\n")).unwrap_or_default();
                f
            })
            .collect()
    }

    fn read(f: &PathBuf) -> String {
        std::fs::read_to_string(f).unwrap_or_default()
    }

    #[test]
    fn writes_only_what_differs_and_reports_what_was_there() {
        let dir = std::env::temp_dir().join(format!("procsys-a-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = files(&dir, &["1", "0"]);
        let wanted = vec![(f[0].clone(), "1".into()), (f[1].clone(), "2".into())];
        let done = write_differing(&wanted, |i, cur| cur != wanted[i].1);
        assert_eq!(done.ok(), Some(vec![(1, "0".to_owned())]));
        assert_eq!(read(&f[1]), "2");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failure_sets_back_what_was_written() {
        let dir = std::env::temp_dir().join(format!("procsys-b-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = files(&dir, &["a", "b"]);
        let missing = dir.join("missing");
        let wanted = vec![
            (f[0].clone(), "x".into()),
            (f[1].clone(), "y".into()),
            (missing, "z".into()),
        ];
        let err = write_differing(&wanted, |_, _| true).err();
        assert_eq!(
            err.map(|(i, e)| (i, e.kind())),
            Some((2, io::ErrorKind::NotFound))
        );
        assert_eq!((read(&f[0]), read(&f[1])), ("a".into(), "b".into()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
