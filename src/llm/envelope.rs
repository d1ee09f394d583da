//! Reading the model's reply: the `{"tests":[{"name","code"}]}` envelope first, then — for
//! servers that ignore `response_format` and small models that wrap code in prose — fenced
//! code blocks, then the bare text. And matching what was found to the members asked for.

use super::prompt::MemberRequest;

/// The JSON schema of the envelope, sent as a strict `json_schema` response format.
pub fn envelope_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "tests": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "code": {"type": "string"},
                    },
                    "required": ["name", "code"],
                    "additionalProperties": false,
                },
            },
        },
        "required": ["tests"],
        "additionalProperties": false,
    })
}

/// One test found in a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestItem {
    /// The name the model gave it; `None` for code found outside an envelope.
    pub name: Option<String>,
    pub code: String,
}

/// How the reply was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyShape {
    Envelope,
    FencedBlocks,
    /// No envelope, no fences: the whole text taken as code.
    Bare,
    Empty,
}

/// Extracts the tests from a reply.
pub fn parse_reply(content: &str) -> (ReplyShape, Vec<TestItem>) {
    let content = content.trim();
    if content.is_empty() {
        return (ReplyShape::Empty, Vec::new());
    }
    if let Some(items) = parse_envelope(content) {
        return (ReplyShape::Envelope, items);
    }
    let blocks = fenced_blocks(content);
    if !blocks.is_empty() {
        // A JSON envelope inside a ```json fence is still an envelope.
        for (_, body) in &blocks {
            if let Some(items) = parse_envelope(body) {
                return (ReplyShape::Envelope, items);
            }
        }
        let items = blocks
            .into_iter()
            .filter(|(_, body)| !body.trim().is_empty())
            .map(|(_, body)| TestItem {
                name: None,
                code: body,
            })
            .collect();
        return (ReplyShape::FencedBlocks, items);
    }
    (
        ReplyShape::Bare,
        vec![TestItem {
            name: None,
            code: content.to_owned(),
        }],
    )
}

/// Reads the envelope from `text`, or from its outermost `{...}` when prose surrounds it.
/// Lenient about the shape: a bare array of items, or a single item, is accepted too.
fn parse_envelope(text: &str) -> Option<Vec<TestItem>> {
    let value: serde_json::Value = serde_json::from_str(text).ok().or_else(|| {
        let start = text.find('{')?;
        let end = text.rfind('}')?;
        serde_json::from_str(text.get(start..=end)?).ok()
    })?;
    let items = match &value {
        serde_json::Value::Object(object) => match object.get("tests") {
            Some(serde_json::Value::Array(items)) => items.clone(),
            Some(_) => return None,
            None if object.contains_key("code") => vec![value.clone()],
            None => return None,
        },
        serde_json::Value::Array(items) => items.clone(),
        _ => return None,
    };
    let items: Vec<TestItem> = items
        .iter()
        .filter_map(|item| {
            let code = item.get("code")?.as_str()?.to_owned();
            let name = item
                .get("name")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            (!code.trim().is_empty()).then_some(TestItem { name, code })
        })
        .collect();
    Some(joined_line_runs(items))
}

