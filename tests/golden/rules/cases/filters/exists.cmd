transform
--config
config.yaml
--channel
exists
input.hl7
