"""Delivery end to end: durable queues, ordering, retries, crash recovery, reprocess.

Two downstream MLLP Receivers (receivers.py) record every message in arrival
order. The tests check that:
  - strict ordering: a receiver that is down blocks only its own queue (the
    other destination keeps receiving); `max_attempts` does not drop anything
    under strict; when it comes back everything arrives, in order, none lost;
    `junction status --json` shows the queue;
  - a receiver that goes down in the middle of a stream: every message still
    arrives, first arrivals in order (duplicates counted, at-least-once);
  - best-effort: AR (and AE with the default on_ae: error) puts that message
    in `error` with the response, later messages continue; a receiver that
    stays down makes messages `error` after max_attempts;
  - a receiver that never answers: the response timeout triggers a retry;
  - SIGKILL of the engine during delivery (and during ingest), restart on the
    same store: delivery resumes, every AA'd message arrives at least once, in
    order of first arrival; duplicates are counted and reported;
  - `junction messages reprocess|resend|show` and `junction status --json`.
"""

import os
import signal
import threading
import time
import unittest

import harness
from harness import MllpConnection, make_message, scaled
from receivers import (Pusher, Receiver, channel_config, config_text, delivery_rows,
                       find_objects, first_arrivals, free_port, junction_cli, message_rows,
                       mllp_dest, source, status_json, wait_until)


def oru(cid):
    return make_message(cid, msg_type="ORU^R01^ORU_R01", patient_id="P" + cid)


class DeliveryTestCase(harness.ServeTestCase):
    def start_engine(self, channels):
        return self.serve(None, config_text=config_text(channel_config(channels)))

    def send_ids(self, server, channel, ids):
        with MllpConnection(server.port(channel)) as conn:
            for cid in ids:
                code, msa2, segs = conn.roundtrip(oru(cid))
                self.assertEqual((code, msa2), ("AA", cid), segs)

    def wait_statuses(self, server, like, n, statuses, timeout=None):
        def done():
            rows = message_rows(server, like)
            ok = len(rows) >= n and all(r[1] in statuses for r in rows.values())
            return rows if ok else None
        rows = wait_until(done, timeout or scaled(30), interval=0.1)
        self.assertTrue(rows, "messages %s not all in %r: %r\n%s"
                        % (like, statuses, sorted(set(r[1] for r in
                                                      message_rows(server, like).values())),
                           server.logs()))
        return rows

    def assert_in_order_none_lost(self, receiver, expected, label):
        order, dupes = first_arrivals(receiver.accepted_ids())
        order = [cid for cid in order if cid in set(expected)]
        missing = [cid for cid in expected if cid not in set(order)]
        self.assertEqual(missing, [], "%s lost %d messages" % (label, len(missing)))
        self.assertEqual(order, list(expected), "%s: first arrivals out of order" % label)
        return dupes


