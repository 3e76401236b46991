#!/usr/bin/env bash
# Builds the previous release's binary for the rolling-upgrade test (tests/it/upgrade.rs) and
# prints its path. The release is the commit in tests/previous-release (the last one deployed:
# move it forward when a release ships). Built once per commit into the shared target directory
# under another package name, so that the current build's artifacts are never confused with it
# (cargo would otherwise take one tree's `nixa` for the other's: same name, same relative paths).
set -euo pipefail
cd "$(dirname "$0")/.."
commit=$(tr -d '[:space:]' < tests/previous-release)
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
out="$target_dir/previous-release/$commit/nixa"
if [ -x "$out" ]; then
    echo "$out"
    exit 0
fi
if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "tests/previous-release.sh: commit $commit is not in this clone (a shallow clone? fetch the history)" >&2
    exit 2
fi
tree=$(mktemp -d)/nixa-previous
git worktree add -q --detach "$tree" "$commit"
trap 'git worktree remove --force "$tree" 2>/dev/null || true' EXIT
# The package and its binary renamed; the library keeps its name (the binary imports `nixa`).
sed -i -e '0,/^name = "nixa"$/s//name = "nixa-previous"/' \
    -e 's/^default-run = "nixa"$/default-run = "nixa-previous"/' \
    -e '/^\[\[bin\]\]$/,/^path/s/^name = "nixa"$/name = "nixa-previous"/' "$tree/Cargo.toml"
printf '\n[lib]\nname = "nixa"\npath = "src/lib.rs"\n' >> "$tree/Cargo.toml"
echo "tests/previous-release.sh: building $commit (once)" >&2
(cd "$tree" && CARGO_INCREMENTAL=0 cargo build --offline --quiet --bin nixa-previous)
mkdir -p "$(dirname "$out")"
cp "$target_dir/debug/nixa-previous" "$out"
echo "$out"
