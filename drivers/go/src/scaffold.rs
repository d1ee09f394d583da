//! gotests' table-driven scaffold for one function or method, gofmt-exact.
//!
//! ```go
//! // (tabs shown as four spaces)
//! func TestNewRect(t *testing.T) {
//!     type args struct {
//!         w float64
//!         h float64
//!     }
//!     tests := []struct {
//!         name    string
//!         args    args
//!         want    *Rect
//!         wantErr bool
//!     }{
//!         // TODO: Add test cases.
//!     }
//!     for _, tt := range tests {
//!         t.Run(tt.name, func(t *testing.T) {
//!             got, err := NewRect(tt.args.w, tt.args.h)
//!             ...
//! ```
//!
//! Unlike gotests, a receiver is built the way the package builds its values: with its
//! constructor (`NewT(...)` or `New(...)` returning `T`, `*T`, or either with an `error`,
//! which is checked), its arguments in the table as `newArgs`; without one, from its zero
//! value (`new(T)` for a pointer receiver, `var r T` for a value), which compiles for every
//! type, not only structs. Generic members are instantiated with types their constraints
//! allow (see [`crate::generics`]).

use crate::external::{external_import_path, qualify};
use crate::generics;
use crate::imports::ImportSpec;
use crate::names::is_pointer_type;
use crate::package_context::PackageContext;
use crate::tests_file::test_name;
use crate::types::{self, ParsedType};
use std::collections::HashMap;
use testsmith_driver::{Member, Param, Signature, SourceFile, TestCode, marker};

/// Names the scaffold's own code uses inside the subtest; a receiver variable must not take
/// one of them.
const RESERVED: &[&str] = &[
    "t", "tt", "tests", "args", "newArgs", "got", "err", "reflect", "testing",
];

/// The scaffold for `member`, marker line first.
pub(crate) fn scaffold(source: &SourceFile<'_>, member: &Member) -> Result<TestCode, String> {
    scaffold_in(&PackageContext::new(source), member)
}

/// The scaffolds for several members of one file, which share what is learnt of the
/// package around it (its types, the file's imports).
pub(crate) fn scaffold_all(
    source: &SourceFile<'_>,
    members: &[&Member],
) -> Vec<Result<TestCode, String>> {
    let package = PackageContext::new(source);
    members
        .iter()
        .map(|member| scaffold_in(&package, member))
        .collect()
}

/// The flat test a model completes for `member` (see [`crate::prompt`]): each input a local
/// to fill (`k := … // float64`), the receiver built, the call made, its results compared
/// with `want` values to fill. `None` when the member gets no scaffold either.
pub(crate) fn flat_skeleton(
    source: &SourceFile<'_>,
    member: &Member,
    test_name: &str,
) -> Option<String> {
    let package = PackageContext::new(source);
    let signature = member.callable.as_ref()?;
    let mut shape = Shape::of(member, signature, &package).ok()?;
    // Without a constructor, a struct is built as a literal whose fields the model fills:
    // measured with a 0.5B model, from an empty `new(Stack[int])` it wanted `Pop` to return
    // a value, and its zero value makes most results trivial.
    if let (Some((var, declaration)), Some(owner)) = (&mut shape.receiver, &member.owner)
        && shape.constructor_args.is_empty()
        && let Some(fields) = struct_fields(&package, owner)
    {
        let pointer = declaration.contains(":= new(");
        let ty = if pointer {
            declaration
                .split(":= new(")
                .nth(1)
                .map(|rest| rest.trim_end_matches(')'))
        } else {
            declaration.rsplit(' ').next()
        };
        if let Some(ty) = ty {
            let amp = if pointer { "&" } else { "" };
            *declaration = format!("{var} := {amp}{ty}{{…}} // {fields}");
        }
    }
    Some(shape.render_flat(test_name))
}

