transform
--config
config.yaml
--channel
string-rep-bomb
input.hl7
