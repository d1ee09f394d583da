//! A lexical pass over a Go file, run before tree-sitter: where the top-level `{ ... }` blocks
//! that cannot hold a member are, where each top-level declaration starts, and whether every
//! bracket, string and comment is closed.
//!
//! Function bodies and composite literals are most of a Go file (55% and 22% of the bytes of
//! the standard library) and say nothing about its members, so tree-sitter is told to skip
//! them: parsing only the rest is about five times quicker. The pass is a plain byte scan
//! that knows Go's comments, strings, runes and raw strings, nothing more.

use tree_sitter::{Point, Range};

/// How many bodies one quick parse skips at most; see [`Skeleton::quick_parse_segments`].
pub(crate) const MAX_BODIES_PER_PARSE: usize = 64;

/// Go keywords that start a top-level declaration.
const DECLARATION_KEYWORDS: &[&[u8]] = &[b"func", b"type", b"var", b"const", b"import", b"package"];

/// What the lexical pass learnt about one file.
#[derive(Debug, Default)]
pub(crate) struct Skeleton {
    /// The insides of top-level `{ ... }` blocks other than struct and interface bodies:
    /// function bodies, function literals and composite literals, braces excluded.
    pub bodies: Vec<Range>,
    /// Where the top-level declarations written at the start of a line begin, their doc
    /// comment included: places where the file can be cut into pieces that parse alone.
    pub declaration_starts: Vec<(usize, Point)>,
    /// Whether every bracket, string, rune and comment is closed. When not, bracket depth
    /// means nothing after the first mistake and `bodies` must not be used.
    pub is_balanced: bool,
    /// The top-level functions and methods with a body written at the start of a line, in
    /// order; like `bodies`, meaningful only when the file is balanced.
    pub functions: Vec<FunctionSpan>,
}

/// A top-level function or method declaration, as the lexical pass sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FunctionSpan {
    /// Where the declaration starts: its doc comment, else the `func` keyword.
    pub start: usize,
    /// Where the `func` keyword is.
    pub keyword: usize,
    /// The function's name; `None` for a method, whose receiver comes first.
    pub name: Option<std::ops::Range<usize>>,
    /// Just past the closing brace of the body, or the signature of a function without one.
    pub end: usize,
}

/// A function declaration whose body has not closed yet.
#[derive(Debug)]
struct OpenFunction {
    start: usize,
    keyword: usize,
    name: Option<std::ops::Range<usize>>,
    /// Right after `func`, until the first token: a name there is the function's.
    expects_name: bool,
    /// Whether its body's `{` has been seen: the next return to bracket depth 0 ends it.
    in_body: bool,
    /// Just past its last token so far at bracket depth 0: the end of a declaration without
    /// a body (one implemented in assembly), which the next declaration or the end of the
    /// file closes.
    last_end: usize,
}

impl Skeleton {
    /// The included ranges of the quick parse, which skips [`bodies`](Self::bodies), cut into
    /// segments parsed one by one. Each segment ends at a declaration start and skips at
    /// most [`MAX_BODIES_PER_PARSE`] bodies: tree-sitter looks its included ranges up one by
    /// one for every token, so a single parse over the 20,000 bodies of a generated 6 MB
    /// `api.go` would take quadratic time.
    pub(crate) fn quick_parse_segments(&self) -> Vec<Vec<Range>> {
        let mut segments = Vec::new();
        let mut ranges = Vec::new();
        let (mut byte, mut point) = (0, Point::new(0, 0));
        let mut bodies_in_segment = 0;
        let mut starts = self.declaration_starts.iter().peekable();
        for body in &self.bodies {
            if bodies_in_segment >= MAX_BODIES_PER_PARSE {
                // The last declaration start between the previous body and this one.
                let mut cut = None;
                while let Some(&&(start, start_point)) = starts.peek() {
                    if start > body.start_byte {
                        break;
                    }
                    if start > byte {
                        cut = Some((start, start_point));
                    }
                    starts.next();
                }
                if let Some((cut, cut_point)) = cut {
                    ranges.push(range(byte, point, cut, cut_point));
                    segments.push(std::mem::take(&mut ranges));
                    (byte, point) = (cut, cut_point);
                    bodies_in_segment = 0;
                }
            }
            ranges.push(range(byte, point, body.start_byte, body.start_point));
            (byte, point) = (body.end_byte, body.end_point);
            bodies_in_segment += 1;
        }
        ranges.push(range_to_end(byte, point));
        segments.push(ranges);
        segments
    }

