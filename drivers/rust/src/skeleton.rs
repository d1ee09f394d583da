//! A lexical pass over a Rust file, run before tree-sitter: which blocks cannot hold a
//! member, and whether every bracket, string and comment is closed.
//!
//! Members live only at item level: in the file, in inline `mod` bodies and in inherent
//! `impl` bodies. Every other block — function bodies above all, but also struct and enum
//! bodies, trait and trait-impl bodies, `extern` blocks, constant initialisers and the
//! arguments of item-level macro invocations — never holds one the extractor reports, and
//! together they are most of a file's bytes. tree-sitter is told to skip their insides and
//! parses each as an empty `{}`, `()` or `[]`, which changes nothing the extractor reads:
//! every signature, attribute, doc comment and closing bracket stays where it was.
//!
//! How a block is classified, from the tokens of the item it opens in (since the last `;`
//! or block at that level):
//! - the item's first item keyword is `mod`, or `impl` without a trait (no `for` at the
//!   top level of the header, a `for<'a>` bound aside): its body is item level again, kept
//!   and walked into;
//! - any other `{` at the item's top level (outside its `(..)`, `[..]` and `<..>`) is
//!   skipped;
//! - `name!(..)` and `name![..]` at item level are skipped too;
//! - brackets inside a header (`(x: u8)`, `[u8; { N }]`, `Foo<{ N }>`) are kept.
//!
//! Misreading only ever errs towards keeping a block: a `<` that is a comparison leaves a
//! block parsed, never a `mod` or inherent `impl` skipped.

use crate::lexer::{Lexer, Token, TokenKind};
use std::ops::Range;
use testsmith_driver::SyntaxIssue;

/// What the pass learnt about one file.
#[derive(Debug, Default)]
pub(crate) struct Skeleton {
    /// The insides of the blocks that cannot hold a member (brackets excluded), in source
    /// order, not overlapping.
    pub skipped: Vec<Range<usize>>,
    /// Unclosed or unmatched brackets, unterminated strings, characters and comments. When
    /// there are any, bracket depth means nothing after the first and `skipped` must not be
    /// trusted.
    pub issues: Vec<SyntaxIssue>,
}

/// What an open bracket is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    /// A `mod` or inherent `impl` body: its contents are items.
    Items,
    /// A block whose inside is skipped.
    Skipped,
    /// Any other bracket, inside an item's header or inside a skipped block.
    Nested,
}

#[derive(Debug)]
struct Open {
    byte: u8,
    at: usize,
    block: Block,
}

/// The item keyword that decides what an item's `{` opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ItemKind {
    Module,
    Impl,
    /// `fn`, `struct`, `trait`, `const`, `macro_rules`, ...: nothing inside is a member.
    Other,
}

/// What has been seen of the item being read at item level.
#[derive(Debug, Default)]
struct ItemHeader {
    kind: Option<ItemKind>,
    /// A `for` at the top level of an `impl` header: a trait impl, unless `<` follows it
    /// (`for<'a>`, a higher-ranked bound).
    saw_for: bool,
    is_trait_impl: bool,
    /// `<` of generics and bounds open at the item's top level.
    angles: usize,
}

impl ItemHeader {
    /// What the `{` at the item's top level opens.
    fn body_block(&self) -> Block {
        match self.kind {
            Some(ItemKind::Module) => Block::Items,
            Some(ItemKind::Impl) if !self.is_trait_impl => Block::Items,
            _ => Block::Skipped,
        }
    }
}

fn item_kind(keyword: &str) -> Option<ItemKind> {
    match keyword {
        "mod" => Some(ItemKind::Module),
        "impl" => Some(ItemKind::Impl),
        "fn" | "struct" | "enum" | "union" | "trait" | "type" | "const" | "static" | "use"
        | "macro_rules" | "macro" => Some(ItemKind::Other),
        _ => None,
    }
}

