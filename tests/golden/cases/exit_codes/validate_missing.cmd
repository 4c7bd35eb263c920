validate
input.hl7
no-such-file.hl7
