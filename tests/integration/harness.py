"""Shared helpers for Junction's integration tests.

Every test starts its own `junction serve` on ephemeral loopback ports with a
private temporary store, talks to it over real sockets, and stops it with
SIGTERM. Nothing here touches anything but 127.0.0.1.

Environment (set by tests/integration/CMakeLists.txt):
  JUNCTION_BIN         the junction executable under test (required)
  JUNCTION_SOURCE_DIR  the repository root
  JUNCTION_NODE_DIR    tests/integration/node (node-hl7-client lives in its node_modules)
  JUNCTION_TIME_SCALE  multiplies every timeout (default 1; ASan on a busy box is slow)
"""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

SB = b"\x0b"
EB = b"\x1c"
CR = b"\x0d"

TIME_SCALE = float(os.environ.get("JUNCTION_TIME_SCALE", "1"))


def scaled(seconds):
    return seconds * TIME_SCALE


def junction_bin():
    path = os.environ.get("JUNCTION_BIN")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("JUNCTION_BIN must name the junction executable (got %r)" % path)
    return path


def source_dir():
    return os.environ.get(
        "JUNCTION_SOURCE_DIR",
        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


def node_dir():
    return os.environ.get("JUNCTION_NODE_DIR", os.path.join(os.path.dirname(__file__), "node"))


# --------------------------------------------------------------------------
# Messages


def make_message(control_id, *, msg_type="ADT^A01^ADT_A01", patient_id="MRN0001",
                 patient_name="DOE^JANE", sending_app="LAB", sending_facility="HOSP",
                 version="2.5", extra_segments=()):
    """A complete, valid HL7 v2 message (segments end in CR), as bytes."""
    segments = [
        "MSH|^~\\&|%s|%s|JUNCTION|HOSP|20240101120000||%s|%s|P|%s"
        % (sending_app, sending_facility, msg_type, control_id, version),
        "EVN|A01|20240101120000",
        "PID|1||%s^^^HOSP^MR||%s||19800101|F" % (patient_id, patient_name),
        "PV1|1|I|WARD^101^1",
    ]
    segments.extend(extra_segments)
    return ("\r".join(segments) + "\r").encode("latin-1")


def frame(payload):
    return SB + payload + EB + CR


def parse_ack(payload):
    """Returns (msa1, msa2, segments) of an ACK payload (bytes)."""
    text = payload.decode("latin-1")
    segments = [s for s in re.split(r"\r\n|\r|\n", text) if s]
    msa1 = msa2 = None
    for seg in segments:
        fields = seg.split("|")
        if fields[0] == "MSA":
            msa1 = fields[1] if len(fields) > 1 else ""
            msa2 = fields[2] if len(fields) > 2 else ""
    return msa1, msa2, segments


class MllpConnection:
    """A raw MLLP client over a plain or TLS socket, with a hard timeout on every read."""

    def __init__(self, port, host="127.0.0.1", timeout=None, sock=None):
        self.timeout = timeout if timeout is not None else scaled(20)
        if sock is None:
            sock = socket.create_connection((host, port), timeout=self.timeout)
        sock.settimeout(self.timeout)
        self.sock = sock
        self.buffer = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, payload):
        self.sock.sendall(frame(payload))

    def recv_frame(self, timeout=None):
        """The next frame's payload; None on EOF (or reset). Raises socket.timeout."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            start = self.buffer.find(SB)
            if start >= 0:
                end = self.buffer.find(EB + CR, start)
                if end >= 0:
                    payload = self.buffer[start + 1:end]
                    self.buffer = self.buffer[end + 2:]
                    return payload
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("no complete frame within the timeout")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            self.buffer += chunk

    def roundtrip(self, payload, timeout=None):
        self.send(payload)
        reply = self.recv_frame(timeout)
        if reply is None:
            raise AssertionError("connection closed before the ACK arrived")
        return parse_ack(reply)

    def wait_closed(self, timeout):
        """True when the peer closes (EOF or reset) within `timeout`; data read is discarded."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                return True
            if not chunk:
                return True
            self.buffer += chunk


