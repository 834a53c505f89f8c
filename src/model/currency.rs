//! Billing currency codes, carried from the data and never assumed.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::sym::Sym;

/// An ISO 4217 code (or a provider's virtual currency) as the data wrote it; `None` when the
/// export had no BillingCurrency. Amounts in different currencies are never summed together.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Currency(Option<Sym>);

impl Currency {
    pub const UNKNOWN_LABEL: &'static str = "unknown";

    pub fn new(code: &str) -> Currency {
        let code = code.trim();
        if code.is_empty() { Currency(None) } else { Currency(Some(Sym::new(code))) }
    }

    pub fn unknown() -> Currency {
        Currency(None)
    }

    pub fn usd() -> Currency {
        Currency::new("USD")
    }

    pub fn code(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn is_known(&self) -> bool {
        self.0.is_some()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(Self::UNKNOWN_LABEL))
    }
}
