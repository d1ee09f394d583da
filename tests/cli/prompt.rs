//! What the model is given: the prompts a fake OpenAI-compatible server receives from
//! `generate --llm` on the bundled example carry what a small model needs to write a test
//! that compiles — the receiver's type with its fields, its constructor, the way a method is
//! called, the member's own test skeleton to complete — read server-side from the request
//! bodies.

use crate::fake_llm::{FakeLlm, generate_llm};
use crate::util::{Project, run_async as run};
use serde_json::Value;
use std::time::Duration;

/// The user message of every request the fake received, with the test names it asks for.
async fn prompts(fake: &FakeLlm) -> Vec<(Vec<String>, String)> {
    let requests = fake.server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let user = body["messages"]
                .as_array()
                .unwrap()
                .iter()
                .rev()
                .find(|message| message["role"] == "user")
                .and_then(|message| message["content"].as_str())
                .unwrap()
                .to_owned();
            (crate::fake_llm::asked_names(request), user)
        })
        .collect()
}

/// The prompt that asks for `test_name`.
fn prompt_asking<'p>(prompts: &'p [(Vec<String>, String)], test_name: &str) -> &'p str {
    prompts
        .iter()
        .find(|(names, _)| names.iter().any(|name| name == test_name))
        .map(|(_, user)| user.as_str())
        .unwrap_or_else(|| panic!("no prompt asked for {test_name}"))
}

