"""The admin API (/api) of the real `junction serve`, against docs/admin-api.md (issue 7).

- Roles: no token or a bad one -> 401; a token without viewer/operator/admin
  -> 403 everywhere but /api/whoami; viewer reads only; operator also
  reprocesses, resends and runs channels; only admin validates and reloads.
- Channels: counts move with MLLP traffic; pause stores but does not process;
  stop refuses (nothing stored); a paused destination holds only its queue;
  unknown names 404; the detail shows settings and never a secret.
- Messages: every list filter, limit bounds, keyset paging through several
  pages; the detail (raw, tree with names and decoded values, transformed,
  deliveries, FHIR); reprocess, resend and bulk reprocess; text that is not
  HTML-safe or not UTF-8 comes back as valid JSON.
- Status, rates, config validate and reload; the static console files.

One server per class (a start costs about a second); tests keep apart by
channel and by unique control and patient ids.
"""

import datetime
import json
import os
import re
import tempfile
import time
import unittest
import uuid

import harness
from admin_client import (AdminServer, closed_port, file_dest, mllp_source,
                          strict_json, wait_until)
from fhir_client import claims, hs256_jwt, parse_status, raw_http
from harness import make_message, scaled

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def uniq(prefix):
    return "%s%s" % (prefix, uuid.uuid4().hex[:10].upper())


def oru(control_id, patient_id, text="GLUCOSE"):
    return make_message(control_id, msg_type="ORU^R01^ORU_R01", patient_id=patient_id,
                        extra_segments=("OBR|1||%s|GLU^Glucose" % control_id,
                                        "OBX|1|ST|GLU^Glucose||%s||||||F" % text))


def iso_ms(micros):
    t = datetime.datetime.fromtimestamp(micros // 1000 / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (micros // 1000 % 1000)


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)


class AdminTestCase(unittest.TestCase):
    """Starts one AdminServer for the class with `channels(out_dir)`."""

    http_options = None
    server = None

    @classmethod
    def channels(cls, out_dir):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="junction-admin-")
        cls.out_dir = os.path.join(cls._tmp.name, "out")
        try:
            cls.server = AdminServer(os.path.join(cls._tmp.name, "serve"),
                                     cls.channels(cls.out_dir), http=cls.http_options)
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

    # Shortcuts -------------------------------------------------------------

    def client(self, scope=None, patient=None, token=Ellipsis):
        return self.server.client(scope, patient, token)

    def viewer(self):
        return self.client("viewer")

    def operator(self):
        return self.client("operator")

    def admin(self):
        return self.client("admin")

    def config_bytes(self):
        with open(self.server.config_path, "rb") as f:
            return f.read()

    def assertError(self, res, status):
        self.assertEqual(res.status, status, res)
        body = strict_json(res)
        self.assertIsInstance(body.get("error"), str, res)
        self.assertTrue(body["error"], res)

    def channel(self, name, client=None):
        return (client or self.viewer()).get_json("/api/channels/" + name)

    def channel_from_list(self, name):
        for c in self.viewer().get_json("/api/channels")["channels"]:
            if c["name"] == name:
                return c
        raise AssertionError("no channel %s in the list" % name)

    def destination(self, channel_json, name):
        for d in channel_json["destinations"]:
            if d["name"] == name:
                return d
        raise AssertionError("no destination %s in %r" % (name, channel_json))

    def find(self, **filters):
        return self.viewer().messages(**filters)["messages"]

    def one(self, control_id):
        rows = self.find(control_id=control_id)
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def detail(self, message_id):
        return self.viewer().get_json("/api/messages/%d" % message_id)

    def wait_status(self, control_id, status, timeout=None):
        return wait_until(
            lambda: [m for m in self.find(control_id=control_id) if m["status"] == status],
            timeout or scaled(20), "%s to be %s" % (control_id, status))[0]

    def wait_deliveries(self, message_id, n, status="sent", timeout=None):
        def done():
            d = self.detail(message_id)["deliveries"]
            return d if len(d) >= n and all(x["status"] in (status, "error") for x in d[:n]) \
                and sum(x["status"] == status for x in d) >= n else None
        return wait_until(done, timeout or scaled(20),
                          "%d %s deliveries of message %d" % (n, status, message_id))


def main_channels(out_dir):
    """The channels of AdminApiTest."""
    return [
        # The transform changes MSH-5, so `transformed` differs from `raw`.
        {"name": "inbound", "source": mllp_source(),
         "transform": [{"set": {"path": "MSH-5", "value": "EHR"}}],
         "destinations": [file_dest("archive", os.path.join(out_dir, "inbound"))]},
        {"name": "pausable", "source": mllp_source(),
         "destinations": [file_dest("out", os.path.join(out_dir, "pausable"))]},
        {"name": "stoppable", "source": mllp_source(),
         "destinations": [file_dest("out", os.path.join(out_dir, "stoppable"))]},
        {"name": "roles", "source": mllp_source(),
         "destinations": [file_dest("out", os.path.join(out_dir, "roles"))]},
        {"name": "destpause", "source": mllp_source(),
         "destinations": [file_dest("a", os.path.join(out_dir, "destpause-a")),
                          file_dest("b", os.path.join(out_dir, "destpause-b"))]},
        # Delivers nowhere (a closed port) with a credential in a header.
        {"name": "secret", "source": mllp_source(),
         "destinations": [{"name": "ehr",
                           "http": {"url": "http://127.0.0.1:%d/hl7" % closed_port(),
                                    "headers": {"X-Api-Key": "SECRET-VALUE"},
                                    "timeout": "2s"},
                           "retry": {"max_attempts": 3, "backoff": "200ms..500ms"},
                           "ordering": "strict"}]},
        # Every message fails in the channel transform.
        {"name": "failing", "source": mllp_source(),
         "transform": [{"lua": "error('deliberate failure')"}],
         "destinations": [file_dest("out", os.path.join(out_dir, "failing"))]},
    ]


