//! Targeted repair: one test that the toolchain rejected, sent back to the model with the
//! error and the member it tests, through the same stack as generation (cache → retry →
//! breaker → limit → provider) and the same answer check.
//!
//! A repair is cached under its own key — the member, the broken test and the error all
//! count — so a rerun that meets the same broken test and the same error sends nothing.

use super::{LlmClient, MemberOutcome, Validator};
use crate::llm::envelope::{assign, parse_reply};
use crate::llm::prompt::{FileRequest, MemberRequest};
use crate::llm::provider::{ChatBackend, ChatRequest};
use std::fmt::Write as _;

/// Bumped when the repair prompt's wording changes enough that cached repairs should go.
const REPAIR_PROMPT_VERSION: u32 = 2;

/// How much of the toolchain's output goes into a repair prompt: the first errors are the
/// ones that matter, and a long cascade only costs tokens.
const MAX_ERROR_CHARS: usize = 4_000;

impl<B: ChatBackend> LlmClient<B> {
    /// A fixed version of `broken`, the test for `member` that failed with `error`, checked
    /// by `validate` before it is cached or returned. One request, no re-ask: the caller
    /// counts repair rounds and decides whether to try again with the new error.
    pub async fn repair(
        &self,
        file: &FileRequest,
        member: &MemberRequest,
        broken: &str,
        error: &str,
        validate: Validator<'_>,
    ) -> MemberOutcome {
        let error = clip(error, MAX_ERROR_CHARS);
        let identity = MemberRequest {
            skeleton: None,
            id: format!("repair v{REPAIR_PROMPT_VERSION} of {}", member.id),
            test_name: member.test_name.clone(),
            source: format!("{}\n\u{0}{broken}\n\u{0}{error}", member.source),
        };
        let key = self.cache_key(file, &identity);
        if let Some(code) = self.cache.get(&key) {
            return MemberOutcome::Generated { code, cached: true };
        }
        let request = repair_prompt(file, member, broken, error);
        let reply = match self.ask(&request, 1).await {
            Ok(reply) => reply,
            Err(error) => return MemberOutcome::from_error(error),
        };
        if reply.is_truncated() {
            let why = if reply.repeating {
                "started repeating itself"
            } else {
                "was cut off at the token limit"
            };
            return MemberOutcome::Rejected {
                reason: format!("the fix {why}"),
            };
        }
        let (_, items) = parse_reply(&reply.content);
        match assign(items, &[member]).pop().flatten() {
            Some(code) => self
                .accept(member, &key, &code, validate)
                .unwrap_or_else(|reason| MemberOutcome::Rejected { reason }),
            None => MemberOutcome::Rejected {
                reason: "the answer held no test code".to_owned(),
            },
        }
    }
}

/// The request for one repair: the member, the broken test, and what the toolchain said.
fn repair_prompt(
    file: &FileRequest,
    member: &MemberRequest,
    broken: &str,
    error: &str,
) -> ChatRequest {
    let mut system = format!(
        "You fix unit tests in {language}. A test you are given was rejected by the \
         toolchain; rewrite that one test so that it compiles and checks the member's \
         behaviour correctly. Keep its name. Reply with one JSON object and nothing else: \
         {{\"tests\":[{{\"name\":\"...\",\"code\":\"...\"}}]}}. `code` holds only the test \
         function, not the code under test.",
        language = file.language
    );
    if !file.instructions.trim().is_empty() {
        system.push_str("\n\n");
        system.push_str(file.instructions.trim());
    }
    let fence = |body: &str| format!("```{}\n{}\n```\n", file.language, body.trim_end());
    let mut user = String::new();
    if !file.conventions.trim().is_empty() {
        let _ = write!(
            user,
            "Project conventions (TESTSMITH.md):\n{}\n\n",
            clip(file.conventions.trim(), MAX_ERROR_CHARS)
        );
    }
    let _ = writeln!(user, "File: {}", file.path);
    if let Some(module) = &file.module {
        let _ = writeln!(user, "Package/module: {module}");
    }
    // The package's declarations the member needs, as far as they fit: a compile error is
    // most often a guessed field or constructor.
    let mut room = MAX_ERROR_CHARS;
    let context: Vec<&str> = file
        .dependencies
        .iter()
        .map(String::as_str)
        .take_while(|entry| match room.checked_sub(entry.len() + 1) {
            Some(left) => {
                room = left;
                true
            }
            None => false,
        })
        .collect();
    if !context.is_empty() {
        let _ = write!(
            user,
            "\nDeclarations of the same package, to build the test's values with (never \
             redeclare them):\n{}",
            fence(&context.join("\n"))
        );
    }
    let _ = write!(
        user,
        "\n### The member under test: `{}`\n{}\n### The test `{}`, which must be fixed\n{}\n\
         ### What the toolchain said\n```text\n{}\n```\n\nAnswer with the fixed test only, \
         named `{}`.\n",
        member.id,
        fence(&member.source),
        member.test_name,
        fence(broken),
        error.trim_end(),
        member.test_name
    );
    ChatRequest {
        system,
        user,
        max_tokens: None,
    }
}

/// `text` cut to at most `max` bytes at a line boundary, marked when cut.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    head.rfind('\n').map_or(head, |at| &head[..at])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileRequest {
        FileRequest {
            language: "go".to_owned(),
            instructions: "Use the testing package.".to_owned(),
            conventions: "Prefer table-driven tests.".to_owned(),
            path: "shapes/shapes.go".to_owned(),
            module: Some("package shapes".to_owned()),
            dependencies: Vec::new(),
            style_example: None,
            test_head: String::new(),
        }
    }

    fn member() -> MemberRequest {
        MemberRequest {
            skeleton: None,
            id: "Rect.Area".to_owned(),
            test_name: "TestRect_Area".to_owned(),
            source: "func (r Rect) Area() float64 { return r.W * r.H }".to_owned(),
        }
    }

    #[test]
    fn the_repair_prompt_carries_the_member_the_broken_test_and_the_error() {
        let prompt = repair_prompt(
            &file(),
            &member(),
            "func TestRect_Area(t *testing.T) { x := Rect{}.Aera() }",
            "shapes_test.go:3:22: Rect{}.Aera undefined",
        );
        assert!(prompt.system.contains("You fix unit tests in go"));
        assert!(prompt.system.contains("Use the testing package."));
        for part in [
            "Prefer table-driven tests.",
            "File: shapes/shapes.go",
            "package shapes",
            "func (r Rect) Area() float64",
            "Rect{}.Aera() }",
            "shapes_test.go:3:22: Rect{}.Aera undefined",
            "named `TestRect_Area`",
        ] {
            assert!(
                prompt.user.contains(part),
                "missing {part:?} in\n{}",
                prompt.user
            );
        }
    }

    #[test]
    fn a_long_error_is_cut_at_a_line() {
        let error = "error line\n".repeat(1000);
        let clipped = clip(&error, 100);
        assert!(clipped.len() <= 100);
        assert!(clipped.ends_with("error line"));
    }
}
