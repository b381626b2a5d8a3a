//! Pure types and rules shared by every layer: no I/O, and no import of any module above
//! this one (the adapters, the plan, the run). What the plan decides and the adapters
//! send or read is defined here, so neither has to reach into the other.

pub mod description;
pub mod function;
pub mod history;
pub mod image_ref;
pub mod kind;
pub mod limits;
pub mod oci;
pub mod outcome;
pub mod package;
pub mod shift;

/// The alias name lambda-deploy creates and deletes as a lock while it moves aliases;
/// no input may name it.
pub const LOCK_ALIAS: &str = "lambda-deploy-lock";

/// What to do when the account's Lambda code storage in the region is full.
pub(crate) const CODE_STORAGE_HINT: &str = "; the account's Lambda code storage in this region is full (75 GB by default, shared by every function): delete old versions with keep-versions on the deploy or command: prune (command: status lists them), or ask AWS for a higher limit";

/// Formats a byte count for people (`1.5 MiB`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}
