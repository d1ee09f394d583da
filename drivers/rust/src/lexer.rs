//! A small Rust lexer: just enough to tell code from comments, strings and character
//! literals, so that brackets and keywords can be found without a parser.
//!
//! It knows line and nested block comments, string literals with escapes, raw strings
//! (`r#".."#`, any number of hashes), byte and C string prefixes, raw identifiers (`r#type`),
//! and character literals as opposed to lifetimes and labels (`'a'` and `'\n'` against `'a`
//! and `'outer:`). Everything else is an identifier, a number or a single punctuation byte:
//! multi-byte operators are left to the caller, who sees adjacent bytes by their offsets.
//!
//! It never fails: an unterminated literal or comment runs to the end of the file and says so
//! on its token, which is how callers report them.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A keyword or identifier, raw identifiers (`r#type`) included.
    Ident,
    /// `'a`, `'static`, a loop label.
    Lifetime,
    /// A number, suffix included (`1_000u32`, `0xff`).
    Number,
    /// A string literal of any kind: `".."`, `b".."`, `c".."`, `r#".."#`, `br".."`.
    Str { terminated: bool },
    /// A character or byte literal: `'a'`, `b'\n'`.
    Char { terminated: bool },
    /// `// ..` to the end of the line, doc comments included.
    LineComment,
    /// `/* .. */`, nested ones included.
    BlockComment { terminated: bool },
    /// One byte of punctuation: `{`, `;`, `-`, `>`, ...
    Punct(u8),
}

impl TokenKind {
    /// Whether this token is a comment, which carries no meaning for brackets or items.
    pub(crate) fn is_comment(self) -> bool {
        matches!(
            self,
            TokenKind::LineComment | TokenKind::BlockComment { .. }
        )
    }

    /// Whether this is a literal or comment that runs to the end of the file unclosed.
    pub(crate) fn is_unterminated(self) -> bool {
        matches!(
            self,
            TokenKind::Str { terminated: false }
                | TokenKind::Char { terminated: false }
                | TokenKind::BlockComment { terminated: false }
        )
    }
}

/// One token: its kind and its byte range in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub(crate) fn text<'s>(&self, source: &'s str) -> &'s str {
        &source[self.start..self.end]
    }

    pub(crate) fn is_punct(&self, byte: u8) -> bool {
        self.kind == TokenKind::Punct(byte)
    }
}

