//! `generate --llm`: the planned files go through the model concurrently, each member's job
//! recorded in the durable queue before it is asked and settled after its file is written.
//!
//! A run holds the project copy's run lock: with it, every lease the copy's processes left in
//! the queue belongs to a dead process and is released at the start, so a killed run's jobs
//! are picked up at once. Leases of other copies — other machines sharing a PostgreSQL
//! state — are left alone: a file whose jobs another process holds is put off until the rest
//! is done, then waited for; its answers come from the shared cache.
//! Ctrl-C cancels every request and backoff sleep at once; nothing more is written, and the
//! unfinished jobs stay queued.

use super::generate::{FileOutcome, Generator, Selection, generate_files};
use crate::cli::GenerateArgs;
use crate::config::Config;
use crate::coverage::Verdicts;
use crate::errors::{AppError, Outcome};
use crate::llm::{
    CancellationToken, FileRequest, Halt, Hold, JobLedger, LlmClient, MemberOutcome, MemberRequest,
    MemberResult,
};
use crate::mutants::LabOptions;
use crate::mutants::targets::MutationTargets;
use crate::output::{FileReport, GenerateReport, Printer, Progress};
use crate::pipeline::{
    Decision, FileTexts, Package, PreparedFile, Produced, ScaffoldPolicy, WriteSettings,
    finish_file, prepare_file,
};
use crate::store::{StateStore, now_ms};
use crate::verify::{FunnelOptions, MutantJudge, MutationGain, WrittenFile, judge_coverage};
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A job failing this many times (rejected answers, refused requests) is dead-lettered.
const MAX_JOB_ATTEMPTS: u32 = 3;

/// The project's conventions file; its text goes into every prompt.
pub const CONVENTIONS_FILE: &str = "TESTSMITH.md";

