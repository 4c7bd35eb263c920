transform
--config
config.yaml
--channel
sandbox-require
input.hl7
