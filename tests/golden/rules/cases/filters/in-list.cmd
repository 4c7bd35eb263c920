transform
--config
config.yaml
--channel
in-list
input.hl7