/// Items that are one test sent a line per item, joined back: a run of at least three items
/// in a row with the same name, each one line of code. Seen with a 0.5B model under the
/// strict `json_schema` format (docs/benchmarks.md), which split `fn test_x() {`, each
/// statement and `}` into items of their own.
fn joined_line_runs(items: Vec<TestItem>) -> Vec<TestItem> {
    const MIN_RUN: usize = 3;
    let mut out: Vec<TestItem> = Vec::new();
    let mut run: Vec<TestItem> = Vec::new();
    let flush = |run: &mut Vec<TestItem>, out: &mut Vec<TestItem>| {
        if run.len() >= MIN_RUN {
            let code: Vec<String> = run.iter().map(|item| item.code.clone()).collect();
            out.push(TestItem {
                name: run[0].name.clone(),
                code: code.join("\n"),
            });
            run.clear();
        } else {
            out.append(run);
        }
    };
    for item in items {
        let one_line = !item.code.trim().contains('\n');
        let continues = run
            .last()
            .is_some_and(|last| last.name.is_some() && last.name == item.name);
        if !(one_line && (run.is_empty() || continues)) {
            flush(&mut run, &mut out);
        }
        if one_line {
            run.push(item);
        } else {
            out.push(item);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Every ```-fenced block: its info string (`go`, `rust`, `json`, ...) and its body.
fn fenced_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((info.trim().to_owned(), Vec::new()));
                }
            }
            Some((info, body)) => {
                if trimmed.starts_with("```") {
                    blocks.push((std::mem::take(info), body.join("\n")));
                    open = None;
                } else {
                    body.push(line);
                }
            }
        }
    }
    // A reply cut off inside a fence still carries what came before the cut.
    if let Some((info, body)) = open {
        blocks.push((info, body.join("\n")));
    }
    blocks
}

/// Assigns the items of a reply to `members`, in order: by name (the test name asked for or
/// the member's identity, compared loosely), then by the test name appearing in the code;
/// then — small models name items after the member (`new`, `Add`) or their test after it
/// (`test_new`) — by the member's bare name in the item's name or in the name of a test the
/// code defines, where exactly one member waiting for an answer fits. With a single member
/// asked, whatever is left over is taken as its answer. `None` marks a member the reply has
/// nothing for.
pub fn assign(items: Vec<TestItem>, members: &[&MemberRequest]) -> Vec<Option<String>> {
    let mut answers: Vec<Option<String>> = vec![None; members.len()];
    let mut left = Vec::new();
    for (position, item) in items.into_iter().enumerate() {
        let by_name = item.name.as_deref().and_then(|name| {
            let name = loose(name);
            members.iter().enumerate().position(|(i, member)| {
                answers[i].is_none()
                    && (loose(&member.test_name) == name || loose(&member.id) == name)
            })
        });
        match by_name {
            Some(i) => answers[i] = Some(item.code),
            None => left.push((position, item)),
        }
    }
    let mut unmatched = Vec::new();
    for (position, item) in left {
        let by_code = members.iter().enumerate().position(|(i, member)| {
            answers[i].is_none() && contains_word(&item.code, &member.test_name)
        });
        match by_code {
            Some(i) => answers[i] = Some(item.code),
            None => unmatched.push((position, item)),
        }
    }
    let mut still_unmatched = Vec::new();
    for (position, item) in unmatched {
        match by_bare_name(&item, position, members, &answers) {
            Some(i) => answers[i] = Some(item.code),
            None => still_unmatched.push(item),
        }
    }
    if let [answer @ None] = answers.as_mut_slice()
        && !still_unmatched.is_empty()
    {
        let codes: Vec<String> = still_unmatched.into_iter().map(|item| item.code).collect();
        *answer = Some(codes.join("\n\n"));
    }
    answers
}

/// The one member still without an answer whose bare name (`new` of `Cart::new`, `Add` of
/// `(*Cart).Add`) the item names — as its `name`, with or without a `test` prefix, or as the
/// name of a test its code defines. Where several fit (`Rect.Area` and `Circle.Area`), the
/// one asked at the item's own `position` in the reply, as models answer in order; `None`
/// when no member fits, or several do and none is at that position.
fn by_bare_name(
    item: &TestItem,
    position: usize,
    members: &[&MemberRequest],
    answers: &[Option<String>],
) -> Option<usize> {
    let mut names: Vec<String> = item.name.iter().map(|name| loose(name)).collect();
    names.extend(test_names_in(&item.code));
    let names: Vec<String> = names
        .iter()
        .flat_map(|name| [name.clone(), name.trim_start_matches("test").to_owned()])
        .filter(|name| !name.is_empty())
        .collect();
    let fits = |member: &MemberRequest| {
        let bare = loose(bare_name(&member.id));
        let id = loose(&member.id);
        names.iter().any(|name| *name == bare || *name == id)
    };
    let candidates: Vec<usize> = members
        .iter()
        .enumerate()
        .filter(|(i, member)| answers[*i].is_none() && fits(member))
        .map(|(i, _)| i)
        .collect();
    match candidates.as_slice() {
        [only] => Some(*only),
        _ => candidates.into_iter().find(|&i| i == position),
    }
}

