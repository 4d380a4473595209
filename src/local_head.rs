//! A throwaway Ray head on loopback: the demo's, and the app's when no head is configured.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::model::HeadAddress;

/// A Ray head we started, stopped (its whole process group) when dropped.
pub struct LocalHead {
    child: Child,
    /// Where it listens.
    pub address: HeadAddress,
}

impl LocalHead {
    /// Starts `ray start --head --block` on 127.0.0.1 at a free port and waits until it listens.
    pub fn start(ray: &Path, log: &Path) -> anyhow::Result<LocalHead> {
        let port = free_port()?;
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        use crate::platform::command::CountedSpawn;
        use std::os::unix::process::CommandExt;
        let child = Command::new(ray)
            .args([
                "start",
                "--head",
                "--block",
                &format!("--port={port}"),
                "--node-ip-address=127.0.0.1",
                "--num-cpus=1",
                "--include-dashboard=false",
                "--disable-usage-stats",
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn_counted()
            .with_context(|| {
                format!(
                    "could not run {}: install Ray first with `bittrader-worker setup`",
                    ray.display()
                )
            })?;
        let mut head = LocalHead {
            child,
            address: HeadAddress {
                host: "127.0.0.1".to_string(),
                port,
            },
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = head.child.try_wait() {
                bail!("the demo head exited ({status}); see {}", log.display());
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(head);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        bail!(
            "the demo head did not start within 90 s; see {}",
            log.display()
        )
    }
}

impl Drop for LocalHead {
    fn drop(&mut self) {
        let group = Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
