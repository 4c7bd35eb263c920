"""HL7 v2 into the patient record, end to end (issue 6, "Tests").

`junction serve` with an MLLP channel and an HTTP-source channel, both with a
`fhir-store` destination. Messages go in over MLLP (our raw client and
python-hl7's mllp_send) and POST /hl7/v2; the results are read back through
/fhir with a bearer token, polling with a timeout (delivery is asynchronous):
  - ADT^A01 then ORU^R01 -> a Patient with its Encounter and Observations;
  - A08 updates the Patient's name (a new version, same id);
  - A40 merges: the old Patient is active=false with link replaced-by, the
    survivor has link replaces;
  - re-sending the ORU creates no new versions;
  - POST /hl7/v2 answers with the ACK (MSA|AA) and the message lands too.
"""

import shutil
import subprocess
import unittest

import harness
from harness import MllpConnection, frame, scaled
from fhir_client import ER7_CONTENT_TYPE, FhirTestCase, entries, ids, uniq, wait_for

AUTHORITY = "HOSPA"
PATIENT_SYSTEM = "urn:junction:id:" + AUTHORITY
LOINC = "http://loinc.org"


def segment(name, fields):
    """A segment from {field number: value}; missing fields are empty."""
    top = max(fields)
    return name + "|" + "|".join(fields.get(i, "") for i in range(1, top + 1))


def msh(cid, msg_type, app="ADTSYS", facility=AUTHORITY):
    return ("MSH|^~\\&|%s|%s|RECV|RECVFAC|20240301101500+0100||%s|%s|P|2.5.1"
            % (app, facility, msg_type, cid))


def pid(mrn, family, given="Jane", birth="19800229", sex="F"):
    return segment("PID", {1: "1", 3: "%s^^^%s^MR" % (mrn, AUTHORITY),
                           5: "%s^%s" % (family, given), 7: birth, 8: sex})


def pv1(visit, patient_class="I"):
    return segment("PV1", {1: "1", 2: patient_class, 3: "WARD1^101^A^" + AUTHORITY,
                           19: "%s^^^%s^VN" % (visit, AUTHORITY),
                           44: "20240301093000+0100"})


def message(*segments):
    return ("\r".join(segments) + "\r").encode("utf-8")


def adt(cid, event, mrn, family, visit, given="Jane", extra=()):
    return message(msh(cid, "ADT^%s^ADT_A01" % event),
                   "EVN|%s|20240301101000+0100" % event,
                   pid(mrn, family, given), pv1(visit), *extra)


def a40(cid, survivor_mrn, old_mrn, family):
    return message(msh(cid, "ADT^A40^ADT_A39"), "EVN|A40|20240312105900+0100",
                   pid(survivor_mrn, family),
                   "MRG|%s^^^%s^MR" % (old_mrn, AUTHORITY))


OBX = [("718-7", "Hemoglobin", "13.2", "g/dL"),
       ("2345-7", "Glucose", "95", "mg/dL"),
       ("2951-2", "Sodium", "140", "mmol/L")]


def oru(cid, mrn, family, visit, filler):
    segs = [msh(cid, "ORU^R01^ORU_R01", app="LABSYS", facility="LAB"),
            pid(mrn, family), pv1(visit, "O"),
            segment("ORC", {1: "RE", 2: "P%s^EHR" % filler, 3: "%s^LAB" % filler, 5: "CM"}),
            segment("OBR", {1: "1", 2: "P%s^EHR" % filler, 3: "%s^LAB" % filler,
                            4: "24323-8^Comprehensive metabolic panel^LN",
                            7: "20240301073000-0500", 22: "20240301095500-0500", 25: "F"})]
    for i, (code, name, value, unit) in enumerate(OBX, start=1):
        segs.append(segment("OBX", {1: str(i), 2: "NM", 3: "%s^%s^LN" % (code, name), 5: value,
                                    6: "%s^^UCUM" % unit, 11: "F",
                                    14: "20240301073000-0500"}))
    return message(*segs)


