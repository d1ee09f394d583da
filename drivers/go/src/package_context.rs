//! What a test generator needs to know about the package around a member: the source file's
//! imports, the types the package declares (for a generic receiver's type parameters and
//! named constraints), and every top-level name (which a model's test must not redeclare).
//!
//! The source file is parsed once per file, not once per member: the last file's context is
//! kept per thread, and the pipeline asks for one file's members in a row.

use crate::imports::{ImportSpec, file_imports};
use crate::source::non_comment_named_children;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use testsmith_driver::{FileMembers, Member, MemberKind, SourceFile, syntax};
use tree_sitter::Node;

/// A type declaration of the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeDecl {
    /// Type parameters: name and constraint as written.
    pub params: Vec<(String, String)>,
    /// The type after the name (`struct { ... }`, `interface{ ~int }`, `func() error`).
    pub ty: String,
    /// The grammar's kind of that type node (`interface_type`, `function_type`, ...).
    pub kind: String,
    /// Whether `ty` is the whole type; a struct or interface from another file of the package
    /// is known by its signature only, which stops before the body.
    pub is_complete: bool,
}

/// What one source file imports and declares, each read only when first asked for: most
/// members need neither (their signatures name no other package and no unexported type).
#[derive(Debug)]
pub(crate) struct FileContext {
    text: String,
    imports: OnceCell<Vec<ImportSpec>>,
    declarations: OnceCell<Declarations>,
}

/// The types and top-level names of a file.
#[derive(Debug, Default)]
struct Declarations {
    types: HashMap<String, TypeDecl>,
    /// Every top-level name: functions, types, variables and constants (methods excluded).
    names: HashSet<String>,
}

impl FileContext {
    pub(crate) fn imports(&self) -> &[ImportSpec] {
        self.imports
            .get_or_init(|| match crate::imports::parse_header(&self.text) {
                Some(tree) => file_imports(tree.root_node(), &self.text)
                    .into_iter()
                    .map(|found| found.spec)
                    .collect(),
                None => Vec::new(),
            })
    }

    fn declarations(&self) -> &Declarations {
        self.declarations.get_or_init(|| {
            let mut declarations = Declarations::default();
            for tree in crate::outline::top_level_trees(&self.text) {
                collect_declarations(tree.root_node(), &self.text, &mut declarations, true);
            }
            declarations
        })
    }
}

thread_local! {
    static LAST: RefCell<Option<Rc<FileContext>>> = const { RefCell::new(None) };
}

/// The context of `text`, a whole Go source file.
pub(crate) fn file_context(text: &str) -> Rc<FileContext> {
    LAST.with_borrow_mut(|last| {
        if let Some(context) = last.as_ref()
            && context.text == text
        {
            return Rc::clone(context);
        }
        let context = Rc::new(FileContext {
            text: text.to_owned(),
            imports: OnceCell::new(),
            declarations: OnceCell::new(),
        });
        *last = Some(Rc::clone(&context));
        context
    })
}

/// Adds the types and names declared under `parent`.
fn collect_declarations(parent: Node<'_>, text: &str, context: &mut Declarations, complete: bool) {
    let mut cursor = parent.walk();
    for node in parent.named_children(&mut cursor) {
        match node.kind() {
            "function_declaration" => {
                if let Some(name) = node.child_by_field_name("name") {
                    context.names.insert(syntax::text(name, text).to_owned());
                }
            }
            "type_declaration" => {
                for spec in non_comment_named_children(node) {
                    let Some(name) = spec.child_by_field_name("name") else {
                        continue;
                    };
                    let name = syntax::text(name, text).to_owned();
                    context.names.insert(name.clone());
                    if let Some(decl) = type_decl(spec, text, complete) {
                        context.types.entry(name).or_insert(decl);
                    }
                }
            }
            "var_declaration" | "const_declaration" => collect_value_names(node, text, context),
            _ => {}
        }
    }
}

