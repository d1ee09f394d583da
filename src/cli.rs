//! The command line: every flag and subcommand, declared with clap's derive API.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Writes the missing unit tests for Go and Rust code.
///
/// testsmith walks a project, finds the public functions, methods and types of every Go and
/// Rust file, and writes tests for those that have none: compiling scaffolds offline by
/// default, real test bodies from an OpenAI-compatible API with `--llm`.
#[derive(Debug, Parser)]
#[command(name = "testsmith", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 ok, 1 some files failed, 2 usage or configuration error, \
                  3 below a --fail-under threshold, 75 work deferred to the queue (`testsmith resume` finishes it), 130 interrupted.\n\
                  Logs: -v, -vv or TESTSMITH_LOG=debug (stderr)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// More output: -v adds statistics and progress notes, -vv debug logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the public members of Go and Rust files.
    Analyze(AnalyzeArgs),
    /// Write the missing tests: a compiling scaffold per untested public function and method.
    Generate(GenerateArgs),
    /// Check the tests already written: build and run them with the language's toolchain
    /// (go vet and go test, cargo test) and report the funnel. Changes nothing.
    Verify(VerifyArgs),
    /// Measure how many small bugs (mutants) the existing tests catch, per function and in
    /// total, and list the ones they miss. Never changes the project's files.
    Mutants(MutantsArgs),
    /// Run the existing tests with coverage and report, per public member and in total, the
    /// statements they execute, and the members no test executes. Changes nothing.
    Coverage(CoverageArgs),
    /// Finish the jobs an earlier `generate --llm` left in the queue (quota, rate limits).
    Resume(ResumeArgs),
    /// Write a commented testsmith.toml and a TESTSMITH.md conventions file here.
    Init(InitArgs),
    /// The answer cache of `--llm` runs.
    Cache {
        #[command(subcommand)]
        action: CacheAction,

        #[command(flatten)]
        state: StateArgs,
    },
    /// List the jobs waiting in the queue (pending, deferred, dead), or manage them.
    Queue(QueueArgs),
    /// Keep tests current while you edit: generate once, then again for every saved file.
    Watch(WatchArgs),
    /// Work with JSON reports: join the reports of `--partition` runs into one.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Print a shell completion script: `testsmith completions bash > ~/.local/share/bash-completion/completions/testsmith`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// What to look at: shared by every command that walks a project.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Files or folders to look at [default: the current folder]. Named paths are always
    /// analysed, even when .gitignore or the default excludes would skip them.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,

    /// Only this language.
    #[arg(long, value_name = "LANG")]
    pub lang: Option<Lang>,
}

impl InputArgs {
    /// The paths to walk: the ones given, or the current folder.
    pub fn roots(&self) -> Vec<PathBuf> {
        if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths.clone()
        }
    }
}

/// Which share of the project a run works on; shared by `generate`, `verify`, `coverage`,
/// `mutants` (every command that works per package and may be split across CI runners).
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "Selection")]
pub struct SelectArgs {
    /// Work on the I-th of N deterministic, disjoint shares of the packages (I from 1),
    /// so N CI runners split a project; every machine agrees which package is whose.
    /// `testsmith report merge` joins their JSON reports.
    #[arg(long, value_name = "hash:I/N")]
    pub partition: Option<crate::pipeline::Partition>,

