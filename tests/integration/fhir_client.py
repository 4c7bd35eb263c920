"""Helpers for the FHIR API integration tests (test_fhir_*.py).

A `FhirServer` is one `junction serve` with the HTTP server, the auth section
(HS256 with a test secret, one client `demo-app`) and a FHIR store, started on
ephemeral loopback ports through harness.Serve. `FhirClient` speaks HTTP/1.1
with the standard library only (http.client, keep-alive), and `hs256_jwt`
mints tokens by hand for the negative auth cases (expired, bad signature,
wrong audience), so nothing outside Debian's python3 is needed.

    class MyTest(fhir_client.FhirTestCase):
        def test_read(self):
            client = self.client()                      # system/*.* admin token
            created = client.create({"resourceType": "Patient"})
            self.assertEqual(client.get("/Patient/" + created["id"]).status, 200)
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import select
import socket
import tempfile
import time
import unittest
import urllib.parse
import uuid

import harness
from harness import scaled

ISSUER = "junction-test"
AUDIENCE = "junction"
HS256_SECRET = "junction-integration-secret-0123456789-abcdefghij"
CLIENT_ID = "demo-app"
CLIENT_SECRET = "demo-app-secret"
CLIENT_SCOPES = ["user/*.*", "system/*.*", "admin", "hl7"]
ADMIN_SCOPE = "system/*.* admin"

ER7_CONTENT_TYPE = "x-application/hl7-v2+er7"


def uniq(prefix="t"):
    """A short unique token for identifiers and names, so tests sharing a server never collide."""
    return "%s%s" % (prefix, uuid.uuid4().hex[:12])


# --------------------------------------------------------------------------
# Tokens


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hs256_jwt(claims, secret=HS256_SECRET, header=None):
    """A compact JWS (HS256 unless `header` says otherwise) over `claims`."""
    head = {"alg": "HS256", "typ": "JWT"}
    if header is not None:
        head = header
    signing_input = "%s.%s" % (_b64url(json.dumps(head).encode()),
                               _b64url(json.dumps(claims).encode()))
    if head.get("alg") == "none":
        return signing_input + "."
    sig = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + _b64url(sig)


def claims(scope, *, patient=None, ttl=3600, iss=ISSUER, aud=AUDIENCE, sub=CLIENT_ID, now=None):
    now = int(time.time()) if now is None else now
    c = {"iss": iss, "aud": aud, "sub": sub, "client_id": CLIENT_ID, "scope": scope,
         "iat": now, "nbf": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
    if patient is not None:
        c["patient"] = patient
    return c


# --------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (repeated headers joined by ", ")
        self.body = body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.text[:600])


class FhirClient:
    """A keep-alive HTTP/1.1 client for one server; `token` goes into every request."""

    def __init__(self, port, token=None, host="127.0.0.1", base="/fhir", timeout=None):
        self.host = host
        self.port = port
        self.token = token
        self.base = base
        self.timeout = timeout if timeout is not None else scaled(30)
        self._conn = None

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def with_token(self, token):
        return FhirClient(self.port, token, self.host, self.base, self.timeout)

    def _path(self, path):
        """`path` relative to the FHIR base ("/Patient/1"), absolute ("/healthz" with
        base=""), or a full URL from a Bundle link."""
        if path.startswith("http://") or path.startswith("https://"):
            parts = urllib.parse.urlsplit(path)
            return parts.path + ("?" + parts.query if parts.query else "")
        if not path.startswith("/"):
            path = "/" + path
        return self.base + path

    def request(self, method, path, body=None, headers=None, token=Ellipsis,
                content_type="application/fhir+json"):
        url = self._path(path)
        hdrs = {"Accept": "application/fhir+json"}
        tok = self.token if token is Ellipsis else token
        if tok is not None:
            hdrs["Authorization"] = "Bearer " + tok
        if body is not None:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode("utf-8")
            elif isinstance(body, str):
                body = body.encode("utf-8")
            if content_type:
                hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self._conn.request(method, url, body=body, headers=hdrs)
                res = self._conn.getresponse()
                data = res.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                    http.client.CannotSendRequest):
                # The server closed an idle keep-alive connection: retry once on a fresh one.
                self.close()
                if attempt == 1:
                    raise
                continue
            out = {}
            for name, value in res.getheaders():
                key = name.lower()
                out[key] = out[key] + ", " + value if key in out else value
            if res.will_close:
                self.close()
            return Response(res.status, out, data)
        raise AssertionError("unreachable")

    # FHIR shortcuts -------------------------------------------------------------

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create(self, resource, **kw):
        """POSTs the resource; returns the stored resource (asserts 201)."""
        res = self.post("/" + resource["resourceType"], resource, **kw)
        if res.status != 201:
            raise AssertionError("create %s: %r" % (resource["resourceType"], res))
        return res.json()

    def search(self, type_and_query, **kw):
        """GET search; returns the Bundle (asserts 200)."""
        path = type_and_query
        if not path.startswith(("http://", "https://")):
            path = "/" + path.lstrip("/")
        res = self.get(path, **kw)
        if res.status != 200:
            raise AssertionError("search %s: %r" % (type_and_query, res))
        return res.json()

    def total(self, type_and_query):
        """The Bundle total of a `_summary=count` search."""
        sep = "&" if "?" in type_and_query else "?"
        bundle = self.search(type_and_query + sep + "_summary=count")
        return bundle["total"]

    def transaction(self, entries, bundle_type="transaction", **kw):
        return self.post("/", {"resourceType": "Bundle", "type": bundle_type, "entry": entries},
                         **kw)


def entries(bundle, mode=None):
    """The entry resources of a Bundle: search.mode == mode, or (mode None) every
    entry but the `outcome` ones (the warning about ignored parameters)."""
    out = []
    for e in bundle.get("entry", []):
        got = e.get("search", {}).get("mode", "match")
        if (mode is None and got == "outcome") or (mode is not None and got != mode):
            continue
        if "resource" in e:
            out.append(e["resource"])
    return out


def ids(bundle, mode=None, type_=None):
    return sorted(r.get("id", "?") for r in entries(bundle, mode)
                  if type_ is None or r["resourceType"] == type_)


def link(bundle, relation):
    for l in bundle.get("link", []):
        if l.get("relation") == relation:
            return l.get("url")
    return None


def is_outcome(res):
    try:
        return res.json().get("resourceType") == "OperationOutcome"
    except ValueError:
        return False


def raw_http(port, data, timeout=None, host="127.0.0.1"):
    """Sends raw bytes and returns whatever comes back until the server closes or
    pauses; for requests http.client would refuse to make."""
    timeout = timeout if timeout is not None else scaled(20)
    out = b""
    with socket.create_connection((host, port), timeout=timeout) as s:
        # Send in pieces and stop as soon as the server answers (a 413 comes
        # before the body is read): writing on would only earn a reset that can
        # discard the answer.
        view = memoryview(data)
        try:
            while view:
                readable, _, _ = select.select([s], [], [], 0)
                if readable:
                    break
                sent = s.send(view[:65536])
                view = view[sent:]
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    return out


def parse_status(raw):
    """The status code of a raw HTTP response (None if there is none)."""
    if not raw.startswith(b"HTTP/1."):
        return None
    return int(raw.split(b" ", 2)[1])


# --------------------------------------------------------------------------
# Server


def fhir_config(workdir, *, channels=None, http=None, auth=None, fhir_store=None):
    """The config as a dict (written as JSON, which YAML reads as flow style)."""
    store_dir = os.path.join(workdir, "store")
    os.makedirs(store_dir, exist_ok=True)
    if channels is None:
        channels = [{"name": "to-record",
                     "source": {"mllp": {"listen": "127.0.0.1:0"}},
                     "destinations": [{"name": "record", "fhir-store": {}}]},
                    {"name": "http-in",
                     "source": {"http": {"path": "/hl7/in"}},
                     "destinations": [{"name": "record", "fhir-store": {}}]}]
    cfg = {
        "log": {"level": "info"},
        "server": {"io_threads": 2},
        "store": {"sqlite": os.path.join(store_dir, "junction.db")},
        "fhir_store": {"sqlite": os.path.join(store_dir, "junction-fhir.db")},
        "http": {"listen": "127.0.0.1:0"},
        "auth": {"issuer": ISSUER, "audience": AUDIENCE, "hs256_secret": HS256_SECRET,
                 "clients": [{"id": CLIENT_ID,
                              "secret_sha256": hashlib.sha256(CLIENT_SECRET.encode()).hexdigest(),
                              "scopes": CLIENT_SCOPES}]},
        "channels": channels,
    }
    cfg["http"].update(http or {})
    cfg["auth"].update(auth or {})
    cfg["fhir_store"].update(fhir_store or {})
    return cfg


class FhirServer:
    """A started `junction serve` with /fhir; `client()` gives an authorized client."""

    def __init__(self, workdir, **config_options):
        os.makedirs(workdir, exist_ok=True)
        cfg = fhir_config(workdir, **config_options)
        self.serve = harness.Serve(workdir, None, config_text=json.dumps(cfg, indent=2) + "\n")
        self.serve.start()
        if self.serve.http_port is None:
            self.serve.kill()
            raise AssertionError("no 'junction: listening http' line\n%s" % self.serve.logs())
        self.port = self.serve.http_port
        self._tokens = {}

    @property
    def config_path(self):
        return self.serve.config_path

    def token(self, scope=ADMIN_SCOPE, patient=None, ttl="1h"):
        """A token from `junction token` (cached per scope/patient)."""
        key = (scope, patient, ttl)
        if key not in self._tokens:
            self._tokens[key] = harness.mint_token(self.config_path, CLIENT_ID, scope,
                                                   patient, ttl)
        return self._tokens[key]

    def client(self, scope=ADMIN_SCOPE, patient=None, token=Ellipsis, base="/fhir"):
        tok = self.token(scope, patient) if token is Ellipsis else token
        return FhirClient(self.port, tok, base=base)

    def alive(self):
        """True when /healthz and /fhir/metadata both answer 200."""
        plain = FhirClient(self.port, None, base="")
        try:
            return (plain.get("/healthz").status == 200 and
                    plain.get("/fhir/metadata").status == 200)
        finally:
            plain.close()

    def stop(self):
        return self.serve.stop()

    def logs(self):
        return self.serve.logs()


class FhirTestCase(unittest.TestCase):
    """One server for the whole class (starting one per test would cost too much);
    tests keep apart by using unique identifiers and names (uniq())."""

    server_options = {}
    server = None

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="junction-fhir-")
        try:
            cls.server = FhirServer(os.path.join(cls._tmp.name, "serve"), **cls.server_options)
        except BaseException:
            cls._tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.server is not None:
                harness.stop_cleanly(cls.server)
        finally:
            cls._tmp.cleanup()

    def setUp(self):
        self._clients = []

    def tearDown(self):
        for c in self._clients:
            c.close()

    def client(self, scope=ADMIN_SCOPE, patient=None, token=Ellipsis, base="/fhir"):
        c = self.server.client(scope, patient, token, base)
        self._clients.append(c)
        return c

    def assertStatus(self, res, *statuses):
        self.assertIn(res.status, statuses, "expected %s, got %r" % (statuses, res))

    def assertOutcome(self, res, *statuses):
        """An error answer: one of `statuses` with an OperationOutcome body."""
        self.assertStatus(res, *statuses)
        self.assertTrue(is_outcome(res), "not an OperationOutcome: %r" % res)
        self.assertTrue(res.json().get("issue"), "OperationOutcome without issue: %r" % res)


def wait_for(predicate, timeout, interval=0.1, message="condition"):
    """Polls `predicate` until it returns a truthy value (returned) or the timeout passes."""
    deadline = time.monotonic() + scaled(timeout)
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("%s not reached within %.0f s (last: %r)"
                         % (message, scaled(timeout), last))
