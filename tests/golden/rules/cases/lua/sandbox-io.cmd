transform
--config
config.yaml
--channel
sandbox-io
input.hl7
