transform
--config
config.yaml
--channel
empty
input.hl7
