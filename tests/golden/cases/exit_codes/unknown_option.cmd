parse
--bogus
input.hl7
