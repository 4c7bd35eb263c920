transform
--config
config.yaml
--channel
every-occurrence
input.hl7
