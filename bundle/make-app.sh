#!/usr/bin/env bash
# Builds "BitTrader Worker.app", the macOS menu-bar app bundle.
#
#   bundle/make-app.sh [--out DIR] [--binary PATH]...
#
#   --out DIR      where the .app goes (default: target/bundle); an existing
#                  "DIR/BitTrader Worker.app" is replaced.
#   --binary PATH  put this executable in the app instead of building one. Given twice or more
#                  (macOS only), the binaries are joined with lipo (e.g. an arm64 and an x86_64
#                  build). The file is always named bittrader-worker inside the app.
#
# On macOS, without --binary: builds the release binary for aarch64-apple-darwin and
# x86_64-apple-darwin (with MACOSX_DEPLOYMENT_TARGET = LSMinimumSystemVersion from Info.plist,
# 12.0: Ray's macOS wheels need macOS 12) and joins them into one universal binary with lipo.
# Both Rust targets are needed:
#   rustup target add aarch64-apple-darwin x86_64-apple-darwin
# On macOS the app is signed, --binary or not, with the best identity there is: a Developer ID
# (BTW_SIGN_IDENTITY) with the hardened runtime, notarized and stapled when BTW_NOTARY_PROFILE
# names a notarytool keychain profile; else "BitTrader Worker Local Signing", a self-signed
# identity made once in the login keychain; else ad hoc, with a warning. The signature is then
# verified. macOS keys the login item and the Local Network permission to the signature: ad hoc
# changes with every build, the local identity does not. Only a notarized Developer ID opens on
# another Mac without System Settings > Privacy & Security > "Open Anyway".
#
# Elsewhere (Linux): lipo and codesign do not exist, so there is no universal binary and no
# signature; the app holds --binary PATH, else target/release/bittrader-worker (built with
# `cargo build --release` when missing, used as it is when present). Such an app does not run
# on a Mac; it exists so the layout can be built and checked anywhere (tests/bundle.rs).
#
# The app:
#   Contents/Info.plist              Info.plist from the repository root, @VERSION@ replaced by
#                                    the version in Cargo.toml (CFBundleShortVersionString and
#                                    CFBundleVersion)
#   Contents/PkgInfo                 APPL????
#   Contents/MacOS/bittrader-worker
#   Contents/MacOS/uv                uv, for `setup` on a Mac with no Python: its wheels from the
#                                    package index (bundle/uv-requirements.txt pins them by
#                                    hash), joined with lipo on macOS, this machine's elsewhere;
#                                    its licences in Contents/Resources/uv-licenses/. Needs a
#                                    python3 with pip; BTW_NO_UV=1 leaves it out.
#   Contents/Resources/AppIcon.icns  from assets/AppIcon.iconset (drawn by bundle/make-icon.sh):
#                                    iconutil on macOS, bundle/icns.py elsewhere
#   Contents/Resources/icons/        the menu-bar icons, copied from assets/icons/ for reference
#                                    (the binary embeds its own copy)
#   Contents/Resources/es.lproj/     InfoPlist.strings: Info.plist's sentences in Spanish (the
#                                    Local Network prompt), from bundle/es.lproj, in UTF-16
#
# Info.plist is checked at the end: plutil -lint and PlistBuddy on macOS, python3's plistlib
# elsewhere. Needs: bash (3.2 is enough), cargo when it builds; python3 (with pip for uv).
set -euo pipefail

app_name="BitTrader Worker"
exe_name=bittrader-worker
rust_targets="aarch64-apple-darwin x86_64-apple-darwin"

