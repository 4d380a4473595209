//! The macOS app bundle: `bundle/make-app.sh` run with a given binary (`--binary`, so no cargo
//! build, lipo or codesign; on Linux the script skips those anyway; a small stand-in, since the
//! script copies whatever it is given and a debug build is 200 MB), then everything a Mac
//! reads from it checked: the layout, `Contents/Info.plist` (parsed with the `plist` crate, every
//! key the app needs with its value) and `AppIcon.icns` (the container walked by hand, each PNG
//! decoded at the size its type stands for). Also the template `Info.plist` at the repository
//! root and the committed icon sources.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bittrader_worker::platform::login_item::LAUNCH_AGENT_LABEL;
use bittrader_worker::BUNDLE_ID;

const APP_NAME: &str = "BitTrader Worker";
const EXE_NAME: &str = "bittrader-worker";
/// Ray's macOS wheels need macOS 12 (issue 8, item 14).
const MIN_MACOS: &str = "12.0";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The version Info.plist carries: Cargo's, without a pre-release or build suffix (Apple's
/// version keys are numbers only).
fn bundle_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
        .split(['-', '+'])
        .next()
        .expect("a version")
}

fn make_app(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(repo().join("bundle/make-app.sh"))
        .args(args)
        .output()
        .expect("run bundle/make-app.sh")
}

/// A folder with a small executable stand-in for the binary (`bin`) and an `out` folder.
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (bin, out) = (dir.path().join(EXE_NAME), dir.path().join("out"));
    fs::write(&bin, "#!/bin/sh\necho bittrader-worker\n").expect("write the stand-in");
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod the stand-in");
    fs::create_dir(&out).expect("out");
    (dir, bin, out)
}

/// Builds the app into `out` with `binary`; returns the .app's path.
fn build_app(out: &Path, binary: &Path) -> PathBuf {
    let output = make_app(&[
        "--out".as_ref(),
        out.as_os_str(),
        "--binary".as_ref(),
        binary.as_os_str(),
    ]);
    assert!(
        output.status.success(),
        "make-app.sh failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    out.join(format!("{APP_NAME}.app"))
}

fn dictionary(path: &Path) -> plist::Dictionary {
    plist::Value::from_file(path)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        .into_dictionary()
        .unwrap_or_else(|| panic!("{} is not a dictionary", path.display()))
}

fn string<'a>(dict: &'a plist::Dictionary, key: &str) -> &'a str {
    dict.get(key)
        .unwrap_or_else(|| panic!("no {key}"))
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn boolean(dict: &plist::Dictionary, key: &str) -> bool {
    dict.get(key)
        .unwrap_or_else(|| panic!("no {key}"))
        .as_boolean()
        .unwrap_or_else(|| panic!("{key} is not a boolean"))
}

/// The keys whose values do not depend on the build, with those values.
fn assert_fixed_keys(dict: &plist::Dictionary) {
    for (key, value) in [
        ("CFBundleIdentifier", BUNDLE_ID),
        ("CFBundleName", APP_NAME),
        ("CFBundleDisplayName", APP_NAME),
        ("CFBundleExecutable", EXE_NAME),
        ("CFBundlePackageType", "APPL"),
        ("CFBundleIconFile", "AppIcon"),
        ("CFBundleInfoDictionaryVersion", "6.0"),
        ("CFBundleDevelopmentRegion", "en"),
        ("LSMinimumSystemVersion", MIN_MACOS),
    ] {
        assert_eq!(string(dict, key), value, "{key}");
    }
    assert!(
        boolean(dict, "LSUIElement"),
        "a menu-bar app has no Dock icon"
    );
    assert!(boolean(dict, "NSHighResolutionCapable"));
    // macOS 15+ shows this in the Local Network prompt; without it a head on the LAN is
    // unreachable (issue 8, item 11).
    let local_network = string(dict, "NSLocalNetworkUsageDescription");
    assert!(local_network.contains("Ray head"), "{local_network}");
    let copyright = string(dict, "NSHumanReadableCopyright");
    assert!(copyright.contains("Copyright"), "{copyright}");
    let localizations: Vec<&str> = dict
        .get("CFBundleLocalizations")
        .and_then(plist::Value::as_array)
        .expect("CFBundleLocalizations is an array")
        .iter()
        .map(|v| v.as_string().expect("a string"))
        .collect();
    assert_eq!(localizations, ["en", "es"]);
}

