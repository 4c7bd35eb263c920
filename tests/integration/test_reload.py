"""Hot reload (SIGHUP and `junction reload`) end to end.

- Under load: three clients keep sending while the config is rewritten (new
  transform, one more destination) and SIGHUP is sent twice. Every message
  that got AA reaches the destination, each client's messages in order, the
  process is the same, and the new config takes effect.
- `junction reload --config F` applies a good config; a bad one (Lua syntax
  error, unknown key) is refused by the CLI and by SIGHUP, the log says so,
  and the old config keeps running.
- Messages queued for a destination that is down survive a reload and are
  delivered, in order, when it comes back.

Listeners use a port chosen by the test (free at start) so a reload that
keeps the listener keeps the address.
"""

import os
import re
import signal
import threading
import time
import unittest

import harness
from harness import MllpConnection, make_message, scaled
from receivers import (Pusher, Receiver, channel_config, first_arrivals, free_port, hl7_get,
                       junction_cli, message_rows, mllp_dest, rewrite_config, source, wait_until)

REFUSED = re.compile(r"(?i)(reload.*(refus|reject|invalid|fail|keep|error|bad))|"
                     r"((refus|reject|invalid|fail|keep|error|bad).*reload)")


def oru(cid):
    return make_message(cid, msg_type="ORU^R01^ORU_R01", patient_id="P" + cid)


class ReloadTestCase(harness.ServeTestCase):
    def config(self, port, version, destinations):
        ch = {"name": "lab", "source": source(listen="127.0.0.1:%d" % port),
              "transform": [{"set": {"path": "MSH-5", "value": version}}],
              "destinations": destinations}
        return channel_config([ch])

    def start_engine(self, cfg):
        return self.serve(None, config_text=harness.to_yaml(cfg) + "\n")

    def send_one(self, server, cid):
        with MllpConnection(server.port("lab")) as conn:
            code, msa2, segs = conn.roundtrip(oru(cid))
        self.assertEqual((code, msa2), ("AA", cid), segs)

    def wait_version(self, server, rx, version, prefix):
        """Sends probe messages until one arrives transformed by `version`."""
        n = [0]

        def probe():
            n[0] += 1
            cid = "%s-%d" % (prefix, n[0])
            self.send_one(server, cid)
            if not rx.wait_for_ids([cid], scaled(10)):
                return False
            return hl7_get(rx.last_payload(cid), "MSH", 5) == version
        ok = wait_until(probe, scaled(30), interval=0.2)
        self.assertTrue(ok, "config %s never took effect\n%s" % (version, server.logs()))

    def reload_lines(self, server):
        return [l for l in server.stderr_text().splitlines() if "reload" in l.lower()]


class ReloadUnderLoadTest(ReloadTestCase):
    def test_sighup_while_clients_send_loses_nothing(self):
        ehr = Receiver(name="ehr").start()
        extra = Receiver(name="extra").start()
        self.addCleanup(ehr.stop)
        self.addCleanup(extra.stop)
        port = free_port()
        server = self.start_engine(self.config(port, "V1", [mllp_dest("ehr", ehr)]))
        pid = server.proc.pid
        self.assertEqual(server.port("lab"), port)

        stop = threading.Event()
        pushers = [Pusher(port, "HL%d" % t, stop, reconnect=True, pause=0.002)
                   for t in range(3)]
        for p in pushers:
            p.start()
        self.assertTrue(wait_until(lambda: sum(len(p.acked) for p in pushers) >= 100,
                                   scaled(30)), server.logs())

        rewrite_config(server, self.config(port, "V2", [mllp_dest("ehr", ehr),
                                                        mllp_dest("extra", extra)]))
        server.proc.send_signal(signal.SIGHUP)
        mark = sum(len(p.acked) for p in pushers)
        self.assertTrue(wait_until(lambda: sum(len(p.acked) for p in pushers) >= mark + 100,
                                   scaled(30)), "clients stalled after SIGHUP\n" + server.logs())
        # A second reload to the same file (no change) under load.
        server.proc.send_signal(signal.SIGHUP)
        time.sleep(scaled(1))
        stop.set()
        for p in pushers:
            p.join(scaled(30))
            self.assertFalse(p.is_alive())
        self.assertEqual(server.proc.poll(), None, "serve exited on SIGHUP\n" + server.logs())
        self.assertEqual(server.proc.pid, pid)

        acked = [cid for p in pushers for cid in p.acked]
        negative = [n for p in pushers for n in p.negative]
        self.assertEqual(negative, [], "negative ACKs during reload")
        self.assertTrue(ehr.wait_for_ids(acked, scaled(60)),
                        "ehr lost %d of %d AA'd messages across the reload\n%s"
                        % (len(set(acked) - set(ehr.accepted_ids())), len(acked), server.logs()))
        order, dupes = first_arrivals(ehr.accepted_ids())
        for p in pushers:
            mine = [cid for cid in order if cid.startswith(p.prefix + "-")
                    and cid in set(p.acked)]
            if mine != p.acked:
                at = next(i for i, (x, y) in enumerate(zip(mine, p.acked)) if x != y)
                window = p.acked[max(0, at - 3):at + 12]
                ids = dict(server.db_rows(
                    "SELECT control_id, id FROM messages WHERE control_id IN (%s)"
                    % ",".join("?" * len(window)), window))
                dels = server.db_rows(
                    "SELECT d.id, m.control_id, d.state, d.created_at FROM deliveries d JOIN "
                    "messages m ON m.id = d.message_id WHERE d.destination = 'ehr' AND "
                    "m.control_id IN (%s) ORDER BY d.id" % ",".join("?" * len(window)), window)
                self.fail("%s's messages out of order at ehr from index %d: arrived %r, sent %r;"
                          " message ids %r; ehr deliveries %r\n%s"
                          % (p.prefix, at, mine[max(0, at - 3):at + 12], window, ids, dels,
                             server.logs()))
        # The new config is in force for what came in at the end.
        for p in pushers:
            last = p.acked[-1]
            self.assertEqual(hl7_get(ehr.last_payload(last), "MSH", 5), "V2",
                             "message %s after the reload was not transformed by the new config"
                             % last)
            self.assertTrue(extra.wait_for_ids([last], scaled(30)),
                            "the destination added by the reload did not get %s" % last)
        versions = {hl7_get(ehr.last_payload(cid), "MSH", 5) for cid in acked}
        self.assertTrue(versions <= {"V1", "V2"}, versions)
        self.assertTrue(self.reload_lines(server), "the log does not mention the reload")
        print("reload under load: %d AA'd, %d reconnects, %d duplicates at ehr"
              % (len(acked), sum(p.reconnects for p in pushers), len(dupes)), flush=True)
        self.stop_cleanly(server)


