//! The secret that authenticates stored values.
//!
//! Holders of the secret tag every value they write (keyed BLAKE3, see
//! [`crate::value`]); a reader with the same secret refuses any value whose
//! tag does not match, and may skip the arithmetic check of a hit only for
//! a value whose tag does (`MemoConfig::verify_hits = false`). Without a
//! secret nothing unverified is trusted: every hit is checked against its
//! number. The secret protects against anyone who can write to memcached
//! but does not hold it (a poisoned or shared cache); it does not hide the
//! roots, which are stored in the clear.

use std::fmt;

/// Environment variable read by [`MemoSecret::from_env`].
pub const SECRET_VARIABLE: &str = "SQRT_MEMO_SECRET";

/// Context string of the key derivation (BLAKE3 `derive_key`): a secret
/// used elsewhere gives an unrelated key here.
const CONTEXT: &str = "traced-memcache sqrt-memo 2026-11 stored value tag";

/// A secret shared by the processes that trust each other's cached roots.
#[derive(Clone, PartialEq, Eq)]
pub struct MemoSecret {
    mac_key: [u8; 32],
}

impl MemoSecret {
    /// A secret from bytes (a passphrase or random bytes; at least 16 bytes
    /// of real entropy is advisable).
    pub fn new(secret: impl AsRef<[u8]>) -> MemoSecret {
        MemoSecret {
            mac_key: blake3::derive_key(CONTEXT, secret.as_ref()),
        }
    }

    /// The secret in `SQRT_MEMO_SECRET`, if set and not empty.
    pub fn from_env() -> Option<MemoSecret> {
        std::env::var_os(SECRET_VARIABLE)
            .filter(|s| !s.is_empty())
            .map(|s| MemoSecret::new(s.as_encoded_bytes()))
    }

    pub(crate) fn mac_key(&self) -> &[u8; 32] {
        &self.mac_key
    }
}

impl fmt::Debug for MemoSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoSecret(..)")
    }
}