pub fn run(
    args: &GenerateArgs,
    packages: Vec<Package>,
    settings: &WriteSettings,
    mut report: GenerateReport,
    printer: &mut Printer,
) -> Result<Outcome, AppError> {
    let mut session = LlmSession::open(&args.llm.tuning, printer)?;
    let sources: Vec<(PathBuf, &'static dyn testsmith_driver::Driver)> = packages
        .iter()
        .flat_map(|package| {
            package
                .files
                .iter()
                .map(|file| (file.path.clone(), package.driver))
        })
        .collect();
    let baselines = if args.by_coverage() {
        let (verdicts, baselines) = super::generate::coverage_verdicts(&sources, args, printer);
        session.coverage = Some(verdicts);
        Some(baselines)
    } else {
        None
    };
    if args.mutants && !args.dry_run {
        let targets = MutationTargets::measure(sources, &lab_options(args));
        for problem in &targets.problems {
            printer.warn(&format!("mutants: {problem}"));
        }
        session.mutation = Some(targets);
    }
    let interrupted = session.stop_on_interrupt();
    // A signal ends the running `go`/`cargo` commands; this run then stops in its own way.
    let _graceful = crate::verify::stop::graceful();
    let results = {
        let printer = &*printer;
        let progress = |files| Progress::for_files(printer, args.format, files);
        let generator = Generator::Llm {
            session: &session,
            progress: &progress,
        };
        generate_files(&packages, &Selection::All, generator, settings)?
    };
    // An interrupted run writes nothing more, repairs included.
    let verified = if interrupted.load(Ordering::SeqCst) {
        None
    } else {
        let repairer = crate::verify::LlmRepairer::new(
            &session.client,
            session.runtime.handle().clone(),
            session.conventions.clone(),
        );
        super::verify::after_generate(
            args,
            &results,
            &settings.scope,
            Some(&repairer),
            Some(interrupted.clone()),
        )
    };
    if let Some(verified) = &verified {
        session.remember_rolled_back(verified);
    }
    // What the suite guard found in `--coverage-rounds` follow-ups, reported with the first.
    let mut later_guard = crate::verify::VerifyReport::default();
    let funnel = match (&verified, &baselines) {
        (Some(verified), Some(baselines)) if !interrupted.load(Ordering::SeqCst) => {
            let written: Vec<WrittenFile> = results
                .iter()
                .filter_map(|outcome| WrittenFile::from_report(&outcome.report))
                .collect();
            let options = funnel_options(args);
            let mut targets = session.mutation.take();
            let mut judge = targets.as_mut().map(|targets| MutantJudge {
                targets,
                lab: lab_options(args),
            });
            let mut funnel = judge_coverage(
                verified,
                &written,
                baselines,
                &settings.scope,
                options,
                judge.as_mut(),
            );
            for round in 1..=args.coverage_rounds {
                if interrupted.load(Ordering::SeqCst) {
                    break;
                }
                let Some((later, guarded)) = follow_up(
                    &mut session,
                    args,
                    &packages,
                    settings,
                    &funnel,
                    round,
                    judge.as_mut(),
                )?
                else {
                    break;
                };
                funnel.absorb(round, later);
                later_guard.absorb_guard(guarded);
            }
            drop(judge);
            funnel.mutation = targets.as_ref().map(MutationGain::of);
            Some(funnel)
        }
        _ => None,
    };
    for file in results {
        report.file(printer, file.report, file.files_written);
    }
    if let Some(mut verified) = verified {
        verified.absorb_guard(later_guard);
        report.set_verify(verified);
    }
    if let Some(funnel) = funnel {
        report.set_funnel(funnel);
    }
    let queue = session.store.queue_counts(now_ms())?;
    report.set_llm(session.client.stats(), queue.waiting());
    report.set_salvaged(session.tally().salvaged);
    let halt = session.client.halt();
    let outcome = report.finish(printer)?;
    if interrupted.load(Ordering::SeqCst) {
        printer.note("interrupted: nothing more was written; unfinished jobs stay queued");
        return Ok(Outcome::Interrupted);
    }
    match halt {
        Some(Halt::BadCredentials(error)) => Err(AppError::Credentials(
            error,
            session.credentials_help.clone(),
        )),
        Some(Halt::Refused(error)) => Err(AppError::Refused(error)),
        Some(Halt::QuotaExhausted) => {
            printer.note(&format!(
                "the API quota is exhausted: {} waiting in the queue; add credit, then run \
                 `testsmith resume`",
                crate::output::plural(queue.waiting() as usize, "job is", "jobs are")
            ));
            Ok(outcome.max(Outcome::Deferred))
        }
        None => {
            let tally = session.tally();
            let mut outcome = outcome;
            if tally.unusable > 0 {
                printer.note(&format!(
                    "{} no usable test: the model's answers stayed invalid or a request failed \
                     for good (the reasons are listed above); the next run asks again",
                    crate::output::plural(tally.unusable, "member got", "members got")
                ));
                outcome = outcome.max(Outcome::UnusableAnswers);
            }
            if tally.deferred > 0 || (tally.unusable == 0 && queue.waiting() > 0) {
                printer.note(&format!(
                    "{} waiting in the queue (rate limits or an outage); `testsmith resume` \
                     finishes them",
                    crate::output::plural(queue.waiting() as usize, "job is", "jobs are")
                ));
                outcome = outcome.max(Outcome::Deferred);
            }
            Ok(outcome)
        }
    }
}

/// One follow-up round of `--coverage-rounds`: for every member a test kept in the last
/// round left lines of, one more ask carrying the lines still missed, for a test named after
/// the kept one with the round (`TestAdd_2`); written, verified and judged like the first.
/// `None` when no member is left to ask about; else the judgement and the verification.
fn follow_up(
    session: &mut LlmSession,
    args: &GenerateArgs,
    packages: &[Package],
    settings: &WriteSettings,
    funnel: &crate::verify::CoverageFunnel,
    round: u32,
    mutants: Option<&mut MutantJudge<'_>>,
) -> Result<Option<(crate::verify::CoverageFunnel, crate::verify::VerifyReport)>, AppError> {
    let wanted = funnel.still_missed(round - 1);
    if wanted.is_empty() {
        return Ok(None);
    }
    let base_name = |name: &str| match name.rsplit_once('_') {
        Some((base, number)) if number.parse::<u32>().is_ok() => base.to_owned(),
        _ => name.to_owned(),
    };
    session.follow_ups = Some(
        wanted
            .iter()
            .map(|missed| {
                let name = format!("{}_{}", base_name(&missed.test_name), round + 1);
                (
                    (missed.source.clone(), missed.line),
                    (name, missed.lines.clone()),
                )
            })
            .collect(),
    );
    let results = {
        let progress = |_| Progress::hidden();
        let generator = Generator::Llm {
            session,
            progress: &progress,
        };
        generate_files(packages, &Selection::All, generator, settings)?
    };
    session.follow_ups = None;
    let Some(verified) = super::verify::after_generate(args, &results, &settings.scope, None, None)
    else {
        return Ok(None);
    };
    // A follow-up's tests are guarded like the first round's: what broke the user's suite
    // is undone, remembered, and reported (exit 1).
    session.remember_rolled_back(&verified);
    let written: Vec<WrittenFile> = results
        .iter()
        .filter_map(|outcome| WrittenFile::from_report(&outcome.report))
        .collect();
    let judged = judge_coverage(
        &verified,
        &written,
        &funnel.covered,
        &settings.scope,
        funnel_options(args),
        mutants,
    );
    Ok(Some((judged, verified)))
}

/// How the funnel judges the model's tests.
fn funnel_options(args: &GenerateArgs) -> FunnelOptions {
    FunnelOptions {
        keep_no_gain: args.keep_no_gain,
        all_packages: args.coverpkg,
        test_timeout: std::time::Duration::from_secs(args.verify.run.test_timeout),
    }
}

/// How the mutants of `generate --llm --mutants` run: as `testsmith mutants` runs them, with
/// the run's time limit and build tags or features.
fn lab_options(args: &GenerateArgs) -> LabOptions {
    LabOptions {
        baseline_timeout: std::time::Duration::from_secs(args.verify.run.test_timeout),
        build: args.verify.run.build_selection(),
        ..LabOptions::default()
    }
}

/// Resolves when the user asks the run to stop (Ctrl-C, SIGTERM); `false` if signals cannot
/// be watched.
async fn wait_for_interrupt() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        return tokio::signal::ctrl_c().await.is_ok();
    };
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.is_ok(),
        _ = terminate.recv() => true,
    }
}

