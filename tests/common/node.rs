//! Node.js programs the tests run (real clients, a real OpenID Connect provider), each a
//! package under `tests/` installed by the tests themselves from its `package-lock.json`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// `tests/<package>`.
pub fn package_dir(package: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(package)
}

fn required(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|value| value == "1")
}

fn runs(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether a test that needs node can run: node and npm are there, or it is skipped, or (when
/// one of `requirements` is set to 1, as CI does) it fails.
pub fn node_or_skip(test: &str, requirements: &[&str]) -> bool {
    if runs("node") && runs("npm") {
        return true;
    }
    if let Some(variable) = requirements.iter().find(|variable| required(variable)) {
        panic!("{variable}=1 but node or npm is not installed");
    }
    eprintln!("skipped {test}: node or npm is not installed");
    false
}

/// `npm ci` in `tests/<package>` unless its node_modules was installed from the current
/// package-lock.json (a stamp holds the lock's hash). Once per package and test binary; the
/// tests of a binary share the installation.
pub fn install(package: &str) {
    static INSTALLED: Mutex<Option<HashMap<String, Result<(), String>>>> = Mutex::new(None);
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let outcome = installed
        .get_or_insert_with(HashMap::new)
        .entry(package.to_owned())
        .or_insert_with(|| npm_ci(&package_dir(package)));
    if let Err(message) = outcome {
        panic!("{message}");
    }
}

fn npm_ci(dir: &Path) -> Result<(), String> {
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|err| format!("read {}/package-lock.json: {err}", dir.display()))?;
    let hash = hex::encode(Sha256::digest(&lock));
    let stamp = dir.join("node_modules/.warren-lock-sha256");
    if std::fs::read_to_string(&stamp).is_ok_and(|done| done == hash) {
        return Ok(());
    }
    let output = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .output()
        .map_err(|err| format!("run npm ci: {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "npm ci in {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    std::fs::write(&stamp, hash).map_err(|err| format!("write {}: {err}", stamp.display()))
}
