"""Real MLLP peers that we did not write.

- python-hl7's `mllp_send` CLI (Debian python3-hl7) sends to `junction serve`.
- node-hl7-client (npm, installed from the committed lock file) sends to `junction serve`.
- `junction send` talks to python-hl7's asyncio MLLP server (`hl7.mllp.start_hl7_server`).

A peer is skipped only when it is truly absent from the machine (no node, no
python3-hl7); `make test` installs both, so CI runs every case.
"""

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import unittest

import harness
from harness import make_message, mllp_channel, run_junction, scaled

try:
    import hl7
    import hl7.mllp
except ImportError:  # pragma: no cover - only without python3-hl7
    hl7 = None


def node_client_available():
    return (shutil.which("node") is not None and
            os.path.isdir(os.path.join(harness.node_dir(), "node_modules", "node-hl7-client")))


class PeersSendToServe(harness.ServeTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.serve([mllp_channel("inbound")])

    def tearDown(self):
        try:
            self.stop_cleanly(self.server)
        finally:
            super().tearDown()

    @unittest.skipUnless(shutil.which("mllp_send"), "python3-hl7's mllp_send is not installed")
    def test_python_hl7_mllp_send(self):
        # mllp_send reads MLLP-framed messages from the file and prints each raw ACK.
        data = b"".join(harness.frame(make_message("PYSEND-%d" % i)) for i in range(3))
        path = self.write("framed.hl7", data)
        result = subprocess.run(
            ["mllp_send", "--file", path, "--port", str(self.server.port("inbound")),
             "127.0.0.1"], capture_output=True, timeout=scaled(60))
        self.assertEqual(result.returncode, 0, result.stderr)
        out = result.stdout.decode("latin-1")
        for i in range(3):
            self.assertRegex(out, r"MSA\|AA\|PYSEND-%d\b" % i)
        self.assertEqual(self.server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id LIKE 'PYSEND-%'")[0][0], 3)

    def test_node_hl7_client(self):
        if shutil.which("node") is None:
            self.skipTest("node is not installed")
        self.assertTrue(node_client_available(),
                        "node-hl7-client is missing: run tests/integration/install-node-deps.sh")
        paths = [self.write("node-%d.hl7" % i, make_message("NODE-%d" % i)) for i in range(3)]
        result = subprocess.run(
            ["node", os.path.join(harness.node_dir(), "send.js"), "127.0.0.1",
             str(self.server.port("inbound")), *paths],
            capture_output=True, text=True, timeout=scaled(60), cwd=harness.node_dir(),
            env=dict(os.environ, NODE_SEND_TIMEOUT_MS=str(int(scaled(40) * 1000))))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for i in range(3):
            self.assertRegex(result.stdout, r"(?m)^AA NODE-%d$" % i)
        self.assertEqual(self.server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id LIKE 'NODE-%'")[0][0], 3)


class AckServer:
    """python-hl7's asyncio MLLP server on 127.0.0.1:0 in a thread, answering AA."""

    def __init__(self):
        self.received = []
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _client(self, reader, writer):
        try:
            while not reader.at_eof():
                message = await reader.readmessage()
                self.received.append(str(message.segment("MSH")(10)))
                writer.writemessage(message.create_ack("AA"))
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()

    def _run(self):
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            hl7.mllp.start_hl7_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._started.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())

    def __enter__(self):
        self._thread.start()
        if not self._started.wait(30):
            raise AssertionError("python-hl7 server did not start")
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


@unittest.skipIf(hl7 is None, "python3-hl7 is not installed")
class JunctionSendToPythonHl7(harness.ServeTestCase):
    def test_junction_send_to_python_hl7_server(self):
        paths = [self.write("m%d.hl7" % i, make_message("TOPY-%d" % i)) for i in range(3)]
        with AckServer() as server:
            result = run_junction(["send", "127.0.0.1:%d" % server.port, *paths,
                                   "--timeout", "20"])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for i in range(3):
            self.assertRegex(result.stdout, r"TOPY-%d\s+AA\b" % i)
        self.assertEqual(server.received, ["TOPY-0", "TOPY-1", "TOPY-2"])

    def test_junction_send_load_mode_to_python_hl7_server(self):
        path = self.write("m.hl7", make_message("LOAD-1"))
        with AckServer() as server:
            result = run_junction(["send", "127.0.0.1:%d" % server.port, path,
                                   "--repeat", "200", "--concurrency", "4", "--timeout", "20"])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(len(server.received), 200)
        self.assertRegex(result.stdout, r"p50")
        self.assertRegex(result.stdout, r"p99")


if __name__ == "__main__":
    unittest.main(verbosity=2)