    /// Only what changed since the merge base of REF and HEAD, uncommitted edits included
    /// (a pull request's check): `generate` writes tests for the added and edited functions
    /// and methods only; the other commands work on the packages with changes.
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("judged").args(["coverage", "mutants"]).multiple(true)))]
pub struct GenerateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Print the change as a unified diff; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Let coverage decide which members get a test: the existing tests run once with
    /// coverage; a member none of whose statements they execute gets a scaffold, whatever
    /// the tests are called; a partly executed one is reported with the lines no test
    /// executes; a fully executed one is tested. With --llm: every member with statements
    /// no test executes is asked for, the prompt marks those lines, and a model's test is
    /// kept only if it builds, passes every rerun (--reruns, 3 unless given) and executes
    /// statements no earlier test executed (implies --verify, except with --dry-run, which
    /// measures and plans but writes and judges nothing).
    #[arg(long)]
    pub coverage: bool,

    /// With --llm: aim the model at the mutants the existing tests miss as well as the
    /// statements no test executes. The existing tests run against every mutant first (as
    /// `testsmith mutants` does, resuming from its journal); each prompt names its member's
    /// surviving mutants in plain words; a model's test is kept only if it builds, passes
    /// every rerun, and kills a surviving mutant no earlier test killed or executes
    /// statements no earlier test executed. The report says which mutants each kept test
    /// kills and the mutation score before → after. Implies --coverage.
    #[arg(long, requires = "enabled")]
    pub mutants: bool,

    /// With --llm --coverage or --mutants: keep a model's test that passes but adds no
    /// coverage (and kills no surviving mutant).
    #[arg(long, requires = "judged")]
    pub keep_no_gain: bool,

    /// With --llm --coverage: after a test is kept, ask up to N more times per member with
    /// the lines still missed.
    #[arg(long, value_name = "N", default_value_t = 2, requires = "judged")]
    pub coverage_rounds: u32,

    /// With --coverage: count what a package's tests execute in every package of its
    /// project (Go's `-coverpkg=./...`).
    #[arg(long, requires = "coverage")]
    pub coverpkg: bool,

    #[command(flatten)]
    pub llm: LlmArgs,

    #[command(flatten)]
    pub verify: VerifyFlags,
}

impl GenerateArgs {
    /// Whether coverage decides what is asked for and judges what is kept: `--coverage`,
    /// or `--mutants`, which builds on it.
    pub fn by_coverage(&self) -> bool {
        self.coverage || self.mutants
    }
}

/// `generate --verify` and the flags that tune it.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Verification")]
pub struct VerifyFlags {
    /// After writing, build and run the new tests with the language's toolchain (go vet and
    /// go test, cargo test): with --llm a test that does not compile is repaired by the model
    /// or dropped; a test that fails is kept but skipped ("testsmith: failed: <reason>").
    #[arg(long = "verify", conflicts_with = "dry_run")]
    pub verify: bool,

    /// With --llm --verify: how many times a test that does not compile goes back to the
    /// model with its error before it is dropped.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub repair_rounds: u32,

    #[command(flatten)]
    pub run: RunFlags,
}

impl Default for VerifyFlags {
    fn default() -> Self {
        VerifyFlags {
            verify: false,
            repair_rounds: 2,
            run: RunFlags::default(),
        }
    }
}

/// How verification runs the tests; shared by `generate --verify` and `verify`.
#[derive(Debug, Args, Clone)]
pub struct RunFlags {
    /// Run the tests N times; a test that fails only some of the runs is flaky (and, after
    /// `generate`, quarantined like a failing one). Default 1; 3 under
    /// `generate --llm --coverage`, where a kept test must pass reliably.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub reruns: Option<u32>,

    /// Seconds the tests of one package or crate may run before they are stopped.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub test_timeout: u64,

    /// Refuse to run generated tests where this machine cannot confine them (no user
    /// namespaces or Landlock): exit 2 instead of a warning. For CI.
    #[arg(long)]
    pub require_sandbox: bool,

    #[command(flatten)]
    pub build: BuildFlags,
}

/// Which optional parts of the project every build includes; shared by `verify`,
/// `generate --verify` and `mutants`.
#[derive(Debug, Args, Clone, Default)]
pub struct BuildFlags {
    /// Go build tags to build with (`go test -tags`); a test file whose `//go:build` needs
    /// a tag not given is reported as not verified, naming the tag.
    #[arg(long, value_name = "TAG,...", value_delimiter = ',')]
    pub tags: Vec<String>,

    /// Cargo features to build with (`cargo test --features`).
    #[arg(long, value_name = "FEATURE,...", value_delimiter = ',')]
    pub features: Vec<String>,

    /// Build with every Cargo feature (`cargo test --all-features`).
    #[arg(long)]
    pub all_features: bool,

    /// Build without Cargo's default features (`cargo test --no-default-features`).
    #[arg(long)]
    pub no_default_features: bool,
}

impl Default for RunFlags {
    fn default() -> Self {
        RunFlags {
            reruns: None,
            test_timeout: 300,
            require_sandbox: false,
            build: BuildFlags::default(),
        }
    }
}

impl RunFlags {
    /// The build tags and features chosen, as the drivers take them.
    pub fn build_selection(&self) -> testsmith_driver::BuildSelection {
        self.build.selection()
    }
}

