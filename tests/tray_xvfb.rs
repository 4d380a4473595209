//! The real menu-bar app in a real system tray: `Xvfb`, `trayer` as the tray, the app with no
//! arguments, `xdotool` as the user's hand and ImageMagick's `import` as the camera.
//!
//! Without a D-Bus session, libayatana-appindicator (tray-icon's Linux backend) falls back to an
//! XEmbed `GtkStatusIcon`, which `trayer` docks: a 32×30 window of the app's process whose
//! class is `tray-icon tray app PID-N`, inside trayer's panel. A left click on it pops the muda
//! menu up as an override-redirect window of type `_NET_WM_WINDOW_TYPE_POPUP_MENU`, also owned
//! by the app's process. The test finds both with `xdotool search --onlyvisible --pid` and
//! `xprop`, drives the menu with the keyboard, and checks the outcome through
//! `bittrader-worker status --json`, as the CLI sees it.
//!
//! Why the keyboard for "Contribute": a GTK menu's keyboard navigation skips insensitive items
//! and separators, and every line above "Contribute" is an insensitive info line (state,
//! worker, and — depending on the machine — cluster and battery). So the first `Down` after
//! the menu opens selects "Contribute" whatever lines the menu has and whatever the theme's
//! row heights are, where a click at a computed y would depend on both. `Return` then
//! activates it exactly as a click does (the same GTK `activate` signal muda listens to).
//!
//! Screenshots go to `target/tray-screens/` (01 connected, 02 menu open, 03 paused, 04
//! connected again, `menu.png` the tray with its menu, for the README; `failure.png` when a
//! step fails). Every process (Xvfb, trayer, the app, the fake `ray`'s process groups) is
//! stopped by a guard, also when the test fails.
//!
//! Needs Xvfb, trayer, xdotool, xprop (x11-utils) and ImageMagick (`/usr/bin/import`,
//! `/usr/bin/convert`). Without them the test says so loudly and passes, unless
//! `BITTRADER_REQUIRE_TRAY` is set (scripts/test sets it in CI).

#![cfg(all(target_os = "linux", feature = "tray"))]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use bittrader_test_support::daemon::{phase_of, Daemon, Home, Options, POLL};
use bittrader_test_support::display::{path_str, Display, Rect, IMPORT};
use bittrader_test_support::process::{run_with_timeout, Proc};
use bittrader_test_support::skip::skip_or_fail;
use bittrader_test_support::{poll, secs};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bittrader-worker");
const CONVERT: &str = "/usr/bin/convert";
/// trayer's panel, top right; wide enough to sit above the whole menu in `menu.png`.
const PANEL: (u32, u32) = (360, 32);

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn screens_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("target"));
    let target = if target.is_absolute() {
        target
    } else {
        manifest_dir().join(target)
    };
    target.join("tray-screens")
}

// ---------------------------------------------------------------------------------------------
// Tools, and the skip
// ---------------------------------------------------------------------------------------------

fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let file = dir.join(name);
            fs::metadata(&file).is_ok_and(|m| m.is_file())
        })
    })
}

/// The tools this test needs that are missing.
fn missing_tools() -> Vec<String> {
    let mut missing: Vec<String> = ["Xvfb", "trayer", "xdotool", "xprop"]
        .into_iter()
        .filter(|t| !on_path(t))
        .map(str::to_string)
        .collect();
    for path in [IMPORT, CONVERT] {
        if !Path::new(path).is_file() {
            missing.push(path.to_string());
        }
    }
    missing
}

// ---------------------------------------------------------------------------------------------
// The X server and the tray
// ---------------------------------------------------------------------------------------------

