transform
--config
config.yaml
--channel
matches
input.hl7
