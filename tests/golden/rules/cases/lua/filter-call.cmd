transform
--config
config.yaml
--channel
filter-call
input.hl7
