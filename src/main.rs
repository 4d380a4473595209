//! The command line: the app itself (`daemon`), and the commands that talk to it.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use bittrader_worker::config::{self, Config, Paths};
use bittrader_worker::runtime::control::{self, Reply, Request};
use bittrader_worker::text::cli::{self, StatusLine};
use bittrader_worker::text::{page, Lang};
use bittrader_worker::{demo, service, setup};

#[derive(Parser)]
#[command(
    name = "bittrader-worker",
    version,
    about = "Keeps this machine contributing CPUs to your Ray cluster."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the supervisor without a menu-bar icon (for launchd, servers and tests).
    Daemon,
    /// Show what the running instance is doing.
    Status {
        /// Print the full state as JSON.
        #[arg(long)]
        json: bool,
    },
    /// What this machine gave: CPU-hours today, over 7 and 30 days, and the last week's
    /// timeline (read from history.json: works whether or not the app runs).
    Stats {
        /// Print it as JSON.
        #[arg(long)]
        json: bool,
        /// Also draw it as a page (the menu's "Contribution…") and print where it is.
        #[arg(long)]
        page: bool,
    },
    /// Stop contributing (the worker leaves the cluster) until `resume`.
    Pause {
        /// Let the running tasks finish first: the head drains this node (no new tasks), then
        /// the worker leaves.
        #[arg(long)]
        after_tasks: bool,
    },
    /// Contribute again (also retries after an error).
    Resume,
    /// Offer N CPUs to the cluster (the worker restarts with them).
    Cpus {
        /// How many CPUs, from 1 to this machine's count.
        n: u32,
    },
    /// Join the head at ADDRESS (`host` or `host:port`, port 6379 by default).
    Head {
        /// e.g. 100.64.0.1 or desktop.tailnet.ts.net:6379
        address: String,
    },
    /// Stop the worker cleanly and quit the running instance.
    Quit,
    /// List the machines of your tailnet whose Ray port (6379) answers: heads to join.
    FindHeads,
    /// Install Ray into ~/.bittrader_worker/.venv (the head's version when it can be asked).
    Setup {
        /// Install exactly this Ray version (e.g. 2.60.0).
        #[arg(long)]
        ray_version: Option<String>,
        /// Prefer this Python minor version (the head's), e.g. 3.12.
        #[arg(long, value_parser = parse_python_minor)]
        python: Option<u32>,
        /// Print one progress line per step, for the app (not for people).
        #[arg(long, hide = true)]
        progress_lines: bool,
    },
    /// Start a throwaway local Ray head and join it: the whole cycle with no cluster.
    Demo,
    /// Start the app at login: `on`, `off` or `status` (macOS LaunchAgent, Linux XDG autostart).
    LoginItem {
        /// on | off | status
        #[arg(value_enum)]
        action: LoginAction,
        /// Replace the old install's worker_daemon.sh LaunchAgent (a backup is kept).
        #[arg(long)]
        replace_legacy: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LoginAction {
    On,
    Off,
    Status,
}

/// `3.12` → `12`.
fn parse_python_minor(text: &str) -> Result<u32, String> {
    text.strip_prefix("3.")
        .and_then(|minor| minor.parse().ok())
        .ok_or_else(|| format!("`{text}` is not a Python 3 version such as 3.12"))
}

fn main() -> ExitCode {
    // The first launch after Gatekeeper's "Open Anyway" can pass `-psn_0_NNN` (a process
    // serial number from LaunchServices), which is no argument of ours.
    let args = std::env::args_os().filter(|arg| !arg.to_string_lossy().starts_with("-psn_"));
    let cli = Cli::parse_from(args);
    if cli.command.is_none() {
        return run_app();
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("bittrader-worker: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The app, as Finder, the Dock or launchd open it: no terminal, so a failure to start is shown
/// in an alert and written to `worker.log`, and the exit status is 0 so that launchd's
/// `KeepAlive {SuccessfulExit = false}` does not start it again every ten seconds only to fail
/// the same way.
fn run_app() -> ExitCode {
    match Paths::from_env() {
        Ok(paths) => run_app_in(paths),
        Err(e) => {
            service::report_startup_failure(None, &e.to_string());
            ExitCode::SUCCESS
        }
    }
}

/// The menu-bar app (the headless daemon in a build without the tray) on `paths`.
fn run_app_in(paths: Paths) -> ExitCode {
    #[cfg(feature = "tray")]
    let result = bittrader_worker::tray::run(paths.clone())
        .map_err(|e| (e.is_already_running(), e.to_string()));
    #[cfg(not(feature = "tray"))]
    let result =
        service::run_daemon(paths.clone()).map_err(|e| (e.is_already_running(), e.to_string()));
    match result {
        Ok(()) => {}
        // Opening the app twice (or launchd's RunAtLoad while it already runs) is not a
        // failure: say so where someone may look, and leave quietly.
        Err((true, message)) => service::note_startup(&paths, &message),
        Err((false, message)) => service::report_startup_failure(Some(&paths), &message),
    }
    ExitCode::SUCCESS
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    if matches!(
        cli.command,
        Some(
            Command::Status { .. }
                | Command::Stats { .. }
                | Command::Pause { .. }
                | Command::Resume
                | Command::Cpus { .. }
                | Command::Head { .. }
                | Command::Quit
                | Command::LoginItem { .. }
        )
    ) {
        // A short-lived client (`status | head`) should end quietly when its reader goes away,
        // as Unix tools do, rather than panic on a broken pipe. Everything that talks to a
        // server for longer (the app, `setup`, `demo`) keeps Rust's default: EPIPE is an
        // error, and a closed socket never kills the process.
        // SAFETY: setting a signal disposition before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match cli.command {
        None => Ok(run_app_in(paths)),
        Some(Command::Daemon) => {
            service::run_daemon(paths)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Status { json }) => {
            let reply = control::request(&paths.socket(), &Request::Status)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&reply.report)?);
            } else if let Some(report) = &reply.report {
                let lang = Lang::current();
                let line = |line| println!("{}", cli::status_line(lang, line));
                println!("{}", summary(report));
                if let Some(pid) = report.worker_pid {
                    line(StatusLine::WorkerPid(pid));
                }
                if let Some(ip) = &report.node_ip {
                    line(StatusLine::NodeIp(ip));
                }
                if let Some(ray) = report.status.as_ref().and_then(|s| s.ray.as_ref()) {
                    line(StatusLine::Ray {
                        path: &ray.path,
                        version: ray.version.as_deref(),
                    });
                }
                if let Some(status) = &report.status {
                    line(StatusLine::Mode {
                        mobile: status.mobile,
                    });
                    for courtesy in cli::courtesy_lines(lang, status) {
                        println!("{courtesy}");
                    }
                }
                line(StatusLine::Log(&report.log_file));
            }
            Ok(exit_code(&reply))
        }
        Some(Command::Stats { json, page }) => stats(&paths, json, page),
        Some(Command::Pause { after_tasks }) => send(
            &paths,
            if after_tasks {
                Request::PauseAfterTasks
            } else {
                Request::Pause
            },
        ),
        Some(Command::Resume) => send(&paths, Request::Resume),
        Some(Command::Cpus { n }) => send(&paths, Request::Cpus { cpus: n }),
        Some(Command::Head { address }) => head(&paths, address),
        Some(Command::Quit) => send(&paths, Request::Quit),
        Some(Command::FindHeads) => find_heads(),
        Some(Command::Setup {
            ray_version,
            python,
            progress_lines,
        }) => {
            let config = load_config(&paths)?;
            let options = setup::SetupOptions {
                ray_version,
                python_minor: python,
                progress_lines,
            };
            setup::run(&paths, &config, &options)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Demo) => {
            demo::run(&paths)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::LoginItem {
            action,
            replace_legacy,
        }) => login_item(&paths, action, replace_legacy),
    }
}

/// The configuration for a command that runs without the daemon. What an import of the old
/// `config.env` skipped goes to stderr: this may be the only time it is imported.
/// `stats`: read from history.json rather than asked of the running app. The app writes it
/// within a minute of every change, so this works the same whether or not the app runs, adds
/// nothing to the control socket, and costs the app nothing; what it gives up is at most a
/// minute of freshness (the menu's line is live).
fn stats(paths: &Paths, json: bool, page: bool) -> anyhow::Result<ExitCode> {
    let lang = Lang::detect();
    let history = match bittrader_worker::history::file::read(&paths.history_file()) {
        Ok(history) => history.unwrap_or_default(),
        Err(e) => {
            eprintln!(
                "bittrader-worker: {}",
                cli::history_unreadable(lang, &e.to_string())
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let now = chrono::Utc::now();
    let today = chrono::Local::now().date_naive();
    let stats = history.stats(now, today);
    if page {
        let written =
            bittrader_worker::history::page::write_page(paths, lang).map_err(anyhow::Error::msg)?;
        eprintln!("{}", written.display());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{}", page::contribution_line(lang, &history.summary(today)));
    println!("{}", page::month_line(lang, stats.month_cpu_hours * 3600.0));
    for day in stats.days.iter().rev().take(7) {
        println!(
            "  {}  {:>5} CPU-h",
            day.date,
            page::cpu_hours(lang, day.cpu_hours * 3600.0)
        );
    }
    println!("{}", paths.history_file().display());
    Ok(ExitCode::SUCCESS)
}

fn load_config(paths: &Paths) -> anyhow::Result<Config> {
    let loaded = Config::load_or_import(paths, service::machine_cpus())?;
    for note in &loaded.notes {
        eprintln!("{note}");
    }
    Ok(loaded.config)
}

/// `head ADDR` works with or without a running instance: without one, it is saved for the
/// next start.
fn head(paths: &Paths, address: String) -> anyhow::Result<ExitCode> {
    match control::request(
        &paths.socket(),
        &Request::Head {
            address: address.clone(),
        },
    ) {
        Err(control::ClientError::NotRunning { .. }) => {
            let head = address.parse()?;
            paths.ensure_home().context("creating the data folder")?;
            // Imports the old install's settings first, if this is the first run.
            load_config(paths)?;
            // Only `head` changes: the user's other lines and comments stay.
            config::save_setting(paths, &config::Setting::Head(head))?;
            println!("{}", cli::head_saved(Lang::current(), &address));
            Ok(ExitCode::SUCCESS)
        }
        Err(other) => Err(other.into()),
        Ok(reply) => Ok(print_reply(&reply)),
    }
}

/// `find-heads`: asks Tailscale and knocks on its peers' Ray port from this process, so it
/// works whether or not the app runs.
fn find_heads() -> anyhow::Result<ExitCode> {
    use bittrader_worker::tailscale::cli::{self as tailscale, TailscaleCli};
    let lang = Lang::current();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the search")?;
    let tailscale_cli = TailscaleCli::discover();
    let found = runtime.block_on(tailscale::find_heads(
        &tailscale_cli,
        tailscale::find_heads_port(),
    ));
    match found {
        Ok(heads) => {
            for line in cli::find_heads_report(lang, &heads) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            eprintln!(
                "bittrader-worker: {}",
                cli::search_failed_words(lang, &problem)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

fn login_item(
    paths: &Paths,
    action: LoginAction,
    replace_legacy: bool,
) -> anyhow::Result<ExitCode> {
    use bittrader_worker::platform::system_login_item;
    let exe = std::env::current_exe().context("finding this program's path")?;
    let item = system_login_item(exe, paths.home.clone())?;
    let lang = Lang::current();
    match action {
        LoginAction::On => {
            item.enable(replace_legacy)?;
            println!("{}", cli::login_item_set(lang, true));
        }
        LoginAction::Off => {
            item.disable()?;
            println!("{}", cli::login_item_set(lang, false));
        }
        LoginAction::Status => println!("{}", cli::login_item_status(lang, &item.status())),
    }
    Ok(ExitCode::SUCCESS)
}

fn send(paths: &Paths, request: Request) -> anyhow::Result<ExitCode> {
    let reply = control::request(&paths.socket(), &request)?;
    Ok(print_reply(&reply))
}

fn print_reply(reply: &Reply) -> ExitCode {
    // The daemon's words are English; what it did is worded here, in this user's language.
    let worded = reply
        .note
        .as_ref()
        .map(|note| cli::reply_note(Lang::current(), note));
    if let Some(message) = worded.as_ref().or(reply.message.as_ref()) {
        if reply.ok {
            println!("{message}");
        } else {
            eprintln!("bittrader-worker: {message}");
        }
    }
    if let Some(report) = &reply.report {
        println!("{}", summary(report));
    }
    exit_code(reply)
}

/// The report's one line in this process's language (the running instance may have been
/// started in another), worded here from its status when it has one.
fn summary(report: &control::StatusReport) -> String {
    match &report.status {
        Some(status) => cli::summary(Lang::current(), status),
        None => report.summary.clone(),
    }
}

fn exit_code(reply: &Reply) -> ExitCode {
    if reply.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