class AdminApiTest(AdminTestCase):

    @classmethod
    def channels(cls, out_dir):
        return main_channels(out_dir)

    # ------------------------------------------------------------------ roles

    def test_no_token_or_bad_token_is_401(self):
        now = int(time.time())
        bad = {
            "none": None,
            "not a jwt": "not.a.jwt",
            "wrong key": hs256_jwt(claims("admin"),
                                   secret="another-secret-that-is-long-enough-0123456789"),
            "expired": hs256_jwt(claims("admin", now=now - 7200, ttl=3600)),
            "alg none": hs256_jwt(claims("admin"), header={"alg": "none", "typ": "JWT"}),
            "wrong audience": hs256_jwt(claims("admin", aud="someone-else")),
        }
        # The control: the same hand-minting with the right key is accepted.
        self.assertEqual(self.client(token=hs256_jwt(claims("admin"))).get(
            "/api/channels").status, 200)
        for what, token in bad.items():
            c = self.client(token=token)
            for method, path in (("GET", "/api/whoami"), ("GET", "/api/channels"),
                                 ("GET", "/api/messages"), ("GET", "/api/status"),
                                 ("POST", "/api/channels/roles/pause"),
                                 ("POST", "/api/config/reload")):
                with self.subTest(token=what, path=path):
                    res = c.request(method, path, b"" if method == "POST" else None)
                    self.assertError(res, 401)
        self.assertEqual(self.channel("roles")["state"], "running")

    def test_token_without_a_role_is_403_but_may_ask_who_it_is(self):
        c = self.client("hl7")
        me = c.get_json("/api/whoami")
        self.assertIsNone(me["role"])
        self.assertEqual(me["scopes"], ["hl7"])
        for path in ("/api/channels", "/api/channels/inbound", "/api/messages", "/api/status",
                     "/api/stats/rate"):
            with self.subTest(path=path):
                self.assertError(c.get(path), 403)
        self.assertError(c.post("/api/channels/roles/pause", b""), 403)

    def test_whoami(self):
        cases = [("viewer", None, "viewer"), ("operator", None, "operator"),
                 ("admin", None, "admin"), ("viewer operator", None, "operator"),
                 ("viewer admin operator", None, "admin"), ("viewer", "PAT-77", "viewer")]
        for scope, patient, role in cases:
            with self.subTest(scope=scope, patient=patient):
                res = self.client(scope, patient).get("/api/whoami")
                self.assertEqual(res.status, 200, res)
                me = strict_json(res)
                self.assertEqual(me["role"], role)
                self.assertEqual(me["patient"], patient)
                self.assertEqual(me["client_id"], "demo-app")
                self.assertEqual(me["subject"], "demo-app")
                self.assertEqual(sorted(me["scopes"]), sorted(scope.split()))

    def write_requests(self, message_id):
        """Every operator or admin request of the API (method, path, body)."""
        return [
            ("POST", "/api/messages/%d/reprocess" % message_id, b""),
            ("POST", "/api/messages/%d/resend" % message_id, {"destination": "out"}),
            ("POST", "/api/messages/reprocess", {"channel": "roles"}),
            ("POST", "/api/channels/roles/pause", b""),
            ("POST", "/api/channels/roles/stop", b""),
            ("POST", "/api/channels/roles/start", b""),
            ("POST", "/api/channels/roles/destinations/out/pause", b""),
            ("POST", "/api/channels/roles/destinations/out/start", b""),
            ("POST", "/api/config/validate", self.config_bytes()),
            ("POST", "/api/config/reload", b""),
        ]

    def test_viewer_reads_everything_and_changes_nothing(self):
        cid = uniq("ROLEV")
        self.server.send("roles", [make_message(cid)])
        mid = self.wait_status(cid, "sent")["id"]
        v = self.viewer()
        for path in ("/api/channels", "/api/channels/roles", "/api/messages",
                     "/api/messages?channel=roles", "/api/messages/%d" % mid, "/api/status",
                     "/api/stats/rate", "/api/whoami"):
            with self.subTest(path=path):
                res = v.get(path)
                self.assertEqual(res.status, 200, res)
                strict_json(res)
        for method, path, body in self.write_requests(mid):
            with self.subTest(path=path):
                self.assertError(v.request(method, path, body), 403)
        # Nothing happened: the channel runs, the message was not sent again.
        c = self.channel("roles")
        self.assertEqual(c["state"], "running")
        self.assertEqual(self.destination(c, "out")["state"], "running")
        time.sleep(0.3)
        self.assertEqual(len(self.detail(mid)["deliveries"]), 1)

    def test_operator_runs_channels_but_not_the_config(self):
        cid = uniq("ROLEO")
        self.server.send("roles", [make_message(cid)])
        mid = self.wait_status(cid, "sent")["id"]
        op = self.operator()
        config_text = self.config_bytes()
        self.assertError(op.request("POST", "/api/config/validate", config_text), 403)
        self.assertError(op.request("POST", "/api/config/reload", b""), 403)
        self.assertEqual(op.post_json("/api/channels/roles/pause")["state"], "paused")
        self.assertEqual(self.channel("roles")["state"], "paused")
        self.assertEqual(op.post_json("/api/channels/roles/start")["state"], "running")
        got = op.post_json("/api/channels/roles/destinations/out/pause")
        self.assertEqual(self.destination(got, "out")["state"], "paused")
        got = op.post_json("/api/channels/roles/destinations/out/start")
        self.assertEqual(self.destination(got, "out")["state"], "running")
        self.assertEqual(op.post_json("/api/messages/%d/reprocess" % mid)["reprocessed"], [mid])
        self.wait_deliveries(mid, 2)
        res = op.post_json("/api/messages/%d/resend" % mid, {"destination": "out"})
        self.assertEqual(res["delivery"]["destination"], "out")
        self.wait_deliveries(mid, 3)
        self.assertEqual(op.post_json("/api/messages/reprocess",
                                      {"control_id": cid})["reprocessed"], [mid])
        self.wait_deliveries(mid, 4)

    def test_admin_may_validate(self):
        config_text = self.config_bytes()
        res = self.admin().post_json("/api/config/validate", config_text)
        self.assertEqual(res, {"ok": True})
        # An admin is also an operator and a viewer.
        self.assertEqual(self.admin().post_json("/api/channels/roles/pause")["state"], "paused")
        self.assertEqual(self.admin().post_json("/api/channels/roles/start")["state"], "running")
        self.assertEqual(self.admin().get("/api/status").status, 200)

    # --------------------------------------------------------------- channels

    def test_channel_list_counts_move_with_traffic(self):
        before = self.channel_from_list("inbound")
        self.assertEqual(before["state"], "running")
        self.assertEqual(before["source"]["kind"], "mllp")
        for key in ("received", "filtered", "processed", "errored", "waiting"):
            self.assertIsInstance(before["counts"][key], int, key)
        archive = self.destination(before, "archive")
        self.assertEqual(archive["kind"], "file")
        self.assertEqual(archive["state"], "running")
        self.assertIs(archive["blocked"], False)
        for key in ("queued", "sent", "errored", "filtered"):
            self.assertIsInstance(archive["counts"][key], int, key)
        self.assertNotIn("config", before)  # only the detail has the settings
        tag = uniq("CNT")
        self.server.send("inbound", [make_message("%s-%d" % (tag, i)) for i in range(3)])
        for i in range(3):
            self.wait_status("%s-%d" % (tag, i), "sent")

        def moved():
            c = self.channel_from_list("inbound")
            a = self.destination(c, "archive")
            return c if (c["counts"]["received"] >= before["counts"]["received"] + 3 and
                         a["counts"]["sent"] >= archive["counts"]["sent"] + 3) else None
        after = wait_until(moved, scaled(15), "the counts to move")
        self.assertGreaterEqual(after["counts"]["processed"], before["counts"]["processed"] + 3)

    def test_source_address_is_the_bound_one(self):
        """The console tells operators where to send: with `listen: 127.0.0.1:0` that is
        the port actually bound (as `junction: listening mllp` prints), not port 0."""
        channels = self.viewer().get_json("/api/channels")["channels"]
        self.assertEqual({c["name"]: c["source"]["address"] for c in channels},
                         {c["name"]: "127.0.0.1:%d" % self.server.mllp_port(c["name"])
                          for c in channels})

    def test_pause_stores_but_does_not_process_until_start(self):
        op = self.operator()
        res = op.post_json("/api/channels/pausable/pause")
        self.assertEqual(res["name"], "pausable")
        self.assertEqual(res["state"], "paused")
        try:
            tag = uniq("PAUSE")
            ids = ["%s-%d" % (tag, i) for i in range(2)]
            self.assertEqual(self.server.send("pausable", [make_message(c) for c in ids]),
                             ["AA", "AA"])
            time.sleep(scaled(0.5))  # time enough to be processed, were it running
            held = self.find(channel="pausable", status="received")
            self.assertEqual(sorted(m["control_id"] for m in held if m["control_id"] in ids),
                             sorted(ids))
            self.assertEqual(self.channel_from_list("pausable")["state"], "paused")
            wait_until(lambda: self.channel("pausable")["counts"]["waiting"] >= 2, scaled(10),
                       "waiting >= 2 while paused")
            self.assertFalse(os.path.exists(os.path.join(self.out_dir, "pausable", ids[0] +
                                                         ".hl7")))
        finally:
            res = op.post_json("/api/channels/pausable/start")
        self.assertEqual(res["state"], "running")
        for c in ids:
            self.wait_status(c, "sent")
            self.assertTrue(os.path.exists(os.path.join(self.out_dir, "pausable", c + ".hl7")))
        self.assertEqual(self.find(channel="pausable", status="received"), [])

    def test_stop_refuses_and_stores_nothing(self):
        op = self.operator()
        self.assertEqual(op.post_json("/api/channels/stoppable/stop")["state"], "stopped")
        cid = uniq("STOP")
        try:
            self.assertEqual(self.channel("stoppable")["state"], "stopped")
            # docs/admin-api.md: the listener is closed (connection refused);
            # a listener kept open must at least refuse with AR/CR.
            try:
                with harness.MllpConnection(self.server.mllp_port("stoppable"),
                                            timeout=scaled(10)) as conn:
                    code, _, segments = conn.roundtrip(make_message(cid))
                self.assertIn(code, ("AR", "CR"), segments)
            except ConnectionRefusedError:
                pass
            time.sleep(scaled(0.3))
            self.assertEqual(self.find(control_id=cid), [])
        finally:
            self.assertEqual(op.post_json("/api/channels/stoppable/start")["state"], "running")
        self.assertEqual(self.server.send("stoppable", [make_message(cid)]), ["AA"])
        self.wait_status(cid, "sent")

    def test_paused_destination_holds_only_its_queue(self):
        op = self.operator()
        res = op.post_json("/api/channels/destpause/destinations/a/pause")
        self.assertEqual(self.destination(res, "a")["state"], "paused")
        self.assertEqual(self.destination(res, "b")["state"], "running")
        self.assertEqual(res["state"], "running")
        tag = uniq("DP")
        ids = ["%s-%d" % (tag, i) for i in range(3)]
        try:
            self.server.send("destpause", [make_message(c) for c in ids])
            b_dir = os.path.join(self.out_dir, "destpause-b")
            a_dir = os.path.join(self.out_dir, "destpause-a")
            wait_until(lambda: all(os.path.exists(os.path.join(b_dir, c + ".hl7")) for c in ids),
                       scaled(20), "b to deliver")

            def held():
                a = self.destination(self.channel("destpause"), "a")
                return a if a["counts"]["queued"] >= 3 else None
            a = wait_until(held, scaled(10), "a's queue to hold 3")
            self.assertEqual(a["state"], "paused")
            self.assertIsNotNone(a["oldest_queued_at"])
            self.assertRegex(a["oldest_queued_at"], ISO_MS)
            self.assertFalse(any(os.path.exists(os.path.join(a_dir, c + ".hl7")) for c in ids))
            for c in ids:
                self.assertEqual(self.one(c)["status"], "queued")
        finally:
            res = op.post_json("/api/channels/destpause/destinations/a/start")
        self.assertEqual(self.destination(res, "a")["state"], "running")
        for c in ids:
            self.wait_status(c, "sent")
            self.assertTrue(os.path.exists(os.path.join(a_dir, c + ".hl7")))
        wait_until(lambda: self.destination(self.channel("destpause"), "a")["counts"]["queued"]
                   == 0, scaled(10), "a's queue to drain")

    def test_unknown_names_are_404(self):
        op = self.operator()
        self.assertError(self.viewer().get("/api/channels/no-such-channel"), 404)
        self.assertError(op.post("/api/channels/no-such-channel/pause", b""), 404)
        self.assertError(op.post("/api/channels/no-such-channel/start", b""), 404)
        self.assertError(op.post("/api/channels/inbound/destinations/nope/pause", b""), 404)
        self.assertError(op.post("/api/channels/inbound/destinations/nope/start", b""), 404)
        self.assertError(op.post("/api/channels/no-such/destinations/archive/pause", b""), 404)
        self.assertError(self.viewer().get("/api/messages/987654321"), 404)
        self.assertError(self.viewer().get("/api/no-such-route"), 404)
        self.assertEqual(self.channel("inbound")["state"], "running")

    def test_channel_detail_has_settings_but_never_secrets(self):
        v = self.viewer()
        res = v.get("/api/channels/secret")
        self.assertEqual(res.status, 200, res)
        detail = strict_json(res)
        self.assertIn("config", detail)
        self.assertEqual(detail["config"]["source"]["kind"], "mllp")
        ehr = self.destination(detail, "ehr")
        settings = ehr["settings"]
        self.assertEqual(settings["kind"], "http")
        self.assertEqual(settings["ordering"], "strict")
        self.assertIn("127.0.0.1", settings["target"])
        self.assertEqual(settings["headers"], ["X-Api-Key"])
        inbound = self.channel("inbound")
        self.assertTrue(inbound["config"]["has_rules"])
        self.assertEqual(self.destination(inbound, "archive")["settings"]["target"],
                         os.path.join(self.out_dir, "inbound"))
        # Make the destination try (and fail) once, then look everywhere.
        self.server.send("secret", [make_message(uniq("SEC"))])
        wait_until(lambda: self.destination(self.channel("secret"), "ehr")["last_error"],
                   scaled(15), "the http destination to fail")
        hs_secret = self.server.config["auth"]["hs256_secret"]
        for path in ("/api/channels/secret", "/api/channels", "/api/status"):
            body = v.get(path).body
            self.assertNotIn(b"SECRET-VALUE", body, path)
            self.assertNotIn(hs_secret.encode(), body, path)
        self.assertNotIn(b"SECRET-VALUE", self.client().get("/metrics").body)

    # --------------------------------------------------------------- messages

    def test_list_filters(self):
        tag = uniq("F")
        pid_a, pid_b = tag + "PA", tag + "PB"
        batch1 = [make_message(tag + "-A1", patient_id=pid_a),
                  oru(tag + "-O1", pid_a, text=tag + "-needle"),
                  oru(tag + "-O2", pid_b)]
        self.server.send("inbound", batch1)
        first_ids = [self.one(tag + c)["id"] for c in ("-A1", "-O1", "-O2")]
        time.sleep(0.05)  # batch 2 gets later received_at milliseconds
        batch2 = [make_message(tag + "-A2", patient_id=pid_b, msg_type="ADT^A08^ADT_A01"),
                  oru(tag + "-O3", pid_b)]
        self.server.send("inbound", batch2)
        self.server.send("failing", [make_message(tag + "-E1", patient_id=pid_a)])
        for c in ("-A1", "-O1", "-O2", "-A2", "-O3"):
            self.wait_status(tag + c, "sent")
        self.wait_status(tag + "-E1", "error")

        def cids(**filters):
            return [m["control_id"] for m in self.find(**filters)
                    if m["control_id"].startswith(tag)]

        o3 = self.one(tag + "-O3")
        self.assertEqual(o3["channel"], "inbound")
        self.assertEqual(o3["type"], "ORU^R01")
        self.assertEqual(o3["patient_id"], pid_b)
        self.assertEqual(o3["status"], "sent")
        self.assertIsNone(o3["error"])
        self.assertEqual(o3["size"], len(oru(tag + "-O3", pid_b)))
        self.assertRegex(o3["received_at"], ISO_MS)
        # Newest first everywhere.
        self.assertEqual(cids(patient_id=pid_b), [tag + "-O3", tag + "-A2", tag + "-O2"])
        self.assertEqual(cids(patient_id=pid_a), [tag + "-E1", tag + "-O1", tag + "-A1"])
        self.assertEqual(cids(patient_id=pid_a, channel="inbound"), [tag + "-O1", tag + "-A1"])
        self.assertEqual(cids(patient_id=pid_a, channel="failing"), [tag + "-E1"])
        self.assertEqual(cids(patient_id=pid_a, status="error"), [tag + "-E1"])
        self.assertEqual(cids(patient_id=pid_a, status="sent"), [tag + "-O1", tag + "-A1"])
        self.assertEqual(cids(patient_id=pid_b, type="ORU"), [tag + "-O3", tag + "-O2"])
        self.assertEqual(cids(patient_id=pid_b, type="ORU^R01"), [tag + "-O3", tag + "-O2"])
        self.assertEqual(cids(patient_id=pid_b, type="ADT^A08"), [tag + "-A2"])
        self.assertEqual(cids(patient_id=pid_b, type="ADT^A01"), [])
        self.assertEqual(cids(control_id=tag + "-O2"), [tag + "-O2"])
        self.assertEqual(cids(q=tag + "-needle"), [tag + "-O1"])
        self.assertEqual(cids(q=tag + "-needle", channel="failing"), [])
        # since/until: the boundary is batch 2's first received_at (ms precision).
        a2 = self.one(tag + "-A2")
        boundary = a2["received_at"]
        self.assertGreater(a2["id"], max(first_ids))
        self.assertEqual(cids(channel="inbound", since=boundary), [tag + "-O3", tag + "-A2"])
        self.assertEqual(cids(channel="inbound", since="5m", until=boundary),
                         [tag + "-O2", tag + "-O1", tag + "-A1"])
        self.assertEqual(cids(channel="inbound", since=boundary, until=boundary), [])
        self.assertEqual(cids(channel="inbound", since="15m", type="ORU"),
                         [tag + "-O3", tag + "-O2", tag + "-O1"])
        future = iso_ms(int((time.time() + 3600) * 1e6))
        self.assertEqual(cids(since=future), [])
        self.assertEqual(cids(patient_id=pid_a, since="2000-01-01"),
                         [tag + "-E1", tag + "-O1", tag + "-A1"])

    def test_list_bounds_and_bad_filters_are_400(self):
        v = self.viewer()
        for query in ("limit=0", "limit=501", "limit=-1", "limit=abc", "limit=10x",
                      "status=bogus", "since=yesterday", "until=soon", "cursor=abc",
                      "type=A^B^C^D"):
            with self.subTest(query=query):
                self.assertError(v.get("/api/messages?" + query), 400)
        self.assertEqual(v.get("/api/messages?limit=500").status, 200)
        self.assertEqual(v.get("/api/messages?limit=1").status, 200)
        # The default page is 50.
        tag = uniq("DEF")
        self.server.send("inbound", [make_message("%s-%d" % (tag, i), patient_id=tag)
                                     for i in range(52)])
        wait_until(lambda: len(self.find(patient_id=tag, limit=100)) == 52, scaled(20),
                   "52 stored")
        page = v.messages(patient_id=tag)
        self.assertEqual(len(page["messages"]), 50)
        self.assertIn("next_cursor", page)

    def test_keyset_paging(self):
        tag = uniq("PG")
        n = 20
        self.server.send("inbound", [make_message("%s-%02d" % (tag, i), patient_id=tag)
                                     for i in range(n)])
        wait_until(lambda: len(self.find(patient_id=tag, limit=100)) == n, scaled(20),
                   "%d stored" % n)
        everything = [m["id"] for m in self.find(patient_id=tag, limit=100)]
        self.assertEqual(everything, sorted(everything, reverse=True))
        for limit, sizes in ((5, [5, 5, 5, 5]), (7, [7, 7, 6]), (20, [20]), (19, [19, 1])):
            with self.subTest(limit=limit):
                got, pages, cursor = [], [], None
                while True:
                    page = self.viewer().messages(patient_id=tag, limit=limit, cursor=cursor)
                    ids = [m["id"] for m in page["messages"]]
                    pages.append(len(ids))
                    got.extend(ids)
                    cursor = page.get("next_cursor")
                    if cursor is None:
                        break
                    self.assertIsInstance(cursor, str)
                    self.assertLessEqual(len(pages), 10, "paging does not end")
                self.assertEqual(pages, sizes)
                self.assertEqual(got, everything)  # no duplicates, no gaps, newest first
        # A cursor keeps its place while new messages arrive in front of it.
        page1 = self.viewer().messages(patient_id=tag, limit=10)
        self.server.send("inbound", [make_message(tag + "-new", patient_id=tag)])
        page2 = self.viewer().messages(patient_id=tag, limit=10, cursor=page1["next_cursor"])
        self.assertEqual([m["id"] for m in page2["messages"]], everything[10:])
        self.assertNotIn("next_cursor", page2)

    def test_message_detail(self):
        cid = uniq("DET")
        pid = uniq("MRN")
        sent = make_message(cid, patient_id=pid, patient_name="DOE\\T\\SMITH^JANE",
                            sending_app="LABSYS")
        self.server.send("inbound", [sent])
        mid = self.wait_status(cid, "sent")["id"]
        res = self.viewer().get("/api/messages/%d" % mid)
        self.assertEqual(res.status, 200, res)
        self.assertIn("application/json", res.header("Content-Type"))
        d = strict_json(res)
        m = d["message"]
        self.assertEqual(m["id"], mid)
        self.assertEqual(m["control_id"], cid)
        self.assertEqual(m["patient_id"], pid)
        self.assertEqual(m["sending_application"], "LABSYS")
        self.assertEqual(m["channel"], "inbound")
        self.assertEqual(m["type"], "ADT^A01")
        self.assertEqual(d["raw"], sent.decode("latin-1"))
        # The channel transform set MSH-5.
        self.assertIsNotNone(d["transformed"])
        self.assertNotEqual(d["transformed"], d["raw"])
        self.assertEqual(d["transformed"].split("\r")[0].split("|")[4], "EHR")
        self.assertEqual(d["raw"].split("\r")[0].split("|")[4], "JUNCTION")
        # The tree: PID-5 with its dictionary name, raw and decoded value.
        pid_seg = [s for s in d["tree"] if s["segment"] == "PID"]
        self.assertEqual(len(pid_seg), 1)
        self.assertEqual(pid_seg[0]["index"], 1)
        self.assertEqual(pid_seg[0]["line"], 3)
        pid5 = [f for f in pid_seg[0]["fields"] if f["path"] == "PID-5"]
        self.assertEqual(len(pid5), 1, pid_seg)
        self.assertEqual(pid5[0]["name"], "Patient Name")
        self.assertEqual(pid5[0]["raw"], "DOE\\T\\SMITH^JANE")
        self.assertEqual(pid5[0]["value"], "DOE&SMITH^JANE")
        comps = {c["path"]: c for c in pid5[0]["components"]}
        self.assertEqual(comps["PID-5.1"]["name"], "Family Name")
        self.assertEqual(comps["PID-5.1"]["value"], "DOE&SMITH")
        self.assertEqual(comps["PID-5.2"]["value"], "JANE")
        self.assertEqual([s["segment"] for s in d["tree"]], ["MSH", "EVN", "PID", "PV1"])
        # Deliveries.
        self.assertEqual(len(d["deliveries"]), 1)
        delivery = d["deliveries"][0]
        self.assertEqual(delivery["destination"], "archive")
        self.assertEqual(delivery["status"], "sent")
        self.assertEqual(delivery["attempts"], 1)
        self.assertIsNone(delivery["error"])
        self.assertIsNone(delivery["next_attempt_at"])
        self.assertRegex(delivery["updated_at"], ISO_MS)
        self.assertIn("written", delivery["response"])
        # FHIR: a Bundle with the patient.
        self.assertEqual(d["fhir"]["resourceType"], "Bundle")
        patients = [e["resource"] for e in d["fhir"].get("entry", [])
                    if e.get("resource", {}).get("resourceType") == "Patient"]
        self.assertEqual(len(patients), 1, d["fhir"])
        self.assertEqual(patients[0]["name"][0]["family"], "DOE&SMITH")
        self.assertIsInstance(d["fhir_issues"], list)

    def test_reprocess_and_resend(self):
        op = self.operator()
        cid = uniq("RP")
        self.server.send("inbound", [make_message(cid)])
        mid = self.wait_status(cid, "sent")["id"]
        self.assertEqual(len(self.detail(mid)["deliveries"]), 1)
        res = op.post_json("/api/messages/%d/reprocess" % mid)
        self.assertEqual(res["reprocessed"], [mid])
        deliveries = self.wait_deliveries(mid, 2)
        self.assertEqual([x["destination"] for x in deliveries], ["archive", "archive"])
        self.wait_status(cid, "sent")
        res = op.post_json("/api/messages/%d/resend" % mid, {"destination": "archive"})
        delivery = res["delivery"]
        self.assertEqual(delivery["destination"], "archive")
        self.assertIn(delivery["status"], ("queued", "sent"))
        self.assertNotIn(delivery["id"], [x["id"] for x in deliveries])
        deliveries = self.wait_deliveries(mid, 3)
        self.assertEqual(deliveries[-1]["id"], delivery["id"])
        # Bad resends.
        # Not documented for resend: 404 (unknown name) or 400 (bad request) are both fair.
        res = op.post("/api/messages/%d/resend" % mid, {"destination": "nope"})
        self.assertIn(res.status, (400, 404), res)
        self.assertError(res, res.status)
        self.assertError(op.post("/api/messages/%d/resend" % mid, {}), 400)
        self.assertError(op.post("/api/messages/%d/resend" % mid, b"not json"), 400)
        self.assertError(op.post("/api/messages/987654321/resend", {"destination": "archive"}),
                         404)

    def test_bulk_reprocess(self):
        op = self.operator()
        tag = uniq("BULK")
        self.server.send("inbound", [make_message("%s-%d" % (tag, i), patient_id=tag)
                                     for i in range(3)])
        self.server.send("inbound", [make_message(tag + "-other")])
        ids = sorted(self.wait_status("%s-%d" % (tag, i), "sent")["id"] for i in range(3))
        other = self.wait_status(tag + "-other", "sent")["id"]
        res = op.post_json("/api/messages/reprocess", {"patient_id": tag, "channel": "inbound"})
        self.assertEqual(sorted(res["reprocessed"]), ids)
        for mid in ids:
            self.wait_deliveries(mid, 2)
        time.sleep(scaled(0.2))
        self.assertEqual(len(self.detail(other)["deliveries"]), 1)
        # Everything is refused without a filter.
        for body in ({}, {"limit": 10}, {"q": ""}):
            with self.subTest(body=body):
                self.assertError(op.post("/api/messages/reprocess", body), 400)
        self.assertError(op.post("/api/messages/reprocess", b"[1, 2]"), 400)
        self.assertError(op.post("/api/messages/reprocess", b"{"), 400)
        self.assertError(op.post("/api/messages/reprocess", {"patient_id": tag, "limit": 10001}),
                         400)
        self.assertError(op.post("/api/messages/reprocess", {"status": "bogus"}), 400)
        self.assertEqual(len(self.detail(other)["deliveries"]), 1)

    def test_markup_and_invalid_utf8_come_back_as_valid_json(self):
        cid = uniq("XSS")
        name = b"<script>alert('x')</script>^J\xffN\xc3\x28E"
        payload = (b"MSH|^~\\&|LAB|HOSP|JUNCTION|HOSP|20240101120000||ADT^A01^ADT_A01|" +
                   cid.encode() + b"|P|2.5\r"
                   b"PID|1||XSS1^^^HOSP^MR||" + name + b"||19800101|F\r"
                   b"NTE|1||\"quoted\" & <b>bold</b> \x01 \xe2\x82\xac\r")
        self.server.send("inbound", [payload])
        mid = self.wait_status(cid, "sent")["id"]
        res = self.viewer().get("/api/messages/%d" % mid)
        self.assertEqual(res.status, 200, res)
        d = strict_json(res)
        self.assertIn("<script>alert('x')</script>", d["raw"])
        self.assertIn("J\ufffdN\ufffd(E", d["raw"])
        self.assertIn("\"quoted\" & <b>bold</b> \x01 \u20ac", d["raw"])
        pid5 = [f for s in d["tree"] if s["segment"] == "PID" for f in s["fields"]
                if f["path"] == "PID-5"][0]
        self.assertEqual(pid5["value"], "<script>alert('x')</script>^J\ufffdN\ufffd(E")
        listed = strict_json(self.viewer().get("/api/messages?q=%3Cscript%3E&control_id=" + cid))
        self.assertEqual([m["id"] for m in listed["messages"]], [mid])

    # ----------------------------------------------------------------- status

    def test_status(self):
        tag = uniq("ST")
        self.server.send("failing", [make_message(tag + "-E")])
        self.server.send("secret", [make_message(tag + "-Q")])
        failed = self.wait_status(tag + "-E", "error")
        self.assertIn("lua", failed["error"])
        res = self.viewer().get("/api/status")
        self.assertEqual(res.status, 200, res)
        s = strict_json(res)
        self.assertIsInstance(s["uptime_s"], int)
        self.assertGreaterEqual(s["uptime_s"], 0)
        errors = {e["id"]: e for e in s["recent_errors"]}
        self.assertIn(failed["id"], errors)
        self.assertEqual(errors[failed["id"]]["channel"], "failing")
        self.assertIn("lua", errors[failed["id"]]["error"])
        self.assertRegex(errors[failed["id"]]["at"], ISO_MS)
        self.assertEqual(s["store"]["path"], self.server.config["store"]["sqlite"])
        self.assertGreater(s["store"]["bytes"], 0)
        self.assertEqual(s["fhir_store"]["path"], self.server.config["fhir_store"]["sqlite"])
        self.assertIn("last_run_at", s["retention"])
        self.assertIn("last_deleted", s["retention"])

        def queue():
            s = self.viewer().get_json("/api/status")
            q = [x for x in s["queues"] if x["channel"] == "secret" and
                 x["destination"] == "ehr"]
            return (s, q[0]) if q and q[0]["queued"] >= 1 and q[0]["last_error"] else None
        s, q = wait_until(queue, scaled(15), "the secret queue to hold a failing message")
        self.assertIs(q["blocked"], True)
        self.assertRegex(q["oldest_queued_at"], ISO_MS)
        self.assertNotIn("SECRET-VALUE", json.dumps(s))
        # store.messages counts every stored message.
        total = len(self.find(limit=500))
        self.assertLess(total, 500)
        wait_until(lambda: self.viewer().get_json("/api/status")["store"]["messages"] >= total,
                   scaled(10), "store.messages to count %d" % total)

    def test_rate(self):
        self.server.send("inbound", [make_message(uniq("RATE"))])
        res = self.viewer().get("/api/stats/rate")
        self.assertEqual(res.status, 200, res)
        r = strict_json(res)
        self.assertEqual(r["bucket_s"], 10)
        self.assertRegex(r["start"], ISO_MS)
        for key in ("received", "sent", "errored"):
            self.assertIsInstance(r[key], list)
            self.assertTrue(all(isinstance(x, int) and x >= 0 for x in r[key]), r[key])
        self.assertEqual(len(r["received"]), len(r["sent"]))
        self.assertEqual(len(r["received"]), len(r["errored"]))
        # The window ends now: start + buckets * 10 s is within one bucket of now.
        end = parse_iso(r["start"]) + datetime.timedelta(seconds=10 * len(r["received"]))
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - end).total_seconds()), 12, r)
        # Within a bucket's time the message shows up in a bucket.
        r = wait_until(lambda: (lambda r: r if sum(r["received"]) >= 1 else None)(
            self.viewer().get_json("/api/stats/rate")), scaled(25), "a received bucket")
        self.assertLessEqual(len(r["received"]), 360)

    def test_rate_covers_the_last_hour(self):
        """docs/admin-api.md: the last hour in 10-second buckets, `[..360..]`."""
        r = self.viewer().get_json("/api/stats/rate")
        self.assertEqual(len(r["received"]), 360, "%d buckets" % len(r["received"]))

    def test_config_validate(self):
        a = self.admin()
        good = self.config_bytes()
        self.assertEqual(a.post_json("/api/config/validate", good), {"ok": True})
        bad = (b"log:\n  level: info\nstorage:\n  sqlite: x.db\nchannels:\n"
               b"  - name: a\n    source: { mllp: { listen: 127.0.0.1:0 } }\n")
        res = a.post_json("/api/config/validate", bad)
        self.assertIs(res["ok"], False)
        m = re.match(r"^(.+):(\d+): (\S+): (.+)$", res["error"])
        self.assertIsNotNone(m, res)
        self.assertEqual(m.group(2), "3")
        self.assertEqual(m.group(3), "storage")
        bad_value = good.replace(b'"io_threads": 2', b'"io_threads": 0')
        self.assertNotEqual(bad_value, good)
        res = a.post_json("/api/config/validate", bad_value)
        self.assertIs(res["ok"], False)
        self.assertRegex(res["error"], r"^.+:\d+: server\.io_threads: .+$")
        res = a.post_json("/api/config/validate", b"channels: [\n  - {\n")
        self.assertIs(res["ok"], False)
        self.assertRegex(res["error"], r"^.+:\d+: \(yaml\): .+$")
        # Validating changes nothing.
        self.assertEqual(self.channel("inbound")["state"], "running")
        self.assertError(a.get("/api/config/validate"), 405)


