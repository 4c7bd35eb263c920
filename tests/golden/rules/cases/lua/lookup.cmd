transform
--config
config.yaml
--channel
lookup
input.hl7