/// Members to ask about again, by source file and first line: the test name to write and
/// the lines still missed.
type FollowUps = HashMap<(PathBuf, usize), (String, Vec<(usize, usize)>)>;

/// Re-plans for a follow-up round: only the members in `follow_ups` are asked about.
fn aim_at_follow_ups(prepared: &mut [PreparedFile<'_>], follow_ups: &FollowUps) {
    for file in prepared {
        let path = file.file.path.clone();
        for plan in &mut file.plans {
            match follow_ups.get(&(path.clone(), plan.member.start_line)) {
                Some((name, lines)) => {
                    plan.test_name = name.clone();
                    plan.missed_lines = lines.clone();
                    plan.decision = crate::pipeline::Decision::Write;
                }
                None => plan.decision = crate::pipeline::Decision::AlreadyTested,
            }
        }
    }
}

/// Re-plans for `--mutants`: a member with mutants the existing tests miss, or with lines
/// they do not execute, is asked about — under a free test name (`TestClamp_2`) where a
/// test of its own name stands — and its prompt names the survivors. `named` holds the
/// decisions its test names made; a member that cannot get a test stays skipped.
fn aim_at_mutants(file: &mut PreparedFile<'_>, named: &[Decision], mutation: &MutationTargets) {
    let path = file.file.path.clone();
    for (plan, named) in file.plans.iter_mut().zip(named) {
        if matches!(named, Decision::Skip(_)) {
            continue;
        }
        let survivors =
            mutation.in_plain_words(&path, plan.member.start_line, plan.member.end_line);
        if survivors.is_empty() && plan.missed_lines.is_empty() {
            // Where coverage could not say (Rust), the mutants do: every one caught.
            if plan.decision == Decision::Write
                && mutation.judged(&path, plan.member.start_line, plan.member.end_line)
            {
                plan.decision = Decision::AlreadyTested;
            }
            continue;
        }
        plan.surviving_mutants = survivors;
        if matches!(plan.decision, Decision::Write | Decision::Replace { .. }) {
            continue;
        }
        let free = (2..)
            .map(|number| format!("{}_{number}", plan.test_name))
            .find(|name| !file.taken_names.contains(name))
            .expect("some number is free");
        file.taken_names.insert(free.clone());
        plan.test_name = free;
        plan.decision = Decision::Write;
    }
}

/// Plans every selected file, files with queued jobs first; the files that cannot be worked
/// on come back finished.
fn prepare_all<'p>(
    packages: &'p [Package],
    selection: &Selection,
    ready: &HashSet<PathBuf>,
    coverage: Option<&Verdicts>,
    mutation: Option<&MutationTargets>,
) -> (Vec<PreparedFile<'p>>, Vec<FileOutcome>) {
    let mut prepared = Vec::new();
    let mut unprepared = Vec::new();
    for package in packages {
        let mut texts = FileTexts::default();
        let tests_beside = package.tests_beside(&mut texts);
        for file in package.files.iter().filter(|f| selection.admits(&f.path)) {
            let started = Instant::now();
            match prepare_file(
                package,
                file,
                &tests_beside,
                &mut texts,
                ScaffoldPolicy::ReplaceUnedited,
            ) {
                Ok(mut file) => {
                    let named: Vec<Decision> = file
                        .plans
                        .iter()
                        .map(|plan| plan.decision.clone())
                        .collect();
                    if let Some(verdicts) = coverage {
                        verdicts.decide(&file.file.path, &mut file.plans, true);
                    }
                    if let Some(mutation) = mutation {
                        aim_at_mutants(&mut file, &named, mutation);
                    }
                    prepared.push(file)
                }
                Err(report) => unprepared.push(FileOutcome {
                    report: *report,
                    files_written: 0,
                    elapsed: started.elapsed(),
                }),
            }
        }
    }
    // A stable sort keeps path order within each group.
    prepared.sort_by_key(|file| !ready.contains(&file.file.path));
    (prepared, unprepared)
}

/// Everything `--llm` shares across files — and, in `watch`, across passes: one run lock,
/// one cache and queue, one client whose statistics add up.
pub(crate) struct LlmSession {
    runtime: tokio::runtime::Runtime,
    pub(super) client: LlmClient,
    ledger: JobLedger,
    pub(super) store: Arc<dyn StateStore>,
    cancel: CancellationToken,
    conventions: String,
    concurrency: usize,
    /// The `help:` line when the server refuses the credentials.
    pub(super) credentials_help: String,
    /// `false` only under `TESTSMITH_NO_QUEUE=1`, which the benchmarks use to measure what
    /// the durable queue costs. Not for production use: a killed run then loses its jobs.
    queue_enabled: bool,
    /// Members of this run that got no usable answer, and members deferred for later.
    tally: std::sync::Mutex<Tally>,
    /// The answer key of every member asked about, by source file and test name: an answer
    /// whose edit verification rolls back is remembered under it.
    asked_keys: std::sync::Mutex<HashMap<(PathBuf, String), String>>,
    /// Job keys this pass recorded or found while asking, to tell queued jobs that no longer
    /// have work (their member got a test another way, or is gone) from the rest.
    touched: std::sync::Mutex<HashSet<String>>,
    /// `--coverage`: what the existing tests execute; plans aim at what they miss.
    coverage: Option<Verdicts>,
    /// `--mutants`: the mutants the existing tests miss; plans and prompts aim at them.
    mutation: Option<MutationTargets>,
    /// A `--coverage-rounds` follow-up: the only members asked about, by source file and
    /// first line, with the test name to write and the lines still missed.
    follow_ups: Option<FollowUps>,
    /// Held for the whole run; released when dropped (or when the process dies).
    _lock: RunLock,
}

