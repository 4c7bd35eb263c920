set
input.hl7
PID-5
