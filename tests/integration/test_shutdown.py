"""Graceful shutdown and what the logs may contain.

- SIGTERM while clients stream: every AA'd message is stored, the process exits 0.
- Logs (stdout and stderr, at the default level) never contain message content:
  a distinctive patient name and id are sent through the good path, the
  validation-error path, the reject path and the oversize-frame path.
"""

import signal
import threading
import time
import unittest

import harness
from harness import MllpConnection, make_message, mllp_channel, scaled
from test_crash import Streamer


class ShutdownTest(harness.ServeTestCase):
    def test_sigterm_while_streaming(self):
        server = self.serve([mllp_channel("inbound")])
        stop = threading.Event()
        streamers = [Streamer(server.port("inbound"), "TERM-T%d" % t, stop) for t in range(4)]
        for s in streamers:
            s.start()
        # Let them get going, then stop the server under load.
        deadline = time.monotonic() + scaled(30)
        while sum(len(s.acked) for s in streamers) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        started = time.monotonic()
        code = server.stop(signal.SIGTERM, timeout=scaled(60))
        elapsed = time.monotonic() - started
        for s in streamers:
            s.join(scaled(30))
            self.assertFalse(s.is_alive(), "a client hung after SIGTERM")
        stop.set()
        self.assertEqual(code, 0, "serve exited %s on SIGTERM\n%s" % (code, server.logs()))
        self.assertNotIn("AddressSanitizer", server.stderr_text())
        print("SIGTERM under load: stopped in %.2f s" % elapsed, flush=True)

        acked = [cid for s in streamers for cid in s.acked]
        self.assertGreaterEqual(len(acked), 20)
        rows = dict(server.db_rows("SELECT control_id, COUNT(*) FROM messages "
                                   "WHERE control_id LIKE 'TERM-%' GROUP BY control_id"))
        missing = [cid for cid in acked if rows.get(cid) != 1]
        self.assertEqual(missing, [], "AA'd messages missing (or doubled) after SIGTERM")
        self.assertEqual(server.db_rows("PRAGMA integrity_check"), [("ok",)])

        # The store opens again and the server serves.
        server.start()
        self.assert_serving(server, "inbound")
        self.stop_cleanly(server)


class ShutdownWithQuietClientsTest(harness.ServeTestCase):
    def test_sigterm_does_not_wait_for_idle_or_half_sent_connections(self):
        server = self.serve([mllp_channel("inbound")])  # idle 10 min, read 30 s
        idle = MllpConnection(server.port("inbound"))
        half = MllpConnection(server.port("inbound"))
        try:
            self.assertEqual(idle.roundtrip(make_message("QUIET-1"))[0], "AA")
            half.send_raw(harness.frame(make_message("QUIET-HALF"))[:50])
            time.sleep(0.3)
            started = time.monotonic()
            code = server.stop(signal.SIGTERM, timeout=scaled(30))
            elapsed = time.monotonic() - started
            self.assertEqual(code, 0, server.logs())
            # Well under the 30 s read timeout and the 10 s drain bound.
            self.assertLess(elapsed, scaled(5), "SIGTERM waited for quiet connections")
            self.assertTrue(idle.wait_closed(scaled(5)))
        finally:
            idle.close()
            half.close()


PATIENT_NAME = "QUOKKAFIELD^ZEPHYRINA^XANTHE"
PATIENT_ID = "MRN7Q3X9Z"
SECRET_WORDS = ["QUOKKAFIELD", "ZEPHYRINA", "XANTHE", PATIENT_ID]


class LogContentTest(harness.ServeTestCase):
    def test_logs_contain_no_message_content(self):
        server = self.serve([mllp_channel("inbound", max_frame_bytes=4096),
                             mllp_channel("checked", validate=True)],
                            detect_duplicates=True)
        good = make_message("PHI-1", patient_id=PATIENT_ID, patient_name=PATIENT_NAME)
        with MllpConnection(server.port("inbound")) as conn:
            self.assertEqual(conn.roundtrip(good)[0], "AA")
            self.assertEqual(conn.roundtrip(good)[0], "AA")  # a duplicate
            # Unparseable: the reject path must not echo the content into the log.
            code, _, _ = conn.roundtrip(
                ("BAD|%s|%s\rPID|1||%s||%s\r" % (PATIENT_NAME, PATIENT_ID, PATIENT_ID,
                                                 PATIENT_NAME)).encode())
            self.assertIn(code, ("AR", "CR"))
        with MllpConnection(server.port("checked")) as conn:
            invalid = (b"MSH|^~\\&|LAB|HOSP|JUNCTION|HOSP|20240101120000||ADT^A01^ADT_A01|PHI-2|"
                       b"P|2.5\rPID|1||" + PATIENT_ID.encode() + b"||" + PATIENT_NAME.encode() +
                       b"||NOTADATE\r")
            code, _, _ = conn.roundtrip(invalid)
            self.assertIn(code, ("AE", "CE"))
        with MllpConnection(server.port("inbound")) as conn:
            big = make_message("PHI-3", patient_id=PATIENT_ID, patient_name=PATIENT_NAME,
                               extra_segments=["NTE|1||" + PATIENT_NAME * 400])
            try:
                conn.send(big)
            except OSError:
                pass
            conn.wait_closed(scaled(10))
        self.assert_serving(server, "inbound")
        self.stop_cleanly(server)

        logs = server.stdout_text() + "\n" + server.stderr_text()
        for word in SECRET_WORDS:
            self.assertNotIn(word.lower(), logs.lower(),
                             "message content %r appears in the logs:\n%s" % (word, logs[-4000:]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
