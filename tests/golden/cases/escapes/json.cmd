get
--json
input.hl7
NTE-3
PID-5.1
PID-99
