//! Cluster: a Kubernetes cluster's totals (cost, idle cost, CPU and memory efficiency), its cost
//! per namespace and per environment, its nodes and its workloads, with `w` switching which table
//! has focus. Every figure is the report's, or [`crate::analysis::units`]' grouping of it.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use super::{ExportJob, ViewOutcome, ViewState};
use crate::analysis::cluster::{ClusterReport, NodeCostSource, NodeReport, WorkloadReport};
use crate::model::{Currency, Money};
use crate::tui::app::Dataset;
use crate::tui::theme::Theme;
use crate::tui::widget::table::{Column, DataTable, Emphasis, SortKey, TableRow};
use crate::tui::widget::{cores, gib, money, percent, safe};

/// Which of the two tables navigation, `/` and sorting act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ClusterFocus {
    #[default]
    Nodes,
    Workloads,
}

/// The cluster view's state: the cluster shown (when there are several), both tables and focus.
#[derive(Debug)]
pub struct ClusterView {
    pub nodes: DataTable,
    pub workloads: DataTable,
    pub focus: ClusterFocus,
    /// Index into `report.clusters`.
    pub cluster: usize,
    /// How many clusters the report has; zero means there is nothing to show.
    clusters: usize,
}

impl Default for ClusterView {
    fn default() -> Self {
        // Sized so both tables fit 78 columns (an 80-column terminal inside the border):
        // quantities share a column as `a/r/u`, and names are cut before numbers are.
        ClusterView {
            nodes: DataTable::new(vec![
                // 14 fits an EKS host name (`ip-10-20-32-11`), whose differing part is its end.
                Column::text("Node", "node", Constraint::Min(14)),
                Column::text("Type", "type", Constraint::Length(9)),
                Column::number("CPU a/r/u", "cpu", Constraint::Length(14)),
                Column::number("Mem Gi a/r/u", "mem", Constraint::Length(14)),
                Column::number("Cost/mo", "cost", Constraint::Length(9)),
                Column::number("Idle/mo", "idle", Constraint::Length(8)),
                Column::text("Src", "source", Constraint::Length(4)),
            ]),
            workloads: DataTable::new(vec![
                Column::text("Workload", "workload", Constraint::Min(12)),
                Column::text("Kind", "kind", Constraint::Length(6)),
                Column::number("Rep", "replicas", Constraint::Length(3)),
                Column::number("CPU r/u", "cpu", Constraint::Length(9)),
                Column::number("Mem Gi r/u", "mem", Constraint::Length(10)),
                Column::number("Over c/Gi", "over", Constraint::Length(10)),
                Column::number("Cost/mo", "cost", Constraint::Length(8)),
                Column::number("Over/mo", "waste", Constraint::Length(8)),
            ]),
            focus: ClusterFocus::Nodes,
            cluster: 0,
            clusters: 0,
        }
    }
}

/// How much of what is requested is used; a symbol beside the colour for each band.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Efficiency {
    /// Usage above requests: the scheduler placed less than the pods need.
    Above,
    Good,
    Fair,
    Low,
    Unknown,
}

impl Efficiency {
    fn of(ratio: Option<f64>) -> Efficiency {
        match ratio {
            Some(r) if r > 1.0 => Efficiency::Above,
            Some(r) if r >= 0.8 => Efficiency::Good,
            Some(r) if r >= 0.5 => Efficiency::Fair,
            Some(_) => Efficiency::Low,
            None => Efficiency::Unknown,
        }
    }

    fn marker(self) -> &'static str {
        match self {
            Efficiency::Above => "↑",
            Efficiency::Good => "✓",
            Efficiency::Fair => "~",
            Efficiency::Low => "!",
            Efficiency::Unknown => "?",
        }
    }

    fn style(self, theme: &Theme) -> Style {
        match self {
            Efficiency::Above | Efficiency::Fair => theme.warning(),
            Efficiency::Good => theme.ok(),
            Efficiency::Low => theme.error(),
            Efficiency::Unknown => theme.dim(),
        }
    }
}

/// GiB as a bare number (`14.1`); the tables name the unit once in the column title.
fn gib_number(bytes: u64) -> String {
    gib(bytes).trim_end_matches("Gi").to_string()
}

