//! Price tables of the managed services priced by node class (RDS and Aurora, ElastiCache,
//! OpenSearch, Redshift) and by unit (DynamoDB capacity, storage, backups; Lambda GB-seconds and
//! requests; S3 storage classes and requests): one file each in
//! `rules/prices/<service>.toml`, embedded in the binary.
//!
//! Every file has the same layout, so the tenth service is a new file, not new code:
//!
//! ```toml
//! service = "rds"; as_of = "2026-10-08"; source = "…"; currency = "USD"
//! [factors]                      # optional multipliers, e.g. multi_az = "2"
//! [classes]                      # shapes: "db.m5.large" = { vcpu = 2, memory_gib = 8.0 }
//! [generations] / [graviton]     # family -> family, e.g. "db.m5" = "db.m6g"
//! [regions.<region>.hourly.<variant>]   # class = "price per node-hour"; variant = engine
//! [regions.<region>.units]              # named unit prices, e.g. gp3_gb_month = "0.115"
//! ```
//!
//! A class's family is its name without the last dot part (`db.m5.large` → `db.m5`) unless the
//! class names it (`m5.large.search` is in `m5.search`). A price that a region does not record
//! is an answer ([`NoPrice`]), never a load error: the tables are only as complete as their
//! sources.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use toml::Spanned;

use super::catalog::{InstanceShape, Loader, NoPrice, PricingError, line_of};
use crate::model::Money;

/// The built-in tables: (service, text, origin).
const BUILTIN: [(&str, &str, &str); 10] = [
    ("rds", include_str!("../../rules/prices/rds.toml"), "rules/prices/rds.toml (built in)"),
    (
        "elasticache",
        include_str!("../../rules/prices/elasticache.toml"),
        "rules/prices/elasticache.toml (built in)",
    ),
    (
        "opensearch",
        include_str!("../../rules/prices/opensearch.toml"),
        "rules/prices/opensearch.toml (built in)",
    ),
    (
        "redshift",
        include_str!("../../rules/prices/redshift.toml"),
        "rules/prices/redshift.toml (built in)",
    ),
    (
        "dynamodb",
        include_str!("../../rules/prices/dynamodb.toml"),
        "rules/prices/dynamodb.toml (built in)",
    ),
    ("elb", include_str!("../../rules/prices/elb.toml"), "rules/prices/elb.toml (built in)"),
    ("logs", include_str!("../../rules/prices/logs.toml"), "rules/prices/logs.toml (built in)"),
    (
        "kubernetes",
        include_str!("../../rules/prices/kubernetes.toml"),
        "rules/prices/kubernetes.toml (built in)",
    ),
    (
        "lambda",
        include_str!("../../rules/prices/lambda.toml"),
        "rules/prices/lambda.toml (built in)",
    ),
    ("s3", include_str!("../../rules/prices/s3.toml"), "rules/prices/s3.toml (built in)"),
];

/// The services costscope prices from tables of their own, in the order of [`BUILTIN`].
pub const SERVICES: [&str; 10] = [
    "rds",
    "elasticache",
    "opensearch",
    "redshift",
    "dynamodb",
    "elb",
    "logs",
    "kubernetes",
    "lambda",
    "s3",
];

/// Shape and family of one node class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassShape {
    pub shape: InstanceShape,
    /// e.g. `db.m5`, `cache.r6g`, `m5.search`.
    pub family: String,
    /// The class's name without its family's parts, e.g. `large`, `xlplus`.
    pub size: String,
}

#[derive(Debug, Clone, Default)]
struct ServiceRegion {
    /// variant → class → price per node-hour.
    hourly: BTreeMap<String, BTreeMap<String, Money>>,
    units: BTreeMap<String, Money>,
}

/// One service's table, validated.
#[derive(Debug, Clone)]
pub struct ServicePrices {
    service: String,
    as_of: String,
    source: String,
    currency: String,
    factors: BTreeMap<String, Money>,
    classes: BTreeMap<String, ClassShape>,
    generations: BTreeMap<String, String>,
    graviton: BTreeMap<String, String>,
    regions: BTreeMap<String, ServiceRegion>,
}

/// Every service's table, by service name.
#[derive(Debug, Clone, Default)]
pub struct ServiceCatalog {
    services: BTreeMap<String, Arc<ServicePrices>>,
}

