// Rebuild when a migration file is added or removed, not only when one changes.
fn main() {
    println!("cargo:rerun-if-changed=../agentlab/migrations");
}
