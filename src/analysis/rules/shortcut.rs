//! Expressions simple enough to evaluate in Rust, without running CEL.
//!
//! Most of a rule's work on a resource is a few comparisons of fields (`r.state == "running"
//! && r.platform == "linux"`, `size(missing_tags) > 0`, `r.age_days > p.min_age_days`); over
//! 100k resources that is about a million CEL runs, each binding variables and allocating (the
//! interpreter allocates a field name on every `.` access). The subset below is evaluated on
//! the syntax tree CEL's own parser gives, with the interpreter's semantics: its `Value`
//! equality, ordering and arithmetic, `&&` and `||` left to right with its truthiness, `!`,
//! `?:`, `has`, `size`, `in`, `startsWith` and `endsWith`. Wherever CEL would fail (a missing
//! field, values it cannot compare) or the shape is outside the subset (any other function),
//! [`Shortcut::eval`] gives `None` and CEL runs as before, so the answer, or the error, is
//! always CEL's.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use cel_interpreter::Value;
use cel_interpreter::extractors::Arguments;
use cel_interpreter::objects::Key;
use cel_parser::ast::{Expr as Node, IdedExpr};

use super::context::Functions;

/// The variables a rule sees, as bound for one resource.
pub(crate) struct Env<'a> {
    pub r: &'a Value,
    pub u: &'a Value,
    pub missing_tags: &'a Value,
    pub p: &'a Value,
    pub required_tags: &'a Value,
    /// Set once the rule's target expression ran on this resource.
    pub target: Option<&'a Value>,
    /// The rules' own functions (prices, helpers); CEL's built-in ones are left to CEL.
    pub functions: &'a Functions,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Var {
    R,
    U,
    MissingTags,
    P,
    RequiredTags,
    Target,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Binary {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    StartsWith,
    EndsWith,
}

/// An expression of the subset, compiled from CEL's syntax tree.
#[derive(Debug)]
pub(crate) enum Shortcut {
    /// A part outside the subset: CEL must run, unless `&&`, `||` or `?:` never reach it.
    Unknown,
    Literal(Value),
    Var(Var),
    /// `x.f`: a key of a map.
    Field(Box<Shortcut>, Key),
    /// `has(x.f)`.
    Has(Box<Shortcut>, String),
    Not(Box<Shortcut>),
    Negate(Box<Shortcut>),
    And(Box<Shortcut>, Box<Shortcut>),
    Or(Box<Shortcut>, Box<Shortcut>),
    Conditional(Box<Shortcut>, Box<Shortcut>, Box<Shortcut>),
    Binary(Binary, Box<Shortcut>, Box<Shortcut>),
    Size(Box<Shortcut>),
    /// `f(a, …)`: one of the rules' own functions, called with the same arguments CEL gives
    /// it; an error (a missing price) is left to CEL to report.
    Call(String, Vec<Shortcut>),
}

/// Nesting beyond this is left to CEL (the pack's deepest is under 10).
const MAX_DEPTH: usize = 24;

impl Shortcut {
    /// The shortcut for an expression, if it has parts in the subset that can answer alone.
    pub(crate) fn compile(tree: &IdedExpr) -> Option<Shortcut> {
        match compile(tree, 0) {
            Shortcut::Unknown => None,
            shortcut => Some(shortcut),
        }
    }

    /// The expression's value, exactly as CEL would give it; `None` when CEL must run (it
    /// would fail, or a value is outside what this evaluator handles).
    pub(crate) fn eval(&self, env: &Env<'_>) -> Option<Value> {
        self.value(env).map(Cow::into_owned)
    }

