"""/metrics, /readyz and /healthz of the real `junction serve` (issue 7, docs/admin-api.md).

- /metrics is Prometheus text format 0.0.4 that a strict parser accepts
  (HELP/TYPE before samples, one series once, float values, histogram
  buckets cumulative with +Inf equal to _count).
- The documented families are there and move: messages per channel after
  MLLP traffic, queue depth of a held destination, ACK latency, store batch
  sizes, HTTP requests per route and status, open MLLP connections.
- No message content reaches /metrics or the logs (a patient name and id
  sent in PID-5/PID-3, a query value sent to /api).
- /readyz 200 {"status":"ready"}, /healthz 200 {"status":"ok"}, no token needed.
"""

import math
import os
import tempfile
import time
import unittest
import uuid

import harness
from admin_client import (AdminServer, file_dest, histogram, mllp_source, parse_prometheus,
                          strict_json, wait_until)
from harness import make_message, scaled

PATIENT_NAME = "ZEBRAFISH^QUINTESSA"
PATIENT_ID = "PHIID98765"


class PrometheusParserTest(unittest.TestCase):
    """The parser the metrics tests rely on must itself refuse malformed text."""

    def test_accepts_the_format(self):
        m = parse_prometheus('# HELP a_total Things.\n# TYPE a_total counter\n'
                             'a_total{x="1",y="q\\"uote"} 3\na_total{x="2"} 4.5e1 1700000000\n'
                             '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\n'
                             'h_sum 0.5\nh_count 2\n')
        self.assertEqual(m.value("a_total", x="1"), 3)
        self.assertEqual(m.find("a_total", x="1")[0][0]["y"], 'q"uote')
        self.assertEqual(m.value("a_total", x="2"), 45)
        self.assertEqual(histogram(m, "h")[0], [(1.0, 1), (math.inf, 2)])

    def test_refuses_malformed(self):
        for text in ("a 1\n",                                       # no TYPE
                     "# TYPE a gauge\na one\n",                     # not a float
                     "# TYPE a gauge\na{x=1} 1\n",                  # unquoted label
                     "# TYPE a gauge\na 1\na 2\n",                  # repeated series
                     "# TYPE a gauge\na 1\n# TYPE a gauge\n",       # TYPE twice
                     "# TYPE a gauge\na 1",                         # no final newline
                     "# TYPE a gauge\na_count 1\n",                 # suffix on a gauge
                     "# TYPE a counter\na -1\n",                    # negative counter
                     "# TYPE a histogram\na 1\n",                   # histogram without suffix
                     "# TYPE a gauge\na 1 2 3\n"):                  # too many tokens
            with self.subTest(text=text):
                with self.assertRaises(ValueError):
                    parse_prometheus(text)


class MetricsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="junction-metrics-")
        out = os.path.join(cls._tmp.name, "out")
        channels = [
            {"name": "m-in", "source": mllp_source(),
             "destinations": [file_dest("files", os.path.join(out, "files"))]},
            {"name": "m-held", "source": mllp_source(),
             "destinations": [file_dest("later", os.path.join(out, "later"))]},
        ]
        try:
            cls.server = AdminServer(os.path.join(cls._tmp.name, "serve"), channels)
        except BaseException:
            cls._tmp.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_cleanly(cls.server)
        finally:
            cls._tmp.cleanup()

    def metrics(self):
        res = self.server.metrics_text()
        self.assertEqual(res.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        return parse_prometheus(res.body.decode("utf-8")), res.body

    def send(self, channel, n, **kw):
        tag = uuid.uuid4().hex[:8].upper()
        ids = ["%s-%d" % (tag, i) for i in range(n)]
        self.server.send(channel, [make_message(c, **kw) for c in ids])
        return ids

    def test_families_types_and_traffic(self):
        m, _ = self.metrics()
        for name, kind in (("junction_messages_received", "gauge"),
                           ("junction_messages_filtered", "gauge"),
                           ("junction_messages_errored", "gauge"),
                           ("junction_messages_sent", "gauge"),
                           ("junction_messages_waiting", "gauge"),
                           ("junction_deliveries_sent", "gauge"),
                           ("junction_deliveries_errored", "gauge"),
                           ("junction_deliveries_filtered", "gauge"),
                           ("junction_queue_depth", "gauge"),
                           ("junction_queue_oldest_age_seconds", "gauge"),
                           ("junction_queue_blocked", "gauge"),
                           ("junction_ingest_messages_total", "counter"),
                           ("junction_ingest_rejected_total", "counter"),
                           ("junction_ack_latency_seconds", "histogram"),
                           ("junction_store_bytes", "gauge"),
                           ("junction_store_batch_size", "histogram"),
                           ("junction_http_requests_total", "counter"),
                           ("junction_open_connections", "gauge")):
            with self.subTest(name=name):
                self.assertEqual(m.types.get(name), kind)
                self.assertIn(name, m.helps)
        ingest_before = m.value("junction_ingest_messages_total")

        c = self.server.client("operator")
        c.post_json("/api/channels/m-held/destinations/later/pause")
        try:
            ids = self.send("m-in", 4)
            held = self.send("m-held", 2)
            viewer = self.server.client("viewer")
            wait_until(lambda: len([x for x in viewer.messages(channel="m-in")["messages"]
                                    if x["control_id"] in ids and x["status"] == "sent"]) == 4,
                       scaled(20), "m-in delivered")

            def settled():
                m, _ = self.metrics()

                def at_least(n, name, **labels):
                    found = m.find(name, **labels)
                    return len(found) == 1 and found[0][1] >= n
                ok = (at_least(4, "junction_messages_received", channel="m-in") and
                      at_least(4, "junction_messages_sent", channel="m-in") and
                      at_least(2, "junction_queue_depth", channel="m-held",
                               destination="later") and
                      at_least(4, "junction_deliveries_sent", channel="m-in",
                               destination="files"))
                return m if ok else None
            m = wait_until(settled, scaled(15), "the store counts in /metrics")
            self.assertEqual(m.value("junction_messages_received", channel="m-held"), 2)
            self.assertEqual(m.value("junction_queue_depth", channel="m-in", destination="files"),
                             0)
            self.assertGreater(m.value("junction_queue_oldest_age_seconds", channel="m-held",
                                       destination="later"), 0)
            self.assertEqual(m.value("junction_queue_oldest_age_seconds", channel="m-in",
                                     destination="files"), 0)
            self.assertEqual(m.value("junction_queue_blocked", channel="m-in",
                                     destination="files"), 0)
            self.assertGreaterEqual(m.value("junction_ingest_messages_total"), ingest_before + 6)
            self.assertGreater(m.value("junction_store_bytes", store="messages"), 0)
        finally:
            c.post_json("/api/channels/m-held/destinations/later/start")
        wait_until(lambda: self.metrics()[0].value("junction_queue_depth", channel="m-held",
                                                   destination="later") == 0,
                   scaled(15), "the held queue to drain")
        self.assertEqual(len(viewer.messages(channel="m-held", status="sent")["messages"]),
                         len(held))

    def check_histogram(self, m, name):
        buckets, count, total = histogram(m, name)
        self.assertGreaterEqual(len(buckets), 2)
        self.assertEqual(buckets[-1][0], math.inf)
        self.assertEqual(buckets[-1][1], count, "+Inf bucket == _count")
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "buckets must not decrease")
        les = [le for le, _ in buckets]
        self.assertEqual(len(set(les)), len(les))
        self.assertGreaterEqual(total, 0)
        return count, total

    def test_ack_latency_histogram(self):
        before, _ = self.check_histogram(self.metrics()[0], "junction_ack_latency_seconds")
        self.send("m-in", 3)
        count, total = self.check_histogram(self.metrics()[0], "junction_ack_latency_seconds")
        self.assertGreaterEqual(count, before + 3,
                                "junction_ack_latency_seconds_count after 3 more ACKs")
        self.assertGreater(total, 0)
        self.assertLess(total / count, 10, "mean ACK latency in seconds")

    def test_store_batch_size_histogram(self):
        self.send("m-in", 3)
        commits, ops = self.check_histogram(self.metrics()[0], "junction_store_batch_size")
        self.assertGreaterEqual(commits, 1)
        self.assertGreaterEqual(ops, commits)  # a commit holds one operation or more

    def test_http_requests_counted_per_route_and_status(self):
        def api_200():
            m, _ = self.metrics()
            found = m.find("junction_http_requests_total", route="/api", status="200")
            return found[0][1] if found else 0
        viewer = self.server.client("viewer")
        viewer.get_json("/api/channels")
        before = wait_until(api_200, scaled(5), "a counted /api 200")
        viewer.get_json("/api/channels")
        viewer.get_json("/api/status")
        wait_until(lambda: api_200() == before + 2, scaled(5), "two more /api 200s")
        self.assertEqual(api_200(), before + 2)  # /metrics requests are not counted as /api
        self.server.client().get("/api/channels")  # 401
        m, _ = self.metrics()
        self.assertGreaterEqual(
            m.value("junction_http_requests_total", route="/api", status="401"), 1)
        self.assertGreaterEqual(
            m.value("junction_http_requests_total", route="/metrics", status="200"), 1)
        self.assertGreaterEqual(m.value("junction_open_connections", protocol="http"), 1)

    def test_open_mllp_connections(self):
        def open_mllp():
            return self.metrics()[0].value("junction_open_connections", protocol="mllp")
        # Every earlier connection of these tests is closed: the gauge comes back to 0.
        wait_until(lambda: open_mllp() == 0, scaled(10), "no open MLLP connection")
        base = 0
        with harness.MllpConnection(self.server.mllp_port("m-in")) as conn:
            code, _, _ = conn.roundtrip(make_message("CONN-" + uuid.uuid4().hex[:6]))
            self.assertEqual(code, "AA")
            with harness.MllpConnection(self.server.mllp_port("m-held")) as conn2:
                self.assertEqual(conn2.roundtrip(make_message("CONN2-" +
                                                              uuid.uuid4().hex[:6]))[0], "AA")
                self.assertEqual(open_mllp(), base + 2)
            wait_until(lambda: open_mllp() == base + 1, scaled(10), "one MLLP connection closed")
        wait_until(lambda: open_mllp() == base, scaled(10), "both MLLP connections closed")

    def test_no_message_content_in_metrics_or_logs(self):
        ids = self.send("m-in", 2, patient_id=PATIENT_ID, patient_name=PATIENT_NAME)
        viewer = self.server.client("viewer")
        # A query value (a patient id) and a body must stay out of the request log.
        found = viewer.messages(patient_id=PATIENT_ID)["messages"]
        self.assertEqual(sorted(x["control_id"] for x in found), sorted(ids))
        self.server.client("operator").post_json("/api/messages/reprocess",
                                                 {"patient_id": PATIENT_ID})
        _, body = self.metrics()
        for secret in (PATIENT_ID, "ZEBRAFISH", "QUINTESSA"):
            self.assertNotIn(secret.encode(), body)
        time.sleep(0.2)
        logs = self.server.serve.stderr_text() + self.server.serve.stdout_text()
        for secret in (PATIENT_ID, "ZEBRAFISH", "QUINTESSA"):
            self.assertNotIn(secret, logs)

    def test_health_and_readiness(self):
        plain = self.server.client()  # no token: these are open
        res = plain.get("/readyz")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(strict_json(res), {"status": "ready"})
        res = plain.get("/healthz")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(strict_json(res), {"status": "ok"})
        res = plain.get("/metrics")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(plain.request("POST", "/metrics", b"").status, 405)


if __name__ == "__main__":
    unittest.main()