class StrictOrderingTest(DeliveryTestCase):
    def test_down_receiver_blocks_only_its_queue_then_catches_up_in_order(self):
        a = Receiver(name="a").start()
        b = Receiver(name="b").start()
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        ch = {"name": "lab", "source": source(), "destinations": [
            mllp_dest("a", a, max_attempts=3, backoff="50ms..400ms"),
            mllp_dest("b", b, max_attempts=3, backoff="50ms..400ms", response_timeout="1s"),
        ]}
        server = self.start_engine([ch])
        b.stop()  # b is down from the start

        ids = ["SO-%03d" % i for i in range(60)]
        self.send_ids(server, "lab", ids)
        self.assertTrue(a.wait_for_ids(ids, scaled(30)),
                        "a (healthy) got %d of %d while b was down\n%s"
                        % (len(set(a.control_ids())), len(ids), server.logs()))
        self.assertEqual(a.control_ids(), ids, "a: every message once, in order")

        # b's queue holds everything; strict ignores max_attempts (3): the
        # head keeps being retried instead of being dropped.
        def head_retried():
            rows = server.db_rows(
                "SELECT MAX(attempts), COUNT(*) FROM deliveries WHERE destination = 'b' "
                "AND state = 'queued'")
            return rows[0][0] is not None and rows[0][0] > 3 and rows[0][1] == len(ids)
        self.assertTrue(wait_until(head_retried, scaled(30), interval=0.2),
                        "b's queue: %r\n%s" % (server.db_rows(
                            "SELECT state, COUNT(*), MAX(attempts) FROM deliveries "
                            "WHERE destination = 'b' GROUP BY state"), server.logs()))
        self.assertEqual(server.db_rows("SELECT COUNT(*) FROM deliveries WHERE destination='b' "
                                        "AND state = 'error'"), [(0,)],
                         "strict ordering must not give up on messages")

        status = status_json(server)
        b_entries = find_objects(status, lambda d: "b" in d.values() and "queued" in d)
        self.assertTrue(b_entries, "status --json has no entry for destination b: %r" % status)
        self.assertEqual(b_entries[0]["queued"], len(ids), b_entries)
        self.assertIs(b_entries[0].get("blocked"), True, "a failing head shows as blocked")
        a_entries = find_objects(status, lambda d: "a" in d.values() and "queued" in d)
        self.assertTrue(a_entries and a_entries[0]["queued"] == 0, a_entries)
        print("status while b is down: %r" % b_entries[0], flush=True)

        b.start()  # same port
        self.assertTrue(b.wait_for_ids(ids, scaled(60)),
                        "b got %d of %d after it came back\n%s"
                        % (len(set(b.accepted_ids())), len(ids), server.logs()))
        dupes = self.assert_in_order_none_lost(b, ids, "b")
        self.assertEqual(dupes, {}, "b was down cleanly; nothing should arrive twice")
        rows = self.wait_statuses(server, "SO-%", len(ids), ("sent",))
        self.assertEqual(len(rows), len(ids))
        self.assertEqual(a.control_ids(), ids, "a got nothing again")
        self.stop_cleanly(server)

    def test_receiver_goes_down_mid_stream(self):
        a = Receiver(name="a").start()
        b = Receiver(name="b", ack_delay=0.002).start()
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        ch = {"name": "lab", "source": source(), "destinations": [
            mllp_dest("a", a, backoff="50ms..300ms"),
            mllp_dest("b", b, backoff="50ms..300ms", response_timeout="1s"),
        ]}
        server = self.start_engine([ch])
        stop = threading.Event()
        pusher = Pusher(server.port("lab"), "MS", stop, limit=300)
        pusher.start()
        self.assertTrue(b.wait_for_count(60, scaled(30)), server.logs())
        b.stop()
        time.sleep(scaled(1.5))
        down_count = b.count()
        b.start()
        pusher.join(scaled(120))
        self.assertFalse(pusher.is_alive())
        self.assertEqual(pusher.negative, [])
        self.assertEqual(pusher.errors, [])
        acked = pusher.acked
        self.assertEqual(len(acked), 300)
        self.assertTrue(b.wait_for_ids(acked, scaled(60)),
                        "b got %d of %d\n%s" % (len(set(b.accepted_ids())), len(acked),
                                                server.logs()))
        self.assertTrue(a.wait_for_ids(acked, scaled(30)))
        self.assertEqual(a.control_ids(), acked, "a never went down: exactly once, in order")
        dupes = self.assert_in_order_none_lost(b, acked, "b")
        print("receiver down mid-stream: down after %d arrivals, %d duplicates %r"
              % (down_count, sum(n - 1 for n in dupes.values()), dupes), flush=True)
        self.wait_statuses(server, "MS-%", 300, ("sent",))
        self.stop_cleanly(server)


