"""Helpers for the admin API and metrics tests (test_admin_api.py, test_metrics.py).

An `AdminServer` is one `junction serve` with the HTTP server, the auth section
(HS256, one client allowed the viewer, operator, admin, hl7 and a FHIR scope)
and the caller's channels, started through harness.Serve on ephemeral loopback
ports. `ApiClient` speaks JSON over HTTP/1.1 with the standard library
(fhir_client.FhirClient underneath), and `parse_prometheus` reads the text
format 0.0.4 strictly enough to catch a malformed exposition.

    server = AdminServer(workdir, channels=[mllp_channel("in", file_dest("out", d))])
    viewer = server.client("viewer")
    res = viewer.get("/api/channels")          # a fhir_client.Response
    assert res.status == 200 and res.json()["channels"][0]["name"] == "in"
"""

import hashlib
import json
import math
import os
import re
import socket
import time
import urllib.parse

import harness
from fhir_client import (AUDIENCE, CLIENT_ID, HS256_SECRET, ISSUER, FhirClient, Response,
                         claims, hs256_jwt)
from harness import scaled

CLIENT_SECRET = "admin-api-test-secret"
# Everything a test token may ask for; "hl7" and the FHIR scope grant no admin role.
CLIENT_SCOPES = ["viewer", "operator", "admin", "hl7", "system/*.*"]


# --------------------------------------------------------------------------
# Config pieces


def mllp_source(**options):
    source = {"listen": "127.0.0.1:0"}
    source.update(options)
    return {"mllp": source}


def file_dest(name, directory, **extra):
    dest = {"name": name, "file": {"dir": directory}}
    dest.update(extra)
    return dest


def closed_port():
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_config(workdir, channels, *, http=None, extra=None):
    store_dir = os.path.join(workdir, "store")
    os.makedirs(store_dir, exist_ok=True)
    cfg = {
        "log": {"level": "info"},
        "server": {"io_threads": 2},
        "store": {"sqlite": os.path.join(store_dir, "junction.db")},
        "fhir_store": {"sqlite": os.path.join(store_dir, "junction-fhir.db"), "durable": False},
        "http": {"listen": "127.0.0.1:0"},
        "auth": {"issuer": ISSUER, "audience": AUDIENCE, "hs256_secret": HS256_SECRET,
                 "clients": [{"id": CLIENT_ID,
                              "secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
                              "scopes": CLIENT_SCOPES}]},
        "channels": channels,
    }
    cfg["http"].update(http or {})
    cfg.update(extra or {})
    return cfg


# --------------------------------------------------------------------------
# HTTP


class ApiClient(FhirClient):
    """JSON requests to absolute paths ("/api/channels"); `token` on every request."""

    def __init__(self, port, token=None, timeout=None):
        super().__init__(port, token, base="", timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=Ellipsis,
                content_type="application/json"):
        hdrs = {"Accept": "application/json"}
        hdrs.update(headers or {})
        return super().request(method, path, body, headers=hdrs, token=token,
                               content_type=content_type)

    def get_json(self, path, expect=200):
        res = self.get(path)
        if res.status != expect:
            raise AssertionError("GET %s: expected %d, got %r" % (path, expect, res))
        return res.json()

    def post_json(self, path, body=None, expect=200):
        res = self.request("POST", path, b"" if body is None else body)
        if res.status != expect:
            raise AssertionError("POST %s: expected %d, got %r" % (path, expect, res))
        return res.json()

    def messages(self, **filters):
        """GET /api/messages with the filters (None values left out); the JSON body."""
        query = urllib.parse.urlencode({k: v for k, v in filters.items() if v is not None})
        return self.get_json("/api/messages" + ("?" + query if query else ""))


def strict_json(res):
    """The body as JSON, refusing invalid UTF-8 and the NaN/Infinity extensions."""
    text = res.body.decode("utf-8")  # raises on invalid UTF-8

    def bad_constant(name):
        raise ValueError("not JSON: %s" % name)

    return json.loads(text, parse_constant=bad_constant)


# --------------------------------------------------------------------------
# The server


class AdminServer:
    """A started `junction serve` with /api; token()/client() mint per scope."""

    def __init__(self, workdir, channels, *, http=None, extra=None):
        os.makedirs(workdir, exist_ok=True)
        self.config = admin_config(workdir, channels, http=http, extra=extra)
        self.serve = harness.Serve(workdir, None,
                                   config_text=json.dumps(self.config, indent=2) + "\n")
        self.serve.start()
        if self.serve.http_port is None:
            self.serve.kill()
            raise AssertionError("no 'junction: listening http' line\n%s" % self.serve.logs())
        self.port = self.serve.http_port
        self._tokens = {}
        self._clients = []

    @property
    def config_path(self):
        return self.serve.config_path

    def mllp_port(self, channel):
        return self.serve.port(channel)

    def token(self, scope, patient=None):
        key = (scope, patient)
        if key not in self._tokens:
            self._tokens[key] = harness.mint_token(self.config_path, CLIENT_ID, scope, patient)
        return self._tokens[key]

    def client(self, scope=None, patient=None, token=Ellipsis):
        tok = (None if scope is None else self.token(scope, patient)) if token is Ellipsis \
            else token
        c = ApiClient(self.port, tok)
        self._clients.append(c)
        return c

    def send(self, channel, payloads, expect="AA"):
        """Sends each payload on one MLLP connection; returns the ACK codes."""
        codes = []
        with harness.MllpConnection(self.mllp_port(channel)) as conn:
            for p in payloads:
                code, _, segments = conn.roundtrip(p)
                if expect is not None and code != expect:
                    raise AssertionError("ACK %s (wanted %s): %r" % (code, expect, segments))
                codes.append(code)
        return codes

    def metrics_text(self):
        res = self.client().get("/metrics")
        if res.status != 200:
            raise AssertionError("GET /metrics: %r" % res)
        return res

    def stop(self):
        for c in self._clients:
            c.close()
        return self.serve.stop()

    def logs(self):
        return self.serve.logs()


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns a true value (returned) or fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