class HL7IntoRecordTest(FhirTestCase):

    def send(self, payload):
        with MllpConnection(self.server.serve.port("to-record")) as conn:
            code, msa2, segs = conn.roundtrip(payload)
        self.assertEqual(code, "AA", segs)
        return msa2

    def patient_by_mrn(self, c, mrn, timeout=30, where=lambda p: True, what="the patient"):
        def find():
            bundle = c.search("Patient?identifier=%s|%s" % (PATIENT_SYSTEM, mrn))
            found = entries(bundle)
            return found[0] if len(found) == 1 and where(found[0]) else None
        return wait_for(find, timeout, message="%s (MRN %s) in /fhir" % (what, mrn))

    def wait_delivered(self, control_id, count=1, timeout=30):
        """Waits until `count` stored messages with this MSH-10 left the pipeline."""
        def done():
            rows = self.server.serve.db_rows(
                "SELECT status FROM messages WHERE control_id = ?", (control_id,))
            final = [r for r in rows if r[0] not in ("received", "queued", "transformed")]
            return len(rows) >= count and len(final) == len(rows) and rows
        rows = wait_for(done, timeout, message="delivery of %s" % control_id)
        for (status,) in rows:
            self.assertNotIn(status, ("error", "failed"), "%s: %s\n%s"
                             % (control_id, status, self.server.logs()))

    def test_admit_then_results(self):
        c = self.client()
        mrn, family, visit, filler = uniq("M"), uniq("Doe"), uniq("V"), uniq("F")
        self.send(adt(uniq("A01-"), "A01", mrn, family, visit))
        patient = self.patient_by_mrn(c, mrn)
        self.assertEqual(patient["name"][0]["family"], family)
        self.assertEqual(patient["birthDate"], "1980-02-29")
        self.assertEqual(patient["gender"], "female")
        enc = wait_for(lambda: entries(c.search("Encounter?patient=" + patient["id"])), 30,
                       message="the encounter")
        self.assertEqual(len(enc), 1)

        oru_cid = uniq("ORU-")
        self.send(oru(oru_cid, mrn, family, visit, filler))

        def all_obs():
            bundle = c.search("Observation?patient=%s&_count=100" % patient["id"])
            return bundle if bundle["total"] >= len(OBX) else None
        bundle = wait_for(all_obs, 30, message="the ORU's observations")
        self.assertEqual(bundle["total"], len(OBX))
        by_code = {o["code"]["coding"][0]["code"]: o for o in entries(bundle)}
        self.assertEqual(sorted(by_code), sorted(code for code, *_ in OBX))
        self.assertEqual(by_code["718-7"]["valueQuantity"]["value"], 13.2)
        self.assertEqual(by_code["718-7"]["subject"]["reference"], "Patient/" + patient["id"])
        # The ORU names the same visit: its observations point at the A01's encounter,
        # and no second Patient or Encounter was made.
        self.assertEqual(by_code["2345-7"]["encounter"]["reference"], "Encounter/" + enc[0]["id"])
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (PATIENT_SYSTEM, mrn)), 1)
        self.assertEqual(c.total("Encounter?patient=" + patient["id"]), 1)
        # Searchable by code through the store's indexes.
        self.assertEqual(ids(c.search("Observation?patient=%s&code=%s|2951-2"
                                      % (patient["id"], LOINC))), [by_code["2951-2"]["id"]])
        report = entries(c.search("DiagnosticReport?patient=" + patient["id"]))
        self.assertEqual(len(report), 1)
        self.assertEqual(len(report[0].get("result", [])), len(OBX))

        # Re-sending the ORU changes nothing: same resources, same versions.
        def versions():
            out = {}
            for t in ("Patient", "Encounter", "Observation", "DiagnosticReport"):
                q = "_id=" + patient["id"] if t == "Patient" else "patient=" + patient["id"]
                for r in entries(c.search("%s?%s&_count=100" % (t, q))):
                    out[(t, r["id"])] = r["meta"]["versionId"]
            return out
        before = versions()
        self.wait_delivered(oru_cid)
        self.send(oru(oru_cid, mrn, family, visit, filler))
        self.wait_delivered(oru_cid, count=2)
        self.assertEqual(versions(), before)
        for key in before:
            if key[0] == "Observation":
                hist = c.search("Observation/%s/_history" % key[1])
                self.assertEqual(hist["total"], 1, "a re-sent ORU made a new version of %s" % key[1])

    def test_a08_updates_the_patient(self):
        c = self.client()
        mrn, visit = uniq("M"), uniq("V")
        self.send(adt(uniq("A01-"), "A01", mrn, "Before", visit, given="Ann"))
        first = self.patient_by_mrn(c, mrn)
        self.assertEqual(first["name"][0]["family"], "Before")
        self.send(adt(uniq("A08-"), "A08", mrn, "After", visit, given="Ann"))
        updated = self.patient_by_mrn(c, mrn, where=lambda p: p["name"][0]["family"] == "After",
                                      what="the A08 name")
        self.assertEqual(updated["id"], first["id"])
        self.assertEqual(int(updated["meta"]["versionId"]), int(first["meta"]["versionId"]) + 1)
        self.assertEqual(c.get("/Patient/%s/_history/%s" % (first["id"], first["meta"]["versionId"]))
                         .json()["name"][0]["family"], "Before")
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (PATIENT_SYSTEM, mrn)), 1)
        self.assertEqual(c.total("Patient?family=After&identifier=%s|%s"
                                 % (PATIENT_SYSTEM, mrn)), 1)

    def test_a40_merges(self):
        c = self.client()
        old_mrn, new_mrn, family = uniq("OLD"), uniq("NEW"), uniq("Merge")
        self.send(adt(uniq("A01-"), "A01", old_mrn, family, uniq("V")))
        self.send(adt(uniq("A01-"), "A01", new_mrn, family, uniq("V")))
        old = self.patient_by_mrn(c, old_mrn)
        survivor = self.patient_by_mrn(c, new_mrn)
        self.assertNotEqual(old["id"], survivor["id"])

        self.send(a40(uniq("A40-"), new_mrn, old_mrn, family))
        old = self.patient_by_mrn(c, old_mrn, where=lambda p: p.get("active") is False,
                                  what="the merged-away patient")
        links = {(l["type"], l["other"]["reference"]) for l in old.get("link", [])}
        self.assertIn(("replaced-by", "Patient/" + survivor["id"]), links)
        survivor = self.patient_by_mrn(c, new_mrn, where=lambda p: p.get("link"),
                                       what="the survivor's link")
        links = {(l["type"], l["other"]["reference"]) for l in survivor.get("link", [])}
        self.assertIn(("replaces", "Patient/" + old["id"]), links)
        self.assertNotEqual(survivor.get("active"), False)
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (PATIENT_SYSTEM, old_mrn)), 1)
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (PATIENT_SYSTEM, new_mrn)), 1)

    def test_post_hl7_v2(self):
        c = self.client("system/*.* hl7", base="")
        mrn, family, cid = uniq("H"), uniq("Http"), uniq("HTTP-")
        for content_type in (ER7_CONTENT_TYPE, "application/hl7-v2"):
            with self.subTest(content_type=content_type):
                this_cid = cid + content_type[:4]
                res = c.request("POST", "/hl7/v2",
                                adt(this_cid, "A01", mrn, family, uniq("V")),
                                content_type=content_type, headers={"Accept": "*/*"})
                self.assertEqual(res.status, 200, res)
                msa1, msa2, segs = harness.parse_ack(res.body)
                self.assertEqual(msa1, "AA", segs)
                self.assertEqual(msa2, this_cid)
                self.assertTrue(segs[0].startswith("MSH|"), segs)
        fhir = self.client()
        patient = self.patient_by_mrn(fhir, mrn)
        self.assertEqual(patient["name"][0]["family"], family)
        # Not HL7: an error ACK or a 4xx, never AA.
        res = c.request("POST", "/hl7/v2", b"this is not hl7", content_type=ER7_CONTENT_TYPE,
                        headers={"Accept": "*/*"})
        if res.status == 200:
            self.assertNotEqual(harness.parse_ack(res.body)[0], "AA", res)
        else:
            self.assertIn(res.status, range(400, 500), res)

    @unittest.skipUnless(shutil.which("mllp_send"), "python3-hl7's mllp_send is not installed")
    def test_python_hl7_peer(self):
        c = self.client()
        mrn, family = uniq("PY"), uniq("Peer")
        path = self._write_tmp(frame(adt(uniq("PY-"), "A01", mrn, family, uniq("V"))))
        result = subprocess.run(
            ["mllp_send", "--file", path, "--port", str(self.server.serve.port("to-record")),
             "127.0.0.1"], capture_output=True, timeout=scaled(60))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout.decode("latin-1"), r"MSA\|AA\|")
        self.assertEqual(self.patient_by_mrn(c, mrn)["name"][0]["family"], family)

    def _write_tmp(self, data):
        path = "%s/%s.hl7" % (self._tmp.name, uniq("msg"))
        with open(path, "wb") as f:
            f.write(data)
        return path


if __name__ == "__main__":
    unittest.main()
