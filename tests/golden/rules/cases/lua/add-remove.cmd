transform
--config
config.yaml
--channel
add-remove
input.hl7
