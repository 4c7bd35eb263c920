transform
--config
config.yaml
--channel
remove-segment
input.hl7
