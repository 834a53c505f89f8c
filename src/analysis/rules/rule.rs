//! Rule files: parsing, validation and compilation of the CEL expressions they carry.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use cel_interpreter::{Context, ExecutionError, ParseErrors, Program, ResolveResult};
use cel_parser::ast::{EntryExpr, Expr as Node, IdedEntryExpr, IdedExpr};
use serde::Deserialize;

use super::fields_read::FieldsRead;
use super::finding::Confidence;
use super::shortcut::Shortcut;

/// The default rule pack, embedded so the binary works from any directory. The files live in
/// rules/pack/, where users read and copy them.
const BUILTIN: &[(&str, &str)] = &[
    ("ec2-idle.toml", include_str!("../../../rules/pack/ec2-idle.toml")),
    ("ec2-rightsize.toml", include_str!("../../../rules/pack/ec2-rightsize.toml")),
    (
        "ec2-previous-generation.toml",
        include_str!("../../../rules/pack/ec2-previous-generation.toml"),
    ),
    ("ec2-stopped-long.toml", include_str!("../../../rules/pack/ec2-stopped-long.toml")),
    ("ebs-unattached.toml", include_str!("../../../rules/pack/ebs-unattached.toml")),
    ("ebs-gp2-to-gp3.toml", include_str!("../../../rules/pack/ebs-gp2-to-gp3.toml")),
    ("eip-unassociated.toml", include_str!("../../../rules/pack/eip-unassociated.toml")),
    ("snapshot-old.toml", include_str!("../../../rules/pack/snapshot-old.toml")),
    ("snapshot-orphaned.toml", include_str!("../../../rules/pack/snapshot-orphaned.toml")),
    ("nat-gateway-idle.toml", include_str!("../../../rules/pack/nat-gateway-idle.toml")),
    ("untagged.toml", include_str!("../../../rules/pack/untagged.toml")),
    (
        "commitment-underutilized.toml",
        include_str!("../../../rules/pack/commitment-underutilized.toml"),
    ),
    ("commitment-expiring.toml", include_str!("../../../rules/pack/commitment-expiring.toml")),
    ("commitment-purchase.toml", include_str!("../../../rules/pack/commitment-purchase.toml")),
    (
        "k8s-workload-overrequested.toml",
        include_str!("../../../rules/pack/k8s-workload-overrequested.toml"),
    ),
    (
        "k8s-node-underutilized.toml",
        include_str!("../../../rules/pack/k8s-node-underutilized.toml"),
    ),
    (
        "k8s-cluster-overprovisioned.toml",
        include_str!("../../../rules/pack/k8s-cluster-overprovisioned.toml"),
    ),
    ("rds-idle.toml", include_str!("../../../rules/pack/rds-idle.toml")),
    ("rds-rightsize.toml", include_str!("../../../rules/pack/rds-rightsize.toml")),
    (
        "rds-previous-generation.toml",
        include_str!("../../../rules/pack/rds-previous-generation.toml"),
    ),
    ("rds-graviton.toml", include_str!("../../../rules/pack/rds-graviton.toml")),
    ("rds-extended-support.toml", include_str!("../../../rules/pack/rds-extended-support.toml")),
    ("rds-snapshot-orphaned.toml", include_str!("../../../rules/pack/rds-snapshot-orphaned.toml")),
    ("elasticache-idle.toml", include_str!("../../../rules/pack/elasticache-idle.toml")),
    ("elasticache-graviton.toml", include_str!("../../../rules/pack/elasticache-graviton.toml")),
    ("opensearch-idle.toml", include_str!("../../../rules/pack/opensearch-idle.toml")),
    ("opensearch-graviton.toml", include_str!("../../../rules/pack/opensearch-graviton.toml")),
    ("redshift-idle.toml", include_str!("../../../rules/pack/redshift-idle.toml")),
    (
        "dynamodb-overprovisioned.toml",
        include_str!("../../../rules/pack/dynamodb-overprovisioned.toml"),
    ),
    ("ec2-graviton.toml", include_str!("../../../rules/pack/ec2-graviton.toml")),
    ("ebs-io-to-gp3.toml", include_str!("../../../rules/pack/ebs-io-to-gp3.toml")),
    ("ebs-io1-to-io2.toml", include_str!("../../../rules/pack/ebs-io1-to-io2.toml")),
    ("ebs-low-use.toml", include_str!("../../../rules/pack/ebs-low-use.toml")),
    ("elb-idle.toml", include_str!("../../../rules/pack/elb-idle.toml")),
    ("logs-no-retention.toml", include_str!("../../../rules/pack/logs-no-retention.toml")),
    ("logs-stale.toml", include_str!("../../../rules/pack/logs-stale.toml")),
    ("k8s-volume-unclaimed.toml", include_str!("../../../rules/pack/k8s-volume-unclaimed.toml")),
    (
        "k8s-loadbalancer-unused.toml",
        include_str!("../../../rules/pack/k8s-loadbalancer-unused.toml"),
    ),
    (
        "k8s-workload-abandoned.toml",
        include_str!("../../../rules/pack/k8s-workload-abandoned.toml"),
    ),
    ("lambda-graviton.toml", include_str!("../../../rules/pack/lambda-graviton.toml")),
    (
        "lambda-overprovisioned-memory.toml",
        include_str!("../../../rules/pack/lambda-overprovisioned-memory.toml"),
    ),
    ("lambda-unused.toml", include_str!("../../../rules/pack/lambda-unused.toml")),
    ("s3-no-lifecycle.toml", include_str!("../../../rules/pack/s3-no-lifecycle.toml")),
    ("ami-unused.toml", include_str!("../../../rules/pack/ami-unused.toml")),
    ("ec2-offhours.toml", include_str!("../../../rules/pack/ec2-offhours.toml")),
];

