//! Evaluates the active rules over every resource of a snapshot and ranks the findings.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cel_interpreter::{Context, Value};

use super::context::{
    CostSource, Functions, ResourceView, resource_views, root_and_functions, utilization_value,
};
use super::fields_read::ViewFields;
use super::finding::Finding;
use super::rule::{Expr, Param, ResourceKind, Rule, RuleSet, TemplatePart, format_number};
use super::shortcut::Env;
use crate::model::{Money, Snapshot};
use crate::pricing::catalog::PriceCatalog;

/// What evaluating the rules produced.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// Sorted by savings (largest first), then rule id, then resource id.
    pub findings: Vec<Finding>,
    /// Rule id → resources it skipped because they had too few days of utilization data.
    pub insufficient_data: BTreeMap<String, u64>,
    /// Distinct resources skipped by at least one rule for too little data.
    pub insufficient_resources: u64,
    pub resources_evaluated: u64,
    /// Expressions that failed on some resource, the first few per rule.
    pub errors: Vec<EvalError>,
    /// Findings the user chose to ignore, with the reason they gave.
    pub suppressed: Vec<(Finding, String)>,
}

/// An expression of a rule that failed on a resource (a type error, a missing field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub rule_id: String,
    /// `None` for the "more errors not shown" summary.
    pub resource_id: Option<String>,
    /// `when`, `condition`, `target`; or `more` for the summary.
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.resource_id {
            Some(r) => {
                write!(f, "rule {} on {}: {}: {}", self.rule_id, r, self.field, self.message)
            }
            None => write!(f, "rule {}: {}", self.rule_id, self.message),
        }
    }
}

/// The compiled rules and the price functions they call.
pub struct Engine {
    rules: RuleSet,
    catalog: Arc<PriceCatalog>,
    /// How cluster node costs split into CPU and memory (and price unknown nodes, if set).
    cluster_pricing: crate::analysis::cluster::CostSplit,
    /// Storage class → price per GiB-month, overriding the tables (from `[kubernetes]`).
    storage_class_prices: BTreeMap<String, crate::model::Money>,
    root: Context<'static>,
    /// The root's own functions, for the shortcuts to call.
    functions: Functions,
    /// Wall time one rule may take over all the resources.
    budget: Duration,
}

const ERRORS_PER_RULE: usize = 3;

/// How long one rule may run over all the resources before it is stopped and reported as
/// failed, so that no rule file can hang a run.
pub const RULE_BUDGET: Duration = Duration::from_secs(30);

/// The clock is read once per this many resources of a rule (reading it costs more than
/// most rules' work on one resource).
const BUDGET_CHECK_EVERY: usize = 64;

fn params_value(params: &BTreeMap<String, Param>) -> Value {
    let map: HashMap<String, Value> = params
        .iter()
        .map(|(k, v)| {
            let value = match v {
                Param::Number(n) => Value::Float(*n),
                Param::Text(t) => Value::String(Arc::new(t.clone())),
                Param::Bool(b) => Value::Bool(*b),
                Param::List(items) => Value::List(Arc::new(
                    items.iter().map(|i| Value::String(Arc::new(i.clone()))).collect(),
                )),
            };
            (k.clone(), value)
        })
        .collect();
    map.into()
}

/// Renders a value for evidence text: numbers with at most 2 decimals.
fn show(value: &Value) -> String {
    match value {
        Value::Float(f) => format_number(*f),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::String(s) => s.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "n/a".to_string(),
        Value::List(items) => items.iter().map(show).collect::<Vec<_>>().join(", "),
        other => format!("{other:?}"),
    }
}

