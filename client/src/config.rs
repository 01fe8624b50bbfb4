//! Where the client finds its nodes and its signing identity: flags and the environment win
//! over a config file (`--config FILE`, else `~/.config/caseledger/client.toml` if present).
//!
//! ```toml
//! nodes = ["10.0.0.1:8080", "10.0.0.2:8080"]
//! key = "lz-psb.pem"        # relative to this file
//! org = "LZ-PSB"
//! key_id = "k1"
//! ```

use proto_types::ids::{KeyId, OrgId};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No node was named anywhere.
    #[error("no node to talk to: give --node, set CASELEDGER_NODES, or put `nodes = [...]` in the config file")]
    NoNodes,
    /// Signing needs a key, an organisation and a key id.
    #[error("no {0} to sign with: give --{0} or put `{1} = ...` in the config file")]
    MissingIdentity(&'static str, &'static str),
}

/// The config file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Nodes (`host:port` or URLs), in order of preference.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// The PKCS#8 PEM signing key (relative paths are relative to the file).
    pub key: Option<PathBuf>,
    /// The organisation that signs.
    pub org: Option<OrgId>,
    /// Its key id.
    pub key_id: Option<KeyId>,
    /// CA certificates (PEM) trusted for `https://` nodes (relative to the file).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Sign requests as this node (`key` is then the node's `node.pem`): its operator, for
    /// the admin routes (`caseledger membership show`). Instead of `org`.
    #[serde(default)]
    pub node_id: Option<u64>,
}

/// The default config file: `$XDG_CONFIG_HOME/caseledger/client.toml`, else
/// `$HOME/.config/caseledger/client.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("caseledger").join("client.toml"))
}

/// Parses a config file's text; `dir` is the folder relative key paths are resolved against.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let mut cfg: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if let Some(dir) = path.parent() {
        for p in [&mut cfg.key, &mut cfg.ca_cert].into_iter().flatten() {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
    }
    Ok(cfg)
}

/// Loads the config: `explicit` must exist; without it the default file is read if present.
pub fn load(explicit: Option<&Path>) -> Result<FileConfig, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_owned(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(FileConfig::default()),
        },
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            Ok(FileConfig::default())
        }
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

/// The nodes to use: those from the flag or environment if any, else the file's.
pub fn nodes(from_flags: &[String], file: &FileConfig) -> Result<Vec<String>, ConfigError> {
    let nodes: Vec<String> = if from_flags.is_empty() {
        file.nodes.clone()
    } else {
        from_flags.to_vec()
    };
    let nodes: Vec<String> = nodes
        .into_iter()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .collect();
    if nodes.is_empty() {
        return Err(ConfigError::NoNodes);
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_relative_keys_follow_the_file() {
        let cfg = parse(
            "nodes = [\"a:1\", \"b:2\"]\nkey = \"k.pem\"\norg = \"LZ-PSB\"\nkey_id = \"k1\"\n",
            Path::new("/etc/caseledger/client.toml"),
        )
        .expect("valid config");
        assert_eq!(cfg.key.as_deref(), Some(Path::new("/etc/caseledger/k.pem")));
        assert_eq!(cfg.org.as_ref().map(OrgId::as_str), Some("LZ-PSB"));
        assert_eq!(nodes(&[], &cfg).expect("file nodes"), vec!["a:1", "b:2"]);
        assert_eq!(
            nodes(&["c:3".into()], &cfg).expect("flag nodes"),
            vec!["c:3"]
        );
        assert!(matches!(
            nodes(&[], &FileConfig::default()),
            Err(ConfigError::NoNodes)
        ));
    }

    #[test]
    fn refuses_unknown_keys_and_bad_ids() {
        assert!(matches!(
            parse("nodez = []", Path::new("c.toml")),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            parse("org = \"has space\"", Path::new("c.toml")),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            load(Some(&dir.path().join("none.toml"))),
            Err(ConfigError::Read { .. })
        ));
    }
}