/// The last segment of a member's identity: `Cart::new` → `new`, `(*Cart).Add` → `Add`.
fn bare_name(id: &str) -> &str {
    id.rsplit(['.', ':', ' ']).next().unwrap_or(id)
}

/// The identifiers in `code` that name a test (`test…`, `Test…`), loosened.
fn test_names_in(code: &str) -> Vec<String> {
    code.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| word.len() > 4 && word.to_ascii_lowercase().starts_with("test"))
        .map(loose)
        .filter(|word| word != "testing")
        .collect()
}

/// Lowercase letters and digits only: `Test_Parse`, `test parse` and `TestParse` agree.
fn loose(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn contains_word(code: &str, word: &str) -> bool {
    let is_ident = |c: char| c == '_' || c.is_alphanumeric();
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_sent_a_line_per_item_is_joined_back() {
        let reply = r#"{"tests":[{"name":"test_a","code":"fn test_a() {"},{"name":"test_a","code":"    assert_eq!(a(), 1);"},{"name":"test_a","code":"}"},{"name":"test_b","code":"fn test_b() {}"}]}"#;
        let (_, items) = parse_reply(reply);
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].code, "fn test_a() {\n    assert_eq!(a(), 1);\n}");
        assert_eq!(items[1].code, "fn test_b() {}");
        // Two one-line tests of one name stay two items; so do items of other names.
        let reply = r#"{"tests":[{"name":"t","code":"fn t() {}"},{"name":"t","code":"fn t() {}"},{"name":"u","code":"fn u() {}"}]}"#;
        assert_eq!(parse_reply(reply).1.len(), 3);
    }

    fn member(id: &str, test_name: &str) -> MemberRequest {
        MemberRequest {
            skeleton: None,
            id: id.to_owned(),
            test_name: test_name.to_owned(),
            source: String::new(),
        }
    }

    #[test]
    fn the_json_envelope_is_read_first() {
        let reply = r#"{"tests":[{"name":"TestAdd","code":"func TestAdd(t *testing.T) {}"}]}"#;
        let (shape, items) = parse_reply(reply);
        assert_eq!(shape, ReplyShape::Envelope);
        assert_eq!(
            items,
            [TestItem {
                name: Some("TestAdd".to_owned()),
                code: "func TestAdd(t *testing.T) {}".to_owned()
            }]
        );
    }

    #[test]
    fn an_envelope_wrapped_in_prose_or_a_json_fence_is_still_found() {
        let prose = "Sure! Here you go:\n{\"tests\":[{\"name\":\"a\",\"code\":\"x\"}]}\nEnjoy.";
        assert_eq!(parse_reply(prose).0, ReplyShape::Envelope);
        let fenced = "```json\n{\"tests\":[{\"name\":\"a\",\"code\":\"x\"}]}\n```";
        let (shape, items) = parse_reply(fenced);
        assert_eq!(shape, ReplyShape::Envelope);
        assert_eq!(items[0].code, "x");
    }

    #[test]
    fn fenced_code_blocks_are_the_fallback_for_prose_answers() {
        let reply = "Here is a test:\n\n```go\nfunc TestAdd(t *testing.T) {\n}\n```\n\nAnd another:\n```\nfunc TestSub(t *testing.T) {}\n```\nHope it helps.";
        let (shape, items) = parse_reply(reply);
        assert_eq!(shape, ReplyShape::FencedBlocks);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].code, "func TestAdd(t *testing.T) {\n}");
        assert_eq!(items[1].name, None);
    }

    #[test]
    fn a_reply_cut_off_inside_a_fence_keeps_what_came_before() {
        let (_, items) = parse_reply("```rust\n#[test]\nfn a() {");
        assert_eq!(items[0].code, "#[test]\nfn a() {");
    }

    #[test]
    fn bare_text_is_taken_as_code_and_an_empty_reply_has_nothing() {
        assert_eq!(parse_reply("fn t() {}").0, ReplyShape::Bare);
        assert_eq!(parse_reply("  \n").1, []);
    }

    #[test]
    fn items_are_matched_by_name_loosely_then_by_the_test_name_in_their_code() {
        let a = member("Add", "TestAdd");
        let b = member("(*Set).Insert", "TestSet_Insert");
        let c = member("Remove", "TestRemove");
        let items = vec![
            TestItem {
                name: None,
                code: "func TestSet_Insert(t *testing.T) {}".to_owned(),
            },
            TestItem {
                name: Some("test_add".to_owned()),
                code: "A".to_owned(),
            },
            TestItem {
                name: None,
                code: "func TestRemoveAll(t *testing.T) {}".to_owned(),
            },
        ];
        let answers = assign(items, &[&a, &b, &c]);
        assert_eq!(
            answers,
            [
                Some("A".to_owned()),
                Some("func TestSet_Insert(t *testing.T) {}".to_owned()),
                None,
            ],
            "TestRemoveAll is not TestRemove"
        );
    }

    #[test]
    fn items_named_after_the_bare_member_or_defining_a_test_after_it_are_matched() {
        let new = member("Cart::new", "test_cart_new");
        let add = member("Cart::add", "test_cart_add");
        let items = vec![
            TestItem {
                name: Some("add".to_owned()),
                code: "#[test]\nfn it_adds() {}".to_owned(),
            },
            TestItem {
                name: Some("whatever".to_owned()),
                code: "#[test]\nfn test_new() {}".to_owned(),
            },
        ];
        assert_eq!(
            assign(items, &[&new, &add]),
            [
                Some("#[test]\nfn test_new() {}".to_owned()),
                Some("#[test]\nfn it_adds() {}".to_owned())
            ]
        );
    }

    #[test]
    fn a_bare_name_shared_by_two_members_goes_by_position_or_not_at_all() {
        let rect = member("Rect.Area", "TestRect_Area");
        let scale = member("(*Rect).Scale", "TestRect_Scale");
        let circle = member("Circle.Area", "TestCircle_Area");
        let item = |name: &str, code: &str| TestItem {
            name: Some(name.to_owned()),
            code: code.to_owned(),
        };
        let in_order = vec![
            item("Area", "func TestArea(t *testing.T) {}"),
            item("Scale", "func TestScale(t *testing.T) {}"),
            item("Area", "func TestArea2(t *testing.T) {}"),
        ];
        assert_eq!(
            assign(in_order, &[&rect, &scale, &circle]),
            [
                Some("func TestArea(t *testing.T) {}".to_owned()),
                Some("func TestScale(t *testing.T) {}".to_owned()),
                Some("func TestArea2(t *testing.T) {}".to_owned()),
            ]
        );
        let out_of_place = vec![item("Area", "func TestArea(t *testing.T) {}")];
        assert_eq!(
            assign(out_of_place, &[&scale, &rect, &circle]),
            [None, None, None],
            "two members fit and neither is at the item's place: ask again, do not guess"
        );
    }

    #[test]
    fn a_single_member_takes_every_unmatched_block() {
        let a = member("add", "add_adds");
        let items = vec![
            TestItem {
                name: None,
                code: "use super::*;".to_owned(),
            },
            TestItem {
                name: Some("whatever".to_owned()),
                code: "#[test]\nfn it_works() {}".to_owned(),
            },
        ];
        assert_eq!(
            assign(items, &[&a]),
            [Some(
                "use super::*;\n\n#[test]\nfn it_works() {}".to_owned()
            )]
        );
    }

    #[test]
    fn the_schema_requires_the_envelope_fields() {
        let schema = envelope_schema();
        assert_eq!(schema["required"], serde_json::json!(["tests"]));
        assert_eq!(
            schema["properties"]["tests"]["items"]["required"],
            serde_json::json!(["name", "code"])
        );
    }
}
