transform
--config
config.yaml
--channel
version
input.hl7