/// Runs the pass over `source`.
pub(crate) fn scan(source: &str) -> Skeleton {
    let mut skipped = Vec::new();
    // (offset, message), turned into lines and columns once at the end.
    let mut issues: Vec<(usize, String)> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // How many `Skipped` blocks are open: inside one, only brackets are matched.
    let mut skipping = 0usize;
    // The item being read at the innermost item level.
    let mut header = ItemHeader::default();
    // The two tokens before this one, for `name!(` and `->`.
    let (mut previous, mut before_previous): (Option<Token>, Option<Token>) = (None, None);

    for token in Lexer::new(source) {
        if token.kind.is_unterminated() {
            let what = match token.kind {
                TokenKind::Str { .. } => "unterminated string literal",
                TokenKind::Char { .. } => "unterminated character literal",
                _ => "unterminated block comment",
            };
            issues.push((token.start, what.to_owned()));
        }
        if token.kind.is_comment() {
            continue;
        }
        let at_item_level =
            skipping == 0 && stack.last().is_none_or(|open| open.block == Block::Items);
        if at_item_level {
            if std::mem::take(&mut header.saw_for) && !token.is_punct(b'<') {
                header.is_trait_impl = true;
            }
            if token.kind == TokenKind::Ident {
                let text = token.text(source);
                if header.kind.is_none() {
                    header.kind = item_kind(text);
                } else if header.kind == Some(ItemKind::Impl) && header.angles == 0 && text == "for"
                {
                    header.saw_for = true;
                }
            }
        }
        match token.kind {
            TokenKind::Punct(byte @ (b'(' | b'[' | b'{')) => {
                let block = if !at_item_level {
                    Block::Nested
                } else if byte == b'{' && header.angles == 0 {
                    header.body_block()
                } else if byte != b'{'
                    && header.angles == 0
                    && is_macro_bang(previous, before_previous)
                {
                    Block::Skipped
                } else {
                    Block::Nested
                };
                skipping += usize::from(block == Block::Skipped);
                if block == Block::Items {
                    header = ItemHeader::default();
                }
                stack.push(Open {
                    byte,
                    at: token.start,
                    block,
                });
            }
            TokenKind::Punct(byte @ (b')' | b']' | b'}')) => {
                let opener = match byte {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                match stack.iter().rposition(|open| open.byte == opener) {
                    Some(matching) => {
                        // Whatever was opened after the matching bracket was never closed.
                        for unclosed in stack.drain(matching + 1..) {
                            let message = format!("unclosed `{}`", unclosed.byte as char);
                            issues.push((unclosed.at, message));
                            skipping -= usize::from(unclosed.block == Block::Skipped);
                        }
                        let open = stack.pop().expect("the matching bracket is on the stack");
                        if open.block == Block::Skipped {
                            skipping -= 1;
                            if open.at + 1 < token.start {
                                skipped.push(open.at + 1..token.start);
                            }
                        }
                        // A body closing at item level ends its item.
                        let back_at_item_level = skipping == 0
                            && stack.last().is_none_or(|open| open.block == Block::Items);
                        if back_at_item_level && byte == b'}' && open.block != Block::Nested {
                            header = ItemHeader::default();
                        }
                    }
                    None => {
                        let message = format!("unmatched `{}`", byte as char);
                        issues.push((token.start, message));
                    }
                }
            }
            TokenKind::Punct(b';') if at_item_level => header = ItemHeader::default(),
            TokenKind::Punct(b'<') if at_item_level => header.angles += 1,
            TokenKind::Punct(b'>') if at_item_level && !is_arrow(previous, token) => {
                header.angles = header.angles.saturating_sub(1);
            }
            _ => {}
        }
        before_previous = previous;
        previous = Some(token);
    }
    for unclosed in stack {
        let message = format!("unclosed `{}`", unclosed.byte as char);
        issues.push((unclosed.at, message));
    }
    issues.sort_by_key(|(offset, _)| *offset);
    Skeleton {
        skipped,
        issues: positioned(source, issues),
    }
}

/// `name!` right before a bracket: a macro invocation, whose arguments are token trees.
fn is_macro_bang(previous: Option<Token>, before_previous: Option<Token>) -> bool {
    previous.is_some_and(|token| token.is_punct(b'!'))
        && before_previous.is_some_and(|token| token.kind == TokenKind::Ident)
}

/// `->` or `=>`: the `>` is not a closing angle bracket.
fn is_arrow(previous: Option<Token>, token: Token) -> bool {
    previous.is_some_and(|previous| {
        previous.end == token.start && (previous.is_punct(b'-') || previous.is_punct(b'='))
    })
}

/// The issues at the given byte offsets (in increasing order) with 1-based lines and
/// columns, counted in bytes as tree-sitter does.
fn positioned(source: &str, issues: Vec<(usize, String)>) -> Vec<SyntaxIssue> {
    let (mut counted_to, mut line, mut line_start) = (0, 1, 0);
    issues
        .into_iter()
        .map(|(offset, message)| {
            for (index, byte) in source.as_bytes()[counted_to..offset].iter().enumerate() {
                if *byte == b'\n' {
                    line += 1;
                    line_start = counted_to + index + 1;
                }
            }
            counted_to = offset;
            SyntaxIssue {
                line,
                column: offset - line_start + 1,
                message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text of each skipped block, trimmed.
    fn skipped(source: &str) -> Vec<&str> {
        let skeleton = scan(source);
        assert!(skeleton.issues.is_empty(), "{:?}", skeleton.issues);
        skeleton
            .skipped
            .iter()
            .map(|block| source[block.clone()].trim())
            .collect()
    }

    fn issues(source: &str) -> Vec<String> {
        scan(source)
            .issues
            .iter()
            .map(|issue| format!("{}:{} {}", issue.line, issue.column, issue.message))
            .collect()
    }

    #[test]
    fn function_bodies_are_skipped_in_modules_and_inherent_impls_alike() {
        let source = "mod m { pub fn a() { 1 } }\nimpl T { fn b(&self) -> u8 { 2 } }";
        assert_eq!(skipped(source), ["1", "2"]);
    }

    #[test]
    fn modules_and_inherent_impls_are_walked_into_however_they_are_written() {
        let source = "#[cfg(x)] pub(crate) mod m { fn a() { 1 } }\n\
                      impl<T: Fn() -> u8> Foo<{ N }> where for<'a> T: Tr<'a> { fn b() { 2 } }\n\
                      impl dyn for<'a> Tr<'a> { fn c() { 3 } }";
        assert_eq!(skipped(source), ["1", "2", "3"]);
    }

    #[test]
    fn bodies_that_hold_no_members_are_skipped_whole() {
        let source = "impl Tr for T { fn a() { 1 } }\nunsafe impl<T> Send for X<T> {}\n\
                      trait U { fn c() { 3 } fn d(); }\npub struct S { x: u8 }\n\
                      enum E { A = 1 }\nextern \"C\" { fn f(); }\nmacro_rules! m { () => {} }";
        assert_eq!(
            skipped(source),
            [
                "fn a() { 1 }",
                "fn c() { 3 } fn d();",
                "x: u8",
                "A = 1",
                "fn f();",
                "() => {}"
            ]
        );
    }

    #[test]
    fn item_level_macro_arguments_are_skipped_in_every_bracket() {
        let source = "m!(a { b });\nn![c];\no! { mod x {} }\n#![attr(x)]\n#[attr(y)]\nfn f() {}";
        assert_eq!(skipped(source), ["a { b }", "c", "mod x {}"]);
    }

    #[test]
    fn a_function_returning_impl_trait_is_still_a_function() {
        assert_eq!(
            skipped("fn a() -> impl Iterator<Item = u8> { body }"),
            ["body"]
        );
    }

    #[test]
    fn braces_in_a_header_are_not_the_body() {
        let source = "fn a<T: Fn() -> u8, const N: usize>(x: [u8; { N }]) -> Foo<{ N + 1 }>\n\
                      where T: Tr<{ 3 }>, for<'a> F: Fn(&'a u8) -> u8 { body }\n\
                      fn b() -> Vec<Vec<u8>> { body2 }";
        assert_eq!(skipped(source), ["body", "body2"]);
    }

    #[test]
    fn constant_initialisers_and_use_groups_are_skipped() {
        let source = "const A: S = S { x: 1 }.f();\nstatic B: u8 = if C { 1 } else { 2 };\n\
                      use a::{b, c};\nmod m {}";
        assert_eq!(skipped(source), ["x: 1", "1", "2", "b, c"]);
    }

    #[test]
    fn a_comparison_in_an_initialiser_keeps_it_parsed_but_not_the_next_item() {
        let source = "const A: u8 = if X < Y { 1 } else { 2 };\nfn f() { body }";
        assert_eq!(skipped(source), ["body"]);
    }

    #[test]
    fn brackets_in_strings_comments_and_characters_do_not_count() {
        let source = "fn a() { let s = \"}\"; let c = '}'; /* } */ // }\n r#\"}\"#; }\nfn b() {}";
        let found = skipped(source);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].ends_with("r#\"}\"#;"));
    }

    #[test]
    fn an_empty_block_is_nothing_to_skip() {
        assert_eq!(skipped("fn a() {}"), Vec::<&str>::new());
    }

    #[test]
    fn an_unclosed_brace_is_reported_where_it_opens() {
        assert_eq!(issues("fn a() {\n    if x {\n}\n"), ["1:8 unclosed `{`"]);
    }

    #[test]
    fn a_stray_closer_is_reported_where_it_is() {
        assert_eq!(issues("fn a() {\n  x)\n}\n"), ["2:4 unmatched `)`"]);
    }

    #[test]
    fn a_closer_of_the_wrong_kind_closes_what_it_matches_and_reports_the_rest() {
        assert_eq!(issues("fn a() {\n  f(x;\n}\n"), ["2:4 unclosed `(`"]);
    }

    #[test]
    fn unterminated_strings_and_comments_are_reported_where_they_start() {
        assert_eq!(
            issues("fn a() {\n  let s = \"abc;\n}\n"),
            ["1:8 unclosed `{`", "2:11 unterminated string literal"]
        );
        assert_eq!(
            issues("fn a() { /* x\n}\n"),
            ["1:8 unclosed `{`", "1:10 unterminated block comment"]
        );
    }
}
