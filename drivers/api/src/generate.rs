//! The model of test generation shared by drivers and the pipeline: existing tests, new tests,
//! and the changes a driver merges into a test file.

use crate::FileMembers;
use std::ops::Range;

/// What a driver is given to write tests for one source file.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile<'a> {
    /// The file's members, as this driver's [`analyze`](crate::Driver::analyze) found them.
    pub members: &'a FileMembers,
    /// The file's whole text.
    pub text: &'a str,
    /// Every analysed source file of the same package (Go: the same folder; Rust: the same
    /// folder), this one included, for context such as a receiver type's type parameters.
    pub package: &'a [FileMembers],
}

/// A test function found in a test file (or in an inline test module of a source file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingTest {
    /// The test function's name.
    pub name: String,
    /// The whole test in its file: marker comment, attributes and doc comments included.
    pub byte_range: Range<usize>,
    /// Present when the test carries testsmith's scaffold marker.
    pub scaffold: Option<crate::marker::ScaffoldMark>,
}

/// One test written by a generator (template or LLM), ready to be merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCode {
    /// The test function's name.
    pub name: String,
    /// The whole test: marker comment (for scaffolds), attributes and function, formatted as
    /// the language's formatter would, without a trailing newline.
    pub code: String,
    /// Imports the test needs, in the language's own spelling (Go: `"reflect"` or
    /// `yaml "gopkg.in/yaml.v3"`). The driver merges them with the file's imports.
    pub imports: Vec<String>,
}

/// A change to one test file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestChange {
    /// Append a new test.
    Add(TestCode),
    /// Replace an unedited scaffold (its [`ExistingTest::byte_range`]) with a new version.
    Replace { range: Range<usize>, test: TestCode },
}

impl TestChange {
    pub fn test(&self) -> &TestCode {
        match self {
            TestChange::Add(test) | TestChange::Replace { test, .. } => test,
        }
    }
}
