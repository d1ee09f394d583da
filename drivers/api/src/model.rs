//! The per-file member model every driver fills and every front end reads.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What a public member is. Serialised in lower case (`"function"`, `"method"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberKind {
    /// A free function (Go top-level `func`, Rust `pub fn` outside an `impl`).
    Function,
    /// A function with a receiver (Go) or inside an inherent `impl` (Rust).
    Method,
    /// A Go struct type or a Rust `struct`.
    Struct,
    /// A Go interface type.
    Interface,
    /// A Rust `trait`.
    Trait,
    /// A Rust `enum`.
    Enum,
    /// Any other named type: a Go defined type or alias, a Rust `type` alias or `union`.
    Type,
}

impl MemberKind {
    /// The lowercase name used in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberKind::Function => "function",
            MemberKind::Method => "method",
            MemberKind::Struct => "struct",
            MemberKind::Interface => "interface",
            MemberKind::Trait => "trait",
            MemberKind::Enum => "enum",
            MemberKind::Type => "type",
        }
    }

    /// Whether members of this kind can be called, and so can be given a test.
    pub fn is_callable(self) -> bool {
        matches!(self, MemberKind::Function | MemberKind::Method)
    }
}

/// One public member of a source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub kind: MemberKind,
    /// The member's own name as written (Rust raw identifiers keep their `r#`).
    pub name: String,
    /// For methods: the receiver base type (Go) or the `impl` self type (Rust), without
    /// pointers, references or generic arguments. `null` for everything else.
    pub owner: Option<String>,
    /// The declaration up to its body, whitespace collapsed to single spaces.
    pub signature: String,
    /// First line of the declaration (1-based, doc comments excluded).
    pub start_line: usize,
    /// Last line of the declaration (1-based, inclusive).
    pub end_line: usize,
    /// The doc comment, comment markers stripped, or `null`.
    pub doc: Option<String>,
    /// Rust only: the module path of an inline `mod` the member sits in, when it differs
    /// from the file's module (`crate::a::inner`). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Byte range of the whole declaration in the source, doc comments excluded.
    #[serde(skip)]
    pub byte_range: std::ops::Range<usize>,
    /// The structured shape of a callable member, for generators. `None` for types.
    #[serde(skip)]
    pub callable: Option<Signature>,
}

/// The parts of a function's signature a test generator needs, as source text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Signature {
    /// The receiver: Go `(s *Set[T])` as name `s` and type `*Set[T]`; Rust `&self`, `&mut
    /// self`, `self`, `self: Box<Self>` with the name `self` and the written form as type.
    pub receiver: Option<Param>,
    /// Type parameters as written, one entry per parameter (`T any`, `T: Clone`, `'a`).
    pub type_params: Vec<String>,
    /// Parameters in order. A Go `a, b int` is two entries of type `int`.
    pub params: Vec<Param>,
    /// Result types in order: Go results, or the single Rust return type. Empty for none.
    pub results: Vec<String>,
    /// Qualifiers that change how the function is called: `async`, `unsafe`, `const`,
    /// `extern "C"`; `variadic` for a Go `...T` last parameter; and the Rust `cfg(..)`
    /// conditions the function exists under (its own, its `mod`s' and `impl`'s), outermost
    /// first, which its test needs too.
    pub qualifiers: Vec<String>,
}

impl Signature {
    /// Whether a qualifier such as `async` or `unsafe` is present.
    pub fn has_qualifier(&self, qualifier: &str) -> bool {
        self.qualifiers.iter().any(|q| q == qualifier)
    }
}

/// One parameter: its name as written (`_` or empty when unnamed) and its type as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ty: String,
}

/// A place where the parser had to recover from a syntax error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyntaxIssue {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in bytes.
    pub column: usize,
    pub message: String,
}

/// Everything a driver found in one source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMembers {
    /// The path as the user named it joined with the path below it.
    pub path: PathBuf,
    /// The driver's [`name`](crate::Driver::name).
    pub language: String,
    /// Go: the package clause's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Rust: the module path derived from the file's place under `src/` (`crate::a::b`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Public members in source order.
    pub members: Vec<Member>,
    /// Syntax errors the parser recovered from; the members are still reported.
    pub errors: Vec<SyntaxIssue>,
}

impl FileMembers {
    /// An empty result for `path` in `language`, to be filled by a driver.
    pub fn new(path: impl Into<PathBuf>, language: &str) -> Self {
        FileMembers {
            path: path.into(),
            language: language.to_owned(),
            package: None,
            module: None,
            members: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Whether the parser had to recover from a syntax error anywhere in the file.
    pub fn has_syntax_errors(&self) -> bool {
        !self.errors.is_empty()
    }
}