/// The fields of struct `owner`, declared in the source file, as written (`R float64; name
/// string`), when it has any: an internal test can set unexported ones too.
fn struct_fields(package: &PackageContext<'_>, owner: &str) -> Option<String> {
    let decl = package.own_type_decl(owner)?;
    if decl.kind != "struct_type" || !decl.is_complete {
        return None;
    }
    let body = decl.ty.trim().strip_prefix("struct")?.trim();
    let body = body.strip_prefix('{')?.strip_suffix('}')?;
    let fields: Vec<&str> = body
        .split(['\n', ';'])
        .map(|field| field.split("//").next().unwrap_or("").trim())
        .filter(|field| !field.is_empty())
        .collect();
    (!fields.is_empty()).then(|| fields.join("; "))
}

fn scaffold_in(package: &PackageContext<'_>, member: &Member) -> Result<TestCode, String> {
    let signature = member
        .callable
        .as_ref()
        .ok_or_else(|| format!("{} is not a function or method", member.name))?;
    let shape = Shape::of(member, signature, package)?;
    let name = test_name(member);
    let mut body = shape.render(&name);
    let mut imports = vec![ImportSpec::new("testing")];
    if let Some(path) = external_import_path(package.source_members()) {
        let own = package.package_name().unwrap_or_default();
        body = qualify(&body, own, |name| package.declares(name))?;
        imports.push(ImportSpec::new(path));
    }
    if body.contains("reflect.DeepEqual") {
        imports.push(ImportSpec::new("reflect"));
    }
    imports.extend(shape.imports);
    imports.sort();
    imports.dedup();
    let marker = marker::marker_line(&marker::signature_hash(&member.signature), &body);
    Ok(TestCode {
        name,
        code: format!("{marker}\n{body}"),
        imports: imports.iter().map(ImportSpec::render).collect(),
    })
}

/// Everything the scaffold's text is made of.
#[derive(Debug)]
struct Shape {
    /// `NewRect`, `Rect.Area`: how failure messages name the member, as gotests does.
    display: String,
    /// The receiver variable and how it is declared (`r := new(Rect)`), or built by the
    /// package's constructor (its lines, and its arguments' fields).
    receiver: Option<(String, String)>,
    /// The receiver's type when it is a pointer (`*Stack[int]`): a method without results
    /// changes what it points to.
    pointer_receiver: Option<String>,
    constructor_args: Vec<(String, String)>,
    /// `Map[int, int]`, `r.Scale`.
    callee: String,
    /// Field name and type of each argument (a variadic one as a slice).
    args: Vec<(String, String)>,
    is_variadic: bool,
    /// The result types, a trailing `error` excluded.
    results: Vec<String>,
    returns_error: bool,
    /// Result indexes whose type is a function, printed with `%p` (vet rejects `%v`).
    function_results: Vec<usize>,
    imports: Vec<ImportSpec>,
}