class BestEffortTest(DeliveryTestCase):
    def test_rejections_go_to_error_and_later_messages_continue(self):
        rx = Receiver(name="rx", codes={"BE-003": "AR", "BE-007": "AE"}).start()
        self.addCleanup(rx.stop)
        ch = {"name": "lab", "source": source(), "destinations": [
            mllp_dest("rx", rx, ordering="best-effort", max_attempts=3, backoff="50ms..200ms")]}
        server = self.start_engine([ch])
        ids = ["BE-%03d" % i for i in range(12)]
        self.send_ids(server, "lab", ids)
        good = [cid for cid in ids if cid not in ("BE-003", "BE-007")]
        self.assertTrue(rx.wait_for_ids(good, scaled(30)),
                        "rx got %r\n%s" % (rx.control_ids(), server.logs()))
        rows = self.wait_statuses(server, "BE-%", len(ids), ("sent", "error"))
        first, _ = first_arrivals(rx.control_ids())
        self.assertEqual(first, ids, "arrival order")
        for cid in good:
            self.assertEqual(rows[cid][1], "sent", (cid, rows[cid]))
        for cid, code in (("BE-003", "AR"), ("BE-007", "AE")):
            self.assertEqual(rows[cid][1], "error", (cid, rows[cid]))
            self.assertTrue(rows[cid][2], "error without a reason")
            (d,) = delivery_rows(server, rows[cid][0])
            self.assertEqual(d["state"], "error", d)
            self.assertIn("MSA|%s|%s" % (code, cid), (d["response"] or "").replace("\n", "\r"),
                          "the negative ACK is kept as the response: %r" % d)
            self.assertEqual(d["attempts"], 1, "%s is permanent (on_ae: error by default)" % code)
        self.assertEqual(rx.control_ids().count("BE-003"), 1)
        self.stop_cleanly(server)

    def test_receiver_that_stays_down_errors_after_max_attempts(self):
        down = Receiver(name="down", port=free_port())  # never started
        ch = {"name": "lab", "source": source(), "destinations": [
            mllp_dest("down", down, ordering="best-effort", max_attempts=2,
                      backoff="50ms..100ms", response_timeout="1s")]}
        server = self.start_engine([ch])
        ids = ["BD-%d" % i for i in range(5)]
        self.send_ids(server, "lab", ids)
        rows = self.wait_statuses(server, "BD-%", len(ids), ("error",), timeout=scaled(60))
        for cid in ids:
            (d,) = delivery_rows(server, rows[cid][0])
            self.assertEqual((d["state"], d["attempts"]), ("error", 2), d)
            self.assertTrue(d["error"], "the last error is recorded")
        down.start()
        self.addCleanup(down.stop)
        self.send_ids(server, "lab", ["BD-LATE"])
        self.assertTrue(down.wait_for_ids(["BD-LATE"], scaled(30)), server.logs())
        time.sleep(scaled(0.5))
        self.assertEqual(down.control_ids(), ["BD-LATE"],
                         "messages that gave up are not sent later on their own")
        self.stop_cleanly(server)


class ResponseTimeoutTest(DeliveryTestCase):
    def test_no_answer_is_retried_after_the_response_timeout(self):
        rx = Receiver(name="rx", silent={"RT-1": 1}).start()
        self.addCleanup(rx.stop)
        ch = {"name": "lab", "source": source(), "destinations": [
            mllp_dest("rx", rx, response_timeout="500ms", backoff="50ms..200ms")]}
        server = self.start_engine([ch])
        started = time.monotonic()
        self.send_ids(server, "lab", ["RT-1", "RT-2"])
        self.assertTrue(rx.wait_for_ids(["RT-1", "RT-2"], scaled(30)),
                        "rx got %r\n%s" % (rx.control_ids(), server.logs()))
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, 0.5, "retried before the response timeout")
        self.assertEqual(rx.control_ids(), ["RT-1", "RT-1", "RT-2"])
        rows = self.wait_statuses(server, "RT-%", 2, ("sent",))
        (d,) = delivery_rows(server, rows["RT-1"][0])
        self.assertEqual((d["state"], d["attempts"]), ("sent", 2), d)
        self.stop_cleanly(server)


class CrashDuringDeliveryTest(DeliveryTestCase):
    def test_sigkill_during_delivery_resumes_and_loses_nothing(self):
        slow = Receiver(name="slow", ack_delay=0.01).start()
        fast = Receiver(name="fast").start()
        self.addCleanup(slow.stop)
        self.addCleanup(fast.stop)
        ch = {"name": "lab", "source": source(), "destinations": [
            mllp_dest("slow", slow, backoff="50ms..300ms"),
            mllp_dest("fast", fast, backoff="50ms..300ms")]}
        server = self.start_engine([ch])
        acked = []

        # Cycle 1: everything is ingested, the engine dies while delivering.
        ids = ["KD-%04d" % i for i in range(250)]
        self.send_ids(server, "lab", ids)
        acked.extend(ids)
        self.assertTrue(slow.wait_for_count(40, scaled(30)), server.logs())
        self.assertLess(len(set(slow.control_ids())), len(ids),
                        "delivery finished before the kill; the test proves nothing")
        server.stop(signal.SIGKILL)
        at_kill = len(set(slow.control_ids()))
        server.start()

        # Cycle 2: killed while a client is still sending.
        stop = threading.Event()
        pusher = Pusher(server.port("lab"), "KS", stop)
        pusher.start()
        wait_until(lambda: len(pusher.acked) >= 60, scaled(30))
        server.stop(signal.SIGKILL)
        pusher.join(scaled(30))
        stop.set()
        self.assertFalse(pusher.is_alive())
        self.assertEqual(pusher.negative, [])
        acked.extend(pusher.acked)
        server.start()

        for rx in (slow, fast):
            self.assertTrue(rx.wait_for_ids(acked, scaled(90)),
                            "%s got %d of %d AA'd messages after restarts\n%s"
                            % (rx.name, len(set(rx.accepted_ids()) & set(acked)), len(acked),
                               server.logs()))
            dupes = self.assert_in_order_none_lost(rx, acked, rx.name)
            print("SIGKILL during delivery: %s: %d AA'd, %d arrivals, %d duplicated messages "
                  "(%d extra copies); killed at %d arrivals"
                  % (rx.name, len(acked), rx.count(), len(dupes),
                     sum(n - 1 for n in dupes.values()), at_kill), flush=True)
        stored = message_rows(server, "K%")
        self.wait_statuses(server, "K%", len(stored), ("sent",), timeout=scaled(60))
        self.assertEqual(server.db_rows("PRAGMA integrity_check"), [("ok",)])
        self.stop_cleanly(server)