class ReloadCommandTest(ReloadTestCase):
    def test_reload_command_applies_good_and_refuses_bad_configs(self):
        ehr = Receiver(name="ehr").start()
        self.addCleanup(ehr.stop)
        port = free_port()
        server = self.start_engine(self.config(port, "V1", [mllp_dest("ehr", ehr)]))
        with open(server.store_path + ".pid") as f:
            self.assertEqual(int(f.read().strip()), server.proc.pid, "pid_file")
        self.wait_version(server, ehr, "V1", "RC-A")

        rewrite_config(server, self.config(port, "V2", [mllp_dest("ehr", ehr)]))
        result = junction_cli(server, "reload")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.wait_version(server, ehr, "V2", "RC-B")

        # A config that does not compile: refused, V2 keeps running.
        bad = self.config(port, "V3", [mllp_dest("ehr", ehr)])
        bad["channels"][0]["transform"].append({"lua": "if then end\n"})
        rewrite_config(server, bad)
        before = len(self.reload_lines(server))
        result = junction_cli(server, "reload")
        self.assertNotEqual(result.returncode, 0, "reload accepted a config with a Lua syntax "
                            "error: %s%s" % (result.stdout, result.stderr))
        self.assertRegex(result.stderr, r"junction\.yaml:\d+:", "the CLI names file:line")
        # SIGHUP straight to the process with the same bad file.
        server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: any(REFUSED.search(l) for l in
                                               self.reload_lines(server)[before:]), scaled(20)),
                        "the log does not say the bad config was refused:\n%s" % server.logs())
        self.wait_version(server, ehr, "V2", "RC-C")

        # An unknown key: refused the same way.
        text = harness.to_yaml(self.config(port, "V4", [mllp_dest("ehr", ehr)])) + \
            "\nnot_a_key: 1\n"
        rewrite_config(server, text)
        result = junction_cli(server, "reload")
        self.assertNotEqual(result.returncode, 0, "reload accepted an unknown key")
        server.proc.send_signal(signal.SIGHUP)
        time.sleep(scaled(0.5))
        self.wait_version(server, ehr, "V2", "RC-D")
        self.assertEqual(server.proc.poll(), None)
        self.assertEqual(server.port("lab"), port)
        self.stop_cleanly(server)

    def test_reload_keeps_queued_messages(self):
        ehr = Receiver(name="ehr").start()
        self.addCleanup(ehr.stop)
        port = free_port()
        server = self.start_engine(self.config(port, "V1", [
            mllp_dest("ehr", ehr, backoff="50ms..300ms", response_timeout="1s")]))
        ehr.stop()
        ids = ["RQ-%02d" % i for i in range(30)]
        with MllpConnection(port) as conn:
            for cid in ids:
                self.assertEqual(conn.roundtrip(oru(cid))[0], "AA")
        self.assertTrue(wait_until(lambda: server.db_rows(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'queued'")[0][0] == len(ids),
            scaled(30)), server.logs())
        rewrite_config(server, self.config(port, "V2", [
            mllp_dest("ehr", ehr, backoff="50ms..300ms", response_timeout="1s")]))
        result = junction_cli(server, "reload")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        time.sleep(scaled(1))
        ehr.start()
        self.assertTrue(ehr.wait_for_ids(ids, scaled(60)),
                        "queued messages lost across the reload: got %r\n%s"
                        % (ehr.control_ids(), server.logs()))
        order, _ = first_arrivals(ehr.accepted_ids())
        self.assertEqual([c for c in order if c in set(ids)], ids)
        # Queued messages were transformed when they were processed: by V1.
        self.assertEqual({hl7_get(ehr.last_payload(c), "MSH", 5) for c in ids}, {"V1"})
        rows = message_rows(server, "RQ-%")
        self.assertTrue(wait_until(lambda: all(r[1] == "sent" for r in
                                               message_rows(server, "RQ-%").values()),
                                   scaled(30)), rows)
        self.stop_cleanly(server)


if __name__ == "__main__":
    unittest.main(verbosity=2)