impl Shape {
    fn of(
        member: &Member,
        signature: &Signature,
        package: &PackageContext<'_>,
    ) -> Result<Shape, String> {
        let type_args: HashMap<String, String>;
        let mut receiver = None;
        let mut pointer_receiver = None;
        let mut constructor_args = Vec::new();
        // Every type the scaffold writes, for the imports it needs.
        let mut used_types = Vec::new();
        let callee;
        let display;
        match (&signature.receiver, &member.owner) {
            (Some(param), Some(owner)) => {
                let (ty, receiver_args) = receiver_type(param, owner, signature, package)?;
                type_args = receiver_args;
                used_types.push(ty.clone());
                let var = receiver_variable(param, owner, package);
                let built = type_args
                    .is_empty()
                    .then(|| constructed(&var, owner, package))
                    .flatten();
                let declaration = match built {
                    Some(built) => {
                        constructor_args = built.args;
                        used_types.extend(built.used_types);
                        built.lines
                    }
                    None if is_pointer_type(&param.ty) => format!("{var} := new({ty})"),
                    None => format!("var {var} {ty}"),
                };
                callee = format!("{var}.{}", member.name);
                display = format!("{owner}.{}", member.name);
                if is_pointer_type(&param.ty) {
                    pointer_receiver = Some(format!("*{}", ty.trim_start_matches('*')));
                }
                receiver = Some((var, declaration));
            }
            _ => {
                let params = type_param_constraints(&signature.type_params);
                let chosen = generics::instantiate(&params, package)?;
                let instantiation: Vec<&str> = params
                    .iter()
                    .map(|(name, _)| chosen[name].as_str())
                    .collect();
                callee = if instantiation.is_empty() {
                    member.name.clone()
                } else {
                    format!("{}[{}]", member.name, instantiation.join(", "))
                };
                display = member.name.clone();
                used_types.extend(instantiation.iter().map(|ty| (*ty).to_owned()));
                type_args = chosen;
            }
        }

        let mut args = Vec::new();
        for (index, param) in signature.params.iter().enumerate() {
            let written = param.ty.strip_prefix("...").unwrap_or(&param.ty);
            let ty = concrete(written, &type_args)?;
            used_types.push(ty.clone());
            let field = match param.name.as_str() {
                "" | "_" => format!("in{index}"),
                name => name.to_owned(),
            };
            let ty = if param.ty.starts_with("...") {
                format!("[]{ty}")
            } else {
                ty
            };
            args.push((field, ty));
        }

        let mut results = Vec::new();
        for result in &signature.results {
            let ty = concrete(result, &type_args)?;
            used_types.push(ty.clone());
            results.push(ty);
        }
        let returns_error = results.last().is_some_and(|last| last == "error");
        if returns_error {
            results.pop();
        }
        let function_results = results
            .iter()
            .enumerate()
            .filter(|(_, ty)| is_function_type(ty, package))
            .map(|(index, _)| index)
            .collect();
        let imports = imports_for(&used_types, package)?;
        Ok(Shape {
            display,
            receiver,
            pointer_receiver,
            constructor_args,
            callee,
            args,
            is_variadic: signature.has_qualifier(crate::VARIADIC),
            results,
            returns_error,
            function_results,
            imports,
        })
    }

    fn render(&self, test_name: &str) -> String {
        let mut out = format!("func {test_name}(t *testing.T) {{\n");
        if !self.constructor_args.is_empty() {
            out.push_str("\ttype newArgs struct {\n");
            out.push_str(&aligned_fields("\t\t", &self.constructor_args));
            out.push_str("\t}\n");
        }
        if !self.args.is_empty() {
            out.push_str("\ttype args struct {\n");
            out.push_str(&aligned_fields("\t\t", &self.args));
            out.push_str("\t}\n");
        }
        let mut fields = vec![("name".to_owned(), "string".to_owned())];
        if !self.constructor_args.is_empty() {
            fields.push(("newArgs".to_owned(), "newArgs".to_owned()));
        }
        if !self.args.is_empty() {
            fields.push(("args".to_owned(), "args".to_owned()));
        }
        for (index, ty) in self.results.iter().enumerate() {
            fields.push((numbered("want", index), ty.clone()));
        }
        if self.returns_error {
            fields.push(("wantErr".to_owned(), "bool".to_owned()));
        }
        out.push_str("\ttests := []struct {\n");
        out.push_str(&aligned_fields("\t\t", &fields));
        out.push_str("\t}{\n\t\t// TODO: Add test cases.\n\t}\n");
        out.push_str("\tfor _, tt := range tests {\n");
        out.push_str("\t\tt.Run(tt.name, func(t *testing.T) {\n");
        if let Some((_, declaration)) = &self.receiver {
            for line in declaration.lines() {
                out.push_str(&format!("\t\t\t{line}\n"));
            }
        }
        out.push_str(&self.checks());
        out.push_str("\t\t})\n\t}\n}");
        out
    }

