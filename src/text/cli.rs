//! What the commands print: the one-line state (the tray's and log's too), `status`, replies,
//! `find-heads`, `setup`, `demo`, `login-item` and `install-cli`.

use super::{auto_pause_words, cpu_count, fault_message, thermal_words, unreachable_words, Lang};
use crate::model::{
    KeepAwake, NoBuild, Phase, PythonSkew, ReplyNote, Status, TailnetFinds, TailscaleProblem,
    Unreachable, UpdateAvailable,
};
use crate::platform::LoginStatus;

/// One line that says where things stand: `status`, the tray's state line and tooltip, the
/// log. Only words quoted from Ray or the OS stay as they were said.
pub fn summary(lang: Lang, status: &Status) -> String {
    let (head, why) = (head_words(lang, status), why_words(lang, status));
    let cpus = cpu_count(status.worker_cpus.unwrap_or(status.cpus));
    let awake = match status.courtesy.keeping_awake {
        true => lang.tr(
            " · keeping this computer awake",
            " · mantiene el equipo despierto",
        ),
        false => "",
    };
    use Phase::*;
    match (status.phase, status.demo) {
        (Checking, true) => lang.tr(
            "Demo: starting a local practice head",
            "Demo: arrancando un head de práctica local",
        ),
        (Starting, true) => lang.tr(
            format!("Demo: joining a local practice head with {cpus}"),
            format!("Demo: uniéndose a un head de práctica local con {cpus}"),
        ),
        (Connected, true) => lang.tr(
            format!("Demo: connected to a local practice head · {cpus}"),
            format!("Demo: conectado a un head de práctica local · {cpus}"),
        ),
        (Disconnecting | Disconnected, true)
            if status.unreachable == Some(Unreachable::PracticeHeadGone) =>
        {
            lang.tr(format!("Demo: {why}"), format!("Demo: {why}"))
        }
        (Reconnecting, true) => lang.tr(
            "Demo: reconnecting to the local practice head",
            "Demo: reconectando con el head de práctica local",
        ),
        (Checking, _) => lang.tr(
            format!("Checking whether the head {head} is reachable"),
            format!("Comprobando si el head {head} responde"),
        ),
        (Starting, _) => lang.tr(
            format!("Joining {head} with {cpus}"),
            format!("Uniéndose a {head} con {cpus}"),
        ),
        (Connected, _) => lang.tr(
            format!("Connected to {head} · {cpus}{awake}"),
            format!("Conectado a {head} · {cpus}{awake}"),
        ),
        (Disconnecting | Disconnected, _) => {
            let then = while_unreachable(lang, status);
            lang.tr(
                format!("Head unreachable — {why} · {then}"),
                format!("Head inalcanzable — {why} · {then}"),
            )
        }
        (Reconnecting, _) => lang.tr(
            format!("Reconnecting to {head}"),
            format!("Reconectando con {head}"),
        ),
        (Stopping, _) => lang.tr("Stopping the worker", "Deteniendo el worker"),
        (Paused, _) => {
            let paused: &str = lang.tr("Paused", "En pausa");
            match status.auto_pause.filter(|_| !status.paused) {
                Some(reason) => format!("{paused} — {}", auto_pause_words(lang, &reason)),
                None => paused.into(),
            }
        }
        (Error, _) => status.fault.as_ref().map_or("Error".into(), |fault| {
            format!("Error: {}", fault_message(lang, fault))
        }),
        (ShuttingDown, _) => match status.quit_waits_for_tasks_secs {
            Some(secs) => lang.tr(
                format!("Shutting down · running tasks have up to {secs} s to finish"),
                format!("Cerrando · las tareas en curso tienen hasta {secs} s para terminar"),
            ),
            None => lang.tr("Shutting down", "Cerrando"),
        },
        (Draining, _) => lang.tr(
            format!("Finishing the running tasks, then pausing{awake}"),
            format!("Terminando las tareas en curso; luego, pausa{awake}"),
        ),
    }
}

pub(super) fn head_words(lang: Lang, status: &Status) -> String {
    let head = status.head.as_ref().map(|head| head.to_string());
    head.unwrap_or_else(|| lang.tr("no head", "sin head"))
}

pub(super) fn why_words(lang: Lang, status: &Status) -> String {
    let why = status.unreachable.as_ref();
    why.map_or(lang.tr("no answer", "sin respuesta"), |why| {
        unreachable_words(lang, why)
    })
}