fn collect_value_names(node: Node<'_>, text: &str, context: &mut Declarations) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "var_spec" | "const_spec" => {
                let mut cursor = node.walk();
                for name in node.children_by_field_name("name", &mut cursor) {
                    let name = syntax::text(name, text);
                    if name != "_" {
                        context.names.insert(name.to_owned());
                    }
                }
            }
            _ => stack.extend(non_comment_named_children(node)),
        }
    }
}

fn type_decl(spec: Node<'_>, text: &str, complete: bool) -> Option<TypeDecl> {
    let ty = spec.child_by_field_name("type")?;
    let mut params = Vec::new();
    if let Some(list) = spec.child_by_field_name("type_parameters") {
        for declaration in non_comment_named_children(list) {
            let constraint = declaration
                .child_by_field_name("type")
                .map(|constraint| syntax::text(constraint, text).to_owned())
                .unwrap_or_default();
            let mut cursor = declaration.walk();
            for name in declaration.children_by_field_name("name", &mut cursor) {
                params.push((syntax::text(name, text).to_owned(), constraint.clone()));
            }
        }
    }
    let is_body_kind = matches!(ty.kind(), "struct_type" | "interface_type");
    Some(TypeDecl {
        params,
        ty: syntax::text(ty, text).to_owned(),
        kind: ty.kind().to_owned(),
        is_complete: complete || !is_body_kind,
    })
}

/// The package around one source file: its own context, and the other files' members.
#[derive(Debug)]
pub(crate) struct PackageContext<'a> {
    file: Rc<FileContext>,
    source: &'a SourceFile<'a>,
    /// Types already looked up: a file's methods mostly share their receiver's.
    type_decls: RefCell<HashMap<String, Option<TypeDecl>>>,
}

impl<'a> PackageContext<'a> {
    pub(crate) fn new(source: &'a SourceFile<'a>) -> Self {
        PackageContext {
            file: file_context(source.text),
            source,
            type_decls: RefCell::default(),
        }
    }

    /// The declaration of the type `name`: from the source file itself, else from another
    /// file's member (by its signature, so a struct or interface there has no body).
    pub(crate) fn type_decl(&self, name: &str) -> Option<TypeDecl> {
        if let Some(known) = self.type_decls.borrow().get(name) {
            return known.clone();
        }
        let found = self.find_type_decl(name);
        self.type_decls
            .borrow_mut()
            .insert(name.to_owned(), found.clone());
        found
    }

    fn find_type_decl(&self, name: &str) -> Option<TypeDecl> {
        let found = self.source.package.iter().find_map(|file| {
            file.members
                .iter()
                .find(|member| member.name == name && !member.kind.is_callable())
                .map(|member| (file, member))
        });
        // An exported type's signature holds all but a struct's or interface's body, and only
        // an interface's body is ever needed (a named constraint): the file is parsed whole
        // only for that, or for an unexported type.
        let is_interface_here = |(file, member): &(&FileMembers, &Member)| {
            member.kind == MemberKind::Interface && file.path == self.source.members.path
        };
        let Some((_, member)) = found.filter(|found| !is_interface_here(found)) else {
            return self.file.declarations().types.get(name).cloned();
        };
        let declaration = match member.kind {
            MemberKind::Struct | MemberKind::Interface => format!("{}{{}}", member.signature),
            _ => member.signature.clone(),
        };
        let text = format!("package p\n{declaration}\n");
        let tree = syntax::parse(&crate::GO, &text)?;
        let mut declarations = Declarations::default();
        collect_declarations(tree.root_node(), &text, &mut declarations, false);
        declarations.types.remove(name)
    }

    /// The declaration of the type `name` when the source file itself declares it, read
    /// whole (a struct with its fields).
    pub(crate) fn own_type_decl(&self, name: &str) -> Option<TypeDecl> {
        self.file.declarations().types.get(name).cloned()
    }

    /// Whether `name` is declared at the package's top level, as far as testsmith can see: any
    /// name of the source file, and the exported members of the package's other files.
    pub(crate) fn declares(&self, name: &str) -> bool {
        self.file.declarations().names.contains(name)
            || self.source.package.iter().any(|file| {
                file.members
                    .iter()
                    .any(|member| member.owner.is_none() && member.name == name)
            })
    }

