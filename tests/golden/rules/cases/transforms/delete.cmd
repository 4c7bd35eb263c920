transform
--config
config.yaml
--channel
delete
input.hl7