    /// The file cut at every [`declaration_starts`](Self::declaration_starts) entry, as
    /// ranges covering it all.
    pub(crate) fn pieces(&self) -> Vec<Range> {
        let mut pieces = Vec::with_capacity(self.declaration_starts.len() + 1);
        let (mut byte, mut point) = (0, Point::new(0, 0));
        for &(start, start_point) in &self.declaration_starts {
            if start > byte {
                pieces.push(range(byte, point, start, start_point));
                (byte, point) = (start, start_point);
            }
        }
        pieces.push(range_to_end(byte, point));
        pieces
    }
}

fn range(start_byte: usize, start_point: Point, end_byte: usize, end_point: Point) -> Range {
    Range {
        start_byte,
        end_byte,
        start_point,
        end_point,
    }
}

/// From a place to the end of the file, however long it is.
fn range_to_end(start_byte: usize, start_point: Point) -> Range {
    range(
        start_byte,
        start_point,
        usize::MAX,
        Point::new(usize::MAX, usize::MAX),
    )
}

/// Scans `source` once.
pub(crate) fn scan(source: &str) -> Skeleton {
    Scanner::new(source.as_bytes()).run()
}

struct Scanner<'s> {
    bytes: &'s [u8],
    at: usize,
    row: usize,
    line_start: usize,
    /// Open brackets, innermost last.
    open: Vec<u8>,
    /// Where the inside of the skippable top-level block we are in begins.
    body_start: Option<(usize, Point)>,
    /// Whether the last token was `struct` or `interface`, whose `{` opens a type body.
    after_type_keyword: bool,
    /// Whether the current line has a token other than a comment.
    line_has_code: bool,
    /// Whether the current line has a comment.
    line_has_comment: bool,
    /// Start of the run of comment-only lines, beginning at column 0, right above the
    /// current line: a declaration's doc comment goes with it.
    comment_run: Option<(usize, Point)>,
    /// The top-level function being read.
    function: Option<OpenFunction>,
    skeleton: Skeleton,
}

impl<'s> Scanner<'s> {
    fn new(bytes: &'s [u8]) -> Self {
        Scanner {
            bytes,
            at: 0,
            row: 0,
            line_start: 0,
            open: Vec::new(),
            body_start: None,
            after_type_keyword: false,
            line_has_code: false,
            line_has_comment: false,
            comment_run: None,
            function: None,
            skeleton: Skeleton {
                is_balanced: true,
                ..Skeleton::default()
            },
        }
    }

