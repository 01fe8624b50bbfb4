//! The node's signing key on disk: PKCS#8 PEM as RFC 8410 gives it and OpenSSL writes it
//! (`proto_types::crypto::signing_key_to_pem`); the older version 2 files are read too.

use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use std::path::Path;

/// Reads a PKCS#8 PEM private key (version 1, as OpenSSL writes it, or version 2).
pub fn load(path: &Path) -> Result<SigningKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading key {}", path.display()))?;
    proto_types::crypto::signing_key_from_pem(&text)
        .with_context(|| format!("reading key {}", path.display()))
}

/// Writes a private key as RFC 8410 PKCS#8 PEM (`openssl pkey` reads it), readable by its
/// owner only.
pub fn save(key: &SigningKey, path: &Path) -> Result<()> {
    let pem = proto_types::crypto::signing_key_to_pem(key)?;
    std::fs::write(path, pem.as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restricting {}", path.display()))?;
    }
    Ok(())
}