/// `3.92/2.83/1.15`: allocatable, requested and used cores (`—` when nothing was measured).
fn cpu_triple(a: u64, r: u64, u: Option<u64>) -> String {
    format!("{}/{}/{}", cores(a), cores(r), u.map_or_else(|| "—".to_string(), cores))
}

fn mem_triple(a: u64, r: u64, u: Option<u64>) -> String {
    format!("{}/{}/{}", gib_number(a), gib_number(r), u.map_or_else(|| "—".to_string(), gib_number))
}

/// EKS and GCE node names end in a domain that every node shares; the table shows the host part
/// and the line under the tables the full name.
fn short_node(name: &str) -> &str {
    match name.split_once('.') {
        Some((host, domain))
            if !host.is_empty()
                && (domain == "ec2.internal"
                    || domain.ends_with(".compute.internal")
                    || domain == "compute.internal"
                    || domain == "internal") =>
        {
            host
        }
        _ => name,
    }
}

/// kubectl's short names, so the kind fits a narrow column; the full kind is on the detail line.
fn short_kind(kind: &str) -> &str {
    match kind {
        "Deployment" => "deploy",
        "StatefulSet" => "sts",
        "DaemonSet" => "ds",
        "ReplicaSet" => "rs",
        "CronJob" => "cj",
        "Job" => "job",
        "Pod" => "pod",
        other => other,
    }
}

/// An amount in the cluster's currency as a bare number (the header names the currency), or
/// with its code when a node was priced in another one.
fn amount(value: Money, currency: &Currency, cluster: &Currency) -> String {
    if currency == cluster { value.display_2dp() } else { money(value, currency) }
}

fn source_word(source: &NodeCostSource) -> &'static str {
    match source {
        NodeCostSource::Billing { .. } => "bill",
        NodeCostSource::Catalog { .. } => "list",
        NodeCostSource::Configured { .. } => "conf",
        NodeCostSource::Unknown { .. } => "none",
    }
}

fn source_text(source: &NodeCostSource) -> String {
    match source {
        NodeCostSource::Billing { resource_id, days } => {
            format!("cost billed to {} over {days} days, scaled to a month", safe(resource_id))
        }
        NodeCostSource::Catalog { detail } => format!("cost from the price list: {}", safe(detail)),
        NodeCostSource::Configured { detail } => {
            format!("cost from the configured prices: {}", safe(detail))
        }
        NodeCostSource::Unknown { reason } => format!("not priced: {}", safe(reason)),
    }
}

fn node_row(n: &NodeReport, cluster: &Currency) -> TableRow {
    let used = n.used;
    let cells = vec![
        safe(short_node(&n.name)),
        safe(n.instance_type.as_deref().unwrap_or("—")),
        cpu_triple(
            n.allocatable.cpu_millicores,
            n.requested.cpu_millicores,
            used.map(|u| u.cpu_millicores),
        ),
        mem_triple(
            n.allocatable.memory_bytes,
            n.requested.memory_bytes,
            used.map(|u| u.memory_bytes),
        ),
        n.costs.map_or_else(|| "unpriced".to_string(), |c| amount(c.monthly, &n.currency, cluster)),
        n.costs.map_or_else(|| "—".to_string(), |c| amount(c.idle, &n.currency, cluster)),
        source_word(&n.cost_source).to_string(),
    ];
    // Quantity columns sort by what is requested: the figure a team can change.
    let keys = vec![
        SortKey::Text(n.name.clone()),
        SortKey::Text(n.instance_type.clone().unwrap_or_default()),
        SortKey::Number(n.requested.cpu_millicores as f64),
        SortKey::Number(n.requested.memory_bytes as f64),
        n.costs.map_or(SortKey::None, |c| SortKey::Money(c.monthly)),
        n.costs.map_or(SortKey::None, |c| SortKey::Money(c.idle)),
        SortKey::Text(source_word(&n.cost_source).to_string()),
    ];
    let emphasis = if n.costs.is_none() { Emphasis::Dim } else { Emphasis::Normal };
    TableRow::new(cells, keys).with(emphasis)
}

