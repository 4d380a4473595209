//! What the commands print: the one-line state (also the tray's and the log's), `status`'s
//! lines, replies, `find-heads`, `setup`, `demo` and `login-item`.

use super::{auto_pause_words, cpu_count, fault_message, thermal_words, unreachable_words, Lang};
use crate::model::{
    KeepAwake, NoBuild, PauseAtThermal, Phase, ReplyNote, Status, TailnetFinds, TailscaleProblem,
    ThermalState,
};
use crate::platform::LoginStatus;

/// One line that says where things stand: `status`, the tray's state line and tooltip, the
/// log. Only words quoted from Ray or the OS stay as they were said.
pub fn summary(lang: Lang, status: &Status) -> String {
    let head = status.head.as_ref().map(|h| h.to_string());
    let cpus = cpu_count(status.worker_cpus.unwrap_or(status.cpus));
    let why = status
        .unreachable
        .as_ref()
        .map(|u| unreachable_words(lang, u));
    let awake = status.courtesy.keeping_awake;
    let paused_by = status.auto_pause.filter(|_| !status.paused);
    let paused_by = paused_by.map(|reason| auto_pause_words(lang, &reason));
    let fault = status
        .fault
        .as_ref()
        .map(|fault| fault_message(lang, fault));
    use Phase::*;
    match lang {
        Lang::En => {
            let head = head.unwrap_or_else(|| "no head".into());
            let why = why.unwrap_or_else(|| "no answer".into());
            let awake = if awake {
                " · keeping this computer awake"
            } else {
                ""
            };
            match (status.phase, status.demo) {
                (Checking, true) => "Demo: starting a local practice head".into(),
                (Starting, true) => format!("Demo: joining a local practice head with {cpus}"),
                (Connected, true) => format!("Demo: connected to a local practice head · {cpus}"),
                (Reconnecting, true) => "Demo: reconnecting to the local practice head".into(),
                (Checking, _) => format!("Checking whether the head {head} is reachable"),
                (Starting, _) => format!("Joining {head} with {cpus}"),
                (Connected, _) => format!("Connected to {head} · {cpus}{awake}"),
                (Disconnecting, _) => {
                    format!("Head unreachable — {why} · keeping the worker for a moment")
                }
                (Disconnected, _) => format!("Head unreachable — {why} · retrying"),
                (Reconnecting, _) => format!("Reconnecting to {head}"),
                (Stopping, _) => "Stopping the worker".into(),
                (Paused, _) => paused_by.map_or("Paused".into(), |r| format!("Paused — {r}")),
                (Error, _) => fault.map_or("Error".into(), |f| format!("Error: {f}")),
                (ShuttingDown, _) => "Shutting down".into(),
                (Draining, _) => format!("Finishing the running tasks, then pausing{awake}"),
            }
        }
        Lang::Es => {
            let head = head.unwrap_or_else(|| "sin head".into());
            let why = why.unwrap_or_else(|| "sin respuesta".into());
            let awake = if awake {
                " · mantiene el equipo despierto"
            } else {
                ""
            };
            match (status.phase, status.demo) {
                (Checking, true) => "Demo: arrancando un head de práctica local".into(),
                (Starting, true) => {
                    format!("Demo: uniéndose a un head de práctica local con {cpus}")
                }
                (Connected, true) => {
                    format!("Demo: conectado a un head de práctica local · {cpus}")
                }
                (Reconnecting, true) => "Demo: reconectando con el head de práctica local".into(),
                (Checking, _) => format!("Comprobando si el head {head} responde"),
                (Starting, _) => format!("Uniéndose a {head} con {cpus}"),
                (Connected, _) => format!("Conectado a {head} · {cpus}{awake}"),
                (Disconnecting, _) => {
                    format!("Head inalcanzable — {why} · se mantiene el worker un momento")
                }
                (Disconnected, _) => format!("Head inalcanzable — {why} · reintentando"),
                (Reconnecting, _) => format!("Reconectando con {head}"),
                (Stopping, _) => "Deteniendo el worker".into(),
                (Paused, _) => paused_by.map_or("En pausa".into(), |r| format!("En pausa — {r}")),
                (Error, _) => fault.map_or("Error".into(), |f| format!("Error: {f}")),
                (ShuttingDown, _) => "Cerrando".into(),
                (Draining, _) => format!("Terminando las tareas en curso; luego, pausa{awake}"),
            }
        }
    }
}

