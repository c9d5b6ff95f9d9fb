//! Records the git commit qbench is built from (`QBENCH_GIT_COMMIT`), which
//! every report carries; nothing when git or the repository is not there.

fn main() {
    for path in ["../.git/HEAD", "../.git/refs", "../.git/packed-refs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output();
    if let Some(out) = commit.ok().filter(|o| o.status.success()) {
        println!(
            "cargo:rustc-env=QBENCH_GIT_COMMIT={}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}