fn workload_row(w: &WorkloadReport) -> TableRow {
    let dash = || "—".to_string();
    let used = w.used;
    let over = w.over_request;
    let cells = vec![
        safe(&format!("{}/{}", w.namespace, w.name)),
        safe(short_kind(&w.kind)),
        w.replicas.to_string(),
        format!(
            "{}/{}",
            cores(w.requested.cpu_millicores),
            used.map_or_else(dash, |u| cores(u.cpu_millicores))
        ),
        format!(
            "{}/{}",
            gib_number(w.requested.memory_bytes),
            used.map_or_else(dash, |u| gib_number(u.memory_bytes))
        ),
        over.map_or_else(dash, |o| {
            format!("{}/{}", cores(o.cpu_millicores), gib_number(o.memory_bytes))
        }),
        w.monthly_cost.map_or_else(dash, Money::display_2dp),
        w.over_request_cost.map_or_else(dash, Money::display_2dp),
    ];
    let keys = vec![
        SortKey::Text(format!("{}/{}", w.namespace, w.name)),
        SortKey::Text(w.kind.clone()),
        SortKey::Number(f64::from(w.replicas)),
        SortKey::Number(w.requested.cpu_millicores as f64),
        SortKey::Number(w.requested.memory_bytes as f64),
        over.map_or(SortKey::None, |o| SortKey::Number(o.cpu_millicores as f64)),
        w.monthly_cost.map_or(SortKey::None, SortKey::Money),
        w.over_request_cost.map_or(SortKey::None, SortKey::Money),
    ];
    TableRow::new(cells, keys)
}

impl ClusterView {
    /// The table with focus (the one `table()` hands to the app).
    fn focused(&self) -> &DataTable {
        match self.focus {
            ClusterFocus::Nodes => &self.nodes,
            ClusterFocus::Workloads => &self.workloads,
        }
    }

