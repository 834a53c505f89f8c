//! Which fields of `r` the rules read, worked out from their syntax trees when they load, so
//! that a resource's `r` is built with those fields only (a view of every field, tags
//! included, was most of the time spent before a rule ran at all).
//!
//! A field read by name (`r.state`, `has(r.iops)`) is recorded; any other use of `r` (passed
//! whole to a function, indexed with `r["state"]`, iterated, compared) needs every field.
//! Leaving fields out changes no answer: an expression only ever sees the fields it names, and
//! a name that is not a field of the kind is still missing.

use std::collections::{BTreeMap, BTreeSet};

use cel_parser::ast::{EntryExpr, Expr as Node, IdedExpr};

use super::rule::{ResourceKind, Rule};

/// The fields of `r` some expressions read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldsRead {
    All,
    Named(BTreeSet<String>),
}

impl Default for FieldsRead {
    fn default() -> FieldsRead {
        FieldsRead::Named(BTreeSet::new())
    }
}

impl FieldsRead {
    /// The fields `tree` reads.
    pub(crate) fn of(tree: &IdedExpr) -> FieldsRead {
        let mut read = FieldsRead::default();
        walk(tree, &mut read);
        read
    }

    pub fn wants(&self, field: &str) -> bool {
        match self {
            FieldsRead::All => true,
            FieldsRead::Named(names) => names.contains(field),
        }
    }

    pub fn add(&mut self, other: &FieldsRead) {
        match (&mut *self, other) {
            (FieldsRead::All, _) => {}
            (_, FieldsRead::All) => *self = FieldsRead::All,
            (FieldsRead::Named(mine), FieldsRead::Named(theirs)) => {
                mine.extend(theirs.iter().cloned());
            }
        }
    }

    fn insert(&mut self, field: &str) {
        if let FieldsRead::Named(names) = self {
            names.insert(field.to_string());
        }
    }
}

fn walk(e: &IdedExpr, read: &mut FieldsRead) {
    if *read == FieldsRead::All {
        return;
    }
    match &e.expr {
        Node::Select(select) => match &select.operand.expr {
            Node::Ident(name) if name == "r" => read.insert(&select.field),
            _ => walk(&select.operand, read),
        },
        // `r` itself, not one of its fields (a comprehension variable named `r` lands here
        // too: reading everything is the safe side).
        Node::Ident(name) if name == "r" => *read = FieldsRead::All,
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => {}
        Node::Call(call) => {
            if let Some(target) = &call.target {
                walk(target, read);
            }
            for arg in &call.args {
                walk(arg, read);
            }
        }
        Node::Comprehension(c) => {
            for part in [&*c.iter_range, &*c.accu_init, &*c.loop_cond, &*c.loop_step, &*c.result] {
                walk(part, read);
            }
        }
        Node::List(list) => {
            for item in &list.elements {
                walk(item, read);
            }
        }
        Node::Map(map) => map.entries.iter().for_each(|entry| walk_entry(entry, read)),
        Node::Struct(st) => st.entries.iter().for_each(|entry| walk_entry(entry, read)),
    }
}

fn walk_entry(entry: &cel_parser::ast::IdedEntryExpr, read: &mut FieldsRead) {
    match &entry.expr {
        EntryExpr::StructField(f) => walk(&f.value, read),
        EntryExpr::MapEntry(m) => {
            walk(&m.key, read);
            walk(&m.value, read);
        }
    }
}

/// Per kind of resource, the fields of `r` the active rules on it read (a rule on `any` reads
/// every kind's).
#[derive(Debug, Clone)]
pub struct ViewFields {
    any: FieldsRead,
    by_kind: BTreeMap<ResourceKind, FieldsRead>,
}

impl ViewFields {
    /// Every field of every kind: views as a person inspecting a resource sees them.
    pub fn all() -> ViewFields {
        ViewFields { any: FieldsRead::All, by_kind: BTreeMap::new() }
    }

    /// What `rules` read.
    pub fn of<'r>(rules: impl IntoIterator<Item = &'r Rule>) -> ViewFields {
        let mut any = FieldsRead::default();
        let mut by_kind: BTreeMap<ResourceKind, FieldsRead> = BTreeMap::new();
        for rule in rules {
            let read = rule.fields_read();
            match rule.resource {
                ResourceKind::Any => any.add(&read),
                kind => by_kind.entry(kind).or_default().add(&read),
            }
        }
        for read in by_kind.values_mut() {
            read.add(&any);
        }
        ViewFields { any, by_kind }
    }

    pub fn of_kind(&self, kind: ResourceKind) -> &FieldsRead {
        self.by_kind.get(&kind).unwrap_or(&self.any)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn read(source: &str) -> FieldsRead {
        FieldsRead::of(&cel_parser::Parser::default().parse(source).unwrap())
    }

    fn named(names: &[&str]) -> FieldsRead {
        FieldsRead::Named(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn fields_read_by_name_are_listed_and_any_other_use_of_r_reads_all() {
        assert_eq!(read(r#"r.state == "running" && has(r.iops)"#), named(&["iops", "state"]));
        assert_eq!(
            read("graviton(r.instance_type, r.region) != '' && u.cpu_p95 < p.max"),
            named(&["instance_type", "region"])
        );
        assert_eq!(read("p.tag_key in r.tags && r.tags[p.tag_key] == 'x'"), named(&["tags"]));
        assert_eq!(read("r.tags.env.startsWith('p')"), named(&["tags"]));
        assert_eq!(read("[r.a, {'k': r.b}].size() > 0"), named(&["a", "b"]));
        assert_eq!(read("r.labels.exists(k, k == r.name)"), named(&["labels", "name"]));
        assert_eq!(read("size(missing_tags) > 0"), named(&[]));
        for whole in ["size(r) > 0", "r['state'] == 'x'", "r.exists(k, k == 'a')", "f(r)", "r"] {
            assert_eq!(read(whole), FieldsRead::All, "{whole}");
        }
        // A comprehension variable named `r`: read as the resource, so everything.
        assert_eq!(read("[1].exists(r, r > 0)"), FieldsRead::All);
    }

    #[test]
    fn the_default_pack_reads_what_its_files_say() {
        let rules = super::super::RuleSet::builtin().unwrap();
        let fields = ViewFields::of(&rules.rules);
        // `untagged` (on any kind) reads the kind; ec2-offhours reads the tags of instances,
        // ec2-stopped-long's evidence their volume ids.
        let volume = fields.of_kind(ResourceKind::EbsVolume);
        assert!(volume.wants("kind") && volume.wants("volume_type") && volume.wants("iops"));
        assert!(!volume.wants("tags") && !volume.wants("id") && !volume.wants("account_id"));
        let instance = fields.of_kind(ResourceKind::Ec2Instance);
        assert!(instance.wants("tags") && instance.wants("state") && instance.wants("kind"));
        assert!(instance.wants("volume_ids") && !instance.wants("id"));
        let bucket_only_in_billing = fields.of_kind(ResourceKind::Any);
        assert_eq!(bucket_only_in_billing, &named(&["kind"]));
    }
}