class OperationsTest(DeliveryTestCase):
    def test_reprocess_resend_show_status(self):
        ehr = Receiver(name="ehr").start()
        arch = Receiver(name="arch").start()
        self.addCleanup(ehr.stop)
        self.addCleanup(arch.stop)
        ch = {"name": "lab", "source": source(),
              "transform": [{"set": {"path": "MSH-5", "value": "EHR"}}],
              "destinations": [mllp_dest("ehr", ehr), mllp_dest("arch", arch)]}
        server = self.start_engine([ch])
        self.send_ids(server, "lab", ["OP-1", "OP-2"])
        for rx in (ehr, arch):
            self.assertTrue(rx.wait_for_ids(["OP-1", "OP-2"], scaled(30)), server.logs())
        rows = self.wait_statuses(server, "OP-%", 2, ("sent",))
        id1, id2 = rows["OP-1"][0], rows["OP-2"][0]

        # show: both destinations, their state and the ACK that came back.
        result = junction_cli(server, "messages", "show", str(id1))
        self.assertEqual(result.returncode, 0, result.stderr)
        for word in ("ehr", "arch", "sent", "MSA"):
            self.assertIn(word, result.stdout, "messages show lacks %r:\n%s"
                          % (word, result.stdout))
        self.assertIn("EHR", result.stdout, "show includes the transformed version")

        # reprocess: the channel runs again and both destinations get it again.
        result = junction_cli(server, "messages", "reprocess", str(id1))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for rx in (ehr, arch):
            self.assertTrue(wait_until(lambda: rx.control_ids().count("OP-1") == 2, scaled(30)),
                            "%s after reprocess: %r\n%s" % (rx.name, rx.control_ids(),
                                                            server.logs()))
        self.wait_statuses(server, "OP-1", 1, ("sent",))
        deliveries = delivery_rows(server, id1)
        self.assertEqual(sorted((d["destination"], d["state"]) for d in deliveries),
                         [("arch", "sent"), ("arch", "sent"), ("ehr", "sent"), ("ehr", "sent")],
                         "old deliveries stay as history: %r" % deliveries)

        # resend to one destination only.
        result = junction_cli(server, "messages", "resend", str(id2), "--destination", "ehr")
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(wait_until(lambda: ehr.control_ids().count("OP-2") == 2, scaled(30)),
                        "ehr after resend: %r\n%s" % (ehr.control_ids(), server.logs()))
        self.wait_statuses(server, "OP-2", 1, ("sent",))
        time.sleep(scaled(0.3))
        self.assertEqual(arch.control_ids().count("OP-2"), 1, "resend went to arch too")
        self.assertEqual(len(delivery_rows(server, id2)), 3)

        # Mistakes are refused with a non-zero exit and change nothing.
        bad = junction_cli(server, "messages", "resend", str(id2), "--destination", "nope")
        self.assertNotEqual(bad.returncode, 0, "resend to an unknown destination")
        bad = junction_cli(server, "messages", "reprocess", "999999")
        self.assertNotEqual(bad.returncode, 0, "reprocess of an unknown id")
        self.assertEqual(len(delivery_rows(server, id2)), 3)

        status = status_json(server)
        lab = find_objects(status, lambda d: "lab" in d.values() and "received" in d)
        self.assertTrue(lab, "status --json has no channel entry: %r" % status)
        self.assertEqual(lab[0]["received"], 2, lab)
        for name in ("ehr", "arch"):
            entry = find_objects(status, lambda d: name in d.values() and "sent" in d)
            self.assertTrue(entry, "status --json has no destination %s: %r" % (name, status))
            self.assertEqual(entry[0]["queued"], 0, entry)
        self.stop_cleanly(server)


if __name__ == "__main__":
    unittest.main(verbosity=2)