/// Why a rule file or a rule override is unusable. Names the file, the line and the field.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {field}: {message}")]
    Invalid { path: PathBuf, line: usize, field: String, message: String },
}

/// The kind of resource a rule looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    Ec2Instance,
    EbsVolume,
    ElasticIp,
    EbsSnapshot,
    NatGateway,
    K8sNode,
    K8sWorkload,
    /// An RDS DB instance, or an Aurora cluster's instance.
    RdsInstance,
    /// An Aurora (or Multi-AZ DB) cluster: its storage and members.
    RdsCluster,
    /// A DB snapshot or DB cluster snapshot.
    RdsSnapshot,
    ElasticacheCluster,
    OpensearchDomain,
    RedshiftCluster,
    DynamodbTable,
    /// An application, network or gateway load balancer (ELBv2).
    LoadBalancer,
    /// A CloudWatch Logs log group.
    LogGroup,
    /// A PersistentVolumeClaim, or a PersistentVolume no claim holds.
    K8sVolume,
    /// A Service of type LoadBalancer.
    K8sLoadBalancer,
    LambdaFunction,
    S3Bucket,
    /// An AMI the account owns (its cost is its EBS snapshots).
    Ec2Image,
    /// A commitment discount (Savings Plan, reservation, committed use discount) from billing.
    Commitment,
    /// One provider's commitment-eligible compute usage (in one currency): what a new plan
    /// could cover.
    ComputeScope,
    /// Every resource, inventory or billing-only (tag rules).
    Any,
}

impl ResourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Ec2Instance => "ec2_instance",
            ResourceKind::EbsVolume => "ebs_volume",
            ResourceKind::ElasticIp => "elastic_ip",
            ResourceKind::EbsSnapshot => "ebs_snapshot",
            ResourceKind::NatGateway => "nat_gateway",
            ResourceKind::K8sNode => "k8s_node",
            ResourceKind::K8sWorkload => "k8s_workload",
            ResourceKind::RdsInstance => "rds_instance",
            ResourceKind::RdsCluster => "rds_cluster",
            ResourceKind::RdsSnapshot => "rds_snapshot",
            ResourceKind::ElasticacheCluster => "elasticache_cluster",
            ResourceKind::OpensearchDomain => "opensearch_domain",
            ResourceKind::RedshiftCluster => "redshift_cluster",
            ResourceKind::DynamodbTable => "dynamodb_table",
            ResourceKind::LoadBalancer => "load_balancer",
            ResourceKind::LogGroup => "log_group",
            ResourceKind::K8sVolume => "k8s_volume",
            ResourceKind::K8sLoadBalancer => "k8s_load_balancer",
            ResourceKind::LambdaFunction => "lambda_function",
            ResourceKind::S3Bucket => "s3_bucket",
            ResourceKind::Ec2Image => "ec2_image",
            ResourceKind::Commitment => "commitment",
            ResourceKind::ComputeScope => "compute_scope",
            ResourceKind::Any => "any",
        }
    }

    /// The billing services (FOCUS ServiceName, as AWS writes it) whose spend a rule on this
    /// kind judges. Kubernetes nodes are EC2 instances; the EKS control plane is not judged.
    /// Public IPv4 addresses bill under VPC since 2024. `Any` (tag rules) judges no spend.
    pub fn services(self) -> &'static [&'static str] {
        const EC2: &str = "Amazon Elastic Compute Cloud";
        match self {
            ResourceKind::Ec2Instance
            | ResourceKind::EbsVolume
            | ResourceKind::EbsSnapshot
            | ResourceKind::NatGateway
            | ResourceKind::Ec2Image
            | ResourceKind::K8sNode
            | ResourceKind::K8sWorkload => &[EC2],
            ResourceKind::ElasticIp => &[EC2, "Amazon Virtual Private Cloud"],
            ResourceKind::RdsInstance | ResourceKind::RdsCluster | ResourceKind::RdsSnapshot => {
                &["Amazon Relational Database Service"]
            }
            ResourceKind::ElasticacheCluster => &["Amazon ElastiCache"],
            ResourceKind::OpensearchDomain => {
                &["Amazon OpenSearch Service", "Amazon Elasticsearch Service"]
            }
            ResourceKind::RedshiftCluster => &["Amazon Redshift"],
            ResourceKind::DynamodbTable => &["Amazon DynamoDB"],
            ResourceKind::LoadBalancer => &["Elastic Load Balancing"],
            // The FOCUS export writes "Amazon CloudWatch"; the CUR's product code, which some
            // exports carry instead, is "AmazonCloudWatch".
            ResourceKind::LogGroup => &["Amazon CloudWatch", "AmazonCloudWatch"],
            // EBS disks bill under EC2; load balancers under Elastic Load Balancing.
            ResourceKind::K8sVolume => &[EC2],
            ResourceKind::K8sLoadBalancer => &["Elastic Load Balancing"],
            ResourceKind::LambdaFunction => &["AWS Lambda"],
            ResourceKind::S3Bucket => &["Amazon Simple Storage Service"],
            // A plan's own fee bills under this name (CUR's product name, kept by AWS's FOCUS
            // export); the compute it covers is judged by the compute rules.
            ResourceKind::Commitment => &["Savings Plans for AWS Compute usage"],
            ResourceKind::ComputeScope | ResourceKind::Any => &[],
        }
    }
}

