//! The node's signing key on disk: PKCS#8 PEM as RFC 8410 gives it and OpenSSL writes it
//! (`proto_types::crypto::signing_key_to_pem`; the older version 2 files are read too), and its
//! data dir: both created with their final modes (0600, 0700), never readable by others in
//! between.

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
pub fn create_private_dir(dir: &Path) -> Result<()> {
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    #[test]
    fn keys_and_data_dirs_are_created_private() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data/node-1");
        create_private_dir(&dir).expect("data dir");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("data")), 0o700);
        let path = dir.join("node.pem");
        // An existing, world-readable file is replaced, not inherited.
        std::fs::write(&path, b"old").expect("old file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).expect("chmod");
        let key = SigningKey::from_bytes(&[7; 32]);
        save(&key, &path).expect("save");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(load(&path).expect("load").to_bytes(), key.to_bytes());
    }
}