    /// Borrows what it can (fields, variables, literals): cloning a value is a reference
    /// count on text shared by every resource and both threads, which costs more than the
    /// comparison itself.
    fn value<'e>(&'e self, env: &Env<'e>) -> Option<Cow<'e, Value>> {
        Some(match self {
            Shortcut::Unknown => return None,
            Shortcut::Literal(v) => Cow::Borrowed(v),
            Shortcut::Var(var) => Cow::Borrowed(match var {
                Var::R => env.r,
                Var::U => env.u,
                Var::MissingTags => env.missing_tags,
                Var::P => env.p,
                Var::RequiredTags => env.required_tags,
                Var::Target => env.target?,
            }),
            // A missing key is an error in CEL (or a function value when a function has the
            // name): either way, CEL's to give.
            Shortcut::Field(operand, key) => match operand.value(env)? {
                Cow::Borrowed(Value::Map(map)) => Cow::Borrowed(map.map.get(key)?),
                Cow::Owned(Value::Map(map)) => Cow::Owned(map.map.get(key)?.clone()),
                _ => return None,
            },
            // The interpreter compares each key's text with the name.
            Shortcut::Has(operand, name) => Cow::Owned(match &*operand.value(env)? {
                Value::Map(map) => Value::Bool(map.map.keys().any(|k| match k {
                    Key::String(s) => s.as_str() == name,
                    other => other.to_string() == *name,
                })),
                _ => Value::Bool(false),
            }),
            Shortcut::Not(operand) => Cow::Owned(Value::Bool(!truthy(&*operand.value(env)?)?)),
            Shortcut::Negate(operand) => Cow::Owned(match &*operand.value(env)? {
                Value::Int(i) => Value::Int(i.checked_neg()?),
                Value::Float(f) => Value::Float(-f),
                _ => return None,
            }),
            Shortcut::And(left, right) => {
                Cow::Owned(Value::Bool(truthy(&*left.value(env)?)? && truthy(&*right.value(env)?)?))
            }
            // `||` gives its left value when truthy, else its right value as it is.
            Shortcut::Or(left, right) => {
                let left = left.value(env)?;
                if truthy(&left)? { left } else { right.value(env)? }
            }
            Shortcut::Conditional(cond, yes, no) => {
                if truthy(&*cond.value(env)?)? {
                    yes.value(env)?
                } else {
                    no.value(env)?
                }
            }
            Shortcut::Binary(op, left, right) => {
                Cow::Owned(binary(*op, &*left.value(env)?, &*right.value(env)?)?)
            }
            Shortcut::Call(name, args) => {
                let function = env.functions.get(name)?;
                let values = args
                    .iter()
                    .map(|a| a.value(env).map(Cow::into_owned))
                    .collect::<Option<_>>()?;
                Cow::Owned(function(Arguments(Arc::new(values))).ok()?)
            }
            Shortcut::Size(operand) => Cow::Owned(match &*operand.value(env)? {
                Value::List(l) => Value::Int(i64::try_from(l.len()).ok()?),
                Value::Map(m) => Value::Int(i64::try_from(m.map.len()).ok()?),
                Value::String(s) => Value::Int(i64::try_from(s.len()).ok()?),
                Value::Bytes(b) => Value::Int(i64::try_from(b.len()).ok()?),
                _ => return None,
            }),
        })
    }
}