/// A named threshold. Numbers are given to expressions as doubles, so `p.min_days * 2.0` works
/// whether the file wrote `14` or `14.0`.
#[derive(Clone, Debug, PartialEq)]
pub enum Param {
    Number(f64),
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Number(n) => f.write_str(&format_number(*n)),
            Param::Text(t) => write!(f, "{t:?}"),
            Param::Bool(b) => write!(f, "{b}"),
            Param::List(items) => write!(f, "[{}]", items.join(", ")),
        }
    }
}

/// `14`, `0.5`, `3.14` — at most 2 decimals, no trailing zeros.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        return format!("{}", n as i64);
    }
    let text = format!("{n:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Param {
    fn from_toml(value: &toml::Value) -> Option<Param> {
        Some(match value {
            toml::Value::Integer(i) => Param::Number(*i as f64),
            toml::Value::Float(f) => Param::Number(*f),
            toml::Value::String(s) => Param::Text(s.clone()),
            toml::Value::Boolean(b) => Param::Bool(*b),
            toml::Value::Array(items) => Param::List(
                items.iter().map(|v| v.as_str().map(str::to_string)).collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }

    fn same_type(&self, other: &Param) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }

    pub fn as_number(&self) -> Option<f64> {
        match self {
            Param::Number(n) => Some(*n),
            _ => None,
        }
    }
}

/// A compiled CEL expression with its source text.
pub struct Expr {
    pub source: String,
    pub program: Program,
    /// The expression evaluated in Rust when it is simple enough (most `when` and `condition`
    /// clauses); CEL runs whenever this gives no answer.
    pub(crate) shortcut: Option<Shortcut>,
    /// The fields of `r` it reads.
    pub(crate) reads: FieldsRead,
}

impl Expr {
    /// Evaluates the expression in `ctx`. cel-interpreter panics on a few things it does not
    /// support (a comprehension over a number or a string, which data can produce: `r.tags.team`
    /// is a string); a rule must never crash a run, so such a panic comes back as an evaluation
    /// error, reported like a type mismatch.
    pub fn execute(&self, ctx: &Context<'_>) -> ResolveResult {
        crate::panic_guard::quietly(|| self.program.execute(ctx)).unwrap_or_else(|message| {
            let message = plain_errors(&message);
            Err(ExecutionError::function_error("cel", format!("not supported: {message}")))
        })
    }
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Evidence text with `{expression}` holes filled per finding.
#[derive(Debug)]
pub struct Template {
    pub source: String,
    pub parts: Vec<TemplatePart>,
}

#[derive(Debug)]
pub enum TemplatePart {
    Text(String),
    Hole(Expr),
}

/// One rule, validated and compiled.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub resource: ResourceKind,
    pub action: String,
    /// The confidence of every finding, unless `confidence_expr` gives one.
    pub confidence: Confidence,
    /// Per finding: `"low"`, `"medium"` or `"high"` from the resource's data (e.g. how much
    /// usage history there is); `confidence` when it fails.
    pub confidence_expr: Option<Expr>,
    /// Which resources the rule is about at all (before any data check).
    pub when: Option<Expr>,
    pub condition: Expr,
    pub target: Option<Expr>,
    pub savings: Expr,
    pub evidence: Template,
    /// Drop the finding when the computed saving is zero or less (e.g. a migration that costs more).
    pub require_positive_savings: bool,
    /// The rule judges utilization: resources with fewer than `min_days` days of data are
    /// skipped and counted instead.
    pub needs_utilization: bool,
    /// Ids of rules that, when they fire on a resource, make this one stand down.
    pub unless: Vec<String>,
    pub params: BTreeMap<String, Param>,
    pub enabled: bool,
    /// Where the rule came from: a file path or `builtin:<file>`.
    pub origin: PathBuf,
    /// Line of each expression field in the file, for messages about it.
    pub lines: BTreeMap<&'static str, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    resource: ResourceKind,
    action: String,
    confidence: Confidence,
    #[serde(default)]
    confidence_expr: Option<String>,
    #[serde(default)]
    when: Option<String>,
    condition: String,
    #[serde(default)]
    target: Option<String>,
    savings: String,
    evidence: String,
    #[serde(default)]
    require_positive_savings: bool,
    #[serde(default)]
    needs_utilization: bool,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    params: toml::Table,
}

/// The 1-based line where `field = …` starts in `text`, or 1.
fn line_of(text: &str, field: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(field).is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(1, |i| i + 1)
}

fn compile(text: &str, path: &Path, field: &str, source: &str) -> Result<Expr, RuleError> {
    let invalid = |message: String| RuleError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, field),
        field: field.to_string(),
        message: format!("invalid CEL expression: {message}"),
    };
    check_shape(source).map_err(invalid)?;
    let (program, tree) = compile_guarded(source)
        .ok_or_else(|| invalid(format!("cannot parse `{}`", source.trim())))?
        .map_err(|e| invalid(plain_errors(&e.to_string())))?;
    check_comprehensions(&tree).map_err(invalid)?;
    Ok(Expr {
        source: source.trim().to_string(),
        program,
        shortcut: Shortcut::compile(&tree),
        reads: FieldsRead::of(&tree),
    })
}

