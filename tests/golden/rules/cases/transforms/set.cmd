transform
--config
config.yaml
--channel
set
input.hl7
