//! Tells the tests whether they have a PostgreSQL server: without `WARREN_TEST_POSTGRES_URL`
//! when they are built, `cfg(no_test_postgres)` marks the PostgreSQL half ignored, so that the
//! test output says they did not run and why (libtest cannot ignore a test once it runs; one
//! that returned early would print `ok`). Changing the variable rebuilds the tests. The
//! migration crate uses this script too (`build = "../build.rs"`).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(no_test_postgres)");
    println!("cargo::rerun-if-env-changed=WARREN_TEST_POSTGRES_URL");
    let configured = std::env::var("WARREN_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    if !configured {
        println!("cargo::rustc-cfg=no_test_postgres");
    }
}
