"""Downstream MLLP receivers and small helpers for the channel tests.

A Receiver is a threaded MLLP server written for the tests (it is the system a
channel delivers to). It answers every frame with an ACK whose MSA-2 is the
message's MSH-10, records every arrival (MSH-10 and bytes) in order, and can:
  - answer AE/AR for chosen control ids (`codes`) or for everything (`code`),
  - stay silent for chosen control ids the first N times they arrive (`silent`),
  - delay each ACK (`ack_delay`),
  - be stopped (connections closed, port released) and restarted on the same
    port, so the engine sees a downstream system that goes away and comes back.

    rx = Receiver().start()
    ... configure a destination with connect: 127.0.0.1:<rx.port> ...
    rx.wait_for_count(10, scaled(30))
    rx.stop(); ...; rx.start()          # same port again
    rx.control_ids()                    # every arrival, in order (duplicates kept)

Only 127.0.0.1 is used. Thread safety: every public method may be called from
any thread.
"""

import json
import os
import socket
import subprocess
import threading
import time

import harness
from harness import CR, EB, SB, scaled


def msh10(payload):
    """MSH-10 of an ER7 message (bytes); "" when there is none."""
    text = payload.decode("latin-1")
    if not text.startswith("MSH") or len(text) < 4:
        return ""
    sep = text[3]
    first = text.replace("\n", "\r").split("\r", 1)[0]
    fields = first.split(sep)
    return fields[9] if len(fields) > 9 else ""


def hl7_get(payload, seg, field, comp=None, occurrence=1):
    """A field (or component) value of an ER7 message, None when absent.

    Field numbers are HL7's: for MSH, MSH-1 is the separator, so MSH-n is
    split index n-1; for other segments it is split index n.
    """
    text = payload.decode("latin-1") if isinstance(payload, bytes) else payload
    sep = text[3]
    comp_sep = text[4]
    seen = 0
    for line in text.replace("\n", "\r").split("\r"):
        fields = line.split(sep)
        if fields[0] != seg:
            continue
        seen += 1
        if seen != occurrence:
            continue
        index = field - 1 if seg == "MSH" else field
        if index >= len(fields):
            return None
        value = fields[index]
        if comp is None:
            return value
        parts = value.split(comp_sep)
        return parts[comp - 1] if comp - 1 < len(parts) else None
    return None


def make_ack(control_id, code, text=""):
    ts = time.strftime("%Y%m%d%H%M%S", time.gmtime())
    segs = [
        "MSH|^~\\&|RECEIVER|TEST|JUNCTION|HOSP|%s||ACK^R01^ACK|ACK-%s|P|2.5" % (ts, control_id),
        "MSA|%s|%s%s" % (code, control_id, ("|" + text) if text else ""),
    ]
    return ("\r".join(segs) + "\r").encode("latin-1")


class Receiver:
    def __init__(self, port=0, code="AA", codes=None, ack_delay=0.0, silent=None, name="rx"):
        self.name = name
        self.port = port
        self.code = code
        self.codes = dict(codes or {})  # control id -> ACK code
        self.ack_delay = ack_delay
        self.silent = dict(silent or {})  # control id -> times to stay silent
        self._lock = threading.Lock()
        self._arrivals = []  # (control_id, payload, code answered or None)
        self._listener = None
        self._conns = set()
        self._threads = []
        self._running = False
        self.connections_accepted = 0

    # Lifecycle -------------------------------------------------------------

    def start(self):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + scaled(10)
        while True:
            try:
                sock.bind(("127.0.0.1", self.port))
                break
            except OSError:
                # A restart on the same port can race the kernel releasing it.
                if self.port == 0 or time.monotonic() > deadline:
                    sock.close()
                    raise
                time.sleep(0.05)
        sock.listen(64)
        self.port = sock.getsockname()[1]
        with self._lock:
            self._listener = sock
            self._running = True
        t = threading.Thread(target=self._accept_loop, args=(sock,), daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        """Closes the listener and every connection; the port refuses connections."""
        with self._lock:
            self._running = False
            listener, self._listener = self._listener, None
            conns, self._conns = list(self._conns), set()
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self._threads:
            t.join(5)
        self._threads = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    # Serving ---------------------------------------------------------------

    def _accept_loop(self, listener):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                if not self._running:
                    conn.close()
                    return
                self._conns.add(conn)
                self.connections_accepted += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn):
        buf = b""
        try:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
                while True:
                    start = buf.find(SB)
                    end = buf.find(EB + CR, start + 1) if start >= 0 else -1
                    if start < 0 or end < 0:
                        break
                    payload = buf[start + 1:end]
                    buf = buf[end + 2:]
                    self._answer(conn, payload)
        except OSError:
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn, payload):
        cid = msh10(payload)
        with self._lock:
            if not self._running:
                return
            if self.silent.get(cid, 0) > 0:
                self.silent[cid] -= 1
                code = None
            else:
                code = self.codes.get(cid, self.code)
            self._arrivals.append((cid, payload, code))
        if code is None:
            return
        if self.ack_delay:
            time.sleep(self.ack_delay)
        conn.sendall(SB + make_ack(cid, code) + EB + CR)

    # Observations ------------------------------------------------------------

    def control_ids(self):
        """Every arrival's MSH-10 in arrival order (duplicates kept)."""
        with self._lock:
            return [a[0] for a in self._arrivals]

    def accepted_ids(self):
        """MSH-10 of arrivals answered AA, in order."""
        with self._lock:
            return [a[0] for a in self._arrivals if a[2] == "AA"]

    def payloads(self, control_id):
        with self._lock:
            return [a[1] for a in self._arrivals if a[0] == control_id]

    def last_payload(self, control_id):
        found = self.payloads(control_id)
        return found[-1] if found else None

    def count(self):
        with self._lock:
            return len(self._arrivals)

    def wait_for_count(self, n, timeout):
        return wait_until(lambda: self.count() >= n, timeout)

    def wait_for_ids(self, ids, timeout, accepted=True):
        """True when every id in `ids` has arrived (and was answered AA if accepted)."""
        want = set(ids)
        get = self.accepted_ids if accepted else self.control_ids
        return wait_until(lambda: want.issubset(get()), timeout)


