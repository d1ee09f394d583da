//! Repairing a test the toolchain rejected: the [`Repair`] seam verification calls, and
//! [`LlmRepairer`], which asks the model through the LLM stack.

use crate::llm::{FileRequest, LlmClient, MemberOutcome, MemberRequest, member_source};
use testsmith_driver::{Driver, Member, SourceFile, TestCode};

/// One test to repair, with everything a repair needs to know.
#[derive(Debug, Clone, Copy)]
pub struct RepairRequest<'a> {
    pub driver: &'a dyn Driver,
    /// The source file the test is for (its members and package, for the answer check).
    pub source: SourceFile<'a>,
    pub member: &'a Member,
    pub test_name: &'a str,
    /// The test as it stands in its file.
    pub broken: &'a str,
    /// What the toolchain said about it.
    pub error: &'a str,
}

/// Something that can fix one broken test. Called from several threads at once.
pub trait Repair: Sync {
    /// The fixed test, checked by the driver, or why there is none.
    fn repair(&self, request: &RepairRequest<'_>) -> Result<TestCode, String>;
}

/// Repairs through the model. Built once per run from the run's client; `runtime` is a
/// handle to the runtime the client's requests run on. [`Repair::repair`] blocks on it, so
/// verification must be called outside that runtime's async context (from plain code, or
/// inside `spawn_blocking`).
#[derive(Debug)]
pub struct LlmRepairer<'a> {
    client: &'a LlmClient,
    runtime: tokio::runtime::Handle,
    /// The project's TESTSMITH.md, as in generation prompts.
    conventions: String,
}

impl<'a> LlmRepairer<'a> {
    pub fn new(
        client: &'a LlmClient,
        runtime: tokio::runtime::Handle,
        conventions: String,
    ) -> Self {
        LlmRepairer {
            client,
            runtime,
            conventions,
        }
    }
}

impl Repair for LlmRepairer<'_> {
    fn repair(&self, request: &RepairRequest<'_>) -> Result<TestCode, String> {
        let driver = request.driver;
        let file = request.source.members;
        let member = MemberRequest {
            skeleton: None,
            id: driver.display_name(request.member),
            test_name: request.test_name.to_owned(),
            source: member_source(request.member, request.source.text),
        };
        // The repair sees what the first request saw: the types with their fields, their
        // constructors — a compile error is most often a guessed field or constructor.
        let dependencies = crate::llm::member_context(
            driver,
            request.source.package,
            (&file.path, request.source.text),
            &[(request.member, member.source.as_str())],
        );
        let file_request = FileRequest {
            language: driver.name().to_owned(),
            instructions: driver.llm_instructions().to_owned(),
            conventions: self.conventions.clone(),
            path: file.path.display().to_string(),
            module: file
                .package
                .as_ref()
                .map(|package| format!("package {package}"))
                .or_else(|| file.module.clone()),
            dependencies,
            style_example: None,
            test_head: driver.llm_test_head().to_owned(),
        };
        let check = |code: &str| {
            driver.check_answer(&request.source, request.member, request.test_name, code)
        };
        let validate = |_: &MemberRequest, code: &str| check(code).map(|test| test.code);
        let outcome = self.runtime.block_on(self.client.repair(
            &file_request,
            &member,
            request.broken,
            request.error,
            &validate,
        ));
        match outcome {
            // The cached code passed the check once; checking it again recovers its imports.
            MemberOutcome::Generated { code, .. } => check(&code),
            MemberOutcome::Rejected { reason } => {
                Err(format!("the model's fix was rejected: {reason}"))
            }
            MemberOutcome::Failed(error) => Err(format!("the repair request failed: {error}")),
            MemberOutcome::Deferred { reason, .. } => {
                Err(format!("the repair was deferred: {reason}"))
            }
            MemberOutcome::Cancelled => Err("cancelled".to_owned()),
        }
    }
}
