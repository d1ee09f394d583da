//! Building the prompt from plain data. Nothing here knows a language: the language's name
//! and its instructions for the model come from the driver, the conventions from the
//! project's TESTSMITH.md. A size budget cuts context (the style example first, then the
//! signatures the member depends on, then the conventions) — never the members themselves.

use super::provider::ChatRequest;
use std::fmt::Write as _;

/// Bumped whenever the prompt's wording changes enough that cached answers should not be
/// reused. Part of every cache key.
pub const PROMPT_VERSION: u32 = 4;

/// A sensible default budget: about 8k tokens of prompt.
pub const DEFAULT_PROMPT_BUDGET: usize = 32_000;

/// Everything about one source file that goes into its prompts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRequest {
    /// The language's name, as the driver calls it (`go`, `rust`).
    pub language: String,
    /// The driver's instructions for the model: test framework, naming, what not to do.
    pub instructions: String,
    /// The project's conventions (TESTSMITH.md), possibly empty.
    pub conventions: String,
    /// The file's path as shown to the model.
    pub path: String,
    /// The package or module the file belongs to (`package set`, `crate::a::b`).
    pub module: Option<String>,
    /// Signatures the members depend on in the same package: context, cut first-to-last
    /// from the end when the budget is tight.
    pub dependencies: Vec<String>,
    /// An existing test of the project as a style example; the first thing cut.
    pub style_example: Option<String>,
    /// The head of a test function, `{name}` standing for the test's name (the driver's
    /// [`llm_test_head`](testsmith_driver::Driver::llm_test_head)); empty for none.
    pub test_head: String,
}

/// One member that needs a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRequest {
    /// The member's identity within its file (the driver's display name, like
    /// `(*Set).Insert` or `Set::insert`): unique per file, part of the cache key.
    pub id: String,
    /// The name the test must have; the envelope's `name` is matched against it.
    pub test_name: String,
    /// The member's source code, doc comment included when the driver gives it.
    pub source: String,
    /// Its test with only the cases left to fill (the driver's
    /// [`llm_skeleton`](testsmith_driver::Driver::llm_skeleton)), shown instead of the bare
    /// test head; `None` when the driver has none.
    pub skeleton: Option<String>,
}

/// The member as the model sees it: its doc comment (as `//` lines, which Go and Rust both
/// read as a comment), then its declaration.
pub fn member_source(member: &testsmith_driver::Member, source_text: &str) -> String {
    let mut source = String::new();
    if let Some(doc) = &member.doc {
        for line in doc.lines() {
            source.push_str("// ");
            source.push_str(line);
            source.push('\n');
        }
    }
    // A method nested in an `impl` reads as at the top level, not with its first line flush
    // left and the rest indented.
    match testsmith_driver::syntax::declaration_text(source_text, member.byte_range.clone()) {
        Some(text) => source.push_str(&text),
        None => source.push_str(&member.signature),
    }
    source
}

/// The member as the model sees it when coverage is known (CoverUp's form): its doc comment,
/// then its declaration with each line's number, the lines no test executes marked `>`,
/// and a last line saying which lines still need a test.
pub fn member_source_with_missed_lines(
    member: &testsmith_driver::Member,
    source_text: &str,
    missed: &[(usize, usize)],
) -> String {
    let mut source = String::new();
    if let Some(doc) = &member.doc {
        for line in doc.lines() {
            let _ = writeln!(source, "      // {line}");
        }
    }
    let body = source_text
        .get(member.byte_range.clone())
        .unwrap_or(&member.signature);
    for (offset, line) in body.lines().enumerate() {
        let number = member.start_line + offset;
        let mark = if missed
            .iter()
            .any(|&(first, last)| (first..=last).contains(&number))
        {
            '>'
        } else {
            ' '
        };
        let _ = writeln!(source, "{mark}{number:>4}: {line}");
    }
    let lines: Vec<String> = missed
        .iter()
        .map(|&(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            }
        })
        .collect();
    let single = missed.len() == 1 && missed[0].0 == missed[0].1;
    let _ = write!(
        source,
        "(Lines marked > are executed by no test yet. Write a test that executes {} {}.)",
        if single { "line" } else { "lines" },
        lines.join(", ")
    );
    source
}

