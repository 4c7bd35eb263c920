transform
--config
config.yaml
--channel
add-segment
input.hl7