/// The longest expression a rule may hold; the built-in pack's longest is under 1 KiB.
pub const MAX_EXPRESSION_BYTES: usize = 8 * 1024;
/// The deepest bracket nesting an expression may have (see [`check_shape`]).
pub const MAX_EXPRESSION_DEPTH: usize = 32;
/// The most operators an expression may hold (see [`check_shape`]).
pub const MAX_EXPRESSION_OPERATORS: usize = 256;

/// The CEL parser and evaluator recurse once per nesting level, and a chain of binary
/// operators nests as deep as it is long; a stack overflow aborts the process (no panic to
/// catch). A rule file must never do that, so huge or deep expressions are refused before they
/// reach the parser. The depth counted is the deepest bracket nesting plus every operator
/// outside string literals: an over-estimate of the parser's depth (the built-in pack's
/// largest is 42), and small enough for a 2 MiB thread stack.
fn check_shape(source: &str) -> Result<(), String> {
    if source.len() > MAX_EXPRESSION_BYTES {
        return Err(format!(
            "expression is {} bytes long, more than the limit of {MAX_EXPRESSION_BYTES}",
            source.len()
        ));
    }
    let (mut depth, mut deepest, mut operators) = (0usize, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in source.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            // `&&`, `||`, `==`, `<=` count twice, which only makes the estimate safer.
            '+' | '-' | '*' | '/' | '%' | '<' | '>' | '=' | '!' | '&' | '|' | '?' | ',' => {
                operators += 1;
            }
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    if deepest > MAX_EXPRESSION_DEPTH {
        return Err(format!(
            "expression nests brackets {deepest} levels deep, more than the limit of {MAX_EXPRESSION_DEPTH}"
        ));
    }
    if operators > MAX_EXPRESSION_OPERATORS {
        return Err(format!(
            "expression has {operators} operators, more than the limit of {MAX_EXPRESSION_OPERATORS}"
        ));
    }
    Ok(())
}

/// The CEL parser (antlr4rust) panics on some malformed input instead of returning an error;
/// a rule file must never crash costscope, so the panic is caught and its message silenced.
fn compile_guarded(source: &str) -> Option<Result<(Program, IdedExpr), ParseErrors>> {
    // The parser recurses deeply per nesting level (tens of KB of stack per level in a debug
    // build): it runs on a fresh stack large enough for any expression that passes
    // `check_shape`, whatever thread the caller is on.
    stacker::maybe_grow(PARSER_STACK / 4, PARSER_STACK, || {
        crate::panic_guard::quietly(|| {
            let program = Program::compile(source)?;
            let tree = cel_parser::Parser::default().parse(source)?;
            Ok((program, tree))
        })
        .ok()
    })
}

/// The deepest nesting of comprehensions (`map`, `filter`, `all`, `exists`, `exists_one`) in an
/// expression. CEL has no loops besides these macros, so evaluation time grows with the product
/// of the nested ranges: a third level over a list literal of a few hundred items takes minutes
/// per resource. The built-in pack uses none.
pub const MAX_COMPREHENSION_DEPTH: usize = 2;
/// The most loop iterations an expression may be estimated to run per resource (see
/// [`check_comprehensions`]).
pub const MAX_COMPREHENSION_ITERATIONS: u64 = 1_000_000;
/// The size assumed for a range that is not a literal (a resource's tags, a pod's containers):
/// real data is smaller, hostile data is capped by the record limit.
const ASSUMED_RANGE_LEN: u64 = 1_000;

/// cel-interpreter has no evaluation budget, so an expression that would loop for minutes is
/// refused when the rule is loaded: comprehensions may nest at most
/// [`MAX_COMPREHENSION_DEPTH`] deep, and the estimated iterations (literal ranges by their
/// length, others by [`ASSUMED_RANGE_LEN`]; nested ranges multiply) may not pass
/// [`MAX_COMPREHENSION_ITERATIONS`]. Slow data-bound rules are also stopped while running by
/// the engine's per-rule time budget.
fn check_comprehensions(tree: &IdedExpr) -> Result<(), String> {
    if ranges_over_a_literal_value(tree) {
        return Err(
            "map, filter, all, exists and exists_one need a list or a map, not a single value"
                .to_string(),
        );
    }
    let loops = loops_of(tree);
    if loops.depth > MAX_COMPREHENSION_DEPTH {
        return Err(format!(
            "comprehensions (map, filter, all, exists, exists_one) nest {} deep, more than the limit of {MAX_COMPREHENSION_DEPTH}",
            loops.depth
        ));
    }
    if loops.iterations > MAX_COMPREHENSION_ITERATIONS {
        return Err(format!(
            "comprehensions would run about {} iterations per resource, more than the limit of {MAX_COMPREHENSION_ITERATIONS} (non-literal lists are counted as {ASSUMED_RANGE_LEN} items)",
            loops.iterations
        ));
    }
    Ok(())
}

/// How deep comprehensions nest in an expression and how many iterations they run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Loops {
    depth: usize,
    iterations: u64,
}

