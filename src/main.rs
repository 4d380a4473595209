//! The command line: the app itself (`daemon`), and the commands that talk to it.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use bittrader_worker::config::{self, Config, Paths};
use bittrader_worker::runtime::control::ClientError::NotRunning;
use bittrader_worker::runtime::control::{self, Reply, Request, StatusReport};
use bittrader_worker::text::cli::{self, SetupStep, StatusLine};
use bittrader_worker::text::{page, Lang};
use bittrader_worker::{demo, service, setup};

#[derive(Parser)]
#[command(
    name = "bittrader-worker",
    version = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BTW_COMMIT"), ")"),
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
    FindHeads {
        /// Print the finds (or Tailscale's problem) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Install Ray into ~/.bittrader_worker/.venv (the head's version when it can be asked).
    Setup(setup::SetupOptions),
    /// Check every path this app takes into the OS, Ray and the network, once, for real: one
    /// line each, with what to do about a failure (kept in doctor.txt for a bug report).
    Doctor {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start a throwaway local Ray head and join it: the whole cycle with no cluster.
    Demo,
    /// Put a link named bittrader-worker to this program in a folder on PATH (/usr/local/bin on
    /// macOS, asking for an administrator's password only if it is not writable; ~/.local/bin on
    /// Linux). Only a link of ours is ever replaced.
    InstallCli {
        /// Put the link in this folder instead (created if missing).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
    /// Start the app at login: `on`, `off` or `status` (macOS LaunchAgent, Linux XDG autostart).
    /// Quit the app, turn start at login off, and remove Ray's environment and the data folder
    /// (history and settings too, unless --keep-data); the app itself goes to the Trash by hand.
    Uninstall {
        /// Keep config.toml, the history and the logs.
        #[arg(long)]
        keep_data: bool,
        /// Also show the outcome in an alert (the menu runs it so, with no terminal).
        #[arg(long, hide = true)]
        alert: bool,
    },
    LoginItem {
        #[arg(value_enum)]
        action: LoginAction,
        /// With `status`: print the state as JSON.
        #[arg(long)]
        json: bool,
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

fn main() -> ExitCode {
    // The first launch after Gatekeeper's "Open Anyway" can pass `-psn_0_NNN` (a process
    // serial number from LaunchServices), which is no argument of ours.
    let args = std::env::args_os().filter(|arg| !arg.to_string_lossy().starts_with("-psn_"));
    let Some(command) = Cli::parse_from(args).command else {
        return run_app();
    };
    match run(command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("bittrader-worker: {error:#}");
            let not_running = matches!(error.downcast_ref(), Some(NotRunning { .. }));
            ExitCode::from(if not_running { NOT_RUNNING } else { 1 })
        }
    }
}

/// The exit status when no instance runs, as `systemctl status` says it (0 done, 1 failed, 2
/// usage, which clap gives).
const NOT_RUNNING: u8 = 3;

/// The app as Finder, the Dock or launchd open it (the daemon in a build without the tray): a
/// failure to start goes to an alert and `worker.log`, and the exit status is 0 so that
/// launchd's `KeepAlive` does not start it again every ten seconds to fail the same way.
fn run_app() -> ExitCode {
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => {
            service::report_startup_failure(None, &e.to_string());
            return ExitCode::SUCCESS;
        }
    };
    #[cfg(feature = "tray")]
    let result = bittrader_worker::tray::run(paths.clone());
    #[cfg(not(feature = "tray"))]
    let result = service::run_daemon(paths.clone());
    match result {
        Ok(()) => {}
        // Opening the app twice (or launchd's RunAtLoad while it already runs) is not a
        // failure: say so where someone may look, and have the running one show where it
        // stands (its icon may be hidden), then leave quietly.
        Err(e) if e.is_already_running() => {
            service::note_startup(&paths, &e.to_string());
            // Not when launchd started this one (turning start at login on does, at once).
            let by_launchd = std::env::var("XPC_SERVICE_NAME")
                .is_ok_and(|job| job == bittrader_worker::platform::login_item::LAUNCH_AGENT_LABEL);
            if !by_launchd {
                let _ = control::request(&paths.socket(), &Request::OpenedAgain);
            }
        }
        Err(e) => service::report_startup_failure(Some(&paths), &e.to_string()),
    }
    ExitCode::SUCCESS
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    // Needs no data folder: it works before the app ever ran, and with no HOME given a `--dir`.
    if let Command::InstallCli { dir } = command {
        return Ok(install_cli(dir));
    }
    let paths = Paths::from_env()?;
    // Every command but `find-heads` reads or writes the data folder: one check for all
    // (`doctor` reports on it instead).
    if !matches!(command, Command::FindHeads { .. } | Command::Doctor { .. }) {
        paths.check_home()?;
    }
    if !matches!(
        command,
        Command::Daemon | Command::FindHeads { .. } | Command::Setup { .. } | Command::Demo
    ) {
        // A short-lived client (`status | head`) ends quietly when its reader goes away, as
        // Unix tools do, rather than panic; the app, `setup` and `demo` keep Rust's default
        // (EPIPE is an error, and a closed socket never kills the process).
        // SAFETY: setting a signal disposition before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let request = match command {
        Command::Daemon => return Ok(service::run_daemon(paths).map(|()| ExitCode::SUCCESS)?),
        Command::Status { json } => return status(&paths, json),
        Command::Stats { json, page } => return stats(&paths, json, page),
        Command::Pause { after_tasks: true } => Request::PauseAfterTasks,
        Command::Pause { after_tasks: false } => Request::Pause,
        Command::Resume => Request::Resume,
        Command::Cpus { n } => Request::Cpus { cpus: n },
        Command::Head { address } => return head(&paths, address),
        Command::Quit => Request::Quit,
        Command::FindHeads { json } => return find_heads(json),
        Command::Setup(options) => {
            // The app runs its own setup (with progress lines) only once its worker is gone.
            let running = control::request(&paths.socket(), &Request::Status).is_ok();
            if running && !options.progress_lines {
                let refusal = cli::setup_line(Lang::current(), SetupStep::AppRunning);
                eprintln!("{refusal}");
                return Ok(ExitCode::FAILURE);
            }
            setup::run(&paths, &load_config(&paths)?, &options)?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Doctor { json } => return doctor(&paths, json),
        Command::Demo => return Ok(demo::run(&paths).map(|()| ExitCode::SUCCESS)?),
        Command::LoginItem {
            action,
            replace_legacy,
            json,
        } => return login_item(&paths, action, replace_legacy, json),
        Command::Uninstall { keep_data, alert } => return uninstall(&paths, keep_data, alert),
        // Taken above, before the data folder is read.
        Command::InstallCli { dir } => return Ok(install_cli(dir)),
    };
    Ok(print_reply(&control::request(&paths.socket(), &request)?))
}

fn status(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let reply = match control::request(&paths.socket(), &Request::Status) {
        Err(NotRunning { .. }) if json => {
            println!("{}", serde_json::json!({ "running": false }));
            return Ok(ExitCode::from(NOT_RUNNING));
        }
        answer => answer?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&reply.report)?);
    } else if let Some(report) = &reply.report {
        let lang = Lang::current();
        let status = report.status.as_ref();
        let ray = status.and_then(|status| status.ray.as_ref());
        println!("{}", summary(report));
        let lines = [
            report.worker_pid.map(StatusLine::WorkerPid),
            report.node_ip.as_deref().map(StatusLine::NodeIp),
            ray.map(|ray| StatusLine::Ray {
                path: &ray.path,
                version: ray.version.as_deref(),
            }),
            status
                .and_then(|status| status.python_skew.as_ref())
                .map(StatusLine::PythonSkew),
            status.map(|status| StatusLine::Mode {
                mobile: status.mobile,
            }),
            status
                .and_then(|status| status.update.as_ref())
                .map(StatusLine::Update),
        ];
        for line in lines.into_iter().flatten() {
            println!("{}", cli::status_line(lang, line));
        }
        for courtesy in status.map_or(Vec::new(), |s| cli::courtesy_lines(lang, s)) {
            println!("{courtesy}");
        }
        let log = cli::status_line(lang, StatusLine::Log(&report.log_file));
        println!("{log}");
    }
    Ok(ExitCode::from(u8::from(!reply.ok)))
}

/// `stats`: read from history.json (written within a minute of every change), not asked of the
/// app: it works whether or not the app runs and costs the app nothing, for at most a minute
/// of freshness.
fn stats(paths: &Paths, json: bool, page: bool) -> anyhow::Result<ExitCode> {
    let lang = Lang::current();
    let history = match bittrader_worker::history::file::read(&paths.history_file()) {
        Ok(history) => history.unwrap_or_default(),
        Err(e) => {
            let why = cli::history_unreadable(lang, &e.to_string());
            eprintln!("bittrader-worker: {why}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let today = chrono::Local::now().date_naive();
    let stats = history.stats(chrono::Utc::now(), today);
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
        let cpu_hours = page::cpu_hours(lang, day.cpu_hours * 3600.0);
        println!("  {}  {cpu_hours:>5} CPU-h", day.date);
    }
    println!("{}", paths.history_file().display());
    Ok(ExitCode::SUCCESS)
}

/// The configuration for a command that runs without the daemon. What an import of the old
/// `config.env` skipped goes to stderr: this may be the only time it is imported.
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
    let request = Request::Head {
        address: address.clone(),
    };
    match control::request(&paths.socket(), &request) {
        Err(control::ClientError::NotRunning { .. }) => {
            let head = address.parse()?;
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

/// `doctor`: the report on stdout, and in doctor.txt when the data folder is sound. Exit 1 when
/// a check failed.
fn doctor(paths: &Paths, json: bool) -> anyhow::Result<ExitCode> {
    let lang = Lang::current();
    let config = load_config(paths).unwrap_or_else(|e| {
        eprintln!("bittrader-worker: {e:#}");
        Config::with_defaults(service::machine_cpus())
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the checks")?;
    let report = runtime.block_on(bittrader_worker::doctor::run(paths, &config, lang));
    let text = bittrader_worker::text::doctor::lines(lang, &report).join("\n") + "\n";
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{text}");
    }
    if paths.check_home().is_ok() && paths.home.is_dir() {
        let saved =
            bittrader_worker::atomic_file::write(&paths.doctor_file(), text.as_bytes(), 0o600);
        if let Err(e) = saved {
            eprintln!("bittrader-worker: {}: {e}", paths.doctor_file().display());
        }
    }
    Ok(ExitCode::from(u8::from(report.failed())))
}

/// `find-heads`: asks Tailscale and knocks on its peers' Ray port from this process, so it
/// works whether or not the app runs.
fn find_heads(json: bool) -> anyhow::Result<ExitCode> {
    use bittrader_worker::tailscale::cli::{self as tailscale, TailscaleCli};
    let lang = Lang::current();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the search")?;
    let tailscale_cli = TailscaleCli::discover();
    let search = tailscale::find_heads(&tailscale_cli, tailscale::find_heads_port());
    match runtime.block_on(search) {
        Ok(heads) if json => {
            println!("{}", serde_json::to_string_pretty(&heads)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) if json => {
            let answer = serde_json::json!({ "problem": problem });
            println!("{}", serde_json::to_string_pretty(&answer)?);
            Ok(ExitCode::FAILURE)
        }
        Ok(heads) => {
            for line in cli::find_heads_report(lang, &heads) {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(problem) => {
            let why = cli::search_failed_words(lang, &problem);
            eprintln!("bittrader-worker: {why}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn login_item(
    paths: &Paths,
    action: LoginAction,
    replace_legacy: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let lang = Lang::current();
    let worded = |e| anyhow::anyhow!(cli::login_item_error(lang, &e));
    let exe = std::env::current_exe().context("finding this program's path")?;
    let item =
        bittrader_worker::platform::system_login_item(exe, paths.home.clone()).map_err(worded)?;
    match action {
        LoginAction::On => item.enable(replace_legacy).map_err(worded)?,
        LoginAction::Off => item.disable().map_err(worded)?,
        LoginAction::Status if json => {
            println!("{}", serde_json::to_string_pretty(&item.status())?);
            return Ok(ExitCode::SUCCESS);
        }
        LoginAction::Status => {
            println!("{}", cli::login_item_status(lang, &item.status()));
            return Ok(ExitCode::SUCCESS);
        }
    }
    let on = matches!(action, LoginAction::On);
    println!("{}", cli::login_item_set(lang, on));
    Ok(ExitCode::SUCCESS)
}

/// `install-cli`: where the link is (and how to put it on PATH), or why none was made (exit 1).
fn install_cli(dir: Option<std::path::PathBuf>) -> ExitCode {
    let lang = Lang::current();
    match bittrader_worker::cli_link::install(dir) {
        Ok(linked) => {
            println!("{}", cli::cli_linked(lang, &linked));
            ExitCode::SUCCESS
        }
        Err(refused) => {
            eprintln!(
                "bittrader-worker: {}",
                cli::cli_link_refused(lang, &refused)
            );
            ExitCode::FAILURE
        }
    }
}

fn uninstall(paths: &Paths, keep_data: bool, alert: bool) -> anyhow::Result<ExitCode> {
    use bittrader_worker::service::logs;
    let lang = Lang::current();
    let exe = std::env::current_exe().context("finding this program's path")?;
    let item = bittrader_worker::platform::system_login_item(exe, paths.home.clone())?;
    let mut lines = Vec::new();
    let console = logs::console_link(paths);
    let result =
        bittrader_worker::uninstall::run(paths, keep_data, &*item, console.as_deref(), |removed| {
            let line = cli::uninstalled(lang, &removed);
            println!("{line}");
            lines.push(line);
        });
    use bittrader_worker::uninstall::UninstallError;
    let last = match &result {
        Ok(()) => cli::uninstall_finished(lang, keep_data.then_some(paths.home.as_path())),
        Err(UninstallError::StillRunning(detail)) => cli::app_did_not_quit(lang, detail),
        Err(UninstallError::LoginItem(e)) => cli::login_item_error(lang, e),
        Err(UninstallError::Remove { path, source }) => {
            cli::could_not_remove(lang, path, &source.to_string())
        }
    };
    match result {
        Ok(()) => println!("{last}"),
        Err(_) => eprintln!("{last}"),
    }
    if alert {
        lines.push(last);
        let title = bittrader_worker::text::menu::word(
            lang,
            bittrader_worker::text::menu::MenuWord::Uninstall,
        );
        bittrader_worker::platform::alert::show(title, &lines.join("\n"));
    }
    Ok(ExitCode::from(u8::from(result.is_err())))
}

/// Prints what the running instance answered, in this user's language (the daemon's words are
/// English, and it may have been started in another language).
fn print_reply(reply: &Reply) -> ExitCode {
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
    ExitCode::from(u8::from(!reply.ok))
}

/// The report's one line in this process's language, worded here from its status when it has
/// one (before the supervisor's first step it has not).
fn summary(report: &StatusReport) -> String {
    match &report.status {
        Some(status) => cli::summary(Lang::current(), status),
        None => report.summary.clone(),
    }
}
