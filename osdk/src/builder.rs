//! Locating the kernel workspace and building the kernel with cargo.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The kernel's build target.
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";

/// The cargo profile the kernel is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `release` (the default).
    #[default]
    Release,
    /// `dev`, whose output directory is `debug`.
    Dev,
}

impl Profile {
    /// Parses `release` or `dev`.
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "release" => Some(Profile::Release),
            "dev" => Some(Profile::Dev),
            _ => None,
        }
    }

    /// The name passed to `cargo --profile`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "dev",
        }
    }

    /// The directory under `target/<triple>/` that cargo writes to.
    pub fn dir(self) -> &'static str {
        match self {
            Profile::Release => "release",
            Profile::Dev => "debug",
        }
    }
}

/// The kernel workspace and where build products go.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root (holds the top-level `Cargo.toml`).
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target_dir: PathBuf,
}

impl Workspace {
    /// The workspace at `dir`, or by default the parent of the directory
    /// holding osdk's own `Cargo.toml`. The target directory honours
    /// `CARGO_TARGET_DIR` (relative to the root) like cargo does.
    pub fn locate(dir: Option<&Path>) -> Result<Workspace, String> {
        let default = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap_or(Path::new("/"))
            .to_path_buf();
        let root = dir.map(Path::to_path_buf).unwrap_or(default);
        let root = root
            .canonicalize()
            .map_err(|e| format!("workspace {}: {e}", root.display()))?;
        if !root.join("Cargo.toml").is_file() {
            return Err(format!(
                "{} has no Cargo.toml; pass --workspace DIR",
                root.display()
            ));
        }
        let target_dir = match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
            Some(dir) => root.join(dir),
            None => root.join("target"),
        };
        Ok(Workspace { root, target_dir })
    }

    /// `target/osdk`, where osdk keeps its own products.
    pub fn osdk_dir(&self) -> PathBuf {
        self.target_dir.join("osdk")
    }

    /// Creates `target/osdk` and returns it.
    pub fn ensure_osdk_dir(&self) -> Result<PathBuf, String> {
        let dir = self.osdk_dir();
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(dir)
    }
}

/// The cargo invocation that builds the kernel.
pub fn cargo_args(profile: Profile, ktest: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "build",
        "-p",
        "kernel",
        "--bin",
        "kernel",
        "--target",
        KERNEL_TARGET,
        "--profile",
        profile.name(),
    ]
    .map(String::from)
    .to_vec();
    if ktest {
        args.extend(["--features".to_string(), "ktest".to_string()]);
    }
    args
}

/// Builds the kernel and copies the ELF to `target/osdk/kernel`, or to
/// `target/osdk/kernel-ktest` for a ktest build, so that the two builds do
/// not overwrite each other. Returns the path of the copy.
pub fn build_kernel(ws: &Workspace, profile: Profile, ktest: bool) -> Result<PathBuf, String> {
    let mut args = cargo_args(profile, ktest);
    // The ktest build enables a feature of ostd and the kernel; a target
    // directory of its own keeps the two builds from rebuilding each other.
    let target_dir = if ktest {
        ws.target_dir.join("ktest")
    } else {
        ws.target_dir.clone()
    };
    if ktest {
        args.extend(["--target-dir".to_string(), target_dir.display().to_string()]);
    }
    eprintln!("osdk: cargo {}", args.join(" "));
    let status = Command::new("cargo")
        .args(&args)
        .current_dir(&ws.root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("kernel build failed ({status})"));
    }
    let built = target_dir
        .join(KERNEL_TARGET)
        .join(profile.dir())
        .join("kernel");
    let dest = ws
        .ensure_osdk_dir()?
        .join(if ktest { "kernel-ktest" } else { "kernel" });
    fs::copy(&built, &dest)
        .map_err(|e| format!("copying {} to {}: {e}", built.display(), dest.display()))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles() {
        assert_eq!(Profile::parse("release"), Some(Profile::Release));
        assert_eq!(Profile::parse("dev"), Some(Profile::Dev));
        assert_eq!(Profile::parse("debug"), None);
        assert_eq!(Profile::Dev.dir(), "debug");
        assert_eq!(Profile::default(), Profile::Release);
    }

    #[test]
    fn cargo_invocation() {
        assert_eq!(
            cargo_args(Profile::Release, false).join(" "),
            "build -p kernel --bin kernel --target x86_64-unknown-none --profile release"
        );
        assert_eq!(
            cargo_args(Profile::Dev, true).join(" "),
            "build -p kernel --bin kernel --target x86_64-unknown-none --profile dev \
             --features ktest"
        );
    }

    #[test]
    fn default_workspace_is_the_parent_of_osdk() {
        let ws = Workspace::locate(None).unwrap();
        let osdk = Path::new(env!("CARGO_MANIFEST_DIR"))
            .canonicalize()
            .unwrap();
        assert_eq!(ws.root, osdk.parent().unwrap());
        assert!(ws.osdk_dir().ends_with("osdk"));
    }
}
