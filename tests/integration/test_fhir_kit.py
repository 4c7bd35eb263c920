"""fhir-kit-client (npm, a FHIR client we did not write; pinned by
node/package-lock.json) against `junction serve`: runs node/fhir-kit.test.mjs
with node's test runner, against a server started here.

Skipped only when node is absent; `make test` installs it and the npm
packages (integration_node_deps), so CI runs it.
"""

import os
import shutil
import subprocess
import unittest

import harness
from harness import scaled
from fhir_client import FhirTestCase


class FhirKitClientTest(FhirTestCase):

    def test_fhir_kit_client(self):
        if shutil.which("node") is None:
            self.skipTest("node is not installed")
        node_dir = harness.node_dir()
        self.assertTrue(os.path.isdir(os.path.join(node_dir, "node_modules", "fhir-kit-client")),
                        "fhir-kit-client is missing: run tests/integration/install-node-deps.sh")
        env = dict(os.environ,
                   FHIR_BASE_URL="http://127.0.0.1:%d/fhir" % self.server.port,
                   FHIR_TOKEN=self.server.token("user/*.*"))
        result = subprocess.run(["node", "--test", "--test-reporter=spec", "fhir-kit.test.mjs"],
                                cwd=node_dir, env=env, capture_output=True, text=True,
                                timeout=scaled(120))
        output = result.stdout + result.stderr
        self.assertEqual(result.returncode, 0, "fhir-kit-client tests failed:\n%s\n%s"
                         % (output[-8000:], self.server.logs()))
        self.assertRegex(output, r"pass [1-9]")
        self.assertRegex(output, r"fail 0")
        self.assertNotRegex(output, r"skipped [1-9]")


if __name__ == "__main__":
    unittest.main()