    fn fill(&mut self, cluster: Option<&ClusterReport>) {
        let (nodes, workloads) = match cluster {
            Some(c) => (
                c.nodes.iter().map(|n| node_row(n, &c.currency)).collect(),
                c.workloads.iter().map(workload_row).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        self.nodes.set_rows(nodes);
        self.workloads.set_rows(workloads);
    }
}

impl ViewState for ClusterView {
    fn load(&mut self, data: &Dataset) {
        let clusters = &data.report.clusters;
        self.clusters = clusters.len();
        // A reload can drop a cluster; fall back to the first rather than show nothing.
        if self.cluster >= clusters.len() {
            self.cluster = 0;
        }
        self.fill(clusters.get(self.cluster));
    }

    fn key(&mut self, key: KeyEvent, data: &Dataset) -> ViewOutcome {
        if self.clusters == 0 {
            return ViewOutcome::Ignored;
        }
        match key.code {
            KeyCode::Char('w') | KeyCode::Enter => {
                self.focus = match self.focus {
                    ClusterFocus::Nodes => ClusterFocus::Workloads,
                    ClusterFocus::Workloads => ClusterFocus::Nodes,
                };
                ViewOutcome::Handled
            }
            KeyCode::Char('c') => {
                if self.clusters < 2 {
                    return ViewOutcome::Status("only one cluster is loaded".into());
                }
                self.cluster = (self.cluster + 1) % self.clusters;
                self.fill(data.report.clusters.get(self.cluster));
                ViewOutcome::Handled
            }
            _ => ViewOutcome::Ignored,
        }
    }

    fn table(&mut self) -> Option<&mut DataTable> {
        if self.clusters == 0 {
            return None;
        }
        Some(match self.focus {
            ClusterFocus::Nodes => &mut self.nodes,
            ClusterFocus::Workloads => &mut self.workloads,
        })
    }

    fn render(&self, data: &Dataset, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let Some(cluster) = data.report.clusters.get(self.cluster) else {
            render_no_cluster(area, buf, theme);
            return;
        };
        let [header, tables, detail] =
            Layout::vertical([Constraint::Length(7), Constraint::Min(6), Constraint::Length(1)])
                .areas(area);
        self.render_header(cluster, header, buf, theme);
        // Nodes are few: they get what they need up to half, workloads the rest.
        let wanted = self.nodes.total_rows() as u16 + 3;
        let nodes_height = wanted.min(tables.height / 2).max(3);
        let [nodes, workloads] =
            Layout::vertical([Constraint::Length(nodes_height), Constraint::Min(3)]).areas(tables);
        let nodes_focused = self.focus == ClusterFocus::Nodes;
        // The focus is shown by a marker in the title, not only by the border's colour.
        let (nodes_title, workloads_title) = if nodes_focused {
            ("▶ Nodes", "Workloads (w to focus)")
        } else {
            ("Nodes (w to focus)", "▶ Workloads by requested cost")
        };
        self.nodes.render(nodes, buf, theme, nodes_title, nodes_focused);
        self.workloads.render(workloads, buf, theme, workloads_title, !nodes_focused);
        self.render_detail(data, cluster, detail, buf, theme);
    }

    fn help(&self) -> Vec<(&'static str, &'static str)> {
        // Descriptions fit the help box at 80 columns (48 characters).
        vec![
            ("w, Enter", "switch focus between the nodes and workloads"),
            ("c", "next cluster, when several are loaded"),
            ("a/r/u, r/u", "allocatable / requested / used (cores, GiB)"),
            ("Over c/Gi, Over/mo", "requested but unused, and what that costs"),
            ("Src", "node cost: bill = billed, list = price list"),
            ("Namespace/mo, Env/mo", "requests' cost; env from the namespace name"),
            ("✓ ~ ! ↑", "used/requested: ≥80%, 50–80%, <50%, >100%"),
            ("▸ line", "the selected node or workload in full"),
            ("e", "export the whole report (JSON)"),
        ]
    }

    fn export(&self, data: &Dataset) -> Option<(String, ExportJob)> {
        // Nodes and workloads have no CSV exporter of their own; the JSON report carries both.
        if data.report.clusters.is_empty() {
            return None;
        }
        let date = data.report.collected_at.format("%Y-%m-%d");
        Some((
            format!("costscope-cluster-{date}.json"),
            ExportJob::Report(Box::new(data.report.clone())),
        ))
    }
}

impl ClusterView {
    fn render_header(&self, c: &ClusterReport, area: Rect, buf: &mut Buffer, theme: &Theme) {
        let mut title = vec![Span::styled(format!(" Cluster {} ", safe(&c.name)), theme.title())];
        if self.clusters > 1 {
            title.push(Span::styled(
                format!(" {} of {} (c: next) ", self.cluster + 1, self.clusters),
                theme.dim(),
            ));
        }
        let block = Block::default().borders(Borders::ALL).title(Line::from(title));
        let cost = match &c.costs {
            Some(costs) => {
                let mut spans = vec![
                    Span::styled("Monthly ", theme.dim()),
                    Span::styled(money(costs.monthly, &c.currency), theme.cost()),
                    Span::styled("  idle ", theme.dim()),
                    Span::styled(money(costs.idle, &c.currency), theme.warning()),
                    Span::styled(
                        format!(
                            " (CPU {}, memory {})",
                            costs.cpu_idle.display_2dp(),
                            costs.memory_idle.display_2dp()
                        ),
                        theme.dim(),
                    ),
                ];
                if c.nodes_unpriced > 0 {
                    spans.push(Span::styled(
                        format!("  ! {} nodes not in this total", c.nodes_unpriced),
                        theme.warning(),
                    ));
                }
                Line::from(spans)
            }
            None => Line::styled(
                "! Cost unknown: no node could be priced (the line below the tables says why)",
                theme.warning(),
            ),
        };
        let used = c.used;
        let cpu = quantity_line(
            "CPU ",
            [cores(c.allocatable.cpu_millicores), cores(c.requested.cpu_millicores)],
            used.map(|u| cores(u.cpu_millicores)),
            " cores",
            c.cpu_efficiency,
            theme,
        );
        let memory = quantity_line(
            "Mem ",
            [gib(c.allocatable.memory_bytes), gib(c.requested.memory_bytes)],
            used.map(|u| gib(u.memory_bytes)),
            "",
            c.memory_efficiency,
            theme,
        );
        let mut lines = vec![cost, cpu, memory];
        lines.extend(group_lines(c, theme));
        Paragraph::new(lines).block(block).render(area, buf);
    }

    fn render_detail(
        &self,
        data: &Dataset,
        c: &ClusterReport,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
    ) {
        let selected = self.focused().selected_index();
        let mut spans = vec![Span::styled(" ▸ ", theme.header())];
        match self.focus {
            ClusterFocus::Nodes => {
                let Some(n) = selected.and_then(|i| c.nodes.get(i)) else {
                    Line::styled(" no node selected", theme.dim()).render(area, buf);
                    return;
                };
                spans.push(Span::raw(safe(&n.name)));
                // Most telling first: the line is cut at the screen edge.
                let mut rest = vec![
                    source_text(&n.cost_source),
                    format!(
                        "used/requested CPU {} mem {}",
                        percent(n.cpu_efficiency),
                        percent(n.memory_efficiency)
                    ),
                ];
                let place = [n.instance_type.as_deref(), n.region.as_deref()];
                rest.extend(place.into_iter().flatten().map(safe));
                // Findings on the node's instance (rightsizing, idle) are in Recommendations.
                let rules: Vec<String> = data
                    .report
                    .findings
                    .iter()
                    .filter(|f| n.instance_id.as_deref() == Some(f.resource_id.as_str()))
                    .map(|f| safe(&f.rule_id))
                    .collect();
                if !rules.is_empty() {
                    rest.push(format!("findings: {} (tab 5)", rules.join(", ")));
                }
                spans.push(Span::styled(format!("  {}", rest.join(" · ")), theme.dim()));
            }
            ClusterFocus::Workloads => {
                let Some(w) = selected.and_then(|i| c.workloads.get(i)) else {
                    Line::styled(" no workload selected", theme.dim()).render(area, buf);
                    return;
                };
                spans.push(Span::raw(safe(&format!("{}/{}", w.namespace, w.name))));
                // Most telling first: the line is cut at the screen edge.
                let mut rest = vec![match w.over_request_cost {
                    Some(cost) => format!("over-request {}/mo", money(cost, &c.currency)),
                    None => "over-request unknown (no usage measured)".to_string(),
                }];
                rest.push(format!(
                    "used/requested CPU {} mem {}",
                    percent(w.cpu_efficiency),
                    percent(w.memory_efficiency)
                ));
                rest.push(format!("{} × {}", safe(&w.kind), w.replicas));
                spans.push(Span::styled(format!("  {}", rest.join(" · ")), theme.dim()));
            }
        }
        // One line, cut at the screen edge rather than wrapped.
        Line::from(spans).render(area, buf);
    }
}

/// `Namespace/mo  web 185.78 · data 154.98 · …` and `Env/mo  prod 460.66 · system 23.35 · not
/// requested 472.58`: what each namespace's requests cost a month (largest first; the line is
/// cut at the screen edge), environments as [`crate::analysis::units::environment_of`] reads them
/// from the names, and the cluster cost no request holds. Nothing without a priced node.
fn group_lines(c: &ClusterReport, theme: &Theme) -> Vec<Line<'static>> {
    use crate::analysis::units::{environment_costs, idle_monthly, namespace_costs};
    let Some(unrequested) = idle_monthly(c) else { return Vec::new() };
    let list = |groups: Vec<crate::analysis::units::GroupCost>| -> Vec<Span<'static>> {
        let mut spans = Vec::new();
        for (i, g) in groups.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(" · ", theme.dim()));
            }
            spans.push(Span::raw(format!("{} ", safe(&g.name))));
            spans.push(Span::styled(g.monthly.display_2dp(), theme.cost()));
        }
        spans
    };
    let mut namespaces = vec![Span::styled("Namespace/mo ", theme.header())];
    namespaces.extend(list(namespace_costs(c)));
    let mut environments = vec![Span::styled("Env/mo       ", theme.header())];
    environments.extend(list(environment_costs(c)));
    environments.push(Span::styled(" · not requested ", theme.dim()));
    environments.push(Span::styled(unrequested.display_2dp(), theme.warning()));
    vec![Line::from(namespaces), Line::from(environments)]
}