impl ServiceCatalog {
    /// The tables embedded in the binary (parsed once per process).
    pub fn builtin() -> Result<ServiceCatalog, PricingError> {
        static BUILT: OnceLock<Result<ServiceCatalog, String>> = OnceLock::new();
        let built = BUILT.get_or_init(|| {
            let mut services = BTreeMap::new();
            for (name, text, origin) in BUILTIN {
                let prices = ServicePrices::from_toml(text, origin).map_err(|e| e.to_string())?;
                services.insert(name.to_string(), Arc::new(prices));
            }
            Ok(ServiceCatalog { services })
        });
        built.clone().map_err(|message| PricingError::Syntax {
            origin: "built-in service price tables".into(),
            line: None,
            message,
        })
    }

    /// The built-in tables, each replaced by `<service>.toml` in `dir` where that file exists
    /// (a user's price directory: a copy of `rules/prices/` with some figures changed).
    pub fn with_overrides(dir: &Path) -> Result<ServiceCatalog, PricingError> {
        let mut catalog = ServiceCatalog::builtin()?;
        for service in SERVICES {
            let path = dir.join(format!("{service}.toml"));
            if !path.is_file() {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| PricingError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let origin = path.display().to_string();
            let prices = ServicePrices::from_toml(&text, &origin)?;
            if prices.service != service {
                return Err(PricingError::Invalid {
                    origin,
                    line: None,
                    message: format!(
                        "the file is named for {service} but says service = {:?}",
                        prices.service
                    ),
                });
            }
            catalog.services.insert(service.to_string(), Arc::new(prices));
        }
        Ok(catalog)
    }

    /// One service's table.
    pub fn get(&self, service: &str) -> Result<&ServicePrices, NoPrice> {
        self.services
            .get(service)
            .map(Arc::as_ref)
            .ok_or_else(|| NoPrice::UnknownService { service: service.to_string() })
    }

    /// Every table, by service name.
    pub fn iter(&self) -> impl Iterator<Item = &ServicePrices> {
        self.services.values().map(Arc::as_ref)
    }
}

impl ServicePrices {
    /// Parses and validates one table; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<ServicePrices, PricingError> {
        let raw: RawService = toml::from_str(text).map_err(|e| PricingError::Syntax {
            origin: origin.to_string(),
            line: e.span().map(|span| line_of(text, span.start)),
            message: e.message().trim_end().to_string(),
        })?;
        build(&Loader { origin, text }, raw)
    }

    /// The service's name, e.g. `rds`.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The date the prices were taken (`YYYY-MM-DD`).
    pub fn as_of(&self) -> &str {
        &self.as_of
    }

    /// Where the prices were taken from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Currency of every price, e.g. `USD`.
    pub fn currency(&self) -> &str {
        &self.currency
    }

    /// A multiplier of the table (`multi_az`); None when the table has none of that name.
    pub fn factor(&self, name: &str) -> Option<Money> {
        self.factors.get(name).copied()
    }

    /// Shape and family of a class, if the table lists it.
    pub fn class(&self, class: &str) -> Option<&ClassShape> {
        self.classes.get(class)
    }

    /// On-demand price of one node of `class` for one hour, for an engine `variant` (`mysql`,
    /// `postgres`, `aurora-mysql`, `redis`, `default`, …).
    pub fn node_hourly(&self, region: &str, variant: &str, class: &str) -> Result<Money, NoPrice> {
        let prices = self.regions.get(region).ok_or_else(|| NoPrice::UnknownRegion {
            region: region.to_string(),
            item: format!("{} {class}", self.service),
        })?;
        if let Some(price) = prices.hourly.get(variant).and_then(|c| c.get(class)) {
            return Ok(*price);
        }
        if !self.classes.contains_key(class) {
            return Err(NoPrice::UnknownClass {
                region: region.to_string(),
                service: self.service.clone(),
                class: class.to_string(),
            });
        }
        Err(NoPrice::ClassNotOffered {
            region: region.to_string(),
            service: self.service.clone(),
            variant: variant.to_string(),
            class: class.to_string(),
        })
    }

    /// A named unit price (`gp3_gb_month`, `rcu_hour`, …) in a region.
    pub fn unit(&self, region: &str, name: &str) -> Result<Money, NoPrice> {
        let item = || format!("{} {name}", self.service);
        let prices = self
            .regions
            .get(region)
            .ok_or_else(|| NoPrice::UnknownRegion { region: region.to_string(), item: item() })?;
        prices
            .units
            .get(name)
            .copied()
            .ok_or_else(|| NoPrice::NotRecorded { region: region.to_string(), item: item() })
    }