    /// The form of [`flat_skeleton`]: no table, inputs and wanted values as locals.
    fn render_flat(&self, test_name: &str) -> String {
        const IN: &str = "\t";
        let mut out = format!("func {test_name}(t *testing.T) {{\n");
        let input = |out: &mut String, (name, ty): &(String, String)| {
            out.push_str(&format!("{IN}{name} := … // {ty}\n"));
        };
        if let Some((var, declaration)) = &self.receiver {
            self.constructor_args
                .iter()
                .for_each(|arg| input(&mut out, arg));
            for line in declaration.replace("tt.newArgs.", "").lines() {
                out.push_str(&format!("{IN}{line}\n"));
            }
            let _ = var;
        }
        self.args.iter().for_each(|arg| input(&mut out, arg));
        let mut args: Vec<String> = self.args.iter().map(|(name, _)| name.clone()).collect();
        if self.is_variadic
            && let Some(last) = args.last_mut()
        {
            last.push_str("...");
        }
        let call = format!("{}({})", self.callee, args.join(", "));
        let display = &self.display;
        let mut names: Vec<String> = (0..self.results.len())
            .map(|i| numbered("got", i))
            .collect();
        if self.returns_error {
            names.push("err".to_owned());
        }
        if names.is_empty() {
            out.push_str(&format!("{IN}{call}\n"));
        } else {
            out.push_str(&format!("{IN}{} := {call}\n", names.join(", ")));
        }
        if self.returns_error {
            out.push_str(&format!(
                "{IN}if err != nil {{\n{IN}\tt.Fatalf(\"{display}() error = %v\", err)\n{IN}}}\n"
            ));
        }
        for (index, ty) in self.results.iter().enumerate() {
            let (got, want) = (numbered("got", index), numbered("want", index));
            let verb = self.verb(index);
            out.push_str(&format!("{IN}{want} := … // {ty}\n"));
            out.push_str(&format!(
                "{IN}if {} {{\n{IN}\tt.Errorf(\"{display}() = {verb}, want {verb}\", {got}, {want})\n{IN}}}\n",
                self.differs(index, &got, &want)
            ));
        }
        if let (true, Some((var, _)), Some(ty)) = (
            self.results.is_empty(),
            &self.receiver,
            &self.pointer_receiver,
        ) {
            // What the receiver holds afterwards, as a value to fill: measured with a 0.5B
            // model, a bare `if … {` under "check its state" was filled with the state
            // wanted, failing every right answer.
            out.push_str(&format!(
                "{IN}want := … // {ty}, as {var} is after the call\n"
            ));
            out.push_str(&format!(
                "{IN}if !reflect.DeepEqual({var}, want) {{\n{IN}\tt.Errorf(\"{display}() left %v, want %v\", {var}, want)\n{IN}}}\n"
            ));
        } else if self.results.is_empty() {
            let what = match &self.receiver {
                Some((var, _)) => format!("{var}'s state after the call"),
                None => "what the call did".to_owned(),
            };
            out.push_str(&format!(
                "{IN}// check {what}:\n{IN}if … {{\n{IN}\tt.Errorf(\"{display}() …\")\n{IN}}}\n"
            ));
        }
        out.push('}');
        out
    }

    fn call(&self) -> String {
        let mut args: Vec<String> = self
            .args
            .iter()
            .map(|(field, _)| format!("tt.args.{field}"))
            .collect();
        if self.is_variadic
            && let Some(last) = args.last_mut()
        {
            last.push_str("...");
        }
        format!("{}({})", self.callee, args.join(", "))
    }