/// The courtesy settings and what they do now, one line each, for `status`.
pub fn courtesy_lines(lang: Lang, status: &Status) -> Vec<String> {
    let c = &status.courtesy;
    let idle = c.only_when_idle_minutes;
    let (unsupported, never_set) = (
        c.idle_unsupported,
        !c.idle_unsupported && c.idle_hint_never_set,
    );
    let thermal = c.thermal.map(|t| thermal_words(lang, t));
    match lang {
        Lang::En => vec![
            format!(
                "keep awake {} ({})",
                match c.keep_awake {
                    KeepAwake::OnPower => "on power",
                    KeepAwake::Always => "always",
                    KeepAwake::Never => "never",
                },
                if c.keeping_awake {
                    "holding idle sleep off now"
                } else {
                    "not holding now"
                }
            ),
            format!(
                "pause at thermal {} (now {})",
                match c.pause_at_thermal {
                    PauseAtThermal::Serious => "serious",
                    PauseAtThermal::Critical => "critical",
                    PauseAtThermal::Never => "never",
                },
                thermal.unwrap_or("not reported here")
            ),
            match idle {
                None => "only when idle off".into(),
                Some(m) if never_set => format!(
                    "only when idle after {m} min: the desktop has not reported idleness yet, \
                     counted as in use"
                ),
                Some(m) if unsupported => format!(
                    "only when idle after {m} min: not supported here (this session reports no \
                     idle time), contributing regardless"
                ),
                Some(m) => format!("only when idle after {m} min without input"),
            },
        ],
        Lang::Es => vec![
            format!(
                "mantener despierto: {} ({})",
                match c.keep_awake {
                    KeepAwake::OnPower => "con corriente",
                    KeepAwake::Always => "siempre",
                    KeepAwake::Never => "nunca",
                },
                if c.keeping_awake {
                    "impide ahora el reposo por inactividad"
                } else {
                    "no lo impide ahora"
                }
            ),
            format!(
                "pausa por temperatura: {} (ahora {})",
                match c.pause_at_thermal {
                    PauseAtThermal::Serious => thermal_words(lang, ThermalState::Serious),
                    PauseAtThermal::Critical => thermal_words(lang, ThermalState::Critical),
                    PauseAtThermal::Never => "nunca",
                },
                thermal.unwrap_or("no se indica aquí")
            ),
            match idle {
                None => "solo en reposo desactivado".into(),
                Some(m) if never_set => format!(
                    "solo en reposo tras {m} min: el escritorio aún no ha indicado reposo, se \
                     cuenta como en uso"
                ),
                Some(m) if unsupported => format!(
                    "solo en reposo tras {m} min: no disponible aquí (esta sesión no indica el \
                     tiempo de reposo), contribuye igualmente"
                ),
                Some(m) => format!("solo en reposo tras {m} min sin teclado ni ratón"),
            },
        ],
    }
}