    /// The largest class of the same family strictly smaller (by vCPUs, then memory) that has
    /// a price for `variant` in `region`; None when `class` is the smallest or unknown.
    pub fn next_smaller(&self, region: &str, variant: &str, class: &str) -> Option<String> {
        let this = self.classes.get(class)?;
        let priced = self.regions.get(region)?.hourly.get(variant)?;
        priced
            .keys()
            .filter_map(|name| Some((name, self.classes.get(name)?)))
            .filter(|(_, c)| c.family == this.family && order(&c.shape, &this.shape).is_lt())
            .max_by(|(a_name, a), (b_name, b)| {
                order(&a.shape, &b.shape).then_with(|| b_name.cmp(a_name))
            })
            .map(|(name, _)| name.clone())
    }

    /// The same size in the newer generation (`[generations]`), if priced for `variant` in
    /// `region`.
    pub fn successor(&self, region: &str, variant: &str, class: &str) -> Option<String> {
        self.mapped(&self.generations, region, variant, class)
    }

    /// The same size on AWS Graviton (`[graviton]`), if priced for `variant` in `region`.
    pub fn graviton(&self, region: &str, variant: &str, class: &str) -> Option<String> {
        self.mapped(&self.graviton, region, variant, class)
    }

    /// The Graviton families the table maps to (`db.m6g`, `cache.r6g`, …).
    pub fn graviton_families(&self) -> impl Iterator<Item = &str> {
        self.graviton.values().map(String::as_str)
    }

    fn mapped(
        &self,
        families: &BTreeMap<String, String>,
        region: &str,
        variant: &str,
        class: &str,
    ) -> Option<String> {
        let this = self.classes.get(class)?;
        let family = families.get(&this.family)?;
        let priced = self.regions.get(region)?.hourly.get(variant)?;
        self.classes
            .iter()
            .find(|(name, c)| {
                &c.family == family && c.size == this.size && priced.contains_key(*name)
            })
            .map(|(name, _)| name.clone())
    }
}

/// Orders shapes by vCPUs, then memory.
fn order(a: &InstanceShape, b: &InstanceShape) -> std::cmp::Ordering {
    a.vcpu.cmp(&b.vcpu).then(a.memory_gib.total_cmp(&b.memory_gib))
}

/// `db.m5.large` → `db.m5`.
fn default_family(class: &str) -> Option<&str> {
    class.rsplit_once('.').map(|(family, _)| family).filter(|f| !f.is_empty())
}

/// The parts of `class` that are not its family's: `m5.large.search` in `m5.search` → `large`.
fn size_of(class: &str, family: &str) -> String {
    let mut family_parts: Vec<&str> = family.split('.').collect();
    let mut size = Vec::new();
    for part in class.split('.') {
        match family_parts.iter().position(|p| *p == part) {
            Some(i) => {
                family_parts.remove(i);
            }
            None => size.push(part),
        }
    }
    size.join(".")
}

// ---------------------------------------------------------------------------------------------
// The file as written, before validation.
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    service: Spanned<String>,
    as_of: Spanned<String>,
    source: String,
    currency: Spanned<String>,
    #[serde(default)]
    factors: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    classes: BTreeMap<String, Spanned<RawClass>>,
    #[serde(default)]
    generations: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    graviton: BTreeMap<String, Spanned<String>>,
    regions: BTreeMap<String, RawRegion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    vcpu: u32,
    memory_gib: f64,
    family: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegion {
    #[serde(default)]
    hourly: BTreeMap<String, BTreeMap<String, Spanned<String>>>,
    #[serde(default)]
    units: BTreeMap<String, Spanned<String>>,
}