impl Loops {
    /// Two parts evaluated one after the other.
    fn then(self, other: Loops) -> Loops {
        Loops {
            depth: self.depth.max(other.depth),
            iterations: self.iterations.saturating_add(other.iterations),
        }
    }
}

fn loops_of(e: &IdedExpr) -> Loops {
    let all = |parts: &mut dyn Iterator<Item = &IdedExpr>| {
        parts.fold(Loops::default(), |acc, part| acc.then(loops_of(part)))
    };
    match &e.expr {
        Node::Comprehension(c) => {
            let body = loops_of(&c.loop_cond).then(loops_of(&c.loop_step));
            let per_item = body.iterations.max(1);
            let inner = Loops {
                depth: body.depth + 1,
                iterations: range_len(&c.iter_range).saturating_mul(per_item),
            };
            loops_of(&c.iter_range)
                .then(loops_of(&c.accu_init))
                .then(inner)
                .then(loops_of(&c.result))
        }
        Node::Call(call) => all(&mut call.target.iter().map(|t| &**t).chain(call.args.iter())),
        Node::List(list) => all(&mut list.elements.iter()),
        Node::Map(map) => all(&mut map.entries.iter().flat_map(entry_parts)),
        Node::Struct(st) => all(&mut st.entries.iter().flat_map(entry_parts)),
        Node::Select(select) => loops_of(&select.operand),
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => Loops::default(),
    }
}

/// A comprehension over a number, string, bool, bytes or null literal (`1.0.filter(…)`), which
/// cel-interpreter does not refuse but panics on.
fn ranges_over_a_literal_value(e: &IdedExpr) -> bool {
    let any = |parts: &mut dyn Iterator<Item = &IdedExpr>| {
        let mut found = false;
        for part in parts {
            found |= ranges_over_a_literal_value(part);
        }
        found
    };
    match &e.expr {
        Node::Comprehension(c) => {
            matches!(c.iter_range.expr, Node::Literal(_))
                || any(&mut [&*c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result]
                    .into_iter())
        }
        Node::Call(call) => any(&mut call.target.iter().map(|t| &**t).chain(call.args.iter())),
        Node::List(list) => any(&mut list.elements.iter()),
        Node::Map(map) => any(&mut map.entries.iter().flat_map(entry_parts)),
        Node::Struct(st) => any(&mut st.entries.iter().flat_map(entry_parts)),
        Node::Select(select) => ranges_over_a_literal_value(&select.operand),
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => false,
    }
}