impl std::fmt::Debug for LlmSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmSession").finish_non_exhaustive()
    }
}

impl LlmSession {
    /// Loads the configuration, opens the state database under the project root, takes the
    /// run lock and builds the client.
    /// Warnings about the configuration (settings a project file may not make, a key
    /// withheld, plain http) go to `printer`.
    pub(super) fn open(
        tuning: &crate::cli::LlmTuning,
        printer: &mut Printer,
    ) -> Result<LlmSession, AppError> {
        let cwd = std::env::current_dir().map_err(AppError::CurrentDir)?;
        let config = Config::load(&cwd, &tuning.overrides())?;
        for warning in &config.warnings {
            printer.warn(warning);
        }
        config.llm.require_model()?;
        let project_root = config.project_root().map(Path::to_owned).unwrap_or(cwd);
        let store = crate::store::open(&project_root, tuning.state.url())?;
        let lock = RunLock::acquire(&project_root)?;
        let copy = crate::store::copy_id(&project_root)?;
        let ledger = JobLedger::new(store.clone(), MAX_JOB_ATTEMPTS, &copy);
        ledger.release_dead(&copy)?;
        tracing::info!("state: {}", store.location());
        let conventions =
            std::fs::read_to_string(project_root.join(CONVENTIONS_FILE)).unwrap_or_default();
        let cancel = CancellationToken::new();
        let api_key = config.api_key(&|var| std::env::var(var).ok())?;
        let cache_store = (!tuning.no_cache).then(|| store.clone());
        let client = LlmClient::from_config(&config.llm, api_key, cache_store, cancel.clone())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(AppError::CurrentDir)?;
        Ok(LlmSession {
            runtime,
            client,
            ledger,
            store,
            cancel,
            conventions,
            concurrency: config.llm.concurrency.max(1),
            credentials_help: match &config.key_withheld {
                Some(reason) => reason.clone(),
                None => format!(
                    "check the key in ${} (or `api_key_env` in your own testsmith.toml) and the \
                     base URL; unfinished jobs wait in the queue: `testsmith resume`",
                    config.llm.api_key_env
                ),
            },
            queue_enabled: std::env::var_os("TESTSMITH_NO_QUEUE").is_none(),
            touched: std::sync::Mutex::new(HashSet::new()),
            asked_keys: std::sync::Mutex::default(),
            tally: std::sync::Mutex::default(),
            coverage: None,
            mutation: None,
            follow_ups: None,
            _lock: lock,
        })
    }

    /// Cancels every request and backoff sleep when the user asks the process to stop; the
    /// flag says whether that happened.
    fn stop_on_interrupt(&self) -> Arc<AtomicBool> {
        let interrupted = Arc::new(AtomicBool::new(false));
        let flag = interrupted.clone();
        let cancel = self.cancel.clone();
        self.runtime.spawn(async move {
            if wait_for_interrupt().await {
                flag.store(true, Ordering::SeqCst);
                cancel.cancel();
            }
        });
        interrupted
    }

    /// What became of this session's members so far, for the exit code.
    pub(super) fn tally(&self) -> Tally {
        *self.tally.lock().expect("not poisoned")
    }

    /// Stops every request and backoff sleep of this session, now and later.
    pub(super) fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// One pass over the selected files of `packages`: plan, ask (queued files first), merge,
    /// write. The `--llm` side of [`generate_files`].
    pub(super) fn generate_files(
        &self,
        packages: &[Package],
        selection: &Selection,
        settings: &WriteSettings,
        progress: &dyn Fn(usize) -> Progress,
    ) -> Result<Vec<FileOutcome>, AppError> {
        let mut queued = self.take_queued()?;
        let first: HashSet<PathBuf> = queued.values().cloned().collect();
        let (mut prepared, mut outcomes) = prepare_all(
            packages,
            selection,
            &first,
            self.coverage.as_ref(),
            self.mutation.as_ref(),
        );
        if let Some(follow_ups) = &self.follow_ups {
            aim_at_follow_ups(&mut prepared, follow_ups);
        }
        let in_this_pass: HashSet<PathBuf> =
            prepared.iter().map(|file| file.file.path.clone()).collect();
        self.release_others(&mut queued, &in_this_pass);
        let progress = progress(prepared.len());
        // Files whose jobs another process holds are put off, so this one does other work
        // meanwhile; then they are done, waiting for those jobs where still needed.
        let (finished, postponed) = self.round(prepared, settings, false, &progress);
        outcomes.extend(finished);
        let (finished, _) = self.round(postponed, settings, true, &progress);
        outcomes.extend(finished);
        progress.clear();
        self.tidy_queued(queued, &in_this_pass);
        Ok(outcomes)
    }

