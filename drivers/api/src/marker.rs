//! testsmith's scaffold marker: the comment line above every scaffold it writes, recording a
//! hash of the member's signature and of the scaffold itself.
//!
//! It lets a later run tell an untouched scaffold (safe to regenerate when the signature
//! changes, or to replace with a real test under `--llm`) from one a person has edited (never
//! touched again). Both Go and Rust spell it as a `//` comment:
//!
//! ```text
//! // testsmith:scaffold sig=1a2b3c4d body=5e6f7a8b
//! ```

use sha2::{Digest, Sha256};

const PREFIX: &str = "// testsmith:scaffold ";

/// What the marker above an existing scaffold says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldMark {
    /// The signature hash recorded when the scaffold was written.
    pub signature_hash: String,
    /// Whether the scaffold below the marker is byte-for-byte (whitespace aside) what
    /// testsmith wrote.
    pub is_unedited: bool,
}

/// A short, stable hash of a member's signature; whitespace differences do not count.
pub fn signature_hash(signature: &str) -> String {
    short_hash(&crate::syntax::collapse_whitespace(signature))
}

/// The marker line for a scaffold whose text (everything below the marker) is `body`.
pub fn marker_line(signature_hash: &str, body: &str) -> String {
    format!("{PREFIX}sig={signature_hash} body={}", body_hash(body))
}

/// Reads a marker line; `body` is the test's text below it. `None` if `line` is no marker.
pub fn read_marker(line: &str, body: &str) -> Option<ScaffoldMark> {
    let rest = line.trim().strip_prefix(PREFIX.trim_end())?.trim();
    let mut signature_hash = None;
    let mut recorded_body = None;
    for field in rest.split_whitespace() {
        if let Some(value) = field.strip_prefix("sig=") {
            signature_hash = Some(value);
        } else if let Some(value) = field.strip_prefix("body=") {
            recorded_body = Some(value);
        }
    }
    Some(ScaffoldMark {
        signature_hash: signature_hash?.to_owned(),
        is_unedited: recorded_body? == body_hash(body),
    })
}

/// Whether `line` looks like a scaffold marker at all.
pub fn is_marker_line(line: &str) -> bool {
    line.trim_start().starts_with(PREFIX.trim_end())
}

fn body_hash(body: &str) -> String {
    short_hash(&crate::syntax::collapse_whitespace(body))
}

fn short_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest[..4]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "func TestA(t *testing.T) {\n\t// TODO\n}";

    #[test]
    fn a_fresh_marker_reads_back_as_unedited() {
        let line = marker_line("1a2b3c4d", BODY);
        let mark = read_marker(&line, BODY).expect("a marker");
        assert_eq!(mark.signature_hash, "1a2b3c4d");
        assert!(mark.is_unedited);
    }

    #[test]
    fn reformatting_the_scaffold_is_not_an_edit() {
        let line = marker_line("1a2b3c4d", BODY);
        let reindented = BODY.replace('\t', "    ");
        assert!(read_marker(&line, &reindented).unwrap().is_unedited);
    }

    #[test]
    fn changing_the_scaffold_is_an_edit() {
        let line = marker_line("1a2b3c4d", BODY);
        let edited = BODY.replace("// TODO", "if A() != 1 { t.Fatal() }");
        assert!(!read_marker(&line, &edited).unwrap().is_unedited);
    }

    #[test]
    fn signature_hash_ignores_whitespace_but_not_types() {
        assert_eq!(
            signature_hash("func A(x int)"),
            signature_hash("func  A(x\n\tint)")
        );
        assert_ne!(
            signature_hash("func A(x int)"),
            signature_hash("func A(x int64)")
        );
        assert_eq!(signature_hash("func A()").len(), 8);
    }

    #[test]
    fn ordinary_comments_are_not_markers() {
        assert!(read_marker("// testsmith is nice", BODY).is_none());
        assert!(!is_marker_line("// TODO"));
        assert!(is_marker_line("\t// testsmith:scaffold sig=1 body=2"));
    }
}