pub(super) fn while_unreachable(lang: Lang, status: &Status) -> &'static str {
    if status.unreachable == Some(Unreachable::PracticeHeadGone) {
        return lang.tr("no worker until then", "sin worker hasta entonces");
    }
    match status.phase {
        Phase::Disconnecting => lang.tr(
            "keeping the worker for a moment",
            "se mantiene el worker un momento",
        ),
        _ => lang.tr("retrying", "reintentando"),
    }
}

pub(super) fn ray_at(lang: Lang, path: &str, version: Option<&str>) -> String {
    let unknown = lang.tr("version unknown", "versión desconocida");
    format!("{path} ({})", version.unwrap_or(unknown))
}

/// The courtesy settings and what they do now, one line each.
pub fn courtesy_lines(lang: Lang, status: &Status) -> Vec<String> {
    let c = &status.courtesy;
    let never: &str = lang.tr("never", "nunca");
    let keep: &str = match c.keep_awake {
        KeepAwake::OnPower => lang.tr("on power", "con corriente"),
        KeepAwake::Always => lang.tr("always", "siempre"),
        KeepAwake::Never => never,
    };
    let holding: &str = match c.keeping_awake {
        true => lang.tr(
            "holding idle sleep off now",
            "impide ahora el reposo por inactividad",
        ),
        false => lang.tr("not holding now", "no lo impide ahora"),
    };
    let limit = c.pause_at_thermal.threshold();
    let pause = limit.map_or(never, |state| thermal_words(lang, state));
    let thermal = c.thermal.map(|t| thermal_words(lang, t));
    let thermal = thermal.unwrap_or(lang.tr("not reported here", "no se indica aquí"));
    let idle = match c.only_when_idle_minutes {
        None => lang.tr("only when idle off", "solo en reposo desactivado"),
        Some(m) => {
            let how: &str = if c.idle_unsupported {
                lang.tr(
                    ": not supported here (this session reports no idle time), contributing \
                     regardless",
                    ": no disponible aquí (esta sesión no indica el tiempo de reposo), contribuye \
                     igualmente",
                )
            } else if c.idle_hint_never_set {
                lang.tr(
                    ": the desktop has not reported idleness yet, counted as in use",
                    ": el escritorio aún no ha indicado reposo, se cuenta como en uso",
                )
            } else {
                lang.tr(" without input", " sin teclado ni ratón")
            };
            lang.tr(
                format!("only when idle after {m} min{how}"),
                format!("solo en reposo tras {m} min{how}"),
            )
        }
    };
    vec![
        lang.tr(
            format!("keep awake {keep} ({holding})"),
            format!("mantener despierto: {keep} ({holding})"),
        ),
        lang.tr(
            format!("pause at thermal {pause} (now {thermal})"),
            format!("pausa por temperatura: {pause} (ahora {thermal})"),
        ),
        idle,
    ]
}

