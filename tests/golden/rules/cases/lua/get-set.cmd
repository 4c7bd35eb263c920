transform
--config
config.yaml
--channel
get-set
input.hl7
