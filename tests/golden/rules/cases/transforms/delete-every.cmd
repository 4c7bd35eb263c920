transform
--config
config.yaml
--channel
delete-every
input.hl7
