transform
--config
config.yaml
--channel
map-unchanged
input.hl7
