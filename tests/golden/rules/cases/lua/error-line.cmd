transform
--config
config.yaml
--channel
error-line
input.hl7
