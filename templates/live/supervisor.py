"""mlkube's restart supervisor for Python servers (dev images only; stdlib only, Python 3.9+).

Runs as PID 1 of a dev container and wraps the image's original command:

    python3 supervisor.py [--restart=auto|process|none] -- ORIGINAL COMMAND...

  SIGHUP            restart the server: a child forked from a warm parent (auto) or a re-exec of
                    the command (process, or when the warm fork cannot be used). With restart=none
                    SIGHUP is forwarded to the server, which reloads itself.
  SIGTERM, SIGINT   forwarded to the server's process group; the supervisor exits with the
                    server's status as soon as it ends (a plain Python PID 1 ignores SIGTERM).
  USR1 USR2 QUIT WINCH TTIN TTOU   forwarded to the server's process group.

The warm parent: the first server child records which modules it imported from outside the
project (the script's folder and the working directory, minus installed site-packages) in
modules.json; the parent imports exactly those (numpy, sklearn, flask...) while it idles, so a
restart forks a child that only imports the project and loads the model. Project modules are
never imported by the parent, so a fork always runs the code as it is on disk now.

State for mlkube: $MLKUBE_LIVE_DIR/state.json (default /tmp/mlkube-live), one line per restart on
stderr.
"""
import json
import os
import shlex
import signal
import site
import sys
import sysconfig
import threading
import time
import traceback
import warnings

LOG_PREFIX = "mlkube-supervisor:"
STATE_DIR = os.environ.get("MLKUBE_LIVE_DIR", "/tmp/mlkube-live")
# A child that dies sooner than this after starting "died at once".
IMMEDIATE_DEATH_S = 1.0
# A server that ignores SIGTERM this long on a restart is killed.
STOP_GRACE_S = 5.0
# Warm imports wait until the child's import list has not changed for this long, so the parent
# does not compete with the child's own start for the CPU.
SETTLE_S = 1.0
FORWARDED = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGQUIT, signal.SIGWINCH, signal.SIGTTIN, signal.SIGTTOU)
HANDLED = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, *FORWARDED}
# Python options a forked child can honour itself; any other option means re-exec.
SUPPORTED_PYTHON_FLAGS = {"-u", "-B"}
SHELL_SYNTAX = set("$`|&;<>()*?[]{}~\\\n")


def log(message):
    sys.stderr.write("%s %s\n" % (LOG_PREFIX, message))
    sys.stderr.flush()


class Launch:
    """How to start the server: by running Python code in a forked child, or by exec'ing argv."""

    def __init__(self, argv):
        self.argv = argv
        self.name = os.path.basename(argv[0])
        self.script = None  # run with runpy.run_path
        self.module = None  # run with runpy.run_module
        self.args = []
        self.unbuffered = False
        self.sys_path0 = os.getcwd()
        self.no_fork_reason = None
        self._parse()

    def _parse(self):
        argv = self.argv
        if len(argv) >= 3 and os.path.basename(argv[0]) in ("sh", "bash", "dash") and argv[1] == "-c":
            # Shell form (`CMD python3 app.py` is `/bin/sh -c "python3 app.py"`): a plain word list
            # means the same as its exec form; anything with shell syntax is run by the shell.
            if SHELL_SYNTAX & set(argv[2]) or len(argv) > 3:
                return self._no_fork("a shell-form command with shell syntax")
            words = shlex.split(argv[2])
            if words and words[0] == "exec":
                words = words[1:]
            if not words or "=" in words[0]:
                return self._no_fork("a shell-form command with shell syntax")
            argv = words
            self.name = os.path.basename(argv[0])
        program = os.path.basename(argv[0])
        if is_python_name(program):
            return self._parse_python(argv[1:])
        script = which(argv[0])
        if script and python_shebang(script):
            # A console script (gunicorn, uvicorn, flask...) is a Python file: run it as one.
            self.script = script
            self.args = argv[1:]
            self.sys_path0 = os.path.dirname(os.path.abspath(script))
            return None
        return self._no_fork("%s is not a Python command" % program)

    def _parse_python(self, rest):
        index = 0
        while index < len(rest) and rest[index].startswith("-") and rest[index] != "-":
            flag = rest[index]
            if flag == "-m" and index + 1 < len(rest):
                self.module = rest[index + 1]
                self.name = "-m " + self.module
                self.args = rest[index + 2:]
                return None
            if flag not in SUPPORTED_PYTHON_FLAGS:
                return self._no_fork("the python option %s" % flag)
            self.unbuffered = self.unbuffered or flag == "-u"
            index += 1
        if index >= len(rest) or rest[index] == "-":
            return self._no_fork("python without a script")
        self.script = rest[index]
        self.name = os.path.basename(self.script)
        self.args = rest[index + 1:]
        self.sys_path0 = os.path.dirname(os.path.abspath(self.script))
        return None

    def _no_fork(self, reason):
        self.script = self.module = None
        self.no_fork_reason = reason

    @property
    def project_dirs(self):
        # The working directory, and the script's folder (for a console script that is a bin
        # folder, which holds no modules: harmless).
        dirs = {os.getcwd()}
        if self.script:
            dirs.add(os.path.dirname(os.path.abspath(self.script)))
        return sorted(dirs)


