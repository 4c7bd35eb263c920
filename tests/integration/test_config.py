"""Bad configuration: `junction serve` exits 2 with `file:line: key: reason` on stderr.

Each case is a whole config file with one mistake; the test knows the line of
the mistake and checks that the message points at it and names the key.
"""

import os
import re
import subprocess
import unittest

import harness
from harness import scaled

GOOD = """\
log: { level: info }
server: { io_threads: 2 }
store: { sqlite: STORE, max_batch: 512, max_delay_us: 0, detect_duplicates: false }
channels:
  - name: inbound
    source:
      mllp:
        listen: 127.0.0.1:0
        ack: after-store
        validate: false
        max_frame_bytes: 16777216
        max_connections: 256
"""


def with_line(line_no, text):
    """GOOD with line `line_no` (1-based) replaced by `text`."""
    lines = GOOD.splitlines()
    lines[line_no - 1] = text
    return "\n".join(lines) + "\n"


# (name, config text, line of the mistake, key that must be named)
CASES = [
    ("unknown top-level key", GOOD + "chanels: []\n", 13, "chanels"),
    ("unknown key in mllp", with_line(11, "        max_frame_byte: 100"), 11, "max_frame_byte"),
    ("bad ack mode", with_line(9, "        ack: sometimes"), 9, "ack"),
    ("bad listen address", with_line(8, "        listen: nowhere"), 8, "listen"),
    ("port out of range", with_line(8, "        listen: 127.0.0.1:70000"), 8, "listen"),
    ("number is not a number", with_line(12, "        max_connections: lots"), 12,
     "max_connections"),
    ("boolean is not a boolean", with_line(10, "        validate: perhaps"), 10, "validate"),
    ("bad log level", with_line(1, "log: { level: chatty }"), 1, "level"),
    ("negative io_threads", with_line(2, "server: { io_threads: -1 }"), 2, "io_threads"),
]


class BadConfigTest(harness.ServeTestCase):
    def run_serve(self, text):
        path = os.path.join(self.tmp, "junction.yaml")
        with open(path, "w") as f:
            f.write(text.replace("STORE", os.path.join(self.tmp, "store.db")))
        result = subprocess.run([harness.junction_bin(), "serve", "--config", path],
                                capture_output=True, text=True, timeout=scaled(60),
                                stdin=subprocess.DEVNULL)
        return path, result

    def test_good_config_starts(self):
        # The base of every bad case is itself good (else the cases prove nothing).
        path = os.path.join(self.tmp, "good")
        os.makedirs(path)
        server = harness.Serve(path, None, config_text=GOOD.replace("STORE", "@STORE@"))
        self._servers.append(server)
        server.start()
        self.assert_serving(server, "inbound")
        self.stop_cleanly(server)

    def test_bad_configs(self):
        for name, text, line, key in CASES:
            with self.subTest(name):
                path, result = self.run_serve(text)
                self.assertEqual(result.returncode, 2,
                                 "%s: exit %d\nstdout: %s\nstderr: %s"
                                 % (name, result.returncode, result.stdout, result.stderr))
                self.assertNotIn("junction: ready", result.stdout)
                pattern = re.compile(r"^%s:(\d+): (\S+): (.+)$" % re.escape(path), re.M)
                match = pattern.search(result.stderr)
                self.assertIsNotNone(match, "%s: no `file:line: key: reason` in %r"
                                     % (name, result.stderr))
                self.assertEqual(int(match.group(1)), line, "%s: %r" % (name, match.group(0)))
                self.assertIn(key, match.group(2), "%s: %r" % (name, match.group(0)))
                self.assertTrue(match.group(3).strip())

    def test_missing_config_file(self):
        result = subprocess.run([harness.junction_bin(), "serve", "--config",
                                 os.path.join(self.tmp, "absent.yaml")],
                                capture_output=True, text=True, timeout=scaled(60),
                                stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("absent.yaml", result.stderr)

    def test_port_in_use_fails_at_startup(self):
        import socket
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            _, result = self.run_serve(with_line(8, "        listen: 127.0.0.1:%d" % port))
        self.assertNotEqual(result.returncode, 0)
        self.assertNotIn("junction: ready", result.stdout)
        self.assertIn(str(port), result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
