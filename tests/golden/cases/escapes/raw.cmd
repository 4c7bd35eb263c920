get
--raw
input.hl7
PID-5
NTE-3