def is_python_name(program):
    return program == "python" or (program.startswith("python") and program[6:].replace(".", "").isdigit())


def which(program):
    if "/" in program:
        return program if os.path.isfile(program) else None
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = os.path.join(folder, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def python_shebang(path):
    try:
        with open(path, "rb") as handle:
            first = handle.readline(256)
    except OSError:
        return False
    return first.startswith(b"#!") and b"python" in first


class ModuleFilter:
    """Tells library modules (safe to import in the parent) from the project's own modules."""

    def __init__(self, project_dirs):
        self.project_dirs = [os.path.realpath(folder) for folder in project_dirs]
        paths = sysconfig.get_paths()
        roots = [paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")]
        roots += site.getsitepackages() if hasattr(site, "getsitepackages") else []
        roots += [entry for entry in sys.path if entry.endswith(("site-packages", "dist-packages", "lib-dynload"))]
        self.library_roots = sorted({os.path.realpath(root) for root in roots if root})

    def is_library(self, module):
        files = []
        if getattr(module, "__file__", None):
            files.append(module.__file__)
        elif getattr(module, "__path__", None) is not None:
            files.extend(list(module.__path__))
        else:
            return True  # built into the interpreter
        return all(self._library_file(os.path.realpath(path)) for path in files)

    def _library_file(self, path):
        # A virtualenv inside the project folder (/app/.venv) still holds libraries.
        if any(inside(path, root) for root in self.library_roots):
            return True
        return not any(inside(path, folder) for folder in self.project_dirs)


def inside(path, folder):
    return folder == "/" or path == folder or path.startswith(folder.rstrip("/") + "/")


def library_modules(module_filter):
    for _ in range(5):
        try:
            items = list(sys.modules.items())
            break
        except RuntimeError:  # another thread imported while we copied
            continue
    else:
        return []
    names = []
    for name, module in items:
        if module is None or name in ("__main__", "__mp_main__") or name.startswith("mlkube_"):
            continue
        if module_filter.is_library(module):
            names.append(name)
    return sorted(names)


def write_json(path, value):
    temporary = "%s.%d.tmp" % (path, os.getpid())
    with open(temporary, "w") as handle:
        json.dump(value, handle)
    os.replace(temporary, path)


def record_imports(module_filter, path):
    """In a forked child: keeps modules.json up to date while the server starts (a daemon thread)."""
    def watch():
        seen = 0
        started = time.monotonic()
        while True:
            count = len(sys.modules)
            if count != seen:
                seen = count
                try:
                    write_json(path, library_modules(module_filter))
                except OSError:
                    return
            time.sleep(0.2 if time.monotonic() - started < 30 else 2.0)

    threading.Thread(target=watch, name="mlkube-imports", daemon=True).start()


class Supervisor:
    def __init__(self, launch, policy):
        self.launch = launch
        self.policy = policy
        self.module_filter = ModuleFilter(launch.project_dirs)
        self.modules_file = os.path.join(STATE_DIR, "modules.json")
        self.child = None
        self.child_method = None
        self.child_started = 0.0
        self.child_stopping = False
        self.generation = 0
        self.restarts = 0
        self.last_exit = None
        self.last_restart = None
        self.native_deaths = 0
        self.warm = set()
        self.attempted = set()
        self.modules_version = None
        self.modules_changed = 0.0
        self.exit_when_child_ends = False
        if policy == "process":
            self.mode, self.mode_reason = "re-exec", "restart: process"
        elif launch.no_fork_reason:
            self.mode, self.mode_reason = "re-exec", launch.no_fork_reason
        elif policy == "none":
            self.mode, self.mode_reason = "re-exec", "restart: none (the server reloads itself)"
        else:
            self.mode, self.mode_reason = "warm-fork", None

    # --- starting and stopping the server --------------------------------------------------

    def start(self, reason, began=None):
        began = time.monotonic() if began is None else began
        self.generation += 1
        method = self.mode
        if method == "warm-fork":
            self.warm_up(all_pending=True)
            pid = self.fork_child()
        else:
            pid = self.spawn_child()
            if pid is None and reason == "initial":
                leave(127)  # as a shell reports a command it cannot run
        self.child_method = method
        self.child_started = time.monotonic()
        self.child_stopping = False
        elapsed_ms = (self.child_started - began) * 1000
        how = "by warm fork" if method == "warm-fork" else "by re-exec (%s)" % self.mode_reason
        if reason == "initial":
            if method == "warm-fork":
                how = "in a forked child (the parent learns which libraries to keep warm from it)"
            else:
                how = "by exec (%s)" % self.mode_reason
            log("started %s %s, pid %s" % (self.launch.name, how, pid))
        else:
            self.restarts += 1
            self.last_restart = {"method": method, "reason": reason, "ms": round(elapsed_ms, 1), "at": time.time(), "generation": self.generation}
            log("restarted %s %s in %d ms" % (self.launch.name, how, round(elapsed_ms)))
        self.save_state()

    def fork_child(self):
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self.run_forked_child()  # never returns
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child set it first, or has already ended
        self.child = pid
        return pid

    def run_forked_child(self):
        status = 1
        try:
            os.setpgid(0, 0)
            for signum in HANDLED:
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            status = self.run_server()
            # Reaching here means Python stayed in control until the end, whatever the status:
            # the parent tells this apart from a crash in native code.
            write_outcome(os.getpid())
        finally:
            # Whatever happens, the child never returns into the supervisor's loop.
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(status)

    def run_server(self):
        """In the forked child: runs the server's code as `python` would, returns the exit status."""
        import atexit
        import importlib
        import runpy
        launch = self.launch
        sys.dont_write_bytecode = True  # a same-second, same-size edit must not meet a stale .pyc
        sys.path[0] = launch.sys_path0
        importlib.invalidate_caches()
        if launch.unbuffered:
            sys.stdout.reconfigure(write_through=True)
            sys.stderr.reconfigure(write_through=True)
        record_imports(self.module_filter, self.modules_file)
        status = 0
        try:
            if launch.module:
                sys.argv = [launch.module] + launch.args
                runpy.run_module(launch.module, run_name="__main__", alter_sys=True)
            else:
                sys.argv = [launch.script] + launch.args
                runpy.run_path(launch.script, run_name="__main__")
            for thread in threading.enumerate():
                if thread is not threading.current_thread() and not thread.daemon:
                    thread.join()  # as the interpreter does before it exits
        except SystemExit as stop:
            status = exit_status(stop.code)
        except KeyboardInterrupt:
            status = 128 + signal.SIGINT
        except BaseException:
            traceback.print_exc()
            status = 1
        run_exit_functions = getattr(atexit, "_run_exitfuncs", None)
        if run_exit_functions:
            run_exit_functions()
        return status

    def spawn_child(self):
        argv = self.launch.argv
        try:
            pid = os.posix_spawnp(
                argv[0], argv, dict(os.environ),
                setpgroup=0,
                setsigmask=[],
                # Python ignores SIGPIPE and SIGXFSZ; a program it starts must not inherit that.
                setsigdef=sorted(HANDLED | {signal.SIGPIPE, signal.SIGXFSZ}),
            )
        except OSError as error:
            log("cannot run %s: %s" % (shlex.join(argv), error.strerror))
            self.last_exit = {"pid": None, "generation": self.generation, "status": 127, "signal": None, "afterSeconds": 0.0, "requested": False}
            self.child = None
            return None
        self.child = pid
        return pid

    def stop_child(self):
        """Stops the server for a restart: SIGTERM to its group, SIGKILL after the grace period."""
        if self.child is None:
            return
        self.child_stopping = True
        signal_group(self.child, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while self.child is not None and time.monotonic() < deadline:
            if self.wait_for_signal(0.05) in (signal.SIGTERM, signal.SIGINT):
                self.exit_when_child_ends = True  # the container stops: no new server after this one
            self.reap()
        if self.child is not None:
            log("%s ignored SIGTERM for %d s; killing it" % (self.launch.name, STOP_GRACE_S))
            signal_group(self.child, signal.SIGKILL)
            while self.child is not None:
                self.wait_for_signal(0.05)
                self.reap()

    # --- the loop ----------------------------------------------------------------------------

    def run(self):
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
        try:
            os.makedirs(STATE_DIR, exist_ok=True)
        except OSError as error:
            log("cannot create %s (%s): no state file, no warm parent" % (STATE_DIR, error.strerror))
        self.start("initial")
        while True:
            signum = self.wait_for_signal(0.25)
            if signum == signal.SIGHUP:
                if self.policy == "none":
                    signal_group(self.child, signal.SIGHUP)
                else:
                    self.restart("SIGHUP")
            elif signum in (signal.SIGTERM, signal.SIGINT):
                self.exit_when_child_ends = True
                signal_group(self.child, signum)
            elif signum in FORWARDED:
                signal_group(self.child, signum)
            self.reap()
            if self.exit_when_child_ends and self.child is None:
                leave(self.last_exit["status"] if self.last_exit else 0)
            if signum is None and self.mode == "warm-fork":
                self.warm_up(all_pending=False)

    def wait_for_signal(self, timeout):
        info = signal.sigtimedwait(HANDLED, timeout)
        return info.si_signo if info else None

    def restart(self, reason):
        began = time.monotonic()
        self.stop_child()
        if self.exit_when_child_ends:
            return  # a SIGTERM arrived while the old server stopped: do not start a new one
        self.start(reason, began)

    def reap(self):
        """Reaps every ended process: the server, and orphans that were re-parented to PID 1."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.child_ended(pid, status)

    def child_ended(self, pid, status):
        lived = time.monotonic() - self.child_started
        requested = self.child_stopping
        self.child = None
        code = os.waitstatus_to_exitcode(status)
        killed_by = -code if code < 0 else None
        outcome = read_outcome(pid) if self.child_method == "warm-fork" else None
        self.last_exit = {
            "pid": pid,
            "generation": self.generation,
            "status": 128 + killed_by if killed_by else code,
            "signal": signal.Signals(killed_by).name if killed_by else None,
            "afterSeconds": round(lived, 3),
            "requested": requested,
        }
        self.save_state()
        if self.child_method == "warm-fork" and (lived >= IMMEDIATE_DEATH_S or outcome == "python"):
            self.native_deaths = 0
        if requested or self.exit_when_child_ends:
            return
        log("%s exited with status %s %.1f s after it started" % (self.launch.name, self.last_exit["status"], lived))
        if self.generation == 1 and self.restarts == 0:
            # Before any live restart the container behaves as without the supervisor: it ends
            # with the server, so the cluster sees (and reports) the crash.
            leave(self.last_exit["status"])
        if self.child_method == "warm-fork" and lived < IMMEDIATE_DEATH_S and outcome != "python":
            self.native_death()
        else:
            log("waiting for the next restart (kill -HUP 1)")

    def native_death(self):
        # Died at once without a Python exception: a crash in native code, the classic sign of a
        # library that is not fork-safe. A Python error in the server's code is its own fault.
        self.native_deaths += 1
        if self.native_deaths >= 2:
            self.mode = "re-exec"
            self.mode_reason = "warm-forked children died at once %d times in a row" % self.native_deaths
            log("falling back to re-exec: %s" % self.mode_reason)
        self.start("the server died at once")

    # --- the warm parent ---------------------------------------------------------------------

    def warm_up(self, all_pending):
        """Imports in the parent the library modules the server used, once the list has settled."""
        try:
            stat = os.stat(self.modules_file)
        except OSError:
            return
        if (stat.st_mtime_ns, stat.st_size) != self.modules_version:
            self.modules_version = (stat.st_mtime_ns, stat.st_size)
            self.modules_changed = time.monotonic()
        if not all_pending and time.monotonic() - self.modules_changed < SETTLE_S:
            return
        try:
            with open(self.modules_file) as handle:
                names = json.load(handle)
        except (OSError, ValueError):
            return
        pending = [name for name in names if name not in sys.modules and name not in self.attempted]
        if not pending:
            return
        began = time.monotonic()
        with warnings.catch_warnings():
            # The server shows its own import warnings (once, when it first starts); the parent's
            # copies of them would only repeat them.
            warnings.simplefilter("ignore")
            for name in pending:
                if not all_pending and signal.sigpending():
                    break  # a signal waits: answer it first, import the rest later
                self.attempted.add(name)
                try:
                    __import__(name)
                except BaseException:  # a module that only imports in the server's context stays cold
                    continue
                self.warm.add(name)
        self.save_state()
        log("warm parent holds %d library module(s) (%d ms of imports)" % (len(self.warm), (time.monotonic() - began) * 1000))

    def save_state(self):
        state = {
            "supervisor": "python",
            "policy": self.policy,
            "mode": self.mode,
            "modeReason": self.mode_reason,
            "command": self.launch.argv,
            "generation": self.generation,
            "restarts": self.restarts,
            "childPid": self.child,
            "running": self.child is not None,
            "childStartedAt": time.time() - (time.monotonic() - self.child_started) if self.child else None,
            "lastExit": self.last_exit,
            "lastRestart": self.last_restart,
            "warmModules": len(self.warm),
        }
        try:
            write_json(os.path.join(STATE_DIR, "state.json"), state)
        except OSError as error:
            log("cannot write state to %s: %s" % (STATE_DIR, error.strerror))


def leave(status):
    """Ends the supervisor now: finalizing an interpreter that holds numpy and friends takes a while."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def exit_status(code):
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    sys.stderr.write("%s\n" % code)
    return 1


def outcome_path(pid):
    return os.path.join(STATE_DIR, "outcome-%d" % pid)


def write_outcome(pid):
    try:
        with open(outcome_path(pid), "w") as handle:
            handle.write("python")
    except OSError:
        pass


def read_outcome(pid):
    """'python' when the forked child ended under Python's control; None after a native crash."""
    try:
        with open(outcome_path(pid)) as handle:
            outcome = handle.read()
        os.unlink(outcome_path(pid))
        return outcome
    except OSError:
        return None


def signal_group(pid, signum):
    if pid is None:
        return
    try:
        os.killpg(pid, signum)
    except OSError:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def parse_arguments(argv):
    policy = os.environ.get("MLKUBE_RESTART", "auto")
    while argv and argv[0] != "--":
        if argv[0].startswith("--restart="):
            policy = argv[0].split("=", 1)[1]
        else:
            raise SystemExit("%s unknown option %s (usage: supervisor.py [--restart=auto|process|none] -- COMMAND...)" % (LOG_PREFIX, argv[0]))
        argv = argv[1:]
    if policy not in ("auto", "process", "none"):
        raise SystemExit("%s restart policy %r is not one of auto, process, none (set by MLKUBE_RESTART or --restart=)" % (LOG_PREFIX, policy))
    command = argv[1:]
    if not command:
        raise SystemExit("%s no command to run: the image has neither ENTRYPOINT nor CMD" % LOG_PREFIX)
    return policy, command


def main():
    policy, command = parse_arguments(sys.argv[1:])
    Supervisor(Launch(command), policy).run()


if __name__ == "__main__":
    main()