/// `tree` in the subset; parts outside it are [`Shortcut::Unknown`]. An operation whose every
/// operand is evaluated (comparisons, arithmetic, `!`, fields) is unknown when an operand is.
fn compile(tree: &IdedExpr, depth: usize) -> Shortcut {
    if depth > MAX_DEPTH {
        return Shortcut::Unknown;
    }
    let part = |t: &IdedExpr| Box::new(compile(t, depth + 1));
    // An operand that is always unknown makes the whole operation unknown.
    let known = |t: &IdedExpr| match compile(t, depth + 1) {
        Shortcut::Unknown => None,
        shortcut => Some(Box::new(shortcut)),
    };
    let compiled = (|| {
        Some(match &tree.expr {
            Node::Literal(val) => Shortcut::Literal(Value::from(val.clone())),
            Node::Ident(name) => Shortcut::Var(match name.as_str() {
                "r" => Var::R,
                "u" => Var::U,
                "missing_tags" => Var::MissingTags,
                "p" => Var::P,
                "required_tags" => Var::RequiredTags,
                "target" => Var::Target,
                _ => return None,
            }),
            Node::Select(select) if select.test => {
                Shortcut::Has(known(&select.operand)?, select.field.clone())
            }
            Node::Select(select) => Shortcut::Field(
                known(&select.operand)?,
                Key::String(Arc::new(select.field.clone())),
            ),
            Node::Call(call) => {
                let args = &call.args;
                match (call.func_name.as_str(), &call.target, args.len()) {
                    // Evaluated left to right and short-circuited: a known left side can answer
                    // alone.
                    ("_&&_", None, 2) => Shortcut::And(known(&args[0])?, part(&args[1])),
                    ("_||_", None, 2) => Shortcut::Or(known(&args[0])?, part(&args[1])),
                    ("_?_:_", None, 3) => {
                        Shortcut::Conditional(known(&args[0])?, part(&args[1]), part(&args[2]))
                    }
                    ("!_", None, 1) => Shortcut::Not(known(&args[0])?),
                    ("-_", None, 1) => Shortcut::Negate(known(&args[0])?),
                    ("size", None, 1) => Shortcut::Size(known(&args[0])?),
                    ("size", Some(target), 0) => Shortcut::Size(known(target)?),
                    ("startsWith", Some(target), 1) => {
                        Shortcut::Binary(Binary::StartsWith, known(target)?, known(&args[0])?)
                    }
                    ("endsWith", Some(target), 1) => {
                        Shortcut::Binary(Binary::EndsWith, known(target)?, known(&args[0])?)
                    }
                    (name, None, 2) if name.starts_with(['_', '@']) => {
                        let op = match name {
                            "_==_" => Binary::Eq,
                            "_!=_" => Binary::Ne,
                            "_<_" => Binary::Lt,
                            "_<=_" => Binary::Le,
                            "_>_" => Binary::Gt,
                            "_>=_" => Binary::Ge,
                            "@in" => Binary::In,
                            "_+_" => Binary::Add,
                            "_-_" => Binary::Sub,
                            "_*_" => Binary::Mul,
                            "_/_" => Binary::Div,
                            "_%_" => Binary::Rem,
                            _ => return None,
                        };
                        Shortcut::Binary(op, known(&args[0])?, known(&args[1])?)
                    }
                    // Operators are `_…_`, `!_`, `-_` or `@…`; anything else is a function.
                    (name, None, _) if !name.starts_with(['_', '@', '!', '-']) => Shortcut::Call(
                        name.to_string(),
                        args.iter().map(|a| known(a).map(|b| *b)).collect::<Option<_>>()?,
                    ),
                    _ => return None,
                }
            }
            Node::Comprehension(_)
            | Node::List(_)
            | Node::Map(_)
            | Node::Struct(_)
            | Node::Unspecified => return None,
        })
    })();
    compiled.unwrap_or(Shortcut::Unknown)
}

/// The interpreter's truthiness (its private `to_bool`); `None` for the time types, left to it.
fn truthy(v: &Value) -> Option<bool> {
    Some(match v {
        Value::List(v) => !v.is_empty(),
        Value::Map(v) => !v.map.is_empty(),
        Value::Int(v) => *v != 0,
        Value::UInt(v) => *v != 0,
        Value::Float(v) => *v != 0.0,
        Value::String(v) => !v.is_empty(),
        Value::Bytes(v) => !v.is_empty(),
        Value::Bool(v) => *v,
        Value::Null => false,
        Value::Function(_, _) => false,
        _ => return None,
    })
}