    /// Asks for, merges and writes `files`; unless `patient`, a file whose jobs another
    /// process holds is handed back instead.
    fn round<'p>(
        &self,
        files: Vec<PreparedFile<'p>>,
        settings: &WriteSettings,
        patient: bool,
        progress: &Progress,
    ) -> (Vec<FileOutcome>, Vec<PreparedFile<'p>>) {
        // Files are started a few more than the request limit at a time: enough to keep every
        // permit busy, few enough that a huge project's prompts are not all held at once.
        let in_flight = self.concurrency * 2;
        let processed = self.runtime.block_on(
            futures_util::stream::iter(files)
                .map(|prepared| async move {
                    let started = Instant::now();
                    progress.start(&prepared.file.path);
                    match self.process(prepared, settings, patient).await {
                        Processed::Finished(report, files_written) => {
                            progress.finish_one();
                            Ok(FileOutcome {
                                report,
                                files_written,
                                elapsed: started.elapsed(),
                            })
                        }
                        Processed::Postponed(prepared) => Err(prepared),
                    }
                })
                .buffer_unordered(in_flight)
                .collect::<Vec<_>>(),
        );
        let mut finished = Vec::new();
        let mut postponed = Vec::new();
        for outcome in processed {
            match outcome {
                Ok(outcome) => finished.push(outcome),
                Err(prepared) => postponed.push(prepared),
            }
        }
        // Waited for in path order, whatever order they were put off in.
        postponed.sort_by(|a, b| a.file.path.cmp(&b.file.path));
        (finished, postponed)
    }

    /// Gives back at once the queued jobs whose files this pass does not cover, rather than
    /// holding them (and keeping other machines from them) for the whole pass.
    fn release_others(
        &self,
        queued: &mut HashMap<String, PathBuf>,
        in_this_pass: &HashSet<PathBuf>,
    ) {
        let others: Vec<String> = queued
            .iter()
            .filter(|(_, path)| !in_this_pass.contains(*path))
            .map(|(key, _)| key.clone())
            .collect();
        if let Err(error) = self.ledger.release(&others, "not in this run") {
            tracing::warn!("cannot give back {} queued jobs: {error}", others.len());
        }
        for key in &others {
            queued.remove(key);
        }
    }

    /// Leases the jobs waiting in the queue and due, by key with their source file: their files
    /// go first.
    fn take_queued(&self) -> Result<HashMap<String, PathBuf>, AppError> {
        self.touched.lock().expect("not poisoned").clear();
        if !self.queue_enabled {
            return Ok(HashMap::new());
        }
        Ok(self
            .ledger
            .take_ready(usize::MAX)?
            .into_iter()
            .filter_map(|job| Some((job.key, JobPayload::parse(&job.payload)?.path)))
            .collect())
    }

    /// Queued jobs this pass took but never asked: if their file was planned in this pass,
    /// their member needs no test any more (written by hand meanwhile, or removed) and the job
    /// is retired; otherwise the pass did not cover their file and they go back to waiting.
    fn tidy_queued(&self, queued: HashMap<String, PathBuf>, in_this_pass: &HashSet<PathBuf>) {
        let touched = self.touched.lock().expect("not poisoned");
        let (mut retired, mut released) = (Vec::new(), Vec::new());
        for (key, path) in queued {
            if touched.contains(&key) {
                continue;
            }
            if in_this_pass.contains(&path) {
                retired.push(key);
            } else {
                released.push(key);
            }
        }
        if let Err(error) = self.ledger.tidy(&retired, &released) {
            tracing::warn!(
                "cannot update {} queued jobs: {error}",
                retired.len() + released.len()
            );
        }
    }

    /// Asks for the file's wanted tests, merges and writes them, then settles the jobs.
    async fn process<'p>(
        &self,
        mut prepared: PreparedFile<'p>,
        settings: &WriteSettings,
        patient: bool,
    ) -> Processed<'p> {
        let wanted: Vec<(usize, MemberRequest)> = prepared
            .wanted()
            .map(|(index, _)| (index, member_request(&prepared, index)))
            .collect();
        if wanted.is_empty() {
            let (report, written) = finish_file(prepared, HashMap::new(), settings);
            return Processed::Finished(report, written);
        }
        let request = file_request(&prepared, &self.conventions, &wanted);

        let mut produced = HashMap::new();
        let mut to_ask = Vec::new();
        let keys: Vec<crate::llm::CacheKey> = wanted
            .iter()
            .map(|(_, member)| self.client.cache_key(&request, member))
            .collect();
        // An answer whose edit broke the user's suite is not written again.
        let rolled_back = self.rolled_back_before(&keys);
        let mut jobs: Vec<(crate::llm::CacheKey, String)> = Vec::new();
        let mut still_wanted = Vec::new();
        for (((index, member), key), rolled_back) in wanted.into_iter().zip(keys).zip(rolled_back) {
            if let Some(reason) = rolled_back {
                produced.insert(
                    index,
                    Produced::Skipped(format!(
                        "its answer was rolled back by an earlier run ({reason}); not written \
                         again (`testsmith cache clear` forgets it)"
                    )),
                );
                continue;
            }
            self.asked_keys.lock().expect("not poisoned").insert(
                (prepared.file.path.clone(), member.test_name.clone()),
                key.as_str().to_owned(),
            );
            let payload = JobPayload {
                path: prepared.file.path.clone(),
                member: member.id.clone(),
                test_name: member.test_name.clone(),
            };
            jobs.push((key, payload.to_json()));
            still_wanted.push((index, member));
        }
        let wanted = still_wanted;
        if wanted.is_empty() {
            let (report, written) = finish_file(prepared, produced, settings);
            return Processed::Finished(report, written);
        }
        match self.hold_jobs(&jobs, patient).await {
            Ok(None) => return Processed::Postponed(prepared),
            Ok(Some(holds)) => {
                for ((index, member), hold) in wanted.into_iter().zip(holds) {
                    match hold {
                        None => to_ask.push((index, member)),
                        Some(not_now) => {
                            produced.insert(index, not_now);
                        }
                    }
                }
            }
            Err(error) => {
                for (index, _) in wanted {
                    produced.insert(index, Produced::Skipped(format!("job queue: {error}")));
                }
            }
        }
        let members: Vec<MemberRequest> = to_ask.iter().map(|(_, m)| m.clone()).collect();
        let source = prepared.source();
        let driver = prepared.driver();
        let plans = &prepared.plans;
        let index_of: HashMap<&str, usize> =
            to_ask.iter().map(|(i, m)| (m.id.as_str(), *i)).collect();
        let salvaged = std::sync::atomic::AtomicUsize::new(0);
        let validate = |member: &MemberRequest, code: &str| -> Result<String, String> {
            let plan = &plans[index_of[member.id.as_str()]];
            let (test, was_salvaged) =
                check_or_salvage(driver, &source, &plan.member, &member.test_name, code)?;
            if was_salvaged {
                salvaged.fetch_add(1, Ordering::Relaxed);
            }
            Ok(test.code)
        };
        let results = self.client.generate(&request, &members, &validate).await;
        // The answers are in and cached, and their permits free: let the requests waiting for
        // those permits go on the wire before this file is checked, merged and written, work
        // that would otherwise hold them back on this shared thread.
        tokio::task::yield_now().await;

        let mut cancelled = false;
        let mut cached = Vec::new();
        for result in &results {
            let index = index_of[result.id.as_str()];
            let plan = &plans[index];
            let outcome = match &result.outcome {
                MemberOutcome::Generated { code, cached: hit } => {
                    // The cache holds the validated code; checking it again recovers what the
                    // merge needs (imports) and guards against a stale or foreign entry.
                    match driver.check_answer(&source, &plan.member, &plan.test_name, code) {
                        Ok(test) => {
                            if *hit {
                                cached.push(test.name.clone());
                            }
                            Produced::Test(test)
                        }
                        Err(reason) => Produced::Skipped(format!("invalid answer: {reason}")),
                    }
                }
                MemberOutcome::Rejected { reason } => {
                    Produced::Skipped(format!("the model's answers were rejected: {reason}"))
                }
                MemberOutcome::Failed(error) => Produced::Skipped(error.to_string()),
                MemberOutcome::Deferred { reason, .. } => Produced::Deferred(reason.clone()),
                MemberOutcome::Cancelled => {
                    cancelled = true;
                    continue;
                }
            };
            produced.insert(index, outcome);
        }

        {
            let mut tally = self.tally.lock().expect("not poisoned");
            tally.deferred += produced
                .values()
                .filter(|outcome| matches!(outcome, Produced::Deferred(_)))
                .count();
            tally.unusable += results
                .iter()
                .filter(|result| is_unusable(&result.outcome))
                .count();
            tally.salvaged += salvaged.load(Ordering::Relaxed);
        }
        let (report, written) = if cancelled || self.cancel.is_cancelled() {
            // Interrupted: write nothing for this file; its answers are cached for the rerun.
            prepared.report.interrupted = true;
            (std::mem::take(&mut prepared.report), 0)
        } else {
            let (mut report, written) = finish_file(prepared, produced, settings);
            report.cached = cached;
            (report, written)
        };
        self.settle(&results, report.error.is_some());
        Processed::Finished(report, written)
    }

    /// Per answer key, why an earlier run rolled that answer back, if it did.
    fn rolled_back_before(&self, keys: &[crate::llm::CacheKey]) -> Vec<Option<String>> {
        let marks: Vec<String> = keys
            .iter()
            .map(|key| rolled_back_mark(key.as_str()))
            .collect();
        let marks: Vec<&str> = marks.iter().map(String::as_str).collect();
        match self.store.cache_get_many(&marks) {
            Ok(found) => found
                .into_iter()
                .map(|lookup| match lookup {
                    crate::store::CacheLookup::Hit(mark) => Some(mark.value),
                    _ => None,
                })
                .collect(),
            Err(error) => {
                tracing::warn!("cannot read which answers were rolled back: {error}");
                keys.iter().map(|_| None).collect()
            }
        }
    }

    /// Remembers, in the state database, every answer whose edit verification rolled back
    /// (it broke a test of the user's), so later runs do not write it again.
    pub(super) fn remember_rolled_back(&self, verified: &crate::verify::VerifyReport) {
        let asked = self.asked_keys.lock().expect("not poisoned");
        let marks: Vec<(String, String)> = verified
            .rolled_back_tests()
            .filter_map(|(source, test, reason)| {
                let key = asked.get(&(source.to_owned(), test.to_owned()))?;
                Some((rolled_back_mark(key), reason.to_owned()))
            })
            .collect();
        let entries: Vec<(&str, &str)> = marks
            .iter()
            .map(|(mark, reason)| (mark.as_str(), reason.as_str()))
            .collect();
        if !entries.is_empty()
            && let Err(error) = self.store.cache_put_many(&entries)
        {
            tracing::warn!("cannot remember the answers rolled back: {error}");
        }
    }

    /// Records the file's jobs and takes them, in one transaction. Per job, `None`: this
    /// run holds it, ask; `Some(..)`: not now, and what to report instead. When another
    /// process holds some of them, the file is put off (`Ok(None)`, this run's leases given
    /// back) unless `patient`: then this waits for them to be done — their answers come from
    /// the cache — or given up, and takes them.
    async fn hold_jobs(
        &self,
        jobs: &[(crate::llm::CacheKey, String)],
        patient: bool,
    ) -> Result<Option<Vec<Option<Produced>>>, crate::store::StoreError> {
        if !self.queue_enabled {
            return Ok(Some(jobs.iter().map(|_| None).collect()));
        }
        self.touched
            .lock()
            .expect("not poisoned")
            .extend(jobs.iter().map(|(key, _)| key.as_str().to_owned()));
        let mut holds = self.ledger.record_all(jobs)?;
        loop {
            let busy: Vec<usize> = (0..holds.len())
                .filter(|&i| holds[i] == Hold::Elsewhere)
                .collect();
            if busy.is_empty() {
                break;
            }
            if !patient {
                let mine: Vec<String> = (0..holds.len())
                    .filter(|&i| holds[i] == Hold::Ask)
                    .map(|i| jobs[i].0.as_str().to_owned())
                    .collect();
                self.ledger
                    .release(&mine, "put off: another process holds part of its file")?;
                return Ok(None);
            }
            tracing::debug!("waiting for {} jobs another process holds", busy.len());
            tokio::select! {
                () = tokio::time::sleep(WAIT_POLL) => {}
                () = self.cancel.cancelled() => break,
            }
            let again: Vec<(crate::llm::CacheKey, String)> =
                busy.iter().map(|&i| jobs[i].clone()).collect();
            for (i, hold) in busy.into_iter().zip(self.ledger.record_all(&again)?) {
                holds[i] = hold;
            }
        }
        let now = now_ms();
        // A member whose job is dead-lettered (this run or an earlier one) gets no test
        // until `queue retry-dead`: the run did not do what was asked, so it is no exit 0.
        let dead = holds
            .iter()
            .filter(|hold| {
                matches!(hold, Hold::Standing(job) if job.state == crate::store::JobState::Dead)
            })
            .count();
        self.tally.lock().expect("not poisoned").unusable += dead;
        Ok(Some(
            holds
                .into_iter()
                .map(|hold| match hold {
                    Hold::Ask => None,
                    // Only when interrupted while waiting.
                    Hold::Elsewhere => Some(Produced::Deferred(
                        "another process holds it; interrupted while waiting".to_owned(),
                    )),
                    Hold::Standing(job) if job.state == crate::store::JobState::Dead => {
                        Some(Produced::Skipped(format!(
                            "dead-lettered after {} attempts ({}); `testsmith queue retry-dead` \
                             tries again",
                            job.attempts,
                            job.last_error.as_deref().unwrap_or("no error recorded")
                        )))
                    }
                    Hold::Standing(job) => {
                        let seconds = (job.not_before_ms - now + 999) / 1000;
                        Some(Produced::Deferred(format!(
                            "waiting {seconds} s more as the API asked"
                        )))
                    }
                })
                .collect(),
        ))
    }

    /// Settles every job from its result. A file that could not be written keeps its jobs
    /// open: the answers are cached, the next run writes them.
    fn settle(&self, results: &[MemberResult], write_failed: bool) {
        if !self.queue_enabled {
            return;
        }
        let settled: Vec<MemberResult> = results
            .iter()
            .map(|result| match result.outcome {
                MemberOutcome::Generated { .. } if write_failed => MemberResult {
                    outcome: MemberOutcome::Cancelled,
                    ..result.clone()
                },
                _ => result.clone(),
            })
            .collect();
        if let Err(error) = self.ledger.settle_all(&settled) {
            tracing::warn!(
                "cannot settle the jobs of {} members: {error}",
                results.len()
            );
        }
    }
}

