//! Pure types and rules shared by every layer: no I/O, and no import of any module above
//! this one (the adapters, the plan, the run). What the plan decides and the adapters
//! send or read is defined here, so neither has to reach into the other.

pub mod function;
pub mod image_ref;
pub mod kind;
pub mod limits;
pub mod oci;
pub mod package;

/// The alias name lambda-deploy creates and deletes as a lock while it moves aliases;
/// no input may name it.
pub const LOCK_ALIAS: &str = "lambda-deploy-lock";

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