# --------------------------------------------------------------------------
# Prometheus text format 0.0.4

_METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"'
_SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)?,?\})? (\S+)(?: (-?\d+))?$"
                     % (_METRIC_NAME, _LABEL, _LABEL))
_HELP = re.compile(r"^# HELP (%s) (.*)$" % _METRIC_NAME)
_TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % _METRIC_NAME)
_TYPE_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


class Metrics:
    """Parsed samples: types[name], helps[name], samples = [(name, labels dict, value)]."""

    def __init__(self):
        self.types = {}
        self.helps = {}
        self.samples = []

    def find(self, name, **labels):
        return [(l, v) for (n, l, v) in self.samples
                if n == name and all(l.get(k) == want for k, want in labels.items())]

    def value(self, name, **labels):
        found = self.find(name, **labels)
        if len(found) != 1:
            raise AssertionError("%d samples of %s%r (wanted 1)" % (len(found), name, labels))
        return found[0][1]


def _unescape_label(value):
    return value.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def _family(name, types):
    """The metric family a sample name belongs to (histogram suffixes stripped)."""
    if name in types:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and name[:-len(suffix)] in types:
            return name[:-len(suffix)]
    return None


def parse_prometheus(text):
    """Parses the exposition; raises ValueError naming the line for anything malformed:
    a bad line, a sample before its TYPE, a TYPE given twice or after samples, a
    repeated series, a value that is not a float."""
    if text and not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    m = Metrics()
    seen_series = set()
    sampled_families = set()
    for number, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            h = _HELP.match(line)
            t = _TYPE.match(line)
            if h:
                if h.group(1) in m.helps:
                    raise ValueError("line %d: second HELP for %s" % (number, h.group(1)))
                m.helps[h.group(1)] = h.group(2)
            elif t:
                name = t.group(1)
                if name in m.types:
                    raise ValueError("line %d: second TYPE for %s" % (number, name))
                if name in sampled_families:
                    raise ValueError("line %d: TYPE for %s after its samples" % (number, name))
                m.types[name] = t.group(2)
            elif line.startswith("# HELP") or line.startswith("# TYPE"):
                raise ValueError("line %d: malformed: %r" % (number, line))
            continue
        s = _SAMPLE.match(line)
        if not s:
            raise ValueError("line %d: not a sample: %r" % (number, line))
        name = s.group(1)
        labels = {}
        if s.group(2):
            for key, value in re.findall(_LABEL, s.group(2)):
                if key in labels:
                    raise ValueError("line %d: label %s twice" % (number, key))
                labels[key] = _unescape_label(value)
        # The value is the token after the name and labels (a timestamp may follow).
        rest = line[len(name):]
        if rest.startswith("{"):
            rest = rest[rest.rindex("}") + 1:]
        parts = rest.split()
        if len(parts) not in (1, 2):
            raise ValueError("line %d: value and optional timestamp expected: %r" % (number, line))
        raw_value = parts[0]
        if raw_value in ("+Inf", "-Inf", "NaN"):
            value = float(raw_value.replace("Inf", "inf").replace("NaN", "nan"))
        else:
            if not re.match(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$", raw_value):
                raise ValueError("line %d: value %r is not a float" % (number, raw_value))
            value = float(raw_value)
        family = _family(name, m.types)
        if family is None:
            raise ValueError("line %d: sample %s has no TYPE before it" % (number, name))
        kind = m.types[family]
        if kind == "histogram" and name == family:
            raise ValueError("line %d: histogram %s sampled without a suffix" % (number, name))
        if kind == "histogram" and name.endswith("_bucket") and "le" not in labels:
            raise ValueError("line %d: bucket without le" % number)
        if kind in ("counter", "gauge") and name != family:
            raise ValueError("line %d: %s %s sampled as %s" % (number, kind, family, name))
        if kind == "counter" and (value < 0 or math.isnan(value)):
            raise ValueError("line %d: counter %s is %r" % (number, name, value))
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise ValueError("line %d: series %r given twice" % (number, series))
        seen_series.add(series)
        sampled_families.add(family)
        m.samples.append((name, labels, value))
    return m


def histogram(metrics, name, **labels):
    """[(le float, cumulative count)] sorted by le, plus _count and _sum, of one histogram."""
    buckets = []
    for l, v in metrics.find(name + "_bucket", **labels):
        le = l["le"]
        buckets.append((math.inf if le == "+Inf" else float(le), v))
    buckets.sort()
    return buckets, metrics.value(name + "_count", **labels), metrics.value(name + "_sum", **labels)
