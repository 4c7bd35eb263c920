transform
--config
config.yaml
--channel
map
input.hl7
