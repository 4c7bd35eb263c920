ack
input.hl7
--code
XX
