#!/usr/bin/env python3
"""Writes a deterministic file of made-up HL7 v2 messages for the benchmarks.

A mix of ADT (A01/A02/A03/A04/A08, ~45%) and ORU^R01 (~55%) messages with the
things real feeds have: repetitions (PID-3, PID-5, PID-13, OBX-5 CWE), components
and subcomponents, escape sequences (\\T\\ \\S\\ \\F\\ \\E\\ \\.br\\ \\X..\\), "" nulls,
3-25 OBX per result, NTE notes, Z-segments. Segments end with \\r and messages
follow each other directly (as python-hl7's split_file expects). The same seed and
size always give the same bytes. All names and values are invented.

    bench/gen-messages.py --size-mb 100 --out build/bench-data/mixed-100mb.hl7
"""
import argparse
import os
import random
import sys

FAMILY = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS",
          "MUELLER", "SCHMIDT", "NGUYEN", "KIM", "O'BRIEN", "VAN DER BERG", "LOPEZ", "ROSSI",
          "DUBOIS", "KOWALSKI", "TANAKA", "SILVA", "PATEL", "COHEN", "IVANOV", "HANSEN"]
GIVEN = ["ANNA", "JOHN", "MARIA", "PETER", "LINDA", "AHMED", "SOFIA", "LUCAS", "EMMA", "NOAH",
         "OLIVIA", "LIAM", "MIA", "ELIJAH", "ZOE", "HUGO", "CLARA", "FELIX", "IDA", "OSKAR"]
STREETS = ["MAIN ST", "OAK AVE", "ELM ST", "PARK RD", "CEDAR LN", "LAKE DR", "HILL ST", "RIVER RD"]
CITIES = [("SPRINGFIELD", "IL", "62701"), ("RIVERTON", "WY", "82501"), ("FAIRVIEW", "TN", "37062"),
          ("MADISON", "WI", "53703"), ("GREENVILLE", "SC", "29601"), ("SALEM", "OR", "97301")]
FACILITIES = ["GENHOSP", "CITYCLINIC", "NORTHMED", "STJUDE", "VALLEYCARE"]
DOCTORS = [("1234567890", "HOUSE", "GREGORY"), ("2345678901", "GREY", "MEREDITH"),
           ("3456789012", "WATSON", "JOAN"), ("4567890123", "QUINN", "MICHAELA")]
# (LOINC, name, unit, low, high, decimals)
TESTS = [("6690-2", "Leukocytes [#/volume] in Blood", "10*3/uL", 4.0, 11.0, 1),
         ("789-8", "Erythrocytes [#/volume] in Blood", "10*6/uL", 3.8, 5.8, 2),
         ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 11.7, 17.5, 1),
         ("4544-3", "Hematocrit [Volume Fraction] of Blood", "%", 35.0, 50.0, 1),
         ("777-3", "Platelets [#/volume] in Blood", "10*3/uL", 140, 400, 0),
         ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 99, 0),
         ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6, 1.3, 2),
         ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "mmol/L", 135, 145, 0),
         ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.5, 5.1, 1),
         ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL", 125, 200, 0),
         ("1742-6", "ALT [Enzymatic activity/volume] in Serum or Plasma", "U/L", 7, 56, 0),
         ("3016-3", "Thyrotropin [Units/volume] in Serum or Plasma", "m[IU]/L", 0.4, 4.0, 2)]
PANELS = [("58410-2", "CBC panel - Blood by Automated count"),
          ("24323-8", "Comprehensive metabolic panel - Serum or Plasma"),
          ("57698-3", "Lipid panel with direct LDL - Serum or Plasma")]
NOTES = ["Specimen slightly hemolyzed \\T\\ lipemic; interpret with care.",
         "Result verified by technologist.\\.br\\Called to ward at 10:42.",
         "Repeat requested \\F\\ previous value out of range \\E\\ confirmed.",
         "Sample received late\\X0D0A\\processed within stability window.",
         "Ref. range adult \\S\\ non-fasting.",
         "No comment."]
