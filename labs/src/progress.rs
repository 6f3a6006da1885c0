//! Which steps a learner has passed, kept in the user's data folder.
//!
//! The file is plain text, one passed step a line (`http/ok 1767268800`: the step and the unix
//! time it passed), so a learner can read it, back it up or edit it by hand. The folder is
//! `$PROTOLAB_DATA_DIR`, else `$XDG_DATA_HOME/protolab`, else `~/.local/share/protolab`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The passed steps, by id, with the time they first passed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Progress {
    passed: BTreeMap<String, u64>,
    path: Option<PathBuf>,
}

/// The data folder protolab keeps its files in (one rule for every program: [`cmdline::data_dir`]).
pub fn data_dir() -> Option<PathBuf> {
    cmdline::data_dir()
}

impl Progress {
    /// Loads the progress file from the data folder; a missing file is no progress yet.
    pub fn load_default() -> io::Result<Progress> {
        match data_dir() {
            Some(dir) => Progress::load(&dir.join("labs-progress")),
            None => Ok(Progress::default()),
        }
    }

    /// Loads a progress file. Lines that do not parse are skipped, not fatal: the file is the
    /// learner's, and a hand edit must not lock them out.
    pub fn load(path: &Path) -> io::Result<Progress> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut passed = BTreeMap::new();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if let (Some(step), Some(when)) = (words.next(), words.next()) {
                if let Ok(when) = when.parse() {
                    passed.insert(step.to_string(), when);
                }
            }
        }
        Ok(Progress {
            passed,
            path: Some(path.to_path_buf()),
        })
    }

    /// True when the step has passed at least once.
    pub fn has_passed(&self, step: &str) -> bool {
        self.passed.contains_key(step)
    }

    /// Records a pass (the first time is kept).
    pub fn mark_passed(&mut self, step: &str, unix_time: u64) {
        self.passed.entry(step.to_string()).or_insert(unix_time);
    }

    /// Forgets the steps whose id starts with `prefix` (all of them for "").
    pub fn reset(&mut self, prefix: &str) -> usize {
        let before = self.passed.len();
        self.passed.retain(|step, _| !step.starts_with(prefix));
        before - self.passed.len()
    }

    /// Writes the file back atomically (a temporary file, then a rename).
    pub fn save(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        for (step, when) in &self.passed {
            writeln!(file, "{step} {when}")?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file_and_skips_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/labs-progress");
        let mut progress = Progress::load(&path).unwrap();
        assert!(!progress.has_passed("http/ok"));
        progress.mark_passed("http/ok", 10);
        progress.mark_passed("http/ok", 20);
        progress.mark_passed("mail/helo", 30);
        progress.save().unwrap();

        std::fs::write(
            &path,
            std::fs::read_to_string(&path).unwrap() + "garbage\nx notanumber\n",
        )
        .unwrap();
        let mut again = Progress::load(&path).unwrap();
        assert!(again.has_passed("http/ok"));
        assert_eq!(again.passed.get("http/ok"), Some(&10));
        assert_eq!(again.reset("http/"), 1);
        assert!(again.has_passed("mail/helo"));
        assert_eq!(again.reset(""), 1);
    }
}