    /// The call and the comparisons of its results, indented for the subtest's body.
    fn checks(&self) -> String {
        const IN: &str = "\t\t\t";
        let call = self.call();
        let display = &self.display;
        let error_message =
            format!("t.Errorf(\"{display}() error = %v, wantErr %v\", err, tt.wantErr)");
        match (self.results.len(), self.returns_error) {
            (0, false) => format!("{IN}{call}\n"),
            (0, true) => format!(
                "{IN}if err := {call}; (err != nil) != tt.wantErr {{\n{IN}\t{error_message}\n{IN}}}\n"
            ),
            (1, false) => {
                let verb = self.verb(0);
                format!(
                    "{IN}if got := {call}; {} {{\n{IN}\tt.Errorf(\"{display}() = {verb}, want {verb}\", got, tt.want)\n{IN}}}\n",
                    self.differs(0, "got", "tt.want")
                )
            }
            (count, returns_error) => {
                let mut names: Vec<String> = (0..count).map(|i| numbered("got", i)).collect();
                if returns_error {
                    names.push("err".to_owned());
                }
                let mut out = format!("{IN}{} := {call}\n", names.join(", "));
                if returns_error {
                    out.push_str(&format!(
                        "{IN}if (err != nil) != tt.wantErr {{\n{IN}\t{error_message}\n{IN}\treturn\n{IN}}}\n"
                    ));
                }
                for index in 0..count {
                    let got = numbered("got", index);
                    let want = format!("tt.{}", numbered("want", index));
                    let verb = self.verb(index);
                    // gotests names each result when there are several.
                    let label = if count == 1 {
                        String::new()
                    } else {
                        format!(" {got}")
                    };
                    out.push_str(&format!(
                        "{IN}if {} {{\n{IN}\tt.Errorf(\"{display}(){label} = {verb}, want {verb}\", {got}, {want})\n{IN}}}\n",
                        self.differs(index, &got, &want)
                    ));
                }
                out
            }
        }
    }

    fn differs(&self, index: usize, got: &str, want: &str) -> String {
        if types::is_comparable_basic(&self.results[index]) {
            format!("{got} != {want}")
        } else {
            format!("!reflect.DeepEqual({got}, {want})")
        }
    }

    fn verb(&self, index: usize) -> &'static str {
        if self.function_results.contains(&index) {
            "%p"
        } else {
            "%v"
        }
    }
}

/// `want`, `want1`, `want2`: gotests' numbering.
fn numbered(base: &str, index: usize) -> String {
    if index == 0 {
        base.to_owned()
    } else {
        format!("{base}{index}")
    }
}

/// Struct fields one per line, types aligned in a column as gofmt aligns them (its tabwriter
/// counts characters, not bytes).
fn aligned_fields(indent: &str, fields: &[(String, String)]) -> String {
    let width = fields
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (name, ty) in fields {
        let padding = width - name.chars().count() + 1;
        out.push_str(&format!("{indent}{name}{}{ty}\n", " ".repeat(padding)));
    }
    out
}

/// `"T any"` → (`T`, `any`).
fn type_param_constraints(type_params: &[String]) -> Vec<(String, String)> {
    type_params
        .iter()
        .map(|param| match param.split_once(' ') {
            Some((name, constraint)) => (name.to_owned(), constraint.trim().to_owned()),
            None => (param.clone(), "any".to_owned()),
        })
        .collect()
}

/// The receiver's instantiated type without its pointer (`Stack[int]`), and the type argument
/// chosen for each type parameter name the receiver declares.
fn receiver_type(
    param: &Param,
    owner: &str,
    signature: &Signature,
    package: &PackageContext<'_>,
) -> Result<(String, HashMap<String, String>), String> {
    let names = &signature.type_params;
    if names.is_empty() {
        return Ok((owner.to_owned(), HashMap::new()));
    }
    let decl = package.type_decl(owner).ok_or_else(|| {
        format!(
            "the declaration of the generic type {owner} was not found; instantiate {} by hand",
            param.ty
        )
    })?;
    if decl.params.len() != names.len() {
        return Err(format!(
            "the receiver {} does not match the type parameters of {owner}",
            param.ty
        ));
    }
    let chosen = generics::instantiate(&decl.params, package)?;
    let arguments: Vec<String> = decl
        .params
        .iter()
        .map(|(name, _)| chosen[name].clone())
        .collect();
    let by_receiver_name = names
        .iter()
        .zip(&arguments)
        .filter(|(name, _)| name.as_str() != "_")
        .map(|(name, ty)| (name.clone(), ty.clone()))
        .collect();
    Ok((
        format!("{owner}[{}]", arguments.join(", ")),
        by_receiver_name,
    ))
}