fn binary(op: Binary, left: &Value, right: &Value) -> Option<Value> {
    let order = |want: fn(Ordering) -> bool| left.partial_cmp(right).map(|o| Value::Bool(want(o)));
    match op {
        Binary::Eq => Some(Value::Bool(left == right)),
        Binary::Ne => Some(Value::Bool(left != right)),
        Binary::Lt => order(|o| o == Ordering::Less),
        Binary::Le => order(|o| o != Ordering::Greater),
        Binary::Gt => order(|o| o == Ordering::Greater),
        Binary::Ge => order(|o| o != Ordering::Less),
        Binary::In => match (left, right) {
            (Value::String(l), Value::String(r)) => Some(Value::Bool(r.contains(l.as_str()))),
            (_, Value::List(items)) => Some(Value::Bool(items.contains(left))),
            (_, Value::Map(m)) => {
                let key: Result<Key, _> = left.clone().try_into();
                Some(Value::Bool(key.is_ok_and(|k| m.map.contains_key(&k))))
            }
            _ => None,
        },
        Binary::Add => (left.clone() + right.clone()).ok(),
        Binary::Sub => (left.clone() - right.clone()).ok(),
        Binary::Mul => (left.clone() * right.clone()).ok(),
        Binary::Div => (left.clone() / right.clone()).ok(),
        Binary::Rem => (left.clone() % right.clone()).ok(),
        Binary::StartsWith => match (left, right) {
            (Value::String(s), Value::String(prefix)) => {
                Some(Value::Bool(s.starts_with(prefix.as_str())))
            }
            _ => None,
        },
        Binary::EndsWith => match (left, right) {
            (Value::String(s), Value::String(suffix)) => {
                Some(Value::Bool(s.ends_with(suffix.as_str())))
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use cel_interpreter::{Context, Program};
    use std::collections::HashMap;

    fn map(fields: &[(&str, Value)]) -> Value {
        let map: HashMap<Key, Value> =
            fields.iter().map(|(k, v)| (Key::String(Arc::new(k.to_string())), v.clone())).collect();
        Value::Map(cel_interpreter::objects::Map { map: Arc::new(map) })
    }

    fn text(s: &str) -> Value {
        Value::String(Arc::new(s.to_string()))
    }

    fn list(items: &[&str]) -> Value {
        Value::List(Arc::new(items.iter().map(|s| text(s)).collect()))
    }

    /// CEL's answer, or `None` when it fails.
    fn cel(source: &str, env: &Env<'_>, root: &Context<'_>) -> Option<Value> {
        let mut ctx = root.new_inner_scope();
        ctx.add_variable_from_value("r", env.r.clone());
        ctx.add_variable_from_value("u", env.u.clone());
        ctx.add_variable_from_value("missing_tags", env.missing_tags.clone());
        ctx.add_variable_from_value("p", env.p.clone());
        ctx.add_variable_from_value("required_tags", env.required_tags.clone());
        if let Some(t) = env.target {
            ctx.add_variable_from_value("target", t.clone());
        }
        Program::compile(source).unwrap().execute(&ctx).ok()
    }

    fn shortcut(source: &str) -> Option<Shortcut> {
        Shortcut::compile(&cel_parser::Parser::default().parse(source).unwrap())
    }

    #[test]
    fn shortcuts_agree_with_cel_whenever_they_answer() {
        let resources = [
            map(&[
                ("state", text("running")),
                ("kind", text("ec2_instance")),
                ("platform", text("linux")),
                ("instance_type", text("m5.large")),
                ("region", text("us-east-1")),
                ("age_days", Value::Float(40.0)),
                ("iops", Value::Null),
                ("attached", Value::Bool(true)),
                ("tags", map(&[("env", text("dev"))])),
            ]),
            map(&[
                ("state", text("stopped")),
                ("kind", text("k8s_node")),
                ("age_days", Value::Null),
                ("iops", Value::Float(3000.0)),
                ("attached", Value::Bool(false)),
                ("tags", map(&[])),
            ]),
            map(&[("state", Value::Float(1.0)), ("kind", text("k8s_")), ("age_days", text("x"))]),
            map(&[]),
            Value::Null,
        ];
        let utilization = [
            map(&[("has_data", Value::Bool(true)), ("cpu_p95", Value::Float(3.5))]),
            map(&[("has_data", Value::Bool(false))]),
        ];
        let p = map(&[
            ("min_age_days", Value::Float(30.0)),
            ("max_iops", Value::Int(16000)),
            ("tag_key", text("env")),
            ("values", list(&["dev", "test"])),
        ]);
        let (missing, none, required) = (list(&["team"]), list(&[]), list(&["team", "env"]));
        let target = text("gp3");
        let catalog = Arc::new(crate::pricing::catalog::PriceCatalog::builtin().unwrap());
        let (root, functions) = super::super::context::root_and_functions(catalog);
        let sources = [
            r#"r.state == "running""#,
            r#"r.state != 'running' && r.platform == "linux""#,
            r#"!r.kind.startsWith("k8s_") && r.kind != "commitment" && r.kind != "compute_scope""#,
            r#"r.kind.endsWith("node") || r.state"#,
            "size(missing_tags) > 0",
            "missing_tags.size() == 0",
            "r.age_days != null && r.age_days > p.min_age_days",
            "r.age_days > 30",
            "r.iops != null && r.iops <= p.max_iops",
            "(r.iops == null || r.iops < 5000.0) && r.attached",
            "!r.attached",
            "has(u.cpu_p95) && u.cpu_p95 <= 5.0",
            "u.cpu_p95 * 2.0 - 1.0",
            "u.cpu_p95 / 0.0",
            "-u.cpu_p95 + 1",
            "r.age_days % 7",
            "p.tag_key in r.tags && r.tags[p.tag_key] == 'dev'",
            "p.tag_key in r.tags",
            "'dev' in p.values",
            "'un' in 'running'",
            "1 in r.state",
            "r.attached ? 1.0 : 'no'",
            "missing_tags",
            "required_tags",
            "target",
            "r.tags.env",
            "r.nothing == 'x'",
            "r.state < 'z'",
            "r.state >= 1.0",
            "0.0",
            "null",
            "u.has_data || u.cpu_p95 > 1.0",
            "r.missing || true",
            "false && r.missing",
            "size(r.tags) > 0",
            "size(r.age_days)",
            // Parts outside the subset, which `&&`, `||` and `?:` may never reach.
            "r.state == 'running' && p.tag_key in r.tags && lower(r.tags[p.tag_key]) == 'dev'",
            "r.attached || lower(r.state) == 'x'",
            "r.attached ? 'yes' : lower(r.state)",
            "r.missing && lower(r.state) == 'x'",
            // The rules' own functions, called directly; CEL's built-in ones are left to it.
            "instance_monthly(r.instance_type, r.region) - instance_monthly('t3.micro', r.region)",
            "graviton(r.instance_type, r.region) != ''",
            "instance_monthly('x9.nothing', 'us-east-1')",
            "lower(r.state) == 'running'",
            "max(1.0, u.cpu_p95)",
        ];
        let mut answered = 0;
        for source in sources {
            let fast = shortcut(source).unwrap_or_else(|| panic!("{source} has no shortcut"));
            for r in &resources {
                for u in &utilization {
                    for missing_tags in [&missing, &none] {
                        for target in [None, Some(&target)] {
                            let env = Env {
                                r,
                                u,
                                missing_tags,
                                p: &p,
                                required_tags: &required,
                                target,
                                functions: &functions,
                            };
                            if let Some(v) = fast.eval(&env) {
                                answered += 1;
                                assert_eq!(Some(v), cel(source, &env, &root), "{source} on {r:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(answered > 500, "{answered}");
    }

    #[test]
    fn other_shapes_are_left_to_cel() {
        for source in [
            "r.tags.exists(k, k == 'env')",
            "[1, 2].size() > 0",
            "{'a': 1}.a == 1",
            "region == 'x'",
            "r.tags['env'] == 'dev'",
            "r.state.matches('run')",
            "r.state.lowerAscii() == 'x' && r.attached",
            "r.attached + [1].size()",
        ] {
            assert!(shortcut(source).is_none(), "{source}");
        }
    }
}