class ReloadTest(AdminTestCase):
    """Reload on a server of its own (it rebuilds every runtime)."""

    @classmethod
    def channels(cls, out_dir):
        return [{"name": "r1", "source": mllp_source(),
                 "destinations": [file_dest("out", os.path.join(out_dir, "r1"))]}]

    def test_reload(self):
        a = self.admin()
        port = self.server.mllp_port("r1")
        self.assertEqual(a.post_json("/api/channels/r1/pause")["state"], "paused")
        self.assertEqual(a.post_json("/api/channels/r1/destinations/out/pause")["state"],
                         "paused")
        self.assertEqual(a.post_json("/api/config/reload"), {"ok": True})
        # States are not persisted: a reload starts everything.
        c = self.channel("r1")
        self.assertEqual(c["state"], "running")
        self.assertEqual(self.destination(c, "out")["state"], "running")
        cid = uniq("RL")
        self.assertEqual(self.server.send("r1", [make_message(cid)]), ["AA"])
        self.wait_status(cid, "sent")
        self.assertEqual(self.server.mllp_port("r1"), port)
        # A broken file: the error, and the running configuration stays.
        with open(self.server.config_path, "rb") as f:
            good = f.read()
        try:
            with open(self.server.config_path, "wb") as f:
                f.write(good.replace(b'"channels"', b'"chanels"'))
            res = a.post_json("/api/config/reload")
            self.assertIs(res["ok"], False)
            self.assertRegex(res["error"], r"^%s:\d+: .+: .+$" % re.escape(
                self.server.config_path))
        finally:
            with open(self.server.config_path, "wb") as f:
                f.write(good)
        cid = uniq("RL")
        self.assertEqual(self.server.send("r1", [make_message(cid)]), ["AA"])
        self.wait_status(cid, "sent")
        self.assertError(self.operator().post("/api/config/reload", b""), 403)


