transform
--config
config.yaml
--channel
format-date
input.hl7