async fn example_prompts(fixture: &str) -> Vec<(Vec<String>, String)> {
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = Project::new();
    project.copy_fixture(fixture, ".");
    run(generate_llm(&project, &fake.server, &["--no-cache"]))
        .await
        .success();
    prompts(&fake).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_go_methods_prompt_shows_its_struct_with_fields_and_its_constructor() {
    let prompts = example_prompts("example/go").await;
    let scale = prompt_asking(&prompts, "TestRect_Scale");
    // The struct in full: a model that sees only `type Rect struct` guesses its fields.
    assert!(
        scale.contains("type Rect struct {\n\tW, H float64\n}"),
        "{scale}"
    );
    // The constructor, though no method's body names it.
    assert!(
        scale.contains("func NewRect(w, h float64) (*Rect, error)"),
        "{scale}"
    );
    // The receiver's type and constructor come before any other context.
    assert!(scale.find("type Rect struct").unwrap() < scale.find("func NewRect").unwrap());
    let push = prompt_asking(&prompts, "TestStack_Push");
    assert!(
        push.contains("type Stack[T any] struct {\n\titems []T\n}"),
        "{push}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_methods_prompt_shows_its_struct_with_derives_and_reads_flush_left() {
    let prompts = example_prompts("example/rust").await;
    let translate = prompt_asking(&prompts, "test_point_translate");
    // The derives say whether `assert_eq!` works on two points.
    assert!(
        translate.contains(
            "#[derive(Debug, Clone, Copy, PartialEq)]\npub struct Point {\n    pub x: f64,\n    \
             pub y: f64,\n}"
        ),
        "{translate}"
    );
    let text = prompt_asking(&prompts, "test_word_count");
    assert!(
        !text.contains("pub struct Point"),
        "unrelated context: {text}"
    );
    // A method of an `impl` is shown as at the top level, not with its body indented deeper
    // than its first line.
    assert!(
        translate.contains(
            "pub fn translate(&mut self, dx: f64, dy: f64) {\n    self.x += dx;\n    self.y += dy;\n}"
        ),
        "{translate}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_method_asked_alone_is_shown_its_types_constructor() {
    // A project whose only untested member is a method that never names its type: the
    // constructor comes from the type, not from the method's text.
    let fake = FakeLlm::competent(Duration::ZERO).await;
    let project = Project::new();
    project.write(
        "Cargo.toml",
        "[package]\nname = \"counter\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    project.write(
        "src/lib.rs",
        "/// A counter.\n#[derive(Debug, Default, PartialEq)]\npub struct Counter {\n    \
         count: u32,\n}\n\nimpl Counter {\n    /// Starts at `start`.\n    pub fn starting_at(start: u32) -> Self {\n        \
         Counter { count: start }\n    }\n\n    /// Counts one more.\n    pub fn bump(&mut self) -> u32 {\n        \
         self.count += 1;\n        self.count\n    }\n}\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n\n    \
         #[test]\n    fn test_counter_starting_at() {\n        assert_eq!(Counter::starting_at(2).count, 2);\n    }\n}\n",
    );
    run(generate_llm(&project, &fake.server, &["--no-cache"]))
        .await
        .success();
    let prompts = prompts(&fake).await;
    let bump = prompt_asking(&prompts, "test_counter_bump");
    assert!(
        bump.contains("// Counter::starting_at\npub fn starting_at(start: u32) -> Self"),
        "{bump}"
    );
    assert!(
        bump.contains("pub struct Counter {\n    count: u32,\n}"),
        "{bump}"
    );
    // Its own skeleton, the receiver built with that constructor, instead of the project's
    // test of another member as the example (which small models copy).
    assert!(
        bump.contains(
            "    let mut counter = Counter::starting_at(…); // start: u32\n    let got = \
             counter.bump();\n    assert_eq!(got, …);"
        ),
        "{bump}"
    );
    assert!(!bump.contains("fn test_counter_starting_at"), "{bump}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_member_is_shown_its_own_skeleton_and_no_other_members_test() {
    let prompts = example_prompts("example").await;
    let area = prompt_asking(&prompts, "TestRect_Area");
    // The call, the receiver built with its constructor and the check are written; only
    // values are left to fill.
    for part in [
        "Its test, to complete:",
        "\tw := … // float64\n\th := … // float64\n\tr, err := NewRect(w, h)\n",
        "\tgot := r.Area()\n\twant := … // float64\n\tif got != want {",
    ] {
        assert!(area.contains(part), "missing {part:?} in\n{area}");
    }
    assert!(!area.contains("testsmith:scaffold"), "{area}");
    // The package's own test of Stack.Len is not shown: a small model copied its body into
    // unrelated tests.
    let push = prompt_asking(&prompts, "TestStack_Push");
    assert!(!push.contains("func TestStack_Len"), "{push}");
    // Rust: a function of an inner module called by its path, each argument named.
    let wrap = prompt_asking(&prompts, "test_wrap_wrap");
    assert!(
        wrap.contains(
            "    let s: &str = …;\n    let width: usize = …;\n    let got = wrap::wrap(s, width);\n    \
             assert_eq!(got, …);"
        ),
        "{wrap}"
    );
    assert!(!wrap.contains("fn test_largest"), "{wrap}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skeleton_sent_back_unfilled_asserts_nothing_and_is_asked_again() {
    // The checks sit in a loop over an empty table: they never run.
    let unfilled = "func TestAdd(t *testing.T) {\n\ttype args struct {\n\t\ta int\n\t\tb int\n\t}\n\t\
        tests := []struct {\n\t\tname string\n\t\targs args\n\t\twant int\n\t}{\n\t\t// TODO: \
        Add test cases.\n\t}\n\tfor _, tt := range tests {\n\t\t\
        t.Run(tt.name, func(t *testing.T) {\n\t\t\tif got := Add(tt.args.a, tt.args.b); got != tt.want {\n\t\t\t\t\
        t.Errorf(\"Add() = %v, want %v\", got, tt.want)\n\t\t\t}\n\t\t})\n\t}\n}";
    let project = Project::new();
    project.write("go.mod", "module calc\n\ngo 1.19\n");
    project.write(
        "calc.go",
        "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n",
    );
    let (code, doc, prompts) =
        crate::fake_llm::generate_recorded(&project, &[("TestAdd", unfilled)], &[]).await;
    assert_eq!(code, 65, "{doc}");
    assert_eq!(doc["summary"]["written"], 0, "{doc}");
    assert!(!project.exists("calc_test.go"));
    assert_eq!(
        prompts.len(),
        2,
        "the answer, then one re-ask with the reason"
    );
    assert!(prompts[1].contains("asserts nothing"), "{}", prompts[1]);
}
