//! What earlier runs found, so that a run stopped half-way (Ctrl-C, kill -9, `--mutants-budget`)
//! resumes where it stopped: one line per tested mutant appended to
//! `.testsmith/mutants/outcomes.jsonl` and flushed to disk before the next mutant starts.
//!
//! A line is keyed by a hash of the mutant and of everything its outcome depends on (the
//! package's files), so an outcome is reused only for the very same code and tests. A line
//! torn by a crash is skipped when read. It is a file of its own rather than a table of the
//! state database: mutation runs need neither its cache nor its queue, and an append-only
//! file needs no schema shared with them.

use super::lab::MutantOutcome;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use testsmith_driver::Mutant;

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    key: String,
    #[serde(flatten)]
    recorded: Recorded,
}

/// What the journal knows of one mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    pub outcome: MutantOutcome,
    pub millis: u64,
    /// Counted missed without running: no test executes its line.
    #[serde(default)]
    pub unexecuted: bool,
}

/// The outcomes on record, and the file new ones are appended to.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    known: HashMap<String, Recorded>,
    file: Option<File>,
}

impl Journal {
    /// Reads the journal in `state_dir` (none yet is an empty journal).
    pub fn open(state_dir: &Path) -> io::Result<Journal> {
        let path = state_dir.join("outcomes.jsonl");
        let mut known = HashMap::new();
        match File::open(&path) {
            Ok(file) => {
                for line in io::BufReader::new(file).lines() {
                    let line = line?;
                    if let Ok(entry) = serde_json::from_str::<Line>(&line) {
                        known.insert(entry.key, entry.recorded);
                    }
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        Ok(Journal {
            path,
            known,
            file: None,
        })
    }

    /// The outcome recorded for `key`, with how long it took.
    pub fn get(&self, key: &str) -> Option<Recorded> {
        self.known.get(key).copied()
    }

    /// Records an outcome on disk before returning.
    pub fn record(&mut self, key: &str, recorded: Recorded) -> io::Result<()> {
        if self.file.is_none() {
            let mut file = File::options().create(true).append(true).open(&self.path)?;
            // A line torn by a crash must not glue itself to the first new one.
            if file.metadata()?.len() > 0 {
                file.write_all(b"\n")?;
            }
            self.file = Some(file);
        }
        let file = self.file.as_mut().expect("opened above");
        let mut line = serde_json::to_string(&Line {
            key: key.to_owned(),
            recorded,
        })
        .expect("a journal line serialises");
        line.push('\n');
        file.write_all(line.as_bytes())?;
        file.sync_data()?;
        self.known.insert(key.to_owned(), recorded);
        Ok(())
    }
}

/// The journal key of `mutant` of the file at `rel`, in a package whose files hash to
/// `fingerprint`.
pub fn key(driver: &str, rel: &Path, fingerprint: &str, mutant: &Mutant) -> String {
    let mut hasher = Sha256::new();
    hasher.update(driver.as_bytes());
    hasher.update([0]);
    hasher.update(rel.as_os_str().as_encoded_bytes());
    hasher.update([0]);
    hasher.update(fingerprint.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_string(&mutant.edits).expect("edits serialise"));
    crate::store::hex(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_survive_a_reopen_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path()).unwrap();
        let caught = Recorded {
            outcome: MutantOutcome::Caught,
            millis: 10,
            unexecuted: false,
        };
        let unexecuted = Recorded {
            outcome: MutantOutcome::Missed,
            millis: 0,
            unexecuted: true,
        };
        journal.record("a", caught).unwrap();
        drop(journal);
        // A crash in the middle of the next line.
        let path = dir.path().join("outcomes.jsonl");
        let mut file = File::options().append(true).open(&path).unwrap();
        file.write_all(br#"{"key":"b","outc"#).unwrap();
        drop(file);
        let mut journal = Journal::open(dir.path()).unwrap();
        assert_eq!(journal.get("a"), Some(caught));
        assert_eq!(journal.get("b"), None);
        journal.record("c", unexecuted).unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        assert_eq!(journal.get("c"), Some(unexecuted));
    }
}
