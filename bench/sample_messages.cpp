#include "sample_messages.h"

namespace junction::bench {

std::string OruR01Sample() {
  std::string m;
  m += "MSH|^~\\&|LABSYS|CITYLAB^2.16.840.1.113883.3.72.5.20^ISO|EHR|GENHOSP^2.16.840.1.113883.3.72.5.21^ISO|"
       "20240315091522-0500||ORU^R01^ORU_R01|LAB2024031500042|P|2.5.1|||AL|NE|USA|UNICODE UTF-8\r";
  m += "PID|1||MRN4711^^^GENHOSP^MR^GENHOSP~998877^^^SSA^SS~H1234567^^^STATEHIC^HC||"
       "MUSTERMANN^ERIKA^ANNA^^MS^^L~MUSTERFRAU^ERIKA^^^^^M||19760412|F||2106-3^White^CDCREC|"
       "221B BAKER ST^APT 4\\S\\B^SPRINGFIELD^IL^62701^USA^H||^PRN^PH^^1^217^5550147~^NET^Internet^erika@example.org|"
       "^WPN^PH^^1^217^5550199|EN^English^ISO639|M^Married^HL70002||ACC20240315001|||N^Not Hispanic^HL70189\r";
  m += "PV1|1|O|LAB^DRAW^01^GENHOSP||||1234567890^HOUSE^GREGORY^^^DR^^^NPI^L^^^NPI|||LAB||||||||"
       "VN20240315042|||||||||||||||||||||||||20240315080000\r";
  m += "ORC|RE|ORD448812^EHR|LAB77123^LABSYS||CM||||20240315081000|||1234567890^HOUSE^GREGORY^^^DR^^^NPI\r";
  m += "OBR|1|ORD448812^EHR|LAB77123^LABSYS|58410-2^CBC panel - Blood by Automated count^LN|||"
       "20240315081500|||||||20240315082000|Blood&Venous blood&HL70070|1234567890^HOUSE^GREGORY^^^DR^^^NPI||||||"
       "20240315091500|||F\r";
  const char* obx[] = {
      "OBX|1|NM|6690-2^Leukocytes [#/volume] in Blood by Automated count^LN||7.2|10*3/uL^thousand per microliter^UCUM|4.0-11.0|N|||F|||20240315082000|||AUTO^Automated\r",
      "OBX|2|NM|789-8^Erythrocytes [#/volume] in Blood by Automated count^LN||4.61|10*6/uL^million per microliter^UCUM|3.80-5.20|N|||F|||20240315082000\r",
      "OBX|3|NM|718-7^Hemoglobin [Mass/volume] in Blood^LN||13.9|g/dL^gram per deciliter^UCUM|11.7-15.5|N|||F|||20240315082000\r",
      "OBX|4|NM|4544-3^Hematocrit [Volume Fraction] of Blood by Automated count^LN||41.2|%^percent^UCUM|35.0-45.0|N|||F\r",
      "OBX|5|NM|787-2^MCV [Entitic volume] by Automated count^LN||89.4|fL^femtoliter^UCUM|80.0-100.0|N|||F\r",
      "OBX|6|NM|785-6^MCH [Entitic mass] by Automated count^LN||30.2|pg^picogram^UCUM|27.0-33.0|N|||F\r",
      "OBX|7|NM|786-4^MCHC [Mass/volume] by Automated count^LN||33.7|g/dL^gram per deciliter^UCUM|32.0-36.0|N|||F\r",
      "OBX|8|NM|777-3^Platelets [#/volume] in Blood by Automated count^LN||312|10*3/uL^thousand per microliter^UCUM|140-400|N|||F\r",
      "OBX|9|SN|770-8^Neutrophils/100 leukocytes in Blood by Automated count^LN||^58.1|%^percent^UCUM|40-75|N|||F\r",
      "OBX|10|ST|5909-7^Blood smear finding [Identifier] in Peripheral blood^LN||Normocytic \\T\\ normochromic; no blasts seen|||N|||F\r",
      "OBX|11|FT|18314-5^Morphology^LN||Reviewed by technologist.\\.br\\Platelet clumps absent.\\.br\\Result \\F\\ verified \\E\\ released.|||N|||F\r",
      "OBX|12|CWE|882-1^ABO and Rh group [Type] in Blood^LN||O+^O Rh positive^LN~RHPOS^Rh positive^L|||N|||F\r",
  };
  for (const char* s : obx) m += s;
  m += "NTE|1|L|Specimen received 08:20, processed within 1 h. Reference ranges adult female.\r";
  return m;
}

std::string AdtA01Sample() {
  std::string m;
  m += "MSH|^~\\&|ADT1|GENHOSP|REG|GENHOSP|20240315083000||ADT^A01^ADT_A01|MSG00001|P|2.5.1\r";
  m += "EVN|A01|20240315083000|||OP123^OPERATOR^OLIVER\r";
  m += "PID|1||MRN4711^^^GENHOSP^MR~998877^^^SSA^SS||MUSTERMANN^ERIKA^ANNA||19760412|F|||"
       "221B BAKER ST^^SPRINGFIELD^IL^62701||^PRN^PH^^1^217^5550147|||M||ACC20240315001\r";
  m += "NK1|1|MUSTERMANN^MAX|SPO^Spouse^HL70063|221B BAKER ST^^SPRINGFIELD^IL^62701|^PRN^PH^^1^217^5550148\r";
  m += "PV1|1|I|4W^401^B^GENHOSP||||1234567890^HOUSE^GREGORY^^^DR|||MED||||ADM|||||VN20240315042|||||||||||||||||||||||||20240315083000\r";
  m += "AL1|1|DA|70618^Penicillin^RXNORM|SV|Hives \\T\\ swelling\r";
  m += "DG1|1||I10^Essential (primary) hypertension^I10|||A\r";
  m += "IN1|1|BCBS01^Blue Plan|60054^^^NAIC|BLUE CROSS^^|PO BOX 1^^CHICAGO^IL^60601\r";
  return m;
}

}  // namespace junction::bench