/// Saves `rect` of the image at `from` to `to`.
fn crop(from: &Path, rect: Rect, to: &Path) -> Result<(), String> {
    let mut command = Command::new(CONVERT);
    command.args([
        path_str(from),
        "-crop".into(),
        rect.crop_spec(),
        "+repage".into(),
        path_str(to),
    ]);
    let out = run_with_timeout(command, secs(20))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The mean colour of `rect` in the image at `path`, 0–255 per channel.
fn mean_color(path: &Path, rect: Rect) -> Result<[f64; 3], String> {
    let mut command = Command::new(CONVERT);
    command.args([
        path_str(path),
        "-crop".into(),
        rect.crop_spec(),
        "+repage".into(),
        "-format".into(),
        "%[fx:255*mean.r] %[fx:255*mean.g] %[fx:255*mean.b]".into(),
        "info:".into(),
    ]);
    let out = run_with_timeout(command, secs(20))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let values: Vec<f64> = text
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    match values[..] {
        [r, g, b] if out.status.success() => Ok([r, g, b]),
        _ => Err(format!(
            "convert gave {text:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

fn color_distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

fn paused_of(status: &Value) -> Option<bool> {
    status["status"]["paused"].as_bool()
}

// ---------------------------------------------------------------------------------------------
// The world: everything the test started, dropped in order (app, tray, X, then the home: the
// fake ray's process groups, the head, the folder).
// ---------------------------------------------------------------------------------------------

struct World {
    /// The running menu-bar app: `quit` when dropped, then SIGKILL.
    app: Daemon,
    _tray: Proc,
    display: Display,
    home: Home,
    screens: PathBuf,
    panel: Rect,
}

impl World {
    fn start() -> World {
        let home = Home::new(
            BIN,
            Options {
                prefix: "bw-tray-",
                cpus: 1,
                grace_secs: 5,
                ..Options::default()
            },
        );

        let screens = screens_dir();
        fs::create_dir_all(&screens).expect("create target/tray-screens");
        for old in [
            "01-tray-connected.png",
            "02-menu-open.png",
            "03-paused.png",
            "04-connected-again.png",
            "menu.png",
            "failure.png",
        ] {
            let _ = fs::remove_file(screens.join(old));
        }

        let display = Display::start(home.path());
        eprintln!("Xvfb on {}", display.name());

        let mut trayer = display.command("trayer");
        trayer.args([
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "pixel",
            "--width",
            &PANEL.0.to_string(),
            "--height",
            &PANEL.1.to_string(),
            "--transparent",
            "false",
            "--tint",
            "0xdddddd",
        ]);
        let mut tray = Proc::spawn("trayer", trayer, &home.file("trayer.out"));
        // trayer's panel is its visible window of class `trayer`, PANEL high.
        let deadline = Instant::now() + secs(10);
        let panel = loop {
            let found = display
                .search(&["--onlyvisible", "--class", "^trayer$"])
                .into_iter()
                .filter_map(|w| display.geometry(w))
                .find(|r| r.h == i64::from(PANEL.1));
            if let Some(panel) = found {
                break panel;
            }
            assert!(
                tray.running() && Instant::now() < deadline,
                "trayer's panel did not show (running: {}):\n{}\n{}",
                tray.running(),
                home.read("trayer.out"),
                display.tree()
            );
            thread::sleep(POLL);
        };

        // No arguments: the menu-bar app.
        let mut app = home.command(&[]);
        app.env("DISPLAY", display.name())
            .env("LANG", "en_US.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MESSAGES")
            .env_remove("LANGUAGE")
            // No session bus (a dead address, so nothing is autolaunched either): the
            // appindicator falls back to the XEmbed icon trayer docks. No Wayland, no a11y bus.
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", path_str(&home.file("no-bus"))),
            )
            .env_remove("WAYLAND_DISPLAY")
            .env("GDK_BACKEND", "x11")
            .env("NO_AT_BRIDGE", "1");
        let app = home.spawn("the app", app, "app.out");
        World {
            app,
            _tray: tray,
            display,
            home,
            screens,
            panel,
        }
    }

    fn screen(&self, name: &str) -> PathBuf {
        self.screens.join(name)
    }

    /// Fails the test with a screenshot (`failure.png`) and everything worth reading.
    fn fail(&self, what: &str) -> ! {
        let shot = self.screen("failure.png");
        let shot = match self.display.screenshot(&shot) {
            Ok(()) => path_str(&shot),
            Err(e) => format!("(no screenshot: {e})"),
        };
        let status = self
            .home
            .status()
            .map(|s| serde_json::to_string_pretty(&s).unwrap_or_default())
            .unwrap_or_else(|| "(no answer)".into());
        panic!(
            "{what}\nscreenshot: {shot}\nlast status: {status}\n\
             --- app.out (tail) ---\n{}\n--- worker.log (tail) ---\n{}\n\
             --- trayer.out ---\n{}\n--- app windows ---\n{:?}\n--- window tree ---\n{}",
            self.home.tail("app.out", 30),
            self.home.tail("worker.log", 20),
            self.home.tail("trayer.out", 10),
            self.app_windows(),
            self.display.tree(),
        );
    }

    fn check(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    /// Polls `status --json` until `check` accepts it.
    fn wait_status(&self, what: &str, timeout: Duration, check: impl Fn(&Value) -> bool) -> Value {
        self.wait_for(what, timeout, || self.home.status().filter(|s| check(s)))
    }

    /// Polls `probe` until it gives something.
    fn wait_for<T>(&self, what: &str, timeout: Duration, probe: impl FnMut() -> Option<T>) -> T {
        poll(timeout, POLL, probe).unwrap_or_else(|| {
            self.fail(&format!("timed out after {timeout:?} waiting for: {what}"))
        })
    }

    /// The app's visible windows.
    fn app_windows(&self) -> BTreeSet<u64> {
        self.display
            .search(&["--onlyvisible", "--pid", &self.app.pid().to_string()])
    }

    /// The status icon: the app's visible window of class `tray-icon tray app …`, docked in
    /// trayer's panel.
    fn icon(&self) -> (u64, Rect) {
        self.wait_for("the tray icon docked in trayer", secs(10), || {
            let pid = self.app.pid().to_string();
            let found = self.display.search(&[
                "--all",
                "--onlyvisible",
                "--pid",
                &pid,
                "--class",
                "^tray-icon tray app",
            ]);
            found.into_iter().find_map(|w| {
                let rect = self.display.geometry(w)?;
                (self.panel.contains(&rect) && rect.w > 4 && rect.h > 4).then_some((w, rect))
            })
        })
    }

    fn shoot(&self, name: &str) -> PathBuf {
        let path = self.screen(name);
        if let Err(e) = self.display.screenshot(&path) {
            self.fail(&format!("screenshot {name}: {e}"));
        }
        path
    }

    /// Left-clicks the icon and waits for the menu: a new visible window of the app, of type
    /// `_NET_WM_WINDOW_TYPE_POPUP_MENU`, below the panel and of a plausible size.
    fn open_menu(&self, icon: (u64, Rect)) -> (u64, Rect) {
        let before = self.app_windows();
        let (x, y) = icon.1.center();
        if let Err(e) = self.display.run(
            "xdotool",
            &["mousemove", &x.to_string(), &y.to_string(), "click", "1"],
        ) {
            self.fail(&format!("clicking the icon: {e}"));
        }
        let menu = self.wait_for("the menu to pop up", secs(5), || {
            self.app_windows()
                .difference(&before)
                .copied()
                .find(|&w| {
                    self.display
                        .window_type(w)
                        .contains("_NET_WM_WINDOW_TYPE_POPUP_MENU")
                })
                .and_then(|w| Some((w, self.display.geometry(w)?)))
        });
        let rect = menu.1;
        self.check(
            rect.w >= 100 && rect.h >= 100 && rect.y >= self.panel.y + self.panel.h / 2,
            || {
                format!(
                    "the menu window {menu:?} is not a menu below the panel {:?}",
                    self.panel
                )
            },
        );
        // GTK grabs the keyboard as the menu maps; give it a moment before typing.
        thread::sleep(Duration::from_millis(400));
        menu
    }

    /// Activates the first sensitive item ("Contribute", see the header) and waits for the
    /// menu to close.
    fn activate_contribute(&self, menu: (u64, Rect)) {
        for key in ["Down", "Return"] {
            if let Err(e) = self.display.run("xdotool", &["key", key]) {
                self.fail(&format!("pressing {key}: {e}"));
            }
            thread::sleep(Duration::from_millis(150));
        }
        self.wait_for("the menu to close", secs(5), || {
            (!self.app_windows().contains(&menu.0)).then_some(())
        });
    }

    /// The mean colour of the icon, polled from fresh screenshots until `want` accepts it;
    /// the screenshot is left at `name`.
    fn icon_color(
        &self,
        name: &str,
        icon: Rect,
        what: &str,
        want: impl Fn([f64; 3]) -> bool,
    ) -> [f64; 3] {
        let deadline = Instant::now() + secs(5);
        loop {
            let path = self.shoot(name);
            let color = match mean_color(&path, icon) {
                Ok(color) if want(color) => return color,
                Ok(color) => color,
                Err(e) => self.fail(&format!("reading the icon's colour: {e}")),
            };
            if Instant::now() >= deadline {
                self.fail(&format!("the icon {what}: last mean colour {color:?}"));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "slow tier: Xvfb, trayer, xdotool and ImageMagick"]
fn the_tray_menu_pauses_and_resumes_the_worker() {
    let missing = missing_tools();
    if !missing.is_empty() {
        return skip_or_fail(
            "real-tray test",
            &format!("missing {}", missing.join(", ")),
            Some("(Debian: apt-get install xvfb trayer xdotool x11-utils imagemagick)"),
            "BITTRADER_REQUIRE_TRAY",
        );
    }
    let started = Instant::now();
    let world = World::start();

    // 1. Connected, with the icon docked in the tray.
    let status = world.wait_status("phase `connected`", secs(20), |s| {
        phase_of(s) == "connected"
    });
    world.check(paused_of(&status) == Some(false), || format!("{status}"));
    let icon = world.icon();
    // The icon follows the status through the event loop: let it catch up, then take its
    // colour as the "connected" one.
    thread::sleep(Duration::from_millis(500));
    let shot = world.shoot("01-tray-connected.png");
    let connected = mean_color(&shot, icon.1).unwrap_or_else(|e| world.fail(&e));
    let background = mean_color(
        &shot,
        Rect {
            x: world.panel.x + 2,
            y: world.panel.y + 2,
            w: 8,
            h: 8,
        },
    )
    .unwrap_or_else(|e| world.fail(&e));
    world.check(color_distance(connected, background) > 20.0, || {
        format!("no icon drawn in the tray: icon {connected:?}, panel {background:?}")
    });

    // 2. A click opens the menu.
    let menu = world.open_menu(icon);
    let shot = world.shoot("02-menu-open.png");
    // For the README: the menu with the strip of tray above it.
    let readme = Rect {
        x: menu.1.x,
        y: world.panel.y,
        w: menu.1.w,
        h: menu.1.bottom() - world.panel.y,
    };
    if let Err(e) = crop(&shot, readme, &world.screen("menu.png")) {
        world.fail(&format!("cropping menu.png: {e}"));
    }

    // 3. Contribute → paused, and the icon changes.
    world.activate_contribute(menu);
    let status = world.wait_status("phase `paused` after Contribute", secs(15), |s| {
        phase_of(s) == "paused"
    });
    world.check(paused_of(&status) == Some(true), || {
        format!("paused phase but not `paused: true`: {status}")
    });
    world.icon_color("03-paused.png", icon.1, "did not change on pause", |c| {
        color_distance(c, connected) > 20.0
    });

    // 4. The menu now shows the paused state (rebuilt: no worker line, so it is shorter);
    // Contribute again → connected again, with the connected icon back.
    let first_menu = menu.1;
    let menu = world.open_menu(icon);
    world.check(menu.1.h < first_menu.h, || {
        format!(
            "the paused menu {:?} is not shorter than the connected one {first_menu:?}: \
             not rebuilt for the new state?",
            menu.1
        )
    });
    world.activate_contribute(menu);
    let status = world.wait_status("phase `connected` after Contribute again", secs(15), |s| {
        phase_of(s) == "connected" && paused_of(s) == Some(false)
    });
    world.check(status["worker_pid"].as_u64().is_some(), || {
        format!("connected without a worker: {status}")
    });
    world.icon_color(
        "04-connected-again.png",
        icon.1,
        "did not go back to the connected one",
        |c| color_distance(c, connected) < 5.0,
    );

    eprintln!(
        "real tray test passed in {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        world.screens.display()
    );
}
