ack
input.hl7
--control-id
ACK00002
--timestamp
20240101120000+0000
--lf