# --------------------------------------------------------------------------
# Helpers shared by test_channels, test_delivery and test_reload


def wait_until(predicate, timeout, interval=0.05):
    """Polls `predicate` until it returns a truthy value or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def first_arrivals(ids):
    """The ids in order of first arrival, and {id: times seen} for those seen twice or more."""
    seen = {}
    order = []
    for cid in ids:
        if cid not in seen:
            order.append(cid)
            seen[cid] = 0
        seen[cid] += 1
    return order, {cid: n for cid, n in seen.items() if n > 1}


def free_port():
    """A loopback port free right now (for configs that must keep their port across reloads)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def source(listen="127.0.0.1:0", ack="after-store"):
    return {"mllp": {"listen": listen, "ack": ack}}


def mllp_dest(name, receiver, *, ordering="strict", max_attempts=10, backoff="100ms..1s",
              response_timeout="2s", **extra):
    dest = {
        "name": name,
        "mllp": {"connect": receiver.address, "response_timeout": response_timeout},
        "retry": {"max_attempts": max_attempts, "backoff": backoff},
        "ordering": ordering,
    }
    dest.update(extra)
    return dest


def channel_config(channels, tables=None, level="info"):
    """A whole config (dict); '@STORE@' is replaced by Serve with the store path."""
    cfg = {
        "log": {"level": level},
        "server": {"io_threads": 2, "pid_file": "@STORE@.pid"},
        "store": {"sqlite": "@STORE@"},
    }
    if tables:
        cfg["tables"] = tables
    cfg["channels"] = channels
    return cfg


def config_text(cfg):
    return harness.to_yaml(cfg) + "\n"


def rewrite_config(server, cfg_or_text):
    """Replaces the serving config file (as Serve writes it) with a new one."""
    text = cfg_or_text if isinstance(cfg_or_text, str) else config_text(cfg_or_text)
    tmp = server.config_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text.replace("@STORE@", server.store_path))
    os.replace(tmp, server.config_path)


def junction_cli(server, *args, timeout=None):
    """`junction ARGS --config <server's config>`; the CompletedProcess."""
    return harness.run_junction([*args, "--config", server.config_path], timeout=timeout)


def status_json(server):
    """`junction status --config F --json`, parsed (one document or JSON lines)."""
    result = junction_cli(server, "status", "--json")
    if result.returncode != 0:
        raise AssertionError("junction status failed (%d): %s%s"
                             % (result.returncode, result.stdout, result.stderr))
    text = result.stdout.strip()
    try:
        return json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def find_objects(doc, predicate):
    """Every dict nested anywhere in `doc` for which predicate(dict) is true."""
    found = []
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if predicate(item):
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def message_rows(server, like):
    """{control_id: (id, status, error)} of stored messages whose MSH-10 matches LIKE."""
    rows = server.db_rows("SELECT control_id, id, status, error FROM messages "
                          "WHERE control_id LIKE ? ORDER BY id", (like,))
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def delivery_rows(server, message_id):
    """The deliveries of a message, oldest first: dicts with the columns the tests use."""
    rows = server.db_rows("SELECT destination, state, attempts, error, response FROM deliveries "
                          "WHERE message_id = ? ORDER BY id", (message_id,))
    return [dict(zip(("destination", "state", "attempts", "error", "response"), r))
            for r in rows]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def run(args, timeout):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


class Pusher(threading.Thread):
    """Sends numbered messages on one MLLP connection until stopped (or `limit` sent).

    Records every control id that got AA naming it, in order. With `reconnect`,
    a broken connection is reopened (the message is sent again: an at-least-once
    client) until `stop` is set.
    """

    def __init__(self, port, prefix, stop, *, limit=None, reconnect=False, pause=0.0,
                 factory=None):
        super().__init__(daemon=True)
        self.port = port
        self.prefix = prefix
        self.stop_event = stop
        self.limit = limit
        self.reconnect = reconnect
        self.pause = pause
        self.factory = factory or (lambda cid: harness.make_message(
            cid, msg_type="ORU^R01^ORU_R01", patient_id="P" + cid))
        self.acked = []
        self.negative = []
        self.errors = []
        self.reconnects = 0

    def run(self):
        n = 0
        conn = None
        while not self.stop_event.is_set() and (self.limit is None or n < self.limit):
            cid = "%s-%06d" % (self.prefix, n)
            try:
                if conn is None:
                    conn = harness.MllpConnection(self.port, timeout=scaled(30))
                conn.send(self.factory(cid))
                reply = conn.recv_frame()
                if reply is None:
                    raise ConnectionResetError("closed before the ACK")
            except (OSError, socket.timeout) as e:
                self.errors.append((cid, repr(e)))
                if conn is not None:
                    conn.close()
                    conn = None
                if not self.reconnect:
                    return
                self.reconnects += 1
                time.sleep(0.1)
                continue  # resend the same control id
            code, msa2, _ = harness.parse_ack(reply)
            if code == "AA" and msa2 == cid:
                self.acked.append(cid)
            else:
                self.negative.append((cid, code, msa2))
            n += 1
            if self.pause:
                time.sleep(self.pause)
        if conn is not None:
            conn.close()
