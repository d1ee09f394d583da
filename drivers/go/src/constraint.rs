//! Go build constraints: reading a `//go:build` expression and deciding whether a build with
//! the user's `--tags` on this machine includes the file, and if not, what it lacks.

/// The operating systems and architectures go/build knows: a file name's `_GOOS`/`_GOARCH`
/// suffix restricts a build to them, and a constraint naming them is about the platform.
pub(crate) const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];
pub(crate) const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// The operating systems the `unix` constraint stands for (go/build's `unixOS`).
const UNIX_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "linux",
    "netbsd",
    "openbsd",
    "solaris",
];

/// A parsed `//go:build` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Tag(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn eval(&self, holds: &dyn Fn(&str) -> bool) -> bool {
        match self {
            Expr::Tag(tag) => holds(tag),
            Expr::Not(inner) => !inner.eval(holds),
            Expr::And(a, b) => a.eval(holds) && b.eval(holds),
            Expr::Or(a, b) => a.eval(holds) || b.eval(holds),
        }
    }

    /// The tags that appear without a `!` above them, in order: the ones passing `-tags`
    /// can help.
    fn positive_tags<'e>(&'e self, negated: bool, out: &mut Vec<&'e str>) {
        match self {
            Expr::Tag(tag) if !negated => out.push(tag),
            Expr::Tag(_) => {}
            Expr::Not(inner) => inner.positive_tags(!negated, out),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.positive_tags(negated, out);
                b.positive_tags(negated, out);
            }
        }
    }
}

/// Parses `a && (b || !c)`; `None` for what go/build would reject.
fn parse(expression: &str) -> Option<Expr> {
    let tokens = tokenize(expression)?;
    let mut at = 0;
    let expr = parse_or(&tokens, &mut at)?;
    (at == tokens.len()).then_some(expr)
}

fn tokenize(expression: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '(' | ')' | '!' => tokens.push(c.to_string()),
            '&' | '|' => {
                if chars.next() != Some(c) {
                    return None;
                }
                tokens.push(format!("{c}{c}"));
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' => {
                let mut tag = c.to_string();
                while let Some(&next) = chars.peek() {
                    if next.is_alphanumeric() || next == '_' || next == '.' {
                        tag.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(tag);
            }
            _ => return None,
        }
    }
    Some(tokens)
}

fn parse_or(tokens: &[String], at: &mut usize) -> Option<Expr> {
    let mut left = parse_and(tokens, at)?;
    while tokens.get(*at).is_some_and(|t| t == "||") {
        *at += 1;
        left = Expr::Or(Box::new(left), Box::new(parse_and(tokens, at)?));
    }
    Some(left)
}

fn parse_and(tokens: &[String], at: &mut usize) -> Option<Expr> {
    let mut left = parse_not(tokens, at)?;
    while tokens.get(*at).is_some_and(|t| t == "&&") {
        *at += 1;
        left = Expr::And(Box::new(left), Box::new(parse_not(tokens, at)?));
    }
    Some(left)
}

fn parse_not(tokens: &[String], at: &mut usize) -> Option<Expr> {
    let token = tokens.get(*at)?;
    *at += 1;
    match token.as_str() {
        "!" => Some(Expr::Not(Box::new(parse_not(tokens, at)?))),
        "(" => {
            let inner = parse_or(tokens, at)?;
            (tokens.get(*at)? == ")").then(|| *at += 1)?;
            Some(inner)
        }
        ")" | "&&" | "||" => None,
        tag => Some(Expr::Tag(tag.to_owned())),
    }
}

/// This machine's GOOS and GOARCH as the go tool would default them (`GOOS`/`GOARCH` in the
/// environment win).
fn platform() -> (String, String) {
    let os = std::env::var("GOOS").unwrap_or_else(|_| std::env::consts::OS.to_owned());
    let arch = std::env::var("GOARCH").unwrap_or_else(|_| {
        match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            other => other,
        }
        .to_owned()
    });
    (os, arch)
}

/// Whether a tag is about the platform or toolchain rather than one a user passes with
/// `-tags`.
fn is_platform_tag(tag: &str) -> bool {
    KNOWN_OS.contains(&tag)
        || KNOWN_ARCH.contains(&tag)
        || matches!(tag, "unix" | "gc" | "gccgo" | "cgo")
        || tag.starts_with("go1.")
}

/// Why a file whose header holds `expression` (a `//go:build` expression) is left out of a
/// build with `tags` on this machine: "needs -tags integration", or the platform it is built
/// for. `None` when the build includes it (or the expression cannot be read: the compiler
/// is the judge of that).
pub(crate) fn why_excluded(expression: &str, tags: &[String]) -> Option<String> {
    let expr = parse(expression)?;
    let (os, arch) = platform();
    let holds = |extra: &[&str], tag: &str| {
        tag == os
            || tag == arch
            || (tag == "unix" && UNIX_OS.contains(&os.as_str()))
            || tag == "gc"
            || tag == "cgo"
            || tag.starts_with("go1.")
            || tags.iter().any(|given| given == tag)
            || extra.contains(&tag)
    };
    if expr.eval(&|tag| holds(&[], tag)) {
        return None;
    }
    let mut named = Vec::new();
    expr.positive_tags(false, &mut named);
    let mut missing: Vec<&str> = Vec::new();
    for tag in named {
        if !is_platform_tag(tag)
            && !tags.iter().any(|given| given == tag)
            && !missing.contains(&tag)
        {
            missing.push(tag);
        }
    }
    // One tag that is enough, else all of them.
    if let Some(one) = missing
        .iter()
        .find(|tag| expr.eval(&|t| holds(&[**tag], t)))
    {
        return Some(format!("needs -tags {one}"));
    }
    missing.sort_unstable();
    if !missing.is_empty() && expr.eval(&|tag| holds(&missing, tag)) {
        return Some(format!("needs -tags {}", missing.join(",")));
    }
    Some(format!(
        "built only where `//go:build {expression}` holds, not for {os}/{arch} with these tags"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_tag_is_named_as_the_one_to_pass() {
        assert_eq!(
            why_excluded("integration", &[]).as_deref(),
            Some("needs -tags integration")
        );
        assert_eq!(
            why_excluded("integration", &["integration".to_owned()]),
            None
        );
        assert_eq!(
            why_excluded("integration && !short || e2e", &[]).as_deref(),
            Some("needs -tags integration")
        );
        assert_eq!(
            why_excluded("integration && e2e", &[]).as_deref(),
            Some("needs -tags e2e,integration")
        );
    }

    #[test]
    fn platform_and_release_tags_hold_as_the_go_tool_sets_them() {
        let (os, arch) = platform();
        assert_eq!(why_excluded(&format!("{os} && {arch}"), &[]), None);
        assert_eq!(why_excluded("go1.18 && gc", &[]), None);
        assert_eq!(why_excluded("!ignore_me", &[]), None);
        let other = if os == "plan9" { "windows" } else { "plan9" };
        assert!(
            why_excluded(other, &[])
                .unwrap()
                .starts_with("built only where")
        );
    }

    #[test]
    fn what_go_build_rejects_is_left_to_the_compiler() {
        assert_eq!(why_excluded("a &&", &[]), None);
        assert_eq!(why_excluded("a & b", &[]), None);
        assert_eq!(why_excluded("(a", &[]), None);
    }
}