/// `source` (a member as the model sees it) followed by the mutants of it that the existing
/// tests miss, each in plain words (`if line 8 `if n < lo {` became `if n <= lo {`, no test
/// would notice`), and what to do about them.
pub fn with_surviving_mutants(source: &str, mutants: &[String]) -> String {
    if mutants.is_empty() {
        return source.to_owned();
    }
    let mut out = source.to_owned();
    out.push_str(
        "\n(The existing tests miss these small deliberate bugs; write a test that fails if \
         any of them were made:",
    );
    for mutant in mutants {
        let _ = write!(out, "\n- {mutant}");
    }
    out.push(')');
    out
}

/// Builds the request asking for tests of `members`, within `budget` characters where the
/// context allows. `feedback` explains why the previous answer for these members was
/// rejected, so the model can do better.
pub fn build_prompt(
    file: &FileRequest,
    members: &[&MemberRequest],
    feedback: Option<&str>,
    budget: usize,
) -> ChatRequest {
    let system = system_message(file);
    let mut required = String::new();
    let _ = writeln!(required, "File: {}", file.path);
    if let Some(module) = &file.module {
        let _ = writeln!(required, "Package/module: {module}");
    }
    let _ = writeln!(
        required,
        "\nWrite one test for each of the {} member(s) below, named with the test name given \
         for it.",
        members.len()
    );
    // With skeletons, the code under test comes first and each member's heading is followed
    // by its skeleton: measured with a 0.5B model, a heading followed by the member's code
    // had it answer with that code again (Rust free functions, every time).
    let skeletons = members.iter().all(|member| member.skeleton.is_some());
    if skeletons {
        let sources: Vec<&str> = members.iter().map(|m| m.source.trim_end()).collect();
        let _ = write!(
            required,
            "\nThe code under test (it exists already: call it, never copy it):\n```{}\n{}\n```\n",
            file.language,
            sources.join("\n\n")
        );
    }
    for member in members {
        if skeletons {
            let _ = write!(
                required,
                "\n### `{}` — test name `{}`\n",
                member.id, member.test_name
            );
        } else {
            let _ = write!(
                required,
                "\n### `{}` — test name `{}`\nThe code under test (it exists already: call it, \
                 never copy it):\n```{}\n{}\n```\n",
                member.id,
                member.test_name,
                file.language,
                member.source.trim_end()
            );
        }
        if let Some(skeleton) = &member.skeleton {
            let _ = write!(
                required,
                "Its test, to complete: replace each `…` with a concrete value (the inputs, \
                 and what `{}` gives for them) and keep the rest:\n\
                 ```{}\n{}\n```\n",
                member.id,
                file.language,
                skeleton.trim_end()
            );
        } else if let Some(head) = test_head(file, &member.test_name) {
            let _ = writeln!(
                required,
                "Its test: `{}`, calling `{}` with concrete inputs and checking the results.",
                head.replace('\n', " "),
                member.id
            );
        }
    }
    if let Some(feedback) = feedback {
        let _ = write!(
            required,
            "\nYour previous answer was rejected: {feedback}\nFix that this time.\n"
        );
    }
    // The shape of the answer comes last, with the first member's own names: small models
    // follow the end of a prompt most closely, and an example more than a description.
    // With a skeleton, the shape is the skeleton itself: measured with a 0.5B model, a
    // shape ending in `{ … }` made it drop the skeleton's checks and write its own test.
    if let Some(first) = members.first() {
        let code = match (&first.skeleton, test_head(file, &first.test_name)) {
            (Some(skeleton), _) => skeleton.trim_end().to_owned(),
            (None, Some(head)) => format!("{head} {{\n…\n}}"),
            (None, None) => "…".to_owned(),
        };
        let item = serde_json::json!({"name": first.test_name, "code": code});
        let fill = if first.skeleton.is_some() {
            " with each `…` replaced by a concrete value"
        } else {
            ""
        };
        let _ = write!(
            required,
            "\nAnswer with this JSON only{fill}, one item per member in the order above: \
             {{\"tests\":[{item}{more}]}}. Each `code` is one test function that calls its \
             member and checks the results, never the member's own code.\n",
            more = if members.len() > 1 { ",…" } else { "" }
        );
    }

    // What is left of the budget goes to context, most useful first; each section is
    // charged with its heading and fences.
    let mut room = budget.saturating_sub(system.len() + required.len());
    let mut user = String::new();
    const CONVENTIONS_HEADING: &str = "Project conventions (TESTSMITH.md):\n";
    if let Some(mut left) = room.checked_sub(CONVENTIONS_HEADING.len() + 2) {
        let conventions = take_within(&file.conventions, &mut left, 200);
        if !conventions.is_empty() {
            let _ = write!(user, "{CONVENTIONS_HEADING}{conventions}\n\n");
            room = room.saturating_sub(user.len());
        }
    }
    let fence = |body: &str| format!("```{}\n{}\n```\n\n", file.language, body.trim_end());
    let dependencies_heading = "Declarations of the same package, to build the test's values with (never redeclare \
         them):\n";
    let mut dependencies: Vec<&str> = Vec::new();
    let mut dependencies_cost = dependencies_heading.len() + fence("").len();
    for signature in &file.dependencies {
        let cost = signature.len() + 1;
        if dependencies_cost + cost > room {
            break;
        }
        dependencies_cost += cost;
        dependencies.push(signature);
    }
    if !dependencies.is_empty() {
        let section = format!("{dependencies_heading}{}", fence(&dependencies.join("\n")));
        room = room.saturating_sub(section.len());
        user.push_str(&section);
    }
    // A member's own skeleton shows the style better than another member's test, which
    // small models copy into unrelated tests: the example goes when every member has one.
    if let Some(example) = file.style_example.as_ref().filter(|_| !skeletons) {
        let section = format!(
            "An existing test of another member, to show the project's style only (never copy \
             it):\n{}",
            fence(example)
        );
        if section.len() <= room {
            user.push_str(&section);
        }
    }
    user.push_str(&required);
    ChatRequest {
        system,
        user,
        max_tokens: None,
    }
}