# --------------------------------------------------------------------------
# Config


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_scalar(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(value, indent=0):
    """Block-style YAML for nested dicts/lists of scalars (enough for our configs)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) or (isinstance(item, list) and item and
                                          isinstance(item[0], dict)):
                lines.append("%s%s:" % (pad, key))
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append("%s%s: %s" % (pad, key, _yaml_scalar(item)))
    elif isinstance(value, list):
        for item in value:
            body = to_yaml(item, indent + 2).split("\n")
            lines.append("%s- %s" % (pad, body[0].lstrip()))
            lines.extend(body[1:])
    return "\n".join(lines)


def mllp_channel(name, **mllp):
    source = {
        "listen": "127.0.0.1:0",
        "ack": "after-store",
        "validate": False,
        "strict_framing": False,
        "max_frame_bytes": 16777216,
        "max_connections": 256,
        "idle_timeout_ms": 600000,
        "read_timeout_ms": 30000,
        "allow": [],
    }
    source.update(mllp)
    return {"name": name, "source": {"mllp": source}}


def make_config(store_path, channels, *, level="info", io_threads=2,
                detect_duplicates=False, max_batch=512, max_delay_us=0):
    return {
        "log": {"level": level},
        "server": {"io_threads": io_threads},
        "store": {"sqlite": store_path, "max_batch": max_batch, "max_delay_us": max_delay_us,
                  "detect_duplicates": detect_duplicates},
        "channels": channels,
    }


# --------------------------------------------------------------------------
# The server process


class Serve:
    """One `junction serve` process. Use as a context manager or call start()/stop()."""

    def __init__(self, workdir, channels, *, config=None, config_text=None, **config_options):
        self.workdir = workdir
        self.store_path = os.path.join(workdir, "store", "junction.db")
        os.makedirs(os.path.dirname(self.store_path), exist_ok=True)
        self.config_path = os.path.join(workdir, "junction.yaml")
        if config_text is None:
            cfg = config or make_config(self.store_path, channels, **config_options)
            config_text = to_yaml(cfg) + "\n"
        with open(self.config_path, "w") as f:
            f.write(config_text.replace("@STORE@", self.store_path))
        self.proc = None
        self.ports = {}
        self.http_port = None  # from "junction: listening http HOST:PORT", when there is one
        self.stdout_lines = []
        self._stdout_lock = threading.Lock()
        self._ready = threading.Event()
        self._reader = None
        self._stderr_file = None
        self.starts = 0

    # Lifecycle -------------------------------------------------------------

    def start(self, timeout=None):
        timeout = timeout if timeout is not None else scaled(90)
        self.starts += 1
        self.ports = {}
        self.http_port = None
        self._ready.clear()
        stderr_path = os.path.join(self.workdir, "serve-%d.stderr" % self.starts)
        self._stderr_file = open(stderr_path, "wb")
        env = dict(os.environ)
        # A SIGKILLed ASan process writes nothing; a normal exit checks leaks.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.proc = subprocess.Popen(
            [junction_bin(), "serve", "--config", self.config_path],
            stdout=subprocess.PIPE, stderr=self._stderr_file, stdin=subprocess.DEVNULL,
            cwd=self.workdir, env=env)
        self._reader = threading.Thread(target=self._read_stdout, args=(self.proc,), daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None:
                raise AssertionError("junction serve exited with %s before it was ready\n%s"
                                     % (self.proc.returncode, self.logs()))
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError("junction serve was not ready within %.0f s\n%s"
                                     % (timeout, self.logs()))
        return self

    def _read_stdout(self, proc):
        pattern = re.compile(r"^junction: listening mllp (\S+) (\S+):(\d+)\s*$")
        http_pattern = re.compile(r"^junction: listening http (\S+):(\d+)\s*$")
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._stdout_lock:
                self.stdout_lines.append(line)
            m = pattern.match(line)
            if m:
                self.ports[m.group(1)] = int(m.group(3))
            elif http_pattern.match(line):
                self.http_port = int(http_pattern.match(line).group(2))
            elif line.strip() == "junction: ready":
                self._ready.set()

    def port(self, channel):
        if channel not in self.ports:
            raise AssertionError("no listener for channel %r in %r" % (channel, self.ports))
        return self.ports[channel]

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Sends `sig` and waits; returns the exit code (SIGKILLs after the timeout)."""
        timeout = timeout if timeout is not None else scaled(60)
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError("junction serve did not stop within %.0f s after %s\n%s"
                                 % (timeout, sig, self.logs()))
        finally:
            self._finish()
        return code

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)
        self._finish()

    def _finish(self):
        if self._reader is not None:
            self._reader.join(10)
            self._reader = None
        if self.proc is not None and self.proc.stdout is not None and self.proc.poll() is not None:
            self.proc.stdout.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except AssertionError:
                pass
        self._finish()

    # Output ----------------------------------------------------------------

    def stdout_text(self):
        with self._stdout_lock:
            return "\n".join(self.stdout_lines)

    def stderr_text(self):
        out = []
        for i in range(1, self.starts + 1):
            path = os.path.join(self.workdir, "serve-%d.stderr" % i)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
        return "".join(out)

    def logs(self):
        return "--- serve stdout ---\n%s\n--- serve stderr ---\n%s" % (
            self.stdout_text()[-6000:], self.stderr_text()[-6000:])

    # Store -----------------------------------------------------------------

    def messages_list(self, *args, timeout=None):
        """`junction messages list --config ... --json ARGS` as a list of dicts."""
        result = run_junction(["messages", "list", "--config", self.config_path, "--json",
                               *args], timeout=timeout)
        if result.returncode != 0:
            raise AssertionError("messages list failed (%d): %s" % (result.returncode,
                                                                     result.stderr))
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def db_rows(self, sql, params=()):
        """Reads the store directly (read-only; WAL lets us read while serve runs)."""
        con = sqlite3.connect("file:%s?mode=ro" % self.store_path, uri=True, timeout=30)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


