//! Shared text for the values billing repeats on every line (service, account, region,
//! resource id…): one allocation per distinct value, a reference-count increment per line.
//!
//! A month of a mid-size bill is millions of lines over a few thousand distinct texts; an owned
//! `String` per field and line made the dashboard's load of 1M rows allocate 7M strings.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable, cheaply cloned string. Compares, orders and hashes as its text.
///
/// One pointer wide (`Arc<Box<str>>`, not the two-word `Arc<str>`): a billing line holds eight
/// of them, and a detailed read of a million rows holds a million lines.
#[derive(Clone, PartialOrd, Ord)]
pub struct Sym(Arc<Box<str>>);

impl Sym {
    pub fn new(text: &str) -> Sym {
        Sym(Arc::new(Box::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Sym {
    fn default() -> Self {
        Sym::new("")
    }
}

impl PartialEq for Sym {
    #[inline]
    fn eq(&self, other: &Sym) -> bool {
        // Lines of one summary share their texts: most equal pairs are the same allocation.
        Arc::ptr_eq(&self.0, &other.0) || **self.0 == **other.0
    }
}

impl Eq for Sym {}

impl std::hash::Hash for Sym {
    /// As the text, so a `Sym`-keyed map answers lookups by `&str` ([`Borrow`]).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl Deref for Sym {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Sym {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Sym {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl From<&str> for Sym {
    fn from(text: &str) -> Sym {
        Sym::new(text)
    }
}

impl From<String> for Sym {
    fn from(text: String) -> Sym {
        Sym(Arc::new(text.into_boxed_str()))
    }
}

impl From<&String> for Sym {
    fn from(text: &String) -> Sym {
        Sym::new(text)
    }
}

impl From<Sym> for String {
    fn from(sym: Sym) -> String {
        sym.as_str().to_string()
    }
}

impl PartialEq<str> for Sym {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Sym {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Sym {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<Sym> for str {
    fn eq(&self, other: &Sym) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Sym> for &str {
    fn eq(&self, other: &Sym) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Sym> for String {
    fn eq(&self, other: &Sym) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for Sym {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sym {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Sym, D::Error> {
        String::deserialize(deserializer).map(Sym::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_orders_and_serializes_as_its_text() {
        let a = Sym::new("Amazon EC2");
        let b: Sym = String::from("Amazon EC2").into();
        assert_eq!(a, b);
        let owned = String::from("Amazon EC2");
        assert!(a == "Amazon EC2");
        assert!("Amazon EC2" == a);
        assert!(a == owned);
        assert!(owned == a);
        let key: std::collections::HashMap<Sym, u8> = [(a.clone(), 2)].into_iter().collect();
        assert_eq!(key.get("Amazon EC2"), Some(&2));
        assert!(Sym::new("a") < Sym::new("b"));
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"Amazon EC2\"");
        assert_eq!(serde_json::from_str::<Sym>("\"x\"").unwrap(), "x");
        let map: std::collections::BTreeMap<Sym, u32> = [(a.clone(), 1)].into_iter().collect();
        assert_eq!(map.get("Amazon EC2"), Some(&1));
        assert_eq!(format!("{a} {a:?}"), "Amazon EC2 \"Amazon EC2\"");
    }

    #[test]
    fn is_one_pointer_wide_even_as_an_option() {
        assert_eq!(std::mem::size_of::<Sym>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<Option<Sym>>(), std::mem::size_of::<usize>());
    }
}
