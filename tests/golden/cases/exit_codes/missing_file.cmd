parse
no-such-file.hl7
