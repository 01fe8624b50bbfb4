//! Signing keys on disk: PKCS#8 PEM private keys as RFC 8410 gives them and OpenSSL writes them
//! (older version 2 files are read too), public keys in the registry's form.

use anyhow::{Context, Result};
use ed25519_dalek::SigningKey;
use proto_types::crypto::{signing_key_from_pem, signing_key_to_pem, Digest, PublicKey};
use std::path::Path;

/// A fresh random key from the operating system's generator.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

/// A key derived deterministically from a seed and a label (demos, tests, reproducible
/// workloads): `SHA-256("caseledger/v1/derived-key\0" || seed || label)`.
pub fn derive(seed: u64, label: &str) -> SigningKey {
    let d = Digest::sha256(&[
        b"caseledger/v1/derived-key\0",
        &seed.to_be_bytes(),
        label.as_bytes(),
    ]);
    SigningKey::from_bytes(d.as_bytes())
}

/// Writes a private key as RFC 8410 PKCS#8 PEM (`openssl pkey` reads it), readable by its
/// owner only.
pub fn save_pem(key: &SigningKey, path: &Path) -> Result<()> {
    let pem = signing_key_to_pem(key)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            create_private_dir(dir)?;
        }
    }
    write_private(path, pem.as_bytes())
}

/// Writes `bytes` to a new file at `path` created readable by its owner only (0600 on unix):
/// the mode is the file's from its creation, never widened first (an existing file is removed
/// first, so its mode is not inherited).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("replacing {}", path.display())),
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Creates `dir` and its missing parents readable by their owner only (0700 on unix), with
/// that mode from their creation.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Reads a PKCS#8 PEM private key (version 1, as OpenSSL writes it, or version 2).
pub fn load_pem(path: &Path) -> Result<SigningKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading key {}", path.display()))?;
    signing_key_from_pem(&text).with_context(|| format!("reading key {}", path.display()))
}

/// The public key as the registry shows it: `ed25519:<hex>`.
pub fn public_key_text(key: &SigningKey) -> String {
    format!("ed25519:{}", hex::encode(PublicKey::of(key).as_bytes()))
}

/// Parses `ed25519:<hex>` (or bare hex).
pub fn parse_public_key(text: &str) -> Result<PublicKey> {
    let hex_part = text.strip_prefix("ed25519:").unwrap_or(text);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_part, &mut bytes)
        .with_context(|| format!("{text:?} is not a 32-byte hex key"))?;
    Ok(PublicKey::ed25519(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn key_files_and_their_new_dirs_are_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/GS-PLC.pem");
        save_pem(&derive(42, "GS-PLC"), &path).expect("save");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.path().join("keys")), 0o700);
    }

    #[test]
    fn pem_round_trips_and_derived_keys_are_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = derive(42, "GS-PLC");
        let path = dir.path().join("k.pem");
        save_pem(&key, &path).expect("save");
        assert_eq!(load_pem(&path).expect("load").to_bytes(), key.to_bytes());
        assert_eq!(derive(42, "GS-PLC").to_bytes(), key.to_bytes());
        assert_ne!(derive(43, "GS-PLC").to_bytes(), key.to_bytes());
        let text = public_key_text(&key);
        assert_eq!(parse_public_key(&text).expect("parse"), PublicKey::of(&key));
    }
}