/// The state database's key under which an answer rolled back is remembered: beside the
/// answer's own key in the cache table, so both backends keep it and `cache clear` forgets
/// it with the answer.
fn rolled_back_mark(answer_key: &str) -> String {
    format!("rolled-back:{answer_key}")
}

/// What became of a session's members, for the exit code.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    /// Members whose answers stayed invalid, or whose request failed for good for a reason
    /// that is not the configuration (exit 65).
    pub unusable: usize,
    /// Members whose job waits for later: rate limits, an outage (exit 75).
    pub deferred: usize,
    /// Answers the driver's check refused and its salvage saved, without asking again.
    pub salvaged: usize,
}

/// The driver's check of an answer, after its deterministic salvage where that fixes
/// something (whether it did is the `bool`), and the rule every kept test obeys: it asserts
/// something.
fn check_or_salvage(
    driver: &dyn testsmith_driver::Driver,
    source: &testsmith_driver::SourceFile<'_>,
    member: &testsmith_driver::Member,
    test_name: &str,
    code: &str,
) -> Result<(testsmith_driver::TestCode, bool), String> {
    // Salvage first: it changes only what the check refuses or the compiler would (a
    // redeclared member, a bare fragment, a test returning a value), and nothing else.
    let saved = driver
        .salvage_answer(source, member, test_name, code)
        .and_then(|fixed| driver.check_answer(source, member, test_name, &fixed).ok());
    let (test, salvaged) = match saved {
        Some(test) => {
            tracing::debug!("{test_name}: the answer was salvaged without asking again");
            (test, true)
        }
        None => (driver.check_answer(source, member, test_name, code)?, false),
    };
    if !driver.test_asserts(&test) {
        return Err(format!(
            "`{test_name}` asserts nothing: check the member's results so that a wrong one \
             fails the test"
        ));
    }
    Ok((test, salvaged))
}