/// A receiver built by the package's constructor.
struct Constructed {
    /// `r, err := NewRect(tt.newArgs.w)` and the check of `err`, unindented.
    lines: String,
    /// The constructor's parameters as `newArgs` fields.
    args: Vec<(String, String)>,
    used_types: Vec<String>,
}

/// `var` built by `owner`'s constructor, when the package has one whose parameter types the
/// test file can name.
fn constructed(var: &str, owner: &str, package: &PackageContext<'_>) -> Option<Constructed> {
    let constructor = package.constructor(owner)?;
    let signature = constructor.callable.as_ref()?;
    let mut args = Vec::new();
    let mut call_args = Vec::new();
    for (index, param) in signature.params.iter().enumerate() {
        let written = param.ty.strip_prefix("...").unwrap_or(&param.ty);
        let field = match param.name.as_str() {
            "" | "_" => format!("in{index}"),
            name => name.to_owned(),
        };
        let (ty, spread) = if param.ty.starts_with("...") {
            (format!("[]{}", tidy_type(written)), "...")
        } else {
            (tidy_type(written), "")
        };
        call_args.push(format!("tt.newArgs.{field}{spread}"));
        args.push((field, ty));
    }
    let used_types: Vec<String> = args.iter().map(|(_, ty)| ty.clone()).collect();
    // A parameter type from a package this file does not import cannot be written here.
    imports_for(&used_types, package).ok()?;
    let name = &constructor.name;
    let call = format!("{name}({})", call_args.join(", "));
    let lines = if signature.results.len() == 2 {
        format!(
            "{var}, err := {call}\nif err != nil {{\n\tt.Fatalf(\"{name}() error = %v\", err)\n}}"
        )
    } else {
        format!("{var} := {call}")
    };
    Some(Constructed {
        lines,
        args,
        used_types,
    })
}

/// The receiver's own name when the subtest can use it, else a lower-case initial of the
/// type, its lower-cased name, or `recv`.
fn receiver_variable(param: &Param, owner: &str, package: &PackageContext<'_>) -> String {
    let initial: String = owner
        .chars()
        .next()
        .into_iter()
        .flat_map(char::to_lowercase)
        .collect();
    let lowered: String = owner.chars().flat_map(char::to_lowercase).collect();
    [param.name.clone(), initial, lowered, "recv".to_owned()]
        .into_iter()
        .find(|name| {
            !name.is_empty()
                && name != "_"
                && !RESERVED.contains(&name.as_str())
                && package.import_named(name).is_none()
                && !is_go_keyword(name)
        })
        .unwrap_or_else(|| "recv".to_owned())
}

fn is_go_keyword(name: &str) -> bool {
    matches!(
        name,
        "break"
            | "case"
            | "chan"
            | "const"
            | "continue"
            | "default"
            | "defer"
            | "else"
            | "fallthrough"
            | "for"
            | "func"
            | "go"
            | "goto"
            | "if"
            | "import"
            | "interface"
            | "map"
            | "package"
            | "range"
            | "return"
            | "select"
            | "struct"
            | "switch"
            | "type"
            | "var"
    )
}

/// `ty` with type arguments put in, checked to read back as one Go type.
fn concrete(ty: &str, type_args: &HashMap<String, String>) -> Result<String, String> {
    let tidy = tidy_type(ty);
    // Most types are plain names; parsing them for nothing would cost as much as the rest of
    // the scaffold.
    if types::is_simple(&tidy)
        && !types::simple_names(&tidy).any(|name| type_args.contains_key(name))
    {
        return Ok(tidy);
    }
    let parsed = ParsedType::parse(&tidy).ok_or_else(|| {
        format!("its signature has a type testsmith cannot copy ({ty}); write this test by hand")
    })?;
    Ok(if type_args.is_empty() {
        tidy
    } else {
        parsed.substitute(type_args)
    })
}