class StaticFilesTest(AdminTestCase):
    """GET / serves http.ui_dir, and nothing outside it."""

    INDEX = b"<!doctype html><title>console</title><script src=app.js></script>\n"

    @classmethod
    def setUpClass(cls):
        cls._ui_tmp = tempfile.TemporaryDirectory(prefix="junction-ui-")
        base = cls._ui_tmp.name
        ui = os.path.join(base, "web")
        os.makedirs(os.path.join(ui, "js"))
        with open(os.path.join(ui, "index.html"), "wb") as f:
            f.write(cls.INDEX)
        with open(os.path.join(ui, "js", "app.js"), "wb") as f:
            f.write(b"console.log('hi');\n")
        with open(os.path.join(ui, ".env"), "wb") as f:
            f.write(b"DOTFILE-CONTENT\n")
        with open(os.path.join(base, "outside.txt"), "wb") as f:
            f.write(b"OUTSIDE-CONTENT\n")
        os.symlink(os.path.join(base, "outside.txt"), os.path.join(ui, "link.txt"))
        cls.http_options = {"ui_dir": ui}
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._ui_tmp.cleanup()

    @classmethod
    def channels(cls, out_dir):
        return [{"name": "s", "source": mllp_source()}]

    def test_index_with_security_headers(self):
        c = self.client()
        res = c.get("/")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.body, self.INDEX)
        self.assertTrue(res.header("Content-Type").startswith("text/html"), res.headers)
        csp = res.header("Content-Security-Policy") or ""
        self.assertIn("default-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(res.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(c.get("/index.html").body, self.INDEX)
        js = c.get("/js/app.js")
        self.assertEqual(js.status, 200)
        self.assertTrue(js.header("Content-Type").startswith("text/javascript"), js.headers)
        # The API and health routes are not shadowed by the files.
        self.assertEqual(c.get("/healthz").status, 200)
        self.assertEqual(c.get("/api/whoami").status, 401)

    def test_nothing_outside_and_no_dot_files(self):
        port = self.server.port
        for path in ("/../outside.txt", "/%2e%2e/outside.txt", "/js/../../outside.txt",
                     "/..%2foutside.txt", "/%2E%2E%2Foutside.txt", "/../../../../etc/passwd",
                     "//etc/passwd", "/.env", "/%2eenv", "/js/./app.js", "/link.txt",
                     "/no-such-file", "/js", "/js/"):
            with self.subTest(path=path):
                raw = raw_http(port, ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                      "Connection: close\r\n\r\n" % path).encode())
                self.assertEqual(parse_status(raw), 404, raw[:300])
                self.assertNotIn(b"OUTSIDE-CONTENT", raw)
                self.assertNotIn(b"DOTFILE-CONTENT", raw)
                self.assertNotIn(b"root:", raw)
        self.assertEqual(self.client().request("POST", "/", b"x").status, 405)


if __name__ == "__main__":
    unittest.main()
