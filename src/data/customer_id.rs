//! Customer ids: text, stored inline when short.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest id stored inline, without an allocation.
const INLINE: usize = 22;

/// A customer's id, as text.
///
/// Ids arrive from files, databases and services as text or as integers that print as text,
/// so one concrete text type keeps every model, score and report free of a type parameter;
/// integer ids convert with `CustomerId::from(42u64)`.
///
/// Ids of up to 22 bytes (integers, most account numbers and codes) are stored inline, so
/// creating and cloning them never allocates and never touches a shared reference count;
/// longer ids (UUIDs, e-mail addresses) share one `Arc<str>` allocation. A
/// [`TransactionLog`](crate::TransactionLog) interns ids: each distinct customer is converted
/// once, whatever the number of rows.
///
/// ```
/// use custseg::CustomerId;
/// let a = CustomerId::from("C-0001");
/// let b = a.clone();
/// assert_eq!(a, b);
/// assert_eq!(b.as_str(), "C-0001");
/// assert_eq!(CustomerId::from(42u64).as_str(), "42");
/// let long = CustomerId::from("9b2c1f0e-8f1d-4c55-9a43-51f0d2a7c9e1");
/// assert_eq!(long.as_str().len(), 36);
/// ```
#[derive(Clone)]
pub struct CustomerId(Repr);

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Shared(Arc<str>),
}

impl CustomerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied from a `str` on a character boundary (the whole string),
            // so they are valid UTF-8 and the fallback is never taken.
            Repr::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).unwrap_or("")
            }
            Repr::Shared(s) => s,
        }
    }
}

impl From<&str> for CustomerId {
    fn from(s: &str) -> Self {
        if s.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            CustomerId(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            CustomerId(Repr::Shared(Arc::from(s)))
        }
    }
}

impl From<String> for CustomerId {
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            CustomerId::from(s.as_str())
        } else {
            CustomerId(Repr::Shared(Arc::from(s)))
        }
    }
}

/// "00", "01", … "99" back to back.
const DIGIT_PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

impl From<u64> for CustomerId {
    fn from(mut n: u64) -> Self {
        // Formats in place, without an intermediate String (a u64 has at most 20 digits),
        // two digits a division: a million integer keys become ids in every summary call.
        let mut bytes = [0u8; INLINE];
        let len = n.checked_ilog10().map_or(1, |d| d as usize + 1);
        let mut i = len;
        while n >= 100 {
            let pair = 2 * (n % 100) as usize;
            n /= 100;
            i -= 2;
            bytes[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = 2 * n as usize;
            bytes[i - 2..i].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        } else {
            bytes[i - 1] = b'0' + n as u8;
        }
        CustomerId(Repr::Inline {
            len: len as u8,
            bytes,
        })
    }
}

impl PartialEq for CustomerId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for CustomerId {}

impl Hash for CustomerId {
    // Must hash exactly like `str`, so maps keyed by ids can be queried with a `&str`.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialOrd for CustomerId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for CustomerId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl AsRef<str> for CustomerId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for CustomerId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl Serialize for CustomerId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CustomerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(CustomerId::from(s.as_ref()))
    }
}

impl CustomerId {
    /// How many ids share this one's text: `None` for an inline id (tests of who drops ids).
    #[cfg(test)]
    pub(crate) fn shared_by(&self) -> Option<usize> {
        match &self.0 {
            Repr::Inline { .. } => None,
            Repr::Shared(s) => Some(Arc::strong_count(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn integer_ids_print_as_decimal_text() {
        let mut cases = vec![
            0u64,
            1,
            9,
            10,
            11,
            99,
            100,
            101,
            999,
            1000,
            u64::MAX,
            u64::MAX - 1,
        ];
        let mut p = 1u64;
        while let Some(q) = p.checked_mul(10) {
            cases.extend([p - 1, p, p + 1, q / 2 + 7]);
            p = q;
        }
        cases.extend((0..2000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)));
        for n in cases {
            assert_eq!(CustomerId::from(n).as_str(), n.to_string(), "{n}");
        }
    }

    #[test]
    fn inline_and_shared_ids_behave_like_their_text() {
        for s in [
            "",
            "1",
            "C0000001",
            "exactly-twenty-two-by",
            "twenty-three-bytes-long",
            "ü-ñ-€ multibyte id that is long",
        ] {
            let id = CustomerId::from(s);
            assert_eq!(id.as_str(), s);
            assert_eq!(CustomerId::from(s.to_string()), id);
            let mut m = HashMap::new();
            m.insert(id.clone(), 1);
            assert_eq!(m.get(s), Some(&1));
        }
        assert_eq!("exactly-twenty-two-by".len(), 21);
        assert!(matches!(
            CustomerId::from("x".repeat(22).as_str()).0,
            Repr::Inline { .. }
        ));
        assert!(matches!(
            CustomerId::from("x".repeat(23).as_str()).0,
            Repr::Shared(_)
        ));
        for n in [0u64, 7, 10, 1_234_567, u64::MAX] {
            assert_eq!(CustomerId::from(n).as_str(), n.to_string());
        }
        assert!(CustomerId::from("a") < CustomerId::from("b"));
    }
}