#[test]
#[ignore = "slow tier: make-app.sh twice, with a python3 run per Info.plist key"]
fn the_app_has_the_layout_and_info_plist_macos_reads() {
    let (_dir, binary, out) = workspace();
    // Twice: the second run replaces the first app and leaves nothing else behind.
    build_app(&out, &binary);
    let app = build_app(&out, &binary);
    let entries: Vec<_> = fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        entries,
        [format!("{APP_NAME}.app").as_str()],
        "only the app in --out"
    );

    let contents = app.join("Contents");
    let info = dictionary(&contents.join("Info.plist"));
    assert_fixed_keys(&info);
    assert_eq!(
        string(&info, "CFBundleShortVersionString"),
        bundle_version()
    );
    assert_eq!(string(&info, "CFBundleVersion"), bundle_version());

    // CFBundleExecutable names the executable in MacOS/.
    let exe = contents
        .join("MacOS")
        .join(string(&info, "CFBundleExecutable"));
    let mode = fs::metadata(&exe)
        .unwrap_or_else(|e| panic!("{}: {e}", exe.display()))
        .permissions()
        .mode();
    assert!(mode & 0o111 != 0, "{} is not executable", exe.display());
    // On macOS codesign rewrites the signature; elsewhere the file is the binary given.
    if !cfg!(target_os = "macos") {
        assert!(
            fs::read(&exe).expect("read exe") == fs::read(&binary).expect("read binary"),
            "MacOS/{EXE_NAME} is not the --binary given"
        );
    }
    let macos: Vec<_> = fs::read_dir(contents.join("MacOS"))
        .expect("MacOS")
        .map(|e| e.expect("entry").file_name())
        .collect();
    let mut macos: Vec<_> = macos.iter().map(|name| name.to_string_lossy()).collect();
    macos.sort();
    assert_eq!(macos, [EXE_NAME, "uv"], "the app and uv");

    // uv from the index (its pinned wheel), runnable, with its licences.
    let uv = Command::new(contents.join("MacOS/uv"))
        .arg("--version")
        .output()
        .expect("uv runs");
    let said = String::from_utf8_lossy(&uv.stdout);
    let pinned = fs::read_to_string(repo().join("bundle/uv-requirements.txt")).expect("pins");
    let version = said.split_whitespace().nth(1).unwrap_or("?");
    assert!(pinned.contains(&format!("uv=={version} ")), "{said}");
    let licenses = contents.join("Resources/uv-licenses");
    assert!(licenses.join("LICENSE-APACHE").is_file() && licenses.join("LICENSE-MIT").is_file());

    // CFBundleIconFile names Resources/AppIcon.icns.
    let icon = contents
        .join("Resources")
        .join(format!("{}.icns", string(&info, "CFBundleIconFile")));
    assert!(icon.is_file(), "{} is missing", icon.display());

    assert_eq!(
        fs::read(contents.join("PkgInfo")).expect("PkgInfo"),
        b"APPL????"
    );

    // The menu-bar icons, as in assets/icons/.
    for entry in fs::read_dir(repo().join("assets/icons")).expect("assets/icons") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a name");
        assert_eq!(
            fs::read(contents.join("Resources/icons").join(name)).expect("copied icon"),
            fs::read(&path).expect("icon"),
            "{name:?}"
        );
    }
    assert_icon_is_an_icns_of_pngs(&app);

    // Info.plist's sentences in Spanish, as UTF-16 with its byte-order mark, naming only keys
    // Info.plist has.
    let strings = fs::read(contents.join("Resources/es.lproj/InfoPlist.strings")).expect("es");
    let units: Vec<u16> = strings
        .chunks_exact(2)
        .map(|pair| match strings[..2] {
            [0xFE, 0xFF] => u16::from_be_bytes([pair[0], pair[1]]),
            _ => u16::from_le_bytes([pair[0], pair[1]]),
        })
        .collect();
    assert!(units.first() == Some(&0xFEFF), "a byte-order mark");
    let text = String::from_utf16(&units[1..]).expect("UTF-16");
    assert!(text.contains("\"NSLocalNetworkUsageDescription\" = \"BitTrader Worker se conecta"));
    for line in text.lines().filter(|line| line.starts_with('"')) {
        let key = line.split('"').nth(1).expect("a key");
        assert!(info.contains_key(key), "{key} is not in Info.plist");
    }
}

/// The icns types that hold a PNG, with the width and height each one stands for.
const PNG_TYPES: [(&[u8; 4], u32); 11] = [
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
    (b"ic11", 32),
    (b"ic12", 64),
    (b"ic13", 256),
    (b"ic14", 512),
];