/// `CPU  alloc 19.6  req 15.43  used 5.89 cores   ~ 38.2% of requested used`.
fn quantity_line(
    label: &'static str,
    [allocatable, requested]: [String; 2],
    used: Option<String>,
    unit: &'static str,
    efficiency: Option<f64>,
    theme: &Theme,
) -> Line<'static> {
    let band = Efficiency::of(efficiency);
    let used = used.unwrap_or_else(|| "— (no metrics)".to_string());
    Line::from(vec![
        Span::styled(label, theme.header()),
        Span::styled(" alloc ", theme.dim()),
        Span::raw(allocatable),
        Span::styled("  req ", theme.dim()),
        Span::raw(requested),
        Span::styled("  used ", theme.dim()),
        Span::raw(format!("{used}{unit}")),
        Span::styled(
            format!("   {} {} of requested used", band.marker(), percent(efficiency)),
            band.style(theme),
        ),
    ])
}

fn render_no_cluster(area: Rect, buf: &mut Buffer, theme: &Theme) {
    let lines = vec![
        Line::styled(
            "No Kubernetes cluster in the loaded sources. Use --snapshot with a cluster, or (later) --kube.",
            theme.warning(),
        ),
        Line::from(""),
        Line::from(
            "A snapshot file with a `clusters` section carries nodes, pod requests and usage; the \
             bundled sample (`costscope tui --sample`) includes one.",
        ),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .block(Block::default().borders(Borders::ALL).title(" Cluster "))
        .render(area, buf);
}

#[cfg(test)]
mod tests {

    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;

    use crate::tui::app::{Prompt, StatusKind, ViewId};
    use crate::tui::test_support::{app_with, draw, press, sample_dataset as dataset, screen};

    #[test]
    fn sample_shows_totals_nodes_and_workloads_from_the_report() {
        let data = dataset(|_| {});
        let c = data.report.clusters[0].clone();
        let costs = c.costs.unwrap();
        let mut view = ClusterView::default();
        view.load(&data);
        assert_eq!(view.nodes.total_rows(), c.nodes.len());
        assert_eq!(view.workloads.total_rows(), c.workloads.len());
        let node = &c.nodes[0];
        let row = view.nodes.selected_row().unwrap();
        assert_eq!(row.cells[0], short_node(&node.name));
        let used = node.used.unwrap();
        assert_eq!(
            row.cells[2],
            format!(
                "{}/{}/{}",
                cores(node.allocatable.cpu_millicores),
                cores(node.requested.cpu_millicores),
                cores(used.cpu_millicores)
            )
        );
        assert_eq!(row.cells[4], node.costs.unwrap().monthly.display_2dp());
        assert_eq!(row.cells[5], node.costs.unwrap().idle.display_2dp());
        let w = &c.workloads[0];
        let row = view.workloads.selected_row().unwrap();
        assert_eq!(row.cells[0], format!("{}/{}", w.namespace, w.name));
        assert_eq!(row.cells[7], w.over_request_cost.unwrap().display_2dp());

        for (width, height) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, width, height);
            let at = format!("{width}x{height}:\n{screen}");
            assert!(screen.contains(&format!("Cluster {}", c.name)), "{at}");
            assert!(
                screen.contains(&format!("Monthly {}", money(costs.monthly, &c.currency))),
                "{at}"
            );
            assert!(screen.contains(&format!("idle {}", money(costs.idle, &c.currency))), "{at}");
            assert!(screen.contains(&percent(c.cpu_efficiency)), "{at}");
            assert!(screen.contains(&percent(c.memory_efficiency)), "{at}");
            assert!(screen.contains("of requested used"), "{at}");
            assert!(screen.contains(&format!("alloc {}", gib(c.allocatable.memory_bytes))), "{at}");
            assert!(screen.contains("▶ Nodes"), "{at}");
            assert!(screen.contains("Workloads (w to focus)"), "{at}");
            assert!(screen.contains(short_node(&node.name)), "{at}");
            assert!(screen.contains(node.instance_type.as_deref().unwrap()), "{at}");
            assert!(screen.contains("data/kafka"), "{at}");
            assert!(screen.contains(&format!("▸ {}", node.name)), "{at}");
        }

        // Per namespace and environment: the workloads' requested cost summed here by name;
        // the sample's namespaces carry no env word, so the cluster's (`acme-prod-eks`) applies,
        // except kube-system.
        let sum = |keep: &dyn Fn(&str) -> bool| -> Money {
            c.workloads.iter().filter(|w| keep(&w.namespace)).filter_map(|w| w.monthly_cost).sum()
        };
        let web = sum(&|ns| ns == "web");
        let prod = sum(&|ns| ns != "kube-system");
        let system = sum(&|ns| ns == "kube-system");
        let screen = draw(&view, &data, 120, 32);
        assert!(screen.contains(&format!("Namespace/mo web {}", web.display_2dp())), "{screen}");
        let env = format!(
            "Env/mo       prod {} · system {} · not requested {}",
            prod.display_2dp(),
            system.display_2dp(),
            (costs.monthly - prod - system).display_2dp()
        );
        assert!(screen.contains(&env), "{env}\n{screen}");
    }

    #[test]
    fn keys_switch_focus_navigate_filter_and_export() {
        let data = dataset(|_| {});
        let c = data.report.clusters[0].clone();
        let date = data.report.collected_at.format("%Y-%m-%d").to_string();
        let mut app = app_with(data);
        press(&mut app, KeyCode::Char('4'));
        assert_eq!(app.view, ViewId::Cluster);
        assert_eq!(app.cluster.focus, ClusterFocus::Nodes);

        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.cluster.nodes.selected_index(), Some(1));
        assert_eq!(app.cluster.workloads.selected_index(), Some(0));
        let shown = screen(&app, 120, 32);
        assert!(shown.contains(&format!("▸ {}", c.nodes[1].name)), "{shown}");

        press(&mut app, KeyCode::Char('w'));
        assert_eq!(app.cluster.focus, ClusterFocus::Workloads);
        press(&mut app, KeyCode::Char('G'));
        assert_eq!(app.cluster.workloads.selected_index(), Some(c.workloads.len() - 1));
        assert_eq!(app.cluster.nodes.selected_index(), Some(1));
        let last = c.workloads.last().unwrap();
        let shown = screen(&app, 80, 24);
        assert!(shown.contains("▶ Workloads"), "{shown}");
        assert!(shown.contains(&format!("▸ {}/{}", last.namespace, last.name)), "{shown}");

        // `/` filters the focused table only.
        press(&mut app, KeyCode::Char('/'));
        for ch in "workload:kube-system".chars() {
            press(&mut app, KeyCode::Char(ch));
        }
        press(&mut app, KeyCode::Enter);
        let expected = c.workloads.iter().filter(|w| w.namespace == "kube-system").count();
        assert!(expected > 0);
        assert_eq!(app.cluster.workloads.len(), expected);
        assert_eq!(app.cluster.nodes.len(), c.nodes.len());

        // Sort by over-request cost, largest first.
        for _ in 0..8 {
            press(&mut app, KeyCode::Char('s'));
        }
        assert_eq!(app.cluster.workloads.sort, Some((7, true)));

        press(&mut app, KeyCode::Enter);
        assert_eq!(app.cluster.focus, ClusterFocus::Nodes);

        press(&mut app, KeyCode::Char('c'));
        assert_eq!(app.status, Some((StatusKind::Info, "only one cluster is loaded".into())));

        press(&mut app, KeyCode::Char('e'));
        match &app.prompt {
            Some(Prompt::Export { input, job }) => {
                assert_eq!(input, &format!("costscope-cluster-{date}.json"));
                assert!(matches!(job.as_ref(), ExportJob::Report(r) if r.clusters[0] == c));
            }
            other => panic!("expected an export prompt, got {other:?}"),
        }
        press(&mut app, KeyCode::Esc);
        press(&mut app, KeyCode::Char('?'));
        let help = screen(&app, 80, 24);
        assert!(help.contains("Keys: Cluster"), "{help}");
        assert!(help.contains("switch focus"), "{help}");
    }

    #[test]
    fn c_cycles_through_several_clusters() {
        let data = dataset(|s| {
            let mut second = s.clusters[0].clone();
            second.name = "zz-staging".into();
            second.nodes.truncate(2);
            s.clusters.push(second);
        });
        assert_eq!(data.report.clusters.len(), 2);
        let mut view = ClusterView::default();
        view.load(&data);
        let first = data.report.clusters[0].nodes.len();
        assert_eq!(view.nodes.total_rows(), first);
        assert!(draw(&view, &data, 120, 32).contains("1 of 2 (c: next)"));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert!(matches!(view.key(c, &data), ViewOutcome::Handled));
        assert_eq!(view.cluster, 1);
        assert_eq!(view.nodes.total_rows(), 2);
        let screen = draw(&view, &data, 80, 24);
        assert!(screen.contains("Cluster zz-staging"), "{screen}");
        assert!(screen.contains("2 of 2"), "{screen}");
        view.key(c, &data);
        assert_eq!(view.cluster, 0);
        assert_eq!(view.nodes.total_rows(), first);
    }

    #[test]
    fn names_and_labels_cannot_reach_the_terminal_as_escapes() {
        let hostile = "\u{1b}]0;pwned\u{7}";
        let data = dataset(|s| {
            let cluster = &mut s.clusters[0];
            cluster.name = format!("prod{hostile}");
            cluster.nodes[0].name = format!("node{hostile}.ec2.internal");
            cluster.nodes[0].instance_type = None;
            cluster.nodes[0]
                .labels
                .insert("node.kubernetes.io/instance-type".into(), hostile.into());
            cluster.workloads[0].namespace = hostile.into();
            cluster.workloads[0].kind = hostile.into();
        });
        let mut view = ClusterView::default();
        view.load(&data);
        for (w, h) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, w, h);
            assert!(screen.contains(" ]0;pwned "), "{screen}");
            assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'), "{screen}");
        }
        view.focus = ClusterFocus::Workloads;
        let screen = draw(&view, &data, 120, 32);
        assert!(!screen.contains('\u{1b}') && !screen.contains('\u{7}'), "{screen}");
    }

    #[test]
    fn without_a_cluster_says_so_and_offers_nothing_to_navigate_or_export() {
        let data = dataset(|s| s.clusters.clear());
        assert!(data.report.clusters.is_empty());
        let mut view = ClusterView::default();
        view.load(&data);
        assert!(view.table().is_none());
        assert!(view.export(&data).is_none());
        let w = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE);
        assert!(matches!(view.key(w, &data), ViewOutcome::Ignored));
        for (width, height) in [(120, 32), (80, 24)] {
            let screen = draw(&view, &data, width, height);
            assert!(screen.contains("No Kubernetes cluster in the loaded sources."), "{screen}");
            assert!(screen.contains("--snapshot"), "{screen}");
        }
    }

    #[test]
    fn short_names_and_efficiency_bands() {
        assert_eq!(short_node("ip-10-20-32-11.ec2.internal"), "ip-10-20-32-11");
        assert_eq!(short_node("ip-10-0-1-2.eu-west-1.compute.internal"), "ip-10-0-1-2");
        assert_eq!(short_node("10.0.0.1"), "10.0.0.1");
        assert_eq!(short_node("gke-pool-abc"), "gke-pool-abc");
        assert_eq!(short_kind("StatefulSet"), "sts");
        assert_eq!(short_kind("Rollout"), "Rollout");
        assert_eq!(Efficiency::of(Some(1.2)), Efficiency::Above);
        assert_eq!(Efficiency::of(Some(0.8)), Efficiency::Good);
        assert_eq!(Efficiency::of(Some(0.5)), Efficiency::Fair);
        assert_eq!(Efficiency::of(Some(0.38)), Efficiency::Low);
        assert_eq!(Efficiency::of(None), Efficiency::Unknown);
        assert_eq!(mem_triple(1 << 30, 1 << 29, None), "1.0/0.5/—");
    }
}
