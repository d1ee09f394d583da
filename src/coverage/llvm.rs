//! LLVM source-based coverage (what `rustc -C instrument-coverage` and `clang
//! -fcoverage-mapping` produce), read in-process as `llvm-cov export` reads it: the raw
//! profiles (`.profraw`, one per process) hold a counter array per function; the coverage
//! map in each instrumented object says which code regions each counter, or sum and
//! difference of counters, counts. Parsing both formats is the `llvm_profparser` crate's;
//! evaluating the counters and placing the regions is here.
//!
//! As `llvm-cov`: a function is found in the profiles by its name's hash and its structural
//! hash; a function the profiles do not name at all ran zero times (rustc maps unused
//! functions too), one they name with another structural hash is left out (a stale
//! build). Only code regions count — not gaps, skipped code, branches or expansions — and
//! each becomes one block whose hits are the region's execution count. The same region
//! seen in several test binaries (a library in its unit-test binary and in each
//! integration test) is one block, executed if any of them executed it.

use llvm_profparser::coverage::coverage_mapping::read_object_file;
use llvm_profparser::coverage::{Counter, CounterType, ExprKind, Expression, RegionKind};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use testsmith_driver::{CoverBlock, Span};

/// Counters by function: name hash and structural hash.
type Counts = HashMap<(u64, u64), Vec<u64>>;

/// The code regions of `root`'s files (relative to `root`) that the raw profiles in
/// `profiles` (a folder) and the coverage maps of `objects` describe. Files outside `root`
/// (dependencies, the standard library) and inside its `.testsmith/` (generated code of
/// testsmith's builds) are left out.
pub fn read(root: &Path, profiles: &Path, objects: &[PathBuf]) -> Result<Vec<CoverBlock>, String> {
    let (counts, named, version) = read_profiles(profiles)?;
    let mut places = Places::new(root);
    let mut blocks = Vec::new();
    for object in objects {
        let info = guarded(|| read_object_file(object, version))
            .and_then(|read| read.map_err(|error| error.to_string()))
            .map_err(|error| {
                format!(
                    "cannot read the coverage map of {}: {error}",
                    object.display()
                )
            })?;
        for function in &info.cov_fun {
            let header = &function.header;
            let counters = match counts.get(&(header.name_hash, header.fn_hash)) {
                Some(counters) => counters.as_slice(),
                None if named.contains(&header.name_hash) => continue,
                None => &[],
            };
            let files = info.get_files_from_id(header.filenames_ref);
            for region in &function.regions {
                if region.kind != RegionKind::Code {
                    continue;
                }
                let Some(file) = files.get(region.file_id).and_then(|file| places.rel(file)) else {
                    continue;
                };
                let hits = evaluate(region.count, &function.expressions, counters);
                let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                blocks.push(CoverBlock {
                    file,
                    span: Span {
                        start_line: to_u32(region.loc.line_start),
                        start_col: to_u32(region.loc.column_start),
                        end_line: to_u32(region.loc.line_end),
                        end_col: to_u32(region.loc.column_end),
                    },
                    statements: 1,
                    hits,
                });
            }
        }
    }
    Ok(blocks)
}

/// Every raw profile in `folder`, counters of the same function added up; the name hashes
/// they mention; the profile format's version (the coverage maps are read by it).
fn read_profiles(folder: &Path) -> Result<(Counts, HashSet<u64>, u64), String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|_| "the tests wrote no coverage profile".to_owned())?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "profraw"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err("the tests wrote no coverage profile".to_owned());
    }
    let mut counts = Counts::new();
    let mut named = HashSet::new();
    let mut version = None;
    for path in &paths {
        let profile = guarded(|| llvm_profparser::parse(path))
            .and_then(|parsed| parsed.map_err(|error| error.to_string()))
            .map_err(|error| {
                format!(
                    "cannot read the coverage profile {}: {error} (was it written by a rustc \
                     whose LLVM this testsmith cannot read?)",
                    path.display()
                )
            })?;
        version = version.or(profile.version());
        for record in profile.records() {
            let (Some(name_hash), Some(hash)) = (record.name_hash, record.hash) else {
                continue;
            };
            named.insert(name_hash);
            let total = counts.entry((name_hash, hash)).or_default();
            let new = record.counts();
            if total.len() < new.len() {
                total.resize(new.len(), 0);
            }
            for (sum, count) in total.iter_mut().zip(new) {
                *sum = sum.saturating_add(*count);
            }
        }
    }
    let version = version.ok_or("the coverage profiles carry no version")?;
    Ok((counts, named, version))
}

