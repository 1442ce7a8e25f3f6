//! Makes cargo rebuild the crate whenever a file under `migrations/` changes: `sqlx::migrate!` copies the
//! migrations into the binary at compile time, so a stale build would carry an old schema.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