def run_junction(args, timeout=None, input_bytes=None):
    timeout = timeout if timeout is not None else scaled(60)
    return subprocess.run([junction_bin(), *args], capture_output=True, text=True,
                          timeout=timeout, input=input_bytes)


def mint_token(config_path, client_id, scope, patient=None, ttl="1h"):
    """`junction token` for a configured client; returns the token (its last line)."""
    args = ["token", "--config", config_path, "--client", client_id, "--scope", scope,
            "--ttl", ttl]
    if patient is not None:
        args += ["--patient", patient]
    result = run_junction(args)
    if result.returncode != 0:
        raise AssertionError("junction token failed (%d): %s" % (result.returncode, result.stderr))
    lines = [l for l in result.stdout.splitlines() if l.strip()]
    return lines[-1].strip()


def stop_cleanly(server):
    """Stops a test server (with .stop(), .serve and .logs()) and fails on a non-zero
    exit or a sanitizer report."""
    code = server.stop()
    stderr = server.serve.stderr_text()
    if code != 0 or "AddressSanitizer" in stderr or "runtime error:" in stderr:
        raise AssertionError("serve did not stop cleanly (exit %s)\n%s" % (code, server.logs()))


class ServeTestCase(unittest.TestCase):
    """Gives each test a temp dir; subclasses start servers with self.serve(...)."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="junction-integ-")
        self.tmp = self._tmp.name
        self._servers = []

    def tearDown(self):
        for server in self._servers:
            server.__exit__(None, None, None)
        self._tmp.cleanup()

    def serve(self, channels, **options):
        workdir = os.path.join(self.tmp, "serve%d" % len(self._servers))
        os.makedirs(workdir)
        server = Serve(workdir, channels, **options)
        self._servers.append(server)
        return server.start()

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assert_serving(self, server, channel, control_id="ALIVE-1"):
        """Requirement 7: after everything else, a fresh connection still gets AA."""
        with MllpConnection(server.port(channel)) as conn:
            code, msa2, segments = conn.roundtrip(make_message(control_id))
        self.assertEqual(code, "AA", "server stopped serving properly: %r\n%s"
                         % (segments, server.logs()))
        self.assertEqual(msa2, control_id)

    def stop_cleanly(self, server):
        code = server.stop()
        self.assertEqual(code, 0, "serve did not exit 0 on SIGTERM\n%s" % server.logs())
        self.assertNotIn("ERROR: AddressSanitizer", server.stderr_text())
        self.assertNotIn("runtime error:", server.stderr_text())