    fn point(&self) -> Point {
        Point::new(self.row, self.at - self.line_start)
    }

    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.at + offset).copied()
    }

    fn run(mut self) -> Skeleton {
        while let Some(byte) = self.peek(0) {
            match byte {
                b'\n' => self.newline(),
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'/' if self.peek(1) == Some(b'/') => self.line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(),
                b'"' | b'\'' => self.quoted(byte),
                b'`' => self.raw_string(),
                b'(' | b'[' | b'{' => self.open_bracket(byte),
                b')' | b']' | b'}' => self.close_bracket(byte),
                _ if is_identifier_byte(byte) => self.word(),
                _ => {
                    self.code();
                    self.at += 1;
                }
            }
        }
        if !self.open.is_empty() {
            self.skeleton.is_balanced = false;
        }
        self.end_function_without_body();
        self.skeleton
    }

    /// Records the open function as one without a body, if it has none.
    fn end_function_without_body(&mut self) {
        if let Some(function) = self.function.take_if(|function| !function.in_body) {
            self.skeleton.functions.push(FunctionSpan {
                start: function.start,
                keyword: function.keyword,
                name: function.name,
                end: function.last_end,
            });
        }
    }

    fn newline(&mut self) {
        // A blank line ends a doc comment run; a line of code has ended it already.
        if !self.line_has_comment {
            self.comment_run = None;
        }
        self.at += 1;
        self.row += 1;
        self.line_start = self.at;
        self.line_has_code = false;
        self.line_has_comment = false;
    }

    /// A token other than a comment.
    fn code(&mut self) {
        self.line_has_code = true;
        self.comment_run = None;
        self.after_type_keyword = false;
    }

    fn comment_start(&mut self) {
        if self.at == self.line_start && self.comment_run.is_none() {
            self.comment_run = Some((self.at, self.point()));
        } else if self.line_has_code {
            self.comment_run = None;
        }
        self.line_has_comment = true;
    }

    fn line_comment(&mut self) {
        self.comment_start();
        while self.peek(0).is_some_and(|byte| byte != b'\n') {
            self.at += 1;
        }
    }

    fn block_comment(&mut self) {
        self.comment_start();
        self.at += 2;
        loop {
            match self.peek(0) {
                None => {
                    self.skeleton.is_balanced = false;
                    return;
                }
                Some(b'*') if self.peek(1) == Some(b'/') => {
                    self.at += 2;
                    return;
                }
                Some(b'\n') => {
                    self.at += 1;
                    self.row += 1;
                    self.line_start = self.at;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    /// A `"string"` or `'rune'`: neither may span lines.
    fn quoted(&mut self, quote: u8) {
        self.code();
        self.at += 1;
        loop {
            match self.peek(0) {
                None | Some(b'\n') => {
                    self.skeleton.is_balanced = false;
                    return;
                }
                Some(b'\\') => self.at += 2,
                Some(byte) if byte == quote => {
                    self.at += 1;
                    return;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    fn raw_string(&mut self) {
        self.code();
        self.at += 1;
        loop {
            match self.peek(0) {
                None => {
                    self.skeleton.is_balanced = false;
                    return;
                }
                Some(b'`') => {
                    self.at += 1;
                    return;
                }
                Some(b'\n') => {
                    self.at += 1;
                    self.row += 1;
                    self.line_start = self.at;
                }
                Some(_) => self.at += 1,
            }
        }
    }

    fn open_bracket(&mut self, bracket: u8) {
        let opens_skippable_block =
            bracket == b'{' && self.open.is_empty() && !self.after_type_keyword;
        self.code();
        self.at += 1;
        if opens_skippable_block && self.skeleton.is_balanced {
            self.body_start = Some((self.at, self.point()));
        }
        if let Some(function) = &mut self.function {
            function.expects_name = false;
            function.in_body |= opens_skippable_block;
        }
        self.open.push(bracket);
    }

    fn close_bracket(&mut self, bracket: u8) {
        let expected = match bracket {
            b')' => b'(',
            b']' => b'[',
            _ => b'{',
        };
        if self.open.pop() != Some(expected) {
            self.skeleton.is_balanced = false;
        }
        if self.open.is_empty()
            && let Some(function) = &mut self.function
        {
            function.last_end = self.at + 1;
        }
        if self.open.is_empty()
            && let Some(function) = self.function.take_if(|function| function.in_body)
        {
            self.skeleton.functions.push(FunctionSpan {
                start: function.start,
                keyword: function.keyword,
                name: function.name,
                end: self.at + 1,
            });
        }
        if self.open.is_empty()
            && let Some((start, start_point)) = self.body_start.take()
            && self.at > start
        {
            self.skeleton.bodies.push(Range {
                start_byte: start,
                end_byte: self.at,
                start_point,
                end_point: self.point(),
            });
        }
        self.code();
        self.at += 1;
    }

    fn word(&mut self) {
        let start = self.at;
        let at_column_zero = start == self.line_start;
        let run = self.comment_run;
        while self.peek(0).is_some_and(is_identifier_byte) {
            self.at += 1;
        }
        let word = &self.bytes[start..self.at];
        let is_declaration = at_column_zero && DECLARATION_KEYWORDS.contains(&word);
        if let Some(function) = &mut self.function
            && !is_declaration
        {
            if function.expects_name {
                function.name = Some(start..self.at);
                function.expects_name = false;
            }
            if self.open.is_empty() {
                function.last_end = self.at;
            }
        }
        if is_declaration {
            let declaration_start = run.unwrap_or((start, Point::new(self.row, 0)));
            self.skeleton.declaration_starts.push(declaration_start);
            if self.open.is_empty() {
                self.end_function_without_body();
                self.function = (word == b"func").then_some(OpenFunction {
                    start: declaration_start.0,
                    keyword: start,
                    name: None,
                    expects_name: true,
                    in_body: false,
                    last_end: self.at,
                });
            }
        }
        self.code();
        self.after_type_keyword = word == b"struct" || word == b"interface";
    }
}

/// Bytes of identifiers, keywords and numbers; any byte of a multi-byte UTF-8 character
/// counts, which is what Unicode letters need and harmless for the rest.
fn is_identifier_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skipped(source: &str) -> Vec<&str> {
        scan(source)
            .bodies
            .iter()
            .map(|body| &source[body.start_byte..body.end_byte])
            .collect()
    }

    #[test]
    fn function_bodies_and_composite_literals_are_skipped() {
        let source = "package p\nfunc F() { return }\nvar x = []int{1, 2}\n";
        assert_eq!(skipped(source), [" return ", "1, 2"]);
    }

    #[test]
    fn struct_and_interface_bodies_are_kept_even_in_results() {
        let source = "package p\ntype T struct { A int }\nfunc F() interface{ M() } { body }\nfunc G() (r struct{}) { body }\nvar v = struct{ a int }{ 1 }\n";
        assert_eq!(skipped(source), [" body ", " body ", " 1 "]);
    }

    #[test]
    fn braces_in_strings_runes_raw_strings_and_comments_are_not_brackets() {
        let source = "package p\nfunc F() { s := \"}\"; r := '}'; t := `\n}`; /* } */ // }\n}\n";
        let skeleton = scan(source);
        assert!(skeleton.is_balanced);
        assert_eq!(skeleton.bodies.len(), 1);
        assert_eq!(&source[skeleton.bodies[0].end_byte..], "}\n");
    }

    #[test]
    fn skipped_ranges_carry_rows_and_byte_columns() {
        let source = "package p\nfunc Ä() {\n\tx()\n}\n";
        let body = &scan(source).bodies[0];
        assert_eq!(body.start_point, Point::new(1, 11));
        assert_eq!(body.end_point, Point::new(3, 0));
    }

    #[test]
    fn unclosed_brackets_strings_and_comments_are_unbalanced() {
        for source in [
            "package p\nfunc F() {\n",
            "package p\nfunc F() { ) }\n",
            "package p\nvar s = \"open\n",
            "package p\nvar s = `open\n",
            "package p\n/* open\n",
        ] {
            assert!(!scan(source).is_balanced, "{source:?}");
        }
        assert!(scan("package p\nfunc F() { if x { y() } }\n").is_balanced);
    }

    #[test]
    fn declarations_start_at_their_doc_comment() {
        let source = "package p\n\n// F does.\n/* more */\nfunc F() {}\n\n// Detached.\n\ntype T int\nvar x = 1 // trailing\nfunc G() {\n  func H() {}\n}\n";
        let starts: Vec<&str> = scan(source)
            .declaration_starts
            .iter()
            .map(|&(byte, _)| source[byte..].lines().next().unwrap_or_default())
            .collect();
        assert_eq!(
            starts,
            [
                "package p",
                "// F does.",
                "type T int",
                "var x = 1 // trailing",
                "func G() {"
            ]
        );
    }

    #[test]
    fn declaration_keywords_inside_raw_strings_and_comments_start_nothing() {
        let source = "package p\nvar t = `\nfunc F() {}\n`\n/*\nfunc G() {}\n*/\n";
        assert_eq!(scan(source).declaration_starts.len(), 2);
    }

    #[test]
    fn quick_parse_segments_skip_every_body_and_cut_only_at_declarations() {
        let count = MAX_BODIES_PER_PARSE * 2 + 5;
        let mut source = String::from("package p\n");
        for n in 0..count {
            source.push_str(&format!("// F{n} does.\nfunc F{n}() {{ body() }}\n"));
        }
        let skeleton = scan(&source);
        let segments = skeleton.quick_parse_segments();
        assert_eq!(segments.len(), 3);
        let mut kept = String::new();
        for (index, segment) in segments.iter().enumerate() {
            if index > 0 {
                let first = &source[segment[0].start_byte..];
                assert!(
                    first.starts_with("// F"),
                    "cut inside a declaration: {first:.20}"
                );
            }
            for range in segment {
                kept.push_str(&source[range.start_byte..range.end_byte.min(source.len())]);
            }
        }
        assert_eq!(kept, source.replace(" body() ", ""));
    }

    #[test]
    fn pieces_cover_the_file_without_gaps() {
        let source = "package p\n// F.\nfunc F() {}\ntype T int\n";
        let pieces = scan(source).pieces();
        let texts: Vec<&str> = pieces
            .iter()
            .map(|piece| &source[piece.start_byte..piece.end_byte.min(source.len())])
            .collect();
        assert_eq!(
            texts,
            ["package p\n", "// F.\nfunc F() {}\n", "type T int\n"]
        );
        assert_eq!(pieces[1].start_point, Point::new(1, 0));
    }
}
