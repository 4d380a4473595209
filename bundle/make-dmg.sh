#!/usr/bin/env bash
# Builds the disk image people download: "BitTrader Worker X.Y.Z.dmg", which opens on a window
# holding the app and a link to /Applications, to drag one onto the other.
#
#   bundle/make-dmg.sh [--app PATH] [--out DIR]
#
#   --app PATH   the .app to put in it (default: target/bundle/BitTrader Worker.app, built by
#                bundle/make-app.sh, which signs it)
#   --out DIR    where the image goes (default: target/bundle)
#
# The version is Cargo.toml's. On macOS, hdiutil (the OS's own tool: the app is already built and
# signed by make-app.sh, so a second bundler such as cargo-packager would only replace a tested
# script) makes a compressed image (UDZO), which is then signed with BTW_SIGN_IDENTITY when
# given, as the app was. Elsewhere there is no hdiutil: the folder the image would hold is left
# in DIR/dmg-root, so that its layout can be checked (tests/bundle.rs).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { printf 'make-dmg: %s\n' "$*" >&2; }
die() { printf 'make-dmg: error: %s\n' "$*" >&2; exit 1; }

app="$repo/target/bundle/BitTrader Worker.app"
out="$repo/target/bundle"
while [ $# -gt 0 ]; do
    case $1 in
        --app) [ $# -ge 2 ] || die "--app needs a path"; app=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || die "--out needs a folder"; out=$2; shift 2 ;;
        *) die "unknown argument: $1 (see the top of this script)" ;;
    esac
done
[ -d "$app/Contents/MacOS" ] || die "no app at $app: run bundle/make-app.sh first"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
[ -n "$version" ] || die "no version in Cargo.toml"

root="$out/dmg-root"
rm -rf "$root"
mkdir -p "$root"
# -R keeps the bundle as it is (links, modes); the signature covers every file in it.
cp -R "$app" "$root/"
ln -s /Applications "$root/Applications"

if [ "$(uname -s)" != Darwin ]; then
    say "not on macOS: no hdiutil; the image's contents are in $root"
    exit 0
fi
dmg="$out/BitTrader Worker $version.dmg"
rm -f "$dmg"
hdiutil create -volname "BitTrader Worker" -srcfolder "$root" -ov -format UDZO "$dmg" >/dev/null
rm -rf "$root"
if [ -n "${BTW_SIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp --sign "$BTW_SIGN_IDENTITY" "$dmg"
fi
hdiutil verify "$dmg" >/dev/null || die "hdiutil verify failed for $dmg"
say "built $dmg"