ALLERGENS = [("70618", "Penicillin"), ("2670", "Codeine"), ("7980", "Peanut"), ("1191", "Aspirin")]
DIAGNOSES = [("I10", "Essential (primary) hypertension"), ("E11.9", "Type 2 diabetes mellitus"),
             ("J18.9", "Pneumonia, unspecified organism"), ("N39.0", "Urinary tract infection")]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.n = 0

    def ts(self):
        r = self.r
        return "2024%02d%02d%02d%02d%02d" % (r.randint(1, 12), r.randint(1, 28), r.randint(0, 23),
                                             r.randint(0, 59), r.randint(0, 59))

    def msh(self, code, event, structure, version):
        self.n += 1
        r = self.r
        fac = r.choice(FACILITIES)
        return ("MSH|^~\\&|%s|%s^2.16.840.1.113883.3.%d^ISO|EHR|%s|%s-0500||%s^%s^%s|MSG%010d|P|%s|||AL|NE"
                % (r.choice(["LABSYS", "ADTSYS", "REGSYS"]), fac, r.randint(1, 999), r.choice(FACILITIES),
                   self.ts(), code, event, structure, self.n, version))

    def pid(self):
        r = self.r
        ids = ["MRN%07d^^^%s^MR" % (r.randint(1, 9999999), r.choice(FACILITIES))]
        for _ in range(r.randint(0, 2)):
            ids.append("%09d^^^%s^%s" % (r.randint(1, 999999999), r.choice(["SSA", "STATE", "INS"]),
                                         r.choice(["SS", "HC", "PI"])))
        names = ["%s^%s^%s^^%s" % (r.choice(FAMILY), r.choice(GIVEN), r.choice(GIVEN)[0],
                                   r.choice(["", "MR", "MS", "DR"]))]
        if r.random() < 0.2:
            names.append("%s^%s^^^^^M" % (r.choice(FAMILY), names[0].split("^")[1]))
        city, state, zip_code = r.choice(CITIES)
        street = "%d %s" % (r.randint(1, 9999), r.choice(STREETS))
        if r.random() < 0.3:
            street += "^APT %d\\S\\%s" % (r.randint(1, 99), r.choice("ABCD"))
        else:
            street += "^"
        phones = ["^PRN^PH^^1^%03d^%07d" % (r.randint(200, 999), r.randint(1000000, 9999999))]
        if r.random() < 0.4:
            phones.append("^NET^Internet^%s@example.org" % r.choice(GIVEN).lower())
        return ("PID|1||%s||%s||19%02d%02d%02d|%s|||%s^%s^%s^%s^USA^H||%s|||%s||ACC%08d|||%s"
                % ("~".join(ids), "~".join(names), r.randint(20, 99), r.randint(1, 12), r.randint(1, 28),
                   r.choice("MFU"), street, city, state, zip_code, "~".join(phones),
                   r.choice(["M", "S", "W", '""']), r.randint(1, 99999999),
                   r.choice(["N^Not Hispanic^HL70189", "H^Hispanic^HL70189", ""])))

    def pv1(self):
        r = self.r
        doc = r.choice(DOCTORS)
        return ("PV1|1|%s|%s^%d^%s^%s||||%s^%s^%s^^^DR^^^NPI|||%s||||||||VN%08d|||||||||||||||||||||||||%s"
                % (r.choice("IOE"), r.choice(["4W", "ICU", "ER", "LAB"]), r.randint(100, 499), r.choice("ABC"),
                   r.choice(FACILITIES), doc[0], doc[1], doc[2], r.choice(["MED", "SUR", "LAB"]),
                   r.randint(1, 99999999), self.ts()))

    def adt(self):
        r = self.r
        event = r.choice(["A01", "A01", "A04", "A08", "A08", "A03", "A02"])
        segs = [self.msh("ADT", event, "ADT_A01" if event in ("A01", "A04", "A08") else "ADT_" + event, "2.5.1"),
                "EVN|%s|%s|||OP%03d^OPERATOR^%s" % (event, self.ts(), r.randint(1, 999), r.choice(GIVEN)),
                self.pid()]
        for i in range(r.randint(0, 2)):
            city, state, zip_code = r.choice(CITIES)
            segs.append("NK1|%d|%s^%s|%s|%d %s^^%s^%s^%s" % (i + 1, r.choice(FAMILY), r.choice(GIVEN),
                                                              r.choice(["SPO^Spouse^HL70063", "CHD^Child^HL70063"]),
                                                              r.randint(1, 999), r.choice(STREETS), city, state,
                                                              zip_code))
        segs.append(self.pv1())
        for i in range(r.randint(0, 3)):
            code, name = r.choice(ALLERGENS)
            segs.append("AL1|%d|DA|%s^%s^RXNORM|%s|%s" % (i + 1, code, name, r.choice(["SV", "MO", "MI"]),
                                                          r.choice(["Hives \\T\\ swelling", "Rash", "Anaphylaxis",
                                                                    "Nausea"])))
        for i in range(r.randint(0, 3)):
            code, name = r.choice(DIAGNOSES)
            segs.append("DG1|%d||%s^%s^I10|||%s" % (i + 1, code, name, r.choice("AWF")))
        if r.random() < 0.5:
            segs.append("IN1|1|PLAN%02d^Health Plan|%05d^^^NAIC|HEALTH INS CO|PO BOX %d^^CHICAGO^IL^60601"
                        % (r.randint(1, 99), r.randint(1, 99999), r.randint(1, 9999)))
        if r.random() < 0.2:
            segs.append("ZPI|1|%s|custom&sub&parts" % r.choice(["VIP", "", '""']))
        return segs

    def oru(self):
        r = self.r
        panel = r.choice(PANELS)
        doc = r.choice(DOCTORS)
        order = r.randint(1, 999999)
        segs = [self.msh("ORU", "R01", "ORU_R01", r.choice(["2.5.1", "2.3", "2.4"])), self.pid(), self.pv1(),
                "ORC|RE|ORD%06d^EHR|LAB%06d^LABSYS||CM||||%s|||%s^%s^%s^^^DR^^^NPI"
                % (order, order, self.ts(), doc[0], doc[1], doc[2]),
                "OBR|1|ORD%06d^EHR|LAB%06d^LABSYS|%s^%s^LN|||%s|||||||%s|Blood&Venous blood&HL70070|%s^%s^%s||||||%s|||F"
                % (order, order, panel[0], panel[1], self.ts(), self.ts(), doc[0], doc[1], doc[2], self.ts())]
        for i in range(r.randint(3, 25)):
            kind = r.random()
            if kind < 0.75:
                code, name, unit, low, high, dec = r.choice(TESTS)
                value = r.uniform(low * 0.7, high * 1.3)
                flag = "L" if value < low else "H" if value > high else "N"
                fmt = "%%.%df" % dec
                segs.append("OBX|%d|NM|%s^%s^LN||%s|%s^%s^UCUM|%s-%s|%s|||F|||%s" %
                            (i + 1, code, name, fmt % value, unit, unit, fmt % low, fmt % high, flag, self.ts()))
            elif kind < 0.85:
                segs.append("OBX|%d|FT|18314-5^Morphology^LN||%s|||N|||F" % (i + 1, r.choice(NOTES)))
            elif kind < 0.93:
                segs.append("OBX|%d|CWE|882-1^ABO and Rh group^LN||%s|||N|||F" %
                            (i + 1, r.choice(["O+^O Rh positive^LN~RHPOS^Rh positive^L", "A-^A Rh negative^LN",
                                              "B+^B Rh positive^LN"])))
            else:
                segs.append("OBX|%d|SN|770-8^Neutrophils/100 leukocytes^LN||%s^%d|%%^percent^UCUM|40-75|N|||F"
                            % (i + 1, r.choice(["", ">", "<"]), r.randint(20, 90)))
        for i in range(r.randint(0, 2)):
            segs.append("NTE|%d|L|%s" % (i + 1, r.choice(NOTES)))
        return segs

    def message(self):
        segs = self.oru() if self.r.random() < 0.55 else self.adt()
        return "\r".join(segs) + "\r"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=100.0, help="stop after this many MB (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=20240315)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    target = int(args.size_mb * 1e6)
    gen = Gen(args.seed)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    written = 0
    count = 0
    with open(tmp, "wb") as f:
        chunk = []
        while written < target:
            data = gen.message().encode("ascii")
            chunk.append(data)
            written += len(data)
            count += 1
            if len(chunk) >= 1000:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))
    os.replace(tmp, args.out)
    print("gen-messages: %d messages, %d bytes -> %s" % (count, written, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
