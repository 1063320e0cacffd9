"""The real Keycloak server for development and tests: fetch the distribution, build it once, run instances.

Layout under the cache dir (``${XDG_CACHE_HOME:-~/.cache}/kyosei``):

``keycloak-26.7.3.zip``
    the Maven Central distribution, checked against a pinned SHA-256 (and Maven's ``.sha1`` when downloaded).
``keycloak-26.7.3/``
    the zip extracted once, never written to afterwards.
``keycloak-26.7.3-image-<fingerprint>/``
    a pre-built ("augmented") server: small copies of ``bin/``, ``conf/`` and ``lib/quarkus/`` with a symlink
    to the extracted jars. Built once by ``kc.sh build`` under a file lock.

Why not ``kc.sh start-dev``: in 26.x ``start-dev`` re-runs the Quarkus augmentation on *every* start (about
20 s of CPU on two cores) and writes the result into the distribution's ``lib/quarkus/``, so two instances
sharing one extracted home race each other. Instead we build once with the options ``start-dev`` would need
(H2 database, health endpoints) and each instance runs ``kc.sh start --optimized`` with development settings
given explicitly (plain HTTP on 127.0.0.1, fixed hostname, local caches, in-memory or file H2).

Each instance gets its own small home directory (``bin/`` and ``conf/`` copied, ``lib`` a symlink to the
image), so ``data/`` (realm import, H2 files, transaction logs) is private to the instance and any number of
instances can run side by side on different ports.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

KEYCLOAK_VERSION = "26.7.3"
KEYCLOAK_SHA256 = "27a6535553c3cdcd083872ba40629efafb3475e3b758e0c6f691395561dd0f1f"
KEYCLOAK_URL = (
    "https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist/"
    f"{KEYCLOAK_VERSION}/keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"
)
MIN_JAVA = 21
REALM = "kochi"
REALM_FILE = Path(__file__).with_name("realm-kochi.json")
THEMES_DIR = Path(__file__).with_name("themes")
DEFAULT_ADMIN_PASSWORD = "admin-dev-password"  # master realm bootstrap admin, loopback only

# Build-time options baked into the image. Everything else is a runtime option passed by KeycloakServer.
BUILD_OPTIONS = ("--db=dev-file", "--health-enabled=true", "--metrics-enabled=false")
HEAP_OPTIONS = "-Xms64m -Xmx512m"

_EXTRACTED_MARKER = ".kyosei-extracted"
_BUILT_MARKER = ".kyosei-built"
_PID_FILE = "kyosei-keycloak.pid"


class KeycloakError(RuntimeError):
    """The Keycloak distribution could not be fetched or built, or a server did not start or stop."""


# -- distribution ----------------------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kyosei"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, target: Path) -> None:
    """Download ``url`` to ``target`` through a temporary file; check SHA-256 (pinned) and Maven's SHA-1."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url + ".sha1", timeout=60) as response:
            expected_sha1 = response.read().decode("ascii", "replace").split()[0].strip().lower()
    except (urllib.error.URLError, OSError, IndexError) as exc:
        raise KeycloakError(
            f"cannot download {url}.sha1: {exc}. Without access to Maven Central, place the zip at {target}."
        ) from None
    sha1, sha256 = hashlib.sha1(), hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                sha1.update(block)
                sha256.update(block)
        if sha1.hexdigest() != expected_sha1:
            raise KeycloakError(f"{url}: SHA-1 {sha1.hexdigest()} does not match Maven's {expected_sha1}")
        if sha256.hexdigest() != KEYCLOAK_SHA256:
            raise KeycloakError(f"{url}: SHA-256 {sha256.hexdigest()} is not the pinned {KEYCLOAK_SHA256}")
        tmp.chmod(0o644)
        os.replace(tmp, target)
        target.with_name(target.name + ".sha1").write_text(expected_sha1)
    except (urllib.error.URLError, OSError) as exc:
        raise KeycloakError(
            f"cannot download the Keycloak distribution from {url}: {exc}. "
            f"Without access to Maven Central, place the zip at {target}."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _extract(zip_path: Path, cache_dir: Path, home: Path) -> None:
    """Extract into a temporary directory, then rename into place (the loser of a race discards its copy)."""
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".keycloak-extract-"))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                extracted = Path(archive.extract(info, tmp))
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    extracted.chmod(mode)  # zipfile drops the Unix permissions; kc.sh must stay executable
        top = tmp / f"keycloak-{KEYCLOAK_VERSION}"
        if not (top / "bin" / "kc.sh").is_file():
            raise KeycloakError(f"{zip_path} does not hold keycloak-{KEYCLOAK_VERSION}/bin/kc.sh")
        (top / _EXTRACTED_MARKER).write_text(KEYCLOAK_SHA256 + "\n")
        try:
            os.rename(top, home)
        except OSError:
            if not (home / _EXTRACTED_MARKER).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def fetch_distribution(cache_dir: Path | None = None) -> Path:
    """The extracted Keycloak home (``<cache>/keycloak-26.7.3``), downloading and extracting it when needed."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    home = cache_dir / f"keycloak-{KEYCLOAK_VERSION}"
    if (home / _EXTRACTED_MARKER).exists():
        return home
    cache_dir.mkdir(parents=True, exist_ok=True)
    zip_path = cache_dir / f"keycloak-{KEYCLOAK_VERSION}.zip"
    if not zip_path.exists():
        _download(KEYCLOAK_URL, zip_path)
    actual = _sha256_of(zip_path)
    if actual != KEYCLOAK_SHA256:
        raise KeycloakError(
            f"{zip_path} has SHA-256 {actual}, expected {KEYCLOAK_SHA256}: delete it and run again to re-download"
        )
    if home.exists() and not (home / _EXTRACTED_MARKER).exists():
        shutil.rmtree(home)  # a copy from before the marker existed, or tampered with
    _extract(zip_path, cache_dir, home)
    return home


# -- Java ------------------------------------------------------------------------------------------------------
def _java_major(java_home: Path) -> int | None:
    try:
        text = (java_home / "release").read_text()
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', text, re.MULTILINE)
    if not match or not (java_home / "bin" / "java").exists():
        return None
    return int(match.group(1))


def find_java_home() -> Path:
    """A JDK for Keycloak: the newest Temurin under /usr/lib/jvm, else $JAVA_HOME, else any JDK >= 21 there."""
    candidates: list[tuple[int, int, Path]] = []  # (preference, major, path)
    for path in Path("/usr/lib/jvm").glob("temurin-*"):
        major = _java_major(path)
        if major:
            candidates.append((2, major, path))
    if os.environ.get("JAVA_HOME"):
        path = Path(os.environ["JAVA_HOME"])
        major = _java_major(path)
        if major:
            candidates.append((1, major, path))
    for path in Path("/usr/lib/jvm").glob("*"):
        major = _java_major(path)
        if major and not path.is_symlink():
            candidates.append((0, major, path))
    usable = sorted((c for c in candidates if c[1] >= MIN_JAVA), key=lambda c: (c[0], c[1]), reverse=True)
    if usable:
        return usable[0][2]
    found = ", ".join(f"{p} (Java {m})" for _, m, p in candidates) or "none"
    raise KeycloakError(
        f"Keycloak {KEYCLOAK_VERSION} needs Java {MIN_JAVA} or newer; JDKs found: {found}. "
        "Install Temurin 25 (/usr/lib/jvm/temurin-25-jdk-amd64) or openjdk-21-jdk-headless, or set JAVA_HOME."
    )


def _java_env(java_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KC_", "KEYCLOAK_", "JAVA_OPTS", "QUARKUS_"))}
    env["JAVA_HOME"] = str(java_home)
    env["JAVA_OPTS_KC_HEAP"] = HEAP_OPTIONS
    env["PATH"] = f"{java_home / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


# -- the built image -------------------------------------------------------------------------------------------
def _image_fingerprint() -> str:
    return hashlib.sha256("\n".join((KEYCLOAK_VERSION, *BUILD_OPTIONS)).encode()).hexdigest()[:12]


def _populate_image(home: Path, image: Path) -> None:
    for entry in home.iterdir():
        if entry.name in ("lib", "data", _EXTRACTED_MARKER):
            continue
        if entry.is_dir():
            shutil.copytree(entry, image / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, image / entry.name)
    lib = image / "lib"
    lib.mkdir()
    for entry in (home / "lib").iterdir():
        if entry.name == "lib":
            (lib / "lib").symlink_to(entry.resolve(), target_is_directory=True)  # 168 MB of jars, read-only
        elif entry.is_dir():
            shutil.copytree(entry, lib / entry.name)  # lib/quarkus is rewritten by the build
        else:
            shutil.copy2(entry, lib / entry.name)


def ensure_server_image(cache_dir: Path | None = None, java_home: Path | None = None) -> Path:
    """A Keycloak home built (``kc.sh build``) with BUILD_OPTIONS; built once, shared read-only by instances."""
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    home = fetch_distribution(cache_dir)
    image = cache_dir / f"keycloak-{KEYCLOAK_VERSION}-image-{_image_fingerprint()}"
    if (image / _BUILT_MARKER).exists():
        return image
    java_home = java_home or find_java_home()
    with open(cache_dir / f".keycloak-{KEYCLOAK_VERSION}-image.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build at a time; the others wait and then find it built
        if (image / _BUILT_MARKER).exists():
            return image
        # The build bakes the home's path into lib/quarkus, so build in place; the marker says "complete".
        shutil.rmtree(image, ignore_errors=True)
        image.mkdir()
        _populate_image(home, image)
        log = image / "build.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [str(image / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
                cwd=image, env=_java_env(java_home), stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=600,
            )
        if result.returncode != 0:
            raise KeycloakError(f"kc.sh build failed (exit {result.returncode}):\n{_tail(log)}")
        (image / _BUILT_MARKER).write_text(" ".join(BUILD_OPTIONS) + "\n")
    return image


# -- running servers -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _group_runs_from(pgid: int, instance: Path) -> bool:
    """Whether a process of group ``pgid`` has ``instance`` on its command line (guards against pid reuse)."""
    needle = str(instance).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid and needle in (proc / "cmdline").read_bytes():
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


_running: set[KeycloakServer] = set()
_running_lock = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _running_lock:
        servers = list(_running)
    for server in servers:
        server.stop()


class KeycloakServer:
    """One Keycloak process on 127.0.0.1 with the ``kochi`` realm imported; use as a context manager.

    ``persistent_dir=None`` keeps everything in memory (H2 ``mem:``) in a temporary home removed on stop; a
    directory keeps the H2 database in ``<persistent_dir>/data/h2`` across restarts (the realm file is only
    imported when the realm does not exist yet).
    """

    def __init__(
        self,
        http_port: int,
        management_port: int | None = None,
        realm_file: Path = REALM_FILE,
        admin_user: str = "admin",
        admin_password: str = DEFAULT_ADMIN_PASSWORD,
        hostname: str | None = None,
        persistent_dir: Path | None = None,
        log_file: Path | None = None,
        cache_dir: Path | None = None,
        realm: str = REALM,
    ):
        self.http_port = http_port
        self.management_port = management_port if management_port is not None else free_port()
        self.realm_file = Path(realm_file)
        self.admin_user = admin_user
        self.admin_password = admin_password
        self.hostname = (hostname or f"http://127.0.0.1:{http_port}").rstrip("/")
        self.persistent_dir = Path(persistent_dir).resolve() if persistent_dir else None
        self.cache_dir = cache_dir
        self.realm = realm
        # A temporary instance's default log is removed by a clean stop() and kept when start-up failed.
        self._temporary_log = log_file is None and self.persistent_dir is None
        if log_file is None:
            log_file = (
                self.persistent_dir / "keycloak.log"
                if self.persistent_dir
                else Path(tempfile.gettempdir()) / f"kyosei-keycloak-{http_port}.log"
            )
        self.log_file = Path(log_file)
        self.failed = False
        self.instance_dir: Path | None = None
        self.process: subprocess.Popen | None = None
        self.started_at: float | None = None
        self.ready_after: float | None = None

    # -- URLs --------------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.hostname

    @property
    def issuer(self) -> str:
        return f"{self.hostname}/realms/{self.realm}"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def _prepare_instance(self, image: Path) -> Path:
        if self.persistent_dir:
            instance = self.persistent_dir
            instance.mkdir(parents=True, exist_ok=True)
            self._kill_stale(instance)
        else:
            instance = Path(tempfile.mkdtemp(prefix=f"kyosei-keycloak-{self.http_port}-"))
        for name in ("bin", "conf"):
            shutil.rmtree(instance / name, ignore_errors=True)
            shutil.copytree(image / name, instance / name, symlinks=True)
        lib = instance / "lib"
        if lib.is_symlink() or lib.is_file():
            lib.unlink()
        elif lib.exists():
            shutil.rmtree(lib)
        lib.symlink_to(image / "lib", target_is_directory=True)
        for name in ("providers", "themes"):
            (instance / name).mkdir(exist_ok=True)
        # Kyosei's login theme (realm loginTheme "kyosei"); read from themes/ at start-up, no rebuild needed.
        shutil.rmtree(instance / "themes" / "kyosei", ignore_errors=True)
        shutil.copytree(THEMES_DIR / "kyosei", instance / "themes" / "kyosei")
        imports = instance / "data" / "import"
        shutil.rmtree(imports, ignore_errors=True)
        imports.mkdir(parents=True)
        shutil.copy2(self.realm_file, imports / self.realm_file.name)
        return instance

    @staticmethod
    def _kill_stale(instance: Path) -> None:
        """Stop a server left running on this persistent dir by a process that was killed without cleanup."""
        pid_file = instance / _PID_FILE
        try:
            pgid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if _group_alive(pgid) and _group_runs_from(pgid, instance):
            os.killpg(pgid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def _command(self, instance: Path) -> list[str]:
        args = [
            str(instance / "bin" / "kc.sh"),
            "start",
            "--optimized",
            "--import-realm",
            "--http-enabled=true",
            "--http-host=127.0.0.1",
            f"--http-port={self.http_port}",
            "--http-management-host=127.0.0.1",
            f"--http-management-port={self.management_port}",
            f"--hostname={self.hostname}",
            "--cache=local",
            "--log-console-color=false",
            "--log-level=info,io.smallrye.health:warn",
        ]
        if not self.persistent_dir:
            args.append("--db-url=jdbc:h2:mem:keycloak;NON_KEYWORDS=VALUE;DB_CLOSE_DELAY=-1")
        return args

    def start(self) -> None:
        if self.process is not None:
            raise KeycloakError("this KeycloakServer is already started")
        java_home = find_java_home()
        image = ensure_server_image(self.cache_dir, java_home)
        self.instance_dir = self._prepare_instance(image)
        env = _java_env(java_home)
        env["KC_BOOTSTRAP_ADMIN_USERNAME"] = self.admin_user
        env["KC_BOOTSTRAP_ADMIN_PASSWORD"] = self.admin_password
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self._command(self.instance_dir),
                cwd=self.instance_dir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals kc.sh and java together
            )
        (self.instance_dir / _PID_FILE).write_text(f"{self.process.pid}\n")
        with _running_lock:
            _running.add(self)

    def wait_ready(self, timeout: float = 180) -> float:
        """Poll ``/health/ready`` on the management port; returns the seconds since start()."""
        if self.process is None or self.started_at is None:
            raise KeycloakError("wait_ready() before start()")
        url = f"{self.management_url}/health/ready"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                self.failed = True
                raise KeycloakError(
                    f"Keycloak exited with status {self.process.returncode} before it was ready; "
                    f"{self.log_file}:\n{_tail(self.log_file)}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        self.ready_after = time.monotonic() - self.started_at
                        return self.ready_after
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.failed = True
                raise KeycloakError(
                    f"Keycloak was not ready within {timeout:.0f} s on {url}; {self.log_file}:\n{_tail(self.log_file)}"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the whole process group, SIGKILL after ``timeout``; removes a temporary home."""
        process, self.process = self.process, None
        with _running_lock:
            _running.discard(self)
        if process is not None:
            pgid = process.pid
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)  # kc.sh may exit before the JVM it forwarded the signal to
            if _group_alive(pgid):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                while _group_alive(pgid) and time.monotonic() < deadline + 10:
                    time.sleep(0.1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if self.instance_dir is not None:
            if self.persistent_dir:
                (self.instance_dir / _PID_FILE).unlink(missing_ok=True)
            else:
                shutil.rmtree(self.instance_dir, ignore_errors=True)
            self.instance_dir = None
        if self._temporary_log and not self.failed:
            self.log_file.unlink(missing_ok=True)

    def __enter__(self) -> KeycloakServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


# -- CLI: python -m infra.keycloak.server --port 8180 -----------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch, start and time a local Keycloak; Ctrl-C or SIGTERM stops it.")
    parser.add_argument("--port", type=int, default=8180, help="HTTP port (default 8180)")
    parser.add_argument("--management-port", type=int, default=None, help="health port (default: a free one)")
    parser.add_argument("--persistent-dir", type=Path, default=None, help="keep the H2 database here")
    parser.add_argument("--log-file", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--exit-when-ready", action="store_true", help="stop as soon as it is ready (timing)")
    args = parser.parse_args(argv)

    began = time.monotonic()
    home = fetch_distribution()
    image = ensure_server_image()
    print(f"distribution {home}\nimage        {image}  (fetch+build {time.monotonic() - began:.1f} s)", flush=True)

    def _terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    server = KeycloakServer(args.port, args.management_port, persistent_dir=args.persistent_dir, log_file=args.log_file)
    try:
        server.start()
        ready = server.wait_ready(args.timeout)
        print(f"Keycloak {KEYCLOAK_VERSION} ready after {ready:.1f} s: {server.issuer}  (log {server.log_file})",
              flush=True)
        if not args.exit_when_ready:
            while server.process is not None and server.process.poll() is None:
                time.sleep(0.5)
            if server.process is not None:
                print(f"Keycloak exited with status {server.process.returncode}", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    except KeycloakError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stopping = time.monotonic()
        server.stop()
        print(f"stopped in {time.monotonic() - stopping:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
