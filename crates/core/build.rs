//! The migrations are embedded by `sqlx::migrate!`, and the query macros read what
//! `cargo sqlx prepare` wrote to `.sqlx/`: rebuild when either changes.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    println!("cargo:rerun-if-changed=../../.sqlx");
}
