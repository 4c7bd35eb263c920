transform
--config
config.yaml
--channel
remove-one
input.hl7
