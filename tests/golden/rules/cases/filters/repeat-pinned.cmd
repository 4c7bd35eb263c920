transform
--config
config.yaml
--channel
repeat-pinned
input.hl7
