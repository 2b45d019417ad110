//! Builds the dashboard's private-mode module: `crates/ferrite-wasm` compiled for wasm32 with
//! SIMD128 by a second cargo (profile `wasm`, its own target folder beside this build's, shared
//! by the debug and release builds), copied to `OUT_DIR/ferrite.wasm` for `assets.rs` to embed.
//! It needs Rust's wasm32 target (`rustup target add wasm32-unknown-unknown`) and says so.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// What goes into the module: the crates it is built from (their sources and manifests, the
/// detector's model in `ferrite-infer/assets`) and the workspace's manifest and lock file.
const INPUTS: &[&str] = &[
    "crates/ferrite-wasm",
    "crates/ferrite-infer",
    "crates/ferrite-data",
    "crates/ferrite-engine",
    "crates/ferrite-model/src",
    "crates/ferrite-model/Cargo.toml",
    "crates/ferrite-video/src",
    "crates/ferrite-video/Cargo.toml",
    "Cargo.toml",
    "Cargo.lock",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest_dir.join("../..");
    println!("cargo:rerun-if-changed=build.rs");
    for input in INPUTS {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    let target_dir = wasm_target_dir(&out_dir);
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .current_dir(&workspace)
        .args([
            "build",
            "--locked",
            "--profile",
            "wasm",
            "--target",
            WASM_TARGET,
        ])
        .args(["-p", "ferrite-wasm", "--target-dir"])
        .arg(&target_dir)
        // Flags for this module only: not the outer build's (a host CPU's features, a
        // coverage or lint wrapper), which are meaningless for wasm32.
        .env("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-feature=+simd128")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .unwrap_or_else(|e| panic!("could not run {cargo} to build the private-mode module: {e}"));
    if !status.success() {
        panic!(
            "building the dashboard's private-mode module (crates/ferrite-wasm for {WASM_TARGET}) \
             failed; if the error above says the target is not installed, run \
             `rustup target add {WASM_TARGET}` and build again"
        );
    }
    let built = target_dir.join(WASM_TARGET).join("wasm/ferrite_wasm.wasm");
    std::fs::copy(&built, out_dir.join("ferrite.wasm"))
        .unwrap_or_else(|e| panic!("{}: {e}", built.display()));
}

/// `target/wasm`: beside the profile folders of the outer build (found above `OUT_DIR`, which
/// is `<target>/<profile>/build/<package>/out`), so that every profile shares one module.
fn wasm_target_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .and_then(|build| build.parent())
        .and_then(|profile| profile.parent())
        .unwrap_or(out_dir)
        .join("wasm")
}
