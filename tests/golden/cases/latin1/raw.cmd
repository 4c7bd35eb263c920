get
--raw
input.hl7
PID-5.2