    /// The package's constructor of `owner`: a plain function `New{owner}` — or, failing
    /// that, `New` — returning `owner`, `*owner`, or either with an `error`, the shapes Go
    /// code builds its values with.
    pub(crate) fn constructor(&self, owner: &str) -> Option<&'a Member> {
        let returns_owner = |member: &&Member| {
            member.owner.is_none()
                && member.callable.as_ref().is_some_and(|signature| {
                    signature.type_params.is_empty()
                        && match signature.results.as_slice() {
                            [ty] | [ty, _]
                                if signature.results.len() == 1
                                    || signature.results[1] == "error" =>
                            {
                                ty.strip_prefix('*').unwrap_or(ty) == owner
                            }
                            _ => false,
                        }
                })
        };
        let callables = || {
            self.source
                .package
                .iter()
                .flat_map(|file| &file.members)
                .filter(|member| member.kind.is_callable())
        };
        let preferred = format!("New{owner}");
        callables()
            .filter(returns_owner)
            .find(|member| member.name == preferred)
            .or_else(|| {
                callables()
                    .filter(returns_owner)
                    .find(|member| member.name == "New")
            })
    }

    /// The source file's imports.
    pub(crate) fn imports(&self) -> &[ImportSpec] {
        self.file.imports()
    }

    /// The source file's import that binds `name`.
    pub(crate) fn import_named(&self, name: &str) -> Option<&ImportSpec> {
        self.file
            .imports()
            .iter()
            .find(|spec| spec.name().as_deref() == Some(name))
    }

    /// The source file's members.
    pub(crate) fn source_members(&self) -> &'a FileMembers {
        self.source.members
    }

    /// The package's name, from the package clause.
    pub(crate) fn package_name(&self) -> Option<&str> {
        self.source.members.package.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use testsmith_driver::{Driver, FileMembers};

    const STACK: &str = "package shapes\n\nimport (\n\t\"fmt\"\n\ty \"gopkg.in/yaml.v3\"\n)\n\n// Number is a number.\ntype Number interface {\n\t~int | ~float64\n}\n\ntype Stack[T any, N Number] struct{ items []T }\n\nvar (\n\tx, _ = 1, 2\n\tErr  = fmt.Errorf(\"e\")\n)\n\nconst c = 1\n\nfunc New() {}\n\nfunc (s *Stack[T, N]) Len() int { return 0 }\n";

    #[test]
    fn a_file_lists_its_imports_types_and_top_level_names() {
        let context = file_context(STACK);
        assert_eq!(
            context.imports(),
            [
                ImportSpec::new("fmt"),
                ImportSpec {
                    path: "gopkg.in/yaml.v3".to_owned(),
                    alias: Some("y".to_owned())
                }
            ]
        );
        let declarations = context.declarations();
        let mut names: Vec<&str> = declarations.names.iter().map(String::as_str).collect();
        names.sort();
        assert_eq!(names, ["Err", "New", "Number", "Stack", "c", "x"]);
        let stack = &declarations.types["Stack"];
        assert_eq!(
            stack.params,
            [
                ("T".to_owned(), "any".to_owned()),
                ("N".to_owned(), "Number".to_owned())
            ]
        );
        assert_eq!(declarations.types["Number"].kind, "interface_type");
        assert!(declarations.types["Number"].is_complete);
    }

    #[test]
    fn another_files_struct_is_known_by_its_signature() {
        let here = crate::GoDriver.analyze(std::path::Path::new("a.go"), "package p\n");
        let other = crate::GoDriver.analyze(
            std::path::Path::new("b.go"),
            "package p\n\ntype Set[K comparable] struct {\n\tm map[K]bool\n}\n",
        );
        let package: Vec<FileMembers> = vec![here.clone(), other];
        let source = SourceFile {
            members: &here,
            text: "package p\n",
            package: &package,
        };
        let context = PackageContext::new(&source);
        let set = context.type_decl("Set").expect("Set is declared in b.go");
        assert_eq!(set.params, [("K".to_owned(), "comparable".to_owned())]);
        assert!(!set.is_complete);
        assert!(context.declares("Set"));
        assert!(!context.declares("m"));
    }
}