/// A line of `status` after the summary.
#[derive(Debug, Clone, Copy)]
pub enum StatusLine<'a> {
    WorkerPid(u32),
    NodeIp(&'a str),
    Ray {
        path: &'a str,
        version: Option<&'a str>,
    },
    PythonSkew(&'a PythonSkew),
    Mode {
        mobile: bool,
    },
    Update(&'a UpdateAvailable),
    Log(&'a str),
}

/// Ray's acceptance of this machine's Python against the head's, in the log and in `status`.
pub fn python_skew(lang: Lang, skew: &PythonSkew) -> String {
    let (this, head) = (&skew.this_machine, &skew.head);
    lang.tr(
        format!(
            "Python {this} differs from the head's {head} in the patch release only: Ray accepts \
             this node"
        ),
        format!(
            "Python {this} difiere del {head} del head solo en la versión de parche: Ray acepta \
             este nodo"
        ),
    )
}

pub fn status_line(lang: Lang, line: StatusLine<'_>) -> String {
    use StatusLine::*;
    match line {
        WorkerPid(pid) => lang.tr(format!("worker pid {pid}"), format!("pid del worker {pid}")),
        NodeIp(ip) => lang.tr(format!("node ip {ip}"), format!("ip del nodo {ip}")),
        Ray { path, version } => format!("ray {}", ray_at(lang, path, version)),
        PythonSkew(skew) => python_skew(lang, skew),
        Mode { mobile: true } => lang.tr(
            "mode mobile (laptop: battery policy on)",
            "modo móvil (portátil: política de batería activa)",
        ),
        Mode { mobile: false } => lang.tr("mode desktop", "modo escritorio"),
        Update(update) => {
            let (version, how) = match update.homebrew {
                true => (&update.version, super::BREW_UPGRADE),
                false => (&update.version, update.page.as_str()),
            };
            lang.tr(
                format!("update {version} is out: {how}"),
                format!("actualización {version} disponible: {how}"),
            )
        }
        Log(path) => lang.tr(format!("log {path}"), format!("registro {path}")),
    }
}

pub fn reply_note(lang: Lang, note: &ReplyNote) -> String {
    match note {
        ReplyNote::Stopped => lang.tr("Stopped.", "Detenido."),
        ReplyNote::NotSaved { key, why } => lang.tr(
            format!(
                "Done, but `{key}` could not be saved ({why}): it holds until BitTrader Worker \
                 quits. Free some disk space or fix the folder's permissions."
            ),
            format!(
                "Hecho, pero no se pudo guardar `{key}` ({why}): vale hasta que BitTrader Worker \
                 se cierre. Libera espacio en el disco o corrige los permisos de la carpeta."
            ),
        ),
    }
}

pub fn find_heads_report(lang: Lang, finds: &TailnetFinds) -> Vec<String> {
    let cut = finds
        .was_cut()
        .then(|| format!("({})", machines_asked(lang, finds)));
    if finds.heads.is_empty() {
        let none = lang.tr(
            "No machine of your tailnet answers on Ray's port.",
            "Ninguna máquina de tu tailnet responde en el puerto de Ray.",
        );
        return [Some(none), cut].into_iter().flatten().collect();
    }
    let heads = finds.heads.iter();
    let heads = heads.map(|head| format!("{}\t{}", head.address, super::printable(&head.name)));
    let then = lang.tr(
        "Join one with `bittrader-worker head ADDRESS`.",
        "Únete a uno con `bittrader-worker head DIRECCIÓN`.",
    );
    heads.chain(cut).chain([then]).collect()
}

/// The search was cut at its limit.
pub fn machines_asked(lang: Lang, finds: &TailnetFinds) -> String {
    let (asked, machines) = (finds.asked, finds.machines);
    lang.tr(
        format!("{asked} of {machines} machines asked"),
        format!("{asked} de {machines} máquinas consultadas"),
    )
}

pub fn search_failed_words(lang: Lang, problem: &TailscaleProblem) -> String {
    use TailscaleProblem::*;
    match problem {
        NotInstalled => lang.tr(
            "Tailscale is not installed here",
            "Tailscale no está instalado aquí",
        ),
        Stopped => lang.tr("Tailscale is stopped", "Tailscale está detenido"),
        NeedsLogin => lang.tr(
            "Tailscale needs you to log in",
            "Tailscale necesita que inicies sesión",
        ),
        _ => lang.tr("Tailscale does not answer", "Tailscale no responde"),
    }
}

pub fn history_unreadable(lang: Lang, why: &str) -> String {
    lang.tr(
        format!(
            "{why}. BitTrader Worker sets it aside (history.json.corrupt-DATE) at its next start \
             and begins a new one."
        ),
        format!(
            "{why}. BitTrader Worker lo aparta (history.json.corrupt-FECHA) al volver a abrirse \
             y empieza uno nuevo."
        ),
    )
}

/// `head ADDRESS` with no running instance.
pub fn head_saved(lang: Lang, address: &str) -> String {
    lang.tr(
        format!("Saved head {address}; it is used at the next start."),
        format!("Head {address} guardado; se usa en el próximo inicio."),
    )
}

pub fn login_item_set(lang: Lang, on: bool) -> &'static str {
    match on {
        true => lang.tr(
            "BitTrader Worker now starts at login.",
            "BitTrader Worker se abre ahora al iniciar sesión.",
        ),
        false => lang.tr(
            "BitTrader Worker no longer starts at login.",
            "BitTrader Worker ya no se abre al iniciar sesión.",
        ),
    }
}

pub fn login_item_status(lang: Lang, status: &LoginStatus) -> String {
    use LoginStatus::*;
    match status {
        Disabled => lang.tr("off", "desactivado"),
        Enabled {
            program,
            is_this_program,
        } => {
            let on = lang.tr(format!("on: {program}"), format!("activado: {program}"));
            match is_this_program {
                true => on,
                false => lang.tr(
                    format!("{on}\n(not this copy of the app: `login-item on` points it here)"),
                    format!("{on}\n(no es esta copia de la app: `login-item on` la apunta aquí)"),
                ),
            }
        }
        Legacy { program } => lang.tr(
            format!(
                "the old install's LaunchAgent runs {program}; `login-item on --replace-legacy` \
                 replaces it (a backup is kept)"
            ),
            format!(
                "el LaunchAgent de la instalación antigua ejecuta {program}; `login-item on \
                 --replace-legacy` lo reemplaza (se guarda una copia)"
            ),
        ),
        Unrecognized { detail } => lang.tr(
            format!("something else is installed: {detail}"),
            format!("hay otra cosa instalada: {detail}"),
        ),
    }
}

/// What `setup` tells a person as it goes.
#[derive(Debug, Clone, Copy)]
pub enum SetupStep<'a> {
    /// No head to ask: the newest Ray.
    NoHead,
    /// The head `host` runs Ray `version`.
    HeadRuns { host: &'a str, version: &'a str },
    /// The head's answer (`shown`, escaped) is not a version.
    HeadSaidNoVersion { host: &'a str, shown: &'a str },
    /// The head could not be asked (`shown`: why, escaped).
    HeadNotAsked { shown: &'a str },
    /// The head's Python (3.`minor`), preferred here.
    HeadPython { minor: u32 },
    /// Creating the venv with a Python found here (`path`), or uv's (`path`: `None`).
    CreatingVenv {
        venv: &'a str,
        python: &'a str,
        path: Option<&'a str>,
    },
    /// pip installs `spec`.
    Installing { spec: &'a str },
    /// The installed `ray` at `path` answers with `version`.
    Ready { version: &'a str, path: &'a str },
    /// The app runs: its worker may be using the Ray this would replace.
    AppRunning,
}

pub fn setup_line(lang: Lang, step: SetupStep<'_>) -> String {
    use SetupStep::*;
    let newest: &str = lang.tr(
        "installing the newest Ray. If the head runs another version, run `bittrader-worker \
         setup --ray-version X`.",
        "se instala la versión más reciente de Ray. Si el head usa otra, ejecuta \
         `bittrader-worker setup --ray-version X`.",
    );
    match step {
        NoHead => lang.tr(
            "No head is configured: installing the newest Ray.",
            "No hay ningún head configurado: se instala la versión más reciente de Ray.",
        ),
        HeadRuns { host, version } => lang.tr(
            format!("The head {host} runs Ray {version}: installing the same."),
            format!("El head {host} usa Ray {version}: se instala la misma."),
        ),
        HeadSaidNoVersion { host, shown } => lang.tr(
            format!(
                "The head {host} gave `{shown}` as its Ray version, which is not a version: \
                 {newest}"
            ),
            format!(
                "El head {host} dio `{shown}` como su versión de Ray, que no es una versión: \
                 {newest}"
            ),
        ),
        HeadNotAsked { shown } => lang.tr(
            format!("Could not ask the head for its Ray version ({shown}); {newest}"),
            format!("No se pudo preguntar al head por su versión de Ray ({shown}); {newest}"),
        ),
        HeadPython { minor } => lang.tr(
            format!("The head runs Python 3.{minor}: preferring the same."),
            format!("El head usa Python 3.{minor}: se prefiere la misma."),
        ),
        CreatingVenv { venv, python, path } => match path {
            Some(path) => lang.tr(
                format!("Creating {venv} with Python {python} ({path}) …"),
                format!("Creando {venv} con Python {python} ({path}) …"),
            ),
            None => lang.tr(
                format!("Creating {venv} with uv's Python {python} …"),
                format!("Creando {venv} con el Python {python} de uv …"),
            ),
        },
        Installing { spec } => lang.tr(
            format!("Installing {spec} (this takes a minute) …"),
            format!("Instalando {spec} (tarda un minuto) …"),
        ),
        Ready { version, path } => lang.tr(
            format!("Ray {version} is ready at {path}."),
            format!("Ray {version} está listo en {path}."),
        ),
        AppRunning => lang.tr(
            "BitTrader Worker is running, and its worker may be using the Ray this would replace: \
             quit it first (`bittrader-worker quit`), then run setup again.",
            "BitTrader Worker está en marcha y su worker puede estar usando el Ray que esto \
             reemplazaría: ciérralo antes (`bittrader-worker quit`) y vuelve a ejecutar setup.",
        ),
    }
}

pub fn no_build_message(lang: Lang, why: &NoBuild) -> String {
    let (NoBuild::IntelMac { ray } | NoBuild::OldMacOs { ray, .. } | NoBuild::Platform { ray }) =
        why;
    let newest = lang.tr("The newest Ray", "La versión más reciente de Ray");
    let ray = ray.as_ref().map_or(newest, |v| format!("Ray {v}"));
    match why {
        NoBuild::IntelMac { .. } => lang.tr(
            format!(
                "{ray} has no build for Intel Macs (the last one with Intel-Mac builds is \
                 2.49.2). Run Ray 2.49.2 or older on the whole cluster, head included, or \
                 contribute from another machine."
            ),
            format!(
                "{ray} no tiene versión para Mac con procesador Intel (la última que la tiene es \
                 la 2.49.2). Usa Ray 2.49.2 o anterior en todo el clúster, head incluido, o \
                 contribuye desde otro equipo."
            ),
        ),
        NoBuild::OldMacOs { macos, .. } => lang.tr(
            format!(
                "{ray} needs macOS 12 or newer on this Mac, which has macOS {macos}. Update \
                 macOS, or run Ray 2.49.2 or older on the whole cluster."
            ),
            format!(
                "{ray} necesita macOS 12 o posterior y este Mac tiene macOS {macos}. Actualiza \
                 macOS o usa Ray 2.49.2 o anterior en todo el clúster."
            ),
        ),
        NoBuild::Platform { .. } => lang.tr(
            format!(
                "{ray} has no build for this system: it needs macOS on Apple silicon or Linux on \
                 x86_64 or ARM64. Contribute from another machine."
            ),
            format!(
                "{ray} no tiene versión para este sistema: necesita macOS en Apple silicon o \
                 Linux en x86_64 o ARM64. Contribuye desde otro equipo."
            ),
        ),
    }
}

/// What `demo` prints as it goes.
#[derive(Debug, Clone, Copy)]
pub enum DemoStep<'a> {
    /// The local head starts, its logs in `folder`.
    Starting { folder: &'a str },
    /// `folder`: for `status` from another terminal.
    Joining { address: &'a str, folder: &'a str },
    /// Ctrl-C: the worker and the head stop.
    Stopping,
}

pub fn demo_line(lang: Lang, step: DemoStep<'_>) -> String {
    use DemoStep::*;
    match step {
        Starting { folder } => lang.tr(
            format!("Starting a local Ray head (logs in {folder}) …"),
            format!("Arrancando un head de Ray local (registros en {folder}) …"),
        ),
        Joining { address, folder } => lang.tr(
            format!(
                "Head up at {address}. Joining it as a worker …\nIn another terminal: \
                 BITTRADER_WORKER_HOME={folder} bittrader-worker status | pause | resume | cpus \
                 1\nPress Ctrl-C to stop the worker and the head."
            ),
            format!(
                "Head en marcha en {address}. Uniéndose a él como worker …\nEn otra terminal: \
                 BITTRADER_WORKER_HOME={folder} bittrader-worker status | pause | resume | cpus \
                 1\nPulsa Ctrl-C para detener el worker y el head."
            ),
        ),
        Stopping => lang.tr(
            "Stopping the demo head …",
            "Deteniendo el head de demostración …",
        ),
    }
}

/// One step `uninstall` did.
pub fn uninstalled(lang: Lang, removed: &crate::model::Removed) -> String {
    use crate::model::Removed::*;
    match removed {
        StoppedTheApp => lang.tr("Quit the running app", "Se cerró la app en marcha"),
        LoginItem => lang.tr(
            "Start at login turned off",
            "«Abrir al iniciar sesión» desactivado",
        ),
        LegacyLoginItem => lang.tr(
            "The old install's LaunchAgent removed (its backup is kept beside it)",
            "Se quitó el LaunchAgent de la instalación antigua (su copia queda al lado)",
        ),
        Folder(path) => lang.tr(
            format!("Removed {}", path.display()),
            format!("Eliminado {}", path.display()),
        ),
        FilesIn(path, true) => lang.tr(
            format!(
                "Removed the app's files, and the folder they left empty, {}",
                path.display()
            ),
            format!(
                "Eliminados los archivos de la app y la carpeta que quedó vacía, {}",
                path.display()
            ),
        ),
        FilesIn(path, false) => lang.tr(
            format!(
                "Removed the app's files from {}; the folder is left with the rest it holds",
                path.display()
            ),
            format!(
                "Eliminados los archivos de la app de {}; la carpeta queda con el resto de lo que \
                 contiene",
                path.display()
            ),
        ),
        Link(path) => lang.tr(
            format!("Removed the link {}", path.display()),
            format!("Eliminado el enlace {}", path.display()),
        ),
    }
}

/// `uninstall`'s last line: what is left, and the app itself.
pub fn uninstall_finished(lang: Lang, kept: Option<&std::path::Path>) -> String {
    let kept = kept.map_or(String::new(), |home| {
        lang.tr(
            format!("Your settings and history are kept in {}. ", home.display()),
            format!(
                "Tu configuración e historial se conservan en {}. ",
                home.display()
            ),
        )
    });
    lang.tr(
        format!(
            "{kept}To finish, drag BitTrader Worker from Applications to the Trash (or run `brew \
             uninstall --cask bittrader-worker`)."
        ),
        format!(
            "{kept}Para terminar, arrastra BitTrader Worker de Aplicaciones a la Papelera (o \
             ejecuta `brew uninstall --cask bittrader-worker`)."
        ),
    )
}

/// `path` as one word for a POSIX shell (an app's path has spaces in it).
fn shell_word(path: &std::path::Path) -> String {
    let path = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:,@%".contains(c);
    match path.chars().all(plain) {
        true => path,
        false => format!("'{}'", path.replace('\'', r"'\''")),
    }
}

/// What `install-cli` (and the menu's item) made: where the link is, and how to put its folder
/// on PATH when it is not there.
pub fn cli_linked(lang: Lang, linked: &crate::model::CliLinked) -> String {
    let (link, target) = (linked.link.display(), linked.target.display());
    let mut said: String = match &linked.replaced {
        Some(old) => lang.tr(
            format!(
                "Linked {link} to {target}, replacing the link to {}.",
                old.display()
            ),
            format!(
                "Enlazado {link} con {target}, en lugar del enlace a {}.",
                old.display()
            ),
        ),
        None => lang.tr(
            format!("Linked {link} to {target}."),
            format!("Enlazado {link} con {target}."),
        ),
    };
    if !linked.on_path {
        let dir = linked.link.parent().unwrap_or(&linked.link).display();
        let export = format!("export PATH=\"{dir}:$PATH\"");
        let advice: String = lang.tr(
            format!(
                "{dir} is not on your PATH: add the line {export} to your shell's startup file \
                 (~/.zshrc or ~/.bashrc), then open a new terminal."
            ),
            format!(
                "{dir} no está en tu PATH: añade la línea {export} al archivo de inicio de tu \
                 shell (~/.zshrc o ~/.bashrc) y abre una terminal nueva."
            ),
        );
        said = format!("{said}\n{advice}");
    }
    said
}

/// Why `install-cli` (and the menu's item) made no link, and what to do.
pub fn cli_link_refused(lang: Lang, refused: &crate::model::CliLinkRefused) -> String {
    use crate::model::CliLinkRefused::*;
    match refused {
        NotALink { link } => {
            let link = link.display();
            lang.tr(
                format!(
                    "{link} already exists and is not a link to BitTrader Worker: it is left as \
                     it is. Move it away, or choose another folder with `bittrader-worker \
                     install-cli --dir FOLDER`."
                ),
                format!(
                    "{link} ya existe y no es un enlace a BitTrader Worker: se deja como está. \
                     Muévelo a otro sitio, o elige otra carpeta con `bittrader-worker install-cli \
                     --dir CARPETA`."
                ),
            )
        }
        OtherLink { link, target } => {
            let (shown, target, rm) = (link.display(), target.display(), shell_word(link));
            lang.tr(
                format!(
                    "{shown} already exists and points to {target}, not to BitTrader Worker: it \
                     is left as it is. If you no longer need it, remove it (`rm {rm}`) and \
                     install again, or choose another folder with `--dir FOLDER`."
                ),
                format!(
                    "{shown} ya existe y apunta a {target}, no a BitTrader Worker: se deja como \
                     está. Si ya no lo necesitas, bórralo (`rm {rm}`) y vuelve a instalar, o \
                     elige otra carpeta con `--dir CARPETA`."
                ),
            )
        }
        NoPermission { dir, link, target } => {
            let (dir, link, target) = (dir.display(), shell_word(link), shell_word(target));
            lang.tr(
                format!(
                    "You do not have permission to write in {dir}. Choose a folder of yours \
                     with `bittrader-worker install-cli --dir FOLDER`, or make the link as an \
                     administrator: `sudo ln -s {target} {link}`."
                ),
                format!(
                    "No tienes permiso para escribir en {dir}. Elige una carpeta tuya con \
                     `bittrader-worker install-cli --dir CARPETA`, o crea el enlace como \
                     administrador: `sudo ln -s {target} {link}`."
                ),
            )
        }
        AdminCancelled => lang.tr(
            "No link was made: the administrator's password was not given.",
            "No se creó el enlace: no se dio la contraseña de administrador.",
        ),
        NoHome => lang.tr(
            "HOME is not set, so there is no ~/.local/bin: name a folder with `--dir FOLDER`.",
            "HOME no está definida, así que no hay ~/.local/bin: indica una carpeta con `--dir \
             CARPETA`.",
        ),
        ThisProgramUnknown { why } => lang.tr(
            format!("Could not find this program's own path: {why}"),
            format!("No se encontró la ruta de este programa: {why}"),
        ),
        Failed { path, why } => {
            let path = path.display();
            lang.tr(
                format!("Could not make the link {path}: {why}"),
                format!("No se pudo crear el enlace {path}: {why}"),
            )
        }
    }
}

/// Why start at login could not be changed, in the user's language (the error's own text is
/// the log's, in English).
pub fn login_item_error(lang: Lang, error: &crate::platform::LoginItemError) -> String {
    use crate::platform::LoginItemError::*;
    match error {
        UnusableProgramPath { path, why } => {
            let why_es = match *why {
                "is not valid UTF-8" => "no es UTF-8 válido",
                "is relative" => "es relativa",
                "contains control characters" => "contiene caracteres de control",
                other => other,
            };
            lang.tr(
                error.to_string(),
                format!(
                    "la ruta del programa {path:?} {why_es}; mueve la app a una carpeta de nombre \
                     sencillo (como /Applications) y vuelve a intentarlo"
                ),
            )
        }
        Translocated { path } => lang.tr(
            error.to_string(),
            format!(
                "la app se ejecuta desde una copia temporal hecha por macOS ({}); mueve \
                 BitTrader Worker a la carpeta Aplicaciones, ábrela desde ahí y vuelve a activar \
                 «Abrir al iniciar sesión»",
                path.display()
            ),
        ),
        LegacyPresent {
            path,
            program,
            backup,
        } => lang.tr(
            error.to_string(),
            format!(
                "el BitTrader worker antiguo ({program}) se abre al iniciar sesión desde {}; \
                 confirma que quieres reemplazarlo (se guarda como {})",
                path.display(),
                backup.display()
            ),
        ),
        NotOurs { path, detail } => lang.tr(
            error.to_string(),
            format!(
                "{} no es nuestro ({detail}); se dejó como estaba",
                path.display()
            ),
        ),
        Io {
            action,
            path,
            source,
        } => {
            let action_es = match *action {
                "create" => "crear",
                "read" => "leer",
                "remove" => "quitar",
                "write" => "escribir",
                other => other,
            };
            lang.tr(
                error.to_string(),
                format!("no se pudo {action_es} {}: {source}", path.display()),
            )
        }
        Plist(e) => lang.tr(
            error.to_string(),
            format!("no se pudo escribir el LaunchAgent: {e}"),
        ),
        Launchctl { action, detail } => lang.tr(
            error.to_string(),
            format!("launchctl {action} falló: {detail}"),
        ),
        NoHome => lang.tr(
            error.to_string(),
            "no se encuentra tu carpeta personal: HOME no está definida".to_string(),
        ),
    }
}

/// `uninstall` stopped: the running app did not quit (`detail`: what the socket said).
pub fn app_did_not_quit(lang: Lang, detail: &str) -> String {
    lang.tr(
        format!("the running app did not quit ({detail}); quit it from its menu, then try again"),
        format!(
            "la app en marcha no se cerró ({detail}); ciérrala desde su menú y vuelve a intentarlo"
        ),
    )
}

/// `uninstall` stopped: `path` could not be removed.
pub fn could_not_remove(lang: Lang, path: &std::path::Path, why: &str) -> String {
    lang.tr(
        format!("could not remove {}: {why}", path.display()),
        format!("no se pudo eliminar {}: {why}", path.display()),
    )
}
