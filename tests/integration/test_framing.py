"""MLLP framing against a real `junction serve`, with raw sockets.

Fragmented and pipelined frames, bytes before a frame, oversize frames (NAK and
close), idle and read timeouts, an unparseable MSH (AR/CR NAK with ERR), and the
connection limit. After each case the server must still answer a good message.
"""

import socket
import threading
import time
import unittest

import harness
from harness import MllpConnection, frame, make_message, mllp_channel, parse_ack, scaled

MAX_FRAME = 4096


class FramingTest(harness.ServeTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.serve([
            mllp_channel("main", max_frame_bytes=MAX_FRAME),
            # Short timeouts live on their own listener so slow cases elsewhere don't trip them.
            mllp_channel("short", idle_timeout_ms=1000, read_timeout_ms=1000),
            mllp_channel("limited", max_connections=3),
        ])

    def tearDown(self):
        try:
            self.stop_cleanly(self.server)
        finally:
            super().tearDown()

    def test_fragmented_frame(self):
        message = frame(make_message("FRAG-1"))
        with MllpConnection(self.server.port("main")) as conn:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Split everywhere it hurts: inside the start byte's neighbourhood, inside
            # MSH, and between 0x1C and 0x0D.
            cuts = [1, 2, 5, 40, len(message) - 2, len(message) - 1]
            last = 0
            for cut in cuts:
                conn.send_raw(message[last:cut])
                last = cut
                time.sleep(0.02)
            conn.send_raw(message[last:])
            reply = conn.recv_frame()
        self.assertIsNotNone(reply)
        code, msa2, _ = parse_ack(reply)
        self.assertEqual((code, msa2), ("AA", "FRAG-1"))
        self.assert_serving(self.server, "main")

    def test_byte_by_byte(self):
        message = frame(make_message("BYTES-1"))
        with MllpConnection(self.server.port("main")) as conn:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(message)):
                conn.send_raw(message[i:i + 1])
            code, msa2, _ = parse_ack(conn.recv_frame())
        self.assertEqual((code, msa2), ("AA", "BYTES-1"))

    def test_pipelined_frames_are_answered_in_order(self):
        # More than the server's 1024 unanswered frames per connection: it must
        # pause reading and resume, not drop or reorder.
        ids = ["PIPE-%05d" % i for i in range(2500)]
        data = b"".join(frame(make_message(i)) for i in ids)
        with MllpConnection(self.server.port("main")) as conn:
            # Send from a thread: the server stops reading while it is behind, so a
            # single-threaded sendall could wait on us reading the ACKs.
            sender = threading.Thread(target=conn.send_raw, args=(data,), daemon=True)
            sender.start()
            answers = []
            for _ in ids:
                reply = conn.recv_frame()
                self.assertIsNotNone(reply, "connection closed after %d ACKs" % len(answers))
                answers.append(parse_ack(reply)[:2])
        sender.join(scaled(30))
        self.assertEqual(answers, [("AA", i) for i in ids])
        stored = self.server.db_rows(
            "SELECT control_id FROM messages WHERE control_id LIKE 'PIPE-%' ORDER BY id")
        self.assertEqual([r[0] for r in stored], ids, "stored out of arrival order")
        self.assert_serving(self.server, "main")

    def test_garbage_before_frame_is_skipped(self):
        with MllpConnection(self.server.port("main")) as conn:
            conn.send_raw(b"GET / HTTP/1.0\r\n\r\n\x00\xff\x1c\r junk \n")
            conn.send(make_message("AFTER-GARBAGE"))
            code, msa2, _ = parse_ack(conn.recv_frame())
            self.assertEqual((code, msa2), ("AA", "AFTER-GARBAGE"))
            # Garbage between frames too.
            conn.send_raw(b"more junk" + frame(make_message("AFTER-GARBAGE-2")))
            code, msa2, _ = parse_ack(conn.recv_frame())
            self.assertEqual((code, msa2), ("AA", "AFTER-GARBAGE-2"))
        self.assert_serving(self.server, "main")

    def test_oversize_frame_gets_nak_then_close(self):
        big = make_message("TOO-BIG", extra_segments=["NTE|1||" + "X" * (2 * MAX_FRAME)])
        self.assertGreater(len(big), MAX_FRAME)
        with MllpConnection(self.server.port("main")) as conn:
            # A good frame first: it must be answered before the NAK.
            conn.send(make_message("BEFORE-BIG"))
            code, msa2, _ = parse_ack(conn.recv_frame())
            self.assertEqual((code, msa2), ("AA", "BEFORE-BIG"))
            try:
                conn.send(big)
            except (BrokenPipeError, ConnectionResetError):
                pass
            reply = conn.recv_frame()
            self.assertIsNotNone(reply, "no NAK for an oversize frame\n" + self.server.logs())
            code, _, segments = parse_ack(reply)
            self.assertIn(code, ("AR", "AE", "CR", "CE"), segments)
            self.assertTrue(conn.wait_closed(scaled(10)),
                            "connection still open after an oversize frame")
        rows = self.server.db_rows("SELECT COUNT(*) FROM messages WHERE control_id = 'TOO-BIG'")
        self.assertEqual(rows[0][0], 0, "an oversize frame must not be stored")
        self.assert_serving(self.server, "main")

    def test_huge_frame_gets_nak_then_close(self):
        # 1 MiB against a 4 KiB limit: the server stops reading long before the end;
        # the NAK must still reach the client and the connection must close.
        huge = make_message("HUGE", extra_segments=["NTE|1||" + "X" * (1 << 20)])
        with MllpConnection(self.server.port("main")) as conn:
            sender = threading.Thread(target=self._send_ignoring_reset, args=(conn, huge),
                                      daemon=True)
            sender.start()
            reply = conn.recv_frame()
            sender.join(scaled(30))
            self.assertIsNotNone(reply, "no NAK for a 1 MiB frame\n" + self.server.logs())
            self.assertIn(parse_ack(reply)[0], ("AR", "AE", "CR", "CE"))
            self.assertTrue(conn.wait_closed(scaled(10)))
        self.assert_serving(self.server, "main")

    @staticmethod
    def _send_ignoring_reset(conn, payload):
        try:
            conn.send(payload)
        except OSError:
            pass

    def test_frame_exactly_at_the_limit_is_accepted(self):
        base = make_message("AT-LIMIT", extra_segments=["NTE|1||"])
        payload = base[:-1] + b"Y" * (MAX_FRAME - len(base)) + b"\r"
        self.assertEqual(len(payload), MAX_FRAME)
        with MllpConnection(self.server.port("main")) as conn:
            code, msa2, _ = conn.roundtrip(payload)
        self.assertEqual((code, msa2), ("AA", "AT-LIMIT"))

    def test_idle_timeout_closes_connection(self):
        with MllpConnection(self.server.port("short")) as conn:
            # Active use is not idleness.
            for i in range(3):
                code, _, _ = conn.roundtrip(make_message("IDLE-%d" % i))
                self.assertEqual(code, "AA")
                time.sleep(0.1)
            started = time.monotonic()
            self.assertTrue(conn.wait_closed(scaled(15)), "idle connection never closed")
            self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.assert_serving(self.server, "short")

    def test_read_timeout_closes_half_sent_frame(self):
        with MllpConnection(self.server.port("short")) as conn:
            half = frame(make_message("HALF"))[:60]
            conn.send_raw(half)
            self.assertTrue(conn.wait_closed(scaled(15)),
                            "a connection stuck inside a frame never timed out")
        rows = self.server.db_rows("SELECT COUNT(*) FROM messages WHERE control_id = 'HALF'")
        self.assertEqual(rows[0][0], 0)
        self.assert_serving(self.server, "short")

    def test_unparseable_msh_gets_reject_with_err(self):
        cases = [
            b"XYZ|garbage\rPID|1\r",
            b"MSH\r",
            b"\x00\x01binary\xff",
        ]
        with MllpConnection(self.server.port("main")) as conn:
            for payload in cases:
                conn.send(payload)
                reply = conn.recv_frame()
                self.assertIsNotNone(reply, "no NAK for %r" % payload)
                code, _, segments = parse_ack(reply)
                self.assertIn(code, ("AR", "CR"), "for %r: %r" % (payload, segments))
                self.assertTrue(any(s.startswith("ERR|") for s in segments),
                                "no ERR segment for %r: %r" % (payload, segments))
                self.assertTrue(segments[0].startswith("MSH|"), segments)
        self.assert_serving(self.server, "main")

    def test_max_connections(self):
        port = self.server.port("limited")
        conns = [MllpConnection(port) for _ in range(3)]
        try:
            for i, conn in enumerate(conns):
                code, _, _ = conn.roundtrip(make_message("LIMIT-%d" % i))
                self.assertEqual(code, "AA")
            extra = MllpConnection(port)
            try:
                try:
                    extra.send(make_message("LIMIT-EXTRA"))
                except OSError:
                    pass
                self.assertTrue(extra.wait_closed(scaled(10)),
                                "a 4th connection was served despite max_connections: 3")
            finally:
                extra.close()
            rows = self.server.db_rows(
                "SELECT COUNT(*) FROM messages WHERE control_id = 'LIMIT-EXTRA'")
            self.assertEqual(rows[0][0], 0)
            # The first three are still fine.
            code, _, _ = conns[0].roundtrip(make_message("LIMIT-0b"))
            self.assertEqual(code, "AA")
            # Free a slot: a new connection gets in (the server notices the close
            # asynchronously, so retry for a while).
            conns.pop().close()
            deadline = time.monotonic() + scaled(15)
            while True:
                try:
                    with MllpConnection(port, timeout=scaled(5)) as again:
                        code, _, _ = again.roundtrip(make_message("LIMIT-AGAIN"))
                    break
                except (AssertionError, OSError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            self.assertEqual(code, "AA")
        finally:
            for conn in conns:
                conn.close()


class PendingAckTimeoutTest(harness.ServeTestCase):
    """A connection waiting for its own ACK is not idle.

    A commit slower than idle_timeout_ms (made slow here with max_delay_us) must
    not close the connection before its ACK: the sender would resend, and the
    message would be stored twice.
    """

    def test_slow_commit_is_not_an_idle_connection(self):
        server = self.serve([mllp_channel("inbound", idle_timeout_ms=300)],
                            max_delay_us=900000)
        with MllpConnection(server.port("inbound")) as conn:
            conn.send(make_message("SLOW-COMMIT"))
            reply = conn.recv_frame(scaled(10))
        server.stop()
        self.assertIsNotNone(reply, "connection closed while its ACK was pending")
        self.assertEqual(parse_ack(reply)[:2], ("AA", "SLOW-COMMIT"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