say() { printf 'make-app: %s\n' "$*" >&2; }
die() { printf 'make-app: error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}"; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# ---------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------
absolute() { # PATH -> PATH made absolute against the current folder
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s/%s\n' "$PWD" "$1" ;;
    esac
}

out="$repo/target/bundle"
binaries=()
while [ $# -gt 0 ]; do
    case $1 in
        --out)
            [ $# -ge 2 ] || die "--out needs a folder"
            out=$2
            shift 2
            ;;
        --out=*)
            out=${1#--out=}
            shift
            ;;
        --binary)
            [ $# -ge 2 ] || die "--binary needs a path"
            binaries+=("$(absolute "$2")")
            shift 2
            ;;
        --binary=*)
            binaries+=("$(absolute "${1#--binary=}")")
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[ -n "$out" ] || die "--out needs a folder"
# `${binaries[@]}` of an empty array is an error under `set -u` in bash < 4.4 (macOS has 3.2).
nbinaries=${#binaries[@]}
if [ "$nbinaries" -gt 0 ]; then
    for binary in "${binaries[@]}"; do
        [ -f "$binary" ] || die "--binary $binary: no such file"
        [ -x "$binary" ] || die "--binary $binary: not executable"
    done
fi

if [ "$(uname -s)" = Darwin ]; then macos=1; else macos=0; fi

# ---------------------------------------------------------------------------------------------
# What goes in: the version, the minimum macOS, the icon
# ---------------------------------------------------------------------------------------------
[ -f "$repo/Info.plist" ] || die "$repo/Info.plist (the template) is missing"
[ -d "$repo/assets/AppIcon.iconset" ] || die "assets/AppIcon.iconset is missing (bundle/make-icon.sh draws it)"

# The first `version = "…"` of the [package] table.
version=$(awk '
    /^[[:space:]]*\[/ { in_package = ($0 ~ /^[[:space:]]*\[package\][[:space:]]*(#.*)?$/); next }
    in_package && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^"]*"/, ""); sub(/".*$/, ""); print; exit
    }' "$repo/Cargo.toml")
[ -n "$version" ] || die "no version in the [package] table of Cargo.toml"
# Apple's version keys are up to three integers; a pre-release or build suffix is dropped.
bundle_version=$(printf '%s\n' "$version" | sed 's/[-+].*$//')
printf '%s\n' "$bundle_version" | grep -Eq '^[0-9]+(\.[0-9]+){0,2}$' ||
    die "Cargo.toml's version $version does not start with numbers like 1.2.3, which Info.plist needs"
[ "$bundle_version" = "$version" ] ||
    say "version $version is written as $bundle_version in Info.plist (Apple allows only numbers)"

# LSMinimumSystemVersion: the <string> after its <key> in the template.
min_macos=$(awk '
    found && /<string>/ { sub(/.*<string>/, ""); sub(/<\/string>.*/, ""); print; exit }
    /<key>LSMinimumSystemVersion<\/key>/ { found = 1 }' "$repo/Info.plist")
[ -n "$min_macos" ] || die "Info.plist has no LSMinimumSystemVersion"

# ---------------------------------------------------------------------------------------------
# Staging: the app is put together in a temporary folder next to its place, then moved there
# ---------------------------------------------------------------------------------------------
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$out/.make-app.XXXXXX")
trap 'rm -rf "$stage"' EXIT
app="$stage/$app_name.app"
contents="$app/Contents"
mkdir -p "$contents/MacOS" "$contents/Resources/icons"
exe="$contents/MacOS/$exe_name"

# ---------------------------------------------------------------------------------------------
# The executable
# ---------------------------------------------------------------------------------------------
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in
    /*) ;;
    *) target_dir="$repo/$target_dir" ;;
esac

if [ "$nbinaries" -gt 1 ]; then
    [ "$macos" = 1 ] || die "$nbinaries binaries given: joining them needs lipo, which only macOS has"
    say "joining the $nbinaries given binaries with lipo"
    lipo -create -output "$exe" "${binaries[@]}"
elif [ "$nbinaries" = 1 ]; then
    say "using the given binary ${binaries[0]} (not building; nothing to join with lipo)"
    cp "${binaries[0]}" "$exe"
elif [ "$macos" = 1 ]; then
    command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
    if command -v rustup >/dev/null; then
        installed=$(rustup target list --installed)
        for target in $rust_targets; do
            printf '%s\n' "$installed" | grep -qx "$target" ||
                die "the Rust target $target is missing: rustup target add $rust_targets"
        done
    fi
    slices=()
    for target in $rust_targets; do
        say "cargo build --release --target $target (MACOSX_DEPLOYMENT_TARGET=$min_macos)"
        (cd "$repo" && MACOSX_DEPLOYMENT_TARGET=$min_macos cargo build --release --target "$target")
        slices+=("$target_dir/$target/release/$exe_name")
    done
    say "lipo -create: one universal binary from ${slices[*]}"
    lipo -create -output "$exe" "${slices[@]}"
else
    exe_built="$target_dir/release/$exe_name"
    if [ -x "$exe_built" ]; then
        say "using $exe_built as it is (run cargo build --release first if it is out of date)"
    else
        command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
        say "$exe_built is missing: cargo build --release"
        (cd "$repo" && cargo build --release)
        [ -x "$exe_built" ] || die "cargo build --release did not produce $exe_built"
    fi
    cp "$exe_built" "$exe"
fi
chmod 755 "$exe"
if [ "$macos" = 1 ]; then
    archs=$(lipo -archs "$exe")
    case " $archs " in *" arm64 "*) has_arm=1 ;; *) has_arm=0 ;; esac
    case " $archs " in *" x86_64 "*) has_intel=1 ;; *) has_intel=0 ;; esac
    if [ "$has_arm$has_intel" = 11 ]; then
        say "architectures: $archs (universal)"
    else
        say "architectures: $archs (not universal: this app runs on those Macs only)"
    fi
fi

# ---------------------------------------------------------------------------------------------
# uv
# ---------------------------------------------------------------------------------------------
uv_wheel() { # PLATFORM DIR: uv's wheel for PLATFORM, checked against its pinned hash, into DIR
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
        --platform "$1" --require-hashes -r "$repo/bundle/uv-requirements.txt" -d "$2" \
        || die "could not fetch uv's wheel for $1 from the package index (BTW_NO_UV=1 builds without it)"
}
uv_from_wheel() { # DIR OUT: the uv binary of the one wheel in DIR to OUT; its licences beside
    python3 - "$1" "$2" "$contents/Resources/uv-licenses" <<'PY'
import glob, os, sys, zipfile
wheel = zipfile.ZipFile(glob.glob(os.path.join(sys.argv[1], "*.whl"))[0])
names = wheel.namelist()
with open(sys.argv[2], "wb") as out:
    out.write(wheel.read(next(n for n in names if n.endswith(".data/scripts/uv"))))
os.makedirs(sys.argv[3], exist_ok=True)
for name in names:
    if "/licenses/" in name:
        with open(os.path.join(sys.argv[3], os.path.basename(name)), "wb") as out:
            out.write(wheel.read(name))
PY
}
if [ "${BTW_NO_UV:-0}" != 1 ]; then
    uv_dir=$(mktemp -d)
    if [ "$macos" = 1 ]; then
        for platform in macosx_11_0_arm64 macosx_10_12_x86_64; do
            uv_wheel "$platform" "$uv_dir/$platform"
            uv_from_wheel "$uv_dir/$platform" "$uv_dir/uv-$platform"
        done
        lipo -create -output "$contents/MacOS/uv" "$uv_dir"/uv-macosx_*
    else
        uv_wheel "manylinux_2_17_$(uname -m)" "$uv_dir/linux"
        uv_from_wheel "$uv_dir/linux" "$contents/MacOS/uv"
    fi
    chmod 755 "$contents/MacOS/uv"
    rm -rf "$uv_dir"
    say "uv $("$contents/MacOS/uv" --version 2>/dev/null | awk '{print $2}') in Contents/MacOS"
fi

# ---------------------------------------------------------------------------------------------
# Info.plist, PkgInfo, resources
# ---------------------------------------------------------------------------------------------
sed "s/@VERSION@/$bundle_version/g" "$repo/Info.plist" >"$contents/Info.plist"
if grep -q '@[A-Z_]*@' "$contents/Info.plist"; then
    die "Info.plist still has a placeholder after filling it in: $(grep -o '@[A-Z_]*@' "$contents/Info.plist" | head -1)"
fi
printf 'APPL????' >"$contents/PkgInfo"

icns="$contents/Resources/AppIcon.icns"
if [ "$macos" = 1 ] && command -v iconutil >/dev/null; then
    iconutil -c icns -o "$icns" "$repo/assets/AppIcon.iconset"
else
    command -v python3 >/dev/null || die "python3 is needed to write AppIcon.icns without macOS's iconutil"
    python3 "$repo/bundle/icns.py" "$repo/assets/AppIcon.iconset" "$icns"
fi
cp "$repo"/assets/icons/*.png "$contents/Resources/icons/"
# Info.plist's sentences in the other languages it declares, as UTF-16 (the encoding macOS
# documents for .strings files).
for strings in "$repo"/bundle/*.lproj/InfoPlist.strings; do
    lproj=$(basename "$(dirname "$strings")")
    mkdir -p "$contents/Resources/$lproj"
    iconv -f UTF-8 -t UTF-16 "$strings" >"$contents/Resources/$lproj/InfoPlist.strings" \
        || die "could not convert $lproj/InfoPlist.strings to UTF-16"
done

# ---------------------------------------------------------------------------------------------
# Check Info.plist and the layout it describes
# ---------------------------------------------------------------------------------------------
plist="$contents/Info.plist"
if [ "$macos" = 1 ]; then
    plutil -lint "$plist" >/dev/null || die "Info.plist is not a valid property list: $(plutil -lint "$plist")"
    plist_get() { /usr/libexec/PlistBuddy -c "Print :$1" "$plist" 2>/dev/null; }
else
    command -v python3 >/dev/null || die "python3 is needed to check Info.plist"
    python3 - "$plist" <<'PY' || die "Info.plist is not a valid property list"
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    value = plistlib.load(f)
if not isinstance(value, dict):
    sys.exit("make-app: error: Info.plist is not a dictionary")
PY
    # A key's value as PlistBuddy prints it (booleans as true/false); fails when it is missing.
    plist_get() {
        python3 - "$plist" "$1" <<'PY'
import plistlib, sys
with open(sys.argv[1], "rb") as f:
    value = plistlib.load(f)
if sys.argv[2] not in value:
    sys.exit(1)
value = value[sys.argv[2]]
print(str(value).lower() if isinstance(value, bool) else value)
PY
    }
fi

expect() { # KEY VALUE: the key is there with this value
    local actual
    actual=$(plist_get "$1") || die "Info.plist has no $1"
    [ "$actual" = "$2" ] || die "Info.plist: $1 is '$actual', expected '$2'"
}
for key in CFBundleIdentifier CFBundleName CFBundleDisplayName CFBundlePackageType \
    CFBundleInfoDictionaryVersion CFBundleDevelopmentRegion LSMinimumSystemVersion \
    NSHumanReadableCopyright NSHighResolutionCapable NSLocalNetworkUsageDescription; do
    plist_get "$key" >/dev/null || die "Info.plist has no $key"
done
expect CFBundleExecutable "$exe_name"
expect CFBundleShortVersionString "$bundle_version"
expect CFBundleVersion "$bundle_version"
expect CFBundlePackageType APPL
expect LSUIElement true
icon_file=$(plist_get CFBundleIconFile) || die "Info.plist has no CFBundleIconFile"
case $icon_file in *.icns) ;; *) icon_file="$icon_file.icns" ;; esac
[ -f "$contents/Resources/$icon_file" ] || die "CFBundleIconFile names Resources/$icon_file, which is missing"
[ "$(head -c 4 "$contents/Resources/$icon_file")" = icns ] || die "Resources/$icon_file is not an icns file"
[ -x "$exe" ] || die "Contents/MacOS/$exe_name is not executable"
[ "$(cat "$contents/PkgInfo")" = 'APPL????' ] || die "PkgInfo is wrong"

# ---------------------------------------------------------------------------------------------
# Into place, signed
# ---------------------------------------------------------------------------------------------
final="$out/$app_name.app"
rm -rf "$final"
mv "$app" "$final"

# The identity of "BitTrader Worker Local Signing": a self-signed code-signing certificate made
# once in the login keychain. Not trusted by Gatekeeper (the first launch on another Mac still
# needs "Open Anyway"), but the same on every build, so macOS keeps the login item and the Local
# Network permission across updates.
local_identity="BitTrader Worker Local Signing"
make_local_identity() {
    local dir
    dir=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$local_identity" \
        -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=critical,codeSigning" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null \
        && openssl pkcs12 -export -inkey "$dir/key.pem" -in "$dir/cert.pem" -out "$dir/id.p12" \
            -passout pass:bittrader \
        && security import "$dir/id.p12" -P bittrader -T /usr/bin/codesign >/dev/null
    local made=$?
    rm -rf "$dir"
    return $made
}

if [ "$macos" = 1 ]; then
    # Extended attributes (Finder info, quarantine) in a bundle make codesign refuse to sign.
    xattr -cr "$final"
    # The best signature available: a Developer ID (BTW_SIGN_IDENTITY, e.g. "Developer ID
    # Application: Name (TEAMID)") with the hardened runtime, notarized when BTW_NOTARY_PROFILE
    # names a `xcrun notarytool store-credentials` profile; else the stable local identity; else
    # ad hoc, which changes with every build.
    if [ -n "${BTW_SIGN_IDENTITY:-}" ]; then
        say "codesign with $BTW_SIGN_IDENTITY, hardened runtime"
        codesign --force --deep --options runtime --timestamp --sign "$BTW_SIGN_IDENTITY" "$final"
        signed="signed by $BTW_SIGN_IDENTITY"
    elif security find-certificate -c "$local_identity" >/dev/null 2>&1 || make_local_identity; then
        say "codesign with the local identity \"$local_identity\" (the same on every build)"
        codesign --force --deep --sign "$local_identity" "$final"
        signed="signed by $local_identity (not notarized: another Mac asks for \"Open Anyway\")"
    else
        say "WARNING: no Developer ID and no local identity could be made: signing ad hoc, so macOS"
        say "sees each build as a new app (login item and Local Network permission asked again)"
        codesign --force --deep --sign - "$final"
        signed="signed ad hoc"
    fi
    codesign --verify --deep --strict --verbose=2 "$final" || die "codesign --verify failed"
    if [ -n "${BTW_SIGN_IDENTITY:-}" ] && [ -n "${BTW_NOTARY_PROFILE:-}" ]; then
        say "notarizing with the profile $BTW_NOTARY_PROFILE"
        ditto -c -k --keepParent "$final" "$out/notarize.zip"
        xcrun notarytool submit "$out/notarize.zip" --keychain-profile "$BTW_NOTARY_PROFILE" --wait \
            || die "notarization failed (xcrun notarytool log gives Apple's reasons)"
        rm -f "$out/notarize.zip"
        xcrun stapler staple "$final" || die "stapling the notarization ticket failed"
        signed="$signed, notarized"
    fi
else
    say "not on macOS: lipo and codesign skipped (the app is unsigned and holds this machine's binary;"
    say "build it on a Mac for the universal, signed app)"
    signed="unsigned"
fi
say "built $final (version $bundle_version, $signed)"
