transform
--config
config.yaml
--channel
copy
input.hl7