impl BuildFlags {
    /// The build tags and features chosen, as the drivers take them.
    pub fn selection(&self) -> testsmith_driver::BuildSelection {
        testsmith_driver::BuildSelection {
            tags: self.tags.clone(),
            features: self.features.clone(),
            all_features: self.all_features,
            no_default_features: self.no_default_features,
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub run: RunFlags,

    /// Run tests marked ignored too (Rust's `--include-ignored`; a Go `t.Skip` still skips).
    #[arg(long)]
    pub include_ignored: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct MutantsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Fail (exit code 3) when the mutation score is below PCT percent.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub fail_under: Option<f64>,

    /// Spend at most this much: N mutants per function, or `Ns` seconds for the whole run
    /// (what is left is tried by the next run).
    #[arg(long, value_name = "N|Ns", value_parser = parse_budget)]
    pub mutants_budget: Option<crate::mutants::Budget>,

    /// List the mutants without running anything.
    #[arg(long)]
    pub list: bool,

    /// Run every mutant against the package's whole test suite, instead of only the tests
    /// that execute its line (and none for a line no test executes).
    #[arg(long)]
    pub whole_suite: bool,

    /// Seconds the tests may take without any mutant (the baseline); a mutant's tests may
    /// take five times the baseline, and at least 20 seconds.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub test_timeout: u64,

    #[command(flatten)]
    pub build: BuildFlags,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CoverageArgs {
    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Fail (exit code 3) when less than PCT percent of all statements are executed.
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub fail_under: Option<f64>,

    /// Count what a package's tests execute in every package of its project, not only in
    /// its own (Go's `-coverpkg=./...`).
    #[arg(long)]
    pub coverpkg: bool,

    /// Report on this existing profile (`go test -coverprofile=FILE`) instead of running
    /// the tests.
    #[arg(long, value_name = "FILE", conflicts_with = "coverpkg")]
    pub profile: Option<std::path::PathBuf>,

    /// Seconds the tests of one package may run before they are stopped.
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub test_timeout: u64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A percentage from 0 to 100.
fn parse_percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{value} is not between 0 and 100"))
    }
}

/// `10` (mutants per function) or `90s` (seconds for the run).
fn parse_budget(text: &str) -> Result<crate::mutants::Budget, String> {
    use crate::mutants::Budget;
    let (number, seconds) = match text.strip_suffix('s') {
        Some(number) => (number, true),
        None => (text, false),
    };
    let value: u64 = number
        .parse()
        .ok()
        .filter(|value| *value > 0)
        .ok_or_else(|| format!("`{text}` is neither a count of mutants (10) nor seconds (90s)"))?;
    Ok(if seconds {
        Budget::Seconds(std::time::Duration::from_secs(value))
    } else {
        Budget::MutantsPerFunction(usize::try_from(value).unwrap_or(usize::MAX))
    })
}

/// `--llm` and the flags that tune it. Each flag wins over its environment variable and
/// over `testsmith.toml`.
#[derive(Debug, Args, Default, Clone)]
#[command(next_help_heading = "LLM")]
pub struct LlmArgs {
    /// Write real test bodies with an OpenAI-compatible model instead of scaffolds.
    #[arg(long = "llm")]
    pub enabled: bool,

    #[command(flatten)]
    pub tuning: LlmTuning,
}

/// The flags that tune the model's use; shared by `generate --llm`, `watch --llm` and
/// `resume`.
#[derive(Debug, Args, Default, Clone)]
pub struct LlmTuning {
    /// API root; requests go to {URL}/chat/completions [env: OPENAI_BASE_URL].
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Model name [env: TESTSMITH_MODEL].
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,

    /// Requests in flight at once, retries included [default: 5].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// Retries of a failed request [default: 3].
    #[arg(long = "retries", value_name = "N")]
    pub max_retries: Option<u32>,

    /// Seconds allowed to open a connection to the server [default: 10].
    #[arg(long = "connect-timeout", value_name = "SECS")]
    pub connect_timeout_secs: Option<u64>,

    /// Seconds allowed without a byte from the server, before the first and between two
    /// [default: 120].
    #[arg(long = "read-timeout", value_name = "SECS")]
    pub read_timeout_secs: Option<u64>,

    /// Seconds before a request is abandoned (and retried), answer included [default: 300].
    #[arg(long = "timeout", value_name = "SECS")]
    pub timeout_secs: Option<u64>,

    /// Sampling temperature [default: 0].
    #[arg(long, value_name = "T")]
    pub temperature: Option<f64>,

    /// Completion tokens allowed per member; a batch gets this times its members
    /// [default: 1024].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,

    /// Ask for whole answers instead of streamed ones (for servers that stream badly).
    /// Streaming is the default: the read timeout counts from the last token, and an
    /// answer that starts repeating itself is cut short.
    #[arg(long)]
    pub no_stream: bool,

    /// One request per file for all its untested members (the default).
    #[arg(long, conflicts_with = "fan_out")]
    pub batch: bool,

    /// One request per member.
    #[arg(long)]
    pub fan_out: bool,

    /// Neither read nor write the answer cache.
    #[arg(long)]
    pub no_cache: bool,

    #[command(flatten)]
    pub state: StateArgs,
}

/// Where the answer cache and the job queue live; shared by every command that opens them.
#[derive(Debug, Args, Default, Clone)]
pub struct StateArgs {
    /// Keep the answer cache and job queue in this PostgreSQL database, shared with other
    /// machines (postgres://user:password@host/db) [env: TESTSMITH_STATE_URL]; by default
    /// they are in .testsmith/state.db.
    #[arg(
        long = "state-url",
        value_name = "URL",
        env = "TESTSMITH_STATE_URL",
        hide_env = true,
        global = true
    )]
    url: Option<String>,
}

