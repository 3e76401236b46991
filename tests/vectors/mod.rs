//! Where the shared test vectors are: `NIXA_SHARED_DIR` (set by `tests/run` for a clone whose
//! `../shared` is elsewhere), else the `shared/` folder beside the repository (DESIGN: vectors are
//! read from there, never copied in).
#![allow(dead_code)]

use std::path::PathBuf;

pub fn shared() -> PathBuf {
    match std::env::var_os("NIXA_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")),
    }
}

/// `vectors/<sub>` with a trailing slash, ready for `format!("{}{file}", …)`.
pub fn dir(sub: &str) -> String {
    format!("{}/vectors/{sub}/", shared().display())
}
