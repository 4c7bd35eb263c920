transform
--config
config.yaml
--channel
repeat-any
input.hl7
