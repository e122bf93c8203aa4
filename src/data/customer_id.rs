//! Interned customer ids.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A customer's id, as text.
///
/// Ids are *interned*: a [`TransactionLog`](crate::TransactionLog) stores each distinct id once
/// and refers to customers by a dense index, and every summary or score that carries the id
/// shares the same allocation (`Arc<str>`), so cloning an id is a reference-count increment.
/// We chose text ids over a generic id type because ids arrive from files, databases and
/// services as text or as integers that print as text, and one concrete type keeps every model,
/// score and report free of a type parameter. Integer ids convert with `CustomerId::from(42u64)`.
///
/// ```
/// use custseg::CustomerId;
/// let a = CustomerId::from("C-0001");
/// let b = a.clone();
/// assert_eq!(a, b);
/// assert_eq!(b.as_str(), "C-0001");
/// assert_eq!(CustomerId::from(42u64).as_str(), "42");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerId(Arc<str>);

impl CustomerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for CustomerId {
    fn from(s: &str) -> Self {
        CustomerId(Arc::from(s))
    }
}

impl From<String> for CustomerId {
    fn from(s: String) -> Self {
        CustomerId(Arc::from(s))
    }
}

impl From<u64> for CustomerId {
    fn from(n: u64) -> Self {
        CustomerId(Arc::from(n.to_string()))
    }
}

impl AsRef<str> for CustomerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for CustomerId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}
