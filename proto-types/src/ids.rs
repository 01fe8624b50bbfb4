//! Identifier newtypes (docs/FORMAT.md §Identifiers).
//!
//! Every identifier that appears in signed bytes is a bounded, printable ASCII string, checked
//! when it is built and again when it is decoded, so that no replica ever holds an id that
//! another would refuse.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier is empty.
    #[error("{kind} is empty")]
    Empty {
        /// Which identifier.
        kind: &'static str,
    },
    /// The identifier is longer than its bound.
    #[error("{kind} is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// Which identifier.
        kind: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The identifier holds a character outside `[A-Za-z0-9._:/-]`.
    #[error("{kind} holds {ch:?}; only ASCII letters, digits and . _ : / - are allowed")]
    BadChar {
        /// Which identifier.
        kind: &'static str,
        /// The first offending character.
        ch: char,
    },
}

fn check(kind: &'static str, s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { kind });
    }
    if s.len() > max {
        return Err(IdError::TooLong {
            kind,
            len: s.len(),
            max,
        });
    }
    if let Some(ch) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '/' | '-')))
    {
        return Err(IdError::BadChar { kind, ch });
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest value allowed, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Checks and wraps an identifier.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                check($kind, &s, $max)?;
                Ok(Self(s))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }
    };
}

string_id!(
    /// An organisation (department) of the registry, e.g. `GS-LZ-CG-PSB`.
    OrgId,
    "organisation id",
    64
);
string_id!(
    /// A criminal case, as numbered by the department that filed it.
    CaseId,
    "case id",
    64
);
string_id!(
    /// A client-chosen, globally unique id of one submitted step (handoff, receipt, ...).
    /// Resubmitting the same id with the same bytes is idempotent.
    HandoffId,
    "handoff id",
    96
);
string_id!(
    /// An opaque id of a person concerned; never a name or a national id number.
    PersonId,
    "person id",
    64
);
string_id!(
    /// The id of one key of an organisation, unique within it (e.g. `2026-1`).
    KeyId,
    "key id",
    32
);

/// A Raft node of the cluster, as pinned in genesis.
pub type NodeId = u64;
