get
--json
input.hl7
PID-5
