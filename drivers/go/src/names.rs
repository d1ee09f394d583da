//! Go naming rules: what "exported" means, a method receiver's base type, and how a member is
//! named for people (`(*Parser).Parse`).

use crate::fields;
use testsmith_driver::{Member, syntax};
use tree_sitter::Node;

/// Whether a Go identifier is exported: its first character is an upper-case letter, Unicode
/// category Lu (the Go spec; `unicode.IsUpper`).
///
/// Rust's `char::is_uppercase` is the Unicode `Uppercase` property, which is Lu plus
/// `Other_Uppercase`. The extra characters (Roman numerals `Ⅰ`, circled and squared letters
/// `Ⓐ`, `🄰`) are not letters, so none of them can start a Go identifier: over every
/// character Go 1.19 accepts as an identifier start (all 131,242 `unicode.IsLetter` runes and
/// `_`), `is_uppercase` and `unicode.IsUpper` agree — checked by a throwaway program comparing
/// both over the whole range. Title-case letters (Lt, `ǅ`) are not exported in either.
/// tree-sitter is laxer than Go (it accepts `XID_Start`, which includes Nl), so an identifier
/// like `Ⅻx` counts as exported here; Go rejects such a file outright.
pub fn is_exported(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_uppercase)
}

/// The base type name of a method receiver type: `*Set[T]` → `Set`, `(*T)` → `T`.
///
/// `None` for a receiver Go does not allow (a qualified `pkg.T`, a literal type): such a
/// method has no owner in this package and is not a member.
pub(crate) fn receiver_base_type<'s>(ty: Node<'_>, source: &'s str) -> Option<&'s str> {
    match ty.kind() {
        "parenthesized_type" | "pointer_type" => {
            let mut cursor = ty.walk();
            let inner = ty
                .named_children(&mut cursor)
                .find(|child| child.kind() != "comment")?;
            receiver_base_type(inner, source)
        }
        "generic_type" => receiver_base_type(fields::TYPE.of(ty)?, source),
        "type_identifier" | "identifier" => Some(syntax::text(ty, source)),
        _ => None,
    }
}

/// Whether a receiver type as written is a pointer: `*T`, `(*T)`, `*Set[T]`.
pub(crate) fn is_pointer_type(ty: &str) -> bool {
    ty.trim_start_matches(|c: char| c == '(' || c.is_whitespace())
        .starts_with('*')
}

/// How Go people name a member: `(*Parser).Parse` for a pointer receiver, `Parser.Parse` for
/// a value receiver (the form `go doc` and stack traces use), the plain name otherwise.
pub(crate) fn display_name(member: &Member) -> String {
    match &member.owner {
        Some(owner) if has_pointer_receiver(member) => format!("(*{owner}).{}", member.name),
        Some(owner) => format!("{owner}.{}", member.name),
        None => member.name.clone(),
    }
}

/// Whether a method's receiver is a pointer. The structured signature is skipped when a
/// member is serialised, so a member read back from JSON is judged by its signature text.
fn has_pointer_receiver(member: &Member) -> bool {
    if let Some(receiver) = member
        .callable
        .as_ref()
        .and_then(|callable| callable.receiver.as_ref())
    {
        return is_pointer_type(&receiver.ty);
    }
    receiver_type_in_signature(&member.signature).is_some_and(is_pointer_type)
}

/// The receiver type in a collapsed method signature: `func (p *Parser) Parse()` → `*Parser`.
fn receiver_type_in_signature(signature: &str) -> Option<&str> {
    let inside = signature
        .strip_prefix("func")?
        .trim_start()
        .strip_prefix('(')?;
    let mut depth = 0usize;
    let close = inside.char_indices().find_map(|(at, c)| match c {
        '(' | '[' => {
            depth += 1;
            None
        }
        ']' => {
            depth = depth.saturating_sub(1);
            None
        }
        ')' if depth == 0 => Some(at),
        ')' => {
            depth -= 1;
            None
        }
        _ => None,
    })?;
    let receiver = inside[..close].trim();
    // `p *Parser` names the receiver; `*Parser` and `(*Parser)` do not.
    match receiver.split_once(' ') {
        Some((name, ty)) if name.chars().all(|c| c == '_' || c.is_alphanumeric()) => {
            Some(ty.trim())
        }
        _ => Some(receiver),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::{MemberKind, Param, Signature};

    #[test]
    fn ascii_and_unicode_upper_case_initials_are_exported() {
        for name in ["Parse", "Ärger", "Σ", "Ωmega", "Ǆ"] {
            assert!(is_exported(name), "{name} should be exported");
        }
    }

    #[test]
    fn lower_case_title_case_underscore_and_uncased_initials_are_not_exported() {
        // `ǅ` is title case (Lt), `世` has no case (Lo): Go exports neither.
        for name in ["parse", "ärger", "_Parse", "ǅx", "世界", "", "_"] {
            assert!(!is_exported(name), "{name:?} should not be exported");
        }
    }

    #[test]
    fn pointer_types_are_recognised_through_parentheses() {
        assert!(is_pointer_type("*Set[T]"));
        assert!(is_pointer_type("(*T)"));
        assert!(!is_pointer_type("Set[*T]"));
        assert!(!is_pointer_type("T"));
    }

    #[test]
    fn receiver_type_is_read_from_a_signature() {
        assert_eq!(
            receiver_type_in_signature("func (p *Parser) Parse() error"),
            Some("*Parser")
        );
        assert_eq!(
            receiver_type_in_signature("func (*Parser) Parse()"),
            Some("*Parser")
        );
        assert_eq!(
            receiver_type_in_signature("func (m Map[K, V]) Get(k K) V"),
            Some("Map[K, V]")
        );
        assert_eq!(
            receiver_type_in_signature("func (p (*T)) M()"),
            Some("(*T)")
        );
        assert_eq!(receiver_type_in_signature("func Parse()"), None);
    }

    fn method(receiver_ty: &str, with_callable: bool) -> Member {
        Member {
            kind: MemberKind::Method,
            name: "Parse".to_owned(),
            owner: Some("Parser".to_owned()),
            signature: format!("func (p {receiver_ty}) Parse() error"),
            start_line: 1,
            end_line: 1,
            doc: None,
            module: None,
            byte_range: 0..0,
            callable: with_callable.then(|| Signature {
                receiver: Some(Param {
                    name: "p".to_owned(),
                    ty: receiver_ty.to_owned(),
                }),
                ..Signature::default()
            }),
        }
    }

    #[test]
    fn display_name_marks_pointer_receivers_the_way_go_doc_does() {
        assert_eq!(display_name(&method("*Parser", true)), "(*Parser).Parse");
        assert_eq!(display_name(&method("Parser", true)), "Parser.Parse");
    }

    #[test]
    fn display_name_survives_a_json_round_trip_without_the_structured_signature() {
        assert_eq!(display_name(&method("*Parser", false)), "(*Parser).Parse");
        assert_eq!(display_name(&method("Parser", false)), "Parser.Parse");
    }
}