/// A line of `status` after the summary.
#[derive(Debug, Clone, Copy)]
pub enum StatusLine<'a> {
    /// The worker's pid.
    WorkerPid(u32),
    /// The address the worker announces.
    NodeIp(&'a str),
    /// The `ray` in use and its version.
    Ray {
        path: &'a str,
        version: Option<&'a str>,
    },
    /// Mobile (battery policy on) or desktop.
    Mode { mobile: bool },
    /// Where worker.log is.
    Log(&'a str),
}

/// `status`'s line for `line`.
pub fn status_line(lang: Lang, line: StatusLine<'_>) -> String {
    use StatusLine::*;
    match lang {
        Lang::En => match line {
            WorkerPid(pid) => format!("worker pid {pid}"),
            NodeIp(ip) => format!("node ip {ip}"),
            Ray { path, version } => {
                format!("ray {path} ({})", version.unwrap_or("version unknown"))
            }
            Mode { mobile: true } => "mode mobile (laptop: battery policy on)".into(),
            Mode { mobile: false } => "mode desktop".into(),
            Log(path) => format!("log {path}"),
        },
        Lang::Es => match line {
            WorkerPid(pid) => format!("pid del worker {pid}"),
            NodeIp(ip) => format!("ip del nodo {ip}"),
            Ray { path, version } => {
                format!("ray {path} ({})", version.unwrap_or("versión desconocida"))
            }
            Mode { mobile: true } => "modo móvil (portátil: política de batería activa)".into(),
            Mode { mobile: false } => "modo escritorio".into(),
            Log(path) => format!("registro {path}"),
        },
    }
}

/// What a reply says besides the state ([`ReplyNote`]): a change that took effect but could
/// not be written to config.toml holds until the app quits.
pub fn reply_note(lang: Lang, note: &ReplyNote) -> String {
    match lang {
        Lang::En => match note {
            ReplyNote::Stopped => "Stopped.".into(),
            ReplyNote::NotSaved { key, why } => format!(
                "Done, but `{key}` could not be saved ({why}): it holds until BitTrader Worker \
                 quits. Free some disk space or fix the folder's permissions."
            ),
        },
        Lang::Es => match note {
            ReplyNote::Stopped => "Detenido.".into(),
            ReplyNote::NotSaved { key, why } => format!(
                "Hecho, pero no se pudo guardar `{key}` ({why}): vale hasta que BitTrader Worker \
                 se cierre. Libera espacio en el disco o corrige los permisos de la carpeta."
            ),
        },
    }
}

/// `find-heads`'s lines: one per head found, then what to do; or that none answered.
pub fn find_heads_report(lang: Lang, finds: &TailnetFinds) -> Vec<String> {
    let heads = finds
        .heads
        .iter()
        .map(|head| format!("{}\t{}", head.address, head.name));
    let cut = finds
        .was_cut()
        .then(|| format!("({})", machines_asked(lang, finds)));
    let (none, then) = match lang {
        Lang::En => (
            "No machine of your tailnet answers on Ray's port.",
            "Join one with `bittrader-worker head ADDRESS`.",
        ),
        Lang::Es => (
            "Ninguna máquina de tu tailnet responde en el puerto de Ray.",
            "Únete a uno con `bittrader-worker head DIRECCIÓN`.",
        ),
    };
    if finds.heads.is_empty() {
        [Some(none.to_string()), cut]
            .into_iter()
            .flatten()
            .collect()
    } else {
        heads.chain(cut).chain([then.to_string()]).collect()
    }
}

/// "64 of 80 machines asked": the search was cut at its limit.
pub fn machines_asked(lang: Lang, finds: &TailnetFinds) -> String {
    let (asked, machines) = (finds.asked, finds.machines);
    match lang {
        Lang::En => format!("{asked} of {machines} machines asked"),
        Lang::Es => format!("{asked} de {machines} máquinas consultadas"),
    }
}

/// Why the tailnet could not be searched, in a few words.
pub fn search_failed_words(lang: Lang, problem: &TailscaleProblem) -> String {
    use TailscaleProblem::*;
    match lang {
        Lang::En => match problem {
            NotInstalled => "Tailscale is not installed here",
            Stopped => "Tailscale is stopped",
            NeedsLogin => "Tailscale needs you to log in",
            _ => "Tailscale does not answer",
        },
        Lang::Es => match problem {
            NotInstalled => "Tailscale no está instalado aquí",
            Stopped => "Tailscale está detenido",
            NeedsLogin => "Tailscale necesita que inicies sesión",
            _ => "Tailscale no responde",
        },
    }
    .into()
}

/// What `stats` says when history.json cannot be read.
pub fn history_unreadable(lang: Lang, why: &str) -> String {
    match lang {
        Lang::En => format!(
            "{why}. BitTrader Worker sets it aside (history.json.corrupt-DATE) at its next start \
             and begins a new one."
        ),
        Lang::Es => format!(
            "{why}. BitTrader Worker lo aparta (history.json.corrupt-FECHA) al volver a abrirse \
             y empieza uno nuevo."
        ),
    }
}

/// `head ADDRESS` with no running instance: saved for the next start.
pub fn head_saved(lang: Lang, address: &str) -> String {
    match lang {
        Lang::En => format!("Saved head {address}; it is used at the next start."),
        Lang::Es => format!("Head {address} guardado; se usa en el próximo inicio."),
    }
}

/// `login-item on` (`true`) or `off` took effect.
pub fn login_item_set(lang: Lang, on: bool) -> &'static str {
    match lang {
        Lang::En if on => "BitTrader Worker now starts at login.",
        Lang::En => "BitTrader Worker no longer starts at login.",
        Lang::Es if on => "BitTrader Worker se abre ahora al iniciar sesión.",
        Lang::Es => "BitTrader Worker ya no se abre al iniciar sesión.",
    }
}

