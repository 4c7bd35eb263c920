transform
--config
config.yaml
--channel
segments
input.hl7
