transform
--config
config.yaml
--channel
any
input.hl7
