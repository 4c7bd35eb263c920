transform
--config
config.yaml
--channel
numeric
input.hl7
