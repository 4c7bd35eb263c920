transform
--config
config.yaml
--channel
template
input.hl7
