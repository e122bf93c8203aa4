//! Privacy guards: keyed pseudonyms for customer ids and a k-anonymity floor on reports.
//!
//! **Pseudonymisation, not encryption.** [`Pseudonymizer`] replaces an id with HMAC-SHA256
//! under a secret key (RFC 2104), truncated to 128 bits and written in hex. The same id and
//! key always give the same pseudonym, so data sets pseudonymised with one key still join;
//! without the key, nobody can compute an id's pseudonym or test a guess. But whoever holds
//! the key can re-identify customers by hashing candidate ids, and the pseudonymised data
//! remain personal data under the GDPR (Art. 4(5)): keep the key apart from the data and
//! rotate it to unlink data sets. The key never appears in any output: it is not
//! serializable and its `Debug` is redacted.
//!
//! **k-anonymity on reports.** [`KAnonymity`] keeps any report row that describes fewer than
//! k customers (default 10) out of what is shown: suppressed, or merged into one "(merged
//! small segments)" row, itself suppressed if still below k.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::data::CustomerId;
use crate::error::{Error, Result};

/// A secret key for pseudonyms (at least 16 bytes). Not serializable; `Debug` is redacted.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer { key: <redacted> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with a secret key.
    ///
    /// ```
    /// use custseg::report::Pseudonymizer;
    /// let p = Pseudonymizer::new(b"a secret key of 32 bytes or more!")?;
    /// let a = p.pseudonym("customer 42");
    /// assert_eq!(a, p.pseudonym("customer 42"));
    /// assert_eq!(a.len(), 32);
    /// assert!(!format!("{p:?}").contains("secret"));
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a key shorter than 16 bytes (the error does not show it).
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() < 16 {
            return Err(Error::InvalidParameter {
                name: "pseudonym key",
                value: format!("{} bytes", key.len()),
                reason: "at least 16 bytes of secret".into(),
            });
        }
        Ok(Pseudonymizer { key: key.to_vec() })
    }

    /// The pseudonym of an id: 32 hex digits.
    pub fn pseudonym(&self, id: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        let tag = mac.finalize().into_bytes();
        tag[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The pseudonym as a customer id.
    pub fn customer_id(&self, id: &CustomerId) -> CustomerId {
        CustomerId::from(self.pseudonym(id.as_ref()))
    }
}

/// What happens to a report row below k customers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SmallGroups {
    /// Left out (the report counts how many rows and customers were left out).
    Suppress,
    /// Pooled into one row, itself suppressed if still below k.
    Merge,
}

/// The k-anonymity floor of reports: valid once built (k ≥ 1), also when deserialized, so a
/// floor of 0 that would silently show every row cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "KAnonymityRecord")]
pub struct KAnonymity {
    k: usize,
    small: SmallGroups,
}

#[derive(Deserialize)]
struct KAnonymityRecord {
    k: usize,
    small: SmallGroups,
}

impl TryFrom<KAnonymityRecord> for KAnonymity {
    type Error = Error;
    fn try_from(r: KAnonymityRecord) -> Result<Self> {
        KAnonymity::new(r.k, r.small)
    }
}

impl Default for KAnonymity {
    /// k = 10, small rows merged.
    fn default() -> Self {
        KAnonymity {
            k: 10,
            small: SmallGroups::Merge,
        }
    }
}

impl KAnonymity {
    /// A floor of k customers per shown row, and what happens to smaller rows.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn new(k: usize, small: SmallGroups) -> Result<Self> {
        if k == 0 {
            return Err(Error::InvalidParameter {
                name: "k",
                value: "0".into(),
                reason: "at least 1".into(),
            });
        }
        Ok(KAnonymity { k, small })
    }

    /// Smallest number of customers a shown row may describe.
    pub fn k(&self) -> usize {
        self.k
    }

    /// What happens to smaller rows.
    pub fn small_groups(&self) -> SmallGroups {
        self.small
    }
}

/// The label of the row that pools small segments.
pub const MERGED_LABEL: &str = "(merged small segments)";
