get
input.hl7
PID-x
