//! SSH public keys for the tests, made up: well-formed in the OpenSSH format, never usable.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A fresh, well-formed ed25519 public key (`ssh-ed25519 AAAA…`), different for each `n`.
pub fn ed25519_key(n: usize) -> String {
    let mut point = [0x5a_u8; 32];
    point[..8].copy_from_slice(&(n as u64).to_be_bytes());
    openssh_key("ssh-ed25519", &[&point])
}

/// `label` and the base64 of an SSH wire-format blob: the label then each part, each as a
/// length-prefixed string.
pub fn openssh_key(label: &str, parts: &[&[u8]]) -> String {
    let mut blob = Vec::new();
    for part in std::iter::once(label.as_bytes()).chain(parts.iter().copied()) {
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    format!("{label} {}", STANDARD.encode(blob))
}