/// Whether a member's outcome leaves it without a test for a reason that is neither the
/// configuration (credentials, a refused request: those stop the run) nor a wait.
fn is_unusable(outcome: &MemberOutcome) -> bool {
    match outcome {
        MemberOutcome::Rejected { .. } => true,
        MemberOutcome::Failed(error) => !matches!(
            error,
            crate::llm::LlmError::Auth { .. } | crate::llm::LlmError::Refused { .. }
        ),
        _ => false,
    }
}

/// What [`LlmSession::process`] did with a file.
enum Processed<'p> {
    /// Asked, merged and written (or reported): the file's report and files written.
    Finished(FileReport, usize),
    /// Put off: another process holds some of its jobs.
    Postponed(PreparedFile<'p>),
}

/// How often a file put off for another process's jobs looks whether they are done.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// The prompt data for `prepared`'s wanted members.
fn file_request(
    prepared: &PreparedFile<'_>,
    conventions: &str,
    wanted: &[(usize, MemberRequest)],
) -> FileRequest {
    let driver = prepared.driver();
    let file = prepared.file;
    FileRequest {
        language: driver.name().to_owned(),
        instructions: driver.llm_instructions().to_owned(),
        conventions: conventions.to_owned(),
        path: file.path.display().to_string(),
        module: file
            .package
            .as_ref()
            .map(|package| format!("package {package}"))
            .or_else(|| file.module.clone()),
        dependencies: dependencies(prepared, wanted),
        style_example: prepared.style_example.clone(),
        test_head: driver.llm_test_head().to_owned(),
    }
}

