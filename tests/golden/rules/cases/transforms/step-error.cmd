transform
--config
config.yaml
--channel
step-error
input.hl7