fn entry_parts(entry: &IdedEntryExpr) -> Vec<&IdedExpr> {
    match &entry.expr {
        EntryExpr::StructField(f) => vec![&f.value],
        EntryExpr::MapEntry(m) => vec![&m.key, &m.value],
    }
}

/// How many items a comprehension's range holds: exact for literals, their concatenations and
/// ranges that are themselves comprehensions (map and filter give at most their range's items);
/// [`ASSUMED_RANGE_LEN`] for anything read from data.
fn range_len(e: &IdedExpr) -> u64 {
    match &e.expr {
        Node::List(list) => list.elements.len() as u64,
        Node::Map(map) => map.entries.len() as u64,
        Node::Comprehension(c) => range_len(&c.iter_range),
        Node::Call(call) if call.func_name == "_+_" => {
            call.args.iter().map(range_len).fold(0, u64::saturating_add)
        }
        _ => ASSUMED_RANGE_LEN,
    }
}

/// Reserved, not committed: only the pages the parser touches are used.
const PARSER_STACK: usize = 256 << 20;

fn plain_errors(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_template(text: &str, path: &Path, source: &str) -> Result<Template, RuleError> {
    let invalid = |message: String| RuleError::Invalid {
        path: path.to_path_buf(),
        line: line_of(text, "evidence"),
        field: "evidence".to_string(),
        message,
    };
    let mut parts = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(TemplatePart::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| invalid("unclosed `{` in template".into()))?;
        let expr = &after[..close];
        if expr.trim().is_empty() {
            return Err(invalid("empty `{}` in template".into()));
        }
        parts.push(TemplatePart::Hole(compile(text, path, "evidence", expr)?));
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(TemplatePart::Text(rest.to_string()));
    }
    Ok(Template { source: source.to_string(), parts })
}

impl Rule {
    /// Parses and validates one rule file's text; `path` names it in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Rule, RuleError> {
        let file: RuleFile = toml::from_str(text).map_err(|e| {
            let line =
                e.span().map_or(1, |s| text[..s.start.min(text.len())].lines().count().max(1));
            RuleError::Invalid {
                path: path.to_path_buf(),
                line,
                field: "toml".to_string(),
                message: plain_errors(e.message()),
            }
        })?;
        let invalid = |field: &str, message: String| RuleError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, field),
            field: field.to_string(),
            message,
        };
        if file.id.is_empty()
            || !file.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(
                "id",
                format!("{:?} is not a valid id (letters, digits, - and _)", file.id),
            ));
        }
        if file.title.trim().is_empty() {
            return Err(invalid("title", "must not be empty".into()));
        }
        if file.action.trim().is_empty() {
            return Err(invalid("action", "must not be empty".into()));
        }
        let mut params = BTreeMap::new();
        for (name, value) in &file.params {
            let param = Param::from_toml(value).ok_or_else(|| {
                invalid(
                    name,
                    "a parameter must be a number, a string, a boolean or a list of strings".into(),
                )
            })?;
            params.insert(name.clone(), param);
        }
        if file.needs_utilization && params.get("min_days").and_then(Param::as_number).is_none() {
            return Err(invalid(
                "needs_utilization",
                "a rule that needs utilization must have a numeric `min_days` parameter".into(),
            ));
        }
        Ok(Rule {
            when: file.when.as_deref().map(|w| compile(text, path, "when", w)).transpose()?,
            confidence_expr: file
                .confidence_expr
                .as_deref()
                .map(|c| compile(text, path, "confidence_expr", c))
                .transpose()?,
            condition: compile(text, path, "condition", &file.condition)?,
            target: file.target.as_deref().map(|t| compile(text, path, "target", t)).transpose()?,
            savings: compile(text, path, "savings", &file.savings)?,
            evidence: parse_template(text, path, &file.evidence)?,
            id: file.id,
            title: file.title,
            description: file.description,
            resource: file.resource,
            action: file.action,
            confidence: file.confidence,
            require_positive_savings: file.require_positive_savings,
            needs_utilization: file.needs_utilization,
            unless: file.unless,
            params,
            enabled: true,
            origin: path.to_path_buf(),
            lines: ["when", "condition", "target", "savings", "evidence", "confidence_expr"]
                .into_iter()
                .map(|f| (f, line_of(text, f)))
                .collect(),
        })
    }

    /// The fields of `r` any of the rule's expressions reads.
    pub fn fields_read(&self) -> FieldsRead {
        let mut read = FieldsRead::default();
        let holes = self.evidence.parts.iter().filter_map(|part| match part {
            TemplatePart::Hole(expr) => Some(expr),
            TemplatePart::Text(_) => None,
        });
        let exprs = [&self.when, &self.confidence_expr, &self.target]
            .into_iter()
            .flatten()
            .chain([&self.condition, &self.savings])
            .chain(holes);
        for expr in exprs {
            read.add(&expr.reads);
        }
        read
    }

    pub fn min_days(&self) -> f64 {
        self.params.get("min_days").and_then(Param::as_number).unwrap_or(0.0)
    }
}

