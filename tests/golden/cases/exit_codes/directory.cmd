get
.
PID-5
