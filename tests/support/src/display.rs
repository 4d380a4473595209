//! A virtual X server (Xvfb) for the tests that run the real menu-bar app, and the X tools
//! that look at it (xdotool, xprop, xwininfo, ImageMagick's import).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Instant;

use crate::daemon::POLL;
use crate::process::{run_with_timeout, Proc};
use crate::secs;

/// ImageMagick's screenshotter.
pub const IMPORT: &str = "/usr/bin/import";

/// The virtual screen's size.
pub const SCREEN: (u32, u32) = (1024, 768);

/// A running `Xvfb :N`.
pub struct Display {
    number: u32,
    _server: Proc,
}

impl Display {
    /// Starts Xvfb on a free display number derived from our pid, moving on when the number
    /// is taken (a lock file, or a server that another test started first).
    pub fn start(dir: &Path) -> Display {
        let first = 100 + std::process::id() % 800;
        for number in first..first + 40 {
            if Path::new(&format!("/tmp/.X{number}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{number}")).exists()
            {
                continue;
            }
            let mut command = Command::new("Xvfb");
            command.args([
                format!(":{number}"),
                "-screen".into(),
                "0".into(),
                format!("{}x{}x24", SCREEN.0, SCREEN.1),
                "-nolisten".into(),
                "tcp".into(),
                "-noreset".into(),
            ]);
            let mut server = Proc::spawn("Xvfb", command, &dir.join("xvfb.out"));
            let deadline = Instant::now() + secs(10);
            while server.running() && Instant::now() < deadline {
                let mut probe = Command::new("xdotool");
                probe
                    .arg("getdisplaygeometry")
                    .env("DISPLAY", format!(":{number}"));
                if run_with_timeout(probe, secs(5)).is_ok_and(|o| o.status.success()) {
                    // Still ours: a server that lost the race for the number has exited.
                    if server.running() {
                        return Display {
                            number,
                            _server: server,
                        };
                    }
                }
                thread::sleep(POLL);
            }
            eprintln!(
                "Xvfb :{number} did not start: {}",
                fs::read_to_string(dir.join("xvfb.out")).unwrap_or_default()
            );
        }
        panic!("no free X display number from :{first}");
    }

    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// A command run against this display.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("DISPLAY", self.name());
        command
    }

    /// Runs an X tool; its stdout, or why it failed.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String, String> {
        let mut command = self.command(program);
        command.args(args);
        let out = run_with_timeout(command, secs(10))
            .map_err(|e| format!("`{program} {}`: {e}", args.join(" ")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "`{program} {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    /// `xdotool search ARGS`: the matching window ids (none is not an error: xdotool then
    /// exits 1 with no output).
    pub fn search(&self, args: &[&str]) -> BTreeSet<u64> {
        let mut command = self.command("xdotool");
        command.arg("search").args(args);
        run_with_timeout(command, secs(10))
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A window's absolute geometry.
    pub fn geometry(&self, window: u64) -> Option<Rect> {
        let text = self
            .run(
                "xdotool",
                &["getwindowgeometry", "--shell", &window.to_string()],
            )
            .ok()?;
        let field = |name: &str| -> Option<i64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('=')?.trim().parse().ok())
        };
        Some(Rect {
            x: field("X")?,
            y: field("Y")?,
            w: field("WIDTH")?,
            h: field("HEIGHT")?,
        })
    }

    /// A window's `_NET_WM_WINDOW_TYPE`, as xprop prints it.
    pub fn window_type(&self, window: u64) -> String {
        self.run(
            "xprop",
            &["-id", &window.to_string(), "_NET_WM_WINDOW_TYPE"],
        )
        .unwrap_or_default()
    }

    /// A screenshot of the whole screen.
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        self.run(
            IMPORT,
            &["-display", &self.name(), "-window", "root", &path_str(path)],
        )
        .map(|_| ())
    }

    /// The window tree, for failure messages (xwininfo is in x11-utils, like xprop).
    pub fn tree(&self) -> String {
        self.run("xwininfo", &["-root", "-tree"])
            .unwrap_or_else(|e| format!("(no window tree: {e})"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

impl Rect {
    pub fn right(&self) -> i64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> i64 {
        self.y + self.h
    }

    pub fn center(&self) -> (i64, i64) {
        (self.x + self.w / 2, self.y + self.h / 2)
    }

    pub fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.right() <= self.right()
            && other.bottom() <= self.bottom()
    }

    /// ImageMagick's `WxH+X+Y`.
    pub fn crop_spec(&self) -> String {
        format!("{}x{}+{}+{}", self.w, self.h, self.x, self.y)
    }
}

pub fn path_str(path: &Path) -> String {
    path.display().to_string()
}