/// The active rules: the built-in pack, then user directories (same id replaces), then config
/// overrides of parameters.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let rules = BUILTIN
            .iter()
            .map(|(name, text)| {
                Rule::parse(text, &PathBuf::from(format!("builtin:rules/pack/{name}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut set = RuleSet { rules };
        set.sort();
        Ok(set)
    }

    /// Every `*.toml` file of `dir`, in name order. All problems are collected, not just the first.
    pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, Vec<RuleError>> {
        let entries = std::fs::read_dir(dir)
            .map_err(|source| vec![RuleError::Io { path: dir.to_path_buf(), source }])?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(text) => match Rule::parse(&text, &path) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => errors.push(e),
                },
                Err(source) => errors.push(RuleError::Io { path, source }),
            }
        }
        let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
        for rule in &rules {
            if let Some(first) = seen.insert(&rule.id, &rule.origin) {
                errors.push(RuleError::Invalid {
                    path: rule.origin.clone(),
                    line: 1,
                    field: "id".into(),
                    message: format!("duplicate id {:?}, also in {}", rule.id, first.display()),
                });
            }
        }
        if errors.is_empty() { Ok(rules) } else { Err(errors) }
    }

    /// Adds rules, replacing any with the same id.
    pub fn extend(&mut self, rules: Vec<Rule>) {
        for rule in rules {
            self.rules.retain(|r| r.id != rule.id);
            self.rules.push(rule);
        }
        self.sort();
    }

    fn sort(&mut self) {
        self.rules.sort_by(|a, b| a.id.cmp(&b.id));
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Applies `[rules.<id>]` tables from the config: parameter values (same type as the rule's
    /// default) and `enabled = false`. Returns warnings for unknown rule ids.
    pub fn apply_overrides(
        &mut self,
        overrides: &BTreeMap<String, toml::Table>,
        config_path: &Path,
        config_text: &str,
    ) -> Result<Vec<String>, RuleError> {
        let mut warnings = Vec::new();
        for (id, table) in overrides {
            let Some(rule) = self.rules.iter_mut().find(|r| &r.id == id) else {
                warnings.push(format!(
                    "{}: [rules.{id}] names no active rule; ignored",
                    config_path.display()
                ));
                continue;
            };
            for (name, value) in table {
                let invalid = |message: String| RuleError::Invalid {
                    path: config_path.to_path_buf(),
                    line: line_of(config_text, name),
                    field: format!("rules.{id}.{name}"),
                    message,
                };
                if name == "enabled" {
                    rule.enabled = value
                        .as_bool()
                        .ok_or_else(|| invalid("enabled must be true or false".into()))?;
                    continue;
                }
                let Some(current) = rule.params.get(name) else {
                    let known: Vec<&str> = rule.params.keys().map(String::as_str).collect();
                    return Err(invalid(format!(
                        "rule {id} has no parameter {name:?} (it has: {})",
                        known.join(", ")
                    )));
                };
                let new =
                    Param::from_toml(value).filter(|p| p.same_type(current)).ok_or_else(|| {
                        invalid(format!("expected a value like {current}, got {value}"))
                    })?;
                rule.params.insert(name.clone(), new);
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_with(condition: &str) -> String {
        format!(
            "id = \"x\"\ntitle = \"t\"\nresource = \"ebs_volume\"\naction = \"a\"\nconfidence = \"low\"\ncondition = '''{condition}'''\nsavings = \"1.0\"\nevidence = \"e\"\n"
        )
    }

    #[test]
    fn comprehensions_are_bounded_in_nesting_and_iterations() {
        // List literals are short anyway: every comma counts towards the operator limit.
        let list = |n: usize| format!("[{}]", vec!["1"; n].join(","));
        for accepted in [
            "[1, 2, 3].map(x, x * 2).size() > 0".to_string(),
            "r.tags.all(k, r.tags.exists(j, j == k))".to_string(),
            format!("{}.exists(a, {}.exists(b, a == b))", list(100), list(100)),
            format!("{}.map(x, x).exists(a, r.tags.exists(b, b == a))", list(100)),
        ] {
            Rule::parse(&rule_with(&accepted), Path::new("ok.toml"))
                .unwrap_or_else(|e| panic!("{accepted}: {e}"));
        }
        for (refused, why) in [
            // Three levels over a 40-item literal: 64,000 innermost evaluations per resource.
            (
                format!(
                    "{l}.map(a, {l}.map(b, {l}.map(c, a + b + c))).size() > 0",
                    l = list(40)
                ),
                "nest 3 deep",
            ),
            ("r.tags.all(a, r.tags.all(b, r.tags.all(c, a == c)))".to_string(), "nest 3 deep"),
            ("(r.tags + r.tags).exists(a, r.tags.exists(b, a == b))".to_string(), "iterations"),
            (
                "r.tags.exists(a, r.tags.exists(b, a == b)) || r.labels.exists(a, r.labels.exists(b, a != b))"
                    .to_string(),
                "iterations",
            ),
        ] {
            let err = Rule::parse(&rule_with(&refused), Path::new("loops.toml")).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("loops.toml:6: condition:") && text.contains(why), "{text}");
        }
    }

    #[test]
    fn a_comprehension_over_a_single_value_is_refused_or_an_error_never_a_panic() {
        // cel-interpreter's `todo!("Support …")`: a literal is refused when the rule loads…
        for literal in ["1.0.filter(y, true)", "\"s\".map(c, c)", "true.exists(x, x)"] {
            let err =
                Rule::parse(&rule_with(&format!("{literal}.size() > 0")), Path::new("l.toml"))
                    .unwrap_err()
                    .to_string();
            assert!(err.contains("need a list or a map"), "{literal}: {err}");
        }
        // …and a value from data is an evaluation error.
        let rule =
            Rule::parse(&rule_with("r.filter(c, true).size() > 0"), Path::new("d.toml")).unwrap();
        let mut ctx = Context::default();
        ctx.add_variable_from_value(
            "r",
            cel_interpreter::Value::String("a string".to_string().into()),
        );
        let err = rule.condition.execute(&ctx).unwrap_err().to_string();
        assert!(err.contains("not supported"), "{err}");
    }

    #[test]
    fn deep_or_huge_expressions_are_refused_before_the_parser() {
        for (condition, why) in [
            (format!("{}true{}", "(".repeat(20_000), ")".repeat(20_000)), "bytes long"),
            (format!("{}true{}", "(".repeat(40), ")".repeat(40)), "levels deep"),
            (format!("{}true", "!".repeat(300)), "operators"),
            ("1.0 + ".repeat(300) + "1.0 > 0.0", "operators"),
            ("false ? false : ".repeat(300) + "true", "operators"),
        ] {
            let err = Rule::parse(&rule_with(&condition), Path::new("deep.toml")).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("deep.toml:6: condition:") && text.contains(why), "{text}");
        }
        // Brackets inside strings do not count.
        let quoted = format!("r.state == \"{}\"", "(".repeat(200));
        Rule::parse(&rule_with(&quoted), Path::new("q.toml")).unwrap();
    }

    /// The largest expressions the limits let through parse (on the parser's own stack),
    /// evaluate and drop on an 8 MiB stack (the main thread's, where `report` and `rules check`
    /// run). A debug build does not fit 2 MiB (see the note in docs/fuzzing.md).
    #[test]
    fn the_largest_allowed_expressions_fit_a_small_stack() {
        let n = MAX_EXPRESSION_OPERATORS / 2;
        let d = MAX_EXPRESSION_DEPTH;
        let cases = [
            format!("{}true{}", "(".repeat(d), ")".repeat(d)),
            format!("{}1.0{} > 0.0", "[".repeat(d), "][0]".repeat(d)),
            "1.0 + ".repeat(n - 1) + "1.0 > 0.0",
            "true && ".repeat(n / 2) + "true",
            "[".to_string() + &"1.0, ".repeat(n - 1) + "1.0].size() > 0.0",
            format!("{}true", "!".repeat(n)),
            "false ? false : ".repeat(n / 2) + "true",
            "-".repeat(n - 1) + "1.0 > 0.0",
        ];
        for condition in cases {
            std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn(move || {
                    let rule = Rule::parse(&rule_with(&condition), Path::new("big.toml")).unwrap();
                    let catalog = std::sync::Arc::new(
                        crate::pricing::catalog::PriceCatalog::builtin().unwrap(),
                    );
                    let _ = crate::analysis::rules::probe::check(
                        RuleSet { rules: vec![rule] },
                        catalog,
                    );
                })
                .unwrap()
                .join()
                .unwrap();
        }
    }
}
