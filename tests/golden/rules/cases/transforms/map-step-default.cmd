transform
--config
config.yaml
--channel
map-step-default
input.hl7