/// The tokens of a source text, whitespace skipped, comments included.
#[derive(Debug)]
pub(crate) struct Lexer<'s> {
    bytes: &'s [u8],
    at: usize,
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(source: &'s str) -> Lexer<'s> {
        let bytes = source.as_bytes();
        let mut at = 0;
        // A shebang line (`#!/usr/bin/env ..`) is not Rust; `#![attr]` is.
        if bytes.starts_with(b"#!") && !is_inner_attribute_after_shebang_mark(&bytes[2..]) {
            at = bytes
                .iter()
                .position(|&byte| byte == b'\n')
                .unwrap_or(bytes.len());
        }
        Lexer { bytes, at }
    }

    fn peek(&self, offset: usize) -> u8 {
        self.bytes.get(self.at + offset).copied().unwrap_or(0)
    }

    fn skip_whitespace(&mut self) {
        while self.at < self.bytes.len() && self.bytes[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }

    fn skip_ident_bytes(&mut self) {
        while self.at < self.bytes.len() && is_ident_continue(self.bytes[self.at]) {
            self.at += 1;
        }
    }

    fn line_comment(&mut self) -> TokenKind {
        self.at = self.bytes[self.at..]
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(self.bytes.len(), |newline| self.at + newline);
        TokenKind::LineComment
    }

    fn block_comment(&mut self) -> TokenKind {
        self.at += 2;
        let mut depth = 1;
        while self.at < self.bytes.len() {
            match (self.bytes[self.at], self.peek(1)) {
                (b'/', b'*') => {
                    depth += 1;
                    self.at += 2;
                }
                (b'*', b'/') => {
                    depth -= 1;
                    self.at += 2;
                    if depth == 0 {
                        return TokenKind::BlockComment { terminated: true };
                    }
                }
                _ => self.at += 1,
            }
        }
        TokenKind::BlockComment { terminated: false }
    }

    /// A `"..."` string whose opening quote is at the current position.
    fn quoted_string(&mut self) -> TokenKind {
        self.at += 1;
        while self.at < self.bytes.len() {
            match self.bytes[self.at] {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return TokenKind::Str { terminated: true };
                }
                _ => self.at += 1,
            }
        }
        self.at = self.bytes.len();
        TokenKind::Str { terminated: false }
    }

    /// A raw string whose hashes (`hashes` of them) and opening quote start at the current
    /// position.
    fn raw_string(&mut self, hashes: usize) -> TokenKind {
        self.at += hashes + 1;
        while self.at < self.bytes.len() {
            if self.bytes[self.at] == b'"' {
                let closing = &self.bytes[self.at + 1..];
                if closing.len() >= hashes && closing[..hashes].iter().all(|&b| b == b'#') {
                    self.at += 1 + hashes;
                    return TokenKind::Str { terminated: true };
                }
            }
            self.at += 1;
        }
        TokenKind::Str { terminated: false }
    }

    /// What follows `'`: a character literal or a lifetime.
    fn quote(&mut self) -> TokenKind {
        let start = self.at;
        self.at += 1;
        if self.peek(0) == b'\\' {
            // An escape: `'\n'`, `'\''`, `'\u{1F600}'`. It ends at the next quote on the line.
            self.at += 2;
            while self.at < self.bytes.len() && !matches!(self.bytes[self.at], b'\'' | b'\n') {
                self.at += 1;
            }
            if self.peek(0) == b'\'' {
                self.at += 1;
                return TokenKind::Char { terminated: true };
            }
            return TokenKind::Char { terminated: false };
        }
        let first = self.peek(0);
        let width = utf8_width(first);
        if first != 0 && self.peek(width) == b'\'' {
            self.at += width + 1;
            return TokenKind::Char { terminated: true };
        }
        if first != 0 && is_ident_start(first) {
            self.skip_ident_bytes();
            return TokenKind::Lifetime;
        }
        self.at = start + 1;
        TokenKind::Char { terminated: false }
    }

    /// An identifier or keyword at the current position, or the literal it prefixes
    /// (`b"..."`, `r#"..."#`, `br"..."`, `c"..."`), or a raw identifier (`r#type`).
    fn ident_or_prefixed_literal(&mut self) -> TokenKind {
        let start = self.at;
        self.skip_ident_bytes();
        let prefix = &self.bytes[start..self.at];
        let next = self.peek(0);
        match (prefix, next) {
            (b"b" | b"c", b'"') => self.quoted_string(),
            (b"r" | b"br" | b"cr", b'"' | b'#') => {
                let hashes = self.bytes[self.at..]
                    .iter()
                    .take_while(|&&byte| byte == b'#')
                    .count();
                if self.peek(hashes) == b'"' {
                    self.raw_string(hashes)
                } else if prefix == b"r" && hashes == 1 && is_ident_start(self.peek(1)) {
                    self.at += 1;
                    self.skip_ident_bytes();
                    TokenKind::Ident
                } else {
                    TokenKind::Ident
                }
            }
            // `b'x'` is a byte literal: the quote that follows is lexed on its own as a
            // character literal, which is what it is apart from the prefix.
            _ => TokenKind::Ident,
        }
    }

    fn number(&mut self) -> TokenKind {
        self.skip_ident_bytes();
        // A fraction (`1.5`), but not a range (`1..2`) or a method call (`1.max(2)`).
        if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
            self.at += 1;
            self.skip_ident_bytes();
        }
        TokenKind::Number
    }
}

impl Iterator for Lexer<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        self.skip_whitespace();
        let start = self.at;
        let first = *self.bytes.get(start)?;
        let kind = match (first, self.peek(1)) {
            (b'/', b'/') => self.line_comment(),
            (b'/', b'*') => self.block_comment(),
            (b'"', _) => self.quoted_string(),
            (b'\'', _) => self.quote(),
            (byte, _) if byte.is_ascii_digit() => self.number(),
            (byte, _) if is_ident_start(byte) => self.ident_or_prefixed_literal(),
            (byte, _) => {
                self.at += 1;
                TokenKind::Punct(byte)
            }
        };
        self.at = self.at.min(self.bytes.len());
        Some(Token {
            kind,
            start,
            end: self.at,
        })
    }
}

/// Whether the bytes after a leading `#!` open an inner attribute (`#![..]`, perhaps with
/// whitespace or comments before the bracket) rather than a shebang line.
fn is_inner_attribute_after_shebang_mark(rest: &[u8]) -> bool {
    let Ok(rest) = std::str::from_utf8(rest) else {
        return false;
    };
    Lexer {
        bytes: rest.as_bytes(),
        at: 0,
    }
    .find(|token| !token.kind.is_comment())
    .is_some_and(|token| token.is_punct(b'['))
}

/// Bytes that can start an identifier. Every byte of a multi-byte character counts: Rust
/// identifiers may be Unicode, and no Unicode character is Rust punctuation.
fn is_ident_start(byte: u8) -> bool {
    byte.is_ascii_alphabetic() || byte == b'_' || byte >= 0x80
}

fn is_ident_continue(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte >= 0x80
}