/// Validates a [`RawService`] into a [`ServicePrices`], pointing errors at lines of the text.
fn build(loader: &Loader<'_>, raw: RawService) -> Result<ServicePrices, PricingError> {
    let service = raw.service.get_ref().trim().to_string();
    if service.is_empty() {
        return Err(loader.invalid(Some(raw.service.span()), "service must be named".into()));
    }
    let as_of = loader.as_of(&raw.as_of)?;
    let currency = loader.currency(&raw.currency)?;
    let mut factors = BTreeMap::new();
    for (name, value) in &raw.factors {
        factors.insert(name.clone(), loader.price(value, &format!("factors.{name}"))?);
    }

    let mut classes = BTreeMap::new();
    for (name, spanned) in &raw.classes {
        let at = Some(spanned.span());
        let class = spanned.get_ref();
        if class.vcpu == 0 || !class.memory_gib.is_finite() || class.memory_gib <= 0.0 {
            return Err(loader.invalid(
                at,
                format!("classes.{name}: vcpu and memory_gib must be greater than zero"),
            ));
        }
        let family = match &class.family {
            Some(family) => family.clone(),
            None => default_family(name).map(str::to_string).ok_or_else(|| {
                loader.invalid(
                    at.clone(),
                    format!(
                        "classes.{name}: the name is not of the form family.size; give \
                             family = \"…\""
                    ),
                )
            })?,
        };
        let size = size_of(name, &family);
        let shape = InstanceShape { vcpu: class.vcpu, memory_gib: class.memory_gib };
        classes.insert(name.clone(), ClassShape { shape, family, size });
    }

    let families: std::collections::BTreeSet<&str> =
        classes.values().map(|c| c.family.as_str()).collect();
    // Family -> family, both sides families of listed classes.
    let mapping = |table: &str, raw: &BTreeMap<String, Spanned<String>>| {
        let mut out = BTreeMap::new();
        for (old, new) in raw {
            for family in [old.as_str(), new.get_ref().as_str()] {
                if !families.contains(family) {
                    return Err(loader.invalid(
                        Some(new.span()),
                        format!(
                            "{table}: {old} -> {}: no class of family {family} is listed in \
                             [classes]",
                            new.get_ref()
                        ),
                    ));
                }
            }
            out.insert(old.clone(), new.get_ref().clone());
        }
        Ok(out)
    };
    let generations = mapping("generations", &raw.generations)?;
    let graviton = mapping("graviton", &raw.graviton)?;

    let mut regions = BTreeMap::new();
    for (name, region) in &raw.regions {
        let mut out = ServiceRegion::default();
        for (variant, prices) in &region.hourly {
            let table = format!("regions.{name}.hourly.{variant}");
            let mut priced = BTreeMap::new();
            for (class, value) in prices {
                if !classes.contains_key(class) {
                    return Err(loader.invalid(
                        Some(value.span()),
                        format!(
                            "{table}: {class:?} is not listed in [classes] (add its vcpu and \
                                 memory_gib there)"
                        ),
                    ));
                }
                priced.insert(class.clone(), loader.price(value, &format!("{table}.{class}"))?);
            }
            out.hourly.insert(variant.clone(), priced);
        }
        for (unit, value) in &region.units {
            let what = format!("regions.{name}.units.{unit}");
            out.units.insert(unit.clone(), loader.price(value, &what)?);
        }
        regions.insert(name.clone(), out);
    }

    Ok(ServicePrices {
        service,
        as_of,
        source: raw.source.trim().to_string(),
        currency,
        factors,
        classes,
        generations,
        graviton,
        regions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn builtin() -> ServiceCatalog {
        ServiceCatalog::builtin().unwrap()
    }

    #[test]
    fn every_builtin_table_loads_and_names_its_service() {
        let catalog = builtin();
        for service in SERVICES {
            let table = catalog.get(service).unwrap();
            assert_eq!(table.service(), service);
            assert_eq!(table.currency(), "USD");
            assert!(!table.source().is_empty());
        }
        assert!(catalog.get("glacier").is_err());
    }

    #[test]
    fn node_prices_by_engine_class_and_region() {
        let rds = builtin().get("rds").unwrap().clone();
        assert_eq!(rds.node_hourly("us-east-1", "mysql", "db.t3.micro"), Ok(m("0.017")));
        assert_eq!(rds.node_hourly("us-east-1", "postgres", "db.t3.micro"), Ok(m("0.018")));
        assert_eq!(rds.node_hourly("us-east-1", "mysql", "db.m5.large"), Ok(m("0.171")));
        assert_eq!(rds.factor("multi_az"), Some(m("2")));
        assert_eq!(
            rds.node_hourly("us-east-1", "mysql", "db.x9.huge").unwrap_err().to_string(),
            "no price for rds db.x9.huge in us-east-1 (unknown class)"
        );
        assert_eq!(
            rds.node_hourly("ap-south-9", "mysql", "db.t3.micro").unwrap_err().to_string(),
            "no price for rds db.t3.micro in ap-south-9 (unknown region)"
        );
        assert!(matches!(
            rds.node_hourly("us-east-1", "oracle-ee", "db.t3.micro"),
            Err(NoPrice::ClassNotOffered { .. })
        ));
        let dynamodb = builtin().get("dynamodb").unwrap().clone();
        assert_eq!(dynamodb.unit("us-east-1", "rcu_hour"), Ok(m("0.00013")));
        assert!(matches!(
            dynamodb.unit("eu-west-1", "storage_gb_month"),
            Err(NoPrice::NotRecorded { .. })
        ));
    }

    #[test]
    fn smaller_newer_and_graviton_classes_keep_the_size() {
        let catalog = builtin();
        let rds = catalog.get("rds").unwrap();
        assert_eq!(
            rds.next_smaller("us-east-1", "mysql", "db.m5.xlarge").as_deref(),
            Some("db.m5.large")
        );
        assert_eq!(rds.next_smaller("us-east-1", "mysql", "db.m5.large"), None);
        assert_eq!(
            rds.successor("us-east-1", "mysql", "db.m4.large").as_deref(),
            Some("db.m5.large")
        );
        assert_eq!(
            rds.graviton("us-east-1", "mysql", "db.r5.large").as_deref(),
            Some("db.r6g.large")
        );
        assert_eq!(rds.graviton("us-east-1", "mysql", "db.r6g.large"), None);
        let search = catalog.get("opensearch").unwrap();
        assert_eq!(search.class("m5.large.search").unwrap().family, "m5.search");
        assert_eq!(search.class("m5.large.search").unwrap().size, "large");
        assert_eq!(
            search.graviton("us-east-1", "default", "m5.large.search").as_deref(),
            Some("m6g.large.search")
        );
        let cache = catalog.get("elasticache").unwrap();
        assert_eq!(
            cache.next_smaller("us-east-1", "redis", "cache.r5.xlarge").as_deref(),
            Some("cache.r5.large")
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let base = "service = \"x\"\nas_of = \"2026-01-01\"\nsource = \"s\"\ncurrency = \"USD\"\n";
        let unknown_class = format!("{base}[regions.r.hourly.default]\n\"a.b\" = \"1\"\n");
        let err = ServicePrices::from_toml(&unknown_class, "x.toml").unwrap_err().to_string();
        assert_eq!(
            err,
            "x.toml:6: regions.r.hourly.default: \"a.b\" is not listed in [classes] (add its vcpu \
             and memory_gib there)"
        );
        let bad_price = format!(
            "{base}[classes]\n\"a.b\" = {{ vcpu = 1, memory_gib = 1.0 }}\n\
             [regions.r.hourly.default]\n\"a.b\" = \"-1\"\n"
        );
        let err = ServicePrices::from_toml(&bad_price, "x.toml").unwrap_err().to_string();
        assert!(
            err.starts_with("x.toml:8: regions.r.hourly.default.a.b: must be greater"),
            "{err}"
        );
        let bad_mapping = format!(
            "{base}[classes]\n\"a.b\" = {{ vcpu = 1, memory_gib = 1.0 }}\n[graviton]\na = \"z\"\n[regions]\n"
        );
        let err = ServicePrices::from_toml(&bad_mapping, "x.toml").unwrap_err().to_string();
        assert!(err.contains("x.toml:8: graviton: a -> z: no class of family z"), "{err}");
        let typo = format!(
            "{base}[classes]\n\"a.b\" = {{ vcpu = 1, memory_gib = 1.0, famly = \"a\" }}\n[regions]\n"
        );
        let err = ServicePrices::from_toml(&typo, "x.toml").unwrap_err().to_string();
        assert!(err.starts_with("x.toml:6:") && err.contains("famly"), "{err}");
    }

    #[test]
    fn a_user_directory_replaces_only_the_tables_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let text = include_str!("../../rules/prices/redshift.toml")
            .replace("\"dc2.large\" = \"0.25\"       # [I], [C]", "\"dc2.large\" = \"0.30\"");
        std::fs::write(dir.path().join("redshift.toml"), text).unwrap();
        let catalog = ServiceCatalog::with_overrides(dir.path()).unwrap();
        let redshift = catalog.get("redshift").unwrap();
        assert_eq!(redshift.node_hourly("us-east-1", "default", "dc2.large"), Ok(m("0.30")));
        let rds = catalog.get("rds").unwrap();
        assert_eq!(rds.node_hourly("us-east-1", "mysql", "db.t3.micro"), Ok(m("0.017")));
        std::fs::write(dir.path().join("rds.toml"), "service = \"rds\"\n").unwrap();
        let err = ServiceCatalog::with_overrides(dir.path()).unwrap_err().to_string();
        assert!(err.contains("rds.toml"), "{err}");
    }
}