/// The head of the test function `test_name`, when the driver gave its form.
fn test_head(file: &FileRequest, test_name: &str) -> Option<String> {
    (!file.test_head.is_empty()).then(|| file.test_head.replace("{name}", test_name))
}

fn system_message(file: &FileRequest) -> String {
    let mut system = format!(
        "You write unit tests in {language}. Each test exercises its member's behaviour with \
         concrete inputs and checks the results. Reply with one JSON object and nothing else: \
         {{\"tests\":[{{\"name\":\"...\",\"code\":\"...\"}}]}}. `code` holds only the test \
         function(s), not the code under test.",
        language = file.language
    );
    if !file.instructions.trim().is_empty() {
        system.push_str("\n\n");
        system.push_str(file.instructions.trim());
    }
    system
}

/// `text` whole if it fits in `room`, else its head cut at a line boundary and marked, when
/// at least `min_useful` characters fit; `room` shrinks by what was taken.
fn take_within(text: &str, room: &mut usize, min_useful: usize) -> String {
    let text = text.trim();
    if text.len() <= *room {
        *room -= text.len();
        return text.to_owned();
    }
    const MARK: &str = "\n[... cut to fit ...]";
    if *room < min_useful + MARK.len() {
        return String::new();
    }
    let mut cut = *room - MARK.len();
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &text[..cut];
    let head = head.rfind('\n').map_or(head, |at| &head[..at]);
    *room -= head.len() + MARK.len();
    format!("{head}{MARK}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> FileRequest {
        FileRequest {
            language: "go".to_owned(),
            instructions: "Use the testing package.".to_owned(),
            conventions: "Prefer table-driven tests.".to_owned(),
            path: "set/set.go".to_owned(),
            module: Some("package set".to_owned()),
            dependencies: vec![
                "func New() *Set".to_owned(),
                "func (s *Set) Len() int".to_owned(),
            ],
            style_example: Some("func TestNew(t *testing.T) {}".to_owned()),
            test_head: "func {name}(t *testing.T)".to_owned(),
        }
    }

    fn member(id: &str, source: &str) -> MemberRequest {
        MemberRequest {
            skeleton: None,
            id: id.to_owned(),
            test_name: format!("Test{id}"),
            source: source.to_owned(),
        }
    }

    #[test]
    fn with_room_the_prompt_carries_every_part() {
        let m = member("Add", "func (s *Set) Add(v int) {}");
        let prompt = build_prompt(&file(), &[&m], None, DEFAULT_PROMPT_BUDGET);
        assert!(prompt.system.contains("unit tests in go"));
        assert!(prompt.system.contains("Use the testing package."));
        for part in [
            "Prefer table-driven tests.",
            "File: set/set.go",
            "package set",
            "func (s *Set) Len() int",
            "func TestNew(t *testing.T) {}",
            "func (s *Set) Add(v int) {}",
            "test name `TestAdd`",
        ] {
            assert!(prompt.user.contains(part), "missing {part:?}");
        }
    }

    #[test]
    fn a_tight_budget_cuts_context_but_never_a_member() {
        let big = format!("func Big() {{\n{}\n}}", "\tx := 1\n".repeat(2000));
        let m = member("Big", &big);
        let mut f = file();
        f.conventions = "rule\n".repeat(1000);
        let prompt = build_prompt(&f, &[&m], None, 1000);
        assert!(prompt.user.contains(big.trim_end()), "the member was cut");
        assert!(
            !prompt.user.contains("TestNew"),
            "the style example should go first"
        );
        assert!(!prompt.user.contains("func New()"));
        assert!(!prompt.user.contains("rule\nrule"));
    }

    #[test]
    fn the_style_example_goes_before_the_signatures_and_conventions() {
        let m = member("Add", "func Add() {}");
        let f = file();
        let full = build_prompt(&f, &[&m], None, DEFAULT_PROMPT_BUDGET);
        let fitted = build_prompt(&f, &[&m], None, full.system.len() + full.user.len() - 40);
        assert!(!fitted.user.contains("func TestNew"));
        assert!(fitted.user.contains("func (s *Set) Len() int"));
        assert!(fitted.user.contains("Prefer table-driven tests."));
    }

    #[test]
    fn long_conventions_are_cut_at_a_line_and_marked() {
        let mut room = 300;
        let text = "line one is here\n".repeat(100);
        let cut = take_within(&text, &mut room, 50);
        assert!(cut.ends_with("[... cut to fit ...]"));
        assert!(cut.len() <= 300);
        assert!(
            cut.trim_end_matches("\n[... cut to fit ...]")
                .ends_with("here")
        );
    }

    #[test]
    fn each_member_is_shown_its_tests_head_and_the_answer_ends_the_prompt() {
        let a = member("Add", "func Add() {}");
        let b = member("Sub", "func Sub() {}");
        let prompt = build_prompt(&file(), &[&a, &b], Some("it redeclares Add"), 10_000);
        assert!(prompt.user.contains(
            "Its test: `func TestSub(t *testing.T)`, calling `Sub` with concrete inputs"
        ));
        // The answer's shape, with the first member's own names, comes after the feedback.
        let shape = prompt
            .user
            .find(r#"{"tests":[{"name":"TestAdd","code":"func TestAdd(t *testing.T) {\n…\n}"},…]}"#)
            .expect("the answer's shape with the first member's names");
        assert!(prompt.user.find("rejected: it redeclares Add").unwrap() < shape);
        let mut headless = file();
        headless.test_head.clear();
        let prompt = build_prompt(&headless, &[&a], None, 10_000);
        assert!(!prompt.user.contains("Its test:"));
        assert!(
            prompt
                .user
                .contains(r#"{"tests":[{"name":"TestAdd","code":"…"}]}"#)
        );
    }

    #[test]
    fn a_member_with_a_skeleton_is_shown_it_and_the_style_example_goes() {
        let mut a = member("Add", "func Add() {}");
        a.skeleton = Some("func TestAdd(t *testing.T) {\n\t// TODO: cases\n}".to_owned());
        let prompt = build_prompt(&file(), &[&a], None, DEFAULT_PROMPT_BUDGET);
        assert!(prompt.user.contains(
            "Its test, to complete: replace each `…` with a concrete value (the inputs, and \
             what `Add` gives for them) and keep the rest:\n```go\n\
             func TestAdd(t *testing.T) {\n\t// TODO: cases\n}\n```"
        ));
        assert!(!prompt.user.contains("Its test: `"));
        // The code under test comes before the member's heading, the skeleton right after.
        let code = prompt
            .user
            .find("```go\nfunc Add() {}\n```")
            .expect("the code under test");
        let heading = prompt
            .user
            .find("### `Add` — test name `TestAdd`\nIts test, to complete:");
        assert!(code < heading.expect("the heading, then the skeleton"));
        // The answer's shape is the skeleton.
        assert!(prompt.user.contains(
            r#"Answer with this JSON only with each `…` replaced by a concrete value, one item per member in the order above: {"tests":[{"name":"TestAdd","code":"func TestAdd(t *testing.T) {\n\t// TODO: cases\n}"}]}"#
        ), "{}", prompt.user);
        assert!(
            !prompt.user.contains("func TestNew"),
            "the style example stays out"
        );
        // A batch with a member that has none keeps the example, and that member's head.
        let b = member("Sub", "func Sub() {}");
        let prompt = build_prompt(&file(), &[&a, &b], None, DEFAULT_PROMPT_BUDGET);
        assert!(prompt.user.contains("func TestNew"));
        assert!(
            prompt
                .user
                .contains("Its test: `func TestSub(t *testing.T)`")
        );
    }

    #[test]
    fn feedback_on_a_rejected_answer_is_passed_on() {
        let m = member("Add", "func Add() {}");
        let prompt = build_prompt(&file(), &[&m], Some("it redeclares Add"), 10_000);
        assert!(prompt.user.contains("rejected: it redeclares Add"));
    }

    #[test]
    fn every_member_of_a_batch_is_listed_with_its_test_name() {
        let a = member("Add", "func Add() {}");
        let b = member("Sub", "func Sub() {}");
        let prompt = build_prompt(&file(), &[&a, &b], None, 10_000);
        assert!(prompt.user.contains("each of the 2 member(s)"));
        assert!(prompt.user.contains("`Add` — test name `TestAdd`"));
        assert!(prompt.user.contains("`Sub` — test name `TestSub`"));
    }

    #[test]
    fn surviving_mutants_follow_the_member_in_plain_words() {
        assert_eq!(with_surviving_mutants("func F() {}", &[]), "func F() {}");
        assert_eq!(
            with_surviving_mutants(
                "func F() {}",
                &["if line 8 `a < b` became `a <= b`, no test would notice".to_owned()]
            ),
            "func F() {}\n(The existing tests miss these small deliberate bugs; write a test \
             that fails if any of them were made:\n- if line 8 `a < b` became `a <= b`, no \
             test would notice)"
        );
    }

    #[test]
    fn missed_lines_are_numbered_marked_and_named() {
        let text = "package a\n\nfunc Add(x, y int) int {\n\tif x > 0 {\n\t\treturn x + y\n\t}\n\treturn y\n}\n";
        let start = text.find("func").unwrap();
        let member = testsmith_driver::Member {
            kind: testsmith_driver::MemberKind::Function,
            name: "Add".to_owned(),
            owner: None,
            signature: "func Add(x, y int) int".to_owned(),
            start_line: 3,
            end_line: 8,
            doc: Some("Add adds.".to_owned()),
            module: None,
            byte_range: start..text.len() - 1,
            callable: None,
        };
        assert_eq!(
            member_source_with_missed_lines(&member, text, &[(7, 7)]),
            "      // Add adds.\n    3: func Add(x, y int) int {\n    4: \tif x > 0 {\n    \
             5: \t\treturn x + y\n    6: \t}\n>   7: \treturn y\n    8: }\n\
             (Lines marked > are executed by no test yet. Write a test that executes line 7.)"
        );
        assert!(
            member_source_with_missed_lines(&member, text, &[(4, 5), (7, 7)])
                .ends_with("executes lines 4-5, 7.)")
        );
    }
}