/// Entries iconutil may add that are not PNGs: a table of contents, a version, and the raw
/// ARGB / RLE bitmaps and masks it uses for the small sizes. bundle/icns.py writes none of them.
const OTHER_TYPES: [&[u8; 4]; 12] = [
    b"TOC ", b"icnV", b"name", b"info", b"ic04", b"ic05", b"is32", b"s8mk", b"il32", b"l8mk",
    b"it32", b"t8mk",
];

/// The entries of an icns file: (type, data). Checks the header and that the entries tile the
/// file exactly.
fn icns_entries(bytes: &[u8]) -> Vec<([u8; 4], &[u8])> {
    assert!(bytes.len() >= 8, "too short for an icns header");
    assert_eq!(&bytes[..4], b"icns", "magic");
    let total = u32::from_be_bytes(bytes[4..8].try_into().expect("4 bytes")) as usize;
    assert_eq!(total, bytes.len(), "the length field is the file's size");
    let mut entries = Vec::new();
    let mut at = 8;
    while at < total {
        assert!(at + 8 <= total, "entry header at {at} runs past the end");
        let kind: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
        let len = u32::from_be_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        assert!(
            len >= 8 && at + len <= total,
            "entry {} at {at}: bad length {len}",
            String::from_utf8_lossy(&kind)
        );
        entries.push((kind, &bytes[at + 8..at + len]));
        at += len;
    }
    entries
}

/// A PNG's width and height, from decoding all of it.
#[cfg(feature = "tray")]
fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("PNG header");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a buffer size")];
    let frame = reader.next_frame(&mut buffer).expect("PNG pixels");
    (frame.width, frame.height)
}

/// A PNG's width and height, from its IHDR (the png crate comes with the `tray` feature only).
#[cfg(not(feature = "tray"))]
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[12..16], b"IHDR", "PNG header");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (word(16), word(20))
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The app's icon is an icns of PNGs at every size from 32 to 1024 px, 1x and 2x.
fn assert_icon_is_an_icns_of_pngs(app: &Path) {
    let bytes = fs::read(app.join("Contents/Resources/AppIcon.icns")).expect("AppIcon.icns");
    let entries = icns_entries(&bytes);

    let mut seen = Vec::new();
    for (kind, data) in &entries {
        let name = String::from_utf8_lossy(kind);
        if let Some((_, pixels)) = PNG_TYPES.iter().find(|(t, _)| *t == kind) {
            assert!(data.starts_with(PNG_SIGNATURE), "{name} holds no PNG");
            assert_eq!(png_size(data), (*pixels, *pixels), "{name}");
            seen.push(*kind);
        } else {
            assert!(OTHER_TYPES.contains(&kind), "unexpected icns entry {name}");
            assert!(
                !data.starts_with(PNG_SIGNATURE),
                "{name} should not be a PNG"
            );
        }
    }
    // Every size from 32 to 1024 px, 1x and 2x.
    for kind in [
        b"ic07", b"ic08", b"ic09", b"ic10", b"ic11", b"ic12", b"ic13", b"ic14",
    ] {
        assert!(
            seen.contains(kind),
            "no {} entry",
            String::from_utf8_lossy(kind)
        );
    }
}

#[test]
fn the_info_plist_template_is_valid_with_a_version_placeholder() {
    let template = dictionary(&repo().join("Info.plist"));
    assert_fixed_keys(&template);
    // The app's id (shown in About) is the LaunchAgent's label too.
    assert_eq!(string(&template, "CFBundleIdentifier"), BUNDLE_ID);
    assert_eq!(LAUNCH_AGENT_LABEL, BUNDLE_ID);
    // The versions come from Cargo.toml when the app is built.
    assert_eq!(string(&template, "CFBundleShortVersionString"), "@VERSION@");
    assert_eq!(string(&template, "CFBundleVersion"), "@VERSION@");
}

#[test]
fn the_icon_sources_are_committed_at_their_sizes() {
    let source = fs::read(repo().join("assets/AppIcon.png")).expect("assets/AppIcon.png");
    assert!(source.len() <= 200 * 1024, "{} bytes", source.len());
    assert_eq!(png_size(&source), (1024, 1024));

    // icon_NxN.png is N px, icon_NxN@2x.png 2N px: the ten files iconutil wants.
    let mut names = Vec::new();
    for entry in fs::read_dir(repo().join("assets/AppIcon.iconset")).expect("iconset") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 name")
            .to_string();
        let stem = name.strip_suffix(".png").expect("a .png");
        let (stem, scale) = match stem.strip_suffix("@2x") {
            Some(stem) => (stem, 2),
            None => (stem, 1),
        };
        let side: u32 = stem
            .strip_prefix("icon_")
            .and_then(|s| s.split_once('x'))
            .filter(|(w, h)| w == h)
            .and_then(|(w, _)| w.parse().ok())
            .unwrap_or_else(|| panic!("{name} is not icon_NxN[@2x].png"));
        let data = fs::read(&path).expect("read");
        assert_eq!(png_size(&data), (side * scale, side * scale), "{name}");
        names.push(name);
    }
    names.sort();
    assert_eq!(names.len(), 10, "{names:?}");
}