impl StateArgs {
    /// The shared database's URL; `None` (an empty value too) means the SQLite file.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref().filter(|url| !url.trim().is_empty())
    }
}

impl LlmTuning {
    /// The first tuning flag given, for the error when `--llm` is missing.
    pub fn first_given(&self) -> Option<&'static str> {
        [
            (self.base_url.is_some(), "--base-url"),
            (self.model.is_some(), "--model"),
            (self.concurrency.is_some(), "--concurrency"),
            (self.max_retries.is_some(), "--retries"),
            (self.connect_timeout_secs.is_some(), "--connect-timeout"),
            (self.read_timeout_secs.is_some(), "--read-timeout"),
            (self.timeout_secs.is_some(), "--timeout"),
            (self.temperature.is_some(), "--temperature"),
            (self.max_tokens.is_some(), "--max-tokens"),
            (self.no_stream, "--no-stream"),
            (self.batch, "--batch"),
            (self.fan_out, "--fan-out"),
            (self.no_cache, "--no-cache"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The flags as configuration overrides.
    pub fn overrides(&self) -> crate::config::LlmOverrides {
        use crate::config::LlmMode;
        let mode = if self.fan_out {
            Some(LlmMode::FanOut)
        } else if self.batch {
            Some(LlmMode::Batch)
        } else {
            None
        };
        crate::config::LlmOverrides {
            base_url: self.base_url.clone(),
            model: self.model.clone(),
            concurrency: self.concurrency,
            max_retries: self.max_retries,
            connect_timeout_secs: self.connect_timeout_secs,
            read_timeout_secs: self.read_timeout_secs,
            timeout_secs: self.timeout_secs,
            temperature: self.temperature,
            mode,
            max_tokens: self.max_tokens,
            stream: self.no_stream.then_some(false),
        }
    }
}

/// `testsmith init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// Join the `--format json` reports of one command run over disjoint `--partition`
    /// shares into the report one run over everything gives; printed on stdout.
    Merge {
        /// The reports (files; `-` reads stdin).
        #[arg(required = true, value_name = "REPORT")]
        reports: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// How many answers are cached, and where.
    Stats {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Forget every cached answer.
    Clear,
}

#[derive(Debug, Args)]
pub struct QueueArgs {
    #[command(subcommand)]
    pub action: Option<QueueAction>,

    #[command(flatten)]
    pub state: StateArgs,

    /// Output format of the listing.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// Make dead-lettered jobs pending again.
    RetryDead,
    /// Remove every job.
    Clear,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub tuning: LlmTuning,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Milliseconds to wait after a save for more saves before generating; 0 generates at
    /// once.
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub debounce: u64,

    #[command(flatten)]
    pub llm: LlmArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable tree per file, then a summary.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The languages testsmith knows, by driver name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Go,
    Rust,
}

impl Lang {
    /// The driver name this choice selects.
    pub fn driver_name(self) -> &'static str {
        match self {
            Lang::Go => "go",
            Lang::Rust => "rust",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_lang_names_a_registered_driver() {
        for lang in Lang::value_variants() {
            assert!(
                crate::drivers::by_name(lang.driver_name()).is_some(),
                "{lang:?} has no driver"
            );
        }
    }
}
