transform
--config
config.yaml
--channel
loop-on-oru
input.hl7
other.hl7