#[test]
fn make_app_refuses_bad_arguments() {
    let out = tempfile::tempdir().expect("tempdir");
    let missing = out.path().join("no-such-binary");
    for (args, says) in [
        (vec!["--frobnicate".as_ref()], "unknown argument"),
        (vec!["--out".as_ref()], "--out needs a folder"),
        (
            vec![
                "--out".as_ref(),
                out.path().as_os_str(),
                "--binary".as_ref(),
                missing.as_os_str(),
            ],
            "no such file",
        ),
    ] {
        let output = make_app(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(
        fs::read_dir(out.path()).expect("out").next().is_none(),
        "a refused run leaves nothing in --out"
    );
}

/// The Homebrew cask agrees with what the project builds: Cargo's version, the app's name and
/// bundle id, the .dmg's name as a GitHub release asset (spaces become dots), and `zap` removes
/// the data folder and the login item's LaunchAgent (and the old install's kept copy).
#[test]
fn the_cask_names_what_the_project_builds() {
    let cask = fs::read_to_string(repo().join("Casks/bittrader-worker.rb")).expect("the cask");
    let info = dictionary(&repo().join("Info.plist"));
    let id = string(&info, "CFBundleIdentifier");
    for line in [
        format!("version \"{}\"", env!("CARGO_PKG_VERSION")),
        format!("app \"{APP_NAME}.app\""),
        format!("quit:      \"{id}\""),
        format!("launchctl: \"{LAUNCH_AGENT_LABEL}\""),
        format!("\"~/Library/LaunchAgents/{LAUNCH_AGENT_LABEL}.plist\""),
        format!("\"~/Library/LaunchAgents/{LAUNCH_AGENT_LABEL}.plist.legacy-backup\""),
        "\"~/.bittrader_worker\"".to_string(),
        "\"~/Library/Logs/BitTrader Worker\"".to_string(),
        format!("/{}.#{{version}}.dmg\"", APP_NAME.replace(' ', ".")),
    ] {
        assert!(cask.contains(&line), "the cask lacks {line}");
    }
    let dmg_script = fs::read_to_string(repo().join("bundle/make-dmg.sh")).expect("make-dmg.sh");
    assert!(dmg_script.contains("dmg=\"$out/BitTrader Worker $version.dmg\""));
}

/// `ruby -c` parses the cask (Ruby from scripts/test's packages), and `make-dmg.sh` lays out what
/// the image holds: the app and a link to /Applications (hdiutil itself is macOS's).
#[test]
#[ignore = "slow tier: make-app.sh, make-dmg.sh and ruby"]
fn the_cask_parses_and_the_image_holds_the_app_and_applications() {
    let parsed = Command::new("ruby")
        .arg("-c")
        .arg(repo().join("Casks/bittrader-worker.rb"))
        .output()
        .expect("ruby (scripts/test installs it)");
    assert!(parsed.status.success(), "{parsed:?}");
    let (_dir, binary, out) = workspace();
    let app = build_app(&out, &binary);
    let made = Command::new("bash")
        .arg(repo().join("bundle/make-dmg.sh"))
        .arg("--app")
        .arg(&app)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("make-dmg.sh");
    assert!(made.status.success(), "{made:?}");
    let root = out.join("dmg-root");
    let mut names: Vec<String> = fs::read_dir(&root)
        .expect("dmg-root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["Applications", &format!("{APP_NAME}.app")]);
    let link = fs::read_link(root.join("Applications")).expect("a link");
    assert_eq!(link, Path::new("/Applications"));
    let copied = root.join(format!("{APP_NAME}.app/Contents/MacOS/{EXE_NAME}"));
    assert_eq!(
        fs::read(copied).expect("the app"),
        fs::read(&binary).expect("binary")
    );
}

#[test]
fn the_binary_says_cargos_version_and_the_commit_it_was_built_from() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bittrader-worker"))
        .arg("--version")
        .output()
        .expect("--version");
    let said = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "bittrader-worker {} (commit {})",
        env!("CARGO_PKG_VERSION"),
        bittrader_worker::COMMIT
    );
    assert_eq!(said.trim(), expected);
    assert_ne!(
        bittrader_worker::COMMIT,
        "",
        "build.rs names a commit or says unknown"
    );
}