/// The length of the UTF-8 character whose first byte is `first`.
fn utf8_width(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(TokenKind, &str)> {
        Lexer::new(source)
            .map(|token| (token.kind, token.text(source)))
            .collect()
    }

    const CLOSED_STR: TokenKind = TokenKind::Str { terminated: true };
    const CLOSED_CHAR: TokenKind = TokenKind::Char { terminated: true };

    #[test]
    fn braces_inside_strings_and_comments_are_not_punctuation() {
        let source = "a \"{\" /* } /* { */ } */ // {\nb";
        let tokens = kinds(source);
        assert_eq!(
            tokens,
            [
                (TokenKind::Ident, "a"),
                (CLOSED_STR, "\"{\""),
                (
                    TokenKind::BlockComment { terminated: true },
                    "/* } /* { */ } */"
                ),
                (TokenKind::LineComment, "// {"),
                (TokenKind::Ident, "b"),
            ]
        );
    }

    #[test]
    fn escaped_quotes_do_not_end_a_string() {
        assert_eq!(kinds(r#""a\"b\\" x"#)[0], (CLOSED_STR, r#""a\"b\\""#));
    }

    #[test]
    fn raw_strings_end_only_at_a_quote_with_as_many_hashes() {
        let source = r###"r#"a "quoted" "#x r"}" br##"y"#"## cr"z""###;
        let tokens = kinds(source);
        assert_eq!(
            tokens,
            [
                (CLOSED_STR, r##"r#"a "quoted" "#"##),
                (TokenKind::Ident, "x"),
                (CLOSED_STR, r#"r"}""#),
                (CLOSED_STR, r###"br##"y"#"##"###),
                (CLOSED_STR, r#"cr"z""#),
            ]
        );
    }

    #[test]
    fn byte_and_c_strings_are_strings() {
        assert_eq!(
            kinds(r#"b"}" c"{""#),
            [(CLOSED_STR, r#"b"}""#), (CLOSED_STR, r#"c"{""#)]
        );
    }

    #[test]
    fn raw_identifiers_are_identifiers() {
        assert_eq!(
            kinds("r#fn r#type"),
            [(TokenKind::Ident, "r#fn"), (TokenKind::Ident, "r#type")]
        );
    }

    #[test]
    fn character_literals_are_told_from_lifetimes_and_labels() {
        let source = "'a' '\\'' '\\u{1F600}' 'ä' b'}' &'a str 'outer: 'static";
        let tokens: Vec<TokenKind> = kinds(source).into_iter().map(|(kind, _)| kind).collect();
        assert_eq!(
            tokens,
            [
                CLOSED_CHAR,
                CLOSED_CHAR,
                CLOSED_CHAR,
                CLOSED_CHAR,
                TokenKind::Ident,
                CLOSED_CHAR,
                TokenKind::Punct(b'&'),
                TokenKind::Lifetime,
                TokenKind::Ident,
                TokenKind::Lifetime,
                TokenKind::Punct(b':'),
                TokenKind::Lifetime,
            ]
        );
    }

    #[test]
    fn a_brace_as_a_character_is_a_literal() {
        assert_eq!(
            kinds("'{' '}'"),
            [(CLOSED_CHAR, "'{'"), (CLOSED_CHAR, "'}'")]
        );
    }

    #[test]
    fn nested_block_comments_end_at_the_outermost_close() {
        assert_eq!(kinds("/* a /* b */ c */ d")[1], (TokenKind::Ident, "d"));
    }

    #[test]
    fn unterminated_literals_and_comments_run_to_the_end_and_say_so() {
        assert!(kinds("\"abc").last().unwrap().0.is_unterminated());
        assert!(kinds("r#\"abc\"").last().unwrap().0.is_unterminated());
        assert!(kinds("/* /* */").last().unwrap().0.is_unterminated());
        assert!(kinds("' ").last().unwrap().0.is_unterminated());
        assert!(!kinds("\"abc\"").last().unwrap().0.is_unterminated());
    }

    #[test]
    fn numbers_keep_fractions_but_not_ranges_or_method_calls() {
        let texts =
            |source| -> Vec<&str> { kinds(source).into_iter().map(|(_, text)| text).collect() };
        assert_eq!(texts("1.5e3"), ["1.5e3"]);
        assert_eq!(texts("0..2"), ["0", ".", ".", "2"]);
        assert_eq!(texts("1.max(2)"), ["1", ".", "max", "(", "2", ")"]);
    }

    #[test]
    fn a_shebang_line_is_skipped_but_an_inner_attribute_is_not() {
        assert_eq!(kinds("#!/usr/bin/env x'\nfn")[0], (TokenKind::Ident, "fn"));
        assert_eq!(kinds("#![deny(x)]")[0], (TokenKind::Punct(b'#'), "#"));
        assert_eq!(kinds("#! /* c */ [a]")[0], (TokenKind::Punct(b'#'), "#"));
    }
}