/// What the model is shown of the package around `wanted` (see [`crate::llm::member_context`]).
fn dependencies(prepared: &PreparedFile<'_>, wanted: &[(usize, MemberRequest)]) -> Vec<String> {
    let members: Vec<(&testsmith_driver::Member, &str)> = wanted
        .iter()
        .map(|(index, request)| (&prepared.plans[*index].member, request.source.as_str()))
        .collect();
    crate::llm::member_context(
        prepared.driver(),
        &prepared.package.files,
        (&prepared.file.path, &prepared.source_text),
        &members,
    )
}

/// The member of plan `index` as the model sees it: its doc comment and its source, and the
/// skeleton of its test.
fn member_request(prepared: &PreparedFile<'_>, index: usize) -> MemberRequest {
    let plan = &prepared.plans[index];
    MemberRequest {
        id: prepared
            .driver()
            .display_name_in(prepared.file, &plan.member),
        test_name: plan.test_name.clone(),
        source: crate::llm::with_surviving_mutants(
            &if plan.missed_lines.is_empty() {
                crate::llm::member_source(&plan.member, &prepared.source_text)
            } else {
                crate::llm::member_source_with_missed_lines(
                    &plan.member,
                    &prepared.source_text,
                    &plan.missed_lines,
                )
            },
            &plan.surviving_mutants,
        ),
        skeleton: prepared
            .driver()
            .llm_skeleton(&prepared.source(), &plan.member, &plan.test_name),
    }
}

/// What a queued job records, so `testsmith queue` can show it and a later run can find its
/// file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct JobPayload {
    pub path: PathBuf,
    pub member: String,
    pub test_name: String,
}

impl JobPayload {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a job payload serialises")
    }

    pub fn parse(text: &str) -> Option<JobPayload> {
        serde_json::from_str(text).ok()
    }
}

/// An exclusive lock on `.testsmith/run.lock`, held while a run talks to the model. The
/// operating system drops it when the process dies, however it dies.
#[derive(Debug)]
struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    fn acquire(project_root: &Path) -> Result<RunLock, AppError> {
        let dir = project_root.join(crate::store::STATE_DIR);
        let path = dir.join("run.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| AppError::WriteFile {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(AppError::Busy(project_root.to_owned())),
            Err(std::fs::TryLockError::Error(source)) => Err(AppError::WriteFile { path, source }),
        }
    }
}
