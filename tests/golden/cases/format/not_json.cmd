format
input.hl7