fn error_text(e: &cel_interpreter::ExecutionError) -> String {
    match e {
        cel_interpreter::ExecutionError::FunctionError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

impl Engine {
    pub fn new(rules: RuleSet, catalog: Arc<PriceCatalog>) -> Engine {
        let (root, functions) = root_and_functions(catalog.clone());
        Engine {
            rules,
            catalog,
            cluster_pricing: Default::default(),
            storage_class_prices: BTreeMap::new(),
            root,
            functions,
            budget: RULE_BUDGET,
        }
    }

    /// Stops any rule that runs longer than `budget` over the resources (default
    /// [`RULE_BUDGET`]) and reports it as failed.
    pub fn with_budget(mut self, budget: Duration) -> Engine {
        self.budget = budget;
        self
    }

    /// Uses `pricing` for cluster nodes (from `[kubernetes]` in the config).
    pub fn with_cluster_pricing(mut self, pricing: crate::analysis::cluster::CostSplit) -> Engine {
        self.cluster_pricing = pricing;
        self
    }

    /// Prices Kubernetes volumes of these storage classes at these prices per GiB-month
    /// instead of the tables' (from `[kubernetes.storage_class_prices]` in the config).
    pub fn with_storage_class_prices(
        mut self,
        prices: BTreeMap<String, crate::model::Money>,
    ) -> Engine {
        self.storage_class_prices = prices;
        self
    }

    pub fn cluster_pricing(&self) -> crate::analysis::cluster::CostSplit {
        self.cluster_pricing
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn catalog(&self) -> &PriceCatalog {
        &self.catalog
    }

    /// Evaluates every enabled rule on every resource of its kind.
    pub fn evaluate(&self, snapshot: &Snapshot, required_tags: &[String]) -> Evaluation {
        self.evaluate_with(snapshot, required_tags, &|_| None)
    }

    /// Like [`Engine::evaluate`], leaving out findings `suppressed` returns a reason for: they
    /// go to [`Evaluation::suppressed`] and count in no total, and another finding on the same
    /// resource can become the primary one.
    pub fn evaluate_with(
        &self,
        snapshot: &Snapshot,
        required_tags: &[String],
        suppressed: &dyn Fn(&Finding) -> Option<String>,
    ) -> Evaluation {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        self.evaluate_on(snapshot, required_tags, suppressed, threads)
    }

    fn evaluate_on(
        &self,
        snapshot: &Snapshot,
        required_tags: &[String],
        suppressed: &dyn Fn(&Finding) -> Option<String>,
        threads: usize,
    ) -> Evaluation {
        // Rules that stand down for others run after them.
        let mut order: Vec<&Rule> = self.rules.rules.iter().filter(|r| r.enabled).collect();
        order.sort_by_key(|r| (!r.unless.is_empty(), r.id.clone()));
        let views = resource_views(
            snapshot,
            &self.catalog,
            self.cluster_pricing,
            &self.storage_class_prices,
            &ViewFields::of(order.iter().copied()),
        );
        let required: Vec<Value> =
            required_tags.iter().map(|t| Value::String(Arc::new(t.clone()))).collect();
        let required = Value::List(Arc::new(required));
        let plans: Vec<Plan<'_>> = order
            .iter()
            .map(|rule| Plan {
                rule,
                unless: rule
                    .unless
                    .iter()
                    .filter_map(|id| order.iter().position(|o| &o.id == id))
                    .collect(),
                p: params_value(&rule.params),
                thresholds: (!rule.params.is_empty()).then(|| {
                    let thresholds: Vec<String> =
                        rule.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("thresholds: {}", thresholds.join(", "))
                }),
            })
            .collect();

        // Resources are independent of each other (`unless` looks at the same resource only),
        // so they are split across threads; merging in chunk order keeps the result identical.
        let resources = views.len();
        let chunks: Vec<ChunkEval> = if threads > 1 && resources >= PARALLEL_MIN_RESOURCES {
            // Each thread owns its slice of the views, so dropping them (a tenth of the work)
            // happens in parallel too.
            let size = resources.div_ceil(threads);
            let mut parts: Vec<Vec<ResourceView<'_>>> = Vec::with_capacity(threads);
            let mut views = views.into_iter();
            loop {
                let part: Vec<ResourceView<'_>> = views.by_ref().take(size).collect();
                if part.is_empty() {
                    break;
                }
                parts.push(part);
            }
            std::thread::scope(|scope| {
                let handles: Vec<_> = parts
                    .into_iter()
                    .map(|part| {
                        let (plans, required) = (&plans, &required);
                        scope.spawn(move || {
                            self.evaluate_chunk(&part, plans, required, required_tags)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| ChunkEval::failed(order.len())))
                    .collect()
            })
        } else {
            vec![self.evaluate_chunk(&views, &plans, &required, required_tags)]
        };

        let mut eval = Evaluation { resources_evaluated: resources as u64, ..Default::default() };
        let mut insufficient = 0u64;
        let mut errors: Vec<(Vec<EvalError>, usize)> = vec![(Vec::new(), 0); order.len()];
        let mut over_budget = vec![false; order.len()];
        for chunk in chunks {
            if chunk.failed {
                eval.errors.push(EvalError {
                    rule_id: "*".to_string(),
                    resource_id: None,
                    field: "more",
                    message: "a rule worker failed: some resources were not evaluated".to_string(),
                });
            }
            eval.findings.extend(chunk.findings);
            for (rule, n) in chunk.insufficient_data {
                *eval.insufficient_data.entry(rule).or_default() += n;
            }
            insufficient += chunk.insufficient_resources;
            for (slot, (list, count)) in errors.iter_mut().zip(chunk.errors) {
                slot.0.extend(list);
                slot.1 += count;
            }
            for (slot, over) in over_budget.iter_mut().zip(chunk.over_budget) {
                *slot |= over;
            }
        }
        for ((rule, (mut list, count)), over) in order.iter().zip(errors).zip(over_budget) {
            list.truncate(ERRORS_PER_RULE);
            eval.errors.extend(list);
            if count > ERRORS_PER_RULE {
                eval.errors.push(EvalError {
                    rule_id: rule.id.clone(),
                    resource_id: None,
                    field: "more",
                    message: format!(
                        "{} more evaluation errors not shown",
                        count - ERRORS_PER_RULE
                    ),
                });
            }
            if over {
                eval.findings.retain(|f| f.rule_id != rule.id);
                eval.errors.push(EvalError {
                    rule_id: rule.id.clone(),
                    resource_id: None,
                    field: "budget",
                    message: format!(
                        "failed: evaluation stopped after the rule's budget of {:?} ({}); \
                         none of its findings are reported",
                        self.budget,
                        rule.origin.display()
                    ),
                });
            }
        }
        eval.insufficient_resources = insufficient;
        let (kept, left_out): (Vec<Finding>, Vec<Finding>) =
            std::mem::take(&mut eval.findings).into_iter().partition(|f| suppressed(f).is_none());
        eval.suppressed = left_out
            .into_iter()
            .map(|f| {
                let reason = suppressed(&f).unwrap_or_default();
                (f, reason)
            })
            .collect();
        eval.suppressed.sort_by(|a, b| {
            (&a.0.resource_id, &a.0.rule_id).cmp(&(&b.0.resource_id, &b.0.rule_id))
        });
        eval.findings = kept;
        mark_alternatives(&mut eval.findings);
        eval.findings = ranked(std::mem::take(&mut eval.findings));
        eval
    }

    /// Every rule over one slice of the resources, a block of resources at a time: each
    /// block's views stay in cache while the rules run over them (rules walking all 100k
    /// resources one after the other touched cold memory on every rule), and each rule's time
    /// is still summed for its budget.
    fn evaluate_chunk(
        &self,
        views: &[ResourceView<'_>],
        plans: &[Plan<'_>],
        required: &Value,
        required_tags: &[String],
    ) -> ChunkEval {
        // Each resource's `u` and `missing_tags`, built on the thread that uses them.
        let tag_values: Vec<Value> =
            required_tags.iter().map(|t| Value::String(Arc::new(t.clone()))).collect();
        // Most resources have no utilization data or no missing tag: they share one value.
        let no_data = utilization_value(None);
        let none_missing = Value::List(Arc::new(Vec::new()));
        let prepare = |v: &ResourceView<'_>| {
            let missing: Vec<Value> = required_tags
                .iter()
                .zip(&tag_values)
                .filter(|(k, _)| v.tags.get(*k).is_none_or(|val| val.trim().is_empty()))
                .map(|(_, value)| value.clone())
                .collect();
            (
                v.utilization.map_or_else(|| no_data.clone(), |u| utilization_value(Some(u))),
                if missing.is_empty() {
                    none_missing.clone()
                } else {
                    Value::List(Arc::new(missing))
                },
            )
        };
        let mut out = ChunkEval::failed(plans.len());
        out.failed = false;
        // One scope per rule, its per-resource variables overwritten in place: a fresh scope
        // per resource cost a map and a `String` key per variable.
        let mut scopes: Vec<RuleScope<'_>> = plans
            .iter()
            .map(|plan| {
                let mut ctx = self.root.new_inner_scope();
                ctx.add_variable_from_value("p", plan.p.clone());
                ctx.add_variable_from_value("required_tags", required.clone());
                for name in ["r", "u", "missing_tags"] {
                    ctx.add_variable_from_value(name, Value::Null);
                }
                RuleScope { ctx, has_target: false, spent: Duration::ZERO, seen: 0 }
            })
            .collect();
        let mut insufficient = 0u64;
        // Per resource of the block: positions of the rules that fired on it, for `unless`.
        let mut fired: Vec<Vec<usize>> = Vec::new();
        let mut kinds: Vec<ResourceKind> = Vec::new();
        for block in views.chunks(BLOCK) {
            let items: Vec<Prepared<'_, '_>> = block
                .iter()
                .map(|view| {
                    let (u, missing_tags) = prepare(view);
                    Prepared { view, u, missing_tags }
                })
                .collect();
            fired.clear();
            fired.resize_with(items.len(), Vec::new);
            let mut short_of_data = vec![false; items.len()];
            kinds.clear();
            for item in &items {
                if !kinds.contains(&item.view.kind) {
                    kinds.push(item.view.kind);
                }
            }
            for (rule_pos, (plan, scope)) in plans.iter().zip(&mut scopes).enumerate() {
                let rule = plan.rule;
                if out.over_budget[rule_pos]
                    || (rule.resource != ResourceKind::Any && !kinds.contains(&rule.resource))
                {
                    continue;
                }
                let started = Instant::now();
                for (item_pos, item) in items.iter().enumerate() {
                    if rule.resource != ResourceKind::Any && item.view.kind != rule.resource {
                        continue;
                    }
                    scope.seen += 1;
                    if scope.seen.is_multiple_of(BUDGET_CHECK_EVERY)
                        && scope.spent + started.elapsed() > self.budget
                    {
                        out.over_budget[rule_pos] = true;
                        break;
                    }
                    let outcome = self.evaluate_one(plan, scope, item, required, &fired[item_pos]);
                    let (rule_errors, error_count) = &mut out.errors[rule_pos];
                    for (field, message) in outcome.errors {
                        *error_count += 1;
                        if rule_errors.len() < ERRORS_PER_RULE {
                            rule_errors.push(EvalError {
                                rule_id: rule.id.clone(),
                                resource_id: Some(item.view.id.clone()),
                                field,
                                message,
                            });
                        }
                    }
                    match outcome.result {
                        Outcome::Skipped => {}
                        Outcome::ShortOfData => {
                            *out.insufficient_data.entry(rule.id.clone()).or_default() += 1;
                            short_of_data[item_pos] = true;
                        }
                        Outcome::Fired(finding) => {
                            fired[item_pos].push(rule_pos);
                            out.findings.push(*finding);
                        }
                    }
                }
                scope.spent += started.elapsed();
            }
            insufficient += short_of_data.iter().filter(|s| **s).count() as u64;
        }
        for (rule_pos, plan) in plans.iter().enumerate() {
            if out.over_budget[rule_pos] {
                // A rule that ran out of time reports nothing: which resources it reached
                // depends on the machine's speed.
                out.findings.retain(|f| f.rule_id != plan.rule.id);
            }
        }
        out.insufficient_resources = insufficient;
        out
    }

    /// One rule on one resource. Expressions with a shortcut are answered in Rust; the
    /// resource's variables are bound into the rule's CEL scope only once CEL must run.
    fn evaluate_one(
        &self,
        plan: &Plan<'_>,
        scope: &mut RuleScope<'_>,
        item: &Prepared<'_, '_>,
        required: &Value,
        fired_here: &[usize],
    ) -> OneEval {
        let rule = plan.rule;
        let mut run = Run {
            scope,
            item,
            p: &plan.p,
            required,
            functions: &self.functions,
            bound: false,
            target: None,
        };
        let mut errors: Vec<(&'static str, String)> = Vec::new();
        let skipped = |errors| OneEval { result: Outcome::Skipped, errors };
        if let Some(when) = &rule.when {
            match truth(when, run.exec(when)) {
                Ok(true) => {}
                Ok(false) => return skipped(errors),
                Err(e) => {
                    errors.push(("when", e));
                    return skipped(errors);
                }
            }
        }
        if plan.unless.iter().any(|other| fired_here.contains(other)) {
            return skipped(errors);
        }
        let view = item.view;
        if rule.needs_utilization {
            let days = view.utilization.map_or(0, |u| u.days_covered);
            if f64::from(days) < rule.min_days() {
                return OneEval { result: Outcome::ShortOfData, errors };
            }
        }
        match truth(&rule.condition, run.exec(&rule.condition)) {
            Ok(true) => {}
            Ok(false) => return skipped(errors),
            Err(e) => {
                errors.push(("condition", e));
                return skipped(errors);
            }
        }
        let target = match &rule.target {
            None => None,
            Some(expr) => match run.exec(expr) {
                Ok(Value::String(s)) if !s.is_empty() => Some(s.to_string()),
                Ok(Value::String(_) | Value::Null) => return skipped(errors), // nothing to move to
                Ok(other) => Some(show(&other)),
                Err(e) => {
                    errors.push(("target", error_text(&e)));
                    return skipped(errors);
                }
            },
        };
        if let Some(t) = &target {
            run.set_target(Value::String(Arc::new(t.clone())));
        }
        let savings = match run.exec(&rule.savings) {
            Ok(Value::Float(f)) => {
                Money::from_f64_rounded(f).ok_or("not a finite number".to_string())
            }
            Ok(Value::Int(i)) => Ok(Money::from_units(i)),
            Ok(Value::UInt(u)) => Ok(Money::from_units(i64::try_from(u).unwrap_or(i64::MAX))),
            Ok(other) => {
                let message = format!("savings expression gave {other:?}, not a number");
                errors.push(("savings", message.clone()));
                Err(message)
            }
            Err(e) => {
                // A missing price is data, reported in the evidence; anything else is a
                // mistake in the rule and is reported as one too.
                if !is_missing_price(&e) {
                    errors.push(("savings", error_text(&e)));
                }
                Err(error_text(&e))
            }
        };
        if rule.require_positive_savings && matches!(savings, Ok(s) if s.raw() <= 0) {
            return skipped(errors);
        }
        let (evidence, failed) = render(&rule.evidence.parts, &mut run);
        for message in failed {
            errors.push(("evidence", message));
        }
        let confidence = match &rule.confidence_expr {
            None => rule.confidence,
            Some(expr) => match run.exec(expr) {
                Ok(Value::String(s)) => s.parse().unwrap_or_else(|e: String| {
                    errors.push(("confidence_expr", e));
                    rule.confidence
                }),
                Ok(other) => {
                    errors.push((
                        "confidence_expr",
                        format!("gave {other:?}, not \"low\", \"medium\" or \"high\""),
                    ));
                    rule.confidence
                }
                Err(e) => {
                    errors.push(("confidence_expr", error_text(&e)));
                    rule.confidence
                }
            },
        };
        let mut finding = self.finding(plan, view, evidence, target, savings);
        finding.confidence = confidence;
        OneEval { result: Outcome::Fired(Box::new(finding)), errors }
    }
    fn finding(
        &self,
        plan: &Plan<'_>,
        view: &ResourceView<'_>,
        mut evidence: String,
        target: Option<String>,
        savings: Result<Money, String>,
    ) -> Finding {
        let mut notes = Vec::new();
        notes.push(view.cost.describe());
        let saving = match savings {
            Ok(s) => s.max(Money::ZERO),
            Err(reason) => {
                notes.push(format!("savings not computed: {reason}"));
                Money::ZERO
            }
        };
        if let Some(thresholds) = &plan.thresholds {
            notes.push(thresholds.clone());
        }
        for note in notes {
            if !evidence.is_empty() {
                evidence.push_str("; ");
            }
            evidence.push_str(&note);
        }
        let currency = match view.cost.source {
            CostSource::Billing { .. } | CostSource::Allocated { .. } => view.cost.currency.clone(),
            _ => crate::model::Currency::new(self.catalog.currency()),
        };
        let rule = plan.rule;
        Finding {
            rule_id: rule.id.clone(),
            title: rule.title.clone(),
            resource_id: view.id.clone(),
            resource_type: view.resource_type.clone(),
            account_id: view.account_id.clone(),
            region: view.region.clone(),
            action: rule.action.clone(),
            current_monthly_cost: view.cost.monthly,
            estimated_monthly_savings: saving,
            currency,
            confidence: rule.confidence,
            evidence,
            target,
            alternative: false,
        }
    }
}

/// Resources below this count are evaluated on one thread (spawning costs more).
const PARALLEL_MIN_RESOURCES: usize = 2_000;

/// What one slice of resources produced; merged in slice order.
struct ChunkEval {
    findings: Vec<Finding>,
    insufficient_data: BTreeMap<String, u64>,
    insufficient_resources: u64,
    /// Per rule (in evaluation order): the first errors and how many there were.
    errors: Vec<(Vec<EvalError>, usize)>,
    /// Per rule: it ran out of its time budget in this slice.
    over_budget: Vec<bool>,
    failed: bool,
}

impl ChunkEval {
    fn failed(rules: usize) -> ChunkEval {
        ChunkEval {
            findings: Vec::new(),
            insufficient_data: BTreeMap::new(),
            insufficient_resources: 0,
            errors: vec![(Vec::new(), 0); rules],
            over_budget: vec![false; rules],
            failed: true,
        }
    }
}

/// What is worked out once per rule before going over the resources.
struct Plan<'r> {
    rule: &'r Rule,
    /// Positions (in evaluation order) of the rules whose finding makes this one stand down.
    unless: Vec<usize>,
    /// The `p` variable.
    p: Value,
    /// The "thresholds: …" note of every finding, when the rule has parameters.
    thresholds: Option<String>,
}

/// Resources per block: small enough that a block's views stay in cache while every rule runs
/// over them, large enough that reading the clock per rule and block costs nothing.
const BLOCK: usize = 256;

/// One rule's CEL scope on one thread, and the time it has taken there.
struct RuleScope<'c> {
    ctx: Context<'c>,
    /// `target` is bound in `ctx` (from the last resource CEL ran on).
    has_target: bool,
    spent: Duration,
    /// Resources of the rule's kind seen, for reading the clock every so often.
    seen: usize,
}

/// What one rule did on one resource.
struct OneEval {
    result: Outcome,
    /// Expressions that failed (field, message).
    errors: Vec<(&'static str, String)>,
}

enum Outcome {
    Skipped,
    /// Too few days of utilization data.
    ShortOfData,
    Fired(Box<Finding>),
}

/// One rule running on one resource: its expressions' values from their shortcuts, or from
/// CEL with the resource's variables bound on first need.
struct Run<'s, 'c, 'i, 'v, 'a> {
    scope: &'s mut RuleScope<'c>,
    item: &'i Prepared<'v, 'a>,
    p: &'i Value,
    required: &'i Value,
    functions: &'i Functions,
    bound: bool,
    /// The `target` variable, once the target expression ran.
    target: Option<Value>,
}

impl Run<'_, '_, '_, '_, '_> {
    fn exec(&mut self, expr: &Expr) -> cel_interpreter::ResolveResult {
        if let Some(shortcut) = &expr.shortcut {
            let env = Env {
                r: &self.item.view.r,
                u: &self.item.u,
                missing_tags: &self.item.missing_tags,
                p: self.p,
                required_tags: self.required,
                target: self.target.as_ref(),
                functions: self.functions,
            };
            if let Some(value) = shortcut.eval(&env) {
                return Ok(value);
            }
        }
        if !self.bound {
            self.bind();
        }
        expr.execute(&self.scope.ctx)
    }

    /// Binds `r`, `u` and `missing_tags` to the resource's, and `target` to its target or
    /// to nothing: as in a fresh scope, `target` exists only once the target expression ran
    /// on this resource.
    fn bind(&mut self) {
        let ctx = &mut self.scope.ctx;
        set_variable(ctx, "r", self.item.view.r.clone());
        set_variable(ctx, "u", self.item.u.clone());
        set_variable(ctx, "missing_tags", self.item.missing_tags.clone());
        match &self.target {
            Some(target) => {
                set_variable(ctx, "target", target.clone());
                self.scope.has_target = true;
            }
            None if self.scope.has_target => {
                remove_variable(ctx, "target");
                self.scope.has_target = false;
            }
            None => {}
        }
        self.bound = true;
    }

    fn set_target(&mut self, target: Value) {
        if self.bound {
            set_variable(&mut self.scope.ctx, "target", target.clone());
            self.scope.has_target = true;
        }
        self.target = Some(target);
    }
}

/// Overwrites a variable of `ctx` in place (no new key), or adds it.
fn set_variable(ctx: &mut Context<'_>, name: &str, value: Value) {
    let (Context::Root { variables, .. } | Context::Child { variables, .. }) = ctx;
    match variables.get_mut(name) {
        Some(slot) => *slot = value,
        None => {
            variables.insert(name.to_string(), value);
        }
    }
}

fn remove_variable(ctx: &mut Context<'_>, name: &str) {
    let (Context::Root { variables, .. } | Context::Child { variables, .. }) = ctx;
    variables.remove(name);
}

struct Prepared<'v, 'a> {
    view: &'v ResourceView<'a>,
    u: Value,
    missing_tags: Value,
}

fn truth(expr: &Expr, result: cel_interpreter::ResolveResult) -> Result<bool, String> {
    match result {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(other) => Err(format!("`{}` gave {other:?}, not a boolean", expr.source)),
        Err(e) => Err(error_text(&e)),
    }
}

/// Fills the evidence template. A hole that fails shows `?` and its error is returned.
fn render(parts: &[TemplatePart], run: &mut Run<'_, '_, '_, '_, '_>) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut failed = Vec::new();
    for part in parts {
        match part {
            TemplatePart::Text(t) => out.push_str(t),
            TemplatePart::Hole(expr) => match run.exec(expr) {
                Ok(v) => out.push_str(&show(&v)),
                Err(e) => {
                    out.push('?');
                    failed.push(format!("`{}`: {}", expr.source, error_text(&e)));
                }
            },
        }
    }
    (out.trim().to_string(), failed)
}

/// Whether an error is a price function saying "no price for …" (data, not a rule mistake).
fn is_missing_price(e: &cel_interpreter::ExecutionError) -> bool {
    matches!(e, cel_interpreter::ExecutionError::FunctionError { function, message }
        if (super::context::PRICE_FUNCTIONS.contains(&function.as_str())
            && message.starts_with("no price")) || function == "not_computed")
}

/// Findings by savings (largest first), then rule id, then resource id. Positions are sorted
/// and each finding moved once: sorting the findings themselves moved a few hundred bytes per
/// finding at every step of the merge, on one thread.
fn ranked(findings: Vec<Finding>) -> Vec<Finding> {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&findings[a], &findings[b]);
        b.estimated_monthly_savings
            .cmp(&a.estimated_monthly_savings)
            .then_with(|| a.rule_id.cmp(&b.rule_id))
            .then_with(|| a.resource_id.cmp(&b.resource_id))
    });
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Per resource, the finding with the largest saving stays primary (ties: rule id); the rest
/// are alternatives, so totals count each resource once. A Kubernetes container's findings are
/// alternatives to a finding on its whole workload.
fn mark_alternatives(findings: &mut [Finding]) {
    let mut best: HashMap<&str, usize> = HashMap::new();
    for (i, f) in findings.iter().enumerate() {
        match best.get(f.resource_id.as_str()) {
            Some(&j) => {
                let g = &findings[j];
                let better = f.estimated_monthly_savings > g.estimated_monthly_savings
                    || (f.estimated_monthly_savings == g.estimated_monthly_savings
                        && f.rule_id < g.rule_id);
                if better {
                    best.insert(&f.resource_id, i);
                }
            }
            None => {
                best.insert(&f.resource_id, i);
            }
        }
    }
    // A finding on the workload as a whole (scale it to zero) frees every request of its
    // containers, so their findings (lower a request) are alternatives to it: the same money
    // would otherwise count twice. Container ids are `<workload id>/<container>`.
    let whole_workloads: HashSet<&str> = findings
        .iter()
        .filter(|f| f.resource_type == "k8s_workload")
        .map(|f| f.resource_id.as_str())
        .collect();
    let covered: HashSet<usize> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.resource_type == "k8s_container"
                && f.resource_id
                    .rsplit_once('/')
                    .is_some_and(|(workload, _)| whole_workloads.contains(workload))
        })
        .map(|(i, _)| i)
        .collect();
    let primaries: HashSet<usize> = best.into_values().filter(|i| !covered.contains(i)).collect();
    for (i, f) in findings.iter_mut().enumerate() {
        f.alternative = !primaries.contains(&i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample's inventory repeated with fresh ids, enough to take the parallel path.
    fn big_snapshot(copies: usize) -> Snapshot {
        let sample = crate::sample::snapshot().unwrap();
        let mut s = Snapshot::empty(sample.collected_at);
        for c in 0..copies {
            let id = |x: &str| format!("{x}-c{c}");
            for i in &sample.inventory.instances {
                let mut i = i.clone();
                i.id = id(&i.id);
                i.volume_ids = i.volume_ids.iter().map(|v| id(v)).collect();
                s.inventory.instances.push(i);
            }
            for v in &sample.inventory.volumes {
                let mut v = v.clone();
                v.id = id(&v.id);
                for a in &mut v.attachments {
                    a.instance_id = id(&a.instance_id);
                }
                s.inventory.volumes.push(v);
            }
            for u in &sample.utilization {
                let mut u = u.clone();
                u.resource_id = id(&u.resource_id);
                s.utilization.push(u);
            }
        }
        s
    }

    #[test]
    fn threads_do_not_change_the_evaluation() {
        let engine = crate::app::engine(&crate::config::Config::defaults(), None).unwrap();
        let snapshot = big_snapshot(20);
        let required = vec!["team".to_string(), "env".to_string()];
        let one = engine.evaluate_on(&snapshot, &required, &|_| None, 1);
        let four = engine.evaluate_on(&snapshot, &required, &|_| None, 4);
        assert!(snapshot.inventory.len() >= PARALLEL_MIN_RESOURCES);
        assert!(one.findings.len() > 1000);
        assert_eq!(one.findings, four.findings);
        assert_eq!(one.insufficient_data, four.insufficient_data);
        assert_eq!(one.insufficient_resources, four.insufficient_resources);
        assert_eq!(one.errors, four.errors);
    }

    #[test]
    fn a_rule_over_its_budget_is_stopped_and_reported_as_failed() {
        // Slow on every resource: a comprehension over a list parameter of 1000 items (the
        // expression itself stays far under the size limits).
        let items: Vec<String> = (0..1000).map(|i| format!("\"item-{i}\"")).collect();
        let text = format!(
            "id = \"slow\"\ntitle = \"t\"\nresource = \"ebs_volume\"\naction = \"a\"\n\
             confidence = \"low\"\ncondition = 'p.items.all(x, x != \"\")'\nsavings = \"1.0\"\n\
             evidence = \"e\"\n\n[params]\nitems = [{}]\n",
            items.join(", ")
        );
        let path = std::path::Path::new("rules/slow.toml");
        let rule = super::super::rule::Rule::parse(&text, path).unwrap();
        let catalog = Arc::new(PriceCatalog::builtin().unwrap());
        let snapshot = big_snapshot(20);
        assert!(snapshot.inventory.volumes.len() > 2 * BUDGET_CHECK_EVERY);

        let engine = Engine::new(RuleSet { rules: vec![rule] }, catalog)
            .with_budget(Duration::from_millis(1));
        let eval = engine.evaluate_on(&snapshot, &[], &|_| None, 1);
        assert!(eval.findings.iter().all(|f| f.rule_id != "slow"), "a failed rule reports nothing");
        let failed: Vec<String> = eval
            .errors
            .iter()
            .filter(|e| e.rule_id == "slow" && e.field == "budget")
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            failed,
            ["rule slow: failed: evaluation stopped after the rule's budget of 1ms \
              (rules/slow.toml); none of its findings are reported"]
        );
    }
}
