transform
--config
config.yaml
--channel
ignore-case
input.hl7