/// How often the code a counter counts ran: a counter's value, or the sum or difference
/// of two (LLVM's counter expressions). A malformed map (an expression that refers to
/// itself) counts zero rather than loop.
fn evaluate(counter: Counter, expressions: &[Expression], counts: &[u64]) -> u64 {
    evaluate_within(counter, expressions, counts, 0).unwrap_or(0)
}

fn evaluate_within(
    counter: Counter,
    expressions: &[Expression],
    counts: &[u64],
    depth: u32,
) -> Option<u64> {
    if depth > 256 {
        return None;
    }
    let id = usize::try_from(counter.id).unwrap_or(usize::MAX);
    Some(match counter.kind {
        CounterType::Zero => 0,
        CounterType::ProfileInstrumentation => counts.get(id).copied().unwrap_or(0),
        CounterType::Expression(kind) => {
            let expression = expressions.get(id)?;
            let lhs = evaluate_within(expression.lhs, expressions, counts, depth + 1)?;
            let rhs = evaluate_within(expression.rhs, expressions, counts, depth + 1)?;
            match kind {
                ExprKind::Add => lhs.saturating_add(rhs),
                ExprKind::Subtract => lhs.saturating_sub(rhs),
            }
        }
    })
}

/// The parser panics on some malformed input; a broken file is an error, not a crash.
fn guarded<T>(read: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read))
        .map_err(|_| "the file is malformed".to_owned())
}

/// Coverage maps name files as the compiler saw them; the blocks name them relative to the
/// project, resolving symbolic links once per file.
struct Places {
    root: PathBuf,
    state: PathBuf,
    seen: HashMap<PathBuf, Option<PathBuf>>,
}

impl Places {
    fn new(root: &Path) -> Self {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_owned());
        Places {
            state: root.join(".testsmith"),
            root,
            seen: HashMap::new(),
        }
    }

    fn rel(&mut self, file: &Path) -> Option<PathBuf> {
        if let Some(known) = self.seen.get(file) {
            return known.clone();
        }
        let real = file.canonicalize().ok();
        let rel = real
            .filter(|real| !real.starts_with(&self.state))
            .and_then(|real| real.strip_prefix(&self.root).ok().map(Path::to_owned));
        self.seen.insert(file.to_owned(), rel.clone());
        rel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(kind: CounterType, id: u64) -> Counter {
        Counter { kind, id }
    }

    #[test]
    fn expressions_add_and_subtract_counters() {
        let counts = [10, 3];
        // #0: c0 - c1, #1: #0 + c1
        let expressions = [
            Expression {
                kind: ExprKind::Subtract,
                lhs: counter(CounterType::ProfileInstrumentation, 0),
                rhs: counter(CounterType::ProfileInstrumentation, 1),
            },
            Expression {
                kind: ExprKind::Add,
                lhs: counter(CounterType::Expression(ExprKind::Subtract), 0),
                rhs: counter(CounterType::ProfileInstrumentation, 1),
            },
        ];
        let eval = |c| evaluate(c, &expressions, &counts);
        assert_eq!(
            eval(counter(CounterType::Expression(ExprKind::Subtract), 0)),
            7
        );
        assert_eq!(eval(counter(CounterType::Expression(ExprKind::Add), 1)), 10);
        assert_eq!(eval(counter(CounterType::Zero, 0)), 0);
        // A counter the profile lacks (an unused function) ran zero times.
        assert_eq!(eval(counter(CounterType::ProfileInstrumentation, 9)), 0);
    }

    #[test]
    fn a_self_referring_expression_counts_zero() {
        let expressions = [Expression {
            kind: ExprKind::Add,
            lhs: counter(CounterType::Expression(ExprKind::Add), 0),
            rhs: counter(CounterType::ProfileInstrumentation, 0),
        }];
        let looping = counter(CounterType::Expression(ExprKind::Add), 0);
        assert_eq!(evaluate(looping, &expressions, &[1]), 0);
    }

    #[test]
    fn a_folder_without_profiles_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read(dir.path(), dir.path(), &[]).unwrap_err(),
            "the tests wrote no coverage profile"
        );
        std::fs::write(dir.path().join("1.profraw"), b"not a profile").unwrap();
        let error = read(dir.path(), dir.path(), &[]).unwrap_err();
        assert!(
            error.starts_with("cannot read the coverage profile"),
            "{error}"
        );
    }
}
