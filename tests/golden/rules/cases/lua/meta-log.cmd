transform
--config
config.yaml
--channel
meta-log
input.hl7