/// `login-item status`'s answer.
pub fn login_item_status(lang: Lang, status: &LoginStatus) -> String {
    use LoginStatus::*;
    match lang {
        Lang::En => match status {
            Disabled => "off".into(),
            Enabled {
                program,
                is_this_program: true,
            } => format!("on: {program}"),
            Enabled { program, .. } => {
                format!("on: {program}\n(not this copy of the app: `login-item on` points it here)")
            }
            Legacy { program } => format!(
                "the old install's LaunchAgent runs {program}; `login-item on --replace-legacy` \
                 replaces it (a backup is kept)"
            ),
            Unrecognized { detail } => format!("something else is installed: {detail}"),
        },
        Lang::Es => match status {
            Disabled => "desactivado".into(),
            Enabled {
                program,
                is_this_program: true,
            } => format!("activado: {program}"),
            Enabled { program, .. } => format!(
                "activado: {program}\n(no es esta copia de la app: `login-item on` la apunta aquí)"
            ),
            Legacy { program } => format!(
                "el LaunchAgent de la instalación antigua ejecuta {program}; `login-item on \
                 --replace-legacy` lo reemplaza (se guarda una copia)"
            ),
            Unrecognized { detail } => format!("hay otra cosa instalada: {detail}"),
        },
    }
}

/// What `setup` tells a person as it goes.
#[derive(Debug, Clone, Copy)]
pub enum SetupStep<'a> {
    /// No head to ask for its version.
    NoHead,
    /// The head said its Ray version.
    HeadRuns { host: &'a str, version: &'a str },
    /// The head's answer (`shown`, escaped) is not a version.
    HeadSaidNoVersion { host: &'a str, shown: &'a str },
    /// The head could not be asked (`shown`: why, escaped).
    HeadNotAsked { shown: &'a str },
    /// The head's Python minor version is preferred.
    HeadPython { minor: u32 },
    /// Creating the venv with a Python found here (`path`), or uv's (`path`: `None`).
    CreatingVenv {
        venv: &'a str,
        python: &'a str,
        path: Option<&'a str>,
    },
    /// pip is installing `spec`.
    Installing { spec: &'a str },
    /// Done: this version answers at `path`.
    Ready { version: &'a str, path: &'a str },
}

/// `setup`'s sentence for `step`.
pub fn setup_line(lang: Lang, step: SetupStep<'_>) -> String {
    use SetupStep::*;
    match lang {
        Lang::En => {
            let newest = "installing the newest Ray. If the head runs another version, run \
                          `bittrader-worker setup --ray-version X`.";
            match step {
                NoHead => "No head is configured: installing the newest Ray.".into(),
                HeadRuns { host, version } => {
                    format!("The head {host} runs Ray {version}: installing the same.")
                }
                HeadSaidNoVersion { host, shown } => format!(
                    "The head {host} gave `{shown}` as its Ray version, which is not a version: \
                     {newest}"
                ),
                HeadNotAsked { shown } => {
                    format!("Could not ask the head for its Ray version ({shown}); {newest}")
                }
                HeadPython { minor } => {
                    format!("The head runs Python 3.{minor}: preferring the same.")
                }
                CreatingVenv {
                    venv,
                    python,
                    path: Some(path),
                } => {
                    format!("Creating {venv} with Python {python} ({path}) …")
                }
                CreatingVenv {
                    venv,
                    python,
                    path: None,
                } => {
                    format!("Creating {venv} with uv's Python {python} …")
                }
                Installing { spec } => format!("Installing {spec} (this takes a minute) …"),
                Ready { version, path } => format!("Ray {version} is ready at {path}."),
            }
        }
        Lang::Es => {
            let newest = "se instala la versión más reciente de Ray. Si el head usa otra, \
                          ejecuta `bittrader-worker setup --ray-version X`.";
            match step {
                NoHead => "No hay ningún head configurado: se instala la versión más reciente de \
                     Ray."
                    .into(),
                HeadRuns { host, version } => {
                    format!("El head {host} usa Ray {version}: se instala la misma.")
                }
                HeadSaidNoVersion { host, shown } => format!(
                    "El head {host} dio `{shown}` como su versión de Ray, que no es una versión: \
                     {newest}"
                ),
                HeadNotAsked { shown } => format!(
                    "No se pudo preguntar al head por su versión de Ray ({shown}); {newest}"
                ),
                HeadPython { minor } => {
                    format!("El head usa Python 3.{minor}: se prefiere la misma.")
                }
                CreatingVenv {
                    venv,
                    python,
                    path: Some(path),
                } => {
                    format!("Creando {venv} con Python {python} ({path}) …")
                }
                CreatingVenv {
                    venv,
                    python,
                    path: None,
                } => {
                    format!("Creando {venv} con el Python {python} de uv …")
                }
                Installing { spec } => format!("Instalando {spec} (tarda un minuto) …"),
                Ready { version, path } => format!("Ray {version} está listo en {path}."),
            }
        }
    }
}

/// Why Ray has no build for this machine, and what to do instead.
pub fn no_build_message(lang: Lang, why: &NoBuild) -> String {
    let (NoBuild::IntelMac { ray } | NoBuild::OldMacOs { ray, .. } | NoBuild::Platform { ray }) =
        why;
    match lang {
        Lang::En => {
            let ray = ray
                .as_ref()
                .map_or("The newest Ray".into(), |v| format!("Ray {v}"));
            match why {
                NoBuild::IntelMac { .. } => format!(
                    "{ray} has no build for Intel Macs (the last one with Intel-Mac builds is \
                     2.49.2). Run Ray 2.49.2 or older on the whole cluster, head included, or \
                     contribute from another machine."
                ),
                NoBuild::OldMacOs { macos, .. } => format!(
                    "{ray} needs macOS 12 or newer on this Mac, which has macOS {macos}. Update \
                     macOS, or run Ray 2.49.2 or older on the whole cluster."
                ),
                NoBuild::Platform { .. } => format!(
                    "{ray} has no build for this system: it needs macOS on Apple silicon or Linux \
                     on x86_64 or ARM64. Contribute from another machine."
                ),
            }
        }
        Lang::Es => {
            let ray = ray
                .as_ref()
                .map_or("La versión más reciente de Ray".into(), |v| {
                    format!("Ray {v}")
                });
            match why {
                NoBuild::IntelMac { .. } => format!(
                    "{ray} no tiene versión para Mac con procesador Intel (la última que la tiene \
                     es la 2.49.2). Usa Ray 2.49.2 o anterior en todo el clúster, head incluido, o \
                     contribuye desde otro equipo."
                ),
                NoBuild::OldMacOs { macos, .. } => format!(
                    "{ray} necesita macOS 12 o posterior y este Mac tiene macOS {macos}. Actualiza \
                     macOS o usa Ray 2.49.2 o anterior en todo el clúster."
                ),
                NoBuild::Platform { .. } => format!(
                    "{ray} no tiene versión para este sistema: necesita macOS en Apple silicon o \
                     Linux en x86_64 o ARM64. Contribuye desde otro equipo."
                ),
            }
        }
    }
}

/// What `demo` prints as it goes.
#[derive(Debug, Clone, Copy)]
pub enum DemoStep<'a> {
    /// Starting the local head, its logs in `folder`.
    Starting { folder: &'a str },
    /// The head answers at `address`; the worker joins it (`folder`: for `status` elsewhere).
    Joining { address: &'a str, folder: &'a str },
    /// Ctrl-C was pressed.
    Stopping,
}

/// `demo`'s lines for `step`.
pub fn demo_line(lang: Lang, step: DemoStep<'_>) -> String {
    use DemoStep::*;
    match lang {
        Lang::En => match step {
            Starting { folder } => format!("Starting a local Ray head (logs in {folder}) …"),
            Joining { address, folder } => format!(
                "Head up at {address}. Joining it as a worker …\nIn another terminal: \
                 BITTRADER_WORKER_HOME={folder} bittrader-worker status | pause | resume | cpus \
                 1\nPress Ctrl-C to stop the worker and the head."
            ),
            Stopping => "Stopping the demo head …".into(),
        },
        Lang::Es => match step {
            Starting { folder } => {
                format!("Arrancando un head de Ray local (registros en {folder}) …")
            }
            Joining { address, folder } => format!(
                "Head en marcha en {address}. Uniéndose a él como worker …\nEn otra terminal: \
                 BITTRADER_WORKER_HOME={folder} bittrader-worker status | pause | resume | cpus \
                 1\nPulsa Ctrl-C para detener el worker y el head."
            ),
            Stopping => "Deteniendo el head de demostración …".into(),
        },
    }
}
