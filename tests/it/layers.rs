//! Imports go one way, down the layers (README, "Architecture"): a test reads each layer's
//! `use crate::…` lines (and every other `crate::…` path in its code) and checks them against
//! what the layer may import. Layers join the table as they move into folders of their own.

use std::path::{Path, PathBuf};

/// A layer's folder under `src/`, and the top-level modules of the crate it may use.
const LAYERS: &[(&str, &[&str])] = &[
    // The HTTP surface: router, accept loop, WebSocket protocol, sign-in. On top of everything.
    (
        "http",
        &[
            "http",
            "api",
            "feed",
            "rules",
            "store",
            "error",
            "naming",
            "html",
            "metrics",
            "occupancy",
            "telemetry",
        ],
    ),
    // The GraphQL surface: schema, types, mutations, the subscription root, Relay plumbing,
    // request limits and admission.
    (
        "api",
        &[
            "api",
            "feed",
            "rules",
            "store",
            "error",
            "naming",
            "html",
            "metrics",
            "occupancy",
            "telemetry",
        ],
    ),
    // The event reader and its broadcast: no GraphQL, no rendering for a viewer.
    ("feed", &["feed", "rules", "store", "error", "metrics"]),
    // The domain rules: access, credentials, the write path, quotas, budgets, the mail outbox.
    // `metrics` is here for the counters the write path increments.
    (
        "rules",
        &["rules", "store", "error", "naming", "html", "metrics"],
    ),
    // The database handle, the SQL builder and page parameters: nothing above them, so that
    // the layers above can share them and none of their GraphQL or rules leaks down.
    ("store", &["store", "error"]),
    // Leaves: used by every layer, using none.
    ("error.rs", &[]),
    ("naming.rs", &["error"]),
    ("html.rs", &[]),
    ("occupancy.rs", &[]),
    // The Prometheus registry: read by the HTTP layer, incremented by the rules, the feed and
    // admission; it reads the pool's gauges from the store.
    ("metrics.rs", &["store"]),
    // Traces: the exporter (set up by main) and the W3C trace context of a request.
    ("telemetry.rs", &[]),
];

/// Layers that speak no GraphQL: the feed hands out events, not answers; the rules are plain
/// functions, tested on their own; the store and the leaves sit below the layer that converts
/// errors to GraphQL.
const WITHOUT_GRAPHQL: &[&str] = &[
    "feed",
    "rules",
    "store",
    "error.rs",
    "naming.rs",
    "html.rs",
    "occupancy.rs",
];

/// The Rust files of a layer: its folder's, or the one file a leaf is.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a layer's folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules `source` names with `crate::…`, with the line they are on.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let module: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // `crate::{a, b}` names several.
            if module.is_empty() && after.starts_with('{') {
                let group = &after[1..after.find('}').unwrap_or(after.len())];
                for item in group.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        found.push((n + 1, name));
                    }
                }
            } else if !module.is_empty() {
                found.push((n + 1, module));
            }
            rest = after;
        }
    }
    found
}

#[test]
fn imports_go_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (layer, allowed) in LAYERS {
        let files = rust_files(&src.join(layer));
        assert!(!files.is_empty(), "no files in src/{layer}");
        for file in files {
            let source = std::fs::read_to_string(&file).expect("a source file");
            for (line, module) in crate_paths(&source) {
                if !allowed.contains(&module.as_str()) {
                    wrong.push(format!(
                        "{}:{line}: src/{layer} uses crate::{module}",
                        file.strip_prefix(&src).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_rules_and_below_speak_no_graphql() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for part in WITHOUT_GRAPHQL {
        let path = src.join(part);
        for file in rust_files(&path) {
            let source = std::fs::read_to_string(&file).expect("a source file");
            for (n, line) in source.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                if code.contains("async_graphql") {
                    wrong.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(&src).unwrap_or(&file).display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "GraphQL below the API:\n{}",
        wrong.join("\n")
    );
}

/// The reader finds what it must: plain paths, groups, and nothing in comments.
#[test]
fn crate_paths_are_read_from_code_only() {
    let source = "use crate::store::db::Db;\nuse crate::{error, graphql::relay};\n// crate::http\nlet x = crate::access::Reach::new(); // crate::feed";
    let modules: Vec<String> = crate_paths(source).into_iter().map(|(_, m)| m).collect();
    assert_eq!(modules, ["store", "error", "graphql", "access"]);
}