/// A type folded onto one line the way gofmt prints it: `func( a int, )` → `func(a int)`.
fn tidy_type(ty: &str) -> String {
    if ty.contains(['"', '`', '\'']) {
        return ty.to_owned();
    }
    let mut out = ty.to_owned();
    for (from, to) in [
        (", )", ")"),
        (",)", ")"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
    ] {
        while out.contains(from) {
            out = out.replace(from, to);
        }
    }
    out
}

/// Whether a result of type `ty` is a function: written as one, or a type of the package
/// declared as one.
fn is_function_type(ty: &str, package: &PackageContext<'_>) -> bool {
    if types::is_simple(ty) {
        let is_name = !ty.contains(['*', '[']);
        return is_name
            && !types::is_predeclared(ty)
            && package
                .type_decl(ty)
                .is_some_and(|decl| decl.kind == "function_type");
    }
    let Some(parsed) = ParsedType::parse(ty) else {
        return false;
    };
    parsed.is_function()
        || parsed
            .plain_name()
            .filter(|name| !types::is_predeclared(name))
            .and_then(|name| package.type_decl(name))
            .is_some_and(|decl| decl.kind == "function_type")
}

/// The source file's imports for every package the scaffold's types name.
fn imports_for(
    used_types: &[String],
    package: &PackageContext<'_>,
) -> Result<Vec<ImportSpec>, String> {
    let mut imports = Vec::new();
    // Only a qualified name can name a package.
    for ty in used_types.iter().filter(|ty| ty.contains('.')) {
        let Some(parsed) = ParsedType::parse(ty) else {
            continue;
        };
        let names = parsed.package_names();
        for name in names {
            if name == "C" {
                return Err(
                    "its signature uses cgo types, which a test file cannot import".to_owned(),
                );
            }
            let spec = package.import_named(&name).ok_or_else(|| {
                format!("its signature names the package `{name}`, which the file does not import")
            })?;
            if spec.path == "C" {
                return Err(
                    "its signature uses cgo types, which a test file cannot import".to_owned(),
                );
            }
            imports.push(spec.clone());
        }
    }
    // A type the package does not declare, named without a package, comes from a dot import
    // (`import . "lib"`): the test file needs the same ones.
    let dot_imports = package
        .imports()
        .iter()
        .filter(|spec| spec.alias.as_deref() == Some("."));
    let names_foreign_type = || {
        used_types
            .iter()
            .filter_map(|ty| ParsedType::parse(ty))
            .flat_map(|parsed| parsed.local_names())
            .any(|name| {
                !types::is_predeclared(&name)
                    && package.type_decl(&name).is_none()
                    && !package.declares(&name)
            })
    };
    if dot_imports.clone().next().is_some() && names_foreign_type() {
        imports.extend(dot_imports.cloned());
    }
    Ok(imports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_align_their_types_by_characters() {
        let fields = [
            ("name".to_owned(), "string".to_owned()),
            ("wantErr".to_owned(), "bool".to_owned()),
            ("größe".to_owned(), "int".to_owned()),
        ];
        assert_eq!(
            aligned_fields("\t", &fields),
            "\tname    string\n\twantErr bool\n\tgröße   int\n"
        );
    }

    #[test]
    fn types_are_tidied_the_way_gofmt_prints_them() {
        assert_eq!(tidy_type("func( a int, ) error"), "func(a int) error");
        assert_eq!(tidy_type("map[ string ]int"), "map[string]int");
        assert_eq!(
            tidy_type("struct{ A int `json:\"a, \"` }"),
            "struct{ A int `json:\"a, \"` }"
        );
    }

    #[test]
    fn type_parameters_default_to_any() {
        assert_eq!(
            type_param_constraints(&["K comparable".to_owned(), "V".to_owned()]),
            [
                ("K".to_owned(), "comparable".to_owned()),
                ("V".to_owned(), "any".to_owned())
            ]
        );
    }
}
