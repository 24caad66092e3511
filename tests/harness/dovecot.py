"""A private Dovecot instance: the real IMAP/POP3 server the mail transports are tested against.

Dovecot runs in the foreground of its own process group from a generated configuration (own
base_dir, state_dir, logs and maildirs), on 127.0.0.1 with four free high ports: IMAPS, IMAP +
STARTTLS, POP3S, POP3 + STLS. Basic-auth mailboxes log in with PLAIN/LOGIN; modern-auth
mailboxes with XOAUTH2/OAUTHBEARER, verified through FakeEntra's Exchange endpoints.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imapclient import imap_utf7

from .entra import FakeEntra
from .httpserver import HTTPServerThread, Request, Response
from .pki import TestPKI

DOVECOT_BINARY = shutil.which("dovecot") or "/usr/sbin/dovecot"
MAIL_UID = 8  # Debian's "mail" user: exists everywhere, so no system user has to be created
MAIL_GID = 8
STARTUP_TIMEOUT = 10.0
PR_SET_PDEATHSIG = 1
ROOT_PREFIX = "recepcion-dovecot-"
OWNER_FILE = "owner.pid"
STOP_GRACE_SECONDS = 0.5
# Dovecot 2.3.19's post-login capabilities, minus MOVE: setting imap_capability replaces the
# whole list, so the list is spelled out. Used to exercise the COPY + EXPUNGE fallback.
CAPABILITIES_WITHOUT_MOVE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES "
    "THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN "
    "NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES "
    "WITHIN CONTEXT=SEARCH LIST-STATUS BINARY SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE "
    "SAVEDATE LITERAL+ NOTIFY"
)
# What Dovecot tells the auth policy server after a passdb accepted a login. %w is the
# password of PLAIN/LOGIN (test passwords only, on loopback); harness_ref comes from FakeEntra's
# token introspection.
POLICY_ATTRIBUTES = (
    "login=%{requested_username} protocol=%s mechanism=%m password=%w ref=%{passdb:harness_ref}"
)
BASIC_AUTH_FAILED = "Authentication failed."
# Exchange Online allows about 20 concurrent IMAP (and 20 POP) connections per mailbox.
MAX_CONNECTIONS_PER_MAILBOX = 20


class DovecotError(RuntimeError):
    """Dovecot did not start or stop as asked; the message carries the end of its log."""


@dataclass(frozen=True)
class DovecotPorts:
    imaps: int
    imap: int
    pop3s: int
    pop3: int


@dataclass(frozen=True)
class MailUser:
    """A mailbox on the test server. ``password`` is None for XOAUTH2-only mailboxes."""

    address: str
    password: str | None
    home: Path

    @property
    def maildir(self) -> Path:
        return self.home / "Maildir"


def _free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out; all sockets are held until all ports are known."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _die_with_parent() -> None:
    """In the child before exec: Linux kills Dovecot's master if the test process dies.

    Without it a test run killed by a timeout leaves Dovecot running (its group survives).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _sweep_abandoned(parent: Path) -> None:
    """Delete harness directories whose owning process is gone (killed runs leave them)."""
    for candidate in parent.glob(f"{ROOT_PREFIX}*"):
        try:
            owner = int((candidate / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(candidate, ignore_errors=True)


def _fast_tmp() -> str | None:
    """A memory-backed temp dir when there is one (None: the system default)."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def _folder_dir_name(folder: str) -> str:
    """Maildir++ directory of a folder: '/'-separated IMAP name → '.A.B', modified UTF-7."""
    if "." in folder:
        raise ValueError(f"folder names with '.' cannot be stored in Maildir++: {folder!r}")
    encoded = imap_utf7.encode(folder).decode("ascii")
    return "." + encoded.replace("/", ".")


class Dovecot:
    """One Dovecot server with its users; start(), stop() and restart() may be repeated."""

    host = "127.0.0.1"

    def __init__(
        self,
        pki: TestPKI,
        entra: FakeEntra | None,
        root: Path | None = None,
        move_capability: bool = True,
        debug: bool = False,
    ) -> None:
        """``root`` must be traversable by Dovecot's unprivileged users; pytest's tmp dirs are
        mode 0700, so by default a fresh directory is made in /dev/shm (tmpfs: creating a file
        there is ~50x faster than on this machine's ext4 /tmp, which decides delivery speed)
        or, without it, in the system temp dir.
        ``debug`` turns on auth and mail debug logs, which contain bearer tokens.
        """
        self.pki = pki
        self.entra = entra
        self._owns_root = root is None
        if root is None:
            parent = _fast_tmp() or tempfile.gettempdir()
            _sweep_abandoned(Path(parent))
            root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX, dir=parent))
            (root / OWNER_FILE).write_text(str(os.getpid()))
        self.root = Path(root)
        self.root.chmod(0o755)
        self.move_capability = move_capability
        self.debug = debug
        self.base_dir = self.root / "run"
        self.state_dir = self.root / "state"
        self.mail_root = self.root / "mail"
        self.config_path = self.root / "dovecot.conf"
        self.log_path = self.root / "dovecot.log"
        self.stderr_path = self.root / "dovecot.stderr"
        self.ports: DovecotPorts | None = None
        self.users: dict[str, MailUser] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._sequence = 0
        self._policy_server = HTTPServerThread(self._policy)
        for directory in (self.state_dir, self.mail_root):
            directory.mkdir(parents=True, exist_ok=True)
        self.mail_root.chmod(0o755)
        atexit.register(self.stop)

    @property
    def allowed_mail_hosts(self) -> list[str]:
        """This server's ``host:port`` entries for RECEPTION_ALLOWED_MAIL_HOSTS.

        The app sends credentials to loopback and to ephemeral ports only when they are listed.
        """
        if self.ports is None:
            return []
        return [f"{self.host}:{port}" for port in dataclasses.astuple(self.ports)]

    # Lifecycle -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start on the ports used before (so clients can reconnect) or on new free ones."""
        if self.running:
            return
        last_error: DovecotError | None = None
        for _attempt in range(5):  # a free port can be taken by someone else in between
            if self.ports is None or last_error is not None:
                self.ports = DovecotPorts(*_free_ports(4))
            try:
                self._start_once()
                return
            except DovecotError as exc:
                last_error = exc
                if "Address already in use" not in str(exc):
                    raise
        assert last_error is not None
        raise last_error

    def _start_once(self) -> None:
        shutil.rmtree(self.base_dir, ignore_errors=True)  # stale anvil sockets cost seconds
        self.config_path.write_text(self._config())
        with open(self.stderr_path, "ab") as stderr:  # a pipe here would never reach EOF
            self._process = subprocess.Popen(
                [DOVECOT_BINARY, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        assert self.ports is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pending = [self.ports.imaps, self.ports.imap, self.ports.pop3s, self.ports.pop3]
        while pending:
            try:
                with socket.create_connection((self.host, pending[0]), timeout=1):
                    pending.pop(0)
                    continue
            except OSError:
                pass
            try:
                self._process.wait(timeout=0.005)  # waits on the process, not on the clock
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self._kill_group()
                    raise DovecotError(
                        f"Dovecot did not listen in time\n{self.log_tail()}"
                    ) from None
                continue
            self._process = None
            raise DovecotError(f"Dovecot exited at start\n{self.log_tail()}")

    @property
    def process_group(self) -> int | None:
        """The server's process group (its master and every service), while it runs."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        """SIGTERM to every Dovecot process, then SIGKILL to whatever is left in its group."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # The whole group, so that mail processes finish their writes. The master itself
            # often sleeps ~5 s waiting for its log process after that; it is killed instead.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_GRACE_SECONDS)
        self._kill_group()

    def kill(self) -> None:
        """Crash the whole server at once (SIGKILL), as a host failure would."""
        self._kill_group()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _kill_group(self) -> None:
        process = self._process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        self._process = None

    def close(self) -> None:
        """Stop and delete every file of this instance."""
        self.stop()
        atexit.unregister(self.stop)
        self._policy_server.stop()
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_size(self) -> int:
        """An offset into the log, to look at what one test caused (see penalized_since)."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def penalized_since(self, offset: int) -> bool:
        """Whether a login failed outside the auth policy since ``offset`` (e.g. a malformed
        XOAUTH2 response): Dovecot then delays later logins from 127.0.0.1 by 2-15 s for about
        half a minute. A restart clears that penalty.
        """
        if not self.log_path.exists():
            return False
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return any(" auth: Info: " in line and " policy(" not in line for line in text.splitlines())

    def log_text(self) -> str:
        parts = [p.read_text(errors="replace") for p in (self.log_path, self.stderr_path)]
        return "".join(part for part in parts if part)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # Users and mail --------------------------------------------------------------------------

    def add_user(self, address: str, password: str | None = None) -> MailUser:
        """A mailbox with an empty INBOX; with a password it also accepts PLAIN/LOGIN."""
        address = address.lower()
        if not address or any(c in address for c in ":/\n\t "):
            raise ValueError(f"unusable test address: {address!r}")
        with self._lock:
            user = MailUser(address=address, password=password, home=self.mail_root / address)
            self.users[address] = user
            self._make_maildir(user, user.maildir)
        return user

    def reset_user(self, address: str, *, uidvalidity: int | None = None) -> None:
        """Empty the mailbox (all folders, Dovecot's indexes); the login stays as it was.

        With `uidvalidity`, INBOX is numbered from that UIDVALIDITY, as on a server that numbers
        every mailbox alike: two users given the same one have the same UIDs and POP3 UIDLs.
        """
        user = self._user(address)
        shutil.rmtree(user.home, ignore_errors=True)
        self._make_maildir(user, user.maildir)
        if uidvalidity is not None:
            # Dovecot takes the folder's UIDVALIDITY from its uidlist's header when there is one.
            uidlist = user.maildir / "dovecot-uidlist"
            uidlist.write_text(f"3 V{uidvalidity} N1 G{secrets.token_hex(16)}\n")
            os.chown(uidlist, MAIL_UID, MAIL_GID)

    def reset(self) -> None:
        """Remove every user and its mail: the state a new test starts from."""
        with self._lock:
            self.users.clear()
            for child in self.mail_root.iterdir():
                shutil.rmtree(child, ignore_errors=True)

    def deliver(
        self, address: str, message: bytes, folder: str = "INBOX", seen: bool = False
    ) -> Path:
        """Put one message into a folder by writing the Maildir file, as an MDA would."""
        return self.deliver_many(address, [message], folder=folder, seen=seen)[0]

    def deliver_many(
        self, address: str, messages: Iterable[bytes], folder: str = "INBOX", seen: bool = False
    ) -> list[Path]:
        """Deliver many messages quickly (no IMAP round trips, ~20 µs each).

        Dovecot numbers new files in name order, so the numbers in the name are zero-padded and
        UIDs follow the delivery order. Files go to tmp/ and are renamed into cur/ (the Maildir
        delivery protocol), so a Dovecot session that is open at the same time sees each message
        whole or not at all; it notices them at its next sync.
        """
        user = self._user(address)
        directory = self._folder_path(user, folder, create=True)
        flags = "S" if seen else ""
        paths: list[Path] = []
        now = time.time()
        for message in messages:
            with self._lock:
                self._sequence += 1
                sequence = self._sequence
            name = (
                f"{int(now)}.M{int(now * 1e6) % 1_000_000:06d}P{os.getpid()}Q{sequence:010d}"
                f".harness,S={len(message)}"
            )
            tmp = directory / "tmp" / name
            with open(tmp, "wb") as handle:
                handle.write(message)
            os.chown(tmp, MAIL_UID, MAIL_GID)
            final = directory / "cur" / f"{name}:2,{flags}"
            os.rename(tmp, final)
            paths.append(final)
        return paths

    def create_folder(self, address: str, folder: str) -> None:
        self._folder_path(self._user(address), folder, create=True)

    def list_folders(self, address: str) -> list[str]:
        """Folder names as IMAP shows them (separator '/'), INBOX first, read from disk."""
        user = self._user(address)
        names = [
            imap_utf7.decode(entry.name[1:].replace(".", "/").encode("ascii"))
            for entry in user.maildir.iterdir()
            if entry.is_dir() and entry.name.startswith(".")
        ]
        return ["INBOX", *sorted(names)]

    def message_count(self, address: str, folder: str = "INBOX") -> int:
        """Messages stored now (expunged ones are gone from disk in Maildir)."""
        directory = self._folder_path(self._user(address), folder, create=False)
        if not directory.exists():
            raise KeyError(f"no folder {folder!r} for {address}")
        return sum(
            1
            for sub in ("cur", "new")
            for entry in os.scandir(directory / sub)
            if not entry.name.startswith(".")
        )

    def message_files(self, address: str, folder: str = "INBOX") -> list[Path]:
        """The message files of a folder (their names carry the Maildir flags after ':2,')."""
        directory = self._folder_path(self._user(address), folder, create=False)
        return sorted(p for sub in ("cur", "new") for p in (directory / sub).iterdir())

    def _user(self, address: str) -> MailUser:
        try:
            return self.users[address.lower()]
        except KeyError:
            raise KeyError(f"no test mailbox {address!r}; call add_user() first") from None

    def _folder_path(self, user: MailUser, folder: str, create: bool) -> Path:
        if folder.upper() == "INBOX":
            return user.maildir
        path = user.maildir / _folder_dir_name(folder)
        if create and not path.exists():
            self._make_maildir(user, path)
            (path / "maildirfolder").touch()
            os.chown(path / "maildirfolder", MAIL_UID, MAIL_GID)
        return path

    def _make_maildir(self, user: MailUser, path: Path) -> None:
        for directory in (user.home, path, path / "cur", path / "new", path / "tmp"):
            directory.mkdir(exist_ok=True)
            os.chown(directory, MAIL_UID, MAIL_GID)
            directory.chmod(0o700)

    def _policy(self, request: Request) -> Response:
        """Dovecot's auth policy check after a passdb accepted the login.

        Basic auth: the password is compared here, so that a refusal carries "nodelay" and costs
        no penalty. Modern auth: Exchange's rules, applied by FakeEntra.
        """
        if request.path != "/policy":
            return Response.json(404, {"error": "not_found"})
        attributes = json.loads(request.body or b"{}")
        login = str(attributes.get("login") or "").lower()
        protocol = str(attributes.get("protocol") or "")
        ref = str(attributes.get("ref") or "")
        if ref:
            if self.entra is None:
                return Response.json(200, {"status": -1, "msg": BASIC_AUTH_FAILED})
            decision = self.entra.exchange_decision(
                ref, login, protocol, mailbox_exists=login in self.users
            )
            if decision.refusal is None:
                return Response.json(200, {"status": 0, "msg": ""})
            return Response.json(200, {"status": -1, "msg": decision.message})
        user = self.users.get(login)
        password = str(attributes.get("password") or "")
        if (
            user is None
            or user.password is None
            or not secrets.compare_digest(user.password.encode(), password.encode())
        ):
            return Response.json(200, {"status": -1, "msg": BASIC_AUTH_FAILED})
        return Response.json(200, {"status": 0, "msg": ""})

    # Configuration ---------------------------------------------------------------------------

    def _config(self) -> str:
        assert self.ports is not None
        debug = "yes" if self.debug else "no"
        capability = (
            "" if self.move_capability else f"imap_capability = {CAPABILITIES_WITHOUT_MOVE}"
        )
        modern_auth = ""
        if self.entra is not None:
            oauth2_conf = self.root / "oauth2.conf.ext"
            # Every token passes the passdb under a constant name; the verdict (with Exchange's
            # wording) comes from the auth policy, which knows the mailbox and protocol.
            oauth2_conf.write_text(
                "introspection_mode = post\n"
                f"introspection_url = {self.entra.introspection_url}\n"
                "username_attribute = harness_user\n"
                "username_format = exchange\n"
                "pass_attrs = harness_ref=%{oauth2:ref} nodelay=yes\n"
                f"debug = {debug}\n"
            )
            modern_auth = f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {oauth2_conf}
}}
"""
        return f"""# Generated by tests/harness/dovecot.py
base_dir = {self.base_dir}
state_dir = {self.state_dir}
instance_name = recepcion-harness-{self.ports.imaps}
log_path = {self.log_path}
info_log_path = {self.log_path}
debug_log_path = {self.log_path}
protocols = imap pop3
listen = {self.host}
ssl = yes
ssl_cert = <{self.pki.cert_chain_pem}
ssl_key = <{self.pki.key_pem}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login xoauth2 oauthbearer
auth_failure_delay = 0
auth_verbose = yes
auth_debug = {debug}
mail_debug = {debug}
first_valid_uid = {MAIL_UID}
first_valid_gid = {MAIL_GID}
mail_location = maildir:~/Maildir
mail_max_userip_connections = {MAX_CONNECTIONS_PER_MAILBOX}
{capability}
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
# Passwords are checked by the auth policy (see _policy): a passdb failure would be delayed
# and add a per-IP penalty of 2-15 s to every later login from 127.0.0.1, i.e. every test.
passdb {{
  driver = static
  mechanisms = plain login
  args = nopassword=y nodelay=yes
}}
{modern_auth}
auth_policy_server_url = {self._policy_server.url}/policy
auth_policy_hash_nonce = recepcion-harness
auth_policy_request_attributes = {POLICY_ATTRIBUTES}
auth_policy_check_before_auth = no
auth_policy_check_after_auth = yes
auth_policy_report_after_auth = no
auth_policy_reject_on_fail = yes
# Static: a passwd-file is re-read at most once a second, too slow for add_user() in a test.
# Logins of unknown users never get here: the auth policy refuses them first.
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_GID} home={self.mail_root}/%Lu
}}
service imap-login {{
  service_count = 0
  process_min_avail = 1
  inet_listener imap {{
    address = {self.host}
    port = {self.ports.imap}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.ports.imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  service_count = 0
  process_min_avail = 1
  inet_listener pop3 {{
    address = {self.host}
    port = {self.ports.pop3}
  }}
  inet_listener pop3s {{
    address = {self.host}
    port = {self.ports.pop3s}
    ssl = yes
  }}
}}
"""
